//! No secret reaches a log line or a Debug string.

use std::sync::Arc;

use copilot_auth::{
    CallbackParams, CredentialKey, DeviceFlow, FileStore, GitHubApi, GitHubToken, MemoryStore,
    RefreshOptions, StoredCredential, TokenRefresher, TokenStore, WebFlow, get_or_refresh_with,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer};

use crate::common::{self, Sequence, json as reply};

const SECRETS: &[&str] = &[
    "devicecode0123456789",
    "ghu_devicetoken_secret",
    "ghr_devicerefresh_secret",
    "client-secret-value",
    "webcode_secret",
    "gho_webtoken_secret",
    "ghu_refreshed_secret",
    "ghr_refreshed_secret",
];

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/login/device/code"))
        .respond_with(reply(200, json!({"device_code": "devicecode0123456789", "user_code": "ABCD-EFGH",
            "verification_uri": "https://github.com/login/device", "expires_in": 900, "interval": 5})))
        .mount(&server)
        .await;
    Mock::given(path("/login/oauth/access_token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(reply(
            200,
            json!({"access_token": "ghu_refreshed_secret", "expires_in": 28800,
            "refresh_token": "ghr_refreshed_secret", "refresh_token_expires_in": 15811200}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/login/oauth/access_token"))
        .and(body_string_contains("device_code="))
        .respond_with(Sequence::new(vec![
            reply(200, json!({"error": "authorization_pending"})),
            reply(
                200,
                json!({"access_token": "ghu_devicetoken_secret", "expires_in": 28800,
                "refresh_token": "ghr_devicerefresh_secret", "refresh_token_expires_in": 15811200}),
            ),
        ]))
        .mount(&server)
        .await;
    Mock::given(path("/login/oauth/access_token"))
        .and(body_string_contains("code_verifier="))
        .respond_with(reply(
            200,
            json!({"access_token": "gho_webtoken_secret", "scope": "read:user"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(reply(200, json!({"login": "octocat", "id": 1})))
        .mount(&server)
        .await;
    common::mount_catch_all(&server).await;
    server
}

#[tokio::test]
async fn trace_logs_of_every_flow_hold_no_secret() {
    let (buffer, _guard) = copilot_test_support::capture_logs(tracing::Level::TRACE);
    // tracing-core computes a callsite's interest from the *registering thread's* default dispatcher while
    // only one dispatcher exists, so a callsite first hit by another test's thread would be cached as
    // "never" for this thread-local subscriber. A second live dispatcher makes it consult every dispatcher;
    // the rebuild fixes callsites registered before that.
    let _second_dispatcher = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::callsite::rebuild_interest_cache();
    let mut debug_strings = Vec::new();

    let server = server().await;
    let (clock, sleep) = common::manual_time();

    // Device flow.
    let device = DeviceFlow::new(common::host(&server), "Iv1.logtest")
        .transport(common::transport())
        .clock(common::shared(&clock))
        .sleep(Arc::new(sleep));
    let code = device.start().await.unwrap();
    debug_strings.push(format!("{code:?}"));
    let device_token = device.wait(&code).await.unwrap();
    debug_strings.push(format!("{device_token:?}"));
    debug_strings.push(format!("{device:?}"));

    // Web flow.
    let web = WebFlow::new(
        common::host(&server),
        "Ov23logtest",
        SecretString::from("client-secret-value"),
        url::Url::parse("http://127.0.0.1:1/callback").unwrap(),
    )
    .transport(common::transport());
    debug_strings.push(format!("{web:?}"));
    // A refresher with the client secret.
    debug_strings.push(format!("{:?}", web.refresher()));
    let (_, pending) = web.authorize_url(&["read:user"]).unwrap();
    debug_strings.push(format!("{pending:?}"));
    let state = pending.state().expose_secret().to_owned();
    let verifier = pending.code_verifier().expose_secret().to_owned();
    let callback = CallbackParams::from_query(&format!("code=webcode_secret&state={state}"));
    debug_strings.push(format!("{callback:?}"));
    let web_token = web.complete(pending, &callback).await.unwrap();
    debug_strings.push(format!("{web_token:?}"));

    // Refresh through a file store.
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("credentials.json"));
    let key = CredentialKey::new("github.com", "octocat");
    let credential = StoredCredential::from_token_response(
        "github.com",
        Some("Iv1.logtest".into()),
        &device_token,
    );
    debug_strings.push(format!("{credential:?}"));
    store.save(&key, &credential).await.unwrap();
    let refresher =
        TokenRefresher::new(common::host(&server), "Iv1.logtest").transport(common::transport());
    debug_strings.push(format!("{refresher:?}"));
    clock.advance(std::time::Duration::from_secs(28800));
    let options = RefreshOptions::new().clock(common::shared(&clock));
    let refreshed = get_or_refresh_with(&store, &key, &refresher, &options)
        .await
        .unwrap();
    debug_strings.push(format!("{refreshed:?}"));
    debug_strings.push(format!("{:?}", store.load(&key).await.unwrap()));
    let memory = MemoryStore::new();
    memory.save(&key, &credential).await.unwrap();
    debug_strings.push(format!("{memory:?}"));

    // REST.
    GitHubApi::new(common::host(&server))
        .transport(common::transport())
        .get_user(&GitHubToken::new("gho_webtoken_secret"))
        .await
        .unwrap();

    drop(_guard);
    let logs = buffer.text();
    assert!(
        logs.contains("device flow completed"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("token refreshed"), "{logs}");
    for secret in SECRETS
        .iter()
        .copied()
        .chain([state.as_str(), verifier.as_str()])
    {
        assert!(!logs.contains(secret), "log leaks {secret}:\n{logs}");
        for debug in &debug_strings {
            assert!(!debug.contains(secret), "Debug leaks {secret}: {debug}");
        }
    }
}
