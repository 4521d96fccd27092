//! The session's system message and how it combines with a system message already in the history: the
//! official Copilot SDK's `systemMessage: { mode: "append" | "replace", content }`.

use copilot_api::Role;
use serde::{Deserialize, Serialize};

use crate::session::HistoryEntry;

/// How [`SystemMessage::content`] combines with the base system message: the `system` / `developer`
/// messages the seeded history starts with ([`SessionConfig::history`](crate::SessionConfig::history)),
/// e.g. a conversation imported from another client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SystemMessageMode {
    /// The content is appended to the base (after a blank line); with no base it is sent alone.
    #[default]
    Append,
    /// The content replaces the base, which is then not sent (it stays in the history).
    Replace,
    /// A mode saved by a newer version of this crate; sent like [`Append`](Self::Append).
    #[serde(other)]
    Unknown,
}

/// The session's system message ([`SessionConfig::system_message`](crate::SessionConfig::system_message)).
/// `&str` and `String` convert into [`SystemMessage::append`], the default mode.
///
/// ```
/// use copilot_sdk::{SessionConfig, SystemMessage, SystemMessageMode};
///
/// let config = SessionConfig::new().system_message("Answer in French.");
/// let replace = SystemMessage::replace("You are a pirate.");
/// assert_eq!(replace.mode, SystemMessageMode::Replace);
/// assert_eq!(SystemMessage::from("Be brief."), SystemMessage::append("Be brief."));
/// # let _ = (config, SessionConfig::new().system_message(replace));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SystemMessage {
    /// How the content combines with the base.
    pub mode: SystemMessageMode,
    /// The text.
    pub content: String,
}

impl SystemMessage {
    /// `content` appended to the base system message, if there is one.
    pub fn append(content: impl Into<String>) -> Self {
        SystemMessage {
            mode: SystemMessageMode::Append,
            content: content.into(),
        }
    }

    /// `content` instead of the base system message.
    pub fn replace(content: impl Into<String>) -> Self {
        SystemMessage {
            mode: SystemMessageMode::Replace,
            content: content.into(),
        }
    }
}

impl From<&str> for SystemMessage {
    fn from(content: &str) -> Self {
        SystemMessage::append(content)
    }
}

impl From<String> for SystemMessage {
    fn from(content: String) -> Self {
        SystemMessage::append(content)
    }
}

impl From<&String> for SystemMessage {
    fn from(content: &String) -> Self {
        SystemMessage::append(content.clone())
    }
}

/// The system text a request sends and the history after it. Without a session system message the history
/// goes out as it is. With one, the leading `system` / `developer` messages of the history (the base) are
/// folded into the one system text (`append`: base, a blank line, content; `replace`: content only).
pub(crate) fn effective<'a>(
    system: Option<&SystemMessage>,
    history: &'a [HistoryEntry],
) -> (Option<String>, &'a [HistoryEntry]) {
    let Some(system) = system else {
        return (None, history);
    };
    let base_len = history
        .iter()
        .take_while(|entry| matches!(entry.message.role, Role::System | Role::Developer))
        .count();
    let (base, rest) = history.split_at(base_len);
    let text = match system.mode {
        SystemMessageMode::Replace => system.content.clone(),
        SystemMessageMode::Append | SystemMessageMode::Unknown => base
            .iter()
            .map(|entry| entry.message.text())
            .filter(|text| !text.is_empty())
            .chain(std::iter::once(system.content.clone()))
            .collect::<Vec<_>>()
            .join("\n\n"),
    };
    (Some(text), rest)
}

#[cfg(test)]
mod tests {
    use copilot_api::Message;

    use super::*;

    fn history() -> Vec<HistoryEntry> {
        vec![
            HistoryEntry::new(Message::system("Base.")),
            HistoryEntry::new(Message::user("Hi")),
            HistoryEntry::new(Message::system("Later system stays.")),
        ]
    }

    #[test]
    fn system_message_append_folds_the_leading_base() {
        let history = history();
        let (text, rest) = effective(Some(&SystemMessage::append("Mine.")), &history);
        assert_eq!(text.as_deref(), Some("Base.\n\nMine."));
        assert_eq!(rest, &history[1..]);
    }

    #[test]
    fn system_message_replace_drops_the_base() {
        let history = history();
        let (text, rest) = effective(Some(&SystemMessage::replace("Mine.")), &history);
        assert_eq!(text.as_deref(), Some("Mine."));
        assert_eq!(rest, &history[1..]);
    }

    #[test]
    fn system_message_absent_sends_history_unchanged() {
        let history = history();
        let (text, rest) = effective(None, &history);
        assert_eq!(text, None);
        assert_eq!(rest, &history[..]);
    }

    #[test]
    fn system_message_mode_unknown_survives_as_append() {
        let mode: SystemMessageMode = serde_json::from_str("\"prepend\"").expect("mode");
        assert_eq!(mode, SystemMessageMode::Unknown);
        let (text, _) = effective(
            Some(&SystemMessage {
                mode,
                content: "Mine.".into(),
            }),
            &[],
        );
        assert_eq!(text.as_deref(), Some("Mine."));
    }
}
