//! The gateways the serve rows measure, each in its own process on loopback, in front of one `copilot-mock`
//! process:
//!
//! - [`ServeProcess`]: the `copilot-rs` release binary (`copilot-rs serve`), pointed at the mock with
//!   `--github-url`/`--github-api-url` and the mock's demo GitHub token (`COPILOT_GITHUB_TOKEN`), so it does the
//!   real token exchange and everything else it does in front of Copilot. Found next to this binary (`cargo
//!   xtask bench` builds it) or at `$COPILOT_RS_BIN`.
//! - [`LiteLlmProcess`]: the LiteLLM proxy (`litellm[proxy]` from PyPI, installed by `cargo xtask bench` into a
//!   venv), configured as an OpenAI-compatible pass-through (`openai/<model>` with `api_base` = the mock's
//!   Copilot API and the exchanged Copilot token as its key). It runs with a cleared environment (only `PATH`,
//!   a scratch `HOME` and LiteLLM's offline switches), so it sees no credential of this machine.
//!
//! Both are stopped by their PID when dropped (LiteLLM's descendants too, should it have started workers).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::BenchError;
use crate::mock::MockProcess;

/// The key clients send to either gateway.
pub const GATEWAY_KEY: &str = "sk-bench-gateway-0123456789abcdef";

/// How long a gateway may take to start answering (LiteLLM imports a lot of Python).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// Reads a child's stderr on a thread (so the pipe never fills) and hands its lines over.
fn drain_stderr(child: &mut Child) -> Result<mpsc::Receiver<String>, BenchError> {
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| BenchError::Mock("no stderr pipe".into()))?;
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            // Keep reading after the receiver is gone: the child must never block on a full pipe.
            let _ = sender.send(line);
        }
    });
    Ok(lines)
}

/// Kills `child` and waits for it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `copilot-rs serve` in front of the mock.
#[derive(Debug)]
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` (routes under `/v1`).
    pub base_url: String,
    _config_dir: ScratchDir,
}

impl ServeProcess {
    /// Starts `copilot-rs serve --port 0 --api-key GATEWAY_KEY` against `mock` and waits until it listens.
    pub fn start(mock: &MockProcess) -> Result<Self, BenchError> {
        let binary = crate::mock::require_sibling("copilot-rs", "copilot-cli", "COPILOT_RS_BIN")?;
        let config_dir = ScratchDir::new("serve")?;
        let mut child = Command::new(&binary)
            .arg("--github-url")
            .arg(&mock.github_web_url)
            .arg("--github-api-url")
            .arg(&mock.github_api_url)
            .arg("--config-dir")
            .arg(&config_dir.0)
            .args(["serve", "--port", "0", "--api-key", GATEWAY_KEY])
            // The highest-precedence token variable; the others are removed so nothing else is picked up.
            .env("COPILOT_GITHUB_TOKEN", &mock.github_token)
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BenchError::Mock(format!("starting {}: {e}", binary.display())))?;
        let lines = drain_stderr(&mut child)?;
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some((_, url)) = line.split_once("gateway listening on ") {
                        let base_url = url.trim().to_owned();
                        return Ok(ServeProcess {
                            child,
                            base_url,
                            _config_dir: config_dir,
                        });
                    }
                    seen.push(line);
                }
                Err(_) => {
                    stop(&mut child);
                    return Err(BenchError::Mock(format!(
                        "copilot-rs serve did not start listening within {START_TIMEOUT:?}: {}",
                        seen.join(" / ")
                    )));
                }
            }
        }
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The LiteLLM proxy in front of the mock.
#[derive(Debug)]
pub struct LiteLlmProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` (routes under `/v1`).
    pub base_url: String,
    /// LiteLLM's version, as `pip` installed it.
    pub version: String,
    _home: ScratchDir,
}

impl LiteLlmProcess {
    /// Starts `litellm --config … --host 127.0.0.1 --port P --num_workers 1` from the venv of `python`, with
    /// `model` passed through to `copilot_api_url` with `bearer`, and waits until it answers.
    pub fn start(
        python: &Path,
        copilot_api_url: &str,
        bearer: &str,
        model: &str,
    ) -> Result<Self, BenchError> {
        let fail = |message: String| BenchError::contender("litellm", message);
        let litellm = python.with_file_name(format!("litellm{}", std::env::consts::EXE_SUFFIX));
        if !litellm.is_file() {
            return Err(fail(format!(
                "{} not found (is litellm[proxy] installed in that venv?)",
                litellm.display()
            )));
        }
        let version = Command::new(python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown version".into());
        let home = ScratchDir::new("litellm")?;
        let config = home.0.join("config.yaml");
        // JSON is YAML; serde_json quotes every string correctly.
        let yaml = serde_json::json!({
            "model_list": [{
                "model_name": model,
                "litellm_params": {
                    "model": format!("openai/{model}"),
                    "api_base": copilot_api_url,
                    "api_key": bearer,
                },
            }],
            "general_settings": { "master_key": GATEWAY_KEY },
            "litellm_settings": { "telemetry": false },
        });
        std::fs::write(&config, yaml.to_string())?;
        let port = free_port()?;
        let mut child = Command::new(&litellm)
            .arg("--config")
            .arg(&config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--num_workers", "1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home.0)
            // Offline: the model cost map ships with the package; no telemetry.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY", "False")
            .env("NO_PROXY", "*")
            .current_dir(&home.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("starting {}: {e}", litellm.display())))?;
        let lines = drain_stderr(&mut child)?;
        let base_url = format!("http://127.0.0.1:{port}");
        let mut process = LiteLlmProcess {
            child,
            base_url,
            version,
            _home: home,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen: Vec<String> = Vec::new();
        loop {
            while let Ok(line) = lines.try_recv() {
                seen.push(line);
            }
            if ready(port) {
                // Keep draining in the background: the thread in drain_stderr already does.
                return Ok(process);
            }
            let mut child_exited = false;
            if let Ok(Some(status)) = process.child.try_wait() {
                child_exited = true;
                seen.push(format!("exited with {status}"));
            }
            if child_exited || Instant::now() >= deadline {
                let tail: Vec<&String> = seen.iter().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().map(String::as_str).collect();
                return Err(fail(format!(
                    "LiteLLM {} did not answer on port {port} within {START_TIMEOUT:?}; its last output: {}",
                    process.version,
                    tail.join(" / ")
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The proxy's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LiteLlmProcess {
    fn drop(&mut self) {
        // Workers first (by PID), then the parent.
        for pid in descendants(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        stop(&mut self.child);
    }
}

/// A scratch directory under the system temp dir, removed when dropped.
#[derive(Debug)]
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(what: &str) -> Result<Self, BenchError> {
        let dir = std::env::temp_dir().join(format!(
            "copilot-bench-{what}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port free right now (bound, read, released).
fn free_port() -> Result<u16, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether LiteLLM answers its liveness probe (`GET /health/liveliness` → 200) on `port`.
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /health/liveliness HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Every process descended from `pid` (children first found, then theirs), from `/proc/*/stat`.
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let links: Vec<(u32, u32)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|id| Some((id, crate::probe::parent_pid(id)?)))
        .collect();
    let mut found = vec![pid];
    let mut index = 0;
    while let Some(&current) = found.get(index) {
        index += 1;
        for &(id, ppid) in &links {
            if ppid == current && !found.contains(&id) {
                found.push(id);
            }
        }
    }
    found.remove(0);
    found
}
