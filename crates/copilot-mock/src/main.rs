//! `copilot-mock`: run the GitHub + Copilot fake on a local port and print its URLs.

use std::process::ExitCode;

use copilot_mock::{
    DeviceOutcome, DeviceScenario, HostLayout, MockConfig, MockServer, ReplayTranscript,
};

const USAGE: &str = "\
Usage: copilot-mock [OPTIONS]

Options:
  --port N            port on 127.0.0.1 (default 0 = any free port)
  --ghes              GHES layout: GitHub REST under /api/v3 instead of /api
  --direct            accept GitHub tokens as Bearer on the Copilot API (Direct mode)
  --interval S        device-flow polling interval in seconds (default 5)
  --manual-approval   device codes stay pending until approved on /login/device
  --replay FILE       serve FILE verbatim on /chat/completions
  --piece-size N      bytes per write for --replay (default 16)
  --model-fields      add model/object to chat chunks
  -h, --help          show this help";

struct Args {
    port: u16,
    ghes: bool,
    direct: bool,
    interval: Option<u64>,
    manual: bool,
    replay: Option<String>,
    piece_size: Option<usize>,
    model_fields: bool,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        ghes: false,
        direct: false,
        interval: None,
        manual: false,
        replay: None,
        piece_size: None,
        model_fields: false,
    };
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                args.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--ghes" => args.ghes = true,
            "--direct" => args.direct = true,
            "--interval" => {
                args.interval = Some(
                    value("--interval")?
                        .parse()
                        .map_err(|e| format!("--interval: {e}"))?,
                )
            }
            "--manual-approval" => args.manual = true,
            "--replay" => args.replay = Some(value("--replay")?),
            "--piece-size" => {
                args.piece_size = Some(
                    value("--piece-size")?
                        .parse()
                        .map_err(|e| format!("--piece-size: {e}"))?,
                )
            }
            "--model-fields" => args.model_fields = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("copilot-mock: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut device = DeviceScenario::new();
    if let Some(interval) = args.interval {
        device = device.interval(interval);
    }
    if args.manual {
        device = device.outcome(DeviceOutcome::Manual);
    }
    let mut config = MockConfig::new()
        .port(args.port)
        .device(device)
        .direct_mode(args.direct)
        .chunk_model_fields(args.model_fields);
    if args.ghes {
        config = config.layout(HostLayout::Ghes);
    }
    if let Some(path) = &args.replay {
        match ReplayTranscript::from_file(path) {
            Ok(t) => config = config.replay(t.piece_size(args.piece_size.unwrap_or(16))),
            Err(e) => {
                eprintln!("copilot-mock: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let server = match MockServer::try_start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("copilot-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A ready-made token is printed on purpose: it is fake and only valid inside this mock.
    let demo_token = server.mint_github_token(copilot_mock::DEFAULT_LOGIN);
    println!("copilot-mock listening on http://{}", server.addr());
    println!("GitHub web:  {}", server.github_web_url());
    println!("GitHub REST: {}", server.github_api_url());
    println!("Copilot API: {}", server.copilot_api_url());
    println!("Device-flow client id: {}", copilot_mock::COPILOT_CLIENT_ID);
    println!(
        "Demo GitHub token (user {}): {demo_token}",
        copilot_mock::DEFAULT_LOGIN
    );
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
