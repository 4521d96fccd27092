//! Non-streamed request latency: `CopilotApiClient::chat` (headers, request id, typed response) against raw
//! reqwest posting the same JSON and decoding a tiny struct. Each round times every request of both
//! contenders; the row reports the median of the per-round medians.

use std::time::Instant;

use copilot_api::{ChatRequest, CopilotApiClient, Message};

use super::{MockCredentials, Settings, chat_body, chat_url, our_client, tiny_content_len};
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

async fn raw(http: &reqwest::Client, credentials: &MockCredentials) -> Result<usize, BenchError> {
    let body = http
        .post(chat_url(credentials))
        .bearer_auth(&credentials.bearer)
        .header("content-type", "application/json")
        .body(chat_body(PROMPT, false))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::contender("raw", e))?
        .bytes()
        .await
        .map_err(|e| BenchError::contender("raw", e))?;
    Ok(tiny_content_len(&body))
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
    let http = reqwest::Client::new();
    let expected = raw(&http, credentials).await?;
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
                    raw(&http, credentials).await?;
                }
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples[which].push(times.median());
        }
    }
    let ratio = samples[0].median() / samples[1].median();
    report.row(Row {
        name: "non-streamed chat latency (loopback, µs per request)".into(),
        ours: format!("{} µs", samples[0].display(0)),
        baselines: format!("raw reqwest+serde_json: {} µs", samples[1].display(0)),
        ratio: format!("{ratio:.3}× raw"),
        goal: "≤ 1.05× raw".into(),
        verdict: Verdict::from_bool(ratio <= 1.05),
    });
    Ok(())
}
