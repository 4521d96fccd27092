//! [`PostgresSessionStore`]: persistent sessions of `copilot-sdk` on PostgreSQL (feature `sessions`).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use copilot_sdk::{SdkError, SessionLock, SessionMetadata, SessionRecord, SessionStore};
use copilot_store_core::sessions::{
    SessionLocks, check_session_id, open_listed, open_session, seal_session, session_error,
};
use copilot_store_core::{EncryptionKey, StoreError};
use sqlx::postgres::PgPool;

use crate::{PostgresLeases, PostgresStore, backend};

/// Sessions of `copilot-sdk` on PostgreSQL, sealed with AES-256-GCM like the credentials of
/// [`PostgresStore`], for a fleet of instances sharing users' conversations.
///
/// - One row per session in `copilot_sessions` (created by [`PostgresStore::migrate`] with the crate's other
///   tables): the sealed record and, for [`list`](SessionStore::list), the sealed metadata, written by one
///   upsert, so a reader sees the old or the new session, never a mix. Separate applications use separate
///   schemas (`search_path`) or databases.
/// - [`lock`](SessionStore::lock) is a row lease in `copilot_leases` named `session:<id>` (taken only when
///   free or run out by the database's clock), renewed every third of its TTL
///   ([`lock_ttl`](Self::lock_ttl), default 30 s) while the [`SessionLock`] lives and deleted when it is
///   dropped; a process that dies keeps a session for at most the TTL. A save of a session locked through
///   this store is fenced: the upsert writes only while the lease row is still ours (locked `FOR SHARE`
///   against a takeover until it commits), otherwise it fails with [`SdkError::SessionInUse`].
/// - Ids: any text of 1 to 512 bytes without control characters; others are refused with
///   [`SdkError::Config`]. Records larger than 256 MiB encoded are refused.
/// - A record that does not decrypt or decode is a [`SdkError::SessionStore`] holding a
///   [`StoreError`] (`Undecryptable` or `Corrupt`); it is left as it is, and [`list`](SessionStore::list)
///   skips it with a warning.
#[derive(Clone)]
pub struct PostgresSessionStore {
    store: PostgresStore,
    locks: SessionLocks<PostgresLeases>,
}

impl fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSessionStore")
            .field("pool_size", &self.store.pool.size())
            .field("lock_ttl", &self.locks.lease_ttl())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The session store in the same database (and schema), sealing with the same keys.
    ///
    /// Call it once per process and clone the result: clones know of each other's locks being released in
    /// the background, so a session closed through one clone can be opened through another at once; two
    /// separate `sessions()` behave like two processes (the second may see the lock for a moment longer).
    pub fn sessions(&self) -> PostgresSessionStore {
        PostgresSessionStore {
            locks: SessionLocks::new(self.leases()),
            store: self.clone(),
        }
    }
}

impl PostgresSessionStore {
    /// Connects a pool to `url` and seals sessions under `key` (see [`PostgresStore::connect`]). Run
    /// [`migrate`](Self::migrate) once before use.
    pub async fn connect(url: &str, key: &EncryptionKey) -> Result<Self, StoreError> {
        Ok(PostgresStore::connect(url, key).await?.sessions())
    }

    /// A session store over an existing pool.
    pub fn new(pool: PgPool, key: &EncryptionKey) -> Self {
        PostgresStore::new(pool, key).sessions()
    }

    /// Creates or updates the crate's tables, `copilot_sessions` included (the same migrations as
    /// [`PostgresStore::migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.store.migrate().await
    }

    /// How long a session lock lives without renewal (default 30 s): how long a crashed process keeps its
    /// sessions locked. Renewed every third of it.
    pub fn lock_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.locks = self.locks.ttl(ttl);
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        self.store.pool()
    }
}

fn lease_name(id: &str) -> String {
    format!("session:{id}")
}

fn sql_error(doing: &str, id: &str, error: sqlx::Error) -> SdkError {
    session_error(doing, id, backend(error))
}

#[async_trait]
impl SessionStore for PostgresSessionStore {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        check_session_id(id)?;
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT record FROM copilot_sessions WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(|e| sql_error("load", id, e))?;
        row.map(|(sealed,)| open_session(&self.store.sealer, id, &sealed))
            .transpose()
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        let id = record.metadata.id.as_str();
        let sealed = seal_session(&self.store.sealer, record)?;
        let lease = lease_name(id);
        let Some(holder) = self.locks.holder(&lease) else {
            sqlx::query(
                "INSERT INTO copilot_sessions (id, metadata, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE \
                 SET metadata = EXCLUDED.metadata, record = EXCLUDED.record, updated_at = now()",
            )
            .bind(id)
            .bind(sealed.metadata)
            .bind(sealed.record)
            .execute(&self.store.pool)
            .await
            .map_err(|e| sql_error("save", id, e))?;
            return Ok(());
        };
        // Fenced: written only while our lease row is still ours (and locked against a takeover until the
        // write commits).
        let done = sqlx::query(
            "INSERT INTO copilot_sessions (id, metadata, record) \
             SELECT $1, $2, $3 WHERE EXISTS ( \
                 SELECT 1 FROM copilot_leases \
                 WHERE name = $4 AND holder = $5 AND expires_at > now() FOR SHARE) \
             ON CONFLICT (id) DO UPDATE \
             SET metadata = EXCLUDED.metadata, record = EXCLUDED.record, updated_at = now()",
        )
        .bind(id)
        .bind(sealed.metadata)
        .bind(sealed.record)
        .bind(&lease)
        .bind(holder.as_str())
        .execute(&self.store.pool)
        .await
        .map_err(|e| sql_error("save", id, e))?;
        if done.rows_affected() == 0 {
            // Our lock ran out and another process holds the session now: never fork its conversation.
            return Err(SdkError::SessionInUse { id: id.to_owned() });
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        check_session_id(id)?;
        let done = sqlx::query("DELETE FROM copilot_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.store.pool)
            .await
            .map_err(|e| sql_error("delete", id, e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT id, metadata FROM copilot_sessions")
                .fetch_all(&self.store.pool)
                .await
                .map_err(|e| SdkError::session_store("list sessions", backend(e)))?;
        Ok(open_listed(&self.store.sealer, rows))
    }

    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        check_session_id(id)?;
        self.locks.lock(id, lease_name(id)).await
    }
}
