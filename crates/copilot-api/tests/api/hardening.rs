//! Hostile-server hardening (issue 14): bounded SSE buffers, an overall stream deadline, a bounded and quiet
//! models list. Each test failed before its fix.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use copilot_api::{
    ApiError, ChatEventDecoder, ChatStream, Dialect, EventQueue, ModelList, StreamTimeouts,
};
use copilot_http::time::TokioSleep;
use futures_util::StreamExt;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use crate::support::{CONTENT_EVENT, catch_all, channel_body, client_for, get};

const MIB: usize = 1024 * 1024;

/// Feeds `total` bytes of `piece` (cycled) in 64 KiB chunks; returns the decoder's queue.
fn feed_repeated(piece: &[u8], total: usize) -> EventQueue {
    let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions);
    let mut queue = EventQueue::new();
    let chunk: Vec<u8> = piece.iter().copied().cycle().take(64 * 1024).collect();
    let mut fed = 0;
    while fed < total && queue.is_empty() {
        decoder.feed(&chunk, &mut queue);
        fed += chunk.len();
    }
    queue
}

#[test]
fn a_line_without_end_fails_at_the_default_16_mib_cap() {
    let mut queue = feed_repeated(b"data: xxxxxxxxxxxxxxxxxxxxxxx", 17 * MIB);
    match queue.pop_front() {
        Some(Err(ApiError::SseLimit { .. })) => {}
        other => panic!("expected a typed limit error, got {other:?}"),
    }
}

#[test]
fn an_event_of_many_short_lines_fails_at_the_default_16_mib_cap() {
    // Every line is short, but no blank line ever ends the event.
    let mut queue = feed_repeated(
        b"data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
        24 * MIB,
    );
    match queue.pop_front() {
        Some(Err(ApiError::SseLimit { .. })) => {}
        other => panic!("expected a typed limit error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alives_do_not_keep_a_stream_open_past_its_max_duration() {
    let (tx, body) = channel_body();
    let mut stream = ChatStream::from_body(body, Dialect::ChatCompletions)
        .timeouts(StreamTimeouts {
            idle: Some(Duration::from_secs(10)),
            max_duration: Some(Duration::from_secs(3600)),
            ..StreamTimeouts::NONE
        })
        .sleep(Arc::new(TokioSleep));
    tx.send(Ok(Bytes::from_static(CONTENT_EVENT))).unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    let feeder = tokio::spawn(async move {
        // A keep-alive every 5 s, for a week.
        for _ in 0..(7 * 24 * 720) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if tx
                .send(Ok(Bytes::from_static(b": keep-alive\n\n")))
                .is_err()
            {
                return;
            }
        }
    });
    let started = tokio::time::Instant::now();
    match stream.next().await {
        Some(Err(ApiError::StreamDeadline { after, partial })) => {
            assert_eq!(after, Duration::from_secs(3600));
            assert_eq!(partial.events, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() <= Duration::from_secs(3600));
    assert!(stream.next().await.is_none());
    drop(stream);
    feeder.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_stream_byte_cap_ends_an_endless_stream_of_events() {
    let (tx, body) = channel_body();
    let mut stream = ChatStream::from_body(body, Dialect::ChatCompletions)
        .sse_limits(copilot_api::SseLimits::new().max_stream_bytes(1024u64));
    let event = Bytes::from_static(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"aaaaaaaaaa\"}}]}\n\n",
    );
    for _ in 0..100 {
        tx.send(Ok(event.clone())).unwrap();
    }
    let mut ok = 0;
    loop {
        match stream.next().await {
            Some(Ok(_)) => ok += 1,
            Some(Err(ApiError::SseLimit { limit, .. })) => {
                assert!(matches!(
                    limit,
                    copilot_api::SseLimitExceeded::Stream { limit: 1024 }
                ));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(ok < 100 && ok > 0, "{ok}");
}

#[test]
fn a_configured_line_cap_applies() {
    let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions)
        .sse_limits(copilot_api::SseLimits::new().max_line(100));
    let mut queue = EventQueue::new();
    decoder.feed(&[b'x'; 101], &mut queue);
    match queue.pop_front() {
        Some(Err(ApiError::SseLimit { limit, .. })) => assert!(matches!(
            limit,
            copilot_api::SseLimitExceeded::Line { limit: 100 }
        )),
        other => panic!("{other:?}"),
    }
    // Once failed, nothing more is buffered or reported.
    decoder.feed(&[b'x'; 1000], &mut queue);
    decoder.finish(&mut queue);
    assert!(queue.is_empty());
}

fn warnings_while(f: impl FnOnce()) -> usize {
    let (captured, subscriber) = crate::support::warnings();
    tracing::subscriber::with_default(subscriber, f);
    captured
        .text()
        .lines()
        .filter(|l| l.contains("WARN"))
        .count()
}

#[test]
fn many_bad_model_entries_log_one_summary_warning() {
    let entries: Vec<_> = (0..2000).map(|i| json!({"id": i})).collect();
    let body = serde_json::to_vec(&json!({"data": entries})).unwrap();
    let mut list = None;
    let warnings = warnings_while(|| list = Some(ModelList::from_json(&body).unwrap()));
    assert_eq!(list.unwrap().skipped, 2000);
    assert_eq!(warnings, 1);
}

#[test]
fn the_models_list_keeps_at_most_the_entry_cap() {
    let entries: Vec<_> = (0..20_000)
        .map(|i| json!({"id": format!("m{i}")}))
        .collect();
    let body = serde_json::to_vec(&json!({"data": entries})).unwrap();
    let list = ModelList::from_json(&body).unwrap();
    assert_eq!(list.data.len(), copilot_api::MAX_MODEL_ENTRIES);
    assert_eq!(list.truncated, 20_000 - copilot_api::MAX_MODEL_ENTRIES);
    assert_eq!(list.data[4095].id, "m4095");
}

#[tokio::test]
async fn a_models_body_over_8_mib_is_refused() {
    let server = MockServer::start().await;
    let padding = "x".repeat(9 * MIB);
    get("/models")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": "gpt-4o"}], "padding": padding})),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let error = client.models().await.expect_err("a 9 MiB models body");
    assert!(error.to_string().contains("limit"), "{error}");
}
