//! Responses over WebSocket (`ws:/responses`) against copilot-mock: one socket for successive turns, the
//! HTTP fallback on a refused upgrade, errors that stay with their turn, the message cap, URL safety.

use copilot_api::{
    ApiError, CollectedChat, CopilotApiClient, ResponseItem, ResponsesRequest, StaticAuth,
};
use copilot_http::TransportError;
use copilot_mock::{Endpoint, Fault, FaultRule, MockConfig, MockServer, WsUpgrade};
use futures_util::StreamExt;

const MODEL: &str = "gpt-5.3-codex";

/// The mock in direct mode: a GitHub token is the bearer on the Copilot API.
async fn mock(config: MockConfig) -> (MockServer, String) {
    let server = MockServer::start(config.direct_mode(true)).await;
    let token = server.mint_github_token("octocat");
    (server, token)
}

fn client(server: &MockServer, token: &str) -> CopilotApiClient {
    client_with(server, token, |builder| builder)
}

fn client_with(
    server: &MockServer,
    token: &str,
    configure: impl FnOnce(copilot_api::CopilotApiClientBuilder) -> copilot_api::CopilotApiClientBuilder,
) -> CopilotApiClient {
    let auth = StaticAuth::new(token.to_owned(), server.copilot_api_url().parse().unwrap());
    configure(CopilotApiClient::builder(auth)).build().unwrap()
}

fn request(prompt: &str) -> ResponsesRequest {
    ResponsesRequest::new(MODEL, vec![ResponseItem::user_text(prompt)])
}

/// One turn, collected (over the socket, or over HTTP where the upgrade was refused).
async fn turn(client: &CopilotApiClient, prompt: &str) -> Result<CollectedChat, ApiError> {
    client
        .responses_ws_stream(request(prompt))
        .await
        .unwrap()
        .collect()
        .await
}

fn ws_turns(server: &MockServer) -> usize {
    server
        .requests_to(Endpoint::ResponsesWebSocket)
        .iter()
        .filter(|r| r.method == "WS")
        .count()
}

#[tokio::test]
async fn three_turns_reuse_one_socket() {
    let (server, token) = mock(MockConfig::new()).await;
    let client = client(&server, &token);
    for prompt in ["first turn", "second turn", "third turn"] {
        let stream = client.responses_ws_stream(request(prompt)).await.unwrap();
        assert!(stream.over_websocket());
        let answer = stream.collect().await.unwrap();
        let message = &answer.choices[0];
        assert!(message.content.contains(prompt), "{}", message.content);
        assert!(
            answer.copilot_usage.is_some(),
            "response.completed carries the cost"
        );
    }
    assert_eq!(server.websocket_upgrade_count(), 1);
    assert_eq!(server.websocket_count(), 1);
    assert_eq!(ws_turns(&server), 3);
    assert!(server.requests_to(Endpoint::Responses).is_empty());
    let upgrade = &server.requests_to(Endpoint::ResponsesWebSocket)[0];
    assert_eq!(upgrade.method, "GET");
    assert_eq!(upgrade.header("x-initiator"), Some("user"));
    assert_eq!(upgrade.header("authorization"), Some("Bearer <redacted>"));
    let turn = server
        .requests_to(Endpoint::ResponsesWebSocket)
        .into_iter()
        .find(|r| r.method == "WS")
        .unwrap();
    let create = turn.body_json().unwrap();
    assert_eq!(create["type"], "response.create");
    assert_eq!(create["model"], MODEL);
    assert!(
        create.get("stream").is_none(),
        "a socket always streams: {create}"
    );
}

#[tokio::test]
async fn a_turn_with_other_headers_does_not_borrow_the_socket() {
    let (server, token) = mock(MockConfig::new()).await;
    let client = client(&server, &token);
    turn(&client, "user turn").await.unwrap();
    // An agent follow-up is classified by its upgrade headers, so it needs a socket of its own.
    let options = copilot_api::RequestOptions::new().initiator(copilot_api::Initiator::Agent);
    client
        .responses_ws_stream_with(request("agent turn"), options)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    turn(&client, "user again").await.unwrap();
    assert_eq!(server.websocket_count(), 2);
    let initiators: Vec<_> = server
        .requests_to(Endpoint::ResponsesWebSocket)
        .iter()
        .filter(|r| r.method == "WS")
        .map(|r| r.header("x-initiator").unwrap_or("").to_owned())
        .collect();
    assert_eq!(initiators, ["user", "agent", "user"]);
}

#[tokio::test]
async fn a_refused_upgrade_falls_back_to_http_says_so_and_is_remembered() {
    let (server, token) =
        mock(MockConfig::new().websocket_upgrade(WsUpgrade::Reject { status: 501 })).await;
    let client = client(&server, &token);
    let (captured, subscriber) = crate::support::warnings();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stream = client
        .responses_ws_stream(request("over http"))
        .await
        .unwrap();
    assert!(!stream.over_websocket());
    let answer = stream.collect().await.unwrap();
    assert!(answer.choices[0].content.contains("over http"));
    assert_eq!(server.requests_to(Endpoint::Responses).len(), 1);
    let log = captured.text();
    assert!(log.contains("WebSocket upgrade failed"), "{log}");
    assert!(log.contains("501"), "{log}");
    assert!(
        !log.contains(&token),
        "the bearer never reaches a log line: {log}"
    );

    // Remembered for this credential: the next turn does not try the upgrade again.
    let stream = client.responses_ws_stream(request("again")).await.unwrap();
    assert!(!stream.over_websocket());
    stream.collect().await.unwrap();
    assert_eq!(server.websocket_upgrade_count(), 1);
    assert_eq!(server.requests_to(Endpoint::Responses).len(), 2);
}

#[tokio::test]
async fn an_error_on_the_socket_fails_only_the_turn_in_flight() {
    let (server, token) = mock(MockConfig::new()).await;
    let client = client(&server, &token);
    turn(&client, "fine").await.unwrap();

    server.set_fault(
        FaultRule::new(
            Endpoint::ResponsesWebSocket,
            Fault::ResetMidStream { after_events: 3 },
        )
        .times(1),
    );
    let broken = turn(&client, "broken").await;
    assert!(
        matches!(broken, Err(ApiError::StreamInterrupted { ref partial, .. }) if partial.events > 0),
        "{broken:?}"
    );
    // Never re-sent: the server may have processed (and billed) the turn.
    assert_eq!(ws_turns(&server), 2);
    assert!(server.requests_to(Endpoint::Responses).is_empty());

    // An error event is the turn's typed error; the next turn is unaffected.
    server.set_fault(FaultRule::new(Endpoint::ResponsesWebSocket, Fault::rate_limited(7)).times(1));
    let limited = turn(&client, "limited").await;
    assert!(
        matches!(limited, Err(ApiError::RateLimited { .. })),
        "{limited:?}"
    );
    assert_eq!(limited.unwrap_err().status(), Some(429));

    let answer = turn(&client, "after").await.unwrap();
    assert!(answer.choices[0].content.contains("after"));
    // The socket that broke and the one that carried an error were not reused.
    assert_eq!(server.websocket_count(), 3);
}

#[tokio::test]
async fn dropping_a_stream_mid_turn_closes_its_socket_only() {
    let (server, token) = mock(MockConfig::new()).await;
    let client = client(&server, &token);
    let mut stream = client
        .responses_ws_stream(request("abandoned"))
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let answer = turn(&client, "next").await.unwrap();
    assert!(answer.choices[0].content.contains("next"));
    assert_eq!(server.websocket_count(), 2);
}

#[tokio::test]
async fn a_message_over_the_cap_is_a_typed_error() {
    let (server, token) = mock(MockConfig::new()).await;
    let client = client_with(&server, &token, |builder| {
        builder.websocket_max_message(2048)
    });
    let long = "x".repeat(4096);
    let result = turn(&client, &long).await;
    assert!(
        matches!(
            result,
            Err(ApiError::WebSocketMessageTooLarge { limit: 2048 })
        ),
        "{result:?}"
    );
    let answer = turn(&client, "short").await.unwrap();
    assert!(answer.choices[0].content.contains("short"));
    assert_eq!(server.websocket_count(), 2);
}

#[tokio::test]
async fn ws_to_a_host_that_is_not_loopback_is_refused() {
    let auth = StaticAuth::new(
        "secret-token",
        "http://copilot.example.test/api".parse().unwrap(),
    );
    let client = CopilotApiClient::new(auth).unwrap();
    let error = client.responses_ws_stream(request("x")).await.unwrap_err();
    assert!(
        matches!(
            error,
            ApiError::Transport(TransportError::InsecureUrl { .. })
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret-token"));
}
