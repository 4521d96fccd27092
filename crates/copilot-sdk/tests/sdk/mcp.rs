//! MCP servers as tool sources, against a real MCP server process: the `mcp_tools` example run as
//! `mcp_tools serve` (rmcp's server side on stdio), and copilot-mock as the model.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copilot_mock::Endpoint;
use copilot_sdk::mcp::MAX_MCP_RESULT_BYTES;
use copilot_sdk::{
    McpServer, PermissionDecision, PermissionHandler, PermissionKind, PostToolUse,
    PostToolUseDecision, PreToolUse, PreToolUseDecision, SdkError, Session, SessionConfig,
    SessionEvent, SessionHooks, ToolCallResult,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{
    Target, contents_of_role, mock_session, octocat_session, requests, target, tool_results,
};

/// The demo MCP server: the `mcp_tools` example binary, which cargo builds with the tests.
pub fn demo_server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/sdk-<hash> → target/<profile>/examples/mcp_tools
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("mcp_tools{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p copilot-sdk --features mcp --example mcp_tools` \
         (cargo test and cargo nextest build examples unless a target filter leaves them out)",
        binary.display()
    );
    binary
}

/// The demo server as an MCP server config.
pub fn demo_server() -> McpServer {
    McpServer::stdio(
        demo_server_binary().to_string_lossy(),
        ["serve"],
        [("DEMO_GREETING", "hello from the environment")],
    )
}

/// A session of octocat with the demo server as `demo`, approving every call.
async fn demo_session(target: &Target) -> Result<Session, SdkError> {
    octocat_session(target, approving().mcp_server("demo", demo_server())).await
}

fn approving() -> SessionConfig {
    SessionConfig::new()
        .model("gpt-4.1")
        .on_permission_request(PermissionHandler::approve_all())
}

/// Runs one turn (bounded, so that a hung turn fails the test instead of hanging it) and returns its events.
async fn turn(session: &Session, prompt: &str) -> Vec<SessionEvent> {
    tokio::time::timeout(Duration::from_secs(60), session.send(prompt).collect())
        .await
        .expect("the turn must end")
}

fn only_result(events: &[SessionEvent]) -> ToolCallResult {
    let results = tool_results(events);
    assert_eq!(results.len(), 1, "{results:?}");
    results[0].clone()
}

/// The body of the last chat request.
fn last_chat_body(target: &Target) -> Value {
    let sent = requests(target, Endpoint::ChatCompletions);
    serde_json::from_slice(&sent.last().expect("a chat request").body).expect("JSON request body")
}

/// The `tools` of the last chat request.
fn offered_tools(target: &Target) -> Vec<Value> {
    last_chat_body(target)["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The contents of the tool messages of the last chat request.
fn tool_message_contents(target: &Target) -> Vec<String> {
    contents_of_role(&last_chat_body(target), "tool")
}

#[tokio::test]
async fn mcp_tools_are_offered_as_server_dash_tool_with_the_servers_schema() -> Result<(), SdkError>
{
    let target = target().await;
    let session = demo_session(&target).await?;
    turn(&session, "Hello").await;

    let tools = offered_tools(&target);
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    for name in [
        "demo-add",
        "demo-text_upper",
        "demo-env",
        "demo-pid",
        "demo-fail",
        "demo-big",
        "demo-sleep",
        "demo-crash",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let add = tools
        .iter()
        .find(|t| t["function"]["name"] == "demo-add")
        .expect("demo-add");
    assert_eq!(add["type"], "function");
    assert_eq!(add["function"]["description"], "Adds two integers");
    assert_eq!(
        add["function"]["parameters"],
        json!({
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        })
    );
    session.close().await
}

#[tokio::test]
async fn a_tool_list_limits_what_the_model_is_offered() -> Result<(), SdkError> {
    let target = target().await;
    let server = demo_server().tools(["add", "text.upper", "no-such-tool"]);
    let session = octocat_session(&target, approving().mcp_server("demo", server)).await?;
    turn(&session, "Hello").await;
    let mut names: Vec<String> = offered_tools(&target)
        .iter()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, ["demo-add", "demo-text_upper"]);
    session.close().await
}

#[tokio::test]
async fn an_mcp_call_runs_on_the_server_and_its_result_goes_back_to_the_model()
-> Result<(), SdkError> {
    let target = target().await;
    let session = demo_session(&target).await?;

    // The mock fills integers with 42: the server adds them.
    let events = turn(&session, "Use demo-add").await;
    assert_eq!(only_result(&events), ToolCallResult::Success("84".into()));
    assert_eq!(tool_message_contents(&target), ["84"]);
    let answer = crate::common::final_answer(&events).expect("an answer");
    assert!(answer.content.contains("84"), "{}", answer.content);
    assert_eq!(answer.tool_rounds, 1);

    // The server got the environment it was configured with.
    let events = turn(&session, "Use demo-env").await;
    assert_eq!(
        only_result(&events),
        ToolCallResult::Success("hello from the environment".into())
    );
    session.close().await
}

#[tokio::test]
async fn mcp_calls_ask_the_permission_handler_with_kind_mcp_and_a_rejection_is_not_run()
-> Result<(), SdkError> {
    let target = target().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handler = PermissionHandler::from_fn(move |request| {
        log.lock()
            .unwrap()
            .push((request.tool_name.clone(), request.kind.clone()));
        PermissionDecision::reject("no MCP today")
    });
    let session = octocat_session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .mcp_server("demo", demo_server())
            .on_permission_request(handler),
    )
    .await?;

    let events = turn(&session, "Use demo-crash").await;
    assert_eq!(
        only_result(&events),
        ToolCallResult::Rejected("no MCP today".into())
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            "demo-crash".to_owned(),
            PermissionKind::Mcp {
                server_name: "demo".into(),
                tool_name: "crash".into()
            }
        )]
    );
    assert_eq!(seen[0].1.as_str(), "mcp");
    // The rejected call never reached the server: it is still alive and answers.
    let events = turn(&session, "Use demo-add").await;
    assert!(
        matches!(only_result(&events), ToolCallResult::Rejected(_)),
        "{events:?}"
    );
    let approving = demo_session(&target).await?;
    let events = turn(&approving, "Use demo-add").await;
    assert_eq!(only_result(&events), ToolCallResult::Success("84".into()));
    session.close().await?;
    approving.close().await
}

/// Changes `demo-add`'s arguments, denies `demo-pid`, and notes what the post-tool hooks saw.
#[derive(Default)]
struct McpHooks {
    after: Arc<Mutex<Vec<String>>>,
}

#[copilot_sdk::async_trait]
impl SessionHooks for McpHooks {
    async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
        match call.tool_name.as_str() {
            "demo-add" => PreToolUseDecision::ModifyArguments {
                arguments: json!({"a": 1, "b": 2}),
            },
            "demo-pid" => PreToolUseDecision::deny("no process ids"),
            _ => PreToolUseDecision::Allow,
        }
    }

    async fn on_post_tool_use(&self, ran: &PostToolUse) -> PostToolUseDecision {
        self.after
            .lock()
            .unwrap()
            .push(format!("ok {} {}", ran.tool_name, ran.output));
        PostToolUseDecision::Keep
    }

    async fn on_post_tool_use_failure(&self, ran: &PostToolUse) -> PostToolUseDecision {
        self.after
            .lock()
            .unwrap()
            .push(format!("failed {} {}", ran.tool_name, ran.output));
        PostToolUseDecision::Keep
    }
}

#[tokio::test]
async fn pre_tool_use_hooks_modify_and_deny_mcp_calls_and_post_hooks_see_them()
-> Result<(), SdkError> {
    let target = target().await;
    let hooks = McpHooks::default();
    let after = hooks.after.clone();
    let session = octocat_session(
        &target,
        approving().mcp_server("demo", demo_server()).hooks(hooks),
    )
    .await?;

    let events = turn(&session, "Use demo-add and demo-pid").await;
    let results = tool_results(&events);
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(
        results.contains(&ToolCallResult::Success("3".into())),
        "{results:?}"
    );
    assert!(
        results.contains(&ToolCallResult::Denied("no process ids".into())),
        "{results:?}"
    );
    let events = turn(&session, "Use demo-fail").await;
    assert_eq!(
        only_result(&events),
        ToolCallResult::Failure("this tool always fails".into())
    );
    let mut after = after.lock().unwrap().clone();
    after.sort();
    assert_eq!(
        after,
        ["failed demo-fail this tool always fails", "ok demo-add 3"]
    );
    session.close().await
}

#[cfg(unix)]
#[tokio::test]
async fn a_server_that_fails_to_start_is_refused_with_its_stderr_and_exit_status() {
    let target = target().await;
    let server = McpServer::stdio(
        "sh",
        [
            "-c",
            "echo 'loading config' >&2; echo \"fatal: token $MCP_TOKEN refused\" >&2; exit 3",
        ],
        [("MCP_TOKEN", "tok-sekrit-1234")],
    );
    let error = octocat_session(&target, approving().mcp_server("broken", server))
        .await
        .expect_err("refused");
    let shown = format!("{error} {error:?}");
    assert!(matches!(error, SdkError::Mcp { .. }), "{shown}");
    assert!(shown.contains("handshake failed"), "{shown}");
    assert!(shown.contains("exit status: 3"), "{shown}");
    assert!(
        shown.contains("its stderr ends: loading config\nfatal: token [redacted] refused"),
        "{shown}"
    );
    assert!(!shown.contains("tok-sekrit"), "{shown}");
}

#[tokio::test]
async fn a_server_that_dies_during_a_call_gives_failed_results_and_the_turn_ends()
-> Result<(), SdkError> {
    let target = target().await;
    let session = demo_session(&target).await?;

    let events = turn(&session, "Use demo-crash").await;
    let ToolCallResult::Failure(message) = only_result(&events) else {
        panic!("a failed result: {events:?}");
    };
    assert!(message.contains("`demo` is not running"), "{message}");
    // It says why, from the server's stderr, without the value the session gave it in `env`.
    assert!(
        message.contains("its stderr ends: demo: crashing as asked (greeting was [redacted])"),
        "{message}"
    );
    assert!(!message.contains("hello from the environment"), "{message}");
    assert!(crate::common::final_answer(&events).is_some(), "{events:?}");

    // Later calls of the dead server fail at once, and the session goes on.
    let events = turn(&session, "Use demo-add").await;
    assert!(
        matches!(only_result(&events), ToolCallResult::Failure(ref m) if m.contains("not running")),
        "{events:?}"
    );
    session.close().await
}

#[tokio::test]
async fn a_call_past_the_servers_deadline_is_a_timeout_result_and_the_server_stays_usable()
-> Result<(), SdkError> {
    let target = target().await;
    let server = demo_server().timeout(Duration::from_millis(300));
    let session = octocat_session(&target, approving().mcp_server("demo", server)).await?;

    // `sleep` is asked for 30 s (the mock takes the schema's minimum).
    let events = turn(&session, "Use demo-sleep").await;
    let ToolCallResult::Timeout(message) = only_result(&events) else {
        panic!("a timeout result: {events:?}");
    };
    assert!(message.contains("did not answer within 300ms"), "{message}");
    assert!(
        tool_message_contents(&target)[0].starts_with("Error: the tool timed out"),
        "{:?}",
        tool_message_contents(&target)
    );
    let events = turn(&session, "Use demo-add").await;
    assert_eq!(only_result(&events), ToolCallResult::Success("84".into()));
    session.close().await
}

#[tokio::test]
async fn the_session_tool_timeout_applies_to_mcp_calls_too() -> Result<(), SdkError> {
    let (_target, session) = mock_session(
        approving()
            .mcp_server("demo", demo_server())
            .tool_timeout(Duration::from_millis(300)),
    )
    .await?;
    let events = turn(&session, "Use demo-sleep").await;
    assert!(
        matches!(only_result(&events), ToolCallResult::Timeout(_)),
        "{events:?}"
    );
    session.close().await
}

#[tokio::test]
async fn a_huge_mcp_result_is_cut_before_it_reaches_the_model() -> Result<(), SdkError> {
    let target = target().await;
    let session = demo_session(&target).await?;
    let events = turn(&session, "Use demo-big").await;
    let ToolCallResult::Success(text) = only_result(&events) else {
        panic!("a result: {events:?}");
    };
    assert!(text.len() < MAX_MCP_RESULT_BYTES + 200, "{}", text.len());
    assert!(
        text.ends_with("only the first 262144 are shown]"),
        "{}",
        &text[text.len() - 80..]
    );
    session.close().await
}

#[tokio::test]
async fn a_resumed_session_connects_its_mcp_servers_again_and_the_old_results_stay_in_the_history()
-> Result<(), SdkError> {
    let target = target().await;
    let store = Arc::new(copilot_sdk::MemorySessionStore::new());
    let client = crate::common::octocat_client(&target, Some(store.clone()))?;
    let config = || {
        approving()
            .session_id("mcp-trip")
            .mcp_server("demo", demo_server())
    };
    let session = client.create_session(config()).await?;
    let first_pid = server_pid(&session, "demo").await;
    session.close().await?;
    drop(session);
    assert!(!process_exists(first_pid));

    let resumed = client.resume_session("mcp-trip", config()).await?;
    let events = turn(&resumed, "Use demo-add").await;
    assert_eq!(only_result(&events), ToolCallResult::Success("84".into()));
    // The request carries the first session's tool round too, answered by the first server process.
    let contents = tool_message_contents(&target);
    assert_eq!(contents, [first_pid.to_string(), "84".to_owned()]);
    resumed.close().await
}

/// The server's process id, asked of the server itself.
async fn server_pid(session: &Session, server: &str) -> u32 {
    let events = turn(session, &format!("Use {server}-pid")).await;
    match only_result(&events) {
        ToolCallResult::Success(pid) => pid.parse().expect("a process id"),
        other => panic!("a pid: {other:?}"),
    }
}

/// Whether process `pid` exists (a zombie counts: it has not been reaped).
fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn closing_the_session_kills_and_reaps_the_server_process() -> Result<(), SdkError> {
    let target = target().await;
    let session = demo_session(&target).await?;
    let pid = server_pid(&session, "demo").await;
    assert!(process_exists(pid));
    session.close().await?;
    assert!(
        !process_exists(pid),
        "process {pid} outlived Session::close"
    );
    Ok(())
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn dropping_the_session_kills_the_server_process() -> Result<(), SdkError> {
    let target = target().await;
    let session = demo_session(&target).await?;
    let pid = server_pid(&session, "demo").await;
    drop(session);
    // The runtime reaps the killed child in the background: wait for it, a bounded number of times.
    for _ in 0..200 {
        if !process_exists(pid) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} outlived its session");
}

#[tokio::test]
async fn two_servers_get_their_own_tools_and_a_name_used_twice_is_refused() -> Result<(), SdkError>
{
    let (target, session) = mock_session(
        approving()
            .mcp_server("one", demo_server())
            .mcp_server("two", demo_server()),
    )
    .await?;
    let first = server_pid(&session, "one").await;
    let second = server_pid(&session, "two").await;
    assert_ne!(first, second, "each server answers its own tools");
    session.close().await?;

    let error = octocat_session(
        &target,
        approving()
            .mcp_server("twin", demo_server())
            .mcp_server("twin", demo_server()),
    )
    .await
    .expect_err("one name, two servers");
    assert!(
        matches!(&error, SdkError::Mcp { server, .. } if server == "twin"),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_that_cannot_start_fails_session_creation() {
    let target = target().await;
    let missing = McpServer::stdio(
        "/nonexistent/mcp-server",
        Vec::<String>::new(),
        [("K", "V")],
    );
    let error = octocat_session(&target, approving().mcp_server("gone", missing))
        .await
        .expect_err("no such program");
    assert!(
        matches!(&error, SdkError::Mcp { server, message } if server == "gone" && message.contains("cannot start")),
        "{error:?}"
    );
}

/// The demo server over streamable HTTP on loopback, noting the `Authorization` header of every request.
async fn http_demo_server()
-> std::io::Result<(String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>)> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let service = StreamableHttpService::new(
        || Ok(crate::examples::mcp_tools::server::Demo),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let log = log.clone();
                async move {
                    let auth = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("(none)")
                        .to_owned();
                    log.lock().unwrap().push(auth);
                    next.run(request).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, seen, server))
}

#[tokio::test]
async fn an_http_mcp_server_on_loopback_is_called_with_its_headers() -> Result<(), SdkError> {
    let target = target().await;
    let (url, seen, server) = http_demo_server().await.expect("a loopback listener");
    let remote = McpServer::http(url, [("Authorization", "Bearer mcp-secret")]);
    let session = octocat_session(&target, approving().mcp_server("remote", remote)).await?;

    let events = turn(&session, "Use remote-add").await;
    assert_eq!(only_result(&events), ToolCallResult::Success("84".into()));
    let names: Vec<String> = offered_tools(&target)
        .iter()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"remote-text_upper".to_owned()), "{names:?}");
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|auth| auth == "Bearer mcp-secret"),
        "{seen:?}"
    );
    session.close().await?;
    server.abort();
    Ok(())
}

#[tokio::test]
async fn an_http_mcp_server_redirect_is_not_followed_so_its_headers_go_nowhere_else() {
    let target = target().await;
    let (elsewhere, seen, server) = http_demo_server().await.expect("a loopback listener");
    let redirect = axum::Router::new().fallback(move || {
        let to = elsewhere.clone();
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [("location", to)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
    let redirector = tokio::spawn(async move {
        let _ = axum::serve(listener, redirect).await;
    });

    let remote = McpServer::http(url, [("Authorization", "Bearer mcp-secret")]);
    let error = octocat_session(&target, approving().mcp_server("remote", remote))
        .await
        .expect_err("a redirect is not an MCP server");
    assert!(matches!(error, SdkError::Mcp { .. }), "{error:?}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "the headers followed the redirect"
    );
    redirector.abort();
    server.abort();
}

#[tokio::test]
async fn an_http_mcp_server_must_be_https_or_loopback_and_its_secrets_stay_out_of_errors() {
    let target = target().await;
    for (url, why) in [
        ("http://mcp.example.com/mcp", "loopback"),
        ("https://user:pw@mcp.example.com/mcp", "userinfo"),
        ("ftp://mcp.example.com/mcp", "https"),
    ] {
        let server = McpServer::http(url, [("Authorization", "Bearer sekrit-token")]);
        let error = octocat_session(&target, approving().mcp_server("remote", server))
            .await
            .expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(matches!(error, SdkError::Mcp { .. }), "{shown}");
        assert!(shown.contains(why), "{url}: {shown}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(!shown.contains(":pw@"), "{shown}");
    }
}

/// The reference MCP server `@modelcontextprotocol/server-everything` from npm, pinned.
const EVERYTHING: &str = "@modelcontextprotocol/server-everything@2026.8.31";

/// Skips a test that cannot run here (loudly), or fails it under `CI=true`.
fn skip_or_fail(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "under CI this test must run: {why}"
    );
    eprintln!("SKIPPED: {why}");
}

/// `node` and the entry point of the reference server, installed with npm into the target directory (once;
/// later runs reuse it), or why it cannot be.
async fn everything_server() -> Result<McpServer, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-server-everything");
    let entry = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !entry.exists() {
        let install = tokio::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--prefix",
            ])
            .arg(&dir)
            .arg(EVERYTHING)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(300), install)
            .await
            .map_err(|_| format!("`npm install {EVERYTHING}` did not finish in 5 minutes"))?
            .map_err(|e| format!("npm is not available: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`npm install {EVERYTHING}` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(McpServer::stdio(
        "node",
        [entry.to_string_lossy().into_owned(), "stdio".to_owned()],
        Vec::<(String, String)>::new(),
    ))
}

#[tokio::test]
async fn the_reference_everything_server_from_npm_works_through_the_tool_loop()
-> Result<(), SdkError> {
    let server = match everything_server().await {
        Ok(server) => server,
        Err(why) => {
            skip_or_fail(&why);
            return Ok(());
        }
    };
    let (_target, session) = mock_session(approving().mcp_server("everything", server)).await?;

    let events = turn(&session, "Use everything-echo").await;
    assert_eq!(
        only_result(&events),
        ToolCallResult::Success("Echo: mock-message".into())
    );
    // A result of resource links (not text) is described for the model.
    let events = turn(&session, "Use everything-get-resource-links").await;
    let ToolCallResult::Success(text) = only_result(&events) else {
        panic!("a result: {events:?}");
    };
    assert!(text.contains("[resource link: "), "{text}");
    session.close().await
}
