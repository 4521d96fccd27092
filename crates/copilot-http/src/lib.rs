//! The transport layer of copilot-rs.
//!
//! Every other crate talks HTTP through [`HttpTransport`], a small async trait over plain [`http`] types, so
//! users can plug in their own HTTP stack and tests can plug in a closure ([`FnTransport`]). Responses carry a
//! streaming [`ResponseBody`], so server-sent events work over any transport.
//!
//! The host, URL-safety and retry rules, each with the test that pins it, are in
//! [`docs/protocol.md`][protocol] §1 and §13.
//!
//! [protocol]: https://github.com/copilot-rs/copilot-rs/blob/main/docs/protocol.md
//!
//! Besides the trait this crate owns the pieces every caller needs the same way:
//!
//! - [`ReqwestTransport`] (feature `reqwest`, on by default): rustls, redirects off, connect and read timeouts,
//!   proxy from the environment, never for loopback.
//! - [`retry`]: the one retrier (attempts, clock, time budget, one credential refresh) with an idempotency-aware
//!   classifier; jittered exponential backoff honouring `Retry-After` (seconds or HTTP-date, clamped).
//! - [`host::GitHubHost`]: github.com, GitHub Enterprise Server and GHE.com data residency hosts.
//! - [`safety`]: credentials only travel over https, or plain http to loopback.
//! - [`redact`]: [`RedactedUrl`], the one rendering of a URL for logs and errors.
//! - [`sensitive`]: marks `Authorization`-like headers sensitive and prints requests redacted.
//! - [`time`]: injectable [`Clock`](time::Clock) and [`Sleep`](time::Sleep) so time-driven logic tests instantly.
//!
//! ```
//! use bytes::Bytes;
//! use copilot_http::{FnTransport, HttpTransport, ResponseBody, SharedTransport};
//!
//! # async fn demo() -> Result<(), copilot_http::TransportError> {
//! let transport = SharedTransport::new(FnTransport::new(|_request| async {
//!     Ok(http::Response::new(ResponseBody::from_bytes("pong")))
//! }));
//! let request = http::Request::get("https://api.github.com/zen").body(Bytes::new()).unwrap();
//! let body = transport.send(request).await?.into_body().bytes().await?;
//! assert_eq!(&body[..], b"pong");
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod body;
mod error;
pub mod hex;
pub mod host;
pub mod identity;
pub mod redact;
pub mod retry;
pub mod safety;
pub mod sensitive;
mod shared;
pub mod time;
mod transport;

#[cfg(feature = "reqwest")]
mod reqwest_transport;

pub use body::{BodyStream, ResponseBody};
pub use error::TransportError;
pub use host::GitHubHost;
pub use identity::ClientIdentity;
pub use redact::RedactedUrl;
pub use safety::CarriesCredential;
pub use transport::{FnTransport, HttpTransport, ParsedUrl, SharedTransport};

#[cfg(feature = "reqwest")]
pub use reqwest_transport::{ReqwestTransport, ReqwestTransportBuilder};

/// The request type every transport takes: plain `http` with a fully buffered body.
pub type HttpRequest = http::Request<bytes::Bytes>;
/// The response type every transport returns: plain `http` with a streaming body.
pub type HttpResponse = http::Response<ResponseBody>;
