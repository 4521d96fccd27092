//! The harness: copilot-mock, a Copilot client signed in to it, the gateway in front, and an HTTP client.
#![allow(dead_code)]

use copilot_mock::{Endpoint, Fault, FaultRule, MockConfig, MockServer, RequestLogEntry};
use copilot_sdk::CopilotClient;
use copilot_sdk::http::GitHubHost;
use copilot_sdk::http::retry::RetryPolicy;
use copilot_serve::{ApiKeys, Gateway, RunningGateway, ServeConfig, Upstream};
use serde_json::Value;
use url::Url;

/// The key the harness's gateway accepts.
pub const KEY: &str = "sk-test-0123456789abcdef";

/// A chat request body: one user message `content` for `model`.
pub fn user_says(model: &str, content: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": content}]})
}

pub struct Harness {
    pub mock: MockServer,
    pub gateway: RunningGateway,
    pub http: reqwest::Client,
}

/// A host whose every endpoint is the mock.
pub fn mock_host(mock: &MockServer) -> GitHubHost {
    GitHubHost::custom(
        Url::parse(mock.github_web_url()).unwrap(),
        Url::parse(mock.github_api_url()).unwrap(),
        Url::parse(mock.copilot_api_url()).unwrap(),
    )
}

/// A Copilot client for the mock's default user, without retries (faults show at once).
pub fn mock_client(mock: &MockServer) -> CopilotClient {
    let token = mock.mint_github_token(copilot_mock::DEFAULT_LOGIN);
    CopilotClient::builder()
        .host(mock_host(mock))
        .github_token(token)
        .use_logged_in_user(false)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A local bind on a free port.
pub fn local_config(keys: ApiKeys) -> ServeConfig {
    ServeConfig::new(keys).bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_mock(MockConfig::new()).await
    }

    pub async fn with_mock(config: MockConfig) -> Self {
        let mock = MockServer::start(config).await;
        let client = mock_client(&mock);
        let keys = ApiKeys::single(KEY).unwrap();
        Self::with_gateway(
            mock,
            Gateway::new(local_config(keys), Upstream::Client(client)).unwrap(),
        )
        .await
    }

    pub async fn with_gateway(mock: MockServer, gateway: Gateway) -> Self {
        let gateway = gateway.start().await.unwrap();
        Harness {
            mock,
            gateway,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.base_url())
    }

    /// POSTs JSON with the harness key as a bearer.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// POSTs and decodes a JSON answer.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = self.post(path, body).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, headers, value)
    }

    /// POSTs and reads a whole SSE answer as (event name, data) pairs.
    pub async fn post_sse(
        &self,
        path: &str,
        body: &Value,
    ) -> (u16, reqwest::header::HeaderMap, Vec<Sse>) {
        let response = self.post(path, body).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (status, headers, parse_sse(&text))
    }

    /// From now on `endpoint` fails mid-stream after `after_events` events with code `model_overloaded`
    /// and message `overloaded`.
    pub fn overload_mid_stream(&self, endpoint: Endpoint, after_events: usize) {
        self.mock.set_fault(FaultRule::new(
            endpoint,
            Fault::MidStreamError {
                after_events,
                code: "model_overloaded".into(),
                message: "overloaded".into(),
            },
        ));
    }

    pub fn upstream(&self, endpoint: Endpoint) -> Vec<RequestLogEntry> {
        self.mock.requests_to(endpoint)
    }
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub event: Option<String>,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data not JSON ({e}): {}", self.data))
    }
}

/// A strict SSE split: events end at a blank line; the body must end with one.
pub fn parse_sse(text: &str) -> Vec<Sse> {
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "the stream must end with a blank line: {text:?}"
    );
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d);
                }
            }
            Sse {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}
