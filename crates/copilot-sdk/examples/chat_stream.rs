//! Streams an answer token by token: `cargo run -p copilot-sdk --example chat_stream`.
//!
//! Runs against an in-process copilot-mock unless `COPILOT_RS_LIVE=1` (then `COPILOT_GITHUB_TOKEN` is used).

#[path = "support/mod.rs"]
pub mod support;

use copilot_sdk::{PermissionHandler, SessionConfig, SessionEvent};
use futures_util::StreamExt;
use support::{BoxError, Target};

/// Asks `prompt` and returns the streamed text, printing it as it arrives when `echo` is set.
pub async fn run(
    target: &Target,
    model: &str,
    prompt: &str,
    echo: bool,
) -> Result<String, BoxError> {
    let client = target.user_client("octocat")?;
    client.start().await?;
    let session = client
        .create_session(
            SessionConfig::new()
                .model(model)
                .on_permission_request(PermissionHandler::approve_all()),
        )
        .await?;

    let mut streamed = String::new();
    let mut events = session.send(prompt);
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { content } => {
                if echo {
                    print!("{content}");
                }
                streamed.push_str(&content);
            }
            SessionEvent::Usage(usage) if echo => eprintln!("\n[{} tokens]", usage.total_tokens),
            SessionEvent::Error(error) => return Err(error.into()),
            SessionEvent::Idle => break,
            _ => {}
        }
    }
    Ok(streamed)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    run(&target, "gpt-4.1", "Write a haiku about Rust", true).await?;
    println!();
    Ok(())
}
