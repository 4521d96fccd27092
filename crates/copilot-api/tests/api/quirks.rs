//! Each chunk quirk of `docs/protocol.md` §6, with hand-made chunk boundaries.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use copilot_api::{ApiError, ChatEvent, ChatStream, Dialect, FinishReason, ReasoningKind};
use copilot_http::{ResponseBody, TransportError};
use futures_util::StreamExt;

use crate::support::{CONTENT_EVENT, chat, collect, decode_all_ways, decode_split, events_json};

fn sse(chunks: &[&str]) -> Vec<u8> {
    let mut out = String::new();
    for chunk in chunks {
        out.push_str("data: ");
        out.push_str(chunk);
        out.push_str("\n\n");
    }
    out.into_bytes()
}

#[test]
fn claude_reuses_index_zero_for_successive_calls() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"Let me look.","role":"assistant"}}],"id":"msg_1","model":"claude-sonnet-4.5"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"tooluse_A","type":"function","function":{"name":"read_file","arguments":""}}]}}],"id":"msg_1"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]}}],"id":"msg_1"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a.rs\"}"}}]}}],"id":"msg_1"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"tooluse_B","type":"function","function":{"name":"list_dir","arguments":"{\"dir\":"}}]}}],"id":"msg_1"}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\".\"}"}}]}}],"id":"msg_1"}"#,
        r#"{"choices":[{"index":0,"finish_reason":"stop","delta":{"content":null}}],"id":"msg_1","usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#,
        "[DONE]",
    ]);
    let chat = collect(decode_all_ways(Dialect::ChatCompletions, &input), None);
    let message = chat.message().unwrap();
    let calls: Vec<_> = message
        .tool_calls
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.function.name.as_str(),
                c.function.arguments.as_str(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("tooluse_A", "read_file", r#"{"path":"a.rs"}"#),
            ("tooluse_B", "list_dir", r#"{"dir":"."}"#)
        ]
    );
    assert_eq!(message.content, "Let me look.");
    // "stop" with accumulated tool calls is treated as tool calls.
    assert_eq!(message.finish_reason, Some(FinishReason::ToolCalls));
    insta::assert_json_snapshot!("collected_claude_index_reuse", chat);
}

#[test]
fn parallel_calls_with_distinct_indexes_interleave() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"a","arguments":""}},{"index":1,"id":"call_2","function":{"name":"b","arguments":""}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"[]"}}]}}]}"#,
        r#"{"choices":[{"index":0,"finish_reason":"tool_calls","delta":{}}]}"#,
    ]);
    let chat = collect(chat(&input), None);
    let calls = &chat.message().unwrap().tool_calls;
    assert_eq!(
        (calls[0].id.as_str(), calls[0].function.arguments.as_str()),
        ("call_1", "[]")
    );
    assert_eq!(
        (calls[1].id.as_str(), calls[1].function.arguments.as_str()),
        ("call_2", "{}")
    );
}

#[test]
fn usage_only_trailing_chunk_is_kept_and_the_last_usage_wins() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"id":"x","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        r#"{"choices":[],"id":"x","usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2,"accepted_prediction_tokens":0,"rejected_prediction_tokens":1},"cache_creation_input_tokens":5},"copilot_usage":{"total_nano_aiu":123}}"#,
        "[DONE]",
    ]);
    let events = chat(&input);
    let chat = collect(crate::support::chat(&input), None);
    let usage = chat.usage.clone().unwrap();
    assert_eq!(usage.total_tokens, 10);
    assert_eq!(usage.cached_tokens(), Some(4));
    assert_eq!(usage.reasoning_tokens(), Some(2));
    assert_eq!(usage.cache_creation_input_tokens, Some(5));
    assert!(chat.extras.iter().any(|e| e.name == "copilot_usage"));
    insta::assert_json_snapshot!("events_usage_only_chunk", events_json(&events));
    // With n > 1 usage is ignored.
    assert!(collect(events, Some(2)).usage.is_none());
}

#[test]
fn reasoning_fields_are_separate_events_including_cot_id_after_finish() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"","role":"assistant","reasoning_text":"Think"}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"","reasoning_text":"ing."}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"","reasoning_opaque":"sig=="}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"Answer"}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"","reasoning_text":" late"}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"cot_summary":"**Summary**"}}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"id":"r"}"#,
        r#"{"choices":[{"index":0,"delta":{"cot_id":"cot_123"}}],"id":"r"}"#,
        "[DONE]",
    ]);
    let events = decode_all_ways(Dialect::ChatCompletions, &input);
    insta::assert_json_snapshot!("events_reasoning", events_json(&events));
    let chat = collect(events, None);
    let message = chat.message().unwrap();
    assert_eq!(message.content, "Answer");
    assert_eq!(message.reasoning.text, "Thinking. late");
    assert_eq!(message.reasoning.opaque.as_deref(), Some("sig=="));
    assert_eq!(message.reasoning.summary, "**Summary**");
    assert_eq!(message.reasoning.id.as_deref(), Some("cot_123"));
    // Replay: the next assistant message carries reasoning_text and reasoning_opaque.
    let replay = serde_json::to_value(message.to_message()).unwrap();
    assert_eq!(replay["reasoning_text"], "Thinking. late");
    assert_eq!(replay["reasoning_opaque"], "sig==");
}

#[test]
fn generic_reasoning_keys_are_understood() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"reasoning":"a","reasoning_content":"b","thinking":"c","signature":"s"}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"reasoning":{"effort":"high"}}}]}"#,
    ]);
    let events = chat(&input);
    let kinds: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Ok(ChatEvent::Reasoning { kind, text, .. }) => Some((*kind, text.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (ReasoningKind::Text, "b"),
            (ReasoningKind::Text, "a"),
            (ReasoningKind::Text, "c"),
            (ReasoningKind::Opaque, "s")
        ]
    );
    // A non-string `reasoning` is kept as an extra, not an error.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Ok(ChatEvent::Extra { name, .. }) if name == "reasoning"))
    );
}

#[test]
fn mid_stream_error_is_typed_and_ends_the_stream() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"par"}}],"id":"e"}"#,
        r#"{"error":{"message":"You have no quota","code":"quota_exceeded"}}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"never"}}],"id":"e"}"#,
        "[DONE]",
    ]);
    let events = decode_all_ways(Dialect::ChatCompletions, &input);
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[2], Err(ApiError::QuotaExceeded { info, .. }) if info.message == "You have no quota")
    );
    insta::assert_json_snapshot!("events_mid_stream_error", events_json(&events));
}

#[test]
fn stream_error_codes_map_like_http_errors() {
    let cases = [
        ("free_quota_exceeded", "QuotaExceeded"),
        ("overage_limit_reached", "QuotaExceeded"),
        ("billing_not_configured", "QuotaExceeded"),
        ("session_quota_exceeded", "QuotaExceeded"),
        ("content_filter", "ContentFiltered"),
        ("request_too_large", "RequestTooLarge"),
        ("not_found", "NotFound"),
        ("service_unavailable", "ServerError"),
        ("bad_request", "BadRequest"),
        ("user_model_rate_limited", "RateLimited"),
        ("model_not_supported", "ModelNotSupported"),
        ("user_weekly_rate_limited", "RateLimited"),
        ("no_available_model_endpoints", "NoAvailableModelEndpoints"),
        ("invalid_reasoning_effort", "InvalidReasoningEffort"),
        ("something_new", "StreamError"),
    ];
    for (code, variant) in cases {
        let input = sse(&[&format!(r#"{{"error":{{"message":"m","code":"{code}"}}}}"#)]);
        let events = chat(&input);
        let error = events[0].as_ref().expect_err("an error");
        assert!(
            format!("{error:?}").starts_with(variant),
            "{code}: {error:?}"
        );
        assert_eq!(error.code(), Some(code));
        assert_eq!(error.status(), None);
    }
}

#[test]
fn error_event_and_stray_error_json_become_errors() {
    let events = chat(
        b"event: error\ndata: {\"error\":{\"message\":\"boom\",\"code\":\"content_filter\"}}\n\n",
    );
    assert!(
        matches!(&events[0], Err(ApiError::ContentFiltered(_))),
        "{events:?}"
    );
    let events = chat(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n{\"error\":{\"message\":\"late failure\"}}\n");
    assert!(
        matches!(&events[1], Err(ApiError::StreamError(info)) if info.message == "late failure"),
        "{events:?}"
    );
}

#[test]
fn eof_without_done_reports_whether_a_finish_was_seen() {
    let finished = chat(&sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}"#,
    ]));
    assert!(matches!(
        finished.last(),
        Some(Ok(ChatEvent::Done {
            done_marker: false,
            saw_finish: true
        }))
    ));
    let truncated = chat(&sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#,
    ]));
    assert!(matches!(
        truncated.last(),
        Some(Ok(ChatEvent::Done {
            done_marker: false,
            saw_finish: false
        }))
    ));
}

#[test]
fn malformed_chunk_carries_a_snippet_in_strict_mode() {
    let chat = |input: &[u8]| {
        let mut decoder = copilot_api::ChatEventDecoder::new(Dialect::ChatCompletions).strict(true);
        let mut queue = copilot_api::EventQueue::new();
        decoder.feed(input, &mut queue);
        decoder.finish(&mut queue);
        Vec::from(queue)
    };
    let events = chat(b"data: {\"choices\":[{\"index\":\"zero\"}]}\n\n");
    match &events[0] {
        Err(ApiError::MalformedChunk { snippet, .. }) => {
            assert!(snippet.starts_with("{\"choices\""))
        }
        other => panic!("{other:?}"),
    }
    let long = format!("data: {{\"x\":\"{}\n\n", "y".repeat(10_000));
    match &chat(long.as_bytes())[0] {
        Err(ApiError::MalformedChunk { snippet, .. }) => assert!(snippet.chars().count() <= 513),
        other => panic!("{other:?}"),
    }
}

#[test]
fn copilot_extras_are_kept_raw() {
    let input = sse(&[
        r#"{"choices":[],"copilot_references":[{"id":null,"type":"github.file"}],"copilot_confirmation":{"title":"ok?"},"copilot_errors":[{"code":"x"}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"x","copilot_annotations":{"CodeVulnerability":[{"id":1}],"IPCodeCitations":[]}},"annotations":{"CodeVulnerability":[]}}]}"#,
    ]);
    let events = chat(&input);
    insta::assert_json_snapshot!("events_copilot_extras", events_json(&events));
}

#[test]
fn legacy_function_call_deltas() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"role":"function","function_call":{"name":"lookup","arguments":""}}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"function_call":{"arguments":"{\"q\":1}"}}}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]}"#,
    ]);
    let chat = collect(chat(&input), None);
    let message = chat.message().unwrap();
    let call = message.function_call.as_ref().unwrap();
    assert_eq!(
        (call.name.as_str(), call.arguments.as_str()),
        ("lookup", r#"{"q":1}"#)
    );
    assert_eq!(message.finish_reason, Some(FinishReason::FunctionCall));
}

#[test]
fn unknown_finish_reasons_and_fields_never_fail() {
    let input = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"a","new_field":{"deep":[1,2]}},"finish_reason":"brand_new","logprobs":null}],"object":"chat.completion.chunk","brand":"new","id":" spaced id "}"#,
    ]);
    let chat = collect(chat(&input), None);
    assert_eq!(
        chat.message().unwrap().finish_reason,
        Some(FinishReason::Other("brand_new".into()))
    );
    assert_eq!(chat.id.as_deref(), Some(" spaced id "));
}

#[test]
fn utf8_split_inside_a_character_and_escapes() {
    let input = sse(&[r#"{"choices":[{"index":0,"delta":{"content":"héllo 😀 \"q\" \u00e9"}}]}"#]);
    let emoji = input.windows(4).position(|w| w == "😀".as_bytes()).unwrap();
    let split = decode_split(
        Dialect::ChatCompletions,
        &input,
        &[emoji + 1, emoji + 2, emoji + 3],
    );
    let whole = decode_all_ways(Dialect::ChatCompletions, &input);
    assert_eq!(events_json(&split), events_json(&whole));
    assert_eq!(
        collect(whole, None).message().unwrap().content,
        "héllo 😀 \"q\" é"
    );
}

#[test]
fn framing_variants_with_keepalives_event_names_and_multiline_data() {
    let input = b": ping\r\n\r\nevent: message\r\nid: 1\r\nretry: 10\r\ndata:{\"choices\":\r\ndata: [{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\r\n\r\n: ping\rdata: [DONE]\r\r";
    let events = decode_all_ways(Dialect::ChatCompletions, input);
    assert_eq!(
        collect(decode_all_ways(Dialect::ChatCompletions, input), None)
            .message()
            .unwrap()
            .content,
        "ok"
    );
    assert!(matches!(
        events.last(),
        Some(Ok(ChatEvent::Done {
            done_marker: true,
            ..
        }))
    ));
}

#[tokio::test]
async fn chat_stream_decodes_a_body_split_one_byte_at_a_time() {
    let input = crate::support::to_wire(
        &crate::support::fixture("sse_chat_gpt4o_single_tool_call.sse"),
        "\n",
    );
    let pieces: Vec<Result<Bytes, TransportError>> = input
        .iter()
        .map(|b| Ok(Bytes::copy_from_slice(&[*b])))
        .collect();
    let stream = ChatStream::from_body(
        ResponseBody::from_stream(futures_util::stream::iter(pieces)),
        Dialect::ChatCompletions,
    );
    let chat = stream.collect().await.unwrap();
    assert_eq!(
        chat.message().unwrap().tool_calls[0].function.arguments,
        r#"{"query":"linkedlist"}"#
    );
    assert!(chat.done_marker);
}

#[tokio::test]
async fn transport_failure_mid_stream_reports_partial_progress() {
    let pieces: Vec<Result<Bytes, TransportError>> = vec![
        Ok(Bytes::from_static(CONTENT_EVENT)),
        Err(TransportError::ConnectionClosed {
            message: "reset".into(),
        }),
    ];
    let mut stream = ChatStream::from_body(
        ResponseBody::from_stream(futures_util::stream::iter(pieces)),
        Dialect::ChatCompletions,
    );
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Content { .. }))
    ));
    match stream.next().await {
        Some(Err(ApiError::StreamInterrupted { partial, .. })) => {
            assert_eq!(partial.events, 1);
            assert!(!partial.saw_finish);
            assert!(partial.bytes > 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(stream.next().await.is_none());
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A chat stream over a body that yields `first` and then never ends, with a flag set when the body is
/// dropped.
fn stream_then_pending(first: &'static [u8]) -> (ChatStream, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let body = futures_util::stream::once(async move { Ok(Bytes::from_static(first)) })
        .chain(futures_util::stream::pending())
        .map(move |item| {
            let _keep = &flag;
            item
        });
    let stream = ChatStream::from_body(ResponseBody::from_stream(body), Dialect::ChatCompletions);
    (stream, dropped)
}

#[tokio::test]
async fn dropping_the_stream_drops_the_body() {
    let (mut stream, dropped) = stream_then_pending(CONTENT_EVENT);
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Content { .. }))
    ));
    assert!(!dropped.load(Ordering::SeqCst));
    drop(stream);
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn done_ends_the_stream_and_releases_the_body() {
    let (mut stream, dropped) = stream_then_pending(b"data: [DONE]\n\n");
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Done {
            done_marker: true,
            ..
        }))
    ));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the body is dropped as soon as [DONE] is seen"
    );
    assert!(stream.next().await.is_none());
}
