//! `/responses` stream events → the same [`ChatEvent`] vocabulary as chat, so a responses-only model streams
//! through the same consumer code. Everything maps to choice 0; tool calls are indexed by `output_index`.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::chat::FinishReason;
use crate::chat::{ChatEvent, ReasoningKind};
use crate::decode::{
    DecodeState, EventQueue, Str, content, data_extra, extra, reasoning, tool_delta,
};
use crate::error::WireError;
use crate::responses::{ResponsesUsage, incomplete_reason};

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    delta: Option<String>,
    output_index: Option<u32>,
    #[serde(borrow, default)]
    item: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
    #[serde(borrow, default)]
    param: Str<'a>,
    #[serde(borrow, default)]
    copilot_usage: Option<&'a RawValue>,
    /// On a WebSocket `error` event: the HTTP status it stands for (read leniently).
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireItem {
    #[serde(rename = "type", default)]
    kind: String,
    id: Option<String>,
    call_id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
    encrypted_content: Option<String>,
}

#[derive(Deserialize)]
struct WireResponse {
    id: Option<String>,
    model: Option<String>,
    created_at: Option<u64>,
    usage: Option<ResponsesUsage>,
    incomplete_details: Option<IncompleteDetails>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

/// Per-stream state of the responses mapping.
#[derive(Debug, Default)]
pub(crate) struct ResponsesMapper {
    meta_sent: bool,
    saw_tool_call: bool,
    /// Output indexes whose arguments arrived as deltas (so `output_item.done` must not repeat them).
    streamed_arguments: HashSet<u32>,
}

/// Event types that carry nothing the chat vocabulary needs (their content arrives through other events).
const QUIET: &[&str] = &[
    "response.in_progress",
    "response.queued",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.done",
    "response.function_call_arguments.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.done",
];

impl ResponsesMapper {
    pub fn on_data(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        state: &mut DecodeState,
        out: &mut EventQueue,
    ) {
        let Some(wire) = state.parse::<WireEvent<'_>>(data, out) else {
            return;
        };
        let kind = wire.kind.as_deref().or(event).unwrap_or("");
        match kind {
            "response.created" => self.meta(wire.response, out),
            "response.output_text.delta" => content(out, wire.delta),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let kind = if kind == "response.reasoning_text.delta" {
                    ReasoningKind::Text
                } else {
                    ReasoningKind::Summary
                };
                reasoning(out, kind, wire.delta);
            }
            "response.function_call_arguments.delta" => {
                let index = wire.output_index.unwrap_or(0);
                self.streamed_arguments.insert(index);
                out.push_back(Ok(tool_delta(
                    index,
                    None,
                    None,
                    wire.delta.unwrap_or_default(),
                )));
            }
            "response.output_item.added" | "response.output_item.done" => {
                let Some(item) = wire
                    .item
                    .and_then(|raw| serde_json::from_str::<WireItem>(raw.get()).ok())
                else {
                    return;
                };
                let index = wire.output_index.unwrap_or(0);
                self.item(kind == "response.output_item.done", index, item, out);
            }
            "response.completed" | "response.incomplete" => {
                let response = parse_response(wire.response);
                self.meta(wire.response, out);
                let reason = match response
                    .as_ref()
                    .and_then(|r| r.incomplete_details.as_ref())
                {
                    Some(IncompleteDetails {
                        reason: Some(reason),
                    }) => incomplete_reason(reason),
                    _ if kind == "response.incomplete" => FinishReason::Length,
                    _ if self.saw_tool_call => FinishReason::ToolCalls,
                    _ => FinishReason::Stop,
                };
                if let Some(usage) = response.and_then(|r| r.usage) {
                    out.push_back(Ok(ChatEvent::Usage(Box::new(usage.to_usage()))));
                }
                state.saw_finish = true;
                out.push_back(Ok(ChatEvent::Finish { choice: 0, reason }));
                // Copilot's cost sits beside `response` on this last event.
                extra(out, None, "copilot_usage", wire.copilot_usage);
            }
            "response.failed" => {
                let wire_error = parse_response(wire.response)
                    .and_then(|r| r.error)
                    .unwrap_or_default();
                state.stream_error(wire_error, out);
            }
            "error" => {
                // SSE puts `code`/`message`/`param` at the top; a WebSocket error event nests them in
                // `error` beside the HTTP `status` it stands for.
                let mut wire_error = crate::error::parse_error_body(data);
                wire_error.param = wire_error.param.or(wire.param.into_string());
                let status = wire
                    .status
                    .and_then(|raw| serde_json::from_str::<u16>(raw.get()).ok());
                state.stream_error_with_status(status, wire_error, out);
            }
            quiet if QUIET.contains(&quiet) => {}
            other => data_extra(out, None, other, data),
        }
    }

    fn meta(&mut self, response: Option<&RawValue>, out: &mut EventQueue) {
        if self.meta_sent {
            return;
        }
        if let Some(response) = parse_response(response)
            && let Some(id) = response.id
        {
            self.meta_sent = true;
            out.push_back(Ok(ChatEvent::Meta {
                id,
                model: response.model,
                created: response.created_at.filter(|c| *c != 0),
            }));
        }
    }

    fn item(&mut self, done: bool, index: u32, item: WireItem, out: &mut EventQueue) {
        match item.kind.as_str() {
            "function_call" if !done => {
                self.saw_tool_call = true;
                out.push_back(Ok(tool_delta(
                    index,
                    item.call_id,
                    item.name,
                    item.arguments.unwrap_or_default(),
                )));
            }
            "function_call" => {
                // Arguments that never streamed as deltas arrive whole here.
                self.saw_tool_call = true;
                if !self.streamed_arguments.contains(&index)
                    && let Some(arguments) = item.arguments.filter(|a| !a.is_empty())
                {
                    out.push_back(Ok(tool_delta(index, None, None, arguments)));
                }
            }
            "reasoning" if done => {
                reasoning(out, ReasoningKind::Id, item.id);
                reasoning(out, ReasoningKind::Opaque, item.encrypted_content);
            }
            _ => {}
        }
    }
}

fn parse_response(raw: Option<&RawValue>) -> Option<WireResponse> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}
