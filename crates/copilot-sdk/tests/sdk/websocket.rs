//! Sessions over the Responses WebSocket (`ws:/responses`): one socket for a session's turns, the HTTP
//! fallback on a refused upgrade, per-round classification, and the switch that turns it off.

use copilot_mock::{Endpoint, MockConfig, WsUpgrade};
use copilot_sdk::{PermissionHandler, SdkError, SessionConfig};
use serde_json::json;

use crate::common::{
    answering_tool, mock, mock_session, octocat_session as session, requests, target, target_with,
};

/// A model served by `/responses` that lists `ws:/responses`.
const MODEL: &str = "gpt-5.3-codex";

fn socket_turns(target: &crate::common::Target) -> Vec<copilot_mock::RequestLogEntry> {
    requests(target, Endpoint::ResponsesWebSocket)
        .into_iter()
        .filter(|r| r.method == "WS")
        .collect()
}

#[tokio::test]
async fn a_session_reuses_one_socket_for_three_turns() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model(MODEL)).await?;
    for prompt in ["one", "two", "three"] {
        let answer = session.send_and_wait(prompt).await?;
        assert!(answer.content.contains(prompt), "{answer:?}");
    }
    let mock = mock(&target);
    assert_eq!(mock.websocket_upgrade_count(), 1);
    assert_eq!(mock.websocket_count(), 1);
    let turns = socket_turns(&target);
    assert_eq!(turns.len(), 3);
    assert!(
        turns
            .iter()
            .all(|t| t.header("x-initiator") == Some("user"))
    );
    // The third turn replays the history over the same socket.
    let input = turns[2].body_json().expect("JSON")["input"].clone();
    assert!(
        input.as_array().is_some_and(|items| items.len() >= 5),
        "{input}"
    );
    // No HTTP /responses call was made.
    assert!(mock.requests_to(Endpoint::Responses).is_empty());
    // Every turn's cost came back on `response.completed`.
    assert_eq!(session.usage().requests, 3);
    Ok(())
}

#[tokio::test]
async fn a_tool_round_is_an_agent_request_on_its_own_socket() -> Result<(), SdkError> {
    let target = target().await;
    let tool = answering_tool(
        "lookup",
        "Looks a word up",
        json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        json!({"found": true}),
    );
    let session = session(
        &target,
        SessionConfig::new()
            .model(MODEL)
            .tool(tool)
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;
    session.send_and_wait("use lookup please").await?;
    session.send_and_wait("use lookup again").await?;
    let initiators: Vec<_> = socket_turns(&target)
        .iter()
        .map(|t| t.header("x-initiator").unwrap_or_default().to_owned())
        .collect();
    // Billing: one user request per prompt, the tool follow-ups are agent requests.
    assert_eq!(initiators, ["user", "agent", "user", "agent"]);
    // One socket per classification, each reused for the second prompt.
    assert_eq!(mock(&target).websocket_count(), 2);
    Ok(())
}

#[tokio::test]
async fn a_refused_upgrade_falls_back_to_http_and_says_so() -> Result<(), SdkError> {
    let target =
        target_with(MockConfig::new().websocket_upgrade(WsUpgrade::Reject { status: 501 })).await;
    let (captured, _guard) = copilot_test_support::capture_logs(tracing::Level::WARN);

    let session = session(&target, SessionConfig::new().model(MODEL)).await?;
    let first = session.send_and_wait("first").await?;
    assert!(first.content.contains("first"));
    let second = session.send_and_wait("second").await?;
    assert!(second.content.contains("second"));
    let mock = mock(&target);
    assert_eq!(mock.requests_to(Endpoint::Responses).len(), 2);
    // The failed upgrade is remembered: the second turn did not try again.
    assert_eq!(mock.websocket_upgrade_count(), 1);
    assert_eq!(mock.websocket_count(), 0);
    let log = captured.text();
    assert!(log.contains("WebSocket upgrade failed"), "{log}");
    assert!(!log.to_ascii_lowercase().contains("bearer "), "{log}");
    Ok(())
}

#[tokio::test]
async fn websocket_false_keeps_a_session_on_http() -> Result<(), SdkError> {
    let (target, session) =
        mock_session(SessionConfig::new().model(MODEL).websocket(false)).await?;
    session.send_and_wait("plain http").await?;
    session.send_and_wait("still http").await?;
    let mock = mock(&target);
    assert_eq!(mock.websocket_upgrade_count(), 0);
    assert_eq!(mock.requests_to(Endpoint::Responses).len(), 2);
    Ok(())
}
