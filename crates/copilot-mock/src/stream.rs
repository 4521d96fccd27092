//! Response bodies written piece by piece, with stream faults applied.
//!
//! Handlers that stream put an [`SsePlan`] (the complete list of events) into the response
//! extensions; the observing middleware turns it into a body with [`faulty_body`]. Precomputing
//! the events keeps every answer deterministic and puts all stream faults in one place.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use tokio_util::sync::CancellationToken;

use crate::fault::Fault;

/// A streaming answer, still to be written.
#[derive(Debug, Clone)]
pub(crate) struct SsePlan {
    /// Units that stream faults count ("events"). Each is written in pieces of `piece_size`.
    pub events: Vec<Bytes>,
    /// Bytes per write; `None` writes each event at once.
    pub piece_size: Option<usize>,
}

impl SsePlan {
    /// `data: <json>\n\n` events.
    pub fn from_data(data: impl IntoIterator<Item = String>) -> Self {
        let events = data
            .into_iter()
            .map(|d| Bytes::from(format!("data: {d}\n\n")))
            .collect();
        Self {
            events,
            piece_size: None,
        }
    }

    /// `event: <type>\ndata: <json>\n\n` events, each named after its JSON `type` (Responses, Messages).
    pub fn from_named_events(events: impl IntoIterator<Item = serde_json::Value>) -> Self {
        let events = events
            .into_iter()
            .map(|event| {
                let name = event["type"].as_str().unwrap_or("message").to_string();
                Bytes::from(format!("event: {name}\ndata: {event}\n\n"))
            })
            .collect();
        Self {
            events,
            piece_size: None,
        }
    }

    /// Turns the plan into a `text/event-stream` response (the body is attached by the middleware).
    pub fn into_response(self) -> Response {
        let mut response = (
            [
                (http::header::CONTENT_TYPE, "text/event-stream"),
                (http::header::CACHE_CONTROL, "no-cache"),
            ],
            Body::empty(),
        )
            .into_response();
        response.extensions_mut().insert(self);
        response
    }

    /// Splits a transcript into units at line ends (a line plus the blank lines after it).
    pub fn from_transcript(bytes: &Bytes, piece_size: usize) -> Self {
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\n' {
                let mut end = i + 1;
                while end < bytes.len() && (bytes[end] == b'\n' || bytes[end] == b'\r') {
                    end += 1;
                }
                events.push(bytes.slice(start..end));
                start = end;
                i = end;
            } else {
                i += 1;
            }
        }
        if start < bytes.len() {
            events.push(bytes.slice(start..));
        }
        Self {
            events,
            piece_size: Some(piece_size),
        }
    }
}

/// One thing the body writer does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Data(Bytes),
    Sleep(Duration),
    Reset,
}

fn is_done(event: &Bytes) -> bool {
    let text = String::from_utf8_lossy(event);
    text.trim() == "data: [DONE]" || text.trim() == "data:[DONE]"
}

/// Plans the writes for `events` under `fault`.
pub(crate) fn plan_steps(
    mut events: Vec<Bytes>,
    piece_size: Option<usize>,
    fault: Option<&Fault>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(Fault::StallBeforeFirstByte(d)) = fault {
        steps.push(Step::Sleep(*d));
    }
    if let Some(Fault::MissingDone) = fault {
        events.retain(|e| !is_done(e));
    }
    let cut = fault.and_then(|fault| fault.cut(events.len()));
    let total = events.len();
    let mut events = events.into_iter();
    for i in 0..=total {
        if cut == Some(i) {
            match fault {
                Some(Fault::StallMidStream { duration, .. }) => steps.push(Step::Sleep(*duration)),
                Some(Fault::ResetMidStream { .. }) => {
                    // Pause first so hyper flushes what was written; a reset in the same poll
                    // would discard even the status line.
                    steps.push(Step::Sleep(Duration::from_millis(20)));
                    steps.push(Step::Reset);
                    return steps;
                }
                Some(Fault::TruncateStream { .. }) => return steps,
                Some(Fault::MalformedChunk { .. }) => steps.push(Step::Data(Bytes::from_static(
                    b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"brok\n\n",
                ))),
                Some(Fault::MidStreamError { code, message, .. }) => {
                    let error = serde_json::json!({"error": {"message": message, "code": code}});
                    steps.push(Step::Data(Bytes::from(format!("data: {error}\n\n"))));
                    return steps;
                }
                _ => {}
            }
        }
        let Some(event) = events.next() else { break };
        match piece_size {
            Some(size) if size > 0 => {
                let mut offset = 0;
                while offset < event.len() {
                    let end = (offset + size).min(event.len());
                    steps.push(Step::Data(event.slice(offset..end)));
                    offset = end;
                }
            }
            _ => steps.push(Step::Data(event)),
        }
    }
    steps
}

/// A body that performs `steps`. Sleeps end early (and the body ends) when the server shuts down;
/// `Reset` yields an I/O error, which makes hyper abort the connection mid-body.
pub(crate) fn faulty_body(steps: Vec<Step>, cancel: CancellationToken) -> Body {
    let queue: VecDeque<Step> = steps.into();
    let stream = stream::unfold((queue, cancel), |(mut queue, cancel)| async move {
        loop {
            match queue.pop_front()? {
                Step::Data(bytes) => return Some((Ok(bytes), (queue, cancel))),
                Step::Sleep(duration) => {
                    tokio::select! {
                        _ = tokio::time::sleep(duration) => {}
                        _ = cancel.cancelled() => return None,
                    }
                }
                Step::Reset => {
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "copilot-mock: injected connection reset",
                    );
                    return Some((Err(err), (VecDeque::new(), cancel)));
                }
            }
        }
    });
    Body::from_stream(stream)
}
