//! The exchange request shape and every error mapping, with snapshots.

use std::sync::Arc;
use std::time::Duration;

use copilot_http::time::{RecordingSleep, SystemClock};
use copilot_token::{CopilotToken, CredentialError, GitHubToken, TokenError, TokenExchanger};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use super::support::*;

struct Harness {
    server: MockServer,
    sleep: RecordingSleep,
    exchanger: TokenExchanger,
}

async fn harness() -> Harness {
    let server = MockServer::start().await;
    let sleep = RecordingSleep::new();
    let exchanger = exchanger(
        reqwest_transport(),
        host_for(&server),
        Arc::new(SystemClock),
        Arc::new(sleep.clone()),
    );
    Harness {
        server,
        sleep,
        exchanger,
    }
}

/// Mounts `template` on the exchange path (and the catch-all), exchanges once, and renders the first request
/// and the outcome for a snapshot.
async fn exchange_against(
    template: ResponseTemplate,
) -> (Harness, Result<CopilotToken, TokenError>, String) {
    let h = harness().await;
    mount_exchange(&h.server, template).await;
    mount_catch_all(&h.server).await;
    let result = h.exchanger.exchange(&GitHubToken::new(GH_TOKEN)).await;
    let requests = h.server.received_requests().await.unwrap();
    let shape = format!(
        "{}\nrequests: {}\n--- outcome\n{:#?}",
        request_shape(&requests[0]),
        requests.len(),
        result.as_ref().map(|_| "Ok(CopilotToken)")
    );
    (h, result, shape)
}

#[tokio::test]
async fn success_request_shape() {
    let body = fixture("token_v2_business_seat_2026-03_redacted_by_author.json");
    let (h, result, shape) =
        exchange_against(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
    insta::assert_snapshot!("exchange_success", shape);
    let token = result.unwrap();
    assert_eq!(
        token.base_url().as_str(),
        "https://api.business.githubcopilot.com/"
    );
    assert!(h.sleep.recorded().is_empty());
}

#[tokio::test]
async fn unauthorized_means_sign_in_again() {
    let (_h, result, shape) = exchange_against(ResponseTemplate::new(401).set_body_json(json!({
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401"
    })))
    .await;
    insta::assert_snapshot!("exchange_401", shape);
    let error = result.unwrap_err();
    assert!(error.requires_sign_in());
    assert!(error.to_string().contains("sign in again"), "{error}");
}

#[tokio::test]
async fn forbidden_with_copilot_envelope_is_not_entitled() {
    let (_h, result, shape) = exchange_against(ResponseTemplate::new(403).set_body_json(json!({
        "can_signup_for_limited": true,
        "error_details": {
            "message": "You do not have access to GitHub Copilot.",
            "notification_id": "no_copilot_access",
            "title": "No access",
            "url": "https://github.com/features/copilot"
        },
        "message": "No access to GitHub Copilot found.",
        "reason": "no_access"
    })))
    .await;
    insta::assert_snapshot!("exchange_403_not_entitled", shape);
    match result.unwrap_err() {
        TokenError::NotEntitled {
            notification_id,
            message,
            url,
            can_signup_for_limited,
        } => {
            assert_eq!(notification_id.as_deref(), Some("no_copilot_access"));
            assert_eq!(message, "You do not have access to GitHub Copilot.");
            assert_eq!(url.as_deref(), Some("https://github.com/features/copilot"));
            assert_eq!(can_signup_for_limited, Some(true));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn forbidden_rate_limit_is_rate_limited() {
    let (_h, result, shape) = exchange_against(
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "1800000900")
            .insert_header("retry-after", "60")
            .set_body_json(json!({
                "message": "API rate limit exceeded for user ID 1234.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": "403"
            })),
    )
    .await;
    insta::assert_snapshot!("exchange_403_rate_limit", shape);
    match result.unwrap_err() {
        TokenError::RateLimited {
            reset_at,
            retry_after,
            ..
        } => {
            assert_eq!(
                reset_at,
                Some(copilot_http::time::from_unix_seconds(1_800_000_900))
            );
            assert_eq!(retry_after, Some(Duration::from_secs(60)));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn forbidden_with_exhausted_rate_limit_header_is_rate_limited() {
    let (_h, result, shape) = exchange_against(
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-remaining", "0")
            .set_body_json(json!({"message": "You have exceeded a secondary limit"})),
    )
    .await;
    insta::assert_snapshot!("exchange_403_ratelimit_remaining_zero", shape);
    assert!(matches!(
        result.unwrap_err(),
        TokenError::RateLimited { reset_at: None, .. }
    ));
}

#[tokio::test]
async fn forbidden_for_personal_access_token_is_unsupported_source() {
    let (_h, result, shape) = exchange_against(ResponseTemplate::new(403).set_body_json(json!({
        "message": "Resource not accessible by personal access token",
        "documentation_url": "https://docs.github.com/rest",
        "status": "403"
    })))
    .await;
    insta::assert_snapshot!("exchange_403_pat", shape);
    assert!(matches!(
        result.unwrap_err(),
        TokenError::UnsupportedTokenSource { .. }
    ));
}

#[tokio::test]
async fn forbidden_otherwise_is_a_typed_http_error() {
    let (_h, result, shape) = exchange_against(
        ResponseTemplate::new(403)
            .insert_header("x-github-request-id", "ABCD:1234")
            .set_body_string("forbidden for reasons"),
    )
    .await;
    insta::assert_snapshot!("exchange_403_other", shape);
    assert!(matches!(
        result.unwrap_err(),
        TokenError::Http { status: 403, .. }
    ));
}

#[tokio::test]
async fn not_found_suggests_direct_mode() {
    // The recorded 404 of the exchange (protocol fixture); its body was not captured, so a GitHub REST-style
    // body is served as the fixture README asks.
    let line = String::from_utf8(fixture("error_bodies.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| {
            l["endpoint"]
                .as_str()
                .unwrap()
                .contains("copilot_internal/v2/token")
        })
        .unwrap();
    assert_eq!(line["status"], json!(404));
    let (_h, result, shape) = exchange_against(ResponseTemplate::new(404).set_body_json(json!({
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404"
    })))
    .await;
    insta::assert_snapshot!("exchange_404", shape);
    let error = result.unwrap_err();
    assert!(matches!(error, TokenError::ExchangeNotAvailable));
    assert!(error.to_string().contains("direct mode"));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_typed() {
    let (h, result, shape) = exchange_against(
        ResponseTemplate::new(502)
            .insert_header("x-github-request-id", "REQ-1")
            .set_body_string("bad gateway"),
    )
    .await;
    insta::assert_snapshot!("exchange_502_after_retries", shape);
    assert!(matches!(
        result.unwrap_err(),
        TokenError::Http { status: 502, ref request_id, .. } if request_id.as_deref() == Some("REQ-1")
    ));
    assert_eq!(count(&h.server, EXCHANGE_PATH).await, 3);
    assert_eq!(
        h.sleep.recorded(),
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
}

#[tokio::test]
async fn a_transient_server_error_is_recovered_by_retry() {
    let h = harness().await;
    Mock::given(matchers::path(EXCHANGE_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&h.server)
        .await;
    mount_exchange(
        &h.server,
        ResponseTemplate::new(200).set_body_json(envelope("tid=1:m", T0 + 1800, 1500)),
    )
    .await;
    mount_catch_all(&h.server).await;
    let token = h
        .exchanger
        .exchange(&GitHubToken::new(GH_TOKEN))
        .await
        .unwrap();
    assert_eq!(token.fields().tid(), Some("1"));
    assert_eq!(count(&h.server, EXCHANGE_PATH).await, 2);
    assert_eq!(h.sleep.recorded().len(), 1);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after_then_is_rate_limited() {
    let (h, result, shape) = exchange_against(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"message": "slow down"})),
    )
    .await;
    insta::assert_snapshot!("exchange_429", shape);
    assert!(matches!(
        result.unwrap_err(),
        TokenError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)
    ));
    assert_eq!(
        h.sleep.recorded(),
        vec![Duration::from_secs(7), Duration::from_secs(7)]
    );
}

#[tokio::test]
async fn other_statuses_keep_a_length_limited_sanitised_snippet() {
    let long = format!("line one\r\nline two {}", "x".repeat(5000));
    let (_h, result, shape) =
        exchange_against(ResponseTemplate::new(418).set_body_string(long)).await;
    insta::assert_snapshot!("exchange_418", shape);
    match result.unwrap_err() {
        TokenError::Http {
            status,
            snippet,
            endpoint,
            ..
        } => {
            assert_eq!(status, 418);
            assert_eq!(endpoint, "copilot_internal/v2/token");
            assert!(snippet.chars().count() <= 301, "{}", snippet.len());
            assert!(snippet.ends_with('…'));
            assert!(!snippet.contains('\n') && !snippet.contains('\r'));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn transport_errors_are_retried_then_reported() {
    // Nothing listens on this port once the listener is gone (wiremock pools its servers, so not one of those).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let host = copilot_http::GitHubHost::custom(base.clone(), base.clone(), base);
    let sleep = RecordingSleep::new();
    let exchanger = exchanger(
        reqwest_transport(),
        host,
        Arc::new(SystemClock),
        Arc::new(sleep.clone()),
    );
    let error = exchanger
        .exchange(&GitHubToken::new(GH_TOKEN))
        .await
        .unwrap_err();
    assert!(matches!(error, TokenError::Transport(_)), "{error:?}");
    assert_eq!(sleep.recorded().len(), 2, "three attempts in all");
}

#[tokio::test]
async fn token_kinds_that_can_never_work_are_refused_before_sending() {
    let h = harness().await;
    mount_catch_all(&h.server).await;
    for token in [
        "ghp_classicPAT",
        "ghr_refreshtoken",
        "  ",
        "gho_abc\nInjected: yes",
    ] {
        let error = h
            .exchanger
            .exchange(&GitHubToken::new(token))
            .await
            .unwrap_err();
        // The one refusal of copilot-core, typed, for every crate.
        assert!(
            matches!(
                error,
                TokenError::Credential(
                    CredentialError::UnsupportedToken { .. } | CredentialError::InvalidToken { .. }
                )
            ),
            "{error:?}"
        );
        assert!(!error.to_string().contains(token.trim()) || token.trim().is_empty());
    }
    assert_eq!(h.server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_poisoned_envelope_is_refused() {
    let mut body = envelope(&token_string("p", T0 + 1800), T0 + 1800, 1500);
    body["endpoints"]["api"] = json!("https://collector.evil.example");
    let (_h, result, _shape) =
        exchange_against(ResponseTemplate::new(200).set_body_json(body)).await;
    assert!(matches!(
        result.unwrap_err(),
        TokenError::UntrustedEndpoint { ref url } if url == "https://collector.evil.example"
    ));
}

#[tokio::test]
async fn sends_the_github_token_with_the_token_scheme() {
    // The exchange must send `token <gh>` (not Bearer) and the exact GitHub token.
    let h = harness().await;
    Mock::given(matchers::path(EXCHANGE_PATH))
        .and(matchers::header(
            "authorization",
            format!("token {GH_TOKEN}").as_str(),
        ))
        .and(matchers::header("accept", "application/json"))
        .and(matchers::header("x-github-api-version", "2025-04-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope("tid=1:m", T0, 1)))
        .mount(&h.server)
        .await;
    mount_catch_all(&h.server).await;
    h.exchanger
        .exchange(&GitHubToken::new(GH_TOKEN))
        .await
        .unwrap();
}
