//! Web application flow: authorize redirects and the code exchange with PKCE.

use base64::Engine as _;
use copilot_mock::{
    MockClient, MockConfig, MockServer, WEB_APP_CLIENT_ID, WEB_APP_CLIENT_SECRET, WebFlowDecision,
};
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::{http, oauth, start};

const REDIRECT: &str = "http://127.0.0.1:4567/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

/// Follows `/login/oauth/authorize` once and returns the callback's query pairs.
async fn authorize(
    server: &MockServer,
    client_id: &str,
    redirect: &str,
    pkce: bool,
) -> Vec<(String, String)> {
    let mut url = Url::parse(&format!(
        "{}/login/oauth/authorize",
        server.github_web_url()
    ))
    .unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "st4te-123")
        .append_pair("scope", "read:user repo");
    if pkce {
        url.query_pairs_mut()
            .append_pair("code_challenge", &challenge())
            .append_pair("code_challenge_method", "S256");
    }
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

async fn exchange(
    server: &MockServer,
    code: &str,
    secret: &str,
    verifier: &str,
    redirect: &str,
) -> serde_json::Value {
    oauth(
        server,
        "/login/oauth/access_token",
        &[
            ("client_id", WEB_APP_CLIENT_ID),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn approved_authorization_exchanges_once_for_an_expiring_pair() {
    let (server, _) = start(MockConfig::new()).await;
    let callback = authorize(&server, WEB_APP_CLIENT_ID, REDIRECT, true).await;
    assert_eq!(get(&callback, "state"), Some("st4te-123"));
    let code = get(&callback, "code").unwrap().to_string();
    let token = exchange(&server, &code, WEB_APP_CLIENT_SECRET, VERIFIER, REDIRECT).await;
    assert!(
        token["access_token"].as_str().unwrap().starts_with("ghu_"),
        "{token}"
    );
    assert!(token["refresh_token"].as_str().unwrap().starts_with("ghr_"));
    assert_eq!(token["expires_in"], 28800);
    assert_eq!(token["refresh_token_expires_in"], 15811200);
    assert_eq!(token["scope"], "");
    let again = exchange(&server, &code, WEB_APP_CLIENT_SECRET, VERIFIER, REDIRECT).await;
    assert_eq!(again["error"], "bad_verification_code");
}

#[tokio::test]
async fn denied_authorization_redirects_with_access_denied() {
    let (server, _) = start(MockConfig::new().web_flow(WebFlowDecision::Deny)).await;
    let callback = authorize(&server, WEB_APP_CLIENT_ID, REDIRECT, false).await;
    assert_eq!(get(&callback, "error"), Some("access_denied"));
    assert_eq!(get(&callback, "state"), Some("st4te-123"));
    assert_eq!(get(&callback, "code"), None);
}

#[tokio::test]
async fn code_exchange_errors() {
    let (server, _) = start(MockConfig::new()).await;
    let code = |pairs: Vec<(String, String)>| get(&pairs, "code").unwrap().to_string();

    let c = code(authorize(&server, WEB_APP_CLIENT_ID, REDIRECT, true).await);
    assert_eq!(
        exchange(&server, &c, "wrong", VERIFIER, REDIRECT).await["error"],
        "incorrect_client_credentials"
    );
    assert_eq!(
        exchange(
            &server,
            &c,
            WEB_APP_CLIENT_SECRET,
            "wrong-verifier",
            REDIRECT
        )
        .await["error"],
        "bad_verification_code"
    );
    assert_eq!(
        exchange(
            &server,
            &c,
            WEB_APP_CLIENT_SECRET,
            VERIFIER,
            "http://127.0.0.1:4567/other"
        )
        .await["error"],
        "redirect_uri_mismatch"
    );
    assert_eq!(
        exchange(&server, "nope", WEB_APP_CLIENT_SECRET, VERIFIER, REDIRECT).await["error"],
        "bad_verification_code"
    );

    // A callback that is not registered comes back as an error on the registered callback.
    let mismatch = authorize(
        &server,
        WEB_APP_CLIENT_ID,
        "https://evil.example/callback",
        false,
    )
    .await;
    assert_eq!(get(&mismatch, "error"), Some("redirect_uri_mismatch"));
}

#[tokio::test]
async fn oauth_apps_issue_gho_tokens_with_scopes() {
    let app = MockClient::oauth_app("Ov23liOwnOAuthApp001")
        .secret("s3cret")
        .redirect_uri("http://127.0.0.1/cb");
    let (server, _) = start(MockConfig::new().client(app)).await;
    let callback = authorize(
        &server,
        "Ov23liOwnOAuthApp001",
        "http://127.0.0.1:9999/cb/sub",
        false,
    )
    .await;
    let code = get(&callback, "code").unwrap();
    let token = oauth(
        &server,
        "/login/oauth/access_token",
        &[
            ("client_id", "Ov23liOwnOAuthApp001"),
            ("client_secret", "s3cret"),
            ("code", code),
        ],
    )
    .await;
    assert!(token["access_token"].as_str().unwrap().starts_with("gho_"));
    assert_eq!(token["scope"], "read:user,repo");
    assert!(token.get("refresh_token").is_none());
}
