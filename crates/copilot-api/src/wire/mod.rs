//! Wire-level building blocks shared by every endpoint: SSE framing, unknown-field keeping, open enums.

pub(crate) mod extra;
pub(crate) mod fields;
pub(crate) mod open_enum;
pub(crate) mod setters;
pub mod sse;
