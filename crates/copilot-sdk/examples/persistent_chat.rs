//! A conversation that survives a restart: `cargo run -p copilot-sdk --example persistent_chat`.
//!
//! The program creates a saved session, asks a question that uses a tool, and drops it. Then it starts
//! **itself again as a new process**, which resumes the session from the store by id and continues the
//! conversation (the history, tool calls included, comes from the file). While the first process still has
//! the session open, a resume from another process is refused with `SdkError::SessionInUse`.
//!
//! Runs against an in-process copilot-mock (the child process talks to the parent's mock) unless
//! `COPILOT_RS_LIVE=1` (then `COPILOT_GITHUB_TOKEN` is used).

#[path = "support/mod.rs"]
pub mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use copilot_sdk::{
    FileSessionStore, GitHubHost, PermissionHandler, Role, SdkError, SessionConfig, SessionFilter,
};
use support::{BoxError, Target};

/// The id the conversation is saved under.
pub const SESSION_ID: &str = "persistent-chat-demo";
/// Exit code of a child that found the session in use.
pub const IN_USE_EXIT: i32 = 3;

/// Tools and handlers are never saved: every process supplies them again.
fn config() -> SessionConfig {
    SessionConfig::new()
        .tool(support::weather_tool())
        .on_permission_request(PermissionHandler::approve_all())
}

fn client(
    target: &Target,
    token: String,
    store_dir: &Path,
) -> Result<copilot_sdk::CopilotClient, BoxError> {
    Ok(target
        .client_builder()
        .github_token(token)
        .use_logged_in_user(false)
        .session_store(Arc::new(FileSessionStore::new(store_dir)))
        .build()?)
}

/// What the whole demonstration printed, for the tests.
#[derive(Debug)]
pub struct Transcript {
    /// The first process's answer.
    pub first_answer: String,
    /// The exit code of the resume attempted while the session was still open.
    pub in_use_exit: Option<i32>,
    /// The resumed process's standard output.
    pub resumed_output: String,
}

/// The parent: creates and saves the session, then runs `child_exe` twice (while the session is open, and
/// after it was closed).
pub async fn run(
    target: &Target,
    store_dir: &Path,
    child_exe: &Path,
) -> Result<Transcript, BoxError> {
    let token = target.user_token("octocat")?;
    let client = client(target, token.clone(), store_dir)?;
    let session = client
        .create_session(config().session_id(SESSION_ID).model("gpt-4.1"))
        .await?;
    let first = session.send_and_wait("Use get_weather for Lisbon").await?;
    println!("[process 1] {}", first.content);

    // Still open here: another process must not continue (and fork) it.
    let busy = child(target, &token, store_dir, child_exe).output().await?;
    let in_use_exit = busy.status.code();
    println!("[process 2, while process 1 has it open] exit {in_use_exit:?}");

    drop(session);
    let resumed = child(target, &token, store_dir, child_exe).output().await?;
    let resumed_output = String::from_utf8_lossy(&resumed.stdout).into_owned();
    print!("{resumed_output}");
    if !resumed.status.success() {
        return Err(format!(
            "the resumed process failed: {}",
            String::from_utf8_lossy(&resumed.stderr)
        )
        .into());
    }
    Ok(Transcript {
        first_answer: first.content,
        in_use_exit,
        resumed_output,
    })
}

fn child(target: &Target, token: &str, store_dir: &Path, exe: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("resume")
        .arg(store_dir)
        .arg(target.host.web_url().as_str())
        .arg(target.host.api_url().as_str())
        .arg(target.host.copilot_api_url().as_str())
        // The token goes through the environment, never the command line.
        .env("COPILOT_GITHUB_TOKEN", token)
        .stdin(Stdio::null());
    command
}

/// The child: resumes the saved session and continues the conversation.
async fn resume(args: &[String]) -> Result<(), BoxError> {
    let [store_dir, web, api, copilot] = args else {
        return Err("usage: persistent_chat resume STORE_DIR WEB_URL API_URL COPILOT_URL".into());
    };
    let host = GitHubHost::custom(web.parse()?, api.parse()?, copilot.parse()?);
    let target = Target::remote(host)?;
    let token = std::env::var("COPILOT_GITHUB_TOKEN")?;
    let client = client(&target, token, Path::new(store_dir))?;
    let saved = client.list_sessions(SessionFilter::new()).await?;
    println!(
        "[process 2] saved sessions: {:?}",
        saved
            .iter()
            .map(|m| (&m.id, m.turn_count))
            .collect::<Vec<_>>()
    );
    let session = match client.resume_session(SESSION_ID, config()).await {
        Ok(session) => session,
        Err(SdkError::SessionInUse { id }) => {
            println!("[process 2] session {id} is in use elsewhere");
            std::process::exit(IN_USE_EXIT);
        }
        Err(error) => return Err(error.into()),
    };
    let history = session.history();
    let tool_messages = history.iter().filter(|m| m.role == Role::Tool).count();
    println!(
        "[process 2] resumed {} with {} messages ({tool_messages} tool results); first prompt: {:?}",
        session.id(),
        history.len(),
        history[0].text()
    );
    let answer = session.send_and_wait("And tomorrow?").await?;
    println!("[process 2] {}", answer.content);
    println!(
        "[process 2] now {} messages, {} saved events",
        session.history().len(),
        session.events().len()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("resume") {
        return resume(&args[1..]).await;
    }
    let target = Target::from_env().await?;
    let store_dir: PathBuf =
        std::env::temp_dir().join(format!("persistent-chat-{}", std::process::id()));
    let result = run(&target, &store_dir, &std::env::current_exe()?).await;
    let _ = std::fs::remove_dir_all(&store_dir);
    result.map(|_| ())
}
