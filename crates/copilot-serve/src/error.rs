//! [`ServeError`] (the crate's error) and how a failure is told to a caller in its own dialect.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use copilot_api::ApiError;
use copilot_sdk::SdkError;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::json;

/// The hint given with every "sign in again" failure.
pub const SIGN_IN_HINT: &str = "run `copilot-rs auth login` on the gateway host";

/// Everything that can go wrong in the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration cannot be used (no key, a non-loopback bind without a key, a bad keys file).
    #[error("{0}")]
    Config(String),
    /// The listener could not be bound or failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A request failed; rendered in the caller's dialect by [`Failure::into_response`].
    #[error("{0}")]
    Request(Box<Failure>),
}

/// The API family a request came in as: errors are written the way that family's clients parse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI: `{"error":{"message","type","param","code"}}`.
    OpenAi,
    /// Anthropic: `{"type":"error","error":{"type","message"}}`.
    Anthropic,
}

impl Dialect {
    /// The dialect of a path: `/v1/messages…` is Anthropic, everything else OpenAI.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/v1/messages") || path.starts_with("/anthropic/") {
            Dialect::Anthropic
        } else {
            Dialect::OpenAi
        }
    }
}

/// A failed request: status, machine code, message, and the upstream ids and wait time to pass on.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status (upstream's when the failure came from Copilot).
    pub status: StatusCode,
    /// A machine-readable code (`rate_limited`, `quota_exceeded`, `model_not_supported`, …).
    pub code: Option<String>,
    /// A message for a human.
    pub message: String,
    /// `Retry-After`, for 429 and 402.
    pub retry_after: Option<Duration>,
    /// Upstream's `x-request-id`.
    pub request_id: Option<String>,
    /// Upstream's `x-github-request-id` (the id GitHub support asks for).
    pub github_request_id: Option<String>,
    /// The dialect to answer in.
    pub dialect: Dialect,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl Failure {
    /// A failure with `status` and `message`, in the OpenAI dialect until [`in_dialect`](Self::in_dialect).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            code: None,
            message: message.into(),
            retry_after: None,
            request_id: None,
            github_request_id: None,
            dialect: Dialect::OpenAi,
        }
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    /// Sets the code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the dialect.
    pub fn in_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// The OpenAI `error.type` for the status.
    fn openai_type(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 404 | 409 | 413 | 422 => "invalid_request_error",
            401 => "authentication_error",
            402 => "insufficient_quota",
            403 => "permission_error",
            429 => "rate_limit_error",
            501 => "not_implemented",
            _ => "server_error",
        }
    }

    /// The Anthropic `error.type` for the status.
    fn anthropic_type(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 409 | 422 | 501 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            504 => "timeout_error",
            _ => "api_error",
        }
    }

    /// The JSON body in the failure's dialect.
    pub fn body(&self) -> serde_json::Value {
        match self.dialect {
            Dialect::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": null,
                "code": self.code,
            }}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": self.anthropic_type(),
                "message": self.message,
            }}),
        }
    }

    /// The failure as an `error` SSE event for a stream that already started (OpenAI: a data chunk with an
    /// `error` object, which the `openai` client raises; Anthropic: `event: error`).
    pub fn sse_event(&self) -> String {
        match self.dialect {
            Dialect::OpenAi => format!("data: {}\n\n", self.body()),
            Dialect::Anthropic => format!("event: error\ndata: {}\n\n", self.body()),
        }
    }

    /// From a Copilot API error.
    pub fn from_api(error: &ApiError) -> Self {
        // A credential that could not be obtained means the same whichever crate reports it: one mapping
        // (a network failure of the token exchange is not "sign in again").
        if let ApiError::Auth(credential) = error {
            return Failure::from_sdk(&SdkError::from(credential.clone()));
        }
        let status = api_status(error);
        let mut failure = Failure::new(status, api_message(error, status));
        failure.code = error
            .code()
            .map(str::to_owned)
            .or_else(|| default_code(error));
        failure.retry_after = error.retry_after();
        failure.request_id = error.request_id().map(str::to_owned);
        failure.github_request_id = error.github_request_id().map(str::to_owned);
        failure
    }

    /// From an SDK error (starting a client, the pool).
    pub fn from_sdk(error: &SdkError) -> Self {
        if let SdkError::Api(api) = error {
            return Failure::from_api(api);
        }
        if error.requires_sign_in() || error.unsupported_token_kind().is_some() {
            return Failure::new(
                StatusCode::UNAUTHORIZED,
                format!("GitHub Copilot sign-in needed: {error}; {SIGN_IN_HINT}"),
            )
            .code("sign_in_required");
        }
        match error {
            SdkError::NotEntitled { .. } | SdkError::NotOrgMember { .. } => {
                Failure::new(StatusCode::FORBIDDEN, error.to_string()).code("not_entitled")
            }
            _ => Failure::new(StatusCode::BAD_GATEWAY, error.to_string()).code("upstream_error"),
        }
    }
}

fn default_code(error: &ApiError) -> Option<String> {
    let code = match error {
        ApiError::RateLimited { .. } => "rate_limited",
        ApiError::QuotaExceeded { .. } => "quota_exceeded",
        ApiError::Unauthorized(_) | ApiError::TokenExpired(_) => "sign_in_required",
        ApiError::ModelNotSupported(_) => "model_not_supported",
        ApiError::NoAvailableModelEndpoints(_) => "no_available_model_endpoints",
        ApiError::InvalidReasoningEffort(_) => "invalid_reasoning_effort",
        ApiError::ClientNotSupported(_) => "client_not_supported",
        ApiError::ContentFiltered(_) => "content_filter",
        ApiError::FirstEventTimeout { .. } | ApiError::IdleTimeout { .. } => "upstream_timeout",
        _ => return None,
    };
    Some(code.to_owned())
}

/// The status to answer with: upstream's when it sent one, else what the failure means.
fn api_status(error: &ApiError) -> StatusCode {
    let mapped = match error {
        ApiError::RateLimited { .. } => Some(429),
        ApiError::QuotaExceeded { .. } => Some(402),
        ApiError::Unauthorized(_) | ApiError::TokenExpired(_) => Some(401),
        ApiError::InvalidRequest { .. } => Some(400),
        ApiError::FirstEventTimeout { .. } | ApiError::IdleTimeout { .. } => Some(504),
        _ => None,
    };
    let status = mapped.or_else(|| error.status()).unwrap_or(502);
    StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_GATEWAY)
}

fn api_message(error: &ApiError, status: StatusCode) -> String {
    match error {
        // Upstream's words alone do not say what to do; these errors' own messages do.
        ApiError::NoAvailableModelEndpoints(_) | ApiError::InvalidReasoningEffort(_) => {
            return error.to_string();
        }
        ApiError::ClientNotSupported(info) => {
            return format!(
                "GitHub Copilot no longer supports the client version the gateway announces ({}): update \
                 copilot-rs, or restart `copilot-rs serve` with {}",
                info.message,
                copilot_sdk::http::identity::env::overrides_hint()
            );
        }
        _ => {}
    }
    let message = match error.info() {
        Some(info) if !info.message.is_empty() => info.message.clone(),
        _ => error.to_string(),
    };
    if status == StatusCode::UNAUTHORIZED {
        format!("GitHub Copilot rejected the gateway's credential: {message}; {SIGN_IN_HINT}")
    } else {
        message
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        for (name, value) in [
            ("x-request-id", &self.request_id),
            ("x-github-request-id", &self.github_request_id),
        ] {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS && !headers.contains_key("retry-after") {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<Failure> for ServeError {
    fn from(failure: Failure) -> Self {
        ServeError::Request(Box::new(failure))
    }
}

#[cfg(test)]
mod tests {
    use copilot_api::CredentialError;

    use super::*;

    #[test]
    fn a_credential_failure_maps_the_same_from_the_api_and_from_the_sdk() {
        let cases = [
            (
                CredentialError::Rejected {
                    message: "bad credentials".into(),
                },
                StatusCode::UNAUTHORIZED,
                "sign_in_required",
            ),
            (
                CredentialError::NotEntitled {
                    message: "no seat".into(),
                    url: None,
                },
                StatusCode::FORBIDDEN,
                "not_entitled",
            ),
            // A network failure of the exchange: the gateway's upstream failed; signing in again is no cure.
            (
                CredentialError::Unavailable {
                    message: "connection reset".into(),
                    transient: true,
                    source: None,
                },
                StatusCode::BAD_GATEWAY,
                "upstream_error",
            ),
        ];
        for (credential, status, code) in cases {
            let from_api = Failure::from_api(&ApiError::Auth(credential.clone()));
            let from_sdk = Failure::from_sdk(&SdkError::from(credential.clone()));
            assert_eq!(from_api.status, status, "{credential:?}");
            assert_eq!(from_api.code.as_deref(), Some(code), "{credential:?}");
            assert_eq!(from_sdk.status, from_api.status, "{credential:?}");
            assert_eq!(from_sdk.code, from_api.code, "{credential:?}");
        }
    }
}
