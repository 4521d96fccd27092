//! Claude sessions over Copilot's native Messages API (`/v1/messages`): routing, the tool loop, thinking
//! blocks and their signatures replayed on later turns, also after a resume. The mock verifies every
//! replayed signature (a forged one is answered 400), so a turn that succeeds proves the replay.

use std::sync::Arc;

use copilot_mock::{Endpoint, RequestLogEntry};
use copilot_sdk::api::{ApiError, ContentBlock};
use copilot_sdk::{
    HistoryEntry, MemorySessionStore, Message, PermissionHandler, SdkError, SessionConfig,
    SessionStore, Tool,
};
use serde_json::{Value, json};

use crate::common::{
    deltas, final_answer, mock_session, octocat_client, octocat_session as session, requests,
    target,
};

fn weather_tool() -> Tool {
    Tool::new(
        "get_weather",
        "The weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value| async move { Ok(json!({"city": args["city"], "sky": "clear"})) },
    )
}

/// A Claude session that thinks (effort high) and may call `get_weather`, every call approved.
fn thinking_tool_config() -> SessionConfig {
    SessionConfig::new()
        .model("claude-sonnet-4.5")
        .reasoning_effort("high")
        .tool(weather_tool())
        .on_permission_request(PermissionHandler::approve_all())
}

fn body(entry: &RequestLogEntry) -> Value {
    entry.body_json().expect("a JSON body")
}

/// The `thinking` blocks of the assistant messages of a request body, in order.
fn replayed_thinking(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "thinking")
        .collect()
}

#[tokio::test]
async fn a_claude_session_turn_goes_to_native_messages() -> Result<(), SdkError> {
    let (target, session) = mock_session(
        SessionConfig::new()
            .model("claude-sonnet-4.5")
            .system_message("Be brief."),
    )
    .await?;
    let answer = session.send_and_wait("Hello").await?;

    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 1, "one request per model round");
    assert_eq!(sent[0].header("x-initiator"), Some("user"));
    assert_eq!(sent[0].header("anthropic-version"), Some("2023-06-01"));
    let body = body(&sent[0]);
    assert_eq!(body["model"], "claude-sonnet-4.5");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 16000, "the model's output limit");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hello"}]}])
    );
    assert!(body.get("thinking").is_none(), "no effort, no thinking");
    assert!(!answer.content.is_empty());
    assert_eq!(answer.model, "claude-sonnet-4.5");
    assert!(answer.cost.is_some_and(|c| c.total_nano_aiu > 0));
    // The history is clean chat messages; nothing to replay beside a turn without thinking.
    let entries = session.history_entries();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.thinking_blocks.is_empty()));
    Ok(())
}

#[tokio::test]
async fn a_claude_tool_loop_replays_thinking_and_tool_use_across_three_turns()
-> Result<(), SdkError> {
    let (target, session) = mock_session(thinking_tool_config()).await?;
    let first = session.send_and_wait("Use get_weather for Lisbon").await?;
    assert_eq!(first.tool_rounds, 1);
    session.send_and_wait("And what should I wear?").await?;
    session.send_and_wait("Thanks, in one word?").await?;

    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    let sent = requests(&target, Endpoint::Messages);
    // Turn 1: the prompt and the tool follow-up; turns 2 and 3: one request each.
    assert_eq!(sent.len(), 4, "one request per model round");
    let initiators: Vec<Option<&str>> = sent.iter().map(|r| r.header("x-initiator")).collect();
    assert_eq!(
        initiators,
        [Some("user"), Some("agent"), Some("user"), Some("user")]
    );

    let bodies: Vec<Value> = sent.iter().map(body).collect();
    for body in &bodies {
        assert_eq!(body["thinking"]["type"], "enabled");
        assert_eq!(
            body["thinking"]["budget_tokens"], 15999,
            "high (16384), kept below max_tokens (16000)"
        );
        assert_eq!(body["tools"][0]["name"], "get_weather");
        assert_eq!(
            body["tools"][0]["input_schema"]["required"],
            json!(["city"])
        );
    }
    // The follow-up: the assistant's thinking (with its signature) first, then its text and tool_use; then
    // the result as a tool_result block of a user message.
    let follow_up = &bodies[1]["messages"];
    let assistant = follow_up[1]["content"].as_array().expect("blocks");
    let kinds: Vec<&str> = assistant
        .iter()
        .filter_map(|b| b["type"].as_str())
        .collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use"]);
    assert!(
        assistant[0]["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("mocksig")),
        "{assistant:?}"
    );
    assert_eq!(assistant[2]["name"], "get_weather");
    let city = assistant[2]["input"]["city"]
        .as_str()
        .expect("the call's city");
    let result = &follow_up[2];
    assert_eq!(result["role"], "user");
    assert_eq!(result["content"][0]["type"], "tool_result");
    assert_eq!(result["content"][0]["tool_use_id"], assistant[2]["id"]);
    // The tool ran with the replayed input and its result went back.
    let output: Value = serde_json::from_str(
        result["content"][0]["content"]
            .as_str()
            .expect("text result"),
    )
    .expect("the tool's JSON");
    assert_eq!(output, json!({"city": city, "sky": "clear"}));

    // Each later request replays every earlier answer's thinking unchanged: 1, 2, then 3 blocks.
    let counts: Vec<usize> = bodies.iter().map(|b| replayed_thinking(b).len()).collect();
    assert_eq!(counts, [0, 1, 2, 3]);
    assert_eq!(
        replayed_thinking(&bodies[3])[..2],
        replayed_thinking(&bodies[2])[..]
    );
    // What the turn showed as reasoning (its last round's) is what was replayed.
    let thought = replayed_thinking(&bodies[2])[1]["thinking"].clone();
    assert_eq!(first.reasoning.as_deref(), thought.as_str());
    // Beside the messages, never inside them.
    let entries = session.history_entries();
    assert_eq!(
        entries
            .iter()
            .filter(|e| !e.thinking_blocks.is_empty())
            .count(),
        4,
        "every answer of the three turns (two in the tool loop)"
    );
    Ok(())
}

#[tokio::test]
async fn a_forged_thinking_signature_is_sent_as_kept_and_refused() -> Result<(), SdkError> {
    let target = target().await;
    let forged = HistoryEntry::new(Message::assistant("Hi."))
        .thinking_blocks([ContentBlock::thinking("I made this up.", "mocksigforged")]);
    let session = session(
        &target,
        SessionConfig::new()
            .model("claude-sonnet-4.5")
            .history_entries([HistoryEntry::new(Message::user("Hello")), forged]),
    )
    .await?;
    let error = session
        .send_and_wait("Again")
        .await
        .expect_err("a forged signature is refused");
    assert!(
        matches!(&error, SdkError::Api(ApiError::BadRequest(_))),
        "{error:?}"
    );
    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        replayed_thinking(&body(&sent[0])),
        [json!({"type": "thinking", "thinking": "I made this up.", "signature": "mocksigforged"})]
    );
    Ok(())
}

#[tokio::test]
async fn a_resumed_claude_session_replays_its_thinking_blocks() -> Result<(), SdkError> {
    let target = target().await;
    let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
    let config = || SessionConfig::new().model("claude-sonnet-4.5");
    let session = octocat_client(&target, Some(store.clone()))?
        .create_session(config().session_id("thinker"))
        .await?;
    // "think" makes the mock's Claude think even without a thinking setting.
    let first = session.send_and_wait("Think about Porto").await?;
    assert!(first.reasoning.is_some());
    let kept = session.history_entries()[1].thinking_blocks.clone();
    assert_eq!(kept.len(), 1);
    assert!(
        session.history()[1].reasoning_opaque.is_some(),
        "the chat replay fields stay on the message"
    );
    drop(session);

    let resumed = octocat_client(&target, Some(store))?
        .resume_session("thinker", config())
        .await?;
    assert_eq!(resumed.history_entries()[1].thinking_blocks, kept);
    resumed.send_and_wait("And Lisbon?").await?;
    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 2);
    let replayed = replayed_thinking(&body(&sent[1]));
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        serde_json::to_value(&kept[0]).expect("serialisable"),
        replayed[0]
    );
    Ok(())
}

#[tokio::test]
async fn an_auto_model_session_that_picks_claude_goes_to_messages_with_its_token()
-> Result<(), SdkError> {
    let target = target().await;
    // The mock's Auto model selects the first enabled picker model after the chat default: with the
    // three before it turned off, that is Claude.
    for model in ["gpt-5.4", "gpt-5.3-codex", "o4-mini"] {
        crate::common::mock(&target).set_model_policy(model, "disabled");
    }
    let session = session(&target, SessionConfig::new().model("auto")).await?;
    let first = session.send_and_wait("Think about Porto").await?;
    let second = session.send_and_wait("And Lisbon?").await?;

    assert_eq!(first.model, "claude-sonnet-4.5");
    assert_eq!(second.model, first.model);
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 2);
    let tokens: Vec<Option<&str>> = sent
        .iter()
        .map(|r| r.header("copilot-session-token"))
        .collect();
    assert!(
        tokens[0].is_some_and(|t| t.starts_with("acs_")),
        "{tokens:?}"
    );
    assert_eq!(
        tokens[1], tokens[0],
        "one Auto-model session for both turns"
    );
    for request in &sent {
        assert_eq!(body(request)["model"], "claude-sonnet-4.5", "never `auto`");
        assert_eq!(request.header("x-initiator"), Some("user"));
    }
    // The first answer's thinking is replayed to the model Auto chose.
    assert_eq!(replayed_thinking(&body(&sent[1])).len(), 1);
    assert_eq!(session.model(), "auto");
    Ok(())
}

#[tokio::test]
async fn a_non_streamed_claude_tool_turn_keeps_its_thinking_signature() -> Result<(), SdkError> {
    use copilot_sdk::SessionEvent;
    use futures_util::StreamExt;
    let (target, session) = mock_session(thinking_tool_config().streaming(false)).await?;
    let events: Vec<SessionEvent> = session.send("Use get_weather for Lisbon").collect().await;
    let answer = final_answer(&events).expect("a final message");
    assert_eq!(answer.tool_rounds, 1);
    // One whole delta per round (the tool round's text, then the answer).
    let deltas = deltas(&events);
    assert_eq!(deltas.len(), 2, "{deltas:?}");
    assert_eq!(deltas[1], answer.content);
    assert!(answer.reasoning.is_some());
    assert!(answer.usage.is_some());
    assert!(answer.cost.is_some_and(|c| c.total_nano_aiu > 0));
    session.send_and_wait("And what should I wear?").await?;

    let sent = requests(&target, Endpoint::Messages);
    assert_eq!(sent.len(), 3, "one request per model round");
    let initiators: Vec<Option<&str>> = sent.iter().map(|r| r.header("x-initiator")).collect();
    assert_eq!(initiators, [Some("user"), Some("agent"), Some("user")]);
    let bodies: Vec<Value> = sent.iter().map(body).collect();
    for body in &bodies {
        assert!(body.get("stream").is_none(), "not streamed: {body}");
        assert_eq!(body["thinking"]["type"], "enabled");
    }
    // The follow-up replays the first answer's blocks as they came: thinking (signed), text, tool_use.
    let assistant = bodies[1]["messages"][1]["content"]
        .as_array()
        .expect("blocks");
    let kinds: Vec<&str> = assistant
        .iter()
        .filter_map(|b| b["type"].as_str())
        .collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use"]);
    assert_eq!(
        bodies[1]["messages"][2]["content"][0]["tool_use_id"],
        assistant[2]["id"]
    );
    // The next user turn replays both answers' signed thinking (the mock checks every signature).
    let replayed = replayed_thinking(&bodies[2]);
    assert_eq!(replayed.len(), 2);
    assert!(replayed.iter().all(|b| {
        b["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("mocksig"))
    }));
    let entries = session.history_entries();
    let kept: Vec<Value> = entries
        .iter()
        .flat_map(|e| e.thinking_blocks.iter())
        .map(|b| serde_json::to_value(b).expect("serialisable"))
        .collect();
    assert_eq!(kept[..2], replayed[..]);
    Ok(())
}

#[tokio::test]
async fn claude_reasoning_is_not_replayed_to_a_responses_model() -> Result<(), SdkError> {
    let (target, session) = mock_session(thinking_tool_config()).await?;
    session.send_and_wait("Use get_weather for Lisbon").await?;
    let entries = session.history_entries();
    let claude = entries
        .iter()
        .find(|e| e.message.role == copilot_sdk::Role::Assistant)
        .expect("an assistant entry");
    assert_eq!(claude.model.as_deref(), Some("claude-sonnet-4.5"));
    assert!(claude.message.reasoning_opaque.is_some() && !claude.thinking_blocks.is_empty());

    // On /responses, a Claude signature would be sent as another model's encrypted reasoning.
    session.set_model("gpt-5.3-codex");
    session.send_and_wait("And what should I wear?").await?;
    let responses = requests(&target, Endpoint::Responses);
    assert_eq!(responses.len(), 1);
    let input = body(&responses[0])["input"].clone();
    let items = input.as_array().expect("input items");
    assert!(
        items.iter().all(|item| item["type"] != "reasoning"),
        "no reasoning item from Claude's answers: {input}"
    );
    assert!(!input.to_string().contains("mocksig"), "{input}");
    assert!(
        items.iter().any(|item| item["type"] == "function_call"),
        "the tool round is still replayed: {input}"
    );

    // Claude's own turns keep their reasoning for Claude.
    session.set_model("claude-sonnet-4.5");
    session.send_and_wait("Thanks, in one word?").await?;
    let messages = requests(&target, Endpoint::Messages);
    assert_eq!(
        replayed_thinking(&body(messages.last().expect("a request"))).len(),
        2
    );
    Ok(())
}

#[tokio::test]
async fn switching_between_claude_and_a_chat_model_replays_the_history_on_each()
-> Result<(), SdkError> {
    let (target, session) = mock_session(thinking_tool_config()).await?;
    session.send_and_wait("Use get_weather for Lisbon").await?;
    session.set_model("gpt-4.1");
    assert_eq!(session.model(), "gpt-4.1");
    let on_chat = session.send_and_wait("And what should I wear?").await?;
    assert_eq!(on_chat.model, "gpt-4.1");
    session.set_model("claude-sonnet-4.5");
    session.send_and_wait("Thanks, in one word?").await?;

    let messages = requests(&target, Endpoint::Messages);
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(
        (messages.len(), chats.len()),
        (3, 1),
        "one request per round"
    );
    assert_eq!(chats[0].header("x-initiator"), Some("user"));
    assert_eq!(messages[2].header("x-initiator"), Some("user"));

    // On /chat/completions: the Claude tool round as a tool call and its result, no thinking blocks.
    let chat = body(&chats[0]);
    assert_eq!(chat["model"], "gpt-4.1");
    let history = chat["messages"].as_array().expect("messages");
    let roles: Vec<&str> = history.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant", "user"]);
    let call_id = &history[1]["tool_calls"][0]["id"];
    assert_eq!(
        history[1]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(&history[2]["tool_call_id"], call_id);
    assert!(
        !chat.to_string().contains("\"thinking\""),
        "no Messages thinking block on chat: {chat}"
    );
    // Claude's reasoning and signatures are Claude's: gpt-4.1 gets the answers without them.
    for message in history {
        assert!(
            message.get("reasoning_opaque").is_none() && message.get("reasoning_text").is_none(),
            "no Claude reasoning replayed to gpt-4.1: {message}"
        );
    }

    // Back on /v1/messages: the Claude answers with their signed thinking, the gpt-4.1 answer as text.
    let back = body(&messages[2]);
    assert_eq!(back["model"], "claude-sonnet-4.5");
    let history = back["messages"].as_array().expect("messages");
    let roles: Vec<&str> = history.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant",
            "user"
        ]
    );
    assert_eq!(history[1]["content"][0]["type"], "thinking");
    assert_eq!(history[1]["content"][2]["type"], "tool_use");
    assert_eq!(history[1]["content"][2]["id"], *call_id);
    assert_eq!(history[2]["content"][0]["tool_use_id"], *call_id);
    let chat_answer = history[5]["content"].as_array().expect("blocks");
    assert!(
        chat_answer.iter().all(|b| b["type"] == "text"),
        "{chat_answer:?}"
    );
    assert_eq!(chat_answer[0]["text"], on_chat.content);
    assert_eq!(replayed_thinking(&back).len(), 2, "the two Claude answers'");
    Ok(())
}
