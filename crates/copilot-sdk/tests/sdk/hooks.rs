//! Session hooks against the mock: every decision of every hook, and what each costs on the wire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use copilot_mock::{Endpoint, Fault, FaultRule};
use copilot_sdk::http::retry::RetryPolicy;
use copilot_sdk::{
    ErrorDecision, ErrorOccurred, ErrorStage, EventEnvelope, MAX_HOOK_RETRIES, MemorySessionStore,
    PermissionHandler, PostToolUse, PostToolUseDecision, PreToolUse, PreToolUseDecision, SdkError,
    Session, SessionConfig, SessionEnd, SessionEndReason, SessionEvent, SessionHooks, SessionStart,
    SessionStartSource, Tool, ToolCallResult, ToolError, UserPromptDecision, UserPromptSubmitted,
    api::ApiError,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{
    Target, contents_of_role, final_answer, mock, octocat_builder, octocat_client, requests,
    target, tool_results,
};

type Decide<I, O> = Box<dyn Fn(&I) -> O + Send + Sync>;
type DecideError = Box<dyn Fn(&ErrorOccurred<'_>) -> ErrorDecision + Send + Sync>;

/// Hooks whose decisions are closures, recording every call as `hook:detail`.
#[derive(Default)]
struct Scripted {
    log: Arc<Mutex<Vec<String>>>,
    prompt: Option<Decide<UserPromptSubmitted, UserPromptDecision>>,
    pre: Option<Decide<PreToolUse, PreToolUseDecision>>,
    post: Option<Decide<PostToolUse, PostToolUseDecision>>,
    failure: Option<Decide<PostToolUse, PostToolUseDecision>>,
    error: Option<DecideError>,
}

/// What the closure in `slot` decides for `input`, if there is one.
fn decide<I, O>(slot: &Option<Decide<I, O>>, input: &I) -> Option<O> {
    slot.as_ref().map(|decide| decide(input))
}

impl Scripted {
    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

#[copilot_sdk::async_trait]
impl SessionHooks for Scripted {
    async fn on_user_prompt_submitted(&self, prompt: &UserPromptSubmitted) -> UserPromptDecision {
        self.note(format!("prompt:{}", prompt.prompt));
        decide(&self.prompt, prompt).unwrap_or(UserPromptDecision::Keep)
    }

    async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
        self.note(format!("pre:{}:{}", call.tool_name, call.arguments));
        decide(&self.pre, call).unwrap_or(PreToolUseDecision::Allow)
    }

    async fn on_post_tool_use(&self, call: &PostToolUse) -> PostToolUseDecision {
        self.note(format!("post:{}:{}", call.tool_name, call.output));
        decide(&self.post, call).unwrap_or(PostToolUseDecision::Keep)
    }

    async fn on_post_tool_use_failure(&self, call: &PostToolUse) -> PostToolUseDecision {
        self.note(format!("failure:{}:{}", call.tool_name, call.output));
        decide(&self.failure, call).unwrap_or(PostToolUseDecision::Keep)
    }

    async fn on_error(&self, error: &ErrorOccurred<'_>) -> ErrorDecision {
        self.note(format!(
            "error:{}:{}:{}",
            error.stage.as_str(),
            error.attempt,
            error.request_may_have_been_processed
        ));
        self.error
            .as_ref()
            .map_or(error.stage.default_decision(), |decide| decide(error))
    }

    async fn on_session_start(&self, start: &SessionStart) {
        let source = match start.source {
            SessionStartSource::New => "new",
            SessionStartSource::Resumed => "resumed",
            _ => "other",
        };
        self.note(format!("start:{source}:{}", start.history_len));
    }

    async fn on_session_end(&self, end: &SessionEnd) {
        assert_eq!(end.reason, SessionEndReason::Closed);
        self.note(format!("end:{}", end.turn_count));
    }
}

fn log_of(hooks: &Scripted) -> Arc<Mutex<Vec<String>>> {
    hooks.log.clone()
}

fn entries(log: &Mutex<Vec<String>>) -> Vec<String> {
    log.lock().unwrap().clone()
}

fn assert_logged(log: &Mutex<Vec<String>>, entry: &str) {
    let seen = entries(log);
    assert!(seen.iter().any(|e| e == entry), "no `{entry}` in {seen:?}");
}

/// The first persisted event of `kind`.
fn recorded(session: &Session, kind: &str) -> Option<EventEnvelope> {
    session.events().into_iter().find(|e| e.kind == kind)
}

/// `get_weather`, counting its runs and keeping the arguments it got.
fn weather_tool(seen: Arc<Mutex<Vec<Value>>>) -> Tool {
    Tool::new(
        "get_weather",
        "Weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        move |args: Value| {
            seen.lock().unwrap().push(args.clone());
            async move { Ok(json!({"city": args["city"], "sky": "sunny"})) }
        },
    )
}

async fn session_with(target: &Target, config: SessionConfig) -> Result<Session, SdkError> {
    octocat_builder(target)
        .retry_policy(RetryPolicy::none())
        .build()?
        .create_session(config)
        .await
}

/// Hooks whose `on_pre_tool_use` is `decide`.
fn pre_hook(
    decide: impl Fn(&PreToolUse) -> PreToolUseDecision + Send + Sync + 'static,
) -> Scripted {
    Scripted {
        pre: Some(Box::new(decide)),
        ..Scripted::default()
    }
}

type Seen = Arc<Mutex<Vec<Value>>>;

/// A `gpt-4.1` session with `get_weather` and `hooks`, whose permission handler approves every call; returns
/// the arguments the tool got and those the handler was asked about.
async fn weather_session(
    target: &Target,
    hooks: Scripted,
) -> Result<(Session, Seen, Seen), SdkError> {
    let seen = Seen::default();
    let asked = Seen::default();
    let asked_in_handler = asked.clone();
    let session = session_with(
        target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(weather_tool(seen.clone()))
            .on_permission_request(PermissionHandler::from_fn(move |request| {
                asked_in_handler
                    .lock()
                    .unwrap()
                    .push(request.arguments.clone());
                copilot_sdk::PermissionDecision::ApproveOnce
            }))
            .hooks(hooks),
    )
    .await?;
    Ok((session, seen, asked))
}

/// A `gpt-4.1` session with `hooks` whose next chat request gets `fault`.
async fn faulted_session(
    hooks: Scripted,
    fault: Fault,
) -> Result<(Target, Session, Arc<Mutex<Vec<String>>>), SdkError> {
    let target = target().await;
    let log = log_of(&hooks);
    let session = session_with(&target, SessionConfig::new().model("gpt-4.1").hooks(hooks)).await?;
    mock(&target).set_fault(FaultRule::new(Endpoint::ChatCompletions, fault).times(1));
    Ok((target, session, log))
}

/// Hooks whose `on_error` always returns `decision`.
fn deciding(decision: ErrorDecision) -> Scripted {
    Scripted {
        error: Some(Box::new(move |_| decision)),
        ..Scripted::default()
    }
}

/// The tool messages of a chat request body.
fn tool_messages(body: &Value) -> Vec<String> {
    contents_of_role(body, "tool")
}

#[tokio::test]
async fn a_modified_prompt_is_one_user_request_with_the_new_text() -> Result<(), SdkError> {
    let target = target().await;
    let hooks = Scripted {
        prompt: Some(Box::new(|p| {
            UserPromptDecision::modify(format!("{} in French", p.prompt))
        })),
        ..Scripted::default()
    };
    let log = log_of(&hooks);
    let session = session_with(&target, SessionConfig::new().model("gpt-4.1").hooks(hooks)).await?;
    let answer = session.send_and_wait("Say hello").await?;
    assert!(
        answer.content.contains("Say hello in French"),
        "{}",
        answer.content
    );

    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 1, "a modified prompt is still one request");
    assert_eq!(chats[0].header("x-initiator"), Some("user"));
    let body = chats[0].body_json().expect("JSON body");
    assert_eq!(body["messages"][0]["content"], "Say hello in French");
    assert_eq!(session.history()[0].text(), "Say hello in French");
    let recorded = recorded(&session, "user.message").expect("user.message");
    assert_eq!(recorded.data["content"], "Say hello in French");
    assert_eq!(
        entries(&log),
        ["start:new:0", "prompt:Say hello"],
        "the hook saw the caller's prompt"
    );
    Ok(())
}

#[tokio::test]
async fn a_denied_call_does_not_run_and_the_model_reads_the_reason() -> Result<(), SdkError> {
    let target = target().await;
    let hooks = pre_hook(|_| PreToolUseDecision::deny("weather lookups are off today"));
    let log = log_of(&hooks);
    let (session, seen, asked) = weather_session(&target, hooks).await?;
    let events: Vec<SessionEvent> = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        session.send("Use get_weather for Oslo").collect(),
    )
    .await
    .expect("a denied call never hangs the turn");
    assert!(seen.lock().unwrap().is_empty(), "the tool did not run");
    assert!(
        asked.lock().unwrap().is_empty(),
        "the permission handler was not asked"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SessionEvent::ToolResult { result: ToolCallResult::Denied(reason), .. }
            if reason == "weather lookups are off today"
    )));
    let answer = final_answer(&events).expect("the turn completes");
    assert!(
        answer
            .content
            .contains("denied: weather lookups are off today"),
        "{}",
        answer.content
    );

    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2);
    assert_eq!(chats[0].header("x-initiator"), Some("user"));
    assert_eq!(chats[1].header("x-initiator"), Some("agent"));
    assert_eq!(
        tool_messages(&chats[1].body_json().expect("JSON")),
        ["Error: this tool call was denied: weather lookups are off today"]
    );
    let completed = recorded(&session, "tool.execution_complete").expect("tool.execution_complete");
    assert_eq!(completed.data["resultType"], "denied");
    assert_eq!(completed.data["success"], false);
    assert!(entries(&log).iter().all(|e| !e.starts_with("post")));
    Ok(())
}

#[tokio::test]
async fn modified_arguments_reach_the_permission_handler_and_the_tool() -> Result<(), SdkError> {
    let target = target().await;
    let hooks = pre_hook(|_| PreToolUseDecision::modify_arguments(json!({"city": "Lisbon"})));
    let log = log_of(&hooks);
    let (session, seen, permitted) = weather_session(&target, hooks).await?;
    let answer = session.send_and_wait("Use get_weather for Oslo").await?;
    assert_eq!(*seen.lock().unwrap(), [json!({"city": "Lisbon"})]);
    assert_eq!(*permitted.lock().unwrap(), [json!({"city": "Lisbon"})]);
    assert!(answer.content.contains("Lisbon"), "{}", answer.content);
    // The history keeps the model's own call; the hook saw the model's arguments.
    let chats = requests(&target, Endpoint::ChatCompletions);
    let body = chats[1].body_json().expect("JSON");
    let call_arguments = body["messages"][1]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .expect("arguments")
        .to_owned();
    assert!(!call_arguments.contains("Lisbon"), "{call_arguments}");
    let log = entries(&log);
    assert!(log[2].starts_with("pre:get_weather:"), "{log:?}");
    assert!(!log[2].contains("Lisbon"), "{log:?}");
    assert!(log[3].starts_with("post:get_weather:"), "{log:?}");
    assert!(log[3].contains("Lisbon"), "{log:?}");
    Ok(())
}

#[tokio::test]
async fn context_from_the_pre_and_post_hooks_travels_in_the_tool_result() -> Result<(), SdkError> {
    let target = target().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hooks = Scripted {
        pre: Some(Box::new(|_| {
            PreToolUseDecision::add_context("(pre: data is cached)")
        })),
        post: Some(Box::new(|_| {
            PostToolUseDecision::add_context("(post: in Celsius)")
        })),
        ..Scripted::default()
    };
    let session = session_with(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(weather_tool(seen.clone()))
            .on_permission_request(PermissionHandler::approve_all())
            .hooks(hooks),
    )
    .await?;
    session.send_and_wait("Use get_weather for Oslo").await?;
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2, "context adds no request");
    assert_eq!(chats[1].header("x-initiator"), Some("agent"));
    let body = chats[1].body_json().expect("JSON");
    let tools = tool_messages(&body);
    assert_eq!(tools.len(), 1);
    assert!(
        tools[0].contains("sunny")
            && tools[0].contains("(post: in Celsius)")
            && tools[0].ends_with("(pre: data is cached)"),
        "{tools:?}"
    );
    // No extra user message: the last message is the tool result, so the request stays an agent one.
    let last = body["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned();
    assert_eq!(last.expect("a message")["role"], "tool");
    Ok(())
}

#[tokio::test]
async fn a_post_hook_replaces_results_and_failures_reach_the_failure_hook() -> Result<(), SdkError>
{
    let target = target().await;
    let failing = Tool::new(
        "get_time",
        "Time",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        |_args: Value| async { Err::<String, _>(ToolError::new("the clock is broken")) },
    );
    let panicking = Tool::new(
        "get_date",
        "Date",
        json!({"type": "object", "properties": {}}),
        |_args: Value| async {
            if true {
                panic!("bug in the tool");
            }
            Ok("unreachable")
        },
    );
    let hooks = Scripted {
        post: Some(Box::new(|_| PostToolUseDecision::replace("[redacted]"))),
        failure: Some(Box::new(|call| {
            PostToolUseDecision::replace(format!("{} failed; try later", call.tool_name))
        })),
        ..Scripted::default()
    };
    let log = log_of(&hooks);
    let session = session_with(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(weather_tool(Arc::default()))
            .tool(failing)
            .tool(panicking)
            .on_permission_request(PermissionHandler::approve_all())
            .hooks(hooks),
    )
    .await?;
    let events: Vec<SessionEvent> = session.send("Use get_weather and get_time").collect().await;
    assert_eq!(
        tool_results(&events),
        [
            ToolCallResult::Success("[redacted]".into()),
            ToolCallResult::Failure("get_time failed; try later".into())
        ]
    );
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(
        tool_messages(&chats[1].body_json().expect("JSON")),
        [
            "[redacted]",
            "Error: the tool failed: get_time failed; try later"
        ]
    );
    assert_logged(&log, "failure:get_time:the clock is broken");

    // A panicking tool reaches the failure hook too.
    session.send_and_wait("Use get_date").await?;
    assert_logged(&log, "failure:get_date:the tool handler panicked");
    Ok(())
}

/// `get_time`, failing its first `failures` runs (`usize::MAX`: always); returns it and its run count.
fn flaky_clock(failures: usize) -> (Tool, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let tool = Tool::new(
        "get_time",
        "Time",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        move |_args: Value| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < failures {
                    Err(ToolError::new("the clock is broken"))
                } else {
                    Ok("12:00".to_owned())
                }
            }
        },
    );
    (tool, runs)
}

async fn clock_session(target: &Target, tool: Tool, hooks: Scripted) -> Result<Session, SdkError> {
    session_with(
        target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(tool)
            .on_permission_request(PermissionHandler::approve_all())
            .hooks(hooks),
    )
    .await
}

/// Hooks deciding `decision` for tool failures and aborting on model failures.
fn on_tool_error(decision: ErrorDecision) -> Scripted {
    Scripted {
        error: Some(Box::new(move |error| match error.stage {
            ErrorStage::ToolExecution => {
                assert_eq!(error.tool_name, Some("get_time"));
                decision
            }
            _ => ErrorDecision::Abort,
        })),
        ..Scripted::default()
    }
}

#[tokio::test]
async fn a_failed_tool_reaches_on_error_and_by_default_the_model_reads_the_failure()
-> Result<(), SdkError> {
    let target = target().await;
    let (tool, runs) = flaky_clock(usize::MAX);
    let hooks = Scripted::default();
    let log = log_of(&hooks);
    let session = clock_session(&target, tool, hooks).await?;
    let events: Vec<SessionEvent> = session.send("Use get_time").collect().await;
    assert_eq!(
        tool_results(&events),
        [ToolCallResult::Failure("the clock is broken".into())]
    );
    assert!(final_answer(&events).is_some(), "the turn completes");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_logged(&log, "error:tool_execution:1:true");
    assert_logged(&log, "failure:get_time:the clock is broken");
    let skipped = recorded(&session, "session.error").expect("recorded");
    assert_eq!(skipped.data["errorContext"], "tool_execution");
    assert_eq!(skipped.data["errorHandling"], "skip");
    Ok(())
}

#[tokio::test]
async fn on_error_retry_runs_a_failed_tool_again_without_another_model_request()
-> Result<(), SdkError> {
    let target = target().await;
    let (tool, runs) = flaky_clock(1);
    let session = clock_session(&target, tool, on_tool_error(ErrorDecision::Retry)).await?;
    let events: Vec<SessionEvent> = session.send("Use get_time").collect().await;
    assert_eq!(
        tool_results(&events),
        [ToolCallResult::Success("12:00".into())]
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2, "the prompt and the one tool-result request");
    assert_eq!(
        tool_messages(&chats[1].body_json().expect("JSON")),
        ["12:00"]
    );

    // A tool that always fails runs at most 1 + MAX_HOOK_RETRIES times; then the model reads the failure.
    let target = crate::common::target().await;
    let (tool, runs) = flaky_clock(usize::MAX);
    let session = clock_session(&target, tool, on_tool_error(ErrorDecision::Retry)).await?;
    let events: Vec<SessionEvent> = session.send("Use get_time").collect().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1 + MAX_HOOK_RETRIES as usize);
    assert_eq!(
        tool_results(&events),
        [ToolCallResult::Failure("the clock is broken".into())]
    );
    Ok(())
}

#[tokio::test]
async fn on_error_abort_on_a_failed_tool_ends_the_turn_without_its_results() -> Result<(), SdkError>
{
    let target = target().await;
    let (tool, runs) = flaky_clock(usize::MAX);
    let session = clock_session(&target, tool, on_tool_error(ErrorDecision::Abort)).await?;
    let error = session
        .send_and_wait("Use get_time")
        .await
        .expect_err("aborted");
    assert!(
        matches!(&error, SdkError::ToolFailed { tool_name, message, .. }
            if tool_name == "get_time" && message == "the clock is broken"),
        "{error:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    assert_eq!(
        session.history().len(),
        1,
        "the prompt stays; no call without its result"
    );
    Ok(())
}

#[tokio::test]
async fn on_error_aborts_by_default_without_re_sending() -> Result<(), SdkError> {
    let (target, session, log) =
        faulted_session(Scripted::default(), Fault::server_error(500)).await?;
    let error = session.send_and_wait("Hello").await.expect_err("500");
    assert!(
        matches!(error, SdkError::Api(ApiError::ServerError(_))),
        "{error:?}"
    );
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    assert_logged(&log, "error:model_call:1:true"); // a 500 may have been processed
    Ok(())
}

#[tokio::test]
async fn on_error_retry_re_sends_the_same_request_only_when_chosen() -> Result<(), SdkError> {
    let (target, session, _log) =
        faulted_session(deciding(ErrorDecision::Retry), Fault::server_error(500)).await?;
    let answer = session.send_and_wait("Hello").await?;
    assert!(answer.content.contains("Hello"), "{}", answer.content);
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2, "one failure, one retry");
    assert_eq!(chats[0].body_json(), chats[1].body_json());
    assert!(
        chats
            .iter()
            .all(|c| c.header("x-initiator") == Some("user"))
    );
    let retried = recorded(&session, "session.error").expect("the failure is recorded");
    assert_eq!(retried.data["errorHandling"], "retry");
    assert_eq!(session.history().len(), 2, "one prompt, one answer");

    // A request that always fails is re-sent at most MAX_HOOK_RETRIES times.
    mock(&target).set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::server_error(500),
    ));
    let error = session
        .send_and_wait("Again")
        .await
        .expect_err("always 500");
    assert!(
        matches!(error, SdkError::Api(ApiError::ServerError(_))),
        "{error:?}"
    );
    let total = requests(&target, Endpoint::ChatCompletions).len();
    assert_eq!(total, 2 + 1 + MAX_HOOK_RETRIES as usize);
    Ok(())
}

#[tokio::test]
async fn on_error_knows_when_a_request_was_not_processed() -> Result<(), SdkError> {
    let (_target, session, log) =
        faulted_session(Scripted::default(), Fault::rate_limited(1)).await?;
    let error = session.send_and_wait("Hello").await.expect_err("429");
    assert!(
        matches!(error, SdkError::Api(ApiError::RateLimited { .. })),
        "{error:?}"
    );
    assert_logged(&log, "error:model_call:1:false");
    Ok(())
}

#[tokio::test]
async fn on_error_skip_ends_the_turn_without_an_answer() -> Result<(), SdkError> {
    let (target, session, _log) =
        faulted_session(deciding(ErrorDecision::Skip), Fault::server_error(500)).await?;
    let answer = session.send_and_wait("Hello").await?;
    assert_eq!(answer.content, "");
    assert_eq!(answer.finish_reason, None);
    assert_eq!(
        requests(&target, Endpoint::ChatCompletions).len(),
        1,
        "nothing re-sent"
    );
    assert_eq!(session.history().len(), 1, "the prompt stays");
    let skipped = recorded(&session, "session.error").expect("the failure is recorded");
    assert_eq!(skipped.data["errorHandling"], "skip");
    assert_eq!(skipped.data["errorContext"], "model_call");
    // The session goes on.
    let next = session.send_and_wait("Hello again").await?;
    assert!(next.content.contains("Hello again"), "{}", next.content);
    Ok(())
}

#[tokio::test]
async fn start_and_end_hooks_run_on_create_resume_and_close() -> Result<(), SdkError> {
    let target = target().await;
    let client = octocat_client(&target, Some(Arc::new(MemorySessionStore::new())))?;
    let hooks = Scripted::default();
    let log = log_of(&hooks);
    let session = client
        .create_session(
            SessionConfig::new()
                .session_id("hooked")
                .model("gpt-4.1")
                .hooks(hooks),
        )
        .await?;
    session.send_and_wait("Hello").await?;
    session.close().await?;
    session.close().await?;
    assert!(session.is_closed());
    let error = session.send_and_wait("More").await.expect_err("closed");
    assert!(
        matches!(&error, SdkError::SessionClosed { id } if id == "hooked"),
        "{error:?}"
    );
    assert_eq!(entries(&log), ["start:new:0", "prompt:Hello", "end:1"]);
    assert!(
        session
            .events()
            .iter()
            .any(|e| e.kind == "session.shutdown")
    );
    drop(session);

    let hooks = Scripted::default();
    let resumed_log = log_of(&hooks);
    let resumed = client
        .resume_session("hooked", SessionConfig::new().hooks(hooks))
        .await?;
    assert_eq!(entries(&resumed_log), ["start:resumed:2"]);
    assert!(
        !resumed.is_closed(),
        "closing is not saved: a resumed session runs"
    );
    Ok(())
}
