//! The one retrier as the API client uses it: a call sends at most `max_attempts` requests (+1 after a
//! credential refresh), stays within `max_elapsed`, and never re-sends a turn the server may have processed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use copilot_api::{ApiError, CopilotApiClient, CopilotAuth, StaticAuth};
use copilot_http::retry::{MAX_RETRY_AFTER, RetryPolicy};
use copilot_http::time::{Clock, ManualClock, RecordingSleep};
use copilot_http::{FnTransport, ResponseBody, SharedTransport, TransportError};
use futures_util::StreamExt;
#[cfg(feature = "reqwest")]
use tokio::io::{AsyncReadExt, AsyncWriteExt};
#[cfg(feature = "reqwest")]
use tokio::net::TcpListener;

use crate::support::{RotatingAuth, hi};

const BASE: &str = "https://api.githubcopilot.com";

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// What the scripted server answers to its `n`-th request (from 0).
#[derive(Clone, Copy)]
enum Answer {
    Status(u16, Option<&'static str>),
    /// A 200 head whose body breaks before its first byte.
    BrokenBody,
}

/// A transport that answers per `script`, counting requests.
fn scripted(calls: Arc<AtomicUsize>, script: fn(usize) -> Answer) -> SharedTransport {
    SharedTransport::new(FnTransport::new(move |_request| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(match script(n) {
                Answer::Status(status, retry_after) => {
                    let mut response =
                        http::Response::new(ResponseBody::from_bytes("{\"error\":{}}"));
                    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    if let Some(value) = retry_after {
                        response
                            .headers_mut()
                            .insert("retry-after", value.parse().unwrap());
                    }
                    response
                }
                Answer::BrokenBody => {
                    http::Response::new(ResponseBody::from_stream(futures_util::stream::iter([
                        Err::<Bytes, _>(TransportError::ConnectionClosed {
                            message: "reset".into(),
                        }),
                    ])))
                }
            })
        }
    }))
}

struct Harness {
    client: CopilotApiClient,
    clock: ManualClock,
    calls: Arc<AtomicUsize>,
}

fn harness(
    auth: impl CopilotAuth + 'static,
    policy: RetryPolicy,
    script: fn(usize) -> Answer,
) -> Harness {
    let clock = ManualClock::new(t0());
    let calls = Arc::new(AtomicUsize::new(0));
    let client = CopilotApiClient::builder(auth)
        .transport(scripted(calls.clone(), script))
        .retry_policy(policy)
        .clock(clock.clone())
        .sleep(RecordingSleep::advancing(clock.clone()))
        .build()
        .unwrap();
    Harness {
        client,
        clock,
        calls,
    }
}

impl Harness {
    fn requests(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn elapsed(&self) -> Duration {
        self.clock.now().duration_since(t0()).unwrap()
    }

    async fn turn(&self, streamed: bool) -> Result<(), ApiError> {
        let request = hi();
        if streamed {
            let mut stream = self.client.chat_stream(request).await?;
            while let Some(event) = stream.next().await {
                event?;
            }
            Ok(())
        } else {
            self.client.chat(request).await.map(drop)
        }
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(4)
        .jitter(false)
        .max_elapsed(Duration::from_secs(60))
}

#[tokio::test]
async fn an_always_failing_server_gets_max_attempts_plus_one_refresh() {
    for streamed in [false, true] {
        // 401 (refresh), then 429 with Retry-After: 1 forever.
        let h = harness(RotatingAuth::new(BASE), policy(), |n| match n {
            0 => Answer::Status(401, None),
            _ => Answer::Status(429, Some("1")),
        });
        let error = h.turn(streamed).await.unwrap_err();
        assert!(matches!(error, ApiError::RateLimited { .. }), "{error:?}");
        assert_eq!(h.requests(), 4 + 1, "streamed: {streamed}");
        assert!(h.elapsed() <= Duration::from_secs(60));
    }
}

#[tokio::test]
async fn an_always_failing_server_never_holds_a_call_past_max_elapsed() {
    for streamed in [false, true] {
        let h = harness(
            StaticAuth::new("t", BASE.parse().unwrap()),
            policy()
                .max_attempts(10)
                .max_elapsed(Duration::from_secs(45)),
            |_| Answer::Status(503, Some("20")),
        );
        let error = h.turn(streamed).await.unwrap_err();
        assert!(matches!(error, ApiError::ServerError(_)), "{error:?}");
        // 0 s, 20 s, 40 s; a third wait would end at 60 s, past the budget.
        assert_eq!(h.requests(), 3, "streamed: {streamed}");
        assert!(h.elapsed() <= Duration::from_secs(45), "{:?}", h.elapsed());
    }
}

/// The nested loops of old: 503, 503, 503, then a 200 whose body broke, over and over, used to send 16
/// requests for one streamed turn. The retrier sends 4 and treats the 200 head as final.
#[tokio::test]
async fn a_streamed_turn_is_not_multiplied_by_nested_retries() {
    let h = harness(
        StaticAuth::new("t", BASE.parse().unwrap()),
        policy(),
        |n| match n % 4 {
            3 => Answer::BrokenBody,
            _ => Answer::Status(503, Some("0")),
        },
    );
    let error = h.turn(true).await.unwrap_err();
    assert!(
        matches!(error, ApiError::StreamInterrupted { .. }),
        "{error:?}"
    );
    assert_eq!(h.requests(), 4);
}

/// `Retry-After: 18446744073709551615` once a second has passed used to overflow `elapsed + wait` and
/// panic; now the wait is clamped and compared with what is left of the budget.
#[tokio::test]
async fn an_absurd_retry_after_neither_panics_nor_waits() {
    let clock = ManualClock::new(t0());
    let calls = Arc::new(AtomicUsize::new(0));
    let (counter, ticking) = (calls.clone(), clock.clone());
    let transport = FnTransport::new(move |_request| {
        counter.fetch_add(1, Ordering::SeqCst);
        // Each request takes two seconds.
        ticking.advance(Duration::from_secs(2));
        async {
            let mut response = http::Response::new(ResponseBody::from_bytes("{}"));
            *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert("retry-after", "18446744073709551615".parse().unwrap());
            Ok(response)
        }
    });
    let sleep = RecordingSleep::advancing(clock.clone());
    let client = CopilotApiClient::builder(StaticAuth::new("t", BASE.parse().unwrap()))
        .transport(SharedTransport::new(transport))
        .retry_policy(policy())
        .clock(clock.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let error = client.chat(hi()).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(MAX_RETRY_AFTER), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(sleep.recorded().is_empty());
}

#[cfg(feature = "reqwest")]
/// A raw HTTP/1.1 server on loopback that counts requests, reads each request completely (head and body),
/// then either closes without a word or sends `reply` and closes.
async fn raw_server(reply: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    received.extend_from_slice(&buffer[..read]);
                    if request_complete(&received) {
                        break;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket.write_all(reply).await;
                // Dropping the socket closes the connection.
            });
        }
    });
    (base, count)
}

#[cfg(feature = "reqwest")]
/// Whether `data` holds a whole request: the head and `content-length` bytes of body.
fn request_complete(data: &[u8]) -> bool {
    let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    data.len() >= head_end + 4 + length
}

#[cfg(feature = "reqwest")]
fn loopback_client(base: &str) -> CopilotApiClient {
    CopilotApiClient::builder(StaticAuth::new("t", base.parse().unwrap()))
        .transport(SharedTransport::new(
            copilot_http::ReqwestTransport::new().unwrap(),
        ))
        .retry_policy(policy())
        .sleep(RecordingSleep::new())
        .build()
        .unwrap()
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn a_turn_whose_connection_drops_after_sending_is_not_re_sent() {
    let (base, count) = raw_server(b"").await;
    let client = loopback_client(&base);
    for streamed in [false, true] {
        count.store(0, Ordering::SeqCst);
        let request = hi();
        let error = if streamed {
            client.chat_stream(request).await.unwrap_err()
        } else {
            client.chat(request).await.unwrap_err()
        };
        assert!(matches!(error, ApiError::Transport(_)), "{error:?}");
        assert_eq!(count.load(Ordering::SeqCst), 1, "streamed: {streamed}");
    }
    // The same failure on an idempotent GET is retried: the server counts every request.
    count.store(0, Ordering::SeqCst);
    client.models().await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn a_200_head_without_a_body_is_not_re_sent() {
    let (base, count) = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 1000\r\n\r\n",
    )
    .await;
    let client = loopback_client(&base);
    for streamed in [false, true] {
        count.store(0, Ordering::SeqCst);
        let request = hi();
        let error = if streamed {
            let mut stream = client.chat_stream(request).await.expect("the 200 head");
            loop {
                match stream.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => break error,
                    None => panic!("the body was cut short"),
                }
            }
        } else {
            client.chat(request).await.unwrap_err()
        };
        assert!(
            matches!(
                error,
                ApiError::StreamInterrupted { .. } | ApiError::Transport(_)
            ),
            "{error:?}"
        );
        assert_eq!(count.load(Ordering::SeqCst), 1, "streamed: {streamed}");
    }
}
