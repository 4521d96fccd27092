//! `POST /chat/completions`: deterministic answers in Copilot's exact stream shape.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::models::{Family, ModelInfo};
use super::script::{self, PlannedCall, ToolDef};
use super::{api_error, model_not_supported, unix_now};
use crate::extract::{CopilotJson, RequestedModel};
use crate::ids;
use crate::server::Shared;
use crate::stream::SsePlan;

fn filter_results() -> Value {
    json!({
        "error": {"code": "", "message": ""},
        "hate": {"filtered": false, "severity": "safe"},
        "self_harm": {"filtered": false, "severity": "safe"},
        "sexual": {"filtered": false, "severity": "safe"},
        "violence": {"filtered": false, "severity": "safe"},
    })
}

fn prompt_filter_results() -> Value {
    json!([{"content_filter_results": filter_results(), "prompt_index": 0}])
}

/// Text of the last `"role": "user"` entry of `messages` (chat messages or Responses input items), empty when
/// there is none.
pub(crate) fn last_user_text(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| content_text(m.get("content")))
        .unwrap_or_default()
}

/// Text of a message's `content` (string or parts).
pub(crate) fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn has_image(messages: &[Value]) -> bool {
    messages.iter().any(|m| {
        m.get("content")
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts.iter().any(|p| {
                    matches!(
                        p.get("type").and_then(Value::as_str),
                        Some("image_url" | "image")
                    )
                })
            })
    })
}

/// Everything decided about one answer before it is rendered.
struct Answer {
    id: String,
    created: u64,
    model: ModelInfo,
    model_fields: bool,
    /// Content pieces per choice.
    choices: Vec<Vec<String>>,
    calls: Vec<(String, PlannedCall)>,
    /// Claude says a few words before calling tools.
    lead_text: Option<String>,
    reasoning: Option<String>,
    reasoning_id: String,
    usage: Value,
    /// Copilot's cost of the answer, on the last chunk (or the top level when not streamed).
    copilot_usage: Value,
}

impl Answer {
    fn chunk(&self, choices: Vec<Value>) -> Map<String, Value> {
        let mut chunk = Map::new();
        chunk.insert("choices".into(), Value::Array(choices));
        chunk.insert("created".into(), json!(self.created));
        chunk.insert("id".into(), json!(self.id));
        if self.model_fields {
            chunk.insert("model".into(), json!(self.model.id));
            chunk.insert("object".into(), json!("chat.completion.chunk"));
        }
        chunk
    }

    fn delta_chunk(&self, index: usize, delta: Value, finish: Option<&str>) -> Map<String, Value> {
        let mut choice = Map::new();
        if let Some(reason) = finish {
            choice.insert("finish_reason".into(), json!(reason));
        }
        choice.insert("index".into(), json!(index));
        if self.model.family != Family::Claude {
            choice.insert(
                "content_filter_offsets".into(),
                json!({"check_offset": 1811, "start_offset": 1811, "end_offset": 1819}),
            );
            choice.insert("content_filter_results".into(), filter_results());
        }
        choice.insert("delta".into(), delta);
        self.chunk(vec![Value::Object(choice)])
    }

    fn events(&self, include_usage: bool) -> Vec<String> {
        let mut prelude = Map::new();
        prelude.insert("choices".into(), json!([]));
        prelude.insert("created".into(), json!(0));
        prelude.insert("id".into(), json!(""));
        prelude.insert("prompt_filter_results".into(), prompt_filter_results());
        if self.model_fields {
            prelude.insert("model".into(), json!(self.model.id));
            prelude.insert("object".into(), json!("chat.completion.chunk"));
        }
        let mut out = vec![Value::Object(prelude)];
        let claude = self.model.family == Family::Claude;
        let null_role = |content: Value| {
            if claude {
                json!({"content": content})
            } else {
                json!({"content": content, "role": null})
            }
        };
        if self.calls.is_empty() {
            for (index, pieces) in self.choices.iter().enumerate() {
                out.push(
                    self.delta_chunk(index, json!({"content": "", "role": "assistant"}), None)
                        .into(),
                );
                self.push_reasoning(&mut out, index);
                for piece in pieces {
                    out.push(
                        self.delta_chunk(index, null_role(json!(piece)), None)
                            .into(),
                    );
                }
                let mut finish =
                    self.delta_chunk(index, json!({"content": null, "role": null}), Some("stop"));
                if claude {
                    finish.insert("usage".into(), self.usage.clone());
                }
                out.push(finish.into());
                if self.model.family == Family::OSeries {
                    let cot = json!({"content": null, "cot_id": self.reasoning_id});
                    out.push(self.delta_chunk(index, cot, None).into());
                }
            }
        } else {
            if claude {
                out.push(
                    self.delta_chunk(0, json!({"content": "", "role": "assistant"}), None)
                        .into(),
                );
                self.push_reasoning(&mut out, 0);
                for piece in script::pieces(self.lead_text.as_deref().unwrap_or_default()) {
                    out.push(self.delta_chunk(0, json!({"content": piece}), None).into());
                }
            }
            for (k, (call_id, call)) in self.calls.iter().enumerate() {
                // Claude reuses index 0 for every call; OpenAI numbers them.
                let index = if claude { 0 } else { k };
                let mut first = json!({"content": null, "tool_calls": [{
                    "function": {"arguments": "", "name": call.name},
                    "id": call_id, "index": index, "type": "function",
                }]});
                if !claude && k == 0 {
                    first["role"] = json!("assistant");
                }
                out.push(self.delta_chunk(0, first, None).into());
                for fragment in script::argument_fragments(&call.arguments) {
                    let delta = json!({"content": null, "tool_calls": [{
                        "function": {"arguments": fragment}, "index": index,
                    }]});
                    out.push(self.delta_chunk(0, delta, None).into());
                }
            }
            let mut finish = self.delta_chunk(0, json!({"content": null}), Some("tool_calls"));
            if claude {
                finish.insert("usage".into(), self.usage.clone());
            }
            out.push(finish.into());
        }
        if include_usage && !claude {
            let mut usage = self.chunk(Vec::new());
            usage.insert("usage".into(), self.usage.clone());
            out.push(usage.into());
        }
        if let Some(Value::Object(last)) = out.last_mut() {
            last.insert("copilot_usage".into(), self.copilot_usage.clone());
        }
        let mut events: Vec<String> = out.iter().map(Value::to_string).collect();
        events.push("[DONE]".into());
        events
    }

    fn push_reasoning(&self, out: &mut Vec<Value>, index: usize) {
        let Some(text) = &self.reasoning else { return };
        match self.model.family {
            Family::Claude => {
                for piece in script::pieces(text) {
                    let delta = json!({"content": "", "reasoning_text": piece});
                    out.push(self.delta_chunk(index, delta, None).into());
                }
                let delta = json!({"content": "", "reasoning_opaque": ids::opaque_signature()});
                out.push(self.delta_chunk(index, delta, None).into());
            }
            Family::OSeries => {
                let delta =
                    json!({"content": null, "cot_summary": format!("**Reasoning**\n\n{text}")});
                out.push(self.delta_chunk(index, delta, None).into());
            }
            Family::OpenAi => {}
        }
    }

    fn non_streaming(&self) -> Value {
        let claude = self.model.family == Family::Claude;
        let mut choices = Vec::new();
        let with_filters = |mut choice: Value| {
            if !claude {
                choice["content_filter_results"] = filter_results();
            }
            choice
        };
        let reasoning_fields = |message: &mut Value| {
            if let Some(text) = &self.reasoning {
                match self.model.family {
                    Family::Claude => {
                        message["reasoning_text"] = json!(text);
                        message["reasoning_opaque"] = json!(ids::opaque_signature());
                    }
                    Family::OSeries => {
                        message["cot_summary"] = json!(text);
                        message["cot_id"] = json!(self.reasoning_id);
                    }
                    Family::OpenAi => {}
                }
            }
        };
        if self.calls.is_empty() {
            for (index, pieces) in self.choices.iter().enumerate() {
                let mut message = json!({"content": pieces.concat(), "role": "assistant"});
                reasoning_fields(&mut message);
                choices.push(with_filters(json!({
                    "finish_reason": "stop", "index": index, "message": message,
                })));
            }
        } else {
            let tool_calls: Vec<Value> = self
                .calls
                .iter()
                .map(|(id, c)| json!({"function": {"arguments": c.arguments, "name": c.name}, "id": id, "type": "function"}))
                .collect();
            if claude {
                // Claude splits text and tool calls into two choices.
                let mut message = json!({"content": self.lead_text, "role": "assistant"});
                reasoning_fields(&mut message);
                choices.push(json!({"finish_reason": "stop", "index": 0, "message": message}));
                choices.push(json!({"finish_reason": "tool_calls", "index": 1,
                    "message": {"content": null, "role": "assistant", "tool_calls": tool_calls}}));
            } else {
                choices.push(with_filters(
                    json!({"finish_reason": "tool_calls", "index": 0,
                    "message": {"content": null, "role": "assistant", "tool_calls": tool_calls}}),
                ));
            }
        }
        json!({
            "choices": choices,
            "created": self.created,
            "id": self.id,
            "model": self.model.id,
            "object": "chat.completion",
            "prompt_filter_results": prompt_filter_results(),
            "system_fingerprint": "fp_copilot_mock",
            "usage": self.usage,
            "copilot_usage": self.copilot_usage,
        })
    }
}

/// `POST /chat/completions`
pub(crate) async fn completions(State(shared): State<Arc<Shared>>, call: CopilotJson) -> Response {
    let replay = shared.state().replay.clone();
    if let Some(transcript) = replay {
        return SsePlan::from_transcript(&transcript.bytes, transcript.piece_size).into_response();
    }
    let (request, headers) = (&call.body, call.headers());
    if let Some(refused) = super::reserved_system_keyword(request) {
        return refused;
    }
    let requested = match call.model(&shared) {
        Ok(requested) => requested,
        Err(response) => return response,
    };
    // Checked after the endpoint checks below, as the service orders its answers.
    let policy = requested.policy_allows();
    let RequestedModel {
        id: model_id,
        info: model,
        ..
    } = requested;
    if model.kind != "chat" {
        return model_not_supported();
    }
    if !model.supports("/chat/completions") {
        return api_error(
            400,
            "unsupported_api_for_model",
            &format!("model \"{model_id}\" is not accessible via the /chat/completions endpoint"),
            "model",
        );
    }
    if let Err(response) = policy {
        return response;
    }
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return api_error(
            400,
            "invalid_request_body",
            "messages is required",
            "messages",
        );
    };
    if has_image(messages) {
        let flagged = headers
            .get("copilot-vision-request")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !flagged {
            return api_error(
                400,
                "invalid_request_body",
                "vision requests require the Copilot-Vision-Request: true header",
                "messages",
            );
        }
        if !model.vision {
            return api_error(
                400,
                "invalid_request_body",
                "model does not support vision",
                "messages",
            );
        }
    }

    let prompt_tokens = script::prompt_tokens(request);
    if let Some(refused) = super::prompt_too_long(&model, prompt_tokens) {
        return refused;
    }

    let last_role = messages
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str);
    let tool_results: Vec<String> = messages
        .iter()
        .rev()
        .take_while(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .map(|m| content_text(m.get("content")))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let prompt = last_user_text(messages);
    let tools = ToolDef::declared(request, "/function", "parameters");
    let calls = if model.always_calls_tools {
        script::insistent_tool_calls(&tools)
    } else if last_role == Some("user") {
        script::choose_tools(&tools, request.get("tool_choice"), &prompt, 2)
    } else {
        Vec::new()
    };
    let claude = model.family == Family::Claude;
    let wants_reasoning = request.get("reasoning_effort").is_some_and(|v| v != "none")
        || request.get("thinking_budget").is_some()
        || script::asks_to_think(&prompt);
    let reasoning = match model.family {
        Family::OSeries => Some(script::reasoning_text(&prompt)),
        Family::Claude if wants_reasoning => Some(script::reasoning_text(&prompt)),
        _ => None,
    };

    let text = if last_role == Some("tool") {
        script::tool_answer(&tool_results)
    } else {
        script::reply_text(&prompt)
    };
    let format = request.get("response_format");
    let structured = match format.and_then(|f| f.get("type")).and_then(Value::as_str) {
        Some("json_schema") => {
            let schema = format
                .and_then(|f| f.pointer("/json_schema/schema"))
                .cloned()
                .unwrap_or(json!({"type": "object"}));
            Some(super::schema::example(&schema, "value").to_string())
        }
        Some("json_object") => Some(json!({"answer": text}).to_string()),
        _ => None,
    };
    let long = shared
        .settings
        .long_answer_chunks
        .or_else(|| script::long_answer_request(&prompt));
    let base_pieces = match (&structured, long) {
        (Some(json_text), _) => script::argument_fragments(json_text),
        (None, Some(n)) => script::long_pieces(n),
        (None, None) => script::pieces(&text),
    };
    let n = request
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 8) as usize;
    let choices: Vec<Vec<String>> = (0..if calls.is_empty() { n } else { 1 })
        .map(|i| {
            let mut pieces = base_pieces.clone();
            if i > 0 && structured.is_none() {
                pieces.push(format!(" (choice {i})"));
            }
            pieces
        })
        .collect();
    let lead_text = (claude && !calls.is_empty()).then(|| {
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        format!("I'll use {} to answer that.", names.join(" and "))
    });
    let completion_tokens: u64 = choices.iter().map(|c| c.len() as u64).sum::<u64>()
        + calls
            .iter()
            .map(|c| script::tokens(&c.arguments))
            .sum::<u64>();
    let calls: Vec<(String, PlannedCall)> = calls
        .into_iter()
        .map(|c| {
            (
                if claude {
                    ids::tooluse_id()
                } else {
                    ids::call_id()
                },
                c,
            )
        })
        .collect();
    let cost = super::copilot_usage(&model, prompt_tokens, 0, completion_tokens);
    let answer = Answer {
        id: ids::completion_id(),
        created: unix_now(),
        model,
        model_fields: shared.settings.chunk_model_fields,
        choices,
        calls,
        lead_text,
        reasoning,
        reasoning_id: format!("cot_{}", ids::hex(16)),
        copilot_usage: cost,
        usage: json!({
            "completion_tokens": completion_tokens,
            "prompt_tokens": prompt_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "total_tokens": prompt_tokens + completion_tokens,
        }),
    };
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        let include_usage = request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true);
        SsePlan::from_data(answer.events(include_usage)).into_response()
    } else {
        axum::Json(answer.non_streaming()).into_response()
    }
}
