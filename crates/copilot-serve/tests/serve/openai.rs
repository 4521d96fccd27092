//! The OpenAI side: chat, responses, embeddings and models, native and translated.

use base64::Engine;
use copilot_mock::Endpoint;
use serde_json::{Value, json};

use crate::common::{Harness, Sse, user_says};

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "description": "Time in a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    ])
}

fn data_chunks(events: &[Sse]) -> Vec<Value> {
    assert_eq!(
        events.last().map(|e| e.data.as_str()),
        Some("[DONE]"),
        "{events:?}"
    );
    events[..events.len() - 1].iter().map(Sse::json).collect()
}

/// The streamed text of choice 0.
fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c["choices"]
                .get(0)
                .and_then(|ch| ch["delta"]["content"].as_str())
        })
        .collect()
}

#[tokio::test]
async fn chat_non_streamed_is_a_chat_completion_billed_as_a_user_turn() {
    let h = Harness::start().await;
    let (status, _, body) = h
        .post_json("/v1/chat/completions", &user_says("gpt-4.1", "Hello"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert!(!body["id"].as_str().unwrap().is_empty());
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("You said: \"Hello\"")
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let upstream = h.upstream(Endpoint::ChatCompletions);
    assert_eq!(upstream.len(), 1);
    assert_eq!(upstream[0].header("x-initiator"), Some("user"));
    assert_eq!(upstream[0].body_json().unwrap()["model"], "gpt-4.1");
}

#[tokio::test]
async fn chat_streamed_chunks_have_one_role_delta_usage_on_request_and_done() {
    let h = Harness::start().await;
    let (status, headers, events) = h
        .post_sse(
            "/v1/chat/completions",
            &json!({"model": "gpt-4.1", "stream": true, "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": "Stream please"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let chunks = data_chunks(&events);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id), "one id per stream");
    let roles = chunks
        .iter()
        .filter(|c| {
            c["choices"]
                .get(0)
                .is_some_and(|ch| ch["delta"].get("role").is_some())
        })
        .count();
    assert_eq!(roles, 1);
    let text = streamed_text(&chunks);
    assert!(text.contains("You said: \"Stream please\""), "{text}");
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0).map(|ch| &ch["finish_reason"]))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    // Without include_usage there is no usage-only chunk (clients that index choices[0] break on it).
    let (_, _, events) = h
        .post_sse(
            "/v1/chat/completions",
            &json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert!(
        data_chunks(&events)
            .iter()
            .all(|c| c["choices"].as_array().is_some_and(|a| !a.is_empty()))
    );
}

#[tokio::test]
async fn claude_tool_calls_at_a_reused_index_get_one_index_each() {
    let h = Harness::start().await;
    let (_, _, events) = h
        .post_sse(
            "/v1/chat/completions",
            &json!({"model": "claude-sonnet-4.5", "stream": true, "tools": tools(),
                    "messages": [{"role": "user", "content": "Use get_weather and get_time for Paris"}]}),
        )
        .await;
    let chunks = data_chunks(&events);
    // Upstream: both calls at index 0 with different ids (Claude's quirk).
    let mut calls: Vec<(u64, String, String)> = Vec::new();
    for chunk in &chunks {
        let Some(deltas) = chunk["choices"]
            .get(0)
            .and_then(|c| c["delta"]["tool_calls"].as_array())
        else {
            continue;
        };
        for delta in deltas {
            let index = delta["index"].as_u64().unwrap() as usize;
            if calls.len() <= index {
                assert_eq!(index, calls.len(), "indexes are dense and in order");
                assert!(delta["id"].is_string() && delta["type"] == "function");
                calls.push((
                    index as u64,
                    delta["function"]["name"].as_str().unwrap().to_owned(),
                    String::new(),
                ));
            } else {
                assert!(
                    delta.get("id").is_none(),
                    "only the first fragment carries the id"
                );
            }
            calls[index]
                .2
                .push_str(delta["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    let names: Vec<&str> = calls.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    for call in &calls {
        let args: Value = serde_json::from_str(&call.2).unwrap();
        assert!(args["city"].is_string(), "{args}");
    }
    let finish = chunks
        .iter()
        .filter_map(|c| {
            c["choices"]
                .get(0)
                .and_then(|ch| ch["finish_reason"].as_str())
        })
        .next_back();
    assert_eq!(finish, Some("tool_calls"));
}

#[tokio::test]
async fn a_tool_result_turn_is_billed_as_agent() {
    let h = Harness::start().await;
    let (status, _, _) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "gpt-4.1", "tools": tools(), "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                  "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    let upstream = h.upstream(Endpoint::ChatCompletions);
    assert_eq!(upstream[0].header("x-initiator"), Some("agent"));
    // A caller that knows its request is automatic can say so.
    let response = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(crate::common::KEY)
        .header("x-initiator", "agent")
        .header("x-interaction-type", "conversation-background")
        .body(user_says("gpt-4.1", "Summarise the conversation").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary = &h.upstream(Endpoint::ChatCompletions)[1];
    assert_eq!(summary.header("x-initiator"), Some("agent"));
    // Its label too, once (classified by copilot-api, not appended beside the client's own).
    assert_eq!(
        summary.header("x-interaction-type"),
        Some("conversation-background")
    );
    assert_eq!(
        upstream[0].header("x-interaction-type"),
        Some("conversation-panel"),
        "a caller without a label gets the intent"
    );
}

#[tokio::test]
async fn chat_for_a_responses_only_model_goes_through_responses() {
    let h = Harness::start().await;
    let request = json!({"model": "gpt-5.3-codex", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi codex"}]});
    let (status, _, body) = h.post_json("/v1/chat/completions", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("Hi codex")
    );
    assert!(h.upstream(Endpoint::ChatCompletions).is_empty());
    let upstream = h.upstream(Endpoint::Responses);
    assert_eq!(upstream.len(), 1);
    let sent = upstream[0].body_json().unwrap();
    assert_eq!(sent["instructions"], "Be brief.");
    assert_eq!(sent["input"][0]["role"], "user");
    assert_eq!(upstream[0].header("x-initiator"), Some("user"));

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let (_, _, events) = h.post_sse("/v1/chat/completions", &streamed).await;
    let chunks = data_chunks(&events);
    let text = streamed_text(&chunks);
    assert!(text.contains("Hi codex"), "{text}");
    assert!(chunks.iter().any(|c| {
        c["choices"]
            .get(0)
            .is_some_and(|ch| ch["finish_reason"] == "stop")
    }));
}

/// Checks a Responses event stream the way the `openai` client's accumulator reads it.
fn check_response_events(events: &[Sse]) -> Value {
    let values: Vec<Value> = events.iter().map(Sse::json).collect();
    for (position, (event, value)) in events.iter().zip(&values).enumerate() {
        assert_eq!(
            event.event.as_deref(),
            value["type"].as_str(),
            "event name = type"
        );
        assert_eq!(
            value["sequence_number"],
            json!(position),
            "sequence numbers count from 0"
        );
    }
    assert_eq!(values[0]["type"], "response.created");
    let last = values.last().unwrap();
    assert!(
        matches!(
            last["type"].as_str(),
            Some("response.completed" | "response.incomplete")
        ),
        "{last}"
    );
    // Every added item is done, at the same output_index, and appears in the final output.
    let added: Vec<&Value> = values
        .iter()
        .filter(|v| v["type"] == "response.output_item.added")
        .collect();
    let done: Vec<&Value> = values
        .iter()
        .filter(|v| v["type"] == "response.output_item.done")
        .collect();
    assert_eq!(added.len(), done.len());
    for (position, (a, d)) in added.iter().zip(&done).enumerate() {
        assert_eq!(a["output_index"], json!(position));
        assert_eq!(d["output_index"], json!(position));
        assert_eq!(a["item"]["type"], d["item"]["type"]);
    }
    let output = last["response"]["output"].as_array().unwrap();
    assert_eq!(output.len(), done.len());
    last["response"].clone()
}

fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|c| c["text"].as_str())
        .collect()
}

#[tokio::test]
async fn responses_native_streamed_and_not() {
    let h = Harness::start().await;
    let (status, _, body) = h
        .post_json(
            "/v1/responses",
            &json!({"model": "gpt-5.4", "input": "Hello responses"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "response");
    assert!(output_text(&body).contains("Hello responses"));
    assert_eq!(h.upstream(Endpoint::Responses).len(), 1);
    assert!(h.upstream(Endpoint::ChatCompletions).is_empty());

    let (_, _, events) = h
        .post_sse(
            "/v1/responses",
            &json!({"model": "gpt-5.4", "stream": true, "input": [
            {"role": "user", "content": "Stream responses"}]}),
        )
        .await;
    let response = check_response_events(&events);
    assert_eq!(response["status"], "completed");
    assert!(output_text(&response).contains("Stream responses"));
    assert!(response["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn responses_for_a_chat_only_model_goes_through_chat_with_tool_calls() {
    let h = Harness::start().await;
    let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"type": "web_search"}]);
    let (_, _, events) = h
        .post_sse(
            "/v1/responses",
            &json!({"model": "gemini-3.5-flash", "stream": true, "tools": tools,
            "instructions": "You are terse.", "input": "Use get_weather for Paris"}),
        )
        .await;
    let response = check_response_events(&events);
    let call = response["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    assert_eq!(call["name"], "get_weather");
    assert!(call["call_id"].as_str().is_some_and(|id| !id.is_empty()));
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert!(args["city"].is_string());
    let upstream = h.upstream(Endpoint::ChatCompletions);
    assert_eq!(upstream.len(), 1);
    let sent = upstream[0].body_json().unwrap();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        sent["tools"].as_array().unwrap().len(),
        1,
        "the built-in web_search tool is not sent to chat"
    );

    // The tool result turn, non-streamed: agent-initiated, answered as a response object.
    let (status, _, body) = h
        .post_json("/v1/responses", &json!({"model": "gemini-3.5-flash", "input": [
            {"role": "user", "content": "Use get_weather for Paris"},
            {"type": "function_call", "call_id": "call_9", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "sunny"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(output_text(&body).contains("sunny"), "{body}");
    let upstream = h.upstream(Endpoint::ChatCompletions);
    assert_eq!(upstream[1].header("x-initiator"), Some("agent"));
    let sent = upstream[1].body_json().unwrap();
    assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], "call_9");
    assert_eq!(sent["messages"][2]["role"], "tool");
}

#[tokio::test]
async fn responses_compact_is_501_with_a_clear_message() {
    let h = Harness::start().await;
    let (status, _, body) = h
        .post_json(
            "/v1/responses/compact",
            &json!({"model": "gpt-5.4", "input": []}),
        )
        .await;
    assert_eq!(status, 501);
    assert_eq!(body["error"]["code"], "unsupported_endpoint");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not offered by GitHub Copilot")
    );
}

#[tokio::test]
async fn embeddings_as_floats_and_as_base64() {
    let h = Harness::start().await;
    let (status, _, floats) = h
        .post_json(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": ["one", "two"]}),
        )
        .await;
    assert_eq!(status, 200, "{floats}");
    assert_eq!(floats["object"], "list");
    assert_eq!(floats["data"].as_array().unwrap().len(), 2);
    assert_eq!(floats["data"][1]["index"], 1);
    let (_, _, encoded) = h
        .post_json("/v1/embeddings", &json!({"model": "text-embedding-3-small", "input": "one", "encoding_format": "base64"}))
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f64> = bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let expected: Vec<f64> = floats["data"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(decoded.len(), expected.len());
    for (a, b) in decoded.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[tokio::test]
async fn models_in_openai_and_anthropic_shapes() {
    let h = Harness::start().await;
    let response = h
        .http
        .get(h.url("/v1/models"))
        .bearer_auth(crate::common::KEY)
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["object"], "list");
    let codex = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "gpt-5.3-codex")
        .unwrap();
    assert_eq!(codex["object"], "model");
    assert_eq!(codex["owned_by"], "OpenAI");
    assert_eq!(
        codex["supported_endpoints"],
        json!(["/responses", "ws:/responses"])
    );
    let response = h
        .http
        .get(h.url("/v1/models"))
        .header("x-api-key", crate::common::KEY)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["has_more"], false);
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["type"] == "model" && m["display_name"].is_string())
    );
}

#[tokio::test]
async fn dated_and_dashed_model_names_map_to_listed_models_and_say_so() {
    let h = Harness::start().await;
    let (status, headers, body) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "claude-sonnet-4-5-20250929",
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers[copilot_serve::MODEL_HEADER], "claude-sonnet-4.5");
    assert_eq!(
        h.upstream(Endpoint::ChatCompletions)[0]
            .body_json()
            .unwrap()["model"],
        "claude-sonnet-4.5"
    );
    // A listed name is not mapped, and no header is added.
    let (_, headers, _) = h
        .post_json("/v1/chat/completions", &user_says("gpt-4.1", "hi"))
        .await;
    assert!(headers.get(copilot_serve::MODEL_HEADER).is_none());
}

/// Streams cannot send a header once the body started, so each streamed answer carries Copilot's cost in
/// its final usage object; it is the cost the non-streamed answer names in the cost header.
#[tokio::test]
async fn streamed_answers_carry_the_cost_in_their_final_usage() {
    let h = Harness::start().await;
    let field = copilot_serve::COST_USAGE_FIELD;
    let header_cost = |headers: &reqwest::header::HeaderMap| -> u64 {
        headers[copilot_serve::COST_HEADER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // Chat, straight and through /responses.
    for model in ["gpt-4.1", "gpt-5.3-codex"] {
        let request = json!({"model": model, "messages": [{"role": "user", "content": "What does it cost?"}]});
        let (status, headers, _) = h.post_json("/v1/chat/completions", &request).await;
        assert_eq!(status, 200);
        let expected = header_cost(&headers);
        let mut streamed = request.clone();
        streamed["stream"] = json!(true);
        streamed["stream_options"] = json!({"include_usage": true});
        let (_, _, events) = h.post_sse("/v1/chat/completions", &streamed).await;
        let chunks = data_chunks(&events);
        let usage = &chunks.last().unwrap()["usage"];
        assert_eq!(usage[field], expected, "{model}: {usage}");
        // Only the final usage chunk has it.
        assert_eq!(
            chunks
                .iter()
                .filter(|c| c.to_string().contains(field))
                .count(),
            1
        );
    }
    // Responses, straight and through chat.
    for model in ["gpt-5.3-codex", "gpt-4.1"] {
        let request = json!({"model": model, "input": "What does it cost?"});
        let (status, headers, _) = h.post_json("/v1/responses", &request).await;
        assert_eq!(status, 200);
        let expected = header_cost(&headers);
        let mut streamed = request.clone();
        streamed["stream"] = json!(true);
        let (_, _, events) = h.post_sse("/v1/responses", &streamed).await;
        let last = events.last().unwrap().json();
        assert_eq!(last["type"], "response.completed");
        assert_eq!(
            last["response"]["usage"][field], expected,
            "{model}: {last}"
        );
    }
    // Anthropic Messages, native (Claude) and through chat.
    for model in ["claude-sonnet-4.5", "gpt-4.1"] {
        let request = json!({"model": model, "max_tokens": 64,
            "messages": [{"role": "user", "content": "What does it cost?"}]});
        let (status, headers, _) = h.post_json("/v1/messages", &request).await;
        assert_eq!(status, 200);
        let expected = header_cost(&headers);
        let mut streamed = request.clone();
        streamed["stream"] = json!(true);
        let (_, _, events) = h.post_sse("/v1/messages", &streamed).await;
        let delta = events
            .iter()
            .find(|e| e.event.as_deref() == Some("message_delta"))
            .unwrap()
            .json();
        assert_eq!(delta["usage"][field], expected, "{model}: {delta}");
        assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    }
}
