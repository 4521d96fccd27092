use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use copilot_http::retry::{RetryPolicy, parse_retry_after, send_with_retry};
use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_http::{
    FnTransport, HttpResponse, HttpTransport, ReqwestTransport, ResponseBody, TransportError,
};
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

/// Starts a server that answers every GET with `answer`.
async fn always(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// Sends a GET to `url` once through `send_with_retry` with `clock` and a sleeper that advances it;
/// returns the outcome and the sleeper, so a test can read the waits.
async fn send(
    transport: &dyn HttpTransport,
    url: &str,
    policy: &RetryPolicy,
    clock: &ManualClock,
) -> (Result<HttpResponse, TransportError>, RecordingSleep) {
    let sleep = RecordingSleep::advancing(clock.clone());
    let outcome = send_with_retry(transport, get(url.into()), policy, clock, &sleep).await;
    (outcome, sleep)
}

/// Sends a GET to `url` over a real [`ReqwestTransport`] under [`exact_policy`], the clock at [`t0`].
async fn send_over_reqwest(url: &str) -> (HttpResponse, RecordingSleep) {
    let transport = ReqwestTransport::new().unwrap();
    let (outcome, sleep) = send(&transport, url, &exact_policy(), &ManualClock::new(t0())).await;
    (outcome.unwrap(), sleep)
}

/// A transport that counts its calls and answers each with `answer()`; returns it and the counter.
fn counting(
    answer: impl Fn() -> Result<HttpResponse, TransportError> + Send + Sync + 'static,
) -> (FnTransport, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = FnTransport::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        std::future::ready(answer())
    });
    (transport, calls)
}

/// An empty response with `status` and, when given, a `Retry-After` header.
fn status_with_retry_after(status: u16, retry_after: Option<&str>) -> HttpResponse {
    let mut response = http::Response::new(ResponseBody::from_bytes(""));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    if let Some(value) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", value.parse().unwrap());
    }
    response
}

#[tokio::test]
async fn retries_429_then_succeeds_with_backoff() {
    let server = MockServer::start().await;
    fail_then_succeed(&server, ResponseTemplate::new(429), 1).await;
    let (response, sleep) = send_over_reqwest(&format!("{}/models", server.uri())).await;
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
    let (response, sleep) = send_over_reqwest(&server.uri()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        sleep.recorded(),
        vec![Duration::from_secs(7), Duration::from_secs(7)]
    );
}

#[tokio::test]
async fn honours_retry_after_http_date_against_the_injected_clock() {
    let date = httpdate::fmt_http_date(t0() + Duration::from_secs(12));
    let server = MockServer::start().await;
    let failure = ResponseTemplate::new(429).insert_header("retry-after", date.as_str());
    fail_then_succeed(&server, failure, 1).await;
    let (response, sleep) = send_over_reqwest(&server.uri()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(sleep.recorded(), vec![Duration::from_secs(12)]);
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_returns_the_last_response() {
    let server = always(ResponseTemplate::new(500).set_body_string("boom")).await;
    let (response, sleep) = send_over_reqwest(&server.uri()).await;
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
    let server = always(ResponseTemplate::new(429).insert_header("retry-after", "3600")).await;
    let (response, sleep) = send_over_reqwest(&server.uri()).await;
    assert_eq!(response.status(), 429);
    assert!(sleep.recorded().is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn does_not_retry_non_retryable_statuses() {
    for status in [400u16, 401, 402, 403, 404, 421, 466] {
        let (transport, calls) = counting(move || Ok(status_with_retry_after(status, Some("1"))));
        let clock = ManualClock::new(t0());
        let (outcome, _) = send(&transport, "https://x.test/", &exact_policy(), &clock).await;
        assert_eq!(outcome.unwrap().status(), status);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "status {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn retries_transport_errors_then_reports_the_typed_error() {
    let (transport, calls) = counting(|| {
        Err(TransportError::Connect {
            url: "https://x.test/".into(),
            message: "connection refused".into(),
        })
    });
    let policy = exact_policy().max_attempts(2);
    let (outcome, _) = send(
        &transport,
        "https://x.test/",
        &policy,
        &ManualClock::new(t0()),
    )
    .await;
    let error = outcome.unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn does_not_retry_refused_requests() {
    let (transport, calls) = counting(|| {
        Err(TransportError::InsecureUrl {
            url: "http://x.test/".into(),
            reason: "test",
        })
    });
    let clock = ManualClock::new(t0());
    let (outcome, _) = send(&transport, "http://x.test/", &exact_policy(), &clock).await;
    assert!(matches!(
        outcome.unwrap_err(),
        TransportError::InsecureUrl { .. }
    ));
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

/// `Retry-After: 18446744073709551615` once a second had passed overflowed `elapsed + wait` and panicked.
/// The wait is clamped and compared with the remaining budget: the answer is returned, nothing waits.
#[tokio::test]
async fn an_absurd_retry_after_after_a_second_neither_panics_nor_waits() {
    let clock = ManualClock::new(t0());
    let ticking = clock.clone();
    let (transport, calls) = counting(move || {
        ticking.advance(Duration::from_secs(2));
        Ok(status_with_retry_after(503, Some("18446744073709551615")))
    });
    let (outcome, sleep) = send(&transport, "https://x.test/", &exact_policy(), &clock).await;
    assert_eq!(outcome.unwrap().status(), 503);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(sleep.recorded().is_empty());
    assert_eq!(
        parse_retry_after("18446744073709551615", t0()),
        Some(copilot_http::retry::MAX_RETRY_AFTER)
    );
}

#[test]
fn the_classifier_retries_a_non_idempotent_call_only_when_it_was_not_processed() {
    use copilot_http::retry::{Idempotency, Verdict, classify};
    let now = t0();
    let post = Idempotency::NonIdempotent;
    let get = Idempotency::Idempotent;
    let retry = |wait: Option<u64>| Verdict::Retry {
        server_wait: wait.map(Duration::from_secs),
    };
    for (idempotency, status, retry_after, verdict) in [
        (post, 429, None, retry(None)),
        (post, 429, Some("3"), retry(Some(3))),
        (post, 503, Some("2"), retry(Some(2))),
        (post, 503, None, Verdict::Final),
        (post, 500, Some("2"), Verdict::Final),
        (post, 502, None, Verdict::Final),
        (post, 200, None, Verdict::Final),
        (post, 401, None, Verdict::RefreshCredentials),
        (post, 421, None, Verdict::RefreshCredentials),
        (get, 503, None, retry(None)),
        (get, 502, None, retry(None)),
        (get, 403, None, Verdict::RefreshCredentials),
        (get, 404, None, Verdict::Final),
    ] {
        let response = status_with_retry_after(status, retry_after);
        assert_eq!(
            classify(idempotency, Ok(&response), now),
            verdict,
            "{idempotency:?} {status} {retry_after:?}"
        );
    }
    let connect = TransportError::Connect {
        url: "https://x.test/".into(),
        message: "refused".into(),
    };
    let closed = TransportError::ConnectionClosed {
        message: "reset".into(),
    };
    let read_timeout = TransportError::Timeout {
        phase: "read",
        after: None,
    };
    assert_eq!(classify(post, Err(&connect), now), retry(None));
    assert_eq!(classify(post, Err(&closed), now), Verdict::Final);
    assert_eq!(classify(post, Err(&read_timeout), now), Verdict::Final);
    assert_eq!(classify(get, Err(&closed), now), retry(None));
    assert_eq!(classify(get, Err(&read_timeout), now), retry(None));
}
