//! `POST /responses` (OpenAI Responses API): stream events named after `data.type`, or one object.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::models::Family;
use super::script::{self, PlannedCall, ToolDef};
use super::{text, unix_now};
use crate::extract::CopilotJson;
use crate::ids;
use crate::server::Shared;
use crate::stream::SsePlan;

/// The last user text and any trailing `function_call_output`s of `input`.
fn read_input(input: Option<&Value>) -> (String, Vec<String>, bool) {
    match input {
        Some(Value::String(s)) => (s.clone(), Vec::new(), true),
        Some(Value::Array(items)) => {
            let outputs: Vec<String> = items
                .iter()
                .rev()
                .take_while(|i| {
                    i.get("type").and_then(Value::as_str) == Some("function_call_output")
                })
                .map(|i| match i.get("output") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let prompt = super::chat::last_user_text(items);
            let last_is_user = outputs.is_empty();
            (prompt, outputs, last_is_user)
        }
        _ => (String::new(), Vec::new(), true),
    }
}

/// `POST /responses`
pub(crate) async fn responses(State(shared): State<Arc<Shared>>, call: CopilotJson) -> Response {
    let (response, cost) = match answer(&shared, &call) {
        Ok(answer) => answer,
        Err(response) => return response,
    };
    if call.body.get("stream").and_then(Value::as_bool) == Some(true) {
        SsePlan::from_named_events(stream_events(&response, &cost)).into_response()
    } else {
        let mut response = response;
        response["copilot_usage"] = cost;
        axum::Json(response).into_response()
    }
}

/// The finished answer to a `/responses` request (HTTP or a WebSocket `response.create`) and its
/// `copilot_usage`, or the API's error answer.
#[allow(clippy::result_large_err)] // The error is the HTTP answer itself.
pub(crate) fn answer(shared: &Shared, call: &CopilotJson) -> Result<(Value, Value), Response> {
    let requested = call.model(shared)?;
    let (request, model) = (&call.body, &requested.info);
    if !model.supports("/responses") {
        return Err(text(
            400,
            &format!("model {} is not supported via Responses API.", requested.id),
        ));
    }
    requested.policy_allows()?;
    let input_tokens = script::prompt_tokens(request);
    if let Some(refused) = super::prompt_too_long(model, input_tokens) {
        return Err(refused);
    }
    let (prompt, outputs, last_is_user) = read_input(request.get("input"));
    let tools = ToolDef::declared(request, "", "parameters");
    let calls: Vec<PlannedCall> = if last_is_user {
        script::choose_tools(&tools, request.get("tool_choice"), &prompt, 2)
    } else {
        Vec::new()
    };
    let reply = if outputs.is_empty() {
        script::reply_text(&prompt)
    } else {
        script::tool_answer(&outputs)
    };
    let reasoning = (request.get("reasoning").is_some() || model.family == Family::OSeries)
        .then(|| script::reasoning_text(&prompt));

    let mut output: Vec<Value> = Vec::new();
    if let Some(summary) = &reasoning {
        output.push(json!({
            "type": "reasoning", "id": ids::object_id("rs"),
            "summary": [{"type": "summary_text", "text": summary}],
            "encrypted_content": ids::opaque_signature(),
        }));
    }
    if calls.is_empty() {
        output.push(json!({
            "type": "message", "id": ids::object_id("msg"), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": reply, "annotations": []}],
        }));
    } else {
        for call in &calls {
            output.push(json!({
                "type": "function_call", "id": ids::object_id("fc"), "call_id": ids::call_id(),
                "name": call.name, "arguments": call.arguments, "status": "completed",
            }));
        }
    }
    let output_tokens = script::tokens(&reply);
    let reasoning_tokens = reasoning.as_deref().map(script::tokens).unwrap_or(0);
    let response = json!({
        "id": ids::object_id("resp"),
        "object": "response",
        "created_at": unix_now(),
        "status": "completed",
        "model": model.id,
        "output": output,
        "parallel_tool_calls": true,
        "store": false,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens + reasoning_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens + reasoning_tokens,
        },
    });
    let cost = super::copilot_usage(model, input_tokens, 0, output_tokens + reasoning_tokens);
    Ok((response, cost))
}

/// Renders the finished `response` as the event sequence the real API streams (each event's JSON, with
/// its `sequence_number`): the SSE stream names each after its `type`, the WebSocket sends each as a
/// text message.
pub(crate) fn stream_events(response: &Value, cost: &Value) -> Vec<Value> {
    let mut events: Vec<Value> = Vec::new();
    let mut in_progress = response.clone();
    in_progress["status"] = json!("in_progress");
    in_progress["output"] = json!([]);
    in_progress["usage"] = Value::Null;
    events.push(json!({"type": "response.created", "response": in_progress}));
    events.push(json!({"type": "response.in_progress", "response": in_progress}));
    let output = response["output"].as_array().cloned().unwrap_or_default();
    for (index, item) in output.iter().enumerate() {
        let id = item["id"].clone();
        let mut added = item.clone();
        match item["type"].as_str() {
            Some("message") => {
                added["status"] = json!("in_progress");
                added["content"] = json!([]);
            }
            Some("function_call") => {
                added["status"] = json!("in_progress");
                added["arguments"] = json!("");
            }
            Some("reasoning") => added["summary"] = json!([]),
            _ => {}
        }
        events.push(
            json!({"type": "response.output_item.added", "output_index": index, "item": added}),
        );
        match item["type"].as_str() {
            Some("message") => {
                let text = item
                    .pointer("/content/0/text")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let part = json!({"type": "output_text", "text": "", "annotations": []});
                events.push(json!({"type": "response.content_part.added", "item_id": id, "output_index": index, "content_index": 0, "part": part}));
                for piece in script::pieces(text) {
                    events.push(json!({"type": "response.output_text.delta", "item_id": id, "output_index": index, "content_index": 0, "delta": piece}));
                }
                events.push(json!({"type": "response.output_text.done", "item_id": id, "output_index": index, "content_index": 0, "text": text}));
                events.push(json!({"type": "response.content_part.done", "item_id": id, "output_index": index, "content_index": 0, "part": item["content"][0]}));
            }
            Some("function_call") => {
                let arguments = item["arguments"].as_str().unwrap_or("");
                for fragment in script::argument_fragments(arguments) {
                    events.push(json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": index, "delta": fragment}));
                }
                events.push(json!({"type": "response.function_call_arguments.done", "item_id": id, "output_index": index, "arguments": arguments}));
            }
            Some("reasoning") => {
                let text = item
                    .pointer("/summary/0/text")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                events.push(json!({"type": "response.reasoning_summary_part.added", "item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
                for piece in script::pieces(text) {
                    events.push(json!({"type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": index, "summary_index": 0, "delta": piece}));
                }
                events.push(json!({"type": "response.reasoning_summary_text.done", "item_id": id, "output_index": index, "summary_index": 0, "text": text}));
                events.push(json!({"type": "response.reasoning_summary_part.done", "item_id": id, "output_index": index, "summary_index": 0, "part": item["summary"][0]}));
            }
            _ => {}
        }
        events.push(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    // Copilot puts the cost beside `response` on the last event.
    events.push(json!({"type": "response.completed", "response": response, "copilot_usage": cost}));
    events
        .into_iter()
        .enumerate()
        .map(|(seq, mut event)| {
            event["sequence_number"] = json!(seq);
            event
        })
        .collect()
}
