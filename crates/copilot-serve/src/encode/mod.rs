//! Writing answers back in the caller's format: streamed [`ChatEvent`]s as SSE, and collected answers as
//! JSON. Upstream chat and responses streams both decode into `ChatEvent`s, so each outgoing format has one
//! encoder whatever endpoint served the request.

pub(crate) mod anthropic;
pub(crate) mod chat;
pub(crate) mod responses;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use copilot_api::{ChatEvent, ChatStream, ToolCallDelta, Usage};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::value::RawValue;

use crate::error::{Dialect, Failure};
use crate::server::RequestLog;

/// Usage and cost seen in an answer, for the log line and the cost header.
#[derive(Debug, Default, Clone)]
pub(crate) struct Meter {
    pub(crate) usage: Option<Usage>,
    pub(crate) cost_nano_aiu: Option<u64>,
}

impl Meter {
    /// A meter with known figures.
    pub(crate) fn new(usage: Option<Usage>, cost_nano_aiu: Option<u64>) -> Self {
        Meter {
            usage,
            cost_nano_aiu,
        }
    }

    /// The figures of a collected answer.
    pub(crate) fn of(collected: &copilot_api::CollectedChat) -> Self {
        let cost = collected.copilot_usage.as_ref().map(|u| u.total_nano_aiu);
        Meter::new(collected.usage.clone(), cost)
    }

    /// Notes usage or a `copilot_usage` extra; other events are ignored.
    pub(crate) fn observe(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::Usage(usage) => self.usage = Some((**usage).clone()),
            ChatEvent::Extra { name, value, .. } if name == "copilot_usage" => {
                if let Some(cost) = cost_of(value) {
                    self.cost_nano_aiu = Some(cost);
                }
            }
            _ => {}
        }
    }

    /// Copies the figures into the request's log record.
    pub(crate) fn report(&self, log: &RequestLog) {
        log.update(|record| {
            record.prompt_tokens = self.usage.as_ref().map(|u| u.prompt_tokens);
            record.completion_tokens = self.usage.as_ref().map(|u| u.completion_tokens);
            record.cost_nano_aiu = self.cost_nano_aiu;
        });
    }
}

/// `copilot_usage.total_nano_aiu`: the AI-credit cost Copilot reports for an answer, read as copilot-api
/// reads it for SDK users ([`copilot_api::CopilotUsage`]: fractions rounded, out-of-range values
/// saturated), so the gateway's header and log report the same figure as the SDK's totals.
pub(crate) fn cost_of(value: &RawValue) -> Option<u64> {
    serde_json::from_str::<copilot_api::CopilotUsage>(value.get())
        .ok()
        .map(|usage| usage.total_nano_aiu)
}

/// The response header carrying the upstream AI-credit cost (nano AI units), when Copilot reported one.
pub const COST_HEADER: &str = "x-copilot-cost-nano-aiu";

/// The field a streamed answer's final `usage` object gets with the same cost (nano AI units): the last
/// chat usage chunk, `response.usage` of `response.completed`, and Anthropic's `message_delta.usage`.
/// Streams cannot carry a header sent after the body started; clients ignore fields they do not know.
pub const COST_USAGE_FIELD: &str = "copilot_cost_nano_aiu";

/// Adds [`COST_USAGE_FIELD`] to a `usage` object, when the cost is known.
pub(crate) fn with_cost(mut usage: serde_json::Value, cost: Option<u64>) -> serde_json::Value {
    if let (Some(cost), Some(object)) = (cost, usage.as_object_mut()) {
        object.insert(COST_USAGE_FIELD.to_owned(), cost.into());
    }
    usage
}

/// An outgoing stream format.
pub(crate) trait Encoder: Send + 'static {
    /// Writes whatever `event` means in this format into `out` (possibly nothing).
    fn event(&mut self, event: ChatEvent, out: &mut String);
    /// Writes a failure after the stream started.
    fn fail(&mut self, failure: &Failure, out: &mut String);
    /// What the stream carried.
    fn meter(&self) -> &Meter;
}

/// Tool calls numbered the way OpenAI clients expect: one index per call, in arrival order. Copilot's
/// Claude streams reuse index 0 for successive calls with new ids; a client that accumulates by index
/// would glue them together.
#[derive(Debug, Default)]
pub(crate) struct ToolNumbering {
    count: usize,
    ids: Vec<String>,
    latest_at_index: BTreeMap<u32, usize>,
}

impl ToolNumbering {
    /// The call a fragment belongs to and whether it starts that call.
    pub(crate) fn place(&mut self, delta: &ToolCallDelta) -> (usize, bool) {
        let (position, new) = match &delta.id {
            Some(id) => match self.ids.iter().rposition(|known| known == id) {
                Some(position) => (position, false),
                None => {
                    self.ids.push(id.clone());
                    self.count += 1;
                    (self.count - 1, true)
                }
            },
            None => match self.latest_at_index.get(&delta.index) {
                Some(&position) => (position, false),
                None => {
                    self.ids.push(String::new());
                    self.count += 1;
                    (self.count - 1, true)
                }
            },
        };
        self.latest_at_index.insert(delta.index, position);
        (position, new)
    }

    /// How many calls were seen.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// The SSE response for `stream` written by `encoder`. The upstream stream is polled only as the caller
/// reads (no task, no buffer beyond one event); dropping the response body drops the upstream stream,
/// which closes its connection.
pub(crate) fn sse_response<E: Encoder>(
    stream: ChatStream,
    encoder: E,
    log: RequestLog,
    dialect: Dialect,
    prelude: String,
    headers: HeaderMap,
) -> Response {
    struct State<E> {
        stream: ChatStream,
        encoder: E,
        log: RequestLog,
        dialect: Dialect,
        prelude: Option<String>,
    }
    let state = Some(State {
        stream,
        encoder,
        log,
        dialect,
        prelude: Some(prelude).filter(|p| !p.is_empty()),
    });
    let body = futures_util::stream::unfold(state, |state| async move {
        let mut state = state?;
        let mut out = state.prelude.take().unwrap_or_default();
        loop {
            match state.stream.next().await {
                Some(Ok(event)) => {
                    let done = matches!(event, ChatEvent::Done { .. });
                    state.encoder.event(event, &mut out);
                    if done {
                        state.encoder.meter().report(&state.log);
                        return Some((Ok::<_, std::io::Error>(Bytes::from(out)), None));
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), Some(state)));
                    }
                }
                Some(Err(error)) => {
                    let failure = Failure::from_api(&error).in_dialect(state.dialect);
                    state.log.update(|r| r.error = Some(failure.to_string()));
                    state.encoder.fail(&failure, &mut out);
                    state.encoder.meter().report(&state.log);
                    return Some((Ok(Bytes::from(out)), None));
                }
                None => {
                    state.encoder.meter().report(&state.log);
                    return (!out.is_empty()).then(|| (Ok(Bytes::from(out)), None));
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let map = response.headers_mut();
    map.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    map.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    map.extend(headers);
    response
}

/// Serialises a JSON value into `out` (infallible for the value types used here).
pub(crate) fn push_json(out: &mut String, value: &impl serde::Serialize) {
    if let Ok(text) = serde_json::to_string(value) {
        out.push_str(&text);
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh id with `prefix` (`chatcmpl-`, `resp_`, `msg_`, …).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("JSON")
    }

    #[test]
    fn the_gateway_reads_a_cost_as_the_sdk_does() {
        for text in [
            r#"{"total_nano_aiu": 2.6, "token_details": []}"#,
            r#"{"total_nano_aiu": 1e30}"#,
            r#"{"total_nano_aiu": 42}"#,
        ] {
            let sdk: copilot_api::CopilotUsage = serde_json::from_str(text).expect("usage");
            assert_eq!(cost_of(&raw(text)), Some(sdk.total_nano_aiu), "{text}");
        }
        assert_eq!(cost_of(&raw(r#"{"total_nano_aiu": 2.6}"#)), Some(3));
        assert_eq!(cost_of(&raw(r#""not an object""#)), None);
    }
}
