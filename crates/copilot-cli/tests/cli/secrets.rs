//! No token is ever printed or logged, not even with `RUST_LOG=trace`.

use std::process::Output;

use copilot_mock::Endpoint;

use crate::support::{TestMock, text};

/// Prefixes of GitHub tokens (and refresh tokens).
const GITHUB_PREFIXES: [&str; 6] = ["gho_", "ghu_", "ghr_", "ghp_", "ghs_", "github_pat_"];

/// Every place in `haystack` that looks like a GitHub token: a known prefix followed by at least 16
/// token characters.
fn token_like(haystack: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in GITHUB_PREFIXES {
        for (start, _) in haystack.match_indices(prefix) {
            let tail: String = haystack[start + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if tail.len() >= 16 {
                found.push(format!("{prefix}{tail}"));
            }
        }
    }
    found
}

fn all_output(outputs: &[Output]) -> String {
    outputs
        .iter()
        .map(|o| format!("{}{}", text(&o.stdout), text(&o.stderr)))
        .collect()
}

#[test]
fn trace_logs_never_contain_a_token() {
    let mock = TestMock::start();
    let traced = |args: &[&str]| {
        let output = mock
            .cmd()
            .env("RUST_LOG", "trace")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        output
    };
    let outputs = vec![
        traced(&["auth", "login", "--no-browser"]),
        traced(&["auth", "status"]),
        traced(&["auth", "status", "--json"]),
        traced(&["models"]),
        traced(&["chat", "Hello"]),
        traced(&["chat", "--json", "--no-stream", "Hello"]),
    ];
    let everything = all_output(&outputs);
    // The scan means something only if tracing really ran at trace level.
    assert!(everything.contains("TRACE"), "no trace output captured");
    assert!(everything.contains("DEBUG"), "no debug output captured");

    let github_token = mock.stored_token();
    assert!(github_token.len() > 20);
    assert!(
        !everything.contains(&github_token),
        "the GitHub token leaked"
    );
    assert_eq!(token_like(&everything), Vec::<String>::new());

    // The device code is a secret too (whoever holds it receives the token).
    let poll = mock.server().requests_to(Endpoint::AccessToken)[0].body_text();
    let device_code = poll
        .split('&')
        .find_map(|kv| kv.strip_prefix("device_code="))
        .expect("device_code in the poll");
    assert!(device_code.len() >= 16);
    assert!(!everything.contains(device_code), "the device code leaked");

    // Copilot tokens are `tid=…;exp=…;sku=…:signature`; none may appear.
    assert!(mock.server().copilot_tokens_issued() >= 1);
    assert!(!everything.contains("tid="), "a Copilot token leaked");
}

#[test]
fn with_token_login_and_demo_never_print_a_token() {
    let mock = TestMock::start();
    let token = mock.server().mint_github_token("octocat");
    let login = mock
        .cmd()
        .env("RUST_LOG", "trace")
        .args(["auth", "login", "--with-token"])
        .write_stdin(token.clone())
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login.stderr));
    let demo = mock
        .bare_cmd()
        .env("RUST_LOG", "trace")
        .args(["--mock", "demo"])
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    let everything = all_output(&[login, demo]);
    assert!(everything.contains("TRACE"));
    assert!(!everything.contains(&token));
    assert_eq!(token_like(&everything), Vec::<String>::new());
    assert!(!everything.contains("tid="));
}
