//! The Responses API request (`POST {api}/responses`, for responses-only models; `docs/protocol.md` §7):
//! [`ResponsesRequest`], its tools and reasoning settings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{ReasoningEffort, Role, ToolChoice};
use crate::options::Initiator;
use crate::responses::ResponseItem;
use crate::wire::setters::setters;

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
        }
    }

    setters! {
        /// Sets `instructions`.
        instructions: into String,
        /// Sets the tools.
        tools = Vec<ResponsesTool>,
        /// Sets `max_output_tokens`.
        max_output_tokens: u32,
        /// Sets `previous_response_id`.
        previous_response_id: into String,
        /// Adds a body field this type does not model.
        extra(key, value),
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

    /// Who started this request, judged from the input: `user` iff the last item is a user message; a
    /// `function_call_output` (or anything else) is `agent`. Sent as `X-Initiator` unless
    /// [`RequestOptions::initiator`](crate::RequestOptions::initiator) overrides it (billing-critical, as
    /// [`ChatRequest::initiator`](crate::ChatRequest::initiator)).
    pub fn initiator(&self) -> Initiator {
        Initiator::judged(match self.input.last() {
            Some(ResponseItem::Message {
                role: Role::User, ..
            }) => true,
            Some(ResponseItem::Other(value)) => {
                value.get("role").and_then(Value::as_str) == Some("user")
                    && value.get("type").is_none_or(|t| t == "message")
            }
            _ => false,
        })
    }

    /// Whether any input item carries an image.
    pub fn has_image(&self) -> bool {
        self.input.iter().any(ResponseItem::has_image)
    }
}
