//! Model catalogue, single model, policy.

use copilot_mock::{MockConfig, MockServer};
use serde_json::{Value, json};

use crate::support::{api_get, api_post, copilot_token, http, json, signed_in, start};

fn fixture_lines() -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/error_bodies.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn catalogue_is_realistic() {
    let (server, _) = start(MockConfig::new()).await;
    let token = copilot_token(&server).await;
    let list = json(api_get(&server, "/models", &token).await).await;
    assert_eq!(list["object"], "list");
    let models = list["data"].as_array().unwrap();
    let by_id = |id: &str| {
        models
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };

    // Every entry has the keys every real entry has.
    let path = format!(
        "{}/tests/fixtures/models_2026-08-20_excerpt.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let real: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for key in [
        "billing",
        "capabilities",
        "id",
        "is_chat_default",
        "model_picker_enabled",
        "name",
        "object",
        "preview",
        "vendor",
        "version",
    ] {
        assert!(real["data"][0].get(key).is_some());
        assert!(models.iter().all(|m| m.get(key).is_some()), "{key}");
    }

    let vendors: std::collections::BTreeSet<&str> =
        models.iter().filter_map(|m| m["vendor"].as_str()).collect();
    assert!(vendors.len() >= 4, "{vendors:?}");
    assert_eq!(
        by_id("gpt-5.3-codex")["supported_endpoints"],
        json!(["/responses", "ws:/responses"])
    );
    assert!(
        by_id("gpt-4o").get("supported_endpoints").is_none(),
        "legacy entry"
    );
    let embedding = by_id("text-embedding-3-small");
    assert_eq!(embedding["capabilities"]["type"], "embeddings");
    assert_eq!(embedding["capabilities"]["limits"]["max_inputs"], 512);
    assert_eq!(by_id("grok-code-fast-1")["policy"]["state"], "disabled");
    assert_eq!(by_id("claude-opus-4.6")["policy"]["state"], "unconfigured");

    let one = api_get(&server, "/models/gemini-3.5-flash", &token).await;
    assert_eq!(json(one).await["vendor"], "Google");
    let missing = api_get(&server, "/models/nope", &token).await;
    assert_eq!(missing.status(), 404);
    let anonymous = http()
        .get(format!("{}/models", server.copilot_api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Accepts `model`'s policy (`POST /models/{model}/policy` with state `enabled`).
async fn enable(server: &MockServer, token: &str, model: &str) -> reqwest::Response {
    api_post(
        server,
        &format!("/models/{model}/policy"),
        token,
        &json!({"state": "enabled"}),
    )
    .await
}

#[tokio::test]
async fn policy_gates_chat_until_accepted_and_admin_disabled_stays_off() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let chat = json!({"model": "claude-opus-4.6", "messages": [{"role": "user", "content": "hi"}]});
    let denied = api_post(&server, "/chat/completions", &token, &chat).await;
    assert_eq!(denied.status(), 400);
    let captured: Value = fixture_lines()
        .into_iter()
        .find(|l| l["body"].as_str().unwrap().contains("policy settings"))
        .map(|l| serde_json::from_str(l["body"].as_str().unwrap()).unwrap())
        .unwrap();
    assert_eq!(json(denied).await, captured);

    let accept = enable(&server, &token, "claude-opus-4.6").await;
    assert_eq!(accept.status(), 200);
    assert_eq!(json(accept).await["state"], "enabled");
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &chat)
            .await
            .status(),
        200
    );

    let admin = enable(&server, &token, "grok-code-fast-1").await;
    assert_eq!(admin.status(), 400);
    assert_eq!(enable(&server, &token, "nope").await.status(), 404);
}

#[tokio::test]
async fn unknown_and_wrong_endpoint_models_are_rejected_like_copilot() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask =
        |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});

    let unknown = api_post(
        &server,
        "/chat/completions",
        &token,
        &ask("claude-sonnet-4-5-20250929"),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    let captured: Value =
        serde_json::from_str(fixture_lines()[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(json(unknown).await, captured);

    let responses_only =
        api_post(&server, "/chat/completions", &token, &ask("gpt-5.3-codex")).await;
    assert_eq!(responses_only.status(), 400);
    let body = json(responses_only).await;
    assert_eq!(body["error"]["code"], "unsupported_api_for_model");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/chat/completions")
    );

    let embeddings = api_post(
        &server,
        "/chat/completions",
        &token,
        &ask("text-embedding-3-small"),
    )
    .await;
    assert_eq!(
        json(embeddings).await["error"]["code"],
        "model_not_supported"
    );
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &ask("gpt-4o"))
            .await
            .status(),
        200,
        "legacy = chat"
    );
}

#[tokio::test]
async fn auto_model_sessions_are_issued_checked_and_can_be_turned_off() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let response = api_post(
        &server,
        "/models/session",
        &token,
        &json!({"auto_mode": {"model_hints": ["auto"]}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let auto = json(response).await;
    let available: Vec<&str> = auto["available_models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(available.contains(&"gpt-4.1"), "{auto}");
    assert!(!available.contains(&"text-embedding-3-small"), "{auto}");
    assert_ne!(auto["selected_model"], "gpt-4.1", "not the chat default");
    assert!(auto["expires_at"].as_u64().unwrap() > 0);
    let session_token = auto["session_token"].as_str().unwrap().to_owned();

    let chat = |session: &str| {
        http()
            .post(format!("{}/chat/completions", server.copilot_api_url()))
            .header("authorization", format!("Bearer {token}"))
            .header("copilot-session-token", session)
            .header("content-type", "application/json")
            .body(
                json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
                    .to_string(),
            )
            .send()
    };
    assert_eq!(chat(&session_token).await.unwrap().status(), 200);
    let forged = chat("acs_forged").await.unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(json(forged).await["error"]["code"], "invalid_session_token");

    let missing = api_post(&server, "/models/session", &token, &json!({})).await;
    assert_eq!(missing.status(), 400);

    let (off, _client) = start(MockConfig::new().auto_model(false)).await;
    let token = copilot_token(&off).await;
    let refused = api_post(
        &off,
        "/models/session",
        &token,
        &json!({"auto_mode": {"model_hints": ["auto"]}}),
    )
    .await;
    assert_eq!(refused.status(), 404);
}
