//! A session's history: each message as the model sees it, with what the SDK keeps beside it.

use copilot_api::{ContentBlock, Message, Role};
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
    /// For an assistant answer from `/v1/messages` (Claude): its `thinking` and `redacted_thinking`
    /// blocks, signatures included, unchanged and in the order they came. They are replayed at the start
    /// of the assistant message on the next `/v1/messages` request, where Copilot verifies each signature
    /// (`docs/protocol.md` §8, "Sessions").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thinking_blocks: Vec<ContentBlock>,
    /// Whether this is the summary of older turns that an infinite session's compaction put in their
    /// place (a `user` message starting with a bracketed heading; see
    /// [`InfiniteSessionConfig`](crate::InfiniteSessionConfig)). Saved and resumed like any entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compaction_summary: bool,
    /// For an assistant answer: the model that wrote it (as resolved: the concrete model behind `auto`).
    /// Its reasoning (`reasoning_text`, `reasoning_opaque`, Gemini's `thought_signature`s, the reasoning
    /// id, the thinking blocks) is sent back only to that model: a signature or encrypted reasoning of
    /// one model is refused by, or meaningless to, another, so after
    /// [`Session::set_model`](crate::Session::set_model) the new model gets the earlier answers' text
    /// and tool calls without them. `None` (entries saved before this field, or built by hand) replays
    /// the reasoning to whatever model runs next, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl HistoryEntry {
    /// An entry holding `message` and nothing else.
    pub fn new(message: Message) -> Self {
        HistoryEntry {
            message,
            reasoning_id: None,
            thinking_blocks: Vec::new(),
            compaction_summary: false,
            model: None,
        }
    }

    /// Sets the model that wrote this assistant answer.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// This entry as sent to `model`: unchanged when `model` wrote it (or its writer is unknown);
    /// otherwise without the reasoning only its writer can read (see [`HistoryEntry::model`]).
    pub(crate) fn replayed_to(&self, model: &str) -> std::borrow::Cow<'_, HistoryEntry> {
        use std::borrow::Cow;
        let foreign = self.model.as_deref().is_some_and(|writer| writer != model);
        let has_reasoning = self.reasoning_id.is_some()
            || !self.thinking_blocks.is_empty()
            || self.message.reasoning_text.is_some()
            || self.message.reasoning_opaque.is_some()
            || self
                .message
                .tool_calls
                .iter()
                .any(|call| call.function.thought_signature.is_some());
        if !foreign || !has_reasoning {
            return Cow::Borrowed(self);
        }
        let mut entry = self.clone();
        entry.reasoning_id = None;
        entry.thinking_blocks.clear();
        entry.message.reasoning_text = None;
        entry.message.reasoning_opaque = None;
        for call in &mut entry.message.tool_calls {
            call.function.thought_signature = None;
        }
        Cow::Owned(entry)
    }

    /// Sets the reasoning item id kept beside an assistant message.
    pub fn reasoning_id(mut self, id: impl Into<String>) -> Self {
        self.reasoning_id = Some(id.into());
        self
    }

    /// Sets the thinking blocks (`thinking` / `redacted_thinking`) kept beside an assistant message;
    /// other block types are not thinking and are left out.
    pub fn thinking_blocks(mut self, blocks: impl IntoIterator<Item = ContentBlock>) -> Self {
        self.thinking_blocks = blocks.into_iter().filter(is_thinking).collect();
        self
    }
}

impl From<Message> for HistoryEntry {
    fn from(message: Message) -> Self {
        HistoryEntry::new(message)
    }
}

/// Where each turn starts: the positions of the user's prompts. A turn runs from its prompt to the next one,
/// so cutting there never separates an assistant's tool calls from their results.
fn turn_starts(history: &[HistoryEntry]) -> Vec<usize> {
    history
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.message.role == Role::User)
        .map(|(at, _)| at)
        .collect()
}

/// Drops the last `turns` turns; returns how many went.
pub(crate) fn rewind(history: &mut Vec<HistoryEntry>, turns: usize) -> usize {
    let starts = turn_starts(history);
    let removed = turns.min(starts.len());
    if removed > 0 {
        history.truncate(starts[starts.len() - removed]);
    }
    removed
}

/// Keeps only the last `keep` turns (and nothing before them); returns how many turns went.
pub(crate) fn keep_last(history: &mut Vec<HistoryEntry>, keep: usize) -> usize {
    let starts = turn_starts(history);
    if starts.len() <= keep {
        return 0;
    }
    let cut = if keep == 0 {
        history.len()
    } else {
        starts[starts.len() - keep]
    };
    history.drain(..cut);
    starts.len() - keep
}

/// Whether `block` is thinking (what [`HistoryEntry::thinking_blocks`] keeps).
pub(crate) fn is_thinking(block: &ContentBlock) -> bool {
    matches!(
        block,
        ContentBlock::Thinking(_) | ContentBlock::RedactedThinking(_)
    )
}

/// A test turn: prompt `q{n}`, with a `lookup` tool round (`call_{n}` answered `42`) if `with_tool`, and
/// answer `a{n}`.
#[cfg(test)]
pub(crate) fn test_turn(n: usize, with_tool: bool) -> Vec<HistoryEntry> {
    let mut entries = vec![HistoryEntry::new(Message::user(format!("q{n}")))];
    if with_tool {
        entries.push(HistoryEntry::new(Message::assistant("").with_tool_calls(
            vec![copilot_api::ToolCall::function(
                format!("call_{n}"),
                "lookup",
                "{}",
            )],
        )));
        entries.push(HistoryEntry::new(Message::tool(format!("call_{n}"), "42")));
    }
    entries.push(HistoryEntry::new(Message::assistant(format!("a{n}"))));
    entries
}

#[cfg(test)]
mod tests {
    use super::test_turn as turn;
    use super::*;

    fn history() -> Vec<HistoryEntry> {
        (0..3).flat_map(|n| turn(n, n == 1)).collect()
    }

    fn prompts(history: &[HistoryEntry]) -> Vec<String> {
        history
            .iter()
            .filter(|e| e.message.role == Role::User)
            .map(|e| e.message.text())
            .collect()
    }

    #[test]
    fn rewind_and_keep_last_cut_at_prompts_only() {
        let mut h = history();
        assert_eq!(rewind(&mut h, 1), 1);
        assert_eq!(prompts(&h), ["q0", "q1"]);
        assert_eq!(h.len(), 2 + 4, "the tool round of q1 stays whole");
        assert_eq!(rewind(&mut h, 10), 2);
        assert!(h.is_empty());

        let mut h = history();
        assert_eq!(keep_last(&mut h, 2), 1);
        assert_eq!(prompts(&h), ["q1", "q2"]);
        assert_eq!(h.len(), 4 + 2);
        assert_eq!(keep_last(&mut h, 5), 0);
        assert_eq!(keep_last(&mut h, 0), 2);
        assert!(h.is_empty());
        assert_eq!(rewind(&mut h, 0), 0);
    }
}
