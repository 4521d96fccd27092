//! The non-streamed Anthropic Messages answer ([`MessagesResponse`]), its [`StopReason`] and
//! [`MessagesUsage`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{ChatEvent, FinishReason, ReasoningKind, Role};
use crate::decode::tool_delta;
use crate::messages::{AnthropicMessage, ContentBlock, MessageContent};
use crate::usage::{CopilotUsage, PromptTokensDetails, Usage};
use crate::wire::extra::Extra;
use crate::wire::open_enum::open_enum;

open_enum! {
    /// Why the model stopped.
    pub enum StopReason {
        /// A natural end.
        EndTurn => "end_turn",
        /// Hit `max_tokens`.
        MaxTokens => "max_tokens",
        /// Hit a stop sequence (`stop_sequence` says which).
        StopSequence => "stop_sequence",
        /// The model wants tools run.
        ToolUse => "tool_use",
        /// A long server-tool turn paused; send the answer back to continue.
        PauseTurn => "pause_turn",
        /// The model refused.
        Refusal => "refusal",
    }
}

impl StopReason {
    /// The same reason in chat-completions terms (what [`ChatEvent::Finish`](crate::ChatEvent::Finish)
    /// carries): end turn and stop sequence are `stop`, max tokens is `length`, tool use is `tool_calls`, a
    /// refusal is `content_filter`; others pass through as [`FinishReason::Other`].
    pub fn to_finish_reason(&self) -> FinishReason {
        match self {
            StopReason::EndTurn | StopReason::StopSequence => FinishReason::Stop,
            StopReason::MaxTokens => FinishReason::Length,
            StopReason::ToolUse => FinishReason::ToolCalls,
            StopReason::Refusal => FinishReason::ContentFilter,
            other => FinishReason::Other(other.as_str().to_owned()),
        }
    }
}

/// Messages usage. Anthropic's `input_tokens` excludes cached tokens: the cache reads and writes are
/// counted apart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens (thinking included).
    #[serde(default)]
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesUsage {
    /// The same numbers in chat [`Usage`] terms: the prompt counts every input token (uncached, cache
    /// reads and cache writes), with the cache reads as `cached_tokens`.
    pub fn to_usage(&self) -> Usage {
        let cache_read = self.cache_read_input_tokens.unwrap_or(0);
        let cache_write = self.cache_creation_input_tokens.unwrap_or(0);
        let prompt = self
            .input_tokens
            .saturating_add(cache_read)
            .saturating_add(cache_write);
        let mut usage = Usage {
            prompt_tokens: prompt,
            completion_tokens: self.output_tokens,
            total_tokens: prompt.saturating_add(self.output_tokens),
            ..Usage::default()
        };
        usage.prompt_tokens_details =
            self.cache_read_input_tokens
                .map(|cached| PromptTokensDetails {
                    cached_tokens: Some(cached),
                    ..PromptTokensDetails::default()
                });
        usage.cache_creation_input_tokens = self.cache_creation_input_tokens;
        let mut extra = Extra::new();
        for (key, value) in &self.extra {
            extra.insert(key.clone(), value.clone());
        }
        usage.extra = extra;
        usage
    }
}

/// A non-streamed `/v1/messages` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesResponse {
    /// The message id (`msg_…`).
    #[serde(default)]
    pub id: String,
    /// `message`.
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    /// `assistant`.
    #[serde(default = "assistant")]
    pub role: Role,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The answer's blocks, in order (thinking, text, tool use, …).
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// Why it stopped.
    pub stop_reason: Option<StopReason>,
    /// The stop sequence hit, if any.
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: MessagesUsage,
    /// Anything else (`copilot_usage`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn message_type() -> String {
    "message".to_owned()
}

fn assistant() -> Role {
    Role::Assistant
}

impl MessagesResponse {
    /// Copilot's cost of this answer (`copilot_usage`), when reported and readable.
    pub fn copilot_usage(&self) -> Option<CopilotUsage> {
        self.extra
            .get("copilot_usage")
            .and_then(|value| CopilotUsage::deserialize(value).ok())
    }

    /// All text blocks joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(text.text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool calls, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = &crate::messages::ToolUseBlock> {
        self.content.iter().filter_map(|block| match block {
            ContentBlock::ToolUse(call) => Some(call),
            _ => None,
        })
    }

    /// The stop reason in chat terms (`tool_calls` whenever a tool was called).
    pub fn finish_reason(&self) -> Option<FinishReason> {
        if self.tool_uses().next().is_some() {
            return Some(FinishReason::ToolCalls);
        }
        self.stop_reason.as_ref().map(StopReason::to_finish_reason)
    }

    /// The assistant message to append for the next turn: every block, thinking and signatures included,
    /// unchanged and in order.
    pub fn to_message(&self) -> AnthropicMessage {
        AnthropicMessage::assistant(MessageContent::Blocks(self.content.clone()))
    }

    /// The answer as the [`ChatEvent`]s its stream would have produced (the same mapping as
    /// [`messages_stream`](crate::CopilotApiClient::messages_stream): thinking text and signature as
    /// reasoning, `redacted_thinking` as redacted reasoning, `tool_use` as one whole tool-call fragment, then
    /// the usage, `copilot_usage` and the finish), so a [`ChatCollector`](crate::ChatCollector) assembles a
    /// non-streamed answer exactly like a streamed one, block order included. Blocks of other types are
    /// kept as [`ChatEvent::Extra`] named by their `type`.
    pub fn to_events(&self) -> Vec<ChatEvent> {
        let mut events = vec![ChatEvent::Meta {
            id: self.id.clone(),
            model: Some(self.model.clone()).filter(|model| !model.is_empty()),
            created: None,
        }];
        let reasoning = |kind, text: &str| {
            (!text.is_empty()).then(|| ChatEvent::Reasoning {
                choice: 0,
                kind,
                text: text.to_owned(),
            })
        };
        for (index, block) in (0u32..).zip(&self.content) {
            match block {
                ContentBlock::Text(text) if !text.text.is_empty() => {
                    events.push(ChatEvent::Content {
                        choice: 0,
                        text: text.text.clone(),
                    });
                }
                ContentBlock::Text(_) => {}
                ContentBlock::Thinking(thinking) => events.extend(
                    [
                        reasoning(ReasoningKind::Text, &thinking.thinking),
                        reasoning(ReasoningKind::Opaque, &thinking.signature),
                    ]
                    .into_iter()
                    .flatten(),
                ),
                ContentBlock::RedactedThinking(redacted) => {
                    events.extend(reasoning(ReasoningKind::Redacted, &redacted.data));
                }
                ContentBlock::ToolUse(call) => events.push(tool_delta(
                    index,
                    Some(call.id.clone()),
                    Some(call.name.clone()),
                    match &call.input {
                        Value::Null => "{}".to_owned(),
                        input => input.to_string(),
                    },
                )),
                other => {
                    let kind = match other {
                        ContentBlock::Other(value) => value.get("type").and_then(Value::as_str),
                        _ => None,
                    };
                    if let Ok(value) = serde_json::value::to_raw_value(other) {
                        events.push(ChatEvent::Extra {
                            choice: Some(0),
                            name: kind.unwrap_or("content_block").to_owned(),
                            value,
                        });
                    }
                }
            }
        }
        events.push(ChatEvent::Usage(Box::new(self.usage.to_usage())));
        if let Some(value) = self.extra.get("copilot_usage").filter(|v| !v.is_null())
            && let Ok(value) = serde_json::value::to_raw_value(value)
        {
            events.push(ChatEvent::Extra {
                choice: None,
                name: "copilot_usage".to_owned(),
                value,
            });
        }
        if let Some(reason) = self.finish_reason() {
            events.push(ChatEvent::Finish { choice: 0, reason });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn usage_counts_cache_reads_and_writes_in_the_prompt() {
        let usage: MessagesUsage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 30, "service_tier": "standard"
        }))
        .unwrap();
        let chat = usage.to_usage();
        assert_eq!(
            (
                chat.prompt_tokens,
                chat.completion_tokens,
                chat.total_tokens
            ),
            (60, 5, 65)
        );
        assert_eq!(chat.cached_tokens(), Some(30));
        assert_eq!(chat.cache_creation_input_tokens, Some(20));
        assert_eq!(
            chat.extra
                .get_as::<String>("service_tier")
                .unwrap()
                .unwrap(),
            "standard"
        );
    }

    #[test]
    fn a_whole_answer_collects_like_its_stream() {
        let response: MessagesResponse = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4.5",
            "content": [
                {"type": "thinking", "thinking": "Look it up.", "signature": "sig=="},
                {"type": "redacted_thinking", "data": "enc=="},
                {"type": "text", "text": "I will use a tool."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Lisbon"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 5},
            "copilot_usage": {"total_nano_aiu": 42, "token_details": []}
        }))
        .unwrap();
        let mut collector = crate::ChatCollector::new(None);
        for event in response.to_events() {
            collector.push(event);
        }
        let collected = collector.finish();
        assert_eq!(collected.id.as_deref(), Some("msg_1"));
        assert_eq!(collected.usage.as_ref().map(|u| u.total_tokens), Some(15));
        assert_eq!(
            collected.copilot_usage.as_ref().map(|c| c.total_nano_aiu),
            Some(42)
        );
        let message = collected.message().expect("one choice");
        assert_eq!(message.content, "I will use a tool.");
        assert_eq!(message.reasoning.text, "Look it up.");
        assert_eq!(message.reasoning.opaque.as_deref(), Some("sig=="));
        assert_eq!(message.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(
            message.tool_calls[0].function.arguments,
            r#"{"city":"Lisbon"}"#
        );
        // Replayed on /v1/messages, it is the answer's blocks, unchanged and in order.
        assert_eq!(message.to_anthropic_message(), response.to_message());
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        for (stop, finish) in [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("tool_use", FinishReason::ToolCalls),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other("pause_turn".into())),
            ("brand_new", FinishReason::Other("brand_new".into())),
        ] {
            assert_eq!(StopReason::from(stop).to_finish_reason(), finish, "{stop}");
        }
    }
}
