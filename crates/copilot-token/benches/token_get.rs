//! The cached fast path of `TokenManager::get()`: one task, and 1,000 tasks contending for it.
//!
//! The exchange is answered in memory (no network); after the first call every `get()` is a cache hit, which
//! is what is measured. The contended figure is wall time per call with 1,000 tasks calling concurrently on a
//! two-worker runtime.

// criterion_group! generates an undocumented `pub fn benches`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use copilot_http::time::unix_seconds;
use copilot_http::{FnTransport, GitHubHost, ResponseBody, SharedTransport};
use copilot_token::{AuthMode, StaticGitHubToken, TokenExchanger, TokenManager};
use criterion::{Criterion, criterion_group, criterion_main};

const TASKS: u64 = 1000;

fn warm_manager(runtime: &tokio::runtime::Runtime) -> TokenManager {
    let transport = SharedTransport::new(FnTransport::new(|_request| async {
        let expires_at = unix_seconds(SystemTime::now()) + 86_400;
        let body = serde_json::json!({
            "token": format!("tid=bench;exp={expires_at};sku=copilot_individual:mac"),
            "expires_at": expires_at,
            "refresh_in": 80_000,
            "endpoints": {"api": "https://api.individual.githubcopilot.com"}
        });
        Ok(http::Response::new(ResponseBody::from_bytes(
            serde_json::to_vec(&body).unwrap(),
        )))
    }));
    let exchanger = TokenExchanger::new(transport, GitHubHost::github_com());
    let manager = TokenManager::builder(exchanger, Arc::new(StaticGitHubToken::new("gho_bench")))
        .mode(AuthMode::Exchange)
        .build();
    runtime.block_on(manager.get()).expect("the first exchange");
    manager
}

fn bench_get(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let manager = warm_manager(&runtime);
    let mut group = c.benchmark_group("token_manager_get");

    group.bench_function("cached_1_task", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(manager.get().await.unwrap()) })
    });

    group.bench_function("cached_1000_contending_tasks_per_call", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize + 1));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let manager = manager.clone();
                        let barrier = barrier.clone();
                        tokio::spawn(async move {
                            barrier.wait().await;
                            for _ in 0..iters {
                                black_box(manager.get().await.unwrap());
                            }
                        })
                    })
                    .collect();
                barrier.wait().await;
                let started = Instant::now();
                for task in tasks {
                    task.await.unwrap();
                }
                // `iters` calls per task, TASKS tasks: report wall time per call.
                started.elapsed() / TASKS as u32
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_get
}
criterion_main!(benches);
