//! Non-streamed request latency: `CopilotApiClient::chat` and async-openai's `Chat::create` against a
//! hand-written reqwest client doing the same protocol work. Each round times every request of all three
//! contenders (the order rotates per round); the row reports the median of the per-round medians, each
//! library's overhead as its ratio to raw, and the goal of issue 13: ours' overhead no larger than
//! async-openai's.
//!
//! What each side does per request, so the comparison is like for like:
//!
//! | step | ours (`CopilotApiClient::chat`) | raw (reqwest by hand) | async-openai 0.43 (`Chat::create`) |
//! |---|---|---|---|
//! | body | serialises a [`ChatRequest`] (`model`, one user message) | serialises [`RawChatRequest`] to the same bytes | serialises its `CreateChatCompletionRequest`: the same JSON value, but `messages` before `model` (its field order), same length |
//! | headers | identity profile, `Authorization` (sensitive), `Content-Type`, `OpenAI-Intent`, a fresh `X-Request-Id` (UUID v4), `X-Initiator` | the same names and values, built the same way per request | the same: the static ones through `OpenAIConfig::with_header` (it rebuilds its header map and the bearer per request), the fresh `X-Request-Id` as a per-request header |
//! | transport | `SharedTransport` (URL safety check, sensitive marking) over `ReqwestTransport`, through the retry wrapper | a `reqwest::Client` with the same settings as `ReqwestTransport` (no redirects, same timeouts) | the same `reqwest::Client` settings (`Client::with_http_client`), through its own retry wrapper |
//! | response | status → typed error mapping, body read with a size limit, decoded into `ChatResponse` (unknown fields kept in `extra` maps) | `error_for_status`, `bytes()`, decoded with serde into [`RawChatResponse`], a struct of the same shape that skips unknown fields | status check, `bytes()`, decoded with serde into `CreateChatCompletionResponse` (skips unknown fields) |
//!
//! The remaining difference is what the protocol asks of a library and a hand-written client may skip: keeping
//! unknown response fields (here `content_filter_results`, `prompt_filter_results`, `system_fingerprint`, …)
//! and the credential checks. The mock's non-streamed answer carries `model` and `object`, so async-openai
//! reads the plain mock (no `--model-fields` needed, unlike the streaming row).

use std::time::{Duration, Instant};

use async_openai::Client as OpenAiClient;
use async_openai::config::OpenAIConfig;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs,
};
use copilot_api::{ChatRequest, CopilotApiClient, Message};
use copilot_http::ClientIdentity;
use serde::{Deserialize, Serialize};

use super::{MockCredentials, Settings, chat_url, our_client};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

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
    pub model: Option<String>,
    /// `created`.
    pub created: Option<u64>,
    /// `choices`.
    #[serde(default)]
    pub choices: Vec<RawChoice>,
    /// `usage`.
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

/// A reqwest client with the settings `copilot_http::ReqwestTransport` uses: they are transport policy, not
/// a library's cost, so raw and async-openai get the same.
fn transport_like_ours(name: &'static str) -> Result<reqwest::Client, BenchError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| BenchError::contender(name, e))
}

/// async-openai's client for the mock: base URL = the mock's Copilot API, the same bearer, the same static
/// headers as ours (identity profile, `OpenAI-Intent`, `X-Initiator`) and the same reqwest settings.
pub struct OpenAiSide {
    client: OpenAiClient<OpenAIConfig>,
}

impl OpenAiSide {
    /// A client for the mock at `credentials`, with the default identity (as ours uses).
    pub fn new(credentials: &MockCredentials) -> Result<Self, BenchError> {
        let fail = |e: async_openai::error::OpenAIError| BenchError::contender("async-openai", e);
        let identity = ClientIdentity::default();
        let mut config = OpenAIConfig::new()
            .with_api_base(credentials.base_url.as_str().trim_end_matches('/'))
            .with_api_key(credentials.bearer.clone())
            .with_header("user-agent", identity.user_agent())
            .map_err(fail)?
            .with_header("editor-version", identity.editor_version())
            .map_err(fail)?
            .with_header("editor-plugin-version", identity.editor_plugin_version())
            .map_err(fail)?
            .with_header("copilot-integration-id", identity.integration_id())
            .map_err(fail)?
            .with_header("openai-intent", copilot_api::DEFAULT_INTENT)
            .map_err(fail)?
            .with_header("x-initiator", "user")
            .map_err(fail)?;
        if let Some(version) = identity.copilot_api_version() {
            config = config
                .with_header("x-github-api-version", version)
                .map_err(fail)?;
        }
        let client = OpenAiClient::with_config(config)
            .with_http_client(transport_like_ours("async-openai")?);
        Ok(OpenAiSide { client })
    }

    /// One request; returns the content length of the first choice.
    pub async fn chat(&self) -> Result<usize, BenchError> {
        let fail = |e: async_openai::error::OpenAIError| BenchError::contender("async-openai", e);
        let response = self
            .client
            .chat()
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .map_err(fail)?
            .create(openai_request().map_err(fail)?)
            .await
            .map_err(fail)?;
        Ok(response
            .choices
            .first()
            .and_then(|c| c.message.content.as_ref())
            .map_or(0, String::len))
    }
}

/// async-openai's request: `model` and one user message, nothing else set.
fn openai_request() -> Result<CreateChatCompletionRequest, async_openai::error::OpenAIError> {
    let message = ChatCompletionRequestUserMessageArgs::default()
        .content(PROMPT)
        .build()?;
    CreateChatCompletionRequestArgs::default()
        .model(super::MODEL)
        .messages([message.into()])
        .build()
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
        Ok(RawClient {
            http: transport_like_ours("raw")?,
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
    /// [`OpenAiSide::chat`].
    OpenAi,
}

/// Issues `requests` sequential requests from one contender (for `perf stat` / `perf record`: run once per
/// side with the same count; the difference in instructions divided by the count is the per-request cost).
pub async fn profile(
    side: Side,
    requests: usize,
    credentials: &MockCredentials,
) -> Result<Duration, BenchError> {
    let contenders = Contenders::new(credentials)?;
    let which = match side {
        Side::Ours => 0,
        Side::Raw => 1,
        Side::OpenAi => 2,
    };
    let started = Instant::now();
    for _ in 0..requests {
        contenders.run(which).await?;
    }
    Ok(started.elapsed())
}

/// The contenders' names, in [`Contenders::run`]'s numbering.
const NAMES: [&str; 3] = ["ours", "raw", "async-openai"];

/// The three clients of the row.
struct Contenders {
    ours: CopilotApiClient,
    raw: RawClient,
    openai: OpenAiSide,
}

impl Contenders {
    fn new(credentials: &MockCredentials) -> Result<Self, BenchError> {
        Ok(Contenders {
            ours: our_client(credentials)?,
            raw: RawClient::new(credentials)?,
            openai: OpenAiSide::new(credentials)?,
        })
    }

    /// One request by contender `which` (see [`NAMES`]); returns the content length read.
    async fn run(&self, which: usize) -> Result<usize, BenchError> {
        match which {
            0 => ours(&self.ours).await,
            1 => self.raw.chat().await,
            _ => self.openai.chat().await,
        }
    }
}

/// Runs the comparison and adds one row.
pub async fn run(
    report: &mut Report,
    settings: Settings,
    credentials: &MockCredentials,
) -> Result<(), BenchError> {
    let rounds = settings.pick(3, 9);
    let per_round = settings.pick(100, 300);
    let contenders = Contenders::new(credentials)?;
    // Warm-up (connections) and agreement on the content.
    let expected = contenders.run(1).await?;
    let got = contenders.run(0).await?;
    if got != expected {
        report.note(format!(
            "latency: ours read {got} content bytes, raw {expected}"
        ));
    }
    // async-openai is a peer: when it cannot read the answer the row says so instead of failing.
    let mut usable = [true; 3];
    match contenders.run(2).await {
        Ok(got) if got == expected => {}
        Ok(got) => report.note(format!(
            "latency: async-openai read {got} content bytes, raw {expected}"
        )),
        Err(e) => {
            usable[2] = false;
            report.note(format!("latency: async-openai failed: {e}; left out"));
        }
    }
    let mut samples: [Samples; 3] = Default::default();
    for (_, which) in interleaved(rounds, NAMES.len()) {
        if !usable[which] {
            continue;
        }
        let mut times = Samples::new();
        for _ in 0..per_round {
            let started = Instant::now();
            contenders.run(which).await?;
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
        samples[which].push(times.median());
    }
    let [ours, raw, openai] = &samples;
    let ratio = ours.median() / raw.median();
    let mut baselines = format!(
        "raw reqwest (same headers, serde struct): {} µs",
        raw.display(0)
    );
    let (goal, verdict) = if usable[2] {
        let openai_ratio = openai.median() / raw.median();
        baselines.push_str(&format!(
            "; async-openai (same headers, same body as JSON): {} µs ({openai_ratio:.3}× raw)",
            openai.display(0)
        ));
        (
            format!("ours' overhead ≤ async-openai's ({openai_ratio:.3}× raw)"),
            Verdict::from_bool(ratio <= openai_ratio),
        )
    } else {
        (
            "ours' overhead ≤ async-openai's (async-openai NOT measured)".to_owned(),
            Verdict::Failed,
        )
    };
    report.row(Row {
        name: "non-streamed chat latency (loopback, same headers and body, typed decode; µs per request)"
            .into(),
        ours: format!("{} µs", ours.display(0)),
        baselines,
        ratio: format!("{ratio:.3}× raw"),
        goal,
        verdict,
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

    /// async-openai sends the same JSON value (its field order differs: `messages` first).
    #[test]
    fn openai_body_matches_ours_as_json() {
        let ours = serde_json::to_value(ChatRequest::new(
            super::super::MODEL,
            vec![Message::user(PROMPT)],
        ))
        .unwrap();
        let openai = serde_json::to_value(openai_request().unwrap()).unwrap();
        assert_eq!(openai, ours);
        let ours_len = serde_json::to_vec(&ours).unwrap().len();
        let openai_len = serde_json::to_vec(&openai_request().unwrap())
            .unwrap()
            .len();
        assert_eq!(openai_len, ours_len);
    }
}
