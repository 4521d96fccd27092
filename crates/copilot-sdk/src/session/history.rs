//! A session's history: each message as the model sees it, with what the SDK keeps beside it.

use copilot_api::Message;
use serde::{Deserialize, Serialize};

/// One entry of a session's history ([`Session::history_entries`](crate::Session::history_entries)).
///
/// `message` is exactly what is sent back to the model (chat-completions shape, reasoning replay fields
/// such as `reasoning_opaque` included). State the SDK needs to replay a turn on another endpoint lives
/// beside it, never inside the message, so [`Session::history`](crate::Session::history) hands out clean
/// [`Message`]s. Entries serialise with serde: store them to restore a conversation with
/// [`SessionConfig::history_entries`](crate::SessionConfig::history_entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// The message.
    pub message: Message,
    /// For an assistant answer from `/responses`: the id of its reasoning item, sent back with the
    /// encrypted reasoning so the model continues its chain of thought (o-series `cot_id` on chat too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_id: Option<String>,
}

impl HistoryEntry {
    /// An entry holding `message` and nothing else.
    pub fn new(message: Message) -> Self {
        HistoryEntry {
            message,
            reasoning_id: None,
        }
    }

    /// Sets the reasoning item id kept beside an assistant message.
    pub fn reasoning_id(mut self, id: impl Into<String>) -> Self {
        self.reasoning_id = Some(id.into());
        self
    }
}

impl From<Message> for HistoryEntry {
    fn from(message: Message) -> Self {
        HistoryEntry::new(message)
    }
}
