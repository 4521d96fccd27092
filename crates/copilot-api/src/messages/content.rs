//! Anthropic Messages content: [`ContentBlock`]s (text, image, tool use and result, thinking and redacted
//! thinking) and [`MessageContent`], the string-or-blocks form `content` and `system` take.
//!
//! Every block keeps the fields this version does not model in `extra`, and an unknown block type is kept
//! whole as [`ContentBlock::Other`]: a gateway that decodes a request and sends it on, or a session that
//! replays an answer, loses nothing. A block whose known fields have an unexpected shape is kept as
//! `Other` too, rather than failing the whole message.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// `cache_control` on a block, a tool or a system block (Copilot honours up to 4 per request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheControl {
    /// `ephemeral` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// The cache lifetime (`5m`, `1h`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CacheControl {
    /// `{"type":"ephemeral"}`.
    pub fn ephemeral() -> Self {
        CacheControl {
            kind: "ephemeral".to_owned(),
            ttl: None,
            extra: Map::new(),
        }
    }
}

/// A `text` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextBlock {
    /// The text.
    pub text: String,
    /// Prompt caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model (e.g. `citations`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `image` block's `source`: `{"type":"base64","media_type","data"}` or `{"type":"url","url"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageSource {
    /// `base64`, `url`, or another kind.
    #[serde(rename = "type")]
    pub kind: String,
    /// The media type of base64 data (`image/png`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Base64 data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// An image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `image` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageBlock {
    /// Where the image is.
    pub source: ImageSource,
    /// Prompt caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `tool_use` block: the model calls a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolUseBlock {
    /// The call id (`toolu_…`), echoed by the [`ToolResultBlock`].
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments, a JSON object.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// Prompt caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// A `tool_result` block: the answer to a [`ToolUseBlock`], sent in a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResultBlock {
    /// The call it answers.
    pub tool_use_id: String,
    /// The result: text or blocks (text and images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// Whether the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Prompt caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `thinking` block. Replay it unchanged (text and signature) on the next request while thinking is on,
/// or the server answers 400.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingBlock {
    /// The readable thinking.
    #[serde(default)]
    pub thinking: String,
    /// The signature that lets the server verify the block.
    #[serde(default)]
    pub signature: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `redacted_thinking` block: encrypted thinking, replayed unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedactedThinkingBlock {
    /// The encrypted thinking.
    pub data: String,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Declares [`ContentBlock`] from one list of `Variant(Block) => "type"` lines and writes from it the
/// three places that pair a variant with its `type`: [`ContentBlock::type_name`], serialisation (the tag
/// written in front of the block's fields) and decoding (which struct a `type` reads into). A new block
/// kind is one line.
macro_rules! content_blocks {
    ($( $(#[$doc:meta])* $variant:ident($block:ty) => $kind:literal, )+) => {
        /// One content block of an Anthropic message.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum ContentBlock {
            $( $(#[$doc])* $variant($block), )+
            /// A block of another type (`document`, `server_tool_use`, `web_search_tool_result`, …) or with
            /// an unexpected shape, kept verbatim.
            Other(Value),
        }

        impl ContentBlock {
            /// The block's `type`.
            pub fn type_name(&self) -> &str {
                match self {
                    $( ContentBlock::$variant(_) => $kind, )+
                    ContentBlock::Other(value) => {
                        value.get("type").and_then(Value::as_str).unwrap_or("")
                    }
                }
            }

            /// Reads a block from a JSON object; an unknown type or an unexpected shape is kept as
            /// [`ContentBlock::Other`].
            fn from_value(value: Value) -> Self {
                match value.get("type").and_then(Value::as_str) {
                    $( Some($kind) => typed(value, ContentBlock::$variant), )+
                    _ => ContentBlock::Other(value),
                }
            }
        }

        impl Serialize for ContentBlock {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(
                        ContentBlock::$variant(block) => {
                            Tagged { kind: $kind, block }.serialize(serializer)
                        }
                    )+
                    ContentBlock::Other(value) => value.serialize(serializer),
                }
            }
        }
    };
}

content_blocks! {
    /// `text`.
    Text(TextBlock) => "text",
    /// `image`.
    Image(ImageBlock) => "image",
    /// `tool_use`.
    ToolUse(ToolUseBlock) => "tool_use",
    /// `tool_result`.
    ToolResult(ToolResultBlock) => "tool_result",
    /// `thinking`.
    Thinking(ThinkingBlock) => "thinking",
    /// `redacted_thinking`.
    RedactedThinking(RedactedThinkingBlock) => "redacted_thinking",
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextBlock {
            text: text.into(),
            cache_control: None,
            extra: Map::new(),
        })
    }

    /// A base64 image block.
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        ContentBlock::Image(ImageBlock {
            source: ImageSource {
                kind: "base64".to_owned(),
                media_type: Some(media_type.into()),
                data: Some(data.into()),
                url: None,
                extra: Map::new(),
            },
            cache_control: None,
            extra: Map::new(),
        })
    }

    /// A tool call; `input` should be a JSON object.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        ContentBlock::ToolUse(ToolUseBlock {
            id: id.into(),
            name: name.into(),
            input,
            cache_control: None,
            extra: Map::new(),
        })
    }

    /// A tool result with text content.
    pub fn tool_result(tool_use_id: impl Into<String>, content: impl Into<MessageContent>) -> Self {
        ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: tool_use_id.into(),
            content: Some(content.into()),
            is_error: None,
            cache_control: None,
            extra: Map::new(),
        })
    }

    /// A thinking block to replay.
    pub fn thinking(thinking: impl Into<String>, signature: impl Into<String>) -> Self {
        ContentBlock::Thinking(ThinkingBlock {
            thinking: thinking.into(),
            signature: signature.into(),
            extra: Map::new(),
        })
    }

    /// A redacted thinking block to replay.
    pub fn redacted_thinking(data: impl Into<String>) -> Self {
        ContentBlock::RedactedThinking(RedactedThinkingBlock {
            data: data.into(),
            extra: Map::new(),
        })
    }

    /// Whether this block is or contains an image (a tool result may hold one); drives
    /// `Copilot-Vision-Request`.
    pub fn has_image(&self) -> bool {
        match self {
            ContentBlock::Image(_) => true,
            ContentBlock::ToolResult(result) => result
                .content
                .as_ref()
                .is_some_and(MessageContent::has_image),
            ContentBlock::Other(value) => value_has_image(value),
            _ => false,
        }
    }

    /// Sets `cache_control` on the block types that take it (text, image, tool use and result).
    pub fn with_cache_control(mut self, cache_control: CacheControl) -> Self {
        match &mut self {
            ContentBlock::Text(block) => block.cache_control = Some(cache_control),
            ContentBlock::Image(block) => block.cache_control = Some(cache_control),
            ContentBlock::ToolUse(block) => block.cache_control = Some(cache_control),
            ContentBlock::ToolResult(block) => block.cache_control = Some(cache_control),
            _ => {}
        }
        self
    }
}

fn value_has_image(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some("image")
                || map.values().any(value_has_image)
        }
        Value::Array(items) => items.iter().any(value_has_image),
        _ => false,
    }
}

/// Serialises a block struct with its `type` tag in front.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    block: &'a T,
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(de::Error::custom("a content block must be a JSON object"));
        }
        Ok(ContentBlock::from_value(value))
    }
}

/// Reads a block of a known `type` into its struct; one whose fields have an unexpected shape is kept as
/// [`ContentBlock::Other`].
fn typed<T: serde::de::DeserializeOwned>(
    value: Value,
    wrap: fn(T) -> ContentBlock,
) -> ContentBlock {
    let Value::Object(mut map) = value else {
        return ContentBlock::Other(value);
    };
    let kind = map.remove("type");
    match T::deserialize(&Value::Object(map.clone())) {
        Ok(block) => wrap(block),
        Err(_) => {
            if let Some(kind) = kind {
                map.insert("type".to_owned(), kind);
            }
            ContentBlock::Other(Value::Object(map))
        }
    }
}

/// `content` (of a message or a tool result) and `system`: a plain string or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// A plain string.
    Text(String),
    /// Blocks.
    Blocks(Vec<ContentBlock>),
}

impl MessageContent {
    /// All text joined (text blocks concatenated; other blocks skipped).
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(text) => text.clone(),
            MessageContent::Blocks(blocks) => blocks
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::Text(text) => Some(text.text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The blocks (a plain string counts as none).
    pub fn blocks(&self) -> &[ContentBlock] {
        match self {
            MessageContent::Text(_) => &[],
            MessageContent::Blocks(blocks) => blocks,
        }
    }

    /// Whether any block is or contains an image.
    pub fn has_image(&self) -> bool {
        self.blocks().iter().any(ContentBlock::has_image)
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(MessageContent::Text(text)),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    item @ Value::Object(_) => Ok(ContentBlock::from_value(item)),
                    _ => Err(de::Error::custom("a content block must be a JSON object")),
                })
                .collect::<Result<_, _>>()
                .map(MessageContent::Blocks),
            _ => Err(de::Error::custom(
                "content must be a string or a list of blocks",
            )),
        }
    }
}

impl From<&str> for MessageContent {
    fn from(text: &str) -> Self {
        MessageContent::Text(text.to_owned())
    }
}

impl From<String> for MessageContent {
    fn from(text: String) -> Self {
        MessageContent::Text(text)
    }
}

impl From<Vec<ContentBlock>> for MessageContent {
    fn from(blocks: Vec<ContentBlock>) -> Self {
        MessageContent::Blocks(blocks)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_block_kind_round_trips_with_unknown_fields() {
        let blocks = json!([
            {"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"},"citations":[{"x":1}]},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},
            {"type":"tool_use","id":"toolu_1","name":"read","input":{"path":"a"},"caller":"x"},
            {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"ok"}],"is_error":false},
            {"type":"thinking","thinking":"hmm","signature":"sig=="},
            {"type":"redacted_thinking","data":"enc"},
            {"type":"server_tool_use","id":"s1","name":"web_search","input":{}},
            {"type":"text","text":7}
        ]);
        let content: MessageContent = serde_json::from_value(blocks.clone()).unwrap();
        let kinds: Vec<&str> = content
            .blocks()
            .iter()
            .map(ContentBlock::type_name)
            .collect();
        assert_eq!(
            kinds,
            [
                "text",
                "image",
                "tool_use",
                "tool_result",
                "thinking",
                "redacted_thinking",
                "server_tool_use",
                "text"
            ]
        );
        assert!(
            matches!(content.blocks()[7], ContentBlock::Other(_)),
            "a malformed text block is kept raw"
        );
        let ContentBlock::Text(text) = &content.blocks()[0] else {
            panic!()
        };
        assert_eq!(text.extra["citations"], json!([{"x":1}]));
        assert!(content.has_image());
        assert_eq!(serde_json::to_value(&content).unwrap(), blocks);
    }

    #[test]
    fn an_image_inside_a_tool_result_counts() {
        let block =
            ContentBlock::tool_result("t", vec![ContentBlock::image_base64("image/png", "AA==")]);
        assert!(block.has_image());
        assert!(!ContentBlock::tool_result("t", "text").has_image());
    }
}
