//! A session as a [`SessionRecord`]: what is saved after every turn, and what a resumed session starts from.

use std::time::SystemTime;

use super::envelope::EventEnvelope;
use super::{SessionConfig, SessionInner, SessionState};
use crate::SdkError;
use crate::store::{SESSION_FORMAT_VERSION, SessionMetadata, SessionRecord, StoredToolCall};
use crate::system::SystemMessage;
use crate::tools::RequestedToolCall;

/// The longest title taken from a first prompt, in characters.
const SUMMARY_CHARS: usize = 80;

/// A title for a session: the first line of its first prompt, shortened.
pub(crate) fn summary_of(prompt: &str) -> Option<String> {
    let line = prompt
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    let mut summary: String = line.chars().take(SUMMARY_CHARS).collect();
    if line.chars().count() > SUMMARY_CHARS {
        summary.push('…');
    }
    Some(summary)
}

/// The state a saved session continues from. `config` may override the model, the system message and the
/// reasoning effort; `default_model` is used only if neither has one.
pub(crate) fn restore(
    record: SessionRecord,
    config: &SessionConfig,
    default_model: String,
) -> (String, SystemTime, Vec<EventEnvelope>, SessionState) {
    let SessionRecord {
        metadata,
        system_message,
        system_message_mode,
        reasoning_effort,
        history,
        pending_tool_calls,
        events,
        ..
    } = record;
    let model = config
        .model
        .clone()
        .or_else(|| (!metadata.model.is_empty()).then(|| metadata.model.clone()))
        .unwrap_or(default_model);
    let mut restored = history;
    restored.extend(config.history.iter().cloned());
    // Approvals "for the session" were decisions of a permission handler that is not saved; a compaction
    // summary is an entry of the history, so it comes back with it.
    let mut state = SessionState::new(
        model,
        config.system_message.clone().or_else(|| {
            system_message.map(|content| SystemMessage {
                mode: system_message_mode.unwrap_or_default(),
                content,
            })
        }),
        config.reasoning_effort.clone().or(reasoning_effort),
        restored,
    );
    state.pending_calls = pending_tool_calls
        .iter()
        .map(RequestedToolCall::from)
        .collect();
    state.turn_count = metadata.turn_count;
    state.summary = metadata.summary;
    state.usage = super::SessionUsage::from_saved_credits(metadata.total_cost);
    (metadata.id, metadata.created_at, events, state)
}

impl SessionInner {
    /// The session as it would be saved now.
    pub(crate) fn record(&self) -> SessionRecord {
        let events = self.hub.log();
        let state = self.state();
        let mut metadata =
            SessionMetadata::new(self.id.clone(), state.model.clone(), self.created_at);
        metadata.modified_at = self.client.clock().now();
        metadata.summary = state.summary.clone();
        metadata.turn_count = state.turn_count;
        metadata.total_cost = state.usage.credits();
        let mut record = SessionRecord::new(metadata);
        record.version = SESSION_FORMAT_VERSION;
        if let Some(system) = &state.system_message {
            record.system_message = Some(system.content.clone());
            record.system_message_mode = Some(system.mode);
        }
        record.reasoning_effort = state.reasoning_effort.clone();
        record.history = state.history.clone();
        record.pending_tool_calls = state
            .pending_calls
            .iter()
            .map(StoredToolCall::from)
            .collect();
        record.events = events;
        record.provider = self.provider.as_ref().map(|p| p.saved.clone());
        record
    }

    /// Saves the session to its store, if it has one.
    pub(crate) async fn save(&self) -> Result<(), SdkError> {
        let Some((store, _lock)) = &self.store else {
            return Ok(());
        };
        store.save(&self.record()).await
    }
}
