//! OpenAI Responses out: the `response.*` SSE event sequence and `response` objects.
//!
//! Event order, as the `openai` client's stream accumulator expects it: `response.created`,
//! `response.in_progress`, then per output item `response.output_item.added`, its part/delta events and
//! `response.output_item.done`, and last `response.completed` (or `response.incomplete`) carrying the whole
//! response. Every event has a `sequence_number`, and the SSE `event:` name equals `type`.

use copilot_api::{ChatEvent, CollectedChat, FinishReason, ReasoningKind, Usage};
use serde_json::{Value, json};

use super::{Encoder, Meter, ToolNumbering, new_id, now_secs, push_json, with_cost};
use crate::error::Failure;

/// One output item being built.
#[derive(Debug, Clone)]
enum Item {
    Reasoning {
        id: String,
        summary: String,
        opaque: Option<String>,
        summary_open: bool,
    },
    Message {
        id: String,
        text: String,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
}

impl Item {
    fn id(&self) -> &str {
        match self {
            Item::Reasoning { id, .. } | Item::Message { id, .. } | Item::Call { id, .. } => id,
        }
    }

    /// The item as it appears in `output[]`.
    fn to_json(&self, status: &str) -> Value {
        match self {
            Item::Reasoning {
                id,
                summary,
                opaque,
                ..
            } => {
                let summary: Vec<Value> = if summary.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"type": "summary_text", "text": summary})]
                };
                let mut item = json!({"type": "reasoning", "id": id, "summary": summary});
                if let Some(opaque) = opaque {
                    item["encrypted_content"] = json!(opaque);
                }
                item
            }
            Item::Message { id, text } => json!({
                "type": "message",
                "id": id,
                "status": status,
                "role": "assistant",
                "content": if status == "in_progress" { json!([]) } else { json!([output_text(text)]) },
            }),
            Item::Call {
                id,
                call_id,
                name,
                arguments,
            } => json!({
                "type": "function_call",
                "id": id,
                "call_id": call_id,
                "name": name,
                "arguments": if status == "in_progress" { "" } else { arguments.as_str() },
                "status": status,
            }),
        }
    }
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The `usage` object of a response.
fn usage_json(usage: Option<&Usage>) -> Value {
    let usage = usage.cloned().unwrap_or_default();
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens().unwrap_or(0)},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens().unwrap_or(0)},
        "total_tokens": usage.total_tokens,
    })
}

/// The `response` object (for `response.created` with no output, and for the final event).
fn response_json(
    id: &str,
    created: u64,
    model: &str,
    status: &str,
    output: Vec<Value>,
    usage: Option<Value>,
    reason: Option<&FinishReason>,
) -> Value {
    let incomplete = match reason {
        Some(FinishReason::Length) => json!({"reason": "max_output_tokens"}),
        Some(FinishReason::ContentFilter) => json!({"reason": "content_filter"}),
        _ => Value::Null,
    };
    json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": output,
        "usage": usage,
        "incomplete_details": incomplete,
        "error": null,
        "instructions": null,
        "metadata": {},
        "parallel_tool_calls": true,
        "temperature": null,
        "top_p": null,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
    })
}

/// The final status for a finish reason.
fn status_of(reason: Option<&FinishReason>) -> &'static str {
    match reason {
        Some(FinishReason::Length | FinishReason::ContentFilter) => "incomplete",
        _ => "completed",
    }
}

/// `response.*` events from any upstream stream.
pub(crate) struct ResponsesEvents {
    id: String,
    model: String,
    created: u64,
    sequence: u64,
    started: bool,
    items: Vec<Item>,
    /// Whether the last item is still open (earlier ones are closed when a new one starts).
    last_open: bool,
    /// Output index of each tool call, by call number.
    call_items: Vec<usize>,
    tools: ToolNumbering,
    finish: Option<FinishReason>,
    meter: Meter,
}

impl ResponsesEvents {
    /// An encoder answering for `model`.
    pub(crate) fn new(model: &str) -> Self {
        ResponsesEvents {
            id: new_id("resp_"),
            model: model.to_owned(),
            created: now_secs(),
            sequence: 0,
            started: false,
            items: Vec::new(),
            last_open: false,
            call_items: Vec::new(),
            tools: ToolNumbering::default(),
            finish: None,
            meter: Meter::default(),
        }
    }

    fn emit(&mut self, mut event: Value, out: &mut String) {
        let kind = event["type"].as_str().unwrap_or("").to_owned();
        event["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        out.push_str("event: ");
        out.push_str(&kind);
        out.push_str("\ndata: ");
        push_json(out, &event);
        out.push_str("\n\n");
    }

    fn start(&mut self, out: &mut String) {
        if self.started {
            return;
        }
        self.started = true;
        let response = response_json(
            &self.id,
            self.created,
            &self.model,
            "in_progress",
            Vec::new(),
            None,
            None,
        );
        self.emit(
            json!({"type": "response.created", "response": response}),
            out,
        );
        self.emit(
            json!({"type": "response.in_progress", "response": response}),
            out,
        );
    }

    /// Opens `item` as the new last item (closing the previous one).
    fn open(&mut self, item: Item, out: &mut String) -> usize {
        self.close_last(out);
        let index = self.items.len();
        let added = item.to_json("in_progress");
        self.items.push(item);
        self.last_open = true;
        self.emit(
            json!({"type": "response.output_item.added", "output_index": index, "item": added}),
            out,
        );
        if let Item::Message { id, .. } = &self.items[index] {
            let id = id.clone();
            self.emit(
                json!({"type": "response.content_part.added", "item_id": id, "output_index": index,
                       "content_index": 0, "part": output_text("")}),
                out,
            );
        }
        index
    }

    fn close_last(&mut self, out: &mut String) {
        if !self.last_open {
            return;
        }
        self.last_open = false;
        let index = self.items.len() - 1;
        let item = self.items[index].clone();
        let id = item.id().to_owned();
        match &item {
            Item::Message { text, .. } => {
                self.emit(
                    json!({"type": "response.output_text.done", "item_id": id, "output_index": index,
                           "content_index": 0, "text": text, "logprobs": []}),
                    out,
                );
                self.emit(
                    json!({"type": "response.content_part.done", "item_id": id, "output_index": index,
                           "content_index": 0, "part": output_text(text)}),
                    out,
                );
            }
            Item::Call {
                name, arguments, ..
            } => {
                self.emit(
                    json!({"type": "response.function_call_arguments.done", "item_id": id,
                           "output_index": index, "name": name, "arguments": arguments}),
                    out,
                );
            }
            Item::Reasoning {
                summary,
                summary_open,
                ..
            } => {
                if *summary_open {
                    self.emit(
                        json!({"type": "response.reasoning_summary_text.done", "item_id": id,
                               "output_index": index, "summary_index": 0, "text": summary}),
                        out,
                    );
                    self.emit(
                        json!({"type": "response.reasoning_summary_part.done", "item_id": id,
                               "output_index": index, "summary_index": 0,
                               "part": {"type": "summary_text", "text": summary}}),
                        out,
                    );
                }
            }
        }
        self.emit(
            json!({"type": "response.output_item.done", "output_index": index,
                   "item": item.to_json("completed")}),
            out,
        );
    }

    /// The open reasoning item's index, opening one when the last item is something else.
    fn reasoning_item(&mut self, out: &mut String) -> usize {
        match self.items.last() {
            Some(Item::Reasoning { .. }) if self.last_open => self.items.len() - 1,
            _ => self.open(
                Item::Reasoning {
                    id: new_id("rs_"),
                    summary: String::new(),
                    opaque: None,
                    summary_open: false,
                },
                out,
            ),
        }
    }
}

impl Encoder for ResponsesEvents {
    fn event(&mut self, event: ChatEvent, out: &mut String) {
        self.meter.observe(&event);
        if let ChatEvent::Meta {
            model: Some(model), ..
        } = &event
            && !model.is_empty()
            && !self.started
        {
            self.model = model.clone();
        }
        self.start(out);
        match event {
            // Only choice 0: the Responses API has one output list.
            ChatEvent::Content { choice: 0, text } => {
                let index = match self.items.last() {
                    Some(Item::Message { .. }) if self.last_open => self.items.len() - 1,
                    _ => self.open(
                        Item::Message {
                            id: new_id("msg_"),
                            text: String::new(),
                        },
                        out,
                    ),
                };
                if let Item::Message { id, text: all } = &mut self.items[index] {
                    all.push_str(&text);
                    let id = id.clone();
                    self.emit(
                        json!({"type": "response.output_text.delta", "item_id": id, "output_index": index,
                               "content_index": 0, "delta": text, "logprobs": []}),
                        out,
                    );
                }
            }
            ChatEvent::Reasoning {
                choice: 0,
                kind: ReasoningKind::Text | ReasoningKind::Summary,
                text,
            } => {
                let index = self.reasoning_item(out);
                let mut part_added = None;
                if let Item::Reasoning {
                    id,
                    summary,
                    summary_open,
                    ..
                } = &mut self.items[index]
                {
                    if !*summary_open {
                        *summary_open = true;
                        part_added = Some(id.clone());
                    }
                    summary.push_str(&text);
                }
                let id = self.items[index].id().to_owned();
                if part_added.is_some() {
                    self.emit(
                        json!({"type": "response.reasoning_summary_part.added", "item_id": id,
                               "output_index": index, "summary_index": 0,
                               "part": {"type": "summary_text", "text": ""}}),
                        out,
                    );
                }
                self.emit(
                    json!({"type": "response.reasoning_summary_text.delta", "item_id": id,
                           "output_index": index, "summary_index": 0, "delta": text}),
                    out,
                );
            }
            ChatEvent::Reasoning {
                choice: 0,
                kind: kind @ (ReasoningKind::Opaque | ReasoningKind::Id),
                text,
            } => {
                // Replay data: kept on the reasoning item, sent whole in its `done` event.
                let index = match self
                    .items
                    .iter()
                    .rposition(|i| matches!(i, Item::Reasoning { .. }))
                {
                    Some(index) => index,
                    None => self.reasoning_item(out),
                };
                if let Item::Reasoning { id, opaque, .. } = &mut self.items[index] {
                    match kind {
                        ReasoningKind::Opaque => *opaque = Some(text),
                        _ => *id = text,
                    }
                }
            }
            ChatEvent::ToolCall { choice: 0, delta } => {
                let (call, new) = self.tools.place(&delta);
                let index = if new {
                    let index = self.open(
                        Item::Call {
                            id: new_id("fc_"),
                            call_id: delta.id.clone().unwrap_or_else(|| new_id("call_")),
                            name: delta.name.clone().unwrap_or_default(),
                            arguments: String::new(),
                        },
                        out,
                    );
                    self.call_items.push(index);
                    index
                } else {
                    self.call_items[call]
                };
                if let Item::Call {
                    id,
                    name,
                    arguments,
                    ..
                } = &mut self.items[index]
                {
                    if !new && let Some(more) = &delta.name {
                        name.push_str(more);
                    }
                    arguments.push_str(&delta.arguments);
                    let id = id.clone();
                    if !delta.arguments.is_empty() {
                        self.emit(
                            json!({"type": "response.function_call_arguments.delta", "item_id": id,
                                   "output_index": index, "delta": delta.arguments}),
                            out,
                        );
                    }
                }
            }
            ChatEvent::Finish { choice: 0, reason } => self.finish = Some(reason),
            ChatEvent::Done { .. } => {
                self.close_last(out);
                let status = status_of(self.finish.as_ref());
                let output = self.items.iter().map(|i| i.to_json("completed")).collect();
                let response = response_json(
                    &self.id,
                    self.created,
                    &self.model,
                    status,
                    output,
                    Some(with_cost(
                        usage_json(self.meter.usage.as_ref()),
                        self.meter.cost_nano_aiu,
                    )),
                    self.finish.as_ref(),
                );
                let kind = if status == "incomplete" {
                    "response.incomplete"
                } else {
                    "response.completed"
                };
                self.emit(json!({"type": kind, "response": response}), out);
            }
            _ => {}
        }
    }

    fn fail(&mut self, failure: &Failure, out: &mut String) {
        self.start(out);
        let code = failure
            .code
            .clone()
            .unwrap_or_else(|| "server_error".to_owned());
        self.emit(
            json!({"type": "error", "code": code, "message": failure.message, "param": null}),
            out,
        );
        let output = self.items.iter().map(|i| i.to_json("incomplete")).collect();
        let mut response = response_json(
            &self.id,
            self.created,
            &self.model,
            "failed",
            output,
            None,
            None,
        );
        response["error"] = json!({"code": code, "message": failure.message});
        self.emit(
            json!({"type": "response.failed", "response": response}),
            out,
        );
    }

    fn meter(&self) -> &Meter {
        &self.meter
    }
}

/// A `response` object from a collected answer (a translated, non-streamed request).
pub(crate) fn response(collected: &CollectedChat, model: &str) -> Value {
    let mut output = Vec::new();
    let reason = collected.message().and_then(|m| m.finish_reason.clone());
    if let Some(message) = collected.message() {
        let reasoning = &message.reasoning;
        if !reasoning.is_empty() {
            let mut summary = reasoning.summary.clone();
            if summary.is_empty() {
                summary = reasoning.text.clone();
            }
            output.push(
                Item::Reasoning {
                    id: reasoning.id.clone().unwrap_or_else(|| new_id("rs_")),
                    summary_open: !summary.is_empty(),
                    summary,
                    opaque: reasoning.opaque.clone(),
                }
                .to_json("completed"),
            );
        }
        if !message.content.is_empty() {
            output.push(
                Item::Message {
                    id: new_id("msg_"),
                    text: message.content.clone(),
                }
                .to_json("completed"),
            );
        }
        for call in &message.tool_calls {
            output.push(
                Item::Call {
                    id: new_id("fc_"),
                    call_id: call.id.clone(),
                    name: call.function.name.clone(),
                    arguments: call.function.arguments.clone(),
                }
                .to_json("completed"),
            );
        }
    }
    response_json(
        &collected
            .id
            .clone()
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| new_id("resp_")),
        now_secs(),
        model,
        status_of(reason.as_ref()),
        output,
        Some(usage_json(collected.usage.as_ref())),
        reason.as_ref(),
    )
}
