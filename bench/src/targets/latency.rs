//! Non-streamed request latency: `CopilotApiClient::chat` against a hand-written reqwest client doing the
//! same protocol work. Each round times every request of both contenders; the row reports the median of
//! the per-round medians.
//!
//! What each side does per request, so the comparison is like for like:
//!
//! | step | ours (`CopilotApiClient::chat`) | raw (reqwest by hand) |
//! |---|---|---|
//! | body | serialises a [`ChatRequest`] (`model`, one user message) | serialises [`RawChatRequest`] to the same bytes |
//! | headers | identity profile, `Authorization` (sensitive), `Content-Type`, `OpenAI-Intent`, a fresh `X-Request-Id` (UUID v4), `X-Initiator` | the same names and values, built the same way per request |
//! | transport | `SharedTransport` (URL safety check, sensitive marking) over `ReqwestTransport`, through the retry wrapper | a `reqwest::Client` with the same settings as `ReqwestTransport` (no redirects, same timeouts) |
//! | response | status → typed error mapping, body read with a size limit, decoded into `ChatResponse` (unknown fields kept in `extra` maps) | `error_for_status`, `bytes()`, decoded with serde into [`RawChatResponse`], a struct of the same shape that skips unknown fields |
//!
//! The remaining difference is what the protocol asks of a library and a hand-written client may skip: keeping
//! unknown response fields (here `content_filter_results`, `prompt_filter_results`, `system_fingerprint`, …)
//! and the credential checks.

use std::time::{Duration, Instant};

use copilot_api::{ChatRequest, CopilotApiClient, Message};
use copilot_http::ClientIdentity;
use serde::{Deserialize, Serialize};

use super::{MockCredentials, Settings, chat_url, our_client};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::Samples;

const PROMPT: &str = "Hello mock";

async fn ours(client: &CopilotApiClient) -> Result<usize, BenchError> {
    let response = client
        .chat(ChatRequest::new(super::MODEL, vec![Message::user(PROMPT)]))
        .await
        .map_err(|e| BenchError::contender("ours", e))?;
    Ok(response
        .choices
        .first()
        .map_or(0, |c| c.message.text().len()))
}

/// The raw side's request body: what a hand-written client serialises.
#[derive(Serialize)]
pub struct RawChatRequest<'a> {
    /// `model`.
    pub model: &'a str,
    /// `messages`.
    pub messages: Vec<RawMessage>,
}

/// A chat message as the raw side sends and reads it.
#[derive(Serialize, Deserialize)]
pub struct RawMessage {
    /// `role`.
    pub role: String,
    /// `content` (text only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `tool_calls`, kept as opaque JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<serde_json::Value>,
}

/// The raw side's response type: the same fields as `ChatResponse`, unknown fields skipped.
#[derive(Deserialize)]
pub struct RawChatResponse {
    /// `id`.
    #[serde(default)]
    pub id: String,
    /// `model`.
    #[serde(default)]
    pub model: Option<String>,
    /// `created`.
    #[serde(default)]
    pub created: Option<u64>,
    /// `choices`.
    #[serde(default)]
    pub choices: Vec<RawChoice>,
    /// `usage`.
    #[serde(default)]
    pub usage: Option<RawUsage>,
}

/// One choice of a [`RawChatResponse`].
#[derive(Deserialize)]
pub struct RawChoice {
    /// `index`.
    #[serde(default)]
    pub index: u32,
    /// `message`.
    pub message: RawMessage,
    /// `finish_reason`.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Token usage of a [`RawChatResponse`].
#[derive(Deserialize)]
pub struct RawUsage {
    /// `prompt_tokens`.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// `completion_tokens`.
    #[serde(default)]
    pub completion_tokens: u64,
    /// `total_tokens`.
    #[serde(default)]
    pub total_tokens: u64,
}

/// The hand-written client: a reqwest client configured like `ReqwestTransport`, and the identity values.
pub struct RawClient {
    http: reqwest::Client,
    url: String,
    bearer: String,
    identity: ClientIdentity,
}

impl RawClient {
    /// A client for the mock at `credentials`, with the default identity (as ours uses).
    pub fn new(credentials: &MockCredentials) -> Result<Self, BenchError> {
        // The settings `copilot_http::ReqwestTransport` uses: they are transport policy, not copilot-api's cost.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| BenchError::contender("raw", e))?;
        Ok(RawClient {
            http,
            url: chat_url(credentials),
            bearer: format!("Bearer {}", credentials.bearer),
            identity: ClientIdentity::default(),
        })
    }

    /// One request; returns the content length of the first choice.
    pub async fn chat(&self) -> Result<usize, BenchError> {
        let fail = |e: reqwest::Error| BenchError::contender("raw", e);
        let body = serde_json::to_vec(&RawChatRequest {
            model: super::MODEL,
            messages: vec![RawMessage {
                role: "user".to_owned(),
                content: Some(PROMPT.to_owned()),
                tool_calls: Vec::new(),
            }],
        })
        .map_err(|e| BenchError::contender("raw", e))?;
        let identity = &self.identity;
        let mut request = self
            .http
            .post(&self.url)
            .header("authorization", &self.bearer)
            .header("content-type", "application/json")
            .header("user-agent", identity.user_agent())
            .header("editor-version", identity.editor_version())
            .header("editor-plugin-version", identity.editor_plugin_version())
            .header("copilot-integration-id", identity.integration_id())
            .header("openai-intent", copilot_api::DEFAULT_INTENT)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("x-initiator", "user");
        if let Some(version) = identity.copilot_api_version() {
            request = request.header("x-github-api-version", version);
        }
        let bytes = request
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fail)?
            .bytes()
            .await
            .map_err(fail)?;
        let response: RawChatResponse =
            serde_json::from_slice(&bytes).map_err(|e| BenchError::contender("raw", e))?;
        Ok(response
            .choices
            .first()
            .and_then(|c| c.message.content.as_ref())
            .map_or(0, String::len))
    }
}

/// Which contender [`profile`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `CopilotApiClient::chat`.
    Ours,
    /// [`RawClient::chat`].
    Raw,
}

/// Issues `requests` sequential requests from one contender (for `perf stat` / `perf record`: run once per
/// side with the same count; the difference in instructions divided by the count is the per-request cost).
pub async fn profile(
    side: Side,
    requests: usize,
    credentials: &MockCredentials,
) -> Result<Duration, BenchError> {
    let client = our_client(credentials)?;
    let raw = RawClient::new(credentials)?;
    let started = Instant::now();
    for _ in 0..requests {
        match side {
            Side::Ours => ours(&client).await?,
            Side::Raw => raw.chat().await?,
        };
    }
    Ok(started.elapsed())
}

/// Runs the comparison and adds one row.
pub async fn run(
    report: &mut Report,
    settings: Settings,
    credentials: &MockCredentials,
) -> Result<(), BenchError> {
    let rounds = settings.pick(3, 9);
    let per_round = settings.pick(100, 300);
    let client = our_client(credentials)?;
    let raw = RawClient::new(credentials)?;
    let expected = raw.chat().await?;
    let got = ours(&client).await?;
    if got != expected {
        report.note(format!(
            "latency: ours read {got} content bytes, raw {expected}"
        ));
    }
    let mut samples = [Samples::new(), Samples::new()];
    for round in 0..rounds {
        for step in 0..2 {
            let which = (round + step) % 2;
            let mut times = Samples::new();
            for _ in 0..per_round {
                let started = Instant::now();
                if which == 0 {
                    ours(&client).await?;
                } else {
                    raw.chat().await?;
                }
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples[which].push(times.median());
        }
    }
    let ratio = samples[0].median() / samples[1].median();
    report.row(Row {
        name: "non-streamed chat latency (loopback, same headers and body, typed decode; µs per request)"
            .into(),
        ours: format!("{} µs", samples[0].display(0)),
        baselines: format!(
            "raw reqwest (same headers, serde struct): {} µs",
            samples[1].display(0)
        ),
        ratio: format!("{ratio:.3}× raw"),
        goal: "≤ 1.05× raw".into(),
        verdict: Verdict::from_bool(ratio <= 1.05),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both sides must put the same bytes on the wire.
    #[test]
    fn raw_body_matches_ours() {
        let ours = serde_json::to_vec(&ChatRequest::new(
            super::super::MODEL,
            vec![Message::user(PROMPT)],
        ))
        .unwrap();
        let raw = serde_json::to_vec(&RawChatRequest {
            model: super::super::MODEL,
            messages: vec![RawMessage {
                role: "user".to_owned(),
                content: Some(PROMPT.to_owned()),
                tool_calls: Vec::new(),
            }],
        })
        .unwrap();
        assert_eq!(String::from_utf8(raw), String::from_utf8(ours));
    }
}
