//! The Anthropic side: `/v1/messages` (stream and not) and `count_tokens`: native on Copilot's Messages
//! endpoint for the models that list it, translated to chat for the others.

use copilot_mock::{Endpoint, Fault, FaultRule};
use serde_json::{Value, json};

use crate::common::{Harness, KEY, Sse, user_says};

async fn post(h: &Harness, path: &str, body: &Value) -> reqwest::Response {
    h.http
        .post(h.url(path))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn post_json(h: &Harness, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = post(h, "/v1/messages", body).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

async fn post_sse(h: &Harness, body: &Value) -> Vec<Sse> {
    let response = post(h, "/v1/messages", body).await;
    assert_eq!(response.status(), 200);
    crate::common::parse_sse(&response.text().await.unwrap())
}

/// POSTs `body` to the mock's own `/v1/messages` with a Copilot token, as the gateway would.
async fn mock_direct_sse(h: &Harness, body: &Value) -> Vec<Sse> {
    let github = h.mock.mint_github_token(copilot_mock::DEFAULT_LOGIN);
    let exchange = h
        .http
        .get(format!(
            "{}/copilot_internal/v2/token",
            h.mock.github_api_url()
        ))
        .header("authorization", format!("token {github}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exchange: Value = serde_json::from_str(&exchange).unwrap();
    let token = exchange["token"].as_str().unwrap();
    let response = h
        .http
        .post(format!("{}/v1/messages", h.mock.copilot_api_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    crate::common::parse_sse(&response.text().await.unwrap())
}

fn weather_tools() -> Value {
    json!([
        {"name": "get_weather", "description": "Weather for a city",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "get_time", "description": "Time in a city",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    ])
}

/// Checks the event grammar Anthropic clients rely on and returns the assembled blocks.
fn assemble(events: &[Sse]) -> (Vec<Value>, Value) {
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names[0], "message_start");
    assert_eq!(names[1], "ping");
    assert_eq!(names[names.len() - 2], "message_delta");
    assert_eq!(names[names.len() - 1], "message_stop");
    for event in events {
        assert_eq!(
            event.event.as_deref(),
            event.json()["type"].as_str(),
            "event name = type"
        );
    }
    let mut blocks: Vec<Value> = Vec::new();
    let mut open: Option<usize> = None;
    let mut partial_json = String::new();
    let mut delta_event = Value::Null;
    for event in &events[2..] {
        let data = event.json();
        match data["type"].as_str().unwrap() {
            "content_block_start" => {
                assert!(open.is_none(), "one block at a time");
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(index, blocks.len(), "block indexes are dense");
                blocks.push(data["content_block"].clone());
                open = Some(index);
                partial_json.clear();
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(Some(index), open);
                let block = &mut blocks[index];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        let text = format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            delta["text"].as_str().unwrap()
                        );
                        block["text"] = json!(text);
                    }
                    "thinking_delta" => {
                        let text = format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            delta["thinking"].as_str().unwrap()
                        );
                        block["thinking"] = json!(text);
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        partial_json.push_str(delta["partial_json"].as_str().unwrap())
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(Some(index), open);
                if blocks[index]["type"] == "tool_use" {
                    blocks[index]["input"] = serde_json::from_str(&partial_json).unwrap();
                }
                open = None;
            }
            "message_delta" => delta_event = data,
            "message_stop" => assert!(open.is_none(), "every block stopped"),
            other => panic!("unexpected event {other}"),
        }
    }
    (blocks, delta_event)
}

#[tokio::test]
async fn messages_non_streamed_for_claude_and_other_models() {
    let h = Harness::start().await;
    for model in ["claude-sonnet-4.5", "gpt-4.1", "gpt-5.3-codex"] {
        let (status, headers, body) = post_json(
            &h,
            &json!({"model": model, "max_tokens": 256, "top_k": 40, "x_future_field": {"kept": true},
            "messages": [{"role": "user", "content": "Hello anthropic"}]}),
        )
        .await;
        assert_eq!(status, 200, "{model}: {body}");
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        assert_eq!(body["model"], model);
        assert_eq!(body["content"][0]["type"], "text");
        assert!(
            body["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Hello anthropic")
        );
        assert_eq!(body["stop_reason"], "end_turn");
        assert!(body["usage"]["output_tokens"].as_u64().unwrap() > 0);
        assert!(body["id"].as_str().unwrap().starts_with("msg_"));
        assert!(headers.contains_key(copilot_serve::COST_HEADER), "{model}");
    }
    // Claude lists `/v1/messages`: the request went there as sent, unknown fields included, and the
    // answer came back as Copilot wrote it (its cost object too).
    let native = h.upstream(Endpoint::Messages);
    assert_eq!(native.len(), 1);
    assert_eq!(native[0].header("x-initiator"), Some("user"));
    assert_eq!(native[0].header("anthropic-version"), Some("2023-06-01"));
    let sent = native[0].body_json().unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4.5");
    assert_eq!(sent["max_tokens"], 256);
    assert_eq!(sent["top_k"], 40);
    assert_eq!(sent["x_future_field"], json!({"kept": true}));
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "Hello anthropic"}])
    );
    // The responses-only model went through /responses, the chat model through chat.
    assert_eq!(h.upstream(Endpoint::Responses).len(), 1);
    let chat = h.upstream(Endpoint::ChatCompletions);
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].header("x-initiator"), Some("user"));
    assert_eq!(chat[0].body_json().unwrap()["model"], "gpt-4.1");
    assert_eq!(chat[0].body_json().unwrap()["max_tokens"], 256);
}

#[tokio::test]
async fn claude_non_streamed_answers_are_copilots_message_unchanged() {
    let h = Harness::start().await;
    let request = json!({"model": "claude-sonnet-4.5", "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "Why is the sky blue?"}]});
    let (status, headers, body) = post_json(&h, &request).await;
    assert_eq!(status, 200, "{body}");
    // Every field of Copilot's message, `stop_sequence`, the cache counts and `copilot_usage` included.
    for field in [
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
        "copilot_usage",
    ] {
        assert!(body.get(field).is_some(), "`{field}` missing: {body}");
    }
    assert_eq!(body["usage"]["cache_read_input_tokens"], 0);
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let cost = body["copilot_usage"]["total_nano_aiu"].as_u64().unwrap();
    assert_eq!(
        headers[copilot_serve::COST_HEADER],
        cost.to_string().as_str()
    );
    assert_eq!(body["content"][0]["type"], "thinking");
    // The thinking block replays natively: the mock checks its signature.
    let (status, _, answer) = post_json(
        &h,
        &json!({"model": "claude-sonnet-4.5", "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 2048}, "messages": [
        {"role": "user", "content": "Why is the sky blue?"},
        {"role": "assistant", "content": body["content"].clone()},
        {"role": "user", "content": "And at sunset?"}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let mut forged = body["content"].clone();
    forged[0]["thinking"] = json!("edited");
    let (status, _, error) = post_json(
        &h,
        &json!({"model": "claude-sonnet-4.5", "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 2048}, "messages": [
        {"role": "user", "content": "Why is the sky blue?"},
        {"role": "assistant", "content": forged},
        {"role": "user", "content": "And at sunset?"}]}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["type"], "error");
    assert!(h.upstream(Endpoint::ChatCompletions).is_empty());
    assert_eq!(h.upstream(Endpoint::Messages).len(), 3);
}

#[tokio::test]
async fn claude_streams_are_copilots_events_unchanged() {
    let h = Harness::start().await;
    let request = json!({"model": "claude-sonnet-4.5", "max_tokens": 4000, "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 2048}, "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Think, then use get_weather for Paris"}]});
    let through_gateway = post_sse(&h, &request).await;
    // The same request straight to the mock: the gateway's events are the mock's, one for one.
    let mock = mock_direct_sse(&h, &request).await;
    let names = |events: &[Sse]| -> Vec<String> {
        events
            .iter()
            .map(|e| e.event.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(names(&through_gateway), names(&mock));
    let cost = mock.last().unwrap().json()["copilot_usage"]["total_nano_aiu"].clone();
    assert!(cost.is_u64());
    for (ours, theirs) in through_gateway.iter().zip(&mock) {
        let (mut ours, mut theirs) = (ours.json(), theirs.json());
        // The one addition: the cost in `message_delta.usage`, as on every streamed answer.
        if ours["type"] == "message_delta" {
            let usage = ours["usage"].as_object_mut().unwrap();
            assert_eq!(
                usage.remove(copilot_serve::COST_USAGE_FIELD),
                Some(cost.clone())
            );
        }
        // Ids differ between the two answers; nothing else may.
        for event in [&mut ours, &mut theirs] {
            if let Some(id) = event.pointer_mut("/message/id") {
                *id = json!("msg");
            }
            if let Some(id) = event.pointer_mut("/content_block/id") {
                *id = json!("toolu");
            }
        }
        assert_eq!(ours, theirs);
    }
    let (blocks, delta) = assemble(&through_gateway);
    assert_eq!(blocks[0]["type"], "thinking");
    assert!(blocks.iter().any(|b| b["type"] == "tool_use"));
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    // Copilot's input count arrives in `message_start`, its cost on `message_stop`.
    assert!(
        through_gateway[0].json()["message"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(through_gateway.last().unwrap().json()["copilot_usage"]["total_nano_aiu"].is_u64());
    let upstream = h.upstream(Endpoint::Messages);
    assert_eq!(upstream.len(), 2);
    assert_eq!(upstream[0].body_json().unwrap()["stream"], true);
    assert!(h.upstream(Endpoint::ChatCompletions).is_empty());
}

#[tokio::test]
async fn messages_stream_the_full_event_sequence() {
    let h = Harness::start().await;
    // Native (Claude) and translated (gpt-4.1) streams follow the same grammar.
    for model in ["claude-sonnet-4.5", "gpt-4.1"] {
        let events = post_sse(
            &h,
            &json!({"model": model, "max_tokens": 100, "stream": true,
            "system": "Be brief.", "messages": [{"role": "user", "content": "Stream anthropic"}]}),
        )
        .await;
        let (blocks, delta) = assemble(&events);
        assert_eq!(blocks.len(), 1, "{model}");
        assert!(
            blocks[0]["text"]
                .as_str()
                .unwrap()
                .contains("Stream anthropic")
        );
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    }
    let native = h.upstream(Endpoint::Messages)[0].body_json().unwrap();
    assert_eq!(native["system"], "Be brief.");
    let sent = h.upstream(Endpoint::ChatCompletions)[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
}

#[tokio::test]
async fn tool_use_streams_two_blocks_and_the_tool_result_turn_is_agent() {
    let h = Harness::start().await;
    let result_turn = json!([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "text", "text": "<system-reminder>keep going</system-reminder>"}]);
    for model in ["claude-sonnet-4.5", "gpt-4.1"] {
        let events = post_sse(
            &h,
            &json!({"model": model, "max_tokens": 200, "stream": true,
            "tools": weather_tools(),
            "messages": [{"role": "user", "content": "Use get_weather and get_time for Paris"}]}),
        )
        .await;
        let (blocks, delta) = assemble(&events);
        let tools: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "tool_use").collect();
        assert_eq!(tools.len(), 2, "{model}");
        assert_eq!(tools[0]["name"], "get_weather");
        assert_eq!(tools[1]["name"], "get_time");
        assert_ne!(tools[0]["id"], tools[1]["id"]);
        assert!(tools[0]["input"]["city"].is_string());
        assert_eq!(delta["delta"]["stop_reason"], "tool_use");

        let (status, _, body) = post_json(&h, &json!({"model": model, "max_tokens": 200,
            "tools": weather_tools(), "messages": [
            {"role": "user", "content": "Use get_weather for Paris"},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": result_turn.clone()}]})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["content"][0]["type"], "text");
    }
    // Natively, the tool-result turn goes on as it was sent, billed as agent.
    let native = h.upstream(Endpoint::Messages);
    assert_eq!(native[0].header("x-initiator"), Some("user"));
    assert_eq!(native[1].header("x-initiator"), Some("agent"));
    assert_eq!(
        native[1].body_json().unwrap()["messages"][2]["content"],
        result_turn
    );
    let upstream = h.upstream(Endpoint::ChatCompletions);
    // A user turn carrying tool results is a tool-loop follow-up, even with text after the results.
    assert_eq!(upstream[1].header("x-initiator"), Some("agent"));
    let sent = upstream[1].body_json().unwrap();
    assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], "toolu_1");
    assert_eq!(
        sent["messages"][1]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"})
    );
}

#[tokio::test]
async fn thinking_streams_a_thinking_block_with_its_signature_first() {
    // `claude-tool-caller` is a Claude model served through chat only (it always calls a tool).
    let h = Harness::start().await;
    let events = post_sse(
        &h,
        &json!({"model": "claude-tool-caller", "max_tokens": 4000, "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 2048}, "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Why is the sky blue?"}]}),
    )
    .await;
    let (blocks, _) = assemble(&events);
    assert_eq!(blocks[0]["type"], "thinking");
    assert!(!blocks[0]["thinking"].as_str().unwrap().is_empty());
    assert!(!blocks[0]["signature"].as_str().unwrap().is_empty());
    assert_ne!(blocks[1]["type"], "thinking");
    let sent = h.upstream(Endpoint::ChatCompletions)[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["thinking_budget"], 2048);

    // The thinking block is replayed on the next turn as Copilot's reasoning fields.
    let (status, _, _) = post_json(
        &h,
        &json!({"model": "claude-tool-caller", "max_tokens": 4000,
        "thinking": {"type": "enabled", "budget_tokens": 2048}, "messages": [
        {"role": "user", "content": "Why is the sky blue?"},
        {"role": "assistant", "content": [blocks[0].clone(), blocks[1].clone()]},
        {"role": "user", "content": "And at sunset?"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let sent = h.upstream(Endpoint::ChatCompletions)[1]
        .body_json()
        .unwrap();
    assert_eq!(sent["messages"][1]["reasoning_text"], blocks[0]["thinking"]);
    assert_eq!(
        sent["messages"][1]["reasoning_opaque"],
        blocks[0]["signature"]
    );
}

#[tokio::test]
async fn images_become_image_parts_with_the_vision_header() {
    let h = Harness::start().await;
    let content = json!([
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "What is in the picture?"}]);
    for model in ["claude-sonnet-4.5", "gpt-4.1"] {
        let (status, _, body) = post_json(
            &h,
            &json!({"model": model, "max_tokens": 100, "messages": [
            {"role": "user", "content": content.clone()}]}),
        )
        .await;
        assert_eq!(status, 200, "{model}: {body}");
    }
    // Natively the image block goes on unchanged.
    let native = &h.upstream(Endpoint::Messages)[0];
    assert_eq!(native.header("copilot-vision-request"), Some("true"));
    assert_eq!(
        native.body_json().unwrap()["messages"][0]["content"],
        content
    );
    let upstream = &h.upstream(Endpoint::ChatCompletions)[0];
    assert_eq!(upstream.header("copilot-vision-request"), Some("true"));
    let sent = upstream.body_json().unwrap();
    assert_eq!(
        sent["messages"][0]["content"][0]["image_url"]["url"],
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        sent["messages"][0]["content"][1]["text"],
        "What is in the picture?"
    );
}

/// Request shapes agents really send that Copilot rejects: `cache_control` with `ttl` and `scope` on
/// system blocks, tools and messages plus a top-level `cache_control` (reproduced in
/// caozhiyuan/copilot-api#263, "strip top-level cache_control … and scope from all blocks"), Claude
/// Code's `context_management` and `metadata.user_id`, and server tools (`web_search_20250305`).
#[tokio::test]
async fn agent_request_fields_copilot_rejects_are_adapted() {
    let h = Harness::start().await;
    let request = json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32,
        "stream": false,
        "cache_control": {"type": "ephemeral"},
        "metadata": {"user_id": "user_abc_account__session_123"},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "system": [{"type": "text", "text": "Reply with OK.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "tools": [
            {"name": "get_weather", "description": "Get weather",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
             "cache_control": {"type": "ephemeral", "ttl": "1h", "scope": "global"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
        ],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Say OK", "cache_control": {"type": "ephemeral", "scope": "global"}}]}]
    });
    let (status, headers, body) = post_json(&h, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers[copilot_serve::MODEL_HEADER], "claude-sonnet-4.5");
    assert_eq!(body["model"], "claude-sonnet-4-5-20250929");
    // Natively: the block-level `cache_control` Copilot honours stays, without `scope`; the rest is left out.
    let sent = h.upstream(Endpoint::Messages)[0].body_json().unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4.5");
    let text = sent.to_string();
    for rejected in ["context_management", "scope", "web_search", "metadata"] {
        assert!(
            !text.contains(rejected),
            "`{rejected}` reached Copilot: {text}"
        );
    }
    assert!(sent.get("cache_control").is_none());
    assert_eq!(
        sent["system"][0]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    assert_eq!(
        sent["messages"][0]["content"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(sent["tools"].as_array().unwrap().len(), 1);
    assert_eq!(sent["tools"][0]["name"], "get_weather");

    // Through chat nothing of it goes on.
    let mut request = request;
    request["model"] = json!("gpt-4.1");
    let (status, _, body) = post_json(&h, &request).await;
    assert_eq!(status, 200, "{body}");
    let sent = h.upstream(Endpoint::ChatCompletions)[0].body_text();
    for rejected in [
        "cache_control",
        "context_management",
        "scope",
        "web_search",
        "metadata",
    ] {
        assert!(
            !sent.contains(rejected),
            "`{rejected}` reached Copilot: {sent}"
        );
    }
    let sent: Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(sent["tools"].as_array().unwrap().len(), 1);
    assert_eq!(sent["messages"][1]["content"], "Say OK");
}

#[tokio::test]
async fn count_tokens_estimates_and_says_so() {
    let h = Harness::start().await;
    let small = user_says("claude-sonnet-4.5", "hi");
    let big = json!({"model": "claude-sonnet-4.5", "system": "x".repeat(4000), "tools": weather_tools(),
        "messages": [{"role": "user", "content": "hi"}]});
    let response = post(&h, "/v1/messages/count_tokens", &small).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-copilot-token-count"], "estimate");
    let small: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let response = post(&h, "/v1/messages/count_tokens", &big).await;
    let big: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let (small, big) = (
        small["input_tokens"].as_u64().unwrap(),
        big["input_tokens"].as_u64().unwrap(),
    );
    assert!((1..20).contains(&small), "{small}");
    assert!((1001..1200).contains(&big), "{big}");
    assert!(
        h.upstream(Endpoint::ChatCompletions).is_empty(),
        "counting is free"
    );
}

#[tokio::test]
async fn errors_use_the_anthropic_envelope() {
    let h = Harness::start().await;
    h.mock
        .set_fault(FaultRule::new(Endpoint::ChatCompletions, Fault::rate_limited(90)).times(1));
    let request = json!({"model": "gpt-4.1", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let (status, headers, body) = post_json(&h, &request).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "90");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    h.mock
        .set_fault(FaultRule::new(Endpoint::ChatCompletions, Fault::quota_exceeded()).times(1));
    let (status, _, body) = post_json(&h, &request).await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["type"], "billing_error");
    let (status, _, body) = post_json(&h, &json!({"model": "gpt-4.1", "messages": []})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    // A failure after the stream started is an `error` event.
    h.overload_mid_stream(Endpoint::ChatCompletions, 2);
    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let events = post_sse(&h, &streamed).await;
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.json()["error"]["message"], "overloaded");

    // The same on the native path.
    let mut native = request.clone();
    native["model"] = json!("claude-sonnet-4.5");
    h.mock
        .set_fault(FaultRule::new(Endpoint::Messages, Fault::rate_limited(30)).times(1));
    let (status, headers, body) = post_json(&h, &native).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "30");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    h.overload_mid_stream(Endpoint::Messages, 3);
    native["stream"] = json!(true);
    let events = post_sse(&h, &native).await;
    assert_eq!(events[0].event.as_deref(), Some("message_start"));
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.json()["error"]["message"], "overloaded");
    // Cut before `message_stop`: the caller is told.
    h.mock.set_fault(FaultRule::new(
        Endpoint::Messages,
        Fault::TruncateStream { after_events: 4 },
    ));
    let events = post_sse(&h, &native).await;
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"), "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.event.as_deref() != Some("message_stop"))
    );
}

/// A mapped name (Claude Code's dated id) is the one the native stream's `message_start` names, as on the
/// translated path; of the caller's `anthropic-beta` values only those Copilot accepts go on.
#[tokio::test]
async fn native_streams_name_the_callers_model_and_forward_only_known_betas() {
    let h = Harness::start().await;
    let response = h
        .http
        .post(h.url("/v1/messages"))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219, interleaved-thinking-2025-05-14,context-management-2025-06-27",
        )
        .header("content-type", "application/json")
        .body(
            json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "Hi"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[copilot_serve::MODEL_HEADER],
        "claude-sonnet-4.5"
    );
    let events = crate::common::parse_sse(&response.text().await.unwrap());
    assert_eq!(
        events[0].json()["message"]["model"],
        "claude-sonnet-4-5-20250929"
    );
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("message_stop")
    );
    let upstream = &h.upstream(Endpoint::Messages)[0];
    assert_eq!(upstream.body_json().unwrap()["model"], "claude-sonnet-4.5");
    assert_eq!(
        upstream.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    // Without a known beta no header goes on.
    let (status, _, _) = post_json(
        &h,
        &json!({"model": "claude-sonnet-4.5", "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        h.upstream(Endpoint::Messages)[1].header("anthropic-beta"),
        None
    );
}

/// Claude Code (2.1.x) opens its system prompt with an attribution line that Copilot refuses as a reserved
/// keyword; the gateway leaves it out on both paths, in both of the shapes Claude Code has sent.
#[tokio::test]
async fn claude_codes_billing_header_line_never_reaches_copilot() {
    let h = Harness::start().await;
    let line = "x-anthropic-billing-header: cc_version=2.1.177.3bf; cc_entrypoint=cli; cch=00000;";
    let systems = [
        json!([
            {"type": "text", "text": line},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
        ]),
        json!(format!(
            "{line}\n\nYou are Claude Code, Anthropic's official CLI for Claude."
        )),
    ];
    for (model, endpoint) in [
        ("claude-sonnet-4.5", Endpoint::Messages),
        ("gpt-4.1", Endpoint::ChatCompletions),
    ] {
        for system in &systems {
            let request = json!({"model": model, "max_tokens": 32, "system": system,
                "messages": [{"role": "user", "content": "Say OK"}]});
            let (status, _, body) = post_json(&h, &request).await;
            assert_eq!(status, 200, "{model}: {body}");
            let sent = h.upstream(endpoint).last().unwrap().body_text();
            assert!(!sent.contains("x-anthropic-billing-header"), "{sent}");
            assert!(
                sent.contains("You are Claude Code"),
                "the prompt itself stays: {sent}"
            );
        }
    }
}
