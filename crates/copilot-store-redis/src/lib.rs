//! copilot-rs on Redis: GitHub credentials for many users, shared by every instance of a service.
//!
//! [`RedisStore`] is a [`TokenStore`]: each credential (access token, `ghr_` refresh token, expiries) is one
//! hash sealed with AES-256-GCM under the key you supply ([`EncryptionKey`], see `copilot-store-core`), with
//! a version that every write increments, so [`TokenStore::save_if_version`] is a real compare-and-set. Its
//! [`TokenStore::lock_refresh`] is a Redis lease (`SET NX PX` with a random holder id, released by a script
//! that checks the id), so [`copilot_auth::get_or_refresh`] spends a single-use refresh token in exactly one
//! instance while the others wait and read the result.
//!
//! [`RedisStore::copilot_cache`] gives a user's [`SharedTokenCache`] for
//! [`TokenManagerBuilder::shared_cache`](copilot_token::TokenManagerBuilder::shared_cache): at expiry one
//! instance exchanges and the rest use its token. Leases run out after their TTL, so an instance that dies
//! mid-exchange or mid-refresh is replaced.
//!
//! ```no_run
//! use std::sync::Arc;
//! use copilot_store_redis::{EncryptionKey, RedisStore};
//! use copilot_token::SharedCacheOptions;
//!
//! # async fn demo(manager: copilot_token::TokenManagerBuilder) -> Result<(), Box<dyn std::error::Error>> {
//! let key = EncryptionKey::from_base64(&std::env::var("COPILOT_STORE_KEY")?)?;
//! let store = RedisStore::connect("redis://127.0.0.1/", &key).await?;
//! let manager = manager
//!     .shared_cache(Arc::new(store.copilot_cache("github.com/octocat")), SharedCacheOptions::new())
//!     .build();
//! # let _ = manager; Ok(()) }
//! ```
//!
//! # Sessions (feature `sessions`)
//!
//! `RedisSessionStore` (from `RedisStore::sessions` or `RedisSessionStore::connect`) is copilot-sdk's
//! `SessionStore` on the same server: every instance of a service sees every saved session, and a session
//! open in one instance is `SdkError::SessionInUse` in the others (a lease renewed while the session is
//! open, run out after its TTL when the instance dies). Records are sealed like credentials. It passes
//! copilot-sdk's `test_support::SessionStoreContract` against a real server.
//!
//! ```no_run
//! # #[cfg(feature = "sessions")]
//! # async fn demo(key: copilot_store_redis::EncryptionKey, token: String) -> Result<(), Box<dyn std::error::Error>> {
//! // Cargo.toml: copilot-store-redis = { version = "0.1", features = ["sessions"] }
//! use std::sync::Arc;
//! use copilot_store_redis::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1/", &key).await?;
//! let client = copilot_sdk::CopilotClient::builder()
//!     .github_token(token)
//!     .session_store(Arc::new(store.sessions()))
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! # Layout
//!
//! Under a namespace (default `copilot-rs`): `{ns}:cred:{host}/{account}` (hash: `v` version, `d` sealed
//! credential), `{ns}:lease:refresh:{host}/{account}`, `{ns}:copilot:{identity}` (sealed token, expiring with
//! it) and `{ns}:lease:copilot:{identity}`; with sessions, `{ns}:session:{id}` (sealed record),
//! `{ns}:sessions` (hash of id → sealed metadata, for listing) and `{ns}:lease:session:{id}`; the gateway's
//! API keys (`copilot_store_core::api_keys::ApiKeyDirectory`) in `{ns}:apikeys` (hash of the key's SHA-256 in
//! hex → sealed record).

mod api_keys;
#[cfg(feature = "sessions")]
mod sessions;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use copilot_auth::{
    AuthError, CredentialKey, StoreLease, StoredCredential, TokenStore, VersionedCredential,
};
use copilot_store_core::lease::{LeaseBackend, lock_refresh};
use copilot_store_core::token_cache::{Publication, SealedTokenCache, TokenCacheBackend};
pub use copilot_store_core::{EncryptionKey, Sealer, StoreError};
use copilot_store_core::{new_lease_id, open_versioned_credential, seal_credential};
use copilot_token::{LeaseId, SharedTokenCache, SharedTokenCaches};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
#[cfg(feature = "sessions")]
pub use sessions::RedisSessionStore;

const BACKEND: &str = "redis";

fn backend(error: redis::RedisError) -> StoreError {
    StoreError::backend(BACKEND, error)
}

/// Writes the sealed credential and increments the version, atomically.
const SAVE: &str = r"
redis.call('HSET', KEYS[1], 'd', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'v', 1)
";

/// Compare-and-set: writes only if the version is ARGV[2] ('' = no credential).
const SAVE_IF: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
if (v == false and ARGV[2] == '') or v == ARGV[2] then
  redis.call('HSET', KEYS[1], 'd', ARGV[1])
  return redis.call('HINCRBY', KEYS[1], 'v', 1)
end
return -1
";

/// Deletes the lease only if the caller still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Extends the lease only if the caller still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Stores the token (expiring with it), then ends the caller's lease if it still holds it.
const PUBLISH: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
end
return 1
";

/// A [`TokenStore`] and source of shared Copilot-token caches on one Redis server. Cheap to clone (one
/// multiplexed, reconnecting connection inside).
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    sealer: Sealer,
    namespace: String,
    lease_wait: Option<Duration>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://`, or `rediss://` for TLS when the redis crate is built with it) and seals
    /// records under `key`. The URL may contain a password; it is never logged.
    pub async fn connect(url: &str, key: &EncryptionKey) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let connection = ConnectionManager::new(client).await.map_err(backend)?;
        Ok(Self::new(connection, key))
    }

    /// A store over an existing connection.
    pub fn new(connection: ConnectionManager, key: &EncryptionKey) -> Self {
        RedisStore {
            connection,
            sealer: Sealer::new(key),
            namespace: "copilot-rs".to_owned(),
            lease_wait: None,
        }
    }

    /// Prefix of every key (default `copilot-rs`): separates applications or environments on one server.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Also opens records sealed under `key` (rotating keys: writes always use the current key).
    pub fn previous_key(mut self, key: &EncryptionKey) -> Self {
        self.sealer = self.sealer.previous_key(key);
        self
    }

    /// How long [`TokenStore::lock_refresh`] waits for another holder before failing (default: twice the
    /// lease's TTL, so a crashed holder's lease runs out first).
    pub fn lease_wait(mut self, wait: impl Into<Duration>) -> Self {
        self.lease_wait = Some(wait.into());
        self
    }

    /// The shared Copilot-token cache of one identity (a user on a host, e.g. `github.com/octocat`): give it
    /// to that user's [`TokenManager`](copilot_token::TokenManager) in every instance.
    pub fn copilot_cache(&self, identity: impl Into<String>) -> RedisTokenCache {
        let identity = identity.into();
        let lease = format!("{}:lease:copilot:{identity}", self.namespace);
        SealedTokenCache::new(self.leases(), self.sealer.clone(), identity, lease)
    }

    fn credential_key(&self, key: &CredentialKey) -> String {
        format!("{}:cred:{}/{}", self.namespace, key.host, key.account)
    }

    fn lease_key(&self, key: &CredentialKey) -> String {
        format!(
            "{}:lease:refresh:{}/{}",
            self.namespace, key.host, key.account
        )
    }

    fn token_key(&self, identity: &str) -> String {
        format!("{}:copilot:{identity}", self.namespace)
    }

    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    async fn read(&self, key: &CredentialKey) -> Result<Option<VersionedCredential>, StoreError> {
        let (version, sealed): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(self.credential_key(key))
            .arg("v")
            .arg("d")
            .query_async(&mut self.connection())
            .await
            .map_err(backend)?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let version = version.ok_or("the record has no version");
        open_versioned_credential(&self.sealer, key, &sealed, version).map(Some)
    }

    /// The leases on this server.
    fn leases(&self) -> RedisLeases {
        RedisLeases(self.clone())
    }
}

/// The leases of a [`RedisStore`] (from [`RedisStore::copilot_cache`] and the session store): `SET NX PX`
/// with a random holder id; renewed and released by scripts that check the id. The shared Copilot token of
/// an identity is `{ns}:copilot:{identity}`, expiring with the token.
#[derive(Clone, Debug)]
pub struct RedisLeases(RedisStore);

#[async_trait]
impl LeaseBackend for RedisLeases {
    async fn take(&self, name: &str, ttl: Duration) -> Result<Option<LeaseId>, StoreError> {
        let id = new_lease_id()?;
        let taken: Option<String> = redis::cmd("SET")
            .arg(name)
            .arg(id.as_str())
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.0.connection())
            .await
            .map_err(backend)?;
        Ok(taken.map(|_| id))
    }

    async fn renew(&self, name: &str, holder: &LeaseId, ttl: Duration) -> Result<bool, StoreError> {
        let renewed: i64 = Script::new(RENEW)
            .key(name)
            .arg(holder.as_str())
            .arg(millis(ttl))
            .invoke_async(&mut self.0.connection())
            .await
            .map_err(backend)?;
        Ok(renewed == 1)
    }

    async fn release(&self, name: &str, holder: &LeaseId) -> Result<(), StoreError> {
        let _: i64 = Script::new(RELEASE)
            .key(name)
            .arg(holder.as_str())
            .invoke_async(&mut self.0.connection())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        Ok(self.read(key).await?.map(|v| v.credential))
    }

    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        let sealed = seal_credential(&self.sealer, key, credential)?;
        let _: u64 = Script::new(SAVE)
            .key(self.credential_key(key))
            .arg(sealed)
            .invoke_async(&mut self.connection())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        let removed: u64 = self
            .connection()
            .del(self.credential_key(key))
            .await
            .map_err(backend)?;
        Ok(removed > 0)
    }

    async fn load_versioned(
        &self,
        key: &CredentialKey,
    ) -> Result<Option<VersionedCredential>, AuthError> {
        Ok(self.read(key).await?)
    }

    async fn save_if_version(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
        expected: Option<u64>,
    ) -> Result<bool, AuthError> {
        let sealed = seal_credential(&self.sealer, key, credential)?;
        let version: i64 = Script::new(SAVE_IF)
            .key(self.credential_key(key))
            .arg(sealed)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .invoke_async(&mut self.connection())
            .await
            .map_err(backend)?;
        Ok(version >= 0)
    }

    async fn lock_refresh(
        &self,
        key: &CredentialKey,
        ttl: Duration,
    ) -> Result<Option<Box<dyn StoreLease>>, AuthError> {
        lock_refresh(
            &self.leases(),
            self.lease_key(key),
            key,
            ttl,
            self.lease_wait,
        )
        .await
    }
}

/// One identity's shared Copilot token on Redis (from [`RedisStore::copilot_cache`]).
pub type RedisTokenCache = SealedTokenCache<RedisLeases>;

/// Every identity's cache in this database ([`RedisStore::copilot_cache`]), for a multi-user pool
/// (`copilot_sdk::ClientPoolBuilder::shared_token_caches`).
impl SharedTokenCaches for RedisStore {
    fn cache_for(&self, identity: &str) -> Arc<dyn SharedTokenCache> {
        Arc::new(self.copilot_cache(identity))
    }
}

#[async_trait]
impl TokenCacheBackend for RedisLeases {
    async fn load_token(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0
            .connection()
            .get(self.0.token_key(identity))
            .await
            .map_err(backend)
    }

    async fn publish_token(&self, token: Publication<'_>) -> Result<(), StoreError> {
        let _: i64 = Script::new(PUBLISH)
            .key(self.0.token_key(token.identity))
            .key(token.lease)
            .arg(token.sealed)
            .arg(millis(token.ttl))
            .arg(token.holder.as_str())
            .invoke_async(&mut self.0.connection())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
