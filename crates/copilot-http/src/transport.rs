use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{HttpRequest, HttpResponse, TransportError, safety};

/// A request extension carrying the request's URL already parsed as a [`Url`](url::Url), set by a client
/// that built the request from one (copilot-api does).
///
/// A transport whose HTTP client takes a `Url` (as [`ReqwestTransport`](crate::ReqwestTransport) does) may
/// use it instead of rendering the request's `Uri` and parsing that again, **but only while it still names
/// the same URL as the request's `Uri`** ([`matches`](Self::matches)): a middleware transport may have
/// changed the `Uri` after the extension was set, and the `Uri` is what the [`safety`] policy checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl(url::Url);

impl ParsedUrl {
    /// Wraps `url`.
    pub fn new(url: url::Url) -> Self {
        ParsedUrl(url)
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The URL, unwrapped.
    pub fn into_url(self) -> url::Url {
        self.0
    }

    /// Whether `uri` names exactly this URL: the same scheme, authority (userinfo, host and port as
    /// written) and path with query. Compares text without allocating; a `Uri` parsed from
    /// `url.as_str()` always matches.
    pub fn matches(&self, uri: &http::Uri) -> bool {
        use url::Position;
        let url = &self.0;
        // A `Uri` drops the fragment; a URL with one is not what the request names.
        url.fragment().is_none()
            && uri.scheme_str() == Some(url.scheme())
            && uri.authority().map(http::uri::Authority::as_str)
                == Some(&url[Position::BeforeUsername..Position::AfterPort])
            && uri
                .path_and_query()
                .map_or("/", http::uri::PathAndQuery::as_str)
                == &url[Position::BeforePath..Position::AfterQuery]
    }
}

/// Sends one HTTP request and returns the response head with a streaming body.
///
/// Implementations must not follow redirects (a redirect could carry a credential to another host) and must
/// not retry on their own: retry policy belongs to the caller, who knows whether a request is idempotent.
/// HTTP error statuses are returned as responses, not as errors.
#[async_trait]
pub trait HttpTransport: Send + Sync + fmt::Debug {
    /// Sends `request`. Resolves once the response head has arrived.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A cheaply cloneable, type-erased transport that enforces the credential [`safety`] policy.
///
/// Every copilot-rs client holds one of these. Any request that carries a credential (an `Authorization`
/// header, or the [`CarriesCredential`](crate::CarriesCredential) extension for secrets inside a body) is
/// checked before the inner transport sees it, so a custom transport cannot leak a token to plain http either.
/// Sensitive headers are marked (see [`sensitive`](crate::sensitive)) on the way through.
#[derive(Clone)]
pub struct SharedTransport(Arc<dyn HttpTransport>);

impl SharedTransport {
    /// Wraps a transport; a `SharedTransport` is kept as it is (one connection pool, one safety check per
    /// request), not wrapped again.
    pub fn new(transport: impl HttpTransport + 'static) -> Self {
        crate::shared::share(transport, |transport| SharedTransport(Arc::new(transport)))
    }

    /// Whether both handles share one transport (and so one connection pool).
    pub fn ptr_eq(&self, other: &SharedTransport) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Wraps an already shared transport.
    pub fn from_arc(transport: Arc<dyn HttpTransport>) -> Self {
        SharedTransport(transport)
    }

    /// The default transport: [`ReqwestTransport`](crate::ReqwestTransport) with default settings.
    #[cfg(feature = "reqwest")]
    pub fn default_reqwest() -> Result<Self, TransportError> {
        Ok(Self::new(crate::ReqwestTransport::new()?))
    }

    /// The transport every crate uses when the caller configured none: [`default_reqwest`] with the
    /// `reqwest` feature, else [`TransportError::NotConfigured`].
    ///
    /// [`default_reqwest`]: SharedTransport::default_reqwest
    pub fn default_transport() -> Result<Self, TransportError> {
        #[cfg(feature = "reqwest")]
        {
            Self::default_reqwest()
        }
        #[cfg(not(feature = "reqwest"))]
        {
            Err(TransportError::NotConfigured)
        }
    }
}

impl fmt::Debug for SharedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedTransport").field(&self.0).finish()
    }
}

#[async_trait]
impl HttpTransport for SharedTransport {
    async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        safety::check_request(&request)?;
        crate::sensitive::mark_sensitive(request.headers_mut());
        self.0.send(request).await
    }
}

type BoxedHandler = Box<
    dyn Fn(
            HttpRequest,
        )
            -> futures_util::future::BoxFuture<'static, Result<HttpResponse, TransportError>>
        + Send
        + Sync,
>;

/// A transport made from a closure: handy for tests and for adapting another HTTP client in a few lines.
///
/// ```
/// use copilot_http::{FnTransport, ResponseBody};
/// let transport = FnTransport::new(|request| async move {
///     let status = if request.uri().path() == "/ok" { 200 } else { 404 };
///     Ok(http::Response::builder().status(status).body(ResponseBody::empty()).unwrap())
/// });
/// # let _ = transport;
/// ```
pub struct FnTransport {
    handler: BoxedHandler,
}

impl FnTransport {
    /// Makes a transport that answers every request with `handler`.
    pub fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<HttpResponse, TransportError>> + Send + 'static,
    {
        FnTransport {
            handler: Box::new(move |request| Box::pin(handler(request))),
        }
    }
}

impl fmt::Debug for FnTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnTransport { .. }")
    }
}

#[async_trait]
impl HttpTransport for FnTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (self.handler)(request).await
    }
}

#[async_trait]
impl<T: HttpTransport + ?Sized> HttpTransport for Arc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
}
