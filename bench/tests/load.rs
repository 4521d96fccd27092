//! A reduced load run inside the test suite: 200 concurrent streaming sessions against an in-process mock,
//! straight and through copilot-serve; every request completes, and no task or socket is left behind once the
//! client (and the gateway) and the mock are gone.

use std::time::Duration;

use copilot_bench::load::{LoadConfig, LoadTarget, Route, run_load};
use copilot_http::GitHubHost;
use copilot_mock::{MockConfig, MockServer};

/// The mock on a runtime of its own, so the task counts of the test's runtime are the client's alone.
struct MockThread {
    server: MockServer,
    runtime: Option<tokio::runtime::Runtime>,
}

impl MockThread {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start(MockConfig::new()));
        MockThread {
            server,
            runtime: Some(runtime),
        }
    }

    fn stop(mut self) {
        let runtime = self.runtime.take().unwrap();
        runtime.block_on(self.server.shutdown());
        runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_streaming_sessions_complete_without_leaks() {
    sessions_complete_without_leaks(Route::Direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_streaming_sessions_through_the_gateway_complete_without_leaks() {
    sessions_complete_without_leaks(Route::Gateway).await;
}

async fn sessions_complete_without_leaks(route: Route) {
    // The outer timeout only guarantees the test cannot hang; no assertion depends on speed.
    tokio::time::timeout(Duration::from_secs(120), async {
        let baseline_sockets = copilot_bench::probe::open_sockets();
        let mock = tokio::task::spawn_blocking(MockThread::start)
            .await
            .unwrap();
        let server = &mock.server;
        let target = LoadTarget {
            host: GitHubHost::custom(
                server.github_web_url().parse().unwrap(),
                server.github_api_url().parse().unwrap(),
                server.copilot_api_url().parse().unwrap(),
            ),
            github_token: server.mint_github_token(copilot_mock::DEFAULT_LOGIN),
        };
        let mut config = LoadConfig::new(200, 2);
        config.chunks = 10;
        config.route = route;
        let outcome = run_load(&config, &target).await.expect("load run");

        assert_eq!(outcome.completed, 400, "{outcome}");
        assert_eq!(outcome.failed_total(), 0, "{outcome}");
        assert_eq!(outcome.timed_out_sessions, 0, "{outcome}");
        assert_eq!(outcome.panicked_sessions, 0, "{outcome}");
        assert!(outcome.content_bytes > 0, "{outcome}");
        assert_eq!(outcome.leaked_tasks(), Some(0), "{outcome}");
        assert_eq!(outcome.leaked_sockets(), Some(0), "{outcome}");
        // One token exchange served every session (the gateway's upstream client's, on that route).
        assert_eq!(server.copilot_tokens_issued(), 1);

        tokio::task::spawn_blocking(move || mock.stop())
            .await
            .unwrap();
        // With the mock gone too, the process holds exactly the sockets it had before the test.
        let mut after = copilot_bench::probe::open_sockets();
        for _ in 0..250 {
            if after <= baseline_sockets {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            after = copilot_bench::probe::open_sockets();
        }
        assert_eq!(after, baseline_sockets);
    })
    .await
    .expect("the load test finished within its outer timeout");
}
