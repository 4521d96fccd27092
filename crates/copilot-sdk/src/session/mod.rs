//! Sessions: a conversation with history, tools and a permission handler.

mod auto;
mod compaction;
mod convert;
mod envelope;
mod events;
mod history;
mod hub;
mod persist;
mod turn;
mod usage;

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use copilot_api::{Message, ReasoningEffort, RequestPurpose};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

pub use compaction::{CompactionComplete, CompactionStart, ContextUsage, InfiniteSessionConfig};
pub use envelope::EventEnvelope;
pub use events::{AssistantMessage, EventStream, SessionEvent, ToolCallResult};
pub use history::HistoryEntry;
pub use hub::{EventSubscription, Unsubscribe};
pub(crate) use turn::ProviderBackend;
pub use usage::SessionUsage;

use crate::SdkError;
use crate::client::CopilotClient;
use crate::hooks::{
    SessionEnd, SessionEndReason, SessionHooks, SessionStart, SessionStartSource, SharedHooks,
};
use crate::message::{MessageOptions, OutputSchema};
use crate::permission::PermissionHandler;
use crate::store::{SessionLock, SessionRecord, SessionStore};
use crate::system::SystemMessage;
use crate::tools::{RequestedToolCall, Tool, UnknownToolPolicy};
use events::EventSink;
use hub::EventHub;
use turn::{Progress, TurnInput};

/// How a session is set up ([`CopilotClient::create_session`]): the official Copilot SDK's `SessionConfig`.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    pub(crate) session_id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) system_message: Option<SystemMessage>,
    pub(crate) reasoning_effort: Option<ReasoningEffort>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) permission_handler: Option<PermissionHandler>,
    pub(crate) history: Vec<HistoryEntry>,
    pub(crate) max_tool_rounds: Option<u32>,
    pub(crate) tool_timeout: Option<Duration>,
    pub(crate) turn_timeout: Option<Duration>,
    pub(crate) streaming: Option<bool>,
    pub(crate) websocket: Option<bool>,
    pub(crate) unknown_tool_policy: UnknownToolPolicy,
    pub(crate) purpose: RequestPurpose,
    pub(crate) hooks: Option<SharedHooks>,
    pub(crate) max_ai_credits: Option<f64>,
    #[cfg(feature = "mcp")]
    pub(crate) mcp_servers: Vec<(String, crate::mcp::McpServer)>,
    pub(crate) provider: Option<copilot_core::Provider>,
    pub(crate) infinite_sessions: InfiniteSessionConfig,
}

impl SessionConfig {
    /// Defaults: a generated id, the models list's default model, no tools, and no permission handler
    /// (every tool call is rejected).
    pub fn new() -> Self {
        Self::default()
    }

    /// The session id (default: `session-<uuid>`), e.g. `format!("user-{user_id}-session")`.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// The model id from the models list, e.g. `gpt-4.1`, or `auto` for Copilot's Auto model: each turn
    /// then goes to the model Copilot's Auto-model session selects, with its session token (where Copilot
    /// offers none, to the models list's chat default). `AssistantMessage::model` names the model that
    /// answered. See `docs/protocol.md` §9.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The system message sent at the start of every request: a `&str` or `String` (appended to the base
    /// system message the seeded history starts with, if any), or a [`SystemMessage`] with its mode
    /// ([`SystemMessage::append`] / [`SystemMessage::replace`]). See `docs/protocol.md` §11.
    pub fn system_message(mut self, message: impl Into<SystemMessage>) -> Self {
        self.system_message = Some(message.into());
        self
    }

    /// The reasoning effort (pick one the model lists in `capabilities.supports.reasoning_effort`).
    pub fn reasoning_effort(mut self, effort: impl Into<ReasoningEffort>) -> Self {
        self.reasoning_effort = Some(effort.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Adds the tools of an MCP server (feature `mcp`), named `<name>-<tool>` (sanitised to
    /// `[A-Za-z0-9_-]`, at most 64 characters, see [`mcp_tool_name`](crate::mcp::mcp_tool_name)) with the
    /// server's JSON Schemas. The session connects when it is created or resumed (failing with
    /// [`SdkError::Mcp`] if the server cannot be started or reached) and disconnects, killing a stdio
    /// server's process, at [`Session::close`] or when dropped. Calls go through the permission handler
    /// (kind [`PermissionKind::Mcp`](crate::PermissionKind::Mcp)) and the hooks like any tool's; see the
    /// [`mcp`](crate::mcp) module for failures and limits.
    ///
    /// ```
    /// use copilot_sdk::{McpServer, SessionConfig};
    ///
    /// let config = SessionConfig::new()
    ///     .mcp_server("files", McpServer::stdio("mcp-server-filesystem", ["/srv/data"], [("LOG", "warn")]))
    ///     .mcp_server("search", McpServer::http("https://mcp.example.com/mcp", [("Authorization", "Bearer …")]));
    /// # let _ = config;
    /// ```
    #[cfg(feature = "mcp")]
    pub fn mcp_server(mut self, name: impl Into<String>, server: crate::mcp::McpServer) -> Self {
        self.mcp_servers.push((name.into(), server));
        self
    }

    /// Decides whether requested tool calls may run (the official Copilot SDK's `on_permission_request`).
    pub fn on_permission_request(mut self, handler: PermissionHandler) -> Self {
        self.permission_handler = Some(handler);
        self
    }

    /// Seeds the history with existing messages (e.g. a conversation from another client).
    pub fn history(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.history
            .extend(messages.into_iter().map(HistoryEntry::new));
        self
    }

    /// Seeds the history with entries saved from [`Session::history_entries`]: unlike
    /// [`history`](Self::history), this keeps the SDK's replay state (reasoning item ids) beside each message.
    pub fn history_entries(mut self, entries: impl IntoIterator<Item = HistoryEntry>) -> Self {
        self.history.extend(entries);
        self
    }

    /// The cap on tool rounds per turn (default: the client's, 16).
    pub fn max_tool_rounds(mut self, rounds: u32) -> Self {
        self.max_tool_rounds = Some(rounds.max(1));
        self
    }

    /// How long one tool call may run (default: no limit). A call still running then is dropped (its future
    /// is cancelled) and answered with [`ToolCallResult::Timeout`], which the model reads like any failed
    /// result; the turn goes on. Time is the client's [`sleep`](crate::CopilotClientBuilder::sleep).
    pub fn tool_timeout(mut self, limit: impl Into<Option<Duration>>) -> Self {
        self.tool_timeout = limit.into();
        self
    }

    /// How long [`Session::send_and_wait`] waits (default: the client's, 5 minutes).
    pub fn turn_timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.turn_timeout = Some(timeout.into());
        self
    }

    /// What to do when the model calls a tool this session does not have (default
    /// [`UnknownToolPolicy::ErrorResult`]: tell the model and continue). The round cap
    /// ([`max_tool_rounds`](Self::max_tool_rounds)) applies to the tools the session does have either way.
    pub fn unknown_tool_policy(mut self, policy: UnknownToolPolicy) -> Self {
        self.unknown_tool_policy = policy;
        self
    }

    /// A soft budget in AI credits (default: none), checked against [`Session::usage`] (the cost Copilot
    /// reports for every request) before each turn: the turn that crosses it runs to its end, tool rounds
    /// included, and the next one is refused before anything is sent, with
    /// [`SdkError::BudgetExceeded`] and a [`SessionEvent::BudgetExceeded`] event. A resumed session counts
    /// what it had spent before; like the tools, the budget is not saved, so pass it again when resuming.
    /// `None` removes the limit; a negative or NaN budget is 0 (every turn is refused).
    ///
    /// ```
    /// use copilot_sdk::SessionConfig;
    ///
    /// let config = SessionConfig::new().model("gpt-4.1").max_ai_credits(2.5);
    /// # let _ = config;
    /// ```
    pub fn max_ai_credits(mut self, credits: impl Into<Option<f64>>) -> Self {
        self.max_ai_credits = credits.into();
        self
    }

    /// When the session compacts its history to stay within the model's context (default: enabled, in
    /// the background from 80% of the model's `max_prompt_tokens`, before the next request from 95%), the
    /// official SDK's `infiniteSessions`. Compaction summarises the older turns with the session's model, in
    /// a request labelled for billing as compaction (`X-Initiator: agent`, `X-Interaction-Type:
    /// conversation-background`), keeps the most recent turns verbatim and never separates tool calls from
    /// their results. See [`InfiniteSessionConfig`] and `docs/protocol.md` §11.
    pub fn infinite_sessions(mut self, config: InfiniteSessionConfig) -> Self {
        self.infinite_sessions = config;
        self
    }

    /// Code run at fixed points of the session: before a prompt is sent, around tool calls, on a failed
    /// model request, at start and at [`Session::close`] (see [`SessionHooks`] and its module docs for
    /// what each decision does to billing). Like the tools and the permission handler, hooks are never
    /// saved: pass them again to [`CopilotClient::resume_session`].
    pub fn hooks(mut self, hooks: impl SessionHooks + 'static) -> Self {
        self.hooks = Some(SharedHooks(Arc::new(hooks)));
        self
    }

    /// Whether model rounds are streamed (default `true`). With `false`, models served by
    /// `/chat/completions` are asked for the whole answer at once (`CopilotApiClient::chat`), and Claude
    /// models served by `/v1/messages` likewise (`CopilotApiClient::messages`, no `stream` field; the
    /// thinking blocks keep their signatures for the next turn); the turn then reports the answer as one
    /// [`SessionEvent::MessageDelta`] (and one [`SessionEvent::ReasoningDelta`] per kind of reasoning)
    /// when it is complete. Models served by `/responses` are always streamed.
    pub fn streaming(mut self, enabled: bool) -> Self {
        self.streaming = Some(enabled);
        self
    }

    /// Whether Responses turns go over the Responses WebSocket when the model lists `ws:/responses`
    /// (default `true`; the official SDK's `enableWebSocketResponses`). The session then keeps one socket
    /// for its turns instead of a request each, and falls back to HTTP `/responses` by itself when the
    /// upgrade fails (behind a proxy, say); `false` always uses HTTP. Models served by `/chat/completions`
    /// or `/v1/messages` are not affected. See `CopilotApiClient::responses_ws_stream`.
    pub fn websocket(mut self, enabled: bool) -> Self {
        self.websocket = Some(enabled);
        self
    }

    /// Sends the session's model requests to a provider of your own key instead of Copilot (bring your
    /// own key, the official SDK's `provider`): OpenAI or compatible, Azure OpenAI or Anthropic. No GitHub
    /// sign-in is needed for such a session, a [`model`](Self::model) is (the provider's model, or the
    /// Azure deployment), and none of Copilot's headers is sent to the provider. Turns go to
    /// `/chat/completions` or `/responses` per [`Provider::wire_api`](copilot_core::Provider::wire_api), or
    /// to `/v1/messages` for Anthropic. The base URL must be `https` (or `http` to a loopback address):
    /// [`CopilotClient::create_session`] refuses any other with [`SdkError::Transport`]. Like the tools,
    /// the provider and its key are never saved: pass it again to [`CopilotClient::resume_session`].
    ///
    /// ```
    /// use copilot_sdk::{Provider, SessionConfig, WireApi};
    ///
    /// let provider = Provider::openai("https://api.openai.com/v1".parse().unwrap(), "sk-...")
    ///     .wire_api(WireApi::Responses);
    /// let config = SessionConfig::new().model("gpt-5").provider(provider);
    /// assert!(!format!("{config:?}").contains("sk-..."));
    /// ```
    pub fn provider(mut self, provider: copilot_core::Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// What the session's requests are for (default [`RequestPurpose::Conversation`]: a user's
    /// conversation, billed `X-Initiator: user` for each prompt). A sub-agent's session, or one that compacts
    /// or summarises in the background, is labelled as such (`X-Interaction-Type`) and every request of it is
    /// sent with `X-Initiator: agent` (`docs/protocol.md` §11).
    pub fn purpose(mut self, purpose: RequestPurpose) -> Self {
        self.purpose = purpose;
        self
    }
}

pub(crate) type TurnFuture = BoxFuture<'static, Result<AssistantMessage, SdkError>>;

/// A turn that timed out in [`Session::send_and_wait`], kept so that [`Session::resume_turn`] can wait again.
struct ParkedTurn {
    future: TurnFuture,
    progress: Arc<Mutex<Progress>>,
}

/// What changes over a session's life.
pub(crate) struct SessionState {
    pub(crate) model: String,
    pub(crate) system_message: Option<SystemMessage>,
    pub(crate) reasoning_effort: Option<ReasoningEffort>,
    pub(crate) history: Vec<HistoryEntry>,
    pub(crate) approved_tools: HashSet<String>,
    /// Calls the last turn handed back to the caller, still without results.
    pub(crate) pending_calls: Vec<RequestedToolCall>,
    /// Completed user turns.
    pub(crate) turn_count: u64,
    /// A title: the start of the first prompt.
    pub(crate) summary: Option<String>,
    /// Tokens and AI credits spent, as reported.
    pub(crate) usage: SessionUsage,
    /// The Auto model's session, when the model is `auto` (never saved: its token is a credential).
    pub(crate) auto_model: auto::AutoModelState,
    /// The prompt tokens the last request reported, to measure context use from.
    pub(crate) context: Option<compaction::Measured>,
    /// Bumped by every change to the history other than an append (compaction, rewind, truncate), so a
    /// background compaction planned on an older history is not applied to a newer one.
    pub(crate) history_epoch: u64,
    /// The history's length when a compaction last failed: background compaction waits for a new turn.
    pub(crate) compaction_failed_at: Option<usize>,
}

impl SessionState {
    /// A fresh state: nothing spent, nothing approved, no turns yet.
    pub(crate) fn new(
        model: String,
        system_message: Option<SystemMessage>,
        reasoning_effort: Option<ReasoningEffort>,
        history: Vec<HistoryEntry>,
    ) -> Self {
        SessionState {
            model,
            system_message,
            reasoning_effort,
            history,
            approved_tools: HashSet::new(),
            pending_calls: Vec::new(),
            turn_count: 0,
            summary: None,
            usage: SessionUsage::default(),
            auto_model: auto::AutoModelState::default(),
            context: None,
            history_epoch: 0,
            compaction_failed_at: None,
        }
    }
}

pub(crate) struct SessionInner {
    pub(crate) id: String,
    pub(crate) client: CopilotClient,
    pub(crate) tools: Vec<Tool>,
    pub(crate) permission: Option<PermissionHandler>,
    pub(crate) max_tool_rounds: u32,
    pub(crate) tool_timeout: Option<Duration>,
    pub(crate) streaming: bool,
    /// [`SessionConfig::websocket`].
    pub(crate) websocket: bool,
    pub(crate) unknown_tool_policy: UnknownToolPolicy,
    /// The options of every model request: the session's [`RequestPurpose`].
    pub(crate) request_options: copilot_api::RequestOptions,
    pub(crate) hooks: Option<Arc<dyn SessionHooks>>,
    /// [`SessionConfig::max_ai_credits`] in nano-AIU.
    pub(crate) max_nano_aiu: Option<u64>,
    /// [`SessionConfig::provider`]'s client: the model requests go there instead of Copilot.
    pub(crate) provider: Option<turn::ProviderBackend>,
    /// [`SessionConfig::infinite_sessions`].
    pub(crate) infinite: InfiniteSessionConfig,
    /// The background compaction running, if any (aborted when dropped with the session).
    background: Mutex<Option<compaction::Background>>,
    /// Set by [`Session::close`]: no more turns.
    closed: AtomicBool,
    turn_timeout: Duration,
    state: Mutex<SessionState>,
    /// One turn at a time: a second `send` waits for the first to finish.
    pub(crate) turn_lock: Arc<tokio::sync::Mutex<()>>,
    pub(crate) cancel: Mutex<CancellationToken>,
    parked: Mutex<Option<ParkedTurn>>,
    pub(crate) hub: Arc<EventHub>,
    pub(crate) created_at: SystemTime,
    /// Where the session is saved after every turn, and the lock that makes it this session's alone (released
    /// when the last clone of the session is dropped).
    pub(crate) store: Option<(Arc<dyn SessionStore>, SessionLock)>,
    /// The connected MCP servers (their processes die with the session).
    #[cfg(feature = "mcp")]
    pub(crate) mcp: crate::mcp::McpConnections,
}

impl SessionInner {
    /// The session's tool named `name`.
    pub(crate) fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|tool| tool.name() == name)
    }

    pub(crate) fn background(&self) -> MutexGuard<'_, Option<compaction::Background>> {
        // Only ever assigned or taken whole.
        self.background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, SessionState> {
        // Every update is a single push or assignment, so a poisoned lock still holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A conversation with a model: history, tools, a permission handler. The official Copilot SDK's `session`.
///
/// Cheap to clone (clones are the same session). One turn runs at a time; a `send` while another turn runs
/// waits for it.
///
/// # Timeouts do not lose the turn
///
/// When [`send_and_wait`](Self::send_and_wait) times out it returns [`SdkError::Timeout`] with the text
/// received so far, and **parks** the unfinished turn in the session: [`resume_turn`](Self::resume_turn) waits for
/// the same turn again (nothing is re-sent). Starting another turn or calling [`abort`](Self::abort)
/// abandons a parked turn; its prompt and its completed tool rounds stay in the history. While parked, the
/// turn is not polled, so a long wait may let the server's stream time out.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("model", &self.model())
            .field("tools", &self.inner.tools.len())
            .finish_non_exhaustive()
    }
}

/// Where a session comes from.
pub(crate) enum Origin {
    /// A new session.
    New,
    /// A saved session continued.
    Resumed(Box<SessionRecord>),
}

/// A new session id.
pub(crate) fn new_session_id() -> String {
    format!("session-{}", uuid::Uuid::new_v4())
}

impl Session {
    /// Connects the MCP servers of `config` and adds their tools to it; the connections are handed to the
    /// session with [`attach_mcp`](Self::attach_mcp).
    #[cfg(feature = "mcp")]
    pub(crate) async fn connect_mcp(
        client: &CopilotClient,
        config: &mut SessionConfig,
    ) -> Result<crate::mcp::McpConnections, SdkError> {
        let (connections, tools) = crate::mcp::McpConnections::connect(
            &config.mcp_servers,
            &config.tools,
            client.sleeper(),
        )
        .await?;
        config.tools.extend(tools);
        Ok(connections)
    }

    #[cfg(feature = "mcp")]
    pub(crate) fn attach_mcp(&self, connections: crate::mcp::McpConnections) {
        self.inner.mcp.attach(connections);
    }

    /// A session with `config` on `client`; `model` is the model of its first turn. Saved records restore
    /// their state (settings in `config` win over saved ones); `store` is where it is saved.
    pub(crate) fn open(
        client: CopilotClient,
        config: SessionConfig,
        model: String,
        origin: Origin,
        store: Option<(Arc<dyn SessionStore>, SessionLock)>,
        provider: Option<turn::ProviderBackend>,
    ) -> Self {
        let now = client.clock().now();
        let (id, created_at, log, state) = match origin {
            Origin::New => (
                config.session_id.clone().unwrap_or_else(new_session_id),
                now,
                Vec::new(),
                SessionState::new(
                    model,
                    config.system_message.clone(),
                    config.reasoning_effort.clone(),
                    config.history.clone(),
                ),
            ),
            Origin::Resumed(record) => persist::restore(*record, &config, model),
        };
        Session {
            inner: Arc::new(SessionInner {
                id,
                hub: EventHub::new(client.clock().clone(), log),
                created_at,
                store,
                max_tool_rounds: config.max_tool_rounds.unwrap_or(client.max_tool_rounds()),
                tool_timeout: config.tool_timeout,
                turn_timeout: config.turn_timeout.unwrap_or(client.turn_timeout()),
                streaming: config.streaming.unwrap_or(true),
                websocket: config.websocket.unwrap_or(true),
                unknown_tool_policy: config.unknown_tool_policy,
                request_options: copilot_api::RequestOptions::new().purpose(config.purpose),
                hooks: config.hooks.map(|hooks| hooks.0),
                // `as` saturates: NaN and negatives are 0, huge values u64::MAX.
                max_nano_aiu: config
                    .max_ai_credits
                    .map(|credits| (credits * 1e9).round() as u64),
                infinite: config.infinite_sessions,
                background: Mutex::new(None),
                closed: AtomicBool::new(false),
                provider,
                client,
                tools: config.tools,
                permission: config.permission_handler,
                state: Mutex::new(state),
                turn_lock: Arc::new(tokio::sync::Mutex::new(())),
                cancel: Mutex::new(CancellationToken::new()),
                parked: Mutex::new(None),
                #[cfg(feature = "mcp")]
                mcp: crate::mcp::McpConnections::default(),
            }),
        }
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The model used for the next turn.
    pub fn model(&self) -> String {
        self.inner.state().model.clone()
    }

    /// Switches the model for the following turns. The history is kept; each earlier answer's reasoning
    /// goes back only to the model that wrote it ([`HistoryEntry::model`]). The reasoning effort stays as
    /// set: Copilot refuses an effort the new model does not list (`ApiError::InvalidReasoningEffort`,
    /// naming the ones it takes), so change or clear it with [`Session::set_reasoning_effort`].
    pub fn set_model(&self, model: impl Into<String>) {
        self.inner.state().model = model.into();
    }

    /// Sets the reasoning effort for the following turns.
    pub fn set_reasoning_effort(&self, effort: Option<ReasoningEffort>) {
        self.inner.state().reasoning_effort = effort;
    }

    /// How full the model's context is: the prompt tokens the next request would send, against the
    /// model's `max_prompt_tokens` (see [`InfiniteSessionConfig`]). Reads the models list (cached).
    pub async fn context_usage(&self) -> Result<ContextUsage, SdkError> {
        // A provider's models are not described: no limit is known.
        let info = match &self.inner.provider {
            Some(_) => None,
            None => {
                let started = self.inner.client.started().await?;
                started.api.model(&self.model()).await.ok().flatten()
            }
        };
        let state = self.inner.state();
        Ok(ContextUsage {
            current_tokens: compaction::current_tokens(&state, &self.inner.tools),
            token_limit: info.as_ref().and_then(compaction::token_limit),
            messages_length: state.history.len(),
        })
    }

    /// What the session has spent so far: requests, tokens (incl. cached and reasoning tokens) and
    /// Copilot's AI-credit cost, summed over every model round of every turn. See [`SessionUsage`].
    pub fn usage(&self) -> SessionUsage {
        self.inner.state().usage.clone()
    }

    /// The conversation so far (without the system message): user prompts, assistant answers and tool
    /// rounds, in the chat-completions shape.
    pub fn history(&self) -> Vec<Message> {
        self.inner
            .state()
            .history
            .iter()
            .map(|entry| entry.message.clone())
            .collect()
    }

    /// The history with the SDK's state beside each message: what to store to restore this conversation
    /// later with [`SessionConfig::history_entries`] (serde-serialisable).
    pub fn history_entries(&self) -> Vec<HistoryEntry> {
        self.inner.state().history.clone()
    }

    /// Undoes the last `turns` turns: each from the user's prompt through its tool rounds and answer (a
    /// cut never separates tool calls from their results). Waits for a running turn to end, then saves the
    /// session. Returns how many turns were removed; the turn count drops by as many, the cost spent stays.
    pub async fn rewind(&self, turns: usize) -> Result<usize, SdkError> {
        self.edit_history(|state| {
            let removed = history::rewind(&mut state.history, turns);
            if removed > 0 {
                // The calls a removed turn handed back are gone with it.
                state.pending_calls.clear();
                state.turn_count = state.turn_count.saturating_sub(removed as u64);
            }
            removed
        })
        .await
    }

    /// Keeps only the last `turns` turns of the history (older turns, and anything before them, are
    /// dropped whole), so a long session fits a smaller context. Waits for a running turn to end, then
    /// saves. Returns how many turns were dropped; the turn count and the cost spent stay.
    pub async fn truncate(&self, turns: usize) -> Result<usize, SdkError> {
        self.edit_history(|state| {
            let removed = history::keep_last(&mut state.history, turns);
            if state.history.is_empty() {
                state.pending_calls.clear();
            }
            removed
        })
        .await
    }

    async fn edit_history(
        &self,
        edit: impl FnOnce(&mut SessionState) -> usize,
    ) -> Result<usize, SdkError> {
        let _no_turn_meanwhile = self.inner.turn_lock.clone().lock_owned().await;
        let removed = {
            let mut state = self.inner.state();
            let removed = edit(&mut state);
            if removed > 0 {
                state.history_epoch = state.history_epoch.wrapping_add(1);
                state.context = None;
            }
            removed
        };
        if removed > 0 {
            self.inner.save().await?;
        }
        Ok(removed)
    }

    /// The persisted event log, oldest first, in the official SDK's envelope: `session.start` (or
    /// `session.resume`), `user.message`, `tool.execution_start`, `tool.execution_complete`,
    /// `assistant.message`, `session.error`, … A resumed session's log continues the saved one. Deltas,
    /// usage and `session.idle` are ephemeral: delivered to [`subscribe`](Self::subscribe) and
    /// [`on`](Self::on) only.
    pub fn events(&self) -> Vec<EventEnvelope> {
        self.inner.hub.log()
    }

    /// The session's events from now on, ephemeral ones included, as a `Stream` of [`EventEnvelope`]s (the
    /// official SDK's `session.on` as a stream). Events of every turn arrive, however it was started
    /// ([`send`](Self::send), [`send_and_wait`](Self::send_and_wait), …).
    pub fn subscribe(&self) -> EventSubscription {
        self.inner.hub.subscribe()
    }

    /// Calls `handler` with every event from now on, until the returned guard is dropped. Handlers run on
    /// the task driving the turn, in registration order: keep them short (hand work to a channel or a task).
    pub fn on(&self, handler: impl Fn(&EventEnvelope) + Send + Sync + 'static) -> Unsubscribe {
        self.inner.hub.add_handler(None, Arc::new(handler))
    }

    /// Calls `handler` with every event of type `kind` (e.g. `"assistant.message"`, see
    /// [`SessionEvent::kind`]) from now on, until the returned guard is dropped.
    pub fn on_kind(
        &self,
        kind: impl Into<String>,
        handler: impl Fn(&EventEnvelope) + Send + Sync + 'static,
    ) -> Unsubscribe {
        self.inner
            .hub
            .add_handler(Some(kind.into()), Arc::new(handler))
    }

    /// Records `session.start` or `session.resume`, and runs the start hook.
    pub(crate) async fn record_start(&self, source: SessionStartSource) {
        let kind = match source {
            SessionStartSource::Resumed => "session.resume",
            _ => "session.start",
        };
        let data = serde_json::json!({
            "sessionId": self.inner.id,
            "selectedModel": self.model(),
            "eventCount": self.inner.hub.log().len(),
        });
        self.inner.hub.record(kind, data);
        if let Some(hooks) = &self.inner.hooks {
            let start = SessionStart {
                session_id: self.inner.id.clone(),
                source,
                model: self.model(),
                history_len: self.inner.state().history.len(),
            };
            hooks.on_session_start(&start).await;
        }
    }

    /// Ends the session: aborts a running turn, abandons a parked one, saves the session, records
    /// `session.shutdown`, runs [`SessionHooks::on_session_end`] and disconnects its MCP servers, killing
    /// and reaping their processes (once; closing again does nothing).
    /// Later turns fail with [`SdkError::SessionClosed`]. The store's lock is released when the last clone
    /// of the session is dropped.
    pub async fn close(&self) -> Result<(), SdkError> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // A running turn ends with `SdkError::Aborted` the next time it is polled (and saves itself then).
        self.abort();
        compaction::settle_on_close(&self.inner);
        let (turn_count, total_cost) = {
            let state = self.inner.state();
            (state.turn_count, state.usage.credits())
        };
        self.inner.hub.record(
            "session.shutdown",
            serde_json::json!({"reason": "closed", "turnCount": turn_count, "totalAiCredits": total_cost}),
        );
        let saved = self.save().await;
        if let Some(hooks) = &self.inner.hooks {
            let end = SessionEnd {
                session_id: self.inner.id.clone(),
                reason: SessionEndReason::Closed,
                turn_count,
                total_ai_credits: total_cost,
            };
            hooks.on_session_end(&end).await;
        }
        #[cfg(feature = "mcp")]
        self.inner.mcp.close(self.inner.client.sleeper()).await;
        saved
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Saves the session to its store, if it has one.
    pub(crate) async fn save(&self) -> Result<(), SdkError> {
        self.inner.save().await
    }

    /// The client this session belongs to.
    pub fn client(&self) -> &CopilotClient {
        &self.inner.client
    }

    /// Sends a prompt and streams the turn's [`SessionEvent`]s, ending with [`SessionEvent::Idle`].
    ///
    /// The turn runs as the stream is polled; dropping the stream abandons it. A model stream that ends
    /// before the model reported a finish reason (cut off, with or without `[DONE]`) fails the turn with
    /// `SdkError::Api(ApiError::StreamInterrupted { .. })`; the deltas already sent stay sent, but the partial
    /// answer does not enter the history.
    pub fn send(&self, message: impl Into<MessageOptions>) -> EventStream {
        self.drop_parked();
        self.stream_turn(TurnInput::Prompt(message.into()))
    }

    /// Tool calls the last turn handed back ([`UnknownToolPolicy::ReturnToCaller`]) that have no result yet.
    pub fn pending_tool_calls(&self) -> Vec<RequestedToolCall> {
        self.inner.state().pending_calls.clone()
    }

    /// Continues the conversation with the caller's results for the calls the last turn handed back
    /// ([`AssistantMessage::tool_calls`]), streaming the turn like [`send`](Self::send). The request goes out
    /// with `X-Initiator: agent`, as every tool-result request does. A pending call missing from `results`
    /// is answered as failed ("no result was returned"); an id that is not pending fails the turn with
    /// [`SdkError::Config`] before anything is sent.
    pub fn send_tool_results(
        &self,
        results: impl IntoIterator<Item = (String, ToolCallResult)>,
    ) -> EventStream {
        self.drop_parked();
        self.stream_turn(TurnInput::ToolResults(results.into_iter().collect()))
    }

    /// [`send_tool_results`](Self::send_tool_results), waiting (up to the session's turn timeout) for the
    /// final answer.
    pub async fn send_tool_results_and_wait(
        &self,
        results: impl IntoIterator<Item = (String, ToolCallResult)>,
    ) -> Result<AssistantMessage, SdkError> {
        self.wait_for_turn(
            TurnInput::ToolResults(results.into_iter().collect()),
            self.inner.turn_timeout,
        )
        .await
    }

    fn stream_turn(&self, input: TurnInput) -> EventStream {
        let session = self.clone();
        EventStream::new(self.inner.hub.clone(), move |sink: EventSink| async move {
            match session.turn(input, sink.clone(), Arc::default()).await {
                Ok(answer) => sink.deliver(SessionEvent::AssistantMessage(answer)).await,
                Err(error) => sink.deliver(SessionEvent::Error(error)).await,
            }
            sink.deliver(SessionEvent::Idle).await;
        })
    }

    /// Sends a prompt and waits (up to the session's turn timeout) for the final answer, running any tool
    /// rounds in between. On timeout see [the type docs](Self#timeouts-do-not-lose-the-turn).
    pub async fn send_and_wait(
        &self,
        message: impl Into<MessageOptions>,
    ) -> Result<AssistantMessage, SdkError> {
        self.send_and_wait_with_timeout(message, self.inner.turn_timeout)
            .await
    }

    /// [`send_and_wait`](Self::send_and_wait) with an explicit timeout.
    pub async fn send_and_wait_with_timeout(
        &self,
        message: impl Into<MessageOptions>,
        timeout: Duration,
    ) -> Result<AssistantMessage, SdkError> {
        self.wait_for_turn(TurnInput::Prompt(message.into()), timeout)
            .await
    }

    async fn wait_for_turn(
        &self,
        input: TurnInput,
        timeout: Duration,
    ) -> Result<AssistantMessage, SdkError> {
        self.drop_parked();
        let progress: Arc<Mutex<Progress>> = Arc::default();
        let session = self.clone();
        let progress_for_turn = progress.clone();
        let future: TurnFuture = Box::pin(async move {
            session
                .turn(
                    input,
                    EventSink::hub_only(session.inner.hub.clone()),
                    progress_for_turn,
                )
                .await
        });
        self.wait(future, progress, timeout).await
    }

    /// Waits again for a turn that [`send_and_wait`](Self::send_and_wait) gave up on with
    /// [`SdkError::Timeout`]. Errors with [`SdkError::Config`] if no turn is parked.
    pub async fn resume_turn(&self, timeout: Duration) -> Result<AssistantMessage, SdkError> {
        let parked = self
            .inner
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| SdkError::config("no timed-out turn is waiting to be resumed"))?;
        self.wait(parked.future, parked.progress, timeout).await
    }

    /// Whether a timed-out turn is parked (see [`resume_turn`](Self::resume_turn)).
    pub fn has_parked_turn(&self) -> bool {
        self.inner
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Sends a prompt that must be answered with JSON following `schema`, and decodes the answer as `T`.
    ///
    /// With the `schemars` feature, `OutputSchema::of::<T>()` derives the schema from the type.
    pub async fn send_and_wait_json<T: DeserializeOwned>(
        &self,
        message: impl Into<MessageOptions>,
        schema: OutputSchema,
    ) -> Result<T, SdkError> {
        let answer = self
            .send_and_wait(message.into().output_schema(schema))
            .await?;
        let json = strip_code_fence(&answer.content);
        serde_json::from_str(json).map_err(|e| SdkError::StructuredOutput {
            message: e.to_string(),
            content: answer.content.clone(),
        })
    }

    /// Aborts the running turn (it ends with [`SdkError::Aborted`]) and abandons a parked one.
    pub fn abort(&self) {
        self.inner
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancel();
        self.drop_parked();
    }

    fn drop_parked(&self) {
        let parked = self
            .inner
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Dropped outside the lock: dropping a turn releases its turn lock.
        drop(parked);
    }

    async fn wait(
        &self,
        mut future: TurnFuture,
        progress: Arc<Mutex<Progress>>,
        timeout: Duration,
    ) -> Result<AssistantMessage, SdkError> {
        let timer = self.inner.client.sleeper().sleep(timeout);
        tokio::select! {
            result = &mut future => result,
            () = timer => {
                let snapshot = progress.lock().unwrap_or_else(PoisonError::into_inner).clone();
                *self.inner.parked.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(ParkedTurn { future, progress });
                Err(SdkError::Timeout {
                    after: timeout,
                    partial_content: snapshot.content,
                    tool_rounds: snapshot.tool_rounds,
                })
            }
        }
    }

    async fn turn(
        &self,
        input: TurnInput,
        sink: EventSink,
        progress: Arc<Mutex<Progress>>,
    ) -> Result<AssistantMessage, SdkError> {
        let counts_as_turn = matches!(input, TurnInput::Prompt(_));
        let _one_turn_at_a_time = self.inner.turn_lock.clone().lock_owned().await;
        if self.is_closed() {
            return Err(SdkError::SessionClosed {
                id: self.inner.id.clone(),
            });
        }
        let cancel = CancellationToken::new();
        *self
            .inner
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = cancel.clone();
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(SdkError::Aborted),
            result = async {
                let answer = turn::run(&self.inner, input, &sink, &progress).await?;
                compaction::after_round(&self.inner, &sink).await?;
                Ok(answer)
            } => result,
        };
        // The turn's last events go to the hub here, so `send` and `send_and_wait` record the same log;
        // `send` then delivers them to its stream.
        match &result {
            Ok(answer) => {
                let event = SessionEvent::AssistantMessage(answer.clone());
                sink.record(event.kind(), event.envelope_data());
                self.inner.state().turn_count += u64::from(counts_as_turn);
            }
            Err(error) => sink.record(
                "session.error",
                serde_json::json!({"message": error.to_string()}),
            ),
        }
        sink.record(
            SessionEvent::Idle.kind(),
            SessionEvent::Idle.envelope_data(),
        );
        // Whatever the turn reached (a failed turn keeps its prompt and completed tool rounds) is saved.
        if let Err(error) = self.inner.save().await {
            tracing::warn!(session = %self.inner.id, %error, "the session could not be saved; the next turn retries");
        }
        result
    }
}

/// Models sometimes wrap JSON in a Markdown code fence even when asked for a schema.
fn strip_code_fence(content: &str) -> &str {
    let trimmed = content.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}
