//! Copilot API types and clients for copilot-rs: chat, streaming, models, responses, embeddings.
//! (Built by the copilot-api issue; intentionally empty until then.)
