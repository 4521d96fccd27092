//! Shared helpers.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use copilot_api::{
    ApiError, ChatCollector, ChatEvent, ChatEventDecoder, ChatRequest, CollectedChat,
    CopilotApiClient, CopilotAuth, CopilotCredentials, CredentialError, CredentialTag, Dialect,
    EventQueue, Message, StaticAuth,
};
use copilot_http::retry::RetryPolicy;
use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_http::{ResponseBody, TransportError};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use wiremock::MockServer;

/// Reads a fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Turns the fixtures' single-`\n` event separators into real SSE framing with `sep` line ends.
pub fn to_wire(raw: &[u8], sep: &str) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).expect("utf8 fixture");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push_str(sep);
        out.push_str(sep);
    }
    out.into_bytes()
}

/// Decodes `input` fed in pieces of the given sizes (cycled); 0 means "all at once".
pub fn decode_with(
    dialect: Dialect,
    input: &[u8],
    piece: usize,
) -> Vec<Result<ChatEvent, ApiError>> {
    let mut decoder = ChatEventDecoder::new(dialect);
    let mut queue = EventQueue::new();
    if piece == 0 {
        decoder.feed(input, &mut queue);
    } else {
        for chunk in input.chunks(piece) {
            decoder.feed(chunk, &mut queue);
        }
    }
    decoder.finish(&mut queue);
    queue.into_iter().collect()
}

/// Decodes `input` split at the given byte positions.
pub fn decode_split(
    dialect: Dialect,
    input: &[u8],
    splits: &[usize],
) -> Vec<Result<ChatEvent, ApiError>> {
    let mut decoder = ChatEventDecoder::new(dialect);
    let mut queue = EventQueue::new();
    let mut start = 0;
    for &split in splits {
        decoder.feed(&input[start..split], &mut queue);
        start = split;
    }
    decoder.feed(&input[start..], &mut queue);
    decoder.finish(&mut queue);
    queue.into_iter().collect()
}

pub fn chat(input: &[u8]) -> Vec<Result<ChatEvent, ApiError>> {
    decode_with(Dialect::ChatCompletions, input, 0)
}

/// Events as JSON for snapshots and comparisons (errors as `{"error": "<Display>"}`).
pub fn events_json(events: &[Result<ChatEvent, ApiError>]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| match e {
                Ok(event) => serde_json::to_value(event).expect("event json"),
                Err(error) => json!({"error": error.to_string()}),
            })
            .collect(),
    )
}

/// Decodes whole, byte by byte, and in a few odd piece sizes; asserts they agree; returns the events.
pub fn decode_all_ways(dialect: Dialect, input: &[u8]) -> Vec<Result<ChatEvent, ApiError>> {
    let whole = decode_with(dialect, input, 0);
    let expected = events_json(&whole);
    for piece in [1, 2, 3, 7, 13, 64, 511] {
        assert_eq!(
            events_json(&decode_with(dialect, input, piece)),
            expected,
            "piece size {piece}"
        );
    }
    whole
}

pub fn collect(events: Vec<Result<ChatEvent, ApiError>>, n: Option<u32>) -> CollectedChat {
    let mut collector = ChatCollector::new(n);
    for event in events {
        collector.push(event.expect("no error"));
    }
    collector.finish()
}

/// An auth source that hands out `token-1`, `token-2`, … (tagged 1, 2, …) and records invalidations.
#[derive(Debug, Default)]
pub struct RotatingAuth {
    pub base: String,
    pub issued: Mutex<u32>,
    pub invalidated: Mutex<Vec<String>>,
    pub invalidated_tags: Mutex<Vec<Option<CredentialTag>>>,
}

impl RotatingAuth {
    pub fn new(base: &str) -> Arc<Self> {
        Arc::new(RotatingAuth {
            base: base.to_owned(),
            ..Default::default()
        })
    }
}

#[async_trait]
impl CopilotAuth for RotatingAuth {
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError> {
        let mut issued = self.issued.lock().unwrap();
        if *issued == 0 {
            *issued = 1;
        }
        Ok(
            CopilotCredentials::new(format!("token-{issued}"), self.base.parse().unwrap())
                .with_tag(u64::from(*issued)),
        )
    }

    async fn invalidate(&self, rejected: &CopilotCredentials) {
        self.invalidated
            .lock()
            .unwrap()
            .push(rejected.bearer.expose_secret().to_owned());
        self.invalidated_tags.lock().unwrap().push(rejected.tag);
        *self.issued.lock().unwrap() += 1;
    }
}

/// A client against `server` with a fixed token, no jitter, recorded sleeps and a manual clock.
pub fn client_for(server: &MockServer) -> (CopilotApiClient, RecordingSleep, ManualClock) {
    let clock = ManualClock::new(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000),
    );
    let sleep = RecordingSleep::advancing(clock.clone());
    let client =
        CopilotApiClient::builder(StaticAuth::new("test-token", server.uri().parse().unwrap()))
            .retry_policy(RetryPolicy::new().jitter(false))
            .identity(
                copilot_http::ClientIdentity::new()
                    .with_user_agent("GitHubCopilotChat/0.26.7")
                    .with_editor_version("vscode/1.104.3")
                    .with_editor_plugin_version("copilot-chat/0.26.7")
                    .with_integration_id("vscode-chat"),
            )
            .clock(clock.clone())
            .sleep(sleep.clone())
            .build()
            .expect("client");
    (client, sleep, clock)
}

/// Mounts the catch-all 500 that every server ends with.
pub async fn catch_all(server: &MockServer) {
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// A fresh server that answers `POST {route}` with `answer`, and anything else with the [`catch_all`] 500.
pub async fn answering(route: &str, answer: impl wiremock::Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    post(route).respond_with(answer).mount(&server).await;
    catch_all(&server).await;
    server
}

/// A mock of `POST {route}` on the test server, to which a test adds its answer and expectations.
pub fn post(route: &str) -> wiremock::MockBuilder {
    wiremock::Mock::given(wiremock::matchers::method("POST")).and(wiremock::matchers::path(route))
}

/// A mock of `GET {route}`.
pub fn get(route: &str) -> wiremock::MockBuilder {
    wiremock::Mock::given(wiremock::matchers::method("GET")).and(wiremock::matchers::path(route))
}

/// A 200 answer streaming `body` as server-sent events.
pub fn sse_answer(body: Vec<u8>) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_bytes(body)
}

/// The smallest chat request: `gpt-4o`, one user message `hi`.
pub fn hi() -> ChatRequest {
    ChatRequest::new("gpt-4o", vec![Message::user("hi")])
}

/// One chat-completions SSE event carrying the content `a`.
pub const CONTENT_EVENT: &[u8] =
    b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n";

/// A streamed body the test feeds through the returned sender.
pub fn channel_body() -> (
    mpsc::UnboundedSender<Result<Bytes, TransportError>>,
    ResponseBody,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let body = ResponseBody::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    (tx, body)
}

/// A request as JSON for snapshots: method, path, sorted headers (volatile ones redacted), body.
pub fn request_json(request: &wiremock::Request) -> Value {
    let headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "host" | "content-length" | "accept" | "accept-encoding"
            )
        })
        .map(|(name, value)| {
            let value = match name.as_str() {
                "x-request-id" => "[uuid]".to_owned(),
                _ => value.to_str().unwrap_or("<binary>").to_owned(),
            };
            (name.as_str().to_owned(), Value::String(value))
        })
        .collect();
    let body = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into()))
    };
    json!({
        "method": request.method.as_str(),
        "path": request.url.path(),
        "headers": headers,
        "body": body,
    })
}

pub fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

pub use copilot_test_support::Captured;

/// A subscriber of warnings and above, writing plain text into the returned [`Captured`].
pub fn warnings() -> (Captured, impl tracing::Subscriber + Send + Sync) {
    copilot_test_support::log_subscriber(tracing::Level::WARN)
}
