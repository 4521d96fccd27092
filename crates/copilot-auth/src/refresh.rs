//! Refreshing expiring GitHub App user tokens, and [`get_or_refresh`] on top of a [`TokenStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use copilot_http::GitHubHost;
use copilot_http::time::{Clock, SharedClock};
use secrecy::{ExposeSecret, SecretString};

use crate::http::{HttpContext, http_setters};
use crate::{
    AuthError, CredentialKey, GitHubToken, GitHubTokenResponse, StoredCredential, TokenStore,
};

/// Refreshes an access token with the `refresh_token` grant (`POST {web}/login/oauth/access_token`).
///
/// Refresh tokens are single use: the answer carries a new access token *and* a new refresh token, and the
/// old refresh token stops working. Persist the new pair before using it ([`get_or_refresh`] does).
#[derive(Debug, Clone)]
pub struct TokenRefresher {
    host: GitHubHost,
    client_id: String,
    client_secret: Option<SecretString>,
    http: HttpContext,
}

impl TokenRefresher {
    /// A refresher for tokens minted by `client_id` on `host`. Tokens from the device flow refresh without
    /// a client secret; tokens from the web flow need [`TokenRefresher::client_secret`].
    pub fn new(host: GitHubHost, client_id: impl Into<String>) -> Self {
        TokenRefresher {
            host,
            client_id: client_id.into(),
            client_secret: None,
            http: HttpContext::default(),
        }
    }

    /// Sends `client_secret` with every refresh (web-flow tokens).
    pub fn client_secret(mut self, client_secret: SecretString) -> Self {
        self.client_secret = Some(client_secret);
        self
    }

    http_setters!(clock: "The clock that stamps token responses (default: system clock).");

    pub(crate) fn with_http(mut self, http: HttpContext) -> Self {
        self.http = http;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Trades `refresh_token` for a new token pair. A rejected refresh token is
    /// [`AuthError::BadRefreshToken`].
    pub async fn refresh(
        &self,
        refresh_token: &SecretString,
    ) -> Result<GitHubTokenResponse, AuthError> {
        let mut form = vec![("client_id", self.client_id.as_str())];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        form.push(("grant_type", "refresh_token"));
        form.push(("refresh_token", refresh_token.expose_secret()));
        let response = self
            .http
            .request_token(&self.host, &form)
            .await?
            .into_token("refresh_token")?;
        tracing::debug!("token refreshed");
        Ok(response)
    }
}

/// Something that can refresh a stored credential: [`TokenRefresher`], or a test double.
#[async_trait]
pub trait CredentialRefresher: Send + Sync {
    /// Refreshes `credential` (which has a refresh token), returning the new token pair.
    async fn refresh_credential(
        &self,
        credential: &StoredCredential,
    ) -> Result<GitHubTokenResponse, AuthError>;
}

#[async_trait]
impl CredentialRefresher for TokenRefresher {
    async fn refresh_credential(
        &self,
        credential: &StoredCredential,
    ) -> Result<GitHubTokenResponse, AuthError> {
        let refresh_token = credential
            .refresh_token
            .as_ref()
            .ok_or_else(|| AuthError::sign_in_required("the credential has no refresh token"))?;
        if credential
            .client_id
            .as_deref()
            .is_some_and(|id| id != self.client_id)
        {
            tracing::warn!(
                "refreshing a credential minted by a different client id; GitHub will likely refuse"
            );
        }
        self.refresh(refresh_token).await
    }
}

/// Settings of [`get_or_refresh_with`], and the memory it keeps between calls.
///
/// Clones share that memory: a refreshed token pair whose save failed (see
/// [`save_failure_handler`](Self::save_failure_handler)). Refresh tokens are single use, so once
/// GitHub rotated the pair, the one in the store is dead; the new pair lives here until a later call saves it.
/// Reuse one `RefreshOptions` (or clones of it) for a store, rather than a new one per call.
#[derive(Clone)]
pub struct RefreshOptions {
    skew: Duration,
    clock: SharedClock,
    lease_ttl: Duration,
    unsaved: Arc<Mutex<HashMap<CredentialKey, Unsaved>>>,
    on_save_failure: Option<SaveFailureHandler>,
}

/// Called with the key and the store's error when a refreshed pair could not be saved (see
/// [`RefreshOptions::save_failure_handler`]).
type SaveFailureHandler = Arc<dyn Fn(&CredentialKey, &AuthError) + Send + Sync>;

/// A refreshed credential the store refused, and the version it replaces (for the compare-and-set retry).
#[derive(Clone)]
struct Unsaved {
    credential: StoredCredential,
    version: u64,
}

impl fmt::Debug for RefreshOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshOptions")
            .field("skew", &self.skew)
            .field("lease_ttl", &self.lease_ttl)
            .field("unsaved", &self.unsaved_count())
            .finish_non_exhaustive()
    }
}

/// How long a shared store's refresh lease lasts by default: longer than a refresh takes (with retries), short
/// enough that a crashed holder does not keep the others waiting long.
pub const DEFAULT_REFRESH_LEASE_TTL: Duration = Duration::from_secs(30);

impl Default for RefreshOptions {
    /// Refresh 5 minutes before expiry, by the system clock.
    fn default() -> Self {
        RefreshOptions {
            skew: Duration::from_secs(300),
            clock: SharedClock::system(),
            lease_ttl: DEFAULT_REFRESH_LEASE_TTL,
            unsaved: Arc::default(),
            on_save_failure: None,
        }
    }
}

impl RefreshOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refresh when the token expires within `skew` (default 5 minutes).
    pub fn skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The clock (default: system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// How long the cross-process refresh lease of a shared store lasts (default
    /// [`DEFAULT_REFRESH_LEASE_TTL`]); a process that dies while refreshing blocks the others this long.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Called (besides a `warn!` log) whenever a refreshed pair could not be saved: the refresh itself
    /// worked, the caller got the new token, and the pair is kept in memory and saved again on the next call
    /// for that key. The error is the store's; it carries no secret.
    pub fn save_failure_handler(
        mut self,
        handler: impl Fn(&CredentialKey, &AuthError) + Send + Sync + 'static,
    ) -> Self {
        self.on_save_failure = Some(Arc::new(handler));
        self
    }

    /// How many refreshed credentials are waiting in memory because their save failed.
    pub fn unsaved_count(&self) -> usize {
        self.unsaved_map().len()
    }

    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }

    fn unsaved_map(&self) -> std::sync::MutexGuard<'_, HashMap<CredentialKey, Unsaved>> {
        self.unsaved.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unsaved(&self, key: &CredentialKey) -> Option<Unsaved> {
        self.unsaved_map().get(key).cloned()
    }

    fn forget_unsaved(&self, key: &CredentialKey) {
        self.unsaved_map().remove(key);
    }

    fn keep_unsaved(&self, key: &CredentialKey, unsaved: Unsaved, error: &AuthError) {
        tracing::warn!(%error, key = %key,
            "could not save the refreshed GitHub token; keeping it in memory and saving it again on the next use");
        self.unsaved_map().insert(key.clone(), unsaved);
        if let Some(handler) = &self.on_save_failure {
            handler(key, error);
        }
    }
}

/// The process-wide single-flight locks, one per credential key while anyone uses it.
fn refresh_lock(key: &CredentialKey) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<CredentialKey, Weak<tokio::sync::Mutex<()>>>>> =
        OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    locks.retain(|_, lock| lock.strong_count() > 0);
    if let Some(lock) = locks.get(key).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(key.clone(), Arc::downgrade(&lock));
    lock
}

fn secrets_equal(a: &SecretString, b: &SecretString) -> bool {
    copilot_http::sensitive::constant_time_eq(a.expose_secret(), b.expose_secret())
}

/// A valid access token for `key`: the stored one, or (if it expires within 5 minutes) a refreshed one,
/// saved to `store` before it is returned. See [`get_or_refresh_with`].
pub async fn get_or_refresh(
    store: &dyn TokenStore,
    key: &CredentialKey,
    refresher: &dyn CredentialRefresher,
) -> Result<GitHubToken, AuthError> {
    get_or_refresh_with(store, key, refresher, &RefreshOptions::default()).await
}

/// A valid access token for `key`.
///
/// - No stored credential: [`AuthError::SignInRequired`].
/// - A token without expiry, or one valid beyond `skew`: returned as is.
/// - Otherwise refreshes it, single-flight per key within the process (concurrent callers wait and then
///   find the fresh token in the store), and saves the new pair **before** returning the new token.
/// - With a store shared between processes ([`TokenStore::lock_refresh`] returns a lease) the refresh is
///   single-flight across all of them too: the others wait for the lease, then find the fresh token. The new
///   pair is written with compare-and-set against the version that was refreshed.
/// - `bad_refresh_token`: re-reads the store once (another process may have won a rotation race and saved
///   a fresh pair); if that does not help, [`AuthError::SignInRequired`].
/// - A transient refresh failure while the old token has not expired yet returns the old token.
/// - A store that fails to save the new pair does not fail the call: GitHub already rotated the pair, so the
///   new token is returned, the pair is kept in `options` (shared by its clones) and saved again on the next
///   call for `key`, and the failure is reported through `warn!` and
///   [`RefreshOptions::save_failure_handler`]. Until then the store holds a dead refresh token, so other
///   processes sharing the store will have to sign in again if they refresh first.
pub async fn get_or_refresh_with(
    store: &dyn TokenStore,
    key: &CredentialKey,
    refresher: &dyn CredentialRefresher,
    options: &RefreshOptions,
) -> Result<GitHubToken, AuthError> {
    // A pair that could not be saved earlier is the live one; saving it again happens under the lock.
    if options.unsaved(key).is_none() {
        let credential = load_required(store, key).await?;
        if !credential.expires_within(options.clock.now(), options.skew) {
            return Ok(credential.access_token);
        }
    }
    Refresh::new(store, key, refresher, options)
        .locked(None)
        .await
}

/// Refreshes after GitHub rejected `rejected` with 401 Bad credentials: if the store still holds that
/// token, refresh it (single-flight); if another caller already replaced it, return the replacement.
pub async fn refresh_after_rejection(
    store: &dyn TokenStore,
    key: &CredentialKey,
    refresher: &dyn CredentialRefresher,
    rejected: &GitHubToken,
    options: &RefreshOptions,
) -> Result<GitHubToken, AuthError> {
    Refresh::new(store, key, refresher, options)
        .locked(Some(rejected))
        .await
}

fn no_stored_credential(key: &CredentialKey) -> AuthError {
    AuthError::sign_in_required(format!("no stored credential for {key}"))
}

/// The stored GitHub token of `key` if it can be used now: `Ok(None)` when nothing is stored; with a
/// `refresher`, [`get_or_refresh_with`] (refreshed and saved when it expires within the skew); without one,
/// the stored token unless it has expired ([`AuthError::SignInRequired`]). The one rule for every reader of
/// a stored login (credential sources, copilot-sdk's client pool and store-backed clients).
pub async fn load_usable(
    store: &dyn TokenStore,
    key: &CredentialKey,
    refresher: Option<&dyn CredentialRefresher>,
    options: &RefreshOptions,
) -> Result<Option<GitHubToken>, AuthError> {
    if let Some(refresher) = refresher {
        return match get_or_refresh_with(store, key, refresher, options).await {
            Ok(token) => Ok(Some(token)),
            // Only "nothing stored" is `None`; an unusable stored login stays an error.
            Err(AuthError::SignInRequired { .. }) if store.load(key).await?.is_none() => Ok(None),
            Err(error) => Err(error),
        };
    }
    let Some(credential) = store.load(key).await? else {
        return Ok(None);
    };
    if credential.is_expired(options.now()) {
        return Err(AuthError::sign_in_required(format!(
            "the stored credential for {key} has expired"
        )));
    }
    Ok(Some(credential.access_token))
}

async fn load_required(
    store: &dyn TokenStore,
    key: &CredentialKey,
) -> Result<StoredCredential, AuthError> {
    store
        .load(key)
        .await?
        .ok_or_else(|| no_stored_credential(key))
}

/// What a refresh works on: the credential's store and key, the refresher, and the options.
#[derive(Clone, Copy)]
struct Refresh<'a> {
    store: &'a dyn TokenStore,
    key: &'a CredentialKey,
    refresher: &'a dyn CredentialRefresher,
    options: &'a RefreshOptions,
}

impl<'a> Refresh<'a> {
    fn new(
        store: &'a dyn TokenStore,
        key: &'a CredentialKey,
        refresher: &'a dyn CredentialRefresher,
        options: &'a RefreshOptions,
    ) -> Self {
        Refresh {
            store,
            key,
            refresher,
            options,
        }
    }

    /// Refreshes under the process's single-flight lock for the key and, with a shared store, its lease.
    async fn locked(self, rejected: Option<&GitHubToken>) -> Result<GitHubToken, AuthError> {
        let key = self.key;
        let lock = refresh_lock(key);
        let _single_flight = lock.lock().await;
        // Across processes (shared stores only): a refresh token is single use.
        let lease = self.store.lock_refresh(key, self.options.lease_ttl).await?;
        let outcome = self.leased(rejected).await;
        if let Some(lease) = lease
            && let Err(error) = lease.release().await
        {
            // The lease runs out by itself; the refresh already succeeded or failed on its own terms.
            tracing::warn!(%error, key = %key, "could not release the refresh lease");
        }
        outcome
    }

    /// Saves a pair kept from an earlier failed save. Returns it when the store still refuses (it stays the
    /// live credential); `None` once it is saved, or when another writer replaced the credential meanwhile (a
    /// new sign-in: theirs wins).
    async fn retry_unsaved_save(self) -> Option<Unsaved> {
        let (key, options) = (self.key, self.options);
        let unsaved = options.unsaved(key)?;
        match self
            .store
            .save_if_version(key, &unsaved.credential, Some(unsaved.version))
            .await
        {
            Ok(saved) => {
                if saved {
                    tracing::debug!(key = %key, "saved the refreshed GitHub token kept from a failed save");
                } else {
                    tracing::warn!(key = %key,
                        "the credential changed while a refreshed one waited to be saved; keeping the newer one");
                }
                options.forget_unsaved(key);
                None
            }
            Err(error) => {
                options.keep_unsaved(key, unsaved.clone(), &error);
                Some(unsaved)
            }
        }
    }

    /// Refreshes, holding the locks: unless the credential was replaced or refreshed meanwhile.
    async fn leased(self, rejected: Option<&GitHubToken>) -> Result<GitHubToken, AuthError> {
        let Refresh {
            store,
            key,
            refresher,
            options,
        } = self;
        let (credential, version) = match self.retry_unsaved_save().await {
            Some(unsaved) => (unsaved.credential, unsaved.version),
            None => {
                // Someone may have refreshed while this caller waited for the lock.
                let versioned = store
                    .load_versioned(key)
                    .await?
                    .ok_or_else(|| no_stored_credential(key))?;
                (versioned.credential, versioned.version)
            }
        };
        let now = options.clock.now();
        let still_rejected = rejected
            .is_none_or(|r| secrets_equal(r.as_secret(), credential.access_token.as_secret()));
        if !still_rejected || (rejected.is_none() && !credential.expires_within(now, options.skew))
        {
            return Ok(credential.access_token);
        }

        let Some(used_refresh_token) = credential.usable_refresh_token(now).cloned() else {
            if rejected.is_none() && !credential.is_expired(now) {
                return Ok(credential.access_token);
            }
            return Err(AuthError::sign_in_required(
                "the access token expired and there is no usable refresh token",
            ));
        };

        tracing::debug!(key = %key, "refreshing GitHub token");
        match refresher.refresh_credential(&credential).await {
            Ok(response) => {
                let mut updated = credential;
                updated.apply_refresh(&response);
                // Persist first: the old refresh token is already dead. If the store fails, the new pair is the
                // only live one: hand the token out and keep the pair for the next call to save.
                match store.save_if_version(key, &updated, Some(version)).await {
                    Ok(true) => {
                        options.forget_unsaved(key);
                        return Ok(updated.access_token);
                    }
                    Ok(false) => options.forget_unsaved(key),
                    Err(error) => {
                        let token = updated.access_token.clone();
                        let unsaved = Unsaved {
                            credential: updated,
                            version,
                        };
                        options.keep_unsaved(key, unsaved, &error);
                        return Ok(token);
                    }
                }
                // Another writer changed the credential meanwhile (a lease that ran out, or a new sign-in).
                // Theirs is newer than what we refreshed: keep it, and hand out ours only if theirs is unusable.
                tracing::warn!(key = %key,
                    "the credential changed while it was being refreshed; keeping the newer one");
                match store.load(key).await? {
                    Some(latest) if !latest.is_expired(options.clock.now()) => {
                        Ok(latest.access_token)
                    }
                    _ => Ok(updated.access_token),
                }
            }
            Err(AuthError::BadRefreshToken) => {
                if let Some(latest) = store.load(key).await? {
                    let rotated_elsewhere = latest
                        .refresh_token
                        .as_ref()
                        .is_some_and(|t| !secrets_equal(t, &used_refresh_token));
                    if rotated_elsewhere
                        && !latest.expires_within(options.clock.now(), options.skew)
                    {
                        tracing::debug!(key = %key, "another process refreshed first; using its token");
                        return Ok(latest.access_token);
                    }
                }
                Err(AuthError::sign_in_required(
                    "the refresh token was rejected (bad_refresh_token)",
                ))
            }
            Err(error)
                if error.is_transient() && rejected.is_none() && !credential.is_expired(now) =>
            {
                tracing::debug!(%error, "refresh failed transiently; the current token is still valid");
                Ok(credential.access_token)
            }
            Err(error) => Err(error),
        }
    }
}
