//! SSE + JSON decode throughput in memory, on the bytes of a real mock answer (Copilot's chunk layout, no
//! `model`/`object`), fed in 16 KiB network-sized pieces:
//!
//! - **ours**: `ChatEventDecoder` (framing rules, chunk mapping into `ChatEvent`s);
//! - **limit**: memchr line splitter + `serde_json` into a tiny struct holding the content delta;
//! - **eventsource+Value**: `eventsource-stream` + `serde_json::Value`.

use std::convert::Infallible;
use std::time::Instant;

use bytes::Bytes;
use copilot_api::{ChatEvent, ChatEventDecoder, Dialect, EventQueue};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::{Settings, split_data_lines, tiny_content_len};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::Samples;

const READ_SIZE: usize = 16 * 1024;

fn ours(input: &[u8]) -> usize {
    let mut decoder = ChatEventDecoder::new(Dialect::ChatCompletions);
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

fn limit(input: &[u8]) -> usize {
    let mut content = 0;
    let mut pending = Vec::with_capacity(2 * READ_SIZE);
    for piece in input.chunks(READ_SIZE) {
        pending.extend_from_slice(piece);
        let used = split_data_lines(&pending, |data| content += tiny_content_len(data));
        pending.drain(..used);
    }
    content
}

fn eventsource_value(runtime: &tokio::runtime::Runtime, input: &Bytes) -> usize {
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
        content
    })
}

/// Fetches one long answer's raw bytes from the (plain) mock.
pub async fn fetch_body(
    credentials: &super::MockCredentials,
    chunks: usize,
) -> Result<Bytes, BenchError> {
    reqwest::Client::new()
        .post(super::chat_url(credentials))
        .bearer_auth(&credentials.bearer)
        .header("content-type", "application/json")
        .body(super::chat_body(&format!("long answer {chunks}"), true))
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

/// Runs the comparison on `input` (call outside any tokio runtime) and adds one row.
pub fn run(report: &mut Report, settings: Settings, input: Bytes) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(BenchError::Io)?;
    let expected = limit(&input);
    let checks = [
        ("ours", ours(&input)),
        ("eventsource+Value", eventsource_value(&runtime, &input)),
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
    for round in 0..rounds {
        for step in 0..3 {
            let which = (round + step) % 3;
            let started = Instant::now();
            let content = match which {
                0 => ours(std::hint::black_box(&input)),
                1 => limit(std::hint::black_box(&input)),
                _ => eventsource_value(&runtime, std::hint::black_box(&input)),
            };
            std::hint::black_box(content);
            samples[which].push(input.len() as f64 / started.elapsed().as_secs_f64() / 1e6);
        }
    }
    let ratio = samples[0].median() / samples[1].median();
    report.row(Row {
        name: format!(
            "SSE+JSON decode in memory ({:.1} MB mock answer, 16 KiB reads, MB/s)",
            input.len() as f64 / 1e6
        ),
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
