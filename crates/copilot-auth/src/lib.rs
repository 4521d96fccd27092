//! GitHub sign-in for copilot-rs: device flow, web flow with PKCE, GitHub App token refresh, token stores
//! and credential sources.
//!
//! Everything here produces or keeps a **GitHub** token (`gho_`, `ghu_`, `github_pat_`, …). Turning it into
//! Copilot access is `copilot-token`'s job. The wire rules followed here, each with the test that pins it,
//! are in [`docs/protocol.md`][protocol] §1–§5.
//!
//! [protocol]: https://github.com/copilot-rs/copilot-rs/blob/main/docs/protocol.md
//!
//! The library never prints, never opens a browser and never reads stdin: it hands the caller what to show.
//! All HTTP goes through a [`copilot_http::SharedTransport`] (pluggable; requests carrying secrets only go to
//! https or loopback), and all waiting through injectable [`copilot_http::time`] clocks and sleepers.
//!
//! # Device flow
//!
//! For CLIs and devices without a browser: [`DeviceFlow::start`] returns a [`DeviceCode`] whose
//! `user_code` the user types at `verification_uri`; [`DeviceFlow::wait`] then polls by the rules (wait
//! `interval` before every poll, slow down when told, stop at the deadline). [`DeviceFlow::wait_with`] adds
//! cancellation and progress events; [`DeviceFlow::poll_once`] is the single step for custom loops.
//!
//! ```no_run
//! use copilot_auth::{DeviceFlow, client_ids::COPILOT_EDITOR_CLIENT_ID};
//! use copilot_http::GitHubHost;
//!
//! # async fn sign_in() -> Result<(), copilot_auth::AuthError> {
//! let flow = DeviceFlow::new(GitHubHost::github_com(), "Iv1.your-own-app")
//!     .scopes(["read:user"]);
//! let code = flow.start().await?;
//! // Show this to the user in whatever way suits the application.
//! eprintln!("Open {} and enter {}", code.verification_uri, code.user_code);
//! let token = flow.wait(&code).await?;
//! assert!(token.access_token.check_usable_for_copilot().is_ok());
//! # let _ = COPILOT_EDITOR_CLIENT_ID;
//! # Ok(()) }
//! ```
//!
//! # Web flow
//!
//! For your own OAuth App or GitHub App with a browser: [`WebFlow::authorize_url`] gives the URL and a
//! [`PendingAuthorization`] (random `state`, PKCE S256 verifier); the callback goes to
//! [`WebFlow::complete`], which checks the state in constant time before sending anything. Desktop and CLI
//! apps can receive the callback with [`LoopbackCallback`].
//!
//! # Tokens
//!
//! [`GitHubToken`] is a secret (redacted `Debug`) with a [`TokenKind`] read from its prefix;
//! [`GitHubToken::check_usable_for_copilot`] refuses classic PATs and refresh tokens before any network
//! call ([`CredentialError::UnsupportedToken`] inside [`AuthError::Credential`], or
//! [`AuthError::UnsupportedEnvToken`] naming the variable when the token came from the environment;
//! [`AuthError::unsupported_token_kind`] reads the kind from either). Both types come from copilot-core and
//! are shared with copilot-token and the SDK. Flows return a [`GitHubTokenResponse`], which for expiring GitHub App tokens carries a refresh
//! token and lifetimes.
//!
//! # Refresh
//!
//! [`TokenRefresher`] runs the `refresh_token` grant. [`get_or_refresh`] combines it with a store: it
//! returns a valid token, refreshing an expiring one single-flight and saving the rotated pair before
//! returning it.
//!
//! # Stores
//!
//! [`TokenStore`] keeps [`StoredCredential`]s under a [`CredentialKey`] (host + account):
//! [`MemoryStore`], [`FileStore`] (0600 file in a 0700 directory, atomic replace, locked against
//! concurrent writers) and, with the `keyring` feature, `KeyringStore`.
//!
//! # Credential sources
//!
//! [`CredentialSources`] finds the credential to use in the official SDK's order (explicit token,
//! pre-exchanged Copilot token, `COPILOT_GITHUB_TOKEN`/`GH_TOKEN`/`GITHUB_TOKEN`, the store, then opt-in
//! editor files) and reports the [`CredentialSource`].
//!
//! # Organisation gate
//!
//! [`GitHubApi::get_user`] and [`GitHubApi::verify_org_membership`] over the REST API.

pub mod client_ids;
mod device;
pub mod editor;
mod error;
mod github_api;
mod http;
mod loopback;
pub mod private_fs;
mod refresh;
mod sources;
mod store;
mod token;
mod web;

pub use copilot_core::{CredentialError, GitHubToken, TokenKind};
pub use device::{DEVICE_CODE_GRANT_TYPE, DeviceCode, DeviceFlow, PollEvent, PollOutcome};
pub use error::AuthError;
pub use github_api::{GITHUB_API_VERSION, GitHubApi, GitHubUser};
pub use loopback::LoopbackCallback;
pub use refresh::{
    CredentialRefresher, DEFAULT_REFRESH_LEASE_TTL, RefreshOptions, TokenRefresher, get_or_refresh,
    get_or_refresh_with, load_usable, refresh_after_rejection,
};
pub use sources::{
    COPILOT_API_URL, Credential, CredentialSource, CredentialSources, EnvLookup,
    GITHUB_COPILOT_API_TOKEN, GITHUB_TOKEN_VARS, ResolvedCredential,
};
#[cfg(feature = "keyring")]
pub use store::KeyringStore;
pub use store::{
    CredentialKey, FileStore, MemoryStore, StoreLease, StoredCredential, TokenStore,
    VersionedCredential,
};
pub use token::GitHubTokenResponse;
pub use web::{CallbackParams, PendingAuthorization, WebFlow, pkce_challenge};

pub use copilot_http::GitHubHost;
