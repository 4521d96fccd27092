//! `/login/oauth/access_token` (all grants) and `/login/oauth/authorize` (web flow).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use url::Url;

use super::{device, oauth_error, oauth_reply};
use crate::config::{ClientKind, MockClient, WebFlowDecision};
use crate::extract::OAuthParams;
use crate::ids;
use crate::server::Shared;
use crate::state::{AUTH_CODE_LIFETIME, AuthCode};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /login/oauth/access_token`
pub(crate) async fn access_token(
    State(shared): State<Arc<Shared>>,
    OAuthParams { headers, params: p }: OAuthParams,
) -> Response {
    match p.get("grant_type").map(String::as_str) {
        Some(DEVICE_GRANT) => device::poll(&shared, &headers, &p),
        Some("refresh_token") => refresh(&shared, &headers, &p),
        Some("authorization_code") => exchange_code(&shared, &headers, &p),
        // The web flow traditionally sends no grant_type at all.
        None if p.contains_key("code") => exchange_code(&shared, &headers, &p),
        _ => oauth_error(&headers, "unsupported_grant_type"),
    }
}

fn secret_ok(client: &MockClient, given: Option<&String>) -> bool {
    match (&client.secret, given) {
        (Some(expected), Some(given)) => {
            // Constant-time enough for a mock, but avoid early exit anyway.
            expected.len() == given.len()
                && expected
                    .bytes()
                    .zip(given.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        _ => false,
    }
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn exchange_code(shared: &Shared, headers: &HeaderMap, p: &HashMap<String, String>) -> Response {
    let mut state = shared.state();
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let Some(client) = state.clients.get(&client_id).cloned() else {
        return oauth_error(headers, "incorrect_client_credentials");
    };
    if !secret_ok(&client, p.get("client_secret")) {
        return oauth_error(headers, "incorrect_client_credentials");
    }
    let code = p.get("code").cloned().unwrap_or_default();
    let Some(grant) = state.auth_codes.get(&code).cloned() else {
        return oauth_error(headers, "bad_verification_code");
    };
    if grant.used || grant.client_id != client_id || grant.issued.elapsed() > AUTH_CODE_LIFETIME {
        return oauth_error(headers, "bad_verification_code");
    }
    if let (Some(expected), Some(given)) = (&grant.redirect_uri, p.get("redirect_uri"))
        && expected != given
    {
        return oauth_error(headers, "redirect_uri_mismatch");
    }
    if let Some(challenge) = &grant.challenge {
        let verified = p
            .get("code_verifier")
            .is_some_and(|v| s256(v) == *challenge);
        if !verified {
            return oauth_error(headers, "bad_verification_code");
        }
    }
    if let Some(g) = state.auth_codes.get_mut(&code) {
        g.used = true;
    }
    let body = state.issue_user_token(&client, &grant.login, &grant.scope, true);
    oauth_reply(headers, body)
}

fn refresh(shared: &Shared, headers: &HeaderMap, p: &HashMap<String, String>) -> Response {
    let mut state = shared.state();
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let Some(client) = state.clients.get(&client_id).cloned() else {
        return oauth_error(headers, "incorrect_client_credentials");
    };
    let secret = p.get("client_secret");
    if secret.is_some() && !secret_ok(&client, secret) {
        return oauth_error(headers, "incorrect_client_credentials");
    }
    let token = p.get("refresh_token").cloned().unwrap_or_default();
    let Some(grant) = state.refresh_tokens.get(&token).cloned() else {
        return oauth_error(headers, "bad_refresh_token");
    };
    if grant.used || grant.client_id != client_id || SystemTime::now() >= grant.expires_at {
        return oauth_error(headers, "bad_refresh_token");
    }
    if grant.needs_secret && secret.is_none() {
        return oauth_error(headers, "incorrect_client_credentials");
    }
    // Rotation: the old pair dies now.
    if let Some(g) = state.refresh_tokens.get_mut(&token) {
        g.used = true;
    }
    if let Some(old) = state.github_tokens.get_mut(&grant.access_token) {
        old.revoked = true;
    }
    let body = state.issue_user_token(&client, &grant.login, "", grant.needs_secret);
    oauth_reply(headers, body)
}

fn is_loopback(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    )
}

/// GitHub's redirect rules: loopback callbacks accept any port; OAuth Apps accept sub-paths,
/// GitHub Apps need the same path.
fn redirect_allowed(client: &MockClient, requested: &str) -> bool {
    let Ok(requested) = Url::parse(requested) else {
        return false;
    };
    client.redirect_uris.iter().any(|registered| {
        let Ok(registered) = Url::parse(registered) else {
            return false;
        };
        let same_origin = registered.scheme() == requested.scheme()
            && registered.host_str() == requested.host_str()
            && (is_loopback(&registered) || registered.port() == requested.port());
        let path_ok = match client.kind {
            ClientKind::GitHubApp => registered.path() == requested.path(),
            ClientKind::OAuthApp => requested.path().starts_with(registered.path()),
        };
        same_origin && path_ok
    })
}

fn redirect_with(base: &str, pairs: &[(&str, &str)]) -> Response {
    match Url::parse(base) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            (
                http::StatusCode::FOUND,
                [(http::header::LOCATION, url.to_string())],
            )
                .into_response()
        }
        Err(_) => (http::StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
    }
}

/// `GET /login/oauth/authorize`: the simulated user decides at once and we redirect.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let p: HashMap<String, String> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let mut state = shared.state();
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let Some(client) = state.clients.get(&client_id).cloned() else {
        return (http::StatusCode::NOT_FOUND, "Not Found: unknown client_id").into_response();
    };
    let Some(registered) = client.redirect_uris.first().cloned() else {
        return (
            http::StatusCode::BAD_REQUEST,
            "this application has no callback URL",
        )
            .into_response();
    };
    let st = p.get("state").cloned().unwrap_or_default();
    let redirect_uri = p.get("redirect_uri").cloned();
    let target = match &redirect_uri {
        Some(uri) if redirect_allowed(&client, uri) => uri.clone(),
        Some(_) => {
            return redirect_with(
                &registered,
                &[
                    ("error", "redirect_uri_mismatch"),
                    (
                        "error_description",
                        "The redirect_uri MUST match the registered callback URL for this application.",
                    ),
                    ("state", &st),
                ],
            );
        }
        None => registered,
    };
    let challenge = p.get("code_challenge").cloned();
    if challenge.is_some() && p.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return redirect_with(
            &target,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "Only S256 code challenges are supported.",
                ),
                ("state", &st),
            ],
        );
    }
    match state.web_flow.clone() {
        WebFlowDecision::Deny => redirect_with(
            &target,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                (
                    "error_uri",
                    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
                ),
                ("state", &st),
            ],
        ),
        WebFlowDecision::Approve(login) => {
            let code = ids::authorization_code();
            state.auth_codes.insert(
                code.clone(),
                AuthCode {
                    client_id,
                    redirect_uri,
                    challenge,
                    login,
                    scope: p.get("scope").cloned().unwrap_or_default(),
                    issued: Instant::now(),
                    used: false,
                },
            );
            redirect_with(&target, &[("code", &code), ("state", &st)])
        }
    }
}
