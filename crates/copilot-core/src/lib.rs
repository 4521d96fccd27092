//! The vocabulary every copilot-rs crate shares, in the lowest place so that no crate has to translate it.
//!
//! - [`CopilotCredentials`] is what one Copilot API call needs: a bearer, the API base URL it belongs to, an
//!   opaque [`CredentialTag`] (copilot-token's manager puts its generation there), and the
//!   `Copilot-Integration-Id` and expiry when the source knows them.
//! - [`CopilotAuth`] is where an API client gets those credentials and reports a rejection. copilot-token's
//!   `TokenManager` implements it directly; [`StaticAuth`] serves a fixed token.
//! - [`GitHubToken`] is a GitHub token (a secret) with one [`kind`](GitHubToken::kind) read from its prefix,
//!   and [`GitHubToken::check_usable_for_copilot`] is the one place that refuses the kinds Copilot never
//!   accepts.
//! - [`Provider`] is a model provider reached with the user's own key (OpenAI or compatible, Azure OpenAI,
//!   Anthropic): a [`CopilotAuth`] whose credentials say which [`ApiService`] they are for and which
//!   [`AuthScheme`] header carries the key, so API clients send Copilot's headers only to Copilot.
//! - [`CredentialError`] is the one typed error for "no usable credential", carried as a typed source by
//!   copilot-auth's, copilot-token's and copilot-api's errors, so callers can tell "sign in again" from a
//!   passing failure by matching a variant, never by inspecting a `dyn Error`.
//!
//! Value types take their required parts in `new()` and optional ones through `with_*` methods.
//!
//! ```
//! use copilot_core::{CopilotAuth, CopilotCredentials, StaticAuth};
//!
//! # async fn demo() -> Result<(), copilot_core::CredentialError> {
//! let auth = StaticAuth::new("copilot-token", "https://api.githubcopilot.com".parse().unwrap());
//! let credentials: CopilotCredentials = auth.credentials().await?;
//! assert_eq!(credentials.base_url.as_str(), "https://api.githubcopilot.com/");
//! assert!(!format!("{credentials:?}").contains("copilot-token"));
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod credentials;
mod error;
mod github_token;
mod provider;

pub use credentials::{CopilotAuth, CopilotCredentials, CredentialTag, StaticAuth};
pub use error::CredentialError;
pub use github_token::{GitHubToken, TokenKind};
pub use provider::{
    ApiService, AuthScheme, DEFAULT_AZURE_API_VERSION, Provider, ProviderKind, WireApi,
};
