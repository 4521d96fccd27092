//! The fault suite: what the SDK does when the network and the servers misbehave, driven by the mock's
//! fault injection through the public API only (`CopilotClient`, `Session`).
//!
//! Every test runs inside [`within`], an outer timeout that turns a hang into a failure with a clear
//! message. Retry waits go through an injected `RecordingSleep` over a `ManualClock` (instant, and the
//! requested waits can be asserted); only the stream-timeout tests use real time, with short timeouts
//! against much longer stalls, and assert only the kind of error, never how long anything took.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use copilot_mock::{Endpoint, Fault, FaultRule};
use copilot_sdk::api::ApiError;
use copilot_sdk::http::retry::RetryPolicy;
use copilot_sdk::http::time::{ManualClock, RecordingSleep, from_unix_seconds, unix_seconds};
use copilot_sdk::http::{FnTransport, HttpTransport, TransportError};
use copilot_sdk::{
    AssistantMessage, CopilotClientBuilder, Role, SdkError, Session, SessionConfig, SessionEvent,
    SharedTransport, StreamTimeouts,
};
use futures_util::StreamExt;

use crate::common::{Target, mock, requests, target};

/// No fault test may run longer than this; the slowest one needs well under a second.
const OUTER_TIMEOUT: Duration = Duration::from_secs(20);

/// The prompt every test sends, and the complete answer the mock gives to it (streamed in pieces of three
/// words: `You said: "Hello".` / ` This is a` / ` deterministic answer from` / ` copilot-mock.`).
const PROMPT: &str = "Hello";
const FULL_ANSWER: &str = "You said: \"Hello\". This is a deterministic answer from copilot-mock.";

/// Events of the mock's `gpt-4.1` answer to [`PROMPT`], as stream faults count them: 0 the prelude, 1 the
/// role delta, 2..=5 the content pieces, 6 the finish chunk, 7 usage, 8 `[DONE]`.
const AFTER_TWO_PIECES: usize = 4;

/// Short stream timeouts for the stall tests (the stalls last far longer).
const SHORT_TIMEOUT: Duration = Duration::from_millis(300);
const LONG_STALL: Duration = Duration::from_secs(5);

/// Runs a test body under [`OUTER_TIMEOUT`].
async fn within<F: Future>(test: &str, body: F) -> F::Output {
    match tokio::time::timeout(OUTER_TIMEOUT, body).await {
        Ok(output) => output,
        Err(_) => panic!("fault test `{test}` hung: no outcome within {OUTER_TIMEOUT:?}"),
    }
}

/// How a fault test's client waits.
enum Time {
    /// Tokio's clock and real sleeps (the stall tests: short stream timeouts against much longer stalls).
    Real,
    /// Injected time, for tests that assert retry waits: a manual clock on a whole second (HTTP-dates have
    /// one-second resolution) and a sleeper that records each wait, advances the clock and returns at once.
    ///
    /// The stream timeouts are turned off, because they share the sleeper: an instant sleep would fire them
    /// at the first pending read. Turns then run through [`Session::send`], which has no turn timeout.
    Instant,
}

/// What every fault test starts from: the mock, `octocat`'s GitHub token, a client made with it and a
/// `gpt-4.1` session.
struct Fixture {
    target: Target,
    github_token: String,
    session: Session,
    /// The injected clock (used by the client only with [`Time::Instant`]).
    clock: ManualClock,
    /// The injected sleeper, which records every wait (used by the client only with [`Time::Instant`]).
    sleep: RecordingSleep,
}

impl Fixture {
    /// Starts the mock and builds the client; `tweak` adjusts the builder last (timeouts, retry policy, a
    /// transport in front of the mock).
    async fn start(
        time: Time,
        tweak: impl FnOnce(CopilotClientBuilder, &Target) -> CopilotClientBuilder,
    ) -> Result<Fixture, SdkError> {
        let target = target().await;
        let github_token = target.user_token("octocat").expect("the mock mints tokens");
        let clock = ManualClock::new(from_unix_seconds(unix_seconds(SystemTime::now())));
        let sleep = RecordingSleep::advancing(clock.clone());
        let mut builder = target
            .client_builder()
            .github_token(github_token.clone())
            .use_logged_in_user(false);
        if let Time::Instant = time {
            builder = builder
                .clock(Arc::new(clock.clone()))
                .sleep(Arc::new(sleep.clone()))
                // The recording sleeper returns at once, so every timer would fire immediately.
                .stream_timeouts(StreamTimeouts::NONE);
        }
        let client = tweak(builder, &target).build()?;
        let session = client
            .create_session(SessionConfig::new().model("gpt-4.1"))
            .await?;
        Ok(Fixture {
            target,
            github_token,
            session,
            clock,
            sleep,
        })
    }
}

/// One fault test: `name(time[, tweak]) |fixture pattern| { body }` becomes a `#[tokio::test]` that starts a
/// [`Fixture`], runs the body under [`within`] (the body may use `?` on `SdkError`s) and fails with the error.
macro_rules! fault_test {
    ($(#[$attr:meta])* $name:ident($time:expr) |$fixture:pat_param| $body:block) => {
        fault_test!($(#[$attr])* $name($time, |builder, _| builder) |$fixture| $body);
    };
    ($(#[$attr:meta])* $name:ident($time:expr, $tweak:expr) |$fixture:pat_param| $body:block) => {
        $(#[$attr])*
        #[tokio::test]
        async fn $name() {
            let outcome = within(stringify!($name), async {
                // Bound whole first: fields the pattern leaves out (the mock among them) live to the end.
                let fixture = Fixture::start($time, $tweak).await?;
                let $fixture = &fixture;
                $body
                Ok::<(), SdkError>(())
            })
            .await;
            if let Err(error) = outcome {
                panic!("fault test `{}` failed: {error:?}", stringify!($name));
            }
        }
    };
}

/// A transport in front of the mock whose first chat request fails the way reqwest reports a connection
/// reset before any response.
fn reset_first_chat_request(target: &Target) -> SharedTransport {
    let resets_left = Arc::new(AtomicU32::new(1));
    let inner = target.transport.clone();
    SharedTransport::new(FnTransport::new(move |request| {
        let inner = inner.clone();
        let resets_left = resets_left.clone();
        async move {
            let chat = request.uri().path().ends_with("/chat/completions");
            let reset = chat
                && resets_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            if reset {
                return Err(TransportError::Connect {
                    url: "http://127.0.0.1/".into(),
                    message: "connection refused (injected)".into(),
                });
            }
            inner.send(request).await
        }
    }))
}

/// A transport in front of the mock that answers every chat request with one content delta and `[DONE]`,
/// without a finish reason.
fn done_without_finish_reason(target: &Target) -> SharedTransport {
    let inner = target.transport.clone();
    SharedTransport::new(FnTransport::new(move |request| {
        let inner = inner.clone();
        async move {
            if request.uri().path().ends_with("/chat/completions") {
                return Ok(copilot_sdk::http::HttpResponse::new(
                    copilot_sdk::http::ResponseBody::from_bytes(
                        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"You said\"}}]}\n\n\
                         data: [DONE]\n\n",
                    ),
                ));
            }
            inner.send(request).await
        }
    }))
}

/// What one streamed turn produced.
struct Turn {
    /// The message deltas, concatenated: the partial content when the turn failed.
    streamed: String,
    /// The final answer, or the error the turn ended with.
    outcome: Result<AssistantMessage, SdkError>,
}

/// Runs one turn through [`Session::send`] and checks the event protocol: exactly one final answer or
/// error, and `Idle` last.
async fn stream_turn(session: &Session, prompt: &str) -> Turn {
    let events: Vec<SessionEvent> = session.send(prompt).collect().await;
    assert!(
        matches!(events.last(), Some(SessionEvent::Idle)),
        "a turn always ends with Idle: {events:?}"
    );
    let mut streamed = String::new();
    let mut outcomes = Vec::new();
    for event in events {
        match event {
            SessionEvent::MessageDelta { content } => streamed.push_str(&content),
            SessionEvent::AssistantMessage(answer) => outcomes.push(Ok(answer)),
            SessionEvent::Error(error) => outcomes.push(Err(error)),
            _ => {}
        }
    }
    assert_eq!(outcomes.len(), 1, "exactly one answer or error per turn");
    let outcome = outcomes.pop().expect("one outcome");
    Turn { streamed, outcome }
}

fn statuses(target: &Target, endpoint: Endpoint) -> Vec<u16> {
    requests(target, endpoint)
        .iter()
        .map(|r| r.status)
        .collect()
}

/// The `ApiError` inside an SDK error (panics, naming the error, if it is anything else).
fn api_error(error: &SdkError) -> &ApiError {
    match error {
        SdkError::Api(api) => api,
        other => panic!("expected SdkError::Api, got {other:?}"),
    }
}

// ----- status faults before the stream: retried or typed -----

fault_test! {
    /// A 503 without `Retry-After` may come from a server that already has the turn: it is not re-sent
    /// (one billed request), it reaches the caller typed.
    server_error_on_a_turn_is_typed_and_not_re_sent(Time::Instant)
    |Fixture { target, session, sleep, .. }| {
        mock(target).set_fault(
            FaultRule::new(Endpoint::ChatCompletions, Fault::server_error(503)).times(2),
        );

        let turn = stream_turn(session, PROMPT).await;
        assert!(turn.outcome.is_err(), "the 503 is the answer");
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [503]);
        assert!(sleep.recorded().is_empty(), "{:?}", sleep.recorded());
    }
}

fault_test! {
    the_retry_policy_is_configurable(
        Time::Instant,
        |builder, _| builder.retry_policy(RetryPolicy::none())
    )
    |Fixture { target, session, sleep, .. }| {
        mock(target).set_fault(
            FaultRule::new(Endpoint::ChatCompletions, Fault::server_error(503)).times(1),
        );

        let turn = stream_turn(session, PROMPT).await;
        let error = turn.outcome.expect_err("no retry with RetryPolicy::none");
        assert!(
            matches!(api_error(&error), ApiError::ServerError(_)),
            "{error:?}"
        );
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [503]);
        assert!(sleep.recorded().is_empty(), "{:?}", sleep.recorded());
    }
}

fault_test! {
    rate_limit_waits_retry_after_seconds_then_succeeds(Time::Instant)
    |Fixture { target, session, sleep, .. }| {
        mock(target).set_fault(
            FaultRule::new(Endpoint::ChatCompletions, Fault::rate_limited(7)).times(1),
        );

        let answer = stream_turn(session, PROMPT).await.outcome?;
        assert_eq!(answer.content, FULL_ANSWER);
        assert_eq!(sleep.recorded(), [Duration::from_secs(7)]);
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [429, 200]);
    }
}

fault_test! {
    rate_limit_waits_until_retry_after_date_then_succeeds(Time::Instant)
    |Fixture { target, session, clock, sleep, .. }| {
        // The date is read against the injected clock, which stands still until the sleeper moves it.
        let until = copilot_sdk::http::time::Clock::now(clock) + Duration::from_secs(12);
        mock(target).set_fault(
            FaultRule::new(Endpoint::ChatCompletions, Fault::rate_limited_until(until))
                .times(1),
        );

        let answer = stream_turn(session, PROMPT).await.outcome?;
        assert_eq!(answer.content, FULL_ANSWER);
        assert_eq!(sleep.recorded(), [Duration::from_secs(12)]);
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [429, 200]);
    }
}

fault_test! {
    quota_exceeded_is_typed_and_not_retried(Time::Instant)
    |Fixture { target, session, sleep, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::quota_exceeded(),
        ));

        let error = stream_turn(session, PROMPT)
            .await
            .outcome
            .expect_err("402 fails the turn");
        let api = api_error(&error);
        assert!(matches!(api, ApiError::QuotaExceeded { .. }), "{api:?}");
        assert_eq!(api.status(), Some(402));
        assert_eq!(api.code(), Some("quota_exceeded"));
        assert!(!error.requires_sign_in());
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [402]);
        assert!(sleep.recorded().is_empty(), "{:?}", sleep.recorded());
    }
}

fault_test! {
    /// Every error code of issue 15 §6, produced by the mock's fault helpers, reaches a session turn as its
    /// typed error, with the status and code the mock wrote; none of them is re-sent.
    every_2026_error_code_reaches_the_turn_typed(Time::Instant)
    |Fixture { target, session, sleep, .. }| {
        type Check = fn(&ApiError) -> bool;
        let cases: [(Fault, u16, Option<&str>, Check); 6] = [
            (Fault::no_available_model_endpoints(), 400, Some("no_available_model_endpoints"),
                |e| matches!(e, ApiError::NoAvailableModelEndpoints(_))),
            (Fault::invalid_reasoning_effort("gpt-4.1", "xhigh", ["medium"]), 400,
                Some("invalid_reasoning_effort"), |e| matches!(e, ApiError::InvalidReasoningEffort(_))),
            (Fault::client_not_supported(), 466, None, |e| matches!(e, ApiError::ClientNotSupported(_))),
            (Fault::billing_not_configured(), 402, Some("billing_not_configured"),
                |e| matches!(e, ApiError::QuotaExceeded { .. })),
            (Fault::session_quota_exceeded(), 402, Some("session_quota_exceeded"),
                |e| matches!(e, ApiError::QuotaExceeded { .. })),
            // A weekly wait is far beyond the retry budget: the client gives up at once.
            (Fault::weekly_rate_limited(86_400), 429, Some("user_weekly_rate_limited"),
                |e| matches!(e, ApiError::RateLimited { bucket: Some(b), .. } if b == "user_weekly_rate_limited")),
        ];
        for (fault, status, code, is_expected) in cases {
            let label = format!("{fault:?}");
            mock(target).set_fault(FaultRule::new(Endpoint::ChatCompletions, fault).times(1));
            let before = statuses(target, Endpoint::ChatCompletions).len();
            let error = stream_turn(session, PROMPT)
                .await
                .outcome
                .expect_err("the fault fails the turn");
            let api = api_error(&error);
            assert!(is_expected(api), "{label}: {api:?}");
            assert_eq!(api.status(), Some(status), "{label}");
            assert_eq!(api.code(), code, "{label}");
            assert_eq!(statuses(target, Endpoint::ChatCompletions)[before..], [status], "{label}");
        }
        assert!(sleep.recorded().is_empty(), "{:?}", sleep.recorded());
    }
}

// ----- connection resets -----

fault_test! {
    /// A 200 head is final for a turn: a body reset before its first byte is not re-sent.
    reset_before_first_byte_is_typed_and_not_re_sent(Time::Instant)
    |Fixture { target, session, .. }| {
        mock(target).set_fault(
            FaultRule::new(
                Endpoint::ChatCompletions,
                Fault::ResetMidStream { after_events: 0 },
            )
            .times(1),
        );

        let turn = stream_turn(session, PROMPT).await;
        assert!(turn.outcome.is_err(), "the reset is reported");
        assert_eq!(turn.streamed, "", "nothing was streamed");
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

fault_test! {
    /// The mock cannot fail a connection before the request is sent, so this one fault is injected by a
    /// transport in front of it: the first chat request fails the way reqwest reports a refused
    /// connection, which proves the turn was never sent, so it is retried.
    connect_failure_before_sending_is_retried_then_succeeds(
        Time::Instant,
        |builder, target| builder.transport(reset_first_chat_request(target))
    )
    |Fixture { target, session, sleep, .. }| {
        let turn = stream_turn(session, PROMPT).await;
        let answer = turn.outcome?;
        assert_eq!(answer.content, FULL_ANSWER);
        assert_eq!(turn.streamed, FULL_ANSWER);
        // The refused request never reached the mock; the retry did, after one backoff.
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [200]);
        assert_eq!(sleep.recorded().len(), 1, "{:?}", sleep.recorded());
    }
}

fault_test! {
    reset_mid_stream_is_typed_with_partial_content_and_not_retried(Time::Instant)
    |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::ResetMidStream {
                after_events: AFTER_TWO_PIECES,
            },
        ));

        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "You said: \"Hello\". This is a");
        let error = turn.outcome.expect_err("a broken stream fails the turn");
        match api_error(&error) {
            ApiError::StreamInterrupted { partial, .. } => {
                assert!(partial.events >= 2, "{partial:?}");
                assert!(partial.bytes > 0, "{partial:?}");
                assert!(!partial.saw_finish, "{partial:?}");
            }
            other => panic!("expected StreamInterrupted, got {other:?}"),
        }
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

// ----- broken streams -----

fault_test! {
    truncated_stream_is_a_typed_error(Time::Real) |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::TruncateStream {
                after_events: AFTER_TWO_PIECES,
            },
        ));

        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "You said: \"Hello\". This is a");
        let error = turn
            .outcome
            .expect_err("an answer cut off before its finish chunk is not a complete answer");
        match api_error(&error) {
            ApiError::StreamInterrupted { partial, .. } => {
                assert!(!partial.saw_finish, "{partial:?}");
                assert!(partial.bytes > 0, "{partial:?}");
            }
            other => panic!("expected StreamInterrupted, got {other:?}"),
        }
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
        assert!(
            session.history().iter().all(|m| m.role != Role::Assistant),
            "the cut-off answer is not kept as an answer: {:?}",
            session.history()
        );
    }
}

fault_test! {
    /// `[DONE]` without any finish reason is just as truncated as a bare EOF. The mock always sends a finish
    /// chunk before `[DONE]`, so this body comes from a transport in front of it.
    done_without_a_finish_reason_is_a_typed_error(
        Time::Real,
        |builder, target| builder.transport(done_without_finish_reason(target))
    )
    |Fixture { session, .. }| {
        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "You said");
        let error = turn.outcome.expect_err("no finish reason, no complete answer");
        assert!(
            matches!(api_error(&error), ApiError::StreamInterrupted { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("truncated"), "{error}");
    }
}

fault_test! {
    malformed_chunk_is_skipped(Time::Real) |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::MalformedChunk {
                after_events: AFTER_TWO_PIECES,
            },
        ));

        // Real streams contain malformed lines: the decoder skips one (a `ChatEvent::Malformed`) and the
        // rest of the answer still arrives, without re-sending the prompt.
        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(
            turn.streamed,
            "You said: \"Hello\". This is a deterministic answer from copilot-mock."
        );
        turn.outcome.expect("the turn completes");
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

fault_test! {
    mid_stream_error_object_is_a_typed_error(Time::Real) |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::MidStreamError {
                after_events: AFTER_TWO_PIECES,
                code: "model_overloaded".into(),
                message: "The model is overloaded, try again later".into(),
            },
        ));

        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "You said: \"Hello\". This is a");
        let error = turn.outcome.expect_err("an error object fails the turn");
        let api = api_error(&error);
        assert!(matches!(api, ApiError::RateLimited { .. }), "{api:?}");
        assert_eq!(api.code(), Some("model_overloaded"));
        assert_eq!(
            api.status(),
            None,
            "a stream error has no status of its own"
        );
        assert!(
            api.info()
                .is_some_and(|info| info.message.contains("overloaded")),
            "{api:?}"
        );
        // Content was already streamed: re-sending would duplicate it.
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

fault_test! {
    missing_done_completes_normally(Time::Real) |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::MissingDone,
        ));

        let turn = stream_turn(session, PROMPT).await;
        let answer = turn.outcome?;
        assert_eq!(answer.content, FULL_ANSWER);
        assert_eq!(turn.streamed, FULL_ANSWER);
        assert!(answer.usage.is_some(), "the usage chunk still arrived");
        // The session stays usable: the next turn sees the answer in the history.
        mock(target).clear_faults();
        session.send_and_wait("again").await?;
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 2);
    }
}

// ----- stalls: the stream timeouts fire (real time, short timeouts, long stalls) -----

fault_test! {
    stalled_first_byte_fires_the_first_event_timeout(
        Time::Real,
        |builder, _| builder.stream_timeouts(StreamTimeouts {
            first_event: Some(SHORT_TIMEOUT),
            ..StreamTimeouts::new()
        })
    )
    |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::StallBeforeFirstByte(LONG_STALL),
        ));

        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "");
        let error = turn.outcome.expect_err("the stall outlasts the timeout");
        let api = api_error(&error);
        assert!(
            matches!(api, ApiError::FirstEventTimeout { after } if *after == SHORT_TIMEOUT),
            "{api:?}"
        );
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

fault_test! {
    stalled_mid_stream_fires_the_idle_timeout(
        Time::Real,
        |builder, _| builder.stream_timeouts(StreamTimeouts {
            idle: Some(SHORT_TIMEOUT),
            ..StreamTimeouts::new()
        })
    )
    |Fixture { target, session, .. }| {
        mock(target).set_fault(FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::StallMidStream {
                after_events: AFTER_TWO_PIECES,
                duration: LONG_STALL,
            },
        ));

        let turn = stream_turn(session, PROMPT).await;
        assert_eq!(turn.streamed, "You said: \"Hello\". This is a");
        let error = turn.outcome.expect_err("the stall outlasts the timeout");
        match api_error(&error) {
            ApiError::IdleTimeout { after, partial } => {
                assert_eq!(*after, SHORT_TIMEOUT);
                assert!(partial.events >= 2, "{partial:?}");
                assert!(!partial.saw_finish, "{partial:?}");
            }
            other => panic!("expected IdleTimeout, got {other:?}"),
        }
        assert_eq!(requests(target, Endpoint::ChatCompletions).len(), 1);
    }
}

// ----- credentials revoked mid-session -----

fault_test! {
    copilot_token_expired_mid_session_is_refreshed_once(Time::Real)
    |Fixture { target, session, .. }| {
        session.send_and_wait("first").await?;
        assert_eq!(requests(target, Endpoint::CopilotToken).len(), 1);

        mock(target).expire_copilot_tokens();
        let turn = stream_turn(session, PROMPT).await;
        let answer = turn.outcome?;
        assert_eq!(answer.content, FULL_ANSWER);
        assert_eq!(turn.streamed, FULL_ANSWER);
        assert_eq!(
            statuses(target, Endpoint::ChatCompletions),
            [200, 401, 200]
        );
        assert_eq!(requests(target, Endpoint::CopilotToken).len(), 2);
    }
}

fault_test! {
    github_token_revoked_mid_session_asks_to_sign_in_again(Time::Real)
    |Fixture { target, github_token, session, .. }| {
        session.send_and_wait("first").await?;

        assert!(mock(target).revoke_github_token(github_token));
        mock(target).expire_copilot_tokens();
        let turn = stream_turn(session, PROMPT).await;
        let error = turn.outcome.expect_err("no way to get a Copilot token");
        assert!(error.requires_sign_in(), "{error:?}");
        assert_eq!(turn.streamed, "");
        // One refresh attempt, refused by GitHub; the chat is not sent again without credentials.
        assert_eq!(
            statuses(target, Endpoint::CopilotToken),
            [200, 401],
            "exchanges"
        );
        assert_eq!(statuses(target, Endpoint::ChatCompletions), [200, 401]);
    }
}
