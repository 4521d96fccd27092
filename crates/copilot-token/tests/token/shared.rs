//! The shared Copilot-token cache protocol (`SharedTokenCache`), exercised with `InProcessTokenCache` by
//! several managers standing in for several processes. The Redis and PostgreSQL crates run the same protocol
//! across real processes in their own tests.

use std::sync::Arc;
use std::time::Duration;

use copilot_http::time::{ManualClock, TokioSleep};
use copilot_token::{
    AuthMode, CopilotToken, InProcessTokenCache, SharedCacheOptions, SharedCopilotToken,
    SharedTokenCache, StaticGitHubToken, TokenError, TokenManager,
};
use secrecy::ExposeSecret;
use wiremock::MockServer;

use super::support::*;

fn shared_manager(
    server: &MockServer,
    clock: &ManualClock,
    cache: &InProcessTokenCache,
    options: SharedCacheOptions,
) -> TokenManager {
    TokenManager::builder(
        exchanger(
            reqwest_transport(),
            host_for(server),
            Arc::new(clock.clone()),
            Arc::new(TokioSleep),
        ),
        Arc::new(StaticGitHubToken::new(GH_TOKEN)),
    )
    .mode(AuthMode::Exchange)
    .shared_cache(Arc::new(cache.clone()), options)
    .build()
}

async fn setup(delay: Duration) -> (MockServer, ManualClock) {
    let server = MockServer::start().await;
    let clock = ManualClock::new(t0());
    let mut responder = SequencedExchange::new(T0);
    responder.clock = Some(clock.clone());
    responder.delay = delay;
    mount_exchange(&server, responder).await;
    mount_catch_all(&server).await;
    (server, clock)
}

#[test]
fn the_envelope_survives_a_round_trip_through_its_shared_form() {
    let host = copilot_http::GitHubHost::github_com();
    let body = fixture("token_v2_business_seat_2026-03_redacted_by_author.json");
    let original = CopilotToken::from_json(&body, t0(), &host).unwrap();
    let shared = SharedCopilotToken::from_token(&original);
    assert!(!format!("{shared:?}").contains(original.secret().expose_secret()));
    let back =
        CopilotToken::from_json(shared.envelope.expose_secret().as_bytes(), t0(), &host).unwrap();

    assert_eq!(
        back.secret().expose_secret(),
        original.secret().expose_secret()
    );
    assert_eq!(back.expires_at(), original.expires_at());
    assert_eq!(back.refresh_in(), original.refresh_in());
    assert_eq!(back.fetched_at(), original.fetched_at());
    assert_eq!(back.base_url(), original.base_url());
    assert_eq!(back.endpoints(), original.endpoints());
    assert_eq!(back.sku(), original.sku());
    assert_eq!(back.chat_enabled(), original.chat_enabled());
    assert_eq!(back.organization_list(), original.organization_list());
    assert_eq!(back.user_notification(), original.user_notification());
    assert_eq!(back.limited_user_quotas(), original.limited_user_quotas());
    assert_eq!(back.extra(), original.extra());
    assert_eq!(back.fields(), original.fields());
    assert!(!back.extra().is_empty(), "the fixture has unknown fields");
}

#[test]
fn a_partially_decoded_envelope_keeps_every_field_in_its_shared_form() {
    let host = copilot_http::GitHubHost::github_com();
    let mut body = envelope(&token_string("7", T0 + 1800), T0 + 1800, 1500);
    body["chat_enabled"] = serde_json::json!("yes, a string");
    let original = CopilotToken::from_json(body.to_string().as_bytes(), t0(), &host).unwrap();
    assert!(original.is_partial());
    let shared = SharedCopilotToken::from_token(&original);
    let back =
        CopilotToken::from_json(shared.envelope.expose_secret().as_bytes(), t0(), &host).unwrap();
    assert!(back.is_partial());
    assert_eq!(back.extra(), original.extra());
    assert_eq!(back.extra()["chat_enabled"], "yes, a string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_managers_sharing_a_cache_exchange_once_at_expiry() {
    let (server, clock) = setup(Duration::from_millis(100)).await;
    let cache = InProcessTokenCache::new();
    let managers: Vec<TokenManager> = (0..3)
        .map(|_| shared_manager(&server, &clock, &cache, SharedCacheOptions::new()))
        .collect();

    for manager in &managers {
        assert_eq!(tid(manager).await, "1");
    }
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        1,
        "one exchange for all three"
    );

    clock.advance(Duration::from_secs(1501));
    let answers = all_at_once(900, |i| {
        let manager = managers[i % 3].clone();
        async move { tid(&manager).await }
    })
    .await;
    assert!(answers.iter().all(|tid| tid == "2"), "{answers:?}");
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        2,
        "exactly one refresh among three managers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_api_rejected_is_not_taken_from_the_cache_again() {
    let (server, clock) = setup(Duration::ZERO).await;
    let cache = InProcessTokenCache::new();
    let a = shared_manager(&server, &clock, &cache, SharedCacheOptions::new());
    let b = shared_manager(&server, &clock, &cache, SharedCacheOptions::new());
    assert_eq!(tid(&a).await, "1");
    assert_eq!(tid(&b).await, "1");

    let rejected = a.credentials().await.unwrap();
    assert!(a.invalidate(&rejected));
    assert_eq!(
        tid(&a).await,
        "2",
        "a fresh exchange, not the rejected token"
    );
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);

    // B's own copy is not due yet; once it forces a refresh past tid 1 it finds A's tid 2 without exchanging.
    let b_credentials = b.credentials().await.unwrap();
    b.force_refresh(Some(&b_credentials)).await.unwrap();
    assert_eq!(tid(&b).await, "2");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_holder_vanished_is_taken_over_after_its_ttl() {
    let (server, clock) = setup(Duration::ZERO).await;
    let cache = InProcessTokenCache::new();
    // A "process" that took the lease and died: nobody will publish or release.
    let leased_at = std::time::Instant::now();
    let abandoned = cache
        .try_lease(Duration::from_millis(300))
        .await
        .unwrap()
        .expect("the lease is free");
    let manager = shared_manager(
        &server,
        &clock,
        &cache,
        SharedCacheOptions::new().poll_interval(Duration::from_millis(20)),
    );

    assert_eq!(tid(&manager).await, "1");
    assert!(
        leased_at.elapsed() >= Duration::from_millis(300),
        "it waited for the abandoned lease to run out"
    );
    assert_eq!(count(&server, EXCHANGE_PATH).await, 1);
    // The dead holder's late release does not end anyone else's lease (the manager already published).
    cache.release(&abandoned).await.unwrap();
    assert!(cache.load().await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_holder_is_bounded_and_typed() {
    let (server, clock) = setup(Duration::ZERO).await;
    let cache = InProcessTokenCache::new();
    let _held = cache.try_lease(Duration::from_secs(60)).await.unwrap();
    let manager = shared_manager(
        &server,
        &clock,
        &cache,
        SharedCacheOptions::new()
            .poll_interval(Duration::from_millis(10))
            .max_wait(Duration::ZERO),
    );
    // The manager's clock does not move, so max_wait 0 means: one look, one try, then give up.
    let error = manager.get().await.unwrap_err();
    assert!(matches!(error, TokenError::SharedCache(_)), "{error:?}");
    assert_eq!(count(&server, EXCHANGE_PATH).await, 0);
}
