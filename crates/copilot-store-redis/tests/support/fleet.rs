//! A fleet of real processes sharing one store, against copilot-mock: the cross-instance tests of both store
//! crates (the PostgreSQL tests include this file by path).
//!
//! The parent test starts the mock in-process, signs a user in with the device flow (a GitHub App with
//! expiring `ghu_` tokens and `ghr_` refresh tokens), stores the credential as already expired, then runs the
//! test binary again as N worker processes (`<worker test> --ignored --exact`). Each worker opens the store,
//! builds a `TokenManager` whose GitHub token comes from `get_or_refresh` on the store and whose Copilot
//! tokens go through the store's shared cache, reports `READY`, waits for `GO` on stdin, and lets its
//! callers ask for a Copilot token all at once. The parent counts what reached the mock.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use copilot_auth::{
    CredentialKey, DeviceFlow, RefreshOptions, StoredCredential, TokenRefresher, TokenStore,
    get_or_refresh_with,
};
use copilot_http::{GitHubHost, SharedTransport};
use copilot_mock::{
    DeviceOutcome, DeviceScenario, Endpoint, Fault, FaultRule, MockClient, MockConfig, MockServer,
};
use copilot_store_core::EncryptionKey;
use copilot_token::{
    AuthMode, GitHubTokenProvider, SharedCacheOptions, SharedTokenCache, TokenError,
    TokenExchanger, TokenManager,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use url::Url;

/// The GitHub App the fleet's user signed in with: allow-listed for the exchange, expiring tokens.
pub const CLIENT_ID: &str = "Iv1.f1ee7f1ee7f1ee70";
pub const ACCOUNT: &str = "octocat";
pub const IDENTITY: &str = "mock/octocat";

/// A store crate under test: how a worker process opens it.
pub struct Backend {
    /// `redis` or `postgres`.
    pub name: &'static str,
    /// The environment variable xtask sets to the server's URL.
    pub url_var: &'static str,
    /// Opens the store (namespace `ns`, sealing with `key`): the token store and the fleet user's cache.
    pub open: fn(String, String, EncryptionKey) -> OpenFuture,
}

pub type OpenFuture =
    Pin<Box<dyn Future<Output = (Arc<dyn TokenStore>, Arc<dyn SharedTokenCache>)> + Send>>;

/// The server URL from xtask, or `None` after a loud skip message. With `CI=true` a missing server fails.
pub fn service_url(var: &str, test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(var)
        && !url.is_empty()
    {
        return Some(url);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "{var} is not set and CI=true: run the tests with `cargo xtask test`, which starts the server"
    );
    eprintln!(
        "\n!!!!!!!!!! SKIPPED {test}: {var} is not set. Run `cargo xtask test` (or \
         `cargo xtask services cargo nextest run ...`) to start the server. !!!!!!!!!!\n"
    );
    None
}

/// A namespace of its own for every test, so tests share one server without seeing each other.
pub fn fresh_namespace(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t{}_{}_{nanos}", std::process::id(), test.replace('-', "_"))
}

pub fn test_key() -> EncryptionKey {
    EncryptionKey::from_bytes(*b"copilot-rs fleet test key 32 by!")
}

pub fn mock_host(server: &MockServer) -> GitHubHost {
    GitHubHost::custom(
        Url::parse(server.github_web_url()).unwrap(),
        Url::parse(server.github_api_url()).unwrap(),
        Url::parse(server.copilot_api_url()).unwrap(),
    )
}

pub fn credential_key() -> CredentialKey {
    CredentialKey::new("mock", ACCOUNT)
}

/// The mock with the fleet's GitHub App and instant device-flow approval.
pub async fn start_mock() -> MockServer {
    MockServer::start(
        MockConfig::new()
            .client(
                MockClient::github_app(CLIENT_ID)
                    .expiring_tokens(true)
                    .allow_listed(true),
            )
            .device(
                DeviceScenario::new()
                    .interval(0)
                    .outcome(DeviceOutcome::ApproveAfterPolls(0)),
            ),
    )
    .await
}

/// Signs the user in with the device flow and stores the credential as already expired, so the fleet's
/// first need is a refresh (single-use `ghr_`) and then an exchange.
pub async fn sign_in_expired(server: &MockServer, store: &dyn TokenStore) -> StoredCredential {
    let flow = DeviceFlow::new(mock_host(server), CLIENT_ID)
        .transport(SharedTransport::default_reqwest().unwrap());
    let code = flow.start().await.unwrap();
    let response = flow.wait(&code).await.unwrap();
    assert!(
        response.refresh_token.is_some(),
        "an expiring GitHub App token"
    );
    let mut credential =
        StoredCredential::from_token_response("mock", Some(CLIENT_ID.into()), &response);
    credential.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
    store.save(&credential_key(), &credential).await.unwrap();
    credential
}

/// Exchanges seen by the mock, and refresh grants.
pub fn exchanges(server: &MockServer) -> usize {
    server.requests_to(Endpoint::CopilotToken).len()
}

pub fn refreshes(server: &MockServer) -> usize {
    server
        .requests_to(Endpoint::AccessToken)
        .iter()
        .filter(|r| r.body_text().contains("grant_type=refresh_token"))
        .count()
}

/// A GitHub token provider over the store: `get_or_refresh` (single-flight across processes through the
/// store's refresh lease).
#[derive(Debug)]
struct StoreProvider {
    store: Arc<dyn TokenStore>,
    refresher: TokenRefresher,
    options: RefreshOptions,
}

#[async_trait]
impl GitHubTokenProvider for StoreProvider {
    async fn github_token(&self) -> Result<copilot_auth::GitHubToken, TokenError> {
        get_or_refresh_with(
            self.store.as_ref(),
            &credential_key(),
            &self.refresher,
            &self.options,
        )
        .await
        .map_err(TokenError::github_token_unavailable)
    }
}

/// Says `EXCHANGE_SENT` on stdout as each exchange request leaves, so the parent knows when to kill.
#[derive(Debug)]
struct AnnouncingTransport(SharedTransport, Arc<std::sync::atomic::AtomicUsize>);

#[async_trait]
impl copilot_http::HttpTransport for AnnouncingTransport {
    async fn send(
        &self,
        request: copilot_http::HttpRequest,
    ) -> Result<copilot_http::HttpResponse, copilot_http::TransportError> {
        if request.uri().path().ends_with("/copilot_internal/v2/token") {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            println!("EXCHANGE_SENT");
        }
        self.0.send(request).await
    }
}

/// One worker process, as the parent starts it.
pub struct Worker {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

/// What a worker reports.
#[derive(Debug, Default)]
pub struct Report {
    /// Copilot token `tid` → callers that got it.
    pub tids: BTreeMap<String, usize>,
    pub errors: Vec<String>,
    /// Exchange requests this process sent.
    pub exchanges_sent: usize,
}

pub struct FleetConfig<'a> {
    pub worker_test: &'a str,
    pub server: &'a MockServer,
    pub url: &'a str,
    pub namespace: &'a str,
    pub callers: usize,
    pub lease_ttl: Duration,
}

impl Worker {
    pub async fn spawn(config: &FleetConfig<'_>) -> Worker {
        let exe = std::env::current_exe().unwrap();
        let mut child = tokio::process::Command::new(exe)
            .args([
                config.worker_test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FLEET_WORKER", "1")
            .env("FLEET_URL", config.url)
            .env("FLEET_NAMESPACE", config.namespace)
            .env("FLEET_WEB", config.server.github_web_url())
            .env("FLEET_API", config.server.github_api_url())
            .env("FLEET_COPILOT", config.server.copilot_api_url())
            .env("FLEET_CALLERS", config.callers.to_string())
            .env(
                "FLEET_LEASE_TTL_MS",
                config.lease_ttl.as_millis().to_string(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Worker {
            child,
            stdin,
            lines,
        }
    }

    /// Waits for the worker's `READY` line.
    pub async fn ready(&mut self) {
        self.expect_line("READY").await;
    }

    async fn expect_line(&mut self, prefix: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("the worker did not say {prefix} in time"))
                .unwrap()
                .unwrap_or_else(|| panic!("the worker exited before saying {prefix}"));
            // libtest writes `test <name> ... ` before the test's own output, without a newline.
            if let Some(at) = line.find(prefix) {
                return line[at + prefix.len()..].trim().to_owned();
            }
        }
    }

    /// Waits until the worker has sent an exchange request.
    pub async fn exchange_sent(&mut self) {
        self.expect_line("EXCHANGE_SENT").await;
    }

    pub async fn go(&mut self) {
        self.stdin.write_all(b"GO\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    pub async fn report(&mut self) -> Report {
        let json: serde_json::Value =
            serde_json::from_str(&self.expect_line("RESULT").await).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "the worker failed: {status}");
        Report {
            tids: serde_json::from_value(json["tids"].clone()).unwrap(),
            errors: serde_json::from_value(json["errors"].clone()).unwrap(),
            exchanges_sent: serde_json::from_value(json["exchanges_sent"].clone()).unwrap(),
        }
    }

    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

/// The worker side: runs only when the parent started this process (`FLEET_WORKER`).
pub async fn worker(backend: &Backend) {
    if std::env::var("FLEET_WORKER").is_err() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let host = GitHubHost::custom(
        Url::parse(&var("FLEET_WEB")).unwrap(),
        Url::parse(&var("FLEET_API")).unwrap(),
        Url::parse(&var("FLEET_COPILOT")).unwrap(),
    );
    let callers: usize = var("FLEET_CALLERS").parse().unwrap();
    let lease_ttl = Duration::from_millis(var("FLEET_LEASE_TTL_MS").parse().unwrap());
    let (store, cache) = (backend.open)(var("FLEET_URL"), var("FLEET_NAMESPACE"), test_key()).await;
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let transport = SharedTransport::new(AnnouncingTransport(
        SharedTransport::default_reqwest().unwrap(),
        sent.clone(),
    ));
    let provider = StoreProvider {
        store,
        refresher: TokenRefresher::new(host.clone(), CLIENT_ID).transport(transport.clone()),
        options: RefreshOptions::new().lease_ttl(lease_ttl),
    };
    let manager = TokenManager::builder(TokenExchanger::new(transport, host), Arc::new(provider))
        .mode(AuthMode::Exchange)
        .shared_cache(
            cache,
            SharedCacheOptions::new()
                .lease_ttl(lease_ttl)
                .poll_interval(Duration::from_millis(20)),
        )
        .build();

    println!("READY {}", std::process::id());
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let line = stdin.next_line().await.unwrap().unwrap_or_default();
    assert_eq!(line.trim(), "GO");

    let barrier = Arc::new(tokio::sync::Barrier::new(callers));
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let manager = manager.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                manager
                    .get()
                    .await
                    .map(|t| t.fields().tid().unwrap_or("?").to_owned())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut tids: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(tid) => *tids.entry(tid).or_default() += 1,
            Err(e) => errors.push(e),
        }
    }
    println!(
        "RESULT {}",
        serde_json::json!({
            "tids": tids,
            "errors": errors,
            "exchanges_sent": sent.load(std::sync::atomic::Ordering::SeqCst),
        })
    );
}

/// 3 processes × 1,000 callers on one user whose GitHub token and Copilot token are both due: exactly one
/// refresh and one exchange reach the mock, and every caller gets the same Copilot token.
pub async fn one_refresh_and_one_exchange_for_a_fleet(
    backend: &Backend,
    url: &str,
    worker_test: &str,
    processes: usize,
    callers: usize,
) {
    let server = start_mock().await;
    let namespace = fresh_namespace(backend.name);
    let (store, _) = (backend.open)(url.to_owned(), namespace.clone(), test_key()).await;
    let signed_in = sign_in_expired(&server, store.as_ref()).await;
    server.clear_requests();
    // A slow exchange: everyone is waiting while the one holder works.
    server.set_fault(
        FaultRule::new(
            Endpoint::CopilotToken,
            Fault::Latency(Duration::from_millis(300)),
        )
        .times(1),
    );

    let config = FleetConfig {
        worker_test,
        server: &server,
        url,
        namespace: &namespace,
        callers,
        lease_ttl: Duration::from_secs(30),
    };
    let mut workers = Vec::new();
    for _ in 0..processes {
        workers.push(Worker::spawn(&config).await);
    }
    for worker in &mut workers {
        worker.ready().await;
    }
    for worker in &mut workers {
        worker.go().await;
    }
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for worker in &mut workers {
        let report = worker.report().await;
        assert!(
            report.errors.is_empty(),
            "callers failed: {:?}",
            report.errors
        );
        assert!(report.exchanges_sent <= 1);
        for (tid, n) in report.tids {
            *all.entry(tid).or_default() += n;
        }
    }
    assert_eq!(
        all.len(),
        1,
        "every caller got the same Copilot token: {all:?}"
    );
    assert_eq!(all.values().sum::<usize>(), processes * callers);
    assert_eq!(
        refreshes(&server),
        1,
        "exactly one refresh of the single-use ghr_ token"
    );
    assert_eq!(exchanges(&server), 1, "exactly one Copilot token exchange");

    // The rotated pair is what the store now holds.
    let stored = store.load(&credential_key()).await.unwrap().unwrap();
    assert_ne!(
        stored.access_token.expose_secret(),
        signed_in.access_token.expose_secret()
    );
    assert!(!stored.is_expired(SystemTime::now()));
    server.shutdown().await;
}

/// A process that holds the exchange lease dies mid-exchange (SIGKILL while the mock stalls its request):
/// after the lease's TTL another process takes over, exchanges, and every waiting process gets that token.
pub async fn a_killed_lease_holder_is_replaced(backend: &Backend, url: &str, worker_test: &str) {
    let server = start_mock().await;
    let namespace = fresh_namespace(backend.name);
    let (store, _) = (backend.open)(url.to_owned(), namespace.clone(), test_key()).await;
    sign_in_expired(&server, store.as_ref()).await;
    server.clear_requests();
    // The first exchange hangs far beyond the lease; later ones are normal.
    server.set_fault(
        FaultRule::new(
            Endpoint::CopilotToken,
            Fault::Latency(Duration::from_secs(600)),
        )
        .times(1),
    );
    let lease_ttl = Duration::from_secs(2);
    let config = FleetConfig {
        worker_test,
        server: &server,
        url,
        namespace: &namespace,
        callers: 50,
        lease_ttl,
    };

    let mut doomed = Worker::spawn(&config).await;
    doomed.ready().await;
    // Before the doomed worker can take any lease: nobody may take it over sooner than a TTL after this.
    let go_at = Instant::now();
    doomed.go().await;
    doomed.exchange_sent().await;
    // It refreshed the GitHub token and now holds the exchange lease, stuck in the request.
    assert_eq!(refreshes(&server), 1);
    doomed.kill().await;
    // Its stalled request may not have reached the mock yet: make sure no survivor inherits the stall.
    server.clear_fault(Endpoint::CopilotToken);

    let mut survivors = Vec::new();
    for _ in 0..2 {
        survivors.push(Worker::spawn(&config).await);
    }
    for worker in &mut survivors {
        worker.ready().await;
    }
    for worker in &mut survivors {
        worker.go().await;
    }
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    let mut sent = 0;
    for worker in &mut survivors {
        let report = worker.report().await;
        assert!(
            report.errors.is_empty(),
            "callers failed: {:?}",
            report.errors
        );
        sent += report.exchanges_sent;
        for (tid, n) in report.tids {
            *all.entry(tid).or_default() += n;
        }
    }
    assert_eq!(
        sent, 1,
        "one survivor took the lease over and exchanged; the other used its token"
    );
    assert_eq!(all.len(), 1, "the survivors share one token: {all:?}");
    assert!(
        go_at.elapsed() >= lease_ttl,
        "the survivors waited for the dead holder's lease to run out"
    );
    assert_eq!(
        refreshes(&server),
        1,
        "the survivors used the refreshed token from the store"
    );
    server.shutdown().await;
}
