//! The feature job of `cargo xtask ci` (`cargo xtask features` alone): the workspace builds without default
//! features (every target: libraries, tests, benches, examples, so a test that needs the reqwest adapter
//! says so), and every crate builds with each of its features on its own.
//!
//! The per-feature check is `cargo hack check --each-feature --exclude-all-features --workspace` (cargo-hack is installed from
//! crates.io when missing). If it cannot be installed, the same matrix runs as a loop over `cargo metadata`:
//! per package, `--no-default-features`, then `--no-default-features --features F` for each feature F.

use crate::{Result, cargo, ensure_tool, run};

/// Both checks.
pub fn check() -> Result {
    let mut no_default = cargo();
    no_default.args([
        "check",
        "--workspace",
        "--no-default-features",
        "--all-targets",
    ]);
    run(no_default)?;
    match ensure_tool("hack", "cargo-hack") {
        Ok(()) => {
            let mut hack = cargo();
            // `--all-features` is what clippy and the tests build already.
            hack.args([
                "hack",
                "check",
                "--each-feature",
                "--exclude-all-features",
                "--workspace",
            ]);
            run(hack)
        }
        Err(why) => {
            eprintln!(
                "xtask: features: cargo-hack is unavailable ({why}); looping over features instead"
            );
            each_feature_loop()
        }
    }
}

/// The cargo-hack matrix without cargo-hack.
fn each_feature_loop() -> Result {
    for (package, features) in workspace_features()? {
        let mut bare = cargo();
        bare.args(["check", "-p", &package, "--no-default-features"]);
        run(bare)?;
        for feature in features {
            let mut one = cargo();
            one.args([
                "check",
                "-p",
                &package,
                "--no-default-features",
                "--features",
                &feature,
            ]);
            run(one)?;
        }
    }
    Ok(())
}

/// Every workspace member with its features (without `default`, which is a set, not a feature).
fn workspace_features() -> Result<Vec<(String, Vec<String>)>> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    Ok(features_of(&metadata))
}

fn features_of(metadata: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    packages
        .iter()
        .filter_map(|package| {
            let name = package["name"].as_str()?.to_owned();
            let mut features: Vec<String> = package["features"]
                .as_object()
                .map(|f| f.keys().filter(|k| *k != "default").cloned().collect())
                .unwrap_or_default();
            features.sort();
            Some((name, features))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_covers_every_feature_but_default() {
        let metadata = serde_json::json!({"packages": [
            {"name": "a", "features": {"default": ["x"], "x": [], "keyring": ["dep:keyring"]}},
            {"name": "b", "features": {}},
        ]});
        assert_eq!(
            features_of(&metadata),
            vec![
                ("a".to_owned(), vec!["keyring".to_owned(), "x".to_owned()]),
                ("b".to_owned(), vec![]),
            ]
        );
    }
}
