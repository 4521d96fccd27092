//! The non-streamed Responses API answer ([`ResponsesResponse`]) and its usage ([`ResponsesUsage`]).
//!
//! Both decode by hand (see [`crate::wire::fields`]): unknown fields go straight into an [`Extra`] as raw
//! JSON. The rules are the derive's: absent fields take their defaults, `null` reads as absent.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::chat::FinishReason;
use crate::responses::{ResponseContent, ResponseItem};
use crate::usage::{CompletionTokensDetails, CopilotUsage, PromptTokensDetails, Usage};
use crate::wire::extra::Extra;
use crate::wire::fields::decode_fields;

/// `/responses` usage.
/// Decoded by hand (below): unknown fields go straight into [`Extra`] as raw JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ResponsesUsage {
    /// Input tokens (0 when absent).
    pub input_tokens: u64,
    /// Output tokens (0 when absent).
    pub output_tokens: u64,
    /// Total tokens (0 when absent).
    pub total_tokens: u64,
    /// `{cached_tokens}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<Map<String, Value>>,
    /// `{reasoning_tokens}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<Map<String, Value>>,
    /// Anything else, as raw JSON.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponsesUsage {
    /// The same numbers in chat [`Usage`] terms.
    pub fn to_usage(&self) -> Usage {
        let detail = |map: &Option<Map<String, Value>>, key: &str| {
            map.as_ref()
                .and_then(|m| m.get(key))
                .and_then(Value::as_u64)
        };
        let cached = detail(&self.input_tokens_details, "cached_tokens");
        let reasoning = detail(&self.output_tokens_details, "reasoning_tokens");
        Usage {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            prompt_tokens_details: cached.map(|c| PromptTokensDetails {
                cached_tokens: Some(c),
                extra: Extra::new(),
            }),
            completion_tokens_details: reasoning.map(|r| CompletionTokensDetails {
                reasoning_tokens: Some(r),
                accepted_prediction_tokens: None,
                rejected_prediction_tokens: None,
                extra: Extra::new(),
            }),
            cache_creation_input_tokens: None,
            extra: self.extra.clone(),
        }
    }
}

/// A non-streamed `/responses` answer. Decoded by hand (below): unknown fields go straight into
/// [`Extra`] as raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResponsesResponse {
    /// The response id (empty when absent).
    pub id: String,
    /// The model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `completed`, `incomplete`, `failed`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Output items: messages, function calls, reasoning.
    pub output: Vec<ResponseItem>,
    /// Usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponsesUsage>,
    /// Why the answer is incomplete (`{"reason":"max_output_tokens"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<Value>,
    /// Anything else, as raw JSON.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponsesResponse {
    /// Copilot's cost of this answer (`copilot_usage`), when reported and readable.
    pub fn copilot_usage(&self) -> Option<CopilotUsage> {
        self.extra.get_as("copilot_usage").and_then(Result::ok)
    }

    /// All output text joined.
    pub fn output_text(&self) -> String {
        let mut text = String::new();
        for item in &self.output {
            if let ResponseItem::Message { content, .. } = item {
                for part in content {
                    if let ResponseContent::OutputText { text: t, .. } = part {
                        text.push_str(t);
                    }
                }
            }
        }
        text
    }

    /// The function calls, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &ResponseItem> {
        self.output
            .iter()
            .filter(|item| matches!(item, ResponseItem::FunctionCall { .. }))
    }

    /// The finish reason in chat terms: tool calls, length/content filter for incomplete answers, else stop.
    pub fn finish_reason(&self) -> FinishReason {
        if self.function_calls().next().is_some() {
            return FinishReason::ToolCalls;
        }
        match self
            .incomplete_details
            .as_ref()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
        {
            Some(reason) => incomplete_reason(reason),
            None => FinishReason::Stop,
        }
    }
}

/// Maps `incomplete_details.reason` to a chat finish reason.
pub(crate) fn incomplete_reason(reason: &str) -> FinishReason {
    match reason {
        "max_output_tokens" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

decode_fields! {
    ResponsesResponse {
        id: String = default,
        model: Option<String> = default,
        status: Option<String> = default,
        output: Vec<ResponseItem> = default,
        usage: Option<ResponsesUsage> = default,
        incomplete_details: Option<Value> = default,
    }
}

decode_fields! {
    ResponsesUsage {
        input_tokens: u64 = default,
        output_tokens: u64 = default,
        total_tokens: u64 = default,
        input_tokens_details: Option<Map<String, Value>> = default,
        output_tokens_details: Option<Map<String, Value>> = default,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_like_the_derive_and_keeps_unknown_fields_raw() {
        let response: ResponsesResponse = serde_json::from_str(
            r#"{"id":"r1","model":null,"output":[],"usage":{"input_tokens":3,"output_tokens_details":{"reasoning_tokens":2},"cost": {"x": 1}},"created_at":7}"#,
        )
        .unwrap();
        assert_eq!(response.id, "r1");
        assert_eq!(response.model, None);
        let usage = response.usage.as_ref().unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (3, 0));
        assert_eq!(usage.extra.get("cost").unwrap().get(), r#"{"x": 1}"#);
        assert_eq!(
            response.extra.get_as::<u64>("created_at").unwrap().unwrap(),
            7
        );
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"id":"r1","output":[],"usage":{"input_tokens":3,"output_tokens":0,"total_tokens":0,
                "output_tokens_details":{"reasoning_tokens":2},"cost":{"x":1}},"created_at":7})
        );
        assert!(serde_json::from_str::<ResponsesResponse>(r#"{"id":"a","id":"b"}"#).is_err());
        assert!(serde_json::from_str::<ResponsesResponse>(r#"{"output":null}"#).is_err());
    }
}
