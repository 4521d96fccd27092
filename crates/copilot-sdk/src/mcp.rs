//! MCP servers as tool sources (feature `mcp`): [`McpServer`] and [`SessionConfig::mcp_server`].
//!
//! A session connects to each of its MCP servers when it is created (or resumed), through the official Rust
//! MCP SDK (`rmcp`): a child process spoken to over stdio, or a streamable-HTTP endpoint. Every tool a
//! server lists becomes a session tool named `<server>-<tool>`, with the server's JSON Schema as its
//! parameters, so its calls go through the same tool loop as the session's own tools: the
//! [`PermissionHandler`](crate::PermissionHandler) (with [`PermissionKind::Mcp`]), the
//! [`SessionHooks`](crate::SessionHooks), [`SessionConfig::tool_timeout`] and the typed
//! [`ToolCallResult`](crate::ToolCallResult)s.
//!
//! A server never hangs a turn: each request to it has a deadline ([`McpServer::timeout`]), a server that
//! exits or closes its connection answers every call still open and every later one with a failed result,
//! and a message larger than [`MAX_MCP_MESSAGE_BYTES`] is refused. Closing the session
//! ([`Session::close`](crate::Session::close)) ends the connections and kills and reaps the child
//! processes; dropping the last clone of a session kills them too.
//!
//! [`SessionConfig::mcp_server`]: crate::SessionConfig::mcp_server
//! [`SessionConfig::tool_timeout`]: crate::SessionConfig::tool_timeout

use std::collections::HashMap;
use std::fmt;
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use copilot_http::time::SharedSleep;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, PaginatedRequestParams};
use rmcp::service::{Peer, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod stderr;

use self::stderr::StderrTail;
use crate::SdkError;
use crate::permission::PermissionKind;
use crate::tools::{Tool, ToolError, ToolOutput};

/// How long one request to an MCP server may take by default ([`McpServer::timeout`]).
pub const DEFAULT_MCP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting to an MCP server (start, handshake, tool list) may take by default
/// ([`McpServer::startup_timeout`]).
pub const DEFAULT_MCP_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest message accepted from an MCP server (one stdio line, one HTTP body or SSE event). A larger
/// answer is dropped, so its call fails at its deadline.
pub const MAX_MCP_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// The most text of one MCP tool result the model is sent; the rest is cut, and the model told so.
pub const MAX_MCP_RESULT_BYTES: usize = 256 * 1024;
/// The most tools taken from one MCP server (later ones are left out).
pub const MAX_MCP_TOOLS: usize = 256;
/// The longest tool name the Copilot API accepts (names are `[A-Za-z0-9_-]{1,64}`).
pub const MAX_TOOL_NAME_LEN: usize = 64;
/// How many `tools/list` pages are read from one server.
const MAX_LIST_PAGES: usize = 32;
/// How long closing waits for a child process to exit after it was killed.
const REAP_WAIT: Duration = Duration::from_secs(5);
/// How long a failed start waits for the server's last stderr output (it is exiting).
const STDERR_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone)]
enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, SecretString)>,
        current_dir: Option<std::path::PathBuf>,
    },
    Http {
        url: String,
        headers: Vec<(String, SecretString)>,
    },
}

/// An MCP server whose tools a session may call ([`SessionConfig::mcp_server`](crate::SessionConfig::mcp_server)).
///
/// Environment values and header values are kept as secrets: they never appear in `Debug` output or logs.
///
/// ```
/// use std::time::Duration;
/// use copilot_sdk::McpServer;
///
/// let files = McpServer::stdio("npx", ["-y", "@modelcontextprotocol/server-filesystem", "."], [("NODE_ENV", "production")])
///     .timeout(Duration::from_secs(20));
/// let remote = McpServer::http("https://mcp.example.com/mcp", [("Authorization", "Bearer secret")]);
/// assert!(!format!("{remote:?}").contains("secret"));
/// # let _ = files;
/// ```
#[derive(Clone)]
pub struct McpServer {
    transport: Transport,
    timeout: Duration,
    startup_timeout: Duration,
    /// Only these tools (names on the server); `None`: all.
    only: Option<Vec<String>>,
}

impl McpServer {
    /// A server run as a child process: `command` with `args`, with `env` added to this process's
    /// environment. The session speaks MCP to it over its stdin and stdout. Its stderr is read
    /// for as long as it runs; when it fails to start or dies, the error quotes the end of it (at most
    /// 2 KiB, with the values of `env` shown as `[redacted]`).
    pub fn stdio<K, V>(
        command: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        McpServer::with_transport(Transport::Stdio {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: secret_pairs(env),
            current_dir: None,
        })
    }

    /// A streamable-HTTP server at `url`, sent `headers` (e.g. `Authorization`) with every request. Only
    /// `https`, or plain `http` to a loopback address, is accepted, and a URL with userinfo is refused:
    /// creating the session fails otherwise.
    pub fn http<K, V>(url: impl Into<String>, headers: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        McpServer::with_transport(Transport::Http {
            url: url.into(),
            headers: secret_pairs(headers),
        })
    }

    fn with_transport(transport: Transport) -> Self {
        McpServer {
            transport,
            timeout: DEFAULT_MCP_TIMEOUT,
            startup_timeout: DEFAULT_MCP_STARTUP_TIMEOUT,
            only: None,
        }
    }

    /// How long one tool call may wait for the server (default [`DEFAULT_MCP_TIMEOUT`]); a call still
    /// unanswered then is a [`ToolCallResult::Timeout`](crate::ToolCallResult::Timeout). Time is the
    /// client's [`sleep`](crate::CopilotClientBuilder::sleep). [`SessionConfig::tool_timeout`] applies too.
    ///
    /// [`SessionConfig::tool_timeout`]: crate::SessionConfig::tool_timeout
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// How long connecting may take: starting the process, the MCP handshake and listing the tools
    /// (default [`DEFAULT_MCP_STARTUP_TIMEOUT`]).
    pub fn startup_timeout(mut self, limit: Duration) -> Self {
        self.startup_timeout = limit;
        self
    }

    /// Offers only the server's tools named in `names` (their names on the server, e.g. `read_file`), as the
    /// official SDK's `tools` list does (default: every tool the server lists).
    pub fn tools(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.only = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The working directory of a stdio server's process (default: this process's). Ignored for HTTP.
    pub fn current_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        if let Transport::Stdio { current_dir, .. } = &mut self.transport {
            *current_dir = Some(dir.into());
        }
        self
    }
}

fn secret_pairs<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Vec<(String, SecretString)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), SecretString::from(v.into())))
        .collect()
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |pairs: &[(String, SecretString)]| -> Vec<String> {
            pairs
                .iter()
                .map(|(k, _)| format!("{k}=[REDACTED]"))
                .collect()
        };
        let mut out = f.debug_struct("McpServer");
        match &self.transport {
            Transport::Stdio {
                command, args, env, ..
            } => out
                .field("command", command)
                .field("args", args)
                .field("env", &names(env)),
            Transport::Http { url, headers } => out
                .field("url", &copilot_http::RedactedUrl::text(url).to_string())
                .field("headers", &names(headers)),
        };
        out.field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// The name a server's tool has in the session: `<server>-<tool>`, with every character outside
/// `[A-Za-z0-9_-]` replaced by `_`; a name longer than [`MAX_TOOL_NAME_LEN`] is cut and ends in a hash of
/// the full name, so two long names stay distinct.
pub fn mcp_tool_name(server: &str, tool: &str) -> String {
    let full = format!("{server}-{tool}");
    let clean = crate::tools::sanitise_name(&full);
    if clean.len() <= MAX_TOOL_NAME_LEN {
        return clean;
    }
    let suffix = short_hash(&full);
    // `clean` is ASCII, so any byte index is a char boundary.
    format!(
        "{}-{suffix}",
        &clean[..MAX_TOOL_NAME_LEN - suffix.len() - 1]
    )
}

fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    copilot_http::hex::encode(&digest[..4])
}

/// One connected server: the protocol client and, for stdio, the child process.
struct Connection {
    name: String,
    service: Option<RunningService<RoleClient, ()>>,
    child: Option<tokio::process::Child>,
    /// For stdio: the end of what the process wrote to stderr.
    stderr: Option<StderrTail>,
}

impl Connection {
    async fn shutdown(mut self, sleeper: &SharedSleep) {
        if let Some(service) = self.service.take() {
            let cancelled = service.cancel();
            tokio::select! {
                _ = cancelled => {}
                () = sleeper.sleep(REAP_WAIT) => {}
            }
        }
        if let Some(mut child) = self.child.take() {
            if let Err(error) = child.start_kill() {
                tracing::debug!(server = %self.name, %error, "the MCP server had already exited");
            }
            tokio::select! {
                status = child.wait() => {
                    tracing::debug!(server = %self.name, ?status, "MCP server process ended");
                }
                () = sleeper.sleep(REAP_WAIT) => {
                    // Dropping the child leaves its reaping to the runtime.
                    tracing::warn!(server = %self.name, "the MCP server process did not exit after being killed");
                }
            }
        }
    }
}

/// A session's connected MCP servers. Dropping it kills their processes (`kill_on_drop`); the runtime
/// reaps them.
#[derive(Default)]
pub(crate) struct McpConnections {
    connections: Mutex<Vec<Connection>>,
}

impl McpConnections {
    /// Connects to every server in `servers` (concurrently) and returns their tools, named so that none
    /// collides with `taken` or with each other. Fails, closing what was opened, if any server cannot be
    /// reached.
    pub(crate) async fn connect(
        servers: &[(String, McpServer)],
        taken: &[Tool],
        sleeper: &SharedSleep,
    ) -> Result<(McpConnections, Vec<Tool>), SdkError> {
        for (at, (name, _)) in servers.iter().enumerate() {
            if servers[..at].iter().any(|(earlier, _)| earlier == name) {
                return Err(mcp_error(
                    name,
                    "two MCP servers of the session have this name",
                ));
            }
        }
        let attempts = servers
            .iter()
            .map(|(name, server)| connect_one(name, server, sleeper));
        let results = futures_util::future::join_all(attempts).await;
        let mut connections = Vec::new();
        let mut listed = Vec::new();
        let mut failure = None;
        for result in results {
            match result {
                Ok((connection, tools)) => {
                    connections.push(connection);
                    listed.push(tools);
                }
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        if let Some(error) = failure {
            for connection in connections {
                connection.shutdown(sleeper).await;
            }
            return Err(error);
        }
        let mut names: Vec<String> = taken.iter().map(|t| t.name().to_owned()).collect();
        let mut tools = Vec::new();
        // `connections` and `listed` are in the order of `servers`.
        for (((server_name, server), connection), server_tools) in
            servers.iter().zip(&connections).zip(listed)
        {
            let Some(peer) = connection.service.as_ref().map(|s| s.peer().clone()) else {
                continue;
            };
            for listed_tool in server_tools {
                if let Some(only) = &server.only
                    && !only.contains(&listed_tool.name)
                {
                    continue;
                }
                let mut name = mcp_tool_name(server_name, &listed_tool.name);
                if names.contains(&name) {
                    let suffix = short_hash(&format!("{server_name}\0{}", listed_tool.name));
                    let keep = name.len().min(MAX_TOOL_NAME_LEN - suffix.len() - 1);
                    name = format!("{}-{suffix}", &name[..keep]);
                }
                if names.contains(&name) {
                    tracing::warn!(server = %server_name, tool = %listed_tool.name, "MCP tool left out: its name is taken");
                    continue;
                }
                names.push(name.clone());
                tools.push(mcp_tool(
                    name,
                    server_name,
                    listed_tool,
                    peer.clone(),
                    connection.stderr.clone(),
                    server.timeout,
                    sleeper.clone(),
                ));
            }
        }
        Ok((
            McpConnections {
                connections: Mutex::new(connections),
            },
            tools,
        ))
    }

    /// Takes over the connections of `other`.
    pub(crate) fn attach(&self, other: McpConnections) {
        let added = other
            .connections
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(added);
    }

    /// Ends every connection and kills and reaps the child processes.
    pub(crate) async fn close(&self, sleeper: &SharedSleep) {
        let connections = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for connection in connections {
            connection.shutdown(sleeper).await;
        }
    }
}

impl fmt::Debug for McpConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        f.debug_struct("McpConnections")
            .field("servers", &names)
            .finish()
    }
}

fn mcp_error(server: &str, message: impl fmt::Display) -> SdkError {
    SdkError::Mcp {
        server: server.to_owned(),
        message: message.to_string(),
    }
}

/// Waits for `future` until `limit` on `sleeper`.
async fn deadline<T>(
    sleeper: &SharedSleep,
    limit: Duration,
    future: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        out = future => Some(out),
        () = sleeper.sleep(limit) => None,
    }
}

/// A server's listed tool, as much of it as the session uses.
struct ListedTool {
    name: String,
    description: String,
    schema: Value,
}

async fn connect_one(
    name: &str,
    server: &McpServer,
    sleeper: &SharedSleep,
) -> Result<(Connection, Vec<ListedTool>), SdkError> {
    let limit = server.startup_timeout;
    let (service, child, stderr) = match &server.transport {
        Transport::Stdio {
            command,
            args,
            env,
            current_dir,
        } => {
            let mut process = tokio::process::Command::new(command);
            process
                .args(args)
                .envs(env.iter().map(|(k, v)| (k, v.expose_secret())))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            if let Some(dir) = current_dir {
                process.current_dir(dir);
            }
            let mut child = process
                .spawn()
                .map_err(|e| mcp_error(name, format_args!("cannot start `{command}`: {e}")))?;
            let (Some(stdout), Some(stdin), Some(pipe)) =
                (child.stdout.take(), child.stdin.take(), child.stderr.take())
            else {
                return Err(mcp_error(
                    name,
                    "the process has no stdin/stdout/stderr pipes",
                ));
            };
            let secrets = env.iter().map(|(_, value)| value.clone()).collect();
            let stderr = StderrTail::drain(pipe, secrets);
            let transport = AsyncRwTransport::new_client(stdout, stdin)
                .with_max_line_length(MAX_MCP_MESSAGE_BYTES);
            let service = match deadline(sleeper, limit, ().serve(transport)).await {
                Some(Ok(service)) => service,
                Some(Err(e)) => {
                    // The server is going away: let its last words and exit status arrive.
                    let _ = deadline(sleeper, STDERR_WAIT, stderr.ended()).await;
                    let status = deadline(sleeper, STDERR_WAIT, child.wait()).await;
                    let exited = match status {
                        Some(Ok(status)) => format!(" (the process exited: {status})"),
                        _ => String::new(),
                    };
                    let message = format!("MCP handshake failed: {e}{exited}");
                    return Err(mcp_error(name, stderr.explain(message)));
                }
                None => {
                    let message = format!("no MCP handshake within {limit:?}");
                    return Err(mcp_error(name, stderr.explain(message)));
                }
            };
            (service, Some(child), Some(stderr))
        }
        Transport::Http { url, headers } => {
            let transport = http_transport(name, url, headers)?;
            let service = deadline(sleeper, limit, ().serve(transport))
                .await
                .ok_or_else(|| mcp_error(name, format_args!("no MCP handshake within {limit:?}")))?
                .map_err(|e| mcp_error(name, format_args!("MCP handshake failed: {e}")))?;
            (service, None, None)
        }
    };
    let peer = service.peer().clone();
    let listed = deadline(sleeper, limit, list_tools(&peer))
        .await
        .ok_or_else(|| mcp_error(name, format_args!("no tool list within {limit:?}")))?
        .map_err(|e| mcp_error(name, format_args!("tools/list failed: {e}")))?;
    Ok((
        Connection {
            name: name.to_owned(),
            service: Some(service),
            child,
            stderr,
        },
        listed,
    ))
}

fn http_transport(
    name: &str,
    url: &str,
    headers: &[(String, SecretString)],
) -> Result<StreamableHttpClientTransport<reqwest::Client>, SdkError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        mcp_error(
            name,
            format_args!("invalid URL {}: {e}", copilot_http::RedactedUrl::text(url)),
        )
    })?;
    copilot_http::safety::check_credential_url(&parsed).map_err(|e| mcp_error(name, e))?;
    let mut map = HashMap::new();
    for (key, value) in headers {
        let header = http::HeaderName::try_from(key.as_str())
            .map_err(|e| mcp_error(name, format_args!("invalid header name `{key}`: {e}")))?;
        let mut value = http::HeaderValue::try_from(value.expose_secret())
            .map_err(|_| mcp_error(name, format_args!("invalid value for header `{key}`")))?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    let mut config = StreamableHttpClientTransportConfig::with_uri(parsed.as_str().to_owned())
        .custom_headers(map);
    config.max_sse_event_size = MAX_MCP_MESSAGE_BYTES;
    config.max_json_response_size = MAX_MCP_MESSAGE_BYTES;
    // No redirects (the headers would follow them), and loopback never through a proxy (as copilot-http's
    // transport): a header sent over plain http then never leaves the machine.
    let mut client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none());
    if parsed
        .host_str()
        .is_some_and(copilot_http::safety::is_loopback_host)
    {
        client = client.no_proxy();
    }
    let client = client
        .build()
        .map_err(|e| mcp_error(name, format_args!("cannot build the HTTP client: {e}")))?;
    Ok(StreamableHttpClientTransport::with_client(client, config))
}

/// Every page of `tools/list`, up to [`MAX_MCP_TOOLS`] tools and [`MAX_LIST_PAGES`] pages.
async fn list_tools(peer: &Peer<RoleClient>) -> Result<Vec<ListedTool>, ServiceError> {
    let mut tools = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_LIST_PAGES {
        let params = cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = peer.list_tools(params).await?;
        for tool in page.tools {
            if tools.len() >= MAX_MCP_TOOLS {
                return Ok(tools);
            }
            let description = tool
                .description
                .map(|d| d.into_owned())
                .or(tool.title)
                .unwrap_or_default();
            tools.push(ListedTool {
                name: tool.name.into_owned(),
                description,
                schema: Value::Object((*tool.input_schema).clone()),
            });
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(tools)
}

/// The session tool that calls `listed` on the server behind `peer`.
fn mcp_tool(
    name: String,
    server: &str,
    listed: ListedTool,
    peer: Peer<RoleClient>,
    stderr: Option<StderrTail>,
    limit: Duration,
    sleeper: SharedSleep,
) -> Tool {
    let server_name = server.to_owned();
    let tool_name = listed.name.clone();
    let kind = PermissionKind::Mcp {
        server_name: server_name.clone(),
        tool_name: tool_name.clone(),
    };
    Tool::new(
        name,
        listed.description,
        listed.schema,
        move |args: Value| {
            let peer = peer.clone();
            let server = server_name.clone();
            let tool = tool_name.clone();
            let sleeper = sleeper.clone();
            let stderr = stderr.clone();
            async move {
                let arguments = match args {
                    Value::Object(map) => Some(map),
                    Value::Null => None,
                    _ => return Err(ToolError::new("the arguments must be a JSON object")),
                };
                let mut params = CallToolRequestParams::new(tool);
                params.arguments = arguments;
                match deadline(&sleeper, limit, peer.call_tool(params)).await {
                    None => Err(ToolError::timed_out(format!(
                        "the MCP server `{server}` did not answer within {limit:?}"
                    ))),
                    Some(Err(error)) => {
                        let failure = call_failure(&server, &error);
                        // A server that died usually said why on stderr: wait for its last words.
                        let failure = match (&error, &stderr) {
                            (ServiceError::TransportClosed, Some(stderr)) => {
                                let _ = deadline(&sleeper, STDERR_WAIT, stderr.ended()).await;
                                stderr.explain(failure)
                            }
                            _ => failure,
                        };
                        Err(ToolError::new(failure))
                    }
                    Some(Ok(result)) => tool_output(result),
                }
            }
        },
    )
    .with_permission_kind(kind)
}

fn call_failure(server: &str, error: &ServiceError) -> String {
    match error {
        ServiceError::McpError(data) => {
            format!(
                "the MCP server `{server}` refused the call: {}",
                data.message
            )
        }
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            format!("the MCP server `{server}` is not running (its connection closed)")
        }
        other => format!("the MCP server `{server}` failed the call: {other}"),
    }
}

/// What the model reads of a `tools/call` result: the text blocks (other blocks described), or the
/// structured content when there is no text; cut at [`MAX_MCP_RESULT_BYTES`]. `isError` makes it a failure.
fn tool_output(result: CallToolResult) -> Result<ToolOutput, ToolError> {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        parts.push(match block {
            ContentBlock::Text(text) => text.text.clone(),
            ContentBlock::Image(image) => format!("[image: {}]", image.mime_type),
            ContentBlock::Audio(audio) => format!("[audio: {}]", audio.mime_type),
            ContentBlock::Resource(resource) => match serde_json::to_value(&resource.resource) {
                Ok(value) => value
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        format!("[resource: {}]", value["uri"].as_str().unwrap_or(""))
                    }),
                Err(_) => "[resource]".to_owned(),
            },
            ContentBlock::ResourceLink(link) => format!("[resource link: {}]", link.uri),
            _ => "[content of an unknown kind]".to_owned(),
        });
    }
    let mut text = parts.join("\n");
    if text.is_empty()
        && let Some(structured) = &result.structured_content
    {
        text = structured.to_string();
    }
    let text = cut(text);
    if result.is_error == Some(true) {
        return Err(ToolError::new(text));
    }
    Ok(ToolOutput::Text(text))
}

fn cut(text: String) -> String {
    if text.len() <= MAX_MCP_RESULT_BYTES {
        return text;
    }
    let mut end = MAX_MCP_RESULT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[cut: the tool returned {} bytes; only the first {end} are shown]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_sanitised_and_bounded() {
        assert_eq!(mcp_tool_name("files", "read_file"), "files-read_file");
        assert_eq!(
            mcp_tool_name("my server", "text.upper"),
            "my_server-text_upper"
        );
        let long = mcp_tool_name("server", &"x".repeat(100));
        assert_eq!(long.len(), MAX_TOOL_NAME_LEN);
        assert!(long.starts_with("server-xxx"));
        assert_ne!(long, mcp_tool_name("server", &"x".repeat(101)));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
        assert_eq!(mcp_tool_name("s", "é"), "s-_");
    }

    #[test]
    fn results_are_cut_at_the_cap() {
        let out = cut("é".repeat(MAX_MCP_RESULT_BYTES));
        assert!(out.len() < MAX_MCP_RESULT_BYTES + 100);
        assert!(out.contains("[cut: the tool returned"));
        assert_eq!(cut("short".to_owned()), "short");
    }

    #[test]
    fn debug_redacts_env_and_headers() {
        let server = McpServer::stdio("srv", ["--x"], [("API_KEY", "hunter2")]);
        let shown = format!("{server:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("API_KEY=[REDACTED]"), "{shown}");
        let server = McpServer::http("https://h/mcp", [("Authorization", "Bearer s3cret")]);
        assert!(!format!("{server:?}").contains("s3cret"));
    }
}
