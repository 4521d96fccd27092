//! `chat`: one prompt (streamed, or at once with `--no-stream`), or an interactive conversation.

use std::io::IsTerminal;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use copilot_api::{ChatRequest, ChatRoute, Message};
use copilot_sdk::{AssistantMessage, CopilotClient, Session, SessionConfig, SessionEvent};
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
            if args.no_stream {
                let answer = ask_at_once(&client, args, &prompt).await?;
                print_answer(args, &answer)
            } else {
                let session = new_session(&client, args).await?;
                let answer = ask_streamed(&session, args, &prompt).await?;
                print_answer(args, &answer)
            }
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

async fn new_session(client: &CopilotClient, args: &ChatArgs) -> Result<Session, CliError> {
    // Starting first makes credential failures surface typed (`create_session` alone reports them as a
    // string-only API error when it has to look up the default model).
    client.start().await?;
    let mut config = SessionConfig::new();
    if let Some(model) = &args.model {
        config = config.model(model.clone());
    }
    if let Some(system) = &args.system {
        config = config.system_message(system.clone());
    }
    Ok(client.create_session(config).await?)
}

/// A finished answer, whichever way it was obtained.
#[derive(Debug)]
struct Answer {
    json: ChatJson,
    /// Whether the text was already written to stdout while it streamed.
    streamed: bool,
}

/// One turn through the session, writing text to stdout as it arrives (unless `--json`).
async fn ask_streamed(
    session: &Session,
    args: &ChatArgs,
    prompt: &str,
) -> Result<Answer, CliError> {
    let mut events = session.send(prompt);
    let mut tool_calls = Vec::new();
    let mut answer: Option<AssistantMessage> = None;
    let mut failure = None;
    let mut printed = String::new();
    let mut reasoning = String::new();
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { content } if !args.json => {
                out(&content)?;
                printed.push_str(&content);
            }
            SessionEvent::ToolRequested {
                call_id,
                tool_name,
                arguments,
            } => tool_calls.push(ToolCallJson {
                id: call_id,
                name: tool_name,
                arguments: arguments.to_string(),
            }),
            SessionEvent::ReasoningDelta { content, .. } => reasoning.push_str(&content),
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
    Ok(Answer {
        json: ChatJson {
            model: message.model,
            content: message.content,
            // Some reasoning kinds (o-series `cot_summary`) stream but are not kept in the final message.
            reasoning: message
                .reasoning
                .or_else(|| (!reasoning.is_empty()).then_some(reasoning)),
            tool_calls,
            finish_reason: message.finish_reason.map(|r| r.as_str().to_owned()),
            usage: message.usage.as_ref().map(UsageJson::from),
        },
        streamed: !args.json,
    })
}

/// `--no-stream`: one non-streamed chat completion. Responses-only models go through the session (which
/// speaks `/responses`) and are printed once complete.
async fn ask_at_once(
    client: &CopilotClient,
    args: &ChatArgs,
    prompt: &str,
) -> Result<Answer, CliError> {
    client.start().await?;
    let api = client
        .api()
        .ok_or_else(|| CliError::Usage("the Copilot client did not start".to_owned()))?;
    let model = match &args.model {
        Some(model) => model.clone(),
        None => api
            .models()
            .await?
            .chat_default()
            .map(|m| m.id.clone())
            .ok_or_else(|| {
                CliError::Usage("no --model given and the models list flags no default".to_owned())
            })?,
    };
    let route = api
        .model(&model)
        .await
        .ok()
        .flatten()
        .map(|m| m.endpoint_for_chat());
    if route == Some(ChatRoute::Responses) {
        let session = new_session(client, args).await?;
        let quiet = ChatArgs {
            json: true,
            model: Some(model),
            system: args.system.clone(),
            no_stream: true,
            prompt: None,
        };
        let mut answer = ask_streamed(&session, &quiet, prompt).await?;
        answer.streamed = false;
        return Ok(answer);
    }
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::system(system.as_str()));
    }
    messages.push(Message::user(prompt));
    let response = api.chat(ChatRequest::new(model.clone(), messages)).await?;
    let choice = response.choices.first();
    let message = choice.map(|c| &c.message);
    Ok(Answer {
        json: ChatJson {
            model: response.model.clone().unwrap_or(model),
            content: message
                .and_then(|m| m.content.as_ref())
                .map(|c| c.text())
                .unwrap_or_default(),
            reasoning: message.and_then(|m| m.reasoning_text.clone()),
            tool_calls: message
                .map(|m| {
                    m.tool_calls
                        .iter()
                        .map(|call| ToolCallJson {
                            id: call.id.clone(),
                            name: call.function.name.clone(),
                            arguments: call.function.arguments.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            finish_reason: choice
                .and_then(|c| c.finish_reason.as_ref())
                .map(|r| r.as_str().to_owned()),
            usage: response.usage.as_ref().map(UsageJson::from),
        },
        streamed: false,
    })
}

fn print_answer(args: &ChatArgs, answer: &Answer) -> Result<(), CliError> {
    if args.json {
        return out_json(&answer.json);
    }
    if !answer.streamed {
        out(&answer.json.content)?;
        if !answer.json.content.ends_with('\n') {
            out("\n")?;
        }
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
        let result = if args.no_stream {
            session
                .send_and_wait(prompt)
                .await
                .map_err(CliError::from)
                .map(|message| Answer {
                    json: ChatJson {
                        model: message.model,
                        content: message.content,
                        reasoning: message.reasoning,
                        tool_calls: Vec::new(),
                        finish_reason: message.finish_reason.map(|r| r.as_str().to_owned()),
                        usage: message.usage.as_ref().map(UsageJson::from),
                    },
                    streamed: false,
                })
        } else {
            ask_streamed(&session, args, prompt).await
        };
        match result.and_then(|answer| print_answer(args, &answer)) {
            Ok(()) => {}
            Err(error) => note(&error.one_line()),
        }
    }
}
