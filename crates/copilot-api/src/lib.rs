//! Copilot API types and client for copilot-rs: chat completions, streaming, responses, Anthropic Messages,
//! embeddings and models.
//!
//! The client gets its bearer token and base URL from a [`CopilotAuth`] (copilot-token's manager, or
//! [`StaticAuth`] for a fixed token), sends every request through a
//! [`SharedTransport`](copilot_http::SharedTransport) with the Copilot header profile, and turns streamed
//! answers into a [`ChatStream`] of [`ChatEvent`]s.
//!
//! A [`Provider`] (bring your own key: OpenAI or compatible, Azure OpenAI, Anthropic) is a [`CopilotAuth`]
//! too: given one, the same client sends chat, responses and messages to the provider with its key header
//! and none of Copilot's headers (`docs/protocol.md` §17):
//!
//! ```
//! use copilot_api::{CopilotApiClient, Provider};
//!
//! let provider = Provider::openai("https://api.openai.com/v1".parse().unwrap(), "sk-...");
//! let client = CopilotApiClient::new(provider);
//! # let _ = client;
//! ```
//!
//! # Streaming
//!
//! ```no_run
//! use copilot_api::{ChatEvent, ChatRequest, CopilotApiClient, Message, StaticAuth};
//! use futures_util::StreamExt;
//!
//! # async fn demo() -> Result<(), copilot_api::ApiError> {
//! let auth = StaticAuth::new("copilot-token", "https://api.githubcopilot.com".parse().unwrap());
//! let client = CopilotApiClient::new(auth)?;
//! let request = ChatRequest::new("gpt-4o", vec![Message::user("Write a haiku about Rust")]);
//! let mut stream = client.chat_stream(request).await?;
//! while let Some(event) = stream.next().await {
//!     match event? {
//!         ChatEvent::Content { text, .. } => print!("{text}"),
//!         // Ended (EOF or `[DONE]`) before any finish reason: `stream.progress()` says how far it got.
//!         ChatEvent::Done { saw_finish: false, .. } => eprintln!("(answer may be truncated)"),
//!         _ => {}
//!     }
//! }
//! // Or, instead of the loop: `let answer = stream.collect().await?;`
//! # Ok(()) }
//! ```
//!
//! A responses-only model (see [`ModelInfo::endpoint_for_chat`]) streams through the same consumer code via
//! [`CopilotApiClient::responses_stream`], and a Claude model through native Anthropic Messages via
//! [`CopilotApiClient::messages_stream`] (thinking blocks and their signatures survive for replay:
//! [`CollectedMessage::to_anthropic_message`]).
//!
//! # Responses over WebSocket
//!
//! A model that lists `ws:/responses` ([`ApiEndpoint::WsResponses`]) can take its Responses turns over one
//! socket: [`CopilotApiClient::responses_ws_stream`] (feature `websocket`, on by default) sends
//! `{"type":"response.create", …}` and decodes the server's events into the same [`ChatStream`]. Sockets
//! are pooled per credential and header set and reused for the next turn; a failed upgrade falls back to
//! HTTP `/responses` (with a warning, remembered for a while), and nothing is re-sent once a turn may have
//! reached the server. See [`docs/protocol.md`][protocol] §7.1.
//!
//! # Unknown fields
//!
//! Unknown JSON fields never fail decoding and are kept. Where they are kept depends on which way the type
//! travels:
//!
//! - **Decoded answers** ([`ChatResponse`], [`Choice`], [`Message`], [`Usage`] and its details,
//!   [`ResponsesResponse`], [`ResponsesUsage`]) keep them in an [`Extra`]: each value as the raw JSON text
//!   it arrived as, parsed only when asked ([`Extra::get_as`], [`Extra::get_value`]) and written back
//!   verbatim when serialised (a decoded assistant [`Message`] re-sent in the history keeps its fields).
//!   Building a `serde_json::Value` for every content filter result was the largest part of decoding a
//!   non-streamed answer. These types read raw text, so decode them from JSON text, a reader or a
//!   `serde_json::Value` (`serde_json::from_str`/`from_slice`/`from_reader`/`from_value`); serde's
//!   buffering wrappers (`#[serde(flatten)]`, untagged or internally tagged enums around them) cannot hand
//!   out raw text.
//! - **Request builders** ([`ChatRequest::extra`], [`ResponsesRequest::extra`], [`EmbeddingsRequest`])
//!   take `impl Into<serde_json::Value>` and keep a `serde_json::Map`: callers build those values in code,
//!   so there is no raw text to keep, and a `Value` is what they already have.
//! - **Rarely decoded types** ([`ModelInfo`] and its parts, [`Embedding`], [`ToolCall`], [`FunctionCall`])
//!   still derive `Deserialize` with a flattened `serde_json::Map`; they are decoded once per session or
//!   are small, so they keep the more convenient form.
//!
//! # Quirks handled
//!
//! The service is undocumented; these behaviours come from real captures and are listed, each with the test
//! that pins it, in [`docs/protocol.md`][protocol] §6–§13:
//!
//! - **Framing**: LF, CRLF and CR line ends; comments (keep-alives); `event:`, `id:`, `retry:` lines;
//!   multi-line `data:`; `data:` without a space; chunks that split lines and UTF-8 characters anywhere; a bare
//!   JSON `{"error":…}` line without `data:`; `[DONE]` possibly missing (then EOF ends the stream and
//!   [`ChatEvent::Done`] says whether any finish reason was seen).
//! - **Chunks**: the prelude chunk with `"choices":[]`, `"id":""`, `"created":0`; absent `object`/`model`;
//!   `role`/`content` `null`; empty first deltas; usage on the finish chunk or in a trailing usage-only chunk
//!   (never dropped; the last one wins; ignored for `n > 1`); content-filter blobs skipped without
//!   allocation.
//! - **Tool calls**: accumulated by `id` first and `index` second, because Claude reuses index 0 for
//!   successive calls; emitted in arrival order; `finish_reason:"stop"` with tool calls counts as tool calls;
//!   legacy `function_call` deltas.
//! - **Choices**: state per `choices[].index` (interleaved or sequential); non-streamed Claude answers that
//!   put tool calls in `choices[1]` are merged for `n = 1`.
//! - **Reasoning**: `reasoning_text`/`reasoning_opaque` (replayable on the next assistant [`Message`]),
//!   `cot_summary`, and `cot_id` arriving *after* the finish chunk; generic `reasoning`, `reasoning_content`,
//!   `thinking`, `signature`.
//! - **Errors**: a mid-stream `{"error":…}` or `event: error` becomes a typed [`ApiError`] and ends the
//!   stream; HTTP errors (JSON or `text/plain` bodies) map per status and code, carrying `x-request-id` and
//!   `x-github-request-id`.
//! - **Requests**: fresh `X-Request-Id` per request; `X-Initiator: user` only when the last message is a
//!   genuine human prompt (billing-critical), decided with `OpenAI-Intent` and `X-Interaction-Type` in one
//!   place ([`classify`], from the call kind and [`RequestPurpose`]); `Copilot-Vision-Request` only when an
//!   image is present; one credential refresh on 401/403/421 (the rejected [`CopilotCredentials`] go back to
//!   [`CopilotAuth::invalidate`] with their [`CredentialTag`]), as one step of copilot-http's one retrier;
//!   a conversation turn (chat, responses, messages) is re-sent only when the failure proves the server did
//!   not process it (connect error, 429, 503 with `Retry-After`), and a 200 head is final.
//! - **Credential failures**: [`ApiError::Auth`] carries the [`CopilotAuth`] source's typed
//!   [`CredentialError`] so callers can tell "sign in again" from a passing failure by matching a variant.
//! - **Models**: open enums, unknown fields kept, bad entries skipped with one summary warning; at most
//!   [`MAX_MODEL_ENTRIES`] entries decoded from a body of at most 8 MiB; cached with a TTL, stale list kept
//!   on 429.
//!
//! # Bounds on what a server can make us hold
//!
//! - **SSE**: a line and an event's data are capped at 16 MiB each by default ([`SseLimits`], configurable
//!   per client with [`CopilotApiClientBuilder::sse_limits`] or per stream with [`ChatStream::sse_limits`],
//!   including an optional cap on a stream's total bytes); breaking one ends the stream with
//!   [`ApiError::SseLimit`].
//! - **Time**: a first-event timeout, an idle timeout and an optional overall deadline that keep-alive
//!   comments cannot extend, as one [`StreamTimeouts`] ([`CopilotApiClientBuilder::stream_timeouts`],
//!   [`ApiError::StreamDeadline`]).
//! - **Bodies**: non-streamed answers up to 64 MiB, `/models` up to 8 MiB, error bodies up to 64 KiB.
//!
//! [protocol]: https://github.com/copilot-rs/copilot-rs/blob/main/docs/protocol.md

mod auto_model;
mod chat;
mod client;
mod decode;
mod embeddings;
mod error;
mod messages;
mod models;
mod options;
mod responses;
mod stream;
mod timeouts;
mod usage;
mod wire;
#[cfg(feature = "websocket")]
mod ws;

pub use auto_model::{AUTO_MODEL, AutoModelSession, AutoSessionToken, COPILOT_SESSION_TOKEN};
pub use chat::{
    ChatCollector, ChatEvent, ChatRequest, ChatResponse, Choice, CollectedChat, CollectedExtra,
    CollectedMessage, CollectedReasoning, CollectedThinking, Content, ContentPart, FinishReason,
    FunctionCall, FunctionDefinition, ImageDetail, JsonSchemaFormat, Message, ReasoningEffort,
    ReasoningKind, ResponseFormat, Role, StreamOptions, Tool, ToolCall, ToolCallDelta, ToolChoice,
};
pub use client::{
    ANTHROPIC_VERSION, CopilotApiClient, CopilotApiClientBuilder, MESSAGES_API_VERSION,
};
pub use copilot_core::{
    ApiService, AuthScheme, CopilotAuth, CopilotCredentials, CredentialError, CredentialTag,
    Provider, ProviderKind, StaticAuth, WireApi,
};
pub use decode::{ChatEventDecoder, Dialect, EventQueue};
pub use embeddings::{Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage};
pub use error::{ApiError, ErrorInfo, MAX_SNIPPET, PartialInfo};
pub use messages::{
    AnthropicMessage, CacheControl, ContentBlock, ImageBlock, ImageSource, MessageContent,
    MessagesMetadata, MessagesRequest, MessagesResponse, MessagesTool, MessagesToolChoice,
    MessagesUsage, OutputConfig, RedactedThinkingBlock, StopReason, TextBlock, ThinkingBlock,
    ThinkingConfig, ThinkingKind, ToolChoiceKind, ToolResultBlock, ToolUseBlock,
};
pub use models::{
    ApiEndpoint, ChatRoute, MAX_MODEL_ENTRIES, ModelBilling, ModelCapabilities, ModelInfo,
    ModelLimits, ModelList, ModelMessage, ModelPolicy, ModelSupports, ModelType, PickerCategory,
    PolicyState, Promo, Vendor, VisionLimits,
};
pub use options::{
    BACKGROUND_INTERACTION, CallKind, Classification, DEFAULT_INTENT, EMBEDDINGS_INTENT, Initiator,
    MESSAGES_INTENT, MODELS_INTENT, POLICY_INTENT, RequestOptions, RequestPurpose,
    SUBAGENT_INTERACTION, classify,
};
pub use responses::{
    ReasoningConfig, ReasoningSummary, ResponseContent, ResponseItem, ResponsesRequest,
    ResponsesResponse, ResponsesTool, ResponsesUsage,
};
pub use sse::{SseLimitExceeded, SseLimits};
pub use stream::ChatStream;
pub use timeouts::StreamTimeouts;
pub use usage::{CompletionTokensDetails, CopilotUsage, PromptTokensDetails, Usage};
pub use wire::extra::Extra;
pub use wire::sse;
