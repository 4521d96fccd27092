//! A server-sent events decoder over raw bytes (the WHATWG `text/event-stream` rules).
//!
//! It works on bytes, not text: line ends (`\n`, `\r\n`, `\r`) are ASCII, so splitting there can never cut a
//! UTF-8 sequence, and a multi-byte character split across network chunks is simply reassembled with its
//! line. Payloads are handed out as byte slices so the JSON layer can parse them in place.
//!
//! The common Copilot event, `data: {…}` followed by a blank line, inside one network chunk is dispatched
//! straight from the input without copying; everything else (multi-line data, events split across chunks)
//! goes through a small reusable buffer.
//!
//! Every buffer is bounded ([`SseLimits`]): a line or an event larger than its cap (16 MiB each by default),
//! or a stream longer than its optional byte cap, ends decoding with [`SseLimitExceeded`] instead of growing
//! memory without end (a hostile or broken server can send a line that never ends).

use std::fmt;

use memchr::memchr2;

use crate::wire::setters::setters;

/// The default cap on one line and on one event's data: 16 MiB (a real Copilot event is a few KiB; the
/// largest seen, a long reasoning blob, under 1 MiB).
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;
/// The default cap on one event's joined `data:` lines: 16 MiB.
pub const DEFAULT_MAX_EVENT: usize = 16 * 1024 * 1024;

/// Size caps of an [`SseDecoder`]: one line, one event's data, and (optionally) the whole stream.
///
/// ```
/// use copilot_api::sse::SseLimits;
/// let limits = SseLimits::new().max_line(1024 * 1024).max_stream_bytes(256 * 1024 * 1024);
/// assert_eq!(limits.line(), 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseLimits {
    max_line: usize,
    max_event: usize,
    max_stream_bytes: Option<u64>,
}

impl Default for SseLimits {
    fn default() -> Self {
        SseLimits {
            max_line: DEFAULT_MAX_LINE,
            max_event: DEFAULT_MAX_EVENT,
            max_stream_bytes: None,
        }
    }
}

impl SseLimits {
    /// The defaults: 16 MiB per line, 16 MiB per event, no cap on the stream.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// The longest line in bytes, without its line end (default 16 MiB).
        max_line = usize,
        /// The largest event data in bytes, its `data:` lines joined (default 16 MiB).
        max_event = usize,
        /// The most bytes one stream may deliver in total (default: no cap).
        max_stream_bytes = into Option<u64>,
    }

    /// The line cap.
    pub fn line(&self) -> usize {
        self.max_line
    }

    /// The event cap.
    pub fn event(&self) -> usize {
        self.max_event
    }

    /// The stream cap, if any.
    pub fn stream_bytes(&self) -> Option<u64> {
        self.max_stream_bytes
    }
}

/// Which [`SseLimits`] cap a stream broke. Decoding stops there; the decoder keeps no more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseLimitExceeded {
    /// A line grew past the line cap (often a line that never ends).
    Line {
        /// The cap, in bytes.
        limit: usize,
    },
    /// An event's data grew past the event cap (many `data:` lines and no blank line).
    Event {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The stream delivered more bytes than its cap.
    Stream {
        /// The cap, in bytes.
        limit: u64,
    },
}

impl fmt::Display for SseLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseLimitExceeded::Line { limit } => write!(f, "a line exceeds {limit} bytes"),
            SseLimitExceeded::Event { limit } => write!(f, "an event exceeds {limit} bytes"),
            SseLimitExceeded::Stream { limit } => write!(f, "the stream exceeds {limit} bytes"),
        }
    }
}

/// One dispatched event. Borrowed from the decoder (or the input), valid until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` name, when the event had one.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n` (raw bytes; usually UTF-8 JSON).
    pub data: &'a [u8],
    /// The last event id seen so far (`id:`), when any.
    pub id: Option<&'a str>,
    /// `true` for a line that is no SSE field but a bare JSON object (some servers write a trailing
    /// `{"error":…}` without `data:`). Such a line is reported on its own, outside the current event.
    pub stray: bool,
}

impl SseEvent<'_> {
    /// The data as text, with invalid UTF-8 replaced.
    pub fn data_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.data)
    }
}

/// An incremental SSE decoder: feed it byte chunks as they arrive, call [`finish`](Self::finish) at EOF.
///
/// Memory stays within its [`SseLimits`]; once a cap is exceeded every call returns the same
/// [`SseLimitExceeded`] and no event is dispatched any more.
#[derive(Debug, Default)]
pub struct SseDecoder {
    limits: SseLimits,
    /// Bytes fed so far (for the stream cap).
    fed: u64,
    /// The cap this stream broke, if any: decoding has stopped.
    failed: Option<SseLimitExceeded>,
    /// An incomplete line carried over from the previous chunk.
    carry: Vec<u8>,
    /// The data of the event being built (lines joined with `\n`).
    data: Vec<u8>,
    /// Whether the event being built has a `data` field (its data may still be empty).
    has_data: bool,
    /// The `event:` name of the event being built (meaningful while `has_event`). A reused buffer: the
    /// name comes on every event of some APIs (`/v1/messages`, `/responses`), and allocating it per event
    /// was a measurable part of decoding those small events.
    event: String,
    /// Whether the event being built has an `event:` name.
    has_event: bool,
    /// The last event id (persists across events, per the spec).
    last_id: Option<String>,
    /// The last `retry:` value in milliseconds.
    retry: Option<u64>,
    /// The previous chunk ended in `\r`: a `\n` at the start of the next chunk belongs to it.
    skip_lf: bool,
    /// Whether the start of the stream (where a byte order mark may sit) has been handled.
    started: bool,
}

impl SseDecoder {
    /// A fresh decoder with the default [`SseLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh decoder with `limits`.
    pub fn with_limits(limits: SseLimits) -> Self {
        SseDecoder {
            limits,
            ..Self::default()
        }
    }

    /// Replaces the limits (they apply from the next call on).
    pub fn set_limits(&mut self, limits: SseLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> SseLimits {
        self.limits
    }

    /// The last `retry:` value (milliseconds). Informational: a POST stream is never reconnected.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Decodes `chunk`, calling `on_event` for every event completed by it.
    ///
    /// Fails once a cap of the [`SseLimits`] is exceeded; the events completed before that point have been
    /// dispatched, nothing after it is.
    pub fn feed<F: FnMut(SseEvent<'_>)>(
        &mut self,
        chunk: &[u8],
        mut on_event: F,
    ) -> Result<(), SseLimitExceeded> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        let mut over_stream_cap = None;
        let mut chunk = chunk;
        if let Some(limit) = self.limits.max_stream_bytes {
            let room = limit.saturating_sub(self.fed);
            if chunk.len() as u64 > room {
                // Decode what fits, so where the chunks were cut does not change which events got through.
                chunk = &chunk[..usize::try_from(room).unwrap_or(usize::MAX)];
                over_stream_cap = Some(SseLimitExceeded::Stream { limit });
            }
        }
        self.fed = self.fed.saturating_add(chunk.len() as u64);
        let result = self.feed_inner(chunk, &mut on_event);
        match over_stream_cap {
            Some(exceeded) if result.is_ok() => Err(self.fail(exceeded)),
            _ => result,
        }
    }

    /// Records `exceeded` and frees the buffers: nothing more is decoded.
    fn fail(&mut self, exceeded: SseLimitExceeded) -> SseLimitExceeded {
        self.failed = Some(exceeded);
        self.carry = Vec::new();
        self.data = Vec::new();
        self.has_data = false;
        self.event = String::new();
        self.has_event = false;
        exceeded
    }

    /// Fails when the carried line would grow past the line cap.
    fn check_line(&mut self, len: usize) -> Result<(), SseLimitExceeded> {
        if len > self.limits.max_line {
            let limit = self.limits.max_line;
            return Err(self.fail(SseLimitExceeded::Line { limit }));
        }
        Ok(())
    }

    fn feed_inner<F: FnMut(SseEvent<'_>)>(
        &mut self,
        mut chunk: &[u8],
        on_event: &mut F,
    ) -> Result<(), SseLimitExceeded> {
        if !self.started {
            if self.carry.len() + chunk.len() < 3
                && b"\xEF\xBB\xBF".starts_with(&[&self.carry[..], chunk].concat())
            {
                // Could still be a split byte order mark: wait for more.
                self.carry.extend_from_slice(chunk);
                return Ok(());
            }
            self.started = true;
            if !self.carry.is_empty() {
                let mut joined = std::mem::take(&mut self.carry);
                joined.extend_from_slice(chunk);
                let body = joined.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&joined[..]);
                let body = body.to_vec();
                return self.feed_inner(&body, on_event);
            }
            chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
        }
        // A `\r` ended the previous chunk: a leading `\n` completes that CRLF. An empty chunk decides nothing,
        // so the flag waits for the next byte.
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        // Finish a line left over from the previous chunk.
        if !self.carry.is_empty() {
            let Some(end) = memchr2(b'\n', b'\r', chunk) else {
                self.check_line(self.carry.len().saturating_add(chunk.len()))?;
                self.carry.extend_from_slice(chunk);
                return Ok(());
            };
            self.check_line(self.carry.len().saturating_add(end))?;
            self.carry.extend_from_slice(&chunk[..end]);
            let line = std::mem::take(&mut self.carry);
            chunk = self.after_terminator(chunk, end);
            self.process_line(&line, on_event)?;
            self.carry = line;
            self.carry.clear();
        }
        while !chunk.is_empty() {
            let Some(end) = memchr2(b'\n', b'\r', chunk) else {
                self.check_line(chunk.len())?;
                self.carry.extend_from_slice(chunk);
                return Ok(());
            };
            let line = &chunk[..end];
            self.check_line(line.len())?;
            let rest = self.after_terminator(chunk, end);
            // Fast path: a lone `data:` line directly followed by a blank line is dispatched in place.
            if !self.has_data
                && let Some(value) = line.strip_prefix(b"data:")
                && value.len() <= self.limits.max_event
                && let Some(after_blank) = self.blank_line_at(rest)
            {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                on_event(SseEvent {
                    event: self.has_event.then_some(self.event.as_str()),
                    data: value,
                    id: self.last_id.as_deref(),
                    stray: false,
                });
                self.has_event = false;
                chunk = after_blank;
                continue;
            }
            // Fast path: `event: NAME`, one `data:` line and a blank line, all in this chunk (every
            // `/v1/messages` and `/responses` event): dispatched in place, the name borrowed from the input.
            if !self.has_data
                && let Some(name) = line.strip_prefix(b"event:")
                && let Some((name, data, after_blank)) = self.named_event_at(name, rest)
            {
                on_event(SseEvent {
                    event: Some(name),
                    data,
                    id: self.last_id.as_deref(),
                    stray: false,
                });
                self.has_event = false;
                chunk = after_blank;
                continue;
            }
            chunk = rest;
            self.process_line(line, on_event)?;
        }
        Ok(())
    }

    /// Ends the stream. A final event that lacks its blank line is still dispatched (lenient: a server that
    /// forgets the last `\n` must not lose its last chunk); an unterminated last line counts as a line.
    pub fn finish<F: FnMut(SseEvent<'_>)>(
        &mut self,
        mut on_event: F,
    ) -> Result<(), SseLimitExceeded> {
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        if !self.started {
            self.started = true;
            // Only a partial byte order mark (or nothing) was seen.
            let carry = std::mem::take(&mut self.carry);
            if !b"\xEF\xBB\xBF".starts_with(&carry) {
                self.feed_inner(&carry, &mut on_event)?;
            }
        }
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.process_line(&line, &mut on_event)?;
        }
        self.dispatch(&mut on_event);
        self.skip_lf = false;
        Ok(())
    }

    /// The rest of `chunk` after the line terminator at `end`; remembers a `\r` at the very end of the chunk.
    fn after_terminator<'c>(&mut self, chunk: &'c [u8], end: usize) -> &'c [u8] {
        if chunk[end] == b'\r' {
            match chunk.get(end + 1) {
                Some(b'\n') => &chunk[end + 2..],
                Some(_) => &chunk[end + 1..],
                None => {
                    self.skip_lf = true;
                    &chunk[end + 1..]
                }
            }
        } else {
            &chunk[end + 1..]
        }
    }

    /// For an `event:` line whose value is `name`: if `rest` starts with one `data:` line within the caps and
    /// a blank line, the name (when valid UTF-8), the data and the bytes after the blank line.
    fn named_event_at<'c>(
        &mut self,
        name: &'c [u8],
        rest: &'c [u8],
    ) -> Option<(&'c str, &'c [u8], &'c [u8])> {
        let end = memchr2(b'\n', b'\r', rest)?;
        let line = &rest[..end];
        let data = line.strip_prefix(b"data:")?;
        if line.len() > self.limits.max_line || data.len() > self.limits.max_event {
            return None;
        }
        let name = std::str::from_utf8(name.strip_prefix(b" ").unwrap_or(name)).ok()?;
        let after_data = self.after_terminator(rest, end);
        let after_blank = self.blank_line_at(after_data)?;
        Some((name, data.strip_prefix(b" ").unwrap_or(data), after_blank))
    }

    /// If `rest` starts with a complete blank line, the bytes after it.
    fn blank_line_at<'c>(&mut self, rest: &'c [u8]) -> Option<&'c [u8]> {
        match rest {
            [b'\n', tail @ ..] => Some(tail),
            [b'\r', b'\n', tail @ ..] => Some(tail),
            [b'\r'] => {
                self.skip_lf = true;
                Some(&[])
            }
            [b'\r', tail @ ..] => Some(tail),
            _ => None,
        }
    }

    fn process_line<F: FnMut(SseEvent<'_>)>(
        &mut self,
        line: &[u8],
        on_event: &mut F,
    ) -> Result<(), SseLimitExceeded> {
        if line.is_empty() {
            self.dispatch(on_event);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(()); // A comment (keep-alive).
        }
        if line[0] == b'{' {
            on_event(SseEvent {
                event: None,
                data: line,
                id: self.last_id.as_deref(),
                stray: true,
            });
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                let grown = self
                    .data
                    .len()
                    .saturating_add(usize::from(self.has_data))
                    .saturating_add(value.len());
                if grown > self.limits.max_event {
                    let limit = self.limits.max_event;
                    return Err(self.fail(SseLimitExceeded::Event { limit }));
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                match std::str::from_utf8(value) {
                    Ok(name) => self.event.push_str(name),
                    Err(_) => self.event.push_str(&String::from_utf8_lossy(value)),
                }
                self.has_event = true;
            }
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {} // Unknown fields are ignored, per the spec.
        }
        Ok(())
    }

    fn dispatch<F: FnMut(SseEvent<'_>)>(&mut self, on_event: &mut F) {
        if self.has_data {
            on_event(SseEvent {
                event: self.has_event.then_some(self.event.as_str()),
                data: &self.data,
                id: self.last_id.as_deref(),
                stray: false,
            });
        }
        self.data.clear();
        self.has_data = false;
        self.has_event = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Owned {
        event: Option<String>,
        data: String,
        id: Option<String>,
    }

    fn decode_split(input: &[u8], splits: &[usize]) -> Vec<Owned> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let mut push = |e: SseEvent<'_>| {
            out.push(Owned {
                event: e.event.map(str::to_owned),
                data: String::from_utf8(e.data.to_vec()).expect("utf8"),
                id: e.id.map(str::to_owned),
            })
        };
        let mut start = 0;
        for &split in splits {
            decoder.feed(&input[start..split], &mut push).unwrap();
            start = split;
        }
        decoder.feed(&input[start..], &mut push).unwrap();
        decoder.finish(&mut push).unwrap();
        out
    }

    /// Decodes `input` whole, one byte at a time, and split at every single position; all must agree.
    fn decode_all_ways(input: &[u8]) -> Vec<Owned> {
        let whole = decode_split(input, &[]);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(decode_split(input, &bytewise), whole, "one byte at a time");
        for split in 1..input.len() {
            assert_eq!(decode_split(input, &[split]), whole, "split at {split}");
        }
        whole
    }

    fn data(events: &[Owned]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn line_endings_lf_crlf_cr_are_equivalent() {
        for sep in ["\n", "\r\n", "\r"] {
            let input = format!("data: a{sep}{sep}data: b{sep}{sep}");
            assert_eq!(
                data(&decode_all_ways(input.as_bytes())),
                ["a", "b"],
                "{sep:?}"
            );
        }
        // Mixed within one stream.
        let input = b"data: a\r\n\ndata: b\r\rdata: c\n\r\n";
        assert_eq!(data(&decode_all_ways(input)), ["a", "b", "c"]);
    }

    /// Found by fuzzing: a transport may deliver empty chunks, and an empty chunk between the `\r` and the
    /// `\n` of one CRLF must not turn that `\n` into a blank line (which dispatched the event early and lost
    /// its `event:` name).
    #[test]
    fn an_empty_chunk_inside_a_crlf_changes_nothing() {
        let input = b"event: message\r\ndata: a\r\n\r\n";
        let whole = decode_split(input, &[]);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].event.as_deref(), Some("message"));
        for cr in input
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\r')
            .map(|(i, _)| i + 1)
        {
            // Split right after the `\r`, with an empty chunk in between.
            assert_eq!(
                decode_split(input, &[cr, cr]),
                whole,
                "empty chunk after byte {cr}"
            );
        }
    }

    #[test]
    fn comments_are_ignored() {
        let input = b": keep-alive\n\n:\ndata: x\n: inside\n\n";
        assert_eq!(data(&decode_all_ways(input)), ["x"]);
    }

    #[test]
    fn event_id_and_retry_fields() {
        let input = b"event: error\nid: 7\nretry: 1500\ndata: {}\n\ndata: next\n\n";
        let mut decoder = SseDecoder::new();
        let events = decode_all_ways(input);
        assert_eq!(events[0].event.as_deref(), Some("error"));
        assert_eq!(events[0].id.as_deref(), Some("7"));
        // The event name resets after dispatch; the id persists.
        assert_eq!(events[1].event, None);
        assert_eq!(events[1].id.as_deref(), Some("7"));
        decoder.feed(input, |_| {}).unwrap();
        assert_eq!(decoder.retry(), Some(1500));
        let mut bad = SseDecoder::new();
        bad.feed(b"retry: 1x\n\n", |_| {}).unwrap();
        assert_eq!(bad.retry(), None);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        let input = b"data: {\"a\":\ndata:  1}\ndata:\n\n";
        assert_eq!(data(&decode_all_ways(input)), ["{\"a\":\n 1}\n"]);
    }

    #[test]
    fn data_without_space_and_field_without_colon() {
        let input = b"data:x\n\ndata\n\ndata:\n\n";
        // `data` without a colon is a data field with an empty value.
        assert_eq!(data(&decode_all_ways(input)), ["x", "", ""]);
    }

    #[test]
    fn only_one_leading_space_is_stripped() {
        assert_eq!(data(&decode_all_ways(b"data:  two\n\n")), [" two"]);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let input = "data: {\"content\":\"héllo → 😀\"}\n\n".as_bytes();
        let events = decode_all_ways(input);
        assert_eq!(data(&events), ["{\"content\":\"héllo → 😀\"}"]);
        // Split inside the 4-byte emoji explicitly.
        let emoji = input.windows(4).position(|w| w == "😀".as_bytes()).unwrap();
        let split = decode_split(input, &[emoji + 1, emoji + 2, emoji + 3]);
        assert_eq!(split, events);
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing() {
        assert!(decode_all_ways(b"\n\n\r\n\nevent: x\n\n").is_empty());
    }

    #[test]
    fn trailing_event_without_blank_line_is_dispatched_at_eof() {
        assert_eq!(data(&decode_all_ways(b"data: a\n\ndata: b\n")), ["a", "b"]);
        assert_eq!(
            data(&decode_all_ways(b"data: a\n\ndata: [DONE]")),
            ["a", "[DONE]"]
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(data(&decode_all_ways(b"\xEF\xBB\xBFdata: a\n\n")), ["a"]);
        assert!(decode_all_ways(b"\xEF\xBB").is_empty());
    }

    #[test]
    fn stray_json_lines_are_reported_separately() {
        let mut decoder = SseDecoder::new();
        let mut seen = Vec::new();
        decoder
            .feed(b"data: a\n{\"error\":{\"message\":\"x\"}}\n\n", |e| {
                seen.push((e.stray, String::from_utf8_lossy(e.data).into_owned()))
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                (true, "{\"error\":{\"message\":\"x\"}}".to_owned()),
                (false, "a".to_owned())
            ]
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert_eq!(data(&decode_all_ways(b"foo: bar\ndata: a\nbaz\n\n")), ["a"]);
    }

    /// Named events (the in-place path for `event:` + `data:` + blank line) decode the same however the input
    /// is cut and whatever the line ends; the name does not leak into the next event.
    #[test]
    fn named_events_with_every_line_end() {
        for sep in ["\n", "\r\n", "\r"] {
            let input = format!(
                "event: a{sep}data: 1{sep}{sep}event:b{sep}data:2{sep}{sep}data: 3{sep}{sep}\
                 event: c{sep}data: 4{sep}data: 5{sep}{sep}"
            );
            let events = decode_all_ways(input.as_bytes());
            let seen: Vec<(Option<&str>, &str)> = events
                .iter()
                .map(|e| (e.event.as_deref(), e.data.as_str()))
                .collect();
            assert_eq!(
                seen,
                [
                    (Some("a"), "1"),
                    (Some("b"), "2"),
                    (None, "3"),
                    (Some("c"), "4\n5")
                ],
                "{sep:?}"
            );
        }
    }

    #[test]
    fn fast_path_respects_pending_event_name() {
        let events = decode_all_ways(b"event: error\ndata: {}\n\n");
        assert_eq!(events[0].event.as_deref(), Some("error"));
    }

    /// Where the chunks are cut changes neither the events delivered before a cap nor the error.
    #[test]
    fn caps_fail_the_same_however_the_input_is_cut() {
        let limits = SseLimits::new().max_line(16).max_event(24);
        let cases: [(&[u8], SseLimitExceeded); 3] = [
            (
                b"data: a\n\ndata: 0123456789abcdef\n\n",
                SseLimitExceeded::Line { limit: 16 },
            ),
            (
                b"data: a\n\ndata: 0123456789\ndata: 0123456789\ndata: 0123\n\n",
                SseLimitExceeded::Event { limit: 24 },
            ),
            (
                b"data: a\n\ndata: b\n\n",
                SseLimitExceeded::Stream { limit: 12 },
            ),
        ];
        for (input, expected) in cases {
            let limits = match expected {
                SseLimitExceeded::Stream { limit } => limits.max_stream_bytes(limit),
                _ => limits,
            };
            let run = |splits: &[usize]| {
                let mut decoder = SseDecoder::with_limits(limits);
                let mut seen = Vec::new();
                let mut start = 0;
                let mut result = Ok(());
                for &split in splits.iter().chain(std::iter::once(&input.len())) {
                    result = result.and_then(|()| {
                        decoder.feed(&input[start..split], |e| seen.push(e.data.to_vec()))
                    });
                    start = split;
                }
                let result = result.and_then(|()| decoder.finish(|e| seen.push(e.data.to_vec())));
                (seen, result)
            };
            let whole = run(&[]);
            assert_eq!(whole, (vec![b"a".to_vec()], Err(expected)), "{expected}");
            for split in 1..input.len() {
                assert_eq!(run(&[split]), whole, "{expected}, split at {split}");
            }
            let bytewise: Vec<usize> = (1..input.len()).collect();
            assert_eq!(run(&bytewise), whole, "{expected}, byte by byte");
        }
    }

    #[test]
    fn a_failed_decoder_keeps_failing_and_frees_its_buffers() {
        let mut decoder = SseDecoder::with_limits(SseLimits::new().max_line(8));
        assert_eq!(decoder.feed(b"data: 01", |_| {}), Ok(()));
        assert_eq!(
            decoder.feed(b"2", |_| {}),
            Err(SseLimitExceeded::Line { limit: 8 })
        );
        assert_eq!(decoder.carry.capacity(), 0);
        let mut events = 0;
        assert!(decoder.feed(b"\n\ndata: x\n\n", |_| events += 1).is_err());
        assert!(decoder.finish(|_| events += 1).is_err());
        assert_eq!(events, 0);
    }
}
