//! RedisSessionStore against a real redis-server (started by `cargo xtask test`, URL in
//! COPILOT_RS_TEST_REDIS_URL): copilot-sdk's session-store contract, sealing at rest, corrupt records, and
//! locks of crashed holders.

#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/sessions.rs"]
mod shared;

use copilot_sdk::test_support::SessionStoreContract;
use copilot_sdk::{SdkError, SessionStore};
use copilot_store_redis::{EncryptionKey, RedisSessionStore, RedisStore};
use redis::AsyncCommands;

const URL_VAR: &str = "COPILOT_RS_TEST_REDIS_URL";

async fn open(url: &str, namespace: &str, key: &EncryptionKey) -> RedisSessionStore {
    RedisStore::connect(url, key)
        .await
        .expect("connect to redis")
        .namespace(namespace)
        .sessions()
}

/// A session store in a namespace of its own, and the server URL.
async fn sessions(test: &str) -> Option<(RedisSessionStore, String, String)> {
    let url = fleet::service_url(URL_VAR, test)?;
    let namespace = fleet::fresh_namespace(test);
    let store = open(&url, &namespace, &fleet::test_key()).await;
    Some((store, url, namespace))
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_sessions_keep_the_session_store_contract() -> Result<(), SdkError> {
    let Some((store, url, namespace)) = sessions("sessions_contract").await else {
        return Ok(());
    };
    // The peer is another connection, as another instance of the service would open it.
    let peer = open(&url, &namespace, &fleet::test_key()).await;
    SessionStoreContract::new(&store).peer(&peer).run().await?;

    // Another namespace on the same server sees none of it.
    let elsewhere = open(&url, &format!("{namespace}_other"), &fleet::test_key()).await;
    assert!(elsewhere.list().await?.is_empty());
    assert_eq!(elsewhere.load("b.2").await?, None);
    Ok(())
}

#[tokio::test]
async fn sessions_are_sealed_at_rest_and_a_broken_one_touches_no_other() -> Result<(), SdkError> {
    let Some((store, url, namespace)) = sessions("sessions_sealed").await else {
        return Ok(());
    };
    shared::save_alice_and_bob(&store).await?;
    let mut conn = raw(&url).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{namespace}:session:alice-1"),
            format!("{namespace}:session:bob-1"),
            format!("{namespace}:sessions"),
        ]
    );
    let record_key = |id: &str| format!("{namespace}:session:{id}");
    let index_key = format!("{namespace}:sessions");
    let sealed: Vec<u8> = conn.get(record_key("alice-1")).await.unwrap();
    shared::assert_sealed(&sealed, "the record");
    let listed: Vec<u8> = conn.hget(&index_key, "alice-1").await.unwrap();
    shared::assert_sealed(&listed, "the index");

    let bobs: Vec<u8> = conn.get(record_key("bob-1")).await.unwrap();
    let _: () = conn.set(record_key("alice-1"), bobs).await.unwrap();
    shared::a_moved_record_is_refused(&store).await?;

    let _: () = conn
        .hset(&index_key, "alice-1", shared::GARBAGE)
        .await
        .unwrap();
    shared::broken_metadata_is_skipped(&store).await?;

    let stranger = open(&url, &namespace, &EncryptionKey::from_bytes([9; 32])).await;
    shared::a_stranger_opens_nothing_and_a_save_repairs(&store, &stranger).await
}

#[tokio::test]
async fn a_holder_that_lost_its_lock_cannot_overwrite_the_new_holder() -> Result<(), SdkError> {
    let Some((store, url, namespace)) = sessions("sessions_fenced").await else {
        return Ok(());
    };
    let peer = open(&url, &namespace, &fleet::test_key()).await;
    let steal = async {
        let _: i64 = raw(&url)
            .await
            .del(format!("{namespace}:lease:session:fenced"))
            .await
            .unwrap();
    };
    shared::a_holder_that_lost_its_lock_cannot_overwrite_the_new_holder(&store, &peer, steal).await
}

shared::session_store_tests!(
    sessions,
    open,
    two_service_instances_continue_one_conversation_through_redis
);
