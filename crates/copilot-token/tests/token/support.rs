//! Shared test helpers: fixtures, synthetic envelopes, transports, providers and request-shape snapshots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use copilot_http::retry::RetryPolicy;
use copilot_http::time::{Clock, Sleep, unix_seconds};
use copilot_http::{
    ClientIdentity, GitHubHost, HttpRequest, HttpResponse, HttpTransport, ReqwestTransport,
    ResponseBody, SharedTransport, TransportError,
};
use copilot_token::{
    AuthMode, GitHubToken, GitHubTokenProvider, StaticGitHubToken, TokenError, TokenExchanger,
    TokenExchangerBuilder, TokenManager, TokenManagerBuilder,
};
use serde_json::{Value, json};
use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

pub const EXCHANGE_PATH: &str = "/copilot_internal/v2/token";
pub const USER_PATH: &str = "/copilot_internal/user";
pub const GH_TOKEN: &str = "gho_TESTgithubTOKEN0123456789";
/// An IP that appears in synthetic token strings; it must never show up in logs.
pub const SECRET_IP: &str = "203.0.113.77";
/// A fixed start of test time.
pub const T0: u64 = 1_800_000_000;

pub fn t0() -> SystemTime {
    copilot_http::time::from_unix_seconds(T0)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// A fixed identity so snapshots do not change with the crate version.
pub fn identity() -> ClientIdentity {
    ClientIdentity::new()
        .with_user_agent("copilot-token-tests/1.0")
        .with_editor_version("tests/1.0")
        .with_editor_plugin_version("copilot-token-tests/1.0")
        .with_integration_id("copilot-developer-cli")
}

/// A host whose REST API is the mock server and whose default Copilot API is `https://api.githubcopilot.com`.
pub fn host_for(server: &MockServer) -> GitHubHost {
    let base = Url::parse(&server.uri()).unwrap();
    GitHubHost::custom(
        base.clone(),
        base,
        Url::parse("https://api.githubcopilot.com").unwrap(),
    )
}

/// A synthetic token string with the usual fields, a MAC and an IP.
pub fn token_string(tag: &str, exp: u64) -> String {
    format!(
        "tid={tag};ol=org1,org2;exp={exp};sku=copilot_individual;proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;chat=1;ip={SECRET_IP};asn=AS64500:0123456789abcdef{tag}"
    )
}

/// A synthetic envelope for `token`.
pub fn envelope(token: &str, expires_at: u64, refresh_in: u64) -> Value {
    json!({
        "token": token,
        "expires_at": expires_at,
        "refresh_in": refresh_in,
        "endpoints": {
            "api": "https://api.individual.githubcopilot.com",
            "proxy": "https://proxy.individual.githubcopilot.com",
            "telemetry": "https://telemetry.individual.githubcopilot.com",
            "origin-tracker": "https://origin-tracker.individual.githubcopilot.com"
        },
        "sku": "copilot_individual",
        "chat_enabled": true,
        "individual": true
    })
}

/// Answers the exchange with a new token each time: `tid=1`, `tid=2`, … Expiry is relative to `start`.
#[derive(Debug)]
pub struct SequencedExchange {
    pub start: u64,
    pub lifetime: u64,
    pub refresh_in: u64,
    pub served: AtomicUsize,
    pub delay: Duration,
    /// When set (a `ManualClock`), expiry is relative to its reading at request time instead of `start`.
    pub clock: Option<copilot_http::time::ManualClock>,
}

impl SequencedExchange {
    /// Expiry relative to `clock`'s reading at request time (see the `clock` field).
    pub fn clock(mut self, clock: &copilot_http::time::ManualClock) -> Self {
        self.clock = Some(clock.clone());
        self
    }

    pub fn new(start: u64) -> Self {
        SequencedExchange {
            start,
            lifetime: 1800,
            refresh_in: 1500,
            served: AtomicUsize::new(0),
            delay: Duration::ZERO,
            clock: None,
        }
    }
}

impl Respond for SequencedExchange {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        // Tokens are minted relative to the test's start: a paused clock has not moved while the request is in
        // flight, so `fetched_at` of token n is known to the test.
        let issued = self.clock.as_ref().map_or(self.start, |clock| {
            unix_seconds(copilot_http::time::Clock::now(clock))
        });
        let body = envelope(
            &token_string(&n.to_string(), issued + self.lifetime),
            issued + self.lifetime,
            self.refresh_in,
        );
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

/// A server whose exchange answers with `responder`, with the catch-all 500 behind it.
pub async fn exchange_server(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    mount_exchange(&server, responder).await;
    mount_catch_all(&server).await;
    server
}

/// A manager in `mode` for `provider` that exchanges with `server` over reqwest on `clock` and `sleep`.
pub fn reqwest_manager(
    server: &MockServer,
    mode: AuthMode,
    provider: Arc<dyn GitHubTokenProvider>,
    clock: impl Clock + 'static,
    sleep: impl Sleep + 'static,
) -> TokenManagerBuilder {
    let exchanger = exchanger(reqwest_transport(), host_for(server), clock, sleep);
    TokenManager::builder(exchanger, provider).mode(mode)
}

/// The provider of the fixed test GitHub token [`GH_TOKEN`].
pub fn static_token() -> Arc<dyn GitHubTokenProvider> {
    Arc::new(StaticGitHubToken::new(GH_TOKEN))
}

/// Runs `call(i)` for each `i` in `0..callers` as tasks that a barrier releases together; returns their
/// answers in order.
pub async fn all_at_once<F, Fut>(callers: usize, call: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(callers));
    let tasks: Vec<_> = (0..callers)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), call(i));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(callers);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// GitHub's 401 for a GitHub token it does not accept.
pub fn bad_credentials() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}))
}

/// The `tid` field of `manager`'s current Copilot token.
pub async fn tid(manager: &TokenManager) -> String {
    manager
        .get()
        .await
        .unwrap()
        .fields()
        .tid()
        .unwrap()
        .to_owned()
}

/// Mounts `responder` on the exchange path (the caller mounts the catch-all 500 last).
pub async fn mount_exchange(server: &MockServer, responder: impl Respond + 'static) {
    Mock::given(matchers::method("GET"))
        .and(matchers::path(EXCHANGE_PATH))
        .respond_with(responder)
        .mount(server)
        .await;
}

/// A server whose `path` rejects `ghu_expired` (401 Bad credentials) and answers `ghu_fresh` with `fresh`,
/// with the catch-all 500 behind it.
pub async fn rejecting_expired_server(path: &str, fresh: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::path(path))
        .and(matchers::header("authorization", "token ghu_expired"))
        .respond_with(bad_credentials())
        .mount(&server)
        .await;
    Mock::given(matchers::path(path))
        .and(matchers::header("authorization", "token ghu_fresh"))
        .respond_with(fresh)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    server
}

pub async fn mount_catch_all(server: &MockServer) {
    Mock::given(matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("catch-all: unexpected request"))
        .mount(server)
        .await;
}

pub async fn count(server: &MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

/// The plain reqwest transport (for tests on real time).
pub fn reqwest_transport() -> SharedTransport {
    SharedTransport::new(ReqwestTransport::new().unwrap())
}

/// A transport that performs requests on a separate, real-time runtime from inside `spawn_blocking`.
///
/// Under `start_paused` tokio advances time whenever the runtime is idle, including while it waits for a
/// socket; a running blocking task inhibits that, so exchanges take zero test time and reqwest's own timeouts
/// run on real time.
#[derive(Debug, Clone)]
pub struct OffRuntimeTransport {
    inner: ReqwestTransport,
}

fn io_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

#[async_trait]
impl HttpTransport for OffRuntimeTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            io_runtime().block_on(async move {
                let response = inner.send(request).await?;
                let (parts, body) = response.into_parts();
                let bytes = body.bytes().await?;
                Ok(http::Response::from_parts(
                    parts,
                    ResponseBody::from_bytes(bytes),
                ))
            })
        })
        .await
        .expect("the blocking request task panicked")
    }
}

pub fn paused_time_transport() -> SharedTransport {
    SharedTransport::new(OffRuntimeTransport {
        inner: ReqwestTransport::new().unwrap(),
    })
}

/// An exchanger with the test identity, a fast retry policy, and the given clock/sleep.
pub fn exchanger(
    transport: SharedTransport,
    host: GitHubHost,
    clock: impl Clock + 'static,
    sleep: impl Sleep + 'static,
) -> TokenExchanger {
    exchanger_builder(transport, host, clock, sleep).build()
}

/// [`exchanger`]'s settings, for a test that changes one.
pub fn exchanger_builder(
    transport: SharedTransport,
    host: GitHubHost,
    clock: impl Clock + 'static,
    sleep: impl Sleep + 'static,
) -> TokenExchangerBuilder {
    TokenExchanger::builder(transport, host)
        .identity(identity())
        .retry_policy(
            RetryPolicy::new()
                .max_attempts(3)
                .initial_backoff(Duration::from_millis(100))
                .jitter(false),
        )
        .clock(clock)
        .sleep(sleep)
}

/// A provider whose token can be rotated and that hands out a configured replacement on refresh.
#[derive(Debug, Default)]
pub struct RotatingProvider {
    pub current: Mutex<String>,
    pub replacement: Mutex<Option<String>>,
    pub token_calls: AtomicUsize,
    pub refresh_calls: AtomicUsize,
    pub rejected: Mutex<Vec<String>>,
}

impl RotatingProvider {
    pub fn new(current: &str, replacement: Option<&str>) -> Arc<Self> {
        Arc::new(RotatingProvider {
            current: Mutex::new(current.to_owned()),
            replacement: Mutex::new(replacement.map(str::to_owned)),
            ..Default::default()
        })
    }

    pub fn set_current(&self, token: &str) {
        *self.current.lock().unwrap() = token.to_owned();
    }
}

#[async_trait]
impl GitHubTokenProvider for RotatingProvider {
    async fn github_token(&self) -> Result<GitHubToken, TokenError> {
        self.token_calls.fetch_add(1, Ordering::SeqCst);
        Ok(GitHubToken::new(self.current.lock().unwrap().clone()))
    }

    async fn refresh_github_token(
        &self,
        rejected: &GitHubToken,
    ) -> Result<Option<GitHubToken>, TokenError> {
        self.refresh_calls.fetch_add(1, Ordering::SeqCst);
        self.rejected
            .lock()
            .unwrap()
            .push(rejected.expose_secret().to_owned());
        let replacement = self.replacement.lock().unwrap().clone();
        if let Some(fresh) = &replacement {
            self.set_current(fresh);
        }
        Ok(replacement.map(GitHubToken::new))
    }
}

/// Renders a received request for a snapshot: method, path, query, the identity/auth headers (Authorization
/// with its scheme kept and the credential redacted), and the body length.
pub fn request_shape(request: &Request) -> String {
    let mut lines = vec![format!("{} {}", request.method, request.url.path())];
    if let Some(query) = request.url.query() {
        lines.push(format!("query: {query}"));
    }
    let headers = &request.headers;
    for (name, value) in
        copilot_test_support::redacted_headers(headers, &["host", "content-length"])
    {
        lines.push(format!("{name}: {value}"));
    }
    lines.push(format!("body: {} bytes", request.body.len()));
    lines.join("\n")
}

/// The only request the server received.
pub async fn single_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}
