//! The event vocabulary of a streamed answer, shared by `/chat/completions` and `/responses`.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::chat::FinishReason;
use crate::usage::Usage;

/// Which kind of reasoning a [`ChatEvent::Reasoning`] delta carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningKind {
    /// Readable thinking: `reasoning_text` (Claude/Gemini) or the generic `reasoning`, `reasoning_content`,
    /// `thinking`; `/responses` reasoning text.
    Text,
    /// An opaque signature or encrypted blob to replay unchanged: `reasoning_opaque`, `signature`, or the
    /// `/responses` reasoning item's `encrypted_content`.
    Opaque,
    /// A summary: OpenAI `cot_summary`, or `/responses` reasoning summary text.
    Summary,
    /// An identifier of the reasoning: OpenAI `cot_id` (arrives after `finish_reason`), or the `/responses`
    /// reasoning item id.
    Id,
    /// A whole encrypted thinking block (Anthropic `redacted_thinking.data`), replayed unchanged as its own
    /// block.
    Redacted,
}

/// A fragment of a tool call. The first fragment of a call carries `id` and `name`; later ones carry only
/// `index` and a piece of `arguments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// The call's position as the server numbers it (Claude reuses 0 for successive calls).
    pub index: u32,
    /// The call id, on the first fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function name, on the first fragment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON-encoded arguments (may be empty).
    pub arguments: String,
    /// Gemini's thought signature, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

/// One event of a streamed answer.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChatEvent {
    /// Response metadata, emitted when the id or model first becomes known (the prelude has an empty id).
    Meta {
        /// The response id (may contain stray spaces, as sent).
        id: String,
        /// The model, when reported.
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Unix seconds, when reported and non-zero.
        #[serde(skip_serializing_if = "Option::is_none")]
        created: Option<u64>,
    },
    /// A piece of answer text for `choice`.
    Content {
        /// The choice index.
        choice: u32,
        /// The text delta (never empty).
        text: String,
    },
    /// A piece of reasoning for `choice`; may arrive before, between or after content, even after the finish.
    Reasoning {
        /// The choice index.
        choice: u32,
        /// What this piece is.
        kind: ReasoningKind,
        /// The delta.
        text: String,
    },
    /// A tool-call fragment for `choice`.
    ToolCall {
        /// The choice index.
        choice: u32,
        /// The fragment.
        delta: ToolCallDelta,
    },
    /// A legacy `function_call` fragment for `choice`.
    FunctionCall {
        /// The choice index.
        choice: u32,
        /// The function name, on the first fragment.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// A piece of the arguments.
        arguments: String,
    },
    /// Token usage (it may come on the finish chunk or in a trailing chunk; the last one wins). Boxed to keep
    /// every event small: events are moved through a queue on the hot path.
    Usage(Box<Usage>),
    /// A choice finished. More events (e.g. `cot_id`) may still follow.
    Finish {
        /// The choice index.
        choice: u32,
        /// Why it stopped.
        reason: FinishReason,
    },
    /// A Copilot extra kept raw: `copilot_references`, `copilot_confirmation`, `copilot_errors`,
    /// `copilot_usage`, `prompt_filter_results`, `copilot_annotations`, `annotations`, or an unknown
    /// `/responses` event.
    Extra {
        /// The choice it belongs to, for per-choice extras.
        #[serde(skip_serializing_if = "Option::is_none")]
        choice: Option<u32>,
        /// The field (or event type) name.
        name: String,
        /// The raw JSON value.
        value: Box<RawValue>,
    },
    /// A `data:` payload that is not valid JSON for its endpoint. Real streams contain such lines; by
    /// default decoding goes on after one (a strict decoder ends the stream with
    /// [`ApiError::MalformedChunk`](crate::ApiError::MalformedChunk) instead).
    Malformed {
        /// The payload, as received (lossy UTF-8).
        raw: String,
        /// Why it could not be decoded.
        error: String,
    },
    /// The stream ended normally. Always the last event.
    Done {
        /// Whether `data: [DONE]` was seen (it may be missing; EOF then ends the stream).
        done_marker: bool,
        /// Whether any choice reported a finish reason; `false` suggests a truncated answer.
        saw_finish: bool,
    },
}
