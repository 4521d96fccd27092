//! The benchmark targets. Each runs its contenders alternately over several rounds and adds rows to the
//! [`Report`](crate::report::Report).

pub mod decode;
pub mod latency;
pub mod memory;
pub mod serve;
pub mod stores;
pub mod streaming;
pub mod token;
pub mod websocket;

use std::sync::Arc;

use copilot_api::{CopilotApiClient, StaticAuth};
use copilot_http::{GitHubHost, ReqwestTransport, SharedTransport};
use copilot_token::{AuthMode, StaticGitHubToken, TokenExchanger, TokenManager};
use serde::Deserialize;
use url::Url;

use crate::BenchError;
use crate::mock::MockProcess;

/// How much work each target does.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The reduced set (`--quick`): fewer rounds and smaller inputs.
    pub quick: bool,
}

impl Settings {
    /// `quick` when quick, else `full`.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// The model every request names.
pub const MODEL: &str = "gpt-4.1";

/// A Copilot bearer token and API base obtained from the mock through the real token exchange.
#[derive(Debug, Clone)]
pub struct MockCredentials {
    /// The Copilot token (`Authorization: Bearer …`).
    pub bearer: String,
    /// The Copilot API base URL (`…/copilot`).
    pub base_url: Url,
}

/// The mock's three bases as a [`GitHubHost`].
pub fn mock_host(mock: &MockProcess) -> Result<GitHubHost, BenchError> {
    let parse = |s: &str| Url::parse(s).map_err(|e| BenchError::Mock(format!("bad URL {s}: {e}")));
    Ok(GitHubHost::custom(
        parse(&mock.github_web_url)?,
        parse(&mock.github_api_url)?,
        parse(&mock.copilot_api_url)?,
    ))
}

/// A reqwest-backed shared transport.
pub fn reqwest_transport() -> Result<SharedTransport, BenchError> {
    ReqwestTransport::new()
        .map(SharedTransport::new)
        .map_err(|e| BenchError::contender("transport", e))
}

/// A token manager (exchange mode) for the mock's demo user on `transport`.
pub fn mock_token_manager(
    mock: &MockProcess,
    transport: SharedTransport,
) -> Result<TokenManager, BenchError> {
    let exchanger = TokenExchanger::new(transport, mock_host(mock)?);
    Ok(TokenManager::builder(
        exchanger,
        Arc::new(StaticGitHubToken::new(mock.github_token.clone())),
    )
    .mode(AuthMode::Exchange)
    .build())
}

/// Exchanges the mock's demo GitHub token for a Copilot token.
pub async fn exchange(mock: &MockProcess) -> Result<MockCredentials, BenchError> {
    let manager = mock_token_manager(mock, reqwest_transport()?)?;
    let credentials = manager
        .credentials()
        .await
        .map_err(|e| BenchError::contender("token exchange", e))?;
    Ok(MockCredentials {
        bearer: secrecy::ExposeSecret::expose_secret(&credentials.bearer).to_owned(),
        base_url: credentials.base_url,
    })
}

/// Our API client with a fixed bearer.
pub fn our_client(credentials: &MockCredentials) -> Result<CopilotApiClient, BenchError> {
    CopilotApiClient::new(StaticAuth::new(
        credentials.bearer.clone(),
        credentials.base_url.clone(),
    ))
    .map_err(|e| BenchError::contender("copilot-api", e))
}

/// `{base}/chat/completions`.
pub fn chat_url(credentials: &MockCredentials) -> String {
    format!(
        "{}/chat/completions",
        credentials.base_url.as_str().trim_end_matches('/')
    )
}

/// The smallest chunk shape that still reads the content delta: what a hand-written client needs.
#[derive(Deserialize)]
pub struct TinyChunk {
    /// `choices`.
    #[serde(default)]
    pub choices: Vec<TinyChoice>,
}

/// One choice of a [`TinyChunk`].
#[derive(Deserialize)]
pub struct TinyChoice {
    /// `delta` (streamed) — absent in non-streamed answers.
    pub delta: Option<TinyDelta>,
    /// `message` (non-streamed).
    pub message: Option<TinyDelta>,
}

/// `delta` / `message` with only its text.
#[derive(Deserialize)]
pub struct TinyDelta {
    /// The text.
    pub content: Option<String>,
}

/// Content bytes in one decoded JSON chunk (0 when it does not parse).
pub fn tiny_content_len(json: &[u8]) -> usize {
    serde_json::from_slice::<TinyChunk>(json)
        .map(|chunk| {
            chunk
                .choices
                .iter()
                .filter_map(|c| c.delta.as_ref().or(c.message.as_ref()))
                .filter_map(|d| d.content.as_ref())
                .map(String::len)
                .sum()
        })
        .unwrap_or(0)
}

/// The limit's SSE framing: split complete lines with memchr, hand each `data: ` payload to `on_data`.
/// Returns how many bytes of `buffer` were consumed (the rest is an incomplete line).
pub fn split_data_lines(buffer: &[u8], mut on_data: impl FnMut(&[u8])) -> usize {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', buffer) {
        let line = &buffer[start..end];
        start = end + 1;
        if let Some(data) = line.strip_prefix(b"data: ")
            && data != b"[DONE]"
        {
            on_data(data);
        }
    }
    start
}

/// The JSON body of a chat request with one user message.
pub fn chat_body(prompt: &str, stream: bool) -> Vec<u8> {
    let mut body = serde_json::json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
    });
    if stream {
        body["stream"] = true.into();
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    serde_json::to_vec(&body).unwrap_or_default()
}
