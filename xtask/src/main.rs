//! Project automation for copilot-rs: `cargo xtask <command>`.
//!
//! | command | what it does |
//! |---|---|
//! | `test` | the test suite: cargo-nextest over the workspace, the doctests (nextest skips them), then the gateway's real-client tests (`openai`/`anthropic` Python packages in a venv); Redis and PostgreSQL started on loopback for the store tests (`services.rs`) |
//! | `python` | the gateway's real-client tests alone |
//! | `docs-check` | the first step of `ci` alone: every test cited in `docs/protocol.md` and `docs/security.md` exists |
//! | `ci` | everything CI checks: doc citations of `docs/protocol.md`, fmt, clippy (MSRV-aware), the MSRV job, test, docs, the feature job, cargo-deny |
//! | `msrv` | the MSRV job alone: no dependency needs a newer Rust; a compile with the MSRV toolchain if installed |
//! | `features` | the feature job alone: `--no-default-features`, then `cargo hack check --each-feature` |
//! | `demo` | the whole story against the embedded mock: `copilot-rs --mock demo` |
//! | `mock` | starts the mock GitHub + Copilot server and prints its URLs |
//! | `bench` | the benchmarks (`--quick` for a reduced run): `copilot-bench` against the mock in its own process; the serve rows add `copilot-rs serve` and the LiteLLM proxy (`litellm[proxy]` from PyPI in a venv); the stores rows Redis and PostgreSQL on loopback (`services.rs`) |
//! | `load` | the load/soak run: 1,000 concurrent streaming sessions against the mock (`--via serve`: through copilot-serve), leak checks |
//! | `services` | `CMD [ARGS]`: runs CMD with the test servers (Redis, PostgreSQL) up and their URLs in its environment |
//! | `fuzz` | `--time N`: each cargo-fuzz target in `fuzz/` for N seconds (nightly; not in `ci`) |
//!
//! Tools the commands need (cargo-nextest, cargo-deny, cargo-hack) are installed with `cargo install --locked` when
//! missing, so a fresh machine needs nothing but Rust.

mod docs_check;
mod features;
mod msrv;
mod python;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod services;

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
        "msrv" => msrv::check(),
        "features" => features::check(),
        "demo" => demo(rest),
        "mock" => mock(rest),
        "bench" => bench(rest),
        "load" => load(rest),
        "fuzz" => fuzz(rest),
        "python" => python::test(),
        "docs-check" => docs_check::check(&root()),
        "services" => services::run_with(rest),
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
         test [ARGS]   run the test suite (nextest + doctests + python); ARGS go to nextest\n\
         python        only the gateway's real-client tests (openai/anthropic Python packages)\n\
         docs-check    only check that every test cited in docs/protocol.md and docs/security.md exists\n\
         ci            docs check, fmt, clippy, MSRV, test, docs, features and cargo-deny, as CI runs them\n\
         msrv          the MSRV job: dependency rust-versions, a compile with the MSRV toolchain if installed\n\
         features      --no-default-features build and a check of each feature (cargo-hack)\n\
         demo          run the end-to-end demo against the embedded mock\n\
         mock [ARGS]   start the mock server (ARGS go to copilot-mock, e.g. --port 8080)\n\
         bench [--quick] [--only NAME]  run the benchmarks (copilot-bench; table in target/bench-report.md)\n\
         load [ARGS]   1,000 concurrent streaming sessions against the mock (--via serve: through the gateway); checks for leaks\n\
         fuzz [--time N]  run each cargo-fuzz target in fuzz/ for N seconds (needs nightly)\n\
         services CMD  run CMD with Redis and PostgreSQL started on loopback (URLs in its environment)"
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace) when set, else `target/`.
fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
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
    // Redis and PostgreSQL for the shared-store tests; stopped when `services` drops.
    let services = services::start()?;
    let mut nextest = cargo();
    nextest.envs(services.env());
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
    doc.envs(services.env());
    run(doc)?;
    // The gateway through the official openai/anthropic Python clients (a venv from PyPI).
    python::test()
}

fn ci() -> Result {
    docs_check::check(&root())?;
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
    // The MSRV job's lint half: no standard-library API newer than `rust-version`.
    clippy.args(msrv::CLIPPY_ARGS);
    run(clippy)?;
    if msrv::enabled() {
        msrv::check()?;
    }
    test(&[])?;
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(doc)?;
    features::check()?;
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
    // The harness starts the mock, and for the serve rows `copilot-rs serve`, as their own processes and finds
    // them next to itself in target/release/.
    build_release_mock()?;
    // Redis and PostgreSQL for the stores rows, started as for the tests; stopped when `services` drops.
    let services = if runs_target(extra, "stores") {
        Some(services::start()?)
    } else {
        None
    };
    let mut command = cargo();
    command.args(["run", "--release", "-p", "copilot-bench", "--"]);
    command.args(extra);
    if let Some(services) = &services {
        command.envs(services.env());
    }
    if runs_target(extra, "serve") {
        let mut build = cargo();
        build.args(["build", "--release", "-p", "copilot-cli"]);
        run(build)?;
        // The LiteLLM peer from PyPI; when it cannot be installed the harness is told why and says so in the
        // report (never a silent skip).
        match python::prepare_litellm() {
            Ok(python) => {
                command.env("COPILOT_BENCH_LITELLM_PYTHON", python);
            }
            Err(problem) => {
                let bar = "!".repeat(78);
                eprintln!(
                    "\n{bar}\n!! The LiteLLM peer of the serve rows cannot be measured\n!! because: \
                     {problem}\n{bar}\n"
                );
                command.env("COPILOT_BENCH_LITELLM_UNAVAILABLE", problem);
            }
        }
    }
    run(command)
}

/// Whether `copilot-bench ARGS` runs `target` (all targets, or `--only target` among the `--only`s).
fn runs_target(args: &[String], target: &str) -> bool {
    let only: Vec<&String> = args
        .windows(2)
        .filter(|pair| pair[0] == "--only")
        .map(|pair| &pair[1])
        .collect();
    only.is_empty() || only.iter().any(|name| *name == target)
}

fn build_release_mock() -> Result {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "copilot-mock"]);
    run(build)
}

/// The load/soak run: 1,000 concurrent streaming sessions against the mock (a separate process) on loopback.
fn load(extra: &[String]) -> Result {
    build_release_mock()?;
    let mut command = cargo();
    command.args(["run", "--release", "-p", "copilot-bench", "--", "load"]);
    command.args(extra);
    run(command)
}

/// Runs every cargo-fuzz target in `fuzz/` for `--time N` seconds (default 60). Not part of `ci`.
fn fuzz(extra: &[String]) -> Result {
    let mut seconds: u64 = 60;
    let mut args = extra.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                seconds = args
                    .next()
                    .ok_or("--time needs a number of seconds")?
                    .parse()
                    .map_err(|e| format!("--time: {e}"))?
            }
            other => return Err(format!("fuzz: unknown argument `{other}`")),
        }
    }
    // libFuzzer's instrumentation (-Zsanitizer) needs a nightly toolchain.
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !nightly {
        return Err(
            "cargo-fuzz needs a nightly toolchain and none is installed; install one with \
                    `rustup toolchain install nightly` (see docs/fuzzing.md)"
                .into(),
        );
    }
    ensure_tool("fuzz", "cargo-fuzz")?;
    // Ours in fuzz/, plus the SSE/event decoder target that copilot-api keeps next to its code.
    let mut fuzzed = 0;
    let mut failed = Vec::new();
    for dir in [root().join("fuzz"), root().join("crates/copilot-api/fuzz")] {
        if !dir.join("Cargo.toml").is_file() {
            continue;
        }
        // The rustup proxy (`cargo`, not `$CARGO`, the stable toolchain's own binary) understands `+nightly`.
        let list = Command::new("cargo")
            .current_dir(&dir)
            .args(["+nightly", "fuzz", "list"])
            .output()
            .map_err(|e| format!("cargo fuzz list: {e}"))?;
        if !list.status.success() {
            return Err(format!(
                "cargo fuzz list in {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&list.stderr)
            ));
        }
        let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        // Build first, so a compile error is reported as one and not as a crash of every target.
        let mut build = Command::new("cargo");
        build.current_dir(&dir).args(["+nightly", "fuzz", "build"]);
        run(build)
            .map_err(|e| format!("the fuzz targets in {} do not build: {e}", dir.display()))?;
        for target in &targets {
            let mut command = Command::new("cargo");
            command
                .current_dir(&dir)
                .args(["+nightly", "fuzz", "run", target]);
            // New inputs go to corpus/<target>; checked-in seeds/<target> (if any) start the search.
            let seeds = dir.join("seeds").join(target);
            if seeds.is_dir() {
                let corpus = dir.join("corpus").join(target);
                std::fs::create_dir_all(&corpus)
                    .map_err(|e| format!("creating {}: {e}", corpus.display()))?;
                command.arg(&corpus).arg(&seeds);
            }
            command.args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
            ]);
            // Keep going: one crashing target should not hide the others' results.
            if let Err(e) = run(command) {
                failed.push(format!("{target}: {e}"));
            }
            fuzzed += 1;
        }
    }
    eprintln!("xtask: fuzzed {fuzzed} targets for {seconds} s each");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} fuzz target(s) found a crash (inputs in fuzz*/artifacts/):\n{}",
            failed.len(),
            failed.join("\n")
        ))
    }
}
