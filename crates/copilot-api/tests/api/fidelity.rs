//! Fidelity of replayed real payloads (issue 15 section 7) and Copilot's cost (`copilot_usage`, section 4).

use copilot_api::{
    ApiError, ChatEvent, ChatEventDecoder, ChatResponse, CopilotUsage, Dialect, EventQueue,
    MessagesResponse, ResponseItem, ResponsesResponse, Usage,
};
use serde_json::json;

use crate::support::{collect, decode_all_ways, decode_with, events_json, fixture, to_wire};

/// A chunk stream with one broken `data:` line in the middle.
fn stream_with_a_broken_line() -> Vec<u8> {
    let mut input = to_wire(&fixture("sse_chat_plain_text_gpt4era.sse"), "\n");
    let at = input.windows(6).position(|w| w == b"data: ").unwrap() + 1;
    let at = at + input[at..].windows(6).position(|w| w == b"data: ").unwrap();
    let broken = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lost\"\n\n";
    input.splice(at..at, broken.iter().copied());
    input
}

#[test]
fn a_malformed_line_is_an_event_and_the_answer_goes_on() {
    let events = decode_all_ways(Dialect::ChatCompletions, &stream_with_a_broken_line());
    let malformed: Vec<&ChatEvent> = events
        .iter()
        .filter_map(|e| match e {
            Ok(event @ ChatEvent::Malformed { .. }) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(malformed.len(), 1);
    let ChatEvent::Malformed { raw, error } = malformed[0] else {
        unreachable!()
    };
    assert!(raw.contains("\"lost\""), "{raw}");
    assert!(error.contains("EOF"), "{error}");
    let chat = collect(events, None);
    assert_eq!(
        chat.message().unwrap().content,
        "Hello! How can I assist you with your programming needs today?"
    );
    assert!(chat.done_marker && chat.saw_finish);
    assert_eq!(chat.malformed.len(), 1);
}

#[test]
fn a_strict_decoder_ends_the_stream_at_the_malformed_line() {
    let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions).strict(true);
    let mut out = EventQueue::new();
    decoder.feed(&stream_with_a_broken_line(), &mut out);
    decoder.finish(&mut out);
    assert!(
        matches!(out.back(), Some(Err(ApiError::MalformedChunk { .. }))),
        "{out:?}"
    );
    assert!(out.iter().all(|e| !matches!(e, Ok(ChatEvent::Done { .. }))));
}

#[test]
fn delta_annotations_are_surfaced_like_copilot_annotations() {
    let stream = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\",\"annotations\":{\"CodeVulnerability\":[{\"id\":1}]},\"copilot_annotations\":{\"IPCodeCitations\":[]}}}]}\n\ndata: [DONE]\n\n";
    let events = events_json(&decode_with(Dialect::ChatCompletions, stream, 0));
    let extras: Vec<(&str, &serde_json::Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "extra")
        .map(|e| (e["name"].as_str().unwrap(), &e["value"]))
        .collect();
    assert_eq!(
        extras,
        [
            ("copilot_annotations", &json!({"IPCodeCitations": []})),
            ("annotations", &json!({"CodeVulnerability": [{"id": 1}]})),
        ]
    );
}

#[test]
fn gemini_reports_reasoning_tokens_at_the_top_of_usage() {
    let usage: Usage = serde_json::from_str(
        r#"{"prompt_tokens":10,"completion_tokens":50,"total_tokens":60,"reasoning_tokens":42}"#,
    )
    .unwrap();
    assert_eq!(usage.reasoning_tokens(), Some(42));
    let openai: Usage = serde_json::from_str(
        r#"{"completion_tokens_details":{"reasoning_tokens":7},"reasoning_tokens":42}"#,
    )
    .unwrap();
    assert_eq!(openai.reasoning_tokens(), Some(7), "the details win");
}

#[test]
fn every_responses_item_keeps_unknown_fields_for_replay() {
    let output = json!([
        {"type":"message","id":"msg_1","role":"assistant","status":"completed","phase":"final_answer",
         "content":[{"type":"output_text","text":"hi","annotations":[],"logprobs":[]}]},
        {"type":"function_call","id":"fc_1","call_id":"c1","name":"f","arguments":"{}","status":"completed"},
        {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"e","status":null},
        {"type":"function_call_output","call_id":"c1","output":"ok","status":"completed"},
        {"type":"web_search_call","id":"ws_1"}
    ]);
    let response: ResponsesResponse =
        serde_json::from_value(json!({"id":"r","output":output})).unwrap();
    let ResponseItem::Message { extra, .. } = &response.output[0] else {
        panic!("message")
    };
    assert_eq!(extra["phase"], "final_answer");
    assert_eq!(response.output_text(), "hi");
    assert!(matches!(response.output[4], ResponseItem::Other(_)));
    // Replaying the output as the next input keeps every field.
    assert_eq!(serde_json::to_value(&response.output).unwrap(), output);
}

#[test]
fn copilot_usage_is_read_from_every_endpoints_answer() {
    let usage =
        json!({"total_nano_aiu": 2_500_000_000u64, "token_details": [{"token_type":"input"}]});
    let chat: ChatResponse =
        serde_json::from_value(json!({"id":"c","choices":[],"copilot_usage":usage})).unwrap();
    let responses: ResponsesResponse =
        serde_json::from_value(json!({"id":"r","output":[],"copilot_usage":usage})).unwrap();
    let messages: MessagesResponse =
        serde_json::from_value(json!({"id":"m","content":[],"copilot_usage":usage})).unwrap();
    for cost in [
        chat.copilot_usage(),
        responses.copilot_usage(),
        messages.copilot_usage(),
    ] {
        let cost = cost.expect("copilot_usage");
        assert_eq!(cost.total_nano_aiu, 2_500_000_000);
        assert_eq!(cost.credits(), 2.5);
        assert!(cost.extra.contains_key("token_details"));
    }
}

#[test]
fn hostile_nano_aiu_values_saturate_instead_of_failing() {
    for (raw, expected) in [
        (json!(1.6), 2),
        (json!(-5), 0),
        (json!(1e30), u64::MAX),
        (json!("123"), 123),
        (json!(null), 0),
        (json!({"x": 1}), 0),
    ] {
        let usage: CopilotUsage = serde_json::from_value(json!({"total_nano_aiu": raw})).unwrap();
        assert_eq!(usage.total_nano_aiu, expected, "{raw}");
    }
    let mut total = CopilotUsage::default();
    total.add(&CopilotUsage::new(u64::MAX));
    total.add(&CopilotUsage::new(5));
    assert_eq!(total.total_nano_aiu, u64::MAX);
}

#[test]
fn the_cost_on_the_last_event_of_each_stream_reaches_the_collected_answer() {
    let chat = b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1},\"copilot_usage\":{\"total_nano_aiu\":700}}\n\ndata: [DONE]\n\n";
    let responses = b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"usage\":{\"input_tokens\":1}},\"copilot_usage\":{\"total_nano_aiu\":800}}\n\n";
    for (dialect, input, nano) in [
        (Dialect::ChatCompletions, &chat[..], 700),
        (Dialect::Responses, &responses[..], 800),
        (
            Dialect::Messages,
            &fixture("sse_messages_thinking_tool_use.sse")[..],
            1_250_000_000,
        ),
    ] {
        let collected = collect(decode_with(dialect, input, 0), None);
        assert_eq!(
            collected.copilot_usage.as_ref().map(|u| u.total_nano_aiu),
            Some(nano),
            "{dialect:?}"
        );
        assert!(collected.credits().is_some());
    }
}
