//! Events as the official SDK shapes them: `{id, timestamp, parentId, type, data}`.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One session event in the official SDK's envelope: a unique id, when it happened, the event it follows
/// (`parent_id`), its `type` (e.g. `assistant.message`, see [`SessionEvent::kind`](crate::SessionEvent::kind))
/// and its `data` (camelCase fields, as the official SDKs send them).
///
/// Ephemeral events (deltas, usage, `session.idle`) are delivered to subscribers but never persisted;
/// a session store keeps the persisted log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventEnvelope {
    /// A unique id (a UUID).
    pub id: String,
    /// When the event happened.
    pub timestamp: SystemTime,
    /// The id of the event this one follows, `None` for the first.
    pub parent_id: Option<String>,
    /// The official event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's data.
    #[serde(default)]
    pub data: Value,
    /// Whether the event is delivered live only and never persisted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ephemeral: bool,
}

impl EventEnvelope {
    /// An event of `kind` with `data`, following `parent_id`.
    pub fn new(
        kind: impl Into<String>,
        data: Value,
        parent_id: Option<String>,
        timestamp: SystemTime,
    ) -> Self {
        let kind = kind.into();
        EventEnvelope {
            id: uuid::Uuid::new_v4().to_string(),
            timestamp,
            parent_id,
            ephemeral: is_ephemeral(&kind),
            kind,
            data,
        }
    }
}

/// Kinds that are delivered live and never persisted, as officially.
pub(crate) fn is_ephemeral(kind: &str) -> bool {
    kind.ends_with("_delta") || matches!(kind, "assistant.usage" | "session.idle")
}
