//! The MSRV job of `cargo xtask ci` (`cargo xtask msrv` alone).
//!
//! The workspace's `rust-version` is a promise; three checks keep it honest with whatever toolchains exist:
//!
//! 1. **Dependencies**: no package in `cargo metadata` (any platform, any feature) declares a `rust-version`
//!    above ours, and every workspace member declares ours.
//! 2. **Our code**: clippy's `incompatible_msrv` lint, denied, flags any standard-library API stabilised after
//!    our `rust-version` (ci runs it inside its workspace clippy; see [`CLIPPY_ARGS`]). Language features are
//!    not covered by the lint: that is what check 3 is for.
//! 3. **A real compile** with the MSRV toolchain (`rustup run <msrv> cargo check`), when that toolchain is
//!    installed. Where it is not (this machine has one toolchain and no way to download another), the job says
//!    so loudly instead of pretending; GitHub CI installs it first (`.github/workflows/ci.yml`).

use std::env;
use std::process::Command;

use crate::{Result, cargo, root, run};

/// Extra clippy arguments for the MSRV check (appended after `--`).
pub const CLIPPY_ARGS: &[&str] = &["-D", "clippy::incompatible_msrv"];

/// A `major.minor.patch` Rust version (`1.88` is `1.88.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustVersion(u64, u64, u64);

impl RustVersion {
    /// Parses `1`, `1.88` or `1.88.0`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let mut next = || -> Option<u64> {
            match parts.next() {
                None => Some(0),
                Some(part) => part.parse().ok(),
            }
        };
        let version = RustVersion(next()?, next()?, next()?);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for RustVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)?;
        if self.2 != 0 {
            write!(f, ".{}", self.2)?;
        }
        Ok(())
    }
}

/// Checks 1 and 3 (check 2 runs in ci's clippy with [`CLIPPY_ARGS`]).
pub fn check() -> Result {
    let msrv = check_metadata()?;
    compile_with(msrv)
}

/// Check 1; returns the workspace MSRV.
fn check_metadata() -> Result<RustVersion> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--all-features"])
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let (msrv, problems) = metadata_problems(&metadata)?;
    if !problems.is_empty() {
        return Err(format!(
            "MSRV {msrv} is not what the workspace needs:\n  {}",
            problems.join("\n  ")
        ));
    }
    let count = metadata["packages"].as_array().map_or(0, Vec::len);
    eprintln!("xtask: msrv: {count} packages, none needs a Rust newer than {msrv}");
    Ok(msrv)
}

/// The workspace MSRV and every package that contradicts it.
fn metadata_problems(metadata: &serde_json::Value) -> Result<(RustVersion, Vec<String>)> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let version_of = |package: &serde_json::Value| {
        package["rust_version"]
            .as_str()
            .and_then(RustVersion::parse)
    };
    let name_of = |package: &serde_json::Value| {
        format!(
            "{} {}",
            package["name"].as_str().unwrap_or("?"),
            package["version"].as_str().unwrap_or("?")
        )
    };
    let is_member = |package: &serde_json::Value| {
        package["id"]
            .as_str()
            .is_some_and(|id| members.contains(&id))
    };
    let msrv = packages
        .iter()
        .filter(|p| is_member(p))
        .filter_map(version_of)
        .max()
        .ok_or("no workspace member declares a rust-version")?;
    let mut problems = Vec::new();
    for package in packages {
        let declared = version_of(package);
        if is_member(package) {
            if declared != Some(msrv) {
                problems.push(format!(
                    "workspace member {} declares rust-version {} (use `rust-version.workspace = true`)",
                    name_of(package),
                    declared.map_or("none".to_owned(), |v| v.to_string())
                ));
            }
        } else if let Some(needed) = declared.filter(|&v| v > msrv) {
            problems.push(format!(
                "dependency {} needs Rust {needed}",
                name_of(package)
            ));
        }
    }
    Ok((msrv, problems))
}

/// Check 3: a real `cargo check` of the libraries and binaries with the MSRV toolchain, if installed.
fn compile_with(msrv: RustVersion) -> Result {
    let toolchain = msrv.to_string();
    let installed = Command::new("rustup")
        .args(["run", &toolchain, "rustc", "--version"])
        .env("RUSTUP_AUTO_INSTALL", "0")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!(
            "xtask: msrv: WARNING: the Rust {toolchain} toolchain is not installed, so nothing was compiled \
             with it. Only the dependency check and clippy's incompatible_msrv lint vouch for {toolchain} here. \
             Where toolchains can be downloaded: `rustup toolchain install {toolchain} --profile minimal`, \
             then this job runs `cargo +{toolchain} check --workspace --all-features` by itself."
        );
        return Ok(());
    }
    let mut check = Command::new("rustup");
    check
        .args([
            "run",
            &toolchain,
            "cargo",
            "check",
            "--workspace",
            "--all-features",
        ])
        // The MSRV build gets its own target directory so it does not evict the main toolchain's artefacts.
        .env("CARGO_TARGET_DIR", crate::target_dir().join("msrv"))
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .current_dir(root());
    run(check)
}

/// Whether `cargo xtask ci` should run the MSRV job (always, unless `XTASK_SKIP_MSRV=1`).
pub fn enabled() -> bool {
    env::var("XTASK_SKIP_MSRV").map_or(true, |v| v != "1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(RustVersion::parse("1.88"), Some(RustVersion(1, 88, 0)));
        assert_eq!(RustVersion::parse("1.88.0"), RustVersion::parse("1.88"));
        assert!(RustVersion::parse("1.88.1") > RustVersion::parse("1.88"));
        assert!(RustVersion::parse("1.100") > RustVersion::parse("1.88"));
        assert_eq!(RustVersion::parse("1.x"), None);
        assert_eq!(RustVersion::parse("1.2.3.4"), None);
        assert_eq!(RustVersion(1, 88, 0).to_string(), "1.88");
    }

    fn metadata(packages: serde_json::Value) -> serde_json::Value {
        json!({"workspace_members": ["a 0.1.0", "b 0.1.0"], "packages": packages})
    }

    #[test]
    fn a_dependency_newer_than_the_msrv_is_a_problem() {
        let ok = metadata(json!([
            {"id": "a 0.1.0", "name": "a", "version": "0.1.0", "rust_version": "1.88"},
            {"id": "b 0.1.0", "name": "b", "version": "0.1.0", "rust_version": "1.88"},
            {"id": "dep", "name": "dep", "version": "1.0.0", "rust_version": "1.88.0"},
            {"id": "old", "name": "old", "version": "1.0.0", "rust_version": null},
        ]));
        let (msrv, problems) = metadata_problems(&ok).unwrap();
        assert_eq!(msrv, RustVersion(1, 88, 0));
        assert!(problems.is_empty(), "{problems:?}");

        let newer = metadata(json!([
            {"id": "a 0.1.0", "name": "a", "version": "0.1.0", "rust_version": "1.88"},
            {"id": "b 0.1.0", "name": "b", "version": "0.1.0", "rust_version": "1.88"},
            {"id": "dep", "name": "dep", "version": "2.0.0", "rust_version": "1.89"},
        ]));
        let (_, problems) = metadata_problems(&newer).unwrap();
        assert_eq!(problems, vec!["dependency dep 2.0.0 needs Rust 1.89"]);
    }

    #[test]
    fn a_member_without_the_workspace_msrv_is_a_problem() {
        let stray = metadata(json!([
            {"id": "a 0.1.0", "name": "a", "version": "0.1.0", "rust_version": "1.88"},
            {"id": "b 0.1.0", "name": "b", "version": "0.1.0", "rust_version": null},
        ]));
        let (_, problems) = metadata_problems(&stray).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("workspace member b 0.1.0 declares rust-version none"));
    }

    #[test]
    fn the_workspace_passes() {
        check_metadata().unwrap();
    }
}
