//! Responses over WebSocket vs HTTP: time to the first event of a turn on the mock (its own process).
//!
//! Both sides are copilot-api's client on the same model (`gpt-5.3-codex`, which lists `ws:/responses`)
//! with the same prompt, warmed up first so each reuses its connection: **ours** sends `response.create`
//! on the pooled socket (`responses_ws_stream`), the **baseline** POSTs `/responses` on a kept-alive HTTP
//! connection (`responses_stream`). A turn is timed from the call to its first `ChatEvent`, then read to
//! the end (so the socket or connection goes back to its pool). The sides alternate turn by turn.

use std::time::Instant;

use copilot_api::{CopilotApiClient, ResponseItem, ResponsesRequest};
use futures_util::StreamExt;

use super::{MockCredentials, Settings, our_client};
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::Samples;

const MODEL: &str = "gpt-5.3-codex";

fn request() -> ResponsesRequest {
    ResponsesRequest::new(
        MODEL,
        vec![ResponseItem::user_text("How fast is the first event?")],
    )
}

/// One turn: microseconds to the first event.
async fn turn(client: &CopilotApiClient, websocket: bool) -> Result<f64, BenchError> {
    let started = Instant::now();
    let mut stream = if websocket {
        client.responses_ws_stream(request()).await
    } else {
        client.responses_stream(request()).await
    }
    .map_err(|e| BenchError::contender("responses", e))?;
    let first = stream
        .next()
        .await
        .ok_or_else(|| BenchError::contender("responses", "no event"))?
        .map_err(|e| BenchError::contender("responses", e))?;
    let elapsed = started.elapsed().as_secs_f64() * 1e6;
    std::hint::black_box(first);
    while let Some(event) = stream.next().await {
        event.map_err(|e| BenchError::contender("responses", e))?;
    }
    if websocket && !stream.over_websocket() {
        return Err(BenchError::contender(
            "websocket",
            "the turn fell back to HTTP: the mock refused the upgrade",
        ));
    }
    Ok(elapsed)
}

/// Runs the comparison and adds one row.
pub async fn run(
    report: &mut Report,
    settings: Settings,
    credentials: &MockCredentials,
) -> Result<(), BenchError> {
    let client = our_client(credentials)?;
    for websocket in [true, false, true, false] {
        turn(&client, websocket).await?;
    }
    let rounds = settings.pick(5, 15);
    let turns = settings.pick(20, 60);
    let mut samples = [Samples::new(), Samples::new()];
    for round in 0..rounds {
        let mut times = [Vec::with_capacity(turns), Vec::with_capacity(turns)];
        for i in 0..turns * 2 {
            let which = (i + round) % 2;
            times[which].push(turn(&client, which == 0).await?);
        }
        for (which, mut times) in times.into_iter().enumerate() {
            times.sort_by(f64::total_cmp);
            samples[which].push(times[times.len() / 2]);
        }
    }
    let ratio = samples[0].median() / samples[1].median();
    report.row(Row {
        name: format!(
            "Responses time to first event via copilot-mock, WebSocket vs HTTP (pooled socket vs kept-alive \
             connection, {turns} turns per side per round; µs)"
        ),
        ours: format!("WebSocket: {} µs", samples[0].display(0)),
        baselines: format!("HTTP /responses: {} µs", samples[1].display(0)),
        ratio: format!("{ratio:.2}× HTTP"),
        goal: "(none set)".into(),
        verdict: Verdict::NoGoal,
    });
    Ok(())
}
