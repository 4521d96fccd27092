//! The non-streamed chat completion: [`ChatResponse`], its [`Choice`]s and [`FinishReason`].
//!
//! Decoded by hand, not with the derive, for the reason given in [`crate::wire::fields`]: unknown fields go
//! straight into an [`Extra`] as raw JSON. `null` `choices` reads as empty; `message` is required in a
//! choice.

use serde::Serialize;

use crate::chat::{Content, Message};
use crate::usage::{CopilotUsage, Usage};
use crate::wire::extra::Extra;
use crate::wire::fields::decode_fields;
use crate::wire::open_enum::open_enum;

open_enum! {
    /// Why a choice stopped.
    pub enum FinishReason {
        /// Natural end.
        Stop => "stop",
        /// Hit the token limit.
        Length => "length",
        /// The model wants tool calls run.
        ToolCalls => "tool_calls",
        /// Legacy single function call.
        FunctionCall => "function_call",
        /// Stopped by the content filter.
        ContentFilter => "content_filter",
    }
}

/// A non-streamed chat completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The completion id (may be empty or contain stray spaces).
    pub id: String,
    /// The model that answered, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Unix seconds, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The choices. For `n = 1` requests the client merges Claude's split choices into one.
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Anything else (`object`, `system_fingerprint`, `copilot_references`, `prompt_filter_results`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One choice of a [`ChatResponse`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Choice {
    /// The choice index.
    pub index: u32,
    /// The assistant message.
    pub message: Message,
    /// Why it stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Anything else (content filter results, logprobs, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatResponse {
    /// Copilot's cost of this answer (`copilot_usage`), when reported and readable.
    pub fn copilot_usage(&self) -> Option<CopilotUsage> {
        self.extra.get_as("copilot_usage").and_then(Result::ok)
    }

    /// The first choice's message, if any.
    pub fn message(&self) -> Option<&Message> {
        self.choices.first().map(|c| &c.message)
    }

    /// Merges all choices into the first (Claude may put text in `choices[0]` and tool calls in `choices[1]`).
    /// Content is concatenated, tool calls appended in order, reasoning kept from the first choice that has
    /// it; the finish reason becomes `tool_calls` when any tool call was made. Only correct for `n = 1`.
    pub fn merge_choices(&mut self) {
        if self.choices.len() < 2 {
            return;
        }
        let mut rest = self.choices.split_off(1);
        let first = &mut self.choices[0];
        for choice in rest.drain(..) {
            let message = choice.message;
            let extra_text = message.text();
            if !extra_text.is_empty() {
                let mut text = first.message.text();
                text.push_str(&extra_text);
                first.message.content = Some(Content::Text(text));
            }
            first.message.tool_calls.extend(message.tool_calls);
            if first.message.reasoning_text.is_none() {
                first.message.reasoning_text = message.reasoning_text;
            }
            if first.message.reasoning_opaque.is_none() {
                first.message.reasoning_opaque = message.reasoning_opaque;
            }
            if first.finish_reason.is_none() {
                first.finish_reason = choice.finish_reason;
            }
        }
        if !first.message.tool_calls.is_empty() {
            first.finish_reason = Some(FinishReason::ToolCalls);
        }
    }
}

decode_fields! {
    ChatResponse {
        id: String = default,
        model: Option<String> = default,
        created: Option<u64> = default,
        choices: Vec<Choice> = null_as_default,
        usage: Option<Usage> = default,
    }
}

decode_fields! {
    Choice {
        index: u32 = default,
        message: Message = required,
        finish_reason: Option<FinishReason> = default,
    }
}
