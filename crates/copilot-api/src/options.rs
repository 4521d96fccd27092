//! Per-request options: who initiated the turn (billing), the intent, and passthrough headers.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Who started a request, sent as `X-Initiator`. Billing-critical: `user` consumes a premium request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// A genuine human prompt.
    User,
    /// A tool-loop follow-up or a synthetic request (compaction, summarisation, sub-agents).
    Agent,
}

impl Initiator {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::User => "user",
            Initiator::Agent => "agent",
        }
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
    /// Extra headers (e.g. `X-Interaction-Id`, `X-Agent-Task-Id`, `VScode-SessionId`), applied last: each
    /// replaces every same-named header the client would send (identity headers such as `Editor-Version`,
    /// `OpenAI-Intent`, `X-Initiator`, `X-Request-Id`). Credentials and body framing stay the client's:
    /// `Authorization`, `Proxy-Authorization`, `Cookie`, `Host`, `Content-Type`, `Content-Length` and
    /// `Transfer-Encoding` given here are ignored (with a warning).
    pub headers: HeaderMap,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forces `X-Initiator`.
    pub fn initiator(mut self, initiator: Initiator) -> Self {
        self.initiator = Some(initiator);
        self
    }

    /// Sets `OpenAI-Intent`.
    pub fn intent(mut self, intent: impl Into<String>) -> Self {
        self.intent = Some(intent.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }
}
