//! Anthropic Messages (`POST {api}/v1/messages`, `docs/protocol.md` §8), native for the models whose
//! `supported_endpoints` list it (Claude): the request, its content blocks, the answer and the stream
//! mapping onto [`ChatEvent`](crate::ChatEvent)s. Thinking blocks and their signatures survive a round trip,
//! which a chat-completions translation cannot promise.

mod content;
mod request;
mod response;
pub(crate) mod stream;

pub use content::{
    CacheControl, ContentBlock, ImageBlock, ImageSource, MessageContent, RedactedThinkingBlock,
    TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock,
};
pub use request::{
    AnthropicMessage, MessagesMetadata, MessagesRequest, MessagesTool, MessagesToolChoice,
    OutputConfig, ThinkingConfig, ThinkingKind, ToolChoiceKind,
};
pub use response::{MessagesResponse, MessagesUsage, StopReason};
