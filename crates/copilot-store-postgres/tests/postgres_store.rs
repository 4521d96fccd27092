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

use copilot_auth::TokenStore;
use copilot_store_postgres::{EncryptionKey, PostgresStore};
use copilot_token::SharedTokenCache;
use fleet::{Backend, OpenFuture};
use schema::connect;
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

impl shared::SealedRows for PostgresStore {
    async fn sealed(&self, account: &str) -> Vec<u8> {
        let (sealed,): (Vec<u8>,) =
            sqlx::query_as("SELECT sealed FROM copilot_credentials WHERE account = $1")
                .bind(account)
                .fetch_one(self.pool())
                .await
                .unwrap();
        sealed
    }

    async fn set_sealed(&self, account: &str, sealed: &[u8]) {
        sqlx::query("UPDATE copilot_credentials SET sealed = $2 WHERE account = $1")
            .bind(account)
            .bind(sealed)
            .execute(self.pool())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_credentials_round_trip_encrypted_with_versions() {
    let Some((store, _url, _schema)) = store("round_trip").await else {
        return;
    };
    store.migrate().await.unwrap();
    shared::a_saved_credential_loads_at_version_one(&store).await;
    shared::assert_sealed_credential(&shared::SealedRows::sealed(&store, "alice").await);
    shared::compare_and_set_lets_only_the_current_writer_win(&store).await;
}

#[tokio::test]
async fn a_corrupt_or_undecryptable_row_is_a_typed_error_and_touches_no_other_row() {
    let Some((store, url, schema)) = store("corrupt").await else {
        return;
    };
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let wrong = PostgresStore::connect_with(options, &EncryptionKey::from_bytes([9; 32]))
        .await
        .unwrap();
    let rotating = wrong.clone().previous_key(&fleet::test_key());
    shared::a_corrupt_row_is_a_typed_error_and_touches_no_other_row(
        &store, &store, &wrong, &rotating,
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

shared::token_store_tests!(store, BACKEND);

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
