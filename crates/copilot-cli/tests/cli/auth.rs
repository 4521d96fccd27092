//! `auth login` (device flow and `--with-token`), `auth status`, `auth logout`, and the global options.

use std::os::unix::fs::PermissionsExt;

use copilot_mock::{DeviceOutcome, Endpoint, HostLayout, MockConfig};
use serde_json::Value;

use crate::support::{TestMock, assert_one_line_error, quick_device, stderr_lines, text};

#[test]
fn device_login_shows_the_code_and_stores_the_token_0600() {
    let mock = TestMock::start();
    let output = mock.run(&["auth", "login", "--no-browser"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        text(&output.stdout),
        "",
        "progress and prompts go to stderr"
    );

    // The code shown is the one the mock issued, with the verification page.
    let device_code_request = &mock.server().requests_to(Endpoint::DeviceCode)[0];
    assert!(
        device_code_request
            .body_text()
            .contains("scope=read%3Auser")
    );
    let shown = stderr
        .lines()
        .find_map(|l| l.strip_prefix("! First copy your one-time code: "))
        .expect("code shown");
    assert_eq!(shown.len(), 9, "XXXX-XXXX: {shown}");
    assert!(stderr.contains(&format!("{}/login/device", mock.server().github_web_url())));
    assert!(stderr.contains("Logged in to 127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("as octocat"), "{stderr}");
    // No terminal: plain progress lines, no spinner escape codes, no browser offer.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stderr.contains("Press Enter"), "{stderr}");

    let file = mock.credentials_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials file mode {mode:o}");
    let dir_mode = std::fs::metadata(mock.config_dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o077;
    assert_eq!(dir_mode, 0, "config dir readable by others");
    assert!(
        mock.stored_token().starts_with("ghu_"),
        "the Copilot app mints ghu_ tokens"
    );
}

#[test]
fn status_after_device_login_reports_login_kind_plan_endpoint_and_expiry() {
    let mock = TestMock::start();
    mock.cmd()
        .args(["auth", "login", "--no-browser"])
        .assert()
        .success();
    let output = mock.run_ok(&["auth", "status", "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["logged_in"], true);
    assert_eq!(status["login"], "octocat");
    assert_eq!(status["token_kind"], "ghu");
    assert_eq!(status["source"], "store");
    assert_eq!(status["auth_mode"], "exchange");
    assert_eq!(status["plan"], "individual");
    assert_eq!(status["sku"], "copilot_individual");
    assert_eq!(status["api_endpoint"], mock.server().copilot_api_url());
    let expires = status["copilot_token_expires_at"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    // The mock's Pro seat: 300 AI credits, none used.
    assert_eq!(status["ai_credits_used"], 0.0);
    assert_eq!(status["ai_credits_entitlement"], 300.0);
    assert_eq!(status["ai_credits_remaining"], 300.0);
    assert!(status["quota_reset_date"].is_string(), "{status}");
    let keys: Vec<&String> = status.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ai_credits_entitlement",
            "ai_credits_remaining",
            "ai_credits_used",
            "api_endpoint",
            "auth_mode",
            "copilot_token_expires_at",
            "host",
            "logged_in",
            "login",
            "plan",
            "quota_reset_date",
            "sku",
            "source",
            "token_kind"
        ]
    );

    let human = mock.run(&["auth", "status"]);
    let stdout = text(&human.stdout);
    assert!(human.status.success());
    assert!(stdout.contains("Logged in as octocat"), "{stdout}");
    assert!(stdout.contains("GitHub App user token (ghu_)"), "{stdout}");
    assert!(
        stdout.contains("individual (sku copilot_individual)"),
        "{stdout}"
    );
    assert!(stdout.contains(mock.server().copilot_api_url()), "{stdout}");
    assert!(stdout.contains("Copilot token:  expires "), "{stdout}");
    assert!(
        stdout.contains("AI credits:     0.00 used of 300.00 (300.00 left, resets "),
        "{stdout}"
    );
}

#[test]
fn denied_device_login_exits_4_with_one_line() {
    let mock = TestMock::with_config(
        MockConfig::new().device(quick_device().outcome(DeviceOutcome::Deny)),
    );
    let output = mock.run(&["auth", "login", "--no-browser"]);
    assert_one_line_error(&output, 4, "access denied", "denied");
    assert!(!mock.credentials_file().exists());
}

#[test]
fn expired_device_code_exits_4_with_one_line() {
    let mock = TestMock::with_config(
        MockConfig::new().device(quick_device().outcome(DeviceOutcome::Expire)),
    );
    let output = mock.run(&["auth", "login", "--no-browser"]);
    assert_one_line_error(
        &output,
        4,
        "code expired",
        "run `copilot-rs auth login` again",
    );
    assert!(!mock.credentials_file().exists());
}

#[test]
fn slow_down_is_honoured() {
    let mock = TestMock::with_config(MockConfig::new().device(quick_device().slow_down_once(true)));
    let output = mock.run(&["auth", "login", "--no-browser"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("slow down; polling every 6s"), "{stderr}");
    // Had the client not waited the new interval, the mock would have said slow_down again.
    assert_eq!(mock.server().slow_down_count(), 1);
    assert_eq!(mock.server().requests_to(Endpoint::AccessToken).len(), 2);
}

#[test]
fn network_error_exits_1_with_one_line() {
    let mock = TestMock::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = mock
        .bare_cmd()
        .args(["--github-url", &url, "--config-dir"])
        .arg(mock.config_dir())
        .args(["auth", "login", "--no-browser"])
        .output()
        .unwrap();
    assert_one_line_error(&output, 1, "network error", "");
}

#[test]
fn with_token_stores_the_token_and_status_shows_it() {
    let mock = TestMock::start();
    let token = mock.sign_in();
    assert_eq!(mock.stored_token(), token);
    let output = mock.run(&["auth", "status", "--json"]);
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["login"], "octocat");
    assert_eq!(
        status["token_kind"], "gho",
        "minted tokens are OAuth app tokens"
    );
}

#[test]
fn with_token_refuses_classic_pats_before_any_request() {
    let mock = TestMock::start();
    let output = mock.login_with_token("ghp_0123456789abcdefghijABCDEFGHIJ012345\n");
    assert_one_line_error(
        &output,
        1,
        "unsupported token",
        "classic personal access token",
    );
    assert!(text(&output.stderr).contains("fine-grained personal access token"));
    assert!(mock.server().requests().is_empty());
    assert!(!mock.credentials_file().exists());
}

#[test]
fn with_token_rejects_a_token_github_does_not_know() {
    let mock = TestMock::start();
    let output = mock.login_with_token("gho_notAValidTokenForThisMock000000000000\n");
    assert_one_line_error(&output, 4, "unauthorized", "sign in again");
    assert!(!mock.credentials_file().exists());
}

#[test]
fn logout_removes_the_credential() {
    let mock = TestMock::signed_in();
    let output = mock.run(&["auth", "logout"]);
    assert!(output.status.success());
    assert!(text(&output.stderr).contains("Logged out of 127.0.0.1:"));
    let file: Value =
        serde_json::from_slice(&std::fs::read(mock.credentials_file()).unwrap()).unwrap();
    assert_eq!(file["credentials"], serde_json::json!([]));

    let again = mock.run(&["auth", "logout"]);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("nothing to remove"));
}

#[test]
fn status_when_signed_out_exits_4() {
    let mock = TestMock::start();
    let output = mock.run(&["auth", "status"]);
    assert_one_line_error(&output, 4, "not signed in", "copilot-rs auth login");

    let json = mock.run(&["auth", "status", "--json"]);
    assert_eq!(json.status.code(), Some(4));
    let status: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["logged_in"], false);
    assert_eq!(status["login"], Value::Null);
}

#[test]
fn global_options_are_read_from_the_environment() {
    let mock = TestMock::signed_in();
    let output = mock
        .bare_cmd()
        .env("COPILOT_RS_GITHUB_URL", mock.server().github_web_url())
        .env("COPILOT_RS_GITHUB_API_URL", mock.server().github_api_url())
        .env("COPILOT_RS_CONFIG_DIR", mock.config_dir())
        .args(["auth", "status", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["login"], "octocat");
}

#[test]
fn client_id_option_reaches_the_device_flow() {
    let mock = TestMock::start();
    let output = mock
        .cmd()
        .args(["--client-id", copilot_mock::VSCODE_CLIENT_ID])
        .args(["auth", "login", "--no-browser"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let request = &mock.server().requests_to(Endpoint::DeviceCode)[0];
    assert!(request.body_text().contains(copilot_mock::VSCODE_CLIENT_ID));
    assert!(
        mock.stored_token().starts_with("gho_"),
        "VS Code's app mints gho_"
    );
}

#[test]
fn rest_url_is_derived_for_enterprise_server() {
    // GHES layout: REST under /api/v3, derived from --github-url alone.
    let mock = TestMock::with_config(
        MockConfig::new()
            .device(quick_device())
            .layout(HostLayout::Ghes),
    );
    let token = mock.server().mint_github_token("octocat");
    let output = mock
        .bare_cmd()
        .args([
            "--github-url",
            mock.server().github_web_url(),
            "--config-dir",
        ])
        .arg(mock.config_dir())
        .args(["auth", "login", "--with-token"])
        .write_stdin(token)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        mock.server().requests_to(Endpoint::User)[0].path,
        "/api/v3/user"
    );
}

#[test]
fn bad_github_url_is_a_usage_error() {
    let mock = TestMock::start();
    let output = mock.run_bare(&["--github-url", "ftp://example.com", "auth", "status"]);
    assert_one_line_error(&output, 2, "invalid input", "--github-url");
    assert_eq!(stderr_lines(&output).len(), 1);
}

/// Text that is no token at all is unusable input: exit 2, as documented, not the generic 1 (issue 14).
#[test]
fn with_token_an_invalid_token_exits_2() {
    let mock = TestMock::start();
    for input in ["\n", "not a token\n", "gho_abc\u{7}def\n"] {
        let output = mock.login_with_token(input);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{input:?}: {}",
            text(&output.stderr)
        );
    }
    assert!(mock.server().requests().is_empty());
    assert!(!mock.credentials_file().exists());
}
