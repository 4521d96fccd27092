//! A fleet of gateways on one shared key directory, token store and Copilot-token cache: keys added once work
//! on every instance, a removed key stops everywhere, and the instances exchange once per user between them.

use std::sync::Arc;

use async_trait::async_trait;
use copilot_mock::{MockConfig, MockServer, MockUser};
use copilot_sdk::http::GitHubHost;
use copilot_sdk::http::retry::RetryPolicy;
use copilot_sdk::token::InProcessTokenCaches;
use copilot_sdk::{
    ClientPool, CopilotClient, CredentialKey, GitHubToken, MemoryStore, StoredCredential,
    TokenStore,
};
use copilot_serve::{ApiKeys, Gateway, RunningGateway, ServeError, Upstream};
use copilot_store_core::StoreError;
use copilot_store_core::api_keys::{ApiKeyDigest, ApiKeyDirectory, ApiKeyRecord, MemoryApiKeys};
use serde_json::Value;

use crate::common::{local_config, mock_host, user_says};

const ALICE_KEY: &str = "sk-fleet-alice-0123456789abcdef";

async fn instance(
    mock: &MockServer,
    store: Arc<MemoryStore>,
    caches: Arc<InProcessTokenCaches>,
    directory: Arc<dyn ApiKeyDirectory>,
) -> RunningGateway {
    let pool = ClientPool::builder()
        .host(mock_host(mock))
        .token_store(store)
        .shared_token_caches(caches)
        .client_defaults(CopilotClient::builder().retry_policy(RetryPolicy::none()))
        .build()
        .unwrap();
    let config = local_config(ApiKeys::new())
        .key_directory(directory)
        .key_cache_ttl(std::time::Duration::ZERO);
    Gateway::new(config, Upstream::Pool(pool))
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn chat(http: &reqwest::Client, gateway: &RunningGateway, key: &str) -> reqwest::Response {
    http.post(format!("{}/v1/chat/completions", gateway.base_url()))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(user_says("gpt-4.1", "hi").to_string())
        .send()
        .await
        .unwrap()
}

/// The mock's host and a token store in which `login` is signed in (a GitHub token the mock minted).
async fn signed_in(mock: &MockServer, login: &str) -> (GitHubHost, Arc<MemoryStore>) {
    let host = mock_host(mock);
    let store = Arc::new(MemoryStore::new());
    store
        .save(
            &CredentialKey::new(host.key(), login),
            &StoredCredential::new(host.key(), GitHubToken::new(mock.mint_github_token(login))),
        )
        .await
        .unwrap();
    (host, store)
}

#[tokio::test]
async fn a_fleet_shares_keys_users_and_copilot_tokens() {
    let mock = MockServer::start(MockConfig::new()).await;
    mock.add_user(MockUser::new("alice"));
    let (_, store) = signed_in(&mock, "alice").await;
    let caches = Arc::new(InProcessTokenCaches::new());
    let directory = Arc::new(MemoryApiKeys::new());
    let mut fleet = Vec::new();
    for _ in 0..3 {
        fleet.push(instance(&mock, store.clone(), caches.clone(), directory.clone()).await);
    }
    let http = reqwest::Client::new();

    // Unknown everywhere until the key is added once.
    for gateway in &fleet {
        assert_eq!(chat(&http, gateway, ALICE_KEY).await.status(), 401);
    }
    let digest = ApiKeyDigest::of(ALICE_KEY);
    let record = ApiKeyRecord::new("alice", "alice's agent", std::time::SystemTime::now());
    assert!(directory.add(&digest, &record).await.unwrap());

    let requests = fleet
        .iter()
        .flat_map(|gateway| (0..20).map(|_| chat(&http, gateway, ALICE_KEY)));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert!(
            body["choices"][0]["message"]["content"].is_string(),
            "{body}"
        );
    }
    assert_eq!(
        mock.copilot_tokens_issued(),
        1,
        "60 requests on 3 instances: one Copilot exchange for the user"
    );

    assert!(directory.remove(&digest).await.unwrap());
    for gateway in &fleet {
        let refused = chat(&http, gateway, ALICE_KEY).await;
        assert_eq!(
            refused.status(),
            401,
            "a removed key stops on every instance"
        );
    }
}

/// A directory whose database is down.
#[derive(Debug)]
struct Unreachable;

#[async_trait]
impl ApiKeyDirectory for Unreachable {
    async fn find(&self, _: &ApiKeyDigest) -> Result<Option<ApiKeyRecord>, StoreError> {
        Err(StoreError::backend("redis", "connection refused"))
    }
    async fn add(&self, _: &ApiKeyDigest, _: &ApiKeyRecord) -> Result<bool, StoreError> {
        Err(StoreError::backend("redis", "connection refused"))
    }
    async fn remove(&self, _: &ApiKeyDigest) -> Result<bool, StoreError> {
        Err(StoreError::backend("redis", "connection refused"))
    }
    async fn list(&self) -> Result<Vec<(ApiKeyDigest, ApiKeyRecord)>, StoreError> {
        Err(StoreError::backend("redis", "connection refused"))
    }
}

#[tokio::test]
async fn an_unreachable_directory_fails_closed_and_configured_keys_still_work() {
    let mock = MockServer::start(MockConfig::new()).await;
    let (host, store) = signed_in(&mock, "octocat").await;
    let pool = ClientPool::builder()
        .host(host)
        .token_store(store)
        .build()
        .unwrap();
    let keys =
        ApiKeys::from_json(r#"{"keys":[{"key":"sk-file-key-0123456789","user":"octocat"}]}"#)
            .unwrap();
    let gateway = Gateway::new(
        local_config(keys).key_directory(Arc::new(Unreachable)),
        Upstream::Pool(pool),
    )
    .unwrap()
    .start()
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let down = chat(&http, &gateway, ALICE_KEY).await;
    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
    let body: Value = serde_json::from_str(&down.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "key_directory_unavailable", "{body}");
    assert_eq!(
        chat(&http, &gateway, "sk-file-key-0123456789")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_key_directory_needs_multi_user_mode() {
    let mock = MockServer::start(MockConfig::new()).await;
    let client = crate::common::mock_client(&mock);
    let refused = Gateway::new(
        local_config(ApiKeys::single("sk-local-0123456789abcdef").unwrap())
            .key_directory(Arc::new(MemoryApiKeys::new())),
        Upstream::Client(client),
    )
    .expect_err("a directory binds keys to users");
    assert!(
        matches!(refused, ServeError::Config(ref m) if m.contains("multi-user")),
        "{refused}"
    );
}
