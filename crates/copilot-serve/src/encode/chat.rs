//! OpenAI chat completions out: `chat.completion.chunk` SSE events and `chat.completion` objects.

use std::collections::BTreeMap;

use copilot_api::{ChatEvent, CollectedChat, FinishReason, ReasoningKind, Usage};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Encoder, Meter, ToolNumbering, new_id, now_secs, push_json};
use crate::error::Failure;

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [ChunkChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a Usage>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_opaque: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cot_summary: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cot_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolDelta<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_call: Option<FunctionDelta<'a>>,
}

#[derive(Serialize)]
struct ToolDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'a str>,
}

#[derive(Default)]
struct ChoiceState {
    started: bool,
    tools: ToolNumbering,
}

/// `chat.completion.chunk` events from any upstream stream.
pub(crate) struct ChatChunks {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    choices: BTreeMap<u32, ChoiceState>,
    meter: Meter,
}

impl ChatChunks {
    /// An encoder answering for `model`; `include_usage` is the caller's `stream_options.include_usage`.
    pub(crate) fn new(model: &str, include_usage: bool) -> Self {
        ChatChunks {
            id: new_id("chatcmpl-"),
            model: model.to_owned(),
            created: now_secs(),
            include_usage,
            choices: BTreeMap::new(),
            meter: Meter::default(),
        }
    }

    fn chunk(&mut self, choice: u32, mut delta: Delta<'_>, finish: Option<&str>, out: &mut String) {
        let state = self.choices.entry(choice).or_default();
        if !state.started {
            state.started = true;
            delta.role = Some("assistant");
        }
        let choices = [ChunkChoice {
            index: choice,
            delta,
            logprobs: None,
            finish_reason: finish,
        }];
        self.write(&choices, None, out);
    }

    fn write(&self, choices: &[ChunkChoice<'_>], usage: Option<&Usage>, out: &mut String) {
        out.push_str("data: ");
        push_json(
            out,
            &Chunk {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices,
                usage,
            },
        );
        out.push_str("\n\n");
    }
}

impl Encoder for ChatChunks {
    fn event(&mut self, event: ChatEvent, out: &mut String) {
        self.meter.observe(&event);
        match event {
            ChatEvent::Content { choice, text } => {
                let delta = Delta {
                    content: Some(&text),
                    ..Delta::default()
                };
                self.chunk(choice, delta, None, out);
            }
            ChatEvent::Reasoning { choice, kind, text } => {
                let mut delta = Delta::default();
                match kind {
                    ReasoningKind::Text => delta.reasoning_text = Some(&text),
                    ReasoningKind::Opaque => delta.reasoning_opaque = Some(&text),
                    ReasoningKind::Summary => delta.cot_summary = Some(&text),
                    ReasoningKind::Id => delta.cot_id = Some(&text),
                    // A whole encrypted Anthropic thinking block has no chat field; chat models never
                    // send one.
                    _ => return,
                }
                self.chunk(choice, delta, None, out);
            }
            ChatEvent::ToolCall { choice, delta } => {
                let (index, new) = self.choices.entry(choice).or_default().tools.place(&delta);
                let tool = ToolDelta {
                    index,
                    id: if new { delta.id.as_deref() } else { None },
                    kind: new.then_some("function"),
                    function: FunctionDelta {
                        name: delta.name.as_deref(),
                        arguments: &delta.arguments,
                        thought_signature: delta.thought_signature.as_deref(),
                    },
                };
                let delta = Delta {
                    tool_calls: Some([tool]),
                    ..Delta::default()
                };
                self.chunk(choice, delta, None, out);
            }
            ChatEvent::FunctionCall {
                choice,
                name,
                arguments,
            } => {
                let delta = Delta {
                    function_call: Some(FunctionDelta {
                        name: name.as_deref(),
                        arguments: &arguments,
                        thought_signature: None,
                    }),
                    ..Delta::default()
                };
                self.chunk(choice, delta, None, out);
            }
            ChatEvent::Finish { choice, reason } => {
                let made_calls = self
                    .choices
                    .get(&choice)
                    .is_some_and(|c| c.tools.count() > 0);
                let reason = match reason {
                    FinishReason::Stop if made_calls => FinishReason::ToolCalls,
                    other => other,
                };
                self.chunk(choice, Delta::default(), Some(reason.as_str()), out);
            }
            ChatEvent::Meta {
                model: Some(model), ..
            } if !model.is_empty() => self.model = model,
            ChatEvent::Done { .. } => {
                if self.include_usage {
                    let mut usage = self.meter.usage.clone().unwrap_or_default();
                    if let Some(cost) = self.meter.cost_nano_aiu {
                        usage.extra.insert(super::COST_USAGE_FIELD, cost);
                    }
                    self.write(&[], Some(&usage), out);
                }
                out.push_str("data: [DONE]\n\n");
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

/// A `chat.completion` object from a collected answer (a translated, non-streamed request).
pub(crate) fn completion(collected: &CollectedChat, model: &str) -> Value {
    let choices: Vec<Value> = collected
        .choices
        .iter()
        .map(|choice| {
            let mut message = json!({
                "role": "assistant",
                "content": if choice.content.is_empty() && !choice.tool_calls.is_empty() {
                    Value::Null
                } else {
                    Value::String(choice.content.clone())
                },
            });
            if !choice.tool_calls.is_empty() {
                message["tool_calls"] = json!(choice.tool_calls);
            }
            if !choice.reasoning.text.is_empty() {
                message["reasoning_text"] = json!(choice.reasoning.text);
            }
            if let Some(opaque) = &choice.reasoning.opaque {
                message["reasoning_opaque"] = json!(opaque);
            }
            json!({
                "index": choice.index,
                "message": message,
                "logprobs": null,
                "finish_reason": choice.finish_reason.as_ref().map_or("stop", |r| r.as_str()),
            })
        })
        .collect();
    let mut body = json!({
        "id": collected.id.clone().filter(|i| !i.trim().is_empty()).unwrap_or_else(|| new_id("chatcmpl-")),
        "object": "chat.completion",
        "created": now_secs(),
        "model": model,
        "choices": choices,
    });
    if let Some(usage) = &collected.usage {
        body["usage"] = json!(usage);
    }
    body
}
