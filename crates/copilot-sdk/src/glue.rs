//! Adapters between the lower crates, which do not know each other:
//!
//! - [`ManagerAuth`]: copilot-api's [`CopilotAuth`] over copilot-token's [`TokenManager`].
//! - [`StoreTokenProvider`]: copilot-token's [`GitHubTokenProvider`] over a copilot-auth [`TokenStore`],
//!   refreshing expiring GitHub App tokens with [`get_or_refresh_with`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use copilot_api::{ApiCredentials, ApiError, CopilotAuth, CredentialTag};
use copilot_auth::{
    AuthError, CredentialKey, CredentialRefresher, RefreshOptions, TokenStore, get_or_refresh_with,
    refresh_after_rejection,
};
use copilot_http::time::SharedClock;
use copilot_token::{CopilotCredentials, GitHubTokenProvider, TokenError, TokenManager};
use secrecy::SecretString;

/// [`CopilotAuth`] backed by a [`TokenManager`].
///
/// Every distinct set of credentials the manager issues gets a [`CredentialTag`]; the API client hands the
/// tag back with a rejection, and `invalidate` passes the [`CopilotCredentials`] issued under it to
/// [`TokenManager::invalidate`], which clears the cache only if it still holds them: a token another task
/// refreshed in the meantime survives. Only the latest issue is kept, because the manager only ever clears
/// its current credentials; a rejection of anything older is already moot.
///
/// A credential failure is returned as [`ApiError::Auth`] with the [`TokenError`] as its source, so the
/// SDK can map it back to a typed error ("sign in again").
pub(crate) struct ManagerAuth {
    manager: TokenManager,
    /// The newest credentials handed out; their generation is their tag.
    latest: Mutex<Option<CopilotCredentials>>,
}

impl ManagerAuth {
    pub(crate) fn new(manager: TokenManager) -> Self {
        ManagerAuth {
            manager,
            latest: Mutex::new(None),
        }
    }

    /// Tags `credentials` with their generation and remembers the newest issue, so `invalidate` can hand the
    /// manager exactly what it issued.
    fn tag(&self, credentials: &CopilotCredentials) -> CredentialTag {
        let generation = credentials.generation();
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if latest
            .as_ref()
            .is_none_or(|issued| issued.generation() <= generation)
        {
            *latest = Some(credentials.clone());
        }
        CredentialTag::new(generation)
    }
}

impl fmt::Debug for ManagerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerAuth")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CopilotAuth for ManagerAuth {
    async fn credentials(&self) -> Result<ApiCredentials, ApiError> {
        let credentials = self
            .manager
            .credentials()
            .await
            .map_err(ApiError::auth_with_source)?;
        let tag = self.tag(&credentials);
        Ok(ApiCredentials::new(credentials.bearer, credentials.base_url).with_tag(tag))
    }

    async fn invalidate(&self, rejected: &ApiCredentials) {
        let Some(tag) = rejected.tag else {
            return;
        };
        let issued = {
            let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
            latest
                .as_ref()
                .filter(|issued| issued.generation() == tag.get())
                .cloned()
        };
        if let Some(issued) = issued {
            self.manager.invalidate(&issued);
        }
    }
}

/// Where a [`StoreTokenProvider`] finds its GitHub token.
pub(crate) struct StoreTokenProvider {
    store: Arc<dyn TokenStore>,
    key: CredentialKey,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    options: RefreshOptions,
    clock: SharedClock,
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
            options: RefreshOptions::new().with_clock(clock.clone()),
            clock,
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
    TokenError::github_token_unavailable(error)
}

#[async_trait]
impl GitHubTokenProvider for StoreTokenProvider {
    async fn github_token(&self) -> Result<SecretString, TokenError> {
        match &self.refresher {
            Some(refresher) => get_or_refresh_with(
                self.store.as_ref(),
                &self.key,
                refresher.as_ref(),
                &self.options,
            )
            .await
            .map(|token| token.as_secret().clone())
            .map_err(unavailable),
            None => {
                let credential = self
                    .store
                    .load(&self.key)
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| {
                        unavailable(AuthError::SignInRequired {
                            reason: format!("no stored credential for {}", self.key),
                        })
                    })?;
                if credential.is_expired(self.clock.now()) {
                    return Err(TokenError::GitHubTokenRejected {
                        message: "the stored GitHub token has expired and cannot be refreshed"
                            .to_owned(),
                    });
                }
                Ok(credential.access_token.as_secret().clone())
            }
        }
    }

    async fn refresh_github_token(
        &self,
        rejected: &SecretString,
    ) -> Result<Option<SecretString>, TokenError> {
        let Some(refresher) = &self.refresher else {
            return Ok(None);
        };
        let rejected = copilot_auth::GitHubToken::from(rejected.clone());
        match refresh_after_rejection(
            self.store.as_ref(),
            &self.key,
            refresher.as_ref(),
            &rejected,
            &self.options,
        )
        .await
        {
            Ok(token) => Ok(Some(token.as_secret().clone())),
            Err(AuthError::SignInRequired { .. } | AuthError::BadRefreshToken) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }
}
