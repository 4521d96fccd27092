//! Infinite sessions: how full the model's context is, and compaction of older turns into a summary.
//!
//! Context use is the prompt token count the server reported for the last request (cached tokens
//! included), plus an estimate of what entered the history since; without a report (a new or resumed
//! session, or just after a compaction) it is an estimate of everything a request would send. The limit
//! is the model's `capabilities.limits.max_prompt_tokens` (else its context window less its output
//! limit). Past [`InfiniteSessionConfig::background_compaction_threshold`] a task owned by the session
//! summarises the older turns while the conversation goes on, and its summary replaces them before the
//! next model request; past [`InfiniteSessionConfig::buffer_exhaustion_threshold`] the summary is made
//! before that request is sent. A compaction request is labelled [`RequestPurpose::Compaction`]
//! (`X-Initiator: agent`, `X-Interaction-Type: conversation-background`).

use copilot_api::{
    ApiError, ChatCollector, ChatEvent, ChatRequest, ChatRoute, CopilotApiClient, CopilotUsage,
    Message, MessagesRequest, ModelInfo, RequestOptions, RequestPurpose, ResponsesRequest, Role,
    Usage,
};
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::convert::{self, RequestParts};
use super::events::{EventSink, SessionEvent};
use super::history::HistoryEntry;
use super::{SessionInner, SessionState};
use crate::SdkError;
use crate::client::Started;
use crate::tools::Tool;

/// When a session compacts its history (the official SDK's `infiniteSessions`):
/// [`SessionConfig::infinite_sessions`](crate::SessionConfig::infinite_sessions).
///
/// Thresholds are fractions of the model's prompt limit (`max_prompt_tokens`). Defaults, as officially:
/// enabled, background compaction from 0.80, compaction before sending from 0.95.
///
/// Context use is the prompt token count the server reported for the last request (cached tokens
/// included), plus an estimate (4 bytes of JSON a token) of what entered the history since; without a
/// report (a new or resumed session, or just after a compaction) it is an estimate of everything a request
/// would send. The limit is the model's `capabilities.limits.max_prompt_tokens` (else its context window
/// less its output limit); a model without limits in the models list, or a session with its own
/// [`provider`](crate::SessionConfig::provider), is never compacted.
///
/// A compaction summarises the older turns (cut at user prompts, so tool calls stay with their results)
/// and keeps the most recent turns verbatim (the last one always, more while they fit in 30% of the limit).
/// In the background, a task owned by the session sends the request while turns go on; its summary
/// replaces the older turns before the next model request after it finished, or at
/// [`Session::close`](crate::Session::close); closing or dropping the session cancels a running one.
/// Before sending, the turn waits for a running background compaction or makes one. A failure is reported
/// ([`CompactionComplete::success`] `false`) and leaves the history unchanged; the request is then sent if it
/// fits, else refused with [`SdkError::ContextWindowExceeded`]. After a failure, background compaction
/// waits for the next turn.
///
/// ```
/// use copilot_sdk::{InfiniteSessionConfig, SessionConfig};
///
/// let config = SessionConfig::new().model("gpt-4.1").infinite_sessions(
///     InfiniteSessionConfig::new()
///         .background_compaction_threshold(0.7)
///         .buffer_exhaustion_threshold(0.9),
/// );
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfiniteSessionConfig {
    pub(crate) enabled: bool,
    pub(crate) background_compaction_threshold: f64,
    pub(crate) buffer_exhaustion_threshold: f64,
}

impl Default for InfiniteSessionConfig {
    fn default() -> Self {
        InfiniteSessionConfig {
            enabled: true,
            background_compaction_threshold: 0.80,
            buffer_exhaustion_threshold: 0.95,
        }
    }
}

/// A threshold as configured: NaN keeps `default`, anything else is clamped to `0.0..=1.0`.
fn fraction(value: f64, default: f64) -> f64 {
    if value.is_nan() {
        default
    } else {
        value.clamp(0.0, 1.0)
    }
}

impl InfiniteSessionConfig {
    /// The defaults: enabled, 0.80 and 0.95.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the session compacts at all (default `true`). Off, context use is still tracked
    /// ([`Session::context_usage`](crate::Session::context_usage)) and an over-long prompt is sent as it
    /// is (Copilot then refuses it with 400 `model_max_prompt_tokens_exceeded`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Context use (0.0–1.0) from which older turns are summarised in the background, while turns go
    /// on (default 0.80). At or above [`buffer_exhaustion_threshold`](Self::buffer_exhaustion_threshold)
    /// only blocking compaction happens.
    pub fn background_compaction_threshold(mut self, threshold: f64) -> Self {
        self.background_compaction_threshold = fraction(threshold, 0.80);
        self
    }

    /// Context use (0.0–1.0) from which the next model request waits for a compaction (default 0.95).
    pub fn buffer_exhaustion_threshold(mut self, threshold: f64) -> Self {
        self.buffer_exhaustion_threshold = fraction(threshold, 0.95);
        self
    }
}

/// How full the model's context is ([`Session::context_usage`](crate::Session::context_usage)); the
/// official SDK's `session.usage_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContextUsage {
    /// The prompt tokens the next request would send (see [`InfiniteSessionConfig`] for how they are
    /// counted).
    pub current_tokens: u64,
    /// The model's prompt limit, when the models list gives one.
    pub token_limit: Option<u64>,
    /// Messages in the history.
    pub messages_length: usize,
}

impl ContextUsage {
    /// `current_tokens / token_limit`, when there is a limit.
    pub fn utilization(&self) -> Option<f64> {
        self.token_limit
            .filter(|limit| *limit > 0)
            .map(|limit| self.current_tokens as f64 / limit as f64)
    }
}

/// A compaction started ([`SessionEvent::CompactionStart`], `session.compaction_start`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactionStart {
    /// Whether it runs in the background (past the background threshold) or blocks the next request
    /// (past the buffer-exhaustion threshold).
    pub background: bool,
    /// Estimated tokens of the conversation (the history).
    pub conversation_tokens: u64,
    /// Estimated tokens of the system message.
    pub system_tokens: u64,
    /// Estimated tokens of the tool definitions.
    pub tool_definitions_tokens: u64,
}

/// A compaction ended ([`SessionEvent::CompactionComplete`], `session.compaction_complete`), with the
/// official SDK's fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CompactionComplete {
    /// Whether the summary replaced the older turns. When `false`, the history is unchanged.
    pub success: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Context use before.
    pub pre_compaction_tokens: u64,
    /// Context use after (an estimate until the next request reports its usage).
    pub post_compaction_tokens: u64,
    /// History messages before.
    pub pre_compaction_messages_length: usize,
    /// History messages after.
    pub post_compaction_messages_length: usize,
    /// Messages replaced by the summary.
    pub messages_removed: usize,
    /// `pre_compaction_tokens - post_compaction_tokens`.
    pub tokens_removed: u64,
    /// The summary now at the start of the history.
    pub summary_content: Option<String>,
    /// What the compaction request itself used, as the server reported it.
    pub compaction_tokens_used: Option<Usage>,
}

impl CompactionComplete {
    pub(crate) fn envelope_data(&self) -> Value {
        let used = self.compaction_tokens_used.as_ref().map(|usage| {
            json!({
                "input": usage.prompt_tokens,
                "output": usage.completion_tokens,
                "cachedInput": usage.cached_tokens().unwrap_or(0),
            })
        });
        json!({
            "success": self.success,
            "error": self.error,
            "preCompactionTokens": self.pre_compaction_tokens,
            "postCompactionTokens": self.post_compaction_tokens,
            "preCompactionMessagesLength": self.pre_compaction_messages_length,
            "postCompactionMessagesLength": self.post_compaction_messages_length,
            "messagesRemoved": self.messages_removed,
            "tokensRemoved": self.tokens_removed,
            "summaryContent": self.summary_content,
            "compactionTokensUsed": used,
        })
    }
}

impl CompactionStart {
    pub(crate) fn envelope_data(&self) -> Value {
        json!({
            "background": self.background,
            "conversationTokens": self.conversation_tokens,
            "systemTokens": self.system_tokens,
            "toolDefinitionsTokens": self.tool_definitions_tokens,
        })
    }
}

/// The prompt tokens a request reported, and how long the history it sent was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measured {
    pub(crate) prompt_tokens: u64,
    pub(crate) history_len: usize,
}

/// The prompt limit of a model: `max_prompt_tokens`, else the context window less the output limit.
pub(crate) fn token_limit(info: &ModelInfo) -> Option<u64> {
    let limits = &info.capabilities.limits;
    limits.max_prompt_tokens.or_else(|| {
        limits
            .max_context_window_tokens
            .map(|window| window.saturating_sub(limits.max_output_tokens.unwrap_or(0)))
    })
}

/// Estimated tokens of a text: 4 bytes a token.
fn text_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Estimated tokens of an image, whatever its size (models count tiles, not bytes).
const IMAGE_TOKENS: u64 = 765;

/// Estimated tokens of a JSON value as sent: 4 bytes a token, except that a data URL is an image.
fn json_tokens(value: &Value) -> u64 {
    match value {
        Value::String(text) if text.starts_with("data:") => IMAGE_TOKENS,
        Value::Array(items) => items
            .iter()
            .fold(1u64, |sum, item| sum.saturating_add(json_tokens(item))),
        Value::Object(fields) => fields.iter().fold(1u64, |sum, (key, value)| {
            sum.saturating_add(text_tokens(key))
                .saturating_add(json_tokens(value))
        }),
        other => text_tokens(&other.to_string()),
    }
}

/// Estimated tokens of a history entry: its message as JSON, plus the chat framing.
pub(crate) fn entry_tokens(entry: &HistoryEntry) -> u64 {
    let json = serde_json::to_value(&entry.message).unwrap_or_default();
    json_tokens(&json).saturating_add(3)
}

fn entries_tokens(entries: &[HistoryEntry]) -> u64 {
    entries
        .iter()
        .fold(0u64, |sum, entry| sum.saturating_add(entry_tokens(entry)))
}

/// Estimated tokens of the tool definitions a request sends.
fn tools_tokens(tools: &[Tool]) -> u64 {
    tools.iter().fold(0u64, |sum, tool| {
        let json = serde_json::to_string(&tool.chat_definition()).unwrap_or_default();
        sum.saturating_add(text_tokens(&json))
    })
}

/// What a request would send, estimated by part.
fn breakdown(state: &SessionState, tools: &[Tool]) -> CompactionStart {
    let (system, history) = crate::system::effective(state.system_message.as_ref(), &state.history);
    let leading = state.history.len() - history.len();
    CompactionStart {
        background: false,
        conversation_tokens: entries_tokens(history),
        system_tokens: system.as_deref().map_or(0, text_tokens)
            + entries_tokens(&state.history[..leading]),
        tool_definitions_tokens: tools_tokens(tools),
    }
}

/// The prompt tokens the next request would send: the last report and what came since, or an estimate.
pub(crate) fn current_tokens(state: &SessionState, tools: &[Tool]) -> u64 {
    match state.context {
        Some(measured) if measured.history_len <= state.history.len() => measured
            .prompt_tokens
            .saturating_add(entries_tokens(&state.history[measured.history_len..])),
        _ => {
            let parts = breakdown(state, tools);
            parts
                .conversation_tokens
                .saturating_add(parts.system_tokens)
                .saturating_add(parts.tool_definitions_tokens)
        }
    }
}

/// Recent turns kept verbatim: as many whole turns (the last one always) as fit this share of the limit.
const KEEP_RECENT_SHARE: f64 = 0.3;
/// The transcript a compaction request sends is at most this share of the limit (4 bytes a token).
const TRANSCRIPT_SHARE: f64 = 0.6;
/// Characters of one message in the transcript, at most.
const MAX_ENTRY_CHARS: usize = 4000;

/// The first line of the summary entry, before the summary itself.
const SUMMARY_HEADING: &str =
    "[Summary of the earlier conversation, written when it was compacted to fit the context]";

const COMPACTION_SYSTEM_PROMPT: &str = "You compact conversations between a user and an AI assistant. \
Write a concise summary that lets the assistant continue the conversation without the original messages: \
the user's goals and requests, decisions made, facts and results established (tool results included), \
open questions and what was about to happen next. Answer with the summary only.";

const COMPACTION_INSTRUCTION: &str =
    "Summarize the conversation below, which is being removed from the context.";

/// What a compaction replaces: history entries `start..cut` (after the leading system messages, up to
/// the turns kept verbatim), as the history was at `epoch`.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    epoch: u64,
    start: usize,
    cut: usize,
    pre_tokens: u64,
    pre_messages: usize,
    start_event: CompactionStart,
}

/// What to compact now, if anything can be: turns are cut at user prompts only, so an assistant's tool
/// calls and their results always stay together, on one side of the cut.
fn plan(state: &SessionState, tools: &[Tool], limit: u64, background: bool) -> Option<Plan> {
    let start = state
        .history
        .iter()
        .take_while(|entry| matches!(entry.message.role, Role::System | Role::Developer))
        .count();
    let starts: Vec<usize> = (start..state.history.len())
        .filter(|at| state.history[*at].message.role == Role::User)
        .collect();
    let keep_budget = (limit as f64 * KEEP_RECENT_SHARE) as u64;
    let mut cut = state.history.len();
    let mut kept = 0u64;
    for (n, turn_start) in starts.iter().enumerate().rev() {
        let turn = entries_tokens(&state.history[*turn_start..cut]);
        let last_turn = n + 1 == starts.len();
        if !last_turn && kept.saturating_add(turn) > keep_budget {
            break;
        }
        kept = kept.saturating_add(turn);
        cut = *turn_start;
    }
    // Something must go besides a previous summary.
    let older = &state.history[start..cut];
    if older.iter().filter(|e| !e.compaction_summary).count() == 0 || older.len() < 2 {
        return None;
    }
    let mut start_event = breakdown(state, tools);
    start_event.background = background;
    Some(Plan {
        epoch: state.history_epoch,
        start,
        cut,
        pre_tokens: current_tokens(state, tools),
        pre_messages: state.history.len(),
        start_event,
    })
}

/// `text` cut to `max` characters.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… [cut]", &text[..at]),
        None => text.to_owned(),
    }
}

/// One history entry as a transcript line.
fn transcript_line(entry: &HistoryEntry) -> String {
    let message = &entry.message;
    let text = clip(&message.text(), MAX_ENTRY_CHARS);
    match message.role {
        Role::User if entry.compaction_summary => format!("Earlier summary: {text}"),
        Role::User => format!("User: {text}"),
        Role::Tool => format!(
            "Tool result ({}): {text}",
            message.tool_call_id.as_deref().unwrap_or("?")
        ),
        Role::Assistant => {
            let mut line = format!("Assistant: {text}");
            for call in &message.tool_calls {
                line.push_str(&format!(
                    "\nAssistant called tool `{}` ({}) with {}",
                    call.function.name,
                    call.id,
                    clip(&call.function.arguments, MAX_ENTRY_CHARS)
                ));
            }
            line
        }
        _ => format!("System: {text}"),
    }
}

/// The older turns as one text of at most `budget` bytes: a previous summary first, then the newest
/// messages that fit (older ones are left out, saying how many).
fn transcript(entries: &[HistoryEntry], budget: usize) -> String {
    let lines: Vec<String> = entries.iter().map(transcript_line).collect();
    let total: usize = lines.iter().map(|line| line.len() + 1).sum();
    if total <= budget {
        return lines.join("\n");
    }
    let (head, rest) = match entries.first() {
        Some(first) if first.compaction_summary => (Some(&lines[0]), &lines[1..]),
        _ => (None, &lines[..]),
    };
    let mut used = head.map_or(0, |line| line.len() + 1);
    let mut tail = Vec::new();
    for line in rest.iter().rev() {
        if used + line.len() + 1 > budget {
            break;
        }
        used += line.len() + 1;
        tail.push(line.as_str());
    }
    tail.reverse();
    let left_out = rest.len() - tail.len();
    let mut out: Vec<String> = head.cloned().into_iter().collect();
    out.push(format!("[{left_out} earlier messages left out]"));
    out.extend(tail.into_iter().map(str::to_owned));
    out.join("\n")
}

/// A compaction request, built where the session's state is at hand and sent wherever.
pub(crate) enum Request {
    Chat(Box<ChatRequest>),
    Responses(Box<ResponsesRequest>),
    Messages(Box<MessagesRequest>),
}

/// What the model answered to a compaction request.
#[derive(Debug)]
pub(crate) struct Summarised {
    summary: String,
    usage: Option<Usage>,
    cost: Option<CopilotUsage>,
}

/// The request summarising `plan`'s entries, for `model` on `route`.
fn request(
    state: &SessionState,
    plan: &Plan,
    model: &str,
    route: ChatRoute,
    info: Option<&ModelInfo>,
    limit: u64,
) -> Request {
    let budget = (limit as f64 * TRANSCRIPT_SHARE * 4.0) as usize;
    let text = format!(
        "{COMPACTION_INSTRUCTION}\n\n<conversation>\n{}\n</conversation>",
        transcript(&state.history[plan.start..plan.cut], budget)
    );
    let history = [HistoryEntry::new(Message::user(text))];
    let parts = RequestParts {
        model,
        system_message: Some(COMPACTION_SYSTEM_PROMPT),
        reasoning_effort: None,
        tools: &[],
        output_schema: None,
    };
    match route {
        ChatRoute::Messages => {
            Request::Messages(Box::new(convert::messages_request(&parts, info, &history)))
        }
        ChatRoute::Responses => {
            Request::Responses(Box::new(convert::responses_request(&parts, &history)))
        }
        _ => Request::Chat(Box::new(convert::chat_request(&parts, &history))),
    }
}

/// Sends a compaction request, labelled as one, and returns the summary.
async fn summarise(
    api: CopilotApiClient,
    request: Request,
    options: RequestOptions,
) -> Result<Summarised, SdkError> {
    let options = options.purpose(RequestPurpose::Compaction);
    let mut stream = match request {
        Request::Chat(request) => {
            let response = api.chat_with(*request, options).await?;
            let cost = response.copilot_usage();
            let (message, usage) = convert::collected_from_response(response);
            return finish(message.content, usage, cost);
        }
        Request::Responses(request) => api.responses_stream_with(*request, options).await?,
        Request::Messages(request) => api.messages_stream_with(*request, options).await?,
    };
    let mut collector = ChatCollector::new(None);
    while let Some(event) = stream.next().await {
        let event = event?;
        if let ChatEvent::Done {
            saw_finish: false, ..
        } = &event
        {
            return Err(SdkError::Api(ApiError::StreamInterrupted {
                message: "the compaction answer ended before the model finished".to_owned(),
                partial: stream.progress(),
            }));
        }
        collector.push(event);
    }
    let collected = collector.finish();
    let content = collected
        .message()
        .map(|message| message.content.clone())
        .unwrap_or_default();
    finish(content, collected.usage, collected.copilot_usage)
}

fn finish(
    summary: String,
    usage: Option<Usage>,
    cost: Option<CopilotUsage>,
) -> Result<Summarised, SdkError> {
    let summary = summary.trim().to_owned();
    if summary.is_empty() {
        return Err(SdkError::config(
            "the model answered the compaction request with no summary",
        ));
    }
    Ok(Summarised {
        summary,
        usage,
        cost,
    })
}

/// A background compaction: its task (aborted when this is dropped, with the session) and its plan.
pub(crate) struct Background {
    task: JoinHandle<Result<Summarised, SdkError>>,
    plan: Plan,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Background {
    /// Waits for the task's answer.
    async fn wait(mut self) -> (Plan, Result<Summarised, SdkError>) {
        let result = match (&mut self.task).await {
            Ok(result) => result,
            Err(error) => Err(SdkError::config(format!(
                "the compaction task ended without an answer: {error}"
            ))),
        };
        (self.plan.clone(), result)
    }
}

/// Replaces `plan`'s entries with the summary, if the history is still the one planned on; reports
/// either way. A failure leaves the history as it was.
fn apply(
    state: &mut SessionState,
    tools: &[Tool],
    plan: &Plan,
    result: Result<Summarised, SdkError>,
) -> CompactionComplete {
    let mut complete = CompactionComplete {
        success: false,
        error: None,
        pre_compaction_tokens: plan.pre_tokens,
        post_compaction_tokens: current_tokens(state, tools),
        pre_compaction_messages_length: plan.pre_messages,
        post_compaction_messages_length: state.history.len(),
        messages_removed: 0,
        tokens_removed: 0,
        summary_content: None,
        compaction_tokens_used: None,
    };
    let summarised = match result {
        Ok(summarised) => summarised,
        Err(error) => {
            complete.error = Some(error.to_string());
            return complete;
        }
    };
    state
        .usage
        .record(summarised.usage.as_ref(), summarised.cost.as_ref());
    complete.compaction_tokens_used = summarised.usage.clone();
    if state.history_epoch != plan.epoch || state.history.len() < plan.cut {
        complete.error =
            Some("the history changed while the summary was written; nothing was replaced".into());
        return complete;
    }
    let before = current_tokens(state, tools);
    let entry = HistoryEntry {
        compaction_summary: true,
        ..HistoryEntry::new(Message::user(format!(
            "{SUMMARY_HEADING}\n{}",
            summarised.summary
        )))
    };
    state.history.splice(plan.start..plan.cut, [entry]);
    state.history_epoch = state.history_epoch.wrapping_add(1);
    state.context = None;
    if let Some(title) = super::persist::summary_of(&summarised.summary) {
        state.summary = Some(title);
    }
    let after = current_tokens(state, tools);
    complete.success = true;
    complete.pre_compaction_tokens = before;
    complete.post_compaction_tokens = after;
    complete.post_compaction_messages_length = state.history.len();
    complete.messages_removed = plan.cut - plan.start;
    complete.tokens_removed = before.saturating_sub(after);
    complete.summary_content = Some(summarised.summary);
    complete
}

/// The model a request goes to, its models-list entry and its prompt limit.
async fn target(
    session: &SessionInner,
    started: &Started,
) -> Result<Option<(String, ChatRoute, Option<ModelInfo>, u64, RequestOptions)>, SdkError> {
    let model = session.state().model.clone();
    let (model, auto_session) = super::auto::resolve_current(session, started, &model).await?;
    let (route, info) = super::turn::route(started, &model, false).await?;
    let Some(limit) = info.as_ref().and_then(token_limit) else {
        return Ok(None);
    };
    let options = match auto_session {
        Some(token) => session.request_options.clone().auto_session(token),
        None => session.request_options.clone(),
    };
    Ok(Some((model, route, info, limit, options)))
}

fn threshold_tokens(limit: u64, threshold: f64) -> u64 {
    (limit as f64 * threshold).ceil() as u64
}

/// Before a model request: applies a finished background compaction; past the buffer-exhaustion
/// threshold, waits for the running one or compacts now. Fails with
/// [`SdkError::ContextWindowExceeded`] when the request still cannot fit the model's limit.
pub(crate) async fn before_request(
    session: &SessionInner,
    sink: &EventSink,
) -> Result<(), SdkError> {
    // A provider's models are not described, so there is no limit to compact against.
    if !session.infinite.enabled || session.provider.is_some() {
        return Ok(());
    }
    let started = session.client.started().await?;
    let finished = {
        let mut slot = session.background();
        match slot.as_ref() {
            Some(running) if running.task.is_finished() => slot.take(),
            _ => None,
        }
    };
    if let Some(background) = finished {
        let (plan, result) = background.wait().await;
        report(session, sink, &plan, result).await;
    }
    let Some((model, route, info, limit, options)) = target(session, started).await? else {
        return Ok(());
    };
    let blocking = threshold_tokens(limit, session.infinite.buffer_exhaustion_threshold);
    if current_tokens(&session.state(), &session.tools) < blocking {
        return Ok(());
    }
    let running = session.background().take();
    let compacted = match running {
        Some(background) => {
            let (plan, result) = background.wait().await;
            report(session, sink, &plan, result).await
        }
        None => false,
    };
    if !compacted || current_tokens(&session.state(), &session.tools) >= blocking {
        let planned = {
            let state = session.state();
            plan(&state, &session.tools, limit, false).map(|plan| {
                let request = request(&state, &plan, &model, route, info.as_ref(), limit);
                (plan, request)
            })
        };
        if let Some((plan, request)) = planned {
            sink.emit(SessionEvent::CompactionStart(plan.start_event.clone()))
                .await;
            let result = summarise(started.api.clone(), request, options).await;
            report(session, sink, &plan, result).await;
        }
    }
    let tokens = current_tokens(&session.state(), &session.tools);
    if tokens > limit {
        return Err(SdkError::ContextWindowExceeded { tokens, limit });
    }
    Ok(())
}

/// Applies a compaction's result and emits `session.compaction_complete`; whether it succeeded.
async fn report(
    session: &SessionInner,
    sink: &EventSink,
    plan: &Plan,
    result: Result<Summarised, SdkError>,
) -> bool {
    let complete = apply(&mut session.state(), &session.tools, plan, result);
    let success = complete.success;
    if !success {
        let mut state = session.state();
        state.compaction_failed_at = Some(state.history.len());
    }
    sink.emit(SessionEvent::CompactionComplete(complete)).await;
    success
}

/// After a model round: past the background threshold, starts a background compaction (unless one runs,
/// or the last one failed and no turn was added since).
pub(crate) async fn after_round(session: &SessionInner, sink: &EventSink) -> Result<(), SdkError> {
    if !session.infinite.enabled
        || session.provider.is_some()
        || session.background().is_some()
        || tokio::runtime::Handle::try_current().is_err()
    {
        return Ok(());
    }
    let started = session.client.started().await?;
    let Some((model, route, info, limit, options)) = target(session, started).await? else {
        return Ok(());
    };
    let threshold = threshold_tokens(limit, session.infinite.background_compaction_threshold);
    let blocking = threshold_tokens(limit, session.infinite.buffer_exhaustion_threshold);
    let planned = {
        let state = session.state();
        let tokens = current_tokens(&state, &session.tools);
        let retry_later = state
            .compaction_failed_at
            .is_some_and(|len| state.history.len() < len.saturating_add(2));
        if tokens < threshold || threshold >= blocking || retry_later {
            return Ok(());
        }
        plan(&state, &session.tools, limit, true).map(|plan| {
            let request = request(&state, &plan, &model, route, info.as_ref(), limit);
            (plan, request)
        })
    };
    let Some((plan, request)) = planned else {
        return Ok(());
    };
    sink.emit(SessionEvent::CompactionStart(plan.start_event.clone()))
        .await;
    let task = tokio::spawn(summarise(started.api.clone(), request, options));
    *session.background() = Some(Background { task, plan });
    Ok(())
}

/// At close: a background compaction that has finished is applied (so its summary is saved); one still
/// running is cancelled.
pub(crate) fn settle_on_close(session: &SessionInner) {
    let Some(mut background) = session.background().take() else {
        return;
    };
    if !background.task.is_finished() {
        return;
    }
    let Some(joined) = (&mut background.task).now_or_never() else {
        return;
    };
    let result = joined.unwrap_or_else(|error| {
        Err(SdkError::config(format!(
            "the compaction task ended without an answer: {error}"
        )))
    });
    let complete = apply(
        &mut session.state(),
        &session.tools,
        &background.plan,
        result,
    );
    let event = SessionEvent::CompactionComplete(complete);
    session.hub.record(event.kind(), event.envelope_data());
}

#[cfg(test)]
mod tests {
    use super::super::history::test_turn as turn;
    use super::*;

    fn state(history: Vec<HistoryEntry>) -> SessionState {
        SessionState::new("m".into(), None, None, history)
    }

    #[test]
    fn a_plan_cuts_at_prompts_keeps_recent_turns_and_leading_system_messages() {
        let mut history = vec![HistoryEntry::new(Message::system("base"))];
        history.extend((0..20).flat_map(|n| turn(n, n % 2 == 0)));
        let state = state(history);
        let plan = plan(&state, &[], 1000, true).expect("something to compact");
        assert_eq!(plan.start, 1, "the base system message stays");
        assert_eq!(state.history[plan.cut].message.role, Role::User);
        let kept = entries_tokens(&state.history[plan.cut..]);
        assert!(kept <= 300, "{kept}");
        assert!(plan.cut < state.history.len());

        // A single turn, however long, cannot be compacted.
        let single = self::state(turn(0, true));
        assert!(self::plan(&single, &[], 10, false).is_none());
    }

    #[test]
    fn the_transcript_fits_its_budget_and_keeps_the_previous_summary() {
        let mut entries = vec![HistoryEntry {
            compaction_summary: true,
            ..HistoryEntry::new(Message::user("old summary"))
        }];
        entries.extend((0..50).flat_map(|n| turn(n, true)));
        let text = transcript(&entries, 600);
        assert!(text.len() <= 700, "{}", text.len());
        assert!(text.starts_with("Earlier summary: old summary"), "{text}");
        assert!(text.contains("earlier messages left out"), "{text}");
        assert!(text.contains("a49"), "{text}");
        let all = transcript(&entries[..4], 10_000);
        assert!(
            all.contains("Assistant called tool `lookup` (call_0) with {}"),
            "{all}"
        );
        assert!(all.contains("Tool result (call_0): 42"), "{all}");
    }

    #[test]
    fn thresholds_are_clamped_and_limits_come_from_the_models_list() {
        let config = InfiniteSessionConfig::new()
            .background_compaction_threshold(f64::NAN)
            .buffer_exhaustion_threshold(7.0);
        assert_eq!(config.background_compaction_threshold, 0.80);
        assert_eq!(config.buffer_exhaustion_threshold, 1.0);
        let info: ModelInfo = serde_json::from_value(json!({"id": "m", "capabilities": {"limits":
            {"max_context_window_tokens": 1000, "max_output_tokens": 200}}}))
        .unwrap();
        assert_eq!(token_limit(&info), Some(800));
        let usage = ContextUsage {
            current_tokens: 400,
            token_limit: Some(800),
            messages_length: 3,
        };
        assert_eq!(usage.utilization(), Some(0.5));
    }
}
