//! Device flow: request shapes, every poll outcome, the exact poll schedule, deadline and cancellation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use copilot_auth::{AuthError, DeviceCode, DeviceFlow, PollEvent, PollOutcome, TokenKind};
use copilot_http::time::{RecordingSleep, TokioClock, TokioSleep};
use copilot_http::{FnTransport, ResponseBody, SharedTransport};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, Sequence, json as reply};

const CLIENT_ID: &str = "Iv1.testclient";
const DEVICE_CODE: &str = "3584d83530557fdd1f46af8289938c8ef79f9dc5";

fn device_code_body(expires_in: u64, interval: u64) -> serde_json::Value {
    json!({
        "device_code": DEVICE_CODE,
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://github.com/login/device",
        "expires_in": expires_in,
        "interval": interval
    })
}

fn pending() -> ResponseTemplate {
    reply(
        200,
        json!({"error": "authorization_pending", "error_description": "pending"}),
    )
}

fn success() -> ResponseTemplate {
    reply(
        200,
        json!({"access_token": "ghu_devicetoken123", "token_type": "bearer", "scope": "",
               "expires_in": 28800, "refresh_token": "ghr_devicerefresh456",
               "refresh_token_expires_in": 15811200}),
    )
}

/// A server answering the device-code request and then `polls` in order.
async fn server_with(expires_in: u64, interval: u64, polls: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/device/code"))
        .respond_with(reply(200, device_code_body(expires_in, interval)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(Sequence::new(polls))
        .mount(&server)
        .await;
    common::mount_catch_all(&server).await;
    server
}

fn flow(
    server: &MockServer,
    sleep: &RecordingSleep,
    clock: &copilot_http::time::ManualClock,
) -> DeviceFlow {
    DeviceFlow::new(common::host(server), CLIENT_ID)
        .scopes(["read:user"])
        .transport(common::transport())
        .identity(common::identity())
        .clock(common::shared(clock))
        .sleep(Arc::new(sleep.clone()))
}

/// A device flow against `server` on manual time, started: the flow, its code and the sleeper.
async fn started(server: &MockServer) -> (DeviceFlow, DeviceCode, RecordingSleep) {
    let (clock, sleep) = common::manual_time();
    let flow = flow(server, &sleep, &clock);
    let code = flow.start().await.unwrap();
    (flow, code, sleep)
}

/// Starts a device flow against `server` and waits until it fails: the error and the waits it made.
async fn wait_for_error(server: &MockServer) -> (AuthError, RecordingSleep) {
    let (flow, code, sleep) = started(server).await;
    (flow.wait(&code).await.unwrap_err(), sleep)
}

/// A server whose device-code endpoint answers `reply` (and nothing else but the catch-all).
async fn device_code_server(reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    let device_code = Mock::given(path("/login/device/code")).respond_with(reply);
    device_code.mount(&server).await;
    common::mount_catch_all(&server).await;
    server
}

/// Starts a device flow against `server` on manual time.
async fn start(server: &MockServer) -> Result<DeviceCode, AuthError> {
    let (clock, sleep) = common::manual_time();
    flow(server, &sleep, &clock).start().await
}

/// A device flow on github.com over [`counting_transport`], on paused tokio time.
fn paused_flow(polls: &Arc<Mutex<u32>>) -> DeviceFlow {
    DeviceFlow::new(copilot_http::GitHubHost::github_com(), CLIENT_ID)
        .transport(counting_transport(polls.clone()))
        .clock(Arc::new(TokioClock::starting_at(common::t0())))
        .sleep(Arc::new(TokioSleep))
}

async fn poll_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/login/oauth/access_token")
        .collect()
}

fn secs(values: &[u64]) -> Vec<Duration> {
    values.iter().copied().map(Duration::from_secs).collect()
}

#[tokio::test]
async fn start_sends_the_documented_request_and_returns_the_code() {
    let server = server_with(900, 5, vec![success()]).await;
    let code = start(&server).await.unwrap();

    assert_eq!(code.user_code, "WDJB-MJHT");
    assert_eq!(code.verification_uri, "https://github.com/login/device");
    assert_eq!(code.verification_uri_complete, None);
    assert_eq!(code.interval, Duration::from_secs(5));
    assert_eq!(code.expires_in, Duration::from_secs(900));
    assert_eq!(code.expires_at, common::t0() + Duration::from_secs(900));
    assert_eq!(code.device_code().expose_secret(), DEVICE_CODE);
    assert!(!format!("{code:?}").contains(DEVICE_CODE));

    let requests = server.received_requests().await.unwrap();
    insta::assert_snapshot!("device_code_request", common::render_request(&requests[0]));
}

#[tokio::test]
async fn start_uses_rfc_defaults_and_keeps_verification_uri_complete() {
    let server = device_code_server(reply(
        200,
        json!({"device_code": DEVICE_CODE, "user_code": "AAAA-BBBB",
                   "verification_uri": "https://example.test/device",
                   "verification_uri_complete": "https://example.test/device?user_code=AAAA-BBBB"}),
    ))
    .await;
    let code = start(&server).await.unwrap();
    assert_eq!(code.interval, Duration::from_secs(5));
    assert_eq!(code.expires_in, Duration::from_secs(900));
    assert_eq!(
        code.verification_uri_complete.as_deref(),
        Some("https://example.test/device?user_code=AAAA-BBBB")
    );
}

#[tokio::test]
async fn start_maps_errors() {
    for (status, code, check) in [
        (
            200,
            "device_flow_disabled",
            (|e: &AuthError| matches!(e, AuthError::DeviceFlowDisabled)) as fn(&AuthError) -> bool,
        ),
        (400, "incorrect_client_credentials", |e| {
            matches!(e, AuthError::IncorrectClientCredentials)
        }),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/login/device/code"))
            .respond_with(reply(status, json!({"error": code})))
            .mount(&server)
            .await;
        let error = start(&server).await.unwrap_err();
        assert!(check(&error), "{code}: {error:?}");
    }
}

#[tokio::test]
async fn wait_follows_the_schedule_through_pending_and_slow_down() {
    let server = server_with(
        900,
        5,
        vec![
            pending(),
            reply(200, json!({"error": "slow_down"})),
            reply(200, json!({"error": "slow_down", "interval": 17})),
            pending(),
            success(),
        ],
    )
    .await;
    let (flow, code, sleep) = started(&server).await;
    let mut events = Vec::new();
    let token = flow
        .wait_with(&code, std::future::pending(), |e| events.push(e.clone()))
        .await
        .unwrap();

    // Wait before every poll, including the first; +5 s on a bare slow_down; the server's value otherwise.
    assert_eq!(sleep.recorded(), secs(&[5, 5, 10, 17, 17]));
    assert_eq!(
        events,
        vec![
            PollEvent::Pending { attempt: 1 },
            PollEvent::SlowDown {
                attempt: 2,
                interval: Duration::from_secs(10)
            },
            PollEvent::SlowDown {
                attempt: 3,
                interval: Duration::from_secs(17)
            },
            PollEvent::Pending { attempt: 4 },
        ]
    );
    assert_eq!(token.access_token.kind(), TokenKind::GitHubAppUser);
    assert_eq!(token.access_token.expose_secret(), "ghu_devicetoken123");
    assert_eq!(
        token.refresh_token.as_ref().unwrap().expose_secret(),
        "ghr_devicerefresh456"
    );
    let received = common::t0() + Duration::from_secs(5 + 5 + 10 + 17 + 17);
    assert_eq!(token.received_at, received);
    assert_eq!(
        token.expires_at(),
        Some(received + Duration::from_secs(28800))
    );
    assert_eq!(
        token.refresh_token_expires_at(),
        Some(received + Duration::from_secs(15811200))
    );

    let polls = poll_requests(&server).await;
    assert_eq!(polls.len(), 5);
    assert_eq!(
        common::form_field(&polls[0], "device_code").unwrap(),
        DEVICE_CODE
    );
    insta::assert_snapshot!("device_poll_request", common::render_request(&polls[0]));
}

#[tokio::test]
async fn poll_once_reports_each_non_terminal_outcome() {
    let server = server_with(
        900,
        5,
        vec![
            pending(),
            reply(200, json!({"error": "slow_down"})),
            reply(200, json!({"error": "slow_down", "interval": 12})),
            success(),
        ],
    )
    .await;
    let (flow, code, sleep) = started(&server).await;
    assert!(matches!(
        flow.poll_once(&code).await.unwrap(),
        PollOutcome::Pending
    ));
    assert!(matches!(
        flow.poll_once(&code).await.unwrap(),
        PollOutcome::SlowDown { interval } if interval == Duration::from_secs(10)
    ));
    assert!(matches!(
        flow.poll_once(&code).await.unwrap(),
        PollOutcome::SlowDown { interval } if interval == Duration::from_secs(12)
    ));
    assert!(matches!(
        flow.poll_once(&code).await.unwrap(),
        PollOutcome::Complete(_)
    ));
    assert!(sleep.recorded().is_empty(), "poll_once never sleeps");
}

type Check = fn(&AuthError) -> bool;

fn terminal_cases() -> Vec<(serde_json::Value, Check)> {
    vec![
        (json!({"error": "access_denied"}), |e| {
            matches!(e, AuthError::AccessDenied { .. })
        }),
        (json!({"error": "expired_token"}), |e| {
            matches!(e, AuthError::ExpiredDeviceCode)
        }),
        (json!({"error": "token_expired"}), |e| {
            matches!(e, AuthError::ExpiredDeviceCode)
        }),
        (json!({"error": "incorrect_device_code"}), |e| {
            matches!(e, AuthError::IncorrectDeviceCode)
        }),
        (json!({"error": "incorrect_client_credentials"}), |e| {
            matches!(e, AuthError::IncorrectClientCredentials)
        }),
        (json!({"error": "device_flow_disabled"}), |e| {
            matches!(e, AuthError::DeviceFlowDisabled)
        }),
        (json!({"error": "unsupported_grant_type"}), |e| {
            matches!(e, AuthError::UnsupportedGrantType)
        }),
        (
            json!({"error": "brand_new_code", "error_description": "something new"}),
            |e| {
                matches!(e, AuthError::OAuth { code, description }
                if code == "brand_new_code" && description.as_deref() == Some("something new"))
            },
        ),
    ]
}

#[tokio::test]
async fn every_terminal_error_stops_the_wait_github_style_200() {
    for (body, check) in terminal_cases() {
        let server = server_with(900, 5, vec![pending(), reply(200, body.clone())]).await;
        let (error, sleep) = wait_for_error(&server).await;
        assert!(check(&error), "{body}: {error:?}");
        assert_eq!(sleep.recorded(), secs(&[5, 5]), "{body}");
        assert_eq!(poll_requests(&server).await.len(), 2);
    }
}

#[tokio::test]
async fn every_terminal_error_stops_the_wait_rfc_style_400() {
    for (body, check) in terminal_cases() {
        let server = server_with(900, 5, vec![reply(400, body.clone())]).await;
        let (error, _) = wait_for_error(&server).await;
        assert!(check(&error), "{body}: {error:?}");
    }
}

#[tokio::test]
async fn rfc_style_400_pending_and_slow_down_keep_polling() {
    let server = server_with(
        900,
        5,
        vec![
            reply(400, json!({"error": "authorization_pending"})),
            reply(400, json!({"error": "slow_down"})),
            success(),
        ],
    )
    .await;
    let (flow, code, sleep) = started(&server).await;
    flow.wait(&code).await.unwrap();
    assert_eq!(sleep.recorded(), secs(&[5, 5, 10]));
}

#[tokio::test]
async fn a_200_without_access_token_is_not_success() {
    let server = server_with(900, 5, vec![reply(200, json!({"token_type": "bearer"}))]).await;
    let (error, _) = wait_for_error(&server).await;
    assert!(
        matches!(error, AuthError::MalformedResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn form_encoded_replies_are_understood() {
    let server = server_with(
        900,
        5,
        vec![
            ResponseTemplate::new(200).set_body_raw(
                "error=authorization_pending",
                "application/x-www-form-urlencoded",
            ),
            ResponseTemplate::new(200).set_body_raw(
                "access_token=gho_formtoken&scope=read%3Auser&token_type=bearer",
                "application/x-www-form-urlencoded",
            ),
        ],
    )
    .await;
    let (flow, code, _) = started(&server).await;
    let token = flow.wait(&code).await.unwrap();
    assert_eq!(token.access_token.kind(), TokenKind::OAuth);
    assert_eq!(token.scopes, vec!["read:user"]);
}

#[tokio::test]
async fn wait_stops_at_the_deadline_even_if_the_server_never_says_expired() {
    let server = server_with(20, 5, vec![pending()]).await;
    let (error, sleep) = wait_for_error(&server).await;
    assert!(matches!(error, AuthError::ExpiredDeviceCode), "{error:?}");
    // Polls at t0+5, +10, +15; the next would be at +20 = the deadline.
    assert_eq!(sleep.recorded(), secs(&[5, 5, 5]));
    assert_eq!(poll_requests(&server).await.len(), 3);
}

#[tokio::test]
async fn the_deadline_accounts_for_slow_down() {
    let server = server_with(
        30,
        5,
        vec![reply(200, json!({"error": "slow_down", "interval": 20}))],
    )
    .await;
    let (error, sleep) = wait_for_error(&server).await;
    assert!(matches!(error, AuthError::ExpiredDeviceCode));
    // Poll at +5 → interval 20; the next poll would be at +25 < 30; then +45 ≥ 30.
    assert_eq!(sleep.recorded(), secs(&[5, 20]));
}

#[tokio::test]
async fn transient_failures_are_reported_and_polling_continues() {
    let server = server_with(
        900,
        5,
        vec![
            ResponseTemplate::new(502).set_body_string("bad gateway"),
            success(),
        ],
    )
    .await;
    let (flow, code, sleep) = started(&server).await;
    let mut events = Vec::new();
    flow.wait_with(&code, std::future::pending(), |e| events.push(e.clone()))
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [PollEvent::Retrying { attempt: 1, .. }]),
        "{events:?}"
    );
    assert_eq!(sleep.recorded(), secs(&[5, 5]));
}

#[tokio::test]
async fn cancelling_from_the_progress_callback_stops_before_the_next_poll() {
    let server = server_with(900, 5, vec![pending()]).await;
    let (flow, code, _) = started(&server).await;
    let cancel = CancellationToken::new();
    let error = flow
        .wait_with(&code, cancel.clone().cancelled_owned(), |event| {
            if matches!(event, PollEvent::Pending { attempt: 2 }) {
                cancel.cancel();
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Cancelled), "{error:?}");
    assert_eq!(poll_requests(&server).await.len(), 2);
}

/// A transport that counts polls and answers `authorization_pending`, for paused-time tests without
/// network I/O.
fn counting_transport(polls: Arc<Mutex<u32>>) -> SharedTransport {
    SharedTransport::new(FnTransport::new(move |request| {
        let polls = polls.clone();
        async move {
            let body = if request.uri().path() == "/login/device/code" {
                device_code_body(900, 5)
            } else {
                *polls.lock().unwrap() += 1;
                json!({"error": "authorization_pending"})
            };
            Ok(http::Response::new(ResponseBody::from_bytes(
                body.to_string(),
            )))
        }
    }))
}

#[tokio::test(start_paused = true)]
async fn cancellation_during_the_first_wait_sends_no_poll() {
    let polls = Arc::new(Mutex::new(0));
    let flow = paused_flow(&polls);
    let code: DeviceCode = flow.start().await.unwrap();
    let started = tokio::time::Instant::now();
    let error = flow
        .wait_with(&code, tokio::time::sleep(Duration::from_secs(3)), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Cancelled));
    assert_eq!(*polls.lock().unwrap(), 0);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn paused_time_schedule_runs_to_the_deadline() {
    let polls = Arc::new(Mutex::new(0));
    let flow = paused_flow(&polls);
    let code = flow.start().await.unwrap();
    let started = tokio::time::Instant::now();
    let error = flow.wait(&code).await.unwrap_err();
    assert!(matches!(error, AuthError::ExpiredDeviceCode));
    // 900 s at 5 s: polls at 5, 10, …, 895.
    assert_eq!(*polls.lock().unwrap(), 179);
    assert_eq!(started.elapsed(), Duration::from_secs(895));
}

#[tokio::test]
async fn device_requests_refuse_plain_http_to_remote_hosts() {
    let host = copilot_http::GitHubHost::custom(
        url::Url::parse("http://github.example").unwrap(),
        url::Url::parse("http://api.github.example").unwrap(),
        url::Url::parse("http://copilot.example").unwrap(),
    );
    let polls = Arc::new(Mutex::new(0));
    let flow = DeviceFlow::new(host, CLIENT_ID).transport(counting_transport(polls));
    let error = flow.start().await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Transport(copilot_http::TransportError::InsecureUrl { .. })
        ),
        "{error:?}"
    );
}

/// A hostile or broken server sending absurd `expires_in` / `interval` values must not make the flow
/// panic on time arithmetic: the deadline saturates and the flow still ends (here on the server's denial).
#[tokio::test]
async fn absurd_expiry_and_interval_values_never_panic() {
    let server = server_with(
        u64::MAX,
        u64::MAX / 2,
        vec![
            reply(200, json!({"error": "slow_down", "interval": u64::MAX})),
            reply(200, json!({"error": "access_denied"})),
        ],
    )
    .await;
    let (error, _) = wait_for_error(&server).await;
    assert!(
        matches!(
            error,
            AuthError::AccessDenied { .. } | AuthError::ExpiredDeviceCode
        ),
        "{error:?}"
    );
}

/// A device-code reply whose `verification_uri` or `user_code` is no https link / no printable code (a
/// `file://` URL, terminal escape sequences, a shell metacharacter-laden URL to plain http) is refused
/// before anything is shown to the user (issue 14).
#[tokio::test]
async fn hostile_verification_uri_or_user_code_is_refused() {
    let cases = [
        json!({"verification_uri": "file:///etc/passwd"}),
        json!({"verification_uri": "https://github.com/login/device\u{1b}]8;;https://evil.example\u{7}"}),
        json!({"verification_uri": "http://evil.example/device&calc.exe"}),
        json!({"verification_uri": "javascript:alert(1)"}),
        json!({"verification_uri": "https://user:pw@github.com/login/device"}),
        json!({"user_code": "WDJB\u{1b}[2J-MJHT"}),
        json!({"user_code": ""}),
        json!({"user_code": "X".repeat(200)}),
    ];
    for overrides in cases {
        let mut body = device_code_body(900, 5);
        for (key, value) in overrides.as_object().unwrap() {
            body[key] = value.clone();
        }
        let server = device_code_server(reply(200, body)).await;
        match start(&server).await {
            Err(AuthError::MalformedResponse { .. }) => {}
            other => panic!("{overrides}: {other:?}"),
        }
    }
}

/// A `verification_uri_complete` that fails the same checks is dropped; the plain URI and code still work.
#[tokio::test]
async fn hostile_verification_uri_complete_is_dropped() {
    let mut body = device_code_body(900, 5);
    body["verification_uri_complete"] = json!("file:///tmp/x\u{1b}[2J");
    let server = device_code_server(reply(200, body)).await;
    let code = start(&server).await.unwrap();
    assert_eq!(code.verification_uri_complete, None);
    assert_eq!(code.verification_uri, "https://github.com/login/device");
}
