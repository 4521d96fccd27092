//! Access control, per-key limits, configuration checks, health and graceful shutdown.

use std::time::Duration;

use copilot_mock::{Endpoint, Fault, FaultRule, MockConfig, MockServer};
use copilot_serve::{ApiKeys, Gateway, ServeConfig, Upstream};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{Harness, KEY, local_config, mock_client, user_says};

#[tokio::test]
async fn every_route_but_healthz_needs_the_key() {
    let h = Harness::start().await;
    let health = h.http.get(h.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let chat = user_says("gpt-4.1", "hi").to_string();
    let none = h
        .http
        .post(h.url("/v1/chat/completions"))
        .body(chat.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = serde_json::from_str(&none.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["code"], "invalid_api_key");

    let wrong = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth("sk-test-0123456789abcdeX")
        .body(chat.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let models = h.http.get(h.url("/v1/models")).send().await.unwrap();
    assert_eq!(models.status(), 401);

    // Anthropic clients send x-api-key, and get Anthropic's error envelope.
    let anthropic = h
        .http
        .post(h.url("/v1/messages"))
        .header("x-api-key", "nope-nope-nope-nope")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.status(), 401);
    let body: Value = serde_json::from_str(&anthropic.text().await.unwrap()).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let ok = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-api-key", KEY)
        .body(chat)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // Nothing unauthenticated reached Copilot.
    assert_eq!(h.upstream(copilot_mock::Endpoint::ChatCompletions).len(), 1);
}

#[tokio::test]
async fn configurations_that_would_be_unsafe_or_ambiguous_are_refused() {
    let mock = MockServer::start(MockConfig::new()).await;
    let client = mock_client(&mock);
    assert!(
        Gateway::new(
            ServeConfig::new(ApiKeys::new()),
            Upstream::Client(client.clone())
        )
        .is_err()
    );
    let bound =
        ApiKeys::from_json(r#"{"keys":[{"key":"alice-key-0123456789","user":"alice"}]}"#).unwrap();
    let error = Gateway::new(local_config(bound), Upstream::Client(client)).unwrap_err();
    assert!(error.to_string().contains("multi-user"), "{error}");
}

#[tokio::test]
async fn a_key_at_its_concurrency_limit_gets_429_until_its_stream_ends() {
    let mock = MockServer::start(MockConfig::new()).await;
    let client = mock_client(&mock);
    let keys = ApiKeys::new()
        .with_key(KEY, None::<String>, Some(1))
        .unwrap();
    let h = Harness::with_gateway(
        mock,
        Gateway::new(local_config(keys), Upstream::Client(client)).unwrap(),
    )
    .await;
    // The first stream stalls after its first events, so it is still open when the second request comes.
    h.mock.set_fault(
        FaultRule::new(
            Endpoint::ChatCompletions,
            Fault::StallMidStream {
                after_events: 2,
                duration: Duration::from_secs(1),
            },
        )
        .times(1),
    );
    let long = json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let first = h.post("/v1/chat/completions", &long).await;
    assert_eq!(first.status(), 200);
    // The first stream is open: the key's one slot is taken.
    let second = h.post("/v1/chat/completions", &long).await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let body: Value = serde_json::from_str(&second.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "concurrency_limit");
    // Reading the first stream to its end frees the slot.
    let text = first.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let third = h
        .post("/v1/chat/completions", &user_says("gpt-4.1", "hi"))
        .await;
    assert_eq!(third.status(), 200);
}

#[tokio::test]
async fn shutdown_lets_an_open_stream_finish() {
    let h = Harness::start().await;
    let response = h
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4.1", "stream": true,
            "messages": [{"role": "user", "content": "long answer 200"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let Harness {
        gateway,
        mock,
        http,
    } = h;
    let base = gateway.base_url();
    let shutdown = tokio::spawn(gateway.shutdown());
    // New connections are refused once shutdown started.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(
        rest.ends_with("data: [DONE]\n\n"),
        "the open stream completed"
    );
    shutdown.await.unwrap().unwrap();
    drop(mock);
}

#[tokio::test]
async fn multi_user_keys_use_each_members_own_stored_login() {
    use std::sync::Arc;

    use copilot_mock::MockUser;
    use copilot_sdk::http::retry::RetryPolicy;
    use copilot_sdk::{
        ClientPool, CopilotClient, CredentialKey, GitHubToken, MemoryStore, StoredCredential,
        TokenStore,
    };

    let mock = MockServer::start(MockConfig::new()).await;
    let host = crate::common::mock_host(&mock);
    let store = Arc::new(MemoryStore::new());
    let mut tokens = Vec::new();
    for login in ["alice", "bob"] {
        mock.add_user(MockUser::new(login));
        let token = mock.mint_github_token(login);
        let credential =
            StoredCredential::new(host.key(), GitHubToken::new(token.clone())).with_login(login);
        store
            .save(&CredentialKey::new(host.key(), login), &credential)
            .await
            .unwrap();
        tokens.push(token);
    }
    let pool = ClientPool::builder()
        .host(host)
        .token_store(store)
        .client_defaults(CopilotClient::builder().retry_policy(RetryPolicy::none()))
        .build()
        .unwrap();
    let keys = ApiKeys::from_json(
        r#"{"keys":[{"key":"alice-key-0123456789","user":"alice","max_concurrent":2},
                    {"key":"bob-key-0123456789ab","user":"bob"},
                    {"key":"carol-key-0123456789","user":"carol"}]}"#,
    )
    .unwrap();
    // A single-identity upstream refuses user-bound keys; the pool takes them.
    let h = Harness::with_gateway(
        mock,
        Gateway::new(local_config(keys), Upstream::Pool(pool)).unwrap(),
    )
    .await;
    let chat = user_says("gpt-4.1", "hi").to_string();
    let send = |key: &'static str| {
        h.http
            .post(h.url("/v1/chat/completions"))
            .bearer_auth(key)
            .body(chat.clone())
            .send()
    };
    assert_eq!(send("alice-key-0123456789").await.unwrap().status(), 200);
    assert_eq!(send("bob-key-0123456789ab").await.unwrap().status(), 200);
    // Two identities: two token exchanges.
    assert_eq!(h.mock.copilot_tokens_issued(), 2);

    // Bob's GitHub login is revoked: only bob is asked to sign in again.
    assert!(h.mock.revoke_github_token(&tokens[1]));
    h.mock.expire_copilot_tokens();
    let bob = send("bob-key-0123456789ab").await.unwrap();
    assert_eq!(bob.status(), 401);
    let body: Value = serde_json::from_str(&bob.text().await.unwrap()).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("copilot-rs auth login"),
        "{body}"
    );
    assert_eq!(send("alice-key-0123456789").await.unwrap().status(), 200);

    // Carol has a key but no stored login.
    let carol = send("carol-key-0123456789").await.unwrap();
    assert_eq!(carol.status(), 401);
}
