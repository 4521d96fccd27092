//! `--store-url`: three `copilot-rs serve` processes on one Redis share the API keys added with `keys add`,
//! the logins stored with `auth login --account`, and one Copilot exchange per user; a removed key stops on
//! all of them. Redis comes from `cargo xtask test` (COPILOT_RS_TEST_REDIS_URL).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::support::{TestMock, assert_one_line_error, text};

const REDIS_VAR: &str = "COPILOT_RS_TEST_REDIS_URL";
/// base64 of 32 bytes: the fleet's encryption key.
const STORE_KEY: &str = "Y29waWxvdC1ycyBjbGkgZmxlZXQgdGVzdCBrZXkgMzI=";

/// The Redis URL, or `None` after a loud skip message; with `CI=true` a missing server fails.
fn redis_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_VAR)
        && !url.is_empty()
    {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "{REDIS_VAR} is not set and CI=true: run `cargo xtask test`"
    );
    eprintln!(
        "\n!!!!!!!!!! SKIPPED {test}: {REDIS_VAR} is not set. Run `cargo xtask test` to start Redis. !!!!!!!!!!\n"
    );
    None
}

/// `copilot-rs` against the mock and the shared store (in a namespace of this test's own).
fn stored_cmd(mock: &TestMock, url: &str, namespace: &str) -> assert_cmd::Command {
    assert_cmd::Command::from_std(stored_std_cmd(mock, url, namespace))
}

fn stored_std_cmd(mock: &TestMock, url: &str, namespace: &str) -> Command {
    let mut cmd = mock.std_cmd();
    cmd.env("COPILOT_RS_STORE_URL", url)
        .env("COPILOT_RS_STORE_NAMESPACE", namespace)
        .env("COPILOT_RS_STORE_KEY", STORE_KEY);
    cmd
}

/// A `serve` process; killed when dropped.
struct Gateway {
    child: Child,
    base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway(mock: &TestMock, url: &str, namespace: &str) -> Gateway {
    let mut cmd = stored_std_cmd(mock, url, namespace);
    cmd.args(["serve", "--port", "0", "--key-cache-secs", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start copilot-rs serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .expect("read stderr");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_owned();
        }
    };
    // Keep draining stderr so the gateway never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Gateway { child, base }
}

#[test]
fn keys_need_a_store_url() {
    let mock = TestMock::start();
    let output = mock.run(&["keys", "list"]);
    assert_one_line_error(&output, 2, "invalid input", "--store-url");
}

#[test]
fn a_store_url_needs_the_encryption_key() {
    let mock = TestMock::start();
    let redis = [("COPILOT_RS_STORE_URL", "redis://127.0.0.1:1/")];
    let output = mock.run_with_env(&redis, &["keys", "list"]);
    assert_one_line_error(&output, 2, "invalid input", "COPILOT_RS_STORE_KEY");
    let mysql = [
        ("COPILOT_RS_STORE_URL", "mysql://127.0.0.1/"),
        ("COPILOT_RS_STORE_KEY", STORE_KEY),
    ];
    let output = mock.run_with_env(&mysql, &["keys", "list"]);
    assert_one_line_error(&output, 2, "invalid input", "not a supported store");
}

#[test]
fn three_gateway_processes_share_keys_logins_and_one_exchange() {
    let test = "three_gateway_processes_share_keys_logins_and_one_exchange";
    let Some(url) = redis_url(test) else {
        return;
    };
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let namespace = format!("cli-fleet-{}-{nanos}", std::process::id());
    let mock = TestMock::start();

    // Alice's login goes into the shared store under her account; a key is added for her.
    let token = mock.server().mint_github_token("octocat");
    let login = stored_cmd(&mock, &url, &namespace)
        .args(["--account", "alice", "auth", "login", "--with-token"])
        .write_stdin(format!("{token}\n"))
        .output()
        .expect("login");
    assert!(login.status.success(), "{}", text(&login.stderr));
    assert!(
        !mock.config_dir().join("credentials.json").exists(),
        "with --store-url nothing is written to the config directory"
    );
    let added = stored_cmd(&mock, &url, &namespace)
        .args(["keys", "add", "--user", "alice", "--label", "alice's agent"])
        .output()
        .expect("keys add");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let key = text(&added.stdout).trim().to_owned();
    assert!(key.starts_with("sk-copilot-rs-"), "{key}");
    let listed = stored_cmd(&mock, &url, &namespace)
        .args(["keys", "list", "--json"])
        .output()
        .expect("keys list");
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("keys list --json");
    assert_eq!(listed[0]["user"], "alice");
    assert_eq!(listed[0]["label"], "alice's agent");
    assert!(
        !text(&added.stderr).contains(&key) && !listed.to_string().contains(&key),
        "the key is printed once, on stdout, and never stored"
    );

    let fleet: Vec<Gateway> = (0..3)
        .map(|_| start_gateway(&mock, &url, &namespace))
        .collect();
    let http = reqwest::Client::new();
    let hi =
        json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let chat = |base: String, key: String| {
        let (http, hi) = (http.clone(), hi.clone());
        async move {
            http.post(format!("{base}/v1/chat/completions"))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(hi)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    let before = mock.server().copilot_tokens_issued();
    let statuses = mock.block_on(futures_util::future::join_all(
        fleet
            .iter()
            .flat_map(|g| (0..10).map(|_| chat(g.base.clone(), key.clone()))),
    ));
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        mock.server().copilot_tokens_issued() - before,
        1,
        "30 requests through 3 gateway processes: one Copilot exchange for alice"
    );

    let removed = stored_cmd(&mock, &url, &namespace)
        .args(["keys", "remove", &key])
        .output()
        .expect("keys remove");
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    let statuses = mock.block_on(futures_util::future::join_all(
        fleet.iter().map(|g| chat(g.base.clone(), key.clone())),
    ));
    assert_eq!(
        statuses,
        vec![401, 401, 401],
        "a removed key stops everywhere"
    );
}
