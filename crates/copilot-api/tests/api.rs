//! Integration tests of copilot-api: fixtures, stream quirks, requests, errors, models, timeouts.

#[path = "api/support.rs"]
mod support;

#[path = "api/connections.rs"]
mod connections;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/fidelity.rs"]
mod fidelity;
#[path = "api/fixtures.rs"]
mod fixtures;
#[path = "api/hardening.rs"]
mod hardening;
#[path = "api/messages.rs"]
mod messages;
#[path = "api/models.rs"]
mod models;
#[path = "api/quirks.rs"]
mod quirks;
#[path = "api/requests.rs"]
mod requests;
#[path = "api/responses.rs"]
mod responses;
#[path = "api/retries.rs"]
mod retries;
#[path = "api/timeouts.rs"]
mod timeouts;
#[cfg(feature = "websocket")]
#[path = "api/websocket.rs"]
mod websocket;
