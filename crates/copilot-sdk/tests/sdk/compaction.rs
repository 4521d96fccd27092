//! Infinite sessions on the mock's small-context model: compaction in the background and before sending,
//! its billing labels, tool-call pairs, events, failures, and the summary saved and resumed.

use std::time::Duration;

use copilot_mock::{
    Endpoint, Fault, FaultRule, RequestLogEntry, SMALL_CONTEXT_MODEL, SMALL_CONTEXT_PROMPT_TOKENS,
};
use copilot_sdk::{
    EventEnvelope, InfiniteSessionConfig, MemorySessionStore, Message, PermissionHandler, Role,
    SdkError, Session, SessionConfig, Tool,
};
use serde_json::{Value, json};

use crate::common::{Target, mock, octocat_client, requests, target};

/// Long enough that a test never waits it out; the mock ends it at shutdown.
const FOREVER: Duration = Duration::from_secs(3600);

async fn small_session(
    target: &Target,
    infinite: InfiniteSessionConfig,
) -> Result<Session, SdkError> {
    octocat_client(target, None)?
        .create_session(
            SessionConfig::new()
                .model(SMALL_CONTEXT_MODEL)
                .infinite_sessions(infinite),
        )
        .await
}

fn prompt(n: usize) -> String {
    format!("Turn {n}: tell me one more thing about the number {n}, please")
}

fn is_compaction(entry: &RequestLogEntry) -> bool {
    entry.header("x-interaction-type") == Some("conversation-background")
}

/// Every chat request is labelled as what it is: a compaction is `agent` and `conversation-background`
/// (and sends no tools); anything else is a conversation request. Returns (compactions, user turns).
fn check_labels(chats: &[RequestLogEntry]) -> (usize, Vec<RequestLogEntry>) {
    let mut compactions = 0;
    let mut users = Vec::new();
    for entry in chats {
        if is_compaction(entry) {
            compactions += 1;
            assert_eq!(entry.header("x-initiator"), Some("agent"), "{entry:?}");
            assert_eq!(entry.header("openai-intent"), Some("conversation-panel"));
            let body = entry.body_json().expect("JSON");
            assert!(body.get("tools").is_none(), "{body}");
            assert!(last_text(&body).starts_with("Summarize the conversation below"));
        } else {
            assert_eq!(
                entry.header("x-interaction-type"),
                Some("conversation-panel")
            );
            if entry.header("x-initiator") == Some("user") {
                users.push(entry.clone());
            }
        }
        assert_eq!(entry.status, 200, "nothing is refused as too long");
    }
    (compactions, users)
}

fn messages(body: &Value) -> Vec<Value> {
    body["messages"].as_array().cloned().unwrap_or_default()
}

fn last_text(body: &Value) -> String {
    messages(body)
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The request's conversation starts with a summary, and the first prompt is no longer sent as a message.
fn assert_starts_from_a_summary(messages: &[Value]) {
    let first = messages[0]["content"].as_str().unwrap_or_default();
    assert!(
        first.starts_with("[Summary of the earlier conversation"),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| m["content"] != json!(prompt(0))),
        "{messages:?}"
    );
}

/// Sends [`prompt`]s until the session has recorded an event of `kind`; returns how many turns ran.
async fn turns_until(session: &Session, kind: &str) -> Result<usize, SdkError> {
    let mut n = 0;
    while count(&session.events(), kind) == 0 {
        session.send_and_wait(prompt(n)).await?;
        n += 1;
        assert!(n < 100, "no {kind} within 100 turns");
    }
    Ok(n)
}

fn kinds(events: &[EventEnvelope]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn count(events: &[EventEnvelope], kind: &str) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

/// Tool calls and their results are never separated: each assistant message with calls is followed by
/// one result per call, and every result follows its call. `messages` are chat-completions JSON.
fn assert_tool_pairs(messages: &[Value]) {
    let mut open: Vec<String> = Vec::new();
    for message in messages {
        match message["role"].as_str() {
            Some("tool") => {
                let id = message["tool_call_id"].as_str().expect("an id");
                let at = open.iter().position(|o| o == id);
                assert!(at.is_some(), "result {id} without its call: {messages:?}");
                open.retain(|o| o != id);
            }
            _ => {
                assert!(
                    open.is_empty(),
                    "calls {open:?} without results: {messages:?}"
                );
                if let Some(calls) = message["tool_calls"].as_array() {
                    open = calls
                        .iter()
                        .map(|c| c["id"].as_str().expect("an id").to_owned())
                        .collect();
                }
            }
        }
    }
    assert!(open.is_empty(), "calls {open:?} without results");
}

fn history_json(history: &[Message]) -> Vec<Value> {
    history
        .iter()
        .map(|m| serde_json::to_value(m).expect("JSON"))
        .collect()
}

#[tokio::test]
async fn a_200_turn_session_stays_under_the_limit_with_every_request_labelled()
-> Result<(), SdkError> {
    let target = target().await;
    let session = small_session(&target, InfiniteSessionConfig::new()).await?;
    for n in 0..200 {
        let answer = session.send_and_wait(prompt(n)).await?;
        assert!(answer.content.contains(&prompt(n)), "{}", answer.content);
        let usage = session.context_usage().await?;
        assert_eq!(usage.token_limit, Some(SMALL_CONTEXT_PROMPT_TOKENS));
        assert!(
            usage.current_tokens < SMALL_CONTEXT_PROMPT_TOKENS,
            "turn {n}: {usage:?}"
        );
    }
    let chats = requests(&target, Endpoint::ChatCompletions);
    let (compactions, users) = check_labels(&chats);
    assert!(compactions >= 5, "{compactions} compactions");
    // Every turn is exactly one `X-Initiator: user` request, carrying its own prompt, in order.
    assert_eq!(users.len(), 200);
    for (n, entry) in users.iter().enumerate() {
        assert_eq!(last_text(&entry.body_json().expect("JSON")), prompt(n));
    }
    // The last turn's request starts from a summary, not from the first prompt.
    let last = users.last().expect("a turn").body_json().expect("JSON");
    assert_starts_from_a_summary(&messages(&last));

    let events = session.events();
    let started = count(&events, "session.compaction_start");
    let completed: Vec<&EventEnvelope> = events
        .iter()
        .filter(|e| e.kind == "session.compaction_complete")
        .collect();
    assert_eq!(started, compactions);
    assert!(started - completed.len() <= 1, "one may still run");
    for complete in &completed {
        let data = &complete.data;
        assert_eq!(data["success"], true, "{data}");
        let (pre, post) = (
            data["preCompactionTokens"].as_u64().expect("tokens"),
            data["postCompactionTokens"].as_u64().expect("tokens"),
        );
        assert!(post < pre, "{data}");
        assert_eq!(data["tokensRemoved"].as_u64(), Some(pre - post));
        assert!(data["messagesRemoved"].as_u64().expect("count") >= 2);
        assert!(
            data["compactionTokensUsed"]["input"]
                .as_u64()
                .expect("usage")
                > 0
        );
        assert!(
            data["summaryContent"]
                .as_str()
                .is_some_and(|s| s.starts_with("Summary of the conversation so far"))
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e.kind == "session.compaction_start" && e.data["background"] == true),
        "past 80% the compaction runs in the background"
    );
    // The compactions were paid for, and counted.
    assert_eq!(
        session.usage().requests as usize,
        200 + completed.len(),
        "every turn and every applied compaction"
    );
    Ok(())
}

#[tokio::test]
async fn past_the_buffer_exhaustion_threshold_the_summary_is_made_before_sending()
-> Result<(), SdkError> {
    let target = target().await;
    let session = small_session(
        &target,
        InfiniteSessionConfig::new()
            .background_compaction_threshold(1.0)
            .buffer_exhaustion_threshold(0.5),
    )
    .await?;
    let mut n = 0;
    while !requests(&target, Endpoint::ChatCompletions)
        .iter()
        .any(is_compaction)
    {
        session.send_and_wait(prompt(n)).await?;
        n += 1;
        assert!(n < 100, "no compaction happened");
    }
    let chats = requests(&target, Endpoint::ChatCompletions);
    let at = chats.iter().position(is_compaction).expect("a compaction");
    assert_eq!(at, n - 1, "one request per turn before it");
    // The compaction came first, then the turn's own request, already compacted.
    let turn = chats[at + 1].body_json().expect("JSON");
    assert_eq!(chats[at + 1].header("x-initiator"), Some("user"));
    assert_eq!(last_text(&turn), prompt(n - 1));
    assert_starts_from_a_summary(&messages(&turn));
    assert_eq!(chats.len(), at + 2);
    check_labels(&chats);

    // Within the turn: the prompt, the compaction, the answer.
    let events = session.events();
    let tail: Vec<&str> = kinds(&events).into_iter().rev().take(4).collect();
    assert_eq!(
        tail,
        [
            "assistant.message",
            "session.compaction_complete",
            "session.compaction_start",
            "user.message"
        ]
    );
    let start = events
        .iter()
        .find(|e| e.kind == "session.compaction_start")
        .expect("start");
    assert_eq!(start.data["background"], false);
    assert!(start.data["conversationTokens"].as_u64().expect("tokens") > 500);
    let history = session.history();
    assert_eq!(history[0].role, Role::User);
    assert!(
        history[0]
            .text()
            .starts_with("[Summary of the earlier conversation")
    );
    assert!(session.history_entries()[0].compaction_summary);
    Ok(())
}

#[tokio::test]
async fn a_background_compaction_does_not_hold_up_the_turns() -> Result<(), SdkError> {
    let target = target().await;
    // The compaction request hangs; turns must go on regardless.
    mock(&target).set_fault(
        FaultRule::new(Endpoint::ChatCompletions, Fault::Latency(FOREVER))
            .when_header("x-interaction-type", "conversation-background"),
    );
    let session = small_session(
        &target,
        InfiniteSessionConfig::new()
            .background_compaction_threshold(0.3)
            .buffer_exhaustion_threshold(0.99),
    )
    .await?;
    let n = turns_until(&session, "session.compaction_start").await?;
    let before = session.history().len();
    for more in n..n + 3 {
        let answer = session.send_and_wait(prompt(more)).await?;
        assert!(answer.content.contains(&prompt(more)));
    }
    let events = session.events();
    assert_eq!(count(&events, "session.compaction_start"), 1);
    assert_eq!(count(&events, "session.compaction_complete"), 0);
    assert_eq!(
        session.history().len(),
        before + 6,
        "nothing was replaced yet"
    );
    assert_eq!(session.history()[0].text(), prompt(0));
    let (compactions, users) = check_labels(&requests(&target, Endpoint::ChatCompletions));
    assert_eq!(compactions, 0, "the hanging compaction was never answered");
    assert_eq!(users.len(), n + 3);
    // Closing cancels it: no result is ever applied.
    session.close().await?;
    assert_eq!(count(&session.events(), "session.compaction_complete"), 0);
    Ok(())
}

#[tokio::test]
async fn tool_calls_and_their_results_stay_together_across_compactions() -> Result<(), SdkError> {
    let target = target().await;
    let lookup = Tool::new(
        "lookup",
        "Looks an item up",
        json!({"type": "object", "properties": {"item": {"type": "string"}}, "required": ["item"]}),
        |args: Value| async move { Ok(json!({"item": args["item"], "found": "a detailed record"})) },
    );
    let session = octocat_client(&target, None)?
        .create_session(
            SessionConfig::new()
                .model(SMALL_CONTEXT_MODEL)
                .tool(lookup)
                .on_permission_request(PermissionHandler::approve_all()),
        )
        .await?;
    for n in 0..40 {
        let answer = session
            .send_and_wait(format!("Use lookup for item {n}"))
            .await?;
        assert_eq!(answer.tool_rounds, 1, "turn {n}");
        assert_tool_pairs(&history_json(&session.history()));
    }
    let chats = requests(&target, Endpoint::ChatCompletions);
    let (compactions, users) = check_labels(&chats);
    assert!(compactions >= 2, "{compactions}");
    assert_eq!(users.len(), 40);
    for entry in &chats {
        assert_tool_pairs(&messages(&entry.body_json().expect("JSON")));
    }
    // The summariser read the tool rounds too.
    let compaction = chats.iter().find(|e| is_compaction(e)).expect("one");
    let text = last_text(&compaction.body_json().expect("JSON"));
    assert!(text.contains("Assistant called tool `lookup`"), "{text}");
    assert!(text.contains("Tool result ("), "{text}");
    Ok(())
}

#[tokio::test]
async fn a_failed_compaction_is_reported_and_the_turn_goes_on_if_it_fits() -> Result<(), SdkError> {
    let target = target().await;
    mock(&target).set_fault(
        FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::status(
                400,
                r#"{"error":{"message":"bad request","code":"bad_request"}}"#,
            ),
        )
        .when_header("x-interaction-type", "conversation-background")
        .times(1),
    );
    let session = small_session(
        &target,
        InfiniteSessionConfig::new()
            .background_compaction_threshold(1.0)
            .buffer_exhaustion_threshold(0.4),
    )
    .await?;
    let n = turns_until(&session, "session.compaction_complete").await?;
    let events = session.events();
    let failed = events
        .iter()
        .find(|e| e.kind == "session.compaction_complete")
        .expect("complete");
    assert_eq!(failed.data["success"], false);
    assert!(
        failed.data["error"]
            .as_str()
            .is_some_and(|e| e.contains("bad request")),
        "{}",
        failed.data
    );
    // The history is whole and the turn was answered.
    assert_eq!(session.history()[0].text(), prompt(0));
    assert_eq!(session.history().len(), 2 * n);
    // The next turn tries again, and succeeds.
    session.send_and_wait(prompt(n)).await?;
    let events = session.events();
    let completes: Vec<&EventEnvelope> = events
        .iter()
        .filter(|e| e.kind == "session.compaction_complete")
        .collect();
    assert_eq!(completes.len(), 2);
    assert_eq!(completes[1].data["success"], true);
    Ok(())
}

#[tokio::test]
async fn a_turn_that_cannot_fit_is_refused_before_anything_is_sent() -> Result<(), SdkError> {
    let target = target().await;
    let session = small_session(&target, InfiniteSessionConfig::new()).await?;
    let huge = "word ".repeat(3000);
    let refused = session.send_and_wait(huge.as_str()).await;
    match refused {
        Err(SdkError::ContextWindowExceeded { tokens, limit }) => {
            assert_eq!(limit, SMALL_CONTEXT_PROMPT_TOKENS);
            assert!(tokens > limit, "{tokens}");
        }
        other => panic!("not refused: {other:?}"),
    }
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());

    // With compaction off, it is sent, and Copilot refuses it (typed, with the server's code).
    let off = small_session(&target, InfiniteSessionConfig::new().enabled(false)).await?;
    let error = off
        .send_and_wait(huge.as_str())
        .await
        .expect_err("too long");
    assert!(
        error
            .to_string()
            .contains("model_max_prompt_tokens_exceeded")
            || error.to_string().contains("exceeds the limit"),
        "{error}"
    );
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_summary_is_saved_with_the_session_and_replayed_on_resume() -> Result<(), SdkError> {
    let target = target().await;
    let store = MemorySessionStore::new();
    let client = octocat_client(&target, Some(std::sync::Arc::new(store.clone())))?;
    let config = || {
        SessionConfig::new()
            .session_id("long")
            .model(SMALL_CONTEXT_MODEL)
            .infinite_sessions(
                InfiniteSessionConfig::new()
                    .background_compaction_threshold(1.0)
                    .buffer_exhaustion_threshold(0.5),
            )
    };
    let session = client.create_session(config()).await?;
    turns_until(&session, "session.compaction_complete").await?;
    let entries = session.history_entries();
    drop(session);

    let saved = copilot_sdk::SessionStore::load(&store, "long")
        .await?
        .expect("saved");
    assert_eq!(saved.history, entries);
    assert!(saved.history[0].compaction_summary);
    assert!(
        saved
            .metadata
            .summary
            .as_deref()
            .is_some_and(|title| title.starts_with("Summary of the conversation so far")),
        "the title is the summary's first line: {:?}",
        saved.metadata.summary
    );
    assert!(
        kinds(&saved.events).contains(&"session.compaction_complete"),
        "the events are saved too"
    );

    let other = octocat_client(&target, Some(std::sync::Arc::new(store.clone())))?;
    let resumed = other.resume_session("long", config()).await?;
    assert_eq!(resumed.history_entries(), entries);
    resumed.send_and_wait("And now?").await?;
    let last = requests(&target, Endpoint::ChatCompletions)
        .pop()
        .expect("a request");
    let body = last.body_json().expect("JSON");
    assert_eq!(
        messages(&body)[0]["content"],
        json!(entries[0].message.text()),
        "the resumed session starts from the summary"
    );
    assert_eq!(last.header("x-initiator"), Some("user"));
    Ok(())
}
