//! A stateful fake of GitHub OAuth and the GitHub Copilot API, with fault injection.
//!
//! `copilot-mock` is the offline twin of GitHub + Copilot that end-to-end tests, demos and
//! benchmarks run against. It reproduces the real services' paths, status codes, headers, body
//! shapes and quirks (errors as HTTP 200 on the OAuth endpoints, the stream prelude chunk, Claude's
//! same-index tool calls, …) rather than an idealised API. It depends on no other copilot-rs crate:
//! it writes the wire JSON itself, so it is an independent oracle for the client crates.
//!
//! # Usage
//!
//! ```
//! use copilot_mock::{MockConfig, MockServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = MockServer::start(MockConfig::new()).await;
//! let github_token = server.mint_github_token("octocat");
//!
//! // Point a client's hosts at the mock:
//! let exchange_url = format!("{}/copilot_internal/v2/token", server.github_api_url());
//! assert!(exchange_url.starts_with("http://127.0.0.1:"));
//! assert!(server.copilot_api_url().ends_with("/copilot"));
//! # let _ = github_token;
//! server.shutdown().await;
//! # }
//! ```
//!
//! # URL layout
//!
//! Everything is served on one port of `127.0.0.1`:
//!
//! | Role | Accessor | Base | Paths |
//! |---|---|---|---|
//! | GitHub web (`{gh_web}`) | [`MockServer::github_web_url`] | `http://127.0.0.1:PORT` | `/login/device/code`, `/login/oauth/access_token`, `/login/oauth/authorize`, `/login/device` |
//! | GitHub REST (`{gh_api}`) | [`MockServer::github_api_url`] | `…/api` (or `…/api/v3` with [`HostLayout::Ghes`]) | `/user`, `/user/orgs`, `/user/memberships/orgs/{org}`, `/copilot_internal/v2/token`, `/copilot_internal/user` |
//! | Copilot API (`{api}`) | [`MockServer::copilot_api_url`] | `…/copilot` | `/models`, `/models/{id}`, `/models/{id}/policy`, `/chat/completions`, `/responses` (also a WebSocket), `/v1/messages`, `/embeddings`, `/_ping` |
//!
//! The exchange envelope's `endpoints.api` is the Copilot API base above. Requests for a path
//! under the wrong base get GitHub's REST 404, so mixed-up hosts show up in tests.
//!
//! # Identities
//!
//! [`MockConfig::new`] knows the user `octocat` (individual seat, orgs `octo-org` and `github`) and
//! three OAuth clients: the Copilot app [`COPILOT_CLIENT_ID`] (allow-listed, `ghu_`), VS Code's
//! [`VSCODE_CLIENT_ID`] (allow-listed, `gho_`) and an own GitHub App [`WEB_APP_CLIENT_ID`] /
//! [`WEB_APP_CLIENT_SECRET`] with expiring tokens (`ghu_` + `ghr_`), not allow-listed (its tokens get
//! 404 from the exchange and belong to the Direct world, see [`MockConfig::direct_mode`]).
//!
//! # How the fake assistant behaves
//!
//! * **Replies** are derived from the last user message: `You said: "<prompt>". This is a
//!   deterministic answer from copilot-mock.`; with `n > 1`, choice *i* gets ` (choice i)` appended.
//! * **Tool calls** happen when the request offers `tools`, `tool_choice` is not `none`, the last
//!   message is from the user, and either `tool_choice` is `required` or names a function, or the
//!   prompt contains a tool's name, or says "use tools" / "use a tool". Named tools are called in the
//!   order of the `tools` list (at most two in one turn; Claude models put both at `index` 0 with
//!   different `tooluse_` ids, others number them), otherwise the first tool. Arguments are generated
//!   from the tool's JSON Schema. When the last messages are tool results (`role: tool`, or
//!   `function_call_output` items on `/responses`) the answer is `The tool results were: …`.
//! * **`claude-tool-caller`** (a test model, hidden from the picker) answers *every* chat request with two
//!   tool calls at `index` 0, as Claude does: the first two offered tools, or `read_file` and
//!   `run_in_terminal` when the request offers none; also after tool results. It exercises a client's
//!   handling of tools it does not have and its round cap.
//! * **Reasoning**: o-series models (`o4-mini`) always stream `cot_summary` before the content and
//!   `cot_id` in a chunk *after* the finish chunk. Claude models stream `reasoning_text` pieces and a
//!   `reasoning_opaque` signature when the request has `reasoning_effort` (not `none`) or
//!   `thinking_budget`, or the prompt contains "think". `/responses` adds a reasoning item when the
//!   request has `reasoning` (or the model is o-series). On `/v1/messages` an `output_config.effort` the
//!   model does not list in `capabilities.supports.reasoning_effort` is refused with 400
//!   `invalid_reasoning_effort`, naming the supported values, as Copilot does.
//! * **Small context** ([`SMALL_CONTEXT_MODEL`], a test model hidden from the picker): its
//!   `max_prompt_tokens` is [`SMALL_CONTEXT_PROMPT_TOKENS`]. Every model's prompt tokens are counted from
//!   the request's size (messages, system prompt and tool definitions at 4 bytes of JSON per token), and
//!   a prompt over the model's `max_prompt_tokens` is refused as Copilot refuses it: 400
//!   `{"error":{"message":"prompt token count of N exceeds the limit of M","code":"model_max_prompt_tokens_exceeded"}}`
//!   (on `/v1/messages`, Anthropic's `prompt is too long: N tokens > M maximum`).
//! * **Summaries**: a prompt containing "summar" (a context-compaction request) is answered with a short
//!   digest of the text after its first line, at most 60 of its words, whatever its length.
//! * **Structured output**: `response_format: json_schema` answers with an instance of the schema
//!   (every property present); `json_object` answers `{"answer": <reply>}`.
//! * **Long answers** (throughput benchmarks): a prompt containing `long answer N` (default 100), or
//!   [`MockConfig::long_answer_chunks`], streams N content chunks of ~500 bytes each on the wire; on
//!   `/v1/messages` the prompt makes the text of those N chunks the answer (streamed in `text_delta` pieces).
//! * **Stream shape**: a prelude chunk with empty `choices` and `prompt_filter_results`; no `model`
//!   or `object` (unless [`MockConfig::chunk_model_fields`]); first delta `{"content":"","role":"assistant"}`;
//!   content filter fields on OpenAI-family chunks; OpenAI-family models send a usage-only trailing
//!   chunk when `stream_options.include_usage` is true, Claude puts usage on the finish chunk; then
//!   `data: [DONE]`. Every event ends with `\n\n`.
//! * **Responses over WebSocket** (`ws:/responses`): `GET {api}/responses` upgrades to a WebSocket after the
//!   same authentication as the HTTP call; each `{"type":"response.create", …}` text message is answered
//!   with the HTTP stream's events, one JSON text message each, and errors are
//!   `{"type":"error","status":…,"error":{…}}` events after which the socket stays open. Refuse upgrades
//!   with [`MockConfig::websocket_upgrade`] ([`WsUpgrade::Reject`]); count them with
//!   [`MockServer::websocket_upgrade_count`] and [`MockServer::websocket_count`]; faults on
//!   [`Endpoint::ResponsesWebSocket`] apply per turn.
//!
//! # Faults
//!
//! [`FaultRule`]s bind a [`Fault`] to an [`Endpoint`], at start ([`MockConfig::fault`]) or at run
//! time ([`MockServer::set_fault`]), for every request or only the next N ([`FaultRule::times`]).
//! Stream faults count SSE events (the prelude is event 0).

mod config;
mod copilot;
mod error;
mod extract;
mod fault;
mod github;
mod ids;
mod log;
mod server;
mod state;
mod stream;

pub use config::{
    COPILOT_CLIENT_ID, ClientKind, CopilotAccess, CopilotSeat, DEFAULT_LOGIN, DeviceOutcome,
    DeviceScenario, HostLayout, MockClient, MockConfig, MockOrg, MockUser, RegisteredToken,
    ReplayTranscript, VSCODE_CLIENT_ID, WEB_APP_CLIENT_ID, WEB_APP_CLIENT_SECRET,
    WEB_APP_REDIRECT_URI, WebFlowDecision, WsUpgrade,
};
pub use copilot::models::{SMALL_CONTEXT_MODEL, SMALL_CONTEXT_PROMPT_TOKENS};
pub use error::MockError;
pub use fault::{Endpoint, Fault, FaultRule};
pub use log::{REDACTED, RequestLogEntry};
pub use server::MockServer;
