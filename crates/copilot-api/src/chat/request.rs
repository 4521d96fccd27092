//! Chat completion request and response types (`POST {api}/chat/completions`, `docs/protocol.md` §6).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::options::RequestOptions;
use crate::wire::extra::Extra;
use crate::wire::open_enum::open_enum;

open_enum! {
    /// A message author role.
    pub enum Role {
        /// `system`: passed through as written, never rewritten.
        System => "system",
        /// `user`.
        User => "user",
        /// `assistant`.
        Assistant => "assistant",
        /// `tool`: a tool result.
        Tool => "tool",
        /// `developer` (OpenAI's newer name for system).
        Developer => "developer",
        /// `function`: legacy agent echoes.
        Function => "function",
    }
}

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

open_enum! {
    /// Image detail level for vision input.
    pub enum ImageDetail {
        /// `low`.
        Low => "low",
        /// `high`.
        High => "high",
        /// `auto`.
        Auto => "auto",
    }
}

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

/// One chat message, as sent in a request and as returned in a non-streamed response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Text or parts. Assistant messages that only call tools may have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// An optional participant name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Assistant: the tool calls it made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Tool: which call this result answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Assistant: Claude/Gemini thinking text, replayed on the next request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_text: Option<String>,
    /// Assistant: the thinking signature, replayed unchanged on the next request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_opaque: Option<String>,
    /// Legacy agents: a single function call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// Fields this version does not model, kept as raw JSON and re-sent verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// A message with `role` and `content` and nothing else.
    pub fn new(role: Role, content: impl Into<Content>) -> Self {
        Message {
            role,
            content: Some(content.into()),
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            reasoning_text: None,
            reasoning_opaque: None,
            function_call: None,
            extra: Extra::new(),
        }
    }

    /// A system message (sent as written).
    pub fn system(content: impl Into<Content>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message: text, or parts such as [`ContentPart::image_url`].
    pub fn user(content: impl Into<Content>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message with text.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// An assistant message that made tool calls (and said nothing).
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        let mut message = Self::new(Role::Assistant, "");
        message.content = None;
        message.tool_calls = tool_calls;
        message
    }

    /// A tool result answering `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<Content>) -> Self {
        let mut message = Self::new(Role::Tool, content);
        message.tool_call_id = Some(tool_call_id.into());
        message
    }

    /// Sets the participant name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets assistant tool calls.
    pub fn with_tool_calls(mut self, tool_calls: Vec<ToolCall>) -> Self {
        self.tool_calls = tool_calls;
        self
    }

    /// Sets the reasoning replay fields (`reasoning_text`, `reasoning_opaque`) of an assistant message.
    pub fn with_reasoning(mut self, text: Option<String>, opaque: Option<String>) -> Self {
        self.reasoning_text = text;
        self.reasoning_opaque = opaque;
        self
    }

    /// The text of the content (parts' text joined), empty when there is none.
    pub fn text(&self) -> String {
        self.content.as_ref().map(Content::text).unwrap_or_default()
    }

    /// Whether any content part is an image (drives `Copilot-Vision-Request`).
    pub fn has_image(&self) -> bool {
        self.content.as_ref().is_some_and(Content::has_image)
    }

    /// Whether this message is a tool result: role `tool`, or content holding a `tool_result` part.
    pub fn is_tool_result(&self) -> bool {
        self.role == Role::Tool
            || self.role == Role::Function
            || matches!(&self.content, Some(Content::Parts(parts))
                if parts.iter().any(|p| p.type_name() == "tool_result"))
    }
}

/// Message content: plain text or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// A plain string.
    Text(String),
    /// Typed parts (text, images, …).
    Parts(Vec<ContentPart>),
}

impl Content {
    /// All text joined (text parts concatenated; other parts skipped).
    pub fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Whether any part is an image (`image_url`, `input_image` or Anthropic `image`, also nested in tool results).
    pub fn has_image(&self) -> bool {
        match self {
            Content::Text(_) => false,
            Content::Parts(parts) => parts.iter().any(ContentPart::is_image),
        }
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(text.to_owned())
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::Text(text)
    }
}

impl From<Vec<ContentPart>> for Content {
    fn from(parts: Vec<ContentPart>) -> Self {
        Content::Parts(parts)
    }
}

/// One content part.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// `{"type":"text","text":…}`.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type":"image_url","image_url":{"url":…,"detail":…}}`.
    ImageUrl {
        /// A `data:image/png;base64,…` URL or an https URL.
        url: String,
        /// Optional detail level.
        detail: Option<ImageDetail>,
    },
    /// A part of another type, kept verbatim.
    Other(Value),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image part (a data URL or an https URL).
    pub fn image_url(url: impl Into<String>, detail: Option<ImageDetail>) -> Self {
        ContentPart::ImageUrl {
            url: url.into(),
            detail,
        }
    }

    /// The part's `type`.
    pub fn type_name(&self) -> &str {
        match self {
            ContentPart::Text { .. } => "text",
            ContentPart::ImageUrl { .. } => "image_url",
            ContentPart::Other(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    fn is_image(&self) -> bool {
        match self {
            ContentPart::Text { .. } => false,
            ContentPart::ImageUrl { .. } => true,
            ContentPart::Other(value) => value_has_image(value),
        }
    }
}

/// Whether a raw part is an image or (for tool results) contains one.
fn value_has_image(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            matches!(
                map.get("type").and_then(Value::as_str),
                Some("image_url" | "input_image" | "image")
            ) || map.values().any(value_has_image)
        }
        Value::Array(items) => items.iter().any(value_has_image),
        _ => false,
    }
}

#[derive(Serialize, Deserialize)]
struct ImageUrlWire {
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<ImageDetail>,
}

impl Serialize for ContentPart {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ContentPart::Text { text } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", text)?;
                map.end()
            }
            ContentPart::ImageUrl { url, detail } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "image_url")?;
                map.serialize_entry(
                    "image_url",
                    &ImageUrlWire {
                        url: url.clone(),
                        detail: detail.clone(),
                    },
                )?;
                map.end()
            }
            ContentPart::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match value.get("type").and_then(Value::as_str) {
            Some("text") => {
                if let Some(text) = value.get("text").and_then(Value::as_str) {
                    return Ok(ContentPart::Text {
                        text: text.to_owned(),
                    });
                }
            }
            Some("image_url") => {
                if let Some(Ok(image)) = value
                    .get("image_url")
                    .map(|v| ImageUrlWire::deserialize(v.clone()))
                {
                    return Ok(ContentPart::ImageUrl {
                        url: image.url,
                        detail: image.detail,
                    });
                }
            }
            _ => {}
        }
        Ok(ContentPart::Other(value))
    }
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call id (`call_…`, Claude `tooluse_…`), echoed by the tool result.
    #[serde(default)]
    pub id: String,
    /// Always `function` today.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its JSON-encoded arguments.
    pub function: FunctionCall,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn function_type() -> String {
    "function".to_owned()
}

impl ToolCall {
    /// A function tool call.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            kind: function_type(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
                thought_signature: None,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }
}

/// A called function: its name and JSON-encoded arguments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// The function name.
    #[serde(default)]
    pub name: String,
    /// The arguments as a JSON string (a non-string value is re-encoded as text).
    #[serde(default, deserialize_with = "arguments_text")]
    pub arguments: String,
    /// Gemini's thought signature, replayed unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn arguments_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    })
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
    /// Per-request headers and overrides (not part of the body).
    #[serde(skip)]
    pub options: RequestOptions,
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        } )*
    };
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
            options: RequestOptions::default(),
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
    }

    /// Sets `user` (an end-user identifier).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the stop sequences.
    pub fn stop(mut self, stop: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stop = Some(stop.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the tools.
    pub fn tools(mut self, tools: Vec<Tool>) -> Self {
        self.tools = tools;
        self
    }

    /// Adds a body field this type does not model (e.g. `intent`, `snippy`, `prediction`).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Sets per-request headers and overrides.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// Whether any message carries an image part.
    pub fn has_image(&self) -> bool {
        self.messages.iter().any(Message::has_image)
    }
}

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

    /// Reasoning tokens, when reported.
    pub fn reasoning_tokens(&self) -> Option<u64> {
        self.completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
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
