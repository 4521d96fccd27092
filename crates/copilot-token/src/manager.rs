//! The cached, single-flight source of Copilot credentials.
//!
//! Fast path: a `std::sync::RwLock` read of an `Arc` and a clock read. Writers hold the write lock only to swap
//! the `Arc`, never across an `.await`. Slow path: a `tokio::sync::Mutex` serialises refreshes; whoever gets it
//! re-checks the cache first, so N callers at expiry cause one exchange. Callers that queued behind a failed
//! attempt get that attempt's error instead of starting their own, so a failing server sees one request per
//! attempt, not one per caller.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use copilot_core::{CopilotAuth, CopilotCredentials, CredentialError, CredentialTag, GitHubToken};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::shared::{SharedCacheOptions, SharedSlot, SharedTokenCache};
use crate::{
    AuthMode, CopilotToken, CopilotUserInfo, GitHubTokenProvider, TokenError, TokenExchanger,
};

/// The default safety margin before `expires_at`.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(60);
/// How often direct mode asks the provider for the GitHub token again by default (so an expiring GitHub App
/// token is replaced by the provider's refresh).
pub const DEFAULT_DIRECT_RECHECK: Duration = Duration::from_secs(300);
/// The shortest time a freshly fetched token is reused, so a server (or local clock) that makes every token
/// look already due cannot turn each call into an exchange.
pub(crate) const MIN_REUSE: Duration = Duration::from_secs(10);
/// How long a still-valid token keeps being served after a transient refresh failure before trying again.
const STALE_RETRY_AFTER: Duration = Duration::from_secs(5);
/// After a failed attempt, callers get its error without a new attempt for this long, doubling with each
/// further failure up to [`MAX_FAILURE_BACKOFF`]; a success resets it. Without it, every sequential caller
/// ran a full attempt (with its retries) against a server that is failing.
pub const MIN_FAILURE_BACKOFF: Duration = Duration::from_secs(1);
/// The longest time one failure is handed out again instead of attempting a new exchange.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(60);

const AUTO_UNDECIDED: u8 = 0;
const AUTO_EXCHANGE: u8 = 1;
const AUTO_DIRECT: u8 = 2;

/// A cache entry: credentials, how they were obtained, and when to stop handing them out.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) credentials: CopilotCredentials,
    /// The generation, also the credentials' [`CredentialTag`].
    pub(crate) generation: u64,
    /// [`AuthMode::Exchange`] or [`AuthMode::Direct`].
    pub(crate) mode: AuthMode,
    /// The exchanged token with its envelope, in exchange mode.
    pub(crate) copilot_token: Option<Arc<CopilotToken>>,
    pub(crate) refresh_at: SystemTime,
}

impl Cached {
    fn issued(&self, credentials: &CopilotCredentials) -> bool {
        credentials.tag == Some(CredentialTag::new(self.generation))
    }
}

/// The outcome of the last attempt when it failed, and how long it stands in for new attempts.
struct LastFailure {
    /// Which attempt (`completed_attempts` after it finished).
    attempt: u64,
    error: TokenError,
    /// When it finished, by the exchanger's clock.
    at: SystemTime,
    /// How long after `at` callers get `error` instead of a new attempt.
    backoff: Duration,
}

impl LastFailure {
    fn backs_off(&self, now: SystemTime) -> bool {
        self.at
            .checked_add(self.backoff)
            .is_none_or(|until| now < until)
    }
}

/// The optional settings of a manager: written by [`TokenManagerBuilder`]'s setters, read by the manager.
struct Settings {
    mode: AuthMode,
    skew: Duration,
    direct_recheck: Duration,
    base_url_override: Option<Url>,
    /// The cross-process Copilot-token cache, if any (see `shared.rs`).
    shared: Option<SharedSlot>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: AuthMode::default(),
            skew: DEFAULT_REFRESH_SKEW,
            direct_recheck: DEFAULT_DIRECT_RECHECK,
            base_url_override: None,
            shared: None,
        }
    }
}

pub(crate) struct Inner {
    exchanger: TokenExchanger,
    provider: Arc<dyn GitHubTokenProvider>,
    settings: Settings,
    cache: RwLock<Option<Arc<Cached>>>,
    refresh: tokio::sync::Mutex<()>,
    generations: AtomicU64,
    completed_attempts: AtomicU64,
    last_failure: Mutex<Option<LastFailure>>,
    auto_decision: AtomicU8,
    /// A GitHub token the Copilot API rejected in direct mode: the next fetch asks the provider to refresh it.
    suspect_github_token: Mutex<Option<GitHubToken>>,
    /// The direct-mode base URL from `copilot_internal/user`, resolved once per GitHub token.
    direct_base_url: Mutex<Option<Url>>,
    pub(crate) shutdown: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Wakes background refreshers so they exit promptly.
        self.shutdown.cancel();
    }
}

/// Hands out Copilot credentials, exchanging and refreshing GitHub tokens as needed.
///
/// Cheap to clone (an `Arc` inside); clones share one cache. See the [crate docs](crate) for the refresh
/// policy. One manager serves one identity: one [`GitHubTokenProvider`] on one GitHub host.
#[derive(Clone)]
pub struct TokenManager {
    pub(crate) inner: Arc<Inner>,
}

/// Options for a [`TokenManager`].
pub struct TokenManagerBuilder {
    exchanger: TokenExchanger,
    provider: Arc<dyn GitHubTokenProvider>,
    settings: Settings,
}

impl fmt::Debug for TokenManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManagerBuilder")
            .field("host", &self.exchanger.host().key())
            .field("mode", &self.settings.mode)
            .field("skew", &self.settings.skew)
            .finish_non_exhaustive()
    }
}

impl TokenManagerBuilder {
    /// How GitHub tokens become Copilot credentials (default [`AuthMode::Auto`]).
    pub fn mode(mut self, mode: AuthMode) -> Self {
        self.settings.mode = mode;
        self
    }

    /// How long before `expires_at` to refresh at the latest (default 60 s).
    pub fn refresh_skew(mut self, skew: impl Into<Duration>) -> Self {
        self.settings.skew = skew.into();
        self
    }

    /// How often direct mode asks the provider for the GitHub token again (default 5 min).
    pub fn direct_recheck_interval(mut self, interval: impl Into<Duration>) -> Self {
        self.settings.direct_recheck = interval.into().max(Duration::from_secs(1));
        self
    }

    /// Uses this Copilot API base URL instead of the advertised one (protocol §4, step 1). It is your
    /// configuration, so it is not checked against the host allowlist; the transport still requires https or
    /// loopback.
    pub fn copilot_api_override(mut self, base_url: impl Into<Url>) -> Self {
        self.settings.base_url_override = Some(base_url.into());
        self
    }

    /// Shares exchanged Copilot tokens with every process using the same `cache` (one per user), so that they
    /// exchange once between them; see [`SharedTokenCache`].
    pub fn shared_cache(
        mut self,
        cache: Arc<dyn SharedTokenCache>,
        options: SharedCacheOptions,
    ) -> Self {
        self.settings.shared = Some(SharedSlot::new(cache, options));
        self
    }

    /// Builds the manager. Nothing is fetched until the first call.
    pub fn build(self) -> TokenManager {
        TokenManager {
            inner: Arc::new(Inner {
                exchanger: self.exchanger,
                provider: self.provider,
                settings: self.settings,
                cache: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                generations: AtomicU64::new(0),
                completed_attempts: AtomicU64::new(0),
                last_failure: Mutex::new(None),
                auto_decision: AtomicU8::new(AUTO_UNDECIDED),
                suspect_github_token: Mutex::new(None),
                direct_base_url: Mutex::new(None),
                shutdown: CancellationToken::new(),
            }),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenManager {
    /// A manager with default options ([`AuthMode::Auto`], 60 s skew).
    pub fn new(exchanger: TokenExchanger, provider: Arc<dyn GitHubTokenProvider>) -> Self {
        Self::builder(exchanger, provider).build()
    }

    /// A builder for the optional settings. The exchanger's clock and sleep drive all timing.
    pub fn builder(
        exchanger: TokenExchanger,
        provider: Arc<dyn GitHubTokenProvider>,
    ) -> TokenManagerBuilder {
        TokenManagerBuilder {
            exchanger,
            provider,
            settings: Settings::default(),
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> AuthMode {
        self.inner.settings.mode
    }

    /// The mode in use: the configured one, or for [`AuthMode::Auto`] the decision once made (`None` before).
    pub fn effective_mode(&self) -> Option<AuthMode> {
        match self.inner.settings.mode {
            AuthMode::Auto => match self.inner.auto_decision.load(Ordering::Acquire) {
                AUTO_EXCHANGE => Some(AuthMode::Exchange),
                AUTO_DIRECT => Some(AuthMode::Direct),
                _ => None,
            },
            mode => Some(mode),
        }
    }

    /// The exchanger (host, identity, clock).
    pub fn exchanger(&self) -> &TokenExchanger {
        &self.inner.exchanger
    }

    /// Credentials for the next Copilot API call, refreshed first if the cached ones are due.
    pub async fn credentials(&self) -> Result<CopilotCredentials, TokenError> {
        let cached = match self.fresh() {
            Some(cached) => cached,
            None => self.refresh(None).await?,
        };
        Ok(cached.credentials.clone())
    }

    /// The current Copilot token (exchange mode), refreshed first if due. In direct mode there is none:
    /// [`TokenError::DirectModeHasNoCopilotToken`].
    pub async fn get(&self) -> Result<Arc<CopilotToken>, TokenError> {
        let cached = match self.fresh() {
            Some(cached) => cached,
            None => self.refresh(None).await?,
        };
        cached
            .copilot_token
            .clone()
            .ok_or(TokenError::DirectModeHasNoCopilotToken)
    }

    /// Refreshes now unless someone else already replaced `stale` (pass the credentials you hold, or `None` to
    /// refresh whatever is cached). Single-flight like [`credentials`](Self::credentials).
    pub async fn force_refresh(
        &self,
        stale: Option<&CopilotCredentials>,
    ) -> Result<CopilotCredentials, TokenError> {
        let generation = match stale.and_then(|stale| stale.tag) {
            Some(tag) => tag.get(),
            None => self.current().map_or(0, |c| c.generation),
        };
        Ok(self.refresh(Some(generation)).await?.credentials.clone())
    }

    /// Forgets `credentials` after the Copilot API rejected them (401, 403 or 421), so the next call fetches
    /// fresh ones. Compares before clearing (by [`tag`](CopilotCredentials::tag), the generation): if another
    /// task already replaced them, nothing happens. Returns whether the cache was cleared. Retry the failed
    /// request once, never after streaming to the caller.
    pub fn invalidate(&self, credentials: &CopilotCredentials) -> bool {
        let cleared = {
            let mut cache = self
                .inner
                .cache
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            match cache.as_ref() {
                Some(cached) if cached.issued(credentials) => cache.take(),
                _ => None,
            }
        };
        let Some(cleared) = cleared else {
            return false;
        };
        tracing::debug!(mode = ?cleared.mode, "invalidated the cached Copilot credentials");
        if let Some(shared) = &self.inner.settings.shared {
            shared.reject(&cleared.credentials.bearer);
        }
        if cleared.mode == AuthMode::Direct {
            *lock(&self.inner.suspect_github_token) =
                Some(GitHubToken::from(cleared.credentials.bearer.clone()));
            *lock(&self.inner.direct_base_url) = None;
        }
        true
    }

    /// The mode the current credentials were obtained in (`None` when nothing is cached).
    pub fn current_mode(&self) -> Option<AuthMode> {
        self.current().map(|c| c.mode)
    }

    /// Like [`invalidate`](Self::invalidate), for a token obtained from [`get`](Self::get): clears the cache only
    /// if it still holds this very token (compared by pointer).
    pub fn invalidate_token(&self, token: &Arc<CopilotToken>) -> bool {
        let credentials = self.current().and_then(|c| {
            c.copilot_token
                .as_ref()
                .is_some_and(|t| Arc::ptr_eq(t, token))
                .then(|| c.credentials.clone())
        });
        credentials.is_some_and(|c| self.invalidate(&c))
    }

    /// When the cached credentials are due for a refresh (`None` when nothing is cached).
    pub fn next_refresh_at(&self) -> Option<SystemTime> {
        self.current().map(|c| c.refresh_at)
    }

    /// `GET {rest}/copilot_internal/user` with the provider's GitHub token (refreshed once on a 401).
    pub async fn user_info(&self) -> Result<CopilotUserInfo, TokenError> {
        let exchanger = &self.inner.exchanger;
        let mut github_token = self.inner.provider.github_token().await?;
        self.refreshing_rejected(&mut github_token, |token| async move {
            exchanger.user_info(&token).await
        })
        .await
    }

    /// Runs `call` with `github_token`. If GitHub rejects the token (401), asks the provider once for a fresh
    /// one and, if it has one, runs `call` again with it, which then replaces `github_token`.
    async fn refreshing_rejected<T, Fut>(
        &self,
        github_token: &mut GitHubToken,
        call: impl Fn(GitHubToken) -> Fut,
    ) -> Result<T, TokenError>
    where
        Fut: Future<Output = Result<T, TokenError>>,
    {
        match call(github_token.clone()).await {
            Err(rejected @ TokenError::GitHubTokenRejected { .. }) => {
                tracing::debug!(
                    "GitHub rejected the GitHub token; asking the provider for a fresh one"
                );
                match self
                    .inner
                    .provider
                    .refresh_github_token(github_token)
                    .await?
                {
                    Some(fresh) => {
                        *github_token = fresh;
                        call(github_token.clone()).await
                    }
                    None => Err(rejected),
                }
            }
            other => other,
        }
    }

    fn current(&self) -> Option<Arc<Cached>> {
        self.inner
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fast path: the cached entry if it is not yet due.
    fn fresh(&self) -> Option<Arc<Cached>> {
        let now = self.inner.exchanger.clock().now();
        let cache = self
            .inner
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        cache.as_ref().filter(|c| now < c.refresh_at).cloned()
    }

    /// The slow path. `forced` is the generation the caller found stale (`None`: refresh only if due).
    async fn refresh(&self, forced: Option<u64>) -> Result<Arc<Cached>, TokenError> {
        let inner = &self.inner;
        let attempts_seen = inner.completed_attempts.load(Ordering::Acquire);
        let _single_flight = inner.refresh.lock().await;

        let now = inner.exchanger.clock().now();
        let current = self.current();
        if let Some(current) = &current {
            let replaced = match forced {
                Some(generation) => current.generation != generation,
                None => now < current.refresh_at,
            };
            if replaced {
                return Ok(current.clone());
            }
        }
        // An attempt finished while we queued: share its outcome instead of hammering the server.
        if let Some(failure) = lock(&inner.last_failure).as_ref() {
            if inner.completed_attempts.load(Ordering::Acquire) != attempts_seen
                && failure.attempt == inner.completed_attempts.load(Ordering::Acquire)
            {
                return Err(failure.error.clone());
            }
            // Sequential callers: a recent failure answers for the server until its backoff ends. A token that
            // is still valid keeps being served meanwhile, unless the caller is replacing it because the API
            // rejected it.
            if failure.backs_off(now) {
                tracing::debug!(error = %failure.error, "a Copilot token attempt failed recently; not retrying yet");
                if let Some(stale) = current.filter(|c| {
                    forced.is_none() && is_transient(&failure.error) && still_usable(c, now)
                }) {
                    return Ok(stale);
                }
                return Err(failure.error.clone());
            }
        }

        if let (Some(shared), Some(_), Some(current)) = (&inner.settings.shared, forced, &current) {
            shared.reject(&current.credentials.bearer);
        }
        let result = self.fetch().await;
        let attempt = inner.completed_attempts.fetch_add(1, Ordering::AcqRel) + 1;
        match result {
            Ok(cached) => {
                let cached = Arc::new(cached);
                *lock(&inner.last_failure) = None;
                *inner.cache.write().unwrap_or_else(PoisonError::into_inner) = Some(cached.clone());
                Ok(cached)
            }
            Err(error) => {
                let backoff = {
                    let mut last = lock(&inner.last_failure);
                    let backoff = last.as_ref().map_or(MIN_FAILURE_BACKOFF, |previous| {
                        previous.backoff.saturating_mul(2).min(MAX_FAILURE_BACKOFF)
                    });
                    *last = Some(LastFailure {
                        attempt,
                        error: error.clone(),
                        at: inner.exchanger.clock().now(),
                        backoff,
                    });
                    backoff
                };
                if let Some(stale) =
                    current.filter(|c| is_transient(&error) && still_usable(c, now))
                {
                    tracing::warn!(%error, "refreshing Copilot credentials failed; the current ones are still valid");
                    let extended = Arc::new(Cached {
                        credentials: stale.credentials.clone(),
                        generation: stale.generation,
                        mode: stale.mode,
                        copilot_token: stale.copilot_token.clone(),
                        refresh_at: now + STALE_RETRY_AFTER.max(backoff),
                    });
                    *inner.cache.write().unwrap_or_else(PoisonError::into_inner) =
                        Some(extended.clone());
                    return Ok(extended);
                }
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<Cached, TokenError> {
        let inner = &self.inner;
        match self.effective_mode() {
            Some(AuthMode::Direct) => self.fetch_direct().await,
            Some(_) => {
                let github_token = inner.provider.github_token().await?;
                self.fetch_exchange(github_token).await
            }
            None => {
                let github_token = inner.provider.github_token().await?;
                if github_token.kind().is_never_exchangeable() {
                    tracing::debug!(
                        "auto mode: this token kind cannot be exchanged; using direct mode"
                    );
                    return self.decide_direct().await;
                }
                match self.fetch_exchange(github_token).await {
                    Ok(cached) => {
                        inner.auto_decision.store(AUTO_EXCHANGE, Ordering::Release);
                        Ok(cached)
                    }
                    Err(TokenError::ExchangeNotAvailable) => {
                        tracing::debug!(
                            "auto mode: the exchange is not available (404); using direct mode"
                        );
                        self.decide_direct().await
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    async fn decide_direct(&self) -> Result<Cached, TokenError> {
        self.inner
            .auto_decision
            .store(AUTO_DIRECT, Ordering::Release);
        self.fetch_direct().await
    }

    /// Gets a Copilot token (from the shared cache if there is one and it holds a fresh token, else by an
    /// exchange) and makes the cache entry of it.
    async fn fetch_exchange(&self, github_token: GitHubToken) -> Result<Cached, TokenError> {
        let inner = &self.inner;
        let refresh_at = |token: &CopilotToken| {
            token
                .refresh_at(inner.settings.skew)
                .max(token.fetched_at() + MIN_REUSE)
        };
        let token = match &inner.settings.shared {
            Some(shared) => {
                shared
                    .get_or_exchange(
                        &inner.exchanger,
                        &refresh_at,
                        self.exchange_or_refresh(github_token),
                    )
                    .await?
            }
            None => self.exchange_or_refresh(github_token).await?,
        };
        let refresh_at = refresh_at(&token);
        let token = Arc::new(token);
        let base_url = inner
            .settings
            .base_url_override
            .clone()
            .unwrap_or_else(|| token.base_url().clone());
        let generation = self.next_generation();
        Ok(Cached {
            credentials: CopilotCredentials::new(token.secret().clone(), base_url)
                .with_tag(generation)
                .with_integration_id(inner.exchanger.identity().integration_id())
                .with_expires_at(token.expires_at()),
            generation,
            mode: AuthMode::Exchange,
            copilot_token: Some(token),
            refresh_at,
        })
    }

    /// Exchanges, asking the provider once for a fresh GitHub token if GitHub rejects this one.
    async fn exchange_or_refresh(
        &self,
        mut github_token: GitHubToken,
    ) -> Result<CopilotToken, TokenError> {
        let exchanger = &self.inner.exchanger;
        self.refreshing_rejected(&mut github_token, |token| async move {
            exchanger.exchange(&token).await
        })
        .await
    }

    async fn fetch_direct(&self) -> Result<Cached, TokenError> {
        let inner = &self.inner;
        let mut github_token = inner.provider.github_token().await?;
        let suspect = lock(&inner.suspect_github_token).take();
        if let Some(suspect) = suspect
            && suspect.same_token(&github_token)
            && let Some(fresh) = inner.provider.refresh_github_token(&github_token).await?
        {
            github_token = fresh;
        }
        let base_url = match &inner.settings.base_url_override {
            Some(base_url) => base_url.clone(),
            None => self.direct_base_url(&mut github_token).await?,
        };
        let now = inner.exchanger.clock().now();
        let generation = self.next_generation();
        Ok(Cached {
            credentials: CopilotCredentials::new(github_token, base_url)
                .with_tag(generation)
                .with_integration_id(inner.exchanger.identity().integration_id()),
            generation,
            mode: AuthMode::Direct,
            copilot_token: None,
            refresh_at: now + inner.settings.direct_recheck,
        })
    }

    /// Resolves (once) the direct-mode base URL from `copilot_internal/user`, falling back to the host default
    /// when that endpoint fails for reasons other than a rejected token.
    async fn direct_base_url(&self, github_token: &mut GitHubToken) -> Result<Url, TokenError> {
        let inner = &self.inner;
        if let Some(base_url) = lock(&inner.direct_base_url).clone() {
            return Ok(base_url);
        }
        let exchanger = &inner.exchanger;
        let info = self
            .refreshing_rejected(github_token, |token| async move {
                exchanger.user_info(&token).await
            })
            .await;
        let base_url = match info {
            Ok(info) => info.direct_base_url(inner.exchanger.host())?,
            Err(
                error @ (TokenError::GitHubTokenRejected { .. }
                | TokenError::UnsupportedTokenSource { .. }),
            ) => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "could not read copilot_internal/user; using the host's default Copilot API");
                inner.exchanger.host().copilot_api_url().clone()
            }
        };
        *lock(&inner.direct_base_url) = Some(base_url.clone());
        Ok(base_url)
    }

    fn next_generation(&self) -> u64 {
        self.inner.generations.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// Failures worth riding out with a still-valid token.
fn is_transient(error: &TokenError) -> bool {
    match error {
        TokenError::Transport(_) | TokenError::RateLimited { .. } => true,
        TokenError::Http { status, .. } => *status >= 500,
        _ => false,
    }
}

fn still_usable(cached: &Cached, now: SystemTime) -> bool {
    cached
        .credentials
        .expires_at
        .is_none_or(|expires_at| now < expires_at)
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("host", &self.inner.exchanger.host().key())
            .field("mode", &self.inner.settings.mode)
            .field("effective_mode", &self.effective_mode())
            .field("skew", &self.inner.settings.skew)
            .field("next_refresh_at", &self.next_refresh_at())
            .field("provider", &self.inner.provider)
            .finish_non_exhaustive()
    }
}

/// The manager is a [`CopilotAuth`] source as it is: the credentials carry their generation as
/// [`CredentialTag`], and [`invalidate`](CopilotAuth::invalidate) clears the cache only if it still holds
/// exactly those credentials. Failures arrive as typed [`CredentialError`]s (see
/// `From<TokenError> for CredentialError`).
#[async_trait]
impl CopilotAuth for TokenManager {
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError> {
        TokenManager::credentials(self).await.map_err(Into::into)
    }

    async fn invalidate(&self, rejected: &CopilotCredentials) {
        TokenManager::invalidate(self, rejected);
    }
}
