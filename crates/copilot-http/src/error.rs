use std::time::Duration;

/// Everything that can go wrong below the HTTP semantics: connecting, timing out, reading a body, or refusing
/// to send a request at all. HTTP error *statuses* are not errors here; callers map them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The TCP or TLS connection could not be established.
    #[error("could not connect to {url}: {message}")]
    Connect {
        /// The URL that was being contacted (without query string).
        url: String,
        /// The underlying cause.
        message: String,
    },
    /// No response (or no further body bytes) arrived in time.
    #[error("timed out after {after:?} ({phase})")]
    Timeout {
        /// Which phase timed out, e.g. `connect`, `read`.
        phase: &'static str,
        /// How long was waited, when known.
        after: Option<Duration>,
    },
    /// The connection broke after it was established (reset, closed early, HTTP/2 stream reset).
    #[error("connection closed unexpectedly: {message}")]
    ConnectionClosed {
        /// The underlying cause.
        message: String,
    },
    /// The response body could not be read or exceeded a size limit.
    #[error("could not read the response body: {message}")]
    Body {
        /// The underlying cause.
        message: String,
    },
    /// The request could not be built (bad header value, bad URL for the client).
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What was wrong.
        message: String,
    },
    /// A credential would have gone to a URL the safety policy forbids. Nothing was sent.
    #[error("refusing to send a credential to {url}: {reason}")]
    InsecureUrl {
        /// The refused URL, with any userinfo and query removed.
        url: String,
        /// Why the URL is refused.
        reason: &'static str,
    },
    /// A URL could not be parsed.
    #[error("invalid URL {input:?}: {message}")]
    InvalidUrl {
        /// The text that failed to parse.
        input: String,
        /// The parser's complaint.
        message: String,
    },
    /// A GitHub host description could not be understood.
    #[error("invalid GitHub host {input:?}: {reason}")]
    InvalidHost {
        /// The text that failed to parse.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// No transport was configured and there is no default (copilot-http was built without `reqwest`).
    #[error(
        "no HTTP transport configured: pass one to the builder or enable the `reqwest` feature"
    )]
    NotConfigured,
    /// Any other failure of a custom transport.
    #[error("transport error: {message}")]
    Other {
        /// The underlying cause.
        message: String,
    },
}

impl TransportError {
    /// Whether the failure proves the request never reached the server: the connection (TCP, TLS) was
    /// never established, or establishing it timed out. Only these are retried for a non-idempotent
    /// request ([`Idempotency::NonIdempotent`](crate::retry::Idempotency::NonIdempotent)); a connection that
    /// broke later may have delivered it.
    pub fn proves_not_sent(&self) -> bool {
        matches!(
            self,
            TransportError::Connect { .. }
                | TransportError::Timeout {
                    phase: "connect",
                    ..
                }
        )
    }

    /// Whether the failure happened before any response arrived and a retry of an idempotent request (or of a
    /// request whose response had not started) is reasonable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TransportError::Connect { .. }
                | TransportError::Timeout { .. }
                | TransportError::ConnectionClosed { .. }
        )
    }
}
