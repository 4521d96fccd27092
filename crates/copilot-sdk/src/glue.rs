//! Adapters between the lower crates, which do not know each other:
//!
//! - [`ManagerAuth`]: copilot-api's [`CopilotAuth`] over copilot-token's [`TokenManager`].
//! - [`StoreTokenProvider`]: copilot-token's [`GitHubTokenProvider`] over a copilot-auth [`TokenStore`],
//!   refreshing expiring GitHub App tokens with [`get_or_refresh_with`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use copilot_api::{ApiCredentials, ApiError, CopilotAuth};
use copilot_auth::{
    AuthError, CredentialKey, CredentialRefresher, RefreshOptions, TokenStore, get_or_refresh_with,
    refresh_after_rejection,
};
use copilot_http::time::SharedClock;
use copilot_token::{CopilotCredentials, GitHubTokenProvider, TokenError, TokenManager};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// How many recently handed-out credentials are remembered, so a rejection can be traced back to the exact
/// credentials (and their generation) the manager issued.
const RECENT: usize = 4;

fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    bool::from(
        a.expose_secret()
            .as_bytes()
            .ct_eq(b.expose_secret().as_bytes()),
    )
}

/// [`CopilotAuth`] backed by a [`TokenManager`].
///
/// `invalidate` maps the rejected [`ApiCredentials`] back to the [`CopilotCredentials`] they came from and
/// passes those to [`TokenManager::invalidate`], which clears the cache only if it still holds them: a token
/// another task refreshed in the meantime survives.
pub(crate) struct ManagerAuth {
    manager: TokenManager,
    recent: Mutex<Vec<CopilotCredentials>>,
}

impl ManagerAuth {
    pub(crate) fn new(manager: TokenManager) -> Self {
        ManagerAuth {
            manager,
            recent: Mutex::new(Vec::with_capacity(RECENT)),
        }
    }

    fn remember(&self, credentials: &CopilotCredentials) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.iter().any(|c| {
            same_secret(&c.bearer, &credentials.bearer) && c.base_url == credentials.base_url
        }) {
            return;
        }
        if recent.len() == RECENT {
            recent.remove(0);
        }
        recent.push(credentials.clone());
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
            .map_err(|error| ApiError::Auth {
                message: error.to_string(),
            })?;
        self.remember(&credentials);
        Ok(ApiCredentials::new(
            credentials.bearer.clone(),
            credentials.base_url.clone(),
        ))
    }

    async fn invalidate(&self, rejected: &ApiCredentials) {
        let issued = {
            let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            recent
                .iter()
                .rev()
                .find(|c| {
                    same_secret(&c.bearer, &rejected.bearer) && c.base_url == rejected.base_url
                })
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
