//! The Responses API (`POST {api}/responses`): the request, the items it is made of, the answer and the
//! stream mapping onto [`ChatEvent`](crate::ChatEvent)s.

mod item;
mod request;
mod response;
pub(crate) mod stream;

pub use item::{ReasoningSummary, ResponseContent, ResponseItem};
pub use request::{ReasoningConfig, ResponsesRequest, ResponsesTool};
pub(crate) use response::incomplete_reason;
pub use response::{ResponsesResponse, ResponsesUsage};
