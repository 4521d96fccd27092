//! SSE + JSON decode throughput in memory, on the bytes of a real mock answer (Copilot's chunk layout, no
//! `model`/`object`), fed in 16 KiB network-sized pieces:
//!
//! - **ours**: `ChatEventDecoder` (framing rules, chunk mapping into `ChatEvent`s);
//! - **limit**: memchr line splitter + `serde_json` into a tiny struct holding the content delta;
//! - **eventsource+Value**: `eventsource-stream` + `serde_json::Value`.
//!
//! The same three decode a real `/v1/messages` (Anthropic Messages) answer of the mock for the second row:
//! ours in [`Dialect::Messages`], the limit and `Value` reading `delta.text`.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use copilot_api::{ChatEvent, ChatEventDecoder, Dialect, EventQueue};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::{Settings, split_data_lines, tiny_content_len};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

/// The size of one network read: every contender is fed the input in pieces of this many bytes.
pub const READ_SIZE: usize = 16 * 1024;

/// Which API's stream a row decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/chat/completions` chunks.
    Chat,
    /// `/v1/messages` events.
    Messages,
}

impl Api {
    fn dialect(self) -> Dialect {
        match self {
            Api::Chat => Dialect::ChatCompletions,
            Api::Messages => Dialect::Messages,
        }
    }

    /// Content bytes in one `data:` payload, as the limit reads them (a tiny struct).
    fn tiny_len(self, data: &[u8]) -> usize {
        match self {
            Api::Chat => tiny_content_len(data),
            Api::Messages => serde_json::from_slice::<TinyMessagesEvent>(data)
                .ok()
                .and_then(|event| event.delta)
                .and_then(|delta| delta.text)
                .map_or(0, |text| text.len()),
        }
    }

    /// Content bytes in one decoded `Value`.
    fn value_len(self, value: &serde_json::Value) -> usize {
        match self {
            Api::Chat => value
                .get("choices")
                .and_then(|c| c.as_array())
                .map_or(0, |choices| {
                    choices
                        .iter()
                        .filter_map(|c| c.pointer("/delta/content").and_then(|v| v.as_str()))
                        .map(str::len)
                        .sum()
                }),
            Api::Messages => value
                .pointer("/delta/text")
                .and_then(|v| v.as_str())
                .map_or(0, str::len),
        }
    }
}

/// The smallest Messages event shape that reads a text delta.
#[derive(serde::Deserialize)]
struct TinyMessagesEvent {
    delta: Option<TinyTextDelta>,
}

#[derive(serde::Deserialize)]
struct TinyTextDelta {
    text: Option<String>,
}

/// Ours: [`ChatEventDecoder`] (framing rules, chunk mapping into events) fed `input` in [`READ_SIZE`] pieces;
/// returns the content bytes it decoded.
pub fn ours(api: Api, input: &[u8]) -> usize {
    let mut decoder = ChatEventDecoder::new(api.dialect());
    let mut queue = EventQueue::new();
    let mut content = 0;
    let mut drain = |queue: &mut EventQueue| {
        for event in queue.drain(..) {
            if let Ok(ChatEvent::Content { text, .. }) = event {
                content += text.len();
            }
        }
    };
    for piece in input.chunks(READ_SIZE) {
        decoder.feed(piece, &mut queue);
        drain(&mut queue);
    }
    decoder.finish(&mut queue);
    drain(&mut queue);
    content
}

/// The limit: a memchr line splitter and a tiny struct holding only the content delta, fed `input` in
/// [`READ_SIZE`] pieces; returns the content bytes it read.
pub fn limit(api: Api, input: &[u8]) -> usize {
    let mut content = 0;
    let mut pending = Vec::with_capacity(2 * READ_SIZE);
    for piece in input.chunks(READ_SIZE) {
        pending.extend_from_slice(piece);
        let used = split_data_lines(&pending, |data| content += api.tiny_len(data));
        pending.drain(..used);
    }
    content
}

/// The common hand-rolled client: `eventsource-stream` and `serde_json::Value`, fed `input` in [`READ_SIZE`]
/// pieces on `runtime`; returns the content bytes it read.
pub fn eventsource_value(api: Api, runtime: &tokio::runtime::Runtime, input: &Bytes) -> usize {
    runtime.block_on(async {
        let pieces = (0..input.len()).step_by(READ_SIZE).map(|start| {
            Ok::<_, Infallible>(input.slice(start..(start + READ_SIZE).min(input.len())))
        });
        let mut events = futures_util::stream::iter(pieces).eventsource();
        let mut content = 0;
        while let Some(Ok(event)) = events.next().await {
            if event.data == "[DONE]" {
                break;
            }
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&event.data) {
                content += api.value_len(&value);
            }
        }
        content
    })
}

/// Fetches one long answer's raw bytes from the (plain) mock.
pub async fn fetch_body(
    credentials: &super::MockCredentials,
    chunks: usize,
) -> Result<Bytes, BenchError> {
    fetch_answer(credentials, Api::Chat, chunks).await
}

/// Fetches one long answer of `api` (chat, or `/v1/messages` from a Claude model) as raw bytes from the
/// (plain) mock.
pub async fn fetch_answer(
    credentials: &super::MockCredentials,
    api: Api,
    chunks: usize,
) -> Result<Bytes, BenchError> {
    let prompt = format!("long answer {chunks}");
    let request = reqwest::Client::new();
    let request = match api {
        Api::Chat => request
            .post(super::chat_url(credentials))
            .body(super::chat_body(&prompt, true)),
        Api::Messages => {
            let body = serde_json::json!({
                "model": "claude-sonnet-4.5",
                "max_tokens": 64_000,
                "stream": true,
                "messages": [{"role": "user", "content": prompt}],
            });
            request
                .post(format!(
                    "{}/v1/messages",
                    credentials.base_url.as_str().trim_end_matches('/')
                ))
                .header("anthropic-version", copilot_api::ANTHROPIC_VERSION)
                .body(serde_json::to_vec(&body).unwrap_or_default())
        }
    };
    request
        .bearer_auth(&credentials.bearer)
        .header("content-type", "application/json")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::contender("decode input", e))?
        .bytes()
        .await
        .map_err(|e| BenchError::contender("decode input", e))
}

/// The chunk count of the input answer.
pub fn input_chunks(settings: Settings) -> usize {
    settings.pick(4_000, 20_000)
}

/// Runs the comparison on `input`, an answer of `api` (call outside any tokio runtime), and adds one row.
pub fn run(
    report: &mut Report,
    settings: Settings,
    api: Api,
    input: Bytes,
) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(BenchError::Io)?;
    let expected = limit(api, &input);
    if expected == 0 {
        return Err(BenchError::contender("decode", "the input has no content"));
    }
    let checks = [
        ("ours", ours(api, &input)),
        (
            "eventsource+Value",
            eventsource_value(api, &runtime, &input),
        ),
    ];
    for (name, got) in checks {
        if got != expected {
            return Err(BenchError::contender(
                "decode",
                format!("{name} decoded {got} content bytes, the limit {expected}"),
            ));
        }
    }
    let rounds = settings.pick(5, 15);
    let mut samples = [Samples::new(), Samples::new(), Samples::new()];
    for (_, which) in interleaved(rounds, 3) {
        let started = Instant::now();
        let content = match which {
            0 => ours(api, std::hint::black_box(&input)),
            1 => limit(api, std::hint::black_box(&input)),
            _ => eventsource_value(api, &runtime, std::hint::black_box(&input)),
        };
        std::hint::black_box(content);
        samples[which].push(input.len() as f64 / started.elapsed().as_secs_f64() / 1e6);
    }
    let ratio = samples[0].median() / samples[1].median();
    report.row(Row {
        name: match api {
            Api::Chat => format!(
                "SSE+JSON decode in memory ({:.1} MB mock answer, 16 KiB reads, MB/s)",
                input.len() as f64 / 1e6
            ),
            Api::Messages => format!(
                "Messages stream decode in memory ({:.1} MB mock /v1/messages answer, 16 KiB reads, MB/s)",
                input.len() as f64 / 1e6
            ),
        },
        ours: format!("{} MB/s", samples[0].display(0)),
        baselines: format!(
            "limit (memchr+serde_json tiny struct): {} MB/s; eventsource+Value: {} MB/s (ours {:.1}×)",
            samples[1].display(0),
            samples[2].display(0),
            samples[0].median() / samples[2].median()
        ),
        ratio: format!("{ratio:.2}× limit"),
        goal: "(none set; ≥ 0.9× limit implied by the streaming goal)".into(),
        verdict: Verdict::NoGoal,
    });
    Ok(())
}
