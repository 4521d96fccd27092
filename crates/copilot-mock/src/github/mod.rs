//! The GitHub side: OAuth (device and web flow, refresh) and a few REST endpoints.

pub(crate) mod device;
pub(crate) mod oauth;
pub(crate) mod rest;

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Map, Value, json};

/// Request parameters from the query string and a form or JSON body (GitHub accepts all three).
pub(crate) fn params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> =
        serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_json {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(k, v);
            }
        }
    } else if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        out.extend(form);
    }
    out
}

/// Whether the client asked for JSON (`Accept: application/json`); GitHub answers form-encoded otherwise.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"))
}

/// An OAuth answer, always HTTP 200 like GitHub, in JSON or form encoding.
pub(crate) fn oauth_reply(headers: &HeaderMap, body: Value) -> Response {
    if wants_json(headers) {
        return axum::Json(body).into_response();
    }
    let map = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let pairs: Vec<(String, String)> = map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    let text = serde_urlencoded::to_string(pairs).unwrap_or_default();
    (
        [(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// GitHub's OAuth error body, as HTTP 200.
pub(crate) fn oauth_error(headers: &HeaderMap, code: &str) -> Response {
    oauth_reply(headers, oauth_error_body(code))
}

pub(crate) fn oauth_error_body(code: &str) -> Value {
    let description = match code {
        "authorization_pending" => "The authorization request is still pending.",
        "slow_down" => "Too many requests have been made in the same amount of time.",
        "expired_token" => "The `device_code` has expired.",
        "access_denied" => "The authorization request was denied.",
        "incorrect_device_code" => "The device_code provided is not valid.",
        "incorrect_client_credentials" => {
            "The client_id and/or client_secret passed are incorrect."
        }
        "unsupported_grant_type" => "The grant type is not supported.",
        "device_flow_disabled" => "Device Flow must be explicitly enabled for this App",
        "bad_verification_code" => "The code passed is incorrect or expired.",
        "redirect_uri_mismatch" => {
            "The redirect_uri MUST match the registered callback URL for this application."
        }
        "bad_refresh_token" => "The refresh token passed is incorrect or expired.",
        _ => "The request could not be completed.",
    };
    json!({
        "error": code,
        "error_description": description,
        "error_uri": format!("https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors#{}", code.replace('_', "-")),
    })
}

/// The credential from `Authorization: token X` / `Bearer X`, with its scheme (lower-case).
pub(crate) fn credential(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = raw.trim().split_once(' ')?;
    let token = token.trim();
    (!token.is_empty()).then(|| (scheme.to_ascii_lowercase(), token.to_string()))
}

/// GitHub REST error body (`{"message","documentation_url","status"}`).
pub(crate) fn rest_error(status: u16, message: &str) -> Response {
    (
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
        axum::Json(json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        })),
    )
        .into_response()
}
