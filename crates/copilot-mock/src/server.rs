//! The running server: binding, routing, the observing middleware and runtime controls.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{
    DeviceScenario, HostLayout, MockConfig, MockOrg, MockUser, RegisteredToken, ReplayTranscript,
    WebFlowDecision,
};
use crate::error::MockError;
use crate::fault::{Endpoint, Fault, FaultRule};
use crate::log::{RequestLogEntry, redact_headers};
use crate::state::{DeviceStatus, State};
use crate::stream::{SsePlan, faulty_body, plan_steps};
use crate::{copilot, github, ids};

/// Path prefix of the Copilot API (`{api}`) on the mock's port.
pub(crate) const COPILOT_PREFIX: &str = "/copilot";
/// Largest request body the mock reads.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub copilot_token_lifetime: Duration,
    pub copilot_refresh_in: u64,
    pub direct_mode: bool,
    /// The provider key and the login it is served as ([`MockConfig::provider_key`]).
    pub provider: Option<(String, String)>,
    pub auto_model: bool,
    pub chunk_model_fields: bool,
    pub long_answer_chunks: Option<usize>,
}

/// State shared by the server task, the handlers and the [`MockServer`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub web_url: String,
    pub rest_url: String,
    pub copilot_url: String,
    pub layout: HostLayout,
    pub settings: Settings,
    state: Mutex<State>,
    log: Mutex<Vec<RequestLogEntry>>,
    pub cancel: CancellationToken,
}

impl Shared {
    /// Locks the state; a panic in another handler must not take the whole mock down.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Adds an entry to the request log (for what the middleware does not see: WebSocket turns).
    pub fn log_entry(&self, entry: RequestLogEntry) {
        self.log().push(entry);
    }
    fn log(&self) -> MutexGuard<'_, Vec<RequestLogEntry>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Sleeps unless the server shuts down first.
    pub async fn sleep(&self, duration: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = self.cancel.cancelled() => {}
        }
    }
}

/// Marker a handler puts in response extensions to annotate the log entry.
#[derive(Debug, Clone)]
pub(crate) struct LogNote(pub &'static str);

/// A running mock of GitHub and the Copilot API on `127.0.0.1`.
///
/// Dropping it (or calling [`MockServer::shutdown`]) stops the server.
#[derive(Debug)]
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts the mock on a free port (or the configured one).
    ///
    /// # Panics
    /// If the socket cannot be bound; use [`MockServer::try_start`] to handle that.
    pub async fn start(config: MockConfig) -> MockServer {
        match Self::try_start(config).await {
            Ok(server) => server,
            Err(e) => panic!("copilot-mock failed to start: {e}"),
        }
    }

    /// Starts the mock, reporting bind failures.
    pub async fn try_start(config: MockConfig) -> Result<MockServer, MockError> {
        let port = config.port;
        let bind_err = |source| MockError::Bind { port, source };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let base = format!("http://{addr}");
        let shared = Arc::new(Shared {
            rest_url: format!("{base}{}", config.layout.rest_prefix()),
            copilot_url: format!("{base}{COPILOT_PREFIX}"),
            web_url: base,
            layout: config.layout,
            settings: Settings {
                copilot_token_lifetime: config.copilot_token_lifetime,
                copilot_refresh_in: config.copilot_refresh_in,
                direct_mode: config.direct_mode,
                provider: config.provider_key.clone().map(|key| {
                    let login = config.users.first().map_or_else(
                        || crate::config::DEFAULT_LOGIN.to_owned(),
                        |u| u.login.clone(),
                    );
                    (key, login)
                }),
                auto_model: config.auto_model,
                chunk_model_fields: config.chunk_model_fields,
                long_answer_chunks: config.long_answer_chunks,
            },
            state: Mutex::new(State::new(&config)),
            log: Mutex::new(Vec::new()),
            cancel: CancellationToken::new(),
        });
        let app = router(shared.clone());
        let cancel = shared.cancel.clone();
        // One write per SSE event: without TCP_NODELAY an event written while the previous one is unacknowledged
        // waits for the client's delayed ACK, ~40 ms per streamed answer on a reused (pooled) connection,
        // which no real server adds and which hid the gateway's own cost in the benchmarks.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            // Serving errors after start have no caller to go to; the task simply ends.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
        });
        Ok(MockServer {
            shared,
            addr,
            task: Some(task),
        })
    }

    /// Stops accepting connections, ends stalled streams and waits (at most 5 s) for the server task.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    // ----- URLs -----

    /// The socket address, `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    /// GitHub web/OAuth base (`{gh_web}`), e.g. `http://127.0.0.1:PORT`.
    pub fn github_web_url(&self) -> &str {
        &self.shared.web_url
    }
    /// GitHub REST base (`{gh_api}`): `http://127.0.0.1:PORT/api`, or `/api/v3` with [`HostLayout::Ghes`].
    pub fn github_api_url(&self) -> &str {
        &self.shared.rest_url
    }
    /// Copilot API base (`{api}`, also the `endpoints.api` the exchange returns): `http://127.0.0.1:PORT/copilot`.
    pub fn copilot_api_url(&self) -> &str {
        &self.shared.copilot_url
    }

    // ----- request log -----

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.shared.log().clone()
    }
    /// The requests that hit `endpoint`.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RequestLogEntry> {
        self.shared
            .log()
            .iter()
            .filter(|e| e.endpoint == endpoint)
            .cloned()
            .collect()
    }
    /// Forgets the log.
    pub fn clear_requests(&self) {
        self.shared.log().clear();
    }
    /// How many WebSocket upgrades of `{api}/responses` were attempted (refused ones included).
    pub fn websocket_upgrade_count(&self) -> u64 {
        self.shared.state().ws_upgrades
    }

    /// How many WebSockets were opened on `{api}/responses` (upgrades that succeeded).
    pub fn websocket_count(&self) -> u64 {
        self.shared.state().ws_sockets
    }

    /// How WebSocket upgrades of `{api}/responses` are answered from now on.
    pub fn set_websocket_upgrade(&self, upgrade: crate::config::WsUpgrade) {
        self.shared.state().ws_upgrade = upgrade;
    }

    /// How many device polls were answered `slow_down` (forced or for polling too fast).
    pub fn slow_down_count(&self) -> u64 {
        self.shared.state().slow_downs
    }

    // ----- identities and tokens -----

    /// Adds or replaces a user.
    pub fn add_user(&self, user: MockUser) {
        self.shared.state().users.insert(user.login.clone(), user);
    }
    /// Adds or replaces an organisation.
    pub fn add_org(&self, org: MockOrg) {
        let mut state = self.shared.state();
        state.orgs.retain(|o| o.login != org.login);
        state.orgs.push(org);
    }
    /// Registers a GitHub token (PAT, imported token, …).
    pub fn add_token(&self, token: RegisteredToken) {
        self.shared
            .state()
            .register_token(&token.token, &token.login, token.allow_listed);
    }
    /// Mints a long-lived `gho_` token for `login` as if VS Code's allow-listed app had issued it
    /// (skips the OAuth dance in tests that start from a signed-in user).
    pub fn mint_github_token(&self, login: &str) -> String {
        let token = ids::oauth_token();
        self.shared.state().register_token(&token, login, true);
        token
    }
    /// Revokes a GitHub token (and makes its refresh token useless). Returns whether it existed.
    pub fn revoke_github_token(&self, token: &str) -> bool {
        match self.shared.state().github_tokens.get_mut(token) {
            Some(record) => {
                record.revoked = true;
                true
            }
            None => false,
        }
    }
    /// Makes a GitHub token expired now (as after its 8 h), so a refresh is needed.
    pub fn expire_github_token(&self, token: &str) -> bool {
        match self.shared.state().github_tokens.get_mut(token) {
            Some(record) => {
                record.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
                true
            }
            None => false,
        }
    }
    /// Expires every Copilot token issued so far: the API answers 401 `unauthorized: token expired`.
    pub fn expire_copilot_tokens(&self) {
        let past = SystemTime::now() - Duration::from_secs(1);
        for record in self.shared.state().copilot_tokens.values_mut() {
            record.expires_at = past;
        }
    }
    /// Number of Copilot tokens issued so far.
    pub fn copilot_tokens_issued(&self) -> usize {
        self.shared.state().copilot_tokens.len()
    }

    // ----- faults -----

    /// Installs a fault, replacing any fault on the same endpoint (with the same header condition).
    pub fn set_fault(&self, rule: FaultRule) {
        let mut state = self.shared.state();
        state
            .faults
            .retain(|r| r.endpoint != rule.endpoint || r.header != rule.header);
        state.faults.push(rule);
    }
    /// Removes the fault on `endpoint`.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        self.shared
            .state()
            .faults
            .retain(|r| r.endpoint != endpoint);
    }
    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    // ----- scenarios -----

    /// Scenario for device codes issued from now on.
    pub fn set_device_scenario(&self, scenario: DeviceScenario) {
        self.shared.state().device_scenario = scenario;
    }
    /// What `/login/oauth/authorize` does from now on.
    pub fn set_web_flow(&self, decision: WebFlowDecision) {
        self.shared.state().web_flow = decision;
    }
    /// Replay a transcript on `/chat/completions` (or `None` to go back to generated answers).
    pub fn set_replay(&self, transcript: Option<ReplayTranscript>) {
        self.shared.state().replay = transcript;
    }
    /// User codes of device authorizations still pending.
    pub fn pending_user_codes(&self) -> Vec<String> {
        self.shared
            .state()
            .devices
            .iter()
            .filter(|d| d.status == DeviceStatus::Pending)
            .map(|d| d.user_code.clone())
            .collect()
    }
    /// Approves a pending device authorization as `login`. Returns whether the code was pending.
    pub fn approve_device(&self, user_code: &str, login: &str) -> bool {
        self.shared
            .state()
            .set_device_status(user_code, DeviceStatus::Approved(login.to_string()))
    }
    /// Denies a pending device authorization. Returns whether the code was pending.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.shared
            .state()
            .set_device_status(user_code, DeviceStatus::Denied)
    }
    /// Sets a model's `policy.state` (e.g. `enabled`, `disabled`, `unconfigured`).
    pub fn set_model_policy(&self, model: &str, state: &str) {
        self.shared
            .state()
            .model_policies
            .insert(model.to_string(), state.to_string());
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl State {
    pub(crate) fn set_device_status(&mut self, user_code: &str, status: DeviceStatus) -> bool {
        let wanted = user_code.trim().to_ascii_uppercase();
        match self
            .devices
            .iter_mut()
            .find(|d| d.user_code == wanted && d.status == DeviceStatus::Pending)
        {
            Some(grant) => {
                grant.status = status;
                true
            }
            None => false,
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let web = Router::new()
        .route("/login/device/code", post(github::device::device_code))
        .route(
            "/login/oauth/access_token",
            post(github::oauth::access_token),
        )
        .route("/login/oauth/authorize", get(github::oauth::authorize))
        .route(
            "/login/device",
            get(github::device::device_page).post(github::device::device_page_submit),
        );
    let rest = Router::new()
        .route("/user", get(github::rest::user))
        .route("/user/orgs", get(github::rest::user_orgs))
        .route(
            "/user/memberships/orgs/{org}",
            get(github::rest::org_membership),
        )
        .route("/copilot_internal/v2/token", get(copilot::exchange::token))
        .route(
            "/copilot_internal/user",
            get(copilot::exchange::copilot_user),
        );
    let api = Router::new()
        .route("/models", get(copilot::models::list))
        .route("/models/session", post(copilot::models::auto_session))
        .route("/models/{id}", get(copilot::models::get_one))
        .route("/models/{id}/policy", post(copilot::models::set_policy))
        .route("/chat/completions", post(copilot::chat::completions))
        .route(
            "/responses",
            post(copilot::responses::responses).get(copilot::responses_ws::upgrade),
        )
        .route("/v1/messages", post(copilot::messages::messages))
        .route("/embeddings", post(copilot::embeddings::embeddings))
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(copilot::chat::completions).layer(axum::middleware::from_fn(azure_api_version)),
        )
        .route(
            "/openai/responses",
            post(copilot::responses::responses).layer(axum::middleware::from_fn(azure_api_version)),
        )
        .route("/_ping", get(|| async { "pong" }));
    Router::new()
        .merge(web)
        .nest(shared.layout.rest_prefix(), rest)
        .nest(COPILOT_PREFIX, api)
        .fallback(github::rest::not_found)
        // Body extractors share the logging cap: prompts with several 3 MiB images (4 MiB each in base64) are
        // over axum's 2 MiB default.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            observe,
        ))
        .with_state(shared)
}

/// Azure OpenAI's routes answer 404 without an `api-version` query, as Azure does.
async fn azure_api_version(request: Request, next: Next) -> Response {
    let has_version = request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.starts_with("api-version="))
    });
    if has_version {
        return next.run(request).await;
    }
    (
        http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": {"code": "404", "message": "Resource not found"}})),
    )
        .into_response()
}

/// Logs every request and applies the fault configured for its route.
async fn observe(
    AxumState(shared): AxumState<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let endpoint = match Endpoint::classify(parts.uri.path(), shared.layout) {
        Endpoint::Responses if parts.method == http::Method::GET => Endpoint::ResponsesWebSocket,
        endpoint => endpoint,
    };
    let mut entry = RequestLogEntry {
        endpoint,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: redact_headers(&parts.headers),
        body: body.clone(),
        status: 0,
        note: None,
    };
    // A WebSocket's faults apply to its turns, which the socket's handler takes one by one.
    let fault = match endpoint {
        Endpoint::ResponsesWebSocket => None,
        _ => shared.state().take_fault(endpoint, &parts.headers),
    };
    if let Some(Fault::Latency(duration)) = &fault {
        shared.sleep(*duration).await;
    }
    if let Some(Fault::Status {
        status,
        headers,
        content_type,
        body,
    }) = &fault
    {
        let mut response = (
            http::StatusCode::from_u16(*status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            [(http::header::CONTENT_TYPE, content_type.clone())],
            body.clone(),
        )
            .into_response();
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        entry.status = *status;
        entry.note = Some("fault".into());
        shared.log().push(entry);
        return response;
    }

    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (mut parts, body) = response.into_parts();
    entry.status = parts.status.as_u16();
    entry.note = parts
        .extensions
        .remove::<LogNote>()
        .map(|n| n.0.to_string());
    let body_fault = fault.filter(|f| !matches!(f, Fault::Latency(_)));
    if body_fault.is_some() && entry.note.is_none() {
        entry.note = Some("fault".into());
    }
    shared.log().push(entry);

    let body = match (parts.extensions.remove::<SsePlan>(), body_fault) {
        (Some(plan), fault) => faulty_body(
            plan_steps(plan.events, plan.piece_size, fault.as_ref()),
            shared.cancel.clone(),
        ),
        (None, Some(fault)) => {
            // A non-streaming body: treat its two halves as the "events".
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .unwrap_or_default();
            let half = bytes.len() / 2;
            let events = vec![bytes.slice(..half), bytes.slice(half..)];
            let fault = clamp_for_body(fault);
            parts.headers.remove(http::header::CONTENT_LENGTH);
            faulty_body(
                plan_steps(events, None, Some(&fault)),
                shared.cancel.clone(),
            )
        }
        (None, None) => body,
    };
    Response::from_parts(parts, body)
}

/// Stream faults on a plain body act after its first half.
fn clamp_for_body(fault: Fault) -> Fault {
    match fault {
        Fault::StallMidStream { duration, .. } => Fault::StallMidStream {
            after_events: 1,
            duration,
        },
        Fault::ResetMidStream { .. } => Fault::ResetMidStream { after_events: 1 },
        Fault::TruncateStream { .. } => Fault::TruncateStream { after_events: 1 },
        Fault::MalformedChunk { .. } => Fault::MalformedChunk { after_events: 1 },
        Fault::MidStreamError { code, message, .. } => Fault::MidStreamError {
            after_events: 1,
            code,
            message,
        },
        other => other,
    }
}
