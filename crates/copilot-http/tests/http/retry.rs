use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use copilot_http::retry::{RetryPolicy, parse_retry_after, send_with_retry};
use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_http::{FnTransport, ReqwestTransport, ResponseBody, TransportError};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn exact_policy() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(4)
        .initial_backoff(Duration::from_millis(500))
        .max_backoff(Duration::from_secs(10))
        .max_elapsed(Duration::from_secs(60))
        .jitter(false)
}

fn get(url: String) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Mounts `failure` for the first `times` requests, then 200 with body `ok`.
async fn fail_then_succeed(server: &MockServer, failure: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .respond_with(failure)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn retries_429_then_succeeds_with_backoff() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ResponseTemplate::new(429), 1).await;
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    let transport = ReqwestTransport::new().unwrap();
    let response = send_with_retry(
        &transport,
        get(format!("{}/models", server.uri())),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&response.into_body().bytes().await.unwrap()[..], b"ok");
    assert_eq!(sleep.recorded(), vec![Duration::from_millis(500)]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn honours_retry_after_seconds() {
    let server = MockServer::start().await;
    let failure = ResponseTemplate::new(503).insert_header("retry-after", "7");
    fail_then_succeed(&server, failure, 2).await;
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    let transport = ReqwestTransport::new().unwrap();
    let response = send_with_retry(
        &transport,
        get(server.uri()),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        sleep.recorded(),
        vec![Duration::from_secs(7), Duration::from_secs(7)]
    );
}

#[tokio::test]
async fn honours_retry_after_http_date_against_the_injected_clock() {
    let clock = ManualClock::new(t0());
    let date = httpdate::fmt_http_date(t0() + Duration::from_secs(12));
    let server = MockServer::start().await;
    let failure = ResponseTemplate::new(429).insert_header("retry-after", date.as_str());
    fail_then_succeed(&server, failure, 1).await;
    let sleep = RecordingSleep::advancing(clock.clone());
    let transport = ReqwestTransport::new().unwrap();
    let response = send_with_retry(
        &transport,
        get(server.uri()),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sleep.recorded(), vec![Duration::from_secs(12)]);
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_returns_the_last_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    let transport = ReqwestTransport::new().unwrap();
    let response = send_with_retry(
        &transport,
        get(server.uri()),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(&response.into_body().bytes().await.unwrap()[..], b"boom");
    assert_eq!(
        sleep.recorded(),
        vec![
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn gives_up_when_retry_after_exceeds_the_time_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    let transport = ReqwestTransport::new().unwrap();
    let response = send_with_retry(
        &transport,
        get(server.uri()),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    assert!(sleep.recorded().is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn does_not_retry_non_retryable_statuses() {
    for status in [400u16, 401, 402, 403, 404, 421, 466] {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let transport = FnTransport::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(http::Response::builder()
                    .status(status)
                    .header("retry-after", "1")
                    .body(ResponseBody::empty())
                    .unwrap())
            }
        });
        let clock = ManualClock::new(t0());
        let sleep = RecordingSleep::new();
        let response = send_with_retry(
            &transport,
            get("https://x.test/".into()),
            &exact_policy(),
            &clock,
            &sleep,
        )
        .await
        .unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "status {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn retries_transport_errors_then_reports_the_typed_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = FnTransport::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            Err(TransportError::Connect {
                url: "https://x.test/".into(),
                message: "connection refused".into(),
            })
        }
    });
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    let policy = exact_policy().max_attempts(2);
    let error = send_with_retry(
        &transport,
        get("https://x.test/".into()),
        &policy,
        &clock,
        &sleep,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn does_not_retry_refused_requests() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = FnTransport::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            Err(TransportError::InsecureUrl {
                url: "http://x.test/".into(),
                reason: "test",
            })
        }
    });
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::new();
    let error = send_with_retry(
        &transport,
        get("http://x.test/".into()),
        &exact_policy(),
        &clock,
        &sleep,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, TransportError::InsecureUrl { .. }));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn backoff_doubles_caps_and_jitters_within_half_to_full() {
    let policy = exact_policy();
    assert_eq!(policy.backoff(1), Duration::from_millis(500));
    assert_eq!(policy.backoff(2), Duration::from_secs(1));
    assert_eq!(policy.backoff(6), Duration::from_secs(10));
    assert_eq!(policy.backoff(60), Duration::from_secs(10));
    let jittered = exact_policy().jitter(true);
    for retry in 1..8 {
        let full = policy.backoff(retry);
        let got = jittered.backoff(retry);
        assert!(
            got >= full / 2 && got <= full,
            "retry {retry}: {got:?} not in [{:?}, {full:?}]",
            full / 2
        );
    }
}

#[test]
fn parses_retry_after_forms() {
    let now = t0();
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("1.5", now),
        Some(Duration::from_millis(1500))
    );
    let future = httpdate::fmt_http_date(now + Duration::from_secs(30));
    assert_eq!(
        parse_retry_after(&future, now),
        Some(Duration::from_secs(30))
    );
    let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-5", now), None);
    // Absurd values from a server are refused, never a panic.
    assert_eq!(parse_retry_after("1e300", now), None);
    assert_eq!(parse_retry_after("NaN", now), None);
    assert_eq!(parse_retry_after("inf", now), None);
    assert_eq!(parse_retry_after("18446744073709551616", now), None);
}
