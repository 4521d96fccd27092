//! [`CopilotApiClient`]: builds requests with the Copilot header profile, retries what may be retried, maps
//! errors, and hands out [`ChatStream`]s.

use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use copilot_http::identity::{COPILOT_INTEGRATION_ID, X_GITHUB_API_VERSION};
use copilot_http::retry::{Attempt, Idempotency, Retrier, RetryPolicy};
use copilot_http::time::{Clock, SharedClock, SharedSleep, Sleep};
use copilot_http::{
    CarriesCredential, ClientIdentity, HttpResponse, HttpTransport, ParsedUrl, ResponseBody,
    SharedTransport, TransportError,
};
use futures_util::StreamExt;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auto_model::AutoModelSession;
use crate::chat::{ChatRequest, ChatResponse, StreamOptions};
use crate::decode::Dialect;
use crate::embeddings::{EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage};
use crate::error::{self, ApiError, PartialInfo, ResponseContext};
use crate::messages::{MessagesRequest, MessagesResponse};
use crate::models::{ModelInfo, ModelList};
use crate::options::{
    CallKind, Classification, DEFAULT_INTENT, Initiator, RequestOptions, classify,
};
use crate::responses::{ResponsesRequest, ResponsesResponse};
use crate::stream::{ChatStream, Timer};
use crate::timeouts::StreamTimeouts;
use crate::wire::sse::SseLimits;
use copilot_core::{ApiService, CopilotAuth, CopilotCredentials, ProviderKind};

/// `anthropic-version` sent on `/v1/messages` unless the caller's options set one.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `X-GitHub-Api-Version` on `/v1/messages` unless the identity sets another (the newest clients' value
/// for this endpoint).
pub const MESSAGES_API_VERSION: &str = copilot_http::identity::DEFAULT_MESSAGES_API_VERSION;

/// What `/v1/messages` adds to the identity profile (`docs/protocol.md` §8); its `X-Interaction-Type`
/// comes from [`classify`] like every call's, its `X-GitHub-Api-Version` from the identity.
const MESSAGES_HEADERS: &[(&str, &str)] = &[("anthropic-version", ANTHROPIC_VERSION)];

const OPENAI_INTENT: HeaderName = HeaderName::from_static("openai-intent");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_INITIATOR: HeaderName = HeaderName::from_static("x-initiator");
const X_INTERACTION_TYPE: HeaderName = HeaderName::from_static("x-interaction-type");
const VISION: HeaderName = HeaderName::from_static("copilot-vision-request");

/// The largest non-streamed body read (a models list is ~100 KB; embeddings of 512 inputs several MB).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// The largest `/models` body read: a real list is ~100 KB; 8 MiB leaves room for growth while bounding what
/// a hostile server can make us parse.
const MAX_MODELS_BODY: usize = 8 * 1024 * 1024;
/// The largest error body read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Embeddings batch size when the model's `max_inputs` is unknown.
const DEFAULT_EMBEDDINGS_BATCH: usize = 512;

/// The Copilot API client: chat, responses, embeddings and models.
///
/// Cheap to clone (shared state). See the [crate docs](crate) for an example.
#[derive(Clone, Debug)]
pub struct CopilotApiClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: Arc<dyn CopilotAuth>,
    transport: SharedTransport,
    /// The identity's Copilot header profile, validated once here instead of on every request.
    identity_headers: HeaderMap,
    /// The same profile for `/v1/messages`: the identity's messages API version in place of the Copilot
    /// API's.
    messages_identity_headers: HeaderMap,
    retry: RetryPolicy,
    clock: SharedClock,
    sleep: SharedSleep,
    stream_timeouts: StreamTimeouts,
    sse_limits: SseLimits,
    models_ttl: Duration,
    default_intent: String,
    models: tokio::sync::Mutex<Option<CachedModels>>,
    #[cfg(feature = "websocket")]
    websocket: crate::ws::WsSettings,
    #[cfg(feature = "websocket")]
    sockets: Arc<crate::ws::WsPool>,
}

#[derive(Debug)]
struct CachedModels {
    list: Arc<ModelList>,
    fetched_at: SystemTime,
}

/// Configures a [`CopilotApiClient`].
#[derive(Debug)]
pub struct CopilotApiClientBuilder {
    auth: Arc<dyn CopilotAuth>,
    transport: Option<SharedTransport>,
    identity: ClientIdentity,
    retry: RetryPolicy,
    clock: SharedClock,
    sleep: SharedSleep,
    stream_timeouts: StreamTimeouts,
    sse_limits: SseLimits,
    models_ttl: Duration,
    default_intent: String,
    #[cfg(feature = "websocket")]
    websocket: crate::ws::WsSettings,
}

impl CopilotApiClientBuilder {
    /// The HTTP transport (default: `ReqwestTransport` with the `reqwest` feature; required without it).
    pub fn transport(mut self, transport: impl HttpTransport + 'static) -> Self {
        self.transport = Some(SharedTransport::new(transport));
        self
    }

    /// The identity header profile (default: [`ClientIdentity::default`]).
    pub fn identity(mut self, identity: impl Into<ClientIdentity>) -> Self {
        self.identity = identity.into();
        self
    }

    /// The retry policy: attempts, backoff and time budget of the one retrier (default:
    /// [`RetryPolicy::default`]). What may be retried depends on the call: see
    /// [`copilot_http::retry`].
    pub fn retry_policy(mut self, policy: impl Into<RetryPolicy>) -> Self {
        self.retry = policy.into();
        self
    }

    /// The wall clock (cache ages, retry budgets, `Retry-After` dates).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The sleeper (backoff and stream timeouts).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = SharedSleep::new(sleep);
        self
    }

    /// The deadlines on the client's streams (default [`StreamTimeouts::new`]: 90 s to the first event,
    /// 120 s of silence, no overall limit; copilot-sdk's client adds one).
    pub fn stream_timeouts(mut self, timeouts: impl Into<StreamTimeouts>) -> Self {
        self.stream_timeouts = timeouts.into();
        self
    }

    /// The SSE size caps for streams (default [`SseLimits::new`]: 16 MiB per line and per event, no cap on
    /// a stream's bytes). A stream that breaks one ends with [`ApiError::SseLimit`].
    pub fn sse_limits(mut self, limits: impl Into<SseLimits>) -> Self {
        self.sse_limits = limits.into();
        self
    }

    /// How long the models list is cached (default 10 minutes, as VS Code).
    pub fn models_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.models_ttl = ttl.into();
        self
    }

    /// The default `OpenAI-Intent` for chat and responses (default `conversation-panel`).
    pub fn default_intent(mut self, intent: impl Into<String>) -> Self {
        self.default_intent = intent.into();
        self
    }

    /// The deadline on opening a Responses WebSocket (TCP, TLS and the upgrade; default 10 s; `None`
    /// disables). Past it the turn goes over HTTP `/responses` instead, as after any failed upgrade.
    #[cfg(feature = "websocket")]
    pub fn websocket_connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.websocket.connect_timeout = timeout.into();
        self
    }

    /// The largest WebSocket message (and frame) read (default 16 MiB, as an SSE event). A larger one ends
    /// the turn with [`ApiError::WebSocketMessageTooLarge`] and closes its socket.
    #[cfg(feature = "websocket")]
    pub fn websocket_max_message(mut self, bytes: usize) -> Self {
        self.websocket.max_message = bytes.max(1);
        self
    }

    /// How long a failed Responses WebSocket upgrade sends that credential's turns straight to HTTP
    /// without trying the upgrade again (default 10 minutes).
    #[cfg(feature = "websocket")]
    pub fn websocket_fallback_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.websocket.fallback_ttl = ttl.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<CopilotApiClient, ApiError> {
        let transport = match self.transport {
            Some(transport) => transport,
            None => SharedTransport::default_transport()?,
        };
        let mut identity_headers = HeaderMap::new();
        self.identity.apply_copilot(&mut identity_headers);
        let mut messages_identity_headers = identity_headers.clone();
        messages_identity_headers.remove(X_GITHUB_API_VERSION);
        // Like every identity header, a value that is not header text is skipped with a warning.
        match self
            .identity
            .messages_api_version()
            .map(HeaderValue::from_str)
        {
            Some(Ok(version)) => {
                messages_identity_headers.insert(X_GITHUB_API_VERSION, version);
            }
            Some(Err(_)) => {
                tracing::warn!("skipping an invalid messages X-GitHub-Api-Version");
            }
            None => {}
        }
        Ok(CopilotApiClient {
            inner: Arc::new(Inner {
                auth: self.auth,
                transport,
                identity_headers,
                messages_identity_headers,
                retry: self.retry,
                clock: self.clock,
                sleep: self.sleep,
                stream_timeouts: self.stream_timeouts,
                sse_limits: self.sse_limits,
                models_ttl: self.models_ttl,
                default_intent: self.default_intent,
                models: tokio::sync::Mutex::new(None),
                #[cfg(feature = "websocket")]
                websocket: self.websocket,
                #[cfg(feature = "websocket")]
                sockets: Arc::default(),
            }),
        })
    }
}

/// How one request is described to [`CopilotApiClient::send`].
struct Call<'a> {
    method: Method,
    /// Whether the retrier may deliver it twice: never for a conversation turn (billing).
    idempotency: Idempotency,
    path: &'a [&'a str],
    body: Option<Bytes>,
    /// Which call: picks the identity profile (`/v1/messages` has its own API version).
    kind: CallKind,
    /// `OpenAI-Intent`, `X-Interaction-Type` and `X-Initiator`, from [`classify`].
    classification: Classification<'a>,
    vision: bool,
    options: Option<&'a RequestOptions>,
    /// Headers this endpoint needs: they replace the identity profile's and yield to the caller's options.
    endpoint_headers: &'a [(&'static str, &'static str)],
    /// The model the body names (empty for calls without one): an Azure provider's deployment.
    model: &'a str,
}

/// A successful response head with its body and error context.
struct Sent {
    response: HttpResponse,
    context: ResponseContext,
}

/// The body of a conversation turn: what [`CopilotApiClient::turn_call`] needs to send any of the three
/// (chat, responses, messages) the same way.
trait TurnRequest: serde::Serialize {
    /// Which call: the identity profile and the default intent.
    const KIND: CallKind;
    /// The path below the API base URL.
    const PATH: &'static [&'static str];
    /// Headers the endpoint needs besides the identity profile's.
    const ENDPOINT_HEADERS: &'static [(&'static str, &'static str)] = &[];
    /// The name a decode error gives the answer.
    const NAME: &'static str;
    /// The model the body names.
    fn model(&self) -> &str;
    /// Who started the turn, judged from the conversation (billing: `X-Initiator`).
    fn initiator(&self) -> Initiator;
    /// Whether the conversation holds an image (`Copilot-Vision-Request`).
    fn has_image(&self) -> bool;
}

/// The three turn bodies forward to their own public `initiator` and `has_image`.
macro_rules! turn_request {
    ($request:ty, $kind:ident, $path:expr, $name:literal $(, headers: $headers:expr)?) => {
        impl TurnRequest for $request {
            const KIND: CallKind = CallKind::$kind;
            const PATH: &'static [&'static str] = $path;
            $(const ENDPOINT_HEADERS: &'static [(&'static str, &'static str)] = $headers;)?
            const NAME: &'static str = $name;
            fn model(&self) -> &str {
                &self.model
            }
            fn initiator(&self) -> Initiator {
                <$request>::initiator(self)
            }
            fn has_image(&self) -> bool {
                <$request>::has_image(self)
            }
        }
    };
}

turn_request!(
    ChatRequest,
    ChatCompletions,
    &["chat", "completions"],
    "chat"
);
turn_request!(ResponsesRequest, Responses, &["responses"], "responses");
turn_request!(MessagesRequest, Messages, &["v1", "messages"], "messages", headers: MESSAGES_HEADERS);

impl CopilotApiClient {
    /// A call that is no conversation turn (models, policy, the Auto-model session): idempotent, no
    /// initiator, no caller options, the call kind's intent.
    fn plain_call<'a>(
        &'a self,
        method: Method,
        path: &'a [&'a str],
        body: Option<Bytes>,
        kind: CallKind,
    ) -> Call<'a> {
        Call {
            method,
            idempotency: Idempotency::Idempotent,
            path,
            body,
            kind,
            classification: classify(kind, None, &self.inner.default_intent, || Initiator::Agent),
            vision: false,
            options: None,
            endpoint_headers: &[],
            model: "",
        }
    }

    /// A client with default settings (reqwest transport, default identity and retry policy).
    pub fn new(auth: impl CopilotAuth + 'static) -> Result<Self, ApiError> {
        Self::builder(auth).build()
    }

    /// A builder.
    pub fn builder(auth: impl CopilotAuth + 'static) -> CopilotApiClientBuilder {
        CopilotApiClientBuilder {
            auth: Arc::new(auth),
            transport: None,
            identity: ClientIdentity::default(),
            retry: RetryPolicy::default(),
            clock: SharedClock::system(),
            sleep: SharedSleep::tokio(),
            stream_timeouts: StreamTimeouts::new(),
            sse_limits: SseLimits::new(),
            models_ttl: Duration::from_secs(600),
            default_intent: DEFAULT_INTENT.to_owned(),
            #[cfg(feature = "websocket")]
            websocket: crate::ws::WsSettings::default(),
        }
    }

    /// A non-streamed chat completion. For `n = 1` requests, Claude's split choices (text in `choices[0]`,
    /// tool calls in `choices[1]`) are merged into one message.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, ApiError> {
        self.chat_with(request, RequestOptions::new()).await
    }

    /// [`chat`](Self::chat) with per-request headers and overrides (initiator, intent, extra headers).
    pub async fn chat_with(
        &self,
        mut request: ChatRequest,
        options: RequestOptions,
    ) -> Result<ChatResponse, ApiError> {
        request.stream = None;
        request.stream_options = None;
        let single = request.n.unwrap_or(1) <= 1;
        let mut response: ChatResponse = self.send_turn(&request, &options).await?;
        if single {
            response.merge_choices();
        }
        Ok(response)
    }

    /// A streamed chat completion. Asks for usage (`stream_options.include_usage`) unless set.
    ///
    /// A turn is billed once the server has it, so it is re-sent only when the failure proves the server
    /// did not process it (connect errors, 429, 503 with `Retry-After`; see
    /// [`Idempotency::NonIdempotent`]). A 200 head is final, even if its body then breaks before the first
    /// byte (the first bytes are read before this returns): the stream yields
    /// [`ApiError::StreamInterrupted`], which the caller may retry.
    pub async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream, ApiError> {
        self.chat_stream_with(request, RequestOptions::new()).await
    }

    /// [`chat_stream`](Self::chat_stream) with per-request headers and overrides.
    pub async fn chat_stream_with(
        &self,
        mut request: ChatRequest,
        options: RequestOptions,
    ) -> Result<ChatStream, ApiError> {
        request.stream = Some(true);
        if request.stream_options.is_none() {
            request.stream_options = Some(StreamOptions {
                include_usage: true,
            });
        }
        let call = self.turn_call(&request, &options)?;
        self.open_stream(&call, Dialect::ChatCompletions, request.n)
            .await
    }

    /// The POST of a conversation turn (chat, responses or messages): never re-sent once the server may
    /// have it, and classified by [`classify`] from the caller's options and the initiator the
    /// conversation implies.
    fn turn_call<'a, R: TurnRequest>(
        &'a self,
        request: &'a R,
        options: &'a RequestOptions,
    ) -> Result<Call<'a>, ApiError> {
        Ok(Call {
            method: Method::POST,
            idempotency: Idempotency::NonIdempotent,
            path: R::PATH,
            body: Some(to_body(request)?),
            kind: R::KIND,
            classification: classify(R::KIND, Some(options), &self.inner.default_intent, || {
                request.initiator()
            }),
            vision: request.has_image(),
            options: Some(options),
            endpoint_headers: R::ENDPOINT_HEADERS,
            model: request.model(),
        })
    }

    /// A non-streamed turn, its answer decoded as `T`.
    async fn send_turn<R: TurnRequest, T: DeserializeOwned>(
        &self,
        request: &R,
        options: &RequestOptions,
    ) -> Result<T, ApiError> {
        let sent = self.send(&self.turn_call(request, options)?).await?;
        self.read_json(R::NAME, sent).await
    }

    /// A non-streamed `/responses` call.
    pub async fn responses(
        &self,
        request: ResponsesRequest,
    ) -> Result<ResponsesResponse, ApiError> {
        self.responses_with(request, RequestOptions::new()).await
    }

    /// [`responses`](Self::responses) with per-request headers and overrides.
    pub async fn responses_with(
        &self,
        mut request: ResponsesRequest,
        options: RequestOptions,
    ) -> Result<ResponsesResponse, ApiError> {
        request.stream = None;
        self.send_turn(&request, &options).await
    }

    /// A streamed `/responses` call, decoded into the same [`ChatEvent`](crate::ChatEvent)s as chat. Retried
    /// like [`chat_stream`](Self::chat_stream): only while the server cannot have processed the turn.
    pub async fn responses_stream(
        &self,
        request: ResponsesRequest,
    ) -> Result<ChatStream, ApiError> {
        self.responses_stream_with(request, RequestOptions::new())
            .await
    }

    /// [`responses_stream`](Self::responses_stream) with per-request headers and overrides.
    pub async fn responses_stream_with(
        &self,
        mut request: ResponsesRequest,
        options: RequestOptions,
    ) -> Result<ChatStream, ApiError> {
        request.stream = Some(true);
        let call = self.turn_call(&request, &options)?;
        self.open_stream(&call, Dialect::Responses, None).await
    }

    /// A streamed Responses turn over the Responses WebSocket (`ws:/responses`, for models whose
    /// `supported_endpoints` list it), decoded into the same [`ChatEvent`](crate::ChatEvent)s as
    /// [`responses_stream`](Self::responses_stream).
    ///
    /// The socket is opened at `wss://` on the same host and path as the HTTP call, with the same headers
    /// and bearer (so the same URL safety: `wss`, or `ws` to a literal loopback address); the turn is one
    /// `{"type":"response.create", …}` text message. A socket whose turn ended cleanly
    /// ([`ChatEvent::Done`](crate::ChatEvent::Done)) is kept for the next turn with the same credentials
    /// and headers; an error or a dropped stream closes it, so it fails that turn only. The upgrade's
    /// headers classify every turn on the socket, so a turn reuses only a socket opened with the headers it
    /// would send itself (`X-Initiator`, `X-Interaction-Type`, …; the request id aside).
    ///
    /// When the upgrade fails (refused with a status such as 501 or 426, a connect or TLS error, the
    /// connect deadline), the turn goes to HTTP `/responses` instead and a warning says so; unless the
    /// refusal was about the credential (401/403/421) or a rate limit (429), that credential's turns go
    /// straight to HTTP for [`websocket_fallback_ttl`](CopilotApiClientBuilder::websocket_fallback_ttl).
    /// Once the `response.create` may have reached the server, nothing is re-sent, over either transport
    /// (the turn is billed): a socket that breaks mid-turn ends the stream with
    /// [`ApiError::StreamInterrupted`]. [`ChatStream::over_websocket`] says which way a turn went.
    ///
    /// The socket does not go through an HTTP proxy: where only a proxy reaches the server, the connect
    /// fails and the turn falls back to HTTP, which uses the proxy.
    #[cfg(feature = "websocket")]
    pub async fn responses_ws_stream(
        &self,
        request: ResponsesRequest,
    ) -> Result<ChatStream, ApiError> {
        self.responses_ws_stream_with(request, RequestOptions::new())
            .await
    }

    /// [`responses_ws_stream`](Self::responses_ws_stream) with per-request headers and overrides (sent on
    /// the upgrade).
    #[cfg(feature = "websocket")]
    pub async fn responses_ws_stream_with(
        &self,
        mut request: ResponsesRequest,
        options: RequestOptions,
    ) -> Result<ChatStream, ApiError> {
        use crate::ws;
        let inner = &*self.inner;
        // A socket always streams: the message has no `stream` field; the HTTP fallback asks for a stream.
        request.stream = None;
        let message = ws::create_message(&to_body(&request)?)
            .map_err(|message| ApiError::InvalidRequest { message })?;
        request.stream = Some(true);
        let call = self.turn_call(&request, &options)?;
        let credentials = inner.auth.credentials().await?;
        if inner.sockets.falls_back(&credentials, inner.clock.now()) {
            return self.open_stream(&call, Dialect::Responses, None).await;
        }
        let request_id = uuid::Uuid::new_v4();
        let mut request_id_text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let request_id_text: &str = request_id.hyphenated().encode_lower(&mut request_id_text);
        let upgrade = self.build_request(&call, &credentials, request_id_text)?;
        // Exactly the HTTP call's rule: a bearer goes over https, or http to a literal loopback address.
        copilot_http::safety::check_credential_uri(upgrade.uri())?;
        let (parts, _body) = upgrade.into_parts();
        let url =
            ws::websocket_url(&parts.uri.to_string()).ok_or_else(|| ApiError::InvalidRequest {
                message: "the Copilot API URL is neither https nor http".to_owned(),
            })?;
        let mut headers = parts.headers;
        headers.remove(CONTENT_TYPE);
        let mut key_headers = headers.clone();
        key_headers.remove(X_REQUEST_ID);
        let key = ws::SocketKey {
            url,
            headers: key_headers,
        };
        let mut retried = false;
        let opened = loop {
            let mut opened = match ws::open(
                &inner.sockets,
                &key,
                headers.clone(),
                &inner.websocket,
                &inner.clock,
                &inner.sleep,
            )
            .await
            {
                Ok(opened) => opened,
                Err(failure) => {
                    return self
                        .fall_back(&call, &credentials, &parts.uri, failure)
                        .await;
                }
            };
            match ws::send(&mut opened.socket, message.clone()).await {
                Ok(()) => break opened,
                // A send that failed left no whole message with the server: nothing was processed. A
                // pooled socket the server had closed meanwhile is the usual cause, so one more socket is
                // tried.
                Err(_) if opened.reused && !retried => retried = true,
                Err(message) => {
                    return Err(ApiError::StreamInterrupted {
                        message,
                        partial: PartialInfo::default(),
                    });
                }
            }
        };
        let context = ResponseContext::from_headers(
            &opened.upgrade_headers,
            Some(request_id_text),
            inner.clock.now(),
        );
        let upgrade_headers = opened.upgrade_headers.clone();
        let turn = ws::SocketTurn::new(
            opened,
            inner.sockets.clone(),
            key,
            inner.clock.clone(),
            inner.websocket.max_message,
        );
        Ok(ChatStream::from_socket(turn)
            .with_response(upgrade_headers, context)
            .timeouts(inner.stream_timeouts)
            .sleep(inner.sleep.clone()))
    }

    /// The turn over HTTP after a failed upgrade (nothing reached the server over the socket).
    #[cfg(feature = "websocket")]
    async fn fall_back(
        &self,
        call: &Call<'_>,
        credentials: &CopilotCredentials,
        uri: &http::Uri,
        failure: crate::ws::UpgradeFailure,
    ) -> Result<ChatStream, ApiError> {
        let inner = &*self.inner;
        let remembered = failure.remember();
        tracing::warn!(
            url = %copilot_http::RedactedUrl::uri(uri),
            reason = %failure,
            remembered_for = ?remembered.then_some(inner.websocket.fallback_ttl),
            "the Responses WebSocket upgrade failed; this turn goes over HTTP /responses"
        );
        if remembered {
            inner.sockets.remember_fallback(
                credentials,
                inner.clock.now() + inner.websocket.fallback_ttl,
            );
        }
        self.open_stream(call, Dialect::Responses, None).await
    }

    /// A non-streamed Anthropic Messages call (`POST /v1/messages`), for models whose
    /// `supported_endpoints` list it. Thinking blocks come back with their signatures in
    /// [`MessagesResponse::content`]; [`MessagesResponse::to_message`] replays them.
    pub async fn messages(&self, request: MessagesRequest) -> Result<MessagesResponse, ApiError> {
        self.messages_with(request, RequestOptions::new()).await
    }

    /// [`messages`](Self::messages) with per-request headers and overrides (e.g. `anthropic-beta`).
    pub async fn messages_with(
        &self,
        mut request: MessagesRequest,
        options: RequestOptions,
    ) -> Result<MessagesResponse, ApiError> {
        request.stream = None;
        self.send_turn(&request, &options).await
    }

    /// A streamed Anthropic Messages call, decoded into the same [`ChatEvent`](crate::ChatEvent)s as chat
    /// (thinking as reasoning, signatures as opaque reasoning, `tool_use` as tool calls). Retried like
    /// [`chat_stream`](Self::chat_stream): only while the server cannot have processed the turn.
    pub async fn messages_stream(&self, request: MessagesRequest) -> Result<ChatStream, ApiError> {
        self.messages_stream_with(request, RequestOptions::new())
            .await
    }

    /// [`messages_stream`](Self::messages_stream) with per-request headers and overrides.
    pub async fn messages_stream_with(
        &self,
        request: MessagesRequest,
        options: RequestOptions,
    ) -> Result<ChatStream, ApiError> {
        self.open_messages_stream(request, options, Dialect::Messages)
            .await
    }

    /// A streamed Anthropic Messages call whose events are kept as they came
    /// ([`Dialect::MessagesRaw`]): each is a [`ChatEvent::Extra`](crate::ChatEvent::Extra) named by its
    /// `type` with its `data` verbatim, for a proxy that re-emits the stream unchanged. Errors, retries
    /// and timeouts are those of [`messages_stream`](Self::messages_stream).
    pub async fn messages_stream_raw(
        &self,
        request: MessagesRequest,
    ) -> Result<ChatStream, ApiError> {
        self.messages_stream_raw_with(request, RequestOptions::new())
            .await
    }

    /// [`messages_stream_raw`](Self::messages_stream_raw) with per-request headers and overrides.
    pub async fn messages_stream_raw_with(
        &self,
        request: MessagesRequest,
        options: RequestOptions,
    ) -> Result<ChatStream, ApiError> {
        self.open_messages_stream(request, options, Dialect::MessagesRaw)
            .await
    }

    async fn open_messages_stream(
        &self,
        mut request: MessagesRequest,
        options: RequestOptions,
        dialect: Dialect,
    ) -> Result<ChatStream, ApiError> {
        request.stream = Some(true);
        let call = self.turn_call(&request, &options)?;
        self.open_stream(&call, dialect, None).await
    }

    /// Embeddings, split into batches of the model's `limits.max_inputs` (or the request's batch size) and
    /// merged with indexes re-based onto the whole input.
    pub async fn embeddings(
        &self,
        request: EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, ApiError> {
        self.embeddings_with(request, RequestOptions::new()).await
    }

    /// [`embeddings`](Self::embeddings) with per-request headers and overrides (sent on every batch).
    pub async fn embeddings_with(
        &self,
        request: EmbeddingsRequest,
        options: RequestOptions,
    ) -> Result<EmbeddingsResponse, ApiError> {
        let batch_size = match request.batch_size {
            Some(size) => size,
            None => match self.model(&request.model).await {
                Ok(Some(model)) => model
                    .capabilities
                    .limits
                    .max_inputs
                    .map_or(DEFAULT_EMBEDDINGS_BATCH, |n| n.max(1) as usize),
                Ok(None) => DEFAULT_EMBEDDINGS_BATCH,
                Err(error) => {
                    tracing::warn!(%error, "models lookup failed; using the default embeddings batch size");
                    DEFAULT_EMBEDDINGS_BATCH
                }
            },
        };
        let mut merged = EmbeddingsResponse::default();
        let mut offset = 0;
        for batch in request.input.chunks(batch_size.max(1)) {
            let mut part = request.clone();
            part.input = batch.to_vec();
            let sent = self
                .send(&Call {
                    method: Method::POST,
                    // No effect beyond the answer, so a lost answer may be asked for again.
                    idempotency: Idempotency::Idempotent,
                    path: &["embeddings"],
                    body: Some(to_body(&part)?),
                    kind: CallKind::Embeddings,
                    classification: classify(
                        CallKind::Embeddings,
                        Some(&options),
                        &self.inner.default_intent,
                        || Initiator::Agent,
                    ),
                    vision: false,
                    options: Some(&options),
                    endpoint_headers: &[],
                    model: &part.model,
                })
                .await?;
            let response: EmbeddingsResponse = self.read_json("embeddings", sent).await?;
            merged.model = merged.model.or(response.model);
            if let Some(usage) = response.usage {
                let total = merged.usage.get_or_insert_with(EmbeddingsUsage::default);
                total.prompt_tokens += usage.prompt_tokens;
                total.total_tokens += usage.total_tokens;
            }
            merged.data.extend(response.data.into_iter().map(|mut e| {
                e.index += offset;
                e
            }));
            offset += batch.len();
        }
        merged.data.sort_by_key(|e| e.index);
        Ok(merged)
    }

    /// The models list, cached for the TTL. Concurrent callers share one fetch; on 429 a stale list is
    /// returned rather than an error.
    pub async fn models(&self) -> Result<Arc<ModelList>, ApiError> {
        let mut cache = self.inner.models.lock().await;
        let now = self.inner.clock.now();
        if let Some(cached) = cache.as_ref()
            && now
                .duration_since(cached.fetched_at)
                .unwrap_or(Duration::ZERO)
                < self.inner.models_ttl
        {
            return Ok(cached.list.clone());
        }
        match self.fetch_models().await {
            Ok(list) => {
                let list = Arc::new(list);
                *cache = Some(CachedModels {
                    list: list.clone(),
                    fetched_at: self.inner.clock.now(),
                });
                Ok(list)
            }
            Err(error @ ApiError::RateLimited { .. }) => match cache.as_ref() {
                Some(stale) => {
                    tracing::warn!(%error, "models refresh rate limited; keeping the cached list");
                    Ok(stale.list.clone())
                }
                None => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// Forgets the cached models list so the next [`models`](Self::models) fetches it.
    pub async fn invalidate_models(&self) {
        *self.inner.models.lock().await = None;
    }

    /// One model from the (cached) list.
    pub async fn model(&self, id: &str) -> Result<Option<ModelInfo>, ApiError> {
        Ok(self.models().await?.get(id).cloned())
    }

    async fn fetch_models(&self) -> Result<ModelList, ApiError> {
        let sent = self
            .send(&self.plain_call(Method::GET, &["models"], None, CallKind::Models))
            .await?;
        let body = sent
            .response
            .into_body()
            .collect_limited(MAX_MODELS_BODY)
            .await?;
        ModelList::from_json(&body).map_err(|e| ApiError::Decode {
            what: "models",
            message: e.to_string(),
            snippet: error::snippet(&body),
        })
    }

    /// Starts an Auto-model session (`POST /models/session` with `{"auto_mode":{"model_hints":["auto"]}}`):
    /// the models it may use, the one Copilot selected, and the token its turns carry
    /// ([`RequestOptions::auto_session`]). Copilot answers 404 ([`ApiError::NotFound`]) to clients that are
    /// not GitHub's own; choose a model yourself then. Retried like an idempotent call: it bills nothing.
    pub async fn auto_model_session(&self) -> Result<AutoModelSession, ApiError> {
        self.auto_model_session_with([crate::auto_model::AUTO_MODEL])
            .await
    }

    /// [`auto_model_session`](Self::auto_model_session) with other `model_hints`.
    pub async fn auto_model_session_with(
        &self,
        hints: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<AutoModelSession, ApiError> {
        let hints: Vec<String> = hints.into_iter().map(Into::into).collect();
        let body = to_body(&serde_json::json!({"auto_mode": {"model_hints": hints}}))?;
        let sent = self
            .send(&self.plain_call(
                Method::POST,
                &["models", "session"],
                Some(body),
                CallKind::ModelSession,
            ))
            .await?;
        self.read_json("Auto-model session", sent).await
    }

    /// Accepts a model's terms (`POST /models/{id}/policy` with `{"state":"enabled"}`), then forgets the
    /// cached list. Models disabled by an admin cannot be enabled this way (the server refuses).
    pub async fn accept_policy(&self, model_id: &str) -> Result<(), ApiError> {
        let body = to_body(&serde_json::json!({"state": "enabled"}))?;
        let sent = self
            // Setting `enabled` twice leaves it enabled: idempotent.
            .send(&self.plain_call(
                Method::POST,
                &["models", model_id, "policy"],
                Some(body),
                CallKind::ModelPolicy,
            ))
            .await?;
        drop(sent);
        self.invalidate_models().await;
        Ok(())
    }

    /// Sends a streaming call and waits for the first body bytes before handing out the stream.
    ///
    /// The call goes through the one retrier like any other (retried only while the server cannot have
    /// processed it). A 200 head is final: a body that breaks before its first byte is not re-sent (the
    /// server may already be generating, and billing, the answer); the stream yields
    /// [`ApiError::StreamInterrupted`] instead, which the caller may retry. The wait for the first bytes
    /// counts against the first-event timeout, whose timer then carries on in the stream.
    async fn open_stream(
        &self,
        call: &Call<'_>,
        dialect: Dialect,
        n: Option<u32>,
    ) -> Result<ChatStream, ApiError> {
        let inner = &*self.inner;
        let sent = self.send(call).await?;
        let (parts, mut body) = sent.response.into_parts();
        let mut timer = None;
        let first = first_chunk(
            &mut body,
            &mut timer,
            inner.stream_timeouts.first_event,
            &inner.sleep,
        )
        .await;
        let stream = ChatStream::from_body(body, dialect)
            .with_response(parts.headers, sent.context)
            .timeouts(inner.stream_timeouts)
            .sse_limits(inner.sse_limits)
            .sleep(inner.sleep.clone())
            .requested_choices(n);
        Ok(match first {
            FirstChunk::Data(bytes) => stream.primed(bytes, timer),
            FirstChunk::End => stream.primed(Bytes::new(), timer),
            FirstChunk::TimedOut => stream.failed(ApiError::FirstEventTimeout {
                after: inner.stream_timeouts.first_event.unwrap_or_default(),
            }),
            FirstChunk::Failed(error) => stream.failed(ApiError::StreamInterrupted {
                message: error.to_string(),
                partial: PartialInfo::default(),
            }),
        })
    }

    async fn read_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        sent: Sent,
    ) -> Result<T, ApiError> {
        let body = sent.response.into_body().collect_limited(MAX_BODY).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            what,
            message: e.to_string(),
            snippet: error::snippet(&body),
        })
    }

    /// Sends a call through the one [`Retrier`] (attempts, clock, budget, the credential refresh on
    /// 401/403/421 as one step of it) and maps a final non-success status to its error.
    async fn send(&self, call: &Call<'_>) -> Result<Sent, ApiError> {
        let inner = &*self.inner;
        let mut attempt = CallAttempt {
            client: self,
            call,
            credentials: None,
            request_id: uuid::Uuid::nil(),
        };
        let response = Retrier::new(&inner.retry, &inner.clock, &inner.sleep)
            .run(call.idempotency, &mut attempt)
            .await?;
        let status = response.status();
        // Formatted into a stack buffer: `to_string` would go through `fmt` and allocate.
        let mut request_id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let request_id: &str = attempt
            .request_id
            .hyphenated()
            .encode_lower(&mut request_id);
        // A provider is sent no `X-Request-Id` (it is Copilot's), so there is none of ours to report.
        let to_copilot = attempt
            .credentials
            .as_ref()
            .is_none_or(|credentials| credentials.service == ApiService::Copilot);
        let context = ResponseContext::from_headers(
            response.headers(),
            to_copilot.then_some(request_id),
            inner.clock.now(),
        );
        if status.is_success() {
            return Ok(Sent { response, context });
        }
        let body = response
            .into_body()
            .collect_limited(MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        Err(error::from_response(status, &body, &context))
    }

    /// The request of one attempt. Which service the credentials are for decides, here and only here,
    /// whether Copilot's header profile is sent: a [`Provider`](copilot_core::Provider) gets its own URL
    /// shape, its key in its own header, the `User-Agent` and the endpoint's and caller's headers, and
    /// nothing of Copilot's (`docs/protocol.md` §17).
    fn build_request(
        &self,
        call: &Call<'_>,
        credentials: &CopilotCredentials,
        request_id: &str,
    ) -> Result<http::Request<Bytes>, ApiError> {
        let (url, mut headers) = match &credentials.service {
            ApiService::Provider { kind, api_version } => (
                provider_url(&credentials.base_url, *kind, api_version.as_deref(), call)?,
                self.provider_headers(call),
            ),
            _ => (
                endpoint_url(&credentials.base_url, call.path)?,
                self.copilot_headers(call, credentials, request_id)?,
            ),
        };
        let invalid_secret = || ApiError::InvalidRequest {
            message: "the credential is not a valid header value".to_owned(),
        };
        if let Some((name, value)) = credentials.auth_header().map_err(|()| invalid_secret())? {
            headers.insert(name, value);
        }
        if call.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(options) = call.options {
            apply_caller_headers(&mut headers, &options.headers);
        }
        let mut request = http::Request::new(call.body.clone().unwrap_or_default());
        *request.method_mut() = call.method.clone();
        *request.uri_mut() =
            url.as_str()
                .parse()
                .map_err(|e: http::uri::InvalidUri| ApiError::InvalidRequest {
                    message: format!("invalid URL {}: {e}", copilot_http::RedactedUrl::url(&url)),
                })?;
        *request.headers_mut() = headers;
        // Every call carries a credential, whichever header holds it (`api-key`, `x-api-key`): the
        // transport checks the URL is https or loopback http before sending.
        request.extensions_mut().insert(CarriesCredential);
        // The URL already parsed, so a `Url`-based transport (reqwest) need not render and re-parse the
        // `Uri` (~7 k instructions per request); used only while it still matches the `Uri`.
        request.extensions_mut().insert(ParsedUrl::new(url));
        Ok(request)
    }

    /// Copilot's header profile of a call: identity, endpoint headers, integration id, classification,
    /// request id, vision flag and the Auto-model session token.
    fn copilot_headers(
        &self,
        call: &Call<'_>,
        credentials: &CopilotCredentials,
        request_id: &str,
    ) -> Result<HeaderMap, ApiError> {
        // Copying the prebuilt profile is a memcpy plus reference counts.
        let mut headers = match call.kind {
            CallKind::Messages => self.inner.messages_identity_headers.clone(),
            _ => self.inner.identity_headers.clone(),
        };
        // This endpoint's headers replace the profile's; the caller's (applied last) replace both.
        insert_endpoint_headers(&mut headers, call);
        headers.reserve(6);
        // The bearer belongs to an integration id (PATs in direct mode work only with
        // `copilot-developer-cli`): the source's value wins over the identity's.
        if let Some(integration_id) = &credentials.integration_id
            && headers
                .get(&COPILOT_INTEGRATION_ID)
                .is_none_or(|sent| sent.as_bytes() != integration_id.as_bytes())
        {
            headers.insert(COPILOT_INTEGRATION_ID, header_value(integration_id)?);
        }
        let classification = &call.classification;
        headers.insert(OPENAI_INTENT, header_value(classification.intent)?);
        headers.insert(
            X_INTERACTION_TYPE,
            header_value(classification.interaction_type)?,
        );
        headers.insert(X_REQUEST_ID, header_value(request_id)?);
        if let Some(initiator) = classification.initiator {
            headers.insert(X_INITIATOR, HeaderValue::from_static(initiator.as_str()));
        }
        if call.vision {
            headers.insert(VISION, HeaderValue::from_static("true"));
        }
        if let Some(token) = call
            .options
            .and_then(|options| options.auto_session.as_ref())
        {
            // Not `header_value`: its error would quote the token.
            let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                ApiError::InvalidRequest {
                    message: "the Auto-model session token is not a valid header value".to_owned(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert(crate::auto_model::COPILOT_SESSION_TOKEN, value);
        }
        Ok(headers)
    }

    /// A provider's headers of a call: the identity's `User-Agent` and the endpoint's headers (e.g.
    /// `anthropic-version`), nothing else.
    fn provider_headers(&self, call: &Call<'_>) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(4);
        if let Some(agent) = self.inner.identity_headers.get(USER_AGENT) {
            headers.insert(USER_AGENT, agent.clone());
        }
        insert_endpoint_headers(&mut headers, call);
        headers
    }
}

fn insert_endpoint_headers(headers: &mut HeaderMap, call: &Call<'_>) {
    for &(name, value) in call.endpoint_headers {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

/// A provider's URL for a call. OpenAI-compatible and Anthropic providers take the call's path under their
/// base (`/chat/completions`, `/responses`, `/v1/messages`). Azure OpenAI's native endpoint takes
/// `/openai/deployments/{model}/chat/completions` (and `/embeddings`), `/openai/responses`,
/// `/openai/models`, each with `?api-version=`.
fn provider_url(
    base: &Url,
    kind: ProviderKind,
    api_version: Option<&str>,
    call: &Call<'_>,
) -> Result<Url, ApiError> {
    if kind != ProviderKind::Azure {
        return endpoint_url(base, call.path);
    }
    let deployment = matches!(call.kind, CallKind::ChatCompletions | CallKind::Embeddings);
    if deployment && call.model.is_empty() {
        return Err(ApiError::InvalidRequest {
            message: "an Azure OpenAI call needs a model (its deployment name)".to_owned(),
        });
    }
    let mut segments: Vec<&str> = Vec::with_capacity(call.path.len() + 3);
    segments.push("openai");
    if deployment {
        segments.extend(["deployments", call.model]);
    }
    segments.extend(call.path);
    let mut url = endpoint_url(base, &segments)?;
    if let Some(version) = api_version {
        url.query_pairs_mut().append_pair("api-version", version);
    }
    Ok(url)
}

/// Headers a caller's [`RequestOptions::headers`] can never set: credentials (the bearer comes from the
/// [`CopilotAuth`], and must not be replaced or joined by another) and the framing of the body we send.
const CLIENT_OWNED_HEADERS: [HeaderName; 9] = [
    AUTHORIZATION,
    HeaderName::from_static("api-key"),
    HeaderName::from_static("x-api-key"),
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
    http::header::HOST,
    CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
];

/// Applies a caller's headers last: each replaces every same-named header the client computed (identity,
/// intent, initiator, request id, …), except the [client-owned](CLIENT_OWNED_HEADERS) ones, which are skipped.
fn apply_caller_headers(headers: &mut HeaderMap, caller: &HeaderMap) {
    for name in caller.keys() {
        if CLIENT_OWNED_HEADERS.contains(name) {
            tracing::warn!(header = %name, "ignoring a caller header that the client owns");
            continue;
        }
        headers.remove(name);
        for value in caller.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
}

/// One attempt of a call as the retrier drives it: the source's current credentials and a fresh request id
/// each time; a rejection hands the credentials back to the source once.
struct CallAttempt<'c, 'a> {
    client: &'c CopilotApiClient,
    call: &'c Call<'a>,
    /// The credentials of the last request sent.
    credentials: Option<CopilotCredentials>,
    /// The `X-Request-Id` of the last request sent.
    request_id: uuid::Uuid,
}

#[async_trait::async_trait]
impl Attempt for CallAttempt<'_, '_> {
    type Error = ApiError;

    async fn send(&mut self) -> Result<HttpResponse, ApiError> {
        let inner = &*self.client.inner;
        let credentials = inner.auth.credentials().await?;
        self.request_id = uuid::Uuid::new_v4();
        let mut request_id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let request_id: &str = self.request_id.hyphenated().encode_lower(&mut request_id);
        let request = self
            .client
            .build_request(self.call, &credentials, request_id)?;
        self.credentials = Some(credentials);
        tracing::debug!(request = ?copilot_http::sensitive::RedactedRequest(&request), "sending Copilot API request");
        Ok(inner.transport.send(request).await?)
    }

    fn transport_error(error: &ApiError) -> Option<&TransportError> {
        match error {
            ApiError::Transport(error) => Some(error),
            _ => None,
        }
    }

    async fn refresh_credentials(&mut self, _status: http::StatusCode) -> bool {
        match self.credentials.take() {
            Some(credentials) => {
                self.client.inner.auth.invalidate(&credentials).await;
                true
            }
            None => false,
        }
    }
}

/// How the wait for a streamed body's first bytes ended.
enum FirstChunk {
    /// Bytes arrived (never empty).
    Data(Bytes),
    /// The body ended cleanly without a byte.
    End,
    /// The first-event timeout fired first.
    TimedOut,
    /// The body failed before any byte.
    Failed(TransportError),
}

/// Reads `body` until its first non-empty chunk, its end or an error; or until `timeout`, whose timer is
/// started (in `timer`) only once the body has to be waited for, as [`ChatStream`] does.
async fn first_chunk(
    body: &mut ResponseBody,
    timer: &mut Option<Timer>,
    timeout: Option<Duration>,
    sleep: &SharedSleep,
) -> FirstChunk {
    std::future::poll_fn(|cx| {
        loop {
            return match body.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(bytes))) if bytes.is_empty() => continue,
                Poll::Ready(Some(Ok(bytes))) => Poll::Ready(FirstChunk::Data(bytes)),
                Poll::Ready(Some(Err(error))) => Poll::Ready(FirstChunk::Failed(error)),
                Poll::Ready(None) => Poll::Ready(FirstChunk::End),
                Poll::Pending => {
                    let Some(timeout) = timeout else {
                        return Poll::Pending;
                    };
                    let timer = timer.get_or_insert_with(|| sleep.sleep(timeout));
                    timer.as_mut().poll(cx).map(|()| FirstChunk::TimedOut)
                }
            };
        }
    })
    .await
}

fn header_value(value: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(value).map_err(|_| ApiError::InvalidRequest {
        message: format!("invalid header value {value:?}"),
    })
}

fn to_body<T: Serialize>(value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::InvalidRequest {
            message: format!("could not serialise the request: {e}"),
        })
}

/// `base` plus path segments (each percent-encoded), keeping any path the base already has.
fn endpoint_url(base: &Url, segments: &[&str]) -> Result<Url, ApiError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| ApiError::InvalidRequest {
                message: format!(
                    "the base URL {} cannot carry a path",
                    copilot_http::RedactedUrl::url(base)
                ),
            })?;
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}
