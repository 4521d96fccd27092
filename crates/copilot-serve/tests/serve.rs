//! copilot-serve end-to-end: the gateway in front of copilot-mock, driven over HTTP.

#[path = "serve/common.rs"]
mod common;

#[path = "serve/access.rs"]
mod access;
#[path = "serve/anthropic.rs"]
mod anthropic;
#[path = "serve/errors.rs"]
mod errors;
#[path = "serve/fleet.rs"]
mod fleet;
#[path = "serve/openai.rs"]
mod openai;
