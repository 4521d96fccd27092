//! Every captured transcript decodes; snapshots pin each event sequence and each collected message.

use copilot_api::{ChatEvent, Dialect, FinishReason};

use crate::support::{collect, decode_all_ways, decode_with, events_json, fixture, to_wire};

const FIXTURES: &[&str] = &[
    "sse_chat_plain_text_gpt4era.sse",
    "sse_chat_gpt4o_single_tool_call.sse",
    "sse_chat_n2_two_choices.sse",
];

fn snapshot_name(file: &str) -> String {
    file.trim_end_matches(".sse").to_owned()
}

#[test]
fn every_fixture_decodes_the_same_with_lf_and_crlf_and_any_split() {
    for file in FIXTURES {
        let raw = fixture(file);
        let lf = decode_all_ways(Dialect::ChatCompletions, &to_wire(&raw, "\n"));
        let crlf = decode_all_ways(Dialect::ChatCompletions, &to_wire(&raw, "\r\n"));
        let cr = decode_with(Dialect::ChatCompletions, &to_wire(&raw, "\r"), 1);
        assert_eq!(events_json(&lf), events_json(&crlf), "{file}: CRLF");
        assert_eq!(events_json(&lf), events_json(&cr), "{file}: CR");
        assert!(lf.iter().all(Result::is_ok), "{file}: {lf:?}");
        assert!(matches!(
            lf.last(),
            Some(Ok(ChatEvent::Done {
                done_marker: true,
                saw_finish: true
            }))
        ));
        insta::assert_json_snapshot!(format!("events_{}", snapshot_name(file)), events_json(&lf));
        let n = if file.contains("n2") { Some(3) } else { None };
        insta::assert_json_snapshot!(format!("collected_{}", snapshot_name(file)), collect(lf, n));
    }
}

#[test]
fn single_newline_separators_would_join_everything_into_one_event() {
    // The fixtures as stored: one multi-line event whose data is not JSON. Proves the conversion matters.
    let events = decode_with(
        Dialect::ChatCompletions,
        &fixture("sse_chat_plain_text_gpt4era.sse"),
        0,
    );
    assert!(
        matches!(
            events.as_slice(),
            [
                Ok(copilot_api::ChatEvent::Malformed { .. }),
                Ok(copilot_api::ChatEvent::Done {
                    saw_finish: false,
                    ..
                })
            ]
        ),
        "{events:?}"
    );
}

#[test]
fn plain_text_fixture_assembles_the_reply() {
    let events = decode_with(
        Dialect::ChatCompletions,
        &to_wire(&fixture("sse_chat_plain_text_gpt4era.sse"), "\n"),
        1,
    );
    let chat = collect(events, None);
    let message = chat.message().expect("one choice");
    assert_eq!(
        message.content,
        "Hello! How can I assist you with your programming needs today?"
    );
    assert_eq!(message.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        chat.id.as_deref(),
        Some("chatcmpl-9XTNuRVy7pKFgXL5VsZKe5wfpiWQU")
    );
    // The prelude's prompt_filter_results is surfaced as an extra, not dropped.
    assert_eq!(chat.extras[0].name, "prompt_filter_results");
    assert!(chat.usage.is_none());
}

#[test]
fn tool_call_fixture_assembles_the_call_and_keeps_usage_from_the_finish_chunk() {
    let events = decode_with(
        Dialect::ChatCompletions,
        &to_wire(&fixture("sse_chat_gpt4o_single_tool_call.sse"), "\r\n"),
        5,
    );
    let chat = collect(events, None);
    let message = chat.message().expect("one choice");
    assert_eq!(message.tool_calls.len(), 1);
    let call = &message.tool_calls[0];
    assert_eq!(call.id, "call_ZQkSp6hzLvcGcH2L2CmaBkXM");
    assert_eq!(call.function.name, "copilot_searchCodebase");
    assert_eq!(call.function.arguments, r#"{"query":"linkedlist"}"#);
    assert_eq!(message.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(chat.usage.as_ref().map(|u| u.prompt_tokens), Some(218));
    assert_eq!(chat.model.as_deref(), Some("gpt-4o-2024-05-13"));
}

#[test]
fn n_choices_fixture_keeps_state_per_index() {
    let events = decode_with(
        Dialect::ChatCompletions,
        &to_wire(&fixture("sse_chat_n2_two_choices.sse"), "\n"),
        0,
    );
    let chat = collect(events, Some(3));
    assert_eq!(chat.choices.len(), 3);
    for (i, choice) in chat.choices.iter().enumerate() {
        assert_eq!(choice.index, i as u32);
        assert_eq!(choice.content, "generate");
        assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
    }
}
