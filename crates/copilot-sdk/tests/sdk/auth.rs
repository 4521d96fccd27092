//! Credentials: classic PATs refused, Copilot tokens refreshed on expiry, a Copilot 401 recovered once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use copilot_mock::{Endpoint, Fault, FaultRule};
use copilot_sdk::http::time::ManualClock;
use copilot_sdk::{CopilotClient, SdkError, SessionConfig};

use crate::common::{Target, assert_echoes, mock, mock_session, octocat_builder, requests, target};

const CLASSIC_PAT: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";

#[tokio::test]
async fn classic_pat_is_refused_at_build() {
    let error = CopilotClient::builder()
        .github_token(CLASSIC_PAT)
        .use_logged_in_user(false)
        .build()
        .expect_err("ghp_ must be refused");
    assert_eq!(
        error.unsupported_token_kind(),
        Some(copilot_sdk::TokenKind::ClassicPat),
        "{error:?}"
    );
    assert!(error.to_string().contains("cannot be used"), "{error}");
    assert!(error.to_string().contains("fine-grained"), "{error}");
}

#[tokio::test]
async fn classic_pat_from_the_environment_is_refused_at_start_without_a_request() {
    let target = target().await;
    let client = target
        .client_builder()
        .env(|var| (var == "GH_TOKEN").then(|| CLASSIC_PAT.to_owned()))
        .build()
        .expect("nothing to check before start");
    let error = client.start().await.expect_err("ghp_ must be refused");
    assert_eq!(
        error.unsupported_token_kind(),
        Some(copilot_sdk::TokenKind::ClassicPat),
        "{error:?}"
    );
    assert!(mock(&target).requests().is_empty());
}

#[tokio::test]
async fn no_credential_without_logged_in_user_is_sign_in_required() {
    let target = target().await;
    let client = target
        .client_builder()
        .use_logged_in_user(false)
        .build()
        .expect("builds");
    let error = client.start().await.expect_err("no credential");
    assert!(error.requires_sign_in(), "{error:?}");
}

#[tokio::test]
async fn copilot_token_expiring_mid_session_is_refreshed_transparently() -> Result<(), SdkError> {
    let target = target().await;
    let clock = ManualClock::new(SystemTime::now());
    let client = octocat_builder(&target)
        .clock(Arc::new(clock.clone()))
        .build()?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    session.send_and_wait("first").await?;
    assert_eq!(mock(&target).copilot_tokens_issued(), 1);

    // 30 minutes later the token has expired (the mock's tokens live 1800 s; refresh_in 1500 s).
    clock.advance(Duration::from_secs(1801));
    let answer = session.send_and_wait("second").await?;
    assert!(answer.content.contains("second"));
    assert_eq!(mock(&target).copilot_tokens_issued(), 2);
    // Refreshed before use: the API never saw the stale token.
    assert!(
        requests(&target, Endpoint::ChatCompletions)
            .iter()
            .all(|r| r.status == 200)
    );
    assert_eq!(session.history().len(), 4);
    Ok(())
}

#[tokio::test]
async fn copilot_401_is_recovered_once() -> Result<(), SdkError> {
    let target = target().await;
    let client = octocat_builder(&target).build()?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    session.send_and_wait("first").await?;

    // The server revokes every Copilot token: the next chat gets 401, the client re-exchanges and retries.
    mock(&target).expire_copilot_tokens();
    let answer = session.send_and_wait("second").await?;
    assert!(answer.content.contains("second"));
    let statuses: Vec<u16> = requests(&target, Endpoint::ChatCompletions)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 401, 200]);
    assert_eq!(mock(&target).copilot_tokens_issued(), 2);
    Ok(())
}

#[tokio::test]
async fn a_persistent_copilot_401_is_retried_only_once() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    mock(&target).set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::status_text(401, "unauthorized: token expired"),
    ));
    let error = session.send_and_wait("hi").await.expect_err("401 twice");
    assert!(matches!(error, SdkError::Unauthorized { .. }), "{error:?}");
    assert!(error.requires_sign_in());
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 2);
    Ok(())
}

/// A client of octocat's whose GitHub token the mock has revoked.
fn revoked_client(target: &Target) -> CopilotClient {
    let token = target.user_token("octocat").expect("token");
    mock(target).revoke_github_token(&token);
    target
        .client_builder()
        .github_token(token)
        .use_logged_in_user(false)
        .build()
        .expect("builds")
}

#[tokio::test]
async fn revoked_github_token_asks_to_sign_in_again() {
    let target = target().await;
    let client = revoked_client(&target);
    let error = client.start().await.expect_err("revoked");
    assert!(matches!(error, SdkError::Unauthorized { .. }), "{error:?}");
}

#[tokio::test]
async fn a_revoked_token_fails_create_session_without_a_model_as_sign_in() {
    let target = target().await;
    let client = revoked_client(&target);
    // No `start()` first: the default-model lookup must not hide the credential failure.
    let error = client
        .create_session(SessionConfig::new())
        .await
        .expect_err("revoked");
    assert!(matches!(error, SdkError::Unauthorized { .. }), "{error:?}");
    assert!(requests(&target, Endpoint::Models).is_empty());
}

#[tokio::test]
async fn a_credential_failure_inside_the_api_client_is_mapped_to_sign_in() {
    use copilot_sdk::CredentialError;
    use copilot_sdk::token::TokenError;
    // The token manager's failure, as the API client receives it through `CopilotAuth`.
    let rejected = CredentialError::from(TokenError::GitHubTokenRejected {
        message: "Bad credentials".to_owned(),
    });
    let error = SdkError::from(copilot_sdk::api::ApiError::Auth(rejected));
    assert!(matches!(error, SdkError::Unauthorized { .. }), "{error:?}");
    assert!(error.requires_sign_in());
    let nothing_stored = CredentialError::from(copilot_sdk::auth::AuthError::SignInRequired {
        reason: "no stored credential".to_owned(),
    });
    let error = SdkError::from(copilot_sdk::api::ApiError::Auth(nothing_stored));
    assert!(
        matches!(error, SdkError::SignInRequired { .. }),
        "{error:?}"
    );
    let transient = CredentialError::from(TokenError::Http {
        status: 503,
        endpoint: "copilot_internal/v2/token",
        snippet: String::new(),
        request_id: None,
    });
    assert!(transient.is_transient());
    let other = SdkError::from(copilot_sdk::api::ApiError::Auth(transient));
    assert!(
        matches!(
            other,
            SdkError::Credential(CredentialError::Unavailable { .. })
        ),
        "{other:?}"
    );
    assert!(!other.requires_sign_in());
}

#[tokio::test]
async fn auth_status_reports_the_copilot_sku() -> Result<(), SdkError> {
    let target = target().await;
    let client = octocat_builder(&target).build()?;
    let status = client.get_auth_status().await?;
    assert_eq!(status.sku.as_deref(), Some("copilot_individual"));
    Ok(())
}

#[tokio::test]
async fn background_refresher_stops_on_stop() -> Result<(), SdkError> {
    let target = target().await;
    let client = octocat_builder(&target).background_refresh(true).build()?;
    client.start().await?;
    assert!(client.is_refreshing_in_background());
    client.stop();
    assert!(!client.is_refreshing_in_background());
    Ok(())
}

#[tokio::test]
async fn a_pre_exchanged_copilot_token_from_the_environment_is_used_as_is() -> Result<(), SdkError>
{
    let target = target().await;
    let exchanging = octocat_builder(&target).build()?;
    exchanging.start().await?;
    let credentials = exchanging
        .token_manager()
        .expect("started")
        .credentials()
        .await?;
    let copilot_token = secrecy::ExposeSecret::expose_secret(&credentials.bearer).to_owned();
    let api_url = mock(&target).copilot_api_url().to_owned();

    let client = target
        .client_builder()
        .env(move |var| match var {
            "GITHUB_COPILOT_API_TOKEN" => Some(copilot_token.clone()),
            "COPILOT_API_URL" => Some(api_url.clone()),
            _ => None,
        })
        .build()?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    assert_echoes(&session, "pre-exchanged").await?;
    let status = client.get_auth_status().await?;
    assert_eq!(
        status.source,
        copilot_sdk::CredentialSource::PreExchangedEnv
    );
    assert_eq!(status.token_kind, None);
    // No second exchange happened.
    assert_eq!(mock(&target).copilot_tokens_issued(), 1);
    assert!(matches!(client.quota().await, Err(SdkError::Config { .. })));
    Ok(())
}

/// The identity given to the builder (here from `ClientIdentity::overrides`, what `from_env` applies to the
/// process environment) is what the token exchange and every API call send.
#[tokio::test]
async fn the_builders_identity_reaches_the_wire() -> Result<(), SdkError> {
    let target = target().await;
    let overrides = [
        (
            copilot_sdk::http::identity::env::EDITOR_VERSION,
            "vscode/1.200.0",
        ),
        (
            copilot_sdk::http::identity::env::EDITOR_PLUGIN_VERSION,
            "copilot-chat/0.50.0",
        ),
        (
            copilot_sdk::http::identity::env::USER_AGENT,
            "GitHubCopilotChat/0.50.0",
        ),
        (
            copilot_sdk::http::identity::env::INTEGRATION_ID,
            "vscode-chat",
        ),
    ];
    let identity = copilot_sdk::ClientIdentity::new().overrides(|name| {
        overrides
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    });
    let client = octocat_builder(&target).identity(identity).build()?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    session.send_and_wait("hi").await?;

    let exchange = requests(&target, Endpoint::CopilotToken);
    let exchange = exchange.last().expect("an exchange");
    assert_eq!(exchange.header("editor-version"), Some("vscode/1.200.0"));
    assert_eq!(
        exchange.header("editor-plugin-version"),
        Some("copilot-chat/0.50.0")
    );
    assert_eq!(
        exchange.header("user-agent"),
        Some("GitHubCopilotChat/0.50.0")
    );
    for endpoint in [Endpoint::Models, Endpoint::ChatCompletions] {
        let sent = requests(&target, endpoint);
        let sent = sent.last().expect("a request");
        assert_eq!(
            sent.header("editor-version"),
            Some("vscode/1.200.0"),
            "{endpoint:?}"
        );
        assert_eq!(
            sent.header("editor-plugin-version"),
            Some("copilot-chat/0.50.0"),
            "{endpoint:?}"
        );
        assert_eq!(
            sent.header("user-agent"),
            Some("GitHubCopilotChat/0.50.0"),
            "{endpoint:?}"
        );
        assert_eq!(
            sent.header("copilot-integration-id"),
            Some("vscode-chat"),
            "{endpoint:?}"
        );
    }
    Ok(())
}
