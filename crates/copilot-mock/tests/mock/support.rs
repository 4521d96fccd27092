//! Shared helpers: an HTTP client, JSON/form requests, SSE splitting.

use std::time::Duration;

use copilot_mock::{MockConfig, MockServer};
use serde_json::Value;

/// A client that does not follow redirects (the web-flow tests inspect them).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub async fn start(config: MockConfig) -> (MockServer, reqwest::Client) {
    (MockServer::start(config).await, http())
}

/// A mock with `config` and a Copilot token of octocat's on it (see [`copilot_token`]).
pub async fn signed_in(config: MockConfig) -> (MockServer, String) {
    let server = MockServer::start(config).await;
    let token = copilot_token(&server).await;
    (server, token)
}

pub async fn json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// POST a form to a web path with `Accept: application/json`.
pub async fn post_form(
    server: &MockServer,
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    http()
        .post(format!("{}{path}", server.github_web_url()))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(pairs).expect("form"))
        .send()
        .await
        .expect("send")
}

/// POST a form and decode the JSON answer, asserting GitHub's HTTP 200.
pub async fn oauth(server: &MockServer, path: &str, pairs: &[(&str, &str)]) -> Value {
    let response = post_form(server, path, pairs).await;
    assert_eq!(response.status(), 200);
    json(response).await
}

/// Exchanges a fresh `gho_` of octocat for a Copilot token.
pub async fn copilot_token(server: &MockServer) -> String {
    let github = server.mint_github_token("octocat");
    exchange(server, &github).await["token"]
        .as_str()
        .expect("token")
        .to_string()
}

pub async fn exchange(server: &MockServer, github_token: &str) -> Value {
    let response = http()
        .get(format!(
            "{}/copilot_internal/v2/token",
            server.github_api_url()
        ))
        .header("authorization", format!("token {github_token}"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    json(response).await
}

/// The `content-type` of a response.
pub fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"]
        .to_str()
        .expect("an ASCII content-type")
}

/// GET a GitHub REST path with `authorization` as the whole header value (`token …`, `Bearer …`).
pub async fn github_get(server: &MockServer, path: &str, authorization: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", server.github_api_url()))
        .header("authorization", authorization)
        .send()
        .await
        .expect("send")
}

/// GET a Copilot API path with a bearer token.
pub async fn api_get(server: &MockServer, path: &str, token: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", server.copilot_api_url()))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("send")
}

/// POST JSON to a Copilot API path with a bearer token.
pub async fn api_post(
    server: &MockServer,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    http()
        .post(format!("{}{path}", server.copilot_api_url()))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send")
}

/// POST JSON to a Copilot API path with a bearer token; the body of the answer as text.
pub async fn api_post_text(server: &MockServer, path: &str, token: &str, body: &Value) -> String {
    api_post(server, path, token, body)
        .await
        .text()
        .await
        .expect("body")
}

/// Splits an SSE body into events, asserting each ends with a blank line.
pub fn events(body: &str) -> Vec<String> {
    assert!(
        body.ends_with("\n\n"),
        "stream must end with a blank line: {body:?}"
    );
    body.trim_end_matches("\n\n")
        .split("\n\n")
        .map(str::to_string)
        .collect()
}

/// The `data:` payloads of a chat stream, `[DONE]` excluded; asserts `[DONE]` comes last.
pub fn chat_chunks(body: &str) -> Vec<Value> {
    let events = events(body);
    assert_eq!(events.last().map(String::as_str), Some("data: [DONE]"));
    events[..events.len() - 1]
        .iter()
        .map(|e| {
            let data = e.strip_prefix("data: ").expect("data line");
            serde_json::from_str(data).expect("chunk JSON")
        })
        .collect()
}

/// Concatenated `delta.content` of choice `index`.
pub fn content_of(chunks: &[Value], index: u64) -> String {
    chunks
        .iter()
        .flat_map(|c| c["choices"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["index"] == index)
        .filter_map(|c| c["delta"]["content"].as_str().map(str::to_string))
        .collect()
}
