//! Chat completions (`POST {api}/chat/completions`): the request, the answer, the stream mapping and the
//! consumer model ([`ChatEvent`], [`ChatCollector`]) every streamed endpoint shares.

mod collect;
mod event;
mod request;
mod response;
pub(crate) mod stream;

pub use collect::{
    ChatCollector, CollectedChat, CollectedExtra, CollectedMessage, CollectedReasoning,
};
pub use event::{ChatEvent, ReasoningKind, ToolCallDelta};
pub use request::*;
