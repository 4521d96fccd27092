use std::path::PathBuf;

use copilot_http::TransportError;

use copilot_core::CredentialError;

use crate::TokenKind;

/// Everything that can go wrong while signing in, refreshing, storing or finding a GitHub credential.
///
/// OAuth error codes that GitHub documents get their own variant so callers can react (restart the flow, fix
/// the configuration, ask the user to sign in again); any other code lands in [`AuthError::OAuth`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The HTTP request could not be sent or its response not read.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// The user declined the authorization (device flow cancel button, or `error=access_denied` on a web
    /// flow callback). The device code or authorization is dead; start over if the user wants to.
    #[error("the user denied the authorization request")]
    AccessDenied {
        /// The server's explanation, if any.
        description: Option<String>,
    },
    /// The device code expired (`expired_token` / `token_expired`, or the local `expires_in` deadline
    /// passed). Start the device flow again.
    #[error(
        "the device code expired before the user finished signing in; start the device flow again"
    )]
    ExpiredDeviceCode,
    /// The device code is not valid (`incorrect_device_code`).
    #[error("the device code is not valid (incorrect_device_code)")]
    IncorrectDeviceCode,
    /// The client id (or, for the web flow and refresh, the client secret) is wrong
    /// (`incorrect_client_credentials`). A configuration error.
    #[error("the OAuth client id or client secret is not valid (incorrect_client_credentials)")]
    IncorrectClientCredentials,
    /// The app has not enabled the device flow in its settings (`device_flow_disabled`).
    #[error(
        "device flow is disabled for this app; enable it in the app's settings (device_flow_disabled)"
    )]
    DeviceFlowDisabled,
    /// The server did not accept the `grant_type` (`unsupported_grant_type`). A bug in the request.
    #[error("the server does not support this grant type (unsupported_grant_type)")]
    UnsupportedGrantType,
    /// The authorization code is wrong, expired or already used (`bad_verification_code`). Restart the web
    /// flow at the authorize step.
    #[error("the authorization code is wrong, expired or already used (bad_verification_code)")]
    BadVerificationCode,
    /// The `redirect_uri` does not match the app's registered callback (`redirect_uri_mismatch`).
    #[error(
        "the redirect URI does not match the app's registered callback (redirect_uri_mismatch)"
    )]
    RedirectUriMismatch,
    /// The user has no verified primary email address (`unverified_user_email`).
    #[error("the user must verify their primary email address first (unverified_user_email)")]
    UnverifiedUserEmail,
    /// The refresh token is wrong, expired or was already used (`bad_refresh_token`). Sign in again.
    #[error("the refresh token is wrong, expired or already used (bad_refresh_token)")]
    BadRefreshToken,
    /// Any other OAuth error code.
    #[error("OAuth error `{code}`{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        /// The `error` field.
        code: String,
        /// The `error_description` field, if any.
        description: Option<String>,
    },

    /// The `state` returned to the callback is not the one this authorization sent. Nothing was sent to
    /// the server; the callback may be forged.
    #[error("the OAuth state parameter does not match; refusing the callback")]
    StateMismatch,
    /// The callback carried neither a `code` nor an `error`.
    #[error("the OAuth callback carried no authorization code")]
    MissingCallbackCode,
    /// The loopback callback server did not receive a callback in time.
    #[error("no OAuth callback arrived within {after:?}")]
    CallbackTimeout {
        /// How long was waited.
        after: std::time::Duration,
    },
    /// The loopback callback server failed (bind, accept, malformed request).
    #[error("loopback callback server: {message}")]
    Loopback {
        /// What went wrong.
        message: String,
    },
    /// Waiting was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,

    /// GitHub answered 401: the token is not valid any more.
    #[error("bad credentials: the GitHub token was rejected; sign in again")]
    BadCredentials,
    /// An HTTP error status without a recognisable OAuth error body.
    #[error("HTTP {status} from {endpoint}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// Which endpoint answered (path only).
        endpoint: String,
        /// A short excerpt of the body or a description.
        message: String,
    },
    /// A response could not be understood (never includes the body, which may hold a token).
    #[error("unexpected response from {endpoint}: {message}")]
    MalformedResponse {
        /// Which endpoint answered (path only).
        endpoint: String,
        /// What was wrong.
        message: String,
    },

    /// The token is not usable: refused by kind ([`CredentialError::UnsupportedToken`]) or not a plausible
    /// token ([`CredentialError::InvalidToken`]).
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// An environment variable holds a token of a kind Copilot never accepts: a classic personal access token
    /// (`ghp_`) or a refresh token (`ghr_`). Credential lookup stops here instead of silently falling back to
    /// another identity; nothing was sent.
    #[error(
        "environment variable {var} holds a {kind}, which cannot be used with GitHub Copilot: {reason}"
    )]
    UnsupportedEnvToken {
        /// The variable.
        var: &'static str,
        /// The kind detected from the prefix.
        kind: TokenKind,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// An environment variable holds an unusable value. Credential lookup stops here instead of silently
    /// falling back to another identity.
    #[error("environment variable {var} is not usable: {reason}")]
    InvalidEnvironment {
        /// The variable.
        var: &'static str,
        /// Why (never contains the value).
        reason: String,
    },
    /// No usable credential: the user must sign in (again).
    #[error("sign-in required: {reason}")]
    SignInRequired {
        /// Why.
        reason: String,
    },

    /// The credential file exists but is not valid. It was left untouched.
    #[error(
        "credential store {path} is corrupt ({message}); fix or remove it, it was not modified"
    )]
    CorruptStore {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        message: String,
    },
    /// A file system operation of a store or an editor import failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system keyring failed.
    #[error("keyring: {message}")]
    Keyring {
        /// What went wrong.
        message: String,
    },
    /// A shared store (Redis, PostgreSQL, …) failed: unreachable, a query failed, or a stored record could not
    /// be decrypted or decoded. The source is the store crate's own error type (downcast it to tell those
    /// apart); no other record was touched.
    #[error("token store: {0}")]
    Store(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// A setting is unusable (bad redirect URI, no transport available, …).
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {message}")]
    Random {
        /// The cause.
        message: String,
    },
}

impl AuthError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        AuthError::Config {
            message: message.into(),
        }
    }

    pub(crate) fn sign_in_required(reason: impl Into<String>) -> Self {
        AuthError::SignInRequired {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_environment(var: &'static str, reason: impl Into<String>) -> Self {
        AuthError::InvalidEnvironment {
            var,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        AuthError::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    /// The kind of a refused token ([`CredentialError::UnsupportedToken`], [`AuthError::UnsupportedEnvToken`]),
    /// e.g. to recognise a classic PAT wherever it came from.
    pub fn unsupported_token_kind(&self) -> Option<TokenKind> {
        match self {
            AuthError::Credential(error) => error.unsupported_token_kind(),
            AuthError::UnsupportedEnvToken { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the failure is transient (a network problem, or a status the retrier retries: 408, 429, 499,
    /// 500, 502, 503, 504) so that trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Transport(e) => e.is_retryable(),
            AuthError::Http { status, .. } => {
                copilot_http::retry::is_retryable_status_code(*status)
            }
            _ => false,
        }
    }
}

/// What a credential consumer (copilot-token's provider, the SDK) sees of a sign-in or store failure: the
/// cases that mean "sign in (again)" and token refusals stay typed; anything else is
/// [`CredentialError::Unavailable`] with this error as its source.
impl From<AuthError> for CredentialError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Credential(error) => error,
            AuthError::SignInRequired { reason } => CredentialError::SignInRequired { reason },
            AuthError::BadCredentials => CredentialError::Rejected {
                message: "Bad credentials".to_owned(),
            },
            AuthError::BadRefreshToken => CredentialError::SignInRequired {
                reason: AuthError::BadRefreshToken.to_string(),
            },
            AuthError::UnsupportedEnvToken { kind, reason, .. } => {
                CredentialError::UnsupportedToken { kind, reason }
            }
            other => {
                let transient = other.is_transient();
                CredentialError::unavailable_from(other, transient)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AuthError;

    #[test]
    fn a_transient_status_is_one_the_retrier_retries() {
        let http = |status| AuthError::Http {
            status,
            endpoint: "/login/oauth/access_token".into(),
            message: String::new(),
        };
        for status in [408, 429, 499, 500, 502, 503, 504] {
            assert!(http(status).is_transient(), "{status}");
        }
        // The request itself will never work: waiting does not help.
        for status in [400, 404, 422, 501, 505, 599, 0, 1000] {
            assert!(!http(status).is_transient(), "{status}");
        }
    }
}
