//! Models: fixture decoding, resilience, routing, caching.

use std::time::Duration;

use copilot_api::{ApiEndpoint, ApiError, ChatRoute, ModelList, ModelType, PolicyState, Vendor};
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

use crate::support::{catch_all, client_for, fixture, get, header, post};

#[test]
fn fixture_decodes_all_eight_entries_with_routes() {
    let list = ModelList::from_json(&fixture("models_2026-08-20_excerpt.json")).unwrap();
    assert_eq!(list.data.len(), 8);
    assert_eq!(list.skipped, 0);
    let routes: Vec<(&str, ChatRoute)> = list
        .data
        .iter()
        .map(|m| (m.id.as_str(), m.endpoint_for_chat()))
        .collect();
    assert_eq!(
        routes,
        [
            ("claude-opus-4.6", ChatRoute::ChatCompletions),
            ("gemini-3.5-flash", ChatRoute::ChatCompletions),
            ("gpt-5.3-codex", ChatRoute::Responses),
            ("gpt-5.4", ChatRoute::ChatCompletions),
            ("mai-code-1.1-flash", ChatRoute::Responses),
            ("trajectory-compaction", ChatRoute::ChatCompletions),
            ("gpt-4o", ChatRoute::ChatCompletions),
            ("text-embedding-ada-002", ChatRoute::Unsupported),
        ]
    );
    let claude = list.get("claude-opus-4.6").unwrap();
    assert_eq!(claude.vendor, Some(Vendor::Anthropic));
    assert!(claude.supports_endpoint(&ApiEndpoint::Messages));
    assert_eq!(
        claude.capabilities.supports.max_thinking_budget,
        Some(32000)
    );
    assert_eq!(claude.policy.as_ref().unwrap().state, PolicyState::Enabled);
    let codex = list.get("gpt-5.3-codex").unwrap();
    assert!(codex.policy.is_none() && codex.is_enabled());
    assert_eq!(list.chat_default().unwrap().id, "gpt-5.3-codex");
    let mai = list.get("mai-code-1.1-flash").unwrap();
    assert_eq!(
        mai.billing
            .as_ref()
            .unwrap()
            .promo
            .as_ref()
            .unwrap()
            .discount_percent,
        Some(10.0)
    );
    let hidden = list.get("trajectory-compaction").unwrap();
    assert!(
        !hidden.model_picker_enabled,
        "hidden but listed and callable"
    );
    let embed = list.get("text-embedding-ada-002").unwrap();
    assert_eq!(embed.capabilities.kind, Some(ModelType::Embeddings));
    assert_eq!(embed.capabilities.limits.max_inputs, Some(512));
    assert_eq!(
        list.get("gpt-4o").unwrap().vendor,
        Some(Vendor::AzureOpenAi)
    );
    let summary: Vec<Value> = list
        .data
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "vendor": m.vendor.as_ref().map(|v| v.as_str()), "route": format!("{:?}", m.endpoint_for_chat()),
                "endpoints": m.supported_endpoints, "efforts": m.capabilities.supports.reasoning_effort,
                "vision": m.supports_vision(), "warning": m.warning_message.is_some(),
            })
        })
        .collect();
    insta::assert_json_snapshot!("models_fixture_summary", summary);
}

#[test]
fn a_malformed_entry_is_skipped_and_unknown_values_kept() {
    let mut body: Value =
        serde_json::from_slice(&fixture("models_2026-08-20_excerpt.json")).unwrap();
    let data = body["data"].as_array_mut().unwrap();
    data.insert(1, json!({"id": 42, "name": "bad id type"}));
    data.insert(2, json!("not even an object"));
    data.push(json!({
        "id": "future-model", "vendor": "NewCo", "supported_endpoints": ["/v2/agents", "/responses"],
        "capabilities": {"type": "video", "supports": {"reasoning_effort": ["ultra"]}, "new_cap": true},
        "policy": {"state": "waitlisted"}, "surprise": {"a": 1}
    }));
    let list = ModelList::from_json(body.to_string().as_bytes()).unwrap();
    assert_eq!(list.skipped, 2);
    assert_eq!(list.data.len(), 9);
    let future = list.get("future-model").unwrap();
    assert_eq!(future.vendor, Some(Vendor::Other("NewCo".into())));
    assert_eq!(future.endpoint_for_chat(), ChatRoute::Responses);
    assert_eq!(
        future.capabilities.kind,
        Some(ModelType::Other("video".into()))
    );
    assert_eq!(
        future.policy.as_ref().unwrap().state,
        PolicyState::Other("waitlisted".into())
    );
    assert!(!future.is_enabled());
    assert_eq!(future.extra["surprise"], json!({"a": 1}));
    assert_eq!(future.capabilities.extra["new_cap"], json!(true));
}

async fn mount_models(server: &MockServer, times: u64) {
    get("/models")
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(fixture("models_2026-08-20_excerpt.json")),
        )
        .expect(times)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn models_are_cached_and_concurrent_callers_share_one_fetch() {
    let server = MockServer::start().await;
    mount_models(&server, 1).await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    let (a, b, c) = tokio::join!(client.models(), client.models(), client.model("gpt-5.4"));
    assert_eq!(a.unwrap().data.len(), 8);
    assert_eq!(b.unwrap().data.len(), 8);
    assert_eq!(c.unwrap().unwrap().id, "gpt-5.4");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(header(&requests[0], "openai-intent"), Some("model-access"));
    assert_eq!(header(&requests[0], "x-initiator"), None);
}

#[tokio::test]
async fn models_refresh_after_the_ttl_and_keep_the_stale_list_on_429() {
    let server = MockServer::start().await;
    mount_models(&server, 1).await;
    get("/models")
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, clock) = client_for(&server);
    let first = client.models().await.unwrap();
    clock.advance(Duration::from_secs(601));
    let stale = client.models().await.unwrap();
    assert_eq!(stale, first);
    // 1 fresh fetch + 4 attempts (the retry policy) of the refresh.
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn models_429_without_a_cached_list_is_an_error() {
    let server = MockServer::start().await;
    get("/models")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-exceeded", "user_global_rate_limited"),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    match client.models().await {
        Err(ApiError::RateLimited { bucket, .. }) => {
            assert_eq!(bucket.as_deref(), Some("user_global_rate_limited"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn accept_policy_posts_enabled_and_forgets_the_cache() {
    let server = MockServer::start().await;
    mount_models(&server, 2).await;
    post("/models/claude-opus-4.6/policy")
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let (client, _, _) = client_for(&server);
    client.models().await.unwrap();
    client.accept_policy("claude-opus-4.6").await.unwrap();
    client.models().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    insta::assert_json_snapshot!(
        "request_accept_policy",
        crate::support::request_json(&requests[1])
    );
}

#[test]
fn a_messages_only_model_is_callable_and_can_be_the_auto_choice() {
    let list = ModelList::from_json(
        json!({"data": [
            {"id": "auto", "supported_endpoints": ["/chat/completions"], "model_picker_enabled": true},
            {"id": "embed", "supported_endpoints": ["/embeddings"], "capabilities": {"type": "embeddings"}},
            {"id": "claude-native", "supported_endpoints": ["/v1/messages"], "model_picker_enabled": true,
             "capabilities": {"type": "chat"}},
            {"id": "claude-off", "supported_endpoints": ["/v1/messages"], "policy": {"state": "disabled"}},
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let callable = |id: &str| list.get(id).unwrap().is_callable_chat();
    assert!(callable("claude-native"), "sessions speak /v1/messages");
    assert!(!callable("claude-off"), "the policy still decides");
    assert!(!callable("auto"), "never the pseudo-model");
    assert!(!callable("embed"));
    let chosen = list.auto_choice(["auto", "claude-off", "claude-native"]);
    assert_eq!(chosen.map(|m| m.id.as_str()), Some("claude-native"));
    assert_eq!(
        list.local_auto_choice().map(|m| m.id.as_str()),
        Some("claude-native")
    );
}
