use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;

use crate::TransportError;

/// A boxed stream of body chunks, as any transport can produce it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + 'static>>;

/// A streaming response body.
///
/// Dropping it drops the underlying stream, which for [`ReqwestTransport`](crate::ReqwestTransport) closes the
/// connection (or returns it to the pool when fully read).
pub struct ResponseBody {
    inner: BodyStream,
}

impl ResponseBody {
    /// A body that yields the chunks of `stream` as they arrive.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        ResponseBody {
            inner: Box::pin(stream),
        }
    }

    /// A body made of one chunk.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes: Bytes = bytes.into();
        if bytes.is_empty() {
            return Self::empty();
        }
        Self::from_stream(futures_util::stream::once(async move { Ok(bytes) }))
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        Self::from_stream(futures_util::stream::empty())
    }

    /// Reads the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes, TransportError> {
        self.collect_limited(usize::MAX).await
    }

    /// Reads the whole body, failing with [`TransportError::Body`] once it exceeds `max` bytes (a guard against
    /// a misbehaving server filling memory).
    pub async fn collect_limited(mut self, max: usize) -> Result<Bytes, TransportError> {
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.inner.next().await {
            let chunk = chunk?;
            let len = first.as_ref().map_or(0, Bytes::len) + buf.len() + chunk.len();
            if len > max {
                return Err(TransportError::Body {
                    message: format!("body exceeds the limit of {max} bytes"),
                });
            }
            // Avoid a copy for the common single-chunk body.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                None => buf.extend_from_slice(&chunk),
                Some(f) => {
                    buf.extend_from_slice(&f);
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        Ok(match first {
            Some(f) => f,
            None => buf.freeze(),
        })
    }

    /// Reads up to `max` bytes of the body for an error message and drops the rest, lossily decoded as UTF-8.
    pub async fn snippet(self, max: usize) -> String {
        let mut stream = self.inner;
        let mut buf = Vec::new();
        while let Some(Ok(chunk)) = stream.next().await {
            let room = max.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if buf.len() >= max {
                break;
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The boxed stream underneath.
    pub fn into_stream(self) -> BodyStream {
        self.inner
    }
}

impl Stream for ResponseBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseBody { .. }")
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for ResponseBody {
    fn from(bytes: Bytes) -> Self {
        Self::from_bytes(bytes)
    }
}
