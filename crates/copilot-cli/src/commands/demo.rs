//! `demo`: the whole story against the embedded mock, with a heading per step: device-flow sign-in
//! (auto-approved), token exchange, the models table, a streamed answer and a tool call round trip.

use std::time::{Instant, SystemTime};

use copilot_sdk::{
    CopilotClient, PermissionHandler, SessionConfig, SessionEvent, Tool, ToolCallResult,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::CliError;
use crate::output::time::{relative, rfc3339};
use crate::output::{out, out_line};
use crate::progress::WaitProgress;

/// The model the demo talks to.
const DEMO_MODEL: &str = "gpt-4.1";

/// Runs `demo` (the context must have been created with `--mock`).
pub async fn run(context: &Context) -> Result<(), CliError> {
    let started = Instant::now();
    if context.mock.is_none() {
        return Err(CliError::Usage(
            "the demo runs against the embedded mock: use `copilot-rs --mock demo`".to_owned(),
        ));
    }
    out_line(&format!(
        "copilot-rs demo against the embedded mock at {} (no network, no configuration)",
        context.host.web_url().as_str().trim_end_matches('/')
    ))?;

    heading("1. Sign in with the GitHub device flow")?;
    let flow = super::login::device_flow(context);
    let code = flow.start().await?;
    out_line(&format!("One-time code:     {}", code.user_code))?;
    out_line(&format!("Verification page: {}", code.verification_uri))?;
    out_line(&format!(
        "Polling every {}s; the mock plays the user and approves after one poll...",
        code.interval.as_secs()
    ))?;
    let mut progress = WaitProgress::new(false, code.expires_at);
    let token = super::login::wait_for_approval(&flow, &code, &mut progress).await?;
    out_line(&format!(
        "✓ Signed in: received a {} (kept in memory, never printed)",
        token.access_token.kind()
    ))?;

    heading("2. Exchange the GitHub token for Copilot access")?;
    let client = CopilotClient::builder()
        .host(context.host.clone())
        .transport(context.transport.clone())
        .identity(context.identity.clone())
        .github_token(token.access_token.expose_secret())
        .use_logged_in_user(false)
        .read_environment(false)
        .build()?;
    client.start().await?;
    let status = client.get_auth_status().await?;
    out_line(&format!(
        "User:           {}",
        status.login.as_deref().unwrap_or("unknown")
    ))?;
    out_line(&format!(
        "Copilot plan:   {} (sku {})",
        status.plan.as_ref().map_or("unknown", |p| p.as_str()),
        status.sku.as_deref().unwrap_or("unknown")
    ))?;
    out_line(&format!("API endpoint:   {}", status.api_endpoint))?;
    if let Some(expires_at) = status.copilot_token_expires_at {
        out_line(&format!(
            "Copilot token:  expires {} ({}); refreshed automatically",
            rfc3339(expires_at),
            relative(expires_at, SystemTime::now())
        ))?;
    }

    heading("3. Models")?;
    let models = client.list_models().await?;
    out(&super::models::models_table(&models))?;

    heading("4. A streamed answer")?;
    let session = client
        .create_session(SessionConfig::new().model(DEMO_MODEL))
        .await?;
    let prompt = "Say hello to the copilot-rs demo.";
    out_line(&format!("> {prompt}"))?;
    let mut events = session.send(prompt);
    let mut chunks = 0usize;
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { content } => {
                chunks += 1;
                out(&content)?;
            }
            SessionEvent::AssistantMessage(message) => {
                out_line("")?;
                out_line(&format!(
                    "({chunks} chunks from {}; finish reason {}{})",
                    message.model,
                    message
                        .finish_reason
                        .as_ref()
                        .map_or("unknown", |r| r.as_str()),
                    message
                        .usage
                        .as_ref()
                        .map(|u| format!(
                            "; {} prompt + {} completion tokens",
                            u.prompt_tokens, u.completion_tokens
                        ))
                        .unwrap_or_default()
                ))?;
            }
            SessionEvent::Error(error) => return Err(error.into()),
            SessionEvent::Idle => break,
            _ => {}
        }
    }

    heading("5. A tool call round trip")?;
    let session = client
        .create_session(
            SessionConfig::new()
                .model(DEMO_MODEL)
                .tool(weather_tool())
                .on_permission_request(PermissionHandler::approve_all()),
        )
        .await?;
    let prompt = "What is the weather in Paris? Use the get_weather tool.";
    out_line(&format!("> {prompt}"))?;
    let mut events = session.send(prompt);
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::ToolRequested {
                tool_name,
                arguments,
                ..
            } => out_line(&format!("→ the model calls {tool_name}({arguments})"))?,
            SessionEvent::ToolResult {
                tool_name, result, ..
            } => match result {
                ToolCallResult::Success(content) => {
                    out_line(&format!("← {tool_name} returned {content}"))?
                }
                ToolCallResult::Failure(message) | ToolCallResult::Rejected(message) => {
                    out_line(&format!("← {tool_name} failed: {message}"))?
                }
                _ => {}
            },
            SessionEvent::MessageDelta { content } => out(&content)?,
            SessionEvent::AssistantMessage(message) => {
                out_line("")?;
                out_line(&format!(
                    "(answered after {} tool round{})",
                    message.tool_rounds,
                    if message.tool_rounds == 1 { "" } else { "s" }
                ))?;
            }
            SessionEvent::Error(error) => return Err(error.into()),
            SessionEvent::Idle => break,
            _ => {}
        }
    }

    out_line("")?;
    out_line(&format!(
        "Done in {:.1}s. Against the real GitHub: `copilot-rs auth login`, then `copilot-rs chat \"…\"`.",
        started.elapsed().as_secs_f64()
    ))
}

fn heading(title: &str) -> Result<(), CliError> {
    out_line("")?;
    out_line(&format!("== {title} =="))
}

/// A local tool the model can call: a fixed forecast, so the round trip is deterministic.
fn weather_tool() -> Tool {
    Tool::new(
        "get_weather",
        "The current weather for a city",
        json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"]
        }),
        |arguments: Value| async move {
            let city = arguments["city"].as_str().unwrap_or("somewhere").to_owned();
            Ok::<_, copilot_sdk::ToolError>(json!({
                "city": city,
                "forecast": "sunny",
                "temperature_c": 21
            }))
        },
    )
}
