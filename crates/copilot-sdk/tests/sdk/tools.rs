//! The tool loop: parallel calls, permissions, failures, the round cap, X-Initiator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use copilot_mock::{Endpoint, MockConfig, ReplayTranscript};
use copilot_sdk::api::FinishReason;
use copilot_sdk::{
    PermissionDecision, PermissionHandler, Role, SdkError, SessionConfig, SessionEvent, Tool,
    ToolCallResult, ToolError, UnknownToolPolicy,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{
    answering_tool, counting_tool, final_answer, mock_session, octocat_session as session,
    requests, target, tool_results,
};

fn city_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

/// A tool that waits at `barrier` before answering: two such calls finish only if they run concurrently.
fn barrier_tool(name: &str, barrier: Arc<tokio::sync::Barrier>, runs: Arc<AtomicUsize>) -> Tool {
    let label = name.to_owned();
    Tool::new(
        name,
        format!("{name} for a city"),
        city_schema(),
        move |args: Value| {
            let barrier = barrier.clone();
            let runs = runs.clone();
            let label = label.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                barrier.wait().await;
                Ok(json!({"tool": label, "city": args["city"]}))
            }
        },
    )
}

#[tokio::test]
async fn two_parallel_tool_calls_from_claude_round_trip() -> Result<(), SdkError> {
    let target = target().await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let runs = Arc::new(AtomicUsize::new(0));
    let session = session(
        &target,
        SessionConfig::new()
            .model("claude-sonnet-4.5")
            .tool(barrier_tool("get_weather", barrier.clone(), runs.clone()))
            .tool(barrier_tool("get_time", barrier, runs.clone()))
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;

    // If the calls ran one after the other, the first would wait at the barrier forever.
    let events: Vec<SessionEvent> = tokio::time::timeout(
        Duration::from_secs(60),
        session
            .send("Use get_weather and get_time for Lisbon")
            .collect(),
    )
    .await
    .expect("the two tool calls must run concurrently");

    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let requested: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolRequested { tool_name, .. } => Some(tool_name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(requested, ["get_weather", "get_time"]);
    let mut kinds: Vec<&str> = events.iter().map(SessionEvent::kind).collect();
    kinds.dedup();
    let tool_kinds: Vec<&str> = kinds
        .into_iter()
        .filter(|k| k.starts_with("tool."))
        .collect();
    assert_eq!(
        tool_kinds,
        ["tool.execution_start", "tool.execution_complete"]
    );
    let results = tool_results(&events);
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, ToolCallResult::Success(_)))
    );
    let answer = final_answer(&events).expect("final answer");
    assert_eq!(answer.tool_rounds, 1);
    assert!(
        answer.content.contains("The tool results were"),
        "{}",
        answer.content
    );
    assert!(answer.content.contains("get_time"), "{}", answer.content);

    // Two requests to Claude's native `/v1/messages`: the user's (X-Initiator: user), then the tool results
    // (agent), with distinct call ids; both results in one user message, in the calls' order.
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].header("x-initiator"), Some("user"));
    assert_eq!(sent[1].header("x-initiator"), Some("agent"));
    let body = sent[1].body_json().expect("JSON body");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3, "user, assistant, tool results");
    let calls: Vec<&Value> = messages[1]["content"]
        .as_array()
        .expect("assistant blocks")
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], calls[0]["id"]);
    assert_eq!(messages[2]["content"][1]["tool_use_id"], calls[1]["id"]);

    let history = session.history();
    let roles: Vec<Role> = history.iter().map(|m| m.role.clone()).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Tool,
            Role::Assistant
        ]
    );
    Ok(())
}

#[tokio::test]
async fn rejected_tool_calls_do_not_run_and_the_model_is_told() -> Result<(), SdkError> {
    let target = target().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let tool = counting_tool(&runs, "get_weather", "Weather", city_schema(), "sunny");
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(tool)
            .on_permission_request(PermissionHandler::reject_all("the user said no")),
    )
    .await?;
    let events: Vec<SessionEvent> = session.send("Use get_weather for Oslo").collect().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert!(events.iter().any(|e| matches!(
        e,
        SessionEvent::ToolResult { result: ToolCallResult::Rejected(reason), .. } if reason == "the user said no"
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::AssistantMessage(_)))
    );
    let history = session.history();
    assert!(
        history[2]
            .text()
            .contains("permission to run this tool was denied: the user said no")
    );
    Ok(())
}

#[tokio::test]
async fn abort_decision_ends_the_turn_with_permission_denied() -> Result<(), SdkError> {
    let target = target().await;
    let tool = answering_tool("get_weather", "Weather", city_schema(), "sunny");
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(tool)
            .on_permission_request(PermissionHandler::from_fn(|request| {
                PermissionDecision::abort(format!("{} is not allowed", request.tool_name))
            })),
    )
    .await?;
    let error = session
        .send_and_wait("Use get_weather for Oslo")
        .await
        .expect_err("aborted by the handler");
    assert!(
        matches!(&error, SdkError::PermissionDenied { tool, .. } if tool == "get_weather"),
        "{error:?}"
    );
    // The dangling tool request is not recorded.
    assert_eq!(session.history().len(), 1);
    Ok(())
}

#[tokio::test]
async fn approve_for_session_asks_once_and_handler_errors_go_to_the_model() -> Result<(), SdkError>
{
    let target = target().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let asked_in_handler = asked.clone();
    let failing = Tool::new(
        "get_weather",
        "Weather",
        city_schema(),
        |_args: Value| async { Err::<String, _>(ToolError::new("the weather service is down")) },
    );
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(failing)
            .on_permission_request(PermissionHandler::from_fn(move |_| {
                asked_in_handler.fetch_add(1, Ordering::SeqCst);
                PermissionDecision::ApproveForSession
            })),
    )
    .await?;
    let first = session.send_and_wait("Use get_weather for Oslo").await?;
    assert!(
        first.content.contains("the weather service is down"),
        "{}",
        first.content
    );
    session.send_and_wait("Use get_weather for Rome").await?;
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn the_tool_loop_is_capped() -> Result<(), SdkError> {
    // A replayed capture that always asks for `copilot_searchCodebase`: a model that never stops.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sse_chat_gpt4o_single_tool_call.sse");
    let replay = ReplayTranscript::from_file(fixture)
        .expect("fixture")
        .blank_line_separated();
    let target = crate::common::target_with(MockConfig::new().replay(replay)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let tool = counting_tool(
        &calls,
        "copilot_searchCodebase",
        "Search",
        json!({"type": "object", "properties": {"query": {"type": "string"}}}),
        "nothing found",
    );
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4o")
            .tool(tool)
            .max_tool_rounds(3)
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;
    let error = session.send_and_wait("search").await.expect_err("capped");
    assert!(
        matches!(error, SdkError::ToolLoopExceeded { max_rounds: 3 }),
        "{error:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 4);
    // Three complete rounds are kept (user + 3 × (assistant + tool)); the fourth request is not.
    assert_eq!(session.history().len(), 7);
    Ok(())
}

#[tokio::test]
async fn a_panicking_or_unknown_tool_never_crashes_the_session() -> Result<(), SdkError> {
    let target = target().await;
    let panicking = Tool::new(
        "get_weather",
        "Weather",
        city_schema(),
        |_args: Value| async {
            if true {
                panic!("bug in the tool");
            }
            Ok("unreachable")
        },
    );
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(panicking)
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;
    let answer = session.send_and_wait("Use get_weather for Oslo").await?;
    assert!(answer.content.contains("panicked"), "{}", answer.content);
    Ok(())
}

/// The mock's `claude-tool-caller` (it calls `read_file` and `run_in_terminal`, tools the session does not
/// have), with those calls handed back to the caller.
fn return_to_caller() -> SessionConfig {
    SessionConfig::new()
        .model("claude-tool-caller")
        .unknown_tool_policy(UnknownToolPolicy::ReturnToCaller)
}

/// The ids of the assistant's tool calls and of the tool results, in a request body's order.
fn calls_and_results(body: &Value) -> (Vec<String>, Vec<String>) {
    let messages = body["messages"].as_array().expect("messages");
    let calls = messages
        .iter()
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    let results = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["tool_call_id"].as_str().expect("tool_call_id").to_owned())
        .collect();
    (calls, results)
}

#[tokio::test]
async fn return_to_caller_ends_the_turn_after_one_request_with_the_calls() -> Result<(), SdkError> {
    let (target, session) = mock_session(return_to_caller()).await?;
    let events: Vec<SessionEvent> = session.send("What is in this repository?").collect().await;
    assert!(
        !events.iter().any(|e| matches!(
            e,
            SessionEvent::ToolRequested { .. } | SessionEvent::ToolResult { .. }
        )),
        "nothing runs: {events:?}"
    );
    let answer = final_answer(&events).expect("an answer");
    assert_eq!(answer.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(answer.tool_rounds, 0);
    let calls: Vec<(&str, Value)> = answer
        .tool_calls
        .iter()
        .map(|c| (c.name.as_str(), c.arguments_json().expect("JSON arguments")))
        .collect();
    assert_eq!(
        calls,
        [
            ("read_file", json!({"path": "README.md"})),
            ("run_in_terminal", json!({"command": "cargo test"}))
        ]
    );
    assert_ne!(answer.tool_calls[0].id, answer.tool_calls[1].id);
    assert_eq!(session.pending_tool_calls(), answer.tool_calls);

    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 1, "one request for the user's turn");
    assert_eq!(chats[0].header("x-initiator"), Some("user"));

    // The caller answers one call; the other is recorded as not answered. One request, as the agent.
    let first = answer.tool_calls[0].id.clone();
    let next = session
        .send_tool_results_and_wait([(
            first.clone(),
            ToolCallResult::Success("# copilot-rs".into()),
        )])
        .await?;
    assert_eq!(next.tool_calls.len(), 2, "this model always calls tools");
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2);
    assert_eq!(chats[1].header("x-initiator"), Some("agent"));
    let body = chats[1].body_json().expect("JSON body");
    let (calls, results) = calls_and_results(&body);
    assert_eq!(calls, results, "every call has a result, in order");
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages[2]["content"], "# copilot-rs");
    assert!(
        messages[3]["content"]
            .as_str()
            .is_some_and(|c| c.contains("no result was returned")),
        "{}",
        messages[3]
    );

    // A new prompt instead of results: the pending calls are closed in that same (user) request.
    session.send_and_wait("Never mind.").await?;
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 3);
    assert_eq!(chats[2].header("x-initiator"), Some("user"));
    let (calls, results) = calls_and_results(&chats[2].body_json().expect("JSON body"));
    assert_eq!(calls.len(), 4);
    assert_eq!(calls, results);
    Ok(())
}

#[tokio::test]
async fn tool_results_for_calls_that_are_not_pending_are_refused() -> Result<(), SdkError> {
    let (target, session) = mock_session(return_to_caller()).await?;
    let error = session
        .send_tool_results_and_wait([("call_1".to_owned(), ToolCallResult::Success("x".into()))])
        .await
        .expect_err("nothing is pending");
    assert!(matches!(error, SdkError::Config { .. }), "{error:?}");
    session.send_and_wait("Hi").await?;
    let error = session
        .send_tool_results_and_wait([("call_1".to_owned(), ToolCallResult::Success("x".into()))])
        .await
        .expect_err("not one of the pending ids");
    assert!(matches!(error, SdkError::Config { .. }), "{error:?}");
    assert_eq!(session.pending_tool_calls().len(), 2, "still pending");
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    Ok(())
}

#[tokio::test]
async fn unknown_tools_get_an_error_result_by_default_and_the_cap_holds() -> Result<(), SdkError> {
    let (target, session) = mock_session(
        SessionConfig::new()
            .model("claude-tool-caller")
            .max_tool_rounds(2),
    )
    .await?;
    let error = session.send_and_wait("Hi").await.expect_err("capped");
    assert!(
        matches!(error, SdkError::ToolLoopExceeded { max_rounds: 2 }),
        "{error:?}"
    );
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 3);
    assert_eq!(chats[0].header("x-initiator"), Some("user"));
    assert_eq!(chats[1].header("x-initiator"), Some("agent"));
    let body = chats[1].body_json().expect("JSON body");
    let messages = body["messages"].as_array().expect("messages");
    assert!(
        messages[2]["content"]
            .as_str()
            .is_some_and(|c| c.contains("there is no tool named `read_file`")),
        "{}",
        messages[2]
    );
    assert!(session.pending_tool_calls().is_empty());
    Ok(())
}

#[tokio::test]
async fn return_to_caller_still_runs_known_tools_under_the_round_cap() -> Result<(), SdkError> {
    let target = target().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let tool = |name: &str| counting_tool(&runs, name, "A tool", city_schema(), "done");
    let session = session(
        &target,
        return_to_caller()
            .tools([tool("get_weather"), tool("get_time")])
            .max_tool_rounds(2)
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;
    let error = session.send_and_wait("Hi").await.expect_err("capped");
    assert!(
        matches!(error, SdkError::ToolLoopExceeded { max_rounds: 2 }),
        "{error:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 4, "two rounds of two calls");
    assert!(session.pending_tool_calls().is_empty());
    Ok(())
}

/// The mock's prices in nano-AIU per uncached input, cached input and output token (copilot-mock's
/// `token_prices`): the oracle for the cost the client adds up.
fn prices(model: &str) -> (u64, u64, u64) {
    if model.starts_with("claude") {
        (3_000, 300, 15_000)
    } else {
        (1_000, 250, 4_000)
    }
}

#[tokio::test]
async fn session_usage_sums_tokens_and_cost_over_every_round_and_turn() -> Result<(), SdkError> {
    for (model, streaming) in [
        ("claude-sonnet-4.5", true),
        ("gpt-4.1", true),
        ("gpt-4.1", false),
    ] {
        let target = target().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let session = session(
            &target,
            SessionConfig::new()
                .model(model)
                .streaming(streaming)
                .tool(barrier_tool(
                    "get_weather",
                    Arc::new(tokio::sync::Barrier::new(1)),
                    runs.clone(),
                ))
                .on_permission_request(PermissionHandler::approve_all()),
        )
        .await?;
        let (input, cached_input, output) = prices(model);
        let mut expected_requests = 0;
        let mut expected_nano = 0u64;
        let mut expected_prompt = 0u64;
        for prompt in ["Use get_weather for Lisbon", "Thanks, and in one word?"] {
            let events: Vec<SessionEvent> = session.send(prompt).collect().await;
            // The oracle: each round's reported tokens at the published prices.
            let mut turn_nano = 0u64;
            for usage in events.iter().filter_map(|e| match e {
                SessionEvent::Usage(usage) => Some(usage),
                _ => None,
            }) {
                let cached = usage.cached_tokens().unwrap_or(0);
                turn_nano += (usage.prompt_tokens - cached) * input
                    + cached * cached_input
                    + usage.completion_tokens * output;
                expected_prompt += usage.prompt_tokens;
                expected_requests += 1;
            }
            let answer =
                final_answer(&events).unwrap_or_else(|| panic!("{model}: an answer in {events:?}"));
            assert!(turn_nano > 0, "{model}: the mock reports usage");
            assert_eq!(
                answer.cost.as_ref().map(|c| c.total_nano_aiu),
                Some(turn_nano),
                "{model} (streaming {streaming}): the turn's cost is every round's"
            );
            expected_nano += turn_nano;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{model}: one tool round");
        assert_eq!(
            expected_requests, 3,
            "{model}: tool round + answer, then one more turn"
        );
        let usage = session.usage();
        assert_eq!(usage.requests, 3, "{model}");
        assert_eq!(usage.prompt_tokens, expected_prompt, "{model}");
        assert_eq!(usage.cost.total_nano_aiu, expected_nano, "{model}");
        assert_eq!(usage.credits(), expected_nano as f64 / 1e9, "{model}");
        assert_eq!(
            requests(&target, Endpoint::ChatCompletions).len()
                + requests(&target, Endpoint::Messages).len(),
            3,
            "{model}: one request per round, as counted"
        );
    }
    Ok(())
}
