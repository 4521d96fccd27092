//! The chat completion request (`POST {api}/chat/completions`, `docs/protocol.md` §6): [`ChatRequest`] and
//! the settings it carries (tools, tool choice, response format, reasoning effort).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{Message, Role, function_type};
use crate::options::Initiator;
use crate::wire::open_enum::open_enum;
use crate::wire::setters::setters;

open_enum! {
    /// A reasoning effort; pick one the model lists in `capabilities.supports.reasoning_effort`.
    pub enum ReasoningEffort {
        /// `none`.
        None => "none",
        /// `minimal`.
        Minimal => "minimal",
        /// `low`.
        Low => "low",
        /// `medium`.
        Medium => "medium",
        /// `high`.
        High => "high",
        /// `xhigh`.
        Xhigh => "xhigh",
        /// `max`.
        Max => "max",
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// Always `function` today.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function definition.
    pub function: FunctionDefinition,
}

impl Tool {
    /// A function tool. `parameters` is a JSON Schema; `None` sends `{"type":"object","properties":{}}`,
    /// because Claude rejects tools without a parameters object.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Option<Value>,
    ) -> Self {
        Tool {
            kind: function_type(),
            function: FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: parameters.unwrap_or_else(empty_parameters),
                strict: None,
            },
        }
    }
}

fn empty_parameters() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionDefinition {
    /// The name.
    pub name: String,
    /// What it does (the model reads this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema for the arguments.
    #[serde(default = "empty_parameters")]
    pub parameters: Value,
    /// Strict schema adherence, when the model supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// How the model may choose tools.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// `"none"`.
    None,
    /// `"auto"`.
    Auto,
    /// `"required"`.
    Required,
    /// `{"type":"function","function":{"name":…}}`.
    Function(String),
    /// Any other form, kept verbatim.
    Other(Value),
}

impl Serialize for ToolChoice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::Required => serializer.serialize_str("required"),
            ToolChoice::Function(name) => {
                serde_json::json!({"type": "function", "function": {"name": name}})
                    .serialize(serializer)
            }
            ToolChoice::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value.as_str() {
            Some("none") => ToolChoice::None,
            Some("auto") => ToolChoice::Auto,
            Some("required") => ToolChoice::Required,
            _ => match value.pointer("/function/name").and_then(Value::as_str) {
                Some(name) if value.get("type").and_then(Value::as_str) == Some("function") => {
                    ToolChoice::Function(name.to_owned())
                }
                _ => ToolChoice::Other(value),
            },
        })
    }
}

/// Structured output; check `capabilities.supports.structured_outputs` first.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// `{"type":"text"}`.
    Text,
    /// `{"type":"json_object"}`.
    JsonObject,
    /// `{"type":"json_schema","json_schema":{…}}`.
    JsonSchema(JsonSchemaFormat),
    /// Any other form, kept verbatim.
    Other(Value),
}

/// The `json_schema` of [`ResponseFormat::JsonSchema`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonSchemaFormat {
    /// The schema's name.
    pub name: String,
    /// The JSON Schema.
    pub schema: Value,
    /// Whether to enforce the schema strictly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl JsonSchemaFormat {
    /// A named schema.
    pub fn new(name: impl Into<String>, schema: Value, strict: Option<bool>) -> Self {
        JsonSchemaFormat {
            name: name.into(),
            schema,
            strict,
            description: None,
        }
    }
}

impl ResponseFormat {
    /// The format as the Responses API's `text.format` takes it: a schema's fields flat
    /// (`{"type":"json_schema","name","schema","strict"?,"description"?}`), where chat nests them under
    /// `json_schema`. The one mapping for every caller that sends a chat-style format to `/responses`.
    ///
    /// ```
    /// use copilot_api::{JsonSchemaFormat, ResponseFormat};
    /// use serde_json::json;
    /// let format = ResponseFormat::JsonSchema(JsonSchemaFormat::new("answer", json!({"type": "object"}), Some(true)));
    /// let text_format = format.to_responses_format();
    /// assert_eq!(text_format, json!({"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}));
    /// assert_eq!(ResponseFormat::from_responses_format(&text_format), Some(format));
    /// ```
    pub fn to_responses_format(&self) -> Value {
        match self {
            ResponseFormat::Text => serde_json::json!({"type": "text"}),
            ResponseFormat::JsonObject => serde_json::json!({"type": "json_object"}),
            ResponseFormat::JsonSchema(schema) => {
                let mut value = serde_json::json!({
                    "type": "json_schema",
                    "name": schema.name,
                    "schema": schema.schema,
                });
                if let Some(strict) = schema.strict {
                    value["strict"] = Value::Bool(strict);
                }
                if let Some(description) = &schema.description {
                    value["description"] = Value::String(description.clone());
                }
                value
            }
            ResponseFormat::Other(value) => value.clone(),
        }
    }

    /// The inverse of [`to_responses_format`](Self::to_responses_format): a Responses `text.format` as a
    /// chat format, `None` when it has no `type`; a `json_schema` without a usable `name` and `schema` is
    /// [`Other`](Self::Other).
    pub fn from_responses_format(format: &Value) -> Option<ResponseFormat> {
        Some(match format.get("type")?.as_str()? {
            "text" => ResponseFormat::Text,
            "json_object" => ResponseFormat::JsonObject,
            "json_schema" => match JsonSchemaFormat::deserialize(format) {
                Ok(schema) => ResponseFormat::JsonSchema(schema),
                Err(_) => ResponseFormat::Other(format.clone()),
            },
            _ => ResponseFormat::Other(format.clone()),
        })
    }
}

impl Serialize for ResponseFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseFormat::Text => serde_json::json!({"type": "text"}).serialize(serializer),
            ResponseFormat::JsonObject => {
                serde_json::json!({"type": "json_object"}).serialize(serializer)
            }
            ResponseFormat::JsonSchema(schema) => {
                serde_json::json!({"type": "json_schema", "json_schema": schema})
                    .serialize(serializer)
            }
            ResponseFormat::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseFormat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value.get("type").and_then(Value::as_str) {
            Some("text") => ResponseFormat::Text,
            Some("json_object") => ResponseFormat::JsonObject,
            Some("json_schema") => match value
                .get("json_schema")
                .map(|s| JsonSchemaFormat::deserialize(s.clone()))
            {
                Some(Ok(schema)) => ResponseFormat::JsonSchema(schema),
                _ => ResponseFormat::Other(value),
            },
            _ => ResponseFormat::Other(value),
        })
    }
}

/// `stream_options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Ask for a usage chunk at the end of the stream.
    pub include_usage: bool,
}

/// A chat completion request. Unset fields are omitted from the body (o1/codex-class models reject some).
///
/// ```
/// use copilot_api::{ChatRequest, Message};
/// let request = ChatRequest::new("gpt-4o", vec![Message::system("Be brief."), Message::user("Hi")])
///     .temperature(0.2)
///     .max_tokens(200);
/// assert_eq!(request.messages.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// A model id from `/models`.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Set by the client: `true` for [`chat_stream`](crate::CopilotApiClient::chat_stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Stream options (the client asks for usage when streaming unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Token bias map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    /// Return log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// End-user identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// How tools may be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Allow several tool calls in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Copilot extra: Anthropic thinking budget via chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// Anything else to send, merged into the body verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// A request for `model` with `messages`; everything else unset.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            stream: None,
            stream_options: None,
            temperature: None,
            top_p: None,
            n: None,
            max_tokens: None,
            stop: None,
            seed: None,
            presence_penalty: None,
            frequency_penalty: None,
            logit_bias: None,
            logprobs: None,
            user: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            response_format: None,
            reasoning_effort: None,
            thinking_budget: None,
            extra: Map::new(),
        }
    }

    setters! {
        /// Sets `temperature`.
        temperature: f64,
        /// Sets `top_p`.
        top_p: f64,
        /// Sets `n` (number of choices).
        n: u32,
        /// Sets `max_tokens`.
        max_tokens: u32,
        /// Sets `seed`.
        seed: i64,
        /// Sets `presence_penalty`.
        presence_penalty: f64,
        /// Sets `frequency_penalty`.
        frequency_penalty: f64,
        /// Sets `logprobs`.
        logprobs: bool,
        /// Sets `tool_choice`.
        tool_choice: ToolChoice,
        /// Sets `parallel_tool_calls`.
        parallel_tool_calls: bool,
        /// Sets `response_format`.
        response_format: ResponseFormat,
        /// Sets `reasoning_effort`.
        reasoning_effort: ReasoningEffort,
        /// Sets `thinking_budget` (Copilot extra for Anthropic models).
        thinking_budget: u32,
        /// Sets `stream_options`.
        stream_options: StreamOptions,
        /// Sets `user` (an end-user identifier).
        user: into String,
        /// Sets the tools.
        tools = Vec<Tool>,
        /// Sets the stop sequences.
        stop: iter into String,
        /// Adds a body field this type does not model (e.g. `intent`, `snippy`, `prediction`).
        extra(key, value),
    }

    /// Who started this request, judged from the conversation: `user` iff the last message is a genuine
    /// human prompt (role `user`, not a tool result), else `agent`. Sent as `X-Initiator` unless
    /// [`RequestOptions::initiator`](crate::RequestOptions::initiator) overrides it. Billing-critical: only
    /// `user` consumes a premium request, so a tool-loop follow-up must never count as one.
    pub fn initiator(&self) -> Initiator {
        Initiator::judged(
            self.messages
                .last()
                .is_some_and(|message| message.role == Role::User && !message.is_tool_result()),
        )
    }

    /// Whether any message carries an image part.
    pub fn has_image(&self) -> bool {
        self.messages.iter().any(Message::has_image)
    }
}
