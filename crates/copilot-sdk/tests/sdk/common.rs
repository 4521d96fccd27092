//! Shared helpers: the examples' target (an in-process mock) and small test doubles.
#![allow(dead_code)]

#[path = "../../examples/support/mod.rs"]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use copilot_mock::{Endpoint, MockConfig, MockServer, RequestLogEntry};
use copilot_sdk::http::time::Sleep;
use copilot_sdk::{
    AssistantMessage, CopilotClient, CopilotClientBuilder, SdkError, Session, SessionConfig,
    SessionEvent, SessionStore, Tool, ToolCallResult, ToolError, ToolOutput,
};
use serde_json::Value;

pub use support::Target;

/// A target over a mock with the default configuration.
pub async fn target() -> Target {
    Target::mock(MockConfig::new()).await
}

/// A target over a mock with `config`.
pub async fn target_with(config: MockConfig) -> Target {
    Target::mock(config).await
}

/// A session of [`octocat_client`] with `config`.
pub async fn octocat_session(target: &Target, config: SessionConfig) -> Result<Session, SdkError> {
    octocat_client(target, None)?.create_session(config).await
}

/// A mock with the default configuration and a session of [`octocat_client`] on it with `config`; the
/// target is returned too, and keeps the mock running.
pub async fn mock_session(config: SessionConfig) -> Result<(Target, Session), SdkError> {
    let target = target().await;
    let session = octocat_session(&target, config).await?;
    Ok((target, session))
}

/// The mock behind a target.
pub fn mock(target: &Target) -> &MockServer {
    target.mock.as_ref().expect("tests run against the mock")
}

/// Requests the mock received on `endpoint`, in order. For [`Endpoint::Responses`] these are the Responses
/// turns over either transport: HTTP `POST /responses` and `response.create` messages on the WebSocket
/// (logged with their socket's upgrade headers, which are the turn's own; the body is the message).
pub fn requests(target: &Target, endpoint: Endpoint) -> Vec<RequestLogEntry> {
    if endpoint != Endpoint::Responses {
        return mock(target).requests_to(endpoint);
    }
    mock(target)
        .requests()
        .into_iter()
        .filter(|r| {
            r.endpoint == Endpoint::Responses
                || (r.endpoint == Endpoint::ResponsesWebSocket && r.method == "WS")
        })
        .collect()
}

/// A sleeper whose first sleep returns at once and every later one never: makes exactly one timeout fire,
/// deterministically, without waiting.
#[derive(Debug, Default)]
pub struct FirstSleepOnly {
    used: AtomicBool,
}

impl Sleep for FirstSleepOnly {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        if self.used.swap(true, Ordering::SeqCst) {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(()))
        }
    }
}

/// A sleeper that never returns (no timeout ever fires).
#[derive(Debug, Default)]
pub struct NeverSleep;

impl Sleep for NeverSleep {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(std::future::pending())
    }
}

/// A tool `name` whose every call answers `answer` (arguments described by `parameters`).
pub fn answering_tool<O>(name: &str, description: &str, parameters: Value, answer: O) -> Tool
where
    O: Into<ToolOutput> + Clone + Send + Sync + 'static,
{
    Tool::new(name, description, parameters, move |_args: Value| {
        std::future::ready(Ok::<_, ToolError>(answer.clone()))
    })
}

/// [`answering_tool`], adding one to `runs` on every call.
pub fn counting_tool<O>(
    runs: &Arc<AtomicUsize>,
    name: &str,
    description: &str,
    parameters: Value,
    answer: O,
) -> Tool
where
    O: Into<ToolOutput> + Clone + Send + Sync + 'static,
{
    let runs = Arc::clone(runs);
    Tool::new(name, description, parameters, move |_args: Value| {
        runs.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok::<_, ToolError>(answer.clone()))
    })
}

/// Shorthand for `Arc::new`.
pub fn shared<T>(value: T) -> Arc<T> {
    Arc::new(value)
}

/// Sends `prompt` and asserts the answer quotes it (the mock echoes what it is told).
pub async fn assert_echoes(session: &Session, prompt: &str) -> Result<(), SdkError> {
    let answer = session.send_and_wait(prompt).await?;
    assert!(answer.content.contains(prompt), "{answer:?}");
    Ok(())
}

/// The text contents of the messages of `role` in a chat request body, in order.
pub fn contents_of_role(body: &Value, role: &str) -> Vec<String> {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == role)
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The final answer among a turn's events.
pub fn final_answer(events: &[SessionEvent]) -> Option<AssistantMessage> {
    events.iter().find_map(|event| match event {
        SessionEvent::AssistantMessage(answer) => Some(answer.clone()),
        _ => None,
    })
}

/// The message deltas among a turn's events, in order.
pub fn deltas(events: &[SessionEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            SessionEvent::MessageDelta { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

/// The tool results among a turn's events, in order.
pub fn tool_results(events: &[SessionEvent]) -> Vec<ToolCallResult> {
    events
        .iter()
        .filter_map(|event| match event {
            SessionEvent::ToolResult { result, .. } => Some(result.clone()),
            _ => None,
        })
        .collect()
}

/// A client builder of `octocat` on `target`: a GitHub token the mock minted, no logged-in user.
pub fn octocat_builder(target: &Target) -> CopilotClientBuilder {
    target
        .client_builder()
        .github_token(target.user_token("octocat").expect("the mock mints tokens"))
        .use_logged_in_user(false)
}

/// A client of `octocat` on `target`, saving sessions in `store` when one is given.
pub fn octocat_client(
    target: &Target,
    store: Option<Arc<dyn SessionStore>>,
) -> Result<CopilotClient, SdkError> {
    let builder = octocat_builder(target);
    match store {
        Some(store) => builder.session_store(store),
        None => builder,
    }
    .build()
}
