//! The mock server in its own process: `copilot-mock` started on a free loopback port, its URLs and demo token
//! read from its first lines of output, killed when dropped.
//!
//! The binary is looked up in this order: `$COPILOT_MOCK_BIN`, then next to the running executable (`cargo
//! xtask bench` builds both into `target/release/`), then `../copilot-mock` from there (for test binaries in
//! `target/*/deps/`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::BenchError;

/// A running `copilot-mock` process.
#[derive(Debug)]
pub struct MockProcess {
    child: Child,
    /// GitHub web base (`http://127.0.0.1:PORT`).
    pub github_web_url: String,
    /// GitHub REST base (`…/api`).
    pub github_api_url: String,
    /// Copilot API base (`…/copilot`).
    pub copilot_api_url: String,
    /// A GitHub token for the demo user, valid for the token exchange.
    pub github_token: String,
}

/// Where the `copilot-mock` binary is, if anywhere.
pub fn locate_binary() -> Option<PathBuf> {
    locate_sibling("copilot-mock", "COPILOT_MOCK_BIN")
}

/// [`locate_sibling`], or an error saying how to build binary `name` of `package`.
pub fn require_sibling(name: &str, package: &str, env_var: &str) -> Result<PathBuf, BenchError> {
    locate_sibling(name, env_var).ok_or_else(|| {
        BenchError::Mock(format!(
            "{name} binary not found next to copilot-bench; build it with \
             `cargo build --release -p {package}` or set {env_var}"
        ))
    })
}

/// A binary of this workspace: at `$env_var` if set, else `name` next to the running executable or one
/// directory up (for test binaries in `target/*/deps/`).
pub fn locate_sibling(name: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    [dir.join(&name), dir.parent()?.join(&name)]
        .into_iter()
        .find(|candidate| candidate.is_file())
}

impl MockProcess {
    /// Starts the mock; `model_fields` adds `model`/`object` to every chat chunk (for async-openai).
    pub fn start(model_fields: bool) -> Result<Self, BenchError> {
        let binary = require_sibling("copilot-mock", "copilot-mock", "COPILOT_MOCK_BIN")?;
        let mut command = Command::new(&binary);
        command.args(["--port", "0"]);
        if model_fields {
            command.arg("--model-fields");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| BenchError::Mock(format!("starting {}: {e}", binary.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Mock("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut field = |prefix: &str| -> Result<String, BenchError> {
            for line in lines.by_ref() {
                let line = line?;
                if let Some(value) = line.strip_prefix(prefix) {
                    return Ok(value.trim().to_owned());
                }
            }
            Err(BenchError::Mock(format!(
                "the mock exited before printing `{prefix}`"
            )))
        };
        let parsed = (|| {
            let github_web_url = field("GitHub web:")?;
            let github_api_url = field("GitHub REST:")?;
            let copilot_api_url = field("Copilot API:")?;
            let github_token = field("Demo GitHub token (user octocat):")?;
            Ok::<_, BenchError>((
                github_web_url,
                github_api_url,
                copilot_api_url,
                github_token,
            ))
        })();
        // Keep draining the mock's output: closing the pipe would make its next `println!` panic.
        std::thread::spawn(move || lines.for_each(drop));
        match parsed {
            Ok((github_web_url, github_api_url, copilot_api_url, github_token)) => {
                Ok(MockProcess {
                    child,
                    github_web_url,
                    github_api_url,
                    copilot_api_url,
                    github_token,
                })
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The operating-system process id of the mock.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
