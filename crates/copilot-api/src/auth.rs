//! Where the client gets its bearer token and base URL: the [`CopilotAuth`] trait.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::error::ApiError;

/// An opaque label a [`CopilotAuth`] source puts on the [`ApiCredentials`] it hands out, and gets back in
/// [`CopilotAuth::invalidate`], so it can tell exactly which credentials the server rejected without
/// comparing secrets. The client never interprets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialTag(u64);

impl CredentialTag {
    /// A tag with this value (a generation number, a table key, …).
    pub const fn new(value: u64) -> Self {
        CredentialTag(value)
    }

    /// The value given to [`new`](Self::new).
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for CredentialTag {
    fn from(value: u64) -> Self {
        CredentialTag(value)
    }
}

/// A bearer token and the Copilot API base URL it belongs to (`endpoints.api` of the same token exchange).
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiCredentials {
    /// The `Authorization: Bearer` token (a Copilot token, or a GitHub token in direct mode).
    pub bearer: SecretString,
    /// The API base, e.g. `https://api.individual.githubcopilot.com`.
    pub base_url: Url,
    /// The source's label for these credentials, passed back unchanged to [`CopilotAuth::invalidate`].
    pub tag: Option<CredentialTag>,
}

impl ApiCredentials {
    /// Credentials from a token and its base URL, without a tag.
    pub fn new(bearer: impl Into<SecretString>, base_url: Url) -> Self {
        ApiCredentials {
            bearer: bearer.into(),
            base_url,
            tag: None,
        }
    }

    /// Labels the credentials (see [`CredentialTag`]).
    pub fn with_tag(mut self, tag: impl Into<CredentialTag>) -> Self {
        self.tag = Some(tag.into());
        self
    }
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("bearer", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("tag", &self.tag)
            .finish()
    }
}

/// A source of [`ApiCredentials`]. copilot-token's manager implements it; [`StaticAuth`] serves a fixed
/// token.
#[async_trait]
pub trait CopilotAuth: Send + Sync + fmt::Debug {
    /// Current credentials (refreshing them first when needed).
    async fn credentials(&self) -> Result<ApiCredentials, ApiError>;

    /// Called when the server rejected `rejected` (401, or 403/421 once): drop them so the next
    /// [`credentials`](Self::credentials) fetches fresh ones. `rejected` is exactly what `credentials`
    /// returned, [`tag`](ApiCredentials::tag) included. The default does nothing.
    async fn invalidate(&self, rejected: &ApiCredentials) {
        let _ = rejected;
    }
}

/// A fixed token and base URL (a pre-exchanged token, a test server).
#[derive(Clone, Debug)]
pub struct StaticAuth {
    credentials: ApiCredentials,
}

impl StaticAuth {
    /// Always answers with `bearer` for `base_url`.
    pub fn new(bearer: impl Into<SecretString>, base_url: Url) -> Self {
        StaticAuth {
            credentials: ApiCredentials::new(bearer, base_url),
        }
    }
}

#[async_trait]
impl CopilotAuth for StaticAuth {
    async fn credentials(&self) -> Result<ApiCredentials, ApiError> {
        Ok(self.credentials.clone())
    }
}

#[async_trait]
impl<T: CopilotAuth + ?Sized> CopilotAuth for std::sync::Arc<T> {
    async fn credentials(&self) -> Result<ApiCredentials, ApiError> {
        (**self).credentials().await
    }

    async fn invalidate(&self, rejected: &ApiCredentials) {
        (**self).invalidate(rejected).await
    }
}
