//! The OpenAI-compatible endpoints.

pub(crate) mod chat;
pub(crate) mod embeddings;
pub(crate) mod models;
pub(crate) mod responses;

use std::time::Instant;

use copilot_api::{CopilotApiClient, Initiator, RequestOptions};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Failure;
use crate::routing::{self, Resolved};
use crate::server::RequestLog;

/// Response header naming the model that served the request (set when it differs from the request's).
pub const MODEL_HEADER: &str = "x-copilot-model";

/// Resolves the requested model against the (cached) models list and notes it in the log record.
pub(crate) async fn resolve_model(
    api: &CopilotApiClient,
    requested: &str,
    log: &RequestLog,
) -> Result<Resolved, Failure> {
    let models = api.models().await.map_err(|e| Failure::from_api(&e))?;
    let resolved = routing::resolve(&models, requested);
    log.update(|record| {
        record.model = Some(resolved.id.clone());
        record.requested_model = resolved.mapped_from.clone();
    });
    if let Some(from) = &resolved.mapped_from {
        tracing::debug!(requested = %from, model = %resolved.id, "mapped an unlisted model name");
    }
    Ok(resolved)
}

/// The headers every answer carries: the model used, when it was mapped from another name.
pub(crate) fn model_headers(resolved: &Resolved) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if resolved.mapped_from.is_some()
        && let Ok(value) = HeaderValue::from_str(&resolved.id)
    {
        headers.insert(HeaderName::from_static(MODEL_HEADER), value);
    }
    headers
}

/// Per-request options from the caller's headers: an explicit `X-Initiator` (agents that know a request
/// is automatic say `agent`) wins over the initiator derived from the conversation.
pub(crate) fn request_options(headers: &HeaderMap) -> RequestOptions {
    let mut options = RequestOptions::new();
    options.initiator = headers
        .get("x-initiator")
        .and_then(|v| v.to_str().ok())
        .and_then(Initiator::from_header);
    // The caller's label goes through copilot-api's one classification, like the SDK's, instead of
    // overwriting its header afterwards.
    if let Some(value) = headers
        .get("x-interaction-type")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        options.interaction_type = Some(value.to_owned());
    }
    for name in ["x-interaction-id", "x-agent-task-id"] {
        if let Some(value) = headers.get(name) {
            options
                .headers
                .insert(HeaderName::from_static(name), value.clone());
        }
    }
    options
}

/// Times the upstream call into the log record.
pub(crate) struct UpstreamTimer {
    started: Instant,
}

impl UpstreamTimer {
    pub(crate) fn start() -> Self {
        UpstreamTimer {
            started: Instant::now(),
        }
    }

    pub(crate) fn stop(self, log: &RequestLog, endpoint: &'static str) {
        let ms = self.started.elapsed().as_millis() as u64;
        log.update(|record| {
            record.upstream = Some(endpoint);
            record.upstream_ms = Some(ms);
        });
    }
}

/// Parses a JSON body into `T`, with a 400 naming the problem.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::bad_request(format!("invalid request body: {e}")).code("invalid_request")
    })
}
