//! Session hooks: a prompt rewritten before it is sent, a tool call denied by policy, another one's
//! arguments corrected, and an audit trail of what ran. `cargo run -p copilot-sdk --example hooks`.

#[path = "support/mod.rs"]
pub mod support;

use std::sync::{Arc, Mutex};

use copilot_sdk::{
    AssistantMessage, PermissionHandler, PostToolUse, PostToolUseDecision, PreToolUse,
    PreToolUseDecision, SessionConfig, SessionEnd, SessionHooks, Tool, UserPromptDecision,
    UserPromptSubmitted,
};
use serde_json::{Value, json};
use support::{BoxError, Target};

/// The policy: no shell commands; weather lookups only for cities the team works in; every prompt asks for
/// a short answer. What happened is kept in `audit`.
#[derive(Default)]
pub struct Policy {
    /// One line per hook call.
    pub audit: Arc<Mutex<Vec<String>>>,
}

impl Policy {
    fn note(&self, line: String) {
        self.audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }
}

#[copilot_sdk::async_trait]
impl SessionHooks for Policy {
    async fn on_user_prompt_submitted(&self, prompt: &UserPromptSubmitted) -> UserPromptDecision {
        self.note(format!("prompt: {}", prompt.prompt));
        UserPromptDecision::modify(format!("{} Keep it short.", prompt.prompt))
    }

    async fn on_pre_tool_use(&self, call: &PreToolUse) -> PreToolUseDecision {
        self.note(format!("wants {} {}", call.tool_name, call.arguments));
        match call.tool_name.as_str() {
            "run_command" => {
                PreToolUseDecision::deny("shell commands are not allowed in this session")
            }
            "get_weather" if call.arguments["city"] != "Lisbon" => {
                PreToolUseDecision::modify_arguments(json!({"city": "Lisbon"}))
            }
            _ => PreToolUseDecision::Allow,
        }
    }

    async fn on_post_tool_use(&self, call: &PostToolUse) -> PostToolUseDecision {
        self.note(format!(
            "ran {} {} -> {}",
            call.tool_name, call.arguments, call.output
        ));
        PostToolUseDecision::Keep
    }

    async fn on_session_end(&self, end: &SessionEnd) {
        self.note(format!("ended after {} turns", end.turn_count));
    }
}

fn command_tool() -> Tool {
    Tool::new(
        "run_command",
        "Runs a shell command",
        json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}),
        |_args: Value| async move { Ok("this never runs: the policy denies it") },
    )
}

/// One turn in which the model asks for both tools; returns the answer and the audit trail.
pub async fn run(target: &Target) -> Result<(AssistantMessage, Vec<String>), BoxError> {
    let client = target.user_client("octocat")?;
    let policy = Policy::default();
    let audit = policy.audit.clone();
    let session = client
        .create_session(
            SessionConfig::new()
                .model("claude-sonnet-4.5")
                .tool(support::weather_tool())
                .tool(command_tool())
                .on_permission_request(PermissionHandler::approve_all())
                .hooks(policy),
        )
        .await?;
    let answer = session
        .send_and_wait("Use get_weather and run_command to see if Porto is sunny")
        .await?;
    session.close().await?;
    let audit = audit
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok((answer, audit))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let (answer, audit) = run(&target).await?;
    for line in &audit {
        println!("hook: {line}");
    }
    println!("{}", answer.content);
    Ok(())
}
