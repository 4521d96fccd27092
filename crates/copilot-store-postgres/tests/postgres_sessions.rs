//! PostgresSessionStore against a real PostgreSQL server (started by `cargo xtask test`, URL in
//! COPILOT_RS_TEST_POSTGRES_URL): copilot-sdk's session-store contract, sealing at rest, corrupt rows, and
//! locks of crashed holders. Every test works in a schema of its own.

#[path = "../../copilot-store-redis/tests/support/fleet.rs"]
mod fleet;
#[path = "support/schema.rs"]
mod schema;
#[path = "../../copilot-store-redis/tests/support/sessions.rs"]
mod shared;

use copilot_sdk::test_support::SessionStoreContract;
use copilot_sdk::{SdkError, SessionStore};
use copilot_store_postgres::{EncryptionKey, PostgresSessionStore};

const URL_VAR: &str = "COPILOT_RS_TEST_POSTGRES_URL";

/// A session store in schema `schema` (created if missing), migrated.
async fn open(url: &str, schema: &str, key: &EncryptionKey) -> PostgresSessionStore {
    schema::connect(url, schema, key).await.sessions()
}

async fn sessions(test: &str) -> Option<(PostgresSessionStore, String, String)> {
    let url = fleet::service_url(URL_VAR, test)?;
    let schema = fleet::fresh_namespace(test);
    let store = open(&url, &schema, &fleet::test_key()).await;
    Some((store, url, schema))
}

async fn raw(store: &PostgresSessionStore, column: &str, id: &str) -> Vec<u8> {
    let (value,): (Vec<u8>,) = sqlx::query_as(&format!(
        "SELECT {column} FROM copilot_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    value
}

async fn set_raw(store: &PostgresSessionStore, column: &str, id: &str, value: &[u8]) {
    sqlx::query(&format!(
        "UPDATE copilot_sessions SET {column} = $2 WHERE id = $1"
    ))
    .bind(id)
    .bind(value)
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn postgres_sessions_keep_the_session_store_contract() -> Result<(), SdkError> {
    let Some((store, url, schema)) = sessions("sessions_contract").await else {
        return Ok(());
    };
    // The peer is another pool, as another instance of the service would open it.
    let peer = open(&url, &schema, &fleet::test_key()).await;
    SessionStoreContract::new(&store).peer(&peer).run().await?;

    // Another schema on the same server sees none of it; migrating again changes nothing.
    let elsewhere = open(&url, &format!("{schema}_other"), &fleet::test_key()).await;
    assert!(elsewhere.list().await?.is_empty());
    store.migrate().await.expect("migrations are idempotent");
    assert_eq!(store.list().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn sessions_are_sealed_at_rest_and_a_broken_one_touches_no_other() -> Result<(), SdkError> {
    let Some((store, url, schema)) = sessions("sessions_sealed").await else {
        return Ok(());
    };
    shared::save_alice_and_bob(&store).await?;
    for column in ["record", "metadata"] {
        shared::assert_sealed(&raw(&store, column, "alice-1").await, column);
    }

    let bobs = raw(&store, "record", "bob-1").await;
    set_raw(&store, "record", "alice-1", &bobs).await;
    shared::a_moved_record_is_refused(&store).await?;

    set_raw(&store, "metadata", "alice-1", shared::GARBAGE).await;
    shared::broken_metadata_is_skipped(&store).await?;

    let stranger = open(&url, &schema, &EncryptionKey::from_bytes([9; 32])).await;
    shared::a_stranger_opens_nothing_and_a_save_repairs(&store, &stranger).await
}

#[tokio::test]
async fn a_holder_that_lost_its_lock_cannot_overwrite_the_new_holder() -> Result<(), SdkError> {
    let Some((store, url, schema)) = sessions("sessions_fenced").await else {
        return Ok(());
    };
    let peer = open(&url, &schema, &fleet::test_key()).await;
    let steal = async {
        sqlx::query("DELETE FROM copilot_leases WHERE name = 'session:fenced'")
            .execute(store.pool())
            .await
            .unwrap();
    };
    shared::a_holder_that_lost_its_lock_cannot_overwrite_the_new_holder(&store, &peer, steal).await
}

shared::session_store_tests!(
    sessions,
    open,
    two_service_instances_continue_one_conversation_through_postgres
);
