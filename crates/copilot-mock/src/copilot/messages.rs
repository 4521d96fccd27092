//! `POST /v1/messages` (native Anthropic Messages): one message object, or its standard event stream.
//!
//! Thinking (`thinking.type` `enabled`/`adaptive`, or "think" in the prompt) produces a thinking block whose
//! signature the mock can verify: on a later turn, every replayed thinking block must carry the signature
//! the mock issued for its text, and while thinking is on, an assistant turn that called tools must be
//! replayed with its thinking, or the answer is 400, as on the real service.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::script::{self, PlannedCall, ToolDef};
use super::{api_error, copilot_usage};
use crate::extract::CopilotJson;
use crate::ids;
use crate::server::Shared;
use crate::stream::SsePlan;

/// The signature the mock issues for a thinking text (a deterministic digest, so replays can be checked).
fn signature(thinking: &str) -> String {
    // FNV-1a, twice with different offsets, as 32 hex digits.
    let digest = |offset: u64| {
        thinking.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "mocksig{:016x}{:016x}",
        digest(0xcbf2_9ce4_8422_2325),
        digest(0x8422_2325_cbf2_9ce4)
    )
}

fn blocks(content: Option<&Value>) -> Vec<Value> {
    match content {
        Some(Value::Array(blocks)) => blocks.clone(),
        Some(Value::String(text)) => vec![json!({"type": "text", "text": text})],
        _ => Vec::new(),
    }
}

fn block_text(block: &Value) -> String {
    super::chat::content_text(block.get("content"))
}

/// Checks the replayed assistant turns: a thinking block must carry the signature issued for its text;
/// with thinking on, an assistant turn with `tool_use` must start with its thinking.
fn check_replay(messages: &[Value], thinking_on: bool) -> Result<(), String> {
    for (index, message) in messages.iter().enumerate() {
        if message.get("role").and_then(Value::as_str) != Some("assistant") {
            continue;
        }
        let content = blocks(message.get("content"));
        for block in &content {
            if block.get("type").and_then(Value::as_str) == Some("thinking") {
                let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                let sig = block.get("signature").and_then(Value::as_str).unwrap_or("");
                if sig != signature(text) {
                    return Err(format!(
                        "messages.{index}.content: Invalid `signature` in `thinking` block"
                    ));
                }
            }
        }
        let calls_tools = content
            .iter()
            .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
        let first = content
            .first()
            .and_then(|b| b.get("type"))
            .and_then(Value::as_str);
        if thinking_on && calls_tools && !matches!(first, Some("thinking" | "redacted_thinking")) {
            return Err(format!(
                "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found \
                 `{}`. When `thinking` is enabled, a final `assistant` message must start with a thinking \
                 block.",
                first.unwrap_or("none")
            ));
        }
    }
    Ok(())
}

/// `POST /v1/messages`
pub(crate) async fn messages(State(shared): State<Arc<Shared>>, call: CopilotJson) -> Response {
    let requested = match call.model(&shared) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    let (request, model) = (&call.body, &requested.info);
    if let Some(refused) = super::reserved_system_keyword(request) {
        return refused;
    }
    if !model.supports("/v1/messages") {
        return api_error(
            400,
            "unsupported_api_for_model",
            &format!(
                "model {} is not accessible via the /v1/messages endpoint",
                requested.id
            ),
            "model",
        );
    }
    if let Err(response) = requested.policy_allows() {
        return response;
    }
    // Copilot refuses an effort the model does not list, naming the ones it does.
    if let Some(effort) = request
        .pointer("/output_config/effort")
        .and_then(Value::as_str)
        && !model.reasoning_efforts.iter().any(|e| e == effort)
    {
        let message = crate::fault::invalid_reasoning_effort_message(
            &requested.id,
            effort,
            &model.reasoning_efforts,
        );
        return (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": message, "code": "invalid_reasoning_effort"}})),
        )
            .into_response();
    }
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let thinking_type = request.pointer("/thinking/type").and_then(Value::as_str);
    let thinking_on = matches!(thinking_type, Some("enabled" | "adaptive"));
    if let Err(message) = check_replay(&messages, thinking_on) {
        return (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})),
        )
            .into_response();
    }
    let input_tokens = script::prompt_tokens(request);
    if let Some(limit) = model
        .max_prompt_tokens
        .filter(|limit| input_tokens > *limit)
    {
        // Anthropic's wording and shape, as Copilot passes it through on `/v1/messages`
        // (microsoft/vscode#293191).
        return (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": format!("prompt is too long: {input_tokens} tokens > {limit} maximum")}})),
        )
            .into_response();
    }
    let last = messages
        .last()
        .map(|m| blocks(m.get("content")))
        .unwrap_or_default();
    let results: Vec<String> = last
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(block_text)
        .collect();
    let prompt = messages
        .iter()
        .rev()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .flat_map(|m| blocks(m.get("content")))
        .find(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .and_then(|b| b.get("text").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let tools = ToolDef::declared(request, "", "input_schema");
    // `tool_choice` in Anthropic form: `{"type":"tool","name"}` names a tool, `any` requires one.
    let tool_choice = match request.pointer("/tool_choice/type").and_then(Value::as_str) {
        Some("none") => Some(json!("none")),
        Some("any") => Some(json!("required")),
        Some("tool") => request.get("tool_choice").cloned(),
        _ => None,
    };
    let calls: Vec<PlannedCall> = if model.always_calls_tools {
        script::insistent_tool_calls(&tools)
    } else if results.is_empty() {
        script::choose_tools(&tools, tool_choice.as_ref(), &prompt, 2)
    } else {
        Vec::new()
    };
    let reply = if let Some(chunks) = results
        .is_empty()
        .then(|| script::long_answer_request(&prompt))
        .flatten()
    {
        // Throughput benchmarks: the same long answer as chat's, streamed in `text_delta` pieces.
        script::long_pieces(chunks).concat()
    } else if results.is_empty() {
        script::reply_text(&prompt)
    } else {
        script::tool_answer(&results)
    };
    let mut content: Vec<Value> = Vec::new();
    if thinking_on || script::asks_to_think(&prompt) {
        let thinking = script::reasoning_text(&prompt);
        content.push(
            json!({"type": "thinking", "signature": signature(&thinking), "thinking": thinking}),
        );
    }
    if calls.is_empty() {
        content.push(json!({"type": "text", "text": reply}));
    } else {
        content.push(json!({"type": "text", "text": "I will use a tool."}));
        for call in &calls {
            let input: Value = serde_json::from_str(&call.arguments).unwrap_or(json!({}));
            content.push(json!({"type": "tool_use", "id": ids::tooluse_id(), "name": call.name, "input": input}));
        }
    }
    let output_tokens: u64 = content.iter().map(|b| script::tokens(&b.to_string())).sum();
    let message = json!({
        "id": ids::object_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model.id,
        "content": content,
        "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
        "stop_sequence": null,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
        },
        "copilot_usage": copilot_usage(model, input_tokens, 0, output_tokens),
    });
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        stream_events(&message).into_response()
    } else {
        axum::Json(message).into_response()
    }
}

/// Renders the finished `message` as the standard Messages event sequence.
fn stream_events(message: &Value) -> SsePlan {
    let mut events: Vec<Value> = Vec::new();
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    if let Some(map) = start.as_object_mut() {
        map.remove("copilot_usage");
    }
    events.push(json!({"type": "message_start", "message": start}));
    events.push(json!({"type": "ping"}));
    let content = message["content"].as_array().cloned().unwrap_or_default();
    for (index, block) in content.iter().enumerate() {
        match block["type"].as_str() {
            Some("thinking") => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}));
                for piece in script::pieces(block["thinking"].as_str().unwrap_or("")) {
                    events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}}));
                }
                events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block["signature"]}}));
            }
            Some("text") => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}));
                for piece in script::pieces(block["text"].as_str().unwrap_or("")) {
                    events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}));
                }
            }
            Some("tool_use") => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}));
                events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": ""}}));
                for fragment in script::argument_fragments(&block["input"].to_string()) {
                    events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}}));
                }
            }
            _ => {}
        }
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    events.push(json!({
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": null},
        "usage": {"output_tokens": message["usage"]["output_tokens"]},
    }));
    // Copilot's cost rides on the last event, as on chat.
    events.push(json!({"type": "message_stop", "copilot_usage": message["copilot_usage"]}));
    SsePlan::from_named_events(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_needs_the_issued_signature_and_leading_thinking() {
        let thinking = "I will look.";
        let good = vec![
            json!({"role":"user","content":"hi"}),
            json!({"role":"assistant","content":[
                {"type":"thinking","thinking":thinking,"signature":signature(thinking)},
                {"type":"tool_use","id":"t","name":"a","input":{}}]}),
        ];
        assert_eq!(check_replay(&good, true), Ok(()));
        let mut forged = good.clone();
        forged[1]["content"][0]["thinking"] = json!("edited");
        assert!(
            check_replay(&forged, true)
                .unwrap_err()
                .contains("signature")
        );
        let mut dropped = good.clone();
        dropped[1]["content"].as_array_mut().unwrap().remove(0);
        assert!(
            check_replay(&dropped, true)
                .unwrap_err()
                .contains("thinking")
        );
        assert_eq!(check_replay(&dropped, false), Ok(()));
    }
}
