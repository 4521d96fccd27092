//! Direct and Auto modes, and `copilot_internal/user`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use copilot_http::time::{ManualClock, RecordingSleep, TokioSleep};
use copilot_token::{
    AuthMode, CopilotPlan, CopilotUserInfo, StaticGitHubToken, TokenError, TokenManager,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use super::support::*;

fn user_body() -> serde_json::Value {
    json!({
        "login": "octocat",
        "access_type_sku": "plus_monthly_subscriber_quota",
        "analytics_tracking_id": "abc",
        "assigned_date": "2025-01-01T00:00:00Z",
        "can_signup_for_limited": false,
        "chat_enabled": true,
        "copilot_plan": "individual_pro",
        "organization_login_list": ["acme"],
        "organization_list": [{"login": "acme", "name": "Acme Inc", "plan": "business"}],
        "endpoints": {
            "api": "https://api.individual.githubcopilot.com",
            "proxy": "https://proxy.individual.githubcopilot.com",
            "telemetry": "https://telemetry.individual.githubcopilot.com",
            "origin-tracker": "https://origin-tracker.individual.githubcopilot.com"
        },
        "quota_reset_date": "2026-09-01",
        "quota_reset_date_utc": "2026-09-01T00:00:00.000Z",
        "quota_snapshots": {
            "chat": {"entitlement": 0, "remaining": 0, "percent_remaining": 100.0, "unlimited": true,
                      "overage_count": 0, "overage_permitted": false, "quota_id": "chat", "has_quota": true,
                      "quota_remaining": 0.0, "quota_reset_at": null, "timestamp_utc": "2026-08-20T10:00:00Z"},
            "completions": {"entitlement": 0, "remaining": 0, "percent_remaining": 100.0, "unlimited": true,
                             "quota_id": "completions"},
            "premium_interactions": {"entitlement": 300, "remaining": -12.5, "percent_remaining": -4.2,
                                      "unlimited": false, "overage_count": 12.5, "overage_permitted": true,
                                      "quota_id": "premium_interactions", "brand_new": 1},
            "future_counter": {"entitlement": 1}
        },
        "token_based_billing": {"enabled": true},
        "some_future_field": [1, 2]
    })
}

async fn server_with_user(user: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path(USER_PATH))
        .respond_with(user)
        .mount(&server)
        .await;
    server
}

/// A server whose user endpoint answers [`user_body`], with the catch-all 500 behind it.
async fn user_server() -> MockServer {
    let server = server_with_user(ResponseTemplate::new(200).set_body_json(user_body())).await;
    mount_catch_all(&server).await;
    server
}

fn manager(
    server: &MockServer,
    mode: AuthMode,
    provider: Arc<dyn copilot_token::GitHubTokenProvider>,
) -> TokenManager {
    reqwest_manager(
        server,
        mode,
        provider,
        ManualClock::new(t0()),
        RecordingSleep::new(),
    )
    .build()
}

#[test]
fn user_info_decodes_and_tolerates_change() {
    let info = CopilotUserInfo::from_json(&serde_json::to_vec(&user_body()).unwrap()).unwrap();
    assert_eq!(info.login.as_deref(), Some("octocat"));
    assert_eq!(info.copilot_plan, Some(CopilotPlan::IndividualPro));
    assert_eq!(
        info.organization_list.as_ref().unwrap()[0].extra["plan"],
        json!("business")
    );
    let quotas = info.quota_snapshots.as_ref().unwrap();
    let premium = quotas.premium_interactions.as_ref().unwrap();
    assert_eq!(premium.remaining, Some(-12.5));
    assert_eq!(premium.percent_remaining, Some(-4.2));
    assert_eq!(premium.entitlement, Some(300.0));
    assert_eq!(premium.overage_permitted, Some(true));
    assert_eq!(premium.extra["brand_new"], json!(1));
    assert_eq!(quotas.chat.as_ref().unwrap().unlimited, Some(true));
    assert_eq!(quotas.extra["future_counter"], json!({"entitlement": 1}));
    assert_eq!(
        info.token_based_billing.as_ref().and_then(|b| b.enabled),
        Some(true)
    );
    // Used: the entitlement plus the overage (remaining is negative).
    assert_eq!(premium.used(), Some(312.5));
    assert_eq!(quotas.chat.as_ref().unwrap().used(), None, "unlimited");
    assert_eq!(info.extra["some_future_field"], json!([1, 2]));

    // An unknown plan is kept; a field whose type changed becomes None instead of failing.
    let changed = json!({"login": 42, "copilot_plan": "galactic", "chat_enabled": "yes", "quota_snapshots": {"chat": {"remaining": "lots"}}});
    let info = CopilotUserInfo::from_json(&serde_json::to_vec(&changed).unwrap()).unwrap();
    assert_eq!(info.login, None);
    assert_eq!(
        info.copilot_plan,
        Some(CopilotPlan::Other("galactic".into()))
    );
    assert_eq!(info.chat_enabled, None);
    assert_eq!(info.quota_snapshots.unwrap().chat.unwrap().remaining, None);
    assert!(CopilotUserInfo::from_json(b"not json").is_err());
}

#[tokio::test]
async fn user_info_request_shape() {
    let server = user_server().await;
    let manager = manager(&server, AuthMode::Exchange, static_token());
    let info = manager.user_info().await.unwrap();
    assert_eq!(
        info.copilot_plan.as_ref().map(CopilotPlan::as_str),
        Some("individual_pro")
    );
    insta::assert_snapshot!(
        "user_info_request",
        request_shape(&single_request(&server).await)
    );
}

#[tokio::test]
async fn user_info_errors_are_typed() {
    let server = server_with_user(bad_credentials()).await;
    mount_catch_all(&server).await;
    let provider = RotatingProvider::new("gho_revoked", None);
    let manager = manager(&server, AuthMode::Exchange, provider.clone());
    assert!(manager.user_info().await.unwrap_err().requires_sign_in());
    assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1);

    let server = server_with_user(ResponseTemplate::new(404)).await;
    let manager = self::manager(&server, AuthMode::Exchange, static_token());
    assert!(matches!(
        manager.user_info().await.unwrap_err(),
        TokenError::Http {
            status: 404,
            endpoint: "copilot_internal/user",
            ..
        }
    ));
}

#[tokio::test]
async fn direct_mode_sends_the_github_token_to_the_advertised_api() {
    let server = user_server().await;
    let manager = manager(&server, AuthMode::Direct, static_token());

    let credentials = manager.credentials().await.unwrap();
    assert_eq!(credentials.bearer.expose_secret(), GH_TOKEN);
    assert_eq!(
        credentials.base_url.as_str(),
        "https://api.individual.githubcopilot.com/"
    );
    assert_eq!(manager.current_mode(), Some(AuthMode::Direct));
    assert_eq!(credentials.expires_at, None);
    assert_eq!(
        credentials.integration_id.as_deref(),
        Some("copilot-developer-cli")
    );
    assert!(matches!(
        manager.get().await,
        Err(TokenError::DirectModeHasNoCopilotToken)
    ));
    let header = credentials.authorization_header().unwrap();
    assert!(header.is_sensitive());
    assert_eq!(header.to_str().unwrap(), format!("Bearer {GH_TOKEN}"));
    assert!(matches!(
        manager.get().await,
        Err(TokenError::DirectModeHasNoCopilotToken)
    ));

    // Cached: one user lookup, no exchange at all.
    manager.credentials().await.unwrap();
    assert_eq!(count(&server, USER_PATH).await, 1);
    assert_eq!(count(&server, EXCHANGE_PATH).await, 0);
    insta::assert_snapshot!(
        "direct_user_lookup",
        request_shape(&single_request(&server).await)
    );
}

#[tokio::test]
async fn direct_mode_uses_the_configured_integration_id() {
    let server = user_server().await;
    let exchanger = exchanger_builder(
        reqwest_transport(),
        host_for(&server),
        ManualClock::new(t0()),
        TokioSleep,
    )
    .identity(identity().with_integration_id("vscode-chat"))
    .build();
    let manager = TokenManager::builder(exchanger, static_token())
        .mode(AuthMode::Direct)
        .build();
    assert_eq!(
        manager
            .credentials()
            .await
            .unwrap()
            .integration_id
            .as_deref(),
        Some("vscode-chat")
    );
}

#[tokio::test]
async fn direct_mode_refuses_a_poisoned_user_endpoint_and_falls_back_on_failures() {
    let mut poisoned = user_body();
    poisoned["endpoints"]["api"] = json!("https://evil.example");
    let server = server_with_user(ResponseTemplate::new(200).set_body_json(poisoned)).await;
    let manager = manager(&server, AuthMode::Direct, static_token());
    assert!(matches!(
        manager.credentials().await.unwrap_err(),
        TokenError::UntrustedEndpoint { .. }
    ));

    let server = server_with_user(ResponseTemplate::new(500)).await;
    let manager = self::manager(&server, AuthMode::Direct, static_token());
    let credentials = manager.credentials().await.unwrap();
    assert_eq!(
        credentials.base_url.as_str(),
        "https://api.githubcopilot.com/"
    );
}

#[tokio::test]
async fn the_user_endpoint_refreshes_a_rejected_github_token_through_the_provider_once() {
    let user = || ResponseTemplate::new(200).set_body_json(user_body());
    // `user_info`, and direct mode resolving its base URL (which then hands out the fresh token).
    for mode in [AuthMode::Exchange, AuthMode::Direct] {
        let server = rejecting_expired_server(USER_PATH, user()).await;
        let provider = RotatingProvider::new("ghu_expired", Some("ghu_fresh"));
        let subject = manager(&server, mode, provider.clone());
        if mode == AuthMode::Direct {
            let credentials = subject.credentials().await.unwrap();
            assert_eq!(credentials.bearer.expose_secret(), "ghu_fresh");
        } else {
            let info = subject.user_info().await.unwrap();
            assert_eq!(info.login.as_deref(), Some("octocat"));
        }
        assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1, "{mode:?}");
        assert_eq!(count(&server, USER_PATH).await, 2, "{mode:?}");
    }

    // Without a replacement the rejection stands, after one refresh attempt.
    let server = rejecting_expired_server(USER_PATH, user()).await;
    let provider = RotatingProvider::new("ghu_expired", None);
    let outcome = manager(&server, AuthMode::Direct, provider.clone())
        .credentials()
        .await;
    assert!(
        matches!(outcome, Err(TokenError::GitHubTokenRejected { .. })),
        "{outcome:?}"
    );
    assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(count(&server, USER_PATH).await, 1);
}

#[tokio::test]
async fn direct_mode_invalidate_asks_the_provider_for_a_fresh_github_token() {
    let server = user_server().await;
    let provider = RotatingProvider::new("ghu_old", Some("ghu_new"));
    let manager = manager(&server, AuthMode::Direct, provider.clone());

    let first = manager.credentials().await.unwrap();
    assert_eq!(first.bearer.expose_secret(), "ghu_old");
    assert!(manager.invalidate(&first));
    let second = manager.credentials().await.unwrap();
    assert_eq!(second.bearer.expose_secret(), "ghu_new");
    assert_eq!(provider.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        count(&server, USER_PATH).await,
        2,
        "the base URL is resolved again"
    );
    assert!(!manager.invalidate(&first));
}

#[tokio::test]
async fn auto_mode_falls_back_to_direct_on_404_and_remembers() {
    let server = server_with_user(ResponseTemplate::new(200).set_body_json(user_body())).await;
    mount_exchange(
        &server,
        ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
    )
    .await;
    mount_catch_all(&server).await;
    let manager = manager(&server, AuthMode::Auto, static_token());
    assert_eq!(manager.effective_mode(), None);

    let credentials = manager.credentials().await.unwrap();
    assert_eq!(manager.current_mode(), Some(AuthMode::Direct));
    assert_eq!(credentials.bearer.expose_secret(), GH_TOKEN);
    assert_eq!(manager.effective_mode(), Some(AuthMode::Direct));

    assert!(manager.invalidate(&credentials));
    manager.credentials().await.unwrap();
    assert_eq!(manager.current_mode(), Some(AuthMode::Direct));
    assert_eq!(
        count(&server, EXCHANGE_PATH).await,
        1,
        "the 404 is remembered"
    );
}

#[tokio::test]
async fn auto_mode_uses_the_exchange_when_it_works() {
    let server = exchange_server(SequencedExchange::new(T0)).await;
    let manager = manager(&server, AuthMode::Auto, static_token());
    let credentials = manager.credentials().await.unwrap();
    assert_eq!(manager.current_mode(), Some(AuthMode::Exchange));
    assert_eq!(
        credentials.base_url.as_str(),
        "https://api.individual.githubcopilot.com/"
    );
    assert_eq!(
        credentials.expires_at,
        Some(copilot_http::time::from_unix_seconds(T0 + 1800))
    );
    assert_eq!(manager.effective_mode(), Some(AuthMode::Exchange));
    assert_eq!(count(&server, USER_PATH).await, 0);
}

#[tokio::test]
async fn auto_mode_goes_direct_at_once_for_tokens_that_cannot_be_exchanged() {
    let server = user_server().await;
    let manager = manager(
        &server,
        AuthMode::Auto,
        Arc::new(StaticGitHubToken::new("github_pat_11AAfinegrained")),
    );
    manager.credentials().await.unwrap();
    assert_eq!(manager.current_mode(), Some(AuthMode::Direct));
    assert_eq!(count(&server, EXCHANGE_PATH).await, 0);
}

#[tokio::test]
async fn auto_mode_does_not_hide_other_exchange_errors() {
    let server = MockServer::start().await;
    mount_exchange(
        &server,
        ResponseTemplate::new(403).set_body_json(json!({
            "can_signup_for_limited": false,
            "error_details": {"notification_id": "subscription_ended", "message": "ended", "url": "https://x"},
            "message": "ended"
        })),
    )
    .await;
    mount_catch_all(&server).await;
    let manager = manager(&server, AuthMode::Auto, static_token());
    assert!(matches!(
        manager.credentials().await.unwrap_err(),
        TokenError::NotEntitled { .. }
    ));
    assert_eq!(manager.effective_mode(), None);
    assert_eq!(count(&server, USER_PATH).await, 0);
}

#[tokio::test]
async fn an_explicit_base_url_override_wins() {
    let server = exchange_server(SequencedExchange::new(T0)).await;
    let manager = TokenManager::builder(
        exchanger(
            reqwest_transport(),
            host_for(&server),
            Arc::new(ManualClock::new(t0())),
            Arc::new(TokioSleep),
        ),
        static_token(),
    )
    .mode(AuthMode::Exchange)
    .copilot_api_override(url::Url::parse("http://127.0.0.1:4141/").unwrap())
    .build();
    assert_eq!(
        manager.credentials().await.unwrap().base_url.as_str(),
        "http://127.0.0.1:4141/"
    );
}

#[test]
fn usage_based_billing_fields_are_typed() {
    let body = json!({
        "quota_snapshots": {"premium_interactions": {
            "entitlement": 300, "remaining": 250, "credits_used": 51.25, "overage_entitlement": 100,
            "unlimited": false}},
        "token_based_billing": {"enabled": false, "since": "2026-06-01"}
    });
    let info = CopilotUserInfo::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
    let premium = info
        .quota_snapshots
        .as_ref()
        .and_then(|q| q.premium_interactions.as_ref())
        .unwrap();
    assert_eq!(premium.credits_used, Some(51.25));
    assert_eq!(premium.overage_entitlement, Some(100.0));
    assert_eq!(premium.used(), Some(51.25), "credits_used wins when sent");
    let billing = info.token_based_billing.unwrap();
    assert_eq!(billing.enabled, Some(false));
    assert_eq!(billing.extra["since"], json!("2026-06-01"));
}
