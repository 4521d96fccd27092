//! Device flow: code request encodings and every poll outcome.

use std::time::Duration;

use copilot_mock::{
    COPILOT_CLIENT_ID, DeviceOutcome, DeviceScenario, Endpoint, MockClient, MockConfig,
    WEB_APP_CLIENT_ID,
};
use serde_json::Value;

use crate::support::{content_type, json, oauth, start};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn quick(outcome: DeviceOutcome) -> MockConfig {
    MockConfig::new().device(DeviceScenario::new().interval(0).outcome(outcome))
}

async fn new_code(server: &copilot_mock::MockServer) -> Value {
    oauth(
        server,
        "/login/device/code",
        &[("client_id", COPILOT_CLIENT_ID), ("scope", "read:user")],
    )
    .await
}

async fn poll(server: &copilot_mock::MockServer, device_code: &str) -> Value {
    oauth(
        server,
        "/login/oauth/access_token",
        &[
            ("client_id", COPILOT_CLIENT_ID),
            ("device_code", device_code),
            ("grant_type", GRANT),
        ],
    )
    .await
}

#[tokio::test]
async fn device_code_answers_json_or_form_like_github() {
    let (server, client) = start(MockConfig::new()).await;
    let code = new_code(&server).await;
    assert_eq!(code["device_code"].as_str().unwrap().len(), 40);
    let user_code = code["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(
        code["verification_uri"],
        format!("{}/login/device", server.github_web_url())
    );
    assert_eq!(code["expires_in"], 900);
    assert_eq!(code["interval"], 5);

    // Without Accept: application/json, GitHub answers form-encoded.
    let form = client
        .post(format!("{}/login/device/code", server.github_web_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("client_id={COPILOT_CLIENT_ID}"))
        .send()
        .await
        .unwrap();
    assert!(content_type(&form).starts_with("application/x-www-form-urlencoded"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&form.text().await.unwrap()).unwrap();
    assert!(pairs.iter().any(|(k, v)| k == "interval" && v == "5"));

    // A JSON request body is accepted too.
    let from_json = client
        .post(format!("{}/login/device/code", server.github_web_url()))
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"client_id":"{COPILOT_CLIENT_ID}","scope":"read:user"}}"#
        ))
        .send()
        .await
        .unwrap();
    assert!(json(from_json).await["device_code"].is_string());
}

#[tokio::test]
async fn device_flow_stays_pending_then_issues_a_token_once() {
    let (server, _) = start(quick(DeviceOutcome::ApproveAfterPolls(2))).await;
    let code = new_code(&server).await;
    let device_code = code["device_code"].as_str().unwrap();
    assert_eq!(
        poll(&server, device_code).await["error"],
        "authorization_pending"
    );
    assert_eq!(
        poll(&server, device_code).await["error"],
        "authorization_pending"
    );
    let token = poll(&server, device_code).await;
    assert!(
        token["access_token"].as_str().unwrap().starts_with("ghu_"),
        "{token}"
    );
    assert_eq!(token["token_type"], "bearer");
    assert!(
        token.get("refresh_token").is_none(),
        "the Copilot app issues long-lived tokens"
    );
    assert_eq!(
        poll(&server, device_code).await["error"],
        "incorrect_device_code"
    );
}

#[tokio::test]
async fn device_flow_deny_expire_and_delay() {
    let (server, _) = start(quick(DeviceOutcome::Deny)).await;
    let code = new_code(&server).await;
    let pending = poll(&server, code["device_code"].as_str().unwrap()).await;
    assert_eq!(pending["error"], "access_denied");
    assert!(pending["error_description"].is_string() && pending["error_uri"].is_string());

    server.set_device_scenario(
        DeviceScenario::new()
            .interval(0)
            .outcome(DeviceOutcome::Expire),
    );
    let code = new_code(&server).await;
    assert_eq!(
        poll(&server, code["device_code"].as_str().unwrap()).await["error"],
        "expired_token"
    );

    // Real expiry: expires_in 0 means the first poll is already late.
    server.set_device_scenario(DeviceScenario::new().interval(0).expires_in(0));
    let code = new_code(&server).await;
    assert_eq!(
        poll(&server, code["device_code"].as_str().unwrap()).await["error"],
        "expired_token"
    );

    server.set_device_scenario(
        DeviceScenario::new()
            .interval(0)
            .outcome(DeviceOutcome::ApproveAfterDelay(Duration::ZERO)),
    );
    let code = new_code(&server).await;
    assert!(poll(&server, code["device_code"].as_str().unwrap()).await["access_token"].is_string());
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down_and_is_counted() {
    let (server, _) = start(MockConfig::new()).await; // interval 5
    let code = new_code(&server).await;
    let answer = poll(&server, code["device_code"].as_str().unwrap()).await;
    assert_eq!(answer["error"], "slow_down");
    assert_eq!(answer["interval"], 10);
    assert_eq!(server.slow_down_count(), 1);
    let polls = server.requests_to(Endpoint::AccessToken);
    assert_eq!(polls.last().unwrap().note.as_deref(), Some("slow_down"));
}

#[tokio::test]
async fn slow_down_once_is_forced_on_the_first_poll() {
    let (server, _) =
        start(MockConfig::new().device(DeviceScenario::new().interval(0).slow_down_once(true)))
            .await;
    let code = new_code(&server).await;
    let answer = poll(&server, code["device_code"].as_str().unwrap()).await;
    assert_eq!(answer["error"], "slow_down");
    assert_eq!(answer["interval"], 5);
    assert_eq!(server.slow_down_count(), 1);
}

#[tokio::test]
async fn manual_approval_by_control_or_device_page() {
    let (server, client) = start(quick(DeviceOutcome::Manual)).await;
    let first = new_code(&server).await;
    let second = new_code(&server).await;
    assert_eq!(server.pending_user_codes().len(), 2);
    let first_code = first["device_code"].as_str().unwrap();
    assert_eq!(
        poll(&server, first_code).await["error"],
        "authorization_pending"
    );
    assert!(server.approve_device(first["user_code"].as_str().unwrap(), "octocat"));
    assert!(poll(&server, first_code).await["access_token"].is_string());

    let page = client
        .get(format!("{}/login/device", server.github_web_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("user_code"));
    let submit = client
        .post(format!("{}/login/device", server.github_web_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "user_code={}&action=deny",
            second["user_code"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(submit.status(), 200);
    assert_eq!(
        poll(&server, second["device_code"].as_str().unwrap()).await["error"],
        "access_denied"
    );
    assert!(!server.deny_device("ZZZZ-ZZZZ"));
}

#[tokio::test]
async fn device_flow_configuration_errors() {
    let config = quick(DeviceOutcome::Manual)
        .client(MockClient::oauth_app("Ov23NoDeviceFlow").device_flow(false));
    let (server, _) = start(config).await;
    let unknown = oauth(&server, "/login/device/code", &[("client_id", "nope")]).await;
    assert_eq!(unknown["error"], "incorrect_client_credentials");
    let disabled = oauth(
        &server,
        "/login/device/code",
        &[("client_id", "Ov23NoDeviceFlow")],
    )
    .await;
    assert_eq!(disabled["error"], "device_flow_disabled");

    let code = new_code(&server).await;
    let device_code = code["device_code"].as_str().unwrap();
    let no_grant = oauth(
        &server,
        "/login/oauth/access_token",
        &[
            ("client_id", COPILOT_CLIENT_ID),
            ("device_code", device_code),
        ],
    )
    .await;
    assert_eq!(no_grant["error"], "unsupported_grant_type");
    assert_eq!(
        poll(&server, "0000").await["error"],
        "incorrect_device_code"
    );
    let other_client = oauth(
        &server,
        "/login/oauth/access_token",
        &[
            ("client_id", WEB_APP_CLIENT_ID),
            ("device_code", device_code),
            ("grant_type", GRANT),
        ],
    )
    .await;
    assert_eq!(other_client["error"], "incorrect_device_code");
}
