//! [`CopilotCredentials`] and the [`CopilotAuth`] source that hands them out.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::CredentialError;
use crate::provider::{ApiService, AuthScheme};

/// An opaque label a [`CopilotAuth`] source puts on the [`CopilotCredentials`] it hands out, and gets back in
/// [`CopilotAuth::invalidate`], so it can tell exactly which credentials the server rejected without
/// comparing secrets. copilot-token's manager uses its generation number; API clients never interpret it.
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

/// Credentials for one Copilot API call: send `Authorization: Bearer <bearer>` (and, when set,
/// `Copilot-Integration-Id: <integration_id>`) to `base_url`.
///
/// The same type carries a [`Provider`](crate::Provider)'s key (bring your own key): then
/// [`service`](Self::service) names the provider, and [`scheme`](Self::scheme) the header the secret goes in.
///
/// Cheap to clone. `Debug` redacts the bearer. On a 401/403/421 from the API, hand them back unchanged to
/// [`CopilotAuth::invalidate`].
#[derive(Clone)]
#[non_exhaustive]
pub struct CopilotCredentials {
    /// The bearer token: a Copilot token (exchange mode) or the GitHub token itself (direct mode); for a
    /// provider, its key or bearer token (empty with [`AuthScheme::None`]).
    pub bearer: SecretString,
    /// The Copilot API base, e.g. `https://api.individual.githubcopilot.com` (the `endpoints.api` of the same
    /// token exchange, already checked by the source).
    pub base_url: Url,
    /// The source's label for these credentials (see [`CredentialTag`]).
    pub tag: Option<CredentialTag>,
    /// The `Copilot-Integration-Id` this bearer must be sent with, when the source knows it (it matters in
    /// direct mode: PATs work only with `copilot-developer-cli`). An API client sends it in place of its
    /// own identity's value.
    pub integration_id: Option<String>,
    /// When the bearer stops working, if known (a Copilot token's `expires_at`).
    pub expires_at: Option<SystemTime>,
    /// Which service the credentials are for (default [`ApiService::Copilot`]): an API client sends
    /// Copilot's header profile only to Copilot.
    pub service: ApiService,
    /// Which header carries [`bearer`](Self::bearer) (default [`AuthScheme::Bearer`]).
    pub scheme: AuthScheme,
}

impl CopilotCredentials {
    /// Credentials from a bearer and its base URL, without a tag, integration id or expiry.
    pub fn new(bearer: impl Into<SecretString>, base_url: Url) -> Self {
        CopilotCredentials {
            bearer: bearer.into(),
            base_url,
            tag: None,
            integration_id: None,
            expires_at: None,
            service: ApiService::Copilot,
            scheme: AuthScheme::Bearer,
        }
    }

    /// Labels the credentials (see [`CredentialTag`]).
    pub fn with_tag(mut self, tag: impl Into<CredentialTag>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// The `Copilot-Integration-Id` the bearer belongs to.
    pub fn with_integration_id(mut self, integration_id: impl Into<String>) -> Self {
        self.integration_id = Some(integration_id.into());
        self
    }

    /// When the bearer expires.
    pub fn with_expires_at(mut self, expires_at: impl Into<SystemTime>) -> Self {
        self.expires_at = Some(expires_at.into());
        self
    }

    /// `Bearer <bearer>` as a header value marked sensitive, or `None` if the bearer cannot be a header value.
    pub fn authorization_header(&self) -> Option<HeaderValue> {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", self.bearer.expose_secret())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The one header that carries the secret, per [`scheme`](Self::scheme), with its value marked
    /// sensitive: `Ok(None)` for [`AuthScheme::None`], `Err(())` if the secret cannot be a header value
    /// (the error never quotes it).
    #[allow(clippy::result_unit_err)]
    pub fn auth_header(&self) -> Result<Option<(http::HeaderName, HeaderValue)>, ()> {
        let Some(name) = self.scheme.header_name() else {
            return Ok(None);
        };
        let mut value = match self.scheme {
            AuthScheme::Bearer => self.authorization_header().ok_or(())?,
            _ => HeaderValue::from_str(self.bearer.expose_secret()).map_err(|_| ())?,
        };
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }
}

impl fmt::Debug for CopilotCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopilotCredentials")
            .field("bearer", &"[redacted]")
            .field("base_url", &self.base_url.as_str())
            .field("tag", &self.tag)
            .field("integration_id", &self.integration_id)
            .field("expires_at", &self.expires_at)
            .field("service", &self.service)
            .field("scheme", &self.scheme)
            .finish()
    }
}

/// A source of [`CopilotCredentials`]: copilot-token's `TokenManager`, [`StaticAuth`], or your own (a
/// shared cache, a secrets service).
#[async_trait]
pub trait CopilotAuth: Send + Sync + fmt::Debug {
    /// Current credentials, refreshed first when needed.
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError>;

    /// Called once when the server rejected `rejected` (401, 403 or 421): drop them so the next
    /// [`credentials`](Self::credentials) fetches fresh ones. `rejected` is exactly what `credentials`
    /// returned, [`tag`](CopilotCredentials::tag) included, so a source can leave credentials another task
    /// already replaced alone. The default does nothing.
    async fn invalidate(&self, rejected: &CopilotCredentials) {
        let _ = rejected;
    }
}

/// A fixed bearer and base URL (a pre-exchanged token, a test server). Invalidation has no effect.
#[derive(Clone, Debug)]
pub struct StaticAuth {
    credentials: CopilotCredentials,
}

impl StaticAuth {
    /// Always answers with `bearer` for `base_url`.
    pub fn new(bearer: impl Into<SecretString>, base_url: Url) -> Self {
        StaticAuth {
            credentials: CopilotCredentials::new(bearer, base_url),
        }
    }

    /// Always answers with `credentials`.
    pub fn from_credentials(credentials: CopilotCredentials) -> Self {
        StaticAuth { credentials }
    }
}

#[async_trait]
impl CopilotAuth for StaticAuth {
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError> {
        Ok(self.credentials.clone())
    }
}

#[async_trait]
impl<T: CopilotAuth + ?Sized> CopilotAuth for Arc<T> {
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError> {
        (**self).credentials().await
    }

    async fn invalidate(&self, rejected: &CopilotCredentials) {
        (**self).invalidate(rejected).await
    }
}
