//! Copilot access for copilot-rs: turns a GitHub token into credentials for the Copilot API and keeps them
//! fresh under load.
//!
//! - [`TokenExchanger`] calls `GET {rest}/copilot_internal/v2/token` (and `copilot_internal/user`) and maps
//!   every known error to a typed [`TokenError`].
//! - [`CopilotToken`] is the decoded envelope: the secret token, its expiry, the advertised endpoints and the
//!   Copilot API base URL (checked against the host allowlist), the token's `k=v` fields, and every other field.
//! - [`TokenManager`] caches credentials, refreshes them single-flight, and supports [`AuthMode::Direct`] (the
//!   GitHub token itself as bearer) and [`AuthMode::Auto`] (exchange, falling back to direct on 404).
//! - [`GitHubTokenProvider`] is where GitHub tokens come from; [`StaticGitHubToken`] is the simplest one.
//!
//! # Refresh policy
//!
//! A Copilot token lives about 30 minutes. The manager refreshes at
//! `refresh_at = min(fetched_at + refresh_in, expires_at − skew)` (skew 60 s by default). `fetched_at` and
//! `refresh_in` use the local clock, `expires_at` is server time; taking the earlier of the two covers clock
//! skew in either direction.
//!
//! - **Lazy.** The first [`TokenManager::credentials`] (or [`get`](TokenManager::get)) at or after
//!   `refresh_at` refreshes. Before it, calls are answered from the cache with a lock-free-in-practice read
//!   (a `std` read lock that no writer holds across an await).
//! - **Single-flight.** Any number of concurrent callers at the deadline cause exactly one exchange; callers
//!   queued behind a failed attempt receive its error rather than starting their own.
//! - **Backoff after a failure.** Sequential callers after a failed attempt get its error without a new
//!   attempt for [`MIN_FAILURE_BACKOFF`] (1 s), doubling with each further failure up to
//!   [`MAX_FAILURE_BACKOFF`] (60 s), by the exchanger's clock; a success resets it. A still-valid token is
//!   served meanwhile after a transient failure, except to a caller replacing credentials the API rejected.
//! - **Optional background refresher.** [`TokenManager::spawn_background_refresh`] refreshes at each deadline
//!   with jittered backoff on failure; correctness never depends on it.
//! - **On 401/403/421 from the Copilot API**, pass the credentials you used to [`TokenManager::invalidate`]
//!   and retry once: the cache is cleared only if it still holds those credentials, so a token another task
//!   just refreshed survives.
//! - **Expiring GitHub tokens** (GitHub App `ghu_`) are the provider's business: it is asked for the GitHub
//!   token before each exchange, and once to refresh it when the exchange answers 401.
//! - **Across processes**, give every process's manager the same [`SharedTokenCache`]
//!   ([`TokenManagerBuilder::shared_cache`]; the Redis and PostgreSQL store crates implement it): at expiry
//!   one process, elected by the cache's time-limited lease, exchanges and publishes; the others wait and use
//!   its token. A process that dies holding the lease is replaced once the lease runs out.
//! - If a refresh fails transiently (network, 5xx, rate limit) while the current token has not yet expired,
//!   the current one keeps being served and the refresh is retried a few seconds later.
//!
//! The base URL is `endpoints.api` of the same envelope, else derived from the token's `proxy-ep`, else the
//! host's default, never from an account-type flag. A base URL outside `githubcopilot.com`, the configured
//! GHE.com tenant or the configured Copilot host is refused ([`TokenError::UntrustedEndpoint`]); loopback is
//! accepted only for a custom (test) host.
//!
//! The wire rules, each with the test that pins it, are in [`docs/protocol.md`][protocol] §5.
//!
//! [protocol]: https://github.com/copilot-rs/copilot-rs/blob/main/docs/protocol.md
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use copilot_http::{GitHubHost, SharedTransport};
//! use copilot_token::{AuthMode, StaticGitHubToken, TokenExchanger, TokenManager};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = SharedTransport::default_reqwest()?;
//! let exchanger = TokenExchanger::new(transport, GitHubHost::github_com());
//! let provider = Arc::new(StaticGitHubToken::new("gho_example"));
//! let manager = TokenManager::builder(exchanger, provider)
//!     .mode(AuthMode::Auto)
//!     .build();
//!
//! let credentials = manager.credentials().await?;
//! println!("calling {} in {:?} mode", credentials.base_url, manager.current_mode());
//! // … send the request with credentials.authorization_header() …
//! // On a 401 from the API:
//! manager.invalidate(&credentials);
//! let retry_with = manager.credentials().await?;
//! # let _ = retry_with;
//! # Ok(()) }
//! ```

mod credentials;
mod error;
mod exchange;
mod manager;
mod provider;
mod refresher;
mod shared;
mod token;
mod user;

pub use copilot_core::{
    CopilotAuth, CopilotCredentials, CredentialError, CredentialTag, GitHubToken, TokenKind,
};
pub use credentials::AuthMode;
pub use error::TokenError;
pub use exchange::{TokenExchanger, TokenExchangerBuilder};
pub use manager::{
    DEFAULT_DIRECT_RECHECK, DEFAULT_REFRESH_SKEW, MAX_FAILURE_BACKOFF, MIN_FAILURE_BACKOFF,
    TokenManager, TokenManagerBuilder,
};
pub use provider::{GitHubTokenProvider, StaticGitHubToken};
pub use refresher::RefresherHandle;
pub use shared::{
    DEFAULT_LEASE_TTL, InProcessTokenCache, InProcessTokenCaches, LeaseId, SharedCacheOptions,
    SharedCopilotToken, SharedTokenCache, SharedTokenCaches,
};
pub use token::{
    CopilotToken, Endpoints, LimitedUserQuotas, TokenFields, UserNotification,
    resolve_copilot_base_url,
};
pub use user::{
    CopilotPlan, CopilotUserInfo, Organization, QuotaSnapshot, QuotaSnapshots, TokenBasedBilling,
};
