//! Web flow: authorize URL, state check before any request, PKCE, error mapping, loopback callback.

use std::sync::Arc;
use std::time::Duration;

use copilot_auth::{AuthError, CallbackParams, LoopbackCallback, WebFlow, pkce_challenge};
use copilot_http::time::RecordingSleep;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::common::{self, json as reply};

const CLIENT_ID: &str = "Ov23testclient";
const CLIENT_SECRET: &str = "s3cr3t-client-secret-value";

fn flow(server: &MockServer, redirect_uri: &str) -> WebFlow {
    WebFlow::new(
        common::host(server),
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        Url::parse(redirect_uri).unwrap(),
    )
    .transport(common::transport())
    .identity(common::identity())
    .clock(common::shared(&copilot_http::time::ManualClock::new(
        common::t0(),
    )))
}

async fn token_server(body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(reply(200, body))
        .mount(&server)
        .await;
    common::mount_catch_all(&server).await;
    server
}

fn query(url: &Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

#[tokio::test]
async fn authorize_url_carries_state_and_an_s256_challenge() {
    let server = MockServer::start().await;
    let flow = flow(&server, "http://127.0.0.1:8123/callback");
    let (url, pending) = flow.authorize_url(&["read:user", "read:org"]).unwrap();

    assert_eq!(url.path(), "/login/oauth/authorize");
    assert_eq!(query(&url, "client_id"), CLIENT_ID);
    assert_eq!(
        query(&url, "redirect_uri"),
        "http://127.0.0.1:8123/callback"
    );
    assert_eq!(query(&url, "scope"), "read:user read:org");
    assert_eq!(query(&url, "code_challenge_method"), "S256");

    let state = query(&url, "state");
    assert_eq!(state, pending.state().expose_secret());
    // 32 random bytes → 43 base64url characters (≥ 128 bits).
    assert_eq!(state.len(), 43);

    let verifier = pending.code_verifier().expose_secret();
    assert!((43..=128).contains(&verifier.len()));
    assert!(
        verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    );
    assert_eq!(query(&url, "code_challenge"), pkce_challenge(verifier));
    assert_eq!(pending.code_challenge(), pkce_challenge(verifier));

    let (_, other) = flow.authorize_url(&["read:user"]).unwrap();
    assert_ne!(
        other.state().expose_secret(),
        pending.state().expose_secret()
    );
    assert_ne!(other.code_verifier().expose_secret(), verifier);
    assert!(!format!("{pending:?}").contains(verifier));
    assert!(!format!("{pending:?}").contains(&state));
}

#[test]
fn pkce_challenge_matches_rfc_7636_appendix_b() {
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test]
async fn state_mismatch_is_refused_before_any_request() {
    let server = token_server(json!({"access_token": "gho_x"})).await;
    let flow = flow(&server, "http://127.0.0.1:8123/callback");
    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let wrong = format!("{}x", pending.state().expose_secret());
    let error = flow
        .exchange(pending, "the-code", &wrong)
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch), "{error:?}");

    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let callback = CallbackParams::from_query("code=the-code&state=forged");
    let error = flow.complete(pending, &callback).await.unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch));

    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let error = flow
        .complete(pending, &CallbackParams::from_query("code=the-code"))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::StateMismatch));

    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn exchange_sends_the_verifier_and_returns_the_token() {
    let server = token_server(
        json!({"access_token": "gho_webtoken", "token_type": "bearer",
                                     "scope": "read:org,read:user"}),
    )
    .await;
    let flow = flow(&server, "http://127.0.0.1:8123/callback");
    let (url, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let state = pending.state().expose_secret().to_owned();
    let token = flow.exchange(pending, "the-code", &state).await.unwrap();
    assert_eq!(token.access_token.expose_secret(), "gho_webtoken");
    assert_eq!(token.scopes, vec!["read:org", "read:user"]);
    assert_eq!(token.expires_at(), None);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let verifier = common::form_field(&requests[0], "code_verifier").unwrap();
    assert_eq!(pkce_challenge(&verifier), query(&url, "code_challenge"));
    assert_eq!(
        common::form_field(&requests[0], "code").unwrap(),
        "the-code"
    );
    assert_eq!(
        common::form_field(&requests[0], "client_secret").unwrap(),
        CLIENT_SECRET
    );
    insta::assert_snapshot!(
        "web_code_exchange_request",
        common::render_request(&requests[0])
    );
}

#[tokio::test]
async fn exchange_errors_are_typed() {
    type Check = fn(&AuthError) -> bool;
    let cases: Vec<(serde_json::Value, Check)> = vec![
        (json!({"error": "bad_verification_code"}), |e| {
            matches!(e, AuthError::BadVerificationCode)
        }),
        (json!({"error": "redirect_uri_mismatch"}), |e| {
            matches!(e, AuthError::RedirectUriMismatch)
        }),
        (json!({"error": "incorrect_client_credentials"}), |e| {
            matches!(e, AuthError::IncorrectClientCredentials)
        }),
        (json!({"error": "unverified_user_email"}), |e| {
            matches!(e, AuthError::UnverifiedUserEmail)
        }),
        (
            json!({"error": "pkce_failed", "error_description": "bad verifier"}),
            |e| matches!(e, AuthError::OAuth { code, .. } if code == "pkce_failed"),
        ),
        (json!({"scope": ""}), |e| {
            matches!(e, AuthError::MalformedResponse { .. })
        }),
    ];
    for (body, check) in cases {
        let server = token_server(body.clone()).await;
        let flow = flow(&server, "http://127.0.0.1:8123/callback");
        let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
        let state = pending.state().expose_secret().to_owned();
        let error = flow.exchange(pending, "code", &state).await.unwrap_err();
        assert!(check(&error), "{body}: {error:?}");
    }
}

#[tokio::test]
async fn callback_errors_are_typed_without_a_request() {
    let server = token_server(json!({"access_token": "gho_x"})).await;
    let flow = flow(&server, "http://127.0.0.1:8123/callback");

    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let state = pending.state().expose_secret().to_owned();
    let callback = CallbackParams::from_query(&format!(
        "error=access_denied&error_description=The+user+has+denied+your+application+access.&state={state}"
    ));
    let error = flow.complete(pending, &callback).await.unwrap_err();
    assert!(
        matches!(&error, AuthError::AccessDenied { description: Some(d) } if d.contains("denied")),
        "{error:?}"
    );

    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let state = pending.state().expose_secret().to_owned();
    let callback =
        CallbackParams::from_query(&format!("error=application_suspended&state={state}"));
    let error = flow.complete(pending, &callback).await.unwrap_err();
    assert!(matches!(&error, AuthError::OAuth { code, .. } if code == "application_suspended"));

    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let state = pending.state().expose_secret().to_owned();
    let error = flow
        .complete(
            pending,
            &CallbackParams::from_query(&format!("state={state}")),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::MissingCallbackCode));

    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn loopback_callback_end_to_end() {
    let server =
        token_server(json!({"access_token": "ghu_loopback", "token_type": "bearer", "scope": ""}))
            .await;
    let callback = LoopbackCallback::bind("/callback").await.unwrap();
    let redirect = callback.redirect_uri().clone();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert_eq!(redirect.path(), "/callback");
    assert_ne!(redirect.port(), Some(0));

    let flow = flow(&server, redirect.as_str());
    let (_, pending) = flow.authorize_url(&["read:user"]).unwrap();
    let state = pending.state().expose_secret().to_owned();

    // The "browser": first a favicon request (404, ignored), then the redirect.
    let browser = tokio::spawn({
        let redirect = redirect.clone();
        async move {
            let client = reqwest::Client::new();
            let favicon = client
                .get(redirect.join("/favicon.ico").unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(favicon.status(), 404);
            let mut url = redirect.clone();
            url.query_pairs_mut()
                .append_pair("code", "abc123")
                .append_pair("state", &state);
            let page = client.get(url).send().await.unwrap();
            (page.status().as_u16(), page.text().await.unwrap())
        }
    });

    let params = callback
        .wait(&pending, Duration::from_secs(60))
        .await
        .unwrap();
    let (status, page) = browser.await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("You can close this window"), "{page}");
    assert_eq!(params.code.as_ref().unwrap().expose_secret(), "abc123");

    let token = flow.complete(pending, &params).await.unwrap();
    assert_eq!(token.access_token.expose_secret(), "ghu_loopback");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(common::form_field(&requests[0], "code").unwrap(), "abc123");
    assert_eq!(
        common::form_field(&requests[0], "redirect_uri").unwrap(),
        redirect.as_str()
    );
}

#[tokio::test]
async fn loopback_callback_returns_error_params() {
    let callback = LoopbackCallback::bind("cb").await.unwrap();
    let pending = pending_with_state(&callback, "s1");
    let mut url = callback.redirect_uri().clone();
    url.set_query(Some("error=access_denied&state=s1"));
    let browser =
        tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() });
    let params = callback
        .wait(&pending, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(params.error.as_deref(), Some("access_denied"));
    assert_eq!(params.state.as_deref(), Some("s1"));
    assert!(params.code.is_none());
    assert!(browser.await.unwrap().contains("close this window"));
}

#[tokio::test]
async fn loopback_callback_times_out() {
    let sleep = RecordingSleep::new();
    let callback = LoopbackCallback::bind("/callback")
        .await
        .unwrap()
        .sleep(Arc::new(sleep.clone()));
    let pending = pending_with_state(&callback, "s1");
    let error = callback
        .wait(&pending, Duration::from_secs(120))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::CallbackTimeout { after } if after == Duration::from_secs(120)),
        "{error:?}"
    );
    assert_eq!(sleep.recorded(), vec![Duration::from_secs(120)]);
}

fn pending_with_state(
    callback: &LoopbackCallback,
    state: &str,
) -> copilot_auth::PendingAuthorization {
    copilot_auth::PendingAuthorization::from_parts(
        SecretString::from(state),
        SecretString::from("verifier-verifier-verifier-verifier-verifier-1234"),
        callback.redirect_uri().clone(),
    )
    .unwrap()
}

/// A local process that hits the callback first with a wrong `state` neither ends nor hijacks the wait
/// (issue 14): it gets an error page and the real callback still arrives.
#[tokio::test]
async fn loopback_callback_keeps_listening_after_a_state_mismatch() {
    let callback = LoopbackCallback::bind("/callback").await.unwrap();
    let pending = pending_with_state(&callback, "the-real-state");
    let redirect = callback.redirect_uri().clone();
    let browser = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut forged = redirect.clone();
        forged.set_query(Some("code=attacker-code&state=guessed"));
        let forged = client.get(forged).send().await.unwrap();
        let mut missing = redirect.clone();
        missing.set_query(Some("code=attacker-code"));
        let missing = client.get(missing).send().await.unwrap();
        let mut real = redirect.clone();
        real.set_query(Some("code=real-code&state=the-real-state"));
        let real = client.get(real).send().await.unwrap();
        (
            forged.status().as_u16(),
            missing.status().as_u16(),
            real.status().as_u16(),
        )
    });
    let params = callback
        .wait(&pending, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(params.code.unwrap().expose_secret(), "real-code");
    assert_eq!(browser.await.unwrap(), (400, 400, 200));
}

/// A connection that opens and sends nothing does not hold up the real callback (issue 14): connections are
/// served concurrently, not one at a time behind a 10 s read timeout.
#[tokio::test]
async fn loopback_callback_serves_connections_concurrently() {
    let callback = LoopbackCallback::bind("/callback").await.unwrap();
    let pending = pending_with_state(&callback, "s1");
    let redirect = callback.redirect_uri().clone();
    let addr = format!(
        "{}:{}",
        redirect.host_str().unwrap(),
        redirect.port().unwrap()
    );
    let staller = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let browser = tokio::spawn(async move {
        // Let the listener accept the stalled connection first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut url = redirect.clone();
        url.set_query(Some("code=c&state=s1"));
        reqwest::get(url).await.unwrap().status().as_u16()
    });
    let params = tokio::time::timeout(
        Duration::from_secs(5),
        callback.wait(&pending, Duration::from_secs(60)),
    )
    .await
    .expect("the stalled connection held up the callback")
    .unwrap();
    assert_eq!(params.code.unwrap().expose_secret(), "c");
    assert_eq!(browser.await.unwrap(), 200);
    drop(staller);
}
