//! [`RedisSessionStore`]: persistent sessions of `copilot-sdk` on Redis (feature `sessions`).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use copilot_sdk::{SdkError, SessionLock, SessionMetadata, SessionRecord, SessionStore};
use copilot_store_core::sessions::{
    SessionLocks, check_session_id, open_listed, open_session, seal_session, session_error,
};
use copilot_store_core::{EncryptionKey, StoreError};
use redis::Script;
use redis::aio::ConnectionManager;

use crate::{RedisLeases, RedisStore, backend};

/// Writes the record and its listed metadata in one step: a reader never sees one without the other.
const SAVE: &str = r"
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
";

/// [`SAVE`] only while the caller's session lease (KEYS[3]) is still held by ARGV[4]; 0 otherwise.
const SAVE_FENCED: &str = r"
if redis.call('GET', KEYS[3]) ~= ARGV[4] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
";

/// Deletes the record and its listed metadata in one step; returns whether there was a record.
const DELETE: &str = r"
local removed = redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
";

/// Sessions of `copilot-sdk` on Redis, sealed with AES-256-GCM like the credentials of [`RedisStore`], for a
/// fleet of instances sharing users' conversations.
///
/// - Keys, under the namespace of the [`RedisStore`] it comes from: `{ns}:session:{id}` (the sealed record),
///   `{ns}:sessions` (a hash of id → sealed metadata, what [`list`](SessionStore::list) reads in one round
///   trip) and `{ns}:lease:session:{id}` (the lock). A save writes the record and its metadata in one
///   script, so a reader sees the old or the new session, never a mix.
/// - [`lock`](SessionStore::lock) is a lease (`SET NX PX` with a random holder id) renewed every third of
///   its TTL ([`lock_ttl`](Self::lock_ttl), default 30 s) while the [`SessionLock`] lives and deleted when
///   it is dropped; a process that dies keeps a session for at most the TTL. A save of a session locked
///   through this store is fenced: it is written only while the lease is still ours (checked in the same
///   script), otherwise it fails with [`SdkError::SessionInUse`] (the process stalled past the TTL and
///   another one took the session over).
/// - Ids: any text of 1 to 512 bytes without control characters; others are refused with
///   [`SdkError::Config`]. Records larger than 256 MiB encoded are refused.
/// - A record that does not decrypt or decode is a [`SdkError::SessionStore`] holding a
///   [`StoreError`] (`Undecryptable` or `Corrupt`); it is left as it is, and [`list`](SessionStore::list)
///   skips it with a warning.
#[derive(Clone)]
pub struct RedisSessionStore {
    store: RedisStore,
    locks: SessionLocks<RedisLeases>,
}

impl fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("namespace", &self.store.namespace)
            .field("lock_ttl", &self.locks.lease_ttl())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The session store on the same server, namespace and keys.
    ///
    /// Call it once per process and clone the result: clones know of each other's locks being released in
    /// the background, so a session closed through one clone can be opened through another at once; two
    /// separate `sessions()` behave like two processes (the second may see the lock for a moment longer).
    pub fn sessions(&self) -> RedisSessionStore {
        RedisSessionStore {
            locks: SessionLocks::new(self.leases()),
            store: self.clone(),
        }
    }
}

impl RedisSessionStore {
    /// Connects to `url` and seals sessions under `key` (namespace `copilot-rs`; see
    /// [`RedisStore::connect`] and [`RedisStore::sessions`] for the other settings).
    pub async fn connect(url: &str, key: &EncryptionKey) -> Result<Self, StoreError> {
        Ok(RedisStore::connect(url, key).await?.sessions())
    }

    /// A session store over an existing connection.
    pub fn new(connection: ConnectionManager, key: &EncryptionKey) -> Self {
        RedisStore::new(connection, key).sessions()
    }

    /// How long a session lock lives without renewal (default 30 s): how long a crashed process keeps its
    /// sessions locked. Renewed every third of it.
    pub fn lock_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.locks = self.locks.ttl(ttl);
        self
    }

    fn record_key(&self, id: &str) -> String {
        format!("{}:session:{id}", self.store.namespace)
    }

    fn index_key(&self) -> String {
        format!("{}:sessions", self.store.namespace)
    }

    fn lease_key(&self, id: &str) -> String {
        format!("{}:lease:session:{id}", self.store.namespace)
    }
}

fn redis_error(doing: &str, id: &str, error: redis::RedisError) -> SdkError {
    session_error(doing, id, backend(error))
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        check_session_id(id)?;
        let sealed: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.record_key(id))
            .query_async(&mut self.store.connection())
            .await
            .map_err(|e| redis_error("load", id, e))?;
        sealed
            .map(|sealed| open_session(&self.store.sealer, id, &sealed))
            .transpose()
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        let id = record.metadata.id.as_str();
        let sealed = seal_session(&self.store.sealer, record)?;
        let lease = self.lease_key(id);
        let holder = self.locks.holder(&lease);
        let script = Script::new(if holder.is_some() { SAVE_FENCED } else { SAVE });
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.record_key(id))
            .key(self.index_key())
            .key(lease)
            .arg(sealed.record)
            .arg(id)
            .arg(sealed.metadata);
        if let Some(holder) = &holder {
            invocation.arg(holder.as_str());
        }
        let saved: i64 = invocation
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|e| redis_error("save", id, e))?;
        if saved == 0 {
            // Our lock ran out and another process holds the session now: never fork its conversation.
            return Err(SdkError::SessionInUse { id: id.to_owned() });
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        check_session_id(id)?;
        let removed: i64 = Script::new(DELETE)
            .key(self.record_key(id))
            .key(self.index_key())
            .arg(id)
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|e| redis_error("delete", id, e))?;
        Ok(removed > 0)
    }

    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        let listed: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(self.index_key())
            .query_async(&mut self.store.connection())
            .await
            .map_err(|e| SdkError::session_store("list sessions", backend(e)))?;
        let listed = listed.into_iter().filter_map(|(id, sealed)| {
            // Ids are written as UTF-8; anything else was not written by this crate.
            match String::from_utf8(id) {
                Ok(id) => Some((id, sealed)),
                Err(_) => {
                    tracing::warn!("skipping a listed session whose id is not UTF-8");
                    None
                }
            }
        });
        Ok(open_listed(&self.store.sealer, listed))
    }

    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        check_session_id(id)?;
        self.locks.lock(id, self.lease_key(id)).await
    }
}
