//! /v1/messages: the message object and its event stream, thinking with verifiable signatures, tool use,
//! and `copilot_usage` (nano-AIU) on every conversation endpoint.

use copilot_mock::MockConfig;
use serde_json::{Value, json};

use crate::support::{api_post, api_post_text, events, json, signed_in};

/// The `data:` payloads of a Messages stream, checking each event's name equals its `type`.
fn message_events(body: &str) -> Vec<Value> {
    events(body)
        .iter()
        .map(|event| {
            let (name, data) = event.split_once('\n').unwrap();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.strip_prefix("event: ").unwrap());
            data
        })
        .collect()
}

#[tokio::test]
async fn messages_answer_with_thinking_and_tool_use_and_the_replay_is_checked() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let tools = json!([{"name": "read_file", "description": "Reads", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]);
    let request = json!({"model": "claude-sonnet-4.5", "max_tokens": 1024,
        "thinking": {"type": "enabled", "budget_tokens": 1024}, "tools": tools,
        "messages": [{"role": "user", "content": "use read_file on a.rs"}]});
    let answer = json(api_post(&server, "/v1/messages", &token, &request).await).await;
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["stop_reason"], "tool_use");
    let kinds: Vec<&str> = answer["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use"]);
    assert!(
        answer["content"][0]["signature"]
            .as_str()
            .unwrap()
            .starts_with("mocksig")
    );
    assert!(answer["copilot_usage"]["total_nano_aiu"].as_u64().unwrap() > 0);
    let call = &answer["content"][2];

    // Replayed as sent: the tool result is answered.
    let mut next = request.clone();
    next["messages"] = json!([
        {"role": "user", "content": "use read_file on a.rs"},
        {"role": "assistant", "content": answer["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "fn main() {}"}]},
    ]);
    let done = json(api_post(&server, "/v1/messages", &token, &next).await).await;
    assert_eq!(done["stop_reason"], "end_turn");
    assert!(
        done["content"][1]["text"]
            .as_str()
            .unwrap()
            .contains("fn main() {}")
    );

    // Without its thinking block, or with the thinking edited, the replay is refused.
    for mutate in [
        |content: &mut Vec<Value>| {
            content.remove(0);
        },
        |content: &mut Vec<Value>| content[0]["thinking"] = json!("edited"),
    ] {
        let mut bad = next.clone();
        mutate(bad["messages"][1]["content"].as_array_mut().unwrap());
        let response = api_post(&server, "/v1/messages", &token, &bad).await;
        assert_eq!(response.status(), 400);
        let body = json(response).await;
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}

#[tokio::test]
async fn messages_stream_every_event_kind_with_the_cost_on_the_last() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let tools = json!([{"name": "read_file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]);
    let response = api_post(
        &server,
        "/v1/messages",
        &token,
        &json!({"model": "claude-sonnet-4.5",
        "max_tokens": 1024, "stream": true, "thinking": {"type": "adaptive"}, "tools": tools,
        "messages": [{"role": "user", "content": "use read_file"}]}),
    )
    .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = message_events(&response.text().await.unwrap());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e["delta"]["type"].as_str() {
            Some(delta) => delta.to_owned(),
            None => e["type"].as_str().unwrap().to_owned(),
        })
        .collect();
    for expected in [
        "message_start",
        "ping",
        "content_block_start",
        "thinking_delta",
        "signature_delta",
        "text_delta",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} in {kinds:?}"
        );
    }
    assert_eq!(kinds.last().unwrap(), "message_stop");
    assert!(
        events.last().unwrap()["copilot_usage"]["total_nano_aiu"]
            .as_u64()
            .unwrap()
            > 0
    );
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    let arguments: String = events
        .iter()
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    assert!(
        serde_json::from_str::<Value>(&arguments)
            .unwrap()
            .is_object()
    );
}

#[tokio::test]
async fn models_without_messages_are_refused() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let response = api_post(
        &server,
        "/v1/messages",
        &token,
        &json!({"model": "gpt-4.1", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["error"]["code"],
        "unsupported_api_for_model"
    );
}

#[tokio::test]
async fn every_conversation_endpoint_reports_nano_aiu() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let chat = json(
        api_post(
            &server,
            "/chat/completions",
            &token,
            &json!({"model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await;
    let cost = &chat["copilot_usage"];
    let total = cost["total_nano_aiu"].as_u64().unwrap();
    let parts: u64 = cost["token_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["nano_aiu"].as_u64().unwrap())
        .sum();
    assert_eq!(total, parts, "the total is the sum of the breakdown");

    let body = api_post_text(
        &server,
        "/chat/completions",
        &token,
        &json!({"model": "gpt-4.1", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let last = body.trim_end().rsplit("\n\n").nth(1).unwrap();
    let last: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert!(
        last["copilot_usage"]["total_nano_aiu"].as_u64().unwrap() > 0,
        "on the last chunk"
    );

    let responses = json(
        api_post(
            &server,
            "/responses",
            &token,
            &json!({"model": "gpt-5.4",
        "input": "hi"}),
        )
        .await,
    )
    .await;
    assert!(
        responses["copilot_usage"]["total_nano_aiu"]
            .as_u64()
            .unwrap()
            > 0
    );
    let body = api_post_text(
        &server,
        "/responses",
        &token,
        &json!({"model": "gpt-5.4", "stream": true,
        "input": "hi"}),
    )
    .await;
    let completed = events(&body).pop().unwrap();
    let data: Value = serde_json::from_str(completed.split_once("\ndata: ").unwrap().1).unwrap();
    assert_eq!(data["type"], "response.completed");
    assert!(
        data["copilot_usage"]["total_nano_aiu"].as_u64().unwrap() > 0,
        "beside `response`"
    );
}

/// An `output_config.effort` the model does not list is refused as Copilot refuses it (400
/// `invalid_reasoning_effort`, naming the supported values); a listed one is answered.
#[tokio::test]
async fn an_unlisted_output_config_effort_is_refused_like_copilot() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask = |effort: &str| {
        json!({"model": "claude-sonnet-4.5", "max_tokens": 64, "output_config": {"effort": effort},
            "messages": [{"role": "user", "content": "hi"}]})
    };
    let refused = api_post(&server, "/v1/messages", &token, &ask("xhigh")).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        json(refused).await,
        json!({"error": {"code": "invalid_reasoning_effort",
            "message": "output_config.effort \"xhigh\" is not supported by model claude-sonnet-4.5; supported values: [low, medium, high]"}})
    );
    let answered = api_post(&server, "/v1/messages", &token, &ask("high")).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(json(answered).await["type"], "message");
}

#[tokio::test]
async fn a_reserved_keyword_in_the_system_prompt_is_refused_like_copilot_does() {
    let (server, _client) = crate::support::start(copilot_mock::MockConfig::new()).await;
    let token = crate::support::copilot_token(&server).await;
    let line = "x-anthropic-billing-header: cc_version=2.1.37.abc; cc_entrypoint=cli; cch=00000;";
    for (path, body) in [
        (
            "/v1/messages",
            serde_json::json!({"model": "claude-sonnet-4.5", "max_tokens": 16,
                "system": [{"type": "text", "text": line}],
                "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/chat/completions",
            serde_json::json!({"model": "gpt-4.1", "messages": [
                {"role": "system", "content": format!("{line}\n\nBe brief.")},
                {"role": "user", "content": "hi"}]}),
        ),
    ] {
        let response = crate::support::api_post(&server, path, &token, &body).await;
        assert_eq!(response.status(), 400, "{path}");
        let error = crate::support::json(response).await;
        assert_eq!(error["error"]["code"], "invalid_request_body");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("reserved keyword"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn messages_long_answers_stream_the_chunks_text() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let request = json!({"model": "claude-sonnet-4.5", "max_tokens": 1024, "stream": true,
        "messages": [{"role": "user", "content": "long answer 3"}]});
    let body = api_post_text(&server, "/v1/messages", &token, &request).await;
    let text: String = events(&body)
        .iter()
        .filter_map(|event| event.split_once("data: "))
        .filter_map(|(_, data)| serde_json::from_str::<Value>(data).ok())
        .filter(|data| data["delta"]["type"] == "text_delta")
        .map(|data| {
            data["delta"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(text.starts_with("Chunk 00000 of a long answer"), "{text}");
    assert!(text.contains("Chunk 00002"), "{text}");
    assert!(!text.contains("Chunk 00003"), "{text}");
}
