//! Anthropic Messages out: the `message_start` … `message_stop` event sequence and `message` objects.
//!
//! Blocks are sent one at a time, in order (thinking, text, tool_use), each as `content_block_start`,
//! its deltas and `content_block_stop`; then `message_delta` with the stop reason and usage, then
//! `message_stop`. A `ping` follows `message_start`, as Anthropic's own streams do.

use copilot_api::{ChatEvent, CollectedChat, FinishReason, ReasoningKind, Usage};
use serde_json::{Value, json};

use super::{Encoder, Meter, ToolNumbering, new_id, push_json, with_cost};
use crate::error::Failure;

/// The block being streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking,
    Text,
    /// A tool_use block for this call number.
    Tool(usize),
}

/// Anthropic `stop_reason` for a finish reason.
fn stop_reason(reason: Option<&FinishReason>, made_calls: bool) -> &'static str {
    match reason {
        Some(FinishReason::Length) => "max_tokens",
        Some(FinishReason::ToolCalls | FinishReason::FunctionCall) => "tool_use",
        Some(FinishReason::ContentFilter) => "refusal",
        _ if made_calls => "tool_use",
        _ => "end_turn",
    }
}

/// Anthropic `usage` from chat usage: cached prompt tokens are reported apart from the others.
fn usage_json(usage: Option<&Usage>) -> Value {
    let usage = usage.cloned().unwrap_or_default();
    let cached = usage.cached_tokens().unwrap_or(0);
    let created = usage.cache_creation_input_tokens.unwrap_or(0);
    json!({
        "input_tokens": usage.prompt_tokens.saturating_sub(cached).saturating_sub(created),
        "output_tokens": usage.completion_tokens,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": created,
    })
}

/// `message_start` … `message_stop` from any upstream stream.
pub(crate) struct MessagesEvents {
    id: String,
    model: String,
    started: bool,
    block_index: usize,
    open: Option<Open>,
    tools: ToolNumbering,
    finish: Option<FinishReason>,
    meter: Meter,
}

impl MessagesEvents {
    /// An encoder answering for `model` (the name the caller asked for).
    pub(crate) fn new(model: &str) -> Self {
        MessagesEvents {
            id: new_id("msg_"),
            model: model.to_owned(),
            started: false,
            block_index: 0,
            open: None,
            tools: ToolNumbering::default(),
            finish: None,
            meter: Meter::default(),
        }
    }

    fn emit(out: &mut String, kind: &str, data: &Value) {
        out.push_str("event: ");
        out.push_str(kind);
        out.push_str("\ndata: ");
        push_json(out, data);
        out.push_str("\n\n");
    }

    fn start(&mut self, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        Self::emit(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
        Self::emit(out, "ping", &json!({"type": "ping"}));
    }

    fn close(&mut self, out: &mut String) {
        if self.open.take().is_some() {
            Self::emit(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": self.block_index}),
            );
            self.block_index += 1;
        }
    }

    /// Makes `block` the open block, starting it with `content_block` when it is not open yet.
    fn ensure(&mut self, block: Open, content_block: impl FnOnce() -> Value, out: &mut String) {
        if self.open == Some(block) {
            return;
        }
        self.close(out);
        self.open = Some(block);
        Self::emit(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.block_index, "content_block": content_block()}),
        );
    }

    fn delta(&self, out: &mut String, delta: Value) {
        Self::emit(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": self.block_index, "delta": delta}),
        );
    }
}

impl Encoder for MessagesEvents {
    fn event(&mut self, event: ChatEvent, out: &mut String) {
        self.meter.observe(&event);
        self.start(out);
        match event {
            ChatEvent::Reasoning {
                choice: 0,
                kind: kind @ (ReasoningKind::Text | ReasoningKind::Summary | ReasoningKind::Opaque),
                text,
            } => {
                // Text and summaries go into the thinking block; a signature closes it (one is opened when
                // none is).
                self.ensure(
                    Open::Thinking,
                    || json!({"type": "thinking", "thinking": "", "signature": ""}),
                    out,
                );
                let delta = if kind == ReasoningKind::Opaque {
                    json!({"type": "signature_delta", "signature": text})
                } else {
                    json!({"type": "thinking_delta", "thinking": text})
                };
                self.delta(out, delta);
            }
            ChatEvent::Content { choice: 0, text } => {
                self.ensure(Open::Text, || json!({"type": "text", "text": ""}), out);
                self.delta(out, json!({"type": "text_delta", "text": text}));
            }
            ChatEvent::ToolCall { choice: 0, delta } => {
                let (call, new) = self.tools.place(&delta);
                if new {
                    let id = delta.id.clone().unwrap_or_else(|| new_id("toolu_"));
                    let name = delta.name.clone().unwrap_or_default();
                    self.ensure(
                        Open::Tool(call),
                        || json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                        out,
                    );
                }
                if self.open == Some(Open::Tool(call)) {
                    if !delta.arguments.is_empty() {
                        self.delta(
                            out,
                            json!({"type": "input_json_delta", "partial_json": delta.arguments}),
                        );
                    }
                } else if !delta.arguments.is_empty() {
                    tracing::warn!(
                        call,
                        "a tool call's arguments arrived after a later block started; Anthropic streams cannot reopen it"
                    );
                }
            }
            ChatEvent::Finish { choice: 0, reason } => self.finish = Some(reason),
            ChatEvent::Done { .. } => {
                self.close(out);
                let reason = stop_reason(self.finish.as_ref(), self.tools.count() > 0);
                Self::emit(
                    out,
                    "message_delta",
                    &json!({"type": "message_delta",
                            "delta": {"stop_reason": reason, "stop_sequence": null},
                            "usage": with_cost(usage_json(self.meter.usage.as_ref()), self.meter.cost_nano_aiu)}),
                );
                Self::emit(out, "message_stop", &json!({"type": "message_stop"}));
            }
            _ => {}
        }
    }

    fn fail(&mut self, failure: &Failure, out: &mut String) {
        out.push_str(&failure.sse_event());
    }

    fn meter(&self) -> &Meter {
        &self.meter
    }
}

/// A `message` object from a collected answer.
pub(crate) fn message(collected: &CollectedChat, model: &str) -> Value {
    let mut content = Vec::new();
    let first = collected.message();
    if let Some(message) = first {
        let reasoning = &message.reasoning;
        let thinking = if reasoning.text.is_empty() {
            &reasoning.summary
        } else {
            &reasoning.text
        };
        if !thinking.is_empty() || reasoning.opaque.is_some() {
            content.push(json!({"type": "thinking", "thinking": thinking,
                                "signature": reasoning.opaque.clone().unwrap_or_default()}));
        }
        if !message.content.is_empty() {
            content.push(json!({"type": "text", "text": message.content}));
        }
        for call in &message.tool_calls {
            let input: Value = serde_json::from_str(&call.function.arguments)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            content.push(json!({"type": "tool_use", "id": call.id, "name": call.function.name, "input": input}));
        }
    }
    let made_calls = first.is_some_and(|m| !m.tool_calls.is_empty());
    json!({
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(first.and_then(|m| m.finish_reason.as_ref()), made_calls),
        "stop_sequence": null,
        "usage": usage_json(collected.usage.as_ref()),
    })
}
