//! RedisStore against a real redis-server (started by `cargo xtask test`, URL in COPILOT_RS_TEST_REDIS_URL).

#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/token_store.rs"]
mod shared;

use std::sync::Arc;
use std::time::Duration;

use copilot_auth::{AuthError, CredentialKey, TokenStore};
use copilot_store_core::store_error_of;
use copilot_store_redis::{EncryptionKey, RedisStore, StoreError};
use copilot_token::SharedTokenCache;
use fleet::{Backend, OpenFuture};
use shared::credential;

const URL_VAR: &str = "COPILOT_RS_TEST_REDIS_URL";

fn open(url: String, namespace: String, key: EncryptionKey) -> OpenFuture {
    Box::pin(async move {
        let store = RedisStore::connect(&url, &key)
            .await
            .expect("connect to redis")
            .namespace(namespace);
        let cache = store.copilot_cache(fleet::IDENTITY);
        (
            Arc::new(store) as Arc<dyn TokenStore>,
            Arc::new(cache) as Arc<dyn SharedTokenCache>,
        )
    })
}

const BACKEND: Backend = Backend {
    name: "redis",
    url_var: URL_VAR,
    open,
};

/// A store in a namespace of its own: the store, the server URL and the namespace.
async fn store(test: &str) -> Option<(RedisStore, String, String)> {
    let url = fleet::service_url(URL_VAR, test)?;
    let namespace = fleet::fresh_namespace(test);
    let store = RedisStore::connect(&url, &fleet::test_key())
        .await
        .unwrap()
        .namespace(namespace.clone());
    Some((store, url, namespace))
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn raw_keys(url: &str, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut raw_connection(url).await)
        .await
        .unwrap()
}

#[tokio::test]
async fn credentials_round_trip_encrypted_with_versions() {
    let Some((store, url, ns)) = store("round_trip").await else {
        return;
    };
    shared::a_saved_credential_loads_at_version_one(&store).await;

    // Nothing readable at rest: not the token, not the refresh token.
    let keys = raw_keys(&url, &format!("{ns}:*")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let raw: Vec<u8> = redis::cmd("HGET")
        .arg(&keys[0])
        .arg("d")
        .query_async(&mut raw_connection(&url).await)
        .await
        .unwrap();
    shared::assert_sealed_credential(&raw);

    shared::compare_and_set_lets_only_the_current_writer_win(&store).await;
}

#[tokio::test]
async fn concurrent_compare_and_set_writers_never_lose_an_update() {
    let Some((store, _url, _ns)) = store("cas_counter").await else {
        return;
    };
    shared::concurrent_compare_and_set_writers_never_lose_an_update(Arc::new(store)).await;
}

#[tokio::test]
async fn a_corrupt_or_undecryptable_row_is_a_typed_error_and_touches_no_other_row() {
    let Some((store, url, ns)) = store("corrupt").await else {
        return;
    };
    let alice = CredentialKey::new("github.com", "alice");
    let bob = CredentialKey::new("github.com", "bob");
    store.save(&alice, &credential("ghu_alice")).await.unwrap();
    store.save(&bob, &credential("ghu_bob")).await.unwrap();
    let mut raw = raw_connection(&url).await;
    let bob_before: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{ns}:cred:github.com/bob"))
        .arg("d")
        .query_async(&mut raw)
        .await
        .unwrap();

    // 1. Garbage in alice's row.
    let _: () = redis::cmd("HSET")
        .arg(format!("{ns}:cred:github.com/alice"))
        .arg("d")
        .arg(b"\x01not a sealed value at all, just bytes".as_slice())
        .query_async(&mut raw)
        .await
        .unwrap();
    let error = store.load(&alice).await.unwrap_err();
    assert!(matches!(error, AuthError::Store(_)), "{error:?}");
    assert!(
        matches!(store_error_of(&error), Some(StoreError::Undecryptable { record }) if record.contains("alice")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("ghu_"));

    // 2. Bob's sealed value copied onto alice's row does not open there (it is bound to bob's record).
    let _: () = redis::cmd("HSET")
        .arg(format!("{ns}:cred:github.com/alice"))
        .arg("d")
        .arg(bob_before.as_slice())
        .query_async(&mut raw)
        .await
        .unwrap();
    let error = store.load(&alice).await.unwrap_err();
    assert!(matches!(
        store_error_of(&error),
        Some(StoreError::Undecryptable { .. })
    ));

    // 3. Another key cannot read anything.
    let wrong = RedisStore::connect(&url, &EncryptionKey::from_bytes([9; 32]))
        .await
        .unwrap()
        .namespace(ns.clone());
    assert!(matches!(
        store_error_of(&wrong.load(&bob).await.unwrap_err()),
        Some(StoreError::Undecryptable { .. })
    ));
    // ...unless it keeps the old one as a previous key (rotation).
    let rotating = wrong.previous_key(&fleet::test_key());
    assert!(rotating.load(&bob).await.unwrap().is_some());

    // 4. A row without a version is corrupt.
    let _: () = redis::cmd("HDEL")
        .arg(format!("{ns}:cred:github.com/bob"))
        .arg("v")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        store_error_of(&store.load(&bob).await.unwrap_err()),
        Some(StoreError::Corrupt { .. })
    ));
    let _: () = redis::cmd("HSET")
        .arg(format!("{ns}:cred:github.com/bob"))
        .arg("v")
        .arg(1)
        .query_async(&mut raw)
        .await
        .unwrap();

    // Bob's row is as it was, and still loads; alice's broken row was not rewritten by any of it.
    let bob_after: Vec<u8> = redis::cmd("HGET")
        .arg(format!("{ns}:cred:github.com/bob"))
        .arg("d")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(bob_before, bob_after);
    assert_eq!(
        store
            .load(&bob)
            .await
            .unwrap()
            .unwrap()
            .access_token
            .expose_secret(),
        "ghu_bob"
    );
    // Signing alice in again repairs her row.
    store
        .save(&alice, &credential("ghu_alice_again"))
        .await
        .unwrap();
    assert!(store.load(&alice).await.unwrap().is_some());
}

#[tokio::test]
async fn the_refresh_lease_is_exclusive_and_runs_out() {
    let Some((store, _url, _ns)) = store("refresh_lease").await else {
        return;
    };
    shared::the_refresh_lease_is_exclusive_and_runs_out(
        &store.clone().lease_wait(Duration::from_millis(300)),
        &store.lease_wait(Duration::from_secs(5)),
    )
    .await;
}

#[tokio::test]
async fn the_shared_copilot_cache_publishes_and_leases() {
    let Some((store, url, ns)) = store("copilot_cache").await else {
        return;
    };
    let cache = store.copilot_cache("github.com/alice");
    shared::the_shared_copilot_cache_publishes_and_leases(
        &cache,
        &store.copilot_cache("github.com/bob"),
    )
    .await;

    // The entry expires with the token, and is sealed.
    let mut raw = raw_connection(&url).await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{ns}:copilot:github.com/alice"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!((1_700_000..=1_800_000).contains(&ttl), "{ttl}");
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(format!("{ns}:copilot:github.com/alice"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!sealed.windows(5).any(|w| w == b"tid=1"));
    // An unreadable entry is a miss (the next publish repairs it), not an error.
    let _: () = redis::cmd("SET")
        .arg(format!("{ns}:copilot:github.com/alice"))
        .arg("garbage")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(cache.load().await.unwrap().is_none());
}

/// The fleet's worker process (started by the fleet tests, never on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process of the fleet tests; they start it"]
async fn fleet_worker() {
    fleet::worker(&BACKEND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_by_a_thousand_callers_refresh_once_and_exchange_once() {
    let Some(url) = fleet::service_url(URL_VAR, "fleet") else {
        return;
    };
    fleet::one_refresh_and_one_exchange_for_a_fleet(&BACKEND, &url, "fleet_worker", 3, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_holder_killed_mid_exchange_is_replaced() {
    let Some(url) = fleet::service_url(URL_VAR, "killed_holder") else {
        return;
    };
    fleet::a_killed_lease_holder_is_replaced(&BACKEND, &url, "fleet_worker").await;
}

#[tokio::test]
async fn api_key_directory_meets_the_contract() {
    use copilot_store_core::Sealer;
    use copilot_store_core::api_keys::{ApiKeyDigest, api_key_directory_contract};

    let Some((store, url, namespace)) = store("api_key_directory_meets_the_contract").await else {
        return;
    };
    let field = format!("{namespace}:apikeys");
    let plant = move |digest: ApiKeyDigest, sealed: Vec<u8>| {
        let (url, field) = (url.clone(), field.clone());
        Box::pin(async move {
            let _: () = redis::cmd("HSET")
                .arg(&field)
                .arg(digest.to_hex())
                .arg(sealed)
                .query_async(&mut raw_connection(&url).await)
                .await
                .unwrap();
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    api_key_directory_contract(&store, Some(&plant), &Sealer::new(&fleet::test_key())).await;
}
