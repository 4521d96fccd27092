//! `POST {api}/responses` types (OpenAI Responses API, needed by responses-only models; `docs/protocol.md` §7).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{
    CompletionTokensDetails, FinishReason, ImageDetail, PromptTokensDetails, ReasoningEffort, Role,
    ToolChoice, Usage,
};
use crate::options::RequestOptions;
use crate::wire::extra::Extra;

/// One item of `input[]` (and of a response's `output[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseItem {
    /// A message.
    Message {
        /// The author.
        role: Role,
        /// The parts.
        content: Vec<ResponseContent>,
        /// The item id (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The item status (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A function call made by the model.
    FunctionCall {
        /// The call id, echoed by the output.
        call_id: String,
        /// The function name.
        name: String,
        /// JSON-encoded arguments.
        arguments: String,
        /// The item id (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A tool result.
    FunctionCallOutput {
        /// The call it answers.
        call_id: String,
        /// The result text.
        output: String,
    },
    /// Reasoning to replay. `encrypted_content` must be sent back byte-for-byte unchanged.
    Reasoning {
        /// The reasoning item id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Summary parts.
        #[serde(default)]
        summary: Vec<ReasoningSummary>,
        /// The encrypted reasoning (requested with `include: ["reasoning.encrypted_content"]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    /// Any other item, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

impl ResponseItem {
    /// A user message with text.
    pub fn user_text(text: impl Into<String>) -> Self {
        ResponseItem::Message {
            role: Role::User,
            content: vec![ResponseContent::InputText { text: text.into() }],
            id: None,
            status: None,
        }
    }

    /// A tool result.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        ResponseItem::FunctionCallOutput {
            call_id: call_id.into(),
            output: output.into(),
        }
    }

    /// Whether this item carries an image.
    pub fn has_image(&self) -> bool {
        match self {
            ResponseItem::Message { content, .. } => content.iter().any(|c| match c {
                ResponseContent::InputImage { .. } => true,
                ResponseContent::Other(v) => {
                    v.get("type").and_then(Value::as_str) == Some("input_image")
                }
                _ => false,
            }),
            _ => false,
        }
    }
}

/// A reasoning summary part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningSummary {
    /// Always `summary_text` today.
    #[serde(rename = "type", default = "summary_text")]
    pub kind: String,
    /// The summary text.
    #[serde(default)]
    pub text: String,
}

fn summary_text() -> String {
    "summary_text".to_owned()
}

impl ReasoningSummary {
    /// A `summary_text` part.
    pub fn new(text: impl Into<String>) -> Self {
        ReasoningSummary {
            kind: summary_text(),
            text: text.into(),
        }
    }
}

/// A content part of a [`ResponseItem::Message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseContent {
    /// User-side text.
    InputText {
        /// The text.
        text: String,
    },
    /// Assistant-side text (when replaying).
    OutputText {
        /// The text.
        text: String,
    },
    /// An image.
    InputImage {
        /// A data URL or https URL.
        image_url: String,
        /// Optional detail level.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<ImageDetail>,
    },
    /// Any other part, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

/// A function tool for `/responses` (flat, unlike chat's nested `function`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponsesTool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl ResponsesTool {
    /// A function tool; `None` parameters send an empty object schema.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Option<Value>,
    ) -> Self {
        ResponsesTool {
            kind: "function".to_owned(),
            name: name.into(),
            description: Some(description.into()),
            parameters: parameters
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            strict: None,
        }
    }
}

/// `reasoning` settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningConfig {
    /// The effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// Summary mode (`auto`, `concise`, `detailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl ReasoningConfig {
    /// Effort and summary mode.
    pub fn new(effort: Option<ReasoningEffort>, summary: Option<String>) -> Self {
        ReasoningConfig { effort, summary }
    }
}

/// A `/responses` request. Unset fields are omitted; `store` defaults to `false`; `service_tier` is never sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponsesRequest {
    /// A model id.
    pub model: String,
    /// The conversation as items.
    pub input: Vec<ResponseItem>,
    /// Set by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// System-level instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ResponsesTool>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Whether the server stores the response (`false` by default here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Truncation mode (`auto`, `disabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    /// Reasoning settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// Extra output to include, e.g. `reasoning.encrypted_content`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Prompt cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// `text` settings, e.g. `{"verbosity":"low"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Value>,
    /// Continue from a stored response (a stale id gives 400 `previous_response_not_found`: resend all input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Anything else, merged into the body.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Per-request headers and overrides.
    #[serde(skip)]
    pub options: RequestOptions,
}

impl ResponsesRequest {
    /// A request for `model` with `input`, `store: false`.
    pub fn new(model: impl Into<String>, input: Vec<ResponseItem>) -> Self {
        ResponsesRequest {
            model: model.into(),
            input,
            stream: None,
            instructions: None,
            tools: Vec::new(),
            tool_choice: None,
            max_output_tokens: None,
            store: Some(false),
            truncation: None,
            reasoning: None,
            include: Vec::new(),
            prompt_cache_key: None,
            text: None,
            previous_response_id: None,
            extra: Map::new(),
            options: RequestOptions::default(),
        }
    }

    /// Sets `instructions`.
    pub fn instructions(mut self, value: impl Into<String>) -> Self {
        self.instructions = Some(value.into());
        self
    }

    /// Sets the tools.
    pub fn tools(mut self, tools: Vec<ResponsesTool>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets `max_output_tokens`.
    pub fn max_output_tokens(mut self, value: u32) -> Self {
        self.max_output_tokens = Some(value);
        self
    }

    /// Sets `reasoning`, and asks for `reasoning.encrypted_content` so it can be replayed.
    pub fn reasoning(mut self, reasoning: ReasoningConfig) -> Self {
        self.reasoning = Some(reasoning);
        let include = "reasoning.encrypted_content";
        if !self.include.iter().any(|i| i == include) {
            self.include.push(include.to_owned());
        }
        self
    }

    /// Sets `previous_response_id`.
    pub fn previous_response_id(mut self, value: impl Into<String>) -> Self {
        self.previous_response_id = Some(value.into());
        self
    }

    /// Adds a body field this type does not model.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Sets per-request headers and overrides.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// Whether any input item carries an image.
    pub fn has_image(&self) -> bool {
        self.input.iter().any(ResponseItem::has_image)
    }
}

/// `/responses` usage.
/// Decoded by hand (`responses/response.rs`): unknown fields go straight into [`Extra`] as raw JSON.
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

/// A non-streamed `/responses` answer. Decoded by hand (`responses/response.rs`): unknown fields go straight into
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
    /// All output text joined.
    pub fn output_text(&self) -> String {
        let mut text = String::new();
        for item in &self.output {
            if let ResponseItem::Message { content, .. } = item {
                for part in content {
                    if let ResponseContent::OutputText { text: t } = part {
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
