//! Integration tests of copilot-token against wiremock servers.

#[path = "token/support.rs"]
mod support;

#[path = "token/envelope.rs"]
mod envelope;
#[path = "token/exchange.rs"]
mod exchange;
#[path = "token/manager.rs"]
mod manager;
#[path = "token/modes.rs"]
mod modes;
#[path = "token/redaction.rs"]
mod redaction;
#[path = "token/shared.rs"]
mod shared;
