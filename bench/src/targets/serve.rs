//! The gateway rows: N concurrent streamed chat completions
//!
//! - **direct**: straight to `copilot-mock` (`{copilot}/chat/completions` with the exchanged Copilot token);
//! - **copilot-rs serve**: the same requests to `copilot-rs serve` (`/v1/chat/completions` with its key), its
//!   own process ([`ServeProcess`]) in front of the same mock;
//! - **LiteLLM**: the same requests to the LiteLLM proxy ([`LiteLlmProcess`]) configured as an OpenAI-compatible
//!   pass-through to the same mock: the peer.
//!
//! One client for all three (reqwest + the memchr line splitter + a tiny serde struct: the streaming
//! target's "raw" reader), so the client's cost is the same on every side and the difference is the gateway.
//! Each batch starts N requests at once and waits for the last one to be read to `[DONE]`. Per round every
//! contender runs one batch, in an order that rotates each round. Reported: the wall time of a batch (median
//! over rounds) as a ratio to direct, and the CPU time (user + system, `/proc/PID/stat` of the gateway
//! process and its descendants) spent by the gateway per streamed request.
//!
//! Then the peak: batches of growing size in which every stream, once its first content event arrived, waits
//! until all streams of the batch have one before reading on, so all of them are open at the same moment;
//! the largest batch that completes with no error (within its deadline) is the peak held.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::task::JoinSet;

use super::{MockCredentials, Settings, chat_body, split_data_lines, tiny_content_len};
use crate::BenchError;
use crate::gateway::{GATEWAY_KEY, LiteLlmProcess, ServeProcess};
use crate::mock::MockProcess;
use crate::probe;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

/// Content chunks per streamed answer (`long answer N`, ~500 bytes each on the mock's wire, ~12 KB).
pub const ANSWER_CHUNKS: usize = 20;

/// How long one batch may take before it is abandoned (and counted as failed).
const BATCH_DEADLINE: Duration = Duration::from_secs(180);

/// Why the LiteLLM peer is not measured, as the harness was told (`cargo xtask bench` sets it when the venv
/// could not be made), or `None` when it is to be measured.
pub const LITELLM_UNAVAILABLE_ENV: &str = "COPILOT_BENCH_LITELLM_UNAVAILABLE";
/// The venv Python with `litellm[proxy]` installed (`cargo xtask bench` sets it).
pub const LITELLM_PYTHON_ENV: &str = "COPILOT_BENCH_LITELLM_PYTHON";

/// One side of the comparison.
struct Contender {
    name: &'static str,
    url: String,
    key: String,
    /// The gateway process charged with CPU time (none for direct).
    pid: Option<u32>,
}

/// A batch's outcome.
#[derive(Debug, Default)]
struct Batch {
    completed: usize,
    failed: usize,
    first_error: Option<String>,
    content_bytes: usize,
    elapsed: Duration,
    /// Streams open at once (first event read, `[DONE]` not yet), at most.
    peak_open: usize,
    timed_out: bool,
}

impl Batch {
    fn clean(&self, expected: usize) -> bool {
        self.failed == 0 && !self.timed_out && self.completed == expected
    }

    fn problem(&self, expected: usize) -> String {
        format!(
            "{} of {expected} streams completed, {} failed{}{}",
            self.completed,
            self.failed,
            if self.timed_out {
                format!(", deadline of {BATCH_DEADLINE:?} passed")
            } else {
                String::new()
            },
            self.first_error
                .as_ref()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        )
    }
}

/// What the holding streams share.
struct Hold {
    /// Streams that reached their first content event (or failed before it).
    arrived: tokio::sync::watch::Sender<usize>,
    /// Streams open now and the most seen at once.
    open: AtomicUsize,
    peak: AtomicUsize,
    /// All streams of the batch.
    size: usize,
}

/// One streamed request read to the end; with `hold`, waits after the first content event until every
/// stream of the batch got one. Returns the content bytes.
async fn one_stream(
    http: reqwest::Client,
    url: Arc<str>,
    key: Arc<str>,
    body: Arc<[u8]>,
    hold: Option<Arc<Hold>>,
) -> Result<usize, String> {
    let mut arrived = false;
    let result = async {
        let response = http
            .post(&*url)
            .bearer_auth(&*key)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        let mut stream = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::with_capacity(16 * 1024);
        let mut content = 0;
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| e.to_string())?;
            pending.extend_from_slice(&piece);
            let used = split_data_lines(&pending, |data| content += tiny_content_len(data));
            pending.drain(..used);
            if let Some(hold) = &hold
                && !arrived
                && content > 0
            {
                arrived = true;
                let now = hold.open.fetch_add(1, Ordering::SeqCst) + 1;
                hold.peak.fetch_max(now, Ordering::SeqCst);
                hold.arrived.send_modify(|n| *n += 1);
                let mut watch = hold.arrived.subscribe();
                let size = hold.size;
                watch
                    .wait_for(|n| *n >= size)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(content)
    }
    .await;
    if let Some(hold) = &hold {
        if arrived {
            hold.open.fetch_sub(1, Ordering::SeqCst);
        } else {
            // Never reached the first event: do not keep the others waiting.
            hold.arrived.send_modify(|n| *n += 1);
        }
    }
    result
}

/// `size` concurrent streams to `contender`; with `hold`, all held open at once (see the module docs).
async fn batch(http: &reqwest::Client, contender: &Contender, size: usize, hold: bool) -> Batch {
    let url: Arc<str> = contender.url.as_str().into();
    let key: Arc<str> = contender.key.as_str().into();
    let body: Arc<[u8]> = chat_body(&format!("long answer {ANSWER_CHUNKS}"), true).into();
    let hold = hold.then(|| {
        Arc::new(Hold {
            arrived: tokio::sync::watch::Sender::new(0),
            open: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            size,
        })
    });
    let mut outcome = Batch::default();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..size {
        tasks.spawn(one_stream(
            http.clone(),
            url.clone(),
            key.clone(),
            body.clone(),
            hold.clone(),
        ));
    }
    let deadline = tokio::time::Instant::now() + BATCH_DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(Ok(Ok(content)))) => {
                outcome.completed += 1;
                outcome.content_bytes += content;
            }
            Ok(Some(Ok(Err(error)))) => {
                outcome.failed += 1;
                outcome.first_error.get_or_insert(error);
            }
            Ok(Some(Err(join))) => {
                outcome.failed += 1;
                outcome.first_error.get_or_insert(join.to_string());
            }
            Ok(None) => break,
            Err(_) => {
                outcome.timed_out = true;
                tasks.shutdown().await;
                break;
            }
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.peak_open = hold.map_or(0, |h| h.peak.load(Ordering::SeqCst));
    outcome
}

/// CPU milliseconds summed over batches, and the requests they served.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTotal {
    ms: f64,
    requests: usize,
}

impl CpuTotal {
    fn add(&mut self, before: Option<f64>, after: Option<f64>, requests: usize) {
        if let (Some(before), Some(after)) = (before, after) {
            self.ms += after - before;
            self.requests += requests;
        }
    }

    fn per_request(&self) -> f64 {
        self.ms / self.requests as f64
    }

    fn display(&self) -> String {
        format!(
            "{:.3} ms ({:.0} ms over {} requests)",
            self.per_request(),
            self.ms,
            self.requests
        )
    }
}

/// CPU time of `pid`'s process tree, in ms.
fn cpu_ms(pid: Option<u32>) -> Option<f64> {
    pid.and_then(probe::process_tree_cpu)
        .map(|d| d.as_secs_f64() * 1e3)
}

/// Starts the gateways in front of `mock` and adds the serve rows.
pub async fn run(
    report: &mut Report,
    settings: Settings,
    mock: &MockProcess,
    credentials: &MockCredentials,
) -> Result<(), BenchError> {
    let concurrency = settings.pick(50, 100);
    let rounds = settings.pick(3, 7);
    let steps: &[usize] = settings.pick(&[100, 250][..], &[250, 500, 1000, 2000][..]);

    let serve = ServeProcess::start(mock)?;
    let litellm = start_litellm(report, credentials);
    let mut contenders = vec![
        Contender {
            name: "direct",
            url: super::chat_url(credentials),
            key: credentials.bearer.clone(),
            pid: None,
        },
        Contender {
            name: "copilot-rs serve",
            url: format!("{}/v1/chat/completions", serve.base_url),
            key: GATEWAY_KEY.into(),
            pid: Some(serve.pid()),
        },
    ];
    let litellm_label = litellm
        .as_ref()
        .map(|l| format!("LiteLLM {}", l.version))
        .unwrap_or_else(|_| "LiteLLM".into());
    if let Ok(litellm) = &litellm {
        contenders.push(Contender {
            name: "LiteLLM",
            url: format!("{}/v1/chat/completions", litellm.base_url),
            key: GATEWAY_KEY.into(),
            pid: Some(litellm.pid()),
        });
    }
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| BenchError::contender("client", e))?;

    // Warm-up and agreement: one stream each, then one unmeasured batch (connections, the gateways' pools).
    let mut usable = vec![true; contenders.len()];
    let mut expected = None;
    for (index, contender) in contenders.iter().enumerate() {
        let one = batch(&http, contender, 1, false).await;
        let warm = if one.clean(1) {
            batch(&http, contender, concurrency, false).await
        } else {
            one
        };
        let size = if warm.completed + warm.failed == 1 {
            1
        } else {
            concurrency
        };
        if !warm.clean(size) {
            usable[index] = false;
            report.note(format!(
                "serve: {} FAILED in the warm-up and is left out: {}",
                contender.name,
                warm.problem(size)
            ));
            continue;
        }
        let per_stream = warm.content_bytes / size;
        match expected {
            None => expected = Some(per_stream),
            Some(bytes) if bytes != per_stream => {
                usable[index] = false;
                report.note(format!(
                    "serve: {} read {per_stream} content bytes per stream, direct {bytes}; left out",
                    contender.name
                ));
            }
            Some(_) => {}
        }
    }
    if !usable[0] || !usable[1] {
        return Err(BenchError::contender(
            "serve",
            "the direct or the copilot-rs serve side failed its warm-up (see the notes)",
        ));
    }

    let mut wall: Vec<Samples> = contenders.iter().map(|_| Samples::new()).collect();
    // CPU comes in 10 ms ticks, too coarse for one batch: summed over all rounds, then divided.
    let mut cpu = vec![CpuTotal::default(); contenders.len()];
    let mut mock_cpu = vec![CpuTotal::default(); contenders.len()];
    for (round, index) in interleaved(rounds, contenders.len()) {
        if !usable[index] {
            continue;
        }
        let contender = &contenders[index];
        let (cpu_before, mock_before) = (cpu_ms(contender.pid), cpu_ms(Some(mock.pid())));
        let outcome = batch(&http, contender, concurrency, false).await;
        let (cpu_after, mock_after) = (cpu_ms(contender.pid), cpu_ms(Some(mock.pid())));
        if !outcome.clean(concurrency) {
            usable[index] = false;
            report.note(format!(
                "serve: {} FAILED in round {} and is left out from there: {}",
                contender.name,
                round + 1,
                outcome.problem(concurrency)
            ));
            continue;
        }
        wall[index].push(outcome.elapsed.as_secs_f64() * 1e3);
        cpu[index].add(cpu_before, cpu_after, concurrency);
        mock_cpu[index].add(mock_before, mock_after, concurrency);
    }

    let litellm_index = 2;
    let has_litellm = contenders.len() > litellm_index && !wall[litellm_index].is_empty();
    let direct = wall[0].median();
    let ours = wall[1].median();
    let mut baselines = format!("direct to copilot-mock: {} ms", wall[0].display(1));
    if has_litellm {
        baselines.push_str(&format!(
            "; {litellm_label}: {} ms ({:.2}× direct; ours {:.1}× faster)",
            wall[litellm_index].display(1),
            wall[litellm_index].median() / direct,
            wall[litellm_index].median() / ours
        ));
    } else {
        baselines.push_str(&format!("; {litellm_label}: **not measured** (see notes)"));
    }
    report.row(Row {
        name: format!(
            "{concurrency} concurrent streamed chat completions ({ANSWER_CHUNKS} chunks each) through the \
             gateway vs straight to the mock (wall ms per batch)"
        ),
        ours: format!("copilot-rs serve: {} ms", wall[1].display(1)),
        baselines,
        ratio: format!("{:.2}× direct", ours / direct),
        goal: "(informational)".into(),
        verdict: Verdict::NoGoal,
    });
    let mut cpu_baselines = format!(
        "copilot-mock serving the answer (direct side): {}",
        mock_cpu[0].display()
    );
    let mut cpu_ratio = "–".to_owned();
    if has_litellm && cpu[litellm_index].requests > 0 {
        cpu_baselines.push_str(&format!(
            "; {litellm_label}: {}",
            cpu[litellm_index].display()
        ));
        cpu_ratio = format!(
            "LiteLLM uses {:.1}× ours",
            cpu[litellm_index].per_request() / cpu[1].per_request()
        );
    }
    report.row(Row {
        name: format!(
            "gateway CPU per streamed request ({ANSWER_CHUNKS} chunks; user+system ms of the gateway \
             process, {concurrency} at a time)"
        ),
        ours: cpu[1].display(),
        baselines: cpu_baselines,
        ratio: cpu_ratio,
        goal: "(informational)".into(),
        verdict: Verdict::NoGoal,
    });

    // The peak: growing batches, every stream held open until all have their first event.
    let mut held: Vec<Option<(usize, usize, Duration)>> = contenders.iter().map(|_| None).collect();
    for (index, contender) in contenders.iter().enumerate() {
        if !usable[index] {
            continue;
        }
        for &size in steps {
            let outcome = batch(&http, contender, size, true).await;
            if !outcome.clean(size) {
                report.note(format!(
                    "serve: {} could not hold {size} streams at once: {}",
                    contender.name,
                    outcome.problem(size)
                ));
                break;
            }
            held[index] = Some((size, outcome.peak_open, outcome.elapsed));
        }
    }
    let describe = |h: &Option<(usize, usize, Duration)>| match h {
        Some((size, peak, elapsed)) => format!(
            "{size} (peak {peak} open at once; batch {:.2} s)",
            elapsed.as_secs_f64()
        ),
        None => format!("fewer than {}", steps[0]),
    };
    let mut peak_baselines = format!("direct to copilot-mock: {}", describe(&held[0]));
    if contenders.len() > litellm_index && usable[litellm_index] {
        peak_baselines.push_str(&format!(
            "; {litellm_label}: {}",
            describe(&held[litellm_index])
        ));
    } else {
        peak_baselines.push_str(&format!("; {litellm_label}: **not measured**"));
    }
    report.row(Row {
        name: format!(
            "peak concurrent streams held by the gateway (steps {steps:?}; each stream waits after its first \
             event until all are open; 0 errors)"
        ),
        ours: describe(&held[1]),
        baselines: peak_baselines,
        ratio: "–".into(),
        goal: format!("≥ {}", steps.last().copied().unwrap_or(0).min(1000)),
        verdict: Verdict::from_bool(
            held[1].is_some_and(|(size, _, _)| size >= steps.last().copied().unwrap_or(0).min(1000)),
        ),
    });
    report.note(format!(
        "serve: one client (reqwest + memchr splitter + tiny struct) for every side; `copilot-rs serve` (release \
         binary) and {litellm_label} each run as their own process in front of the same copilot-mock process, \
         answers of {ANSWER_CHUNKS} content chunks (`long answer {ANSWER_CHUNKS}`); {rounds} rounds of one batch \
         of {concurrency} per side, order rotated per round; CPU from /proc/PID/stat (10 ms ticks) of the gateway \
         process tree over a batch, divided by {concurrency}."
    ));
    drop(serve);
    drop(litellm);
    Ok(())
}

/// Starts the LiteLLM peer, or says loudly (in the report and on stderr) why it is not measured.
fn start_litellm(
    report: &mut Report,
    credentials: &MockCredentials,
) -> Result<LiteLlmProcess, String> {
    let problem = if let Ok(reason) = std::env::var(LITELLM_UNAVAILABLE_ENV) {
        reason
    } else if let Some(python) = std::env::var_os(LITELLM_PYTHON_ENV) {
        match LiteLlmProcess::start(
            std::path::Path::new(&python),
            credentials.base_url.as_str().trim_end_matches('/'),
            &credentials.bearer,
            super::MODEL,
        ) {
            Ok(process) => {
                eprintln!(
                    "copilot-bench: LiteLLM {} (pid {}) at {}",
                    process.version,
                    process.pid(),
                    process.base_url
                );
                return Ok(process);
            }
            Err(e) => e.to_string(),
        }
    } else {
        format!(
            "{LITELLM_PYTHON_ENV} is not set (run the benchmarks with `cargo xtask bench`, which installs \
             litellm[proxy] into a venv)"
        )
    };
    let bar = "!".repeat(78);
    eprintln!(
        "\n{bar}\n!! NOT MEASURED: the LiteLLM peer of the serve rows\n!! because: {problem}\n{bar}\n"
    );
    report.note(format!(
        "serve: **the LiteLLM peer was NOT measured**: {problem}"
    ));
    Err(problem)
}
