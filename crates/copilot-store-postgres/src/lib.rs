//! copilot-rs on PostgreSQL: GitHub credentials for many users, shared by every instance of a service.
//!
//! [`PostgresStore`] is a [`TokenStore`]: each credential (access token, `ghr_` refresh token, expiries) is one
//! row of `copilot_credentials`, sealed with AES-256-GCM under the key you supply ([`EncryptionKey`], see
//! `copilot-store-core`) and versioned, so [`TokenStore::save_if_version`] is a real compare-and-set
//! (`UPDATE … WHERE version = $expected`). [`TokenStore::lock_refresh`] is a row lease in `copilot_leases`
//! (taken by an upsert that succeeds only when the lease is free or has run out by the database's clock), so
//! [`copilot_auth::get_or_refresh`] spends a single-use refresh token in exactly one instance.
//!
//! [`PostgresStore::copilot_cache`] gives a user's [`SharedTokenCache`] for
//! [`TokenManagerBuilder::shared_cache`](copilot_token::TokenManagerBuilder::shared_cache): at expiry one
//! instance exchanges and the rest use its token; an instance that dies holding the lease is replaced once
//! its lease runs out.
//!
//! `PostgresStore` is also the gateway's shared API-key map
//! (`copilot_store_core::api_keys::ApiKeyDirectory`): table `copilot_api_keys`, one sealed row per key's
//! SHA-256 (the key itself is never stored).
//!
//! The schema ships with the crate (`migrations/`); [`PostgresStore::migrate`] applies it (sqlx's migrator,
//! idempotent, safe to run from every instance at start-up).
//!
//! # Sessions (feature `sessions`)
//!
//! `PostgresSessionStore` (from `PostgresStore::sessions` or `PostgresSessionStore::connect`) is
//! copilot-sdk's `SessionStore` in the same database: one sealed row per session in `copilot_sessions`
//! (record and, for listing, metadata, written by one upsert), and a session open in one instance is
//! `SdkError::SessionInUse` in the others (a row lease `session:<id>` in `copilot_leases`, renewed while the
//! session is open, run out after its TTL when the instance dies). The `copilot_sessions` table is part of
//! the shipped migrations whether or not the feature is on. It passes copilot-sdk's
//! `test_support::SessionStoreContract` against a real server.
//!
//! ```no_run
//! # #[cfg(feature = "sessions")]
//! # async fn demo(key: copilot_store_postgres::EncryptionKey, token: String) -> Result<(), Box<dyn std::error::Error>> {
//! // Cargo.toml: copilot-store-postgres = { version = "0.1", features = ["sessions"] }
//! use std::sync::Arc;
//! use copilot_store_postgres::PostgresStore;
//!
//! let store = PostgresStore::connect("postgres://app@db.internal/app", &key).await?;
//! store.migrate().await?;
//! let client = copilot_sdk::CopilotClient::builder()
//!     .github_token(token)
//!     .session_store(Arc::new(store.sessions()))
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! ```no_run
//! use copilot_store_postgres::{EncryptionKey, PostgresStore};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let key = EncryptionKey::from_base64(&std::env::var("COPILOT_STORE_KEY")?)?;
//! let store = PostgresStore::connect("postgres://app@db.internal/app", &key).await?;
//! store.migrate().await?;
//! let cache = store.copilot_cache("github.com/octocat");
//! # let _ = cache; Ok(()) }
//! ```

mod api_keys;
#[cfg(feature = "sessions")]
mod sessions;

use std::fmt;
use std::str::FromStr;
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
#[cfg(feature = "sessions")]
pub use sessions::PostgresSessionStore;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

const BACKEND: &str = "postgres";

/// The schema of this crate's tables.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(BACKEND, error)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A [`TokenStore`] and source of shared Copilot-token caches on one PostgreSQL database. Cheap to clone (a
/// connection pool inside).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    sealer: Sealer,
    lease_wait: Option<Duration>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool_size", &self.pool.size())
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user:password@host/db`, `?sslmode=require` for TLS with rustls)
    /// and seals records under `key`. The password is never logged.
    pub async fn connect(url: &str, key: &EncryptionKey) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        Self::connect_with(options, key).await
    }

    /// Connects with explicit options (e.g. a `search_path` via [`PgConnectOptions::options`]).
    pub async fn connect_with(
        options: PgConnectOptions,
        key: &EncryptionKey,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self::new(pool, key))
    }

    /// A store over an existing pool.
    pub fn new(pool: PgPool, key: &EncryptionKey) -> Self {
        PostgresStore {
            pool,
            sealer: Sealer::new(key),
            lease_wait: None,
        }
    }

    /// Creates or updates this crate's tables (the migrations shipped in `migrations/`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::backend(BACKEND, e))
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
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
    pub fn copilot_cache(&self, identity: impl Into<String>) -> PostgresTokenCache {
        let identity = identity.into();
        let lease = format!("copilot:{identity}");
        SealedTokenCache::new(self.leases(), self.sealer.clone(), identity, lease)
    }

    async fn read(&self, key: &CredentialKey) -> Result<Option<VersionedCredential>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT version, sealed FROM copilot_credentials WHERE host = $1 AND account = $2",
        )
        .bind(&key.host)
        .bind(&key.account)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((version, sealed)) = row else {
            return Ok(None);
        };
        let version = u64::try_from(version).map_err(|_| "the record's version is negative");
        open_versioned_credential(&self.sealer, key, &sealed, version).map(Some)
    }

    /// The row leases in this database.
    fn leases(&self) -> PostgresLeases {
        PostgresLeases(self.clone())
    }
}

/// The row leases of a [`PostgresStore`] in `copilot_leases` (from [`PostgresStore::copilot_cache`] and the
/// session store): taken by an upsert that succeeds only when the lease is free or has run out by the
/// database's clock; renewed and released only by their holder. Shared Copilot tokens are rows of
/// `copilot_tokens`.
#[derive(Clone, Debug)]
pub struct PostgresLeases(PostgresStore);

#[async_trait]
impl LeaseBackend for PostgresLeases {
    async fn take(&self, name: &str, ttl: Duration) -> Result<Option<LeaseId>, StoreError> {
        let id = new_lease_id()?;
        let taken: Option<(String,)> = sqlx::query_as(
            "INSERT INTO copilot_leases (name, holder, expires_at) \
             VALUES ($1, $2, now() + $3 * interval '1 millisecond') \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
             WHERE copilot_leases.expires_at <= now() \
             RETURNING holder",
        )
        .bind(name)
        .bind(id.as_str())
        .bind(millis(ttl))
        .fetch_optional(&self.0.pool)
        .await
        .map_err(backend)?;
        Ok(taken.map(|_| id))
    }

    async fn renew(&self, name: &str, holder: &LeaseId, ttl: Duration) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE copilot_leases SET expires_at = now() + $3 * interval '1 millisecond' \
             WHERE name = $1 AND holder = $2",
        )
        .bind(name)
        .bind(holder.as_str())
        .bind(millis(ttl))
        .execute(&self.0.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, name: &str, holder: &LeaseId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM copilot_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder.as_str())
            .execute(&self.0.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn lease_name(key: &CredentialKey) -> String {
    format!("refresh:{}/{}", key.host, key.account)
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        Ok(self.read(key).await?.map(|v| v.credential))
    }

    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        let sealed = seal_credential(&self.sealer, key, credential)?;
        sqlx::query(
            "INSERT INTO copilot_credentials (host, account, version, sealed) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (host, account) DO UPDATE \
             SET sealed = EXCLUDED.sealed, version = copilot_credentials.version + 1, updated_at = now()",
        )
        .bind(&key.host)
        .bind(&key.account)
        .bind(sealed)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        let done = sqlx::query("DELETE FROM copilot_credentials WHERE host = $1 AND account = $2")
            .bind(&key.host)
            .bind(&key.account)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() > 0)
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
        let done = match expected {
            Some(version) => sqlx::query(
                "UPDATE copilot_credentials SET sealed = $3, version = version + 1, updated_at = now() \
                 WHERE host = $1 AND account = $2 AND version = $4",
            )
            .bind(&key.host)
            .bind(&key.account)
            .bind(sealed)
            .bind(i64::try_from(version).unwrap_or(i64::MAX)),
            None => sqlx::query(
                "INSERT INTO copilot_credentials (host, account, version, sealed) VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (host, account) DO NOTHING",
            )
            .bind(&key.host)
            .bind(&key.account)
            .bind(sealed),
        }
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn lock_refresh(
        &self,
        key: &CredentialKey,
        ttl: Duration,
    ) -> Result<Option<Box<dyn StoreLease>>, AuthError> {
        lock_refresh(&self.leases(), lease_name(key), key, ttl, self.lease_wait).await
    }
}

/// One identity's shared Copilot token on PostgreSQL (from [`PostgresStore::copilot_cache`]).
pub type PostgresTokenCache = SealedTokenCache<PostgresLeases>;

/// Every identity's cache in this database ([`PostgresStore::copilot_cache`]), for a multi-user pool
/// (`copilot_sdk::ClientPoolBuilder::shared_token_caches`).
impl SharedTokenCaches for PostgresStore {
    fn cache_for(&self, identity: &str) -> Arc<dyn SharedTokenCache> {
        Arc::new(self.copilot_cache(identity))
    }
}

#[async_trait]
impl TokenCacheBackend for PostgresLeases {
    async fn load_token(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar(
            "SELECT sealed FROM copilot_tokens WHERE identity = $1 AND expires_at > now()",
        )
        .bind(identity)
        .fetch_optional(&self.0.pool)
        .await
        .map_err(backend)
    }

    async fn publish_token(&self, token: Publication<'_>) -> Result<(), StoreError> {
        let mut tx = self.0.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "INSERT INTO copilot_tokens (identity, sealed, expires_at) \
             VALUES ($1, $2, now() + $3 * interval '1 millisecond') \
             ON CONFLICT (identity) DO UPDATE SET sealed = EXCLUDED.sealed, expires_at = EXCLUDED.expires_at",
        )
        .bind(token.identity)
        .bind(token.sealed)
        .bind(millis(token.ttl))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("DELETE FROM copilot_leases WHERE name = $1 AND holder = $2")
            .bind(token.lease)
            .bind(token.holder.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
