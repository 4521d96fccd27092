//! [`Gateway`]: the router, access control, the per-request log line, and serving with a graceful drain.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::ServeConfig;
use crate::directory::DirectoryKeys;
use crate::error::{Dialect, Failure, ServeError};
use crate::upstream::Upstream;

/// The gateway: configuration, the Copilot side, and per-key concurrency limits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: ServeConfig,
    pub(crate) upstream: Upstream,
    limits: Vec<Option<Arc<Semaphore>>>,
    directory: Option<DirectoryKeys>,
}

/// Who is calling: set by the access check for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The stored credential (token store account) the key is bound to.
    pub(crate) user: Option<String>,
}

/// What the per-request log line reports; handlers and stream encoders fill it in.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) model: Option<String>,
    pub(crate) requested_model: Option<String>,
    pub(crate) upstream: Option<&'static str>,
    pub(crate) upstream_ms: Option<u64>,
    pub(crate) stream: bool,
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) completion_tokens: Option<u64>,
    pub(crate) cost_nano_aiu: Option<u64>,
    pub(crate) error: Option<String>,
}

/// The shared, fillable record of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog(Arc<Mutex<Record>>);

impl RequestLog {
    pub(crate) fn update(&self, f: impl FnOnce(&mut Record)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A handler's outcome as the response: a failure is noted for the request's log line and written in
    /// the caller's `dialect`.
    pub(crate) fn respond(&self, dialect: Dialect, outcome: Result<Response, Failure>) -> Response {
        outcome.unwrap_or_else(|failure| self.failed(dialect, failure))
    }

    /// A failure noted for the log line and written in `dialect`.
    pub(crate) fn failed(&self, dialect: Dialect, failure: Failure) -> Response {
        self.update(|r| r.error = Some(failure.to_string()));
        failure.in_dialect(dialect).into_response()
    }
}

/// Emits the request's log line when dropped: when the response body (a stream included) has been sent,
/// or the caller went away.
struct LogOnDrop {
    log: RequestLog,
    method: http::Method,
    route: String,
    key: String,
    status: u16,
    started: Instant,
}

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        let record = self.log.0.lock().unwrap_or_else(PoisonError::into_inner);
        tracing::info!(
            target: "copilot_serve::request",
            method = %self.method,
            route = %self.route,
            key = %self.key,
            status = self.status,
            model = record.model.as_deref().unwrap_or("-"),
            requested_model = record.requested_model.as_deref().unwrap_or("-"),
            upstream = record.upstream.unwrap_or("-"),
            stream = record.stream,
            upstream_ms = record.upstream_ms,
            total_ms = self.started.elapsed().as_millis() as u64,
            prompt_tokens = record.prompt_tokens,
            completion_tokens = record.completion_tokens,
            cost_nano_aiu = record.cost_nano_aiu,
            error = record.error.as_deref(),
            "request"
        );
    }
}

/// A gateway bound to its address and serving in a background task.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl RunningGateway {
    /// The address it listens on (the real port when the configuration asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use, e.g. `http://127.0.0.1:4141`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets open requests and streams finish (up to the drain timeout), then
    /// returns.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the gateway stops (after [`shutdown`](Self::shutdown) or a failure).
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(result) => result,
            Err(error) => Err(ServeError::Config(format!(
                "the gateway task failed: {error}"
            ))),
        }
    }

    /// A token whose cancellation starts the graceful shutdown (e.g. from a Ctrl-C handler).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

impl Gateway {
    /// A gateway for `config` in front of `upstream`. Fails when the configuration is unusable: no key,
    /// or keys bound to users without a multi-user upstream (and the reverse).
    pub fn new(config: ServeConfig, upstream: Upstream) -> Result<Self, ServeError> {
        config.validate()?;
        let pooled = matches!(upstream, Upstream::Pool(_));
        if config.directory.is_some() && !pooled {
            return Err(ServeError::Config(
                "a key directory binds every key to a user: it needs multi-user mode (a ClientPool upstream)"
                    .to_owned(),
            ));
        }
        for entry in &config.keys.entries {
            if pooled != entry.user.is_some() {
                return Err(ServeError::Config(if pooled {
                    format!(
                        "multi-user mode: key `{}` is bound to no user (add `\"user\"` to it in the keys file)",
                        entry.label
                    )
                } else {
                    format!(
                        "key `{}` is bound to user `{}`, which needs multi-user mode (a keys file with users for every key)",
                        entry.label,
                        entry.user.as_deref().unwrap_or_default()
                    )
                }));
            }
        }
        let limits = config
            .keys
            .entries
            .iter()
            .map(|e| e.max_concurrent.map(|n| Arc::new(Semaphore::new(n))))
            .collect();
        let directory = config.directory.clone().map(|directory| {
            DirectoryKeys::new(directory, config.key_cache_ttl, config.clock.clone())
        });
        Ok(Gateway {
            inner: Arc::new(Inner {
                config,
                upstream,
                limits,
                directory,
            }),
        })
    }

    /// The axum router (every route behind the access check except `/healthz`).
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route(
                "/v1/chat/completions",
                post(crate::openai::chat::chat_completions),
            )
            .route(
                "/chat/completions",
                post(crate::openai::chat::chat_completions),
            )
            .route("/v1/responses", post(crate::openai::responses::responses))
            .route("/responses", post(crate::openai::responses::responses))
            .route(
                "/v1/responses/compact",
                post(crate::openai::responses::compact),
            )
            .route("/v1/models", get(crate::openai::models::list))
            .route("/models", get(crate::openai::models::list))
            .route("/v1/models/{*id}", get(crate::openai::models::get_one))
            .route(
                "/v1/embeddings",
                post(crate::openai::embeddings::embeddings),
            )
            .route("/embeddings", post(crate::openai::embeddings::embeddings))
            .route("/v1/messages", post(crate::anthropic::messages))
            .route(
                "/v1/messages/count_tokens",
                post(crate::anthropic::count_tokens),
            )
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(self.clone(), access))
            .layer(DefaultBodyLimit::max(self.inner.config.max_body));
        Router::new()
            .route("/healthz", get(healthz))
            .merge(api)
            .with_state(self.clone())
    }

    /// Binds the configured address and serves in a background task until
    /// [`RunningGateway::shutdown`].
    pub async fn start(self) -> Result<RunningGateway, ServeError> {
        let addr = self.inner.config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Listen { addr, source })?;
        self.start_on(listener)
    }

    /// Serves on an already bound listener in a background task.
    pub fn start_on(self, listener: TcpListener) -> Result<RunningGateway, ServeError> {
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: self.inner.config.bind,
            source,
        })?;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let drain = self.inner.config.drain_timeout;
        let router = self.router();
        // Streams are many small writes (one per event): with Nagle's algorithm on, an event written while
        // the previous one is unacknowledged waits for the caller's delayed ACK (~40 ms on Linux), which
        // added ~40 ms to every streamed answer (measured by `cargo xtask bench --only serve`).
        let listener = listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY on an accepted connection");
            }
        });
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, router)
                .with_graceful_shutdown(token.clone().cancelled_owned())
                .into_future();
            tokio::pin!(server);
            tokio::select! {
                result = &mut server => return result.map_err(|source| ServeError::Listen { addr, source }),
                () = token.cancelled() => {}
            }
            // Shutdown started: no new connections; open requests and streams get `drain` to finish.
            match tokio::time::timeout(drain, server).await {
                Ok(result) => result.map_err(|source| ServeError::Listen { addr, source }),
                Err(_) => {
                    tracing::warn!(
                        drain_secs = drain.as_secs(),
                        "streams still open after the drain timeout; closing them"
                    );
                    Ok(())
                }
            }
        });
        tracing::info!(%addr, "copilot-rs gateway listening");
        Ok(RunningGateway {
            addr,
            shutdown,
            task,
        })
    }
}

/// An accepted key, from the configured keys or the directory.
struct Accepted {
    user: Option<String>,
    label: String,
    max_concurrent: Option<usize>,
    limit: Option<Arc<Semaphore>>,
}

impl Gateway {
    /// The key `presented` stands for: the configured keys first (compared in constant time), then the
    /// directory. `Err` only when the directory had to be asked and could not answer.
    async fn resolve(
        &self,
        presented: &str,
    ) -> Result<Option<Accepted>, copilot_store_core::StoreError> {
        // One digest per request, for both the configured keys and the directory.
        let digest = copilot_store_core::api_keys::ApiKeyDigest::of(presented);
        if let Some(position) = self.inner.config.keys.find(&digest) {
            let entry = &self.inner.config.keys.entries[position];
            return Ok(Some(Accepted {
                user: entry.user.clone(),
                label: entry.label.clone(),
                max_concurrent: entry.max_concurrent,
                limit: self.inner.limits[position].clone(),
            }));
        }
        let Some(directory) = &self.inner.directory else {
            return Ok(None);
        };
        Ok(directory.find(&digest).await?.map(|key| Accepted {
            user: Some(key.user.clone()),
            label: key.label.clone(),
            max_concurrent: key
                .max_concurrent
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            limit: key.limit.clone(),
        }))
    }
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    Failure::new(
        StatusCode::NOT_FOUND,
        format!("no route {} {path} on this gateway", request.method()),
    )
    .code("not_found")
    .in_dialect(Dialect::of_path(&path))
    .into_response()
}

/// The presented API key: `Authorization: Bearer <key>` (OpenAI clients) or `x-api-key` (Anthropic).
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(value.trim());
    }
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Access check, concurrency limit and the per-request log line.
async fn access(State(gateway): State<Gateway>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let dialect = Dialect::of_path(&path);
    let method = request.method().clone();
    let found = match presented_key(request.headers()) {
        Some(presented) => match gateway.resolve(presented).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(target: "copilot_serve::request", %method, route = %path, status = 503, %error, "request refused: the key directory cannot be read");
                let mut failure = Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the gateway cannot check API keys right now (its key directory is unreachable); try again shortly",
                )
                .code("key_directory_unavailable")
                .in_dialect(dialect);
                failure.retry_after = Some(Duration::from_secs(1));
                return failure.into_response();
            }
        },
        None => None,
    };
    let Some(entry) = found else {
        tracing::info!(target: "copilot_serve::request", %method, route = %path, status = 401, "request refused: missing or unknown API key");
        return Failure::new(
            StatusCode::UNAUTHORIZED,
            "missing or invalid API key: send the gateway's key as `Authorization: Bearer <key>` or `x-api-key: <key>`",
        )
        .code("invalid_api_key")
        .in_dialect(dialect)
        .into_response();
    };
    let permit = match &entry.limit {
        Some(limit) => match limit.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                tracing::info!(target: "copilot_serve::request", %method, route = %path, key = %entry.label, status = 429, "request refused: concurrency limit");
                let mut failure = Failure::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "this API key already has {} requests in flight (its limit)",
                        entry.max_concurrent.unwrap_or_default()
                    ),
                )
                .code("concurrency_limit")
                .in_dialect(dialect);
                failure.retry_after = Some(Duration::from_secs(1));
                return failure.into_response();
            }
        },
        None => None,
    };
    let log = RequestLog::default();
    request.extensions_mut().insert(Caller { user: entry.user });
    request.extensions_mut().insert(log.clone());
    let response = next.run(request).await;
    let guard = LogOnDrop {
        log,
        method,
        route: path,
        key: entry.label,
        status: response.status().as_u16(),
        started,
    };
    // The permit and the log line live as long as the body: a stream holds its slot until it ends.
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _held = (&guard, &permit);
        chunk
    }));
    Response::from_parts(parts, body)
}
