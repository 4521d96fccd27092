//! `copilot-bench`: the benchmark table, or the load run.
//!
//! ```text
//! copilot-bench [--quick] [--only NAME]...     benchmarks; NAME: streaming latency decode messages-decode websocket token stampede memory serve stores
//! copilot-bench load [--sessions N] [--requests N] [--chunks N] [--deadline SECS] [--rounds N] [--via direct|serve]
//! copilot-bench replay-server FILE             (internal: started by the streaming target)
//! copilot-bench latency-profile ours|raw|async-openai N   N sequential non-streamed requests of one side, for perf
//! copilot-bench stream-profile ours|raw N      N replayed streamed answers read by one side, for callgrind
//! ```
//!
//! The mock server runs as a separate `copilot-mock` process found next to this binary (`cargo xtask bench`
//! builds both with `--release`), or at `$COPILOT_MOCK_BIN`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use copilot_bench::load::{LoadConfig, LoadTarget, Route, run_load};
use copilot_bench::mock::MockProcess;
use copilot_bench::replay::ReplayProcess;
use copilot_bench::report::{Report, machine_description};
use copilot_bench::targets::streaming::Source;
use copilot_bench::targets::{self, Settings};
use copilot_bench::{BenchError, probe};

const TARGETS: [&str; 10] = [
    "streaming",
    "latency",
    "decode",
    "messages-decode",
    "websocket",
    "token",
    "stampede",
    "memory",
    "serve",
    "stores",
];

const USAGE: &str = "\
usage: copilot-bench [--quick] [--only NAME]...
       copilot-bench load [--sessions N] [--requests N] [--chunks N] [--deadline SECS] [--rounds N]
                          [--via direct|serve]
       copilot-bench latency-profile ours|raw|async-openai [N]
       copilot-bench stream-profile ours|raw [N]
NAME: streaming latency decode messages-decode websocket token stampede memory serve stores";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("load") => load(&args[1..]),
        Some("replay-server") => replay_server(&args[1..]),
        Some("latency-profile") => latency_profile(&args[1..]),
        Some("stream-profile") => stream_profile(&args[1..]),
        _ => bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("copilot-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))
}

fn report_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("bench-report.md");
    }
    // This binary lives in target/<profile>/.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bench-report.md")))
        .unwrap_or_else(|| PathBuf::from("bench-report.md"))
}

/// Records one streamed answer of `chunks` chunks from the mock behind `credentials` into `file_name` (beside
/// the report) and serves it from a separate replay process: the process (keep it alive while it is used)
/// and the credentials that reach it.
async fn record_and_replay(
    credentials: &targets::MockCredentials,
    chunks: usize,
    file_name: &str,
) -> Result<(ReplayProcess, targets::MockCredentials), BenchError> {
    let body = targets::decode::fetch_body(credentials, chunks).await?;
    let file = report_path().with_file_name(file_name);
    std::fs::write(&file, &body)?;
    let replay = ReplayProcess::start(&file)?;
    let replayed = targets::MockCredentials {
        bearer: credentials.bearer.clone(),
        base_url: format!("{}/copilot", replay.url)
            .parse()
            .map_err(|e| BenchError::Mock(format!("replay URL: {e}")))?,
    };
    Ok((replay, replayed))
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    let mut only: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let name = args.next().ok_or("--only needs a name")?;
                if !TARGETS.contains(&name.as_str()) {
                    return Err(format!("unknown target `{name}`\n{USAGE}"));
                }
                only.push(name.clone());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let selected = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let settings = Settings { quick };
    let started = Instant::now();
    let mut report = Report::default();
    let runtime = runtime()?;
    let plain = MockProcess::start(false).map_err(|e| e.to_string())?;
    let credentials = runtime
        .block_on(targets::exchange(&plain))
        .map_err(|e| e.to_string())?;

    let step = |name: &str, result: Result<(), BenchError>, report: &mut Report| match result {
        Ok(()) => eprintln!(
            "copilot-bench: {name} done ({:.0} s)",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("copilot-bench: {name} failed: {e}");
            report.note(format!("{name}: FAILED: {e}"));
        }
    };
    if selected("streaming") {
        let result = MockProcess::start(true).and_then(|fields_mock| {
            runtime.block_on(async {
                let credentials = targets::exchange(&fields_mock).await?;
                targets::streaming::run(&mut report, settings, &credentials, Source::Mock).await?;
                // Record one answer of the same mock and replay it from a separate process.
                let chunks = targets::streaming::answer_chunks(settings);
                let (_replay, replayed) =
                    record_and_replay(&credentials, chunks, "bench-replay.sse").await?;
                targets::streaming::run(&mut report, settings, &replayed, Source::Replay).await
            })
        });
        step("streaming", result, &mut report);
    }
    if selected("latency") {
        let result = runtime.block_on(targets::latency::run(&mut report, settings, &credentials));
        step("latency", result, &mut report);
    }
    for (name, api) in [
        ("decode", targets::decode::Api::Chat),
        ("messages-decode", targets::decode::Api::Messages),
    ] {
        if selected(name) {
            let chunks = targets::decode::input_chunks(settings);
            let result = runtime
                .block_on(targets::decode::fetch_answer(&credentials, api, chunks))
                .and_then(|input| targets::decode::run(&mut report, settings, api, input));
            step(name, result, &mut report);
        }
    }
    if selected("websocket") {
        let result = runtime.block_on(targets::websocket::run(&mut report, settings, &credentials));
        step("websocket", result, &mut report);
    }
    if selected("token") {
        let result = runtime.block_on(targets::token::run_cached(&mut report, settings, &plain));
        step("token", result, &mut report);
    }
    if selected("stampede") {
        let result = runtime.block_on(targets::token::run_stampede(&mut report, settings, &plain));
        step("stampede", result, &mut report);
    }
    if selected("memory") {
        let result = runtime.block_on(targets::memory::run(&mut report, settings, &plain));
        step("memory", result, &mut report);
    }
    if selected("serve") {
        let result = runtime.block_on(targets::serve::run(
            &mut report,
            settings,
            &plain,
            &credentials,
        ));
        step("serve", result, &mut report);
    }
    if selected("stores") {
        let result = runtime.block_on(targets::stores::run(&mut report, settings));
        step("stores", result, &mut report);
    }
    drop(plain);

    let heading = format!(
        "# copilot-rs benchmark report ({} run)\n\nMachine: {}.\nHarness: `copilot-bench{}`, total time {:.0} s; \
         mock in its own process on loopback. Ratios are medians over rounds; ± is half the min–max range.\n\n",
        if quick { "quick" } else { "full" },
        machine_description(),
        if quick { " --quick" } else { "" },
        started.elapsed().as_secs_f64()
    );
    let markdown = format!("{heading}{}", report.markdown());
    println!("{markdown}");
    let path = report_path();
    std::fs::write(&path, &markdown).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("copilot-bench: report written to {}", path.display());
    Ok(())
}

fn load(args: &[String]) -> Result<(), String> {
    let mut config = LoadConfig::new(1_000, 5);
    let mut rounds = 5;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .ok_or(format!("{name} needs a value"))?
                .parse()
                .map_err(|e| format!("{name}: {e}"))
        };
        match arg.as_str() {
            "--sessions" => config.sessions = number("--sessions")? as usize,
            "--requests" => config.requests_per_session = number("--requests")? as usize,
            "--chunks" => config.chunks = number("--chunks")? as usize,
            "--deadline" => config.deadline = Duration::from_secs(number("--deadline")?),
            "--rounds" => rounds = number("--rounds")?.max(1),
            "--via" => {
                config.route = match args.next().map(String::as_str) {
                    Some("direct") => Route::Direct,
                    Some("serve") => Route::Gateway,
                    _ => return Err(format!("--via needs `direct` or `serve`\n{USAGE}")),
                }
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let mock = MockProcess::start(false).map_err(|e| e.to_string())?;
    let target = LoadTarget {
        host: targets::mock_host(&mock).map_err(|e| e.to_string())?,
        github_token: mock.github_token.clone(),
    };
    let via = match config.route {
        Route::Direct => "",
        Route::Gateway => {
            " through copilot-serve (in this process, started and shut down each round)"
        }
    };
    println!(
        "load: {rounds} rounds of {} concurrent sessions × {} streamed requests of {} chunks{via} against \
         copilot-mock (pid {}) on loopback",
        config.sessions,
        config.requests_per_session,
        config.chunks,
        mock.pid()
    );
    let runtime = runtime()?;
    let mut problems = Vec::new();
    let mut rss_after_rounds = Vec::new();
    let mut baseline_rss = None;
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}:");
        let outcome = runtime
            .block_on(run_load(&config, &target))
            .map_err(|e| e.to_string())?;
        print!("{outcome}");
        let expected = config.sessions * config.requests_per_session;
        let accounted = outcome.completed + outcome.failed_total();
        if outcome.timed_out_sessions > 0 || outcome.panicked_sessions > 0 || accounted != expected
        {
            problems.push(format!(
                "round {round}: {accounted} of {expected} requests accounted for (timed out sessions: {}, \
                 panicked: {})",
                outcome.timed_out_sessions, outcome.panicked_sessions
            ));
        }
        if outcome.leaked_tasks().is_some_and(|n| n > 0) {
            problems.push(format!(
                "round {round}: {:?} tasks leaked",
                outcome.leaked_tasks()
            ));
        }
        if outcome.leaked_sockets().is_some_and(|n| n > 0) {
            problems.push(format!(
                "round {round}: {:?} sockets leaked",
                outcome.leaked_sockets()
            ));
        }
        if let Some((before, _, after)) = outcome.rss_before_peak_after {
            baseline_rss.get_or_insert(before);
            rss_after_rounds.push(after);
        }
    }
    // The allocator keeps freed pages for reuse, so RSS after the first round stays above the cold baseline
    // and settles over the next rounds; a leak shows as steady growth from round to round. Check that the last
    // round ended within 8 MiB of the one before it.
    let after: Vec<String> = rss_after_rounds
        .iter()
        .map(|&b| format!("{:.1}", probe::mib(b)))
        .collect();
    println!(
        "\nRSS: {:.1} MiB cold; after each round (MiB): {}",
        probe::mib(baseline_rss.unwrap_or(0)),
        after.join(", ")
    );
    if let [.., previous, last] = rss_after_rounds[..] {
        let growth = last.saturating_sub(previous);
        println!(
            "RSS growth in the last round: {:.1} MiB (limit 8 MiB)",
            probe::mib(growth)
        );
        if growth > 8 * 1024 * 1024 {
            problems.push(format!(
                "RSS still grew {:.1} MiB in the last round",
                probe::mib(growth)
            ));
        }
    }
    if problems.is_empty() {
        println!("load: OK");
        Ok(())
    } else {
        Err(format!("load: {}", problems.join("; ")))
    }
}

/// `latency-profile ours|raw|async-openai N`: one contender of the latency target, alone, on a current-thread runtime so
/// `perf stat --no-inherit` counts exactly the client's work (not the mock's, which is a child process).
fn latency_profile(args: &[String]) -> Result<(), String> {
    let side = match args.first().map(String::as_str) {
        Some("ours") => targets::latency::Side::Ours,
        Some("raw") => targets::latency::Side::Raw,
        Some("async-openai") => targets::latency::Side::OpenAi,
        _ => return Err("latency-profile needs `ours`, `raw` or `async-openai`".into()),
    };
    let requests: usize = args
        .get(1)
        .map_or(Ok(20_000), |n| n.parse())
        .map_err(|e| format!("N: {e}"))?;
    let mock = MockProcess::start(false).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let elapsed = runtime
        .block_on(async {
            let credentials = targets::exchange(&mock).await?;
            targets::latency::profile(side, requests, &credentials).await
        })
        .map_err(|e| e.to_string())?;
    println!(
        "{requests} requests in {:.3} s ({:.1} µs each)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / requests.max(1) as f64
    );
    Ok(())
}

/// `stream-profile ours|raw N`: records one streamed answer of `copilot-mock --model-fields` (the full run's
/// size), serves it from the replay server (a separate process) and reads it N times with one contender on
/// a current-thread runtime, so callgrind counts only the client's work.
fn stream_profile(args: &[String]) -> Result<(), String> {
    use targets::streaming::Side;
    let side = match args.first().map(String::as_str) {
        Some("ours") => Side::Ours,
        Some("raw") => Side::Raw,
        _ => return Err("stream-profile needs `ours` or `raw`".into()),
    };
    let requests: usize = args
        .get(1)
        .map_or(Ok(20), |n| n.parse())
        .map_err(|e| format!("N: {e}"))?;
    let chunks = targets::streaming::answer_chunks(Settings { quick: false });
    let mock = MockProcess::start(true).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let (content, elapsed) = runtime
        .block_on(async {
            let credentials = targets::exchange(&mock).await?;
            let (_replay, replayed) =
                record_and_replay(&credentials, chunks, "bench-stream-profile.sse").await?;
            targets::streaming::profile(side, requests, chunks, &replayed).await
        })
        .map_err(|e| e.to_string())?;
    println!(
        "{requests} answers ({content} content bytes each) in {:.3} s",
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// `replay-server FILE`: the streaming target's byte source (see `copilot_bench::replay`).
fn replay_server(args: &[String]) -> Result<(), String> {
    let file = args.first().ok_or("replay-server needs a FILE")?;
    let body = std::fs::read(file).map_err(|e| format!("reading {file}: {e}"))?;
    runtime()?
        .block_on(copilot_bench::replay::serve(body))
        .map_err(|e| format!("replay server: {e}"))
}
