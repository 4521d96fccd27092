//! Load and soak: many concurrent streaming sessions against the mock over loopback, with fixed request
//! counts and a deadline, so the run always stops by itself. Afterwards the process is checked for leaks:
//! tasks still alive on the runtime (tokio's stable `num_alive_tasks`), sockets still open
//! (`/proc/self/fd`), and resident memory compared with the baseline.
//!
//! A session is one `CopilotApiClient` user turn after another: `requests_per_session` streamed chat
//! completions read to the end. All sessions share one transport and one `TokenManager` (the real exchange
//! against the mock), like a server handling many conversations for one identity.
//!
//! With [`Route::Gateway`] the same sessions go through `copilot-serve` instead: a [`Gateway`] started in
//! this process for the round (upstream: a `CopilotClient` doing the real exchange against the mock), the
//! sessions' `CopilotApiClient` pointed at its `/v1` with the gateway's key. The gateway's connection tasks and
//! sockets (both sides: callers and upstream) live in this process, so the leak checks cover them; it is shut
//! down (draining) at the end of the round, before the counts are taken.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use copilot_api::{ApiError, ChatEvent, ChatRequest, CopilotApiClient, Message, StaticAuth};
use copilot_http::{GitHubHost, ReqwestTransport, SharedTransport};
use copilot_sdk::CopilotClient;
use copilot_serve::{ApiKeys, Gateway, RunningGateway, ServeConfig, Upstream};
use copilot_token::{AuthMode, StaticGitHubToken, TokenExchanger, TokenManager};
use futures_util::StreamExt;
use tokio::task::JoinSet;

use crate::BenchError;
use crate::probe;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Concurrent sessions.
    pub sessions: usize,
    /// Streamed requests per session, one after another.
    pub requests_per_session: usize,
    /// Content chunks per answer (`long answer N`, ~500 bytes each).
    pub chunks: usize,
    /// The whole run is abandoned (sessions aborted, counted as timed out) after this long.
    pub deadline: Duration,
    /// How long to wait, after everything is dropped, for sockets and tasks to close.
    pub settle: Duration,
    /// Straight to the mock, or through an in-process gateway.
    pub route: Route,
}

/// Which way the sessions' requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// `CopilotApiClient` → the mock.
    #[default]
    Direct,
    /// `CopilotApiClient` → `copilot-serve` (in this process) → the mock.
    Gateway,
}

/// The key the in-process gateway accepts.
const GATEWAY_KEY: &str = "sk-load-gateway-0123456789abcdef";

impl LoadConfig {
    /// `sessions` sessions of `requests_per_session` requests, 20-chunk answers, 5-minute deadline, 10 s settle.
    pub fn new(sessions: usize, requests_per_session: usize) -> Self {
        LoadConfig {
            sessions,
            requests_per_session,
            chunks: 20,
            deadline: Duration::from_secs(300),
            settle: Duration::from_secs(10),
            route: Route::Direct,
        }
    }
}

/// Where the mock is.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    /// The mock as a GitHub host (web, REST and Copilot API bases).
    pub host: GitHubHost,
    /// A GitHub token the mock exchanges for Copilot tokens.
    pub github_token: String,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct LoadOutcome {
    /// Requests that streamed to the end.
    pub completed: usize,
    /// Requests that failed, by error variant (all typed: `ApiError`).
    pub failed: BTreeMap<String, usize>,
    /// Sessions that had not finished when the deadline passed (aborted).
    pub timed_out_sessions: usize,
    /// Sessions that panicked (should be 0).
    pub panicked_sessions: usize,
    /// Content bytes received.
    pub content_bytes: usize,
    /// Time from the first request to the last session's end.
    pub elapsed: Duration,
    /// Tasks alive on the runtime before the run and after it had settled (`None` without runtime metrics).
    pub tasks_before_after: Option<(usize, usize)>,
    /// Open sockets before the run and after it had settled.
    pub sockets_before_after: Option<(usize, usize)>,
    /// Peak open sockets seen while the sessions ran (sampled once per finished session).
    pub sockets_peak: usize,
    /// RSS before, at the end of the sessions, and after everything was dropped.
    pub rss_before_peak_after: Option<(u64, u64, u64)>,
}

impl LoadOutcome {
    /// Requests that failed.
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }

    /// Completed requests per second.
    pub fn requests_per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// Tasks alive after minus before (0 = nothing leaked).
    pub fn leaked_tasks(&self) -> Option<isize> {
        self.tasks_before_after
            .map(|(before, after)| after as isize - before as isize)
    }

    /// Sockets open after minus before (0 = nothing leaked).
    pub fn leaked_sockets(&self) -> Option<isize> {
        self.sockets_before_after
            .map(|(before, after)| after as isize - before as isize)
    }
}

impl fmt::Display for LoadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "completed requests: {} in {:.2} s ({:.0} requests/s, {:.1} MB content)",
            self.completed,
            self.elapsed.as_secs_f64(),
            self.requests_per_second(),
            self.content_bytes as f64 / 1e6
        )?;
        writeln!(
            f,
            "failed requests: {} {:?}",
            self.failed_total(),
            self.failed
        )?;
        writeln!(
            f,
            "sessions timed out: {}, panicked: {}",
            self.timed_out_sessions, self.panicked_sessions
        )?;
        if let Some((before, after)) = self.tasks_before_after {
            writeln!(f, "runtime tasks alive: {before} before, {after} after")?;
        }
        if let Some((before, after)) = self.sockets_before_after {
            writeln!(
                f,
                "open sockets: {before} before, peak {}, {after} after",
                self.sockets_peak
            )?;
        }
        if let Some((before, peak, after)) = self.rss_before_peak_after {
            writeln!(
                f,
                "RSS: {:.1} MiB before, {:.1} MiB at the end of the sessions, {:.1} MiB after dropping",
                probe::mib(before),
                probe::mib(peak),
                probe::mib(after)
            )?;
        }
        Ok(())
    }
}

/// The variant name of an error (`RateLimited`, `Transport`, …) for counting.
fn variant(error: &ApiError) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("Unknown")
        .to_owned()
}

async fn session(
    client: CopilotApiClient,
    requests: usize,
    prompt: Arc<str>,
) -> Vec<Result<usize, ApiError>> {
    let mut results = Vec::with_capacity(requests);
    for _ in 0..requests {
        let turn = async {
            let request = ChatRequest::new("gpt-4.1", vec![Message::user(&*prompt)]);
            let mut stream = client.chat_stream(request).await?;
            let mut content = 0;
            while let Some(event) = stream.next().await {
                if let ChatEvent::Content { text, .. } = event? {
                    content += text.len();
                }
            }
            Ok(content)
        };
        results.push(turn.await);
    }
    results
}

/// `copilot-serve` on a free loopback port, its upstream a `CopilotClient` of the mock's user on a transport
/// of its own.
async fn start_gateway(target: &LoadTarget) -> Result<RunningGateway, BenchError> {
    let fail = |e: &dyn fmt::Display| BenchError::contender("gateway", e);
    let upstream_transport = SharedTransport::new(ReqwestTransport::new().map_err(|e| fail(&e))?);
    let upstream = CopilotClient::builder()
        .host(target.host.clone())
        .github_token(target.github_token.clone())
        .use_logged_in_user(false)
        .transport(upstream_transport)
        .build()
        .map_err(|e| fail(&e))?;
    let keys = ApiKeys::single(GATEWAY_KEY).map_err(|e| fail(&e))?;
    let config = ServeConfig::new(keys).bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    Gateway::new(config, Upstream::Client(upstream))
        .map_err(|e| fail(&e))?
        .start()
        .await
        .map_err(|e| fail(&e))
}

/// Runs the sessions, then waits (at most `config.settle`) for sockets and tasks to return to the baseline.
/// Call inside a tokio runtime.
pub async fn run_load(config: &LoadConfig, target: &LoadTarget) -> Result<LoadOutcome, BenchError> {
    let mut outcome = LoadOutcome::default();
    let tasks_before = probe::alive_tasks();
    let sockets_before = probe::open_sockets();
    let rss_before = probe::rss_bytes();
    {
        let transport = SharedTransport::new(
            ReqwestTransport::new().map_err(|e| BenchError::contender("load", e))?,
        );
        let mut gateway = None;
        let client = match config.route {
            Route::Direct => {
                let exchanger = TokenExchanger::new(transport.clone(), target.host.clone());
                let manager = TokenManager::builder(
                    exchanger,
                    Arc::new(StaticGitHubToken::new(target.github_token.clone())),
                )
                .mode(AuthMode::Exchange)
                .build();
                CopilotApiClient::builder(manager).transport(transport)
            }
            Route::Gateway => {
                let running = start_gateway(target).await?;
                let base = format!("{}/v1", running.base_url())
                    .parse()
                    .map_err(|e| BenchError::contender("gateway", e))?;
                gateway = Some(running);
                CopilotApiClient::builder(StaticAuth::new(GATEWAY_KEY, base)).transport(transport)
            }
        }
        .build()
        .map_err(|e| BenchError::contender("load", e))?;
        let prompt: Arc<str> = format!("long answer {}", config.chunks).into();
        let started = Instant::now();
        let mut sessions = JoinSet::new();
        for _ in 0..config.sessions {
            sessions.spawn(session(
                client.clone(),
                config.requests_per_session,
                prompt.clone(),
            ));
        }
        let deadline = tokio::time::Instant::now() + config.deadline;
        let mut finished = 0;
        loop {
            match tokio::time::timeout_at(deadline, sessions.join_next()).await {
                Ok(Some(Ok(results))) => {
                    finished += 1;
                    for result in results {
                        match result {
                            Ok(content) => {
                                outcome.completed += 1;
                                outcome.content_bytes += content;
                            }
                            Err(error) => *outcome.failed.entry(variant(&error)).or_default() += 1,
                        }
                    }
                    if let Some(now) = probe::open_sockets() {
                        outcome.sockets_peak = outcome.sockets_peak.max(now);
                    }
                }
                Ok(Some(Err(_join_error))) => {
                    finished += 1;
                    outcome.panicked_sessions += 1;
                }
                Ok(None) => break,
                Err(_elapsed) => {
                    outcome.timed_out_sessions = config.sessions - finished;
                    sessions.shutdown().await;
                    break;
                }
            }
        }
        outcome.elapsed = started.elapsed();
        let rss_peak = probe::rss_bytes();
        drop(client);
        if let Some(gateway) = gateway {
            gateway
                .shutdown()
                .await
                .map_err(|e| BenchError::contender("gateway", e))?;
        }
        if let (Some(before), Some(peak)) = (rss_before, rss_peak) {
            outcome.rss_before_peak_after = Some((before, peak, peak));
        }
    }
    // Connections close asynchronously once the pool is dropped: poll until back at the baseline or the
    // settle time is over (not a timing assertion: the counts are what is reported).
    let settle_until = Instant::now() + config.settle;
    loop {
        let tasks_ok = tasks_before
            .zip(probe::alive_tasks())
            .is_none_or(|(before, now)| now <= before);
        let sockets_ok = sockets_before
            .zip(probe::open_sockets())
            .is_none_or(|(before, now)| now <= before);
        if (tasks_ok && sockets_ok) || Instant::now() >= settle_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outcome.tasks_before_after = tasks_before.zip(probe::alive_tasks());
    outcome.sockets_before_after = sockets_before.zip(probe::open_sockets());
    if let (Some((before, peak, _)), Some(after)) =
        (outcome.rss_before_peak_after, probe::rss_bytes())
    {
        outcome.rss_before_peak_after = Some((before, peak, after));
    }
    Ok(outcome)
}
