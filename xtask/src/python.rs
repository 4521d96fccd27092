//! The gateway's real-client tests: the official `openai` and `anthropic` Python packages (pinned in
//! `crates/copilot-serve/tests/python/requirements.txt`) against `copilot-rs --mock serve`.
//!
//! The packages are installed from PyPI into `target/python-venv` (re-created when the requirements
//! change). The gateway runs as its own process on a free loopback port and is stopped by its PID. With
//! `CI=true` every step must work (a missing Python or a failed install fails the run); elsewhere a
//! missing part skips these tests with a loud message, never silently.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{Result, cargo, root, run};

/// Where the tests and their requirements live.
const TESTS: &str = "crates/copilot-serve/tests/python";
/// The key the gateway under test accepts.
const KEY: &str = "sk-xtask-python-0123456789abcdef";
/// How long the gateway may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the Python real-client tests (or, outside CI, skips them loudly when Python is unusable).
pub fn test() -> Result {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let python = match prepare_venv() {
        Ok(python) => python,
        Err(problem) if ci => return Err(format!("python real-client tests (CI=true): {problem}")),
        Err(problem) => {
            loud_skip(&problem);
            return Ok(());
        }
    };
    let mut build = cargo();
    build.args(["build", "-p", "copilot-cli"]);
    run(build)?;
    let binary = crate::target_dir()
        .join("debug")
        .join(format!("copilot-rs{}", std::env::consts::EXE_SUFFIX));
    let mut gateway = Gateway::start(&binary)?;
    let mut tests = Command::new(&python);
    tests
        .current_dir(root())
        .args([
            "-m",
            "unittest",
            "discover",
            "-v",
            "-s",
            TESTS,
            "-p",
            "test_*.py",
        ])
        .env("COPILOT_SERVE_URL", &gateway.base_url)
        .env("COPILOT_SERVE_KEY", KEY);
    let result = run(tests);
    gateway.stop();
    if result.is_err() {
        eprintln!("xtask: gateway log:\n{}", gateway.log());
    }
    result
}

fn loud_skip(problem: &str) {
    let bar = "!".repeat(78);
    eprintln!(
        "\n{bar}\n!! SKIPPED: the copilot-serve real-client tests (openai + anthropic Python packages)\n\
         !! because: {problem}\n!! With CI=true this is a failure. Install Python 3 with venv/pip to run them.\n{bar}\n"
    );
}

/// The venv's Python with the pinned packages installed.
fn prepare_venv() -> std::result::Result<PathBuf, String> {
    venv_with("requirements.txt", "python-venv")
}

/// The benchmarks' LiteLLM peer: `litellm[proxy]` (pinned in `requirements-litellm.txt` beside the test
/// requirements) in `target/litellm-venv`; the venv's Python.
pub fn prepare_litellm() -> std::result::Result<PathBuf, String> {
    venv_with("requirements-litellm.txt", "litellm-venv")
}

/// `target/<venv_dir>` with the packages of `<TESTS>/<requirements>` installed from PyPI, re-created when the
/// requirements file changed since the last install.
fn venv_with(requirements: &str, venv_dir: &str) -> std::result::Result<PathBuf, String> {
    let requirements_path = root().join(TESTS).join(requirements);
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let venv = crate::target_dir().join(venv_dir);
    let python = venv_python(&venv);
    let stamp = venv.join("copilot-rs-requirements.txt");
    if python.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        return Ok(python);
    }
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let _ = fs::remove_dir_all(&venv);
    let mut create = Command::new(&system);
    create.args(["-m", "venv"]).arg(&venv);
    run(create).map_err(|e| format!("cannot create a venv with `{system}`: {e}"))?;
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
        ])
        .arg(&requirements_path);
    run(install).map_err(|e| format!("cannot install the pinned packages from PyPI: {e}"))?;
    fs::write(&stamp, requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts/python.exe")
    } else {
        venv.join("bin/python")
    }
}

/// `copilot-rs --mock serve` as a child process.
struct Gateway {
    child: Option<Child>,
    base_url: String,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Gateway {
    fn start(binary: &Path) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["--mock", "serve", "--port", "0", "--api-key", KEY])
            .env("RUST_LOG", "warn,copilot_serve=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (sender, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut gateway = Gateway {
            child: Some(child),
            base_url: String::new(),
            log,
            seen: Vec::new(),
        };
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match gateway.log.recv_timeout(left) {
                Ok(line) => {
                    let url = line
                        .split_once("gateway listening on ")
                        .map(|(_, url)| url.trim().to_owned());
                    gateway.seen.push(line);
                    if let Some(url) = url {
                        gateway.base_url = url;
                        eprintln!(
                            "xtask: copilot-rs serve (pid {}) at {}",
                            gateway.pid(),
                            gateway.base_url
                        );
                        return Ok(gateway);
                    }
                }
                Err(_) => {
                    gateway.stop();
                    return Err(format!(
                        "copilot-rs serve did not start listening within {START_TIMEOUT:?}:\n{}",
                        gateway.log()
                    ));
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops the gateway by its PID.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if let Some(mut stderr) = child.stderr.take() {
                let mut rest = String::new();
                let _ = stderr.read_to_string(&mut rest);
            }
        }
    }

    /// Everything the gateway wrote to stderr so far.
    fn log(&mut self) -> String {
        while let Ok(line) = self.log.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}
