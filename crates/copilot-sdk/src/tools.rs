//! Tools the model may call: a name, a description, a JSON Schema for the arguments and an async handler.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::permission::PermissionKind;

/// What a tool handler returns on success: text, or JSON (sent to the model serialised).
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutput {
    /// Plain text.
    Text(String),
    /// A JSON value.
    Json(Value),
}

impl ToolOutput {
    /// The text sent to the model as the tool message.
    pub fn to_content(&self) -> String {
        match self {
            ToolOutput::Text(text) => text.clone(),
            ToolOutput::Json(value) => value.to_string(),
        }
    }
}

impl From<String> for ToolOutput {
    fn from(text: String) -> Self {
        ToolOutput::Text(text)
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        ToolOutput::Text(text.to_owned())
    }
}

impl From<Value> for ToolOutput {
    fn from(value: Value) -> Self {
        ToolOutput::Json(value)
    }
}

/// A tool handler failure. It is sent to the model as a failed tool result; the session carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    message: String,
    /// The tool gave up waiting (an MCP server that did not answer in time): a `Timeout` result.
    timed_out: bool,
}

impl ToolError {
    /// A failure with this message (the model will read it).
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            timed_out: false,
        }
    }

    /// A failure because something the tool waited for did not answer in time: the call's result is
    /// [`ToolCallResult::Timeout`](crate::ToolCallResult::Timeout).
    pub fn timed_out(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            timed_out: true,
        }
    }

    /// Whether this is a [`timed_out`](Self::timed_out) failure.
    pub fn is_timeout(&self) -> bool {
        self.timed_out
    }

    /// A failure from any error type (its `Display` text).
    pub fn from_error(error: impl std::error::Error) -> Self {
        ToolError::new(error.to_string())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::new(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

type Handler =
    Arc<dyn Fn(Value) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync>;

/// A tool: what the model sees (name, description, parameter schema) and the Rust code that runs it.
///
/// Cheap to clone. Handlers get the model's arguments as parsed JSON; arguments that are not valid JSON never
/// reach the handler (the model is told instead).
///
/// ```
/// use copilot_sdk::{Tool, ToolError};
/// use serde_json::{json, Value};
///
/// let weather = Tool::new(
///     "get_weather",
///     "Current weather for a city",
///     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
///     |args: Value| async move {
///         let city = args["city"].as_str().ok_or_else(|| ToolError::new("city is required"))?;
///         Ok(json!({"city": city, "celsius": 21}))
///     },
/// );
/// assert_eq!(weather.name(), "get_weather");
/// ```
#[derive(Clone)]
pub struct Tool {
    name: String,
    description: String,
    parameters: Value,
    handler: Handler,
    kind: PermissionKind,
}

impl Tool {
    /// A tool named `name` (letters, digits, `_` and `-`), described for the model by `description`, with
    /// arguments described by the JSON Schema `parameters`, run by `handler`.
    pub fn new<F, Fut, O>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
        O: Into<ToolOutput>,
    {
        let handler: Handler = Arc::new(move |args| {
            let fut = handler(args);
            Box::pin(async move { fut.await.map(Into::into) })
        });
        Tool {
            name: name.into(),
            description: description.into(),
            parameters: normalise_parameters(parameters),
            handler,
            kind: PermissionKind::CustomTool,
        }
    }

    /// A tool whose arguments are the Rust type `A`: the schema is derived with `schemars`, and the arguments
    /// are deserialised before `handler` runs (a mismatch goes back to the model as a failure).
    #[cfg(feature = "schemars")]
    pub fn typed<A, F, Fut, O>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: schemars::JsonSchema + serde::de::DeserializeOwned + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
        O: Into<ToolOutput>,
    {
        let schema = serde_json::to_value(schemars::schema_for!(A)).unwrap_or(Value::Null);
        let handler = Arc::new(handler);
        Tool::new(name, description, schema, move |args: Value| {
            let handler = handler.clone();
            async move {
                let args: A = serde_json::from_value(args)
                    .map_err(|e| ToolError::new(format!("invalid arguments: {e}")))?;
                handler(args).await
            }
        })
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON Schema of the arguments.
    pub fn parameters(&self) -> &Value {
        &self.parameters
    }

    /// What kind of tool this is, as the [`PermissionHandler`](crate::PermissionHandler) is told:
    /// [`PermissionKind::CustomTool`] for tools made with [`Tool::new`], [`PermissionKind::Mcp`] for the
    /// tools of an MCP server.
    pub fn permission_kind(&self) -> &PermissionKind {
        &self.kind
    }

    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(crate) fn with_permission_kind(mut self, kind: PermissionKind) -> Self {
        self.kind = kind;
        self
    }

    /// Runs the handler.
    pub async fn call(&self, arguments: Value) -> Result<ToolOutput, ToolError> {
        (self.handler)(arguments).await
    }

    pub(crate) fn chat_definition(&self) -> copilot_api::Tool {
        copilot_api::Tool::function(
            self.name.clone(),
            self.description.clone(),
            Some(self.parameters.clone()),
        )
    }

    pub(crate) fn responses_definition(&self) -> copilot_api::ResponsesTool {
        copilot_api::ResponsesTool::function(
            self.name.clone(),
            self.description.clone(),
            Some(self.parameters.clone()),
        )
    }
}

/// `text` with every character outside `[A-Za-z0-9_-]` (what the API accepts in tool and schema names)
/// replaced by `_`.
#[cfg_attr(not(any(feature = "mcp", feature = "schemars")), allow(dead_code))]
pub(crate) fn sanitise_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Claude needs a non-empty object schema (protocol §6); `null` or `{}` become an empty object schema.
fn normalise_parameters(parameters: Value) -> Value {
    match parameters {
        Value::Null => serde_json::json!({"type": "object", "properties": {}}),
        Value::Object(map) if map.is_empty() => {
            serde_json::json!({"type": "object", "properties": {}})
        }
        other => other,
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

/// What a session does when the model calls a tool the session does not have
/// ([`SessionConfig::unknown_tool_policy`](crate::SessionConfig::unknown_tool_policy)).
///
/// The default is [`ErrorResult`](Self::ErrorResult), as in the official SDK: the model reads that the
/// tool does not exist and usually answers without it. Programs that run tools themselves (or, like the
/// `copilot-rs chat` command, run none and show the calls to a person) choose
/// [`ReturnToCaller`](Self::ReturnToCaller): the turn then ends after the model's answer, without sending
/// anything more, and the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownToolPolicy {
    /// Answer the call with a failed result (`there is no tool named …`) and let the model continue: one more
    /// request, sent with `X-Initiator: agent`, counted against the round cap.
    #[default]
    ErrorResult,
    /// End the turn: the calls the session cannot run are returned in
    /// [`AssistantMessage::tool_calls`](crate::AssistantMessage::tool_calls) with finish reason
    /// `tool_calls`, and no further request is sent. Calls of known tools in the same answer run as usual
    /// (through the permission handler) and their results are kept. The caller may then answer the returned
    /// calls with [`Session::send_tool_results`](crate::Session::send_tool_results); if it sends a new
    /// prompt instead, each unanswered call is recorded as failed ("no result was returned") in that same
    /// request, so the history stays valid for the model.
    ReturnToCaller,
}

/// A tool call the model asked for and the session handed back to its caller
/// ([`UnknownToolPolicy::ReturnToCaller`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestedToolCall {
    /// The model's id for the call; results are matched to calls by it.
    pub id: String,
    /// The tool the model wants.
    pub name: String,
    /// The arguments exactly as the model sent them (normally a JSON document).
    pub arguments: String,
}

impl RequestedToolCall {
    pub(crate) fn from_wire(call: &copilot_api::ToolCall) -> Self {
        RequestedToolCall {
            id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: call.function.arguments.clone(),
        }
    }

    /// The arguments parsed as JSON (an empty string is `{}`), or the parser's complaint.
    pub fn arguments_json(&self) -> Result<Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_str(&self.arguments)
    }
}
