//! Persistent sessions: where a session's conversation and event log are kept between processes.
//!
//! A [`SessionStore`] keeps one [`SessionRecord`] per session id. [`FileSessionStore`] writes one private
//! JSON file per session under the configuration directory; [`MemorySessionStore`] keeps them in memory,
//! for tests. `copilot-store-redis` and `copilot-store-postgres` implement it on shared databases (their
//! feature `sessions`: `RedisSessionStore`, `PostgresSessionStore`), for fleets; the `test-support` feature's
//! [`SessionStoreContract`](crate::test_support::SessionStoreContract) checks an implementation against the
//! contract below.
//!
//! Nothing secret is stored: no tokens, no BYOK keys, no tool handlers or permission handlers (those are
//! supplied again when a session is resumed).

mod file;
mod memory;
mod namespaced;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use copilot_api::ReasoningEffort;
use serde::{Deserialize, Serialize};

pub use file::FileSessionStore;
pub use memory::MemorySessionStore;
pub(crate) use namespaced::NamespacedSessionStore;

use crate::SdkError;
use crate::session::{EventEnvelope, HistoryEntry};
use crate::system::SystemMessageMode;
use crate::tools::RequestedToolCall;

/// The version of [`SessionRecord`]'s format written by this crate.
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// The longest session id (in bytes) a session store keeps.
pub const MAX_SESSION_ID_BYTES: usize = 512;

/// The one rule for session ids, applied by every store of this workspace (file, memory, Redis,
/// PostgreSQL), so a session can move between them: refuses ids that are empty, longer than
/// [`MAX_SESSION_ID_BYTES`], or with control characters (NUL included). Every other character is kept as
/// it is (`user-alice@example.com`, `日本/🦀`); a store that cannot use an id as it is (a file name) encodes it.
///
/// ```
/// use copilot_sdk::check_session_id;
/// assert!(check_session_id("user-alice@example.com/chat 1").is_ok());
/// assert!(check_session_id("new\nline").is_err());
/// ```
pub fn check_session_id(id: &str) -> Result<(), SdkError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID_BYTES || id.chars().any(char::is_control) {
        return Err(SdkError::Config {
            message: format!(
                "session id {id:?} cannot be stored: it must be 1 to {MAX_SESSION_ID_BYTES} bytes without \
                 control characters"
            ),
        });
    }
    Ok(())
}

/// What is known about a saved session without loading its conversation
/// (listed by a [`SessionStore`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionMetadata {
    /// The session id.
    pub id: String,
    /// When the session was created.
    pub created_at: SystemTime,
    /// When it last changed.
    pub modified_at: SystemTime,
    /// The model of its last turn.
    pub model: String,
    /// A title: the start of the first prompt (or a compaction summary's first line, once compacted).
    pub summary: Option<String>,
    /// Completed user turns.
    #[serde(default)]
    pub turn_count: u64,
    /// The AI credits the session's requests cost, as far as the server reported them.
    #[serde(default)]
    pub total_cost: f64,
}

impl SessionMetadata {
    /// Metadata of a new session `id` using `model`, created `now`.
    pub fn new(id: impl Into<String>, model: impl Into<String>, now: SystemTime) -> Self {
        SessionMetadata {
            id: id.into(),
            created_at: now,
            modified_at: now,
            model: model.into(),
            summary: None,
            turn_count: 0,
            total_cost: 0.0,
        }
    }
}

/// Which saved sessions [`CopilotClient::list_sessions`](crate::CopilotClient::list_sessions) returns
/// (default: all).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SessionFilter {
    /// Only sessions whose last model is this one.
    pub model: Option<String>,
    /// Only sessions modified at or after this time.
    pub modified_since: Option<SystemTime>,
    /// At most this many (the most recently modified).
    pub limit: Option<usize>,
}

impl SessionFilter {
    /// All sessions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only sessions whose last model is `model`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Only sessions modified at or after `time`.
    pub fn modified_since(mut self, time: impl Into<SystemTime>) -> Self {
        self.modified_since = Some(time.into());
        self
    }

    /// At most `limit` sessions.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn matches(&self, metadata: &SessionMetadata) -> bool {
        self.model
            .as_ref()
            .is_none_or(|model| *model == metadata.model)
            && self
                .modified_since
                .is_none_or(|since| metadata.modified_at >= since)
    }
}

/// What a saved session remembers of its [provider](crate::SessionConfig::provider): the kind and the host
/// it was sent to, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SavedProvider {
    /// `openai`, `azure` or `anthropic`.
    pub kind: String,
    /// The provider's host (and port, when not the scheme's default).
    pub host: String,
}

impl SavedProvider {
    /// The saved form of `provider`.
    pub fn of(provider: &copilot_core::Provider) -> Self {
        let url = provider.base_url();
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        let kind = match provider.kind() {
            copilot_core::ProviderKind::Azure => "azure",
            copilot_core::ProviderKind::Anthropic => "anthropic",
            _ => "openai",
        };
        SavedProvider {
            kind: kind.to_owned(),
            host,
        }
    }
}

/// Everything persisted about one session: its metadata, the settings a resumed session starts from, the
/// history (tool calls and reasoning replay fields included) and the persisted event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The format version ([`SESSION_FORMAT_VERSION`] when written by this crate).
    pub version: u32,
    /// Id, times, model, title, turn count, cost.
    pub metadata: SessionMetadata,
    /// The system message the session was created with.
    pub system_message: Option<String>,
    /// How `system_message` combines with the history's base system message (absent: append).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_message_mode: Option<SystemMessageMode>,
    /// The reasoning effort of the last turn.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// The conversation.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Tool calls handed back to the caller and not yet answered.
    #[serde(default)]
    pub pending_tool_calls: Vec<StoredToolCall>,
    /// The persisted events (no deltas), oldest first.
    #[serde(default)]
    pub events: Vec<EventEnvelope>,
    /// The bring-your-own-key provider the session talks to (its kind and host; never its key), so that a
    /// resume without the provider is refused instead of sending the conversation to Copilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<SavedProvider>,
    /// Fields written by a newer version, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl SessionRecord {
    /// A record with `metadata` and nothing else.
    pub fn new(metadata: SessionMetadata) -> Self {
        SessionRecord {
            version: SESSION_FORMAT_VERSION,
            metadata,
            system_message: None,
            system_message_mode: None,
            reasoning_effort: None,
            history: Vec::new(),
            pending_tool_calls: Vec::new(),
            events: Vec::new(),
            provider: None,
            extra: serde_json::Map::new(),
        }
    }
}

/// A pending tool call as stored (see [`RequestedToolCall`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredToolCall {
    /// The call id.
    pub id: String,
    /// The tool.
    pub name: String,
    /// The raw arguments.
    pub arguments: String,
}

impl From<&RequestedToolCall> for StoredToolCall {
    fn from(call: &RequestedToolCall) -> Self {
        StoredToolCall {
            id: call.id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }
    }
}

impl From<&StoredToolCall> for RequestedToolCall {
    fn from(call: &StoredToolCall) -> Self {
        RequestedToolCall {
            id: call.id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }
    }
}

/// The exclusive right to write one session, held by an open [`Session`](crate::Session) and released when
/// dropped.
///
/// A store returns one from [`SessionStore::lock`]; what it holds is up to the store (an advisory file lock,
/// an in-memory marker, a database lease with its refresher task). Dropping the guard must release the
/// lock (or let it expire soon).
pub struct SessionLock {
    _guard: Box<dyn Any + Send + Sync>,
}

impl SessionLock {
    /// A lock whose release is `guard`'s `Drop`.
    pub fn new(guard: impl Any + Send + Sync) -> Self {
        SessionLock {
            _guard: Box::new(guard),
        }
    }
}

impl fmt::Debug for SessionLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionLock { .. }")
    }
}

/// Where sessions are kept between runs.
///
/// Contract for implementations:
///
/// - `save` replaces the record atomically: a reader sees the old or the new record, never a mix.
/// - `lock` is exclusive across processes (and machines, for shared stores): while one [`SessionLock`] for an
///   id is alive, another `lock` of that id fails with [`SdkError::SessionInUse`] instead of waiting, so two
///   processes never continue the same conversation into two forks. A holder that dies must not keep the
///   lock forever (file locks die with the process; leases expire).
/// - Ids are the caller's; a store that cannot represent an id refuses it with [`SdkError::Config`].
/// - Records hold no secrets, but they are private conversations: stores keep them readable by their owner
///   only.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// The record of session `id`, if one was saved.
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError>;
    /// Saves `record` under `record.metadata.id`, replacing the previous one.
    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError>;
    /// Removes session `id`; returns whether there was one.
    async fn delete(&self, id: &str) -> Result<bool, SdkError>;
    /// The metadata of every saved session, in no particular order.
    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError>;
    /// Takes the exclusive lock on session `id` (which need not exist yet), or fails at once with
    /// [`SdkError::SessionInUse`].
    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError>;
}

#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        (**self).load(id).await
    }
    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        (**self).save(record).await
    }
    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        (**self).delete(id).await
    }
    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        (**self).list().await
    }
    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        (**self).lock(id).await
    }
}
