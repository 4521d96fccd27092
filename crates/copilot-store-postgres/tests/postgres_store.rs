//! PostgresStore against a real PostgreSQL server (started by `cargo xtask test`, URL in
//! COPILOT_RS_TEST_POSTGRES_URL). Every test works in a schema of its own.

#[path = "../../copilot-store-redis/tests/support/fleet.rs"]
mod fleet;
#[path = "support/schema.rs"]
mod schema;
#[path = "../../copilot-store-redis/tests/support/token_store.rs"]
mod shared;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use copilot_auth::{AuthError, CredentialKey, TokenStore};
use copilot_store_core::store_error_of;
use copilot_store_postgres::{EncryptionKey, PostgresStore, StoreError};
use copilot_token::SharedTokenCache;
use fleet::{Backend, OpenFuture};
use schema::connect;
use shared::credential;
use sqlx::postgres::PgConnectOptions;

const URL_VAR: &str = "COPILOT_RS_TEST_POSTGRES_URL";

fn open(url: String, namespace: String, key: EncryptionKey) -> OpenFuture {
    Box::pin(async move {
        let store = connect(&url, &namespace, &key).await;
        let cache = store.copilot_cache(fleet::IDENTITY);
        (
            Arc::new(store) as Arc<dyn TokenStore>,
            Arc::new(cache) as Arc<dyn SharedTokenCache>,
        )
    })
}

const BACKEND: Backend = Backend {
    name: "postgres",
    url_var: URL_VAR,
    open,
};

async fn store(test: &str) -> Option<(PostgresStore, String, String)> {
    let url = fleet::service_url(URL_VAR, test)?;
    let schema = fleet::fresh_namespace(test);
    let store = connect(&url, &schema, &fleet::test_key()).await;
    Some((store, url, schema))
}

async fn raw_sealed(store: &PostgresStore, account: &str) -> Vec<u8> {
    let (sealed,): (Vec<u8>,) =
        sqlx::query_as("SELECT sealed FROM copilot_credentials WHERE account = $1")
            .bind(account)
            .fetch_one(store.pool())
            .await
            .unwrap();
    sealed
}

async fn set_sealed(store: &PostgresStore, account: &str, sealed: &[u8]) {
    sqlx::query("UPDATE copilot_credentials SET sealed = $2 WHERE account = $1")
        .bind(account)
        .bind(sealed)
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn migrations_are_idempotent_and_credentials_round_trip_encrypted_with_versions() {
    let Some((store, _url, _schema)) = store("round_trip").await else {
        return;
    };
    store.migrate().await.unwrap();
    shared::a_saved_credential_loads_at_version_one(&store).await;
    shared::assert_sealed_credential(&raw_sealed(&store, "alice").await);
    shared::compare_and_set_lets_only_the_current_writer_win(&store).await;
}

#[tokio::test]
async fn concurrent_compare_and_set_writers_never_lose_an_update() {
    let Some((store, _url, _schema)) = store("cas_counter").await else {
        return;
    };
    shared::concurrent_compare_and_set_writers_never_lose_an_update(Arc::new(store)).await;
}

#[tokio::test]
async fn a_corrupt_or_undecryptable_row_is_a_typed_error_and_touches_no_other_row() {
    let Some((store, url, schema)) = store("corrupt").await else {
        return;
    };
    let alice = CredentialKey::new("github.com", "alice");
    let bob = CredentialKey::new("github.com", "bob");
    store.save(&alice, &credential("ghu_alice")).await.unwrap();
    store.save(&bob, &credential("ghu_bob")).await.unwrap();
    let bob_before = raw_sealed(&store, "bob").await;

    set_sealed(
        &store,
        "alice",
        b"\x01not a sealed value at all, just bytes",
    )
    .await;
    let error = store.load(&alice).await.unwrap_err();
    assert!(matches!(error, AuthError::Store(_)), "{error:?}");
    assert!(
        matches!(store_error_of(&error), Some(StoreError::Undecryptable { record }) if record.contains("alice")),
        "{error:?}"
    );
    // Bob's sealed value moved onto alice's row does not open there.
    set_sealed(&store, "alice", &bob_before).await;
    assert!(matches!(
        store_error_of(&store.load(&alice).await.unwrap_err()),
        Some(StoreError::Undecryptable { .. })
    ));
    // Another key reads nothing, unless it keeps the old one as a previous key.
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let wrong = PostgresStore::connect_with(options, &EncryptionKey::from_bytes([9; 32]))
        .await
        .unwrap();
    assert!(matches!(
        store_error_of(&wrong.load(&bob).await.unwrap_err()),
        Some(StoreError::Undecryptable { .. })
    ));
    assert!(
        wrong
            .previous_key(&fleet::test_key())
            .load(&bob)
            .await
            .unwrap()
            .is_some()
    );

    assert_eq!(raw_sealed(&store, "bob").await, bob_before);
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
    store
        .save(&alice, &credential("ghu_alice_again"))
        .await
        .unwrap();
    assert!(store.load(&alice).await.unwrap().is_some());
}

#[tokio::test]
async fn the_refresh_lease_is_exclusive_and_runs_out() {
    let Some((store, _url, _schema)) = store("refresh_lease").await else {
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
    let Some((store, _url, _schema)) = store("copilot_cache").await else {
        return;
    };
    let cache = store.copilot_cache("github.com/alice");
    shared::the_shared_copilot_cache_publishes_and_leases(
        &cache,
        &store.copilot_cache("github.com/bob"),
    )
    .await;

    let (sealed,): (Vec<u8>,) = sqlx::query_as("SELECT sealed FROM copilot_tokens")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!sealed.windows(5).any(|w| w == b"tid=1"));
    sqlx::query("UPDATE copilot_tokens SET sealed = 'garbage'")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(
        cache.load().await.unwrap().is_none(),
        "unreadable is a miss"
    );
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

    let Some((store, _, _)) = store("api_key_directory_meets_the_contract").await else {
        return;
    };
    let pool = store.pool().clone();
    let plant = move |digest: ApiKeyDigest, sealed: Vec<u8>| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query("INSERT INTO copilot_api_keys (digest, record) VALUES ($1, $2)")
                .bind(digest.as_bytes().as_slice())
                .bind(sealed)
                .execute(&pool)
                .await
                .unwrap();
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    api_key_directory_contract(&store, Some(&plant), &Sealer::new(&fleet::test_key())).await;
}
