//! Persistent sessions: save, list, resume (also with pending tool calls), exclusive use, deletion; the
//! event log, subscriptions and handlers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use copilot_mock::Endpoint;
use copilot_sdk::{
    CopilotClient, EventEnvelope, MemorySessionStore, SdkError, SessionConfig, SessionFilter,
    SessionStore, ToolCallResult, UnknownToolPolicy,
};
use futures_util::StreamExt;

use crate::common::{Target, octocat_builder, requests, target};

fn client(target: &Target, store: &MemorySessionStore) -> Result<CopilotClient, SdkError> {
    octocat_builder(target)
        .session_store(Arc::new(store.clone()))
        .build()
}

fn kinds(events: &[EventEnvelope]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn a_saved_session_is_listed_and_resumed_by_another_client() -> Result<(), SdkError> {
    let target = target().await;
    let store = MemorySessionStore::new();
    let first = client(&target, &store)?;
    let session = first
        .create_session(SessionConfig::new().session_id("trip").model("gpt-4.1"))
        .await?;
    session
        .send_and_wait("Plan a trip to Porto\nwith details")
        .await?;
    let history = session.history_entries();
    let events = session.events();
    assert_eq!(
        kinds(&events),
        ["session.start", "user.message", "assistant.message"],
        "deltas, usage and idle are not persisted"
    );
    // Every event follows the previous one (ephemeral ones included, so the chain has gaps here).
    assert_eq!(events[0].parent_id, None);
    assert!(events[1..].iter().all(|e| e.parent_id.is_some()));

    let listed = first.list_sessions(SessionFilter::new()).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "trip");
    assert_eq!(listed[0].model, "gpt-4.1");
    assert_eq!(listed[0].turn_count, 1);
    assert_eq!(listed[0].summary.as_deref(), Some("Plan a trip to Porto"));
    let spent = session.usage().credits();
    assert!(spent > 0.0, "the mock reports a cost");
    assert_eq!(
        listed[0].total_cost, spent,
        "the saved cost is the session's"
    );
    assert!(listed[0].modified_at >= listed[0].created_at);
    assert_eq!(
        first.get_session_metadata("trip").await?,
        Some(listed[0].clone())
    );
    assert_eq!(first.last_session_id().await?.as_deref(), Some("trip"));
    assert!(
        first
            .list_sessions(SessionFilter::new().model("claude-sonnet-4.5"))
            .await?
            .is_empty()
    );

    // While it is open, nobody else continues it.
    let second = client(&target, &store)?;
    let busy = second.resume_session("trip", SessionConfig::new()).await;
    assert!(
        matches!(&busy, Err(SdkError::SessionInUse { id }) if id == "trip"),
        "{busy:?}"
    );
    assert!(matches!(
        second.delete_session("trip").await,
        Err(SdkError::SessionInUse { .. })
    ));
    drop(session);

    let resumed = second.resume_session("trip", SessionConfig::new()).await?;
    assert_eq!(resumed.history_entries(), history);
    assert_eq!(
        resumed.usage().credits(),
        spent,
        "a resumed session keeps its cost"
    );
    assert_eq!(resumed.usage().requests, 0, "token counts are not saved");
    assert_eq!(resumed.model(), "gpt-4.1");
    resumed.send_and_wait("And the hotel?").await?;
    let chats = requests(&target, Endpoint::ChatCompletions);
    let body = chats[1].body_json().expect("JSON body");
    assert_eq!(body["messages"].as_array().expect("messages").len(), 3);
    assert_eq!(
        kinds(&resumed.events()),
        [
            "session.start",
            "user.message",
            "assistant.message",
            "session.resume",
            "user.message",
            "assistant.message"
        ]
    );
    let metadata = second.get_session_metadata("trip").await?.expect("saved");
    assert_eq!(metadata.turn_count, 2);
    assert!(
        metadata.total_cost > spent,
        "the second turn's cost is added"
    );
    assert_eq!(metadata.total_cost, resumed.usage().credits());
    assert_eq!(
        store.load("trip").await?.expect("saved").history.len(),
        4,
        "saved after the turn"
    );
    drop(resumed);

    assert!(second.delete_session("trip").await?);
    assert!(matches!(
        second.resume_session("trip", SessionConfig::new()).await,
        Err(SdkError::SessionNotFound { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn creating_a_saved_id_again_is_refused_and_no_store_is_a_typed_error() -> Result<(), SdkError>
{
    let target = target().await;
    let store = MemorySessionStore::new();
    let client = client(&target, &store)?;
    drop(
        client
            .create_session(SessionConfig::new().session_id("once").model("gpt-4.1"))
            .await?,
    );
    let again = client
        .create_session(SessionConfig::new().session_id("once").model("gpt-4.1"))
        .await;
    assert!(matches!(again, Err(SdkError::Config { .. })), "{again:?}");

    let unsaved = octocat_builder(&target).build()?;
    assert!(
        unsaved.session_store().is_none(),
        "servers persist only when told to"
    );
    let error = unsaved
        .resume_session("once", SessionConfig::new())
        .await
        .expect_err("no store");
    assert!(matches!(error, SdkError::SessionStore { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn pending_tool_calls_survive_a_resume() -> Result<(), SdkError> {
    let target = target().await;
    let store = MemorySessionStore::new();
    let config = || {
        SessionConfig::new()
            .model("claude-tool-caller")
            .unknown_tool_policy(UnknownToolPolicy::ReturnToCaller)
    };
    let first = client(&target, &store)?;
    let session = first.create_session(config().session_id("agent")).await?;
    let answer = session.send_and_wait("Look around").await?;
    drop(session);

    let resumed = client(&target, &store)?
        .resume_session("agent", config())
        .await?;
    assert_eq!(resumed.pending_tool_calls(), answer.tool_calls);
    let results = answer
        .tool_calls
        .iter()
        .map(|call| (call.id.clone(), ToolCallResult::Success("ok".into())));
    resumed.send_tool_results_and_wait(results).await?;
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 2);
    assert_eq!(chats[1].header("x-initiator"), Some("agent"));
    Ok(())
}

#[tokio::test]
async fn subscribers_and_handlers_see_every_turn_until_unsubscribed() -> Result<(), SdkError> {
    let target = target().await;
    let session = octocat_builder(&target)
        .build()?
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    let mut live = session.subscribe();
    let all = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(AtomicUsize::new(0));
    let seen = all.clone();
    let guard = session.on(move |event| seen.lock().unwrap().push(event.kind.clone()));
    let counter = answers.clone();
    let answer_guard = session.on_kind("assistant.message", move |event| {
        assert!(
            event.data["content"]
                .as_str()
                .is_some_and(|c| c.contains("one"))
        );
        counter.fetch_add(1, Ordering::SeqCst);
    });

    session.send_and_wait("one").await?;
    assert_eq!(answers.load(Ordering::SeqCst), 1);
    let kinds_seen = all.lock().unwrap().clone();
    assert_eq!(kinds_seen.first().map(String::as_str), Some("user.message"));
    assert!(kinds_seen.iter().any(|k| k == "assistant.message_delta"));
    assert_eq!(kinds_seen.last().map(String::as_str), Some("session.idle"));

    // The stream got the same events, chained by parent id.
    let mut streamed: Vec<EventEnvelope> = Vec::new();
    while streamed.len() < kinds_seen.len() {
        streamed.push(live.next().await.expect("an event"));
    }
    let streamed_kinds: Vec<String> = streamed.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(streamed_kinds, kinds_seen);
    assert!(
        streamed
            .windows(2)
            .all(|pair| pair[1].parent_id.as_deref() == Some(pair[0].id.as_str()))
    );
    assert!(streamed.iter().any(|e| e.ephemeral));

    answer_guard.unsubscribe();
    drop(guard);
    let before = all.lock().unwrap().len();
    let mut turn = session.send("one more");
    while turn.next().await.is_some() {}
    assert_eq!(all.lock().unwrap().len(), before, "handler removed");
    assert_eq!(answers.load(Ordering::SeqCst), 1);
    Ok(())
}
