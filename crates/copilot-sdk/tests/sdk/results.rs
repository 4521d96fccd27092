//! Tool results typed as the official SDK types them: success, failure, rejected, denied, timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use copilot_mock::Endpoint;
use copilot_sdk::{
    PermissionDecision, PermissionHandler, PostToolUse, PostToolUseDecision, PreToolUse,
    PreToolUseDecision, SdkError, SessionConfig, SessionEvent, SessionHooks, Tool, ToolCallResult,
    ToolError,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{octocat_client, requests, target, tool_results};

/// Denies `delete_file`; keeps the failure messages it is shown.
#[derive(Default)]
struct DenyDeletes {
    failures: Arc<Mutex<Vec<String>>>,
}

#[copilot_sdk::async_trait]
impl SessionHooks for DenyDeletes {
    async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
        if call.tool_name == "delete_file" {
            PreToolUseDecision::deny("deleting is not allowed")
        } else {
            PreToolUseDecision::Allow
        }
    }

    async fn on_post_tool_use_failure(&self, call: &PostToolUse) -> PostToolUseDecision {
        self.failures.lock().unwrap().push(call.output.clone());
        PostToolUseDecision::Keep
    }
}

fn tool(
    name: &str,
    run: impl Fn() -> futures_util::future::BoxFuture<'static, Result<String, ToolError>>
    + Send
    + Sync
    + 'static,
) -> Tool {
    Tool::new(
        name,
        name,
        json!({"type": "object", "properties": {}}),
        move |_args: Value| run(),
    )
}

#[tokio::test]
async fn every_kind_of_tool_result_is_typed_in_the_events_and_told_to_the_model()
-> Result<(), SdkError> {
    let target = target().await;
    let hooks = DenyDeletes::default();
    let failures = hooks.failures.clone();
    let session = octocat_client(&target, None)?
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .tool(tool("get_weather", || {
                    Box::pin(async { Ok("sunny".into()) })
                }))
                .tool(tool("get_time", || {
                    Box::pin(async { Err(ToolError::new("no clock")) })
                }))
                .tool(tool("slow_lookup", || Box::pin(std::future::pending())))
                .tool(tool("read_secret", || {
                    Box::pin(async { Ok("hunter2".into()) })
                }))
                .tool(tool("delete_file", || {
                    Box::pin(async { Ok("deleted".into()) })
                }))
                .tool_timeout(Duration::from_millis(100))
                .on_permission_request(PermissionHandler::from_fn(|request| {
                    if request.tool_name == "read_secret" {
                        PermissionDecision::reject("secrets stay secret")
                    } else {
                        PermissionDecision::ApproveOnce
                    }
                }))
                .hooks(hooks),
        )
        .await?;

    let mut results = Vec::new();
    for prompt in [
        "Use get_weather and get_time",
        "Use slow_lookup",
        "Use read_secret",
        "Use delete_file",
    ] {
        let events: Vec<SessionEvent> =
            tokio::time::timeout(Duration::from_secs(30), session.send(prompt).collect())
                .await
                .expect("no result type hangs a turn");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SessionEvent::AssistantMessage(_))),
            "{prompt}: {events:?}"
        );
        results.extend(tool_results(&events));
    }
    assert_eq!(
        results,
        [
            ToolCallResult::Success("sunny".into()),
            ToolCallResult::Failure("no clock".into()),
            ToolCallResult::Timeout("the tool did not finish within 100ms".into()),
            ToolCallResult::Rejected("secrets stay secret".into()),
            ToolCallResult::Denied("deleting is not allowed".into()),
        ]
    );

    // The persisted events carry the official result types; only a success is `success: true`.
    let completed: Vec<(String, bool)> = session
        .events()
        .into_iter()
        .filter(|e| e.kind == "tool.execution_complete")
        .map(|e| {
            (
                e.data["resultType"].as_str().unwrap_or_default().to_owned(),
                e.data["success"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("success", true),
        ("failure", false),
        ("timeout", false),
        ("rejected", false),
        ("denied", false),
    ]
    .map(|(kind, success)| (kind.to_owned(), success));
    assert_eq!(completed, expected);

    // What the model read for each.
    let told: Vec<String> = requests(&target, Endpoint::ChatCompletions)
        .iter()
        .filter_map(|request| request.body_json())
        .filter(|body| {
            body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .is_some_and(|m| m["role"] == "tool")
        })
        .flat_map(|body| {
            let messages = body["messages"].as_array().cloned().unwrap_or_default();
            let user_at = messages
                .iter()
                .rposition(|m| m["role"] == "user")
                .unwrap_or(0);
            messages[user_at..]
                .iter()
                .filter(|m| m["role"] == "tool")
                .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        told,
        [
            "sunny",
            "Error: the tool failed: no clock",
            "Error: the tool timed out: the tool did not finish within 100ms",
            "Error: permission to run this tool was denied: secrets stay secret",
            "Error: this tool call was denied: deleting is not allowed",
        ]
    );
    // Failures, timeouts included, reach the failure hook.
    assert_eq!(
        *failures.lock().unwrap(),
        ["no clock", "the tool did not finish within 100ms"]
    );
    Ok(())
}
