//! Token manager figures, against the mock process's real exchange endpoint:
//!
//! - cached lookup (`TokenManager::get` on a warm cache), 1 task and 1,000 contending tasks, against the limit
//!   of a `std::sync::RwLock<Arc<_>>` read + `Arc` clone;
//! - 10,000 concurrent callers at the refresh deadline: exchanges counted by a counting transport in front of
//!   reqwest (goal: exactly 1), and the time until all are served. The deadline is reached by advancing an
//!   injected `ManualClock` past the token's `refresh_in`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use copilot_http::time::ManualClock;
use copilot_http::{HttpTransport, ResponseBody, SharedTransport, TransportError};
use copilot_token::{AuthMode, StaticGitHubToken, TokenExchanger, TokenManager};

use super::{Settings, mock_host, mock_token_manager, reqwest_transport};
use crate::BenchError;
use crate::mock::MockProcess;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

const CONTENDING_TASKS: usize = 1_000;
const STAMPEDE_CALLERS: usize = 10_000;

/// Something whose cached value is read: the manager or the limit.
#[derive(Clone)]
enum Lookup {
    Manager(TokenManager),
    Limit(Arc<RwLock<Arc<String>>>),
}

impl Lookup {
    async fn get(&self) -> Result<(), BenchError> {
        match self {
            Lookup::Manager(manager) => {
                std::hint::black_box(
                    manager
                        .get()
                        .await
                        .map_err(|e| BenchError::contender("token", e))?,
                );
            }
            Lookup::Limit(lock) => {
                let value = lock.read().map(|guard| Arc::clone(&guard)).ok();
                std::hint::black_box(value);
            }
        }
        Ok(())
    }

    /// Nanoseconds per call over `calls` calls from one task.
    async fn uncontended(&self, calls: usize) -> Result<f64, BenchError> {
        let started = Instant::now();
        for _ in 0..calls {
            self.get().await?;
        }
        Ok(started.elapsed().as_nanos() as f64 / calls as f64)
    }

    /// Wall-clock nanoseconds per call with `CONTENDING_TASKS` tasks making `calls` calls each.
    async fn contended(&self, calls: usize) -> Result<f64, BenchError> {
        let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDING_TASKS + 1));
        let tasks: Vec<_> = (0..CONTENDING_TASKS)
            .map(|_| {
                let lookup = self.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    for _ in 0..calls {
                        lookup.get().await?;
                    }
                    Ok::<_, BenchError>(())
                })
            })
            .collect();
        barrier.wait().await;
        let started = Instant::now();
        for task in tasks {
            task.await
                .map_err(|e| BenchError::contender("token", e))??;
        }
        Ok(started.elapsed().as_nanos() as f64 / (calls * CONTENDING_TASKS) as f64)
    }
}

/// Counts requests to the exchange endpoint, then forwards them.
#[derive(Debug)]
struct CountingTransport {
    inner: SharedTransport,
    exchanges: Arc<AtomicUsize>,
}

#[async_trait]
impl HttpTransport for CountingTransport {
    async fn send(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        if request.uri().path().ends_with("/copilot_internal/v2/token") {
            self.exchanges.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.send(request).await
    }
}

/// Cached lookup rows (1 task, 1,000 tasks).
pub async fn run_cached(
    report: &mut Report,
    settings: Settings,
    mock: &MockProcess,
) -> Result<(), BenchError> {
    let manager = mock_token_manager(mock, reqwest_transport()?)?;
    manager
        .get()
        .await
        .map_err(|e| BenchError::contender("token", e))?;
    let token = manager
        .get()
        .await
        .map_err(|e| BenchError::contender("token", e))?;
    let lookups = [
        Lookup::Manager(manager),
        Lookup::Limit(Arc::new(RwLock::new(Arc::new(format!(
            "{:?}",
            token.expires_at()
        ))))),
    ];
    let rounds = settings.pick(5, 15);
    let calls = settings.pick(100_000, 300_000);
    let contended_calls = settings.pick(100, 300);
    let mut single = [Samples::new(), Samples::new()];
    let mut contended = [Samples::new(), Samples::new()];
    for (_, which) in interleaved(rounds, 2) {
        single[which].push(lookups[which].uncontended(calls).await?);
        contended[which].push(lookups[which].contended(contended_calls).await?);
    }
    let ratio = single[0].median() / single[1].median();
    report.row(Row {
        name: "cached token lookup, 1 task (ns per get)".into(),
        ours: format!("{} ns", single[0].display(1)),
        baselines: format!(
            "RwLock<Arc> read+clone (limit): {} ns",
            single[1].display(1)
        ),
        ratio: format!("{ratio:.1}× limit"),
        goal: "< 100 ns".into(),
        verdict: Verdict::from_bool(single[0].median() < 100.0),
    });
    report.row(Row {
        name: format!("cached token lookup, {CONTENDING_TASKS} contending tasks (wall ns per get)"),
        ours: format!("{} ns", contended[0].display(1)),
        baselines: format!(
            "RwLock<Arc> read+clone (limit): {} ns",
            contended[1].display(1)
        ),
        ratio: format!(
            "{:.1}× limit",
            contended[0].median() / contended[1].median()
        ),
        goal: "(none set)".into(),
        verdict: Verdict::NoGoal,
    });
    Ok(())
}

/// One stampede: a fresh manager warmed at "now", the clock moved past its refresh time, then
/// `STAMPEDE_CALLERS` concurrent `get()`s. Returns (exchanges during the stampede, failures, elapsed).
async fn stampede(mock: &MockProcess) -> Result<(usize, usize, Duration), BenchError> {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let transport = SharedTransport::new(CountingTransport {
        inner: reqwest_transport()?,
        exchanges: exchanges.clone(),
    });
    let clock = ManualClock::new(SystemTime::now());
    let exchanger = TokenExchanger::builder(transport, mock_host(mock)?)
        .clock(clock.clone())
        .build();
    let manager = TokenManager::builder(
        exchanger,
        Arc::new(StaticGitHubToken::new(mock.github_token.clone())),
    )
    .mode(AuthMode::Exchange)
    .build();
    manager
        .get()
        .await
        .map_err(|e| BenchError::contender("token", e))?;
    let refresh_at = manager.next_refresh_at().ok_or_else(|| {
        BenchError::contender("token", "no refresh time after the first exchange")
    })?;
    let wait = refresh_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    clock.advance(wait + Duration::from_secs(1));
    let before = exchanges.load(Ordering::SeqCst);
    let barrier = Arc::new(tokio::sync::Barrier::new(STAMPEDE_CALLERS + 1));
    let tasks: Vec<_> = (0..STAMPEDE_CALLERS)
        .map(|_| {
            let manager = manager.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                manager.get().await.is_ok()
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut failures = 0;
    for task in tasks {
        if !task.await.unwrap_or(false) {
            failures += 1;
        }
    }
    let elapsed = started.elapsed();
    Ok((exchanges.load(Ordering::SeqCst) - before, failures, elapsed))
}

/// The expiry stampede row.
pub async fn run_stampede(
    report: &mut Report,
    settings: Settings,
    mock: &MockProcess,
) -> Result<(), BenchError> {
    let rounds = settings.pick(2, 5);
    let mut times = Samples::new();
    let mut counts = Vec::new();
    let mut failures = 0;
    for _ in 0..rounds {
        let (count, failed, elapsed) = stampede(mock).await?;
        counts.push(count);
        failures += failed;
        times.push(elapsed.as_secs_f64() * 1e3);
    }
    let all_one = counts.iter().all(|&c| c == 1) && failures == 0;
    report.row(Row {
        name: format!("{STAMPEDE_CALLERS} concurrent callers at token expiry"),
        ours: format!(
            "exchanges per round: {counts:?}; all served in {} ms; failures: {failures}",
            times.display(1)
        ),
        baselines: "–".into(),
        ratio: "–".into(),
        goal: "exactly 1 exchange".into(),
        verdict: Verdict::from_bool(all_one),
    });
    Ok(())
}
