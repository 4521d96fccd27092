//! `copilot-rs serve`: an OpenAI- and Anthropic-compatible HTTP gateway to GitHub Copilot, built on
//! copilot-sdk and copilot-api.
//!
//! Point an OpenAI client (base URL `http://127.0.0.1:4141/v1`) or an Anthropic client (base URL
//! `http://127.0.0.1:4141`) at it, with the gateway's API key, and it answers with Copilot's models.
//!
//! ```no_run
//! use copilot_serve::{ApiKeys, Gateway, ServeConfig, Upstream};
//! use copilot_sdk::CopilotClient;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = CopilotClient::builder().build()?;          // the signed-in user
//! let keys = ApiKeys::single("sk-local-0123456789abcdef")?;
//! let gateway = Gateway::new(ServeConfig::new(keys), Upstream::Client(client))?;
//! let running = gateway.start().await?;                    // 127.0.0.1:4141
//! tokio::signal::ctrl_c().await?;
//! running.shutdown().await?;                               // drains open streams
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! | Route | Notes |
//! |---|---|
//! | `POST /v1/chat/completions` | stream and not; responses-only models are served through `/responses` |
//! | `POST /v1/responses` | stream and not; chat-only models are served through `/chat/completions` |
//! | `POST /v1/responses/compact` | 501: Copilot has no compaction endpoint |
//! | `GET /v1/models`, `GET /v1/models/{id}` | OpenAI shape, or Anthropic's with `anthropic-version` |
//! | `POST /v1/embeddings` | `float` or `base64` encoding |
//! | `POST /v1/messages` | Anthropic Messages, stream and not, with tool use, images and thinking; natively on Copilot's `/v1/messages` for models that list it (Claude: request and answer pass through), otherwise through chat completions (or `/responses` for responses-only models) |
//! | `POST /v1/messages/count_tokens` | an estimate (Copilot has no counting endpoint), marked `x-copilot-token-count: estimate` |
//! | `GET /healthz` | no key needed |
//!
//! # Behaviour
//!
//! - **Access**: every route but `/healthz` needs a key, as `Authorization: Bearer <key>` or
//!   `x-api-key: <key>`, compared in constant time (as SHA-256 digests). Keys bound to users
//!   ([`ApiKeys::from_json`]) run in multi-user mode over a [`ClientPool`](copilot_sdk::ClientPool): each
//!   key uses its own stored GitHub credential and subscription. A key's `max_concurrent` caps its
//!   requests in flight (429 beyond it).
//! - **Fleets**: gateways given one shared key directory ([`ServeConfig::key_directory`]: `RedisStore` or
//!   `PostgresStore`, see `copilot_store_core::api_keys`) accept the same user-bound keys; with one token
//!   store and `ClientPoolBuilder::shared_token_caches` on the same database they also share users' logins
//!   and exchange once per user between them. A directory lookup is cached for
//!   [`ServeConfig::key_cache_ttl`]; an unreachable directory gives 503, never access.
//! - **Adaptations**: what agents send and Copilot rejects is left out instead of failing the request:
//!   `cache_control` (with `ttl`/`scope`), `context_management`, `metadata`, Anthropic server tools and
//!   OpenAI built-in tools (`web_search…`, `bash…`, …).
//! - **Models**: unlisted names agents send (dated Anthropic ids, dashed versions, provider prefixes) are
//!   mapped to the closest listed model, named in the `x-copilot-model` response header.
//! - **Billing**: `X-Initiator: user` only when the last message is a human prompt (copilot-api derives
//!   it from the conversation; an Anthropic user turn carrying `tool_result` blocks is `agent`); a
//!   caller's own `X-Initiator: agent` header marks automatic requests (compaction, sub-agents). Copilot's reported AI-credit cost
//!   comes back in `x-copilot-cost-nano-aiu` on non-streamed answers, and as `copilot_cost_nano_aiu`
//!   ([`COST_USAGE_FIELD`]) in the final usage object of streamed ones (chat's usage chunk with
//!   `include_usage`, `response.completed`, `message_delta`).
//! - **Errors** are written in the caller's dialect with Copilot's status: 429 with `Retry-After`, 402 for
//!   exhausted quota, 401 with a `copilot-rs auth login` hint.
//! - **Observability**: one `tracing` event per request (target `copilot_serve::request`: method, route,
//!   key label, model, status, upstream ms, tokens, cost), emitted when the response body (a stream
//!   included) is finished; never a token, key or prompt.
//! - **Shutdown** ([`RunningGateway::shutdown`]) stops accepting and lets open streams finish, up to the
//!   drain timeout.
//!
//! The wire rules the gateway implements, each with its test, are in the repository's `docs/protocol.md` §14.

mod anthropic;
mod config;
mod directory;
mod encode;
mod error;
mod handler;
mod openai;
mod routing;
mod server;
mod translate;
mod upstream;

pub use config::{
    ApiKeys, DEFAULT_DRAIN_TIMEOUT, DEFAULT_KEY_CACHE_TTL, DEFAULT_MAX_BODY, DEFAULT_PORT,
    MIN_KEY_LEN, ServeConfig, generate_key,
};
pub use encode::{COST_HEADER, COST_USAGE_FIELD};
pub use error::{Dialect, Failure, SIGN_IN_HINT, ServeError};
pub use openai::MODEL_HEADER;
pub use server::{Gateway, RunningGateway};
pub use upstream::Upstream;
