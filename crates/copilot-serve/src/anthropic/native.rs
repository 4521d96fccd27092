//! Native `/v1/messages` for the models whose `supported_endpoints` list it (Claude): the caller's request
//! goes to Copilot's Messages endpoint with only what Copilot rejects left out, and the answer (or every
//! stream event) comes back as Copilot sent it. Nothing is translated, so thinking blocks, their
//! signatures, `redacted_thinking`, citations, stop sequences and unknown fields all survive. Two things
//! are the gateway's: `model` names the model the caller asked for, and a stream's `message_delta.usage`
//! carries the cost ([`COST_USAGE_FIELD`](crate::encode::COST_USAGE_FIELD)).

use axum::response::Response;
use copilot_api::{ChatEvent, CopilotApiClient, MessagesUsage, RequestOptions};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::encode::{Encoder, Meter, cost_of, sse_response};
use crate::error::{Dialect, Failure};
use crate::handler::{Reply, timed};
use crate::routing::Resolved;
use crate::server::RequestLog;

/// `anthropic-beta` values passed on to Copilot. Copilot refuses a request naming a beta it does not
/// know (agents send many: `claude-code-…`, `context-management-…`, `oauth-…`), so only these go on.
const FORWARDED_BETAS: &[&str] = &["interleaved-thinking-2025-05-14"];

/// Removes what agents send and Copilot's Messages endpoint rejects: a top-level `cache_control`,
/// `context_management`, `metadata`, server tools, and `scope` inside every `cache_control`.
pub(crate) fn adapt(body: &mut Map<String, Value>) {
    for field in ["cache_control", "context_management", "metadata"] {
        body.remove(field);
    }
    if let Some(Value::Array(tools)) = body.get_mut("tools") {
        tools.retain(|tool| {
            let keep = super::request::is_custom_tool(tool);
            if !keep {
                let kind = tool.get("type").and_then(Value::as_str).unwrap_or("?");
                tracing::debug!(kind, "dropping a server tool Copilot does not serve");
            }
            keep
        });
        if tools.is_empty() {
            body.remove("tools");
            body.remove("tool_choice");
        }
    }
    if let Some(system) = body.get_mut("system") {
        super::request::strip_billing_header(system);
    }
    for field in ["system", "tools", "messages"] {
        if let Some(value) = body.get_mut(field) {
            strip_cache_scope(value, 0);
        }
    }
}

/// Deepest nesting searched for `cache_control` (messages → content → tool_result content → block).
const MAX_DEPTH: usize = 8;

fn strip_cache_scope(value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                strip_cache_scope(item, depth + 1);
            }
        }
        Value::Object(object) => {
            if let Some(Value::Object(cache)) = object.get_mut("cache_control") {
                cache.remove("scope");
            }
            if let Some(content) = object.get_mut("content") {
                strip_cache_scope(content, depth + 1);
            }
        }
        _ => {}
    }
}

/// The `anthropic-beta` header to send: the caller's values Copilot accepts, if any.
fn forwarded_beta(headers: &HeaderMap) -> Option<HeaderValue> {
    let kept: Vec<&str> = headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|beta| FORWARDED_BETAS.contains(beta))
        .collect();
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_str(&kept.join(",")).ok()
}

/// What [`forward`] needs to know about the call.
pub(crate) struct Call<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) headers: &'a HeaderMap,
    pub(crate) resolved: &'a Resolved,
    /// The model name the caller asked for (answers name it, as on the translated path).
    pub(crate) requested_model: &'a str,
    pub(crate) stream: bool,
    pub(crate) extra_headers: HeaderMap,
}

/// Sends the caller's request to Copilot's `/v1/messages` and returns Copilot's answer unchanged (but for
/// the model name, which is the caller's).
pub(crate) async fn forward(
    api: &CopilotApiClient,
    call: Call<'_>,
    mut options: RequestOptions,
    log: &RequestLog,
) -> Result<Response, Failure> {
    let mut body: Map<String, Value> = crate::openai::parse_body(call.body)?;
    adapt(&mut body);
    body.insert("model".to_owned(), Value::String(call.resolved.id.clone()));
    let request: copilot_api::MessagesRequest = serde_json::from_value(Value::Object(body))
        .map_err(|e| {
            Failure::bad_request(format!("invalid request body: {e}")).code("invalid_request")
        })?;
    if let Some(beta) = forwarded_beta(call.headers) {
        options
            .headers
            .insert(HeaderName::from_static("anthropic-beta"), beta);
    }
    let rename =
        (call.resolved.id != call.requested_model).then(|| call.requested_model.to_owned());
    if call.stream {
        let upstream = timed(
            log,
            "/v1/messages",
            api.messages_stream_raw_with(request, options),
        )
        .await?;
        return Ok(sse_response(
            upstream,
            NativeEvents::new(rename),
            log.clone(),
            Dialect::Anthropic,
            String::new(),
            call.extra_headers,
        ));
    }
    let answer = timed(log, "/v1/messages", api.messages_with(request, options)).await?;
    let meter = Meter::new(
        Some(answer.usage.to_usage()),
        answer.copilot_usage().map(|u| u.total_nano_aiu),
    );
    let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
    if let (Some(model), Some(object)) = (rename, body.as_object_mut()) {
        object.insert("model".to_owned(), Value::String(model));
    }
    let reply = Reply {
        log,
        dialect: Dialect::Anthropic,
        headers: call.extra_headers,
    };
    Ok(reply.json(meter, body))
}

/// The parts of a raw stream event the meter reads.
#[derive(Deserialize)]
struct Metered<'a> {
    message: Option<MeteredMessage>,
    usage: Option<Map<String, Value>>,
    #[serde(borrow, default)]
    copilot_usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MeteredMessage {
    usage: Option<Map<String, Value>>,
}

/// Re-emits Copilot's Messages events as they came (the event name is the `type`, the data unchanged),
/// noting usage and cost for the log line. `message_delta` is held until the next event, because Copilot
/// reports the cost on `message_stop`, after it: the held delta's `usage` gets the cost
/// ([`COST_USAGE_FIELD`](crate::encode::COST_USAGE_FIELD)) when it is known by then.
pub(crate) struct NativeEvents {
    /// The caller's model name, when it differs from the one Copilot names in `message_start`.
    rename: Option<String>,
    /// The `message_delta` data not sent yet.
    held_delta: Option<Box<RawValue>>,
    /// `message_start`'s usage overlaid with each `message_delta`'s.
    usage: Map<String, Value>,
    stopped: bool,
    meter: Meter,
}

impl NativeEvents {
    pub(crate) fn new(rename: Option<String>) -> Self {
        NativeEvents {
            rename,
            held_delta: None,
            usage: Map::new(),
            stopped: false,
            meter: Meter::default(),
        }
    }

    fn observe(&mut self, name: &str, value: &RawValue) {
        let Ok(metered) = serde_json::from_str::<Metered<'_>>(value.get()) else {
            return;
        };
        let usage = match name {
            "message_start" => metered.message.and_then(|m| m.usage),
            "message_delta" => metered.usage,
            _ => None,
        };
        if let Some(usage) = usage {
            self.usage.extend(usage);
            let usage: MessagesUsage =
                serde_json::from_value(Value::Object(self.usage.clone())).unwrap_or_default();
            self.meter.usage = Some(usage.to_usage());
        }
        if let Some(cost) = metered.copilot_usage.and_then(cost_of) {
            self.meter.cost_nano_aiu = Some(cost);
        }
    }

    /// `message_start` naming the caller's model.
    fn renamed(&self, value: &RawValue) -> Option<String> {
        let model = self.rename.as_ref()?;
        let mut event: Value = serde_json::from_str(value.get()).ok()?;
        let message = event.get_mut("message")?.as_object_mut()?;
        message.insert("model".to_owned(), Value::String(model.clone()));
        serde_json::to_string(&event).ok()
    }

    /// Sends the held `message_delta`, its usage carrying the cost when known.
    fn flush_delta(&mut self, out: &mut String) {
        let Some(delta) = self.held_delta.take() else {
            return;
        };
        let with_cost = self.meter.cost_nano_aiu.and_then(|cost| {
            let mut event: Value = serde_json::from_str(delta.get()).ok()?;
            let usage = event.get_mut("usage")?.as_object_mut()?;
            usage.insert(crate::encode::COST_USAGE_FIELD.to_owned(), cost.into());
            serde_json::to_string(&event).ok()
        });
        Self::emit(
            out,
            "message_delta",
            with_cost.as_deref().unwrap_or(delta.get()),
        );
    }

    fn emit(out: &mut String, name: &str, data: &str) {
        out.push_str("event: ");
        out.push_str(name);
        out.push_str("\ndata: ");
        out.push_str(data);
        out.push_str("\n\n");
    }
}

impl Encoder for NativeEvents {
    fn event(&mut self, event: ChatEvent, out: &mut String) {
        match event {
            ChatEvent::Extra { name, value, .. } => {
                self.observe(&name, &value);
                self.flush_delta(out);
                if name == "message_delta" {
                    self.held_delta = Some(value);
                    return;
                }
                if name == "message_stop" {
                    self.stopped = true;
                }
                let renamed = if name == "message_start" {
                    self.renamed(&value)
                } else {
                    None
                };
                Self::emit(out, &name, renamed.as_deref().unwrap_or(value.get()));
            }
            ChatEvent::Done { .. } if !self.stopped => {
                self.flush_delta(out);
                // Copilot's stream ended without `message_stop`: the answer is cut short.
                let failure = Failure::new(
                    http::StatusCode::BAD_GATEWAY,
                    "the Copilot stream ended before message_stop",
                )
                .in_dialect(Dialect::Anthropic);
                out.push_str(&failure.sse_event());
            }
            ChatEvent::Malformed { error, .. } => {
                tracing::debug!(%error, "skipping a malformed Messages event");
            }
            _ => {}
        }
    }

    fn fail(&mut self, failure: &Failure, out: &mut String) {
        self.flush_delta(out);
        out.push_str(&failure.sse_event());
    }

    fn meter(&self) -> &Meter {
        &self.meter
    }
}
