//! Refresh-token grant: rotation, single use, secrets.

use copilot_mock::{
    DeviceScenario, MockConfig, MockServer, WEB_APP_CLIENT_ID, WEB_APP_CLIENT_SECRET,
};
use serde_json::Value;

use crate::support::{github_get, oauth, start};

async fn user_status(server: &MockServer, token: &str) -> u16 {
    github_get(server, "/user", &format!("token {token}"))
        .await
        .status()
        .as_u16()
}

/// An expiring pair from the device flow of the own GitHub App.
async fn device_pair(server: &MockServer) -> Value {
    let code = oauth(
        server,
        "/login/device/code",
        &[("client_id", WEB_APP_CLIENT_ID)],
    )
    .await;
    let grant = [
        ("client_id", WEB_APP_CLIENT_ID),
        ("device_code", code["device_code"].as_str().unwrap()),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
    ];
    assert_eq!(
        oauth(server, "/login/oauth/access_token", &grant).await["error"],
        "authorization_pending"
    );
    oauth(server, "/login/oauth/access_token", &grant).await
}

async fn refresh(server: &MockServer, refresh_token: &str, secret: Option<&str>) -> Value {
    let mut pairs = vec![
        ("client_id", WEB_APP_CLIENT_ID),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(secret) = secret {
        pairs.push(("client_secret", secret));
    }
    oauth(server, "/login/oauth/access_token", &pairs).await
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_is_single_use() {
    let (server, _) = start(MockConfig::new().device(DeviceScenario::new().interval(0))).await;
    let pair = device_pair(&server).await;
    let old_access = pair["access_token"].as_str().unwrap();
    let old_refresh = pair["refresh_token"].as_str().unwrap();
    assert_eq!(user_status(&server, old_access).await, 200);

    // Device-flow tokens refresh without a client secret.
    let fresh = refresh(&server, old_refresh, None).await;
    let new_access = fresh["access_token"].as_str().unwrap();
    assert!(new_access.starts_with("ghu_") && new_access != old_access);
    assert!(fresh["refresh_token"].as_str().unwrap().starts_with("ghr_"));
    assert_eq!(fresh["expires_in"], 28800);
    assert_eq!(fresh["refresh_token_expires_in"], 15811200);

    assert_eq!(
        user_status(&server, old_access).await,
        401,
        "the old pair dies"
    );
    assert_eq!(user_status(&server, new_access).await, 200);
    assert_eq!(
        refresh(&server, old_refresh, None).await["error"],
        "bad_refresh_token"
    );
    assert_eq!(
        refresh(&server, "ghr_unknown", None).await["error"],
        "bad_refresh_token"
    );
}

#[tokio::test]
async fn web_flow_refresh_needs_the_secret_and_expired_tokens_fail() {
    let (server, client) = start(MockConfig::new()).await;
    let authorize = format!(
        "{}/login/oauth/authorize?client_id={WEB_APP_CLIENT_ID}&state=s",
        server.github_web_url()
    );
    let location = client.get(authorize).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let pair = oauth(
        &server,
        "/login/oauth/access_token",
        &[
            ("client_id", WEB_APP_CLIENT_ID),
            ("client_secret", WEB_APP_CLIENT_SECRET),
            ("code", &code),
        ],
    )
    .await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh_token = pair["refresh_token"].as_str().unwrap();

    assert!(server.expire_github_token(access));
    assert_eq!(user_status(&server, access).await, 401);

    assert_eq!(
        refresh(&server, refresh_token, None).await["error"],
        "incorrect_client_credentials"
    );
    assert_eq!(
        refresh(&server, refresh_token, Some("wrong")).await["error"],
        "incorrect_client_credentials"
    );
    let fresh = refresh(&server, refresh_token, Some(WEB_APP_CLIENT_SECRET)).await;
    assert_eq!(
        user_status(&server, fresh["access_token"].as_str().unwrap()).await,
        200
    );
}
