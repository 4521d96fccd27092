//! [`Provider`]: a model provider reached with the user's own key (BYOK) instead of a Copilot token, as a
//! [`CopilotAuth`] source, so the API clients that speak chat, responses and messages to Copilot speak them
//! to the provider too.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::{CopilotAuth, CopilotCredentials, CredentialError};

/// `api-version` sent to Azure OpenAI unless [`Provider::api_version`] sets another (the official SDK's
/// default).
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Which kind of provider a [`Provider`] is: decides the URL shape and the header that carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// OpenAI or any OpenAI-compatible server (Ollama, vLLM, LiteLLM, Foundry's `/openai/v1/`): paths under
    /// the base URL, the key as `Authorization: Bearer`.
    OpenAi,
    /// Azure OpenAI's native endpoint (`https://<resource>.openai.azure.com`): deployment paths and
    /// `?api-version=`, the key as `api-key`.
    Azure,
    /// Anthropic's Messages API (`https://api.anthropic.com`): `/v1/messages`, the key as `x-api-key`.
    Anthropic,
}

/// Which OpenAI API an OpenAI or Azure provider's turns use (the official SDK's `wireApi`). Anthropic
/// providers always use the Messages API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireApi {
    /// Chat Completions (`/chat/completions`), the default: the widest model support.
    #[default]
    Completions,
    /// The Responses API (`/responses`).
    Responses,
}

/// Which header carries the secret of a [`CopilotCredentials`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Bearer <secret>` (Copilot, OpenAI keys, any provider's bearer token).
    #[default]
    Bearer,
    /// `api-key: <secret>` (Azure OpenAI keys).
    ApiKey,
    /// `x-api-key: <secret>` (Anthropic keys).
    XApiKey,
    /// No credential at all (a local server that needs no key).
    None,
}

impl AuthScheme {
    /// The header name this scheme sends, `None` for [`AuthScheme::None`].
    pub fn header_name(self) -> Option<http::HeaderName> {
        match self {
            AuthScheme::Bearer => Some(http::header::AUTHORIZATION),
            AuthScheme::ApiKey => Some(http::HeaderName::from_static("api-key")),
            AuthScheme::XApiKey => Some(http::HeaderName::from_static("x-api-key")),
            AuthScheme::None => None,
        }
    }
}

/// Which service a [`CopilotCredentials`] is for: decides the header profile and the URL shape an API
/// client uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiService {
    /// GitHub Copilot: the Copilot header profile (identity, intent, initiator, integration id) and
    /// Copilot's paths.
    #[default]
    Copilot,
    /// A provider of the user's own ([`Provider`]): none of Copilot's headers, the provider's paths.
    Provider {
        /// The provider's kind.
        kind: ProviderKind,
        /// The `api-version` query every call carries (Azure).
        api_version: Option<String>,
    },
}

/// A model provider reached with the user's own key: OpenAI (or compatible), Azure OpenAI or Anthropic.
///
/// It is a [`CopilotAuth`]: give it to an API client in place of a Copilot token source and its chat,
/// responses and messages calls go to the provider with the provider's authentication and none of
/// Copilot's headers. The key is a [`SecretString`]: `Debug` shows `[redacted]`, and it is sent only with
/// requests to [`base_url`](Self::base_url), which must be `https` or `http` to a loopback address (the
/// transport refuses any other before a byte is sent).
///
/// ```
/// use copilot_core::{Provider, ProviderKind, WireApi};
///
/// let openai = Provider::openai("https://api.openai.com/v1".parse().unwrap(), "sk-secret")
///     .wire_api(WireApi::Responses);
/// let azure = Provider::azure("https://res.openai.azure.com".parse().unwrap(), "azure-key")
///     .api_version("2025-04-01-preview");
/// let local = Provider::new(ProviderKind::OpenAi, "http://127.0.0.1:11434/v1".parse().unwrap());
/// assert!(!format!("{openai:?}{azure:?}").contains("secret"));
/// assert_eq!(local.kind(), ProviderKind::OpenAi);
/// ```
#[derive(Clone)]
pub struct Provider {
    kind: ProviderKind,
    base_url: Url,
    api_key: Option<SecretString>,
    bearer_token: Option<SecretString>,
    wire_api: WireApi,
    api_version: Option<String>,
}

impl Provider {
    /// A provider of `kind` at `base_url`, without a key (a local server); add one with
    /// [`api_key`](Self::api_key) or [`bearer_token`](Self::bearer_token).
    pub fn new(kind: ProviderKind, base_url: Url) -> Self {
        Provider {
            kind,
            base_url,
            api_key: None,
            bearer_token: None,
            wire_api: WireApi::default(),
            api_version: None,
        }
    }

    /// OpenAI or an OpenAI-compatible server; `base_url` includes the API path (e.g.
    /// `https://api.openai.com/v1`).
    pub fn openai(base_url: Url, api_key: impl Into<SecretString>) -> Self {
        Self::new(ProviderKind::OpenAi, base_url).api_key(api_key)
    }

    /// Azure OpenAI's native endpoint; `base_url` is only the resource host (e.g.
    /// `https://res.openai.azure.com`): the deployment paths are added per call, the model naming the
    /// deployment.
    pub fn azure(base_url: Url, api_key: impl Into<SecretString>) -> Self {
        Self::new(ProviderKind::Azure, base_url).api_key(api_key)
    }

    /// Anthropic; `base_url` is the host (e.g. `https://api.anthropic.com`).
    pub fn anthropic(base_url: Url, api_key: impl Into<SecretString>) -> Self {
        Self::new(ProviderKind::Anthropic, base_url).api_key(api_key)
    }

    /// The API key, sent in the kind's key header (`Authorization: Bearer`, `api-key`, `x-api-key`).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// A bearer token (e.g. a Microsoft Entra token), sent as `Authorization: Bearer`. It takes precedence
    /// over the API key, as in the official SDK.
    pub fn bearer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Which OpenAI API the turns use (default [`WireApi::Completions`]; ignored for Anthropic).
    pub fn wire_api(mut self, wire_api: WireApi) -> Self {
        self.wire_api = wire_api;
        self
    }

    /// The Azure `api-version` (default [`DEFAULT_AZURE_API_VERSION`]; ignored for other kinds).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// The provider's kind.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// Where every request goes.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The OpenAI API the turns use: `None` for Anthropic (always the Messages API).
    pub fn turn_api(&self) -> Option<WireApi> {
        match self.kind {
            ProviderKind::Anthropic => None,
            _ => Some(self.wire_api),
        }
    }

    /// The credentials every call carries: the secret, the header it goes in and the service.
    pub fn to_credentials(&self) -> CopilotCredentials {
        let (secret, scheme) = match (&self.bearer_token, &self.api_key) {
            (Some(token), _) => (token.clone(), AuthScheme::Bearer),
            (None, Some(key)) => (
                key.clone(),
                match self.kind {
                    ProviderKind::Azure => AuthScheme::ApiKey,
                    ProviderKind::Anthropic => AuthScheme::XApiKey,
                    _ => AuthScheme::Bearer,
                },
            ),
            (None, None) => (SecretString::from(String::new()), AuthScheme::None),
        };
        let api_version = match self.kind {
            ProviderKind::Azure => Some(
                self.api_version
                    .clone()
                    .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_owned()),
            ),
            _ => None,
        };
        let mut credentials = CopilotCredentials::new(secret, self.base_url.clone());
        credentials.scheme = scheme;
        credentials.service = ApiService::Provider {
            kind: self.kind,
            api_version,
        };
        credentials
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &Option<SecretString>| secret.as_ref().map(|_| "[redacted]");
        f.debug_struct("Provider")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &redacted(&self.api_key))
            .field("bearer_token", &redacted(&self.bearer_token))
            .field("wire_api", &self.wire_api)
            .field("api_version", &self.api_version)
            .finish()
    }
}

#[async_trait]
impl CopilotAuth for Provider {
    async fn credentials(&self) -> Result<CopilotCredentials, CredentialError> {
        Ok(self.to_credentials())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn url(text: &str) -> Url {
        text.parse().unwrap()
    }

    #[test]
    fn each_kind_puts_its_key_in_its_header_and_a_bearer_token_wins() {
        let cases = [
            (
                Provider::openai(url("https://api.openai.com/v1"), "k"),
                AuthScheme::Bearer,
            ),
            (
                Provider::azure(url("https://r.openai.azure.com"), "k"),
                AuthScheme::ApiKey,
            ),
            (
                Provider::anthropic(url("https://api.anthropic.com"), "k"),
                AuthScheme::XApiKey,
            ),
            (
                Provider::new(ProviderKind::OpenAi, url("http://127.0.0.1:1/v1")),
                AuthScheme::None,
            ),
            (
                Provider::azure(url("https://r.openai.azure.com"), "k").bearer_token("t"),
                AuthScheme::Bearer,
            ),
        ];
        for (provider, scheme) in cases {
            assert_eq!(provider.to_credentials().scheme, scheme, "{provider:?}");
        }
        let entra = Provider::azure(url("https://r.openai.azure.com"), "k").bearer_token("t");
        assert_eq!(entra.to_credentials().bearer.expose_secret(), "t");
    }

    #[test]
    fn azure_carries_its_api_version_and_others_none() {
        let azure = Provider::azure(url("https://r.openai.azure.com"), "k");
        assert_eq!(
            azure.to_credentials().service,
            ApiService::Provider {
                kind: ProviderKind::Azure,
                api_version: Some(DEFAULT_AZURE_API_VERSION.to_owned())
            }
        );
        let pinned = azure.api_version("2025-04-01-preview").to_credentials();
        assert!(matches!(
            pinned.service,
            ApiService::Provider { api_version: Some(v), .. } if v == "2025-04-01-preview"
        ));
        let openai = Provider::openai(url("https://api.openai.com/v1"), "k").api_version("x");
        assert!(matches!(
            openai.to_credentials().service,
            ApiService::Provider {
                api_version: None,
                ..
            }
        ));
    }

    #[test]
    fn debug_never_shows_a_key_or_token() {
        let provider = Provider::openai(url("https://api.openai.com/v1"), "sk-live-123")
            .bearer_token("entra-456");
        let shown = format!("{provider:?} {:?}", provider.to_credentials());
        assert!(!shown.contains("sk-live-123"), "{shown}");
        assert!(!shown.contains("entra-456"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn anthropic_always_uses_messages() {
        let anthropic =
            Provider::anthropic(url("https://api.anthropic.com"), "k").wire_api(WireApi::Responses);
        assert_eq!(anthropic.turn_api(), None);
        let openai =
            Provider::openai(url("https://api.openai.com/v1"), "k").wire_api(WireApi::Responses);
        assert_eq!(openai.turn_api(), Some(WireApi::Responses));
    }
}
