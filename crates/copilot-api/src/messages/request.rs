//! The Anthropic Messages request (`POST {api}/v1/messages`, `docs/protocol.md` §8): [`MessagesRequest`],
//! its messages, tools, tool choice and thinking settings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{ReasoningEffort, Role};
use crate::messages::{CacheControl, ContentBlock, MessageContent};
use crate::options::Initiator;
use crate::wire::open_enum::open_enum;
use crate::wire::setters::setters;

/// One message of the conversation (`user` or `assistant`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnthropicMessage {
    /// `user` or `assistant`.
    pub role: Role,
    /// Text or blocks.
    pub content: MessageContent,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AnthropicMessage {
    /// A message with `role` and `content`.
    pub fn new(role: Role, content: impl Into<MessageContent>) -> Self {
        AnthropicMessage {
            role,
            content: content.into(),
            extra: Map::new(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message (for replay: keep its thinking blocks, unchanged and in order).
    pub fn assistant(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// Whether this message carries a tool result (then it is not a human prompt).
    pub fn has_tool_result(&self) -> bool {
        self.content
            .blocks()
            .iter()
            .any(|block| matches!(block, ContentBlock::ToolResult(_)))
    }
}

open_enum! {
    /// `thinking.type`.
    pub enum ThinkingKind {
        /// `enabled`, with a `budget_tokens`.
        Enabled => "enabled",
        /// `adaptive`: the model decides how much to think.
        Adaptive => "adaptive",
        /// `disabled`.
        Disabled => "disabled",
    }
}

/// `thinking`: extended thinking settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingConfig {
    /// The mode.
    #[serde(rename = "type")]
    pub kind: ThinkingKind,
    /// The thinking token budget (for `enabled`; below `max_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ThinkingConfig {
    /// `{"type":kind}`.
    fn of_kind(kind: ThinkingKind) -> Self {
        ThinkingConfig {
            kind,
            budget_tokens: None,
            extra: Map::new(),
        }
    }

    /// `{"type":"enabled","budget_tokens":budget}`.
    pub fn enabled(budget_tokens: u32) -> Self {
        ThinkingConfig {
            budget_tokens: Some(budget_tokens),
            ..Self::of_kind(ThinkingKind::Enabled)
        }
    }

    /// `{"type":"adaptive"}`.
    pub fn adaptive() -> Self {
        Self::of_kind(ThinkingKind::Adaptive)
    }

    /// `{"type":"disabled"}`.
    pub fn disabled() -> Self {
        Self::of_kind(ThinkingKind::Disabled)
    }
}

/// `output_config`: e.g. `{"effort":"high"}` for models that take an effort instead of a budget.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputConfig {
    /// The effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OutputConfig {
    /// An effort setting.
    pub fn effort(effort: ReasoningEffort) -> Self {
        OutputConfig {
            effort: Some(effort),
            extra: Map::new(),
        }
    }
}

open_enum! {
    /// `tool_choice.type`.
    pub enum ToolChoiceKind {
        /// The model decides.
        Auto => "auto",
        /// The model must call some tool.
        Any => "any",
        /// The model must call the named tool.
        Tool => "tool",
        /// No tool calls.
        None => "none",
    }
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesToolChoice {
    /// The mode.
    #[serde(rename = "type")]
    pub kind: ToolChoiceKind,
    /// The tool, for [`ToolChoiceKind::Tool`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesToolChoice {
    /// A mode without a tool name (`auto`, `any`, `none`).
    pub fn new(kind: ToolChoiceKind) -> Self {
        MessagesToolChoice {
            kind,
            name: None,
            disable_parallel_tool_use: None,
            extra: Map::new(),
        }
    }

    /// Forces the named tool.
    pub fn tool(name: impl Into<String>) -> Self {
        MessagesToolChoice {
            name: Some(name.into()),
            ..Self::new(ToolChoiceKind::Tool)
        }
    }
}

/// A tool the model may call: a client tool (`name`, `description`, `input_schema`) or a server tool with
/// a `type` (`web_search_20250305`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesTool {
    /// The tool name.
    pub name: String,
    /// What it does (the model reads this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input (client tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// The server tool type; absent for client tools.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Prompt caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesTool {
    /// A client tool; `None` sends an empty object schema.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Option<Value>,
    ) -> Self {
        MessagesTool {
            name: name.into(),
            description: Some(description.into()),
            input_schema: Some(
                input_schema
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            ),
            kind: None,
            cache_control: None,
            extra: Map::new(),
        }
    }
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesMetadata {
    /// An opaque end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `/v1/messages` request. Unset fields are omitted.
///
/// ```
/// use copilot_api::{AnthropicMessage, MessagesRequest, ThinkingConfig};
/// let request = MessagesRequest::new("claude-sonnet-4.5", 1024, vec![AnthropicMessage::user("Hi")])
///     .system("Be brief.")
///     .thinking(ThinkingConfig::enabled(512));
/// assert_eq!(request.initiator(), copilot_api::Initiator::User);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessagesRequest {
    /// A model id from `/models` (`claude-sonnet-4.5`; Anthropic's dated ids are refused).
    pub model: String,
    /// The conversation.
    pub messages: Vec<AnthropicMessage>,
    /// The output token limit (required by the format).
    pub max_tokens: u32,
    /// The system prompt: text or text blocks (which may carry `cache_control`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<MessageContent>,
    /// Set by the client: `true` for [`messages_stream`](crate::CopilotApiClient::messages_stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MessagesMetadata>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<MessagesTool>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<MessagesToolChoice>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// Output settings (effort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// Anything else, merged into the body verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessagesRequest {
    /// A request for `model` with `messages` and an output limit; everything else unset.
    pub fn new(model: impl Into<String>, max_tokens: u32, messages: Vec<AnthropicMessage>) -> Self {
        MessagesRequest {
            model: model.into(),
            messages,
            max_tokens,
            system: None,
            stream: None,
            metadata: None,
            stop_sequences: Vec::new(),
            temperature: None,
            top_p: None,
            top_k: None,
            tools: Vec::new(),
            tool_choice: None,
            thinking: None,
            output_config: None,
            extra: Map::new(),
        }
    }

    setters! {
        /// Sets the system prompt (text or blocks).
        system: into MessageContent,
        /// Sets the tools.
        tools = Vec<MessagesTool>,
        /// Sets `tool_choice`.
        tool_choice: MessagesToolChoice,
        /// Sets `thinking`.
        thinking: ThinkingConfig,
        /// Sets `output_config`.
        output_config: OutputConfig,
        /// Sets `temperature`.
        temperature: f64,
        /// Sets `metadata`.
        metadata: MessagesMetadata,
        /// Sets the stop sequences.
        stop_sequences = iter into String,
        /// Adds a body field this type does not model.
        extra(key, value),
    }

    /// Who started this request, judged from the conversation: `user` iff the last message is a user
    /// message without `tool_result` blocks, else `agent` (a tool-loop follow-up). Billing-critical, as
    /// [`ChatRequest::initiator`](crate::ChatRequest::initiator).
    pub fn initiator(&self) -> Initiator {
        Initiator::judged(
            self.messages
                .last()
                .is_some_and(|message| message.role == Role::User && !message.has_tool_result()),
        )
    }

    /// Whether any message (or tool result) carries an image.
    pub fn has_image(&self) -> bool {
        self.messages.iter().any(|m| m.content.has_image())
    }
}
