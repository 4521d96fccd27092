//! Assembling [`ChatEvent`]s into whole messages, per choice.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::chat::{ChatEvent, ReasoningKind, ToolCallDelta};
use serde_json::Value;

use crate::chat::{FinishReason, FunctionCall, Message, Role, ToolCall};
use crate::messages::{AnthropicMessage, ContentBlock, MessageContent};
use crate::responses::{ReasoningSummary, ResponseContent, ResponseItem};
use crate::usage::{CopilotUsage, Usage};

/// The reasoning of one choice, ready for display and replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CollectedReasoning {
    /// Readable thinking (`reasoning_text` and generic keys).
    pub text: String,
    /// The signature / encrypted content, to replay unchanged (`reasoning_opaque`, `encrypted_content`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opaque: Option<String>,
    /// Summaries (`cot_summary`, `/responses` reasoning summary).
    pub summary: String,
    /// The reasoning id (`cot_id`, `/responses` reasoning item id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl CollectedReasoning {
    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.opaque.is_none()
            && self.summary.is_empty()
            && self.id.is_none()
    }
}

/// One thinking block of an answer, as the server split them (Anthropic Messages sends one block per
/// thought; chat completions' `reasoning_text` + `reasoning_opaque` make one block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CollectedThinking {
    /// Readable thinking and the signature that lets the server verify it on replay.
    Thinking {
        /// The thinking text.
        thinking: String,
        /// The signature (empty until it arrives).
        signature: String,
    },
    /// Encrypted thinking, replayed unchanged.
    Redacted {
        /// The encrypted data.
        data: String,
    },
}

/// Where each part of a message arrived, so the Messages replay keeps the server's block order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `thinking[i]`.
    Thinking(usize),
    /// `content[start..end]`.
    Text(usize, usize),
    /// `tool_calls[i]`.
    ToolCall(usize),
}

/// One assembled assistant message (one choice).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CollectedMessage {
    /// The choice index.
    pub index: u32,
    /// All content deltas joined.
    pub content: String,
    /// Reasoning, kept apart from content.
    pub reasoning: CollectedReasoning,
    /// The thinking blocks in arrival order, each with its signature (what a Messages replay sends back).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thinking: Vec<CollectedThinking>,
    /// Tool calls in arrival order, arguments joined.
    pub tool_calls: Vec<ToolCall>,
    /// A legacy function call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// The finish reason; `stop` with tool calls becomes `tool_calls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// The arrival order of thinking, text and tool calls.
    #[serde(skip)]
    layout: Vec<Segment>,
}

impl CollectedMessage {
    /// The assistant message to append to the conversation for the next `/chat/completions` turn, with the
    /// reasoning replay fields set.
    pub fn to_message(&self) -> Message {
        let mut message = Message::assistant(self.content.clone());
        if self.content.is_empty() && !self.tool_calls.is_empty() {
            message.content = None;
        }
        message.tool_calls = self.tool_calls.clone();
        message.function_call = self.function_call.clone();
        message.reasoning_text = Some(self.reasoning.text.clone()).filter(|t| !t.is_empty());
        message.reasoning_opaque = self.reasoning.opaque.clone();
        message
    }

    /// The assistant message to append for the next `/v1/messages` turn: thinking blocks (with their
    /// signatures), text and tool calls as blocks, in the order they arrived. Tool arguments that are not
    /// a JSON object (a truncated call) are sent as `{}`.
    pub fn to_anthropic_message(&self) -> AnthropicMessage {
        let mut blocks = Vec::with_capacity(self.layout.len());
        for segment in &self.layout {
            match *segment {
                Segment::Thinking(i) => blocks.push(match &self.thinking[i] {
                    CollectedThinking::Thinking {
                        thinking,
                        signature,
                    } => ContentBlock::thinking(thinking.clone(), signature.clone()),
                    CollectedThinking::Redacted { data } => {
                        ContentBlock::redacted_thinking(data.clone())
                    }
                }),
                Segment::Text(start, end) => {
                    let text = self.content.get(start..end).unwrap_or_default();
                    match blocks.last_mut() {
                        // Text split only by an event boundary stays one block.
                        Some(ContentBlock::Text(block)) => block.text.push_str(text),
                        _ => blocks.push(ContentBlock::text(text)),
                    }
                }
                Segment::ToolCall(i) => {
                    let call = &self.tool_calls[i];
                    let arguments = call.function.arguments.trim();
                    let input = match serde_json::from_str::<Value>(arguments) {
                        Ok(input @ Value::Object(_)) => input,
                        _ => {
                            if !arguments.is_empty() {
                                tracing::warn!(call = %call.id, "tool arguments are not a JSON object; replaying {{}}");
                            }
                            Value::Object(serde_json::Map::new())
                        }
                    };
                    blocks.push(ContentBlock::tool_use(
                        call.id.clone(),
                        call.function.name.clone(),
                        input,
                    ));
                }
            }
        }
        AnthropicMessage::assistant(MessageContent::Blocks(blocks))
    }

    /// The items to append to `input[]` for the next `/responses` turn: reasoning (with `encrypted_content`
    /// unchanged), the assistant text, then the function calls.
    pub fn to_response_items(&self) -> Vec<ResponseItem> {
        let mut items = Vec::new();
        if self.reasoning.id.is_some() || self.reasoning.opaque.is_some() {
            let summary = if self.reasoning.summary.is_empty() {
                Vec::new()
            } else {
                vec![ReasoningSummary::new(self.reasoning.summary.clone())]
            };
            items.push(ResponseItem::Reasoning {
                id: self.reasoning.id.clone(),
                summary,
                encrypted_content: self.reasoning.opaque.clone(),
                extra: serde_json::Map::new(),
            });
        }
        if !self.content.is_empty() {
            items.push(ResponseItem::Message {
                role: Role::Assistant,
                content: vec![ResponseContent::OutputText {
                    text: self.content.clone(),
                    extra: serde_json::Map::new(),
                }],
                id: None,
                status: None,
                extra: serde_json::Map::new(),
            });
        }
        for call in &self.tool_calls {
            items.push(ResponseItem::FunctionCall {
                call_id: call.id.clone(),
                name: call.function.name.clone(),
                arguments: call.function.arguments.clone(),
                id: None,
                extra: serde_json::Map::new(),
            });
        }
        items
    }
}

/// A Copilot extra seen in the stream.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CollectedExtra {
    /// The choice it belongs to, for per-choice extras.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<u32>,
    /// The field name.
    pub name: String,
    /// The raw value.
    pub value: Box<RawValue>,
}

/// A whole streamed answer.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct CollectedChat {
    /// The response id, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The model, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// One message per choice, ordered by index.
    pub choices: Vec<CollectedMessage>,
    /// Usage (the last report wins; dropped when more than one choice was requested or seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Whether `data: [DONE]` was seen.
    pub done_marker: bool,
    /// Whether any choice finished; `false` suggests truncation.
    pub saw_finish: bool,
    /// Copilot extras in arrival order.
    pub extras: Vec<CollectedExtra>,
    /// Copilot's cost of this answer (`copilot_usage` from the stream's last event; the last report wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copilot_usage: Option<CopilotUsage>,
    /// Why payloads were skipped as malformed (see [`ChatEvent::Malformed`]), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<String>,
}

impl CollectedChat {
    /// The cost of this answer in AI credits, when the server reported it.
    pub fn credits(&self) -> Option<f64> {
        self.copilot_usage.as_ref().map(CopilotUsage::credits)
    }

    /// The first choice (the only one for `n = 1`).
    pub fn message(&self) -> Option<&CollectedMessage> {
        self.choices.first()
    }
}

#[derive(Debug, Default)]
struct ChoiceState {
    message: CollectedMessage,
    /// The position in `tool_calls` of the most recent call per server index.
    latest_at_index: BTreeMap<u32, usize>,
}

impl ChoiceState {
    fn content(&mut self, text: &str) {
        let message = &mut self.message;
        let start = message.content.len();
        message.content.push_str(text);
        let end = message.content.len();
        match message.layout.last_mut() {
            Some(Segment::Text(_, last_end)) if *last_end == start => *last_end = end,
            _ => message.layout.push(Segment::Text(start, end)),
        }
    }

    /// Adds a reasoning piece to the thinking blocks: text opens a block unless the latest one is still
    /// waiting for its signature; a signature closes the latest unsigned block (or stands alone); redacted
    /// data is a block of its own.
    fn thinking(&mut self, kind: ReasoningKind, text: &str) {
        let message = &mut self.message;
        let open = match message.layout.last() {
            Some(Segment::Thinking(i)) => match &mut message.thinking[*i] {
                CollectedThinking::Thinking { signature, .. } if signature.is_empty() => Some(*i),
                _ => None,
            },
            _ => None,
        };
        let unsigned = message.thinking.iter().rposition(|block| {
            matches!(block, CollectedThinking::Thinking { signature, .. } if signature.is_empty())
        });
        let target = match kind {
            ReasoningKind::Text => open,
            ReasoningKind::Opaque => unsigned,
            ReasoningKind::Redacted => {
                message.thinking.push(CollectedThinking::Redacted {
                    data: text.to_owned(),
                });
                message
                    .layout
                    .push(Segment::Thinking(message.thinking.len() - 1));
                return;
            }
            ReasoningKind::Summary | ReasoningKind::Id => return,
        };
        let index = match target {
            Some(index) => index,
            None => {
                message.thinking.push(CollectedThinking::Thinking {
                    thinking: String::new(),
                    signature: String::new(),
                });
                message
                    .layout
                    .push(Segment::Thinking(message.thinking.len() - 1));
                message.thinking.len() - 1
            }
        };
        if let CollectedThinking::Thinking {
            thinking,
            signature,
        } = &mut message.thinking[index]
        {
            match kind {
                ReasoningKind::Text => thinking.push_str(text),
                _ => signature.push_str(text),
            }
        }
    }

    fn tool_call(&mut self, delta: ToolCallDelta) {
        let calls = &mut self.message.tool_calls;
        let known = match &delta.id {
            // By id first: a known id continues its call; an unknown id starts a new one, even at a reused
            // index (Claude numbers successive calls 0, 0, 0).
            Some(id) => calls.iter().rposition(|c| &c.id == id),
            // By index second: a fragment without id continues the latest call at its index.
            None => self.latest_at_index.get(&delta.index).copied(),
        };
        let position = match known {
            Some(position) => position,
            None => {
                calls.push(ToolCall::function(
                    delta.id.clone().unwrap_or_default(),
                    "",
                    "",
                ));
                self.message.layout.push(Segment::ToolCall(calls.len() - 1));
                calls.len() - 1
            }
        };
        self.latest_at_index.insert(delta.index, position);
        let call = &mut calls[position];
        if let Some(name) = delta.name {
            call.function.name.push_str(&name);
        }
        call.function.arguments.push_str(&delta.arguments);
        if let Some(signature) = delta.thought_signature {
            call.function.thought_signature = Some(signature);
        }
    }
}

/// Folds [`ChatEvent`]s into a [`CollectedChat`]. [`ChatStream::collect`](crate::ChatStream::collect) uses it;
/// it is public for callers who want to both display events and keep the result.
#[derive(Debug, Default)]
pub struct ChatCollector {
    requested_choices: Option<u32>,
    choices: BTreeMap<u32, ChoiceState>,
    result: CollectedChat,
}

impl ChatCollector {
    /// A collector; `requested_choices` is the request's `n` (usage is ignored when it is above 1).
    pub fn new(requested_choices: Option<u32>) -> Self {
        ChatCollector {
            requested_choices,
            ..Self::default()
        }
    }

    /// Adds one event.
    pub fn push(&mut self, event: ChatEvent) {
        match event {
            ChatEvent::Meta { id, model, .. } => {
                self.result.id = Some(id);
                if model.is_some() {
                    self.result.model = model;
                }
            }
            ChatEvent::Content { choice, text } => self.choice(choice).content(&text),
            ChatEvent::Reasoning { choice, kind, text } => {
                let state = self.choice(choice);
                state.thinking(kind, &text);
                let reasoning = &mut state.message.reasoning;
                match kind {
                    ReasoningKind::Text => reasoning.text.push_str(&text),
                    ReasoningKind::Opaque => reasoning
                        .opaque
                        .get_or_insert_with(String::new)
                        .push_str(&text),
                    ReasoningKind::Summary => reasoning.summary.push_str(&text),
                    ReasoningKind::Id => reasoning.id = Some(text),
                    ReasoningKind::Redacted => {}
                }
            }
            ChatEvent::ToolCall { choice, delta } => self.choice(choice).tool_call(delta),
            ChatEvent::FunctionCall {
                choice,
                name,
                arguments,
            } => {
                let call = self
                    .choice(choice)
                    .message
                    .function_call
                    .get_or_insert_with(FunctionCall::default);
                if let Some(name) = name {
                    call.name.push_str(&name);
                }
                call.arguments.push_str(&arguments);
            }
            ChatEvent::Usage(usage) => self.result.usage = Some(*usage),
            ChatEvent::Finish { choice, reason } => {
                self.choice(choice).message.finish_reason = Some(reason)
            }
            ChatEvent::Malformed { error, .. } => self.result.malformed.push(error),
            ChatEvent::Extra {
                choice,
                name,
                value,
            } => {
                if name == "copilot_usage" {
                    match serde_json::from_str::<CopilotUsage>(value.get()) {
                        Ok(usage) => self.result.copilot_usage = Some(usage),
                        Err(error) => tracing::warn!(%error, "unreadable copilot_usage"),
                    }
                }
                self.result.extras.push(CollectedExtra {
                    choice,
                    name,
                    value,
                })
            }
            ChatEvent::Done {
                done_marker,
                saw_finish,
            } => {
                self.result.done_marker = done_marker;
                self.result.saw_finish = saw_finish;
            }
        }
    }

    fn choice(&mut self, index: u32) -> &mut ChoiceState {
        self.choices.entry(index).or_insert_with(|| ChoiceState {
            message: CollectedMessage {
                index,
                ..CollectedMessage::default()
            },
            latest_at_index: BTreeMap::new(),
        })
    }

    /// The assembled answer.
    pub fn finish(mut self) -> CollectedChat {
        let several = self.requested_choices.unwrap_or(1) > 1 || self.choices.len() > 1;
        if several {
            self.result.usage = None;
        }
        self.result.choices = self
            .choices
            .into_values()
            .map(|state| {
                let mut message = state.message;
                if !message.tool_calls.is_empty()
                    && message.finish_reason == Some(FinishReason::Stop)
                {
                    message.finish_reason = Some(FinishReason::ToolCalls);
                }
                message
            })
            .collect();
        self.result
    }
}
