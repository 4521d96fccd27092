//! [`ChatStream`]: a streamed answer as a `Stream` of [`ChatEvent`]s, with first-event and idle timeouts, an
//! optional overall deadline, and the SSE decoder's size caps.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use copilot_http::ResponseBody;
use copilot_http::time::{SharedSleep, Sleep};
use futures_core::Stream;
use futures_util::StreamExt;
use http::HeaderMap;

use crate::chat::ChatEvent;
use crate::chat::{ChatCollector, CollectedChat};
use crate::decode::{ChatEventDecoder, Dialect, EventQueue};
use crate::error::{ApiError, PartialInfo, ResponseContext};
use crate::timeouts::StreamTimeouts;
use crate::wire::sse::SseLimits;

pub(crate) type Timer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a stream's events come from.
#[derive(Debug)]
enum Source {
    /// An HTTP body of SSE bytes.
    Body(ResponseBody),
    /// A WebSocket turn: one event per text message.
    #[cfg(feature = "websocket")]
    Socket(Box<crate::ws::SocketTurn>),
}

/// What one poll of the source gave.
enum Read {
    Bytes(Bytes),
    #[cfg(feature = "websocket")]
    Message(tokio_tungstenite::tungstenite::Utf8Bytes),
    Failed(ApiError),
    End,
}

/// A streamed answer: `Stream<Item = Result<ChatEvent, ApiError>>`.
///
/// It decodes the response body as it is polled; no task is spawned. The last item is either
/// [`ChatEvent::Done`] or an error; after it the stream yields `None`. A stream read to `Done` has read the
/// whole body, so its connection goes back to the pool for the next request; dropping the stream earlier
/// drops the body, which closes the connection. A stream is never retried or reconnected (that would
/// re-send the prompt).
///
/// A Responses turn over a WebSocket ([`CopilotApiClient::responses_ws_stream`](crate::CopilotApiClient::responses_ws_stream))
/// is the same stream: its socket goes back to the client's pool when the stream has yielded
/// [`ChatEvent::Done`], and is closed when the stream ends with an error or is dropped before.
pub struct ChatStream {
    source: Option<Source>,
    decoder: ChatEventDecoder,
    queue: EventQueue,
    headers: HeaderMap,
    requested_choices: Option<u32>,
    sleep: SharedSleep,
    timer: Option<Timer>,
    timeouts: StreamTimeouts,
    /// The overall deadline's timer, started with the stream (see [`StreamTimeouts::max_duration`]).
    deadline: Option<Timer>,
    got_event: bool,
    ended: bool,
    bytes: u64,
    events: u64,
    /// Waiting for the end of the body after `[DONE]`: the grace timer and the bytes read meanwhile.
    end_timer: Option<Timer>,
    after_done: usize,
    /// Whether the events come over a WebSocket.
    websocket: bool,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("bytes", &self.bytes)
            .field("events", &self.events)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// A stream over `body` in `dialect`, without timeouts. The client builds streams with its configured
    /// timeouts; this constructor serves custom transports, tests and replays.
    pub fn from_body(body: ResponseBody, dialect: Dialect) -> Self {
        ChatStream {
            source: Some(Source::Body(body)),
            decoder: ChatEventDecoder::new(dialect),
            queue: EventQueue::new(),
            headers: HeaderMap::new(),
            requested_choices: None,
            sleep: SharedSleep::tokio(),
            timer: None,
            timeouts: StreamTimeouts::NONE,
            deadline: None,
            got_event: false,
            ended: false,
            bytes: 0,
            events: 0,
            end_timer: None,
            after_done: 0,
            websocket: false,
        }
    }

    /// A stream over one WebSocket turn (the `response.create` is sent), in the Responses dialect.
    #[cfg(feature = "websocket")]
    pub(crate) fn from_socket(turn: crate::ws::SocketTurn) -> Self {
        let mut stream = Self::from_body(ResponseBody::empty(), Dialect::Responses);
        stream.source = Some(Source::Socket(Box::new(turn)));
        stream.websocket = true;
        stream
    }

    /// Whether the events come over the Responses WebSocket (`ws:/responses`) rather than an HTTP body
    /// (an HTTP fallback after a failed upgrade is `false`).
    pub fn over_websocket(&self) -> bool {
        self.websocket
    }

    pub(crate) fn with_response(mut self, headers: HeaderMap, context: ResponseContext) -> Self {
        self.decoder = std::mem::replace(
            &mut self.decoder,
            ChatEventDecoder::new(Dialect::ChatCompletions),
        )
        .with_context(context);
        self.headers = headers;
        self
    }

    /// The stream's deadlines (default here: [`StreamTimeouts::NONE`]; the client's streams get the
    /// client's [`CopilotApiClientBuilder::stream_timeouts`](crate::CopilotApiClientBuilder::stream_timeouts)).
    /// Set it before the first poll.
    pub fn timeouts(mut self, timeouts: impl Into<StreamTimeouts>) -> Self {
        self.timeouts = timeouts.into();
        self.deadline = None;
        self
    }

    /// Whether a malformed payload ends the stream with an error (see [`ChatEventDecoder::strict`]).
    /// Set it before the first poll.
    pub fn strict(mut self, strict: bool) -> Self {
        self.decoder.set_strict(strict);
        self
    }

    /// The SSE size caps (default: 16 MiB per line and per event, no cap on the stream's bytes). A stream that
    /// breaks one ends with [`ApiError::SseLimit`].
    pub fn sse_limits(mut self, limits: SseLimits) -> Self {
        self.decoder.set_sse_limits(limits);
        self
    }

    /// The sleep used for the timeouts (tokio's by default).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = SharedSleep::new(sleep);
        self
    }

    /// The request's `n`, so [`collect`](Self::collect) knows to ignore usage for several choices.
    pub fn requested_choices(mut self, n: Option<u32>) -> Self {
        self.requested_choices = n;
        self
    }

    /// The response headers (`x-request-id`, `x-github-request-id`, `X-Copilot-Experiment`,
    /// `azureml-model-deployment`, …). Empty for [`from_body`](Self::from_body) streams.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's `x-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
    }

    /// The response's `x-github-request-id`.
    pub fn github_request_id(&self) -> Option<&str> {
        self.headers
            .get("x-github-request-id")
            .and_then(|v| v.to_str().ok())
    }

    /// Reads the whole stream and assembles one message per choice. Fails with the stream's first error.
    pub async fn collect(mut self) -> Result<CollectedChat, ApiError> {
        let mut collector = ChatCollector::new(self.requested_choices);
        while let Some(event) = self.next().await {
            collector.push(event?);
        }
        Ok(collector.finish())
    }

    /// Starts the stream with `chunk`, already read from the body, and the first-event `timer` that was
    /// running while it was read.
    pub(crate) fn primed(mut self, chunk: Bytes, timer: Option<Timer>) -> Self {
        self.timer = timer;
        self.start_deadline();
        if !chunk.is_empty() {
            self.bytes += chunk.len() as u64;
            self.decoder.feed(&chunk, &mut self.queue);
            if !self.queue.is_empty() {
                self.got_event = true;
                self.timer = None;
            }
        }
        self
    }

    /// A stream whose only item is `error`.
    pub(crate) fn failed(mut self, error: ApiError) -> Self {
        self.end_with(error);
        self
    }

    /// What has arrived so far: events yielded, body bytes received, and whether a choice finished. After
    /// a [`ChatEvent::Done`] with `saw_finish: false` (a stream that ended cleanly but early), this is what
    /// a caller reports as the partial answer.
    pub fn progress(&self) -> PartialInfo {
        self.partial()
    }

    fn partial(&self) -> PartialInfo {
        PartialInfo {
            events: self.events,
            bytes: self.bytes,
            saw_finish: self.decoder.saw_finish(),
        }
    }

    /// With `Done` next in the queue and the body still open: reads to the end of the body, or until the
    /// grace period or byte limit runs out, then drops the body. Bytes after `[DONE]` are ignored.
    fn poll_end_of_body(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        #[cfg(feature = "websocket")]
        if let Some(Source::Socket(_)) = &self.source
            && let Some(Source::Socket(turn)) = self.source.take()
        {
            // The turn ended with its terminal event: the socket is ready for the next turn.
            turn.release();
            return Poll::Ready(());
        }
        if let Some(Source::Body(body)) = self.source.as_mut() {
            loop {
                match body.poll_next_unpin(cx) {
                    Poll::Ready(Some(Ok(bytes))) => {
                        self.after_done += bytes.len();
                        if self.after_done > END_OF_BODY_LIMIT {
                            break;
                        }
                    }
                    Poll::Ready(Some(Err(_)) | None) => break,
                    Poll::Pending => {
                        // tokio's timer, not the injected sleeper: this wait is not API behaviour a caller
                        // schedules or observes (an instant test sleeper would also defeat it), and under
                        // paused test time it still completes at once.
                        let timer = self
                            .end_timer
                            .get_or_insert_with(|| Box::pin(tokio::time::sleep(END_OF_BODY_GRACE)));
                        if timer.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                        break;
                    }
                }
            }
        }
        self.source = None;
        self.end_timer = None;
        Poll::Ready(())
    }

    /// Starts the overall deadline, once.
    fn start_deadline(&mut self) {
        if let Some(limit) = self.timeouts.max_duration
            && self.deadline.is_none()
        {
            self.deadline = Some(self.sleep.sleep(limit));
        }
    }

    /// Whether the overall deadline has passed (registers the waker when it has not).
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        if self.timeouts.max_duration.is_none() {
            return false;
        }
        self.start_deadline();
        self.deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }

    fn end_with(&mut self, error: ApiError) {
        self.queue.clear();
        self.queue.push_back(Err(error));
        self.source = None;
        self.timer = None;
        self.deadline = None;
    }
}

/// How long a stream that saw `[DONE]` waits for the end of the HTTP body before yielding
/// [`ChatEvent::Done`]. The end (the chunked terminator) follows at once in practice; reading it lets the
/// connection return to the pool instead of being closed, which saves the next request a TCP and TLS
/// handshake. A server that keeps the body open after `[DONE]` delays `Done` by at most this much.
const END_OF_BODY_GRACE: Duration = Duration::from_millis(100);

/// At most this many bytes after `[DONE]` are read (and ignored) while waiting for the end of the body.
const END_OF_BODY_LIMIT: usize = 16 * 1024;

impl Stream for ChatStream {
    type Item = Result<ChatEvent, ApiError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !this.ended
            && !matches!(
                this.queue.front(),
                Some(Ok(ChatEvent::Done { .. }) | Err(_))
            )
            && this.poll_deadline(cx)
        {
            let error = ApiError::StreamDeadline {
                after: this.timeouts.max_duration.unwrap_or_default(),
                partial: this.partial(),
            };
            this.end_with(error);
        }
        loop {
            if matches!(this.queue.front(), Some(Ok(ChatEvent::Done { .. })))
                && this.source.is_some()
                && this.poll_end_of_body(cx).is_pending()
            {
                return Poll::Pending;
            }
            if let Some(item) = this.queue.pop_front() {
                let last = matches!(item, Err(_) | Ok(ChatEvent::Done { .. }));
                if last {
                    this.ended = true;
                    this.queue.clear();
                    this.source = None;
                    this.timer = None;
                    this.deadline = None;
                }
                if item.is_ok() {
                    this.events += 1;
                }
                return Poll::Ready(Some(item));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let Some(source) = this.source.as_mut() else {
                // The decoder always ends with Done or an error; this only guards against a logic slip.
                this.ended = true;
                continue;
            };
            let read = match source {
                Source::Body(body) => body.poll_next_unpin(cx).map(|item| match item {
                    Some(Ok(bytes)) => Read::Bytes(bytes),
                    Some(Err(error)) => Read::Failed(ApiError::StreamInterrupted {
                        message: error.to_string(),
                        partial: PartialInfo::default(),
                    }),
                    None => Read::End,
                }),
                #[cfg(feature = "websocket")]
                Source::Socket(turn) => turn.poll_message(cx).map(|item| match item {
                    Ok(text) => Read::Message(text),
                    Err(crate::ws::ReadFailure::TooLarge { limit }) => {
                        Read::Failed(ApiError::WebSocketMessageTooLarge { limit })
                    }
                    Err(crate::ws::ReadFailure::Interrupted(message)) => {
                        Read::Failed(ApiError::StreamInterrupted {
                            message,
                            partial: PartialInfo::default(),
                        })
                    }
                }),
            };
            match read {
                Poll::Ready(Read::Bytes(bytes)) => {
                    this.bytes += bytes.len() as u64;
                    this.decoder.feed(&bytes, &mut this.queue);
                    if !this.queue.is_empty() {
                        this.got_event = true;
                    }
                    if this.got_event {
                        // Activity: restart the idle clock (the first-event clock keeps running until an event).
                        this.timer = None;
                    }
                }
                #[cfg(feature = "websocket")]
                Poll::Ready(Read::Message(text)) => {
                    this.bytes += text.len() as u64;
                    this.decoder.feed_message(text.as_bytes(), &mut this.queue);
                    // Every message is an event: the idle clock restarts.
                    this.got_event = true;
                    this.timer = None;
                }
                Poll::Ready(Read::Failed(mut error)) => {
                    if let ApiError::StreamInterrupted { partial, .. } = &mut error {
                        *partial = this.partial();
                    }
                    this.end_with(error);
                }
                Poll::Ready(Read::End) => {
                    this.decoder.finish(&mut this.queue);
                    this.source = None;
                }
                Poll::Pending => {
                    let timeout = if this.got_event {
                        this.timeouts.idle
                    } else {
                        this.timeouts.first_event
                    };
                    let Some(timeout) = timeout else {
                        return Poll::Pending;
                    };
                    let sleep = &this.sleep;
                    let timer = this.timer.get_or_insert_with(|| sleep.sleep(timeout));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let error = if this.got_event {
                        ApiError::IdleTimeout {
                            after: timeout,
                            partial: this.partial(),
                        }
                    } else {
                        ApiError::FirstEventTimeout { after: timeout }
                    };
                    this.end_with(error);
                }
            }
        }
    }
}
