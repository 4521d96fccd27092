//! Request shapes (headers and bodies), initiator and vision rules, retries and credential refresh.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use copilot_api::{
    ApiError, ChatEvent, ChatRequest, ContentPart, CopilotApiClient, CopilotAuth, CredentialTag,
    EmbeddingsRequest, ImageDetail, Initiator, JsonSchemaFormat, Message, PartialInfo,
    ReasoningEffort, RequestOptions, ResponseFormat, StaticAuth, Tool, ToolCall, ToolChoice,
};
use copilot_http::retry::RetryPolicy;
use copilot_http::time::RecordingSleep;
use copilot_http::{FnTransport, ResponseBody, SharedTransport, TransportError};
use futures_util::StreamExt;
use http::{HeaderName, HeaderValue};
use serde_json::json;
use wiremock::matchers::header as has_header;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    RotatingAuth, answering, catch_all, client_for, fixture, get, header, hi, post, request_json,
    sse_answer, to_wire,
};

fn sse_ok() -> ResponseTemplate {
    sse_answer(to_wire(&fixture("sse_chat_plain_text_gpt4era.sse"), "\n"))
}

async fn chat_server() -> MockServer {
    answering("/chat/completions", sse_ok()).await
}

async fn last_request(server: &MockServer) -> wiremock::Request {
    server
        .received_requests()
        .await
        .unwrap()
        .pop()
        .expect("a request")
}

#[tokio::test]
async fn streaming_chat_request_shape() {
    let server = chat_server().await;
    let (client, _, _) = client_for(&server);
    let request = ChatRequest::new(
        "claude-sonnet-4.5",
        vec![
            Message::system("You are terse."),
            Message::user("Read a.rs"),
            Message::assistant_tool_calls(vec![ToolCall::function(
                "tooluse_1",
                "read_file",
                r#"{"path":"a.rs"}"#,
            )])
            .with_reasoning(Some("I should read it.".into()), Some("sig==".into())),
            Message::tool("tooluse_1", "fn main() {}"),
            Message::user("Thanks, now explain"),
        ],
    )
    .temperature(0.1)
    .max_tokens(100)
    .tools(vec![
        Tool::function(
            "read_file",
            "Reads a file",
            Some(json!({"type":"object","properties":{"path":{"type":"string"}}})),
        ),
        Tool::function("no_args", "Takes nothing", None),
    ])
    .tool_choice(ToolChoice::Auto)
    .reasoning_effort(ReasoningEffort::High)
    .extra("snippy", json!({"enabled": false}));
    let options = RequestOptions::new().intent("conversation-agent").header(
        HeaderName::from_static("x-interaction-id"),
        HeaderValue::from_static("abc"),
    );
    let chat = client
        .chat_stream_with(request, options)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        chat.message().unwrap().content,
        "Hello! How can I assist you with your programming needs today?"
    );
    let sent = last_request(&server).await;
    let uuid = header(&sent, "x-request-id").unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "uuid v4");
    insta::assert_json_snapshot!("request_chat_stream", request_json(&sent));
}

#[tokio::test]
async fn non_streaming_request_omits_unset_fields_and_sends_response_format() {
    let server = answering("/chat/completions", ResponseTemplate::new(200).set_body_json(json!({
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "I'll check."}},
                {"index": 1, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "tooluse_X", "type": "function", "function": {"name": "grep", "arguments": "{}"}}]}}
            ],
            "id": "msg_1", "model": "claude-sonnet-4.5", "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            "unknown_top": true
        }))).await;
    let (client, _, _) = client_for(&server);
    let request = ChatRequest::new(
        "gpt-4o",
        vec![Message::user(vec![
            ContentPart::text("What is in this picture?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo=", Some(ImageDetail::Low)),
        ])],
    )
    .response_format(ResponseFormat::JsonSchema(JsonSchemaFormat::new(
        "answer",
        json!({"type":"object"}),
        Some(true),
    )));
    let response = client.chat(request).await.unwrap();
    // Claude's split choices are merged for n = 1.
    assert_eq!(response.choices.len(), 1);
    let message = response.message().unwrap();
    assert_eq!(message.text(), "I'll check.");
    assert_eq!(message.tool_calls[0].id, "tooluse_X");
    assert_eq!(
        response.choices[0].finish_reason,
        Some(copilot_api::FinishReason::ToolCalls)
    );
    assert_eq!(response.extra.get_value("unknown_top"), Some(json!(true)));
    let sent = last_request(&server).await;
    assert_eq!(header(&sent, "copilot-vision-request"), Some("true"));
    insta::assert_json_snapshot!("request_chat_vision", request_json(&sent));
}

async fn initiator_for(
    client: &CopilotApiClient,
    server: &MockServer,
    request: ChatRequest,
    options: RequestOptions,
) -> (String, Option<String>) {
    client
        .chat_stream_with(request, options)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sent = last_request(server).await;
    (
        header(&sent, "x-initiator").unwrap().to_owned(),
        header(&sent, "copilot-vision-request").map(str::to_owned),
    )
}

/// (name, messages, override, expected X-Initiator, expected Copilot-Vision-Request).
type InitiatorCase<'a> = (
    &'a str,
    Vec<Message>,
    Option<Initiator>,
    &'a str,
    Option<&'a str>,
);

#[tokio::test]
async fn initiator_and_vision_rules() {
    let server = chat_server().await;
    let (client, _, _) = client_for(&server);
    let user = |text: &str| Message::user(text);
    let cases: Vec<InitiatorCase<'_>> = vec![
        ("last user prompt", vec![user("hi")], None, "user", None),
        (
            "tool result last",
            vec![user("hi"), Message::tool("c1", "42")],
            None,
            "agent",
            None,
        ),
        (
            "assistant last",
            vec![user("hi"), Message::assistant("prefill")],
            None,
            "agent",
            None,
        ),
        (
            "system only",
            vec![Message::system("s")],
            None,
            "agent",
            None,
        ),
        (
            "user message holding a tool_result part",
            vec![Message::user(vec![ContentPart::Other(
                json!({"type":"tool_result","tool_use_id":"t","content":"x"}),
            )])],
            None,
            "agent",
            None,
        ),
        (
            "override to agent",
            vec![user("summarise")],
            Some(Initiator::Agent),
            "agent",
            None,
        ),
        (
            "override to user",
            vec![Message::tool("c1", "42")],
            Some(Initiator::User),
            "user",
            None,
        ),
        (
            "image in an earlier message",
            vec![
                Message::user(vec![ContentPart::image_url(
                    "https://example.com/a.png",
                    None,
                )]),
                Message::assistant("ok"),
                user("and?"),
            ],
            None,
            "user",
            Some("true"),
        ),
        (
            "image inside a tool result",
            vec![Message::tool(
                "c1",
                vec![ContentPart::Other(
                    json!({"type":"image","source":{"type":"base64","data":"x"}}),
                )],
            )],
            None,
            "agent",
            Some("true"),
        ),
    ];
    for (name, messages, override_, initiator, vision) in cases {
        let request = ChatRequest::new("gpt-4o", messages);
        if override_.is_none() {
            assert_eq!(request.initiator().as_str(), initiator, "{name}: derived");
        }
        let mut options = RequestOptions::new();
        if let Some(who) = override_ {
            options = options.initiator(who);
        }
        let (got, got_vision) = initiator_for(&client, &server, request, options).await;
        assert_eq!(got, initiator, "{name}");
        assert_eq!(got_vision.as_deref(), vision, "{name}");
    }
    let ids: std::collections::HashSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| header(r, "x-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 9, "a fresh X-Request-Id per request");
}

#[tokio::test]
async fn unauthorized_invalidates_the_failing_credentials_and_retries_once() {
    let server = MockServer::start().await;
    post("/chat/completions")
        .and(has_header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_string("unauthorized: token expired"))
        .expect(1)
        .mount(&server)
        .await;
    post("/chat/completions")
        .and(has_header("authorization", "Bearer token-2"))
        .respond_with(sse_ok())
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let auth = RotatingAuth::new(&server.uri());
    let client = CopilotApiClient::builder(auth.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let chat = client.chat_stream(hi()).await.unwrap();
    assert!(chat.collect().await.is_ok());
    assert_eq!(*auth.invalidated.lock().unwrap(), ["token-1"]);
    assert_eq!(
        *auth.invalidated_tags.lock().unwrap(),
        [Some(CredentialTag::new(1))],
        "the rejected credentials come back with the tag they were issued with"
    );
}

#[tokio::test]
async fn a_second_unauthorized_is_an_error_after_one_refresh() {
    let server = MockServer::start().await;
    post("/chat/completions")
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("content-type", "text/plain")
                .insert_header("x-github-request-id", "ABCD:1234")
                .set_body_string("IDE token expired: unauthorized: token expired\n"),
        )
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let auth = RotatingAuth::new(&server.uri());
    let client = CopilotApiClient::builder(auth.clone()).build().unwrap();
    let error = client.chat(hi()).await.unwrap_err();
    assert!(matches!(error, ApiError::TokenExpired(_)), "{error:?}");
    assert_eq!(error.github_request_id(), Some("ABCD:1234"));
    assert_eq!(
        error.request_id().map(str::len),
        Some(36),
        "falls back to the X-Request-Id we sent"
    );
    assert_eq!(*auth.invalidated.lock().unwrap(), ["token-1"]);
}

/// Streams one turn against a server that answers each of `failures` once, in order, and then the SSE answer;
/// returns the sleeps the client took between the attempts.
async fn sleeps_before_the_answer(failures: Vec<ResponseTemplate>) -> Vec<Duration> {
    let server = MockServer::start().await;
    for (priority, failure) in (1u8..).zip(failures) {
        post("/chat/completions")
            .respond_with(failure)
            .up_to_n_times(1)
            .expect(1)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    post("/chat/completions")
        .respond_with(sse_ok())
        .expect(1)
        .with_priority(u8::MAX - 1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, sleep, _) = client_for(&server);
    let stream = client.chat_stream(hi()).await.unwrap();
    assert!(stream.collect().await.is_ok());
    sleep.recorded()
}

#[tokio::test]
async fn rate_limited_then_success_honours_retry_after() {
    let rate_limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "7")
        .set_body_json(
            json!({"error": {"message": "slow down", "code": "user_model_rate_limited"}}),
        );
    assert_eq!(
        sleeps_before_the_answer(vec![rate_limited]).await,
        [Duration::from_secs(7)]
    );
}

#[tokio::test]
async fn a_turn_is_retried_after_429_and_503_with_retry_after_only() {
    let sleeps = sleeps_before_the_answer(vec![
        ResponseTemplate::new(503).insert_header("retry-after", "3"),
        ResponseTemplate::new(429),
    ])
    .await;
    // The server's 3 s, then the policy's backoff for the second retry.
    assert_eq!(sleeps, [Duration::from_secs(3), Duration::from_secs(1)]);
}

#[tokio::test]
async fn a_turn_answered_502_is_not_re_sent_but_a_models_get_is() {
    let server = MockServer::start().await;
    post("/chat/completions")
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    get("/models")
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, sleep, _) = client_for(&server);
    let error = client.chat_stream(hi()).await.unwrap_err();
    // The server may have processed it: a typed error the caller may retry, not a silent re-send.
    assert!(matches!(error, ApiError::ServerError(_)), "{error:?}");
    assert!(sleep.recorded().is_empty());
    // The models list is idempotent: 502, 502, then the catch-all's 500 — all retried, four requests.
    let _ = client.models().await.unwrap_err();
    assert_eq!(
        sleep.recorded(),
        [
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 5, "one turn, four GETs");
}

#[tokio::test]
async fn never_retry_after_the_stream_has_begun() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = FnTransport::new(move |_request| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let pieces: Vec<Result<Bytes, TransportError>> = vec![
                Ok(Bytes::from_static(
                    b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n",
                )),
                Err(TransportError::ConnectionClosed {
                    message: "HTTP/2 stream reset".into(),
                }),
            ];
            Ok(http::Response::new(ResponseBody::from_stream(
                futures_util::stream::iter(pieces),
            )))
        }
    });
    let (client, _) = stream_client(SharedTransport::new(transport), RetryPolicy::default());
    let mut stream = client.chat_stream(hi()).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Content { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Err(ApiError::StreamInterrupted { .. }))
    ));
    assert!(stream.next().await.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connect_error_is_retried_but_a_dropped_connection_is_not() {
    for (first_error, expected_calls) in [
        (
            TransportError::Connect {
                url: "https://api.githubcopilot.com/".into(),
                message: "connection refused".into(),
            },
            2,
        ),
        (
            TransportError::ConnectionClosed {
                message: "reset".into(),
            },
            1,
        ),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let first_error = Arc::new(std::sync::Mutex::new(Some(first_error)));
        let transport = FnTransport::new(move |_request| {
            counter.fetch_add(1, Ordering::SeqCst);
            let first = first_error.lock().unwrap().take();
            async move {
                match first {
                    Some(error) => Err(error),
                    None => Ok(http::Response::new(ResponseBody::from_bytes(
                        "data: [DONE]\n\n",
                    ))),
                }
            }
        });
        let (client, _) = stream_client(SharedTransport::new(transport), RetryPolicy::default());
        let result = client.chat_stream(hi()).await;
        assert_eq!(calls.load(Ordering::SeqCst), expected_calls);
        match expected_calls {
            2 => assert!(result.unwrap().collect().await.unwrap().done_marker),
            _ => assert!(
                matches!(
                    result,
                    Err(ApiError::Transport(TransportError::ConnectionClosed { .. }))
                ),
                "{result:?}"
            ),
        }
    }
}

/// A transport whose `n`-th chat response (counting from 0) has the body `bodies(n)`.
fn counting_transport(
    calls: Arc<AtomicUsize>,
    bodies: fn(usize) -> Vec<Result<Bytes, TransportError>>,
) -> SharedTransport {
    SharedTransport::new(FnTransport::new(move |_request| {
        let attempt = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(http::Response::new(ResponseBody::from_stream(
                futures_util::stream::iter(bodies(attempt)),
            )))
        }
    }))
}

fn reset() -> Result<Bytes, TransportError> {
    Err(TransportError::ConnectionClosed {
        message: "connection reset by peer".into(),
    })
}

const ANSWER: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

fn stream_client(
    transport: SharedTransport,
    retry: RetryPolicy,
) -> (CopilotApiClient, RecordingSleep) {
    let sleep = RecordingSleep::new();
    let client = CopilotApiClient::builder(StaticAuth::new(
        "t",
        "https://api.githubcopilot.com".parse().unwrap(),
    ))
    .transport(transport)
    .retry_policy(retry)
    .sleep(sleep.clone())
    .build()
    .unwrap();
    (client, sleep)
}

/// Streams one chat turn over [`counting_transport`] with `bodies`, whose first body breaks: the turn must fail
/// with `StreamInterrupted` after one request and no sleep. Returns what had arrived.
async fn interrupted_chat(bodies: fn(usize) -> Vec<Result<Bytes, TransportError>>) -> PartialInfo {
    let calls = Arc::new(AtomicUsize::new(0));
    let transport = counting_transport(calls.clone(), bodies);
    let (client, sleep) = stream_client(transport, RetryPolicy::new().jitter(false));
    let error = client
        .chat_stream(hi())
        .await
        .expect("the head")
        .collect()
        .await
        .expect_err("the body broke");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(sleep.recorded().is_empty());
    match error {
        ApiError::StreamInterrupted { partial, .. } => partial,
        other => panic!("expected StreamInterrupted, got {other:?}"),
    }
}

#[tokio::test]
async fn a_body_broken_before_its_first_byte_is_not_re_sent() {
    let partial = interrupted_chat(|attempt| match attempt {
        0 => vec![reset()],
        _ => vec![Ok(Bytes::from_static(ANSWER.as_bytes()))],
    })
    .await;
    // The 200 head is final: the server has the prompt and may be generating (billing) the answer.
    assert_eq!((partial.events, partial.bytes), (0, 0), "{partial:?}");
}

#[tokio::test]
async fn a_responses_body_broken_before_its_first_byte_is_not_re_sent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let transport = counting_transport(calls.clone(), |attempt| match attempt {
        0 => vec![Ok(Bytes::new()), reset()],
        _ => vec![Ok(Bytes::from_static(b"data: [DONE]\n\n"))],
    });
    let (client, _) = stream_client(transport, RetryPolicy::new().jitter(false));
    let error = client
        .responses_stream(copilot_api::ResponsesRequest::new("gpt-5", Vec::new()))
        .await
        .expect("the head")
        .collect()
        .await
        .expect_err("the body broke");
    assert!(
        matches!(error, ApiError::StreamInterrupted { .. }),
        "{error:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_broken_after_its_first_byte_is_not_retried() {
    let partial =
        interrupted_chat(|_| vec![Ok(Bytes::from_static(b": keep-alive\n\n")), reset()]).await;
    assert!(partial.bytes > 0, "{partial:?}");
}

/// A client for `auth` whose transport fails the test if anything is sent.
fn client_that_must_not_send(auth: impl CopilotAuth + 'static) -> CopilotApiClient {
    CopilotApiClient::builder(auth)
        .transport(SharedTransport::new(FnTransport::new(|_r| async {
            unreachable!("nothing may be sent")
        })))
        .build()
        .unwrap()
}

fn assert_insecure_url(error: &ApiError) {
    assert!(
        matches!(
            error,
            ApiError::Transport(TransportError::InsecureUrl { .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn credentials_never_travel_over_plain_http_to_a_remote_host() {
    let client = client_that_must_not_send(StaticAuth::new(
        "t",
        "http://api.example.com".parse().unwrap(),
    ));
    assert_insecure_url(&client.models().await.unwrap_err());
}

#[tokio::test]
async fn embeddings_are_batched_and_reindexed() {
    let server = MockServer::start().await;
    post("/embeddings")
        .respond_with(|request: &wiremock::Request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let count = body["input"].as_array().unwrap().len();
            let data: Vec<_> = (0..count)
                .map(|i| json!({"object": "embedding", "index": i, "embedding": [i as f32, 0.5]}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({
                "object": "list", "data": data, "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": count, "total_tokens": count}
            }))
        })
        .expect(3)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let request = EmbeddingsRequest::new("text-embedding-3-small", ["a", "b", "c", "d", "e"])
        .dimensions(512)
        .batch_size(2);
    let response = client.embeddings(request).await.unwrap();
    let indexes: Vec<usize> = response.data.iter().map(|e| e.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    assert_eq!(response.usage.unwrap().total_tokens, 5);
    let sent = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!("request_embeddings_first_batch", request_json(&sent[0]));
}

#[tokio::test]
async fn embeddings_batch_size_comes_from_the_models_list() {
    let server = MockServer::start().await;
    let mut models: serde_json::Value =
        serde_json::from_slice(&fixture("models_2026-08-20_excerpt.json")).unwrap();
    models["data"][7]["capabilities"]["limits"]["max_inputs"] = json!(2);
    get("/models")
        .respond_with(ResponseTemplate::new(200).set_body_json(models))
        .mount(&server)
        .await;
    post("/embeddings")
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [2.0]}]}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let response = client
        .embeddings(EmbeddingsRequest::new(
            "text-embedding-ada-002",
            ["a", "b", "c", "d"],
        ))
        .await
        .unwrap();
    assert_eq!(response.data.len(), 4);
}

/// `RequestOptions::headers` are applied last: a caller may replace identity, intent, initiator and request-id
/// headers, but never the credential or the body's framing.
#[tokio::test]
async fn caller_headers_replace_computed_ones_but_never_credentials_or_framing() {
    let server = answering(
        "/chat/completions",
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "ok"}}],
            "id": "c1", "model": "gpt-4o"
        })),
    )
    .await;
    let (client, _, _) = client_for(&server);
    let pairs = [
        ("editor-version", "my-editor/2.0"),
        ("openai-intent", "conversation-edits"),
        ("x-initiator", "agent"),
        ("x-request-id", "caller-chosen-id"),
        ("x-interaction-id", "abc"),
        ("authorization", "Bearer stolen"),
        ("proxy-authorization", "Basic c2VjcmV0"),
        ("cookie", "session=1"),
        ("content-type", "text/plain"),
    ];
    let mut options = RequestOptions::new();
    for (name, value) in pairs {
        options = options.header(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    // A header given twice is sent twice, replacing the computed one.
    options = options.header(
        HeaderName::from_static("x-interaction-id"),
        HeaderValue::from_static("def"),
    );
    let request = hi();
    client.chat_with(request, options).await.unwrap();

    let sent = last_request(&server).await;
    let all = |name: &str| -> Vec<&str> {
        sent.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    };
    // The caller wins over what the client computed (the identity says vscode/1.104.3, the turn is a user
    // prompt, the intent defaults to conversation-panel, the request id is a fresh uuid).
    assert_eq!(all("editor-version"), ["my-editor/2.0"]);
    assert_eq!(all("openai-intent"), ["conversation-edits"]);
    assert_eq!(all("x-initiator"), ["agent"]);
    assert_eq!(all("x-request-id"), ["caller-chosen-id"]);
    assert_eq!(all("x-interaction-id"), ["abc", "def"]);
    // Untouched identity headers stay.
    assert_eq!(all("copilot-integration-id"), ["vscode-chat"]);
    // Credentials and framing stay the client's.
    assert_eq!(all("authorization"), ["Bearer test-token"]);
    assert!(all("proxy-authorization").is_empty());
    assert!(all("cookie").is_empty());
    assert_eq!(all("content-type"), ["application/json"]);
}

/// A bearer belongs to an integration id (a PAT in direct mode works only with `copilot-developer-cli`):
/// the credentials' value is sent in place of the client identity's.
#[tokio::test]
async fn the_credentials_integration_id_wins_over_the_identity() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let transport = FnTransport::new(move |request: http::Request<bytes::Bytes>| {
        record.lock().unwrap().push(
            request
                .headers()
                .get_all("copilot-integration-id")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        );
        async move {
            Ok(http::Response::new(ResponseBody::from_bytes(
                "data: [DONE]\n\n",
            )))
        }
    });
    let credentials =
        copilot_api::CopilotCredentials::new("t", "https://api.githubcopilot.com".parse().unwrap())
            .with_integration_id("copilot-developer-cli");
    let client = CopilotApiClient::builder(StaticAuth::from_credentials(credentials))
        .identity(copilot_http::ClientIdentity::default().with_integration_id("vscode-chat"))
        .transport(SharedTransport::new(transport))
        .build()
        .unwrap();
    let stream = client.chat_stream(hi()).await.unwrap();
    drop(stream);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![vec!["copilot-developer-cli".to_owned()]]
    );
}

/// A reasoning effort this version does not know (`ultra`) is kept as `ReasoningEffort::Other` and sent
/// verbatim, so a new server value needs no release; known ones (`xhigh`) keep their variant.
#[tokio::test]
async fn unknown_reasoning_effort_passes_through_to_the_wire() {
    let parsed: ReasoningEffort = serde_json::from_value(json!("ultra")).unwrap();
    assert_eq!(parsed, ReasoningEffort::Other("ultra".into()));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), json!("ultra"));
    let xhigh: ReasoningEffort = serde_json::from_value(json!("xhigh")).unwrap();
    assert_eq!(xhigh, ReasoningEffort::Xhigh);

    let server = chat_server().await;
    let (client, _, _) = client_for(&server);
    for (effort, wire) in [
        (ReasoningEffort::from("ultra"), "ultra"),
        (ReasoningEffort::Xhigh, "xhigh"),
    ] {
        let request =
            ChatRequest::new("gpt-5.4", vec![Message::user("hi")]).reasoning_effort(effort);
        client
            .chat_stream(request)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let sent = last_request(&server).await;
        let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(body["reasoning_effort"], wire, "{body}");
    }
}

/// `OpenAI-Intent`, `X-Interaction-Type` and `X-Initiator` as every call kind sends them, decided in one
/// place (`copilot_api::classify`): a user turn, a tool follow-up, a sub-agent, compaction and background
/// turns, the caller's override, and the calls that are not turns.
#[tokio::test]
async fn classification_headers_on_the_wire_per_call_kind() {
    use copilot_api::{
        AnthropicMessage, MessagesRequest, RequestPurpose, ResponseItem, ResponsesRequest,
    };
    let server = MockServer::start().await;
    // Every call fails at once (a 400 is final): only what was sent matters here.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(400).set_body_string("recorded"))
        .mount(&server)
        .await;
    let (client, _, _) = client_for(&server);
    let user = || vec![Message::user("hi")];
    let follow_up = || {
        vec![
            Message::user("read a.rs"),
            Message::assistant_tool_calls(vec![ToolCall::function("call_1", "read", "{}")]),
            Message::tool("call_1", "fn main() {}"),
        ]
    };
    let purpose = |p| RequestOptions::new().purpose(p);

    let _ = client.chat(ChatRequest::new("gpt-4.1", user())).await;
    let _ = client.chat(ChatRequest::new("gpt-4.1", follow_up())).await;
    let _ = client
        .chat_with(
            ChatRequest::new("gpt-4.1", user()),
            purpose(RequestPurpose::Subagent),
        )
        .await;
    let _ = client
        .chat_stream_with(
            ChatRequest::new("gpt-4.1", user()),
            purpose(RequestPurpose::Compaction),
        )
        .await;
    let _ = client
        .responses_with(
            ResponsesRequest::new("gpt-5.4", vec![ResponseItem::user_text("hi")]),
            purpose(RequestPurpose::Background),
        )
        .await;
    let _ = client
        .messages(MessagesRequest::new(
            "claude-sonnet-4.5",
            64,
            vec![AnthropicMessage::user("hi")],
        ))
        .await;
    let _ = client
        .messages_with(
            MessagesRequest::new("claude-sonnet-4.5", 64, vec![AnthropicMessage::user("hi")]),
            purpose(RequestPurpose::Subagent),
        )
        .await;
    let _ = client
        .chat_with(
            ChatRequest::new("gpt-4.1", follow_up()),
            RequestOptions::new()
                .intent("conversation-agent")
                .interaction_type("conversation-inline")
                .initiator(Initiator::User),
        )
        .await;
    let _ = client
        .embeddings(EmbeddingsRequest::new("text-embedding-3-small", ["a"]).batch_size(1))
        .await;
    let _ = client.models().await;
    let _ = client.accept_policy("claude-sonnet-4.5").await;

    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} intent={} interaction={} initiator={}",
                r.method,
                r.url.path(),
                header(r, "openai-intent").unwrap_or("-"),
                header(r, "x-interaction-type").unwrap_or("-"),
                header(r, "x-initiator").unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            "POST /chat/completions intent=conversation-panel interaction=conversation-panel initiator=user",
            "POST /chat/completions intent=conversation-panel interaction=conversation-panel initiator=agent",
            "POST /chat/completions intent=conversation-panel interaction=conversation-subagent initiator=agent",
            "POST /chat/completions intent=conversation-panel interaction=conversation-background initiator=agent",
            "POST /responses intent=conversation-panel interaction=conversation-background initiator=agent",
            "POST /v1/messages intent=messages-proxy interaction=messages-proxy initiator=user",
            "POST /v1/messages intent=messages-proxy interaction=conversation-subagent initiator=agent",
            "POST /chat/completions intent=conversation-agent interaction=conversation-inline initiator=user",
            "POST /embeddings intent=copilot-panel interaction=copilot-panel initiator=-",
            "GET /models intent=model-access interaction=model-access initiator=-",
            "POST /models/claude-sonnet-4.5/policy intent=chat-policy interaction=chat-policy initiator=-",
        ]
    );
}

#[tokio::test]
async fn a_provider_key_in_any_header_never_travels_over_plain_http_to_a_remote_host() {
    use copilot_core::Provider;
    let remote: url::Url = "http://provider.example.com".parse().unwrap();
    for provider in [
        Provider::openai(remote.clone(), "k"),
        Provider::azure(remote.clone(), "k"),
        Provider::anthropic(remote.clone(), "k"),
    ] {
        let client = client_that_must_not_send(provider);
        let error = client
            .chat(ChatRequest::new("gpt-4.1", vec![Message::user("hi")]))
            .await
            .unwrap_err();
        assert_insecure_url(&error);
    }
}

#[tokio::test]
async fn a_caller_header_cannot_replace_or_join_a_provider_key() {
    use copilot_core::Provider;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let transport = FnTransport::new(move |request: http::Request<Bytes>| {
        log.lock().unwrap().push(request.headers().clone());
        async move {
            Ok(http::Response::new(ResponseBody::from_bytes(
                r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#,
            )))
        }
    });
    let provider = Provider::azure("https://res.openai.azure.com".parse().unwrap(), "real-key");
    let client = CopilotApiClient::builder(provider)
        .transport(SharedTransport::new(transport))
        .build()
        .unwrap();
    let options = RequestOptions::new()
        .header(
            HeaderName::from_static("api-key"),
            HeaderValue::from_static("caller-key"),
        )
        .header(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("caller-key"),
        );
    client
        .chat_with(
            ChatRequest::new("gpt-4.1", vec![Message::user("hi")]),
            options,
        )
        .await
        .unwrap();
    let headers = seen.lock().unwrap()[0].clone();
    let keys: Vec<_> = headers.get_all("api-key").iter().collect();
    assert_eq!(keys, [HeaderValue::from_static("real-key")]);
    assert!(keys[0].is_sensitive());
    assert!(headers.get("x-api-key").is_none());
}
