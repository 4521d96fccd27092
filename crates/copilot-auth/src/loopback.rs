//! A one-shot HTTP server on 127.0.0.1 that receives the web flow's redirect, for desktop and CLI apps.

use std::time::Duration;

use copilot_http::time::{SharedSleep, Sleep};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::AuthError;
use crate::web::{CallbackParams, PendingAuthorization};

/// The request head of a browser's GET is far below this; more is not a browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen backlog. Bounds memory against a local flood.
const MAX_CONNECTIONS: usize = 32;

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body><p>Sign-in finished. You can close this window.</p></body></html>";
const ERROR_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
<body><p>Sign-in did not complete. You can close this window and return to the application.</p></body></html>";

/// Listens on `127.0.0.1:<free port>` for exactly one OAuth callback.
///
/// Register `http://127.0.0.1/<path>` as the app's callback (GitHub allows any port for loopback), build
/// the [`WebFlow`](crate::WebFlow) with [`LoopbackCallback::redirect_uri`], open the authorize URL in the
/// browser (your code, not this library's), then [`LoopbackCallback::wait`]. Requests to other paths (a
/// browser's `/favicon.ico`) get 404 and do not count; nor does a callback whose `state` is not the pending
/// authorization's (another local process guessing the port cannot end or hijack the wait). Connections are
/// served concurrently, so one that stalls delays no other.
#[derive(Debug)]
pub struct LoopbackCallback {
    listener: TcpListener,
    redirect_uri: Url,
    path: String,
    sleep: SharedSleep,
}

impl LoopbackCallback {
    /// Binds `127.0.0.1:0` for a callback at `path` (e.g. `/callback`).
    pub async fn bind(path: &str) -> Result<Self, AuthError> {
        let path = format!("/{}", path.trim_start_matches('/'));
        let listener =
            TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| AuthError::Loopback {
                    message: format!("cannot bind 127.0.0.1: {e}"),
                })?;
        let port = listener
            .local_addr()
            .map_err(|e| AuthError::Loopback {
                message: e.to_string(),
            })?
            .port();
        let redirect_uri = Url::parse(&format!("http://127.0.0.1:{port}{path}")).map_err(|e| {
            AuthError::Loopback {
                message: format!("invalid callback path {path:?}: {e}"),
            }
        })?;
        Ok(LoopbackCallback {
            listener,
            redirect_uri,
            path,
            sleep: SharedSleep::tokio(),
        })
    }

    /// The sleeper that measures the timeout (default: tokio's sleep).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = SharedSleep::new(sleep);
        self
    }

    /// The redirect URI to give the [`WebFlow`](crate::WebFlow): `http://127.0.0.1:<port><path>`.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the callback of `pending` (whose `state` it must carry), answers it with a
    /// short "you can close this window" page, and returns its parameters (a `code`, or an `error`). Pass
    /// them to [`WebFlow::complete`](crate::WebFlow::complete).
    ///
    /// A request to the callback path with another (or no) `state` gets an error page and the wait goes on:
    /// the first local process to hit the port cannot end it.
    pub async fn wait(
        self,
        pending: &PendingAuthorization,
        timeout: Duration,
    ) -> Result<CallbackParams, AuthError> {
        let deadline = self.sleep.sleep(timeout);
        tokio::select! {
            biased;
            result = self.accept_callback(pending) => result,
            () = deadline => Err(AuthError::CallbackTimeout { after: timeout }),
        }
    }

    async fn accept_callback(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<CallbackParams, AuthError> {
        let mut connections = FuturesUnordered::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    let (stream, _) = accepted.map_err(|e| AuthError::Loopback {
                        message: format!("accept failed: {e}"),
                    })?;
                    connections.push(tokio::time::timeout(READ_TIMEOUT, self.serve(stream, pending)));
                }
                Some(served) = connections.next(), if !connections.is_empty() => {
                    // Not the callback, a wrong state, or a broken client: keep waiting for the real one.
                    if let Ok(Ok(Some(params))) = served {
                        return Ok(params);
                    }
                }
            }
        }
    }

    /// Serves one connection; `Some` if it was the callback of `pending`.
    async fn serve(
        &self,
        mut stream: TcpStream,
        pending: &PendingAuthorization,
    ) -> std::io::Result<Option<CallbackParams>> {
        let Some(target) = read_request_target(&mut stream).await? else {
            respond(&mut stream, "400 Bad Request", "text/plain", "bad request").await?;
            return Ok(None);
        };
        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        if path != self.path {
            respond(&mut stream, "404 Not Found", "text/plain", "not found").await?;
            return Ok(None);
        }
        let params = CallbackParams::from_query(query);
        if !pending.state_matches(params.state.as_deref().unwrap_or("")) {
            tracing::debug!("loopback callback with a wrong state ignored; still waiting");
            respond(
                &mut stream,
                "400 Bad Request",
                "text/html; charset=utf-8",
                ERROR_PAGE,
            )
            .await?;
            return Ok(None);
        }
        let page = if params.code.is_some() && params.error.is_none() {
            DONE_PAGE
        } else {
            ERROR_PAGE
        };
        respond(&mut stream, "200 OK", "text/html; charset=utf-8", page).await?;
        tracing::debug!("loopback callback received");
        Ok(Some(params))
    }
}

/// Reads the request head and returns the target of a `GET` (`/path?query`), or `None` if it is not one.
async fn read_request_target(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut request_line = text.lines().next().unwrap_or("").split_whitespace();
    match (
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) {
        (Some("GET"), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Ok(Some(target.to_owned()))
        }
        _ => Ok(None),
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
