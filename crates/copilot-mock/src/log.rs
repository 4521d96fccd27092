//! The request log: what clients sent, with credentials redacted.

use bytes::Bytes;

use crate::fault::Endpoint;

/// Value that replaces redacted header values.
pub const REDACTED: &str = "<redacted>";

/// One request as received by the mock.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestLogEntry {
    /// The route it matched.
    pub endpoint: Endpoint,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/copilot/chat/completions`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in arrival order, names lower-case. `Authorization`, `Cookie`, `Set-Cookie` and
    /// `Proxy-Authorization` values are replaced by [`REDACTED`], keeping only the scheme
    /// (`Bearer <redacted>`).
    pub headers: Vec<(String, String)>,
    /// Request body bytes.
    pub body: Bytes,
    /// Status the mock answered with.
    pub status: u16,
    /// What the mock decided, when notable: `slow_down` for a too-fast device poll, `fault` when a
    /// fault was applied.
    pub note: Option<String>,
}

impl RequestLogEntry {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Copies headers, redacting credentials.
pub(crate) fn redact_headers(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = match name.as_str() {
                "authorization" | "proxy-authorization" => {
                    let raw = value.to_str().unwrap_or("");
                    match raw.split_once(' ') {
                        Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                        None => REDACTED.to_string(),
                    }
                }
                "cookie" | "set-cookie" | "api-key" | "x-api-key" => REDACTED.to_string(),
                _ => String::from_utf8_lossy(value.as_bytes()).into_owned(),
            };
            (name, value)
        })
        .collect()
}
