//! Integration tests of copilot-mock, driven over HTTP with reqwest.

#[path = "mock/support.rs"]
mod support;

#[path = "mock/binary.rs"]
mod binary;
#[path = "mock/chat.rs"]
mod chat;
#[path = "mock/device.rs"]
mod device;
#[path = "mock/embeddings.rs"]
mod embeddings;
#[path = "mock/exchange.rs"]
mod exchange;
#[path = "mock/faults.rs"]
mod faults;
#[path = "mock/log.rs"]
mod log;
#[path = "mock/messages.rs"]
mod messages;
#[path = "mock/models.rs"]
mod models;
#[path = "mock/preamble.rs"]
mod preamble;
#[path = "mock/refresh.rs"]
mod refresh;
#[path = "mock/replay.rs"]
mod replay;
#[path = "mock/responses.rs"]
mod responses;
#[path = "mock/responses_ws.rs"]
mod responses_ws;
#[path = "mock/rest.rs"]
mod rest;
#[path = "mock/web.rs"]
mod web;
