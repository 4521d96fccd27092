//! MCP tools in a session: the model calls the tools of an MCP server (here this very program, started
//! again as a child process with `serve`), through the permission handler, and reads what each call gave
//! (a result, a timeout, a server that died). `cargo run -p copilot-sdk --features mcp --example mcp_tools`.
//!
//! `mcp_tools serve` is the MCP server alone (stdio), built with rmcp's server side; the tests of
//! copilot-sdk start it too.

#[path = "support/mod.rs"]
pub mod support;

use std::time::Duration;

use copilot_sdk::{
    AssistantMessage, McpServer, PermissionDecision, PermissionHandler, PermissionKind,
    SessionConfig,
};
use support::{BoxError, Target};

/// The demo MCP server (rmcp's server side on stdio).
pub mod server {
    use std::sync::Arc;
    use std::time::Duration;

    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
        ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    };
    use rmcp::service::{RequestContext, RoleServer};
    use rmcp::{ErrorData, ServerHandler, ServiceExt};
    use serde_json::{Value, json};

    /// The text the `big` tool returns, in bytes: more than the SDK passes on to the model.
    pub const BIG_OUTPUT_BYTES: usize = 1024 * 1024;

    fn schema(value: Value) -> Arc<JsonObject> {
        match value {
            Value::Object(map) => Arc::new(map),
            _ => Arc::new(JsonObject::new()),
        }
    }

    /// The tools: `add`, `text.upper`, `env`, `pid`, `fail`, `big`, `sleep` and `crash`.
    pub fn tools() -> Vec<Tool> {
        vec![
            Tool::new(
                "add",
                "Adds two integers",
                schema(json!({
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                })),
            ),
            Tool::new(
                "text.upper",
                "Upper-cases a text",
                schema(json!({"type": "object", "properties": {"text": {"type": "string"}}})),
            ),
            Tool::new(
                "env",
                "Reads an environment variable of the server",
                schema(json!({
                    "type": "object",
                    "properties": {"name": {"type": "string", "enum": ["DEMO_GREETING"]}},
                })),
            ),
            Tool::new(
                "pid",
                "The server's process id",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "fail",
                "Always answers with an error result",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "big",
                "Returns a megabyte of text",
                schema(json!({"type": "object", "properties": {}})),
            ),
            Tool::new(
                "sleep",
                "Waits `seconds` before answering",
                schema(json!({
                    "type": "object",
                    "properties": {"seconds": {"type": "integer", "minimum": 30}},
                })),
            ),
            Tool::new(
                "crash",
                "Ends the server process without answering",
                schema(json!({"type": "object", "properties": {}})),
            ),
        ]
    }

    fn text(result: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
        Ok(CallToolResponse::Complete(CallToolResult::success(vec![
            ContentBlock::text(result.into()),
        ])))
    }

    /// The server's handler.
    #[derive(Debug, Clone, Default)]
    pub struct Demo;

    impl ServerHandler for Demo {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }

        async fn list_tools(
            &self,
            _request: Option<PaginatedRequestParams>,
            _context: RequestContext<RoleServer>,
        ) -> Result<ListToolsResult, ErrorData> {
            Ok(ListToolsResult::with_all_items(tools()))
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            let args = request.arguments.unwrap_or_default();
            let int = |key: &str| args.get(key).and_then(Value::as_i64).unwrap_or(0);
            match request.name.as_ref() {
                "add" => text(int("a").saturating_add(int("b")).to_string()),
                "text.upper" => text(
                    args.get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_uppercase(),
                ),
                "env" => {
                    let name = args.get("name").and_then(Value::as_str).unwrap_or("");
                    text(std::env::var(name).unwrap_or_else(|_| format!("{name} is not set")))
                }
                "pid" => text(std::process::id().to_string()),
                "fail" => Ok(CallToolResponse::Complete(CallToolResult::error(vec![
                    ContentBlock::text("this tool always fails"),
                ]))),
                "big" => text("x".repeat(BIG_OUTPUT_BYTES)),
                "sleep" => {
                    let seconds = u64::try_from(int("seconds")).unwrap_or(0);
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                    text(format!("slept {seconds} s"))
                }
                "crash" => {
                    // What a real server does before it dies: say why on stderr (the session
                    // quotes it in the failed result, with the values of its `env` redacted).
                    let greeting = std::env::var("DEMO_GREETING").unwrap_or_default();
                    eprintln!("demo: crashing as asked (greeting was {greeting})");
                    std::process::exit(3)
                }
                other => Err(ErrorData::invalid_params(
                    format!("no tool named {other}"),
                    None,
                )),
            }
        }
    }

    /// Serves [`Demo`] on stdin/stdout until the client goes away.
    pub async fn serve_stdio() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let running = Demo.serve(rmcp::transport::stdio()).await?;
        running.waiting().await?;
        Ok(())
    }
}

/// What [`run`] got: the answer of each turn and the MCP permission requests seen.
pub struct Outcome {
    /// `demo-add` and `demo-text_upper` in one round.
    pub first: AssistantMessage,
    /// `demo-sleep`, which outlives its deadline.
    pub second: AssistantMessage,
    /// `demo-crash`: the server dies during the call.
    pub third: AssistantMessage,
    /// `server/tool` of every MCP permission request.
    pub permissions: Vec<String>,
}

/// Connects the demo server `server` as `demo`, approves its tools (noting each request), and runs three
/// turns: a good round, a call that times out, and a call that kills the server.
pub async fn run(target: &Target, server: McpServer) -> Result<Outcome, BoxError> {
    let client = target.user_client("octocat")?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let session = client
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .mcp_server("demo", server.timeout(Duration::from_secs(2)))
                .on_permission_request(PermissionHandler::from_fn(move |request| {
                    if let PermissionKind::Mcp {
                        server_name,
                        tool_name,
                    } = &request.kind
                    {
                        log.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(format!("{server_name}/{tool_name}"));
                    }
                    PermissionDecision::ApproveOnce
                })),
        )
        .await?;
    let first = session
        .send_and_wait("Use demo-add and demo-text_upper")
        .await?;
    let second = session.send_and_wait("Use demo-sleep").await?;
    let third = session.send_and_wait("Use demo-crash").await?;
    session.close().await?;
    let permissions = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok(Outcome {
        first,
        second,
        third,
        permissions,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return server::serve_stdio().await;
    }
    let me = std::env::current_exe()?;
    let server = McpServer::stdio(
        me.to_string_lossy(),
        ["serve"],
        [("DEMO_GREETING", "hello")],
    );
    let target = Target::from_env().await?;
    let outcome = run(&target, server).await?;
    println!("1. {}", outcome.first.content);
    println!("2. {}", outcome.second.content);
    println!("3. {}", outcome.third.content);
    println!("permission requests: {}", outcome.permissions.join(", "));
    Ok(())
}
