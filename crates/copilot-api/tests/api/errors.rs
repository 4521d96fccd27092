//! HTTP error mapping: every line of `error_bodies.jsonl` plus each status of `docs/protocol.md` §12.

use std::time::Duration;

use copilot_api::ApiError;
use copilot_http::retry::RetryPolicy;
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client_for, fixture, hi};

/// Serves `response` for every request and returns what a chat call maps it to.
async fn chat_error(response: ResponseTemplate) -> ApiError {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(response)
        .mount(&server)
        .await;
    let (_, _, clock) = client_for(&server);
    let client = copilot_api::CopilotApiClient::builder(copilot_api::StaticAuth::new(
        "t",
        server.uri().parse().unwrap(),
    ))
    .retry_policy(RetryPolicy::none())
    .clock(clock)
    .build()
    .unwrap();
    client.chat(hi()).await.expect_err("an error")
}

fn variant(error: &ApiError) -> String {
    format!("{error:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_captured_error_body_maps_to_its_variant() {
    let expected = [
        "ModelNotSupported",
        "UnsupportedApiForModel",
        "PolicyDenied",
        "TokenExpired",
        "Forbidden",
        "UnsupportedTokenSource",
        "NotFound",
        "Misdirected",
    ];
    let lines = String::from_utf8(fixture("error_bodies.jsonl")).unwrap();
    let mut summary = Vec::new();
    for (line, expected) in lines.lines().zip(expected) {
        let entry: Value = serde_json::from_str(line).unwrap();
        let status = entry["status"].as_u64().unwrap() as u16;
        let content_type = entry["content_type"]
            .as_str()
            .unwrap()
            .trim_end_matches('?');
        let body = entry["body"].as_str().unwrap();
        let error = chat_error(
            ResponseTemplate::new(status)
                .insert_header("content-type", content_type)
                .insert_header("x-request-id", "req-1")
                .insert_header("x-github-request-id", "GH:1")
                .set_body_string(body),
        )
        .await;
        assert_eq!(variant(&error), expected, "{line}");
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.request_id(), Some("req-1"));
        assert_eq!(error.github_request_id(), Some("GH:1"));
        summary.push(serde_json::json!({
            "status": status, "variant": variant(&error), "code": error.code(), "message": error.info().unwrap().message,
        }));
    }
    assert_eq!(summary.len(), 8);
    insta::assert_json_snapshot!("error_bodies_mapping", summary);
}

#[tokio::test]
async fn each_status_maps_per_the_table() {
    let json = |code: &str| format!(r#"{{"error":{{"message":"m","code":"{code}"}}}}"#);
    let cases: Vec<(u16, String, &str)> = vec![
        (400, json("previous_response_not_found"), "BadRequest"),
        (400, json("off_topic"), "BadRequest"),
        (400, "bad request: Personal Access Tokens are not supported for this endpoint".into(), "UnsupportedTokenSource"),
        (400, r#"{"error":{"message":"model gpt-5.4 is not accessible via the /chat/completions endpoint","code":"unsupported_api_for_model"}}"#.into(), "UnsupportedApiForModel"),
        (401, "unauthorized".into(), "Unauthorized"),
        (401, r#"{"message":"authorize first","authorize_url":"https://github.com/apps/x/installations/new"}"#.into(), "AgentUnauthorized"),
        (402, json("quota_exceeded"), "QuotaExceeded"),
        (403, "access to this endpoint is forbidden".into(), "Forbidden"),
        (404, String::new(), "NotFound"),
        (413, String::new(), "RequestTooLarge"),
        (421, "Misdirected Request".into(), "Misdirected"),
        (422, String::new(), "ContentFiltered"),
        (424, String::new(), "ServerError"),
        (429, json("user_weekly_rate_limited"), "RateLimited"),
        (429, "too many concurrent vision requests, please retry".into(), "RateLimited"),
        (466, String::new(), "ClientNotSupported"),
        (499, String::new(), "ServerCanceled"),
        (500, String::new(), "ServerError"),
        (503, json("upstream_provider_rate_limit"), "RateLimited"),
        (504, "<html>gateway timeout</html>".into(), "ServerError"),
        (418, "teapot".into(), "Http"),
    ];
    for (status, body, expected) in cases {
        let error = chat_error(ResponseTemplate::new(status).set_body_string(body.clone())).await;
        assert_eq!(variant(&error), expected, "{status} {body}");
        assert_eq!(error.status(), Some(status));
    }
}

#[tokio::test]
async fn rate_limit_carries_retry_after_and_bucket() {
    let error = chat_error(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "42")
            .insert_header("x-ratelimit-exceeded", "user_model_rate_limited")
            .set_body_string(r#"{"error":{"message":"Sorry, you have been rate-limited.","code":"user_model_rate_limited"}}"#),
    )
    .await;
    match error {
        ApiError::RateLimited {
            retry_after,
            bucket,
            info,
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(42)));
            assert_eq!(bucket.as_deref(), Some("user_model_rate_limited"));
            assert_eq!(info.code.as_deref(), Some("user_model_rate_limited"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn quota_retry_after_may_be_an_http_date() {
    // The test clock reads 1_750_000_000 (2025-06-15T15:06:40Z); the reset is one hour later.
    let error = chat_error(
        ResponseTemplate::new(402)
            .insert_header("retry-after", "Sun, 15 Jun 2025 16:06:40 GMT")
            .set_body_string(
                r#"{"error":{"message":"You have no quota","code":"quota_exceeded"}}"#,
            ),
    )
    .await;
    assert_eq!(
        error.retry_after(),
        Some(Duration::from_secs(3600)),
        "{error:?}"
    );
}

#[tokio::test]
async fn long_bodies_are_truncated_and_sanitised() {
    let body = format!("line one\r\n\u{1b}[31m{}", "x".repeat(5000));
    let error = chat_error(ResponseTemplate::new(500).set_body_string(body)).await;
    let message = &error.info().unwrap().message;
    assert!(message.chars().count() <= 513, "{}", message.len());
    assert!(!message.chars().any(char::is_control));
    assert!(message.starts_with("line one"));
}

#[derive(Debug)]
struct FailingAuth;

#[async_trait::async_trait]
impl copilot_api::CopilotAuth for FailingAuth {
    async fn credentials(
        &self,
    ) -> Result<copilot_api::CopilotCredentials, copilot_api::CredentialError> {
        Err(copilot_api::CredentialError::SignInRequired {
            reason: "the user must sign in again".into(),
        })
    }
}

#[tokio::test]
async fn a_credential_failure_keeps_the_providers_typed_error() {
    // Were anything sent, the call would fail with this transport error instead of `Auth`.
    let transport = copilot_http::FnTransport::new(|_request| async {
        Err(copilot_http::TransportError::ConnectionClosed {
            message: "nothing may be sent without credentials".into(),
        })
    });
    let client = copilot_api::CopilotApiClient::builder(FailingAuth)
        .transport(copilot_http::SharedTransport::new(transport))
        .build()
        .unwrap();
    let error = client.chat(hi()).await.expect_err("no credentials");
    assert_eq!(
        error.to_string(),
        "sign-in required: the user must sign in again"
    );
    // Typed, no downcast: the caller reads "sign in again" off the error itself.
    let credential = error.credential_error().expect("the typed error is kept");
    assert!(credential.requires_sign_in(), "{credential:?}");
    assert!(matches!(
        error,
        ApiError::Auth(copilot_api::CredentialError::SignInRequired { .. })
    ));
}

/// The codes of issue 15 §6, each with the body Copilot sent (captured where a capture exists) and the typed
/// error it maps to; a code's `:detail` suffix does not hide it.
#[tokio::test]
async fn every_2026_error_code_maps_to_its_typed_error() {
    let cases: Vec<(u16, &str, &str)> = vec![
        (
            400,
            r#"{"error":{"message":"no endpoints available for this model under your current plan and policies","code":"no_available_model_endpoints"}}"#,
            "NoAvailableModelEndpoints",
        ),
        (
            400,
            r#"{"error":{"message":"output_config.effort \"xhigh\" is not supported by model claude-opus-4.7; supported values: [medium]","code":"invalid_reasoning_effort"}}"#,
            "InvalidReasoningEffort",
        ),
        // Chat completions words it without a code for Claude models.
        (
            400,
            r#"{"error":{"message":"reasoning_effort \"high\" was provided, but model claude-sonnet-4.5 does not support reasoning effort"}}"#,
            "InvalidReasoningEffort",
        ),
        (
            429,
            r#"{"error":{"message":"Sorry, you have exceeded your weekly rate limit.","code":"user_weekly_rate_limited"}}"#,
            "RateLimited",
        ),
        (
            402,
            r#"{"error":{"message":"a default billing entity has not been selected","code":"billing_not_configured"}}"#,
            "QuotaExceeded",
        ),
        (
            402,
            r#"{"error":{"message":"a default billing entity has not been selected","code":"billing_not_configured:enterprise"}}"#,
            "QuotaExceeded",
        ),
        (
            429,
            r#"{"error":{"message":"You have exceeded the quota for this session.","code":"session_quota_exceeded"}}"#,
            "QuotaExceeded",
        ),
        (466, "client not supported", "ClientNotSupported"),
        (
            466,
            r#"{"error":{"message":"API version no longer supported"}}"#,
            "ClientNotSupported",
        ),
    ];
    for (status, body, expected) in cases {
        let error = chat_error(ResponseTemplate::new(status).set_body_string(body)).await;
        assert_eq!(variant(&error), expected, "{status} {body}");
        assert_eq!(error.status(), Some(status));
        assert!(!error.info().unwrap().message.is_empty(), "{error:?}");
    }
}

/// The Display of the new errors says what to do, not only what happened.
#[tokio::test]
async fn new_errors_tell_the_user_what_to_do() {
    let unavailable = chat_error(ResponseTemplate::new(400).set_body_string(
        r#"{"error":{"message":"no endpoints available for this model under your current plan and policies","code":"no_available_model_endpoints"}}"#,
    ))
    .await;
    let text = unavailable.to_string();
    assert!(text.contains("pick another model"), "{text}");
    assert!(
        text.contains("no endpoints available for this model"),
        "{text}"
    );

    let effort = chat_error(ResponseTemplate::new(400).set_body_string(
        r#"{"error":{"message":"output_config.effort \"xhigh\" is not supported by model claude-opus-4.7; supported values: [medium]","code":"invalid_reasoning_effort"}}"#,
    ))
    .await;
    let text = effort.to_string();
    assert!(
        text.contains("capabilities.supports.reasoning_effort"),
        "{text}"
    );
    assert!(text.contains("supported values: [medium]"), "{text}");

    let old_client =
        chat_error(ResponseTemplate::new(466).set_body_string("client not supported")).await;
    let text = old_client.to_string();
    assert!(text.contains("update copilot-rs"), "{text}");
    assert!(text.contains("override the client identity"), "{text}");
    for variable in [
        "COPILOT_RS_EDITOR_VERSION",
        "COPILOT_RS_EDITOR_PLUGIN_VERSION",
        "COPILOT_RS_USER_AGENT",
        "COPILOT_RS_INTEGRATION_ID",
    ] {
        assert!(text.contains(variable), "{variable}: {text}");
    }
    assert!(text.contains("ClientIdentity::from_env()"), "{text}");
    assert!(text.contains("HTTP 466"), "{text}");
}
