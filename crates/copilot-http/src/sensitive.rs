//! Keeping secrets out of logs.
//!
//! Header values marked sensitive are printed as `Sensitive` by `http`'s own Debug and skipped by HTTP/2
//! header compression tables; [`RedactedRequest`] prints a request with those values replaced.

use std::fmt;

use http::HeaderMap;
use http::header::HeaderName;

/// Header names that always carry secrets.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-github-token",
    "copilot-session-token",
    "x-api-key",
    "api-key",
];

/// Whether two secrets are equal, in time that depends only on their lengths (never on where they differ),
/// so comparing a guess against a stored token or OAuth `state` leaks nothing through timing. The one
/// comparison every crate uses for secrets.
pub fn constant_time_eq(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_ref().ct_eq(b.as_ref()))
}

/// Whether `name` is a header that carries a secret.
pub fn is_sensitive_header(name: &HeaderName) -> bool {
    SENSITIVE.contains(&name.as_str())
}

/// Whether any header in `headers` carries a secret: the one list behind both redaction and the
/// credential URL check ([`safety::carries_credential`](crate::safety::carries_credential)).
pub(crate) fn has_sensitive_header(headers: &HeaderMap) -> bool {
    SENSITIVE.iter().any(|name| headers.contains_key(*name))
}

/// Marks every secret-carrying header in `headers` as sensitive.
pub fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if is_sensitive_header(name) {
            value.set_sensitive(true);
        }
    }
}

/// A redacting `Debug` view of a header map: sensitive values print as `[redacted]`.
pub struct RedactedHeaders<'a>(pub &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || is_sensitive_header(name) {
                map.entry(&name.as_str(), &"[redacted]");
            } else {
                map.entry(&name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
            }
        }
        map.finish()
    }
}

/// A redacting `Debug` view of a request: method, URI without query, headers with secrets redacted, and the
/// body's length only (bodies may hold device codes, refresh tokens or client secrets).
pub struct RedactedRequest<'a, B>(pub &'a http::Request<B>);

impl<B: AsRef<[u8]>> fmt::Debug for RedactedRequest<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = self.0;
        f.debug_struct("Request")
            .field("method", request.method())
            .field(
                "uri",
                &crate::safety::display_without_secrets(request.uri()),
            )
            .field("headers", &RedactedHeaders(request.headers()))
            .field("body_len", &request.body().as_ref().len())
            .finish()
    }
}
