//! The one error type of this crate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use copilot_core::CredentialError;
use copilot_http::TransportError;

/// Everything that can go wrong while turning a GitHub token into Copilot access.
///
/// The type is `Clone` so that every caller waiting on one single-flight refresh receives the same typed error
/// (sources are shared behind [`Arc`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// GitHub rejected the GitHub token (401 from the exchange or from `copilot_internal/user`), and the
    /// [`GitHubTokenProvider`](crate::GitHubTokenProvider) could not refresh it. The user must sign in again.
    #[error("GitHub rejected the GitHub token ({message}); sign in again")]
    GitHubTokenRejected {
        /// GitHub's message (e.g. `Bad credentials`), length-limited.
        message: String,
    },
    /// The account has no usable Copilot access (403 with the Copilot error envelope). Show `message` and `url`
    /// to the user.
    #[error("no Copilot access: {message}")]
    NotEntitled {
        /// Why, e.g. `no_copilot_access`, `subscription_ended`, `feature_flag_blocked` (open set).
        notification_id: Option<String>,
        /// The human-readable explanation (`error_details.message`, else the top-level `message`).
        message: String,
        /// Where the user can fix it (`error_details.url`).
        url: Option<String>,
        /// Whether the user could enable Copilot Free.
        can_signup_for_limited: Option<bool>,
    },
    /// GitHub's REST rate limit was hit (403 or 429 from a `copilot_internal` endpoint).
    #[error("GitHub API rate limit exceeded: {message}")]
    RateLimited {
        /// When the limit resets (`x-ratelimit-reset`), if GitHub said so.
        reset_at: Option<SystemTime>,
        /// How long to wait (`retry-after`), if GitHub said so.
        retry_after: Option<Duration>,
        /// GitHub's message, length-limited.
        message: String,
    },
    /// The server refused this kind of GitHub token here: a fine-grained PAT on the exchange ("Resource not
    /// accessible by personal access token"). Kinds refused before anything is sent (`ghp_`, `ghr_`, and
    /// text that cannot be sent in a header) are [`TokenError::Credential`].
    #[error("this GitHub token cannot be used here: {message}")]
    UnsupportedTokenSource {
        /// What is wrong and what to do instead.
        message: String,
    },
    /// The exchange answered 404: the token was minted by an app that is not allowed to exchange (e.g. your
    /// own OAuth app), or the account has no seat. Use [`AuthMode::Direct`](crate::AuthMode::Direct) (or
    /// [`AuthMode::Auto`](crate::AuthMode::Auto)).
    #[error(
        "the Copilot token exchange is not available for this GitHub token (404); use direct mode (AuthMode::Direct or AuthMode::Auto)"
    )]
    ExchangeNotAvailable,
    /// A server advertised a Copilot API base URL that may not receive a token (not https on
    /// `githubcopilot.com`, the configured GHE.com tenant, or loopback). The token was not used.
    #[error(
        "refusing to use the advertised Copilot API endpoint {url}: not a trusted Copilot host"
    )]
    UntrustedEndpoint {
        /// The refused URL (as advertised, truncated).
        url: String,
    },
    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP {status} from {endpoint}: {snippet}")]
    Http {
        /// The status code.
        status: u16,
        /// Which endpoint answered, e.g. `copilot_internal/v2/token`.
        endpoint: &'static str,
        /// The start of the body, sanitised and length-limited.
        snippet: String,
        /// `x-github-request-id`, for support requests.
        request_id: Option<String>,
    },
    /// A success response could not be decoded, not even leniently.
    #[error("could not decode the {what}: {message}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why (never includes the token).
        message: String,
    },
    /// The HTTP layer failed (connect, timeout, refused URL, …) after any retries.
    #[error(transparent)]
    Transport(Arc<TransportError>),
    /// No usable GitHub token: the [`GitHubTokenProvider`](crate::GitHubTokenProvider) could not produce
    /// one (the user must sign in, the store failed, …), or its kind is refused before anything is sent
    /// (`ghp_`, `ghr_`: [`CredentialError::UnsupportedToken`]).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// [`TokenManager::get`](crate::TokenManager::get) was called in direct mode, where there is no Copilot
    /// token (the GitHub token is the bearer). Use [`TokenManager::credentials`](crate::TokenManager::credentials).
    #[error("direct mode has no Copilot token; use TokenManager::credentials()")]
    DirectModeHasNoCopilotToken,
    /// The shared Copilot-token cache ([`SharedTokenCache`](crate::SharedTokenCache)) failed, or no token was
    /// published in time while another process held its lease. The source is the cache's own error type.
    #[error("shared Copilot-token cache: {0}")]
    SharedCache(Arc<dyn std::error::Error + Send + Sync>),
}

impl TokenError {
    /// A provider failure that is not one of [`CredentialError`]'s typed cases (not transient).
    pub fn github_token_unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        TokenError::Credential(CredentialError::unavailable_from(error, false))
    }

    /// Wraps a shared-cache failure.
    pub fn shared_cache(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        TokenError::SharedCache(Arc::from(error.into()))
    }

    /// Whether the user has to sign in again to get out of this error.
    pub fn requires_sign_in(&self) -> bool {
        match self {
            TokenError::GitHubTokenRejected { .. } => true,
            TokenError::Credential(error) => error.requires_sign_in(),
            _ => false,
        }
    }

    /// Whether trying again later can succeed (network failure, 5xx, rate limit).
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Transport(error) => error.is_retryable(),
            TokenError::RateLimited { .. } => true,
            TokenError::Http { status, .. } => {
                copilot_http::retry::is_retryable_status_code(*status)
            }
            TokenError::Credential(error) => error.is_transient(),
            _ => false,
        }
    }
}

impl From<TransportError> for TokenError {
    fn from(error: TransportError) -> Self {
        TokenError::Transport(Arc::new(error))
    }
}

/// What a [`CopilotAuth`](copilot_core::CopilotAuth) caller sees of a manager failure: the cases callers react
/// to become typed [`CredentialError`] variants; anything else is
/// [`CredentialError::Unavailable`] with this error as its source.
impl From<TokenError> for CredentialError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Credential(error) => error,
            TokenError::GitHubTokenRejected { message } => CredentialError::Rejected { message },
            TokenError::NotEntitled { message, url, .. } => {
                CredentialError::NotEntitled { message, url }
            }
            other => {
                let transient = other.is_transient();
                CredentialError::unavailable_from(other, transient)
            }
        }
    }
}
