//! Turns SSE bytes into [`ChatEvent`]s: the [`sse`](crate::wire::sse) framing plus a JSON mapping per API dialect.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::chat::{ChatEvent, ReasoningKind, ToolCallDelta};
use crate::error::{ApiError, ResponseContext, WireError};
use crate::wire::sse::{SseDecoder, SseEvent, SseLimits};

/// Which API's stream format to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// `POST /chat/completions` chunks.
    ChatCompletions,
    /// `POST /responses` events, mapped onto the same [`ChatEvent`] vocabulary.
    Responses,
    /// `POST /v1/messages` (Anthropic) events, mapped onto the same [`ChatEvent`] vocabulary.
    Messages,
    /// `POST /v1/messages` events kept as they came, for a proxy that re-emits the stream unchanged: each
    /// event is one [`ChatEvent::Extra`] named by its `type` whose value is the event's `data`, verbatim;
    /// `message_stop` is followed by [`ChatEvent::Done`]; an `error` event is the same typed error as in
    /// [`Dialect::Messages`].
    MessagesRaw,
}

/// The output queue of a decoder: events in order, an error ends the stream.
pub type EventQueue = VecDeque<Result<ChatEvent, ApiError>>;

/// A synchronous, incremental decoder from raw body bytes to [`ChatEvent`]s.
///
/// [`ChatStream`](crate::ChatStream) drives one of these; it is public for custom transports, tests and
/// benchmarks. After it has produced an error or [`ChatEvent::Done`] it ignores further input.
#[derive(Debug)]
pub struct ChatEventDecoder {
    sse: SseDecoder,
    mapper: Mapper,
    state: DecodeState,
}

#[derive(Debug)]
enum Mapper {
    Chat(crate::chat::stream::ChatMapper),
    Responses(crate::responses::stream::ResponsesMapper),
    Messages(crate::messages::stream::MessagesMapper),
    MessagesRaw(crate::messages::stream::RawMessagesMapper),
}

/// What every mapper tracks.
#[derive(Debug, Default)]
pub(crate) struct DecodeState {
    /// An error or `[DONE]` ended the stream.
    pub finished: bool,
    /// Any choice reported a finish reason.
    pub saw_finish: bool,
    /// Ids for errors raised from the stream.
    pub context: ResponseContext,
    /// A malformed payload ends the stream with an error instead of a [`ChatEvent::Malformed`].
    pub strict: bool,
}

impl DecodeState {
    pub fn fail(&mut self, error: ApiError, out: &mut EventQueue) {
        self.finished = true;
        out.push_back(Err(error));
    }

    pub fn done(&mut self, done_marker: bool, out: &mut EventQueue) {
        self.finished = true;
        out.push_back(Ok(ChatEvent::Done {
            done_marker,
            saw_finish: self.saw_finish,
        }));
    }

    pub fn malformed(&mut self, error: &serde_json::Error, data: &[u8], out: &mut EventQueue) {
        if self.strict {
            return self.fail(
                ApiError::MalformedChunk {
                    message: error.to_string(),
                    snippet: crate::error::snippet(data),
                },
                out,
            );
        }
        tracing::warn!(%error, "skipping a malformed stream payload");
        out.push_back(Ok(ChatEvent::Malformed {
            raw: String::from_utf8_lossy(data).into_owned(),
            error: error.to_string(),
        }));
    }

    /// An event's `data` read as the mapping's wire type `T`; data that does not decode is
    /// [`malformed`](Self::malformed) and gives `None`.
    pub fn parse<'a, T: Deserialize<'a>>(
        &mut self,
        data: &'a [u8],
        out: &mut EventQueue,
    ) -> Option<T> {
        self.decoded(serde_json::from_slice(data), data, out)
    }

    /// The outcome of decoding `data` by other means (as [`parse`](Self::parse) does with serde): the value,
    /// or `None` after reporting the data as [`malformed`](Self::malformed).
    pub fn decoded<T>(
        &mut self,
        decoded: serde_json::Result<T>,
        data: &[u8],
        out: &mut EventQueue,
    ) -> Option<T> {
        match decoded {
            Ok(value) => Some(value),
            Err(error) => {
                self.malformed(&error, data, out);
                None
            }
        }
    }

    pub fn stream_error(&mut self, wire: WireError, out: &mut EventQueue) {
        self.stream_error_with_status(None, wire, out);
    }

    /// A stream error event that says which HTTP status it stands for (WebSocket error events do).
    pub fn stream_error_with_status(
        &mut self,
        status: Option<u16>,
        wire: WireError,
        out: &mut EventQueue,
    ) {
        let error = crate::error::from_stream_error(status, wire, &self.context);
        self.fail(error, out);
    }
}

impl ChatEventDecoder {
    /// A decoder for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        ChatEventDecoder {
            sse: SseDecoder::new(),
            mapper: match dialect {
                Dialect::ChatCompletions => Mapper::Chat(Default::default()),
                Dialect::Responses => Mapper::Responses(Default::default()),
                Dialect::Messages => Mapper::Messages(Default::default()),
                Dialect::MessagesRaw => Mapper::MessagesRaw(Default::default()),
            },
            state: DecodeState::default(),
        }
    }

    /// The SSE size caps (default [`SseLimits::new`]: 16 MiB per line and per event, no stream cap). A
    /// stream that exceeds one ends with [`ApiError::SseLimit`].
    pub fn sse_limits(mut self, limits: SseLimits) -> Self {
        self.set_sse_limits(limits);
        self
    }

    /// Whether a malformed `data:` payload ends the stream with [`ApiError::MalformedChunk`] (`true`) or
    /// becomes a [`ChatEvent::Malformed`] after which decoding goes on (`false`, the default).
    pub fn strict(mut self, strict: bool) -> Self {
        self.set_strict(strict);
        self
    }

    pub(crate) fn set_strict(&mut self, strict: bool) {
        self.state.strict = strict;
    }

    pub(crate) fn set_sse_limits(&mut self, limits: SseLimits) {
        self.sse.set_limits(limits);
    }

    pub(crate) fn with_context(mut self, context: ResponseContext) -> Self {
        self.state.context = context;
        self
    }

    /// Decodes a chunk of body bytes, appending events to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut EventQueue) {
        if self.state.finished {
            return;
        }
        let ChatEventDecoder { sse, mapper, state } = self;
        if let Err(limit) = sse.feed(bytes, |event| mapper.on_event(event, state, out))
            && !state.finished
        {
            state.fail(ApiError::SseLimit { limit }, out);
        }
    }

    /// Decodes one whole event's data, as a WebSocket text message carries it (no SSE framing). A message
    /// that finishes the response (`response.completed`, `response.incomplete`) ends the stream with
    /// [`ChatEvent::Done`] at once: a socket turn has no end of body.
    pub fn feed_message(&mut self, data: &[u8], out: &mut EventQueue) {
        if self.state.finished {
            return;
        }
        let ChatEventDecoder { mapper, state, .. } = self;
        let event = SseEvent {
            event: None,
            data,
            id: None,
            stray: false,
        };
        mapper.on_event(event, state, out);
        if state.saw_finish && !state.finished {
            state.done(false, out);
        }
    }

    /// Ends the input (EOF): flushes a trailing event and appends [`ChatEvent::Done`] unless the stream
    /// already ended.
    pub fn finish(&mut self, out: &mut EventQueue) {
        if self.state.finished {
            return;
        }
        let ChatEventDecoder { sse, mapper, state } = self;
        if let Err(limit) = sse.finish(|event| mapper.on_event(event, state, out))
            && !state.finished
        {
            state.fail(ApiError::SseLimit { limit }, out);
        }
        if !self.state.finished {
            self.state.done(false, out);
        }
    }

    /// Whether an error or the end has been produced.
    pub fn is_finished(&self) -> bool {
        self.state.finished
    }

    /// Whether any choice reported a finish reason so far.
    pub fn saw_finish(&self) -> bool {
        self.state.saw_finish
    }
}

impl Mapper {
    fn on_event(&mut self, event: SseEvent<'_>, state: &mut DecodeState, out: &mut EventQueue) {
        if state.finished {
            return;
        }
        let data = trim_ascii(event.data);
        if event.stray {
            let has_error = serde_json::from_slice::<serde_json::Value>(data)
                .is_ok_and(|v| v.get("error").is_some_and(|e| !e.is_null()));
            if has_error {
                state.stream_error(parse_error_data(data), out);
            }
            return;
        }
        if data == b"[DONE]" {
            state.done(true, out);
            return;
        }
        if data.is_empty() {
            return; // Keep-alive style empty data.
        }
        match self {
            Mapper::Chat(mapper) => mapper.on_data(event.event, data, state, out),
            Mapper::Responses(mapper) => mapper.on_data(event.event, data, state, out),
            Mapper::Messages(mapper) => mapper.on_data(event.event, data, state, out),
            Mapper::MessagesRaw(mapper) => mapper.on_data(event.event, data, state, out),
        }
    }
}

/// Queues a raw field as a [`ChatEvent::Extra`] named `name`, unless it is absent or `null`.
#[inline] // On the chat hot path: called for each rare field of every chunk.
pub(crate) fn extra(
    out: &mut EventQueue,
    choice: Option<u32>,
    name: &str,
    value: Option<&RawValue>,
) {
    if let Some(value) = value
        && value.get() != "null"
    {
        out.push_back(Ok(ChatEvent::Extra {
            choice,
            name: name.to_owned(),
            value: value.to_owned(),
        }));
    }
}

/// Queues an event's whole `data` as a [`ChatEvent::Extra`] named `name`: an event or a block type the
/// mapping does not map, kept raw.
pub(crate) fn data_extra(out: &mut EventQueue, choice: Option<u32>, name: &str, data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Box<RawValue>>(data) {
        out.push_back(Ok(ChatEvent::Extra {
            choice,
            name: name.to_owned(),
            value,
        }));
    }
}

// The Messages and Responses mappings have one choice: their text, reasoning and tool calls are choice 0's.

/// Queues `text` as choice 0's content, unless it is absent or empty.
pub(crate) fn content(out: &mut EventQueue, text: Option<String>) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        out.push_back(Ok(ChatEvent::Content { choice: 0, text }));
    }
}

/// Queues `text` as choice 0's reasoning of `kind`, unless it is absent or empty.
pub(crate) fn reasoning(out: &mut EventQueue, kind: ReasoningKind, text: Option<String>) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        out.push_back(Ok(ChatEvent::Reasoning {
            choice: 0,
            kind,
            text,
        }));
    }
}

/// A tool-call fragment of choice 0.
pub(crate) fn tool_delta(
    index: u32,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
) -> ChatEvent {
    ChatEvent::ToolCall {
        choice: 0,
        delta: ToolCallDelta {
            index,
            id,
            name,
            arguments,
            thought_signature: None,
        },
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// An `{"error":…}` payload (object or string), for `event: error` and error-shaped chunks.
pub(crate) fn parse_error_data(data: &[u8]) -> WireError {
    crate::error::parse_error_body(data)
}

/// A possibly-borrowed optional string that also accepts `null`; borrows when the JSON has no escapes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn into_string(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }

    /// The string, if present and non-empty.
    pub fn non_empty(self) -> Option<String> {
        self.0.filter(|s| !s.is_empty()).map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(StrVisitor)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
        }
        deserializer.deserialize_option(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_borrows_unless_the_json_has_escapes() {
        let plain: Str<'_> = serde_json::from_str(r#""chatcmpl-1""#).unwrap();
        assert!(matches!(plain.0, Some(Cow::Borrowed("chatcmpl-1"))));
        let escaped: Str<'_> = serde_json::from_str(r#""a\"b""#).unwrap();
        assert!(matches!(escaped.0, Some(Cow::Owned(ref s)) if s == "a\"b"));
        let null: Str<'_> = serde_json::from_str("null").unwrap();
        assert_eq!(null, Str(None));
    }

    #[test]
    fn decoder_ignores_input_after_the_end() {
        let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions);
        let mut out = EventQueue::new();
        decoder.feed(b"data: [DONE]\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", &mut out);
        decoder.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert!(decoder.is_finished());
    }

    #[test]
    fn empty_data_and_whitespace_around_done_are_tolerated() {
        let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions);
        let mut out = EventQueue::new();
        decoder.feed(b"data:\n\ndata:  [DONE] \n\n", &mut out);
        assert!(matches!(
            out.pop_front(),
            Some(Ok(ChatEvent::Done {
                done_marker: true,
                ..
            }))
        ));
    }
}
