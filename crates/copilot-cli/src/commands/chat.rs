//! `chat`: one prompt (streamed, or at once with `--no-stream`), or an interactive conversation.

use std::io::IsTerminal;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use copilot_sdk::{
    AssistantMessage, CopilotClient, RequestedToolCall, Session, SessionConfig, SessionEvent,
    UnknownToolPolicy,
};
use futures_util::StreamExt;

use crate::cli::ChatArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::json::{ChatJson, ToolCallJson, UsageJson};
use crate::output::{note, out, out_json};

/// Runs `chat`.
pub async fn run(context: &Context, args: &ChatArgs) -> Result<(), CliError> {
    let prompt = match args.prompt.as_deref() {
        Some("-") => Some(read_stdin().await?),
        Some(prompt) => Some(prompt.to_owned()),
        None if std::io::stdin().is_terminal() => None,
        None => Some(read_stdin().await?),
    };
    let client = context.copilot_client()?;
    match prompt {
        Some(prompt) => {
            if prompt.trim().is_empty() {
                return Err(CliError::Usage("the prompt is empty".to_owned()));
            }
            let session = new_session(&client, args).await?;
            let answer = ask(&session, args, &prompt).await?;
            print_answer(args, &answer)
        }
        None => conversation(&client, args).await,
    }
}

async fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    tokio::io::stdin()
        .read_to_string(&mut text)
        .await
        .map_err(|e| CliError::io("read the prompt from stdin", e))?;
    Ok(text)
}

/// A session for `args`: `--no-stream` asks the SDK for whole answers (one non-streamed chat completion per
/// model round; models served only by `/responses` still stream, and are printed once complete).
///
/// The CLI has no tools of its own, so tool calls the model makes anyway are handed back
/// ([`UnknownToolPolicy::ReturnToCaller`]) and shown: a user turn is exactly one request, billed as the
/// user's, never an automatic "unknown tool" exchange.
async fn new_session(client: &CopilotClient, args: &ChatArgs) -> Result<Session, CliError> {
    let mut config = SessionConfig::new()
        .streaming(!args.no_stream)
        .unknown_tool_policy(UnknownToolPolicy::ReturnToCaller);
    if let Some(model) = &args.model {
        config = config.model(model.clone());
    }
    if let Some(system) = &args.system {
        config = config.system_message(system.clone());
    }
    if let Some(credits) = args.max_ai_credits {
        config = config.max_ai_credits(credits);
    }
    Ok(client.create_session(config).await?)
}

/// One turn through the session, writing text to stdout as it arrives (unless `--json`; with
/// `--no-stream` it arrives in one piece).
async fn ask(session: &Session, args: &ChatArgs, prompt: &str) -> Result<ChatJson, CliError> {
    let mut events = session.send(prompt);
    let mut answer: Option<AssistantMessage> = None;
    let mut failure = None;
    let mut printed = String::new();
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { content } if !args.json => {
                out(&content)?;
                printed.push_str(&content);
            }
            SessionEvent::AssistantMessage(message) => answer = Some(message),
            SessionEvent::Error(error) => failure = Some(error),
            SessionEvent::Idle => break,
            _ => {}
        }
    }
    if !printed.is_empty() && !printed.ends_with('\n') {
        out("\n")?;
    }
    if let Some(error) = failure {
        return Err(error.into());
    }
    let message =
        answer.ok_or_else(|| CliError::Usage("the turn ended without an answer".to_owned()))?;
    if !args.json && !message.tool_calls.is_empty() {
        out(&describe_tool_calls(&message.tool_calls))?;
    }
    if !args.json
        && let Some(cost) = &message.cost
    {
        // On stderr, so piping the answer keeps only the answer.
        note(&format!(
            "[{} AI credits; session {}]",
            credits(cost.credits()),
            credits(session.usage().credits())
        ));
    }
    let tool_calls = message
        .tool_calls
        .iter()
        .map(|call| ToolCallJson {
            id: call.id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        })
        .collect();
    Ok(ChatJson {
        model: message.model,
        content: message.content,
        reasoning: message.reasoning,
        tool_calls,
        finish_reason: message.finish_reason.map(|r| r.as_str().to_owned()),
        usage: message.usage.as_ref().map(UsageJson::from),
        cost_nano_aiu: message.cost.as_ref().map(|c| c.total_nano_aiu),
        ai_credits: message.cost.as_ref().map(|c| c.credits()),
    })
}

/// AI credits for people: enough digits to see a small turn's cost.
pub(crate) fn credits(amount: f64) -> String {
    if amount != 0.0 && amount.abs() < 0.01 {
        format!("{amount:.6}")
    } else {
        format!("{amount:.2}")
    }
}

/// The tool calls the model asked for, one per line: name and arguments (compact JSON when they parse).
fn describe_tool_calls(calls: &[RequestedToolCall]) -> String {
    let mut text = format!(
        "The model asked to run {} (copilot-rs runs no tools):\n",
        if calls.len() == 1 {
            "a tool".to_owned()
        } else {
            format!("{} tools", calls.len())
        }
    );
    for call in calls {
        // Compact JSON escapes control characters; anything else from the server is escaped here, so no
        // terminal escape sequence reaches the screen.
        let arguments = match call.arguments_json() {
            Ok(value) => value.to_string(),
            Err(_) => call.arguments.escape_debug().to_string(),
        };
        text.push_str(&format!("  {} {arguments}\n", call.name.escape_debug()));
    }
    text
}

/// With `--json`, the answer as one JSON object; otherwise [`ask`] has already printed the text.
fn print_answer(args: &ChatArgs, answer: &ChatJson) -> Result<(), CliError> {
    if args.json {
        return out_json(answer);
    }
    Ok(())
}

/// No prompt on a terminal: a conversation that keeps its history until EOF, `exit` or `quit`.
async fn conversation(client: &CopilotClient, args: &ChatArgs) -> Result<(), CliError> {
    let session = new_session(client, args).await?;
    note(&format!(
        "Chatting with {} (history is kept; Ctrl-D or `exit` to quit).",
        session.model()
    ));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        eprint!("> ");
        let line = lines
            .next_line()
            .await
            .map_err(|e| CliError::io("read from stdin", e))?;
        let Some(line) = line else {
            note("");
            return Ok(());
        };
        let prompt = line.trim();
        if prompt.is_empty() {
            continue;
        }
        if matches!(prompt, "exit" | "quit" | "/exit" | "/quit") {
            return Ok(());
        }
        // A failed turn is reported and the conversation goes on.
        let result = ask(&session, args, prompt).await;
        match result.and_then(|answer| print_answer(args, &answer)) {
            Ok(()) => {}
            Err(error) => note(&error.one_line()),
        }
    }
}
