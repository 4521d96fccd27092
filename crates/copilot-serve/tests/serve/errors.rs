//! Upstream failures come back in the caller's dialect with the upstream status.

use copilot_mock::{Endpoint, Fault, FaultRule};
use serde_json::{Value, json};

use crate::common::{Harness, user_says};

fn chat() -> Value {
    user_says("gpt-4.1", "hi")
}

#[tokio::test]
async fn rate_limits_pass_through_with_retry_after() {
    let h = Harness::start().await;
    h.mock.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::rate_limited(120),
    ));
    let (status, headers, body) = h.post_json("/v1/chat/completions", &chat()).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "120");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn exhausted_quota_is_402() {
    let h = Harness::start().await;
    h.mock.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::quota_exceeded(),
    ));
    let (status, _, body) = h.post_json("/v1/chat/completions", &chat()).await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(body["error"]["type"], "insufficient_quota");
}

#[tokio::test]
async fn a_rejected_credential_is_401_with_the_sign_in_hint() {
    let h = Harness::start().await;
    h.mock.set_fault(FaultRule::new(
        Endpoint::ChatCompletions,
        Fault::status_text(401, "unauthorized: token expired"),
    ));
    let (status, _, body) = h.post_json("/v1/chat/completions", &chat()).await;
    assert_eq!(status, 401);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("copilot-rs auth login"), "{message}");
    assert_eq!(body["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn unknown_models_fail_upstream_in_the_callers_dialect() {
    let h = Harness::start().await;
    let (status, _, body) = h
        .post_json("/v1/chat/completions", &user_says("no-such-model", "hi"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "model_not_supported");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

/// An embeddings model lists no chat endpoint: every chat-style API refuses it with a 400 that says so,
/// before anything is sent upstream.
#[tokio::test]
async fn an_embeddings_model_is_refused_by_every_chat_api() {
    let h = Harness::start().await;
    let model = "text-embedding-3-small";
    let cases = [
        ("/v1/chat/completions", "chat", user_says(model, "hi")),
        (
            "/v1/chat/completions",
            "chat",
            json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            "/v1/responses",
            "responses",
            json!({"model": model, "stream": true, "input": "hi"}),
        ),
        (
            "/v1/messages",
            "messages",
            json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ];
    for (path, api, body) in cases {
        let (status, _, answer) = h.post_json(path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("`{model}` cannot be used for {api}")),
            "{path} {body}: {answer}"
        );
    }
    assert!(h.upstream(Endpoint::ChatCompletions).is_empty());
    assert!(h.upstream(Endpoint::Responses).is_empty());
}

#[tokio::test]
async fn a_mid_stream_error_ends_the_stream_with_an_error_object() {
    let h = Harness::start().await;
    h.overload_mid_stream(Endpoint::ChatCompletions, 2);
    let (status, _, events) = h
        .post_sse("/v1/chat/completions", &json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200);
    let last = events.last().unwrap().json();
    assert_eq!(last["error"]["message"], "overloaded");
    assert!(
        events.iter().all(|e| e.data != "[DONE]"),
        "a failed stream does not claim success"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let h = Harness::start().await;
    let response = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(crate::common::KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

/// Errors whose upstream words do not say what to do come back with advice and a code, in both dialects.
#[tokio::test]
async fn actionable_upstream_errors_keep_their_code_and_say_what_to_do() {
    let h = Harness::start().await;
    let cases = [
        (
            Fault::client_not_supported(),
            466,
            "client_not_supported",
            "--editor-version",
        ),
        (
            Fault::no_available_model_endpoints(),
            400,
            "no_available_model_endpoints",
            "pick another model",
        ),
        (
            Fault::invalid_reasoning_effort("gpt-4.1", "xhigh", ["medium"]),
            400,
            "invalid_reasoning_effort",
            "reasoning_effort",
        ),
    ];
    for (fault, status, code, advice) in cases {
        h.mock.clear_faults();
        h.mock
            .set_fault(FaultRule::new(Endpoint::ChatCompletions, fault));
        let (got, _, body) = h.post_json("/v1/chat/completions", &chat()).await;
        assert_eq!(got, status, "{code}: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(advice), "{code}: {message}");
    }
}
