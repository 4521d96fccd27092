//! The non-streamed Anthropic Messages answer ([`MessagesResponse`]), its [`StopReason`] and
//! [`MessagesUsage`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{FinishReason, Role};
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
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The stop sequence hit, if any.
    #[serde(default)]
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
