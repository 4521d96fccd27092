//! Secrets (the Copilot token, the GitHub token, the client IP inside the token) never appear in Debug output
//! or in logs at any level.

use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_test_support::capture_logs;
use copilot_token::{AuthMode, CopilotToken, StaticGitHubToken, TokenFields, TokenManager};
use serde_json::json;
use wiremock::{Mock, ResponseTemplate, matchers};

use super::support::*;

#[tokio::test]
async fn secrets_never_appear_in_debug_output_or_trace_logs() {
    let (captured, _guard) = capture_logs(tracing::Level::TRACE);

    let copilot_token = token_string("7", T0 + 1800);
    let server = wiremock::MockServer::start().await;
    // First exchange: strict decoding fails (logs a warning), second one succeeds fully.
    let mut odd = envelope(&copilot_token, T0 + 1800, 1500);
    odd["endpoints"] = json!("https://api.individual.githubcopilot.com");
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(odd))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_exchange(
        &server,
        ResponseTemplate::new(200).set_body_json(envelope(&copilot_token, T0 + 1800, 1500)),
    )
    .await;
    Mock::given(matchers::path(USER_PATH))
        .respond_with(bad_credentials())
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let mut debug = String::new();
    for mode in [AuthMode::Exchange, AuthMode::Direct] {
        let manager = reqwest_manager(
            &server,
            mode,
            static_token(),
            ManualClock::new(t0()),
            RecordingSleep::new(),
        )
        .build();
        let credentials = manager.credentials().await;
        debug.push_str(&format!("{credentials:?}\n{credentials:#?}\n{manager:?}\n"));
        if let Ok(credentials) = &credentials {
            manager.invalidate(credentials);
        }
        let again = manager.credentials().await;
        debug.push_str(&format!("{again:?}\n"));
        let user = manager.user_info().await;
        debug.push_str(&format!("{user:?}\n"));
        if mode == AuthMode::Exchange {
            let token = manager.get().await.unwrap();
            debug.push_str(&format!("{token:?}\n{token:#?}\n{:?}\n", token.fields()));
        }
    }
    let decoded = CopilotToken::from_json(
        &serde_json::to_vec(&envelope(&copilot_token, T0, 1)).unwrap(),
        t0(),
        &copilot_http::GitHubHost::github_com(),
    )
    .unwrap();
    debug.push_str(&format!(
        "{decoded:?}\n{:?}\n{:?}\n",
        TokenFields::parse(&copilot_token),
        StaticGitHubToken::new(GH_TOKEN)
    ));
    drop(_guard);

    let logs = captured.text();
    // The capture works (so the negative checks below mean something).
    assert!(
        logs.contains("exchanged a GitHub token for a Copilot token"),
        "{logs}"
    );
    assert!(logs.contains("unexpected field types"), "{logs}");
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"));
    assert!(debug.contains("[redacted]"));
    assert!(debug.contains("api.individual.githubcopilot.com"));

    for secret in [
        copilot_token.as_str(),
        GH_TOKEN,
        SECRET_IP,
        "0123456789abcdef7", // the MAC
        "tid=7",
    ] {
        assert!(!logs.contains(secret), "logs leak {secret:?}:\n{logs}");
        assert!(!debug.contains(secret), "Debug leaks {secret:?}:\n{debug}");
    }
}

/// A REST URL with userinfo (`https://user:password@…`) never reaches a log line or an error in full: every
/// URL goes through `copilot_http::RedactedUrl` (issue 14).
#[tokio::test]
async fn url_credentials_never_appear_in_logs_or_errors() {
    let (captured, _guard) = capture_logs(tracing::Level::TRACE);

    let server = wiremock::MockServer::start().await;
    mount_catch_all(&server).await;
    let mut api = url::Url::parse(&server.uri()).unwrap();
    api.set_username("someone").unwrap();
    api.set_password(Some("hunter2password")).unwrap();
    let host = copilot_http::GitHubHost::custom(
        url::Url::parse(&server.uri()).unwrap(),
        api,
        url::Url::parse("https://api.githubcopilot.com").unwrap(),
    );
    let manager = TokenManager::builder(
        exchanger(
            reqwest_transport(),
            host,
            ManualClock::new(t0()),
            RecordingSleep::new(),
        ),
        static_token(),
    )
    .build();
    let error = manager
        .credentials()
        .await
        .expect_err("userinfo is refused");
    drop(_guard);
    let shown = format!("{error} {error:?}");
    let logs = captured.text();
    assert!(logs.contains("calling GitHub"), "{logs}");
    assert!(
        !logs.contains("hunter2password"),
        "logs leak the URL password:\n{logs}"
    );
    assert!(
        !shown.contains("hunter2password"),
        "the error leaks it: {shown}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
