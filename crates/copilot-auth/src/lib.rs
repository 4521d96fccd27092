//! GitHub sign-in for copilot-rs: device flow, web flow with PKCE, GitHub App token refresh, token stores
//! and credential sources. (Built by the copilot-auth issue; intentionally empty until then.)
