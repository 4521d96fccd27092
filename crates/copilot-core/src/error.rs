//! [`CredentialError`], the one typed error for "no usable credential".

use std::error::Error;
use std::sync::Arc;

use crate::TokenKind;

/// Why no usable credential could be obtained.
///
/// copilot-auth's, copilot-token's and copilot-api's errors carry it as a typed value (not a boxed
/// `dyn Error`), so a caller can decide on [`requires_sign_in`](Self::requires_sign_in) or match the variant
/// without inspecting a `dyn Error`. `Clone`, so every caller waiting on one shared refresh receives the same error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// There is no usable credential (nothing stored, a refresh token that was refused): the user must sign
    /// in.
    #[error("sign-in required: {reason}")]
    SignInRequired {
        /// Why.
        reason: String,
    },
    /// GitHub rejected the GitHub token (401) and it could not be refreshed: the user must sign in again.
    #[error("GitHub rejected the GitHub token ({message}); sign in again")]
    Rejected {
        /// GitHub's message (e.g. `Bad credentials`), length-limited.
        message: String,
    },
    /// The token is of a kind Copilot never accepts (classic PAT `ghp_`, refresh token `ghr_`). Nothing
    /// was sent.
    #[error("a {kind} cannot be used with GitHub Copilot: {reason}")]
    UnsupportedToken {
        /// The kind detected from the prefix.
        kind: TokenKind,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// The token text is not a plausible token (empty, whitespace or control characters inside).
    #[error("invalid GitHub token: {reason}")]
    InvalidToken {
        /// What is wrong.
        reason: &'static str,
    },
    /// The account has no usable Copilot access (no seat, subscription ended, blocked by policy).
    #[error("no Copilot access: {message}")]
    NotEntitled {
        /// The server's explanation.
        message: String,
        /// Where the user can fix it, if the server said.
        url: Option<String>,
    },
    /// Any other failure (network, server error, rate limit, a store that cannot be read). `source` is the
    /// originating crate's error, for display and logs.
    #[error("could not obtain Copilot credentials: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
        /// Whether trying again later can succeed (network failure, 5xx, rate limit).
        transient: bool,
        /// The originating error.
        #[source]
        source: Option<Arc<dyn Error + Send + Sync>>,
    },
}

impl CredentialError {
    /// An [`Unavailable`](Self::Unavailable) failure with only a message (not transient).
    pub fn unavailable(message: impl Into<String>) -> Self {
        CredentialError::Unavailable {
            message: message.into(),
            transient: false,
            source: None,
        }
    }

    /// An [`Unavailable`](Self::Unavailable) failure caused by `source` (its text becomes the message).
    pub fn unavailable_from(source: impl Error + Send + Sync + 'static, transient: bool) -> Self {
        CredentialError::Unavailable {
            message: source.to_string(),
            transient,
            source: Some(Arc::new(source)),
        }
    }

    /// Whether the user has to sign in (again) to get past this error.
    pub fn requires_sign_in(&self) -> bool {
        matches!(
            self,
            CredentialError::SignInRequired { .. } | CredentialError::Rejected { .. }
        )
    }

    /// Whether trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CredentialError::Unavailable {
                transient: true,
                ..
            }
        )
    }

    /// The kind of a refused token ([`UnsupportedToken`](Self::UnsupportedToken)).
    pub fn unsupported_token_kind(&self) -> Option<TokenKind> {
        match self {
            CredentialError::UnsupportedToken { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
