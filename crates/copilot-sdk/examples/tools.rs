//! A tool round trip: the model calls two Rust tools (in parallel), then answers with their results.
//! `cargo run -p copilot-sdk --example tools`.

#[path = "support/mod.rs"]
pub mod support;

use copilot_sdk::{
    AssistantMessage, PermissionDecision, PermissionHandler, SessionConfig, Tool, ToolError,
};
use serde_json::{Value, json};
use support::{BoxError, Target};

/// A weather lookup (a stand-in for a real API call).
pub fn weather_tool() -> Tool {
    Tool::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value| async move {
            let city = args["city"]
                .as_str()
                .ok_or_else(|| ToolError::new("`city` is required"))?;
            Ok(json!({"city": city, "condition": "sunny", "celsius": 21}))
        },
    )
}

/// A clock tool.
pub fn time_tool() -> Tool {
    Tool::new(
        "get_time",
        "Current time in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value| async move {
            Ok(format!(
                "It is 12:00 in {}",
                args["city"].as_str().unwrap_or("?")
            ))
        },
    )
}

/// Asks a Claude model something that needs both tools; every call is approved for the session.
pub async fn run(target: &Target) -> Result<AssistantMessage, BoxError> {
    let client = target.user_client("octocat")?;
    let session = client
        .create_session(
            SessionConfig::new()
                .model("claude-sonnet-4.5")
                .tool(weather_tool())
                .tool(time_tool())
                .on_permission_request(PermissionHandler::from_fn(|request| {
                    eprintln!("allowing {} {}", request.tool_name, request.arguments);
                    PermissionDecision::ApproveForSession
                })),
        )
        .await?;
    Ok(session
        .send_and_wait("Use get_weather and get_time for Lisbon")
        .await?)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let answer = run(&target).await?;
    println!(
        "{} (after {} tool rounds)",
        answer.content, answer.tool_rounds
    );
    Ok(())
}
