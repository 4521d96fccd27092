//! Sessions: streaming, routing, attachments, history, timeouts that keep the turn, abort.

use std::sync::Arc;

use copilot_mock::{Endpoint, MockConfig};
use copilot_sdk::{
    Attachment, HistoryEntry, Message, MessageOptions, ReasoningEffort, Role, SdkError,
    SessionConfig, SessionEvent, StreamTimeouts,
};
use futures_util::StreamExt;

use crate::common::{
    FirstSleepOnly, Target, contents_of_role, deltas, final_answer, mock, mock_session,
    octocat_builder, octocat_session as session, requests, target, target_with,
};

#[tokio::test]
async fn send_streams_deltas_usage_final_message_then_idle() -> Result<(), SdkError> {
    let (_target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    let events: Vec<SessionEvent> = session.send("Stream please").collect().await;

    let deltas: String = deltas(&events).concat();
    let final_message = final_answer(&events).expect("a final message");
    assert_eq!(deltas, final_message.content);
    assert!(deltas.contains("Stream please"));
    assert!(events.iter().any(|e| matches!(e, SessionEvent::Usage(_))));
    assert!(final_message.usage.is_some());
    assert!(matches!(events.last(), Some(SessionEvent::Idle)));
    assert!(!events.iter().any(|e| matches!(e, SessionEvent::Error(_))));

    // The official SDK's event names, in order (repeated deltas collapsed).
    let mut kinds: Vec<&str> = events.iter().map(SessionEvent::kind).collect();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "assistant.message_delta",
            "assistant.usage",
            "assistant.message",
            "session.idle"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn responses_only_models_route_through_responses() -> Result<(), SdkError> {
    let (target, session) = mock_session(
        SessionConfig::new()
            .model("gpt-5.3-codex")
            .reasoning_effort(ReasoningEffort::Low)
            .system_message("Be brief."),
    )
    .await?;
    let answer = session.send_and_wait("Hello codex").await?;
    assert!(answer.content.contains("Hello codex"), "{answer:?}");
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    let calls = requests(&target, Endpoint::Responses);
    assert_eq!(calls.len(), 1);
    let body = calls[0].body_json().expect("JSON body");
    assert_eq!(body["instructions"], "Be brief.");
    assert_eq!(body["reasoning"]["effort"], "low");
    assert_eq!(calls[0].header("x-initiator"), Some("user"));

    // A second turn replays the history as input items.
    session.send_and_wait("Again").await?;
    let calls = requests(&target, Endpoint::Responses);
    let input = calls[1].body_json().expect("JSON body")["input"].clone();
    assert!(
        input.as_array().is_some_and(|items| items.len() >= 3),
        "{input}"
    );
    Ok(())
}

#[tokio::test]
async fn reasoning_ids_live_beside_the_history_messages_not_inside_them() -> Result<(), SdkError> {
    let target = target().await;
    let config = || {
        SessionConfig::new()
            .model("gpt-5.3-codex")
            .reasoning_effort(ReasoningEffort::Low)
    };
    let first = session(&target, config()).await?;
    first.send_and_wait("Think first").await?;

    // The messages handed out are clean chat messages: nothing of the SDK's in them.
    for message in first.history() {
        let json = serde_json::to_value(&message).expect("serialisable");
        let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        assert!(
            keys.iter()
                .all(|k| !k.contains("copilot_sdk") && *k != "reasoning_id"),
            "{json}"
        );
    }
    let entries = first.history_entries();
    let reasoning_id = entries[1]
        .reasoning_id
        .clone()
        .expect("kept beside the answer");
    assert!(reasoning_id.starts_with("rs_"), "{reasoning_id}");
    assert_eq!(entries[1].message, first.history()[1]);

    // Stored and restored (serde round trip), the entries still replay the reasoning item.
    let stored = serde_json::to_string(&entries).expect("serialise");
    let restored: Vec<HistoryEntry> = serde_json::from_str(&stored).expect("deserialise");
    assert_eq!(restored, entries);
    let resumed = session(&target, config().history_entries(restored)).await?;
    resumed.send_and_wait("Continue").await?;
    let calls = requests(&target, Endpoint::Responses);
    let input = calls[1].body_json().expect("JSON body")["input"].clone();
    let replayed = input
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["type"] == "reasoning")
        .expect("the reasoning item is replayed");
    assert_eq!(replayed["id"], reasoning_id.as_str());
    assert!(replayed["encrypted_content"].is_string(), "{replayed}");

    // On chat completions the entry's message is sent as it is.
    resumed.set_model("gpt-4.1");
    resumed.send_and_wait("And on chat?").await?;
    let body = requests(&target, Endpoint::ChatCompletions)[0]
        .body_json()
        .expect("JSON body");
    assert!(!body.to_string().contains("copilot_sdk"), "{body}");
    Ok(())
}

#[tokio::test]
async fn set_model_switches_endpoint_and_keeps_history() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    session.send_and_wait("one").await?;
    session.set_model("gpt-5.3-codex");
    assert_eq!(session.model(), "gpt-5.3-codex");
    session.send_and_wait("two").await?;
    assert_eq!(requests(&target, Endpoint::ChatCompletions).len(), 1);
    assert_eq!(requests(&target, Endpoint::Responses).len(), 1);
    assert_eq!(session.history().len(), 4);
    Ok(())
}

#[tokio::test]
async fn seeded_history_is_sent_before_the_prompt() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("gpt-4.1").history([
        Message::user("earlier"),
        Message::assistant("earlier answer"),
    ]))
    .await?;
    session.send_and_wait("now").await?;
    let body = requests(&target, Endpoint::ChatCompletions)[0]
        .body_json()
        .expect("JSON body");
    let messages = body["messages"].as_array().expect("messages").clone();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["content"], "earlier");
    assert_eq!(messages[2]["content"], "now");
    assert_eq!(session.history().len(), 4);
    Ok(())
}

#[tokio::test]
async fn image_attachments_from_base64_and_file() -> Result<(), SdkError> {
    let target = target().await;
    // gemini-3.5-flash takes up to 10 images a prompt (gpt-4.1 only one).
    let session = session(&target, SessionConfig::new().model("gemini-3.5-flash")).await?;
    let png = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pixel.png");
    session
        .send_and_wait(
            MessageOptions::new("What is in these images?")
                .attachment(Attachment::image_base64("image/png", "iVBORw0KGgo="))
                .attachment(Attachment::image_file(&png)),
        )
        .await?;
    let request = &requests(&target, Endpoint::ChatCompletions)[0];
    assert_eq!(request.header("copilot-vision-request"), Some("true"));
    let body = request.body_json().expect("JSON body");
    let parts = body["messages"][0]["content"]
        .as_array()
        .expect("parts")
        .clone();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts[1]["image_url"]["url"],
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert!(
        parts[2]["image_url"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("data:image/png;base64,iVBOR"))
    );

    let missing = session
        .send_and_wait(
            MessageOptions::new("x").attachment(Attachment::image_file("/nonexistent.png")),
        )
        .await
        .expect_err("missing file");
    assert!(
        matches!(missing, SdkError::Attachment { .. }),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_timed_out_turn_is_parked_and_resumed_without_resending() -> Result<(), SdkError> {
    let target = target().await;
    // The first timer (the turn timeout) fires at once; no other timer ever fires.
    let client = octocat_builder(&target)
        .sleep(Arc::new(FirstSleepOnly::default()))
        .stream_timeouts(StreamTimeouts::NONE)
        .build()?;
    client.start().await?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;

    let error = session
        .send_and_wait("slow question")
        .await
        .expect_err("times out");
    let SdkError::Timeout { tool_rounds, .. } = &error else {
        panic!("expected a timeout, got {error:?}");
    };
    assert_eq!(*tool_rounds, 0);
    assert!(session.has_parked_turn());

    let answer = session
        .resume_turn(std::time::Duration::from_secs(3600))
        .await?;
    assert!(answer.content.contains("slow question"));
    assert!(!session.has_parked_turn());
    assert_eq!(
        requests(&target, Endpoint::ChatCompletions).len(),
        1,
        "not re-sent"
    );
    let history = session.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].role, Role::Assistant);

    let nothing = session.resume_turn(std::time::Duration::from_secs(1)).await;
    assert!(matches!(nothing, Err(SdkError::Config { .. })));
    Ok(())
}

#[tokio::test]
async fn abort_ends_the_running_turn() -> Result<(), SdkError> {
    let (_target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    let mut events = session.send("long answer 50");
    let mut saw_delta = false;
    let mut outcome = None;
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { .. } if !saw_delta => {
                saw_delta = true;
                session.abort();
            }
            SessionEvent::Error(error) => outcome = Some(error),
            SessionEvent::AssistantMessage(_) => panic!("aborted turns have no final message"),
            _ => {}
        }
    }
    assert!(saw_delta);
    assert!(matches!(outcome, Some(SdkError::Aborted)), "{outcome:?}");
    // The prompt stays; no partial answer is recorded; the session is usable again.
    assert_eq!(session.history().len(), 1);
    session.send_and_wait("after abort").await?;
    assert_eq!(session.history().len(), 3);
    Ok(())
}

#[tokio::test]
async fn model_errors_surface_typed() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("no-such-model")).await?;
    let error = session
        .send_and_wait("hi")
        .await
        .expect_err("unknown model");
    assert!(
        matches!(
            error,
            SdkError::Api(copilot_sdk::api::ApiError::ModelNotSupported(_))
        ),
        "{error:?}"
    );
    let embeddings = session
        .client()
        .create_session(SessionConfig::new().model("text-embedding-3-small"))
        .await?;
    let error = embeddings
        .send_and_wait("hi")
        .await
        .expect_err("not a chat model");
    assert!(
        matches!(error, SdkError::ModelUnsupported { .. }),
        "{error:?}"
    );
    let _ = mock(&target);
    Ok(())
}

#[cfg(feature = "schemars")]
#[tokio::test]
async fn schemars_derived_schemas_for_output_and_tools() -> Result<(), SdkError> {
    use copilot_sdk::{OutputSchema, PermissionHandler, Tool};

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct Facts {
        city: String,
        population: i64,
    }
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct CityArgs {
        city: String,
    }

    let target = target().await;
    let tool = Tool::typed("get_weather", "Weather", |args: CityArgs| async move {
        Ok(format!("sunny in {}", args.city))
    });
    assert_eq!(tool.parameters()["properties"]["city"]["type"], "string");
    let session = session(
        &target,
        SessionConfig::new()
            .model("gpt-4.1")
            .tool(tool)
            .on_permission_request(PermissionHandler::approve_all()),
    )
    .await?;
    let answer = session.send_and_wait("Use get_weather for Oslo").await?;
    assert!(answer.content.contains("sunny in"), "{}", answer.content);

    let facts: Facts = session
        .send_and_wait_json("Facts about Oslo", OutputSchema::of::<Facts>())
        .await?;
    assert!(!facts.city.is_empty());
    let _ = facts.population;
    Ok(())
}

#[tokio::test]
async fn o_series_summaries_are_the_answers_reasoning() -> Result<(), SdkError> {
    let (_target, session) = mock_session(SessionConfig::new().model("o4-mini")).await?;
    let answer = session.send_and_wait("Think first").await?;
    let reasoning = answer.reasoning.expect("cot_summary is kept");
    assert!(reasoning.contains("Reasoning"), "{reasoning}");
    assert!(!answer.content.contains("Reasoning"), "{}", answer.content);
    Ok(())
}

#[tokio::test]
async fn a_non_streaming_session_asks_for_the_whole_answer_at_once() -> Result<(), SdkError> {
    let (target, session) =
        mock_session(SessionConfig::new().model("gpt-4.1").streaming(false)).await?;
    let events: Vec<SessionEvent> = session.send("All at once").collect().await;
    let deltas = deltas(&events);
    let answer = final_answer(&events).expect("a final message");
    assert_eq!(
        deltas,
        [answer.content.as_str()],
        "one delta: the whole answer"
    );
    assert!(answer.content.contains("All at once"), "{}", answer.content);
    assert!(answer.usage.is_some());
    assert!(matches!(events.last(), Some(SessionEvent::Idle)));

    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 1);
    let body = chats[0].body_json().expect("a JSON body");
    assert_ne!(body["stream"], serde_json::json!(true), "{body}");
    assert_eq!(
        session.history().last().map(|m| m.role.clone()),
        Some(Role::Assistant)
    );

    // The answer goes into the history like a streamed one: the next turn sends it back.
    session.send_and_wait("And again").await?;
    let second = requests(&target, Endpoint::ChatCompletions)[1]
        .body_json()
        .expect("a JSON body");
    assert_eq!(second["messages"].as_array().map(Vec::len), Some(3));
    Ok(())
}

#[tokio::test]
async fn a_non_streamed_o_series_answer_keeps_its_summary() -> Result<(), SdkError> {
    let (_target, session) =
        mock_session(SessionConfig::new().model("o4-mini").streaming(false)).await?;
    let answer = session.send_and_wait("Think first").await?;
    assert!(answer.reasoning.is_some(), "{answer:?}");
    Ok(())
}

/// A session's purpose labels every request it sends: a user's conversation is `user` with the intent as
/// its interaction type; a sub-agent's and a compaction session's prompts are `agent`, labelled
/// `conversation-subagent` / `conversation-background` (on chat completions and on `/responses`).
#[tokio::test]
async fn a_sessions_purpose_labels_its_requests() -> Result<(), SdkError> {
    use copilot_sdk::api::RequestPurpose;
    let target = target().await;
    let cases = [
        (
            RequestPurpose::Conversation,
            "gpt-4.1",
            Endpoint::ChatCompletions,
            "conversation-panel",
            "user",
        ),
        (
            RequestPurpose::Subagent,
            "gpt-4.1",
            Endpoint::ChatCompletions,
            "conversation-subagent",
            "agent",
        ),
        (
            RequestPurpose::Compaction,
            "gpt-5.3-codex",
            Endpoint::Responses,
            "conversation-background",
            "agent",
        ),
    ];
    for (purpose, model, endpoint, interaction, initiator) in cases {
        let session = session(&target, SessionConfig::new().model(model).purpose(purpose)).await?;
        session.send_and_wait("Hello").await?;
        let sent = requests(&target, endpoint);
        let sent = sent.last().expect("a request");
        assert_eq!(
            sent.header("x-interaction-type"),
            Some(interaction),
            "{purpose:?}"
        );
        assert_eq!(sent.header("x-initiator"), Some(initiator), "{purpose:?}");
    }
    Ok(())
}

/// The chat requests' models and `Copilot-Session-Token` headers, in order.
fn chat_models_and_tokens(target: &Target) -> Vec<(String, Option<String>)> {
    requests(target, Endpoint::ChatCompletions)
        .iter()
        .map(|r| {
            let body = r.body_json().expect("JSON body");
            (
                body["model"].as_str().unwrap_or_default().to_owned(),
                r.header("copilot-session-token").map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_auto_model_sends_turns_to_copilots_choice_with_its_session_token()
-> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("auto")).await?;
    let first = session.send_and_wait("Hello").await?;
    let second = session.send_and_wait("Again").await?;

    // One Auto-model session for both turns, asked for as the real clients ask.
    let sessions = requests(&target, Endpoint::ModelSession);
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].body_json().expect("JSON body"),
        serde_json::json!({"auto_mode": {"model_hints": ["auto"]}})
    );
    let sent = chat_models_and_tokens(&target);
    assert_eq!(sent.len(), 2);
    let (model, token) = &sent[0];
    // The mock selects a model other than the list's chat default, so this is Copilot's choice.
    assert_ne!(model, "gpt-4.1");
    assert_ne!(model, "auto", "the pseudo-model is never sent");
    assert!(
        token.as_deref().is_some_and(|t| t.starts_with("acs_")),
        "{token:?}"
    );
    assert_eq!(sent[1], sent[0], "same model, same session token");
    assert_eq!(&first.model, model);
    assert_eq!(second.model, first.model);
    assert_eq!(session.model(), "auto", "the session still asks for Auto");
    Ok(())
}

#[tokio::test]
async fn the_auto_model_session_is_renewed_before_it_expires() -> Result<(), SdkError> {
    let target = target().await;
    let clock = copilot_sdk::http::time::ManualClock::new(std::time::SystemTime::now());
    let session = octocat_builder(&target)
        .clock(clock.clone())
        .build()?
        .create_session(SessionConfig::new().model("auto"))
        .await?;
    session.send_and_wait("Hello").await?;
    // The mock's sessions last an hour: with 4 minutes left, the next turn starts a new one.
    clock.advance(std::time::Duration::from_secs(3360));
    session.send_and_wait("Later").await?;
    assert_eq!(requests(&target, Endpoint::ModelSession).len(), 2);
    let sent = chat_models_and_tokens(&target);
    assert!(sent.iter().all(|(_, token)| token.is_some()));
    assert_ne!(
        sent[0].1, sent[1].1,
        "the second turn carries the new token"
    );
    Ok(())
}

#[tokio::test]
async fn without_copilots_auto_model_the_chat_default_is_chosen_locally() -> Result<(), SdkError> {
    let target = target_with(MockConfig::new().auto_model(false)).await;
    let session = session(&target, SessionConfig::new().model("auto")).await?;
    let answer = session.send_and_wait("Hello").await?;
    session.send_and_wait("Again").await?;
    assert_eq!(answer.model, "gpt-4.1", "the models list's chat default");
    assert_eq!(
        chat_models_and_tokens(&target),
        [("gpt-4.1".to_owned(), None), ("gpt-4.1".to_owned(), None)]
    );
    assert_eq!(
        requests(&target, Endpoint::ModelSession).len(),
        1,
        "a 404 is remembered for the session"
    );
    Ok(())
}

/// The user prompts of the last chat request the mock received.
fn last_prompts(target: &Target) -> Vec<String> {
    let sent = requests(target, Endpoint::ChatCompletions);
    let body = sent.last().expect("a request").body_json().expect("JSON");
    contents_of_role(&body, "user")
}

#[tokio::test]
async fn rewind_and_truncate_shape_what_the_next_turn_sends() -> Result<(), SdkError> {
    let (target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    for prompt in ["one", "two", "three"] {
        session.send_and_wait(prompt).await?;
    }
    assert_eq!(session.rewind(1).await?, 1);
    assert_eq!(session.history().len(), 4);
    session.send_and_wait("three again").await?;
    assert_eq!(last_prompts(&target), ["one", "two", "three again"]);

    assert_eq!(session.truncate(1).await?, 2);
    session.send_and_wait("four").await?;
    assert_eq!(last_prompts(&target), ["three again", "four"]);
    assert_eq!(session.rewind(0).await?, 0);
    assert_eq!(session.rewind(9).await?, 2);
    assert!(session.history().is_empty());
    Ok(())
}
