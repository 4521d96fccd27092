//! [`ApiError`], the crate's one error type, and the mapping from HTTP status + body (`docs/protocol.md` §12).

use std::fmt;
use std::time::{Duration, SystemTime};

use copilot_core::CredentialError;
use copilot_http::TransportError;
use copilot_http::redact::excerpt;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// The longest body excerpt kept in an error (bodies can be huge HTML pages or echo the prompt).
pub const MAX_SNIPPET: usize = 512;

/// What the server said about a failed request, shared by every HTTP and stream error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The HTTP status, when the error came from a response head (absent for mid-stream errors).
    pub status: Option<u16>,
    /// The machine-readable `error.code`, when the body had a non-empty one.
    pub code: Option<String>,
    /// The human-readable message (`error.message`, or the text/plain body), sanitised and length-limited.
    pub message: String,
    /// The `error.type`, when present.
    pub error_type: Option<String>,
    /// The `error.param`, when present and non-empty.
    pub param: Option<String>,
    /// The `x-request-id` response header (or the one we sent).
    pub request_id: Option<String>,
    /// The `x-github-request-id` response header: the id GitHub support asks for.
    pub github_request_id: Option<String>,
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status}")?;
        } else {
            f.write_str("stream error")?;
        }
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.github_request_id {
            write!(f, " (x-github-request-id {id})")?;
        } else if let Some(id) = &self.request_id {
            write!(f, " (x-request-id {id})")?;
        }
        Ok(())
    }
}

/// What had arrived when a stream broke off, so callers can decide whether the partial answer is usable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartialInfo {
    /// Events yielded before the failure.
    pub events: u64,
    /// Bytes of the body received.
    pub bytes: u64,
    /// Whether any choice had reported a `finish_reason`.
    pub saw_finish: bool,
}

/// Every failure of the Copilot API client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `model_not_supported`: unknown id, policy not enabled, or a misspelt (e.g. dated Anthropic) id.
    #[error("model not supported: {0}")]
    ModelNotSupported(Box<ErrorInfo>),
    /// 400 `unsupported_api_for_model`: the model needs another endpoint (see `ModelInfo::endpoint_for_chat`).
    #[error("this endpoint is not available for the model: {0}")]
    UnsupportedApiForModel(Box<ErrorInfo>),
    /// 400 "model access is not permitted per policy settings": an org policy, or terms not accepted yet
    /// (see `CopilotApiClient::accept_policy`).
    #[error("model access denied by policy: {0}")]
    PolicyDenied(Box<ErrorInfo>),
    /// 400 "Personal Access Tokens are not supported for this endpoint": a PAT used with an integration id that
    /// does not accept PATs (only `copilot-developer-cli` does).
    #[error("this token type is not accepted here: {0}")]
    UnsupportedTokenSource(Box<ErrorInfo>),
    /// 400 `no_available_model_endpoints`: the model exists, but no endpoint serves it under the account's
    /// plan and policies right now (seen for Claude models during capacity or policy changes). Another model,
    /// or the same one later, may work; retrying at once does not help.
    #[error(
        "no endpoint serves this model under your plan and policies (pick another model, or check the \
         model's policy in your GitHub Copilot settings): {0}"
    )]
    NoAvailableModelEndpoints(Box<ErrorInfo>),
    /// 400 `invalid_reasoning_effort` (or "… does not support reasoning effort"): the model does not accept
    /// the requested reasoning effort, e.g. a Claude model on chat completions, or `output_config.effort`
    /// `xhigh` where only `medium` is allowed. Pick a value from the model's
    /// `capabilities.supports.reasoning_effort`, or send none.
    #[error(
        "the model does not accept this reasoning effort (use one of the model's \
         `capabilities.supports.reasoning_effort` values, or leave it unset): {0}"
    )]
    InvalidReasoningEffort(Box<ErrorInfo>),
    /// Any other 400; `info.code` carries the code (`previous_response_not_found`, `off_topic`, …).
    #[error("bad request: {0}")]
    BadRequest(Box<ErrorInfo>),
    /// 401 saying the Copilot token expired, still failing after one refresh.
    #[error("Copilot token expired: {0}")]
    TokenExpired(Box<ErrorInfo>),
    /// 401, still failing after one refresh.
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ErrorInfo>),
    /// 401 with an `authorize_url`: an agent or extension needs the user to authorize it.
    #[error("authorization required at {url}: {info}")]
    AgentUnauthorized {
        /// Where the user must authorize.
        url: String,
        /// The server's details.
        info: Box<ErrorInfo>,
    },
    /// 402 or a quota code: the premium / AI-credit allowance is exhausted. Not retried automatically.
    #[error("quota exceeded: {info}")]
    QuotaExceeded {
        /// When the allowance resets, from `Retry-After` (seconds or HTTP-date).
        retry_after: Option<Duration>,
        /// The server's details.
        info: Box<ErrorInfo>,
    },
    /// 403, still failing after one refresh: no entitlement, chat disabled by the org, or a stale token.
    #[error("forbidden: {0}")]
    Forbidden(Box<ErrorInfo>),
    /// 404: model or endpoint not found.
    #[error("not found: {0}")]
    NotFound(Box<ErrorInfo>),
    /// 413: the request is too large (often the context is too long).
    #[error("request too large: {0}")]
    RequestTooLarge(Box<ErrorInfo>),
    /// 421: the token was sent to the wrong host, still failing after one refresh.
    #[error("misdirected request (token for another host): {0}")]
    Misdirected(Box<ErrorInfo>),
    /// 422 or `content_filter`: the Responsible-AI content filter blocked the request or answer.
    #[error("blocked by the content filter: {0}")]
    ContentFiltered(Box<ErrorInfo>),
    /// 429 (or 503 `upstream_provider_rate_limit`) after retries ran out.
    #[error("rate limited{}: {info}", bucket.as_deref().map(|b| format!(" ({b})")).unwrap_or_default())]
    RateLimited {
        /// How long the server asked to wait (`Retry-After`, seconds or HTTP-date).
        retry_after: Option<Duration>,
        /// The rate-limit bucket (`x-ratelimit-exceeded`), e.g. `user_model_rate_limited`.
        bucket: Option<String>,
        /// The server's details.
        info: Box<ErrorInfo>,
    },
    /// 466: Copilot no longer supports the client version the identity headers announce ("client not
    /// supported" / "API version no longer supported"). Update copilot-rs, or override the identity
    /// ([`ClientIdentity`](copilot_http::ClientIdentity)'s editor version, plugin version, user agent and
    /// integration id) to answer the drift without waiting for a release: in code a `ClientIdentity` given
    /// to the client builder (`CopilotClient::builder().identity(…)` in copilot-sdk) or
    /// `ClientIdentity::from_env()`, which reads `COPILOT_RS_EDITOR_VERSION`,
    /// `COPILOT_RS_EDITOR_PLUGIN_VERSION`, `COPILOT_RS_USER_AGENT` and `COPILOT_RS_INTEGRATION_ID` (the
    /// variables the `copilot-rs` CLI reads too, beside its `--editor-version`, … flags).
    #[error(
        "Copilot no longer supports this client version: update copilot-rs, or override the client \
         identity (COPILOT_RS_EDITOR_VERSION, COPILOT_RS_EDITOR_PLUGIN_VERSION, COPILOT_RS_USER_AGENT, \
         COPILOT_RS_INTEGRATION_ID, COPILOT_RS_COPILOT_API_VERSION via ClientIdentity::from_env() or the \
         copilot-rs CLI, or a ClientIdentity given to the client builder): {0}"
    )]
    ClientNotSupported(Box<ErrorInfo>),
    /// 499: the server cancelled the request; retrying is fine.
    #[error("cancelled by the server: {0}")]
    ServerCanceled(Box<ErrorInfo>),
    /// 5xx (or 424) after retries ran out.
    #[error("server error: {0}")]
    ServerError(Box<ErrorInfo>),
    /// Any other non-success status.
    #[error("unexpected response: {0}")]
    Http(Box<ErrorInfo>),
    /// A mid-stream `{"error":…}` whose code maps to no other variant.
    #[error("error in the stream: {0}")]
    StreamError(Box<ErrorInfo>),
    /// A stream event whose data could not be decoded.
    #[error("malformed stream chunk ({message}): {snippet}")]
    MalformedChunk {
        /// The decoder's complaint.
        message: String,
        /// The start of the offending data, length-limited.
        snippet: String,
    },
    /// The stream broke one of the decoder's size caps ([`SseLimits`](crate::sse::SseLimits)): a line or an
    /// event too large (16 MiB each by default), or more bytes than the stream cap. Nothing more was read.
    #[error("stream exceeded a size limit: {limit}")]
    SseLimit {
        /// Which cap.
        limit: crate::sse::SseLimitExceeded,
    },
    /// A WebSocket message (or frame) was larger than the cap
    /// ([`CopilotApiClientBuilder::websocket_max_message`](crate::CopilotApiClientBuilder::websocket_max_message),
    /// 16 MiB by default). Nothing of it was kept; the socket is closed.
    #[error("a WebSocket message exceeded the {limit}-byte cap")]
    WebSocketMessageTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The stream ran longer than its maximum duration (keep-alives do not extend it).
    #[error("stream still open after its maximum duration of {after:?}")]
    StreamDeadline {
        /// The configured maximum duration.
        after: Duration,
        /// What had arrived.
        partial: PartialInfo,
    },
    /// The connection failed after the stream had started. Never retried (it would re-send the prompt).
    #[error("stream interrupted after {} events: {message}", partial.events)]
    StreamInterrupted {
        /// The transport's complaint.
        message: String,
        /// What had arrived.
        partial: PartialInfo,
    },
    /// No event arrived within the first-event timeout.
    #[error("no event within {after:?} of the response")]
    FirstEventTimeout {
        /// The configured timeout.
        after: Duration,
    },
    /// The stream stalled longer than the idle timeout.
    #[error("stream idle for {after:?}")]
    IdleTimeout {
        /// The configured timeout.
        after: Duration,
        /// What had arrived.
        partial: PartialInfo,
    },
    /// A successful response body could not be decoded.
    #[error("could not decode the {what} response: {message}: {snippet}")]
    Decode {
        /// Which response.
        what: &'static str,
        /// The decoder's complaint.
        message: String,
        /// The start of the body, length-limited.
        snippet: String,
    },
    /// Credentials could not be obtained from the [`CopilotAuth`](crate::CopilotAuth) source. The typed
    /// [`CredentialError`] says whether the user must sign in again
    /// ([`requires_sign_in`](CredentialError::requires_sign_in)) or the failure may pass.
    #[error(transparent)]
    Auth(#[from] CredentialError),
    /// The request could not be built (bad header value, unserialisable body, bad base URL).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What was wrong.
        message: String,
    },
    /// Connecting, sending or reading failed before the response started.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl ApiError {
    /// The credential source's error behind an [`ApiError::Auth`].
    pub fn credential_error(&self) -> Option<&CredentialError> {
        match self {
            ApiError::Auth(error) => Some(error),
            _ => None,
        }
    }

    /// The server's details, for errors that came from a response or a stream error object.
    pub fn info(&self) -> Option<&ErrorInfo> {
        use ApiError::*;
        match self {
            ModelNotSupported(i)
            | UnsupportedApiForModel(i)
            | PolicyDenied(i)
            | UnsupportedTokenSource(i)
            | NoAvailableModelEndpoints(i)
            | InvalidReasoningEffort(i)
            | BadRequest(i)
            | TokenExpired(i)
            | Unauthorized(i)
            | Forbidden(i)
            | NotFound(i)
            | RequestTooLarge(i)
            | Misdirected(i)
            | ContentFiltered(i)
            | ClientNotSupported(i)
            | ServerCanceled(i)
            | ServerError(i)
            | Http(i)
            | StreamError(i) => Some(&**i),
            AgentUnauthorized { info, .. }
            | QuotaExceeded { info, .. }
            | RateLimited { info, .. } => Some(&**info),
            _ => None,
        }
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.info().and_then(|i| i.status)
    }

    /// The error code (`error.code`), when the server sent one.
    pub fn code(&self) -> Option<&str> {
        self.info().and_then(|i| i.code.as_deref())
    }

    /// The `x-request-id` of the failed request.
    pub fn request_id(&self) -> Option<&str> {
        self.info().and_then(|i| i.request_id.as_deref())
    }

    /// The `x-github-request-id` of the failed request (quote it to GitHub support).
    pub fn github_request_id(&self) -> Option<&str> {
        self.info().and_then(|i| i.github_request_id.as_deref())
    }

    /// The server's requested wait, for rate-limit and quota errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. }
            | ApiError::QuotaExceeded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The `{"error":{…}}` object, tolerant of missing or odd fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireError {
    #[serde(deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub code: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub param: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub error_type: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub authorize_url: Option<String>,
}

/// Accepts a string, number or bool as text; anything else (null, objects) as absent.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient_string")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    authorize_url: Option<String>,
}

/// Parses an error body: JSON `{"error":{…}}`, `{"error":"text"}`, `{"message":…}`, or plain text.
pub(crate) fn parse_error_body(body: &[u8]) -> WireError {
    if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) {
        let mut wire = match envelope.error {
            Some(serde_json::Value::Object(map)) => {
                serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
            }
            Some(serde_json::Value::String(text)) => WireError {
                message: Some(text),
                ..WireError::default()
            },
            _ => WireError::default(),
        };
        wire.message = wire.message.or(envelope.message);
        wire.code = wire.code.or(envelope.code);
        wire.authorize_url = wire.authorize_url.or(envelope.authorize_url);
        return wire;
    }
    WireError {
        message: Some(String::from_utf8_lossy(body).into_owned()),
        ..WireError::default()
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Context from the response head that every error mapping needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponseContext {
    pub request_id: Option<String>,
    pub github_request_id: Option<String>,
    pub retry_after: Option<Duration>,
    pub bucket: Option<String>,
}

impl ResponseContext {
    pub fn from_headers(
        headers: &HeaderMap,
        sent_request_id: Option<&str>,
        now: SystemTime,
    ) -> Self {
        ResponseContext {
            request_id: header_text(headers, "x-request-id")
                .or_else(|| sent_request_id.map(str::to_owned)),
            github_request_id: header_text(headers, "x-github-request-id"),
            retry_after: copilot_http::retry::retry_after(headers, now),
            bucket: header_text(headers, "x-ratelimit-exceeded"),
        }
    }
}

/// Maps a non-success response to an error (`docs/protocol.md` §12).
pub(crate) fn from_response(
    status: StatusCode,
    body: &[u8],
    context: &ResponseContext,
) -> ApiError {
    let wire = parse_error_body(body);
    classify(Some(status.as_u16()), wire, context)
}

/// Maps a mid-stream error object (no status) the same way as a response.
pub(crate) fn from_stream_error(
    status: Option<u16>,
    wire: WireError,
    context: &ResponseContext,
) -> ApiError {
    classify(status, wire, context)
}

const QUOTA_CODES: &[&str] = &[
    "quota_exceeded",
    "free_quota_exceeded",
    "overage_limit_reached",
    "billing_not_configured",
    "session_quota_exceeded",
];

const RATE_LIMIT_CODES: &[&str] = &[
    "rate_limited",
    "user_model_rate_limited",
    "user_global_rate_limited",
    "user_weekly_rate_limited",
    "integration_rate_limited",
    "model_overloaded",
    "agent_mode_limit_exceeded",
    "extension_blocked",
    "upstream_provider_rate_limit",
    "rate_limit_exceeded",
];

fn classify(status: Option<u16>, wire: WireError, context: &ResponseContext) -> ApiError {
    let info = Box::new(ErrorInfo {
        status,
        code: non_empty(wire.code),
        message: excerpt(wire.message.as_deref().unwrap_or(""), MAX_SNIPPET),
        error_type: non_empty(wire.error_type),
        param: non_empty(wire.param),
        request_id: context.request_id.clone(),
        github_request_id: context.github_request_id.clone(),
    });
    // A code may carry a `:detail` suffix (`billing_not_configured:…`); the part before it decides.
    let code = info
        .code
        .as_deref()
        .and_then(|code| code.split(':').next())
        .unwrap_or("")
        .trim();
    let message = info.message.to_ascii_lowercase();
    let rate_limited = |info| ApiError::RateLimited {
        retry_after: context.retry_after,
        bucket: context.bucket.clone(),
        info,
    };
    let quota = |info| ApiError::QuotaExceeded {
        retry_after: context.retry_after,
        info,
    };

    // Codes decide first: they mean the same whatever the status (or in a stream, where there is none).
    match code {
        c if QUOTA_CODES.contains(&c) => return quota(info),
        c if RATE_LIMIT_CODES.contains(&c) => return rate_limited(info),
        "model_not_supported" => return ApiError::ModelNotSupported(info),
        "unsupported_api_for_model" => return ApiError::UnsupportedApiForModel(info),
        "no_available_model_endpoints" => return ApiError::NoAvailableModelEndpoints(info),
        "invalid_reasoning_effort" => return ApiError::InvalidReasoningEffort(info),
        "content_filter" | "content_filtered" => return ApiError::ContentFiltered(info),
        "request_too_large" | "context_length_exceeded" => return ApiError::RequestTooLarge(info),
        "not_found" => return ApiError::NotFound(info),
        "service_unavailable" | "server_error" | "internal_error" => {
            return ApiError::ServerError(info);
        }
        "token_expired" => return ApiError::TokenExpired(info),
        _ => {}
    }
    if message.contains("personal access tokens are not supported") {
        return ApiError::UnsupportedTokenSource(info);
    }
    if message.contains("not permitted per policy") {
        return ApiError::PolicyDenied(info);
    }
    if let Some(url) = non_empty(wire.authorize_url) {
        return ApiError::AgentUnauthorized { url, info };
    }
    let Some(status) = status else {
        return match code {
            "bad_request" | "invalid_request_error" => ApiError::BadRequest(info),
            _ => ApiError::StreamError(info),
        };
    };
    match status {
        400 if message.contains("is not accessible via the")
            || message.contains("not supported via responses api") =>
        {
            ApiError::UnsupportedApiForModel(info)
        }
        400 if message.contains("does not support reasoning effort") => {
            ApiError::InvalidReasoningEffort(info)
        }
        400 => ApiError::BadRequest(info),
        401 if message.contains("token expired") => ApiError::TokenExpired(info),
        401 => ApiError::Unauthorized(info),
        402 => quota(info),
        403 => ApiError::Forbidden(info),
        404 => ApiError::NotFound(info),
        413 => ApiError::RequestTooLarge(info),
        421 => ApiError::Misdirected(info),
        422 => ApiError::ContentFiltered(info),
        424 => ApiError::ServerError(info),
        429 => rate_limited(info),
        466 => ApiError::ClientNotSupported(info),
        499 => ApiError::ServerCanceled(info),
        500..=599 => ApiError::ServerError(info),
        _ => ApiError::Http(info),
    }
}

/// A length-limited, lossy excerpt of bytes for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(MAX_SNIPPET * 4)];
    excerpt(&String::from_utf8_lossy(cut), MAX_SNIPPET)
}
