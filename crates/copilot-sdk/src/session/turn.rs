//! One turn: the model round(s), with the tool loop in between.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use copilot_api::{
    ApiEndpoint, ApiError, ChatCollector, ChatEvent, ChatRoute, ChatStream, CollectedMessage,
    CollectedReasoning, ContentBlock, CopilotUsage, FinishReason, Message, ModelInfo,
    ReasoningKind, ToolCall,
};
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;

use super::SessionInner;
use super::convert::{self, RequestParts};
use super::events::{AssistantMessage, EventSink, SessionEvent, ToolCallResult};
use super::history::{self, HistoryEntry};
use crate::SdkError;
use crate::client::Started;
use crate::hooks::{
    self, ErrorDecision, ErrorOccurred, ErrorStage, MAX_HOOK_RETRIES, PostToolUse,
    PostToolUseDecision, PreToolUse, PreToolUseDecision, UserPromptDecision, UserPromptSubmitted,
};
use crate::message::{MessageOptions, OutputSchema};
use crate::permission::{PermissionDecision, PermissionRequest};
use crate::tools::{RequestedToolCall, Tool, UnknownToolPolicy};

/// A session's own provider ([`SessionConfig::provider`](crate::SessionConfig::provider)): its API client
/// and the endpoint every turn goes to.
pub(crate) struct ProviderBackend {
    pub(crate) api: copilot_api::CopilotApiClient,
    pub(crate) route: ChatRoute,
    /// What the saved session records of the provider.
    pub(crate) saved: crate::store::SavedProvider,
}

/// Where a session's model requests go: Copilot (models list, Auto model, token preflight) or the
/// session's provider (none of those: the route is the provider's).
#[derive(Clone, Copy)]
enum Backend<'a> {
    Copilot(&'a Started),
    Provider(&'a ProviderBackend),
}

impl<'a> Backend<'a> {
    async fn of(session: &'a SessionInner) -> Result<Backend<'a>, SdkError> {
        Ok(match &session.provider {
            Some(provider) => Backend::Provider(provider),
            None => Backend::Copilot(session.client.started().await?),
        })
    }

    fn api(self) -> &'a copilot_api::CopilotApiClient {
        match self {
            Backend::Copilot(started) => &started.api,
            Backend::Provider(provider) => &provider.api,
        }
    }

    /// The models-list entry of `model` (Copilot only; a provider's models are not described).
    async fn model_info(self, model: &str) -> Option<ModelInfo> {
        match self {
            Backend::Copilot(started) => started.api.model(model).await.ok().flatten(),
            Backend::Provider(_) => None,
        }
    }
}

/// How far a turn has got, for [`SdkError::Timeout`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    pub(crate) content: String,
    pub(crate) tool_rounds: u32,
}

fn lock(progress: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    progress.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What starts a turn: a user prompt, or the caller's results for tool calls a previous turn handed back.
pub(crate) enum TurnInput {
    Prompt(MessageOptions),
    ToolResults(Vec<(String, ToolCallResult)>),
}

/// The result recorded for a returned call the caller never answered.
const NO_RESULT: &str = "no result was returned for this tool call";

pub(crate) async fn run(
    session: &SessionInner,
    input: TurnInput,
    sink: &EventSink,
    progress: &Arc<Mutex<Progress>>,
) -> Result<AssistantMessage, SdkError> {
    refuse_over_budget(session, sink).await?;
    let backend = Backend::of(session).await?;
    let output_schema = match input {
        TurnInput::Prompt(mut message) => {
            if let Some(hooks) = &session.hooks {
                let submitted = UserPromptSubmitted {
                    session_id: session.id.clone(),
                    prompt: message.prompt.clone(),
                };
                if let UserPromptDecision::Modify { prompt } =
                    hooks.on_user_prompt_submitted(&submitted).await
                {
                    message.prompt = prompt;
                }
            }
            let model = session.state().model.clone();
            let info = backend.model_info(&model).await;
            let user_message = message.to_message(info.as_ref()).await?;
            sink.record(
                "user.message",
                serde_json::json!({"content": message.prompt, "attachments": message.attachments.len()}),
            );
            let mut state = session.state();
            if state.summary.is_none() {
                state.summary = super::persist::summary_of(&message.prompt);
            }
            // Calls handed back and never answered get a failed result in this same request, so the
            // history the model sees has a result for every call.
            for call in std::mem::take(&mut state.pending_calls) {
                state.history.push(HistoryEntry::new(Message::tool(
                    call.id,
                    ToolCallResult::Failure(NO_RESULT.to_owned()).to_model_content(),
                )));
            }
            state.history.push(HistoryEntry::new(user_message));
            message.output_schema
        }
        TurnInput::ToolResults(results) => {
            let mut state = session.state();
            if state.pending_calls.is_empty() {
                return Err(SdkError::config(
                    "no tool calls are waiting for results (see UnknownToolPolicy::ReturnToCaller)",
                ));
            }
            if let Some((id, _)) = results
                .iter()
                .find(|(id, _)| !state.pending_calls.iter().any(|call| &call.id == id))
            {
                return Err(SdkError::config(format!(
                    "tool call `{id}` is not waiting for a result"
                )));
            }
            let mut results = results;
            for call in std::mem::take(&mut state.pending_calls) {
                let result = match results.iter().position(|(id, _)| *id == call.id) {
                    Some(at) => results.swap_remove(at).1,
                    None => ToolCallResult::Failure(NO_RESULT.to_owned()),
                };
                state.history.push(HistoryEntry::new(Message::tool(
                    call.id,
                    result.to_model_content(),
                )));
            }
            None
        }
    };

    let mut rounds = 0u32;
    let mut turn_cost: Option<CopilotUsage> = None;
    loop {
        let mut attempt = 0u32;
        let Round {
            model,
            message: collected,
            usage,
            cost,
            thinking_blocks,
            history_len,
        } = loop {
            super::compaction::before_request(session, sink).await?;
            let error =
                match model_round(session, backend, output_schema.as_ref(), sink, progress).await {
                    Ok(round) => break round,
                    Err(error) => error,
                };
            let Some(hooks) = &session.hooks else {
                return Err(error);
            };
            attempt = attempt.saturating_add(1);
            let occurred = ErrorOccurred {
                session_id: &session.id,
                error: &error,
                stage: ErrorStage::ModelCall,
                attempt,
                tool_rounds: rounds,
                tool_name: None,
                request_may_have_been_processed: hooks::may_have_been_processed(&error),
            };
            let decision = hooks.on_error(&occurred).await;
            let retry = decision == ErrorDecision::Retry && attempt <= MAX_HOOK_RETRIES;
            if !retry && decision != ErrorDecision::Skip {
                return Err(error);
            }
            sink.record(
                "session.error",
                serde_json::json!({
                    "message": error.to_string(),
                    "errorContext": ErrorStage::ModelCall.as_str(),
                    "errorHandling": decision.as_str(),
                    "attempt": attempt,
                }),
            );
            if !retry {
                // Skip: the turn ends without an answer; the history keeps what it reached.
                return Ok(AssistantMessage {
                    content: String::new(),
                    reasoning: None,
                    model: session.state().model.clone(),
                    usage: None,
                    cost: turn_cost,
                    tool_rounds: rounds,
                    finish_reason: None,
                    tool_calls: Vec::new(),
                });
            }
        };
        {
            let mut state = session.state();
            state.usage.record(usage.as_ref(), cost.as_ref());
            if let Some(usage) = &usage {
                state.context = Some(super::compaction::Measured {
                    prompt_tokens: usage.prompt_tokens,
                    history_len,
                });
            }
        }
        if let Some(cost) = &cost {
            turn_cost
                .get_or_insert_with(CopilotUsage::default)
                .add(cost);
        }
        let returned: Vec<&ToolCall> = match session.unknown_tool_policy {
            UnknownToolPolicy::ReturnToCaller => collected
                .tool_calls
                .iter()
                .filter(|call| session.tool(&call.function.name).is_none())
                .collect(),
            _ => Vec::new(),
        };
        if collected.tool_calls.is_empty() || !returned.is_empty() {
            let returned: Vec<RequestedToolCall> = returned
                .into_iter()
                .map(RequestedToolCall::from_wire)
                .collect();
            let run: Vec<ToolCall> = collected
                .tool_calls
                .iter()
                .filter(|call| !returned.iter().any(|r| r.id == call.id))
                .cloned()
                .collect();
            // Calls of known tools in the same answer run now; their results wait in the history for the
            // caller's.
            let results = if run.is_empty() {
                Vec::new()
            } else {
                tool_round(session, &run, rounds, sink).await?
            };
            let assistant = assistant_entry(&collected, thinking_blocks, &model);
            let mut state = session.state();
            state.history.push(assistant);
            for (call, result) in run.iter().zip(&results) {
                state.history.push(HistoryEntry::new(Message::tool(
                    call.id.clone(),
                    result.to_model_content(),
                )));
            }
            state.pending_calls = returned.clone();
            drop(state);
            let finish_reason = if returned.is_empty() {
                collected.finish_reason.clone()
            } else {
                Some(FinishReason::ToolCalls)
            };
            let answer = AssistantMessage {
                content: collected.content.clone(),
                reasoning: readable_reasoning(&collected.reasoning),
                model,
                usage,
                cost: turn_cost,
                tool_rounds: rounds,
                finish_reason,
                tool_calls: returned,
            };
            return Ok(answer);
        }

        rounds += 1;
        if rounds > session.max_tool_rounds {
            return Err(SdkError::ToolLoopExceeded {
                max_rounds: session.max_tool_rounds,
            });
        }
        let results = tool_round(session, &collected.tool_calls, rounds - 1, sink).await?;

        // The assistant's calls and their results enter the history together, so an abandoned turn never
        // leaves calls without results behind.
        {
            let mut state = session.state();
            state
                .history
                .push(assistant_entry(&collected, thinking_blocks, &model));
            for (call, result) in collected.tool_calls.iter().zip(&results) {
                state.history.push(HistoryEntry::new(Message::tool(
                    call.id.clone(),
                    result.to_model_content(),
                )));
            }
        }
        lock(progress).tool_rounds = rounds;
        super::compaction::after_round(session, sink).await?;
    }
}

/// What one model round answered.
struct Round {
    model: String,
    message: CollectedMessage,
    usage: Option<copilot_api::Usage>,
    cost: Option<CopilotUsage>,
    /// The answer's thinking blocks, signatures included, when it came from `/v1/messages` (a signature
    /// from another endpoint would not verify there).
    thinking_blocks: Vec<ContentBlock>,
    /// How long the history was when the request was built (what its prompt tokens measure).
    history_len: usize,
}

impl Round {
    /// The round of a collected answer (its first choice, or an empty message when it had none).
    fn of(
        model: String,
        collected: copilot_api::CollectedChat,
        thinking_blocks: Vec<ContentBlock>,
        history_len: usize,
    ) -> Round {
        Round {
            model,
            message: collected.message().cloned().unwrap_or_default(),
            usage: collected.usage,
            cost: collected.copilot_usage,
            thinking_blocks,
            history_len,
        }
    }
}

/// The history entry of an assistant answer: the message, and beside it what a replay on the same
/// endpoint needs (the reasoning id; the Messages thinking blocks) and the model that wrote it (its
/// reasoning goes back to that model only).
fn assistant_entry(
    collected: &CollectedMessage,
    thinking_blocks: Vec<ContentBlock>,
    model: &str,
) -> HistoryEntry {
    let mut entry = HistoryEntry::new(collected.to_message())
        .thinking_blocks(thinking_blocks)
        .model(model);
    entry.reasoning_id = collected.reasoning.id.clone();
    entry
}

/// Refuses the turn, before anything is sent or recorded in the history, once the session has spent its
/// AI-credit budget.
async fn refuse_over_budget(session: &SessionInner, sink: &EventSink) -> Result<(), SdkError> {
    let Some(limit) = session.max_nano_aiu else {
        return Ok(());
    };
    let spent = session.state().usage.cost.total_nano_aiu;
    if spent < limit {
        return Ok(());
    }
    let credits = |nano: u64| nano as f64 / 1e9;
    sink.emit(SessionEvent::BudgetExceeded {
        spent_ai_credits: credits(spent),
        max_ai_credits: credits(limit),
    })
    .await;
    Err(SdkError::BudgetExceeded {
        spent_ai_credits: credits(spent),
        max_ai_credits: credits(limit),
    })
}

/// One request to the model, streamed: forwards deltas, returns the assembled message.
async fn model_round(
    session: &SessionInner,
    backend: Backend<'_>,
    output_schema: Option<&OutputSchema>,
    sink: &EventSink,
    progress: &Arc<Mutex<Progress>>,
) -> Result<Round, SdkError> {
    let (model, system_message, reasoning_effort, history, history_len) = {
        let state = session.state();
        // The system text to send, with the history's base system messages folded into it.
        let (system, history) =
            crate::system::effective(state.system_message.as_ref(), &state.history);
        (
            state.model.clone(),
            system,
            state.reasoning_effort.clone(),
            history.to_vec(),
            state.history.len(),
        )
    };
    let (model, auto_session) = match backend {
        Backend::Copilot(started) => {
            started.preflight().await?;
            super::auto::resolve(session, started, &model).await?
        }
        Backend::Provider(_) => (model, None),
    };
    let options = match auto_session {
        Some(token) => session.request_options.clone().auto_session(token),
        None => session.request_options.clone(),
    };
    let parts = RequestParts {
        model: &model,
        system_message: system_message.as_deref(),
        reasoning_effort: reasoning_effort.as_ref(),
        tools: &session.tools,
        output_schema,
    };
    let (route, info) = match backend {
        Backend::Copilot(started) => route(started, &model, output_schema.is_some()).await?,
        Backend::Provider(provider) => (provider.route, None),
    };
    let api = backend.api();
    let messages_route = route == ChatRoute::Messages;
    let mut stream: ChatStream = match route {
        ChatRoute::Messages if !session.streaming => {
            let request = convert::messages_request(&parts, info.as_ref(), &history);
            let options = convert::messages_options(options, &history, &request);
            let response = api.messages_with(request, options).await?;
            // The blocks as they came (signatures included) beside the message; the message assembled
            // from the answer's events, as a streamed round's is.
            let thinking_blocks = response
                .content
                .iter()
                .filter(|block| history::is_thinking(block))
                .cloned()
                .collect();
            let mut collector = ChatCollector::new(None);
            response
                .to_events()
                .into_iter()
                .for_each(|e| collector.push(e));
            let round = Round::of(model, collector.finish(), thinking_blocks, history_len);
            lock(progress).content = round.message.content.clone();
            report_at_once(&round.message, round.usage.as_ref(), sink).await;
            return Ok(round);
        }
        ChatRoute::Messages => {
            let request = convert::messages_request(&parts, info.as_ref(), &history);
            let options = convert::messages_options(options, &history, &request);
            api.messages_stream_with(request, options).await?
        }
        ChatRoute::Responses => {
            let request = convert::responses_request(&parts, &history);
            responses_stream(session, api, info.as_ref(), request, options).await?
        }
        _ if !session.streaming => {
            let response = api
                .chat_with(convert::chat_request(&parts, &history), options)
                .await?;
            let cost = response.copilot_usage();
            let (message, usage) = convert::collected_from_response(response);
            lock(progress).content = message.content.clone();
            report_at_once(&message, usage.as_ref(), sink).await;
            return Ok(Round {
                model,
                message,
                usage,
                cost,
                thinking_blocks: Vec::new(),
                history_len,
            });
        }
        _ => {
            api.chat_stream_with(convert::chat_request(&parts, &history), options)
                .await?
        }
    };

    lock(progress).content.clear();
    let mut collector = ChatCollector::new(None);
    while let Some(event) = stream.next().await {
        let event = event?;
        match &event {
            // A stream that ends (with or without `[DONE]`) before any choice reported a finish reason was
            // cut off: the answer is incomplete, so the turn fails and nothing of it enters the history.
            ChatEvent::Done {
                saw_finish: false,
                done_marker,
            } => {
                let ending = if *done_marker {
                    "[DONE] arrived"
                } else {
                    "the body ended"
                };
                return Err(SdkError::Api(ApiError::StreamInterrupted {
                    message: format!(
                        "{ending} before the model reported a finish reason: the answer is truncated"
                    ),
                    partial: stream.progress(),
                }));
            }
            ChatEvent::Content { choice: 0, text } => {
                lock(progress).content.push_str(text);
                sink.emit(SessionEvent::MessageDelta {
                    content: text.clone(),
                })
                .await;
            }
            ChatEvent::Reasoning {
                choice: 0,
                kind,
                text,
            } => {
                sink.emit(SessionEvent::ReasoningDelta {
                    kind: *kind,
                    content: text.clone(),
                })
                .await;
            }
            _ => {}
        }
        collector.push(event);
    }
    let collected = collector.finish();
    if let Some(usage) = &collected.usage {
        sink.emit(SessionEvent::Usage(usage.clone())).await;
    }
    let mut round = Round::of(model, collected, Vec::new(), history_len);
    if messages_route {
        round.thinking_blocks = round
            .message
            .to_anthropic_message()
            .content
            .blocks()
            .iter()
            .filter(|block| history::is_thinking(block))
            .cloned()
            .collect();
    }
    Ok(round)
}

/// The readable reasoning of an answer: the thinking text (`reasoning_text` and generic keys) and the
/// summaries (o-series `cot_summary`, `/responses` summaries), in that order.
fn readable_reasoning(reasoning: &CollectedReasoning) -> Option<String> {
    let parts: Vec<&str> = [reasoning.text.as_str(), reasoning.summary.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The events of a non-streamed round, sent once its answer is complete.
async fn report_at_once(
    message: &CollectedMessage,
    usage: Option<&copilot_api::Usage>,
    sink: &EventSink,
) {
    for (kind, text) in [
        (ReasoningKind::Text, &message.reasoning.text),
        (ReasoningKind::Summary, &message.reasoning.summary),
    ] {
        if !text.is_empty() {
            sink.emit(SessionEvent::ReasoningDelta {
                kind,
                content: text.clone(),
            })
            .await;
        }
    }
    if !message.content.is_empty() {
        sink.emit(SessionEvent::MessageDelta {
            content: message.content.clone(),
        })
        .await;
    }
    if let Some(usage) = usage {
        sink.emit(SessionEvent::Usage(usage.clone())).await;
    }
}

/// Which endpoint the model needs, from the models list, and its entry. A model that lists `/v1/messages`
/// (Claude) goes there, natively, so its thinking blocks and their signatures survive into the next
/// turn; a turn with an output schema goes to `/chat/completions` instead when the model lists it too
/// (`response_format` is chat's). Otherwise `/chat/completions` when listed, else `/responses`. A model
/// missing from the list (or a list that cannot be fetched) goes to `/chat/completions`: the server then
/// says what is wrong, and no other model is substituted.
pub(crate) async fn route(
    started: &Started,
    model: &str,
    has_output_schema: bool,
) -> Result<(ChatRoute, Option<ModelInfo>), SdkError> {
    let info = match started.api.model(model).await {
        Ok(info) => info,
        Err(error) => {
            tracing::warn!(%error, "models list unavailable; using /chat/completions");
            return Ok((ChatRoute::ChatCompletions, None));
        }
    };
    let Some(info) = info else {
        return Ok((ChatRoute::ChatCompletions, None));
    };
    let chat_route = info.endpoint_for_chat();
    let messages = !info.is_embeddings()
        && info.supports_endpoint(&ApiEndpoint::Messages)
        && !(has_output_schema && chat_route == ChatRoute::ChatCompletions);
    if messages {
        return Ok((ChatRoute::Messages, Some(info)));
    }
    match chat_route {
        route @ (ChatRoute::ChatCompletions | ChatRoute::Responses | ChatRoute::Messages) => {
            Ok((route, Some(info)))
        }
        _ => Err(SdkError::ModelUnsupported {
            model: model.to_owned(),
            reason: "it lists no chat endpoint".to_owned(),
        }),
    }
}

/// A Responses round: over the Responses WebSocket when the model lists `ws:/responses` and the session
/// allows it ([`SessionConfig::websocket`](crate::SessionConfig::websocket); copilot-api falls back to HTTP
/// when the upgrade fails), else over HTTP `/responses`. Either way one round is one request, classified
/// (`X-Initiator`, `X-Interaction-Type`) from its own messages.
async fn responses_stream(
    session: &SessionInner,
    api: &copilot_api::CopilotApiClient,
    info: Option<&ModelInfo>,
    request: copilot_api::ResponsesRequest,
    options: copilot_api::RequestOptions,
) -> Result<ChatStream, ApiError> {
    #[cfg(feature = "websocket")]
    if session.websocket
        && info.is_some_and(|info| info.supports_endpoint(&ApiEndpoint::WsResponses))
    {
        return api.responses_ws_stream_with(request, options).await;
    }
    #[cfg(not(feature = "websocket"))]
    let _ = (session.websocket, info);
    api.responses_stream_with(request, options).await
}

/// What to do with one call once permission is settled.
enum Plan {
    Run(Tool, Value),
    Done(ToolCallResult),
}

/// Asks permission for every call (in order), runs the approved ones concurrently, reports the results.
/// `rounds` is the number of tool rounds the turn completed before this one.
async fn tool_round(
    session: &SessionInner,
    calls: &[ToolCall],
    rounds: u32,
    sink: &EventSink,
) -> Result<Vec<ToolCallResult>, SdkError> {
    let mut plans = Vec::with_capacity(calls.len());
    for call in calls {
        let arguments = parse_arguments(&call.function.arguments);
        sink.emit(SessionEvent::ToolRequested {
            call_id: call.id.clone(),
            tool_name: call.function.name.clone(),
            arguments: arguments.clone().unwrap_or(Value::Null),
        })
        .await;
        plans.push(plan(session, call, arguments).await?);
    }

    let runs = calls
        .iter()
        .zip(plans)
        .map(|(call, (plan, context))| async move {
            let result = match plan {
                Plan::Done(result) => result,
                Plan::Run(tool, arguments) => {
                    run_tool(session, call, &tool, arguments, rounds, sink).await?
                }
            };
            Ok::<_, SdkError>(match context {
                Some(context) => append_context(&result, &context),
                None => result,
            })
        });
    let results = futures_util::future::try_join_all(runs).await?;

    for (call, result) in calls.iter().zip(&results) {
        sink.emit(SessionEvent::ToolResult {
            call_id: call.id.clone(),
            tool_name: call.function.name.clone(),
            result: result.clone(),
        })
        .await;
    }
    Ok(results)
}

/// Runs one approved call, then the post-tool hook.
///
/// A failure (error, panic, timeout) goes to [`SessionHooks::on_error`](crate::SessionHooks::on_error)
/// first: retry runs the call again, abort ends the turn ([`SdkError::ToolFailed`]), skip keeps the failure.
async fn run_tool(
    session: &SessionInner,
    call: &ToolCall,
    tool: &Tool,
    arguments: Value,
    tool_rounds: u32,
    sink: &EventSink,
) -> Result<ToolCallResult, SdkError> {
    let mut attempt = 0u32;
    let result = loop {
        let result = execute(session, tool, &arguments).await;
        let Some(hooks) = &session.hooks else {
            return Ok(result);
        };
        if !matches!(
            result,
            ToolCallResult::Failure(_) | ToolCallResult::Timeout(_)
        ) {
            break result;
        }
        attempt = attempt.saturating_add(1);
        let error = SdkError::ToolFailed {
            tool_name: call.function.name.clone(),
            call_id: call.id.clone(),
            message: result.text().to_owned(),
        };
        let occurred = ErrorOccurred {
            session_id: &session.id,
            error: &error,
            stage: ErrorStage::ToolExecution,
            attempt,
            tool_rounds,
            tool_name: Some(&call.function.name),
            request_may_have_been_processed: true,
        };
        let decision = hooks.on_error(&occurred).await;
        let retry = decision == ErrorDecision::Retry && attempt <= MAX_HOOK_RETRIES;
        sink.record(
            "session.error",
            serde_json::json!({
                "message": error.to_string(),
                "errorContext": ErrorStage::ToolExecution.as_str(),
                "errorHandling": decision.as_str(),
                "attempt": attempt,
                "toolCallId": call.id,
            }),
        );
        match decision {
            _ if retry => continue,
            ErrorDecision::Abort => return Err(error),
            _ => break result,
        }
    };
    Ok(post_tool_hooks(session, call, arguments, result).await)
}

/// One execution of an approved call: its result, a panic or the tool timeout as a typed result.
async fn execute(session: &SessionInner, tool: &Tool, arguments: &Value) -> ToolCallResult {
    let run = AssertUnwindSafe(tool.call(arguments.clone())).catch_unwind();
    let outcome = match session.tool_timeout {
        Some(limit) => {
            let timer = session.client.sleeper().sleep(limit);
            tokio::select! {
                outcome = run => Ok(outcome),
                () = timer => Err(limit),
            }
        }
        None => Ok(run.await),
    };
    match outcome {
        Ok(Ok(Ok(output))) => ToolCallResult::Success(output.to_content()),
        Ok(Ok(Err(error))) if error.is_timeout() => {
            ToolCallResult::Timeout(error.message().to_owned())
        }
        Ok(Ok(Err(error))) => ToolCallResult::Failure(error.message().to_owned()),
        Ok(Err(_)) => ToolCallResult::Failure("the tool handler panicked".to_owned()),
        Err(limit) => ToolCallResult::Timeout(format!("the tool did not finish within {limit:?}")),
    }
}

/// The post-tool hooks of a call's final result.
async fn post_tool_hooks(
    session: &SessionInner,
    call: &ToolCall,
    arguments: Value,
    result: ToolCallResult,
) -> ToolCallResult {
    let Some(hooks) = &session.hooks else {
        return result;
    };
    let ran = PostToolUse {
        session_id: session.id.clone(),
        tool_call_id: call.id.clone(),
        tool_name: call.function.name.clone(),
        arguments,
        output: result.text().to_owned(),
    };
    let decision = match result {
        ToolCallResult::Success(_) => hooks.on_post_tool_use(&ran).await,
        _ => hooks.on_post_tool_use_failure(&ran).await,
    };
    match decision {
        PostToolUseDecision::Replace { content } => result.with_text(content),
        PostToolUseDecision::AddContext { context } => append_context(&result, &context),
        _ => result,
    }
}

/// `result` with `context` appended to its text (what the model reads).
fn append_context(result: &ToolCallResult, context: &str) -> ToolCallResult {
    result.with_text(format!("{}\n\n{context}", result.text()))
}

fn parse_arguments(arguments: &str) -> Result<Value, String> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(arguments).map_err(|e| format!("the arguments are not valid JSON: {e}"))
}

/// Settles one call: the pre-tool hook, then the permission handler. The second value is context a hook
/// wants appended to the call's result.
async fn plan(
    session: &SessionInner,
    call: &ToolCall,
    arguments: Result<Value, String>,
) -> Result<(Plan, Option<String>), SdkError> {
    let name = &call.function.name;
    let Some(tool) = session.tool(name) else {
        return Ok((
            Plan::Done(ToolCallResult::Failure(format!(
                "there is no tool named `{name}`"
            ))),
            None,
        ));
    };
    let mut arguments = match arguments {
        Ok(arguments) => arguments,
        Err(message) => return Ok((Plan::Done(ToolCallResult::Failure(message)), None)),
    };
    let mut context = None;
    if let Some(hooks) = &session.hooks {
        let pre = PreToolUse {
            session_id: session.id.clone(),
            tool_call_id: call.id.clone(),
            tool_name: name.clone(),
            arguments: arguments.clone(),
        };
        match hooks.on_pre_tool_use(&pre).await {
            PreToolUseDecision::Deny { reason } => {
                return Ok((Plan::Done(ToolCallResult::Denied(reason)), None));
            }
            PreToolUseDecision::ModifyArguments { arguments: changed } => arguments = changed,
            PreToolUseDecision::AddContext { context: added } => context = Some(added),
            _ => {}
        }
    }
    let plan = permit(session, call, tool, arguments).await?;
    Ok((plan, context))
}

/// The permission handler's part of [`plan`].
async fn permit(
    session: &SessionInner,
    call: &ToolCall,
    tool: &Tool,
    arguments: Value,
) -> Result<Plan, SdkError> {
    let name = &call.function.name;
    if session.state().approved_tools.contains(name) {
        return Ok(Plan::Run(tool.clone(), arguments));
    }
    let Some(handler) = &session.permission else {
        return Ok(Plan::Done(ToolCallResult::Rejected(
            "no permission handler is configured for this session".to_owned(),
        )));
    };
    let decision = handler
        .decide(PermissionRequest {
            session_id: session.id.clone(),
            tool_name: name.clone(),
            tool_call_id: call.id.clone(),
            arguments: arguments.clone(),
            kind: tool.permission_kind().clone(),
        })
        .await;
    match decision {
        PermissionDecision::ApproveOnce => Ok(Plan::Run(tool.clone(), arguments)),
        PermissionDecision::ApproveForSession => {
            session.state().approved_tools.insert(name.clone());
            Ok(Plan::Run(tool.clone(), arguments))
        }
        PermissionDecision::Reject { reason } => Ok(Plan::Done(ToolCallResult::Rejected(reason))),
        PermissionDecision::Abort { reason } => Err(SdkError::PermissionDenied {
            tool: name.clone(),
            reason,
        }),
    }
}
