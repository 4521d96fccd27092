//! `ws:/responses`: the WebSocket upgrade of `GET {api}/responses`, turns answered with the HTTP stream's
//! events, refused upgrades, per-turn faults and the counters tests read.

use copilot_mock::{Endpoint, Fault, FaultRule, MockConfig, MockServer, WsUpgrade};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{copilot_token, signed_in, start};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_request(
    server: &MockServer,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("{}/responses", server.copilot_api_url()).replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .headers_mut()
        .insert("x-initiator", "user".parse().unwrap());
    request
}

async fn connect(server: &MockServer, token: &str) -> Socket {
    tokio_tungstenite::connect_async(ws_request(server, token))
        .await
        .unwrap()
        .0
}

/// Sends one `response.create` and reads text messages up to the turn's last event (`response.completed`
/// or an `error`).
async fn turn(socket: &mut Socket, prompt: &str) -> Vec<Value> {
    let create =
        json!({"type": "response.create", "model": "gpt-5.4", "store": false, "input": prompt});
    socket
        .send(Message::Text(create.to_string().into()))
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message.unwrap() else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        let last = matches!(event["type"].as_str(), Some("response.completed" | "error"));
        events.push(event);
        if last {
            break;
        }
    }
    events
}

fn text_of(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect()
}

#[tokio::test]
async fn websocket_turns_get_the_http_stream_events_on_one_socket() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let mut socket = connect(&server, &token).await;
    for prompt in ["first question", "second question", "third question"] {
        let events = turn(&mut socket, prompt).await;
        assert_eq!(events[0]["type"], "response.created");
        let last = events.last().unwrap();
        assert_eq!(last["type"], "response.completed");
        assert!(
            last["copilot_usage"]["total_nano_aiu"].is_number(),
            "{last}"
        );
        assert!(text_of(&events).contains(prompt));
    }
    assert_eq!(server.websocket_upgrade_count(), 1);
    assert_eq!(server.websocket_count(), 1);
    let turns: Vec<_> = server
        .requests_to(Endpoint::ResponsesWebSocket)
        .into_iter()
        .filter(|r| r.method == "WS")
        .collect();
    assert_eq!(turns.len(), 3);
    assert_eq!(turns[0].header("x-initiator"), Some("user"));
    assert_eq!(turns[0].header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(turns[2].body_json().unwrap()["input"], "third question");
}

#[tokio::test]
async fn websocket_upgrade_can_be_refused_and_needs_a_token() {
    let (server, _) =
        start(MockConfig::new().websocket_upgrade(WsUpgrade::Reject { status: 501 })).await;
    let token = copilot_token(&server).await;
    let refused = tokio_tungstenite::connect_async(ws_request(&server, &token)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 501)
        }
        other => panic!("expected a 501 refusal, got {other:?}"),
    }
    assert_eq!(server.websocket_upgrade_count(), 1);
    assert_eq!(server.websocket_count(), 0);

    server.set_websocket_upgrade(WsUpgrade::Accept);
    let unauthenticated =
        tokio_tungstenite::connect_async(ws_request(&server, "not-a-token")).await;
    match unauthenticated {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let mut socket = connect(&server, &token).await;
    assert_eq!(
        turn(&mut socket, "hello").await.last().unwrap()["type"],
        "response.completed"
    );
    assert_eq!(server.websocket_count(), 1);
}

#[tokio::test]
async fn websocket_errors_are_error_events_and_the_socket_stays_open() {
    let (server, token) = signed_in(MockConfig::new()).await;
    server.set_fault(FaultRule::new(Endpoint::ResponsesWebSocket, Fault::rate_limited(3)).times(1));
    let mut socket = connect(&server, &token).await;
    let events = turn(&mut socket, "limited").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "error");
    assert_eq!(events[0]["status"], 429);
    assert_eq!(events[0]["error"]["code"], "rate_limited");

    // An unknown model is the HTTP call's 400, wrapped the same way.
    let create = json!({"type": "response.create", "model": "no-such-model", "input": "x"});
    socket
        .send(Message::Text(create.to_string().into()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        panic!("no answer")
    };
    let error: Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(
        (error["type"].as_str(), error["status"].as_u64()),
        (Some("error"), Some(400))
    );
    assert_eq!(error["error"]["code"], "model_not_supported");

    let events = turn(&mut socket, "after the errors").await;
    assert_eq!(events.last().unwrap()["type"], "response.completed");
}

#[tokio::test]
async fn websocket_reset_fault_drops_the_socket_mid_turn() {
    let (server, token) = signed_in(MockConfig::new()).await;
    server.set_fault(
        FaultRule::new(
            Endpoint::ResponsesWebSocket,
            Fault::ResetMidStream { after_events: 2 },
        )
        .times(1),
    );
    let mut socket = connect(&server, &token).await;
    let create = json!({"type": "response.create", "model": "gpt-5.4", "input": "cut me off"});
    socket
        .send(Message::Text(create.to_string().into()))
        .await
        .unwrap();
    let mut texts = 0;
    let end = loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => texts += 1,
            Some(Ok(Message::Close(_))) | None => break "closed",
            Some(Err(_)) => break "error",
            Some(Ok(_)) => {}
        }
    };
    assert_eq!(texts, 2, "{end}");
}
