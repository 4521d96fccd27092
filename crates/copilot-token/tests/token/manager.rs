//! TokenManager: deadline, single-flight, invalidate-compare, GitHub-token refresh, background refresher.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use copilot_http::retry::RetryPolicy;
use copilot_http::time::{ManualClock, RecordingSleep, TokioClock, TokioSleep};
use copilot_token::{AuthMode, StaticGitHubToken, TokenError, TokenExchanger, TokenManager};
use secrecy::ExposeSecret;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use super::support::*;

fn exchange_manager(exchanger: TokenExchanger) -> TokenManager {
    TokenManager::builder(exchanger, Arc::new(StaticGitHubToken::new(GH_TOKEN)))
        .mode(AuthMode::Exchange)
        .build()
}

/// An exchange-mode manager for [`GH_TOKEN`] against `server` over reqwest, on `clock` and `sleep`.
fn manager_on(
    server: &MockServer,
    clock: impl copilot_http::time::Clock + 'static,
    sleep: impl copilot_http::time::Sleep + 'static,
) -> TokenManager {
    reqwest_manager(server, AuthMode::Exchange, static_token(), clock, sleep).build()
}

/// An exchange-mode manager for `provider` against `server` over reqwest, on a manual clock at `t0()`.
fn provider_manager(
    server: &MockServer,
    provider: Arc<dyn copilot_token::GitHubTokenProvider>,
) -> TokenManager {
    reqwest_manager(
        server,
        AuthMode::Exchange,
        provider,
        ManualClock::new(t0()),
        TokioSleep,
    )
    .build()
}

/// An exchange-mode manager against `server` on paused tokio time, its clock starting at `t0()`.
fn paused_manager(server: &MockServer) -> TokenManager {
    let clock = TokioClock::starting_at(t0());
    exchange_manager(exchanger(
        paused_time_transport(),
        host_for(server),
        clock,
        TokioSleep,
    ))
}

/// A server that mints `tid=1`, `tid=2`, … and a manager on a paused-time clock starting at `t0()`.
async fn paused_setup(responder: SequencedExchange) -> (MockServer, TokenManager) {
    let server = exchange_server(responder).await;
    // Created after the server so that its start-up does not move the test clock.
    let manager = paused_manager(&server);
    (server, manager)
}

#[tokio::test(start_paused = true)]
async fn refresh_happens_at_the_refresh_in_deadline_and_not_before() {
    let (server, manager) = paused_setup(SequencedExchange::new(T0)).await;

    assert_eq!(tid(&manager).await, "1");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 1);
    // min(fetched_at + 1500, expires_at (t0 + 1800) - 60) = t0 + 1500
    assert_eq!(
        manager.next_refresh_at(),
        Some(t0() + Duration::from_secs(1500))
    );

    tokio::time::sleep(Duration::from_secs(1499)).await;
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        1,
        "no refresh before the deadline"
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tid(&manager).await, "2");
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        2,
        "refresh at the deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_happens_at_expiry_minus_skew_when_that_is_earlier() {
    let mut responder = SequencedExchange::new(T0);
    responder.lifetime = 600;
    let (server, manager) = paused_setup(responder).await;

    assert_eq!(tid(&manager).await, "1");
    assert_eq!(
        manager.next_refresh_at(),
        Some(t0() + Duration::from_secs(540))
    );
    tokio::time::sleep(Duration::from_secs(539)).await;
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tid(&manager).await, "2");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_at_expiry_cause_one_exchange() {
    let server = MockServer::start().await;
    let clock = ManualClock::new(t0());
    let mut responder = SequencedExchange::new(T0).clock(&clock);
    // A slow exchange keeps the refresh in flight while the callers pile up.
    responder.delay = Duration::from_millis(100);
    mount_exchange(&server, responder).await;
    mount_catch_all(&server).await;
    let manager = manager_on(&server, clock.clone(), TokioSleep);

    assert_eq!(tid(&manager).await, "1");
    clock.advance(Duration::from_secs(1501));

    let answers = all_at_once(1000, |i| {
        let manager = manager.clone();
        async move {
            if i % 2 == 0 {
                tid(&manager).await
            } else {
                let credentials = manager.credentials().await.unwrap();
                copilot_token::TokenFields::parse(credentials.bearer.expose_secret())
                    .tid()
                    .unwrap()
                    .to_owned()
            }
        }
    })
    .await;
    assert!(answers.iter().all(|tid| tid == "2"), "{answers:?}");
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        2,
        "one initial exchange and exactly one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_queued_behind_a_failed_attempt_share_its_error() {
    let server = MockServer::start().await;
    mount_exchange(
        &server,
        ResponseTemplate::new(500)
            .set_body_string("boom")
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    mount_catch_all(&server).await;
    let manager = manager_on(&server, ManualClock::new(t0()), RecordingSleep::new());
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let manager = manager.clone();
            tokio::spawn(async move { manager.credentials().await })
        })
        .collect();
    for caller in callers {
        let error = caller.await.unwrap().unwrap_err();
        assert!(
            matches!(error, TokenError::Http { status: 500, .. }),
            "{error:?}"
        );
    }
    // One attempt (three tries with retries), not one per caller.
    assert_eq!(count(&server, EXCHANGE_PATH).await, 3);
}

#[tokio::test]
async fn invalidate_clears_only_the_credentials_that_failed() {
    let server = exchange_server(SequencedExchange::new(T0)).await;
    let manager = manager_on(&server, ManualClock::new(t0()), TokioSleep);

    let first = manager.credentials().await.unwrap();
    let first_token = manager.get().await.unwrap();
    // Another task saw a 401 with `first` and refreshed already.
    let second = manager.force_refresh(Some(&first)).await.unwrap();
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
    // A late force_refresh for the same stale credentials does not exchange again.
    let again = manager.force_refresh(Some(&first)).await.unwrap();
    assert_eq!(again.tag, second.tag);
    assert_eq!(again.bearer.expose_secret(), second.bearer.expose_secret());
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);

    // This task's 401 arrives late: the fresh token survives.
    assert!(!manager.invalidate(&first));
    assert!(!manager.invalidate_token(&first_token));
    assert_eq!(tid(&manager).await, "2");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);

    // The current one fails: cleared, and the next call exchanges.
    assert!(manager.invalidate(&second));
    assert!(manager.next_refresh_at().is_none());
    assert_eq!(tid(&manager).await, "3");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 3);
    assert!(!manager.invalidate(&second), "already replaced");

    let third = manager.get().await.unwrap();
    assert!(manager.invalidate_token(&third));
    assert_eq!(tid(&manager).await, "4");
}

#[tokio::test]
async fn a_rejected_github_token_is_refreshed_through_the_provider_once() {
    let server = rejecting_expired_server(EXCHANGE_PATH, SequencedExchange::new(T0)).await;
    let provider = RotatingProvider::new("ghu_expired", Some("ghu_fresh"));
    let manager = provider_manager(&server, provider.clone());

    assert_eq!(tid(&manager).await, "1");
    assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *provider.rejected.lock().unwrap(),
        vec!["ghu_expired".to_owned()]
    );
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
    // Cached now: no more provider or server traffic.
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(provider.token_calls.load(Ordering::SeqCst), 1);
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
}

#[tokio::test]
async fn without_a_replacement_a_rejected_github_token_means_sign_in_again() {
    let server = MockServer::start().await;
    for replacement in [None, Some("ghu_also_bad")] {
        server.reset().await;
        mount_exchange(&server, bad_credentials()).await;
        mount_catch_all(&server).await;
        let provider = RotatingProvider::new("ghu_bad", replacement);
        let manager = provider_manager(&server, provider.clone());
        let error = manager.credentials().await.unwrap_err();
        assert!(error.requires_sign_in(), "{error:?}");
        assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1);
        let expected = if replacement.is_some() { 2 } else { 1 };
        assert_eq!(count(&server, EXCHANGE_PATH).await, expected);
    }
}

#[tokio::test]
async fn the_provider_is_asked_for_the_github_token_before_every_exchange() {
    let clock = ManualClock::new(t0());
    let server = exchange_server(SequencedExchange::new(T0).clock(&clock)).await;
    let provider = RotatingProvider::new("ghu_first", None);
    let manager = reqwest_manager(
        &server,
        AuthMode::Exchange,
        provider.clone(),
        clock.clone(),
        TokioSleep,
    )
    .build();

    manager.get().await.unwrap();
    // The provider refreshed its expiring GitHub App token in the meantime.
    provider.set_current("ghu_second");
    clock.advance(Duration::from_secs(1500));
    manager.get().await.unwrap();

    let authorizations: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(authorizations, ["token ghu_first", "token ghu_second"]);
}

#[tokio::test]
async fn a_still_valid_token_is_served_while_the_refresh_fails_transiently() {
    let server = MockServer::start().await;
    let clock = ManualClock::new(t0());
    let responder = SequencedExchange::new(T0).clock(&clock);
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(responder)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_exchange(&server, ResponseTemplate::new(503)).await;
    mount_catch_all(&server).await;
    let manager = manager_on(&server, clock.clone(), RecordingSleep::new());

    assert_eq!(tid(&manager).await, "1");
    clock.advance(Duration::from_secs(1501));
    assert_eq!(tid(&manager).await, "1", "still valid until t0 + 1800");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 4);
    // It is retried a few seconds later, not on every call.
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 4);

    clock.advance(Duration::from_secs(300));
    let error = manager.get().await.unwrap_err();
    assert!(
        matches!(error, TokenError::Http { status: 503, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn background_refresher_refreshes_at_the_deadline_and_stops() {
    let (server, manager) = paused_setup(SequencedExchange::new(T0)).await;
    let handle = manager.spawn_background_refresh();

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&server, EXCHANGE_PATH).await, 1, "fetched at start");
    tokio::time::sleep(Duration::from_secs(1497)).await;
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        1,
        "nothing before the deadline"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        2,
        "refreshed at the deadline without a caller"
    );
    // The callers' path is served from the cache.
    assert_eq!(tid(&manager).await, "2");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);

    handle.shutdown().await;
    tokio::time::sleep(Duration::from_secs(10_000)).await;
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        2,
        "no refresh after stop"
    );
}

#[tokio::test(start_paused = true)]
async fn background_refresher_retries_with_backoff_and_ends_with_the_manager() {
    let server = MockServer::start().await;
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    mount_exchange(&server, SequencedExchange::new(T0)).await;
    mount_catch_all(&server).await;
    let manager = paused_manager(&server);
    let handle = manager.spawn_background_refresh_with(
        RetryPolicy::new()
            .initial_backoff(Duration::from_secs(2))
            .jitter(false),
    );

    // First attempt: three tries (0.1 s + 0.2 s backoff) fail; the refresher waits 2 s and tries again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&server, EXCHANGE_PATH).await, 3);
    assert!(manager.next_refresh_at().is_none());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count(&server, EXCHANGE_PATH).await, 4);
    assert!(manager.next_refresh_at().is_some());

    drop(manager);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(
        handle.is_finished(),
        "the refresher ends when the manager is dropped"
    );
}

/// The manager is the API client's `CopilotAuth` as it is (no adapter): the credentials carry their
/// generation as tag, and a rejection of credentials that were already replaced leaves the new ones alone.
#[tokio::test]
async fn the_manager_is_a_copilot_auth_source_keyed_by_its_generation_tag() {
    use copilot_token::CopilotAuth;
    let server = exchange_server(SequencedExchange::new(T0)).await;
    let manager = manager_on(&server, ManualClock::new(t0()), TokioSleep);
    let auth: Arc<dyn CopilotAuth> = Arc::new(manager.clone());

    let first = auth.credentials().await.unwrap();
    assert!(first.tag.is_some());
    assert_eq!(
        first.integration_id.as_deref(),
        Some("copilot-developer-cli")
    );
    auth.invalidate(&first).await;
    let second = auth.credentials().await.unwrap();
    assert_ne!(second.tag, first.tag);
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);

    // A late rejection of `first` (another request's) must not throw `second` away.
    auth.invalidate(&first).await;
    let still = auth.credentials().await.unwrap();
    assert_eq!(still.tag, second.tag);
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
}

/// A GitHub 401 on the exchange reaches a `CopilotAuth` caller as the typed "sign in again".
#[tokio::test]
async fn a_rejected_github_token_reaches_copilot_auth_callers_typed() {
    use copilot_token::{CopilotAuth, CredentialError};
    let server = MockServer::start().await;
    mount_exchange(&server, bad_credentials()).await;
    mount_catch_all(&server).await;
    let manager = manager_on(&server, ManualClock::new(t0()), TokioSleep);
    let error = CopilotAuth::credentials(&manager).await.unwrap_err();
    assert!(
        matches!(error, CredentialError::Rejected { .. }),
        "{error:?}"
    );
    assert!(error.requires_sign_in());
}

/// A manager on a clock the test moves, against a server whose first `failures` exchange requests answer 500
/// and whose later ones mint `tid=1`, `tid=2`, …
async fn failing_setup(failures: u64) -> (MockServer, ManualClock, TokenManager) {
    let server = MockServer::start().await;
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(failures)
        .mount(&server)
        .await;
    let clock = ManualClock::new(t0());
    mount_exchange(&server, SequencedExchange::new(T0).clock(&clock)).await;
    mount_catch_all(&server).await;
    let manager = manager_on(&server, clock.clone(), RecordingSleep::new());
    (server, clock, manager)
}

fn is_500(result: Result<copilot_token::CopilotCredentials, TokenError>) -> bool {
    matches!(result, Err(TokenError::Http { status: 500, .. }))
}

#[tokio::test]
async fn sequential_callers_after_a_failed_exchange_back_off() {
    // Three attempts of three tries each fail, then the server recovers.
    let (server, clock, manager) = failing_setup(9).await;
    for _ in 0..10 {
        assert!(is_500(manager.credentials().await));
    }
    // Ten sequential callers, one attempt: not ten.
    assert_eq!(count(&server, EXCHANGE_PATH).await, 3);

    clock.advance(Duration::from_millis(999));
    assert!(is_500(manager.credentials().await));
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        3,
        "inside the 1 s window"
    );
    clock.advance(Duration::from_millis(1));
    assert!(is_500(manager.credentials().await));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 6, "the window ended");

    // The second failure doubles the window to 2 s.
    clock.advance(Duration::from_millis(1999));
    assert!(is_500(manager.credentials().await));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 6);
    clock.advance(Duration::from_millis(1));
    assert!(is_500(manager.credentials().await));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 9);

    // After 4 s the server answers; the success is cached as usual.
    clock.advance(Duration::from_secs(4));
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 10);
}

#[tokio::test]
async fn the_failure_backoff_doubles_up_to_a_minute_and_a_success_resets_it() {
    // Eight failed attempts (three tries each), then the server recovers.
    let (server, clock, manager) = failing_setup(24).await;
    assert!(is_500(manager.credentials().await));
    // Each window ends to the millisecond: one attempt (three requests) right at its end, none before.
    let mut requests = 3;
    for window in [1, 2, 4, 8, 16, 32, 60] {
        for (step, sent) in [
            (Duration::from_millis(window * 1000 - 1), 0),
            (Duration::from_millis(1), 3),
        ] {
            clock.advance(step);
            assert!(is_500(manager.credentials().await));
            requests += sent;
            assert_eq!(
                count(&server, EXCHANGE_PATH).await,
                requests,
                "{window} s window"
            );
        }
    }
    // Capped: the eighth failure waits 60 s too, not 128.
    clock.advance(Duration::from_secs(59));
    assert!(is_500(manager.credentials().await));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 24);
    clock.advance(Duration::from_secs(1));
    assert_eq!(tid(&manager).await, "1");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 25);

    // The success reset the backoff: after the token expired, a new failure waits 1 s again.
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    clock.advance(Duration::from_secs(3600));
    assert!(is_500(manager.credentials().await));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 28);
    clock.advance(Duration::from_secs(1));
    assert_eq!(tid(&manager).await, "2");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 29);
}
