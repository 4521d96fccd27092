//! A Copilot-token cache shared by several processes, so that one exchange serves a whole fleet.
//!
//! A [`TokenManager`](crate::TokenManager) is single-flight within its process. Several processes (or machines)
//! serving the same user would still each exchange at expiry; give their managers one [`SharedTokenCache`]
//! (the Redis and PostgreSQL store crates implement it) and, when the token is due, the manager
//!
//! 1. reads the shared entry and uses it if it is not due yet (and is not a token the Copilot API just
//!    rejected);
//! 2. otherwise tries to take the cache's lease (time-limited, so a holder that dies mid-exchange is replaced
//!    once the lease runs out), re-reads, exchanges, and publishes the new token (which also ends the lease);
//! 3. without the lease, polls the entry until the holder publishes, or takes the lease over when it runs out.
//!
//! Without a shared cache the manager's own lock is the whole story: single-flight within the process.
//! [`InProcessTokenCache`] is the same protocol within one process, for managers that share a user there and
//! for testing a cache's contract.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::{CopilotToken, TokenError, TokenExchanger};

/// How long a lease lasts by default: longer than an exchange takes with its retries.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// A Copilot token as it is shared: the envelope ([`CopilotToken::envelope_json`]) and when it was fetched.
/// `Debug` redacts the envelope.
#[derive(Debug, Clone)]
pub struct SharedCopilotToken {
    /// The exchange's JSON envelope, including the token.
    pub envelope: SecretString,
    /// When the exchanging process received it (its local clock).
    pub fetched_at: SystemTime,
}

impl SharedCopilotToken {
    /// The shared form of `token`.
    pub fn from_token(token: &CopilotToken) -> Self {
        SharedCopilotToken {
            envelope: token.envelope_json(),
            fetched_at: token.fetched_at(),
        }
    }

    /// The envelope's `expires_at`, read as a fresh exchange reads it (integer or float seconds, saturating
    /// at year 9999), or `None` when the envelope has none. For a cache's time-to-live; it checks nothing
    /// else.
    pub fn expires_at(&self) -> Option<SystemTime> {
        let envelope: serde_json::Value =
            serde_json::from_str(self.envelope.expose_secret()).ok()?;
        crate::token::seconds(envelope.get("expires_at")?)
            .map(copilot_http::time::from_unix_seconds)
    }

    /// Decodes it back, checking the base URL against `exchanger`'s host like a fresh exchange.
    pub fn decode(&self, exchanger: &TokenExchanger) -> Result<CopilotToken, TokenError> {
        CopilotToken::from_json(
            self.envelope.expose_secret().as_bytes(),
            self.fetched_at,
            exchanger.host(),
        )
    }
}

/// Identifies one holding of a lease (random, chosen by the cache), so that only its holder ends it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseId(String);

impl LeaseId {
    /// Wraps an id the cache generated.
    pub fn new(id: impl Into<String>) -> Self {
        LeaseId(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One user's Copilot token, shared by every process that serves that user, with a lease that elects the one
/// process that exchanges. A cache value is bound to one identity (one user on one host): create one per
/// user.
///
/// Contract:
/// - [`load`](Self::load) returns the last published token (`None` if there is none, or if the stored entry
///   cannot be read back, which the next publish repairs).
/// - [`try_lease`](Self::try_lease) atomically takes the lease if nobody holds it or the holder's lease ran
///   out, for `ttl`; `None` if someone else holds it.
/// - [`publish`](Self::publish) stores the token and then ends `lease` if it is still that holder's.
/// - [`release`](Self::release) ends `lease` if it is still that holder's.
#[async_trait]
pub trait SharedTokenCache: Send + Sync + fmt::Debug {
    /// The published token, if any.
    async fn load(&self) -> Result<Option<SharedCopilotToken>, TokenError>;
    /// Takes the lease for `ttl` if it is free.
    async fn try_lease(&self, ttl: Duration) -> Result<Option<LeaseId>, TokenError>;
    /// Publishes `token` and ends `lease`.
    async fn publish(&self, token: &SharedCopilotToken, lease: &LeaseId) -> Result<(), TokenError>;
    /// Ends `lease` without publishing (the exchange failed).
    async fn release(&self, lease: &LeaseId) -> Result<(), TokenError>;
}

/// Timing of the shared-cache protocol.
#[derive(Debug, Clone)]
pub struct SharedCacheOptions {
    lease_ttl: Duration,
    poll_interval: Duration,
    max_wait: Duration,
}

impl Default for SharedCacheOptions {
    /// A 30 s lease, polling every 50 ms, waiting at most 75 s (two leases and some) for another holder.
    fn default() -> Self {
        SharedCacheOptions {
            lease_ttl: DEFAULT_LEASE_TTL,
            poll_interval: Duration::from_millis(50),
            max_wait: DEFAULT_LEASE_TTL * 2 + Duration::from_secs(15),
        }
    }
}

impl SharedCacheOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a lease lasts unless its holder publishes or releases first; a holder that dies blocks the
    /// others this long.
    pub fn lease_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.lease_ttl = ttl.into().max(Duration::from_millis(100));
        self
    }

    /// How often a waiting process looks for the holder's result.
    pub fn poll_interval(mut self, interval: impl Into<Duration>) -> Self {
        self.poll_interval = interval.into().max(Duration::from_millis(1));
        self
    }

    /// How long a process waits for other holders before giving up with [`TokenError::SharedCache`].
    pub fn max_wait(mut self, wait: impl Into<Duration>) -> Self {
        self.max_wait = wait.into();
        self
    }
}

/// The manager's side of the protocol: the cache, its options, and the bearer the API last rejected.
pub(crate) struct SharedSlot {
    cache: Arc<dyn SharedTokenCache>,
    options: SharedCacheOptions,
    /// A token the Copilot API rejected (or the caller forced past): not to be taken from the cache again.
    rejected: Mutex<Option<SecretString>>,
}

impl fmt::Debug for SharedSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSlot")
            .field("cache", &self.cache)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SharedSlot {
    pub(crate) fn new(cache: Arc<dyn SharedTokenCache>, options: SharedCacheOptions) -> Self {
        SharedSlot {
            cache,
            options,
            rejected: Mutex::new(None),
        }
    }

    /// Never take `bearer` from the shared cache again.
    pub(crate) fn reject(&self, bearer: &SecretString) {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = Some(bearer.clone());
    }

    /// The shared token if it can be used now.
    fn usable(
        &self,
        shared: Option<SharedCopilotToken>,
        exchanger: &TokenExchanger,
        fresh_until: &(dyn Fn(&CopilotToken) -> SystemTime + Sync),
    ) -> Option<CopilotToken> {
        let token = match shared?.decode(exchanger) {
            Ok(token) => token,
            Err(error) => {
                tracing::warn!(%error, "the shared Copilot token does not decode; exchanging anew");
                return None;
            }
        };
        let rejected = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        if rejected.as_ref().is_some_and(|r| {
            copilot_http::sensitive::constant_time_eq(
                r.expose_secret(),
                token.secret().expose_secret(),
            )
        }) {
            return None;
        }
        (exchanger.clock().now() < fresh_until(&token)).then_some(token)
    }

    /// A Copilot token from the shared cache, or from `exchange` run by whichever process wins the lease.
    /// `exchange` is not polled unless this process holds the lease and finds no fresh token.
    pub(crate) async fn get_or_exchange(
        &self,
        exchanger: &TokenExchanger,
        fresh_until: &(dyn Fn(&CopilotToken) -> SystemTime + Sync),
        exchange: impl Future<Output = Result<CopilotToken, TokenError>> + Send,
    ) -> Result<CopilotToken, TokenError> {
        let clock = exchanger.clock();
        let deadline = copilot_http::time::saturating_add(clock.now(), self.options.max_wait);
        loop {
            if let Some(token) = self.usable(self.cache.load().await?, exchanger, fresh_until) {
                return Ok(token);
            }
            if let Some(lease) = self.cache.try_lease(self.options.lease_ttl).await? {
                return self
                    .exchange_leased(lease, exchanger, fresh_until, exchange)
                    .await;
            }
            if clock.now() >= deadline {
                return Err(TokenError::shared_cache(format!(
                    "no Copilot token was published within {:?} while another process held the lease",
                    self.options.max_wait
                )));
            }
            exchanger.sleep().sleep(self.options.poll_interval).await;
        }
    }

    async fn exchange_leased(
        &self,
        lease: LeaseId,
        exchanger: &TokenExchanger,
        fresh_until: &(dyn Fn(&CopilotToken) -> SystemTime + Sync),
        exchange: impl Future<Output = Result<CopilotToken, TokenError>> + Send,
    ) -> Result<CopilotToken, TokenError> {
        // The previous holder may have published between our read and our lease.
        let again = match self.cache.load().await {
            Ok(shared) => self.usable(shared, exchanger, fresh_until),
            Err(error) => {
                self.release(&lease).await;
                return Err(error);
            }
        };
        if let Some(token) = again {
            self.release(&lease).await;
            return Ok(token);
        }
        match exchange.await {
            Ok(token) => {
                if let Err(error) = self
                    .cache
                    .publish(&SharedCopilotToken::from_token(&token), &lease)
                    .await
                {
                    // The token is good; the others exchange themselves once the lease runs out.
                    tracing::warn!(%error, "could not publish the Copilot token to the shared cache");
                }
                *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = None;
                Ok(token)
            }
            Err(error) => {
                self.release(&lease).await;
                Err(error)
            }
        }
    }

    async fn release(&self, lease: &LeaseId) {
        if let Err(error) = self.cache.release(lease).await {
            tracing::warn!(%error, "could not release the shared-cache lease; it runs out by itself");
        }
    }
}

/// The [`SharedTokenCache`] of every identity in one place: what a multi-user pool
/// (`copilot_sdk::ClientPool`) needs to give each user's manager that user's cache. The Redis and PostgreSQL
/// stores implement it over their databases; [`InProcessTokenCaches`] within one process.
///
/// An identity names one user on one host, optionally narrowed to one GitHub token (e.g.
/// `github.com/octocat`); equal identities must map to the same shared entry in every process, different ones
/// to different entries.
pub trait SharedTokenCaches: Send + Sync + fmt::Debug {
    /// The cache of `identity`.
    fn cache_for(&self, identity: &str) -> Arc<dyn SharedTokenCache>;
}

/// [`SharedTokenCaches`] within one process: one [`InProcessTokenCache`] per identity, made on first use and
/// kept for the value's lifetime (one slot per identity, so bounded by the number of users served).
#[derive(Debug, Default, Clone)]
pub struct InProcessTokenCaches {
    caches: Arc<Mutex<std::collections::HashMap<String, InProcessTokenCache>>>,
}

impl InProcessTokenCaches {
    /// No caches yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SharedTokenCaches for InProcessTokenCaches {
    fn cache_for(&self, identity: &str) -> Arc<dyn SharedTokenCache> {
        let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::new(caches.entry(identity.to_owned()).or_default().clone())
    }
}

/// [`SharedTokenCache`] within one process: one token slot and one lease, shared by the managers it is given
/// to (clone it, or wrap it in an `Arc`).
#[derive(Debug, Default, Clone)]
pub struct InProcessTokenCache {
    state: Arc<Mutex<InProcessState>>,
}

#[derive(Default)]
struct InProcessState {
    token: Option<SharedCopilotToken>,
    lease: Option<(LeaseId, std::time::Instant)>,
    next_lease: u64,
}

impl fmt::Debug for InProcessState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessState")
            .field("has_token", &self.token.is_some())
            .field("leased", &self.lease.is_some())
            .finish()
    }
}

impl InProcessTokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, InProcessState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SharedTokenCache for InProcessTokenCache {
    async fn load(&self) -> Result<Option<SharedCopilotToken>, TokenError> {
        Ok(self.state().token.clone())
    }

    async fn try_lease(&self, ttl: Duration) -> Result<Option<LeaseId>, TokenError> {
        let mut state = self.state();
        let now = std::time::Instant::now();
        if state.lease.as_ref().is_some_and(|(_, until)| now < *until) {
            return Ok(None);
        }
        state.next_lease += 1;
        let id = LeaseId::new(state.next_lease.to_string());
        state.lease = Some((id.clone(), now + ttl));
        Ok(Some(id))
    }

    async fn publish(&self, token: &SharedCopilotToken, lease: &LeaseId) -> Result<(), TokenError> {
        let mut state = self.state();
        state.token = Some(token.clone());
        if state.lease.as_ref().is_some_and(|(id, _)| id == lease) {
            state.lease = None;
        }
        Ok(())
    }

    async fn release(&self, lease: &LeaseId) -> Result<(), TokenError> {
        let mut state = self.state();
        if state.lease.as_ref().is_some_and(|(id, _)| id == lease) {
            state.lease = None;
        }
        Ok(())
    }
}
