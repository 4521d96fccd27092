use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use crate::{HttpRequest, HttpResponse, HttpTransport, ResponseBody, TransportError};

/// The default transport: reqwest with rustls.
///
/// Redirects are off (a redirect must never carry a token to another host), the connect and read timeouts
/// are set, and proxies come from the system (`HTTPS_PROXY`, `NO_PROXY`, …) with two exceptions:
///
/// - a request to a loopback address ([`is_loopback_host`](crate::safety::is_loopback_host)) never goes
///   through a proxy, whatever `NO_PROXY` says: a loopback URL is allowed plain http credentials precisely
///   because they never leave the machine;
/// - the [`safety`](crate::safety) policy is applied here too, so even used without
///   [`SharedTransport`](crate::SharedTransport) this adapter never sends a credential over plain http to
///   anything but loopback (and so never through a proxy in clear).
///
/// Clone it freely: clones share the connection pools.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    /// For everything but loopback: system proxy settings apply.
    client: reqwest::Client,
    /// For loopback: never proxied.
    direct: reqwest::Client,
}

/// Options for [`ReqwestTransport`].
#[derive(Debug, Clone)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    read_timeout: Duration,
    pool_idle_timeout: Duration,
    user_agent: Option<String>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        ReqwestTransportBuilder {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
            pool_idle_timeout: Duration::from_secs(90),
            user_agent: None,
        }
    }
}

impl ReqwestTransportBuilder {
    /// How long to wait for a TCP + TLS connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The longest gap between two reads of a response (default 120 s; streams have their own idle timeout).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// A `User-Agent` for requests that do not set one.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let client = self.client(true)?;
        let direct = self.client(false)?;
        Ok(ReqwestTransport { client, direct })
    }

    fn client(&self, system_proxy: bool) -> Result<reqwest::Client, TransportError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .pool_idle_timeout(self.pool_idle_timeout);
        if !system_proxy {
            builder = builder.no_proxy();
        }
        if let Some(user_agent) = &self.user_agent {
            builder = builder.user_agent(user_agent);
        }
        builder.build().map_err(|e| TransportError::Other {
            message: format!("could not build the HTTP client: {}", chain(&e)),
        })
    }
}

impl ReqwestTransport {
    /// A transport with default settings.
    pub fn new() -> Result<Self, TransportError> {
        Self::builder().build()
    }

    /// Options for a transport.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }
}

/// The error and its sources, without the URL reqwest would add.
fn chain(error: &reqwest::Error) -> String {
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = error.source();
    while let Some(s) = source {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&s.to_string());
        source = s.source();
    }
    if message.is_empty() {
        message = error.to_string();
    }
    message
}

fn map_send_error(error: reqwest::Error, uri: &http::Uri) -> TransportError {
    // A connect failure (a connect timeout included) first: it proves nothing was sent, which decides
    // whether a non-idempotent request may be retried.
    if error.is_connect() {
        TransportError::Connect {
            url: crate::safety::display_without_secrets(uri),
            message: chain(&error),
        }
    } else if error.is_timeout() {
        TransportError::Timeout {
            phase: "request",
            after: None,
        }
    } else if error.is_builder() {
        TransportError::InvalidRequest {
            message: chain(&error),
        }
    } else {
        TransportError::ConnectionClosed {
            message: chain(&error),
        }
    }
}

/// The reqwest request for `request`. When the request carries its URL already parsed
/// ([`ParsedUrl`](crate::ParsedUrl)), that URL is still the request's `Uri`, and no other extension than
/// [`CarriesCredential`](crate::CarriesCredential) (which reqwest never reads) is set, the URL is used as
/// is; otherwise the `Uri` is rendered and parsed, and the extensions passed on, as
/// `reqwest::Request::try_from` does.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, TransportError> {
    let (mut parts, body) = request.into_parts();
    let parsed = parts
        .extensions
        .remove::<crate::ParsedUrl>()
        .filter(|parsed| parsed.matches(&parts.uri));
    let only_ours = || {
        let marked = parts.extensions.get::<crate::CarriesCredential>().is_some();
        parts.extensions.len() == usize::from(marked)
    };
    match parsed {
        Some(parsed) if only_ours() => {
            let mut request = reqwest::Request::new(parts.method, parsed.into_url());
            *request.headers_mut() = parts.headers;
            *request.version_mut() = parts.version;
            *request.body_mut() = Some(body.into());
            Ok(request)
        }
        _ => reqwest::Request::try_from(http::Request::from_parts(parts, body))
            .map_err(|e| TransportError::InvalidRequest { message: chain(&e) }),
    }
}

fn map_body_error(error: reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout {
            phase: "read",
            after: None,
        }
    } else {
        TransportError::ConnectionClosed {
            message: chain(&error),
        }
    }
}

#[async_trait]
impl HttpTransport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        crate::safety::check_request(&request)?;
        // Kept only to name the host in a connect error, and rendered on that path alone.
        let uri = request.uri().clone();
        let client = if uri.host().is_some_and(crate::safety::is_loopback_host) {
            &self.direct
        } else {
            &self.client
        };
        let request = to_reqwest(request)?;
        let mut response = client
            .execute(request)
            .await
            .map_err(|e| map_send_error(e, &uri))?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            // Moved, not cloned: the reqwest response is consumed into the body stream below.
            *headers = std::mem::take(response.headers_mut());
        }
        let body = ResponseBody::from_stream(
            response
                .bytes_stream()
                .map(|chunk| chunk.map_err(map_body_error)),
        );
        builder.body(body).map_err(|e| TransportError::Other {
            message: e.to_string(),
        })
    }
}
