//! The copilot-rs façade: `CopilotClient`, sessions, the tool loop and the multi-user pool.
//! (Built by the copilot-sdk issue; intentionally empty until then.)
