//! `copilot-rs`: sign in to GitHub, reach GitHub Copilot and call its models from the command line.
//!
//! Results go to stdout, progress and diagnostics to stderr; `--json` output is stable. Logs
//! (`RUST_LOG=debug`, …) go to stderr and never contain a token. Exit codes: 0 success, 1 failure,
//! 2 unusable arguments or input, 4 sign-in needed (not signed in, credential rejected, sign-in denied
//! or expired), 130 cancelled.

mod browser;
mod cli;
mod commands;
mod context;
mod error;
mod mock;
mod output;
mod progress;
mod shared_store;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{AuthCommand, Cli, Command};
use crate::context::Context;
use crate::error::{CliError, EXIT_FAILURE};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // The gateway reports one line per request at info level.
    init_logging(if matches!(cli.command, Command::Serve(_)) {
        "warn,copilot_serve=info"
    } else {
        "warn"
    });
    if matches!(cli.command, Command::Demo) {
        // The demo only makes sense against the embedded mock.
        cli.global.mock = true;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            output::note(&format!("error: cannot start the async runtime: {error}"));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::note(&error.one_line());
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let context = Context::new(&cli.global).await?;
    match &cli.command {
        Command::Auth(AuthCommand::Login(args)) => commands::login::run(&context, args).await,
        Command::Auth(AuthCommand::Status(args)) => commands::auth::status(&context, args).await,
        Command::Auth(AuthCommand::Logout) => commands::auth::logout(&context).await,
        Command::Models(args) => commands::models::run(&context, args).await,
        Command::Chat(args) => commands::chat::run(&context, args).await,
        Command::Demo => commands::demo::run(&context).await,
        Command::Serve(args) => commands::serve::run(&context, args).await,
        Command::Keys(command) => commands::keys::run(&context, command).await,
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (by default `default`: warnings, plus `serve`'s request lines).
fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}
