//! [`StoreTokenProvider`]: copilot-token's [`GitHubTokenProvider`] over a copilot-auth [`TokenStore`],
//! refreshing expiring GitHub App tokens with [`get_or_refresh_with`]. Store failures reach the token
//! manager as typed [`CredentialError`]s (copilot-auth's `From<AuthError>`), so "sign in again" survives the
//! trip typed.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use copilot_auth::{
    AuthError, CredentialError, CredentialKey, CredentialRefresher, GitHubToken, RefreshOptions,
    TokenStore, load_usable, refresh_after_rejection,
};
use copilot_http::time::SharedClock;
use copilot_token::{GitHubTokenProvider, TokenError};

/// Where a [`StoreTokenProvider`] finds its GitHub token.
pub(crate) struct StoreTokenProvider {
    store: Arc<dyn TokenStore>,
    key: CredentialKey,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    /// Carries the clock that judges expiry.
    options: RefreshOptions,
}

impl StoreTokenProvider {
    pub(crate) fn new(
        store: Arc<dyn TokenStore>,
        key: CredentialKey,
        refresher: Option<Arc<dyn CredentialRefresher>>,
        clock: SharedClock,
    ) -> Self {
        StoreTokenProvider {
            store,
            key,
            refresher,
            options: RefreshOptions::new().clock(clock),
        }
    }
}

impl fmt::Debug for StoreTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreTokenProvider")
            .field("store", &self.store)
            .field("key", &self.key)
            .field("refreshes", &self.refresher.is_some())
            .finish()
    }
}

fn unavailable(error: AuthError) -> TokenError {
    TokenError::Credential(CredentialError::from(error))
}

#[async_trait]
impl GitHubTokenProvider for StoreTokenProvider {
    async fn github_token(&self) -> Result<GitHubToken, TokenError> {
        load_usable(
            self.store.as_ref(),
            &self.key,
            self.refresher.as_deref(),
            &self.options,
        )
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            unavailable(AuthError::SignInRequired {
                reason: format!("no stored credential for {}", self.key),
            })
        })
    }

    async fn refresh_github_token(
        &self,
        rejected: &GitHubToken,
    ) -> Result<Option<GitHubToken>, TokenError> {
        let Some(refresher) = &self.refresher else {
            return Ok(None);
        };
        match refresh_after_rejection(
            self.store.as_ref(),
            &self.key,
            refresher.as_ref(),
            rejected,
            &self.options,
        )
        .await
        {
            Ok(token) => Ok(Some(token)),
            Err(AuthError::SignInRequired { .. } | AuthError::BadRefreshToken) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }
}
