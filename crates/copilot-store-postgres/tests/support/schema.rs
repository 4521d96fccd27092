//! A PostgreSQL store in a schema of its own, for tests sharing one server.

use std::str::FromStr;

use copilot_store_postgres::{EncryptionKey, PostgresStore};
use sqlx::postgres::PgConnectOptions;

/// A store in schema `schema` (created if missing), migrated.
pub async fn connect(url: &str, schema: &str, key: &EncryptionKey) -> PostgresStore {
    let admin = PostgresStore::connect(url, key)
        .await
        .expect("connect to postgres");
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
        .execute(admin.pool())
        .await
        .unwrap();
    admin.pool().close().await;
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema)]);
    let store = PostgresStore::connect_with(options, key).await.unwrap();
    store.migrate().await.unwrap();
    store
}
