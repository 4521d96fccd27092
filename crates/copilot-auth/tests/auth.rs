//! The copilot-auth integration tests: one binary, a module per concept.

#[path = "auth/common.rs"]
mod common;

#[path = "auth/crash.rs"]
mod crash;
#[path = "auth/device.rs"]
mod device;
#[path = "auth/github_api.rs"]
mod github_api;
#[path = "auth/logs.rs"]
mod logs;
#[path = "auth/refresh.rs"]
mod refresh;
#[path = "auth/sources.rs"]
mod sources;
#[path = "auth/store.rs"]
mod store;
#[path = "auth/token.rs"]
mod token;
#[path = "auth/web.rs"]
mod web;
