//! Streamed chat throughput over loopback: one long answer of ~500-byte Copilot chunks, read to the end by
//!
//! - **ours**: `copilot-api`'s `CopilotApiClient::chat_stream` → `ChatStream` of `ChatEvent`s;
//! - **raw (the limit)**: reqwest's byte stream + a memchr line splitter + `serde_json` into a tiny struct;
//! - **async-openai**: its streaming chat client with the same bearer, base URL = the mock's Copilot API;
//! - **eventsource+Value**: reqwest + `eventsource-stream` + `serde_json::Value`, the common hand-rolled client.
//!
//! All four read the same bytes from one mock process started with `--model-fields`, because async-openai
//! cannot parse Copilot's real chunks (they have no `model`/`object`). Throughput is the raw response size
//! (measured once) times the requests of a round, divided by the round's time.

use std::time::Instant;

use async_openai::Client as OpenAiClient;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};
use copilot_api::{ChatEvent, ChatRequest, CopilotApiClient, Message};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::{
    MockCredentials, Settings, chat_body, chat_url, our_client, split_data_lines, tiny_content_len,
};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

struct Contenders {
    ours: CopilotApiClient,
    http: reqwest::Client,
    openai: OpenAiClient<OpenAIConfig>,
    credentials: MockCredentials,
    prompt: String,
}

const NAMES: [&str; 4] = ["ours", "raw", "async-openai", "eventsource+Value"];

impl Contenders {
    /// One request by contender `which`; returns (content bytes, response bytes if known).
    async fn run(&self, which: usize) -> Result<(usize, usize), BenchError> {
        match which {
            0 => self.ours().await.map(|c| (c, 0)),
            1 => self.raw().await,
            2 => self.openai().await.map(|c| (c, 0)),
            _ => self.eventsource().await.map(|c| (c, 0)),
        }
    }

    async fn ours(&self) -> Result<usize, BenchError> {
        let request = ChatRequest::new(super::MODEL, vec![Message::user(self.prompt.as_str())]);
        let mut stream = self
            .ours
            .chat_stream(request)
            .await
            .map_err(|e| BenchError::contender("ours", e))?;
        let mut content = 0;
        while let Some(event) = stream.next().await {
            if let ChatEvent::Content { text, .. } =
                event.map_err(|e| BenchError::contender("ours", e))?
            {
                content += text.len();
            }
        }
        Ok(content)
    }

    async fn send_raw(&self) -> Result<reqwest::Response, BenchError> {
        self.http
            .post(chat_url(&self.credentials))
            .bearer_auth(&self.credentials.bearer)
            .header("content-type", "application/json")
            .body(chat_body(&self.prompt, true))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| BenchError::contender("raw", e))
    }

    async fn raw(&self) -> Result<(usize, usize), BenchError> {
        let response = self.send_raw().await?;
        let mut body = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::with_capacity(64 * 1024);
        let (mut content, mut total) = (0, 0);
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|e| BenchError::contender("raw", e))?;
            total += piece.len();
            pending.extend_from_slice(&piece);
            let used = split_data_lines(&pending, |data| content += tiny_content_len(data));
            pending.drain(..used);
        }
        Ok((content, total))
    }

    async fn openai(&self) -> Result<usize, BenchError> {
        let fail = |e: &dyn std::fmt::Display| BenchError::contender("async-openai", e);
        let message = ChatCompletionRequestUserMessageArgs::default()
            .content(self.prompt.as_str())
            .build()
            .map_err(|e| fail(&e))?;
        let request = CreateChatCompletionRequestArgs::default()
            .model(super::MODEL)
            .messages([message.into()])
            .stream(true)
            .build()
            .map_err(|e| fail(&e))?;
        let mut stream = self
            .openai
            .chat()
            .create_stream(request)
            .await
            .map_err(|e| fail(&e))?;
        let mut content = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| fail(&e))?;
            for choice in chunk.choices {
                content += choice.delta.content.map_or(0, |c| c.len());
            }
        }
        Ok(content)
    }

    async fn eventsource(&self) -> Result<usize, BenchError> {
        let response = self.send_raw().await?;
        let mut events = response.bytes_stream().eventsource();
        let mut content = 0;
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| BenchError::contender("eventsource+Value", e))?;
            if event.data == "[DONE]" {
                break;
            }
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&event.data)
                && let Some(choices) = value.get("choices").and_then(|c| c.as_array())
            {
                for choice in choices {
                    if let Some(text) = choice.pointer("/delta/content").and_then(|v| v.as_str()) {
                        content += text.len();
                    }
                }
            }
        }
        Ok(content)
    }
}

/// Where the answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `copilot-mock --model-fields` itself: one write per event, so the mock process sets the pace.
    Mock,
    /// The replay server ([`crate::replay`]) serving a recorded mock answer in 64 KiB writes: the client sets
    /// the pace. The goal applies to this row.
    Replay,
}

/// The number of content chunks in the streamed answer.
pub fn answer_chunks(settings: Settings) -> usize {
    settings.pick(2_000, 10_000)
}

/// One side of the streaming comparison, for [`profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `CopilotApiClient::chat_stream` → `ChatStream`.
    Ours,
    /// reqwest + memchr splitter + tiny struct (the limit).
    Raw,
}

/// Streams the answer for `long answer {chunks}` `requests` times from one contender against
/// `credentials.base_url` (for callgrind: run once per side with the same count). Returns the content bytes
/// of one answer and the time taken.
pub async fn profile(
    side: Side,
    requests: usize,
    chunks: usize,
    credentials: &MockCredentials,
) -> Result<(usize, std::time::Duration), BenchError> {
    let contenders = Contenders {
        ours: our_client(credentials)?,
        http: reqwest::Client::new(),
        openai: OpenAiClient::with_config(OpenAIConfig::new()),
        credentials: credentials.clone(),
        prompt: format!("long answer {chunks}"),
    };
    let started = Instant::now();
    let mut content = 0;
    for _ in 0..requests {
        content = match side {
            Side::Ours => contenders.ours().await?,
            Side::Raw => contenders.raw().await?.0,
        };
    }
    Ok((content, started.elapsed()))
}

/// Runs the comparison against `credentials.base_url` (a `--model-fields` mock or the replay server) and adds
/// one row.
pub async fn run(
    report: &mut Report,
    settings: Settings,
    credentials: &MockCredentials,
    source: Source,
) -> Result<(), BenchError> {
    let chunks = answer_chunks(settings);
    let rounds = settings.pick(5, 11);
    let per_round = match source {
        Source::Mock => settings.pick(1, 2),
        Source::Replay => settings.pick(4, 10),
    };
    let openai = OpenAiClient::with_config(
        OpenAIConfig::new()
            .with_api_base(credentials.base_url.as_str().trim_end_matches('/'))
            .with_api_key(credentials.bearer.clone()),
    );
    let contenders = Contenders {
        ours: our_client(credentials)?,
        http: reqwest::Client::new(),
        openai,
        credentials: credentials.clone(),
        prompt: format!("long answer {chunks}"),
    };
    // Warm-up: connections, the response size, and agreement on the content.
    let (expected, response_bytes) = contenders.raw().await?;
    let mut usable = [true; 4];
    for which in [0, 2, 3] {
        match contenders.run(which).await {
            Ok((content, _)) if content == expected => {}
            Ok((content, _)) => {
                usable[which] = false;
                report.note(format!(
                    "streaming: {} read {content} content bytes, raw read {expected}; left out",
                    NAMES[which]
                ));
            }
            Err(e) => {
                usable[which] = false;
                report.note(format!("streaming: {} failed: {e}; left out", NAMES[which]));
            }
        }
    }
    let mut samples: [Samples; 4] = Default::default();
    for (_, which) in interleaved(rounds, NAMES.len()) {
        if !usable[which] {
            continue;
        }
        let started = Instant::now();
        for _ in 0..per_round {
            contenders.run(which).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        samples[which].push((response_bytes * per_round) as f64 / seconds / 1e6);
    }
    let ours = &samples[0];
    let raw = &samples[1];
    let ratio = ours.median() / raw.median();
    let mut baselines = format!("raw reqwest+serde_json (limit): {} MB/s", raw.display(0));
    for which in [2, 3] {
        if usable[which] {
            let s = &samples[which];
            baselines.push_str(&format!(
                "; {}: {} MB/s (ours {:.1}×)",
                NAMES[which],
                s.display(0),
                ours.median() / s.median()
            ));
        }
    }
    let (name, goal, verdict) = match source {
        Source::Mock => (
            "streamed chat throughput via copilot-mock (one write per event; mock-bound)",
            "(informational)",
            Verdict::NoGoal,
        ),
        Source::Replay => (
            "streamed chat throughput, recorded mock answer replayed in 64 KiB writes",
            "≥ 0.9× raw",
            Verdict::from_bool(ratio >= 0.9),
        ),
    };
    report.row(Row {
        name: format!(
            "{name} ({chunks} chunks, {:.1} MB/answer, MB/s)",
            response_bytes as f64 / 1e6
        ),
        ours: format!("{} MB/s", ours.display(0)),
        baselines,
        ratio: format!("{ratio:.2}× raw"),
        goal: goal.into(),
        verdict,
    });
    if source == Source::Mock {
        report.note(format!(
            "streaming: every contender reads the same bytes from `copilot-mock --model-fields` (chunks carry \
             `model`/`object`), because async-openai cannot parse Copilot's real chunk layout (it requires those \
             fields). The mock writes each ~500-byte event separately, so it sets the pace of the first streaming row; \
             the second row replays one recorded answer of that mock from a separate minimal HTTP/1.1 process in \
             64 KiB writes, so the clients set the pace. {rounds} rounds, contender order rotated per round."
        ));
    }
    Ok(())
}
