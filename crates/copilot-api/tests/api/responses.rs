//! `/responses`: request shape, initiator, stream events mapped onto `ChatEvent`, non-stream decoding.

use copilot_api::{
    ChatEvent, Dialect, FinishReason, ReasoningConfig, ReasoningEffort, ReasoningKind,
    ResponseItem, ResponsesRequest, ResponsesTool,
};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::support::{
    answering, client_for, collect, decode_all_ways, events_json, header, request_json, sse_answer,
};

/// A synthetic `/responses` stream (shape per `docs/protocol.md` §7): reasoning, text, a function call, completion.
fn responses_sse() -> Vec<u8> {
    let events = [
        json!({"type":"response.created","response":{"id":"resp_1","model":"gpt-5.3-codex","created_at":1750000000,"status":"in_progress"}}),
        json!({"type":"response.in_progress","response":{"id":"resp_1"}}),
        json!({"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}),
        json!({"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"Considering "}),
        json!({"type":"response.reasoning_summary_text.delta","output_index":0,"delta":"options."}),
        json!({"type":"response.reasoning_summary_part.done","output_index":0}),
        json!({"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Considering options."}],"encrypted_content":"gAAAAB-opaque=="}}),
        json!({"type":"response.output_item.added","output_index":1,"item":{"type":"message","role":"assistant","content":[]}}),
        json!({"type":"response.output_text.delta","output_index":1,"delta":"Running "}),
        json!({"type":"response.output_text.delta","output_index":1,"delta":"ls."}),
        json!({"type":"response.output_item.added","output_index":2,"item":{"type":"function_call","call_id":"call_9","name":"shell","arguments":""}}),
        json!({"type":"response.function_call_arguments.delta","output_index":2,"delta":"{\"cmd\":"}),
        json!({"type":"response.function_call_arguments.delta","output_index":2,"delta":"\"ls\"}"}),
        json!({"type":"response.function_call_arguments.done","output_index":2,"arguments":"{\"cmd\":\"ls\"}"}),
        json!({"type":"response.output_item.done","output_index":2,"item":{"type":"function_call","call_id":"call_9","name":"shell","arguments":"{\"cmd\":\"ls\"}"}}),
        json!({"type":"response.brand_new_event","x":1}),
        json!({"type":"response.completed","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":20,"output_tokens":9,"total_tokens":29,"input_tokens_details":{"cached_tokens":8},"output_tokens_details":{"reasoning_tokens":4}}}}),
    ];
    let mut out = String::new();
    for event in events {
        out.push_str(&format!(
            "event: {}\ndata: {}\n\n",
            event["type"].as_str().unwrap(),
            event
        ));
    }
    out.into_bytes()
}

#[test]
fn responses_stream_maps_onto_chat_events() {
    let events = decode_all_ways(Dialect::Responses, &responses_sse());
    insta::assert_json_snapshot!("events_responses_stream", events_json(&events));
    let chat = collect(events, None);
    let message = chat.message().unwrap();
    assert_eq!(message.content, "Running ls.");
    assert_eq!(message.reasoning.summary, "Considering options.");
    assert_eq!(message.reasoning.opaque.as_deref(), Some("gAAAAB-opaque=="));
    assert_eq!(message.tool_calls[0].id, "call_9");
    assert_eq!(message.tool_calls[0].function.arguments, r#"{"cmd":"ls"}"#);
    assert_eq!(message.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(chat.usage.as_ref().unwrap().cached_tokens(), Some(8));
    assert!(!chat.done_marker && chat.saw_finish);
    // Replay: reasoning with encrypted_content unchanged, then text, then the call.
    insta::assert_json_snapshot!("responses_replay_items", message.to_response_items());
}

#[test]
fn responses_incomplete_failed_and_error_events() {
    let incomplete = b"data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"r\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n";
    let events = decode_all_ways(Dialect::Responses, incomplete);
    assert!(events.iter().any(|e| matches!(
        e,
        Ok(ChatEvent::Finish {
            reason: FinishReason::Length,
            ..
        })
    )));
    let failed = b"data: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"code\":\"quota_exceeded\",\"message\":\"no quota\"}}}\n\n";
    let events = decode_all_ways(Dialect::Responses, failed);
    assert!(
        matches!(
            events.last(),
            Some(Err(copilot_api::ApiError::QuotaExceeded { .. }))
        ),
        "{events:?}"
    );
    let error = b"event: error\ndata: {\"type\":\"error\",\"code\":\"previous_response_not_found\",\"message\":\"gone\",\"param\":\"previous_response_id\"}\n\n";
    let events = decode_all_ways(Dialect::Responses, error);
    match events.last() {
        Some(Err(e)) => assert_eq!(e.code(), Some("previous_response_not_found")),
        other => panic!("{other:?}"),
    }
    // Reasoning text deltas (not only summaries) are surfaced too.
    let text = b"data: {\"type\":\"response.reasoning_text.delta\",\"delta\":\"hm\"}\n\n";
    assert!(matches!(
        &decode_all_ways(Dialect::Responses, text)[0],
        Ok(ChatEvent::Reasoning {
            kind: ReasoningKind::Text,
            ..
        })
    ));
}

#[tokio::test]
async fn responses_request_shape_and_function_call_output_initiator() {
    let server = answering("/responses", sse_answer(responses_sse())).await;
    let (client, _, _) = client_for(&server);
    let request = ResponsesRequest::new(
        "gpt-5.3-codex",
        vec![
            ResponseItem::user_text("List files"),
            ResponseItem::reasoning(
                Some("rs_0".into()),
                vec![],
                Some("gAAAA-unchanged==".into()),
            ),
            ResponseItem::function_call("call_1", "shell", "{}"),
            ResponseItem::function_call_output("call_1", "a.rs"),
        ],
    )
    .instructions("Be brief.")
    .tools(vec![ResponsesTool::function(
        "shell",
        "Runs a command",
        None,
    )])
    .reasoning(ReasoningConfig::new(
        Some(ReasoningEffort::Medium),
        Some("auto".into()),
    ))
    .max_output_tokens(1000);
    let chat = client
        .responses_stream(request)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(chat.message().unwrap().content, "Running ls.");
    let sent = server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(header(&sent, "x-initiator"), Some("agent"));
    insta::assert_json_snapshot!("request_responses_stream", request_json(&sent));

    let user_last = ResponsesRequest::new("gpt-5.3-codex", vec![ResponseItem::user_text("hi")]);
    client
        .responses_stream(user_last)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(header(&sent, "x-initiator"), Some("user"));
}

#[tokio::test]
async fn non_streamed_responses_decode() {
    let server = answering("/responses", ResponseTemplate::new(200).set_body_json(json!({
            "id": "resp_2", "model": "gpt-5.3-codex", "status": "completed",
            "output": [
                {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "blob"},
                {"type": "message", "role": "assistant", "id": "msg_2", "status": "completed", "content": [{"type": "output_text", "text": "Done.", "annotations": []}]},
                {"type": "web_search_call", "id": "ws_1"}
            ],
            "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
        }))).await;
    let (client, _, _) = client_for(&server);
    let response = client
        .responses(ResponsesRequest::new(
            "gpt-5.3-codex",
            vec![ResponseItem::user_text("hi")],
        ))
        .await
        .unwrap();
    assert_eq!(response.output_text(), "Done.");
    assert_eq!(response.finish_reason(), FinishReason::Stop);
    assert!(matches!(response.output[2], ResponseItem::Other(_)));
    assert_eq!(response.usage.unwrap().to_usage().total_tokens, 7);
}
