//! [`CopilotClient`]: one identity's credentials, token manager and API client.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use copilot_api::{CopilotApiClient, ModelInfo, StaticAuth, StreamTimeouts};
use copilot_auth::{
    Credential, CredentialKey, CredentialRefresher, CredentialSource, CredentialSources,
    GitHubToken, RefreshOptions, TokenKind, TokenStore,
};
use copilot_http::retry::RetryPolicy;
use copilot_http::time::{Clock, SharedClock, SharedSleep, Sleep};
use copilot_http::{ClientIdentity, GitHubHost, HttpTransport, SharedTransport};
use copilot_token::{
    AuthMode, CopilotPlan, CopilotUserInfo, QuotaSnapshot, QuotaSnapshots, RefresherHandle,
    SharedCacheOptions, SharedTokenCache, StaticGitHubToken, TokenExchanger, TokenManager,
};
use url::Url;

use crate::SdkError;
use crate::hooks::SessionStartSource;
use crate::session::{Origin, Session, SessionConfig};
use crate::store::{FileSessionStore, SessionFilter, SessionMetadata, SessionStore};
use crate::store_provider::StoreTokenProvider;

/// The default time [`Session::send_and_wait`](crate::Session::send_and_wait) waits for a turn.
pub const DEFAULT_TURN_TIMEOUT: Duration = Duration::from_secs(300);
/// The default cap on tool rounds in one turn.
pub const DEFAULT_MAX_TOOL_ROUNDS: u32 = 16;
/// The store account used when none is configured.
pub const DEFAULT_STORE_ACCOUNT: &str = "default";

/// Reads an environment variable (injectable so servers and tests never touch the process environment).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

#[derive(Clone)]
enum Environment {
    Process,
    Lookup(EnvLookup),
    Disabled,
}

/// The SDK's default overall deadline for a streamed answer (see
/// [`CopilotClientBuilder::stream_timeouts`]): 30 minutes, far beyond the longest reasoning answers seen.
pub const DEFAULT_MAX_STREAM_DURATION: Duration = Duration::from_secs(30 * 60);

/// Configures a [`CopilotClient`]; see [`CopilotClient::builder`].
#[derive(Clone)]
pub struct CopilotClientBuilder {
    github_token: Option<GitHubToken>,
    use_logged_in_user: bool,
    host: GitHubHost,
    store: Option<Arc<dyn TokenStore>>,
    store_account: String,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    environment: Environment,
    editor_import: bool,
    transport: Option<SharedTransport>,
    auth_mode: AuthMode,
    identity: ClientIdentity,
    clock: SharedClock,
    sleep: SharedSleep,
    turn_timeout: Duration,
    stream_timeouts: StreamTimeouts,
    copilot_api_url: Option<Url>,
    background_refresh: bool,
    max_tool_rounds: u32,
    retry: RetryPolicy,
    session_store: Option<Arc<dyn SessionStore>>,
    persist_sessions: bool,
    shared_cache: Option<Arc<dyn SharedTokenCache>>,
    shared_cache_options: SharedCacheOptions,
}

impl fmt::Debug for CopilotClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopilotClientBuilder")
            .field("github_token", &self.github_token)
            .field("use_logged_in_user", &self.use_logged_in_user)
            .field("host", &self.host.key())
            .field("store", &self.store)
            .field("store_account", &self.store_account)
            .field("auth_mode", &self.auth_mode)
            .finish_non_exhaustive()
    }
}

impl Default for CopilotClientBuilder {
    fn default() -> Self {
        CopilotClientBuilder {
            github_token: None,
            use_logged_in_user: true,
            host: GitHubHost::github_com(),
            store: None,
            store_account: DEFAULT_STORE_ACCOUNT.to_owned(),
            refresher: None,
            environment: Environment::Process,
            editor_import: false,
            transport: None,
            auth_mode: AuthMode::Auto,
            identity: ClientIdentity::default(),
            clock: SharedClock::system(),
            sleep: SharedSleep::tokio(),
            turn_timeout: DEFAULT_TURN_TIMEOUT,
            stream_timeouts: StreamTimeouts {
                max_duration: Some(DEFAULT_MAX_STREAM_DURATION),
                ..StreamTimeouts::new()
            },
            copilot_api_url: None,
            background_refresh: false,
            max_tool_rounds: DEFAULT_MAX_TOOL_ROUNDS,
            retry: RetryPolicy::default(),
            session_store: None,
            persist_sessions: true,
            shared_cache: None,
            shared_cache_options: SharedCacheOptions::default(),
        }
    }
}

impl CopilotClientBuilder {
    /// The user's GitHub token (`gho_`, `ghu_`, `github_pat_`). It always wins over every other source.
    /// Classic PATs (`ghp_`) are refused by [`build`](Self::build).
    pub fn github_token(mut self, token: impl Into<String>) -> Self {
        self.github_token = Some(GitHubToken::new(token.into()));
        self
    }

    /// Whether to fall back to the signed-in user of this machine (the token store, and editor files if
    /// [`editor_import`](Self::editor_import) is on) when there is no explicit or environment token. Default
    /// `true`; servers acting for many users set `false`, so a request never runs as someone else.
    pub fn use_logged_in_user(mut self, enabled: bool) -> Self {
        self.use_logged_in_user = enabled;
        self
    }

    /// Which GitHub: github.com (default), a GHE.com tenant or a GitHub Enterprise Server.
    pub fn host(mut self, host: impl Into<GitHubHost>) -> Self {
        self.host = host.into();
        self
    }

    /// Where signed-in users' GitHub tokens are kept (read for the logged-in user, refreshed in place).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The account under which this client's credential is stored (default `default`).
    pub fn store_account(mut self, account: impl Into<String>) -> Self {
        self.store_account = account.into();
        self
    }

    /// Refreshes an expiring stored GitHub App token (e.g. `copilot_auth::TokenRefresher`, or
    /// `WebFlow::refresher()` for web-flow tokens).
    pub fn refresher(mut self, refresher: Arc<dyn CredentialRefresher>) -> Self {
        self.refresher = Some(refresher);
        self
    }

    /// Reads environment variables through `lookup` instead of the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.environment = Environment::Lookup(Arc::new(lookup));
        self
    }

    /// Whether environment variables (`COPILOT_GITHUB_TOKEN`, `GH_TOKEN`, `GITHUB_TOKEN`,
    /// `GITHUB_COPILOT_API_TOKEN` + `COPILOT_API_URL`) are read. Default `true`.
    pub fn read_environment(mut self, enabled: bool) -> Self {
        self.environment = if enabled {
            Environment::Process
        } else {
            Environment::Disabled
        };
        self
    }

    /// Opts in to importing editors' Copilot token files (`apps.json`, `hosts.json`). Default off.
    pub fn editor_import(mut self, enabled: bool) -> Self {
        self.editor_import = enabled;
        self
    }

    /// The HTTP transport. Share one between clients to share one connection pool (default: a new
    /// reqwest transport per client).
    pub fn transport(mut self, transport: impl HttpTransport + 'static) -> Self {
        self.transport = Some(SharedTransport::new(transport));
        self
    }

    /// Exchange, direct or auto (default [`AuthMode::Auto`]: exchange, falling back to direct on 404).
    pub fn auth_mode(mut self, mode: AuthMode) -> Self {
        self.auth_mode = mode;
        self
    }

    /// The identity headers (user agent, editor version, integration id).
    pub fn identity(mut self, identity: impl Into<ClientIdentity>) -> Self {
        self.identity = identity.into();
        self
    }

    /// How long [`Session::send_and_wait`](crate::Session::send_and_wait) waits by default (5 minutes).
    pub fn turn_timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.turn_timeout = timeout.into();
        self
    }

    /// The deadlines on a streamed answer: 90 s to the first event, 120 s of silence and
    /// [`DEFAULT_MAX_STREAM_DURATION`] (30 minutes) in total by default. Keep-alive comments restart the
    /// idle timer, so without an overall limit a server could hold a stream open forever; past it the
    /// stream ends with `ApiError::StreamDeadline`.
    pub fn stream_timeouts(mut self, timeouts: impl Into<StreamTimeouts>) -> Self {
        self.stream_timeouts = timeouts.into();
        self
    }

    /// Sends Copilot API requests to this base URL instead of the advertised `endpoints.api`.
    pub fn copilot_api_url(mut self, url: impl Into<Url>) -> Self {
        self.copilot_api_url = Some(url.into());
        self
    }

    /// Shares the exchanged Copilot token with every process that gives this user's clients the same
    /// `cache`, so that a fleet exchanges once per user at expiry instead of once per process (the Redis and
    /// PostgreSQL store crates implement [`SharedTokenCache`]; see `copilot_token::shared`). Used only when
    /// the credential is a GitHub token (a pre-exchanged Copilot token has nothing to exchange). The cache
    /// must belong to this client's user: a token it holds is used as this user's.
    pub fn shared_token_cache(mut self, cache: Arc<dyn SharedTokenCache>) -> Self {
        self.shared_cache = Some(cache);
        self
    }

    /// Timing of the shared-cache protocol (lease length, poll interval, longest wait); default
    /// [`SharedCacheOptions::default`].
    pub fn shared_cache_options(mut self, options: SharedCacheOptions) -> Self {
        self.shared_cache_options = options;
        self
    }

    /// Refreshes the Copilot token in a background task started by [`CopilotClient::start`] (default off:
    /// tokens are refreshed lazily on use, which is always correct). [`CopilotClient::stop`] ends it.
    pub fn background_refresh(mut self, enabled: bool) -> Self {
        self.background_refresh = enabled;
        self
    }

    /// The cap on tool rounds per turn (default 16).
    pub fn max_tool_rounds(mut self, rounds: u32) -> Self {
        self.max_tool_rounds = rounds.max(1);
        self
    }

    /// How Copilot API calls are retried on 429, 5xx and network failures before any answer byte arrived
    /// (default [`RetryPolicy::default`]; [`RetryPolicy::none`] fails at once). A `Retry-After` longer than
    /// the policy's budget is not waited for: the call fails with the rate-limit error instead.
    pub fn retry_policy(mut self, policy: impl Into<RetryPolicy>) -> Self {
        self.retry = policy.into();
        self
    }

    /// Where sessions are saved after every turn, to be continued later with
    /// [`CopilotClient::resume_session`] (also in another process). Turns persistence on.
    ///
    /// Default: for the client of this machine's signed-in user ([`use_logged_in_user`](Self::use_logged_in_user)
    /// on, no [`github_token`](Self::github_token), no [`token_store`](Self::token_store)) a
    /// [`FileSessionStore`] in [`FileSessionStore::default_dir`]; for every other client (servers and pools
    /// acting for many users) none, so no user's conversation lands where another's could be resumed. Give
    /// every user their own store (or one scoped to them) when you configure one for many users.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.session_store = Some(store);
        self.persist_sessions = true;
        self
    }

    /// Whether sessions are saved at all (default `true`, see [`session_store`](Self::session_store));
    /// `false` keeps every session in memory only.
    pub fn persist_sessions(mut self, enabled: bool) -> Self {
        self.persist_sessions = enabled;
        self
    }

    /// The wall clock (token expiry, pool idle times).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The sleeper (timeouts, backoff).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = SharedSleep::new(sleep);
        self
    }

    /// This configuration with every credential setting reset: no explicit token, no environment lookup,
    /// no editor import, no store or refresher, no Copilot API URL override. A pool applies a user's own
    /// credential on top, so nothing of the template's identity reaches a per-user client.
    pub(crate) fn without_credentials(mut self) -> Self {
        self.github_token = None;
        self.environment = Environment::Disabled;
        self.editor_import = false;
        self.store = None;
        self.store_account = DEFAULT_STORE_ACCOUNT.to_owned();
        self.refresher = None;
        self.copilot_api_url = None;
        self.use_logged_in_user = false;
        self.shared_cache = None;
        self
    }

    /// The configured session store seen as `user_id`'s own part of it: a pool's users share one store but
    /// never one another's sessions.
    pub(crate) fn sessions_of(mut self, user_id: &str) -> Self {
        if let Some(store) = self.session_store.take() {
            self.session_store = Some(Arc::new(crate::store::NamespacedSessionStore::new(
                store, user_id,
            )));
        }
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent until [`CopilotClient::start`] (or
    /// the first call that needs credentials).
    ///
    /// A classic personal access token or refresh token is refused here with [`SdkError::Credential`]
    /// ([`CredentialError::UnsupportedToken`](copilot_core::CredentialError::UnsupportedToken); see
    /// [`SdkError::unsupported_token_kind`]).
    pub fn build(self) -> Result<CopilotClient, SdkError> {
        if let Some(token) = &self.github_token {
            let token = GitHubToken::parse(token.expose_secret())?;
            token.check_usable_for_copilot()?;
        }
        let transport = match self.transport.clone() {
            Some(transport) => transport,
            None => SharedTransport::default_transport()?,
        };
        let session_store = match (&self.session_store, self.persist_sessions) {
            (_, false) => None,
            (Some(store), true) => Some(store.clone()),
            // Only the desktop case gets a default: this machine's signed-in user, found through the default
            // sources. A client given a token or a token store (servers, pools) may act for one of many
            // users, who must not share one directory of sessions.
            (None, true)
                if self.use_logged_in_user
                    && self.github_token.is_none()
                    && self.store.is_none() =>
            {
                match FileSessionStore::default_dir() {
                    Ok(dir) => Some(Arc::new(FileSessionStore::new(dir)) as Arc<dyn SessionStore>),
                    Err(error) => {
                        tracing::warn!(%error, "sessions are not saved");
                        None
                    }
                }
            }
            (None, true) => None,
        };
        Ok(CopilotClient {
            inner: Arc::new(ClientInner {
                session_store,
                config: self,
                transport,
                started: tokio::sync::OnceCell::new(),
                refresher: Mutex::new(None),
            }),
        })
    }
}

/// The Copilot client of one identity: the official Copilot SDK's `CopilotClient`.
///
/// Cheap to clone (an `Arc` inside); clones share credentials, caches and the connection pool. See the
/// [crate docs](crate) for an example.
#[derive(Clone)]
pub struct CopilotClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    config: CopilotClientBuilder,
    session_store: Option<Arc<dyn SessionStore>>,
    transport: SharedTransport,
    started: tokio::sync::OnceCell<Started>,
    refresher: Mutex<Option<RefresherHandle>>,
}

/// What `start` resolved: the credential, its token manager and the API client.
pub(crate) struct Started {
    pub(crate) api: CopilotApiClient,
    manager: Option<TokenManager>,
    source: CredentialSource,
    token_kind: Option<TokenKind>,
    static_api_url: Option<Url>,
}

impl Started {
    /// Fetches (or reads from cache) the credentials first, so a credential failure surfaces as the token
    /// manager's typed error before anything else is attempted.
    pub(crate) async fn preflight(&self) -> Result<(), SdkError> {
        if let Some(manager) = &self.manager {
            manager.credentials().await?;
        }
        Ok(())
    }
}

impl fmt::Debug for CopilotClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let started = self.inner.started.get();
        f.debug_struct("CopilotClient")
            .field("host", &self.inner.config.host.key())
            .field("started", &started.is_some())
            .field("source", &started.map(|s| &s.source))
            .finish_non_exhaustive()
    }
}

/// Who is signed in and how Copilot is reached ([`CopilotClient::get_auth_status`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthStatus {
    /// The GitHub login, when `copilot_internal/user` could be read.
    pub login: Option<String>,
    /// The GitHub token's kind (`None` for a pre-exchanged Copilot token).
    pub token_kind: Option<TokenKind>,
    /// Where the credential came from.
    pub source: CredentialSource,
    /// Exchange or direct (`None` for a pre-exchanged token).
    pub auth_mode: Option<AuthMode>,
    /// The Copilot plan, when known.
    pub plan: Option<CopilotPlan>,
    /// The Copilot API base URL in use.
    pub api_endpoint: Url,
    /// When the current Copilot token expires (exchange mode).
    pub copilot_token_expires_at: Option<SystemTime>,
    /// The Copilot sku from the Copilot token (`copilot_individual`, `free_limited_copilot`, …; exchange
    /// mode only).
    pub sku: Option<String>,
    /// The AI-credit counter (`quota_snapshots.premium_interactions`, which counts AI credits since
    /// 2026-06): entitlement, remaining (negative in overage), [`used`](QuotaSnapshot::used).
    pub ai_credits: Option<QuotaSnapshot>,
    /// When quotas reset (`YYYY-MM-DD`).
    pub quota_reset_date: Option<String>,
}

/// Premium-request and chat quota ([`CopilotClient::quota`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Quota {
    /// The plan.
    pub plan: Option<CopilotPlan>,
    /// When the quota resets (`YYYY-MM-DD`).
    pub reset_date: Option<String>,
    /// The snapshots (`chat`, `completions`, `premium_interactions`); `remaining` may be negative.
    pub snapshots: QuotaSnapshots,
}

impl CopilotClient {
    /// A builder (defaults: github.com, logged-in user fallback on, auto auth mode).
    pub fn builder() -> CopilotClientBuilder {
        CopilotClientBuilder::default()
    }

    /// Resolves the credential (explicit token, environment, store, editor import, in the official SDK's
    /// order), validates it with GitHub (token exchange, or `copilot_internal/user` in direct mode) and
    /// resolves the Copilot API endpoint. Idempotent; other methods start the client on first use.
    pub async fn start(&self) -> Result<(), SdkError> {
        let started = self.started().await?;
        started.preflight().await?;
        if self.inner.config.background_refresh
            && let Some(manager) = &started.manager
        {
            let mut slot = self
                .inner
                .refresher
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(manager.spawn_background_refresh());
            }
        }
        Ok(())
    }

    /// Stops the background refresher, if one runs. The client stays usable (tokens refresh lazily).
    pub fn stop(&self) {
        let handle = self
            .inner
            .refresher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            handle.stop();
        }
    }

    /// Whether a background refresher is running.
    pub fn is_refreshing_in_background(&self) -> bool {
        self.inner
            .refresher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// Creates a session (starting the client if needed). Without a model in `config`, the models list's
    /// chat default is used.
    ///
    /// With a [session store](CopilotClientBuilder::session_store) the session is saved now and after every
    /// turn, and stays locked to this process until dropped; an id that is already saved is refused with
    /// [`SdkError::Config`] (continue it with [`resume_session`](Self::resume_session) instead), one that is
    /// open elsewhere with [`SdkError::SessionInUse`].
    ///
    /// A session with a [provider](SessionConfig::provider) needs no GitHub credential: the client is not
    /// started for it, and its `model` is required.
    pub async fn create_session(&self, mut config: SessionConfig) -> Result<Session, SdkError> {
        let provider = self.provider_backend(&config)?;
        if provider.is_none() {
            self.started().await?;
        }
        let model = match (config.model.clone(), &provider) {
            (Some(model), _) => model,
            (None, Some(_)) => {
                return Err(SdkError::config(
                    "a session with a provider needs a model (SessionConfig::model)",
                ));
            }
            (None, None) => self.default_model().await?,
        };
        let id = config
            .session_id
            .get_or_insert_with(crate::session::new_session_id)
            .clone();
        let store = match &self.inner.session_store {
            Some(store) => {
                let lock = store.lock(&id).await?;
                if store.load(&id).await?.is_some() {
                    return Err(SdkError::config(format!(
                        "session `{id}` is already saved: continue it with CopilotClient::resume_session, \
                         or delete it first"
                    )));
                }
                Some((store.clone(), lock))
            }
            None => None,
        };
        self.start_session(config, model, Origin::New, store, provider)
            .await
    }

    /// Continues saved session `id` (in this process or another one): its history (tool calls and reasoning
    /// replay state included), settings, pending tool calls and event log are restored. Tools, handlers and
    /// the other per-process settings come from `config` again (they are never saved); a model, system
    /// message or reasoning effort set in `config` replaces the saved one.
    ///
    /// Fails with [`SdkError::SessionNotFound`] for an unknown id and with [`SdkError::SessionInUse`] while
    /// the session is open in another process or [`Session`]: one conversation never forks.
    pub async fn resume_session(
        &self,
        id: &str,
        config: SessionConfig,
    ) -> Result<Session, SdkError> {
        let provider = self.provider_backend(&config)?;
        let store = self.require_store()?;
        let lock = store.lock(id).await?;
        let record = store
            .load(id)
            .await?
            .ok_or_else(|| SdkError::SessionNotFound { id: id.to_owned() })?;
        if let (Some(saved), None) = (&record.provider, &provider) {
            // Without its provider the conversation would go to Copilot, which it was never meant for.
            return Err(SdkError::config(format!(
                "session {id} talks to a bring-your-own-key {} provider at {}: pass it again with \
                 SessionConfig::provider (keys are never saved)",
                saved.kind, saved.host
            )));
        }
        let model = record.metadata.model.clone();
        let origin = Origin::Resumed(Box::new(record));
        self.start_session(config, model, origin, Some((store.clone(), lock)), provider)
            .await
    }

    /// Opens a new or resumed session: connects its MCP servers, records its start (the `session.start`
    /// hook and event) and saves it.
    async fn start_session(
        &self,
        #[cfg_attr(not(feature = "mcp"), allow(unused_mut))] mut config: SessionConfig,
        model: String,
        origin: Origin,
        store: Option<(Arc<dyn SessionStore>, crate::store::SessionLock)>,
        provider: Option<crate::session::ProviderBackend>,
    ) -> Result<Session, SdkError> {
        let source = match origin {
            Origin::New => SessionStartSource::New,
            Origin::Resumed(_) => SessionStartSource::Resumed,
        };
        #[cfg(feature = "mcp")]
        let mcp = Session::connect_mcp(self, &mut config).await?;
        let session = Session::open(self.clone(), config, model, origin, store, provider);
        #[cfg(feature = "mcp")]
        session.attach_mcp(mcp);
        session.record_start(source).await;
        session.save().await?;
        Ok(session)
    }

    /// The saved sessions matching `filter`, most recently modified first.
    pub async fn list_sessions(
        &self,
        filter: SessionFilter,
    ) -> Result<Vec<SessionMetadata>, SdkError> {
        let mut sessions: Vec<SessionMetadata> = self
            .require_store()?
            .list()
            .await?
            .into_iter()
            .filter(|metadata| filter.matches(metadata))
            .collect();
        sessions.sort_by(|a, b| {
            b.modified_at
                .cmp(&a.modified_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        if let Some(limit) = filter.limit {
            sessions.truncate(limit);
        }
        Ok(sessions)
    }

    /// The metadata of saved session `id`, if there is one.
    pub async fn get_session_metadata(
        &self,
        id: &str,
    ) -> Result<Option<SessionMetadata>, SdkError> {
        Ok(self
            .require_store()?
            .load(id)
            .await?
            .map(|record| record.metadata))
    }

    /// Deletes saved session `id`; returns whether there was one. A session open anywhere is not deleted
    /// ([`SdkError::SessionInUse`]).
    pub async fn delete_session(&self, id: &str) -> Result<bool, SdkError> {
        let store = self.require_store()?;
        let _lock = store.lock(id).await?;
        store.delete(id).await
    }

    /// The id of the most recently modified saved session.
    pub async fn last_session_id(&self) -> Result<Option<String>, SdkError> {
        Ok(self
            .list_sessions(SessionFilter::new().limit(1))
            .await?
            .into_iter()
            .next()
            .map(|metadata| metadata.id))
    }

    /// The session store, if sessions are saved.
    pub fn session_store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.inner.session_store.as_ref()
    }

    fn require_store(&self) -> Result<&Arc<dyn SessionStore>, SdkError> {
        self.inner
            .session_store
            .as_ref()
            .ok_or_else(|| SdkError::SessionStore {
                message: "no session store is configured (CopilotClientBuilder::session_store)"
                    .to_owned(),
                source: None,
            })
    }

    /// The models list's chat default.
    async fn default_model(&self) -> Result<String, SdkError> {
        let started = self.started().await?;
        // Credentials first: a revoked or missing token is reported as such, not as a failed models lookup.
        started.preflight().await?;
        let models = started.api.models().await?;
        models
            .chat_default()
            .map(|m| m.id.clone())
            .ok_or_else(|| SdkError::config("no model given and the models list flags no default"))
    }

    /// The models the user can call (cached for 10 minutes), hidden and embedding models included.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>, SdkError> {
        let started = self.started().await?;
        started.preflight().await?;
        Ok(started.api.models().await?.data.clone())
    }

    /// Who is signed in, with which kind of token, plan, endpoint and Copilot token expiry.
    pub async fn get_auth_status(&self) -> Result<AuthStatus, SdkError> {
        let started = self.started().await?;
        let Some(manager) = &started.manager else {
            return Ok(AuthStatus {
                login: None,
                token_kind: None,
                source: started.source.clone(),
                auth_mode: None,
                plan: None,
                api_endpoint: started
                    .static_api_url
                    .clone()
                    .ok_or_else(|| SdkError::config("no API endpoint"))?,
                copilot_token_expires_at: None,
                sku: None,
                ai_credits: None,
                quota_reset_date: None,
            });
        };
        let credentials = manager.credentials().await?;
        // Right after `credentials`, so this reads the same cache entry (none in direct mode).
        let copilot_token = manager.get().await.ok();
        let info = match manager.user_info().await {
            Ok(info) => Some(info),
            Err(error) => {
                tracing::debug!(%error, "copilot_internal/user unavailable; auth status without login and plan");
                None
            }
        };
        Ok(AuthStatus {
            login: info.as_ref().and_then(|i| i.login.clone()),
            token_kind: started.token_kind,
            source: started.source.clone(),
            auth_mode: manager.current_mode(),
            ai_credits: info
                .as_ref()
                .and_then(|i| i.quota_snapshots.as_ref()?.premium_interactions.clone()),
            quota_reset_date: info.as_ref().and_then(|i| i.quota_reset_date.clone()),
            plan: info.and_then(|i| i.copilot_plan),
            api_endpoint: credentials.base_url.clone(),
            copilot_token_expires_at: credentials.expires_at,
            sku: copilot_token.and_then(|token| token.sku().map(str::to_owned)),
        })
    }

    /// Plan and quota snapshots from `copilot_internal/user`. Needs a GitHub token (not a pre-exchanged
    /// Copilot token).
    pub async fn quota(&self) -> Result<Quota, SdkError> {
        let info = self.user_info().await?;
        Ok(Quota {
            plan: info.copilot_plan,
            reset_date: info.quota_reset_date,
            snapshots: info.quota_snapshots.unwrap_or_default(),
        })
    }

    /// The raw `copilot_internal/user` answer.
    pub async fn user_info(&self) -> Result<CopilotUserInfo, SdkError> {
        let started = self.started().await?;
        let manager = started.manager.as_ref().ok_or_else(|| {
            SdkError::config(
                "a pre-exchanged Copilot token has no GitHub identity to ask for quota",
            )
        })?;
        Ok(manager.user_info().await?)
    }

    /// The transport (shared by every clone of this client).
    pub fn transport(&self) -> &SharedTransport {
        &self.inner.transport
    }

    /// The GitHub host.
    pub fn host(&self) -> &GitHubHost {
        &self.inner.config.host
    }

    /// The token manager, once started (`None` for a pre-exchanged Copilot token).
    pub fn token_manager(&self) -> Option<&TokenManager> {
        self.inner.started.get().and_then(|s| s.manager.as_ref())
    }

    /// The Copilot API client, once started.
    pub fn api(&self) -> Option<&CopilotApiClient> {
        self.inner.started.get().map(|s| &s.api)
    }

    pub(crate) fn turn_timeout(&self) -> Duration {
        self.inner.config.turn_timeout
    }

    pub(crate) fn max_tool_rounds(&self) -> u32 {
        self.inner.config.max_tool_rounds
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.config.clock
    }

    pub(crate) fn sleeper(&self) -> &SharedSleep {
        &self.inner.config.sleep
    }

    /// The API client of a session's [provider](SessionConfig::provider), with this client's transport,
    /// identity (its `User-Agent` only reaches the provider), time, timeouts and retry policy. A base URL
    /// that is neither `https` nor `http` to a loopback address is refused here, before anything is sent.
    fn provider_backend(
        &self,
        config: &SessionConfig,
    ) -> Result<Option<crate::session::ProviderBackend>, SdkError> {
        let Some(provider) = &config.provider else {
            return Ok(None);
        };
        copilot_http::safety::check_credential_url(provider.base_url())?;
        let route = match provider.turn_api() {
            None => copilot_api::ChatRoute::Messages,
            Some(copilot_core::WireApi::Responses) => copilot_api::ChatRoute::Responses,
            Some(_) => copilot_api::ChatRoute::ChatCompletions,
        };
        let api = self.api_client(Arc::new(provider.clone()))?;
        Ok(Some(crate::session::ProviderBackend {
            api,
            route,
            saved: crate::store::SavedProvider::of(provider),
        }))
    }

    /// An API client with this client's settings and `auth`'s credentials.
    fn api_client(
        &self,
        auth: Arc<dyn copilot_api::CopilotAuth>,
    ) -> Result<CopilotApiClient, SdkError> {
        let config = &self.inner.config;
        Ok(CopilotApiClient::builder(auth)
            .transport(self.inner.transport.clone())
            .identity(config.identity.clone())
            .clock(config.clock.clone())
            .sleep(config.sleep.clone())
            .stream_timeouts(config.stream_timeouts)
            .retry_policy(config.retry.clone())
            .build()?)
    }

    pub(crate) async fn started(&self) -> Result<&Started, SdkError> {
        self.inner.started.get_or_try_init(|| self.init()).await
    }

    async fn init(&self) -> Result<Started, SdkError> {
        let config = &self.inner.config;
        let mut sources = CredentialSources::new(config.host.clone())
            .use_logged_in_user(config.use_logged_in_user)
            .editor_import(config.editor_import)
            .refresh_options(RefreshOptions::new().clock(config.clock.clone()));
        sources = match &config.environment {
            Environment::Process => sources,
            Environment::Lookup(lookup) => {
                let lookup = lookup.clone();
                sources.env(move |var| lookup(var))
            }
            Environment::Disabled => sources.without_env(),
        };
        if let Some(token) = &config.github_token {
            sources = sources.token(token.clone());
        }
        if let Some(store) = &config.store {
            let key = CredentialKey::new(config.host.key(), config.store_account.clone());
            sources = sources.store(store.clone(), key);
            if let Some(refresher) = &config.refresher {
                sources = sources.refresher(refresher.clone());
            }
        }
        let resolved = sources.resolve().await?;
        tracing::debug!(source = ?resolved.source, "credential resolved");

        let (auth, manager, token_kind, static_api_url): (
            Arc<dyn copilot_api::CopilotAuth>,
            _,
            _,
            _,
        ) = match &resolved.credential {
            Credential::GitHub(token) => {
                let provider: Arc<dyn copilot_token::GitHubTokenProvider> = match &resolved.source {
                    CredentialSource::Store { key } => Arc::new(StoreTokenProvider::new(
                        config
                            .store
                            .clone()
                            .ok_or_else(|| SdkError::config("store source without a store"))?,
                        key.clone(),
                        config.refresher.clone(),
                        config.clock.clone(),
                    )),
                    _ => Arc::new(StaticGitHubToken::new(token.clone())),
                };
                let exchanger =
                    TokenExchanger::builder(self.inner.transport.clone(), config.host.clone())
                        .identity(config.identity.clone())
                        .clock(config.clock.clone())
                        .sleep(config.sleep.clone())
                        .build();
                let mut builder = TokenManager::builder(exchanger, provider).mode(config.auth_mode);
                if let Some(url) = &config.copilot_api_url {
                    builder = builder.copilot_api_override(url.clone());
                }
                if let Some(cache) = &config.shared_cache {
                    builder =
                        builder.shared_cache(cache.clone(), config.shared_cache_options.clone());
                }
                let manager = builder.build();
                (
                    Arc::new(manager.clone()),
                    Some(manager),
                    Some(token.kind()),
                    None,
                )
            }
            Credential::CopilotApi { token, api_url } => {
                let api_url = config
                    .copilot_api_url
                    .clone()
                    .unwrap_or_else(|| api_url.clone());
                (
                    Arc::new(StaticAuth::new(token.clone(), api_url.clone())),
                    None,
                    None,
                    Some(api_url),
                )
            }
            _ => return Err(SdkError::config("unsupported kind of credential")),
        };
        let api = self.api_client(auth)?;
        Ok(Started {
            api,
            manager,
            source: resolved.source,
            token_kind,
            static_api_url,
        })
    }
}
