//! The shared Copilot-token cache on any database ([`SealedTokenCache`]): the token sealed like every
//! record, the exchange lease taken and ended through the database's [`LeaseBackend`]. A database implements
//! [`TokenCacheBackend`] (read the sealed token; store it and end the lease in one step) and gets
//! copilot-token's [`SharedTokenCache`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use copilot_token::{LeaseId, SharedCopilotToken, SharedTokenCache, TokenError};

use crate::lease::LeaseBackend;
use crate::{Sealer, StoreError, copilot_token_ttl, read_cached_copilot_token, seal_copilot_token};

/// What a database does for the shared Copilot-token cache, beside its leases.
#[async_trait]
pub trait TokenCacheBackend: LeaseBackend {
    /// The sealed token of `identity`, if one is stored and has not expired.
    async fn load_token(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores the published token and ends its exchange lease if the publisher still holds it, as one atomic
    /// step (no process sees the lease ended without the token stored).
    async fn publish_token(&self, token: Publication<'_>) -> Result<(), StoreError>;
}

/// A token to store ([`TokenCacheBackend::publish_token`]).
#[derive(Debug)]
pub struct Publication<'a> {
    /// Whose token it is.
    pub identity: &'a str,
    /// The token, sealed.
    pub sealed: Vec<u8>,
    /// How long to keep it (until the token expires).
    pub ttl: Duration,
    /// The exchange lease to end.
    pub lease: &'a str,
    /// The publisher's hold on that lease (a lease someone else holds now stays).
    pub holder: &'a LeaseId,
}

/// One identity's shared Copilot token on a database `B` (`RedisTokenCache` and `PostgresTokenCache` in the
/// store crates): sealed under the store's keys, published by the holder of the exchange lease.
#[derive(Clone, Debug)]
pub struct SealedTokenCache<B> {
    backend: B,
    sealer: Sealer,
    identity: String,
    lease: String,
}

impl<B> SealedTokenCache<B> {
    /// The cache of `identity` (a user on a host, e.g. `github.com/octocat`) on `backend`, sealing with
    /// `sealer`, exchanging under the lease named `lease`.
    pub fn new(
        backend: B,
        sealer: Sealer,
        identity: impl Into<String>,
        lease: impl Into<String>,
    ) -> Self {
        SealedTokenCache {
            backend,
            sealer,
            identity: identity.into(),
            lease: lease.into(),
        }
    }

    /// The identity whose token this is.
    pub fn identity(&self) -> &str {
        &self.identity
    }
}

#[async_trait]
impl<B: TokenCacheBackend> SharedTokenCache for SealedTokenCache<B> {
    async fn load(&self) -> Result<Option<SharedCopilotToken>, TokenError> {
        let sealed = self.backend.load_token(&self.identity).await?;
        Ok(read_cached_copilot_token(
            &self.sealer,
            &self.identity,
            sealed,
        ))
    }

    async fn try_lease(&self, ttl: Duration) -> Result<Option<LeaseId>, TokenError> {
        Ok(self.backend.take(&self.lease, ttl).await?)
    }

    async fn publish(&self, token: &SharedCopilotToken, lease: &LeaseId) -> Result<(), TokenError> {
        let sealed = seal_copilot_token(&self.sealer, &self.identity, token)?;
        let ttl = copilot_token_ttl(token, SystemTime::now());
        let publication = Publication {
            identity: &self.identity,
            sealed,
            ttl,
            lease: &self.lease,
            holder: lease,
        };
        Ok(self.backend.publish_token(publication).await?)
    }

    async fn release(&self, lease: &LeaseId) -> Result<(), TokenError> {
        Ok(self.backend.release(&self.lease, lease).await?)
    }
}
