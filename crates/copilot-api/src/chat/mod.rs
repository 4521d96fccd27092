//! Chat completions (`POST {api}/chat/completions`): the request, the answer, the stream mapping and the
//! consumer model ([`ChatEvent`], [`ChatCollector`]) every streamed endpoint shares.

mod collect;
mod event;
mod message;
mod request;
mod response;
pub(crate) mod stream;

pub use collect::{
    ChatCollector, CollectedChat, CollectedExtra, CollectedMessage, CollectedReasoning,
    CollectedThinking,
};
pub use event::{ChatEvent, ReasoningKind, ToolCallDelta};
pub(crate) use message::function_type;
pub use message::{Content, ContentPart, FunctionCall, ImageDetail, Message, Role, ToolCall};
pub use request::{
    ChatRequest, FunctionDefinition, JsonSchemaFormat, ReasoningEffort, ResponseFormat,
    StreamOptions, Tool, ToolChoice,
};
pub use response::{ChatResponse, Choice, FinishReason};
