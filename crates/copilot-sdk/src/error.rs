//! [`SdkError`], the one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

use copilot_api::ApiError;
use copilot_auth::AuthError;
use copilot_core::{CredentialError, TokenKind};
use copilot_http::TransportError;
use copilot_token::TokenError;

/// Everything that can go wrong in the SDK.
///
/// Errors from the lower crates are wrapped as they are ([`SdkError::Auth`], [`SdkError::Token`],
/// [`SdkError::Api`], [`SdkError::Transport`]), except the cases a caller most often has to react to, which get
/// their own variants: the user must sign in again ([`SdkError::Unauthorized`], [`SdkError::SignInRequired`]),
/// a token of a refused kind was given ([`SdkError::Credential`], see [`SdkError::unsupported_token_kind`]),
/// a turn took too long ([`SdkError::Timeout`]),
/// the tool loop ran away ([`SdkError::ToolLoopExceeded`]) or the permission handler stopped a turn
/// ([`SdkError::PermissionDenied`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// An MCP server of the session could not be started or reached, or did not list its tools
    /// ([`SessionConfig::mcp_server`](crate::SessionConfig)); nothing of the session was kept.
    #[error("MCP server `{server}`: {message}")]
    Mcp {
        /// The server's name.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// No usable credential for a reason other than the ones with their own variant: a token of a kind
    /// Copilot never accepts (classic PAT `ghp_`, refresh token `ghr_`; nothing was sent), an implausible
    /// token, or a credential source that failed ([`CredentialError::Unavailable`]).
    #[error(transparent)]
    Credential(CredentialError),
    /// No usable credential was found: sign in (device or web flow) or pass a token.
    #[error("sign-in required: {reason}")]
    SignInRequired {
        /// Why.
        reason: String,
    },
    /// GitHub or Copilot rejected the credential even after one refresh: the user must sign in again.
    #[error("unauthorized, sign in again: {message}")]
    Unauthorized {
        /// What the server said.
        message: String,
    },
    /// The account has no usable Copilot access (no seat, subscription ended, blocked by policy).
    #[error("no Copilot access: {message}")]
    NotEntitled {
        /// The server's explanation.
        message: String,
        /// Where the user can fix it, if GitHub said.
        url: Option<String>,
    },
    /// The user is not a member of the organisation the application requires.
    #[error("the GitHub user is not a member of the required organization `{org}`")]
    NotOrgMember {
        /// The organisation.
        org: String,
    },
    /// A turn did not finish in time. The turn is **not lost**: it is parked in the session and
    /// [`Session::resume_turn`](crate::Session::resume_turn) waits for it again; `partial_content` is the assistant text
    /// received so far.
    #[error("the turn did not finish within {after:?} (resume it with Session::resume_turn)")]
    Timeout {
        /// The timeout that elapsed.
        after: Duration,
        /// Assistant text streamed so far in the current model round.
        partial_content: String,
        /// How many tool rounds had completed.
        tool_rounds: u32,
    },
    /// The model kept asking for tools for more rounds than allowed.
    #[error("the model requested tools for more than {max_rounds} rounds in one turn")]
    ToolLoopExceeded {
        /// The configured cap.
        max_rounds: u32,
    },
    /// The permission handler aborted the turn instead of letting the model continue.
    #[error("permission denied for tool `{tool}`: {reason}")]
    PermissionDenied {
        /// The tool.
        tool: String,
        /// The handler's reason.
        reason: String,
    },
    /// The turn was aborted with [`Session::abort`](crate::Session::abort).
    #[error("the turn was aborted")]
    Aborted,
    /// The model cannot chat through an endpoint this SDK speaks (e.g. it lists only `/v1/messages`, or it is
    /// an embeddings model).
    #[error("model `{model}` cannot be used for chat here: {reason}")]
    ModelUnsupported {
        /// The model id.
        model: String,
        /// Why.
        reason: String,
    },
    /// The model's structured answer did not match the requested type.
    #[error("the answer is not valid JSON for the requested type: {message}")]
    StructuredOutput {
        /// The decoder's complaint.
        message: String,
        /// The answer as received.
        content: String,
    },
    /// An attachment could not be read.
    #[error("cannot read attachment {path}: {source}")]
    Attachment {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An attachment was refused before anything was sent: too large, not text, an image for a model
    /// without vision, and the like ([`AttachmentRefusal`](crate::AttachmentRefusal) says which).
    #[error("attachment {name} refused: {reason}")]
    AttachmentRefused {
        /// The file, directory or blob (its display name).
        name: String,
        /// Why.
        reason: crate::AttachmentRefusal,
    },
    /// The session is open elsewhere (another process, or another [`Session`](crate::Session) of this
    /// one): resuming it here would fork the conversation. Close it there, or wait and try again.
    #[error("session `{id}` is in use by another process or session")]
    SessionInUse {
        /// The session id.
        id: String,
    },
    /// The session was closed ([`Session::close`](crate::Session::close)): it runs no more turns.
    #[error("session `{id}` is closed")]
    SessionClosed {
        /// The session id.
        id: String,
    },
    /// The session's AI-credit budget ([`SessionConfig::max_ai_credits`](crate::SessionConfig::max_ai_credits))
    /// is spent: the turn was refused before anything was sent.
    #[error(
        "the session's AI-credit budget is spent ({spent_ai_credits} of {max_ai_credits} credits)"
    )]
    BudgetExceeded {
        /// What the session has spent, in AI credits.
        spent_ai_credits: f64,
        /// The budget, in AI credits.
        max_ai_credits: f64,
    },
    /// The next request cannot fit the model's prompt limit (`max_prompt_tokens`), even after compacting
    /// the history (or because compaction failed, or there was nothing older to compact: one turn alone
    /// is too long). Nothing was sent; the history is unchanged.
    #[error(
        "the conversation does not fit the model's context ({tokens} prompt tokens, limit {limit}), even after compaction"
    )]
    ContextWindowExceeded {
        /// The prompt tokens the request would send (reported or estimated).
        tokens: u64,
        /// The model's prompt limit.
        limit: u64,
    },
    /// No saved session has this id.
    #[error("no saved session `{id}`")]
    SessionNotFound {
        /// The session id.
        id: String,
    },
    /// No session store is configured, or the store failed.
    #[error("session store: {message}")]
    SessionStore {
        /// What was being done.
        message: String,
        /// The cause, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A tool call failed and [`SessionHooks::on_error`](crate::SessionHooks::on_error) chose
    /// [`ErrorDecision::Abort`](crate::ErrorDecision::Abort): the turn ended without its round's results.
    #[error("tool `{tool_name}` failed: {message}")]
    ToolFailed {
        /// The tool.
        tool_name: String,
        /// The call's id.
        call_id: String,
        /// Its failure (the message the model would have read).
        message: String,
    },
    /// A setting is unusable.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// Sign-in, token store or credential lookup failed.
    #[error(transparent)]
    Auth(AuthError),
    /// The Copilot token exchange or user lookup failed.
    #[error(transparent)]
    Token(TokenError),
    /// The Copilot API failed.
    #[error(transparent)]
    Api(ApiError),
    /// The HTTP layer failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl SdkError {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        SdkError::Config {
            message: message.into(),
        }
    }

    /// A [`SdkError::SessionStore`] error: `message` says what was being done, `source` why it failed. For
    /// [`SessionStore`](crate::SessionStore) implementations.
    pub fn session_store(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SdkError::SessionStore {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// Whether the user has to sign in (again) to get past this error.
    pub fn requires_sign_in(&self) -> bool {
        matches!(
            self,
            SdkError::Unauthorized { .. } | SdkError::SignInRequired { .. }
        )
    }

    /// The kind of a refused GitHub token (e.g. [`TokenKind::ClassicPat`]), wherever it was refused.
    pub fn unsupported_token_kind(&self) -> Option<TokenKind> {
        match self {
            SdkError::Credential(error) => error.unsupported_token_kind(),
            SdkError::Auth(error) => error.unsupported_token_kind(),
            SdkError::Token(TokenError::Credential(error)) => error.unsupported_token_kind(),
            _ => None,
        }
    }
}

/// The one mapping of the shared credential error: "sign in" and "no access" get their own variants.
impl From<CredentialError> for SdkError {
    fn from(error: CredentialError) -> Self {
        match error {
            CredentialError::SignInRequired { reason } => SdkError::SignInRequired { reason },
            CredentialError::Rejected { message } => SdkError::Unauthorized { message },
            CredentialError::NotEntitled { message, url } => SdkError::NotEntitled { message, url },
            other => SdkError::Credential(other),
        }
    }
}

impl From<AuthError> for SdkError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Credential(error) => SdkError::from(error),
            AuthError::SignInRequired { reason } => SdkError::SignInRequired { reason },
            AuthError::BadCredentials => SdkError::Unauthorized {
                message: "GitHub rejected the token (Bad credentials)".to_owned(),
            },
            other => SdkError::Auth(other),
        }
    }
}

impl From<TokenError> for SdkError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::GitHubTokenRejected { message } => SdkError::Unauthorized { message },
            TokenError::NotEntitled { message, url, .. } => SdkError::NotEntitled { message, url },
            TokenError::Credential(error) => SdkError::from(error),
            other => SdkError::Token(other),
        }
    }
}

impl From<ApiError> for SdkError {
    fn from(error: ApiError) -> Self {
        match error {
            // The credential source's typed error (the token manager's, via `From<TokenError>`).
            ApiError::Auth(error) => SdkError::from(error),
            ApiError::Unauthorized(info) | ApiError::TokenExpired(info) => SdkError::Unauthorized {
                message: info.to_string(),
            },
            other => SdkError::Api(other),
        }
    }
}
