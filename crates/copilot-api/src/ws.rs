//! Responses over WebSocket (`ws:/responses`): the upgrade, the pool of idle sockets, the remembered
//! fallbacks, and the socket side of a [`ChatStream`](crate::ChatStream).
//!
//! A turn sends one `{"type":"response.create", …}` text message and reads the server's events, one JSON
//! text message each, through the same Responses decoder as the SSE stream. A socket whose turn ended
//! cleanly goes back to the pool for the next turn with the same URL and headers; any error, an early drop
//! or a turn still open drops the socket instead, so one turn's failure never reaches another.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use copilot_core::{CopilotCredentials, CredentialTag};
use copilot_http::time::{SharedClock, SharedSleep};
use futures_util::{FutureExt, SinkExt, StreamExt};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An idle socket is closed after this long without a turn (the HTTP pool's idle timeout).
const POOL_IDLE: Duration = Duration::from_secs(90);
/// A socket is not reused once it is this old: servers end Responses sockets after an hour.
const MAX_SOCKET_AGE: Duration = Duration::from_secs(55 * 60);
/// At most this many idle sockets are kept (one per credential and header set in practice).
const MAX_IDLE: usize = 4;
/// At most this many remembered fallbacks are kept.
const MAX_FALLBACKS: usize = 16;

/// The WebSocket settings of a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsSettings {
    /// The deadline on TCP + TLS + upgrade.
    pub connect_timeout: Option<Duration>,
    /// The largest message (and frame) read.
    pub max_message: usize,
    /// How long a failed upgrade sends that credential's turns to HTTP without trying again.
    pub fallback_ttl: Duration,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            connect_timeout: Some(Duration::from_secs(10)),
            max_message: 16 * 1024 * 1024,
            fallback_ttl: Duration::from_secs(600),
        }
    }
}

/// The client's sockets: the idle pool and the remembered fallbacks.
#[derive(Debug, Default)]
pub(crate) struct WsPool {
    idle: Mutex<Vec<Idle>>,
    fallbacks: Mutex<Vec<Fallback>>,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

struct Idle {
    key: SocketKey,
    socket: Socket,
    upgrade_headers: HeaderMap,
    opened: SystemTime,
    since: SystemTime,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("url", &self.key.url)
            .field("since", &self.since)
            .finish_non_exhaustive()
    }
}

/// What a socket was opened with: a turn may use it only when it would open the same one. The headers
/// (the bearer included, so the key is per credential) decide a turn's classification (`X-Initiator`,
/// `X-Interaction-Type`, …), which a socket fixes at its upgrade; the per-request id is left out.
#[derive(Clone, PartialEq)]
pub(crate) struct SocketKey {
    pub url: String,
    pub headers: HeaderMap,
}

#[derive(Debug)]
struct Fallback {
    base_url: String,
    tag: Option<CredentialTag>,
    until: SystemTime,
}

/// Why an upgrade failed (never with a header or the bearer in it).
#[derive(Debug)]
pub(crate) enum UpgradeFailure {
    /// The server answered the upgrade with this status instead of 101.
    Status(u16),
    /// The connect deadline passed.
    TimedOut(Duration),
    /// TCP, TLS or the handshake failed.
    Failed(String),
}

impl UpgradeFailure {
    /// Whether to send this credential's next turns to HTTP for a while. A credential or rate-limit answer
    /// says nothing about WebSocket support (the HTTP call refreshes the token or waits as usual).
    pub fn remember(&self) -> bool {
        !matches!(self, UpgradeFailure::Status(401 | 403 | 421 | 429))
    }
}

impl std::fmt::Display for UpgradeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeFailure::Status(status) => write!(f, "the server answered {status}"),
            UpgradeFailure::TimedOut(after) => write!(f, "no upgrade within {after:?}"),
            UpgradeFailure::Failed(message) => f.write_str(message),
        }
    }
}

/// How reading a turn's next message failed.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// A message over the cap (nothing of it was kept).
    TooLarge { limit: usize },
    /// The socket closed or broke before the turn ended.
    Interrupted(String),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl WsPool {
    /// Whether `credentials`' turns go to HTTP because an upgrade failed recently.
    pub fn falls_back(&self, credentials: &CopilotCredentials, now: SystemTime) -> bool {
        let mut fallbacks = lock(&self.fallbacks);
        fallbacks.retain(|f| f.until > now);
        fallbacks
            .iter()
            .any(|f| f.tag == credentials.tag && f.base_url == credentials.base_url.as_str())
    }

    /// Sends `credentials`' turns to HTTP until `until`.
    pub fn remember_fallback(&self, credentials: &CopilotCredentials, until: SystemTime) {
        let mut fallbacks = lock(&self.fallbacks);
        fallbacks
            .retain(|f| !(f.tag == credentials.tag && f.base_url == credentials.base_url.as_str()));
        if fallbacks.len() >= MAX_FALLBACKS {
            fallbacks.remove(0);
        }
        fallbacks.push(Fallback {
            base_url: credentials.base_url.as_str().to_owned(),
            tag: credentials.tag,
            until,
        });
    }

    /// An idle socket opened with `key` that is still open, with its upgrade's response headers.
    fn take(&self, key: &SocketKey, now: SystemTime) -> Option<(Socket, HeaderMap, SystemTime)> {
        let mut idle = lock(&self.idle);
        idle.retain(|entry| fresh(entry, now));
        while let Some(index) = idle.iter().position(|entry| entry.key == *key) {
            let mut entry = idle.swap_remove(index);
            if still_open(&mut entry.socket) {
                return Some((entry.socket, entry.upgrade_headers, entry.opened));
            }
        }
        None
    }

    fn put(&self, entry: Idle) {
        let mut idle = lock(&self.idle);
        let now = entry.since;
        idle.retain(|entry| fresh(entry, now));
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push(entry);
    }

    /// The number of idle sockets (tests).
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        lock(&self.idle).len()
    }

    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.tls
            .get_or_init(|| {
                use rustls_platform_verifier::BuilderVerifierExt;
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .and_then(|builder| builder.with_platform_verifier())
                    .map(|builder| Arc::new(builder.with_no_client_auth()))
                    .map_err(|e| format!("TLS setup failed: {e}"))
            })
            .clone()
    }
}

fn fresh(entry: &Idle, now: SystemTime) -> bool {
    let age = |since: SystemTime| now.duration_since(since).unwrap_or(Duration::ZERO);
    age(entry.since) < POOL_IDLE && age(entry.opened) < MAX_SOCKET_AGE
}

/// Whether an idle socket is still usable: nothing but pings may have arrived since its last turn (a close,
/// an error or a stray message means the server is done with it).
fn still_open(socket: &mut Socket) -> bool {
    loop {
        match socket.next().now_or_never() {
            None => return true,
            Some(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Some(_) => return false,
        }
    }
}

/// A socket ready for one turn.
pub(crate) struct Opened {
    pub socket: Socket,
    pub upgrade_headers: HeaderMap,
    pub opened: SystemTime,
    pub reused: bool,
}

/// Takes a pooled socket for `key`, or opens one: `wss://` (or `ws://` to loopback, as the caller checked)
/// with `headers`, within the connect deadline, reading at most `settings.max_message` per message.
pub(crate) async fn open(
    pool: &WsPool,
    key: &SocketKey,
    headers: HeaderMap,
    settings: &WsSettings,
    clock: &SharedClock,
    sleep: &SharedSleep,
) -> Result<Opened, UpgradeFailure> {
    if let Some((socket, upgrade_headers, opened)) = pool.take(key, clock.now()) {
        return Ok(Opened {
            socket,
            upgrade_headers,
            opened,
            reused: true,
        });
    }
    let (socket, upgrade_headers) = connect(pool, &key.url, headers, settings, sleep).await?;
    Ok(Opened {
        socket,
        upgrade_headers,
        opened: clock.now(),
        reused: false,
    })
}

async fn connect(
    pool: &WsPool,
    url: &str,
    headers: HeaderMap,
    settings: &WsSettings,
    sleep: &SharedSleep,
) -> Result<(Socket, HeaderMap), UpgradeFailure> {
    let mut request = url
        .into_client_request()
        .map_err(|e| UpgradeFailure::Failed(format!("invalid WebSocket request: {e}")))?;
    request.headers_mut().extend(headers);
    let connector = if url.starts_with("wss://") {
        Connector::Rustls(pool.tls().map_err(UpgradeFailure::Failed)?)
    } else {
        Connector::Plain
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(settings.max_message))
        .max_frame_size(Some(settings.max_message));
    // Nagle off: each event is one small write the client waits for.
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    let result = match settings.connect_timeout {
        Some(timeout) => {
            tokio::select! {
                result = connecting => result,
                () = sleep.sleep(timeout) => return Err(UpgradeFailure::TimedOut(timeout)),
            }
        }
        None => connecting.await,
    };
    match result {
        Ok((socket, response)) => Ok((socket, response.headers().clone())),
        Err(WsError::Http(response)) => Err(UpgradeFailure::Status(response.status().as_u16())),
        Err(error) => Err(UpgradeFailure::Failed(describe(&error))),
    }
}

/// An error's text without anything a server or URL could smuggle secrets through.
fn describe(error: &WsError) -> String {
    match error {
        WsError::Url(_) => "invalid WebSocket URL".to_owned(),
        WsError::Http(response) => format!("the server answered {}", response.status().as_u16()),
        other => other.to_string(),
    }
}

/// Sends one text message. A failed send left no complete message with the server.
pub(crate) async fn send(socket: &mut Socket, text: String) -> Result<(), String> {
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|e| describe(&e))
}

/// The socket of one turn, read by [`ChatStream`](crate::ChatStream). It goes back to the pool only
/// through [`release`](Self::release) (a turn that ended cleanly); dropped otherwise, it closes.
pub(crate) struct SocketTurn {
    socket: Option<Socket>,
    pool: Arc<WsPool>,
    key: SocketKey,
    upgrade_headers: HeaderMap,
    opened: SystemTime,
    clock: SharedClock,
    max_message: usize,
}

impl SocketTurn {
    pub fn new(
        opened: Opened,
        pool: Arc<WsPool>,
        key: SocketKey,
        clock: SharedClock,
        max_message: usize,
    ) -> Self {
        SocketTurn {
            socket: Some(opened.socket),
            pool,
            key,
            upgrade_headers: opened.upgrade_headers,
            opened: opened.opened,
            clock,
            max_message,
        }
    }

    /// The next text message of the turn. Pings are answered by the socket itself.
    pub fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Utf8Bytes, ReadFailure>> {
        let Some(socket) = self.socket.as_mut() else {
            return Poll::Ready(Err(ReadFailure::Interrupted(
                "the WebSocket is closed".into(),
            )));
        };
        loop {
            let failure = match socket.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(Message::Text(text)))) => return Poll::Ready(Ok(text)),
                Poll::Ready(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {
                    continue;
                }
                Poll::Ready(Some(Ok(Message::Binary(_)))) => {
                    ReadFailure::Interrupted("the server sent a binary WebSocket message".into())
                }
                Poll::Ready(Some(Ok(Message::Close(_))) | None) => ReadFailure::Interrupted(
                    "the server closed the WebSocket before the turn ended".into(),
                ),
                Poll::Ready(Some(Err(WsError::Capacity(
                    CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders,
                )))) => ReadFailure::TooLarge {
                    limit: self.max_message,
                },
                Poll::Ready(Some(Err(error))) => ReadFailure::Interrupted(describe(&error)),
            };
            // A socket that failed is never reused.
            self.socket = None;
            return Poll::Ready(Err(failure));
        }
    }

    /// The turn ended cleanly: the socket goes back to the pool for the next turn.
    pub fn release(mut self) {
        if let Some(socket) = self.socket.take() {
            self.pool.put(Idle {
                key: self.key.clone(),
                socket,
                upgrade_headers: std::mem::take(&mut self.upgrade_headers),
                opened: self.opened,
                since: self.clock.now(),
            });
        }
    }
}

impl std::fmt::Debug for SocketTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketTurn")
            .field("url", &self.key.url)
            .field("open", &self.socket.is_some())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SocketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the headers: they hold the bearer.
        f.debug_struct("SocketKey")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// `{"type":"response.create", …}`: the request body's fields after the event type.
pub(crate) fn create_message(body: &[u8]) -> Result<String, String> {
    let body = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let rest = body
        .trim()
        .strip_prefix('{')
        .ok_or_else(|| "the request is not a JSON object".to_owned())?;
    let rest = rest.trim_start();
    let mut text = String::with_capacity(body.len() + 26);
    text.push_str(r#"{"type":"response.create""#);
    if !rest.starts_with('}') {
        text.push(',');
    }
    text.push_str(rest);
    Ok(text)
}

/// `https://…` → `wss://…`, `http://…` → `ws://…` (the caller has checked the URL may carry the bearer).
pub(crate) fn websocket_url(url: &str) -> Option<String> {
    if let Some(rest) = url.strip_prefix("https://") {
        Some(format!("wss://{rest}"))
    } else {
        url.strip_prefix("http://")
            .map(|rest| format!("ws://{rest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_message_puts_the_type_first_and_keeps_every_field() {
        let text = create_message(br#"{"model":"gpt-5.4","input":"hi"}"#).unwrap();
        assert_eq!(
            text,
            r#"{"type":"response.create","model":"gpt-5.4","input":"hi"}"#
        );
        assert_eq!(
            create_message(b"{}").unwrap(),
            r#"{"type":"response.create"}"#
        );
        assert!(create_message(b"[]").is_err());
    }

    #[test]
    fn websocket_urls_follow_the_http_scheme() {
        assert_eq!(
            websocket_url("https://api.githubcopilot.com/responses").as_deref(),
            Some("wss://api.githubcopilot.com/responses")
        );
        assert_eq!(
            websocket_url("http://127.0.0.1:9/copilot/responses").as_deref(),
            Some("ws://127.0.0.1:9/copilot/responses")
        );
        assert_eq!(websocket_url("ftp://x/responses"), None);
    }

    #[test]
    fn credential_and_rate_limit_refusals_are_not_remembered() {
        for status in [401, 403, 421, 429] {
            assert!(!UpgradeFailure::Status(status).remember(), "{status}");
        }
        for status in [400, 404, 426, 501] {
            assert!(UpgradeFailure::Status(status).remember(), "{status}");
        }
        assert!(UpgradeFailure::TimedOut(Duration::from_secs(1)).remember());
    }

    #[test]
    fn fallbacks_are_per_credential_and_expire() {
        let pool = WsPool::default();
        let base: url::Url = "https://api.example.test".parse().unwrap();
        let a = CopilotCredentials::new("a", base.clone()).with_tag(1);
        let b = CopilotCredentials::new("b", base).with_tag(2);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        pool.remember_fallback(&a, now + Duration::from_secs(60));
        assert!(pool.falls_back(&a, now));
        assert!(!pool.falls_back(&b, now));
        assert!(!pool.falls_back(&a, now + Duration::from_secs(61)));
        assert_eq!(pool.idle_count(), 0);
    }
}
