//! Project automation for copilot-rs: `cargo xtask <command>`.
//!
//! | command | what it does |
//! |---|---|
//! | `test` | the test suite: cargo-nextest over the workspace, then the doctests (nextest skips them) |
//! | `ci` | everything CI checks: fmt, clippy, test, docs, cargo-deny |
//! | `demo` | the whole story against the embedded mock: `copilot-rs --mock demo` |
//! | `mock` | starts the mock GitHub + Copilot server and prints its URLs |
//! | `bench` | the benchmarks (`--quick` for a reduced run) |
//!
//! Tools the commands need (cargo-nextest, cargo-deny) are installed with `cargo install --locked` when
//! missing, so a fresh machine needs nothing but Rust.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "test" => test(rest),
        "ci" => ci(),
        "demo" => demo(rest),
        "mock" => mock(rest),
        "bench" => bench(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <command>\n\n\
         test [ARGS]   run the test suite (nextest + doctests); ARGS go to nextest\n\
         ci            fmt, clippy, test, docs and cargo-deny, as CI runs them\n\
         demo          run the end-to-end demo against the embedded mock\n\
         mock [ARGS]   start the mock server (ARGS go to copilot-mock, e.g. --port 8080)\n\
         bench [--quick]  run the benchmarks"
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(mut command: Command) -> Result {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// Whether `cargo <sub> --version` works.
fn has_cargo_subcommand(sub: &str) -> bool {
    cargo()
        .args([sub, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ensure_tool(sub: &str, krate: &str) -> Result {
    if has_cargo_subcommand(sub) {
        return Ok(());
    }
    eprintln!("xtask: `cargo {sub}` is missing; installing {krate}");
    let mut install = cargo();
    install.args(["install", "--locked", krate]);
    run(install)
}

fn test(extra: &[String]) -> Result {
    ensure_tool("nextest", "cargo-nextest")?;
    let mut nextest = cargo();
    nextest.args([
        "nextest",
        "run",
        "--workspace",
        "--all-features",
        "--no-fail-fast",
        "--failure-output",
        "final",
    ]);
    nextest.args(extra);
    run(nextest)?;
    let mut doc = cargo();
    doc.args(["test", "--doc", "--workspace", "--all-features"]);
    run(doc)
}

fn ci() -> Result {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    test(&[])?;
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(doc)?;
    ensure_tool("deny", "cargo-deny")?;
    // cargo-deny reads the metadata of every target platform; fetch all of it first (registries are
    // reachable), then check without touching the network again.
    let mut fetch = cargo();
    fetch.arg("fetch");
    run(fetch)?;
    let mut deny = cargo();
    // Advisories need the advisory database from the network; bans, licenses and sources work offline.
    deny.args(["deny", "--offline", "check", "bans", "licenses", "sources"]);
    run(deny)
}

fn demo(extra: &[String]) -> Result {
    let mut command = cargo();
    command.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "copilot-cli",
        "--",
        "--mock",
        "demo",
    ]);
    command.args(extra);
    run(command)
}

fn mock(extra: &[String]) -> Result {
    let mut command = cargo();
    command.args(["run", "--quiet", "--release", "-p", "copilot-mock", "--"]);
    command.args(extra);
    run(command)
}

fn bench(extra: &[String]) -> Result {
    let quick = extra.iter().any(|a| a == "--quick");
    let mut command = cargo();
    command.args(["bench", "--workspace", "--all-features"]);
    if quick {
        command.args(["--", "--warm-up-time", "1", "--measurement-time", "2"]);
    }
    run(command)
}
