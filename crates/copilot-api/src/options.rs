//! Per-request options: who initiated the turn (billing), what it is for, the intent, and passthrough
//! headers; and [`classify`], the one place that decides `OpenAI-Intent`, `X-Interaction-Type` and
//! `X-Initiator` for every call (`docs/protocol.md` §11).

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::auto_model::AutoSessionToken;
use crate::wire::setters::setters;

/// `OpenAI-Intent` for chat and responses unless overridden.
pub const DEFAULT_INTENT: &str = "conversation-panel";
/// `OpenAI-Intent` for `/models`.
pub const MODELS_INTENT: &str = "model-access";
/// `OpenAI-Intent` for `POST /models/{id}/policy`, as the real clients send it.
pub const POLICY_INTENT: &str = "chat-policy";
/// `OpenAI-Intent` for `/embeddings`.
pub const EMBEDDINGS_INTENT: &str = "copilot-panel";
/// `OpenAI-Intent` (and `X-Interaction-Type`) for `/v1/messages`, as the real clients send it.
pub const MESSAGES_INTENT: &str = "messages-proxy";
/// `X-Interaction-Type` of a sub-agent's requests.
pub const SUBAGENT_INTERACTION: &str = "conversation-subagent";
/// `X-Interaction-Type` of background requests (compaction, summaries, titles).
pub const BACKGROUND_INTERACTION: &str = "conversation-background";

/// Who started a request, sent as `X-Initiator`. Billing-critical: `user` consumes a premium request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// A genuine human prompt.
    User,
    /// A tool-loop follow-up or a synthetic request (compaction, summarisation, sub-agents).
    Agent,
}

impl Initiator {
    /// What a request's `initiator()` judges from its conversation: `user` iff the last message or item
    /// is a genuine human prompt (`last_is_prompt`), else `agent`.
    pub(crate) fn judged(last_is_prompt: bool) -> Initiator {
        if last_is_prompt {
            Initiator::User
        } else {
            Initiator::Agent
        }
    }

    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::User => "user",
            Initiator::Agent => "agent",
        }
    }

    /// The initiator an `X-Initiator` value names (surrounding whitespace and ASCII case ignored), or
    /// `None` for anything else: the inverse of [`as_str`](Self::as_str), for a proxy that reads the
    /// header from its own callers.
    ///
    /// ```
    /// use copilot_api::Initiator;
    /// assert_eq!(Initiator::from_header(" Agent "), Some(Initiator::Agent));
    /// assert_eq!(Initiator::from_header(Initiator::User.as_str()), Some(Initiator::User));
    /// assert_eq!(Initiator::from_header("someone"), None);
    /// ```
    pub fn from_header(value: &str) -> Option<Initiator> {
        let value = value.trim();
        [Initiator::User, Initiator::Agent]
            .into_iter()
            .find(|initiator| value.eq_ignore_ascii_case(initiator.as_str()))
    }
}

/// What a request is for, beyond its messages: decides `X-Interaction-Type` and, for a conversation turn,
/// whether `X-Initiator` comes from the messages or is `agent` (`docs/protocol.md` §11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestPurpose {
    /// A turn of the user's conversation: a human prompt or a tool-loop follow-up, told apart by the
    /// messages. `X-Interaction-Type` is the intent.
    #[default]
    Conversation,
    /// A request of a sub-agent working for the conversation: `conversation-subagent`, `agent`.
    Subagent,
    /// Compacting (summarising) the history to fit the context: `conversation-background`, `agent`.
    Compaction,
    /// Any other automatic request (titles, summaries, suggestions): `conversation-background`, `agent`.
    Background,
}

/// Which Copilot call a request is, for [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallKind {
    /// `POST /chat/completions`.
    ChatCompletions,
    /// `POST /responses`.
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /embeddings`.
    Embeddings,
    /// `GET /models`.
    Models,
    /// `POST /models/{id}/policy`.
    ModelPolicy,
    /// `POST /models/session` (the Auto model).
    ModelSession,
}

impl CallKind {
    /// Whether the call is a conversation turn (billed per `X-Initiator`).
    pub fn is_turn(self) -> bool {
        matches!(
            self,
            CallKind::ChatCompletions | CallKind::Responses | CallKind::Messages
        )
    }
}

/// The classification headers of one request, as [`classify`] decided them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Classification<'a> {
    /// `OpenAI-Intent`.
    pub intent: &'a str,
    /// `X-Interaction-Type`.
    pub interaction_type: &'a str,
    /// `X-Initiator`; `None` sends none (calls that are not turns, unless the caller set one).
    pub initiator: Option<Initiator>,
}

/// The one place that decides `OpenAI-Intent`, `X-Interaction-Type` and `X-Initiator` of a call.
///
/// - **Intent**: the caller's [`RequestOptions::intent`], else per call: `default_intent` (the client's,
///   [`DEFAULT_INTENT`] unless configured) for chat and responses, [`MESSAGES_INTENT`], [`EMBEDDINGS_INTENT`],
///   [`MODELS_INTENT`] (also for the Auto model's `/models/session`), [`POLICY_INTENT`].
/// - **Interaction type**: the caller's [`RequestOptions::interaction_type`], else by purpose:
///   [`SUBAGENT_INTERACTION`] for a sub-agent, [`BACKGROUND_INTERACTION`] for compaction and background
///   requests, the intent for a conversation turn (as the real clients send it).
/// - **Initiator**: the caller's [`RequestOptions::initiator`], else for a turn `agent` when the purpose is
///   not the conversation itself, and otherwise `from_messages()` (`user` only for a genuine human prompt);
///   calls that are not turns send none.
pub fn classify<'a>(
    kind: CallKind,
    options: Option<&'a RequestOptions>,
    default_intent: &'a str,
    from_messages: impl FnOnce() -> Initiator,
) -> Classification<'a> {
    let purpose = options.map_or(RequestPurpose::Conversation, |o| o.purpose);
    let intent = options
        .and_then(|o| o.intent.as_deref())
        .unwrap_or(match kind {
            CallKind::ChatCompletions | CallKind::Responses => default_intent,
            CallKind::Messages => MESSAGES_INTENT,
            CallKind::Embeddings => EMBEDDINGS_INTENT,
            CallKind::Models | CallKind::ModelSession => MODELS_INTENT,
            CallKind::ModelPolicy => POLICY_INTENT,
        });
    let interaction_type = options
        .and_then(|o| o.interaction_type.as_deref())
        .unwrap_or(match purpose {
            RequestPurpose::Conversation => intent,
            RequestPurpose::Subagent => SUBAGENT_INTERACTION,
            RequestPurpose::Compaction | RequestPurpose::Background => BACKGROUND_INTERACTION,
        });
    let initiator = match options.and_then(|o| o.initiator) {
        Some(initiator) => Some(initiator),
        None if !kind.is_turn() => None,
        None if purpose == RequestPurpose::Conversation => Some(from_messages()),
        None => Some(Initiator::Agent),
    };
    Classification {
        intent,
        interaction_type,
        initiator,
    }
}

/// Headers and overrides for one request, carried next to (not inside) the JSON body.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Overrides the computed `X-Initiator`.
    pub initiator: Option<Initiator>,
    /// Overrides `OpenAI-Intent` (e.g. `conversation-agent`, `conversation-edits`).
    pub intent: Option<String>,
    /// What the request is for (default: a turn of the conversation); see [`classify`].
    pub purpose: RequestPurpose,
    /// Overrides the computed `X-Interaction-Type`.
    pub interaction_type: Option<String>,
    /// Extra headers (e.g. `X-Interaction-Id`, `X-Agent-Task-Id`, `VScode-SessionId`), applied last: each
    /// replaces every same-named header the client would send (identity headers such as `Editor-Version`,
    /// `OpenAI-Intent`, `X-Initiator`, `X-Request-Id`). Credentials and body framing stay the client's:
    /// `Authorization`, `Proxy-Authorization`, `Cookie`, `Host`, `Content-Type`, `Content-Length` and
    /// `Transfer-Encoding` given here are ignored (with a warning).
    pub headers: HeaderMap,
    /// The Auto-model session this turn belongs to: sent as `Copilot-Session-Token` (a sensitive header).
    pub auto_session: Option<AutoSessionToken>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Forces `X-Initiator`.
        initiator: Initiator,
        /// Sets `OpenAI-Intent`.
        intent: into String,
        /// Says what the request is for: a sub-agent's, compaction or background requests are labelled as
        /// such and sent with `X-Initiator: agent`.
        purpose = RequestPurpose,
        /// Sets `X-Interaction-Type`.
        interaction_type: into String,
        /// Sends the turn in an Auto-model session ([`CopilotApiClient::auto_model_session`]).
        ///
        /// [`CopilotApiClient::auto_model_session`]: crate::CopilotApiClient::auto_model_session
        auto_session: AutoSessionToken,
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [CallKind; 7] = [
        CallKind::ChatCompletions,
        CallKind::Responses,
        CallKind::Messages,
        CallKind::Embeddings,
        CallKind::Models,
        CallKind::ModelPolicy,
        CallKind::ModelSession,
    ];

    /// `(intent, interaction type, initiator)` as headers would carry them.
    fn headers(
        kind: CallKind,
        options: Option<&RequestOptions>,
        from_messages: Initiator,
    ) -> (String, String, Option<&'static str>) {
        let c = classify(kind, options, DEFAULT_INTENT, || from_messages);
        (
            c.intent.to_owned(),
            c.interaction_type.to_owned(),
            c.initiator.map(Initiator::as_str),
        )
    }

    /// Every call kind × every purpose × both message-derived initiators, as one table: what the real
    /// clients send (`conversation-subagent` / `conversation-background` / the intent for
    /// `X-Interaction-Type`; `agent` for anything automatic).
    #[test]
    fn classification_per_call_kind_and_purpose() {
        let mut table = Vec::new();
        for kind in KINDS {
            for purpose in [
                RequestPurpose::Conversation,
                RequestPurpose::Subagent,
                RequestPurpose::Compaction,
                RequestPurpose::Background,
            ] {
                for from_messages in [Initiator::User, Initiator::Agent] {
                    let options = RequestOptions::new().purpose(purpose);
                    let (intent, interaction, initiator) =
                        headers(kind, Some(&options), from_messages);
                    table.push(format!(
                        "{kind:?} {purpose:?} last={} -> intent={intent} interaction={interaction} initiator={}",
                        from_messages.as_str(),
                        initiator.unwrap_or("-")
                    ));
                }
            }
        }
        let expected = [
            "ChatCompletions Conversation last=user -> intent=conversation-panel interaction=conversation-panel initiator=user",
            "ChatCompletions Conversation last=agent -> intent=conversation-panel interaction=conversation-panel initiator=agent",
            "ChatCompletions Subagent last=user -> intent=conversation-panel interaction=conversation-subagent initiator=agent",
            "ChatCompletions Subagent last=agent -> intent=conversation-panel interaction=conversation-subagent initiator=agent",
            "ChatCompletions Compaction last=user -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "ChatCompletions Compaction last=agent -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "ChatCompletions Background last=user -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "ChatCompletions Background last=agent -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "Responses Conversation last=user -> intent=conversation-panel interaction=conversation-panel initiator=user",
            "Responses Conversation last=agent -> intent=conversation-panel interaction=conversation-panel initiator=agent",
            "Responses Subagent last=user -> intent=conversation-panel interaction=conversation-subagent initiator=agent",
            "Responses Subagent last=agent -> intent=conversation-panel interaction=conversation-subagent initiator=agent",
            "Responses Compaction last=user -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "Responses Compaction last=agent -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "Responses Background last=user -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "Responses Background last=agent -> intent=conversation-panel interaction=conversation-background initiator=agent",
            "Messages Conversation last=user -> intent=messages-proxy interaction=messages-proxy initiator=user",
            "Messages Conversation last=agent -> intent=messages-proxy interaction=messages-proxy initiator=agent",
            "Messages Subagent last=user -> intent=messages-proxy interaction=conversation-subagent initiator=agent",
            "Messages Subagent last=agent -> intent=messages-proxy interaction=conversation-subagent initiator=agent",
            "Messages Compaction last=user -> intent=messages-proxy interaction=conversation-background initiator=agent",
            "Messages Compaction last=agent -> intent=messages-proxy interaction=conversation-background initiator=agent",
            "Messages Background last=user -> intent=messages-proxy interaction=conversation-background initiator=agent",
            "Messages Background last=agent -> intent=messages-proxy interaction=conversation-background initiator=agent",
            "Embeddings Conversation last=user -> intent=copilot-panel interaction=copilot-panel initiator=-",
            "Embeddings Conversation last=agent -> intent=copilot-panel interaction=copilot-panel initiator=-",
            "Embeddings Subagent last=user -> intent=copilot-panel interaction=conversation-subagent initiator=-",
            "Embeddings Subagent last=agent -> intent=copilot-panel interaction=conversation-subagent initiator=-",
            "Embeddings Compaction last=user -> intent=copilot-panel interaction=conversation-background initiator=-",
            "Embeddings Compaction last=agent -> intent=copilot-panel interaction=conversation-background initiator=-",
            "Embeddings Background last=user -> intent=copilot-panel interaction=conversation-background initiator=-",
            "Embeddings Background last=agent -> intent=copilot-panel interaction=conversation-background initiator=-",
            "Models Conversation last=user -> intent=model-access interaction=model-access initiator=-",
            "Models Conversation last=agent -> intent=model-access interaction=model-access initiator=-",
            "Models Subagent last=user -> intent=model-access interaction=conversation-subagent initiator=-",
            "Models Subagent last=agent -> intent=model-access interaction=conversation-subagent initiator=-",
            "Models Compaction last=user -> intent=model-access interaction=conversation-background initiator=-",
            "Models Compaction last=agent -> intent=model-access interaction=conversation-background initiator=-",
            "Models Background last=user -> intent=model-access interaction=conversation-background initiator=-",
            "Models Background last=agent -> intent=model-access interaction=conversation-background initiator=-",
            "ModelPolicy Conversation last=user -> intent=chat-policy interaction=chat-policy initiator=-",
            "ModelPolicy Conversation last=agent -> intent=chat-policy interaction=chat-policy initiator=-",
            "ModelPolicy Subagent last=user -> intent=chat-policy interaction=conversation-subagent initiator=-",
            "ModelPolicy Subagent last=agent -> intent=chat-policy interaction=conversation-subagent initiator=-",
            "ModelPolicy Compaction last=user -> intent=chat-policy interaction=conversation-background initiator=-",
            "ModelPolicy Compaction last=agent -> intent=chat-policy interaction=conversation-background initiator=-",
            "ModelPolicy Background last=user -> intent=chat-policy interaction=conversation-background initiator=-",
            "ModelPolicy Background last=agent -> intent=chat-policy interaction=conversation-background initiator=-",
            "ModelSession Conversation last=user -> intent=model-access interaction=model-access initiator=-",
            "ModelSession Conversation last=agent -> intent=model-access interaction=model-access initiator=-",
            "ModelSession Subagent last=user -> intent=model-access interaction=conversation-subagent initiator=-",
            "ModelSession Subagent last=agent -> intent=model-access interaction=conversation-subagent initiator=-",
            "ModelSession Compaction last=user -> intent=model-access interaction=conversation-background initiator=-",
            "ModelSession Compaction last=agent -> intent=model-access interaction=conversation-background initiator=-",
            "ModelSession Background last=user -> intent=model-access interaction=conversation-background initiator=-",
            "ModelSession Background last=agent -> intent=model-access interaction=conversation-background initiator=-",
        ];
        assert_eq!(table, expected);
    }

    /// Without options (the models list, the policy POST) nothing but the call kind decides.
    #[test]
    fn without_options_the_call_kind_decides() {
        for kind in KINDS {
            let with_defaults = headers(kind, Some(&RequestOptions::new()), Initiator::User);
            assert_eq!(
                headers(kind, None, Initiator::User),
                with_defaults,
                "{kind:?}"
            );
        }
        let c = classify(
            CallKind::ChatCompletions,
            None,
            "conversation-agent",
            || Initiator::User,
        );
        assert_eq!(
            (c.intent, c.interaction_type, c.initiator),
            (
                "conversation-agent",
                "conversation-agent",
                Some(Initiator::User)
            ),
            "the client's default intent labels its turns"
        );
    }

    /// The caller's overrides win over every computed value, for every call kind and purpose.
    #[test]
    fn caller_overrides_win() {
        for kind in KINDS {
            for purpose in [RequestPurpose::Conversation, RequestPurpose::Compaction] {
                let options = RequestOptions::new()
                    .purpose(purpose)
                    .intent("conversation-agent")
                    .interaction_type("conversation-inline")
                    .initiator(Initiator::User);
                assert_eq!(
                    headers(kind, Some(&options), Initiator::Agent),
                    (
                        "conversation-agent".to_owned(),
                        "conversation-inline".to_owned(),
                        Some("user")
                    ),
                    "{kind:?} {purpose:?}"
                );
            }
            // The intent override also becomes the interaction type of a conversation turn.
            let options = RequestOptions::new().intent("conversation-edits");
            assert_eq!(
                headers(kind, Some(&options), Initiator::User).1,
                "conversation-edits",
                "{kind:?}"
            );
        }
    }

    /// The messages are consulted only where they decide (a conversation turn without an override).
    #[test]
    fn the_messages_are_read_only_when_they_decide() {
        let consulted = std::cell::Cell::new(0);
        let from_messages = || {
            consulted.set(consulted.get() + 1);
            Initiator::User
        };
        let subagent = RequestOptions::new().purpose(RequestPurpose::Subagent);
        classify(
            CallKind::ChatCompletions,
            Some(&subagent),
            DEFAULT_INTENT,
            from_messages,
        );
        classify(CallKind::Models, None, DEFAULT_INTENT, from_messages);
        let forced = RequestOptions::new().initiator(Initiator::Agent);
        classify(
            CallKind::Responses,
            Some(&forced),
            DEFAULT_INTENT,
            from_messages,
        );
        assert_eq!(consulted.get(), 0);
        classify(CallKind::Messages, None, DEFAULT_INTENT, from_messages);
        assert_eq!(consulted.get(), 1);
    }
}
