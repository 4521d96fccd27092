//! [`ClientPool`]: one [`CopilotClient`] per user of a multi-user application, all on one transport.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use copilot_auth::{
    CredentialKey, CredentialRefresher, GitHubApi, GitHubToken, GitHubTokenResponse,
    RefreshOptions, StoredCredential, TokenStore, load_usable,
};
use copilot_http::time::{Clock, SharedClock, Sleep};
use copilot_http::{ClientIdentity, GitHubHost, HttpTransport, SharedTransport};
use copilot_token::{AuthMode, SharedCacheOptions, SharedTokenCaches};

use crate::SdkError;
use crate::client::{CopilotClient, CopilotClientBuilder};

/// The default time a user's client may stay unused before [`ClientPool::evict_idle`] drops it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Configures a [`ClientPool`]; see [`ClientPool::builder`].
#[derive(Clone)]
pub struct ClientPoolBuilder {
    clients: CopilotClientBuilder,
    host: GitHubHost,
    identity: ClientIdentity,
    transport: Option<SharedTransport>,
    clock: SharedClock,
    store: Option<Arc<dyn TokenStore>>,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    required_org: Option<String>,
    idle_timeout: Duration,
    shared_caches: Option<Arc<dyn SharedTokenCaches>>,
    shared_cache_options: SharedCacheOptions,
}

impl fmt::Debug for ClientPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPoolBuilder")
            .field("host", &self.host.key())
            .field("store", &self.store)
            .field("refresher", &self.refresher.is_some())
            .field("required_org", &self.required_org)
            .field("idle_timeout", &self.idle_timeout)
            .field("shared_caches", &self.shared_caches)
            .finish_non_exhaustive()
    }
}

impl ClientPoolBuilder {
    /// The GitHub host of every user (default github.com).
    pub fn host(mut self, host: impl Into<GitHubHost>) -> Self {
        self.host = host.into();
        self
    }

    /// The one transport (connection pool) every user's client shares (default: one reqwest transport).
    pub fn transport(mut self, transport: impl HttpTransport + 'static) -> Self {
        self.transport = Some(SharedTransport::new(transport));
        self
    }

    /// The identity headers of every client and of the organisation check.
    pub fn identity(mut self, identity: impl Into<ClientIdentity>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Exchange, direct or auto for every client (default auto). Tokens of your own OAuth/GitHub App need
    /// direct mode, which auto falls back to.
    pub fn auth_mode(mut self, mode: AuthMode) -> Self {
        self.clients = self.clients.auth_mode(mode);
        self
    }

    /// Settings for every user's client (timeouts, tool-round cap, …). Credential settings in it (a GitHub
    /// token, environment lookup, editor import, token store, refresher, Copilot API URL) never reach a
    /// user's client: each is reset, and the user's own credential applied.
    pub fn client_defaults(mut self, builder: CopilotClientBuilder) -> Self {
        self.clients = builder;
        self
    }

    /// The clock for idle eviction and token expiry (default: system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The sleeper of every client.
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.clients = self.clients.sleep(sleep);
        self
    }

    /// Where users' GitHub tokens are stored, keyed by user id (for [`ClientPool::client_for_stored`] and
    /// [`ClientPool::get_or_refresh_token`]).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Refreshes expiring stored GitHub App tokens (e.g. `WebFlow::refresher()`).
    pub fn refresher(mut self, refresher: Arc<dyn CredentialRefresher>) -> Self {
        self.refresher = Some(refresher);
        self
    }

    /// Only members of `org` get a client (checked once per user and token with `GET /user/orgs`).
    pub fn require_org(mut self, org: impl Into<String>) -> Self {
        self.required_org = Some(org.into());
        self
    }

    /// Shares each user's exchanged Copilot token with every pool (process, machine) built with the same
    /// `caches`, so that a fleet exchanges once per user at expiry (`RedisStore` and `PostgresStore` from the
    /// store crates implement [`SharedTokenCaches`]). A stored user's cache is named after the host and user
    /// id ([`client_for_stored`](ClientPool::client_for_stored): every instance reads the same stored
    /// credential); a user given with a token gets a cache named after the host, user id and a digest of that
    /// token ([`client_for`](ClientPool::client_for)), so a Copilot token is only ever shared between clients
    /// holding the GitHub token that obtained it.
    pub fn shared_token_caches(mut self, caches: Arc<dyn SharedTokenCaches>) -> Self {
        self.shared_caches = Some(caches);
        self
    }

    /// Timing of the shared-cache protocol for every user (default [`SharedCacheOptions::default`]).
    pub fn shared_cache_options(mut self, options: SharedCacheOptions) -> Self {
        self.shared_cache_options = options;
        self
    }

    /// How long an unused client is kept (default 30 minutes).
    pub fn idle_timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Builds the pool.
    pub fn build(self) -> Result<ClientPool, SdkError> {
        let transport = match self.transport {
            Some(transport) => transport,
            None => SharedTransport::default_transport()?,
        };
        let github = GitHubApi::new(self.host.clone())
            .transport(transport.clone())
            .identity(self.identity.clone());
        let template = self
            .clients
            .host(self.host.clone())
            .identity(self.identity)
            .transport(transport.clone())
            .clock(self.clock.clone())
            .read_environment(false)
            .editor_import(false);
        Ok(ClientPool {
            inner: Arc::new(PoolInner {
                template,
                host: self.host,
                transport,
                refresh_options: RefreshOptions::new().clock(self.clock.clone()),
                clock: self.clock,
                store: self.store,
                refresher: self.refresher,
                required_org: self.required_org,
                idle_timeout: self.idle_timeout,
                shared_caches: self.shared_caches,
                shared_cache_options: self.shared_cache_options,
                github,
                clients: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// One client per user: the "one client per user" pattern of the official Copilot SDK's GitHub OAuth guide,
/// with the plumbing done:
///
/// - every client shares one transport (one connection pool) and has its own token manager;
/// - `require_org` gates users on organisation membership (the official SDK guide's `verifyOrgMembership`),
///   once per user and token;
/// - clients unused for the idle timeout are dropped ([`evict_idle`](Self::evict_idle), also run on every
///   lookup), by the injectable clock;
/// - [`get_or_refresh_token`](Self::get_or_refresh_token) is the official SDK guide's `getOrRefreshToken`
///   over any [`TokenStore`].
///
/// Cheap to clone.
#[derive(Clone)]
pub struct ClientPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    template: CopilotClientBuilder,
    host: GitHubHost,
    transport: SharedTransport,
    clock: SharedClock,
    store: Option<Arc<dyn TokenStore>>,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    /// One for the pool's lifetime: it keeps a refreshed pair whose save failed until it is saved.
    refresh_options: RefreshOptions,
    required_org: Option<String>,
    idle_timeout: Duration,
    shared_caches: Option<Arc<dyn SharedTokenCaches>>,
    shared_cache_options: SharedCacheOptions,
    github: GitHubApi,
    clients: Mutex<HashMap<String, PoolEntry>>,
}

struct PoolEntry {
    client: CopilotClient,
    /// The explicit token the client was made with (`None`: it reads the store).
    token: Option<GitHubToken>,
    last_used: SystemTime,
}

impl fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPool")
            .field("host", &self.inner.host.key())
            .field("users", &self.len())
            .field("required_org", &self.inner.required_org)
            .field("idle_timeout", &self.inner.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// The name of the shared Copilot-token cache of the user stored under `account` on `host`
/// ([`SharedTokenCaches::cache_for`] takes it): the name [`ClientPool::client_for_stored`] uses, so any other
/// client of that stored user (the CLI's `--store-url` commands, another gateway) that names its cache with
/// this shares one exchange with the pools.
///
/// ```
/// use copilot_http::GitHubHost;
/// assert_eq!(copilot_sdk::shared_cache_identity(&GitHubHost::github_com(), "alice"), "github.com/alice");
/// ```
pub fn shared_cache_identity(host: &GitHubHost, account: &str) -> String {
    format!("{}/{account}", host.key())
}

/// The first 16 bytes of the token's SHA-256, in hex: names the token in a shared-cache identity without
/// revealing it.
fn token_digest(token: &GitHubToken) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    copilot_http::hex::encode(&digest[..16])
}

impl ClientPool {
    /// A builder (defaults: github.com, auto auth mode, 30-minute idle timeout, no organisation gate).
    pub fn builder() -> ClientPoolBuilder {
        ClientPoolBuilder {
            clients: CopilotClient::builder(),
            host: GitHubHost::github_com(),
            identity: ClientIdentity::default(),
            transport: None,
            clock: SharedClock::system(),
            store: None,
            refresher: None,
            required_org: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shared_caches: None,
            shared_cache_options: SharedCacheOptions::default(),
        }
    }

    /// The client of `user_id`, made with `token` (the official SDK guide's `getClientForUser`). The same user with the
    /// same token gets the same client back; a new token replaces the client. Classic PATs are refused; with
    /// `require_org`, non-members get [`SdkError::NotOrgMember`].
    pub async fn client_for(
        &self,
        user_id: &str,
        token: impl Into<String>,
    ) -> Result<CopilotClient, SdkError> {
        let token = GitHubToken::parse(&token.into())?;
        token.check_usable_for_copilot()?;
        self.evict_idle();
        if let Some(client) = self.touch(user_id, |entry| {
            entry.token.as_ref().is_some_and(|t| t.same_token(&token))
        }) {
            return Ok(client);
        }
        self.gate(&token).await?;
        let identity = format!(
            "{}/{user_id}#{}",
            self.inner.host.key(),
            token_digest(&token)
        );
        let client = self
            .with_shared_cache(self.inner.template.clone().without_credentials(), &identity)
            .sessions_of(user_id)
            .github_token(token.expose_secret())
            .use_logged_in_user(false)
            .build()?;
        Ok(self.insert(user_id, client, Some(token)))
    }

    /// The client of `user_id` whose GitHub token lives in the pool's token store (refreshed there when it
    /// expires). [`SdkError::SignInRequired`] if the user has no stored login.
    pub async fn client_for_stored(&self, user_id: &str) -> Result<CopilotClient, SdkError> {
        self.evict_idle();
        if let Some(client) = self.touch(user_id, |entry| entry.token.is_none()) {
            return Ok(client);
        }
        let store = self.store()?;
        let token = self.get_or_refresh_token(user_id).await?;
        self.gate(&token).await?;
        let identity = shared_cache_identity(&self.inner.host, user_id);
        let mut builder = self
            .with_shared_cache(self.inner.template.clone().without_credentials(), &identity)
            .sessions_of(user_id)
            .token_store(store.clone())
            .store_account(user_id)
            .use_logged_in_user(true);
        if let Some(refresher) = &self.inner.refresher {
            builder = builder.refresher(refresher.clone());
        }
        let client = builder.build()?;
        Ok(self.insert(user_id, client, None))
    }

    fn with_shared_cache(
        &self,
        builder: CopilotClientBuilder,
        identity: &str,
    ) -> CopilotClientBuilder {
        match &self.inner.shared_caches {
            Some(caches) => builder
                .shared_token_cache(caches.cache_for(identity))
                .shared_cache_options(self.inner.shared_cache_options.clone()),
            None => builder,
        }
    }

    /// The official SDK guide's `getOrRefreshToken`: the stored token of `user_id` if it is still valid, else a
    /// refreshed one (saved to the store first), else [`SdkError::SignInRequired`] ("User must re-authenticate").
    pub async fn get_or_refresh_token(&self, user_id: &str) -> Result<GitHubToken, SdkError> {
        let store = self.store()?;
        let key = self.key(user_id);
        let refresher = self.inner.refresher.as_deref();
        load_usable(store.as_ref(), &key, refresher, &self.inner.refresh_options)
            .await?
            .ok_or_else(|| SdkError::SignInRequired {
                reason: format!("user {user_id} must authenticate"),
            })
    }

    /// Stores a fresh sign-in of `user_id` (e.g. from the web flow) in the pool's token store, replacing the
    /// user's client if one exists.
    pub async fn save_login(
        &self,
        user_id: &str,
        client_id: Option<String>,
        response: &GitHubTokenResponse,
    ) -> Result<(), SdkError> {
        response.access_token.check_usable_for_copilot()?;
        let store = self.store()?;
        let credential =
            StoredCredential::from_token_response(self.inner.host.key(), client_id, response);
        store.save(&self.key(user_id), &credential).await?;
        self.remove(user_id);
        Ok(())
    }

    /// Whether the token's user belongs to `org` (the official SDK guide's `verifyOrgMembership`).
    pub async fn verify_org_membership(
        &self,
        token: &GitHubToken,
        org: &str,
    ) -> Result<bool, SdkError> {
        Ok(self.inner.github.verify_org_membership(token, org).await?)
    }

    /// Drops the client of `user_id` (stopping its background refresher). Returns whether there was one.
    pub fn remove(&self, user_id: &str) -> bool {
        let entry = self.clients().remove(user_id);
        entry.map(|e| e.client.stop()).is_some()
    }

    /// Drops every client unused for longer than the idle timeout. Returns how many were dropped.
    pub fn evict_idle(&self) -> usize {
        let now = self.inner.clock.now();
        let timeout = self.inner.idle_timeout;
        let mut evicted = Vec::new();
        self.clients().retain(|_, entry| {
            let idle = now.duration_since(entry.last_used).unwrap_or_default();
            let keep = idle <= timeout;
            if !keep {
                evicted.push(entry.client.clone());
            }
            keep
        });
        for client in &evicted {
            client.stop();
        }
        evicted.len()
    }

    /// How many users have a client.
    pub fn len(&self) -> usize {
        self.clients().len()
    }

    /// Whether no user has a client.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shared transport.
    pub fn transport(&self) -> &SharedTransport {
        &self.inner.transport
    }

    fn clients(&self) -> MutexGuard<'_, HashMap<String, PoolEntry>> {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn key(&self, user_id: &str) -> CredentialKey {
        CredentialKey::new(self.inner.host.key(), user_id)
    }

    fn store(&self) -> Result<Arc<dyn TokenStore>, SdkError> {
        self.inner
            .store
            .clone()
            .ok_or_else(|| SdkError::config("the pool has no token store"))
    }

    /// The existing client of `user_id` if `matches` accepts its entry, marked as used now.
    fn touch(&self, user_id: &str, matches: impl Fn(&PoolEntry) -> bool) -> Option<CopilotClient> {
        let now = self.inner.clock.now();
        let mut clients = self.clients();
        let entry = clients.get_mut(user_id).filter(|e| matches(e))?;
        entry.last_used = now;
        Some(entry.client.clone())
    }

    fn insert(
        &self,
        user_id: &str,
        client: CopilotClient,
        token: Option<GitHubToken>,
    ) -> CopilotClient {
        let entry = PoolEntry {
            client: client.clone(),
            token,
            last_used: self.inner.clock.now(),
        };
        if let Some(old) = self.clients().insert(user_id.to_owned(), entry) {
            old.client.stop();
        }
        client
    }

    async fn gate(&self, token: &GitHubToken) -> Result<(), SdkError> {
        let Some(org) = &self.inner.required_org else {
            return Ok(());
        };
        if self.inner.github.verify_org_membership(token, org).await? {
            Ok(())
        } else {
            Err(SdkError::NotOrgMember { org: org.clone() })
        }
    }
}
