//! Deciding whether a tool call the model asked for may run.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

/// A tool call awaiting permission.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PermissionRequest {
    /// The session asking.
    pub session_id: String,
    /// The tool the model wants to run.
    pub tool_name: String,
    /// The model's id for this call.
    pub tool_call_id: String,
    /// The arguments, parsed (`Value::Null` if they were not valid JSON).
    pub arguments: Value,
    /// What kind of tool it is: one of the session's own, or an MCP server's (with the server's name and
    /// the tool's name there).
    pub kind: PermissionKind,
}

/// What kind of tool a [`PermissionRequest`] is for (the official SDK's permission request `kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionKind {
    /// A [`Tool`](crate::Tool) of the session's own (`custom-tool`).
    CustomTool,
    /// A tool of an MCP server (`mcp`); the model calls it as `<server>-<tool>`.
    Mcp {
        /// The server's name in [`SessionConfig::mcp_server`](crate::SessionConfig).
        server_name: String,
        /// The tool's name on that server.
        tool_name: String,
    },
}

impl PermissionKind {
    /// The official SDK's name of the kind: `custom-tool` or `mcp`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PermissionKind::CustomTool => "custom-tool",
            PermissionKind::Mcp { .. } => "mcp",
        }
    }
}

/// What the [`PermissionHandler`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionDecision {
    /// Run this call.
    ApproveOnce,
    /// Run this call and every later call of the same tool in this session without asking again.
    ApproveForSession,
    /// Do not run it; the model is told `reason` as the tool's (failed) result and the turn continues.
    Reject {
        /// Sent to the model.
        reason: String,
    },
    /// Do not run it and end the turn with [`SdkError::PermissionDenied`](crate::SdkError::PermissionDenied).
    Abort {
        /// Reported in the error.
        reason: String,
    },
}

impl PermissionDecision {
    /// [`PermissionDecision::Reject`] with `reason`.
    pub fn reject(reason: impl Into<String>) -> Self {
        PermissionDecision::Reject {
            reason: reason.into(),
        }
    }

    /// [`PermissionDecision::Abort`] with `reason`.
    pub fn abort(reason: impl Into<String>) -> Self {
        PermissionDecision::Abort {
            reason: reason.into(),
        }
    }
}

type Decide =
    Arc<dyn Fn(PermissionRequest) -> BoxFuture<'static, PermissionDecision> + Send + Sync>;

/// Decides, per tool call, whether the session may run it (the official Copilot SDK's `on_permission_request`).
///
/// Cheap to clone. Sessions without a handler reject every tool call.
#[derive(Clone)]
pub struct PermissionHandler {
    decide: Decide,
}

impl PermissionHandler {
    /// A handler from an async function.
    pub fn new<F, Fut>(decide: F) -> Self
    where
        F: Fn(PermissionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = PermissionDecision> + Send + 'static,
    {
        PermissionHandler {
            decide: Arc::new(move |request| Box::pin(decide(request))),
        }
    }

    /// A handler from a plain function.
    pub fn from_fn<F>(decide: F) -> Self
    where
        F: Fn(&PermissionRequest) -> PermissionDecision + Send + Sync + 'static,
    {
        PermissionHandler::new(move |request| std::future::ready(decide(&request)))
    }

    /// Approves every call (the official Copilot SDK's `PermissionHandler.approve_all`).
    pub fn approve_all() -> Self {
        PermissionHandler::from_fn(|_| PermissionDecision::ApproveOnce)
    }

    /// Rejects every call with `reason`.
    pub fn reject_all(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        PermissionHandler::from_fn(move |_| PermissionDecision::reject(reason.clone()))
    }

    /// Asks the handler.
    pub async fn decide(&self, request: PermissionRequest) -> PermissionDecision {
        (self.decide)(request).await
    }
}

impl fmt::Debug for PermissionHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PermissionHandler { .. }")
    }
}
