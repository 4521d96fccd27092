//! Every fault kind, at start and at run time.

use std::time::{Duration, SystemTime};

use copilot_mock::{Endpoint, Fault, FaultRule, MockConfig, MockServer};
use serde_json::{Value, json};

use crate::support::{
    api_get, api_post, api_post_text, content_type, events, http, json, signed_in, start,
};

/// Long enough that a test never waits it out; the mock ends stalls at shutdown.
const FOREVER: Duration = Duration::from_secs(60);
/// How long a test waits to observe that nothing arrives during a stall.
const QUIET: Duration = Duration::from_millis(300);

fn ask() -> Value {
    json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "one two three four five six seven"}]})
}

async fn with_fault(fault: Fault) -> (MockServer, String) {
    let (server, token) = signed_in(MockConfig::new()).await;
    server.set_fault(FaultRule::new(Endpoint::ChatCompletions, fault));
    (server, token)
}

/// Reads chunks until `count` complete events arrived; returns the text so far.
async fn read_events(response: &mut reqwest::Response, count: usize) -> String {
    let mut text = String::new();
    while text.matches("\n\n").count() < count {
        let chunk = response.chunk().await.unwrap().expect("stream ended early");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn status_faults_with_retry_after_and_recovery() {
    let (server, token) = with_fault(Fault::rate_limited(7)).await;
    let limited = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(
        limited.headers()["x-ratelimit-exceeded"],
        "user_global_rate_limited"
    );
    assert_eq!(json(limited).await["error"]["code"], "rate_limited");

    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    server.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::rate_limited_until(when),
    ));
    let dated = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(
        dated.headers()["retry-after"].to_str().unwrap(),
        httpdate::fmt_http_date(when)
    );

    server.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::quota_exceeded(),
    ));
    let quota = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(quota.status(), 402);
    assert_eq!(json(quota).await["error"]["code"], "quota_exceeded");

    server.set_fault(FaultRule::new(Endpoint::ChatCompletions, Fault::server_error(503)).times(2));
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &ask())
            .await
            .status(),
        503
    );
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &ask())
            .await
            .status(),
        503
    );
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &ask())
            .await
            .status(),
        200
    );
    let log = server.requests_to(Endpoint::ChatCompletions);
    assert_eq!(
        log.iter()
            .filter(|e| e.note.as_deref() == Some("fault"))
            .count(),
        5
    );
}

#[tokio::test]
async fn faults_configured_at_start_hit_any_route() {
    let config = MockConfig::new()
        .fault(FaultRule::new(Endpoint::CopilotToken, Fault::server_error(502)).times(1));
    let (server, client) = start(config).await;
    let github = server.mint_github_token("octocat");
    let exchange = || {
        client
            .get(format!(
                "{}/copilot_internal/v2/token",
                server.github_api_url()
            ))
            .header("authorization", format!("token {github}"))
            .send()
    };
    assert_eq!(exchange().await.unwrap().status(), 502);
    assert_eq!(exchange().await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_delays_the_whole_response() {
    let (server, token) = with_fault(Fault::Latency(FOREVER)).await;
    let pending = tokio::time::timeout(
        QUIET,
        api_post(&server, "/chat/completions", &token, &ask()),
    )
    .await;
    assert!(pending.is_err(), "the response must wait for the latency");
    server.clear_fault(Endpoint::ChatCompletions);
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &ask())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn stall_before_first_byte_sends_headers_only() {
    let (server, token) = with_fault(Fault::StallBeforeFirstByte(FOREVER)).await;
    let mut response = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(response.status(), 200);
    assert!(tokio::time::timeout(QUIET, response.chunk()).await.is_err());
}

#[tokio::test]
async fn stall_mid_stream_pauses_after_n_events() {
    let (server, token) = with_fault(Fault::StallMidStream {
        after_events: 3,
        duration: FOREVER,
    })
    .await;
    let mut response = api_post(&server, "/chat/completions", &token, &ask()).await;
    let head = read_events(&mut response, 3).await;
    assert_eq!(head.matches("\n\n").count(), 3);
    assert!(tokio::time::timeout(QUIET, response.chunk()).await.is_err());
}

#[tokio::test]
async fn reset_mid_stream_breaks_the_connection() {
    let (server, token) = with_fault(Fault::ResetMidStream { after_events: 2 }).await;
    let mut response = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(response.status(), 200);
    let head = read_events(&mut response, 2).await;
    assert!(head.starts_with("data: "));
    let mut failed = false;
    loop {
        match response.chunk().await {
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the client must see a broken body");
}

#[tokio::test]
async fn truncated_stream_ends_cleanly_without_finish() {
    let (server, token) = with_fault(Fault::TruncateStream { after_events: 3 }).await;
    let text = api_post_text(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(events(&text).len(), 3);
    assert!(!text.contains("[DONE]") && !text.contains("finish_reason"));
}

#[tokio::test]
async fn malformed_chunk_missing_done_and_mid_stream_error() {
    let (server, token) = with_fault(Fault::MalformedChunk { after_events: 2 }).await;
    let text = api_post_text(&server, "/chat/completions", &token, &ask()).await;
    let all = events(&text);
    let broken: Vec<&String> = all
        .iter()
        .filter(|e| e.as_str() != "data: [DONE]")
        .filter(|e| serde_json::from_str::<Value>(e.trim_start_matches("data: ")).is_err())
        .collect();
    assert_eq!(broken.len(), 1);
    assert_eq!(all.iter().position(|e| e == broken[0]), Some(2));
    assert_eq!(all.last().map(String::as_str), Some("data: [DONE]"));

    server.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::MissingDone,
    ));
    let text = api_post_text(&server, "/chat/completions", &token, &ask()).await;
    assert!(text.contains("\"finish_reason\":\"stop\"") && !text.contains("[DONE]"));
    assert!(text.ends_with("\n\n"));

    server.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::MidStreamError {
            after_events: 3,
            code: "model_overloaded".into(),
            message: "try later".into(),
        },
    ));
    let text = api_post_text(&server, "/chat/completions", &token, &ask()).await;
    let all = events(&text);
    assert_eq!(all.len(), 4);
    let error: Value = serde_json::from_str(all[3].trim_start_matches("data: ")).unwrap();
    assert_eq!(
        error,
        json!({"error": {"message": "try later", "code": "model_overloaded"}})
    );
}

#[tokio::test]
async fn stream_faults_cut_plain_bodies_in_half() {
    let (server, token) = signed_in(MockConfig::new()).await;
    server.set_fault(FaultRule::new(
        Endpoint::Models,
        Fault::TruncateStream { after_events: 5 },
    ));
    let response = api_get(&server, "/models", &token).await;
    let body = response.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    server.clear_faults();
    let whole = api_get(&server, "/models", &token).await;
    let whole = whole.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&whole).is_ok());
    assert!(body.len() < whole.len());
}

/// The fault helpers for the 2026 error codes write the wire bodies Copilot sends (status, `error.code`,
/// message, rate-limit headers), on any route including `/v1/messages`.
#[tokio::test]
async fn the_2026_error_code_helpers_write_copilots_bodies() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let cases = [
        (
            Fault::no_available_model_endpoints(),
            400,
            "no_available_model_endpoints",
            "no endpoints available for this model under your current plan and policies",
        ),
        (
            Fault::invalid_reasoning_effort("claude-opus-4.7", "xhigh", ["medium"]),
            400,
            "invalid_reasoning_effort",
            "output_config.effort \"xhigh\" is not supported by model claude-opus-4.7; supported values: [medium]",
        ),
        (
            Fault::billing_not_configured(),
            402,
            "billing_not_configured",
            "a default billing entity has not been selected",
        ),
        (
            Fault::session_quota_exceeded(),
            402,
            "session_quota_exceeded",
            "You have exceeded the quota for this session.",
        ),
        (
            Fault::weekly_rate_limited(86_400),
            429,
            "user_weekly_rate_limited",
            "Sorry, you have exceeded your weekly rate limit.",
        ),
    ];
    let claude = json!({"model": "claude-opus-4.7", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    for (fault, status, code, message) in cases {
        server.set_fault(FaultRule::new(Endpoint::Messages, fault).times(1));
        let response = api_post(&server, "/v1/messages", &token, &claude).await;
        assert_eq!(response.status(), status, "{code}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{code}"
        );
        if code == "user_weekly_rate_limited" {
            assert_eq!(response.headers()["retry-after"], "86400");
            assert_eq!(
                response.headers()["x-ratelimit-exceeded"],
                "user_weekly_rate_limited"
            );
        }
        let body = json(response).await;
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["message"], message);
    }
    assert_eq!(server.requests_to(Endpoint::Messages).len(), 5);

    server.set_fault(
        FaultRule::new(Endpoint::ChatCompletions, Fault::client_not_supported()).times(1),
    );
    let old = api_post(&server, "/chat/completions", &token, &ask()).await;
    assert_eq!(old.status(), 466);
    assert!(content_type(&old).starts_with("text/plain"));
    assert!(old.text().await.unwrap().contains("client not supported"));
}

#[tokio::test]
async fn a_fault_with_a_header_condition_hits_only_matching_requests() {
    let (server, token) = signed_in(MockConfig::new()).await;
    server.set_fault(
        FaultRule::new(Endpoint::ChatCompletions, Fault::server_error(500))
            .when_header("X-Interaction-Type", "conversation-background")
            .times(1),
    );
    let post = |background: bool| {
        let mut request = http()
            .post(format!("{}/chat/completions", server.copilot_api_url()))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(ask().to_string());
        if background {
            request = request.header("x-interaction-type", "Conversation-Background");
        }
        request.send()
    };
    assert_eq!(
        post(false).await.unwrap().status(),
        200,
        "no header, no fault"
    );
    assert_eq!(post(true).await.unwrap().status(), 500);
    assert_eq!(post(true).await.unwrap().status(), 200, "it was once only");
}
