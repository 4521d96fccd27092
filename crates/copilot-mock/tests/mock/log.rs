//! The request log.

use copilot_mock::{Endpoint, MockConfig, REDACTED};
use serde_json::json;

use crate::support::{api_post, http, signed_in};

#[tokio::test]
async fn log_records_requests_with_credentials_redacted() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let response = http()
        .post(format!(
            "{}/chat/completions?trace=1",
            server.copilot_api_url()
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("cookie", "session=secret")
        .header("x-initiator", "user")
        .body(
            json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let exchange = &server.requests_to(Endpoint::CopilotToken)[0];
    assert_eq!(exchange.method, "GET");
    assert_eq!(
        exchange.header("authorization"),
        Some(format!("token {REDACTED}").as_str())
    );
    assert_eq!(exchange.status, 200);

    let chat = server.requests_to(Endpoint::ChatCompletions).pop().unwrap();
    assert_eq!(chat.path, "/copilot/chat/completions");
    assert_eq!(chat.query.as_deref(), Some("trace=1"));
    assert_eq!(
        chat.header("authorization"),
        Some(format!("Bearer {REDACTED}").as_str())
    );
    assert_eq!(chat.header("cookie"), Some(REDACTED));
    assert_eq!(chat.header("x-initiator"), Some("user"));
    assert_eq!(chat.body_json().unwrap()["model"], "gpt-4.1");
    let everything = format!("{:?}", server.requests());
    assert!(!everything.contains(&token), "no token in the log");
    assert!(!everything.contains("session=secret"));

    server.clear_requests();
    let _ = api_post(&server, "/embeddings", &token, &json!({})).await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].endpoint, Endpoint::Embeddings);
}
