//! Keeping credentials: the [`TokenStore`] trait and its implementations.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use copilot_http::time::{from_unix_seconds, unix_seconds};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{AuthError, GitHubToken, GitHubTokenResponse};

mod file;
#[cfg(feature = "keyring")]
mod keyring;
mod memory;

pub use file::FileStore;
#[cfg(feature = "keyring")]
pub use keyring::KeyringStore;
pub use memory::MemoryStore;

/// Which credential: a GitHub host (as [`GitHubHost::key`](copilot_http::GitHubHost::key) spells it) and an
/// account name of the application's choosing (the login, a user id, or `default`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CredentialKey {
    /// The host, e.g. `github.com`.
    pub host: String,
    /// The account.
    pub account: String,
}

impl CredentialKey {
    /// A key for `account` on `host`.
    pub fn new(host: impl Into<String>, account: impl Into<String>) -> Self {
        CredentialKey {
            host: host.into(),
            account: account.into(),
        }
    }
}

impl fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.account, self.host)
    }
}

/// A stored GitHub sign-in. `Debug` redacts the tokens; `Serialize` writes them in clear (that is what a
/// store is for), so serialize only into protected storage.
#[derive(Clone)]
#[non_exhaustive]
pub struct StoredCredential {
    /// The host key, e.g. `github.com`.
    pub host: String,
    /// The OAuth/GitHub App client id that minted the token (needed to refresh it).
    pub client_id: Option<String>,
    /// The user's login, if known.
    pub login: Option<String>,
    /// The access token.
    pub access_token: GitHubToken,
    /// The refresh token of an expiring GitHub App user token.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires (`None`: it does not, or it is unknown).
    pub expires_at: Option<SystemTime>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<SystemTime>,
    /// The granted scopes.
    pub scopes: Vec<String>,
}

impl StoredCredential {
    /// A credential holding only an access token.
    pub fn new(host: impl Into<String>, access_token: GitHubToken) -> Self {
        StoredCredential {
            host: host.into(),
            client_id: None,
            login: None,
            access_token,
            refresh_token: None,
            expires_at: None,
            refresh_token_expires_at: None,
            scopes: Vec::new(),
        }
    }

    /// The credential a token response describes.
    pub fn from_token_response(
        host: impl Into<String>,
        client_id: Option<String>,
        response: &GitHubTokenResponse,
    ) -> Self {
        StoredCredential {
            host: host.into(),
            client_id,
            login: None,
            access_token: response.access_token.clone(),
            refresh_token: response.refresh_token.clone(),
            expires_at: response.expires_at(),
            refresh_token_expires_at: response.refresh_token_expires_at(),
            scopes: response.scopes.clone(),
        }
    }

    /// Sets the login.
    pub fn with_login(mut self, login: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self
    }

    /// Takes the new pair from a refresh response. GitHub rotates refresh tokens (the old one dies), so the
    /// new one replaces it; a server that sends none keeps the old one valid.
    pub fn apply_refresh(&mut self, response: &GitHubTokenResponse) {
        self.access_token = response.access_token.clone();
        self.expires_at = response.expires_at();
        if let Some(refresh_token) = &response.refresh_token {
            self.refresh_token = Some(refresh_token.clone());
            self.refresh_token_expires_at = response.refresh_token_expires_at();
        }
        if !response.scopes.is_empty() {
            self.scopes = response.scopes.clone();
        }
    }

    /// Whether the access token expires within `skew` of `now` (never, if it has no expiry).
    pub fn expires_within(&self, now: SystemTime, skew: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| copilot_http::time::saturating_add(now, skew) >= at)
    }

    /// Whether the access token has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The refresh token, if there is one that has not expired at `now`.
    pub fn usable_refresh_token(&self, now: SystemTime) -> Option<&SecretString> {
        let alive = self.refresh_token_expires_at.is_none_or(|at| now < at);
        self.refresh_token.as_ref().filter(|_| alive)
    }
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("host", &self.host)
            .field("client_id", &self.client_id)
            .field("login", &self.login)
            .field("access_token", &self.access_token)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// The on-disk shape: times as Unix seconds, tokens as strings.
#[derive(Serialize)]
struct CredentialRecordRef<'a> {
    host: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login: Option<&'a str>,
    access_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_expires_at: Option<u64>,
    scopes: &'a [String],
}

#[derive(Deserialize)]
struct CredentialRecord {
    host: String,
    client_id: Option<String>,
    login: Option<String>,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<u64>,
    refresh_token_expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
}

impl Serialize for StoredCredential {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CredentialRecordRef {
            host: &self.host,
            client_id: self.client_id.as_deref(),
            login: self.login.as_deref(),
            access_token: self.access_token.expose_secret(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret()),
            expires_at: self.expires_at.map(unix_seconds),
            refresh_token_expires_at: self.refresh_token_expires_at.map(unix_seconds),
            scopes: &self.scopes,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StoredCredential {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let record = CredentialRecord::deserialize(deserializer)?;
        Ok(StoredCredential {
            host: record.host,
            client_id: record.client_id,
            login: record.login,
            access_token: GitHubToken::new(record.access_token),
            refresh_token: record.refresh_token.map(SecretString::from),
            expires_at: record.expires_at.map(from_unix_seconds),
            refresh_token_expires_at: record.refresh_token_expires_at.map(from_unix_seconds),
            scopes: record.scopes,
        })
    }
}

/// A stored credential with the version it was read at, for [`TokenStore::save_if_version`].
#[derive(Debug, Clone)]
pub struct VersionedCredential {
    /// The credential.
    pub credential: StoredCredential,
    /// Its version: every write makes a new one. Stores without versions report 0.
    pub version: u64,
}

/// A cross-process lease on one credential, from [`TokenStore::lock_refresh`]. The holder is the only
/// process refreshing that credential until it calls [`release`](Self::release) or the lease's time-to-live
/// runs out (so a crashed holder blocks the others for at most that long).
#[async_trait]
pub trait StoreLease: Send + Sync + fmt::Debug {
    /// Gives the lease up (a no-op if it already ran out and someone else holds it now).
    async fn release(self: Box<Self>) -> Result<(), AuthError>;
}

/// Somewhere to keep sign-ins between runs.
///
/// Implementations must make `save` atomic (a reader sees the old or the new credential, never a mix) and
/// must not log credentials.
///
/// Stores shared by several processes or machines (the Redis and PostgreSQL crates) also implement the
/// versioned methods and [`lock_refresh`](Self::lock_refresh), so that concurrent writers never lose an
/// update and a single-use refresh token is spent by exactly one process. The defaults suit stores used by
/// one process at a time: versions are always 0, a versioned save always saves, and no lease is needed
/// beyond the process-wide lock [`get_or_refresh`](crate::get_or_refresh) already holds.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The credential under `key`, if any.
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError>;
    /// Stores `credential` under `key`, replacing any previous one.
    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError>;
    /// Removes the credential under `key`; returns whether there was one.
    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError>;

    /// The credential under `key` with its current version.
    async fn load_versioned(
        &self,
        key: &CredentialKey,
    ) -> Result<Option<VersionedCredential>, AuthError> {
        Ok(self.load(key).await?.map(|credential| VersionedCredential {
            credential,
            version: 0,
        }))
    }

    /// Compare-and-set: stores `credential` only if the stored version is still `expected` (`None`: only if
    /// there is no credential under `key`). Returns whether it was stored; `false` means another writer got
    /// there first, and the caller should re-read.
    async fn save_if_version(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
        expected: Option<u64>,
    ) -> Result<bool, AuthError> {
        let _ = expected;
        self.save(key, credential).await?;
        Ok(true)
    }

    /// Waits for the cross-process refresh lease on `key` (held at most `ttl` unless released) and returns
    /// it, or `None` when the store is not shared between processes.
    async fn lock_refresh(
        &self,
        key: &CredentialKey,
        ttl: Duration,
    ) -> Result<Option<Box<dyn StoreLease>>, AuthError> {
        let _ = (key, ttl);
        Ok(None)
    }
}

#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        (**self).load(key).await
    }
    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        (**self).save(key, credential).await
    }
    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        (**self).delete(key).await
    }
    async fn load_versioned(
        &self,
        key: &CredentialKey,
    ) -> Result<Option<VersionedCredential>, AuthError> {
        (**self).load_versioned(key).await
    }
    async fn save_if_version(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
        expected: Option<u64>,
    ) -> Result<bool, AuthError> {
        (**self).save_if_version(key, credential, expected).await
    }
    async fn lock_refresh(
        &self,
        key: &CredentialKey,
        ttl: Duration,
    ) -> Result<Option<Box<dyn StoreLease>>, AuthError> {
        (**self).lock_refresh(key, ttl).await
    }
}
