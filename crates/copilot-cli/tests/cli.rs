//! End-to-end tests of the `copilot-rs` binary: every command runs as a real process against a copilot-mock
//! server started in this test process, over real HTTP on loopback.

#[path = "cli/support.rs"]
mod support;

#[path = "cli/auth.rs"]
mod auth;
#[path = "cli/chat.rs"]
mod chat;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/fleet.rs"]
mod fleet;
#[path = "cli/identity.rs"]
mod identity;
#[path = "cli/models.rs"]
mod models;
#[path = "cli/secrets.rs"]
mod secrets;
