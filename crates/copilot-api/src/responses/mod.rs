//! The Responses API (`POST {api}/responses`): the request, the answer and the stream mapping onto
//! [`ChatEvent`](crate::ChatEvent)s.

mod request;
mod response;
pub(crate) mod stream;

pub use request::*;
