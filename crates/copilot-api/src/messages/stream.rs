//! `/v1/messages` stream events → the same [`ChatEvent`] vocabulary as chat, so a Claude model streams
//! through the same consumer code (`docs/protocol.md` §8).
//!
//! Everything maps to choice 0. A content block's `index` becomes the tool-call index, so the collector
//! joins `input_json_delta` fragments to their `tool_use`. Thinking text and its `signature_delta` map to
//! [`ReasoningKind::Text`] and [`ReasoningKind::Opaque`], a `redacted_thinking` block to
//! [`ReasoningKind::Redacted`]: the collector rebuilds each thinking block, in order, for replay. Usage is
//! the `message_start` usage overlaid with each `message_delta` usage (input counts arrive first, output
//! counts last). `message_stop` ends the stream; blocks this version does not map (server tools, citations)
//! and unknown events are kept raw as [`ChatEvent::Extra`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::chat::{ChatEvent, FinishReason, ReasoningKind};
use crate::decode::{
    DecodeState, EventQueue, Str, content, data_extra, extra, reasoning, tool_delta,
};
use crate::error::WireError;
use crate::messages::{MessagesUsage, StopReason};

#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Tag<'a>>,
    index: Option<u32>,
    #[serde(borrow, default)]
    delta: Option<WireDelta<'a>>,
    #[serde(borrow, default)]
    content_block: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    usage: Option<Map<String, Value>>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    copilot_usage: Option<&'a RawValue>,
}

/// The `delta` of `content_block_delta` (by its `type`) and of `message_delta` (`stop_reason`).
#[derive(Deserialize)]
struct WireDelta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Tag<'a>>,
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    #[serde(borrow, default)]
    stop_reason: Str<'a>,
}

/// Writes [`Tag`] with one variant per known tag, `Tag::known` (bytes → tag) and `Tag::name` (tag →
/// text) from one list, so a tag cannot be matched under one spelling and written back under another.
macro_rules! tags {
    ($($variant:ident => $name:literal,)*) => {
        /// A `type` tag of an event or a delta. The known tags are matched on the raw bytes of the JSON
        /// string, without building a `&str` first: two tags per text delta made that check a measurable
        /// part of decoding these small events. Any other tag is kept as text (invalid UTF-8 is an error,
        /// as for any string).
        enum Tag<'a> {
            $($variant,)*
            Other(Cow<'a, str>),
        }

        impl<'a> Tag<'a> {
            /// The known tag spelled `name`, if any.
            fn known(name: &[u8]) -> Option<Tag<'static>> {
                match name {
                    $($name => Some(Tag::$variant),)*
                    _ => None,
                }
            }

            /// The tag as sent.
            fn name(&self) -> &str {
                match self {
                    // Converted at compile time: nothing is checked per call.
                    $(Tag::$variant => const { tag_text($name) },)*
                    Tag::Other(name) => name,
                }
            }
        }
    };
}

/// The text of a known tag's byte-string literal (evaluated in `const` blocks: a literal that is not
/// UTF-8 fails the build).
const fn tag_text(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("a tag literal must be UTF-8"),
    }
}

tags! {
    ContentBlockDelta => b"content_block_delta",
    ContentBlockStart => b"content_block_start",
    ContentBlockStop => b"content_block_stop",
    MessageStart => b"message_start",
    MessageDelta => b"message_delta",
    MessageStop => b"message_stop",
    Ping => b"ping",
    Error => b"error",
    TextDelta => b"text_delta",
    InputJsonDelta => b"input_json_delta",
    ThinkingDelta => b"thinking_delta",
    SignatureDelta => b"signature_delta",
}

impl<'a> Tag<'a> {
    /// The tag of an SSE `event:` name (used when the data has no `type`).
    fn from_name(name: &'a str) -> Tag<'a> {
        Tag::known(name.as_bytes()).unwrap_or(Tag::Other(Cow::Borrowed(name)))
    }
}

/// Reads a [`Tag`].
struct TagVisitor;

impl<'de> serde::de::Visitor<'de> for TagVisitor {
    type Value = Tag<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a type tag string")
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        match Tag::known(v) {
            Some(tag) => Ok(tag),
            None => std::str::from_utf8(v)
                .map(|name| Tag::Other(Cow::Borrowed(name)))
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        match Tag::known(v) {
            Some(tag) => Ok(tag),
            None => std::str::from_utf8(v)
                .map(|name| Tag::Other(Cow::Owned(name.to_owned())))
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
        }
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Tag::from_name(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Tag::known(v.as_bytes()).unwrap_or_else(|| Tag::Other(Cow::Owned(v.to_owned()))))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Tag<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json hands a string to `deserialize_bytes` without checking its UTF-8 (the visitor does,
        // for a tag it does not know); other deserializers call the `str` methods.
        deserializer.deserialize_bytes(TagVisitor)
    }
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type", default)]
    kind: String,
    text: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Box<RawValue>>,
    thinking: Option<String>,
    signature: Option<String>,
    data: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    id: Option<String>,
    model: Option<String>,
    usage: Option<Map<String, Value>>,
}

/// Per-stream state of the messages mapping.
#[derive(Debug, Default)]
pub(crate) struct MessagesMapper {
    meta_sent: bool,
    saw_tool_use: bool,
    /// The usage so far: `message_start`'s, overlaid with each `message_delta`'s.
    usage: Map<String, Value>,
    /// Open `tool_use` blocks (by index) and whether any argument fragment arrived for them.
    open_tools: Vec<(u32, bool)>,
}

impl MessagesMapper {
    pub fn on_data(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        state: &mut DecodeState,
        out: &mut EventQueue,
    ) {
        let Some(wire) = state.parse::<WireEvent<'_>>(data, out) else {
            return;
        };
        let kind = wire
            .kind
            .unwrap_or_else(|| Tag::from_name(event.unwrap_or("")));
        match kind {
            Tag::ContentBlockDelta => self.delta(wire.index.unwrap_or(0), wire.delta, data, out),
            Tag::ContentBlockStart => {
                let index = wire.index.unwrap_or(0);
                if let Some(raw) = wire.content_block {
                    self.block_start(index, raw, out);
                }
            }
            Tag::ContentBlockStop => {
                let index = wire.index.unwrap_or(0);
                if let Some(position) = self.open_tools.iter().position(|(i, _)| *i == index) {
                    let (_, streamed) = self.open_tools.swap_remove(position);
                    if !streamed {
                        // A call without arguments: say `{}` so the arguments are valid JSON.
                        out.push_back(Ok(tool_delta(index, None, None, "{}".to_owned())));
                    }
                }
            }
            Tag::MessageStart => {
                if let Some(message) = wire
                    .message
                    .and_then(|raw| serde_json::from_str::<WireMessage>(raw.get()).ok())
                {
                    if let Some(usage) = message.usage {
                        self.usage = usage;
                    }
                    if !self.meta_sent
                        && let Some(id) = message.id
                    {
                        self.meta_sent = true;
                        out.push_back(Ok(ChatEvent::Meta {
                            id,
                            model: message.model,
                            created: None,
                        }));
                    }
                }
            }
            Tag::MessageDelta => {
                if let Some(usage) = wire.usage {
                    self.usage.extend(usage);
                    let usage =
                        serde_json::from_value::<MessagesUsage>(Value::Object(self.usage.clone()))
                            .unwrap_or_default();
                    out.push_back(Ok(ChatEvent::Usage(Box::new(usage.to_usage()))));
                }
                if let Some(reason) = wire.delta.and_then(|d| d.stop_reason.0) {
                    let reason = match StopReason::from(&*reason).to_finish_reason() {
                        FinishReason::Stop if self.saw_tool_use => FinishReason::ToolCalls,
                        reason => reason,
                    };
                    state.saw_finish = true;
                    out.push_back(Ok(ChatEvent::Finish { choice: 0, reason }));
                }
            }
            Tag::MessageStop | Tag::Ping => {}
            Tag::Error => {
                extra(out, None, "copilot_usage", wire.copilot_usage);
                return state.stream_error(event_error(wire.error), out);
            }
            ref other => data_extra(out, None, other.name(), data),
        }
        extra(out, None, "copilot_usage", wire.copilot_usage);
        if matches!(kind, Tag::MessageStop) {
            state.done(true, out);
        }
    }

    fn block_start(&mut self, index: u32, raw: &RawValue, out: &mut EventQueue) {
        let Ok(block) = serde_json::from_str::<WireBlock>(raw.get()) else {
            return;
        };
        match block.kind.as_str() {
            "text" => {
                content(out, block.text);
            }
            "thinking" => {
                reasoning(out, ReasoningKind::Text, block.thinking);
                reasoning(out, ReasoningKind::Opaque, block.signature);
            }
            "redacted_thinking" => reasoning(out, ReasoningKind::Redacted, block.data),
            "tool_use" => {
                self.saw_tool_use = true;
                // Streams open a call with `"input":{}` and send its arguments as fragments; anything else
                // is the whole input already.
                let input = block.input.map(|raw| raw.get().to_owned()).filter(|input| {
                    serde_json::from_str::<Map<String, Value>>(input).is_ok_and(|m| !m.is_empty())
                });
                self.open_tools.push((index, input.is_some()));
                out.push_back(Ok(tool_delta(
                    index,
                    block.id,
                    block.name,
                    input.unwrap_or_default(),
                )));
            }
            other => out.push_back(Ok(ChatEvent::Extra {
                choice: Some(0),
                name: other.to_owned(),
                value: raw.to_owned(),
            })),
        }
    }

    fn delta(
        &mut self,
        index: u32,
        delta: Option<WireDelta<'_>>,
        data: &[u8],
        out: &mut EventQueue,
    ) {
        let Some(delta) = delta else { return };
        match delta.kind.unwrap_or(Tag::Other(Cow::Borrowed(""))) {
            Tag::TextDelta => {
                content(out, delta.text);
            }
            Tag::InputJsonDelta => {
                let arguments = delta.partial_json.unwrap_or_default();
                if let Some((_, streamed)) = self.open_tools.iter_mut().find(|(i, _)| *i == index) {
                    *streamed |= !arguments.is_empty();
                }
                out.push_back(Ok(tool_delta(index, None, None, arguments)));
            }
            Tag::ThinkingDelta => reasoning(out, ReasoningKind::Text, delta.thinking),
            Tag::SignatureDelta => reasoning(out, ReasoningKind::Opaque, delta.signature),
            other => data_extra(out, Some(0), other.name(), data),
        }
    }
}

/// The `type` of an event, its `error` and whether its `delta` carries a `stop_reason`: all the raw mapping
/// reads.
#[derive(Deserialize)]
struct RawWireEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    delta: Option<RawWireDelta<'a>>,
}

#[derive(Deserialize)]
struct RawWireDelta<'a> {
    #[serde(borrow, default)]
    stop_reason: Str<'a>,
}

/// The pass-through mapping ([`Dialect::MessagesRaw`](crate::Dialect::MessagesRaw)): every event as an
/// `Extra` named by its type, with its `data` unchanged.
#[derive(Debug, Default)]
pub(crate) struct RawMessagesMapper;

impl RawMessagesMapper {
    pub fn on_data(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        state: &mut DecodeState,
        out: &mut EventQueue,
    ) {
        let Some(wire) = state.parse::<RawWireEvent<'_>>(data, out) else {
            return;
        };
        let kind = wire.kind.as_deref().or(event).unwrap_or("").to_owned();
        // An `error` event, or an untyped `{"error":…}` chunk as chat streams send them.
        if kind == "error" || (kind.is_empty() && wire.error.is_some()) {
            return state.stream_error(event_error(wire.error), out);
        }
        if wire.delta.is_some_and(|d| d.stop_reason.0.is_some()) {
            state.saw_finish = true;
        }
        let Some(value) = state.parse::<Box<RawValue>>(data, out) else {
            return;
        };
        let stop = kind == "message_stop";
        out.push_back(Ok(ChatEvent::Extra {
            choice: None,
            name: kind,
            value,
        }));
        if stop {
            state.done(true, out);
        }
    }
}

/// The typed error of an `error` event's `error` object.
fn event_error(raw: Option<&RawValue>) -> WireError {
    anthropic_error(
        raw.and_then(|raw| serde_json::from_str::<WireError>(raw.get()).ok())
            .unwrap_or_default(),
    )
}

/// Anthropic errors name a `type` (`overloaded_error`, …) and no `code`: give them the code the rest of
/// the crate maps, so a stream error becomes the same typed error as on chat.
pub(crate) fn anthropic_error(mut error: WireError) -> WireError {
    if error.code.is_none() {
        error.code = match error.error_type.as_deref() {
            Some("overloaded_error") => Some("model_overloaded".to_owned()),
            Some("rate_limit_error") => Some("rate_limited".to_owned()),
            Some("invalid_request_error") => Some("bad_request".to_owned()),
            Some("not_found_error") => Some("not_found".to_owned()),
            Some("request_too_large") => Some("request_too_large".to_owned()),
            Some("api_error") => Some("server_error".to_owned()),
            _ => None,
        };
    }
    error
}

#[cfg(test)]
mod tests {
    use crate::chat::ChatEvent;
    use crate::decode::{ChatEventDecoder, Dialect, EventQueue};

    fn decode(input: &str) -> Vec<ChatEvent> {
        let mut decoder = ChatEventDecoder::new(Dialect::Messages);
        let mut out = EventQueue::new();
        decoder.feed(input.as_bytes(), &mut out);
        decoder.finish(&mut out);
        out.into_iter().map(|e| e.expect("no error")).collect()
    }

    /// Tags are matched on their bytes; an escaped spelling, a `null` type (the `event:` name decides) and
    /// an unknown tag decode as they did when tags were read as text.
    #[test]
    fn type_tags_escaped_null_and_unknown() {
        let events = decode(concat!(
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block\\u005fdelta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":null,\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}\n\n",
            "event: brand_new\n",
            "data: {\"type\":\"brand_new\",\"x\":1}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"other_delta\",\"y\":2}}\n\n",
        ));
        let seen: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                ChatEvent::Content { text, .. } => Some(format!("text {text}")),
                ChatEvent::Extra { name, choice, .. } => Some(format!("extra {name} {choice:?}")),
                _ => None,
            })
            .collect();
        let expected = [
            "text a",
            "text b",
            "extra brand_new None",
            "extra other_delta Some(0)",
        ];
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_tag_that_is_no_string_is_malformed() {
        let events = decode("data: {\"type\":7}\n\n");
        assert!(
            matches!(events[0], ChatEvent::Malformed { .. }),
            "{events:?}"
        );
    }
}
