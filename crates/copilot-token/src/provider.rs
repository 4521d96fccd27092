//! Where GitHub tokens come from.
//!
//! This crate does not know how a user signed in. It asks a [`GitHubTokenProvider`] for the GitHub token right
//! before each exchange (so an expiring GitHub App token is refreshed by the provider first), and asks it once
//! to refresh a token that GitHub rejected.

use std::fmt;

use async_trait::async_trait;
use copilot_core::GitHubToken;

use crate::TokenError;

/// A source of GitHub user tokens (`gho_`, `ghu_`, `github_pat_`, …), as [`GitHubToken`]s.
///
/// Contract:
/// - [`github_token`](Self::github_token) returns a token that is valid *now*: a provider backed by a GitHub App
///   token with an expiry refreshes it (with its `ghr_` refresh token) before returning it. It is called before
///   every exchange, so keep it cheap when nothing needs refreshing.
/// - [`refresh_github_token`](Self::refresh_github_token) is called once when GitHub rejected `rejected` (401).
///   Return `Ok(Some(new))` if a fresh token could be obtained, `Ok(None)` if not (the user must sign in again).
///   If another task already replaced `rejected`, return the current token.
#[async_trait]
pub trait GitHubTokenProvider: Send + Sync + fmt::Debug {
    /// The current GitHub token, refreshed first if it is known to be expired.
    async fn github_token(&self) -> Result<GitHubToken, TokenError>;

    /// A replacement for a token GitHub rejected, if one can be obtained. The default has none.
    async fn refresh_github_token(
        &self,
        rejected: &GitHubToken,
    ) -> Result<Option<GitHubToken>, TokenError> {
        let _ = rejected;
        Ok(None)
    }
}

/// A fixed GitHub token (from configuration or an environment variable). It cannot be refreshed.
#[derive(Clone)]
pub struct StaticGitHubToken {
    token: GitHubToken,
}

impl StaticGitHubToken {
    /// Wraps a token.
    pub fn new(token: impl Into<GitHubToken>) -> Self {
        StaticGitHubToken {
            token: token.into(),
        }
    }
}

impl fmt::Debug for StaticGitHubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticGitHubToken({:?})", self.token)
    }
}

#[async_trait]
impl GitHubTokenProvider for StaticGitHubToken {
    async fn github_token(&self) -> Result<GitHubToken, TokenError> {
        Ok(self.token.clone())
    }
}
