//! Chat messages, as sent in a request and as returned in a non-streamed answer: [`Message`], its
//! [`Content`] and parts, and the tool calls an assistant message carries.
//!
//! [`Message`] and [`Content`] decode by hand rather than with the derive: they keep unknown fields in an
//! [`Extra`], and the derive's `#[serde(flatten)]` (and `#[serde(untagged)]` for [`Content`]) buffers the
//! input in a generic tree and decodes it twice; see [`crate::wire::fields`]. The rules are the derive's:
//! absent fields take their defaults (`role` defaults to `assistant`), `null` `tool_calls` reads as empty.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::extra::Extra;
use crate::wire::fields::decode_fields;
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

pub(crate) fn function_type() -> String {
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

decode_fields! {
    Message {
        role: Role = or(Role::Assistant),
        content: Option<Content> = default,
        name: Option<String> = default,
        tool_calls: Vec<ToolCall> = null_as_default,
        tool_call_id: Option<String> = default,
        reasoning_text: Option<String> = default,
        reasoning_opaque: Option<String> = default,
        function_call: Option<FunctionCall> = default,
    }
}

/// The message the derive's `#[serde(untagged)]` gave when neither form matched; kept for callers that
/// match on it.
const CONTENT_MISMATCH: &str = "data did not match any variant of untagged enum Content";

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;

        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of content parts")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Content, E> {
                Ok(Content::Text(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Content, E> {
                Ok(Content::Text(text))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(part) = seq.next_element::<ContentPart>()? {
                    parts.push(part);
                }
                Ok(Content::Parts(parts))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Content, A::Error> {
                Err(de::Error::custom(CONTENT_MISMATCH))
            }
        }

        deserializer.deserialize_any(ContentVisitor)
    }
}
