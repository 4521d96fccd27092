//! End-to-end tests of copilot-sdk against copilot-mock over real HTTP on loopback.

// Every example is a standalone binary that includes `examples/support/mod.rs`; the tests include the
// examples (to run the very functions their `main` calls), so that file is compiled once per example.
#![allow(clippy::duplicate_mod)]

#[path = "sdk/common.rs"]
mod common;

#[path = "sdk/auth.rs"]
mod auth;
#[path = "sdk/byok.rs"]
mod byok;
#[path = "sdk/compaction.rs"]
mod compaction;
#[path = "sdk/examples.rs"]
mod examples;
#[path = "sdk/faults.rs"]
mod faults;
#[path = "sdk/hardening.rs"]
mod hardening;
#[path = "sdk/hooks.rs"]
mod hooks;
#[path = "sdk/limits.rs"]
mod limits;
#[cfg(feature = "mcp")]
#[path = "sdk/mcp.rs"]
mod mcp;
#[path = "sdk/messages.rs"]
mod messages;
#[path = "sdk/persistence.rs"]
mod persistence;
#[path = "sdk/pool.rs"]
mod pool;
#[path = "sdk/prompt.rs"]
mod prompt;
#[path = "sdk/results.rs"]
mod results;
#[path = "sdk/seeds.rs"]
mod seeds;
#[path = "sdk/session.rs"]
mod session;
#[path = "sdk/stores.rs"]
mod stores;
#[path = "sdk/tools.rs"]
mod tools;
#[cfg(feature = "websocket")]
#[path = "sdk/websocket.rs"]
mod websocket;
