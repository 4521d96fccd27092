//! Session hooks: code that runs at fixed points of a session's life and may change what happens next
//! (the official Copilot SDK's `hooks`).
//!
//! Implement [`SessionHooks`] (every method has a default that changes nothing) and set it with
//! [`SessionConfig::hooks`](crate::SessionConfig::hooks):
//!
//! | method | when | may |
//! |---|---|---|
//! | [`on_user_prompt_submitted`](SessionHooks::on_user_prompt_submitted) | a prompt is about to be sent | keep or replace it |
//! | [`on_pre_tool_use`](SessionHooks::on_pre_tool_use) | before the permission handler, per call | allow, deny, change the arguments, add context |
//! | [`on_post_tool_use`](SessionHooks::on_post_tool_use) | a tool returned | keep or replace the result, add context |
//! | [`on_post_tool_use_failure`](SessionHooks::on_post_tool_use_failure) | a tool failed or panicked | keep or replace the message, add context |
//! | [`on_error`](SessionHooks::on_error) | a request to the model failed, or a tool failed | abort, retry, skip (default per [`ErrorStage`]) |
//! | [`on_session_start`](SessionHooks::on_session_start) | the session was created or resumed | observe |
//! | [`on_session_end`](SessionHooks::on_session_end) | [`Session::close`](crate::Session::close) | observe |
//!
//! # Billing
//!
//! Hooks never add requests of their own:
//!
//! - a modified prompt is sent instead of the original, in the same single request, with `X-Initiator: user`;
//! - a denied call is answered with a [`ToolCallResult::Denied`](crate::ToolCallResult::Denied) result that the
//!   model reads in the next request (`X-Initiator: agent`, as every tool-result request), so the turn
//!   neither hangs nor waits for the caller;
//! - context added by a tool hook is appended to that call's result, so it travels in the tool-result
//!   request (`agent`) and never as an extra user message (which would be billed as a new prompt);
//! - a failed request is re-sent **only** when [`on_error`](SessionHooks::on_error) returns
//!   [`ErrorDecision::Retry`]. The default is [`ErrorDecision::Abort`]. The SDK's own retrier has already
//!   re-sent the request where that is safe (the server provably did not process it); after that, a retry
//!   may be billed twice, which [`ErrorOccurred::request_may_have_been_processed`] tells the hook before it
//!   decides.
//!
//! ```
//! use copilot_sdk::{
//!     ErrorDecision, ErrorOccurred, ErrorStage, PreToolUse, PreToolUseDecision, SessionConfig,
//!     SessionHooks, UserPromptDecision, UserPromptSubmitted,
//! };
//!
//! struct Guard;
//!
//! #[copilot_sdk::async_trait]
//! impl SessionHooks for Guard {
//!     async fn on_user_prompt_submitted(&self, prompt: &UserPromptSubmitted) -> UserPromptDecision {
//!         UserPromptDecision::modify(format!("{} (answer in English)", prompt.prompt))
//!     }
//!
//!     async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
//!         if call.tool_name == "delete_file" {
//!             PreToolUseDecision::deny("deleting files is not allowed here")
//!         } else {
//!             PreToolUseDecision::Allow
//!         }
//!     }
//!
//!     async fn on_error(&self, error: &ErrorOccurred<'_>) -> ErrorDecision {
//!         match error.stage {
//!             // A failed tool: run it once more, then let the model read the failure.
//!             ErrorStage::ToolExecution if error.attempt == 1 => ErrorDecision::Retry,
//!             ErrorStage::ToolExecution => ErrorDecision::Skip,
//!             // Re-send only what the server cannot have billed, and only once.
//!             _ if !error.request_may_have_been_processed && error.attempt == 1 => {
//!                 ErrorDecision::Retry
//!             }
//!             _ => ErrorDecision::Abort,
//!         }
//!     }
//! }
//!
//! let config = SessionConfig::new().model("gpt-4.1").hooks(Guard);
//! # let _ = config;
//! ```

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::SdkError;

/// At most this many re-sends per model request on [`ErrorDecision::Retry`]; the next failure ends the turn
/// with its error whatever the hook says.
pub const MAX_HOOK_RETRIES: u32 = 3;

/// Code that runs at fixed points of a session ([`SessionConfig::hooks`](crate::SessionConfig::hooks)).
/// Every method has a default that changes nothing, so implement only the ones you need.
///
/// Hooks run on the task driving the turn; the tool hooks of one round may run concurrently (tools of
/// one round run concurrently). See [the module docs](crate::hooks) for what each decision costs.
#[async_trait::async_trait]
pub trait SessionHooks: Send + Sync {
    /// A prompt is about to be sent (after [`Session::send`](crate::Session::send) or
    /// [`send_and_wait`](crate::Session::send_and_wait), before anything goes out). Return
    /// [`UserPromptDecision::Modify`] to send another text instead: it is what the model reads, what the
    /// history keeps and what `user.message` records. Attachments are unchanged.
    async fn on_user_prompt_submitted(&self, prompt: &UserPromptSubmitted) -> UserPromptDecision {
        let _ = prompt;
        UserPromptDecision::Keep
    }

    /// The model asked to run one of the session's tools (calls of tools the session does not have, and
    /// calls whose arguments are not JSON, never reach the hook). Runs before the permission handler, which
    /// then sees the arguments the hook chose.
    async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
        let _ = call;
        PreToolUseDecision::Allow
    }

    /// A tool ran and returned `call.output`.
    async fn on_post_tool_use(&self, call: &PostToolUse) -> PostToolUseDecision {
        let _ = call;
        PostToolUseDecision::Keep
    }

    /// A tool ran and failed (its handler returned an error, panicked or timed out); `call.output` is the
    /// failure message the model will read.
    async fn on_post_tool_use_failure(&self, call: &PostToolUse) -> PostToolUseDecision {
        let _ = call;
        PostToolUseDecision::Keep
    }

    /// A request to the model failed ([`ErrorStage::ModelCall`]), or an approved tool call failed, panicked
    /// or timed out ([`ErrorStage::ToolExecution`]). The default is the stage's
    /// [`default_decision`](ErrorStage::default_decision): a failed model request ends the turn
    /// ([`ErrorDecision::Abort`]); a failed tool call is answered with its failure, which the model reads
    /// ([`ErrorDecision::Skip`]). For a tool, [`Retry`](ErrorDecision::Retry) runs the call again (at most
    /// [`MAX_HOOK_RETRIES`] times) and [`Abort`](ErrorDecision::Abort) ends the turn with
    /// [`SdkError::ToolFailed`], before any of the round's results enter the history.
    async fn on_error(&self, error: &ErrorOccurred<'_>) -> ErrorDecision {
        error.stage.default_decision()
    }

    /// The session was created ([`CopilotClient::create_session`](crate::CopilotClient::create_session))
    /// or resumed ([`CopilotClient::resume_session`](crate::CopilotClient::resume_session)).
    async fn on_session_start(&self, start: &SessionStart) {
        let _ = start;
    }

    /// The session was closed with [`Session::close`](crate::Session::close) (once, however often it is
    /// called). Dropping a session without closing it does not call this hook.
    async fn on_session_end(&self, end: &SessionEnd) {
        let _ = end;
    }
}

/// The hooks of a session: a shared handle, cheap to clone.
#[derive(Clone)]
pub(crate) struct SharedHooks(pub(crate) Arc<dyn SessionHooks>);

impl fmt::Debug for SharedHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHooks { .. }")
    }
}

/// A prompt about to be sent ([`SessionHooks::on_user_prompt_submitted`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UserPromptSubmitted {
    /// The session.
    pub session_id: String,
    /// The prompt as the caller gave it.
    pub prompt: String,
}

/// What to do with a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserPromptDecision {
    /// Send it as it is.
    Keep,
    /// Send `prompt` instead (still one request, `X-Initiator: user`).
    Modify {
        /// The text to send.
        prompt: String,
    },
}

impl UserPromptDecision {
    /// [`UserPromptDecision::Modify`] with `prompt`.
    pub fn modify(prompt: impl Into<String>) -> Self {
        UserPromptDecision::Modify {
            prompt: prompt.into(),
        }
    }
}

/// A tool call about to be run ([`SessionHooks::on_pre_tool_use`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreToolUse {
    /// The session.
    pub session_id: String,
    /// The model's id for the call.
    pub tool_call_id: String,
    /// The tool.
    pub tool_name: String,
    /// The arguments the model sent, parsed.
    pub arguments: Value,
}

/// What to do with a tool call before it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PreToolUseDecision {
    /// Go on: the permission handler decides as usual (a hook cannot approve a call the handler rejects).
    Allow,
    /// Do not run the call. The permission handler is not asked; the model reads
    /// [`ToolCallResult::Denied`](crate::ToolCallResult::Denied) with `reason` as the call's result and the
    /// turn continues.
    Deny {
        /// Sent to the model.
        reason: String,
    },
    /// Run the call with `arguments` instead of the model's (the permission handler, the tool and
    /// [`SessionHooks::on_post_tool_use`] see these). The history and the `tool.execution_start` event
    /// ([`SessionEvent::ToolRequested`](crate::SessionEvent::ToolRequested)) keep the model's original call.
    ModifyArguments {
        /// The arguments the tool gets.
        arguments: Value,
    },
    /// Go on as with [`Allow`](Self::Allow), and append `context` to the call's result, whatever it turns
    /// out to be, for the model to read.
    AddContext {
        /// Text for the model.
        context: String,
    },
}

impl PreToolUseDecision {
    /// [`PreToolUseDecision::Deny`] with `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        PreToolUseDecision::Deny {
            reason: reason.into(),
        }
    }

    /// [`PreToolUseDecision::ModifyArguments`] with `arguments`.
    pub fn modify_arguments(arguments: impl Into<Value>) -> Self {
        PreToolUseDecision::ModifyArguments {
            arguments: arguments.into(),
        }
    }

    /// [`PreToolUseDecision::AddContext`] with `context`.
    pub fn add_context(context: impl Into<String>) -> Self {
        PreToolUseDecision::AddContext {
            context: context.into(),
        }
    }
}

/// A tool call that ran ([`SessionHooks::on_post_tool_use`], [`SessionHooks::on_post_tool_use_failure`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostToolUse {
    /// The session.
    pub session_id: String,
    /// The model's id for the call.
    pub tool_call_id: String,
    /// The tool.
    pub tool_name: String,
    /// The arguments the tool got (after [`PreToolUseDecision::ModifyArguments`], if any).
    pub arguments: Value,
    /// What the tool returned, or its failure message.
    pub output: String,
}

/// What to do with a tool's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostToolUseDecision {
    /// Send it to the model as it is.
    Keep,
    /// Send `content` instead (a failure stays a failure, with `content` as its message).
    Replace {
        /// The replacement.
        content: String,
    },
    /// Append `context` to the result.
    AddContext {
        /// Text for the model.
        context: String,
    },
}

impl PostToolUseDecision {
    /// [`PostToolUseDecision::Replace`] with `content`.
    pub fn replace(content: impl Into<String>) -> Self {
        PostToolUseDecision::Replace {
            content: content.into(),
        }
    }

    /// [`PostToolUseDecision::AddContext`] with `context`.
    pub fn add_context(context: impl Into<String>) -> Self {
        PostToolUseDecision::AddContext {
            context: context.into(),
        }
    }
}

/// Where an error happened ([`ErrorOccurred::stage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorStage {
    /// A request to the model (preparing it, sending it, or reading its answer).
    ModelCall,
    /// An approved tool call: its handler returned an error, panicked or timed out.
    ToolExecution,
}

impl ErrorStage {
    /// The official SDK's name (`errorContext`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorStage::ModelCall => "model_call",
            ErrorStage::ToolExecution => "tool_execution",
        }
    }

    /// What [`SessionHooks::on_error`] decides unless overridden: [`ErrorDecision::Abort`] for a model
    /// request, [`ErrorDecision::Skip`] (the model reads the failure) for a tool call.
    pub fn default_decision(&self) -> ErrorDecision {
        match self {
            ErrorStage::ModelCall => ErrorDecision::Abort,
            ErrorStage::ToolExecution => ErrorDecision::Skip,
        }
    }
}

/// An error in a turn ([`SessionHooks::on_error`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct ErrorOccurred<'a> {
    /// The session.
    pub session_id: &'a str,
    /// What went wrong.
    pub error: &'a SdkError,
    /// Where.
    pub stage: ErrorStage,
    /// 1 for the first failure of this request, 2 after one retry, …
    pub attempt: u32,
    /// Tool rounds completed in this turn before the failed request.
    pub tool_rounds: u32,
    /// The tool that failed ([`ErrorStage::ToolExecution`]; `None` for a model request).
    pub tool_name: Option<&'a str>,
    /// Whether the server may have processed (and billed) the failed request. `false` only when the error
    /// proves it did not: nothing was sent (a connect error, a refused credential or URL, an unusable
    /// model), or the server refused it outright (429 and other typed 4xx refusals). A retry after `true`
    /// may be billed again. For a tool call it is always `true`: the tool may have acted before failing.
    pub request_may_have_been_processed: bool,
}

/// What to do after a failed request to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorDecision {
    /// End the turn with the error (the default).
    #[default]
    Abort,
    /// Send the same request again (at most [`MAX_HOOK_RETRIES`] times per request). It goes out with the
    /// same `X-Initiator` as the failed one and may be billed again; see
    /// [`ErrorOccurred::request_may_have_been_processed`].
    Retry,
    /// End the turn without an answer but without failing: the turn returns an [`AssistantMessage`] with
    /// empty content and no finish reason, the error is recorded as a `session.error` event, and the
    /// history keeps the prompt and the completed tool rounds.
    ///
    /// [`AssistantMessage`]: crate::AssistantMessage
    Skip,
}

impl ErrorDecision {
    /// The official SDK's name (`errorHandling`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorDecision::Abort => "abort",
            ErrorDecision::Retry => "retry",
            ErrorDecision::Skip => "skip",
        }
    }
}

/// How a session came to be ([`SessionStart::source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStartSource {
    /// [`CopilotClient::create_session`](crate::CopilotClient::create_session).
    New,
    /// [`CopilotClient::resume_session`](crate::CopilotClient::resume_session).
    Resumed,
}

/// A session started ([`SessionHooks::on_session_start`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionStart {
    /// The session.
    pub session_id: String,
    /// New or resumed.
    pub source: SessionStartSource,
    /// The model of the next turn.
    pub model: String,
    /// Messages already in the history (a resumed session's, or seeded ones).
    pub history_len: usize,
}

/// Why a session ended ([`SessionEnd::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEndReason {
    /// [`Session::close`](crate::Session::close) was called.
    Closed,
}

/// A session ended ([`SessionHooks::on_session_end`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionEnd {
    /// The session.
    pub session_id: String,
    /// Why.
    pub reason: SessionEndReason,
    /// Completed user turns.
    pub turn_count: u64,
    /// AI credits the session spent, as the server reported them.
    pub total_ai_credits: f64,
}

/// Whether the server may have processed the request that failed with `error` (see
/// [`ErrorOccurred::request_may_have_been_processed`]).
pub(crate) fn may_have_been_processed(error: &SdkError) -> bool {
    use copilot_api::ApiError;
    use copilot_http::TransportError;
    let transport_unsent = |error: &TransportError| {
        matches!(
            error,
            TransportError::Connect { .. }
                | TransportError::InvalidRequest { .. }
                | TransportError::InsecureUrl { .. }
        )
    };
    match error {
        SdkError::Transport(error) => !transport_unsent(error),
        SdkError::Api(ApiError::Transport(error)) => !transport_unsent(error),
        SdkError::Api(
            ApiError::RateLimited { .. }
            | ApiError::QuotaExceeded { .. }
            | ApiError::ModelNotSupported(_)
            | ApiError::UnsupportedApiForModel(_)
            | ApiError::PolicyDenied(_)
            | ApiError::UnsupportedTokenSource(_)
            | ApiError::NoAvailableModelEndpoints(_)
            | ApiError::InvalidReasoningEffort(_)
            | ApiError::BadRequest(_)
            | ApiError::Forbidden(_)
            | ApiError::NotFound(_)
            | ApiError::RequestTooLarge(_)
            | ApiError::Misdirected(_)
            | ApiError::ClientNotSupported(_)
            | ApiError::InvalidRequest { .. }
            | ApiError::Auth(_),
        ) => false,
        SdkError::Credential(_)
        | SdkError::SignInRequired { .. }
        | SdkError::Unauthorized { .. }
        | SdkError::NotEntitled { .. }
        | SdkError::NotOrgMember { .. }
        | SdkError::ModelUnsupported { .. }
        | SdkError::Config { .. }
        | SdkError::Token(_)
        | SdkError::Auth(_) => false,
        _ => true,
    }
}
