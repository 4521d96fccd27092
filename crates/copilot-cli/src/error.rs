//! [`CliError`], the one error type of the binary, and how each failure is shown: one line naming the kind of
//! error and the server's message, plus an exit code.

use copilot_api::ApiError;
use copilot_auth::{AuthError, CredentialError};
use copilot_sdk::SdkError;
use copilot_token::TokenError;

/// Exit code for a failed command.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for unusable arguments or input (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the user has to sign in (again): not signed in, credential rejected, sign-in denied or
/// expired.
pub const EXIT_AUTH: u8 = 4;
/// Exit code after Ctrl-C.
pub const EXIT_CANCELLED: u8 = 130;

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// An argument or the input is unusable (bad URL, empty prompt, …).
    #[error("{0}")]
    Usage(String),
    /// No credential is stored for the host.
    #[error("not signed in to {host}; run `copilot-rs auth login`")]
    NotSignedIn {
        /// The host key, e.g. `github.com`.
        host: String,
    },
    /// The SDK failed (sign-in, token exchange or an API call).
    #[error(transparent)]
    Sdk(#[from] SdkError),
    /// Sign-in or the credential store failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A Copilot API call made without the SDK failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Reading stdin or writing stdout failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The user pressed Ctrl-C.
    #[error("cancelled")]
    Cancelled,
}

impl CliError {
    /// An I/O failure while doing `what`.
    pub fn io(what: &'static str, source: std::io::Error) -> Self {
        CliError::Io { what, source }
    }

    /// The kind of failure in a few words (`rate limited`, `quota exceeded`, …) and the details.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            CliError::Usage(message) => ("invalid input", message.clone()),
            CliError::NotSignedIn { .. } => ("not signed in", self.to_string()),
            CliError::Sdk(error) => describe_sdk(error),
            CliError::Auth(error) => describe_auth(error),
            CliError::Api(error) => describe_api(error),
            CliError::Io { .. } => ("I/O error", self.to_string()),
            CliError::Cancelled => ("cancelled", "interrupted by the user".to_owned()),
        }
    }

    /// The one line printed on stderr: `error: <kind>: <details>`.
    pub fn one_line(&self) -> String {
        let (kind, message) = self.describe();
        let message = message.replace(['\n', '\r'], " ");
        if message.is_empty() {
            format!("error: {kind}")
        } else {
            format!("error: {kind}: {message}")
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Cancelled => EXIT_CANCELLED,
            CliError::NotSignedIn { .. } => EXIT_AUTH,
            CliError::Sdk(error) if error.requires_sign_in() => EXIT_AUTH,
            CliError::Sdk(SdkError::Auth(error)) | CliError::Auth(error) => match error {
                AuthError::Cancelled => EXIT_CANCELLED,
                // Text that is no token at all is unusable input.
                AuthError::Credential(CredentialError::InvalidToken { .. }) => EXIT_USAGE,
                AuthError::AccessDenied { .. }
                | AuthError::ExpiredDeviceCode
                | AuthError::BadCredentials
                | AuthError::SignInRequired { .. } => EXIT_AUTH,
                _ => EXIT_FAILURE,
            },
            _ => EXIT_FAILURE,
        }
    }
}

fn describe_sdk(error: &SdkError) -> (&'static str, String) {
    match error {
        SdkError::Credential(error) => describe_credential(error),
        SdkError::SignInRequired { reason } => (
            "not signed in",
            format!("{reason}; run `copilot-rs auth login`"),
        ),
        SdkError::Unauthorized { message } => (
            "unauthorized",
            format!("{message}; run `copilot-rs auth login` again"),
        ),
        SdkError::NotEntitled { message, url } => (
            "no Copilot access",
            match url {
                Some(url) => format!("{message} ({url})"),
                None => message.clone(),
            },
        ),
        SdkError::ModelUnsupported { model, reason } => {
            ("model not supported", format!("`{model}`: {reason}"))
        }
        SdkError::Timeout { .. } => ("timeout", error.to_string()),
        SdkError::Api(error) => describe_api(error),
        SdkError::Auth(error) => describe_auth(error),
        SdkError::Token(error) => describe_token(error),
        SdkError::Transport(_) => ("network error", error.to_string()),
        SdkError::Config { message } => ("configuration error", message.clone()),
        SdkError::BudgetExceeded { .. } => ("budget spent", error.to_string()),
        _ => ("error", error.to_string()),
    }
}

fn describe_auth(error: &AuthError) -> (&'static str, String) {
    let kind = match error {
        AuthError::AccessDenied { .. } => "access denied",
        AuthError::ExpiredDeviceCode => "code expired",
        AuthError::Transport(_) => "network error",
        AuthError::BadCredentials => "unauthorized",
        AuthError::Credential(error) => return describe_credential(error),
        AuthError::UnsupportedEnvToken { .. } => "unsupported token",
        AuthError::Cancelled => "cancelled",
        AuthError::CorruptStore { .. } | AuthError::Io { .. } => "credential store",
        AuthError::SignInRequired { .. } => "not signed in",
        AuthError::DeviceFlowDisabled | AuthError::IncorrectClientCredentials => {
            "configuration error"
        }
        _ => "sign-in failed",
    };
    let message = match error {
        AuthError::AccessDenied { description } => format!(
            "the sign-in request was denied{}",
            description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        AuthError::ExpiredDeviceCode => {
            "the one-time code expired before sign-in finished; run `copilot-rs auth login` again"
                .to_owned()
        }
        other => other.to_string(),
    };
    (kind, message)
}

fn describe_credential(error: &CredentialError) -> (&'static str, String) {
    let kind = match error {
        CredentialError::SignInRequired { .. } => "not signed in",
        CredentialError::Rejected { .. } => "unauthorized",
        CredentialError::UnsupportedToken { .. } => "unsupported token",
        CredentialError::InvalidToken { .. } => "invalid token",
        CredentialError::NotEntitled { .. } => "no Copilot access",
        _ => "token exchange failed",
    };
    (kind, error.to_string())
}

fn describe_token(error: &TokenError) -> (&'static str, String) {
    let kind = match error {
        TokenError::GitHubTokenRejected { .. } => "unauthorized",
        TokenError::NotEntitled { .. } => "no Copilot access",
        TokenError::RateLimited { .. } => "rate limited",
        TokenError::UnsupportedTokenSource { .. } => "unsupported token",
        TokenError::Transport(_) => "network error",
        TokenError::Credential(error) => return describe_credential(error),
        _ => "token exchange failed",
    };
    (kind, error.to_string())
}

fn describe_api(error: &ApiError) -> (&'static str, String) {
    let kind = match error {
        ApiError::RateLimited { .. } => "rate limited",
        ApiError::QuotaExceeded { .. } => "quota exceeded",
        ApiError::ModelNotSupported(_) | ApiError::UnsupportedApiForModel(_) => {
            "model not supported"
        }
        ApiError::PolicyDenied(_) => "model disabled by policy",
        ApiError::NoAvailableModelEndpoints(_) => "model unavailable",
        ApiError::InvalidReasoningEffort(_) => "reasoning effort not supported",
        ApiError::UnsupportedTokenSource(_) => "unsupported token",
        ApiError::BadRequest(_) => "bad request",
        ApiError::TokenExpired(_) | ApiError::Unauthorized(_) => "unauthorized",
        ApiError::AgentUnauthorized { .. } => "authorization required",
        ApiError::Forbidden(_) => "forbidden",
        ApiError::NotFound(_) => "not found",
        ApiError::RequestTooLarge(_) => "request too large",
        ApiError::Misdirected(_) => "misdirected request",
        ApiError::ContentFiltered(_) => "content filtered",
        ApiError::ClientNotSupported(_) => "client not supported",
        ApiError::ServerCanceled(_) | ApiError::ServerError(_) => "server error",
        ApiError::StreamError(_) | ApiError::MalformedChunk { .. } => "stream error",
        ApiError::StreamInterrupted { .. } | ApiError::Transport(_) => "network error",
        ApiError::FirstEventTimeout { .. } | ApiError::IdleTimeout { .. } => "timeout",
        ApiError::Auth(error) => return describe_credential(error),
        _ => "API error",
    };
    let message = match error.info() {
        Some(info) => {
            let mut message = if info.message.is_empty() {
                info.code.clone().unwrap_or_default()
            } else {
                info.message.clone()
            };
            if let Some(status) = info.status {
                message.push_str(&format!(" (HTTP {status}"));
                if let Some(code) = &info.code {
                    message.push_str(&format!(", {code}"));
                }
                message.push(')');
            }
            if let Some(wait) = error.retry_after() {
                message.push_str(&format!("; retry after {}s", wait.as_secs()));
            }
            if let Some(id) = info.github_request_id.as_deref() {
                message.push_str(&format!(" [x-github-request-id {id}]"));
            }
            if let Some(hint) = hint(error) {
                message.push_str("; ");
                message.push_str(&hint);
            }
            message
        }
        None => error.to_string(),
    };
    (kind, message)
}

/// What the user can do about an API error, when the server's message does not say it.
fn hint(error: &ApiError) -> Option<String> {
    match error {
        ApiError::ClientNotSupported(_) => Some(format!(
            "update copilot-rs, or override the identity headers with {}",
            copilot_http::identity::env::overrides_hint()
        )),
        ApiError::NoAvailableModelEndpoints(_) => Some(
            "pick another model (`copilot-rs models` lists them) or try again later".to_owned(),
        ),
        _ => None,
    }
}
