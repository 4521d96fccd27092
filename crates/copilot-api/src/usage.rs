//! Token accounting shared by every endpoint: [`Usage`] in chat-completions terms (the `/responses`
//! usage converts into it), decoded by hand so unknown fields (Copilot's cost extras) stay raw.

use serde::Serialize;
use serde::de::{Deserialize, Deserializer};

use crate::wire::extra::Extra;
use crate::wire::fields::decode_fields;

/// Token accounting. Every count defaults to 0 when absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
    /// Prompt details (cached tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Completion details (reasoning and prediction tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Anthropic: tokens written to the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Anything else (Copilot cost extras and future fields).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Usage {
    /// Cached prompt tokens, when reported.
    pub fn cached_tokens(&self) -> Option<u64> {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
    }

    /// Reasoning tokens, when reported: in `completion_tokens_details`, or at the top level of `usage` as
    /// Gemini streams report them.
    pub fn reasoning_tokens(&self) -> Option<u64> {
        self.completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .or_else(|| {
                self.extra
                    .get_as::<u64>("reasoning_tokens")
                    .and_then(Result::ok)
            })
    }
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct PromptTokensDetails {
    /// Tokens served from the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `usage.completion_tokens_details`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CompletionTokensDetails {
    /// Tokens spent reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Predicted-output tokens that were used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_prediction_tokens: Option<u64>,
    /// Predicted-output tokens that were not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_prediction_tokens: Option<u64>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

decode_fields! {
    Usage {
        prompt_tokens: u64 = default,
        completion_tokens: u64 = default,
        total_tokens: u64 = default,
        prompt_tokens_details: Option<PromptTokensDetails> = default,
        completion_tokens_details: Option<CompletionTokensDetails> = default,
        cache_creation_input_tokens: Option<u64> = default,
    }
}

decode_fields! {
    PromptTokensDetails {
        cached_tokens: Option<u64> = default,
    }
}

decode_fields! {
    CompletionTokensDetails {
        reasoning_tokens: Option<u64> = default,
        accepted_prediction_tokens: Option<u64> = default,
        rejected_prediction_tokens: Option<u64> = default,
    }
}

/// Copilot's cost of one answer (`copilot_usage`): AI credits in nano-AIU (1e9 nano-AIU = 1 credit), sent
/// on non-streamed answers and on the last event of a stream, on every conversation endpoint.
///
/// ```
/// let usage: copilot_api::CopilotUsage =
///     serde_json::from_str(r#"{"total_nano_aiu":1250000000,"token_details":[]}"#).unwrap();
/// assert_eq!(usage.total_nano_aiu, 1_250_000_000);
/// assert_eq!(usage.credits(), 1.25);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CopilotUsage {
    /// The total cost in nano-AIU (a number the server sends; a fraction or an out-of-range value is
    /// rounded and saturated, a negative one is 0).
    #[serde(default, deserialize_with = "nano_aiu")]
    pub total_nano_aiu: u64,
    /// Fields this version does not model (the per-token-kind breakdown, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl CopilotUsage {
    /// A cost of `total_nano_aiu`.
    pub fn new(total_nano_aiu: u64) -> Self {
        CopilotUsage {
            total_nano_aiu,
            extra: serde_json::Map::new(),
        }
    }

    /// The cost in AI credits.
    pub fn credits(&self) -> f64 {
        self.total_nano_aiu as f64 / 1e9
    }

    /// Adds another answer's cost (saturating), for running totals.
    pub fn add(&mut self, other: &CopilotUsage) {
        self.total_nano_aiu = self.total_nano_aiu.saturating_add(other.total_nano_aiu);
    }
}

/// Reads a server-supplied count leniently: integers as they are, floats rounded, out-of-range values
/// saturated, negatives and non-numbers as 0.
fn nano_aiu<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(number) => match (number.as_u64(), number.as_f64()) {
            (Some(n), _) => n,
            // `as` saturates: NaN is 0, huge values are u64::MAX, negatives 0.
            (None, Some(f)) => f.round() as u64,
            (None, None) => 0,
        },
        serde_json::Value::String(text) => text.trim().parse().unwrap_or(0),
        _ => 0,
    })
}
