//! The copilot-rs façade: the official Copilot SDK's client API in Rust, with no CLI process behind it.
//!
//! ```no_run
//! use copilot_sdk::{CopilotClient, PermissionHandler, SessionConfig};
//!
//! # async fn demo(user_token: String, user_id: u64) -> Result<(), copilot_sdk::SdkError> {
//! let client = CopilotClient::builder().github_token(user_token).use_logged_in_user(false).build()?;
//! client.start().await?;                                  // validates the credential, resolves endpoints
//! let session = client.create_session(SessionConfig::new()
//!     .session_id(format!("user-{user_id}-session")).model("gpt-4.1")
//!     .on_permission_request(PermissionHandler::approve_all())).await?;
//! let response = session.send_and_wait("Hello!").await?;
//! println!("{}", response.content);
//! # Ok(()) }
//! ```
//!
//! (The same program runs against `copilot-mock` in this crate's tests, `tests/sdk/seeds.rs`.)
//!
//! # Pieces
//!
//! - [`CopilotClient`]: one identity. Its builder takes an explicit GitHub token or falls back (unless
//!   `use_logged_in_user(false)`) to the environment, the token store and opt-in editor files, in the
//!   official SDK's order. [`start`](CopilotClient::start) exchanges the token (or goes direct for tokens of
//!   your own app) and resolves the Copilot endpoint; tokens then refresh lazily, single-flight, and a 401
//!   from Copilot is retried once with fresh credentials. Classic PATs (`ghp_`) are refused before any
//!   request.
//! - [`Session`]: a conversation. [`send`](Session::send) streams [`SessionEvent`]s,
//!   [`send_and_wait`](Session::send_and_wait) returns the final [`AssistantMessage`] (a timeout parks the
//!   turn instead of losing it), [`send_and_wait_json`](Session::send_and_wait_json) decodes structured
//!   output. Models whose models-list entry lists `/v1/messages` (Claude) are routed to Copilot's native
//!   Messages API, so their thinking blocks and signatures are replayed on later turns (kept beside each
//!   message in [`HistoryEntry::thinking_blocks`], saved with the session); responses-only models go to
//!   `/responses`, over the Responses WebSocket when the model lists `ws:/responses` (one socket for the
//!   session's turns, HTTP when the upgrade fails; [`SessionConfig::websocket`]`(false)` turns it off). A
//!   stream that ends
//!   without a finish reason fails the turn ([`api::ApiError::StreamInterrupted`]) instead of passing a
//!   truncated answer off as complete; [`SessionConfig::streaming`]`(false)` asks chat models for whole
//!   answers instead of streams.
//! - Errors: anything that means "sign in (again)" — a revoked GitHub token found mid-session included —
//!   is [`SdkError::Unauthorized`] or [`SdkError::SignInRequired`] ([`SdkError::requires_sign_in`]).
//!   Copilot API calls are retried per [`CopilotClientBuilder::retry_policy`] until the first answer byte.
//! - [`Tool`] and [`PermissionHandler`]: the tool loop. Approved calls of one round run concurrently; results
//!   go back with `X-Initiator: agent`; handler errors become failed results the model reads; the number of
//!   rounds is capped. A call of a tool the session does not have is answered as failed, or handed back to
//!   the caller without another request ([`UnknownToolPolicy`]). A call may be limited in time
//!   ([`SessionConfig::tool_timeout`]). Every call ends as a typed [`ToolCallResult`], as the official SDK
//!   types it in `tool.execution_complete`: `Success`, `Failure`, `Rejected` (permission handler), `Denied`
//!   (hook) or `Timeout`.
//! - [`SessionHooks`] ([`SessionConfig::hooks`], module [`hooks`]): rewrite a prompt before it is sent,
//!   allow / deny / change / annotate a tool call before it runs, replace or annotate its result, decide
//!   whether a failed model request is retried, skipped or ends the turn, and observe the session's start
//!   and [`close`](Session::close). A rewritten prompt is still one `X-Initiator: user` request, a denied
//!   call is a [`ToolCallResult::Denied`] the model reads, and nothing is re-sent unless the hook returns
//!   [`ErrorDecision::Retry`]. The example `hooks` runs against the mock in the tests.
//! - MCP servers (feature `mcp`, module `mcp`): `SessionConfig::mcp_server` connects a session to an
//!   MCP server, a child process over stdio or a streamable-HTTP endpoint (https, or http to loopback), with
//!   the official Rust MCP SDK. Its tools join the tool loop as `<server>-<tool>` and go through the
//!   permission handler ([`PermissionKind::Mcp`]) and the hooks; a server that hangs or dies gives
//!   `Timeout` / `Failure` results, never a hung turn, and [`Session::close`] kills its process. The
//!   example `mcp_tools` runs against the mock in the tests.
//!
//!   ```no_run
//!   # #[cfg(feature = "mcp")]
//!   # async fn demo(client: copilot_sdk::CopilotClient) -> Result<(), copilot_sdk::SdkError> {
//!   use std::time::Duration;
//!   use copilot_sdk::{McpServer, PermissionHandler, PermissionKind, PermissionDecision, SessionConfig};
//!
//!   let session = client.create_session(SessionConfig::new()
//!       .model("gpt-4.1")
//!       .mcp_server("files", McpServer::stdio("mcp-server-filesystem", ["/srv/docs"], [("LOG_LEVEL", "warn")])
//!           .timeout(Duration::from_secs(20)))
//!       .on_permission_request(PermissionHandler::from_fn(|request| match &request.kind {
//!           PermissionKind::Mcp { tool_name, .. } if tool_name.starts_with("read") => PermissionDecision::ApproveOnce,
//!           _ => PermissionDecision::reject("only reads are allowed"),
//!       }))).await?;
//!   let answer = session.send_and_wait("Summarise /srv/docs/README.md (use files-read_text_file)").await?;
//!   println!("{}", answer.content);
//!   session.close().await?;                                  // ends the server process
//!   # Ok(()) }
//!   ```
//! - Limits: [`SessionConfig::max_ai_credits`] is a soft AI-credit budget over [`Session::usage`]: the
//!   turn that crosses it completes, the next is refused before anything is sent
//!   ([`SdkError::BudgetExceeded`], [`SessionEvent::BudgetExceeded`]).
//! - Prompts: [`SessionConfig::system_message`] takes a [`SystemMessage`], appended to the seeded history's
//!   base system message (the default, as for a plain string) or replacing it. [`MessageOptions`] carries
//!   [`Attachment`]s: text files, `text/*` or `image/*` blobs, directory listings (names only, bounded) and
//!   images, checked against the model's vision support and limits before anything is sent
//!   ([`SdkError::AttachmentRefused`]) and downscaled to its `max_prompt_image_size`:
//!
//!   ```
//!   use copilot_sdk::{Attachment, MessageOptions, SessionConfig, SystemMessage};
//!
//!   let config = SessionConfig::new()
//!       .model("gpt-4.1")
//!       .system_message(SystemMessage::replace("You review Rust code."));
//!   let prompt = MessageOptions::new("Is this module sound?")
//!       .attachment(Attachment::file("src/lib.rs"))
//!       .attachment(Attachment::directory("src"))
//!       .attachment(Attachment::blob("image/png", "iVBORw0KGgo="));
//!   assert_eq!(prompt.attachments.len(), 3);
//!   # let _ = config;
//!   ```
//! - Bring your own key: [`SessionConfig::provider`] sends a session's turns to OpenAI (or a compatible
//!   server), Azure OpenAI or Anthropic with the user's own [`Provider`] key instead of Copilot, with no
//!   GitHub sign-in and none of Copilot's headers; the key is redacted, never logged, never saved, and sent
//!   only to the provider's https (or loopback http) base URL (`docs/protocol.md` §17):
//!
//!   ```no_run
//!   use copilot_sdk::{CopilotClient, Provider, SessionConfig};
//!
//!   # async fn demo(key: String) -> Result<(), copilot_sdk::SdkError> {
//!   let client = CopilotClient::builder().use_logged_in_user(false).build()?;
//!   let provider = Provider::anthropic("https://api.anthropic.com".parse().unwrap(), key);
//!   let session = client
//!       .create_session(SessionConfig::new().model("claude-sonnet-4-5").provider(provider))
//!       .await?;
//!   println!("{}", session.send_and_wait("Hello!").await?.content);
//!   # Ok(()) }
//!   ```
//! - Infinite sessions ([`SessionConfig::infinite_sessions`], [`InfiniteSessionConfig`], on by default):
//!   context use is tracked against the model's `max_prompt_tokens` from the usage each request reports
//!   ([`Session::context_usage`]); past 80% the older turns are summarised in the background, past 95%
//!   before the next request is sent, in a request billed as compaction (`X-Initiator: agent`,
//!   `X-Interaction-Type: conversation-background`). Recent turns stay verbatim, tool calls stay with their
//!   results, [`SessionEvent::CompactionStart`] / [`SessionEvent::CompactionComplete`] report each one, and
//!   the summary ([`HistoryEntry::compaction_summary`]) is saved and resumed with the history. A request
//!   that cannot fit even so is refused before sending ([`SdkError::ContextWindowExceeded`]). Against the
//!   mock's small-context model:
//!
//!   ```
//!   use copilot_mock::{MockConfig, MockServer, SMALL_CONTEXT_MODEL};
//!   use copilot_sdk::{CopilotClient, GitHubHost, InfiniteSessionConfig, SessionConfig};
//!
//!   # #[tokio::main(flavor = "current_thread")]
//!   # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!   let mock = MockServer::start(MockConfig::new()).await;
//!   let host = GitHubHost::custom(
//!       mock.github_web_url().parse()?,
//!       mock.github_api_url().parse()?,
//!       mock.copilot_api_url().parse()?,
//!   );
//!   let client = CopilotClient::builder()
//!       .host(host)
//!       .github_token(mock.mint_github_token("octocat"))
//!       .use_logged_in_user(false)
//!       .build()?;
//!   let session = client
//!       .create_session(SessionConfig::new().model(SMALL_CONTEXT_MODEL).infinite_sessions(
//!           InfiniteSessionConfig::new()
//!               .background_compaction_threshold(1.0) // no background compaction here
//!               .buffer_exhaustion_threshold(0.5),
//!       ))
//!       .await?;
//!   for n in 0..40 {
//!       session.send_and_wait(format!("Question {n}: what comes next?")).await?;
//!   }
//!   let usage = session.context_usage().await?;
//!   assert!(usage.utilization().is_some_and(|used| used < 0.75));
//!   assert!(session.history_entries()[0].compaction_summary);
//!   assert!(session.events().iter().any(|e| e.kind == "session.compaction_complete"));
//!   # mock.shutdown().await;
//!   # Ok(()) }
//!   ```
//! - [`ClientPool`]: many users, one transport, organisation gating and idle eviction.
//! - Persistent sessions ([`SessionStore`], [`FileSessionStore`], [`MemorySessionStore`]): a session is
//!   saved after every turn and continued later, in this process or another, with
//!   [`CopilotClient::resume_session`]; [`list_sessions`](CopilotClient::list_sessions),
//!   [`get_session_metadata`](CopilotClient::get_session_metadata),
//!   [`delete_session`](CopilotClient::delete_session), [`last_session_id`](CopilotClient::last_session_id).
//!   A session open in one process is [`SdkError::SessionInUse`] in every other. The example
//!   `persistent_chat` restarts itself as a new process to continue a conversation.
//! - Events in the official envelope ([`EventEnvelope`]: id, timestamp, parent id, type, data):
//!   [`Session::events`] (the persisted log), [`Session::subscribe`] (a stream), [`Session::on`] /
//!   [`Session::on_kind`] (handlers removed when their [`Unsubscribe`] guard drops).
//!
//! ```no_run
//! use std::sync::Arc;
//! use copilot_sdk::{CopilotClient, FileSessionStore, SessionConfig, SessionFilter};
//!
//! # async fn demo(token: String) -> Result<(), copilot_sdk::SdkError> {
//! let client = CopilotClient::builder()
//!     .github_token(token)
//!     .session_store(Arc::new(FileSessionStore::new(FileSessionStore::default_dir()?)))
//!     .build()?;
//! let session = match client.last_session_id().await? {
//!     Some(id) => client.resume_session(&id, SessionConfig::new()).await?, // tools/handlers again here
//!     None => client.create_session(SessionConfig::new().model("gpt-4.1")).await?,
//! };
//! let _guard = session.on_kind("assistant.message", |event| println!("{}", event.data["content"]));
//! session.send_and_wait("Where were we?").await?;
//! for saved in client.list_sessions(SessionFilter::new().limit(10)).await? {
//!     println!("{} {:?} ({} turns)", saved.id, saved.summary, saved.turn_count);
//! }
//! # Ok(()) }
//! ```
//!
//! The lower crates are re-exported ([`auth`], [`token`], [`api`], [`http`]) and their most used items are
//! at the root, so this crate alone covers the common case: device and web sign-in ([`DeviceFlow`],
//! [`WebFlow`]), stores ([`MemoryStore`], [`FileStore`]), hosts ([`GitHubHost`]).

mod client;
mod error;
pub mod hooks;
#[cfg(feature = "mcp")]
pub mod mcp;
mod message;
mod permission;
mod pool;
mod session;
mod store;
mod store_provider;
mod system;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tools;

pub use client::{
    AuthStatus, CopilotClient, CopilotClientBuilder, DEFAULT_MAX_STREAM_DURATION,
    DEFAULT_MAX_TOOL_ROUNDS, DEFAULT_STORE_ACCOUNT, DEFAULT_TURN_TIMEOUT, EnvLookup, Quota,
};
pub use error::SdkError;
pub use hooks::{
    ErrorDecision, ErrorOccurred, ErrorStage, MAX_HOOK_RETRIES, PostToolUse, PostToolUseDecision,
    PreToolUse, PreToolUseDecision, SessionEnd, SessionEndReason, SessionHooks, SessionStart,
    SessionStartSource, UserPromptDecision, UserPromptSubmitted,
};
#[cfg(feature = "mcp")]
pub use mcp::McpServer;
pub use message::{
    Attachment, AttachmentRefusal, MAX_DIRECTORY_ENTRIES, MAX_FILE_ATTACHMENT_BYTES,
    MAX_IMAGE_INPUT_BYTES, MessageOptions, OutputSchema,
};
pub use permission::{PermissionDecision, PermissionHandler, PermissionKind, PermissionRequest};
pub use pool::{ClientPool, ClientPoolBuilder, DEFAULT_IDLE_TIMEOUT, shared_cache_identity};
pub use session::{
    AssistantMessage, CompactionComplete, CompactionStart, ContextUsage, EventEnvelope,
    EventStream, EventSubscription, HistoryEntry, InfiniteSessionConfig, Session, SessionConfig,
    SessionEvent, SessionUsage, ToolCallResult, Unsubscribe,
};
pub use store::{
    FileSessionStore, MAX_SESSION_ID_BYTES, MemorySessionStore, SESSION_FORMAT_VERSION,
    SavedProvider, SessionFilter, SessionLock, SessionMetadata, SessionRecord, SessionStore,
    StoredToolCall, check_session_id,
};
pub use system::{SystemMessage, SystemMessageMode};
pub use tools::{RequestedToolCall, Tool, ToolError, ToolOutput, UnknownToolPolicy};

/// The attribute for implementing [`SessionHooks`] (`#[copilot_sdk::async_trait]`), re-exported so callers
/// need no dependency of their own.
pub use async_trait::async_trait;

/// Copilot API types and client (the `copilot-api` crate).
pub use copilot_api as api;
/// GitHub sign-in, token stores and credential sources (the `copilot-auth` crate).
pub use copilot_auth as auth;
/// Credentials, the `CopilotAuth` trait, GitHub token kinds, credential errors (the `copilot-core` crate).
pub use copilot_core as core;
/// Transport, hosts, identity, injectable time (the `copilot-http` crate).
pub use copilot_http as http;
/// Copilot token exchange, token manager and quota (the `copilot-token` crate).
pub use copilot_token as token;

pub use copilot_api::{
    Message, ModelInfo, ReasoningEffort, ReasoningKind, Role, StreamTimeouts, Usage,
};
pub use copilot_auth::{
    CallbackParams, CredentialKey, CredentialSource, DeviceCode, DeviceFlow, FileStore, GitHubApi,
    GitHubToken, GitHubTokenResponse, MemoryStore, PendingAuthorization, StoredCredential,
    TokenKind, TokenRefresher, TokenStore, WebFlow,
};
pub use copilot_core::{
    CopilotAuth, CopilotCredentials, CredentialError, DEFAULT_AZURE_API_VERSION, Provider,
    ProviderKind, WireApi,
};
pub use copilot_http::{ClientIdentity, GitHubHost, SharedTransport};
pub use copilot_token::{AuthMode, CopilotPlan, QuotaSnapshot, QuotaSnapshots, TokenManager};
