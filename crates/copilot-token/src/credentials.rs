//! What an API client needs to call Copilot: a bearer, a base URL, and how they were obtained.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::CopilotToken;

/// How GitHub credentials become Copilot API credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// Exchange the GitHub token at `copilot_internal/v2/token` and send the short-lived Copilot token as
    /// `Bearer` to the `endpoints.api` of the same response. Works for tokens of allow-listed apps.
    Exchange,
    /// Send the GitHub token itself as `Bearer` to the Copilot API (base from `copilot_internal/user`
    /// `endpoints.api`, else the host default), with the configured `Copilot-Integration-Id`. For tokens of
    /// your own OAuth/GitHub App and fine-grained PATs.
    Direct,
    /// Exchange, and fall back to direct mode when the exchange answers 404 (and go direct at once for
    /// `github_pat_`/`ghs_` tokens, which can never be exchanged). The decision is remembered for the life of
    /// the manager.
    #[default]
    Auto,
}

/// Credentials for one Copilot API call: send `Authorization: Bearer <bearer>` and
/// `Copilot-Integration-Id: <integration_id>` to `base_url`.
///
/// Cheap to clone. `Debug` redacts the bearer. On a 401/403/421 from the API, pass these back to
/// [`TokenManager::invalidate`](crate::TokenManager::invalidate) and retry once with fresh credentials.
#[derive(Clone)]
pub struct CopilotCredentials {
    /// The bearer token: a Copilot token ([`AuthMode::Exchange`]) or the GitHub token ([`AuthMode::Direct`]).
    pub bearer: SecretString,
    /// The Copilot API base URL (already checked against the host allowlist).
    pub base_url: Url,
    /// [`AuthMode::Exchange`] or [`AuthMode::Direct`] (never `Auto`).
    pub mode: AuthMode,
    /// When the bearer stops working, if known (the Copilot token's `expires_at`).
    pub expires_at: Option<SystemTime>,
    /// The `Copilot-Integration-Id` to send with this bearer (it matters in direct mode: PATs work only with
    /// `copilot-developer-cli`).
    pub integration_id: String,
    /// The exchanged token with its envelope, in exchange mode.
    pub copilot_token: Option<Arc<CopilotToken>>,
    pub(crate) generation: u64,
}

impl CopilotCredentials {
    /// Identifies this issue of credentials: every refresh or re-resolution yields a new, larger generation,
    /// and [`TokenManager::invalidate`](crate::TokenManager::invalidate) clears the cache only when the
    /// generation it is handed is the cached one. Adapters that hand credentials to other code can carry it
    /// as an opaque tag and map it back.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `Bearer <bearer>` as a header value marked sensitive, or `None` if the bearer cannot be a header value.
    pub fn authorization_header(&self) -> Option<HeaderValue> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", self.bearer.expose_secret())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for CopilotCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopilotCredentials")
            .field("bearer", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("expires_at", &self.expires_at)
            .field("integration_id", &self.integration_id)
            .field("copilot_token", &self.copilot_token)
            .field("generation", &self.generation)
            .finish()
    }
}
