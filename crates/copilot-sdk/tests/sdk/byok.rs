//! Bring-your-own-key providers: the mock acts as OpenAI, Azure OpenAI and Anthropic with one key.

use std::sync::Arc;

use copilot_mock::{Endpoint, MockConfig, RequestLogEntry};
use copilot_sdk::http::TransportError;
use copilot_sdk::{
    CopilotClient, MemorySessionStore, Provider, SdkError, SessionConfig, SessionStore, WireApi,
};

use crate::common::{Target, mock, target_with};

const KEY: &str = "sk-byok-test-7f3a9c";

/// Headers only Copilot is sent; a provider must get none of them.
const COPILOT_HEADERS: &[&str] = &[
    "copilot-integration-id",
    "editor-version",
    "editor-plugin-version",
    "x-github-api-version",
    "openai-intent",
    "x-interaction-type",
    "x-initiator",
    "x-request-id",
    "copilot-vision-request",
    "copilot-session-token",
];

async fn provider_target() -> Target {
    target_with(MockConfig::new().provider_key(KEY)).await
}

/// A client with no GitHub credential at all: a provider session needs none.
fn keyless_client(target: &Target) -> CopilotClient {
    target
        .client_builder()
        .use_logged_in_user(false)
        .build()
        .expect("client")
}

fn base(target: &Target) -> url::Url {
    mock(target).copilot_api_url().parse().expect("mock URL")
}

/// Every request the mock received, which must all be the provider calls.
fn only_request(target: &Target, endpoint: Endpoint) -> RequestLogEntry {
    let all = mock(target).requests();
    assert_eq!(all.len(), 1, "one request, to the provider only: {all:?}");
    assert_eq!(all[0].endpoint, endpoint, "{all:?}");
    assert_eq!(all[0].status, 200, "{all:?}");
    all[0].clone()
}

fn assert_no_copilot_headers(request: &RequestLogEntry) {
    for name in COPILOT_HEADERS {
        assert_eq!(request.header(name), None, "{name} sent to a provider");
    }
}

async fn one_turn(target: &Target, model: &str, provider: Provider) -> String {
    let session = keyless_client(target)
        .create_session(SessionConfig::new().model(model).provider(provider))
        .await
        .expect("provider session");
    session.send_and_wait("Hello!").await.expect("turn").content
}

#[tokio::test]
async fn an_openai_provider_gets_its_key_as_bearer_and_no_copilot_header() {
    let target = provider_target().await;
    let answer = one_turn(&target, "gpt-4.1", Provider::openai(base(&target), KEY)).await;
    assert!(!answer.is_empty());
    let request = only_request(&target, Endpoint::ChatCompletions);
    assert_eq!(request.path, "/copilot/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer <redacted>"));
    assert!(request.header("user-agent").is_some());
    assert_no_copilot_headers(&request);
}

#[tokio::test]
async fn an_openai_provider_with_the_responses_wire_api_uses_responses() {
    let target = provider_target().await;
    let provider = Provider::openai(base(&target), KEY).wire_api(WireApi::Responses);
    let answer = one_turn(&target, "gpt-5.4", provider).await;
    assert!(!answer.is_empty());
    let request = only_request(&target, Endpoint::Responses);
    assert_eq!(request.path, "/copilot/responses");
    assert_eq!(request.header("authorization"), Some("Bearer <redacted>"));
    assert_no_copilot_headers(&request);
}

#[tokio::test]
async fn an_azure_provider_gets_api_key_on_the_deployment_url_with_its_api_version() {
    let target = provider_target().await;
    let answer = one_turn(&target, "gpt-4.1", Provider::azure(base(&target), KEY)).await;
    assert!(!answer.is_empty());
    let request = only_request(&target, Endpoint::ChatCompletions);
    assert_eq!(
        request.path,
        "/copilot/openai/deployments/gpt-4.1/chat/completions"
    );
    assert_eq!(request.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(request.header("api-key"), Some("<redacted>"));
    assert_eq!(request.header("authorization"), None);
    assert_no_copilot_headers(&request);

    let target = provider_target().await;
    let provider = Provider::azure(base(&target), KEY)
        .wire_api(WireApi::Responses)
        .api_version("2025-04-01-preview");
    one_turn(&target, "gpt-5.4", provider).await;
    let request = only_request(&target, Endpoint::Responses);
    assert_eq!(request.path, "/copilot/openai/responses");
    assert_eq!(
        request.query.as_deref(),
        Some("api-version=2025-04-01-preview")
    );
    assert_eq!(request.header("api-key"), Some("<redacted>"));
}

#[tokio::test]
async fn an_anthropic_provider_gets_x_api_key_and_anthropic_version_on_messages() {
    let target = provider_target().await;
    let answer = one_turn(
        &target,
        "claude-sonnet-4.5",
        Provider::anthropic(base(&target), KEY),
    )
    .await;
    assert!(!answer.is_empty());
    let request = only_request(&target, Endpoint::Messages);
    assert_eq!(request.path, "/copilot/v1/messages");
    assert_eq!(request.header("x-api-key"), Some("<redacted>"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("authorization"), None);
    assert_no_copilot_headers(&request);
}

#[tokio::test]
async fn a_bearer_token_replaces_the_key_header() {
    let target = provider_target().await;
    let provider = Provider::azure(base(&target), "not-the-key").bearer_token(KEY);
    one_turn(&target, "gpt-4.1", provider).await;
    let request = only_request(&target, Endpoint::ChatCompletions);
    assert_eq!(request.header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(request.header("api-key"), None);
}

#[tokio::test]
async fn a_wrong_provider_key_is_refused_by_the_provider() {
    let target = provider_target().await;
    let session = keyless_client(&target)
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .provider(Provider::openai(base(&target), "sk-wrong")),
        )
        .await
        .expect("session");
    let error = session.send_and_wait("Hello!").await.unwrap_err();
    assert!(
        matches!(error, SdkError::Unauthorized { .. } | SdkError::Api(_)),
        "{error:?}"
    );
    assert!(mock(&target).requests().iter().all(|r| r.status == 401));
}

#[tokio::test]
async fn a_provider_url_that_is_not_https_or_loopback_is_refused_before_sending() {
    let target = provider_target().await;
    for url in [
        "http://provider.example.com/v1",
        "ftp://127.0.0.1/v1",
        "https://user:pass@provider.example.com/v1",
    ] {
        let provider = Provider::openai(url.parse().unwrap(), KEY);
        let error = keyless_client(&target)
            .create_session(SessionConfig::new().model("gpt-4.1").provider(provider))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                SdkError::Transport(TransportError::InsecureUrl { .. })
            ),
            "{url}: {error:?}"
        );
        assert!(!format!("{error:?} {error}").contains(KEY));
    }
    assert!(mock(&target).requests().is_empty());
}

#[tokio::test]
async fn a_provider_session_needs_a_model() {
    let target = provider_target().await;
    let error = keyless_client(&target)
        .create_session(SessionConfig::new().provider(Provider::openai(base(&target), KEY)))
        .await
        .unwrap_err();
    assert!(matches!(error, SdkError::Config { .. }), "{error:?}");
    assert!(mock(&target).requests().is_empty());
}

#[tokio::test]
async fn the_key_is_never_saved_and_a_resumed_session_takes_the_provider_again() {
    let target = provider_target().await;
    let store = Arc::new(MemorySessionStore::new());
    let client = target
        .client_builder()
        .use_logged_in_user(false)
        .session_store(store.clone())
        .build()
        .unwrap();
    let provider = Provider::openai(base(&target), KEY);
    let session = client
        .create_session(
            SessionConfig::new()
                .session_id("byok")
                .model("gpt-4.1")
                .provider(provider.clone()),
        )
        .await
        .unwrap();
    session.send_and_wait("Remember me").await.unwrap();
    drop(session);
    let record = store.load("byok").await.unwrap().expect("saved");
    let saved = serde_json::to_string(&record).unwrap();
    assert!(saved.contains("Remember me"));
    assert!(!saved.contains(KEY), "{saved}");

    assert_eq!(
        record.provider.as_ref().map(|p| p.kind.as_str()),
        Some("openai")
    );

    // Without its provider the conversation would go to Copilot: refused, nothing sent.
    let sent = mock(&target).requests().len();
    let refused = client
        .resume_session("byok", SessionConfig::new())
        .await
        .expect_err("a provider session resumed without its provider");
    assert!(
        matches!(&refused, SdkError::Config { .. }) && refused.to_string().contains("provider"),
        "{refused:?}"
    );
    assert!(!refused.to_string().contains(KEY));
    assert_eq!(mock(&target).requests().len(), sent);

    let resumed = client
        .resume_session("byok", SessionConfig::new().provider(provider))
        .await
        .unwrap();
    resumed.send_and_wait("Again").await.unwrap();
    let chats = mock(&target).requests_to(Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2);
    let history = chats[1].body_json().unwrap()["messages"].to_string();
    assert!(history.contains("Remember me"), "{history}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_key_never_reaches_a_log_or_debug_output() {
    let (captured, _guard) = copilot_test_support::capture_logs(tracing::Level::TRACE);
    let target = provider_target().await;
    for provider in [
        Provider::openai(base(&target), KEY),
        Provider::azure(base(&target), KEY),
        Provider::anthropic(base(&target), KEY),
    ] {
        let config = SessionConfig::new()
            .model("claude-sonnet-4.5")
            .provider(provider);
        let debug = format!("{config:?}");
        assert!(!debug.contains(KEY), "{debug}");
        let session = keyless_client(&target)
            .create_session(config)
            .await
            .unwrap();
        session.send_and_wait("Hello!").await.unwrap();
        assert!(!format!("{session:?}").contains(KEY));
    }
    let logs = captured.text();
    assert!(
        logs.contains("sending Copilot API request"),
        "the capture saw the requests: {logs}"
    );
    assert!(!logs.contains(KEY), "{logs}");
}
