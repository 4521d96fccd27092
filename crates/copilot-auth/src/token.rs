//! What the OAuth token endpoint answers. The token type itself, [`GitHubToken`], lives in copilot-core.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;

use crate::GitHubToken;

/// A successful answer of `POST /login/oauth/access_token` (device flow, web flow or refresh).
#[derive(Clone)]
#[non_exhaustive]
pub struct GitHubTokenResponse {
    /// The access token (`gho_`, `ghu_`, …).
    pub access_token: GitHubToken,
    /// `token_type`, normally `bearer`.
    pub token_type: Option<String>,
    /// The granted scopes (GitHub sends them comma-separated; empty for GitHub Apps).
    pub scopes: Vec<String>,
    /// Lifetime of the access token, for expiring GitHub App user tokens.
    pub expires_in: Option<Duration>,
    /// The refresh token (`ghr_`), for expiring GitHub App user tokens.
    pub refresh_token: Option<SecretString>,
    /// Lifetime of the refresh token.
    pub refresh_token_expires_in: Option<Duration>,
    /// When the response was received (by the injected clock); the base of the expiry times.
    pub received_at: SystemTime,
    /// Any other fields of the response.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl GitHubTokenResponse {
    /// When the access token expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_in
            .map(|d| copilot_http::time::saturating_add(self.received_at, d))
    }

    /// When the refresh token expires, if there is one with a known lifetime.
    pub fn refresh_token_expires_at(&self) -> Option<SystemTime> {
        self.refresh_token_expires_in
            .map(|d| copilot_http::time::saturating_add(self.received_at, d))
    }
}

impl fmt::Debug for GitHubTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubTokenResponse")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("received_at", &self.received_at)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}
