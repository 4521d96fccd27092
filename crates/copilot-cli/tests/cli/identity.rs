//! The identity overrides: `--editor-version`, `--editor-plugin-version`, `--user-agent`, `--integration-id`
//! and their `COPILOT_RS_*` variables reach the wire; a 466 names them.

use copilot_mock::{Endpoint, Fault};

use crate::support::{TestMock, assert_one_line_error, text};

#[test]
fn identity_flags_and_variables_reach_every_request() {
    let mock = TestMock::signed_in();
    let output = mock
        .cmd()
        .env("COPILOT_RS_EDITOR_VERSION", "vscode/1.200.0")
        .env("COPILOT_RS_EDITOR_PLUGIN_VERSION", "copilot-chat/0.50.0")
        // The flag wins over its variable.
        .env("COPILOT_RS_USER_AGENT", "from-the-environment/1")
        .args(["--user-agent", "GitHubCopilotChat/0.50.0"])
        .env("COPILOT_RS_EXCHANGE_API_VERSION", "2026-01-01")
        .args(["--copilot-api-version", "2025-10-01"])
        .args(["--integration-id", "vscode-chat", "chat", "Hello"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));

    let chat = &mock.server().requests_to(Endpoint::ChatCompletions)[0];
    assert_eq!(chat.header("editor-version"), Some("vscode/1.200.0"));
    assert_eq!(
        chat.header("editor-plugin-version"),
        Some("copilot-chat/0.50.0")
    );
    assert_eq!(chat.header("user-agent"), Some("GitHubCopilotChat/0.50.0"));
    assert_eq!(chat.header("copilot-integration-id"), Some("vscode-chat"));
    assert_eq!(chat.header("x-github-api-version"), Some("2025-10-01"));

    let exchange = mock.server().requests_to(Endpoint::CopilotToken);
    let exchange = exchange.last().expect("a token exchange");
    assert_eq!(exchange.header("editor-version"), Some("vscode/1.200.0"));
    assert_eq!(
        exchange.header("user-agent"),
        Some("GitHubCopilotChat/0.50.0")
    );
    assert_eq!(exchange.header("x-github-api-version"), Some("2026-01-01"));
}

#[test]
fn without_overrides_the_identity_is_copilot_rs() {
    let mock = TestMock::signed_in();
    mock.run_ok(&["chat", "Hello"]);
    let chat = &mock.server().requests_to(Endpoint::ChatCompletions)[0];
    let version = format!("copilot-rs/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(chat.header("editor-version"), Some(version.as_str()));
    assert_eq!(chat.header("user-agent"), Some(version.as_str()));
    assert_eq!(
        chat.header("copilot-integration-id"),
        Some("copilot-developer-cli")
    );
    assert_eq!(chat.header("x-github-api-version"), Some("2025-05-01"));
}

#[test]
fn client_not_supported_names_the_overrides() {
    let mock = TestMock::with_chat_fault(Fault::client_not_supported());
    let output = mock.run(&["chat", "Hello"]);
    assert_one_line_error(&output, 1, "client not supported", "(HTTP 466)");
    let stderr = text(&output.stderr);
    for hint in [
        "update copilot-rs",
        "--editor-version",
        "--integration-id",
        "COPILOT_RS_EDITOR_VERSION",
        "COPILOT_RS_USER_AGENT",
        "--copilot-api-version",
    ] {
        assert!(stderr.contains(hint), "{hint}: {stderr}");
    }
}
