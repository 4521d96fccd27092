//! What a turn reports while it runs, and the stream that carries it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use copilot_api::{CopilotUsage, FinishReason, ReasoningKind, Usage};
use futures_core::Stream;
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::compaction::{CompactionComplete, CompactionStart};
use super::hub::EventHub;

use crate::SdkError;
use crate::tools::RequestedToolCall;

/// The final answer of a turn.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The answer text.
    pub content: String,
    /// Readable reasoning, if the model sent any: thinking text (`reasoning_text` and the like) followed by
    /// summaries (o-series `cot_summary`, `/responses` reasoning summaries).
    pub reasoning: Option<String>,
    /// The model that answered.
    pub model: String,
    /// Usage of the last model round, when reported.
    pub usage: Option<Usage>,
    /// Copilot's AI-credit cost of the whole turn (every model round of its tool loop), when reported.
    /// [`Session::usage`](crate::Session::usage) keeps the running total.
    pub cost: Option<CopilotUsage>,
    /// How many tool rounds ran before the answer.
    pub tool_rounds: u32,
    /// Why the model stopped (`tool_calls` when [`tool_calls`](Self::tool_calls) is not empty).
    pub finish_reason: Option<FinishReason>,
    /// Tool calls handed back to the caller instead of being run (only with
    /// [`UnknownToolPolicy::ReturnToCaller`](crate::UnknownToolPolicy::ReturnToCaller); empty otherwise).
    /// Answer them with [`Session::send_tool_results`](crate::Session::send_tool_results), or send a new
    /// prompt.
    pub tool_calls: Vec<RequestedToolCall>,
}

/// How a tool call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolCallResult {
    /// The handler succeeded; this is what the model was sent.
    Success(String),
    /// The handler failed (or the tool was unknown, or its arguments were not JSON); the model was told.
    Failure(String),
    /// The permission handler rejected the call; the model was told.
    Rejected(String),
    /// A hook ([`SessionHooks::on_pre_tool_use`](crate::SessionHooks::on_pre_tool_use)) denied the call
    /// before it ran; the model was told the reason.
    Denied(String),
    /// The call ran longer than [`SessionConfig::tool_timeout`](crate::SessionConfig::tool_timeout) and was
    /// cancelled; the model was told.
    Timeout(String),
}

impl ToolCallResult {
    /// The tool message content sent to the model.
    pub(crate) fn to_model_content(&self) -> String {
        match self {
            ToolCallResult::Success(content) => content.clone(),
            ToolCallResult::Failure(message) => format!("Error: the tool failed: {message}"),
            ToolCallResult::Rejected(reason) => {
                format!("Error: permission to run this tool was denied: {reason}")
            }
            ToolCallResult::Denied(reason) => {
                format!("Error: this tool call was denied: {reason}")
            }
            ToolCallResult::Timeout(message) => format!("Error: the tool timed out: {message}"),
        }
    }

    /// The text inside: the content on success, the message or reason otherwise.
    pub fn text(&self) -> &str {
        match self {
            ToolCallResult::Success(text)
            | ToolCallResult::Failure(text)
            | ToolCallResult::Rejected(text)
            | ToolCallResult::Denied(text)
            | ToolCallResult::Timeout(text) => text,
        }
    }

    /// The same result with `text` as its content, message or reason.
    pub(crate) fn with_text(&self, text: String) -> Self {
        match self {
            ToolCallResult::Success(_) => ToolCallResult::Success(text),
            ToolCallResult::Failure(_) => ToolCallResult::Failure(text),
            ToolCallResult::Rejected(_) => ToolCallResult::Rejected(text),
            ToolCallResult::Denied(_) => ToolCallResult::Denied(text),
            ToolCallResult::Timeout(_) => ToolCallResult::Timeout(text),
        }
    }
}

/// One event of a running turn ([`Session::send`](crate::Session::send)).
///
/// Order: deltas and usage per model round; for each tool round `ToolRequested` for every call, then
/// `ToolResult` for every call; then `AssistantMessage`; `Error` instead if the turn failed; `Idle` last,
/// always.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A piece of answer text.
    MessageDelta {
        /// The text.
        content: String,
    },
    /// A piece of reasoning.
    ReasoningDelta {
        /// What kind of reasoning.
        kind: ReasoningKind,
        /// The text.
        content: String,
    },
    /// The model asked for a tool.
    ToolRequested {
        /// The call id.
        call_id: String,
        /// The tool.
        tool_name: String,
        /// The arguments as the model sent them (`Value::Null` if they were not valid JSON), before any
        /// [`PreToolUseDecision::ModifyArguments`](crate::PreToolUseDecision::ModifyArguments).
        arguments: Value,
    },
    /// A tool call finished (or was refused).
    ToolResult {
        /// The call id.
        call_id: String,
        /// The tool.
        tool_name: String,
        /// How it ended.
        result: ToolCallResult,
    },
    /// Token usage of one model round.
    Usage(Usage),
    /// The final answer.
    AssistantMessage(AssistantMessage),
    /// The session's AI-credit budget is spent, so this turn was refused before anything was sent (an
    /// [`Error`](Self::Error) with [`SdkError::BudgetExceeded`] follows).
    BudgetExceeded {
        /// What the session has spent, in AI credits.
        spent_ai_credits: f64,
        /// The budget ([`SessionConfig::max_ai_credits`](crate::SessionConfig::max_ai_credits)).
        max_ai_credits: f64,
    },
    /// An infinite session began compacting its history
    /// ([`InfiniteSessionConfig`](crate::InfiniteSessionConfig)): in the background, or before this
    /// turn's next request.
    CompactionStart(CompactionStart),
    /// A compaction ended: the summary replaced the older turns, or (`success: false`) it failed and the
    /// history is unchanged. A background compaction's result is applied, and reported, before the next
    /// model request after it finished (or at [`Session::close`](crate::Session::close)).
    CompactionComplete(CompactionComplete),
    /// The turn failed.
    Error(SdkError),
    /// The turn is over; the session is ready for the next prompt.
    Idle,
}

impl SessionEvent {
    /// The official Copilot SDK's name for this kind of event, as its `type` field spells it, for code
    /// ported from (or talking to) the TypeScript, Python, Go or .NET SDKs:
    ///
    /// | variant | kind |
    /// |---|---|
    /// | [`MessageDelta`](Self::MessageDelta) | `assistant.message_delta` |
    /// | [`ReasoningDelta`](Self::ReasoningDelta) | `assistant.reasoning_delta` |
    /// | [`ToolRequested`](Self::ToolRequested) | `tool.execution_start` |
    /// | [`ToolResult`](Self::ToolResult) | `tool.execution_complete` |
    /// | [`Usage`](Self::Usage) | `assistant.usage` |
    /// | [`AssistantMessage`](Self::AssistantMessage) | `assistant.message` |
    /// | [`BudgetExceeded`](Self::BudgetExceeded) | `session.budget_exceeded` (copilot-rs's own) |
    /// | [`CompactionStart`](Self::CompactionStart) | `session.compaction_start` |
    /// | [`CompactionComplete`](Self::CompactionComplete) | `session.compaction_complete` |
    /// | [`Error`](Self::Error) | `session.error` |
    /// | [`Idle`](Self::Idle) | `session.idle` |
    ///
    /// ```
    /// use copilot_sdk::SessionEvent;
    ///
    /// assert_eq!(SessionEvent::Idle.kind(), "session.idle");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SessionEvent::MessageDelta { .. } => "assistant.message_delta",
            SessionEvent::ReasoningDelta { .. } => "assistant.reasoning_delta",
            SessionEvent::ToolRequested { .. } => "tool.execution_start",
            SessionEvent::ToolResult { .. } => "tool.execution_complete",
            SessionEvent::Usage(_) => "assistant.usage",
            SessionEvent::AssistantMessage(_) => "assistant.message",
            SessionEvent::BudgetExceeded { .. } => "session.budget_exceeded",
            SessionEvent::CompactionStart(_) => "session.compaction_start",
            SessionEvent::CompactionComplete(_) => "session.compaction_complete",
            SessionEvent::Error(_) => "session.error",
            SessionEvent::Idle => "session.idle",
        }
    }
}

impl ToolCallResult {
    /// The official result type name.
    pub(crate) fn result_type(&self) -> &'static str {
        match self {
            ToolCallResult::Success(_) => "success",
            ToolCallResult::Failure(_) => "failure",
            ToolCallResult::Rejected(_) => "rejected",
            ToolCallResult::Denied(_) => "denied",
            ToolCallResult::Timeout(_) => "timeout",
        }
    }
}

impl SessionEvent {
    /// The `data` of this event's [`EventEnvelope`](crate::EventEnvelope), with the official SDK's field
    /// names.
    pub(crate) fn envelope_data(&self) -> Value {
        match self {
            SessionEvent::MessageDelta { content } => json!({"deltaContent": content}),
            SessionEvent::ReasoningDelta { kind, content } => {
                json!({"deltaContent": content, "reasoningKind": format!("{kind:?}").to_lowercase()})
            }
            SessionEvent::ToolRequested {
                call_id,
                tool_name,
                arguments,
            } => json!({"toolCallId": call_id, "toolName": tool_name, "arguments": arguments}),
            SessionEvent::ToolResult {
                call_id,
                tool_name,
                result,
            } => {
                let success = matches!(result, ToolCallResult::Success(_));
                let text = result.text();
                let outcome = if success {
                    json!({"result": {"content": text}})
                } else {
                    json!({"error": {"message": text}})
                };
                let mut data = json!({
                    "toolCallId": call_id,
                    "toolName": tool_name,
                    "success": success,
                    "resultType": result.result_type(),
                });
                if let (Some(data), Value::Object(outcome)) = (data.as_object_mut(), outcome) {
                    data.extend(outcome);
                }
                data
            }
            SessionEvent::Usage(usage) => json!({
                "inputTokens": usage.prompt_tokens,
                "outputTokens": usage.completion_tokens,
                "totalTokens": usage.total_tokens,
            }),
            SessionEvent::AssistantMessage(message) => json!({
                "content": message.content,
                "model": message.model,
                "reasoningText": message.reasoning,
                "finishReason": message.finish_reason.as_ref().map(|r| r.as_str()),
                "toolRequests": message.tool_calls.iter().map(|call| json!({
                    "toolCallId": call.id, "name": call.name, "arguments": call.arguments,
                })).collect::<Vec<_>>(),
            }),
            SessionEvent::BudgetExceeded {
                spent_ai_credits,
                max_ai_credits,
            } => json!({"spentAiCredits": spent_ai_credits, "maxAiCredits": max_ai_credits}),
            SessionEvent::CompactionStart(start) => start.envelope_data(),
            SessionEvent::CompactionComplete(complete) => complete.envelope_data(),
            SessionEvent::Error(error) => json!({"message": error.to_string()}),
            SessionEvent::Idle => json!({}),
        }
    }
}

/// Where a turn sends its events: the session's hub (log, subscribers, handlers) and, for
/// [`Session::send`](crate::Session::send), a bounded channel to its [`EventStream`].
#[derive(Clone)]
pub(crate) struct EventSink {
    sender: Option<mpsc::Sender<SessionEvent>>,
    hub: Arc<EventHub>,
}

impl EventSink {
    /// A sink that feeds only the hub (`send_and_wait`).
    pub(crate) fn hub_only(hub: Arc<EventHub>) -> Self {
        EventSink { sender: None, hub }
    }

    pub(crate) async fn emit(&self, event: SessionEvent) {
        self.hub.record(event.kind(), event.envelope_data());
        self.deliver(event).await;
    }

    /// Sends an event (already recorded) to the stream, if any.
    pub(crate) async fn deliver(&self, event: SessionEvent) {
        if let Some(sender) = &self.sender {
            // A closed receiver means the stream (and with it this turn) is being dropped.
            let _ = sender.send(event).await;
        }
    }

    /// Records an event that only the hub sees (e.g. `user.message`).
    pub(crate) fn record(&self, kind: &str, data: Value) {
        self.hub.record(kind, data);
    }
}

/// The events of one turn: a `Stream<Item = SessionEvent>`.
///
/// The turn runs inside this stream as it is polled (no task is spawned); events pass through a small
/// bounded buffer, so a slow consumer slows the turn down instead of growing memory. Dropping the stream
/// abandons the turn (its prompt and completed tool rounds stay in the history).
pub struct EventStream {
    driver: Option<BoxFuture<'static, ()>>,
    receiver: mpsc::Receiver<SessionEvent>,
}

/// Events buffered between the turn and the consumer.
const BUFFER: usize = 32;

impl EventStream {
    /// A stream running `turn`, which emits through the sink it is given.
    pub(crate) fn new<F, Fut>(hub: Arc<EventHub>, turn: F) -> Self
    where
        F: FnOnce(EventSink) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let sink = EventSink {
            sender: Some(sender),
            hub,
        };
        EventStream {
            driver: Some(Box::pin(turn(sink))),
            receiver,
        }
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("running", &self.driver.is_some())
            .finish_non_exhaustive()
    }
}

impl Stream for EventStream {
    type Item = SessionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionEvent>> {
        loop {
            if let Poll::Ready(Some(event)) = self.receiver.poll_recv(cx) {
                return Poll::Ready(Some(event));
            }
            let Some(driver) = self.driver.as_mut() else {
                return self.receiver.poll_recv(cx);
            };
            match driver.as_mut().poll(cx) {
                // The turn is over and its sender dropped: drain what is left, then end.
                Poll::Ready(()) => self.driver = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
