//! Where a credential may travel.
//!
//! A GitHub or Copilot token may be sent only over `https`, or over plain `http` to a loopback address (the
//! mock server, a local proxy). URLs with userinfo (`https://user:pass@host`) are refused outright because
//! they smuggle credentials past every header check. The check runs before any byte leaves the process.

use std::net::IpAddr;

use crate::{HttpRequest, TransportError};

/// A request extension that marks a request as carrying a secret in its body (a device code, a refresh
/// token, a client secret), so [`SharedTransport`](crate::SharedTransport) applies the policy even though
/// there is no `Authorization` header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CarriesCredential;

/// Whether `host` (as it appears in a URL, IPv6 with or without brackets) is a loopback IP literal or
/// exactly `localhost`.
///
/// Names under `.localhost` do not count: RFC 6761 reserves them, but ordinary resolvers send
/// `attacker.localhost` to DNS, so such a name may point anywhere.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks that a credential may be sent to `uri`.
pub fn check_credential_uri(uri: &http::Uri) -> Result<(), TransportError> {
    let refuse = |reason| TransportError::InsecureUrl {
        url: display_without_secrets(uri),
        reason,
    };
    let authority = uri
        .authority()
        .ok_or_else(|| refuse("the URL has no host"))?;
    if authority.as_str().contains('@') {
        return Err(refuse("the URL carries userinfo"));
    }
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Ok(()),
        Some(s) if s.eq_ignore_ascii_case("http") => {
            if is_loopback_host(authority.host()) {
                Ok(())
            } else {
                Err(refuse("plain http is allowed only to a loopback address"))
            }
        }
        _ => Err(refuse(
            "only https (or http to loopback) may carry a credential",
        )),
    }
}

/// Checks a [`url::Url`] the same way as [`check_credential_uri`].
pub fn check_credential_url(url: &url::Url) -> Result<(), TransportError> {
    let uri: http::Uri =
        url.as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| TransportError::InvalidUrl {
                input: crate::RedactedUrl::url(url).to_string(),
                message: e.to_string(),
            })?;
    check_credential_uri(&uri)
}

/// Whether a request carries a credential: any header that always carries a secret (the list
/// [`sensitive`](crate::sensitive) redacts: `Authorization`, `Proxy-Authorization`, `Cookie`, `api-key`,
/// `x-api-key`, …) or the [`CarriesCredential`] extension.
pub fn carries_credential(request: &HttpRequest) -> bool {
    request.extensions().get::<CarriesCredential>().is_some()
        || crate::sensitive::has_sensitive_header(request.headers())
}

/// Applies the policy to a request: requests with a credential must go to a safe URL.
pub fn check_request(request: &HttpRequest) -> Result<(), TransportError> {
    if carries_credential(request) {
        check_credential_uri(request.uri())?;
    }
    Ok(())
}

/// Checks a link a server asks the user to open (the device flow's `verification_uri`) and returns it
/// parsed: https with a host (or http to a loopback address, for local test servers), without userinfo,
/// without control characters, at most 2048 bytes. Anything else (`file:`, `javascript:`, a URL carrying a
/// terminal escape sequence, `https://github.com@evil.example/`) could harm the terminal it is printed on
/// or the browser it is opened in. The error says why, never quoting the link. The one rule for the flow
/// that receives such a link and for the CLI that opens it.
pub fn check_openable_link(link: &str) -> Result<url::Url, &'static str> {
    if link.len() > 2048 {
        return Err("longer than 2048 bytes");
    }
    if link.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    let url = url::Url::parse(link).map_err(|_| "not a URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries userinfo");
    }
    let loopback = url.host_str().is_some_and(is_loopback_host);
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("only https (or http to loopback) links are opened"),
    }
}

/// Renders a URI for messages through [`RedactedUrl`](crate::RedactedUrl): no userinfo, no query values.
pub fn display_without_secrets(uri: &http::Uri) -> String {
    crate::RedactedUrl::uri(uri).to_string()
}
