//! Session limits: the AI-credit budget against the mock's reported costs.

use std::sync::Arc;

use copilot_mock::Endpoint;
use copilot_sdk::{
    CopilotClient, MemorySessionStore, PermissionHandler, SdkError, Session, SessionConfig,
    SessionEvent,
};
use futures_util::StreamExt;
use serde_json::json;

use crate::common::{Target, answering_tool, octocat_client, requests, target};

fn client(target: &Target) -> Result<CopilotClient, SdkError> {
    octocat_client(target, None)
}

/// Sends `prompt` and expects the budget to refuse it; returns what the error says was spent.
async fn refused(session: &Session, prompt: &str) -> f64 {
    match session.send_and_wait(prompt).await {
        Err(SdkError::BudgetExceeded {
            spent_ai_credits, ..
        }) => spent_ai_credits,
        other => panic!("`{prompt}` was not refused by the budget: {other:?}"),
    }
}

/// One nano-AIU: any answer the mock prices crosses it.
const ONE_NANO_AIU: f64 = 1e-9;

#[tokio::test]
async fn the_turn_that_crosses_the_budget_completes_and_the_next_is_refused() -> Result<(), SdkError>
{
    let target = target().await;
    let session = client(&target)?
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .max_ai_credits(ONE_NANO_AIU),
        )
        .await?;
    let first = session.send_and_wait("Hello").await?;
    let cost = first.cost.clone().expect("the mock reports a cost");
    assert!(cost.total_nano_aiu > 1, "{cost:?}");
    assert!(first.content.contains("Hello"), "{}", first.content);

    let events: Vec<SessionEvent> = session.send("Hello again").collect().await;
    let (spent, limit) = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::BudgetExceeded {
                spent_ai_credits,
                max_ai_credits,
                ..
            } => Some((*spent_ai_credits, *max_ai_credits)),
            _ => None,
        })
        .expect("a budget event");
    assert_eq!(spent, cost.credits());
    assert_eq!(limit, ONE_NANO_AIU);
    assert!(
        events.iter().any(|e| matches!(
            e,
            SessionEvent::Error(SdkError::BudgetExceeded { spent_ai_credits, .. })
                if *spent_ai_credits == cost.credits()
        )),
        "{events:?}"
    );
    assert!(matches!(events.last(), Some(SessionEvent::Idle)));
    refused(&session, "Still there?").await;

    // Refused turns send nothing and leave the history alone.
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    assert_eq!(session.history().len(), 2);
    let recorded = session
        .events()
        .into_iter()
        .filter(|e| e.kind == "session.budget_exceeded")
        .count();
    assert_eq!(recorded, 2, "each refusal is in the persisted log");
    Ok(())
}

#[tokio::test]
async fn a_tool_loop_that_crosses_the_budget_runs_to_its_end() -> Result<(), SdkError> {
    let target = target().await;
    let tool = answering_tool(
        "get_weather",
        "Weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        "sunny",
    );
    let session = client(&target)?
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .tool(tool)
                .on_permission_request(PermissionHandler::approve_all())
                .max_ai_credits(ONE_NANO_AIU),
        )
        .await?;
    // The first request crosses the budget; the tool-result request of the same turn still goes out.
    let answer = session.send_and_wait("Use get_weather for Oslo").await?;
    assert_eq!(answer.tool_rounds, 1);
    assert!(answer.content.contains("sunny"), "{}", answer.content);
    assert_eq!(session.usage().requests, 2);
    refused(&session, "And Rome?").await;
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_budget_above_the_spend_lets_turns_through_and_none_means_no_limit()
-> Result<(), SdkError> {
    let target = target().await;
    let client = client(&target)?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1").max_ai_credits(1.0))
        .await?;
    for prompt in ["one", "two", "three"] {
        session.send_and_wait(prompt).await?;
    }
    assert!(session.usage().credits() < 1.0);
    let unlimited = client
        .create_session(
            SessionConfig::new()
                .model("gpt-4.1")
                .max_ai_credits(ONE_NANO_AIU)
                .max_ai_credits(None),
        )
        .await?;
    unlimited.send_and_wait("one").await?;
    unlimited.send_and_wait("two").await?;
    Ok(())
}

#[tokio::test]
async fn a_resumed_session_counts_what_it_spent_before() -> Result<(), SdkError> {
    let target = target().await;
    let client = octocat_client(&target, Some(Arc::new(MemorySessionStore::new())))?;
    let session = client
        .create_session(SessionConfig::new().session_id("budgeted").model("gpt-4.1"))
        .await?;
    session.send_and_wait("Hello").await?;
    let spent = session.usage().credits();
    drop(session);

    // A budget below what was already spent refuses the first turn after resuming.
    let resumed = client
        .resume_session("budgeted", SessionConfig::new().max_ai_credits(spent / 2.0))
        .await?;
    assert_eq!(refused(&resumed, "More").await, spent);
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    Ok(())
}
