//! Copilot token exchange, single-flight cached refresh, endpoints and quota for copilot-rs.
//! (Built by the copilot-token issue; intentionally empty until then.)
