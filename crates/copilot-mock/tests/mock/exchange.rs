//! Token exchange, copilot_internal/user and Copilot token expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use copilot_mock::{CopilotAccess, CopilotSeat, MockConfig, MockUser, RegisteredToken};
use serde_json::{Value, json};

use crate::support::{api_post, content_type, copilot_token, exchange, github_get, json, start};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

async fn exchange_status(server: &copilot_mock::MockServer, token: &str) -> (u16, Value) {
    let response = github_get(
        server,
        "/copilot_internal/v2/token",
        &format!("Bearer {token}"),
    )
    .await;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn exchange_returns_the_full_envelope_pointing_at_the_mock() {
    let (server, _) =
        start(MockConfig::new().user(MockUser::new("biz").copilot(CopilotSeat::business()))).await;
    let token = server.mint_github_token("biz");
    let envelope = exchange(&server, &token).await;
    let real = fixture("token_v2_business_seat_2026-03_redacted_by_author.json");
    for key in real.as_object().unwrap().keys() {
        assert!(envelope.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(envelope["endpoints"]["api"], server.copilot_api_url());
    assert_eq!(envelope["refresh_in"], 1500);
    assert_eq!(envelope["sku"], "copilot_for_business_seat_quota");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_at = envelope["expires_at"].as_u64().unwrap();
    assert!(expires_at >= now + 1790 && expires_at <= now + 1810);

    let copilot = envelope["token"].as_str().unwrap();
    let (fields, mac) = copilot.rsplit_once(':').unwrap();
    assert_eq!(mac.len(), 64);
    assert!(fields.starts_with("tid="));
    assert!(fields.contains(&format!(";exp={expires_at};")));
    assert!(fields.contains(";sku=copilot_for_business_seat_quota;"));
    assert!(fields.contains(";proxy-ep=proxy.business.githubcopilot.com;"));
}

#[tokio::test]
async fn exchange_errors_by_token_source() {
    let config = MockConfig::new()
        .user(MockUser::new("nocopilot").copilot(CopilotAccess::none()))
        .token(RegisteredToken::new(
            "ghp_classicclassicclassicclassicclassic12",
            "octocat",
        ))
        .token(RegisteredToken::new(
            "github_pat_11AAAAAAA0finegrainedfinegrained",
            "octocat",
        ))
        .token(
            RegisteredToken::new("gho_ownappownappownappownappownapp1234", "octocat")
                .allow_listed(false),
        );
    let (server, _) = start(config).await;

    let (status, body) = exchange_status(&server, "gho_unknownunknownunknownunknownunknown").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );

    let revoked = server.mint_github_token("octocat");
    server.revoke_github_token(&revoked);
    assert_eq!(exchange_status(&server, &revoked).await.0, 401);

    let (status, body) = exchange_status(&server, &server.mint_github_token("nocopilot")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error_details"]["notification_id"],
        "no_copilot_access"
    );
    assert_eq!(body["can_signup_for_limited"], true);
    for key in ["message", "title", "url"] {
        assert!(body["error_details"][key].is_string());
    }
    assert!(body["message"].is_string());

    assert_eq!(
        exchange_status(&server, "gho_ownappownappownappownappownapp1234")
            .await
            .0,
        404
    );
    assert_eq!(
        exchange_status(&server, "ghp_classicclassicclassicclassicclassic12")
            .await
            .0,
        404
    );
    let (status, body) =
        exchange_status(&server, "github_pat_11AAAAAAA0finegrainedfinegrained").await;
    assert_eq!(status, 403);
    assert_eq!(
        body["message"],
        "Resource not accessible by personal access token"
    );
}

#[tokio::test]
async fn copilot_user_reports_plan_endpoints_and_quota() {
    let seat = CopilotSeat::individual().premium(300, -12);
    let (server, _) = start(MockConfig::new().user(MockUser::new("over").copilot(seat))).await;
    let token = server.mint_github_token("over");
    let response = github_get(&server, "/copilot_internal/user", &format!("token {token}")).await;
    assert_eq!(response.status(), 200);
    let user = json(response).await;
    assert_eq!(user["login"], "over");
    assert_eq!(user["copilot_plan"], "individual");
    assert_eq!(user["endpoints"]["api"], server.copilot_api_url());
    let premium = &user["quota_snapshots"]["premium_interactions"];
    assert_eq!(premium["remaining"], -12);
    assert!(premium["percent_remaining"].as_f64().unwrap() < 0.0);
    assert_eq!(user["quota_snapshots"]["chat"]["unlimited"], true);
}

#[tokio::test]
async fn expired_copilot_tokens_get_401_text_until_re_exchanged() {
    let (server, _) = start(MockConfig::new()).await;
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]});
    let token = copilot_token(&server).await;
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &body)
            .await
            .status(),
        200
    );

    server.expire_copilot_tokens();
    let expired = api_post(&server, "/chat/completions", &token, &body).await;
    assert_eq!(expired.status(), 401);
    assert!(content_type(&expired).starts_with("text/plain"));
    assert_eq!(expired.text().await.unwrap(), "unauthorized: token expired");

    let fresh = copilot_token(&server).await;
    assert_eq!(
        api_post(&server, "/chat/completions", &fresh, &body)
            .await
            .status(),
        200
    );
    assert_eq!(server.copilot_tokens_issued(), 2);
}

#[tokio::test]
async fn zero_lifetime_tokens_are_born_expired() {
    let (server, _) = start(
        MockConfig::new()
            .copilot_token_lifetime(Duration::ZERO)
            .copilot_refresh_in(0),
    )
    .await;
    let github = server.mint_github_token("octocat");
    let envelope = exchange(&server, &github).await;
    assert_eq!(envelope["refresh_in"], 0);
    let token = envelope["token"].as_str().unwrap();
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(
        api_post(&server, "/chat/completions", token, &body)
            .await
            .status(),
        401
    );
}
