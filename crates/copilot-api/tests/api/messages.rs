//! Anthropic Messages (`/v1/messages`): the stream decoder for every event kind, the collected answer and
//! its replay, the request's headers and body, the non-streamed answer.

use copilot_api::{
    AnthropicMessage, ApiError, ChatEvent, CollectedThinking, ContentBlock, Dialect, FinishReason,
    MessageContent, MessagesRequest, MessagesResponse, MessagesTool, RequestOptions, Role,
    ThinkingConfig,
};
use http::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

use crate::support::{
    answering, catch_all, client_for, collect, decode_split, decode_with, events_json, fixture,
    header, post, request_json, sse_answer,
};

fn stream_fixture() -> Vec<u8> {
    fixture("sse_messages_thinking_tool_use.sse")
}

fn crlf(input: &[u8]) -> Vec<u8> {
    String::from_utf8(input.to_vec())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes()
}

#[test]
fn every_event_kind_maps_onto_chat_events() {
    let events = decode_with(Dialect::Messages, &stream_fixture(), 0);
    let json = events_json(&events);
    let kinds: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "meta", // message_start
            "reasoning",
            "reasoning",
            "reasoning", // thinking, thinking, signature
            "reasoning", // redacted_thinking
            "content",
            "extra",
            "content", // text, citations_delta, text
            "tool_call",
            "tool_call",
            "tool_call",
            "tool_call", // tool_use start + 3 fragments
            "tool_call",
            "tool_call", // a call without arguments: start, then `{}` at its stop
            "usage",
            "finish", // message_delta
            "extra",
            "done", // message_stop's copilot_usage, the end
        ],
        "{json:#}"
    );
    assert_eq!(
        json[0],
        json!({"type":"meta","id":"msg_01","model":"claude-sonnet-4.5"})
    );
    assert_eq!(
        json[3],
        json!({"type":"reasoning","choice":0,"kind":"opaque","text":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"})
    );
    assert_eq!(json[4]["kind"], "redacted");
    assert_eq!(json[6]["name"], "citations_delta");
    assert_eq!(
        json[8]["delta"],
        json!({"index":3,"id":"toolu_01","name":"read_file","arguments":""})
    );
    assert_eq!(json[13]["delta"], json!({"index":4,"arguments":"{}"}));
    // Usage is message_start's input counts overlaid with message_delta's output count.
    assert_eq!(
        json[14],
        json!({"type":"usage","prompt_tokens":525,"completion_tokens":89,"total_tokens":614,
            "prompt_tokens_details":{"cached_tokens":400},"cache_creation_input_tokens":100})
    );
    assert_eq!(
        json[15],
        json!({"type":"finish","choice":0,"reason":"tool_calls"})
    );
    assert_eq!(json[16]["name"], "copilot_usage");
    assert_eq!(
        json[17],
        json!({"type":"done","done_marker":true,"saw_finish":true})
    );
}

#[test]
fn split_at_every_byte_and_crlf_decode_the_same() {
    let lf = stream_fixture();
    let expected = events_json(&decode_with(Dialect::Messages, &lf, 0));
    for input in [lf.clone(), crlf(&lf)] {
        for split in 0..=input.len() {
            assert_eq!(
                events_json(&decode_split(Dialect::Messages, &input, &[split])),
                expected,
                "split at byte {split}"
            );
        }
        assert_eq!(
            events_json(&decode_with(Dialect::Messages, &input, 1)),
            expected,
            "byte by byte"
        );
    }
}

#[test]
fn the_collected_answer_replays_every_block_in_order() {
    let chat = collect(decode_with(Dialect::Messages, &stream_fixture(), 0), None);
    let message = chat.message().unwrap();
    assert_eq!(message.content, "Reading a.rs now.");
    assert_eq!(message.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(message.tool_calls.len(), 2);
    assert_eq!(
        message.tool_calls[0].function.arguments,
        r#"{"path": "a.rs"}"#
    );
    assert_eq!(
        message.thinking,
        vec![
            CollectedThinking::Thinking {
                thinking: "The user wants a file. I will read it — ünïcödé.".into(),
                signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds".into(),
            },
            CollectedThinking::Redacted {
                data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP".into()
            },
        ]
    );
    assert_eq!(
        serde_json::to_value(message.to_anthropic_message()).unwrap(),
        json!({"role":"assistant","content":[
            {"type":"thinking","thinking":"The user wants a file. I will read it — ünïcödé.",
             "signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
            {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
            {"type":"text","text":"Reading a.rs now."},
            {"type":"tool_use","id":"toolu_01","name":"read_file","input":{"path":"a.rs"}},
            {"type":"tool_use","id":"toolu_02","name":"list_files","input":{}}
        ]})
    );
    let usage = chat.usage.as_ref().unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.cached_tokens()),
        (525, Some(400))
    );
}

#[test]
fn interleaved_thinking_keeps_each_block_before_its_tool_call() {
    let stream = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"first\",\"signature\":\"\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s1\"}}\n\n\
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"a\",\"input\":{\"x\":1}}}\n\n\
data: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"second\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s2\"}}\n\n\
data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"b\",\"input\":{}}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}\n\n\
data: {\"type\":\"message_stop\"}\n\n";
    let chat = collect(decode_with(Dialect::Messages, stream, 0), None);
    let replay = serde_json::to_value(chat.message().unwrap().to_anthropic_message()).unwrap();
    assert_eq!(
        replay["content"],
        json!([
            {"type":"thinking","thinking":"first","signature":"s1"},
            {"type":"tool_use","id":"t1","name":"a","input":{"x":1}},
            {"type":"thinking","thinking":"second","signature":"s2"},
            {"type":"tool_use","id":"t2","name":"b","input":{}}
        ])
    );
}

/// Decodes `message_start`, an `overloaded_error` event and then `after`: the error is a typed
/// `RateLimited` and ends the stream, whatever comes after it.
fn assert_overloaded_ends_the_stream(dialect: Dialect, after: &str) {
    let stream = format!(
        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"m\"}}}}\n\n\
event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n\
{after}"
    );
    let events = decode_with(dialect, stream.as_bytes(), 0);
    assert_eq!(events.len(), 2, "{:?}", events_json(&events));
    assert!(
        matches!(events[1], Err(ApiError::RateLimited { .. })),
        "{:?}",
        events[1]
    );
}

#[test]
fn an_error_event_is_a_typed_error_and_ends_the_stream() {
    assert_overloaded_ends_the_stream(
        Dialect::Messages,
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n",
    );
    let invalid = b"data: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"thinking blocks must be replayed\"}}\n\n";
    let events = decode_with(Dialect::Messages, invalid, 0);
    assert!(
        matches!(events[0], Err(ApiError::BadRequest(_))),
        "{:?}",
        events[0]
    );
}

#[test]
fn the_raw_dialect_keeps_every_event_verbatim() {
    let fixture = stream_fixture();
    let text = String::from_utf8(fixture.clone()).unwrap();
    let expected: Vec<(String, String)> = text
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            (name.to_owned(), data.to_owned())
        })
        .collect();
    for input in [fixture.clone(), crlf(&fixture)] {
        for piece in [0, 1, 7] {
            let events = decode_with(Dialect::MessagesRaw, &input, piece);
            let (last, kept) = events.split_last().unwrap();
            let kept: Vec<(String, String)> = kept
                .iter()
                .map(|event| match event {
                    Ok(ChatEvent::Extra {
                        choice: None,
                        name,
                        value,
                    }) => (name.clone(), value.get().to_owned()),
                    other => panic!("not a raw event: {other:?}"),
                })
                .collect();
            assert_eq!(kept, expected, "piece {piece}");
            assert!(
                matches!(
                    last,
                    Ok(ChatEvent::Done {
                        done_marker: true,
                        saw_finish: true
                    })
                ),
                "{last:?}"
            );
        }
    }
    // An error event is the same typed error as in the mapped dialect, and ends the stream.
    assert_overloaded_ends_the_stream(Dialect::MessagesRaw, "data: {\"type\":\"ping\"}\n\n");
    // Cut before `message_stop`: the end says no finish was seen.
    let cut = b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"cut\"}}\n\n";
    let events = events_json(&decode_with(Dialect::MessagesRaw, cut, 0));
    assert_eq!(
        events[1],
        json!({"type":"done","done_marker":false,"saw_finish":false})
    );
}

#[test]
fn eof_without_message_stop_reports_whether_it_finished() {
    let stream = b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"cut\"}}\n\n";
    let events = events_json(&decode_with(Dialect::Messages, stream, 0));
    assert_eq!(
        events[1],
        json!({"type":"done","done_marker":false,"saw_finish":false})
    );
}

fn messages_server_body() -> Value {
    json!({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4.5",
        "content": [
            {"type":"thinking","thinking":"Let me look.","signature":"sig-A"},
            {"type":"text","text":"Calling a tool."},
            {"type":"tool_use","id":"toolu_9","name":"read_file","input":{"path":"b.rs"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 30, "cache_read_input_tokens": 0},
        "copilot_usage": {"total_nano_aiu": 3000000}
    })
}

/// Answers every `POST /v1/messages` with [`messages_server_body`].
async fn mount_messages_answer(server: &MockServer) {
    post("/v1/messages")
        .respond_with(ResponseTemplate::new(200).set_body_json(messages_server_body()))
        .mount(server)
        .await;
}

/// Answers every `POST {route}` with a final 400, for tests that only look at what was sent.
async fn mount_refusal(server: &MockServer, route: &str) {
    post(route)
        .respond_with(ResponseTemplate::new(400).set_body_string("recorded"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn messages_request_headers_and_body() {
    let server = MockServer::start().await;
    mount_messages_answer(&server).await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let request = MessagesRequest::new(
        "claude-sonnet-4.5",
        2048,
        vec![AnthropicMessage::user("Read b.rs")],
    )
    .system(vec![
        ContentBlock::text("You are terse.")
            .with_cache_control(copilot_api::CacheControl::ephemeral()),
    ])
    .thinking(ThinkingConfig::enabled(1024))
    .tools(vec![MessagesTool::new("read_file", "Reads a file", None)]);
    let answer = client.messages(request).await.unwrap();
    assert_eq!(answer.text(), "Calling a tool.");
    assert_eq!(answer.finish_reason(), Some(FinishReason::ToolCalls));
    assert_eq!(answer.extra["copilot_usage"]["total_nano_aiu"], 3000000);
    let sent = &server.received_requests().await.unwrap()[0];
    let json = request_json(sent);
    assert_eq!(json["path"], "/v1/messages");
    for (name, value) in [
        ("anthropic-version", "2023-06-01"),
        ("openai-intent", "messages-proxy"),
        ("x-interaction-type", "messages-proxy"),
        ("x-github-api-version", "2026-06-01"),
        ("x-initiator", "user"),
        ("copilot-integration-id", "vscode-chat"),
        ("editor-version", "vscode/1.104.3"),
        ("content-type", "application/json"),
        ("authorization", "Bearer test-token"),
    ] {
        assert_eq!(header(sent, name), Some(value), "{name}");
    }
    assert_eq!(header(sent, "copilot-vision-request"), None);
    assert_eq!(
        json["body"],
        json!({
            "model": "claude-sonnet-4.5", "max_tokens": 2048,
            "messages": [{"role":"user","content":"Read b.rs"}],
            "system": [{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
            "thinking": {"type":"enabled","budget_tokens":1024},
            "tools": [{"name":"read_file","description":"Reads a file","input_schema":{"type":"object","properties":{}}}]
        })
    );
}

#[tokio::test]
async fn a_tool_result_turn_is_agent_initiated_and_replays_the_thinking() {
    let server = MockServer::start().await;
    mount_messages_answer(&server).await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let first: MessagesResponse = serde_json::from_value(messages_server_body()).unwrap();
    let request = MessagesRequest::new(
        "claude-sonnet-4.5",
        2048,
        vec![
            AnthropicMessage::user("Read b.rs"),
            first.to_message(),
            AnthropicMessage::user(vec![ContentBlock::tool_result(
                "toolu_9",
                vec![ContentBlock::image_base64("image/png", "iVBORw0KGgo=")],
            )]),
        ],
    );
    let options = RequestOptions::new().header(
        HeaderName::from_static("anthropic-beta"),
        HeaderValue::from_static("interleaved-thinking-2025-05-14"),
    );
    client.messages_with(request, options).await.unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(header(sent, "x-initiator"), Some("agent"));
    assert_eq!(header(sent, "copilot-vision-request"), Some("true"));
    assert_eq!(
        header(sent, "anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    let body = request_json(sent)["body"].clone();
    assert_eq!(
        body["messages"][1]["content"],
        messages_server_body()["content"],
        "replayed unchanged"
    );
}

#[tokio::test]
async fn the_callers_anthropic_version_wins() {
    let server = answering("/v1/messages", sse_answer(stream_fixture())).await;
    let (client, _, _) = client_for(&server);
    let options = RequestOptions::new().header(
        HeaderName::from_static("anthropic-version"),
        HeaderValue::from_static("2099-01-01"),
    );
    let request =
        MessagesRequest::new("claude-sonnet-4.5", 100, vec![AnthropicMessage::user("hi")]);
    let chat = client
        .messages_stream_with(request, options)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(chat.message().unwrap().content, "Reading a.rs now.");
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(header(sent, "anthropic-version"), Some("2099-01-01"));
    assert_eq!(request_json(sent)["body"]["stream"], true);
}

#[test]
fn a_response_keeps_unknown_fields_and_blocks_through_a_round_trip() {
    let mut body = messages_server_body();
    body["content"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type":"web_search_tool_result","tool_use_id":"s1","content":[]}));
    body["container"] = json!({"id": "c1"});
    let response: MessagesResponse = serde_json::from_value(body.clone()).unwrap();
    assert!(matches!(response.content[0], ContentBlock::Thinking(_)));
    assert!(matches!(response.content[3], ContentBlock::Other(_)));
    assert_eq!(serde_json::to_value(&response).unwrap(), body);
    let message = response.to_message();
    assert_eq!(message.role, Role::Assistant);
    let MessageContent::Blocks(blocks) = &message.content else {
        panic!("blocks")
    };
    assert_eq!(blocks.len(), 4);
}

/// `X-GitHub-Api-Version` is the identity's per endpoint: its messages version on `/v1/messages` (or none
/// when the identity omits it), its Copilot API version everywhere else.
#[tokio::test]
async fn the_messages_api_version_comes_from_the_identity() {
    let server = MockServer::start().await;
    mount_messages_answer(&server).await;
    mount_refusal(&server, "/chat/completions").await;
    catch_all(&server).await;
    let client_with = |identity: copilot_http::ClientIdentity| {
        copilot_api::CopilotApiClient::builder(copilot_api::StaticAuth::new(
            "test-token",
            server.uri().parse().unwrap(),
        ))
        .identity(identity)
        .build()
        .unwrap()
    };
    let ask = || MessagesRequest::new("claude-sonnet-4.5", 64, vec![AnthropicMessage::user("hi")]);

    let newer = client_with(
        copilot_http::ClientIdentity::new()
            .with_messages_api_version("2026-09-01")
            .with_copilot_api_version(Some("2025-10-01")),
    );
    newer.messages(ask()).await.unwrap();
    let _ = newer
        .chat(copilot_api::ChatRequest::new(
            "gpt-4.1",
            vec![copilot_api::Message::user("hi")],
        ))
        .await;
    let omitted = client_with(copilot_http::ClientIdentity::new().with_messages_api_version(None));
    omitted.messages(ask()).await.unwrap();
    let default = client_with(copilot_http::ClientIdentity::new());
    default.messages(ask()).await.unwrap();

    let sent = server.received_requests().await.unwrap();
    let versions: Vec<(&str, Option<&str>)> = sent
        .iter()
        .map(|r| (r.url.path(), header(r, "x-github-api-version")))
        .collect();
    assert_eq!(
        versions,
        [
            ("/v1/messages", Some("2026-09-01")),
            ("/chat/completions", Some("2025-10-01")),
            ("/v1/messages", None),
            ("/v1/messages", Some(copilot_api::MESSAGES_API_VERSION)),
        ]
    );
}

/// Unknown effort values pass through on every endpoint that takes one (`output_config.effort` here, and
/// `reasoning.effort` on `/responses`), and adaptive thinking is sent as `{"type":"adaptive"}`.
#[tokio::test]
async fn unknown_efforts_and_adaptive_thinking_reach_the_wire() {
    use copilot_api::{
        OutputConfig, ReasoningConfig, ReasoningEffort, ResponseItem, ResponsesRequest,
    };
    let server = MockServer::start().await;
    mount_messages_answer(&server).await;
    mount_refusal(&server, "/responses").await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let request = MessagesRequest::new("claude-opus-4.6", 64, vec![AnthropicMessage::user("hi")])
        .thinking(ThinkingConfig::adaptive())
        .output_config(OutputConfig::effort(ReasoningEffort::from("ultra")));
    client.messages(request).await.unwrap();
    let _ = client
        .responses(
            ResponsesRequest::new("gpt-5.4", vec![ResponseItem::user_text("hi")]).reasoning(
                ReasoningConfig::new(Some(ReasoningEffort::from("ultra")), None),
            ),
        )
        .await;
    let sent = server.received_requests().await.unwrap();
    let messages: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(messages["thinking"], json!({"type": "adaptive"}));
    assert_eq!(messages["output_config"], json!({"effort": "ultra"}));
    let responses: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(responses["reasoning"]["effort"], "ultra");
}
