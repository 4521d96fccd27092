//! First-event and idle timeouts, with paused tokio time (no wall-clock waiting).

use std::sync::Arc;
use std::time::Duration;

use crate::support::{CONTENT_EVENT, channel_body};
use bytes::Bytes;
use copilot_api::{ApiError, ChatEvent, ChatStream, Dialect, StreamTimeouts};
use copilot_http::ResponseBody;
use copilot_http::time::TokioSleep;
use futures_util::StreamExt;

fn stream(body: ResponseBody) -> ChatStream {
    ChatStream::from_body(body, Dialect::ChatCompletions)
        .timeouts(StreamTimeouts {
            first_event: Some(Duration::from_secs(30)),
            idle: Some(Duration::from_secs(10)),
            max_duration: None,
        })
        .sleep(Arc::new(TokioSleep))
}

#[tokio::test(start_paused = true)]
async fn no_event_within_the_first_event_timeout() {
    let (tx, body) = channel_body();
    // A keep-alive comment is not an event: it does not satisfy the first-event timeout.
    tx.send(Ok(Bytes::from_static(b": keep-alive\n\n")))
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut stream = stream(body);
    match stream.next().await {
        Some(Err(ApiError::FirstEventTimeout { after })) => {
            assert_eq!(after, Duration::from_secs(30))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert!(stream.next().await.is_none());
    drop(tx);
}

#[tokio::test(start_paused = true)]
async fn stalled_stream_hits_the_idle_timeout() {
    let (tx, body) = channel_body();
    tx.send(Ok(Bytes::from_static(CONTENT_EVENT))).unwrap();
    let mut stream = stream(body);
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Content { .. }))
    ));
    let started = tokio::time::Instant::now();
    match stream.next().await {
        Some(Err(ApiError::IdleTimeout { after, partial })) => {
            assert_eq!(after, Duration::from_secs(10));
            assert_eq!(partial.events, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    drop(tx);
}

#[tokio::test(start_paused = true)]
async fn activity_resets_the_idle_timeout() {
    let (tx, body) = channel_body();
    let mut stream = stream(body);
    tx.send(Ok(Bytes::from_static(CONTENT_EVENT))).unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Content { .. }))
    ));
    let feeder = tokio::spawn(async move {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            tx.send(Ok(Bytes::from_static(b": still here\n\n")))
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n")))
            .unwrap();
    });
    // 32 s of stream with gaps of 8 s never trips the 10 s idle timeout.
    assert!(matches!(
        stream.next().await,
        Some(Ok(ChatEvent::Done {
            done_marker: true,
            ..
        }))
    ));
    feeder.await.unwrap();
}
