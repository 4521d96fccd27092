//! RedisStore against a real redis-server (started by `cargo xtask test`, URL in COPILOT_RS_TEST_REDIS_URL).

#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/token_store.rs"]
mod shared;

use std::sync::Arc;

use copilot_auth::{CredentialKey, TokenStore};
use copilot_store_core::store_error_of;
use copilot_store_redis::{EncryptionKey, RedisStore, StoreError};
use copilot_token::SharedTokenCache;
use fleet::{Backend, OpenFuture};

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

/// The credential rows of namespace `.1` on server `.0`: the sealed value in field `d` of each hash.
struct Rows(String, String);

impl Rows {
    fn key(&self, account: &str) -> String {
        format!("{}:cred:github.com/{account}", self.1)
    }
}

impl shared::SealedRows for Rows {
    async fn sealed(&self, account: &str) -> Vec<u8> {
        redis::cmd("HGET")
            .arg(self.key(account))
            .arg("d")
            .query_async(&mut raw_connection(&self.0).await)
            .await
            .unwrap()
    }

    async fn set_sealed(&self, account: &str, sealed: &[u8]) {
        let _: () = redis::cmd("HSET")
            .arg(self.key(account))
            .arg("d")
            .arg(sealed)
            .query_async(&mut raw_connection(&self.0).await)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_corrupt_or_undecryptable_row_is_a_typed_error_and_touches_no_other_row() {
    let Some((store, url, ns)) = store("corrupt").await else {
        return;
    };
    let wrong = RedisStore::connect(&url, &EncryptionKey::from_bytes([9; 32]))
        .await
        .unwrap()
        .namespace(ns.clone());
    let rotating = wrong.clone().previous_key(&fleet::test_key());
    let rows = Rows(url.clone(), ns);
    let bob_before = shared::a_corrupt_row_is_a_typed_error_and_touches_no_other_row(
        &store, &rows, &wrong, &rotating,
    )
    .await;

    // A row without a version is corrupt; with its version back, Bob loads again.
    let bob = CredentialKey::new("github.com", "bob");
    let mut raw = raw_connection(&url).await;
    let _: () = redis::cmd("HDEL")
        .arg(rows.key("bob"))
        .arg("v")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        store_error_of(&store.load(&bob).await.unwrap_err()),
        Some(StoreError::Corrupt { .. })
    ));
    let _: () = redis::cmd("HSET")
        .arg(rows.key("bob"))
        .arg("v")
        .arg(1)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(shared::SealedRows::sealed(&rows, "bob").await, bob_before);
    assert!(store.load(&bob).await.unwrap().is_some());
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

shared::token_store_tests!(store, BACKEND);

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
