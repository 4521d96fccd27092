//! A copilot-mock server for one test, and `copilot-rs` commands pointed at it.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use copilot_mock::{
    DeviceOutcome, DeviceScenario, Endpoint, Fault, FaultRule, MockConfig, MockServer,
};
use tempfile::TempDir;

/// Environment variables that would leak the developer's identity or settings into a test.
const SCRUBBED_ENV: [&str; 23] = [
    "COPILOT_GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GITHUB_COPILOT_API_TOKEN",
    "COPILOT_API_URL",
    "COPILOT_RS_GITHUB_URL",
    "COPILOT_RS_GITHUB_API_URL",
    "COPILOT_RS_CONFIG_DIR",
    "COPILOT_RS_CLIENT_ID",
    "COPILOT_RS_EDITOR_VERSION",
    "COPILOT_RS_EDITOR_PLUGIN_VERSION",
    "COPILOT_RS_USER_AGENT",
    "COPILOT_RS_INTEGRATION_ID",
    "COPILOT_RS_COPILOT_API_VERSION",
    "COPILOT_RS_MESSAGES_API_VERSION",
    "COPILOT_RS_EXCHANGE_API_VERSION",
    "COPILOT_RS_STORE_URL",
    "COPILOT_RS_STORE_KEY",
    "COPILOT_RS_STORE_NAMESPACE",
    "COPILOT_RS_ACCOUNT",
    "RUST_LOG",
    "BROWSER",
    "HTTPS_PROXY",
];

/// A device scenario that finishes quickly: 1 s interval, approved on the first poll.
pub fn quick_device() -> DeviceScenario {
    DeviceScenario::new()
        .interval(1)
        .outcome(DeviceOutcome::ApproveAfterPolls(0))
}

/// A mock server (on its own runtime, so tests stay synchronous) and a private config directory.
pub struct TestMock {
    server: Option<MockServer>,
    config_dir: TempDir,
    runtime: tokio::runtime::Runtime,
}

impl TestMock {
    /// The default mock with a quick device flow.
    pub fn start() -> Self {
        Self::with_config(MockConfig::new().device(quick_device()))
    }

    /// A mock with `config`.
    pub fn with_config(config: MockConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime");
        let server = runtime.block_on(MockServer::start(config));
        TestMock {
            server: Some(server),
            config_dir: TempDir::new().expect("temp dir"),
            runtime,
        }
    }

    /// Runs `future` on the mock's runtime (for HTTP calls from a synchronous test).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The mock.
    pub fn server(&self) -> &MockServer {
        self.server.as_ref().expect("server running")
    }

    /// The credentials file the CLI writes.
    pub fn credentials_file(&self) -> PathBuf {
        self.config_dir().join("credentials.json")
    }

    /// The config directory (created by the CLI on first save).
    pub fn config_dir(&self) -> PathBuf {
        self.config_dir.path().join("config")
    }

    /// Whether nothing at all was written to the test's home directory (which also holds the config dir).
    pub fn home_is_empty(&self) -> bool {
        std::fs::read_dir(self.config_dir.path())
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false)
    }

    /// `copilot-rs` with a clean environment, without any host options.
    pub fn bare_cmd(&self) -> Command {
        Command::from_std(self.bare_std_cmd())
    }

    /// [`bare_cmd`](Self::bare_cmd) as a plain `std::process::Command` (for long-running processes).
    pub fn bare_std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("copilot-rs"));
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.config_dir.path())
            .env("XDG_CONFIG_HOME", self.config_dir.path().join("xdg"))
            .env("NO_PROXY", "127.0.0.1,localhost");
        cmd
    }

    /// `copilot-rs` pointed at the mock (web and REST URLs) with the private config directory.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// [`cmd`](Self::cmd) as a plain `std::process::Command`.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = self.bare_std_cmd();
        cmd.arg("--github-url")
            .arg(self.server().github_web_url())
            .arg("--github-api-url")
            .arg(self.server().github_api_url())
            .arg("--config-dir")
            .arg(self.config_dir());
        cmd
    }

    /// The default mock, already signed in as `octocat` (see [`sign_in`](Self::sign_in)).
    pub fn signed_in() -> Self {
        let mock = Self::start();
        mock.sign_in();
        mock
    }

    /// [`signed_in`](Self::signed_in), with every chat completion answered by `fault`.
    pub fn with_chat_fault(fault: Fault) -> Self {
        let mock = Self::signed_in();
        mock.server()
            .set_fault(FaultRule::new(Endpoint::ChatCompletions, fault));
        mock
    }

    /// Runs `copilot-rs args` against the mock and returns what it did.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run copilot-rs")
    }

    /// [`run`](Self::run), asserting that the command succeeded (showing its stderr if not).
    pub fn run_ok(&self, args: &[&str]) -> Output {
        assert_success(self.run(args), args)
    }

    /// Runs `copilot-rs args` against the mock with the environment variables `env` set.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.envs(env.iter().copied()).args(args);
        cmd.output().expect("run copilot-rs")
    }

    /// Runs `copilot-rs args` against the mock with `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: impl Into<Vec<u8>>) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args).write_stdin(stdin);
        cmd.output().expect("run copilot-rs")
    }

    /// Runs `copilot-rs auth login --with-token` with `stdin` as the token input.
    pub fn login_with_token(&self, stdin: impl Into<Vec<u8>>) -> Output {
        self.run_with_stdin(&["auth", "login", "--with-token"], stdin)
    }

    /// Runs `copilot-rs args` with a clean environment and no host options (see [`bare_cmd`](Self::bare_cmd)).
    pub fn run_bare(&self, args: &[&str]) -> Output {
        self.bare_cmd().args(args).output().expect("run copilot-rs")
    }

    /// [`run_bare`](Self::run_bare), asserting that the command succeeded (showing its stderr if not).
    pub fn run_bare_ok(&self, args: &[&str]) -> Output {
        assert_success(self.run_bare(args), args)
    }

    /// Signs in as `octocat` with `auth login --with-token` and returns the token.
    pub fn sign_in(&self) -> String {
        let token = self.server().mint_github_token("octocat");
        let output = self.login_with_token(format!("{token}\n"));
        assert_success(output, &["auth", "login", "--with-token"]);
        token
    }

    /// The GitHub token in the credentials file.
    pub fn stored_token(&self) -> String {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.credentials_file()).expect("credentials"))
                .expect("credentials JSON");
        file["credentials"][0]["credential"]["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

impl Drop for TestMock {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// Asserts that `output` (of `copilot-rs args`) is a success, showing its stderr if not; returns it.
fn assert_success(output: Output, args: &[&str]) -> Output {
    assert!(
        output.status.success(),
        "copilot-rs {args:?} failed: {}",
        text(&output.stderr)
    );
    output
}

/// Bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The non-empty lines of stderr.
pub fn stderr_lines(output: &Output) -> Vec<String> {
    text(&output.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Asserts that the command failed with `code` and exactly one stderr line starting with
/// `error: <kind>:` and containing `message`; stdout must be empty.
pub fn assert_one_line_error(output: &Output, code: i32, kind: &str, message: &str) {
    let lines = stderr_lines(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {lines:?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "stderr: {lines:?}");
    assert!(
        errors[0].starts_with(&format!("error: {kind}: ")),
        "expected kind {kind:?} in {:?}",
        errors[0]
    );
    assert!(
        errors[0].contains(message),
        "expected {message:?} in {:?}",
        errors[0]
    );
    assert_eq!(
        text(&output.stdout),
        "",
        "stdout must stay empty on failure"
    );
}
