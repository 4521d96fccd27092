//! What every model endpoint shares: the request as one extractor ([`ApiCall`]), the timed upstream call
//! ([`timed`]), a chat-style turn sent to the model's chat endpoint ([`stream_chat`]) and the answer from a
//! chat stream, streamed or collected ([`Reply::chat_stream`]).

use std::future::Future;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::{Extension, RequestExt};
use bytes::Bytes;
use copilot_api::{
    ApiError, ChatRequest, ChatRoute, ChatStream, CollectedChat, CopilotApiClient, RequestOptions,
};
use http::HeaderMap;
use serde_json::Value;

use crate::encode::{Encoder, Meter, sse_response};
use crate::error::{Dialect, Failure};
use crate::openai::UpstreamTimer;
use crate::openai::chat::json_response;
use crate::routing::Resolved;
use crate::server::{Caller, Gateway, RequestLog};
use crate::translate::chat_to_responses;

/// One request to a model endpoint, as the access check left it: the gateway, who is calling, the request's
/// log record, the caller's headers and the raw body.
pub(crate) struct ApiCall {
    pub(crate) gateway: Gateway,
    pub(crate) caller: Caller,
    pub(crate) log: RequestLog,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl FromRequest<Gateway> for ApiCall {
    type Rejection = Response;

    async fn from_request(request: Request, gateway: &Gateway) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Extension(caller) = Extension::<Caller>::from_request_parts(&mut parts, gateway)
            .await
            .map_err(IntoResponse::into_response)?;
        let Extension(log) = Extension::<RequestLog>::from_request_parts(&mut parts, gateway)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let body = Request::from_parts(parts, body)
            .extract::<Bytes, _>()
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ApiCall {
            gateway: gateway.clone(),
            caller,
            log,
            headers,
            body,
        })
    }
}

impl ApiCall {
    /// The Copilot API client of the caller's stored credential (or the gateway's own).
    pub(crate) async fn api(&self) -> Result<CopilotApiClient, Failure> {
        self.gateway
            .inner
            .upstream
            .api(self.caller.user.as_deref())
            .await
    }

    /// The handler's outcome as the response, a failure noted in the log and written in `dialect`.
    pub(crate) fn respond(&self, dialect: Dialect, outcome: Result<Response, Failure>) -> Response {
        self.log.respond(dialect, outcome)
    }
}

/// Runs one upstream call to `endpoint`, noting its duration in the log record, with an API error as the
/// caller's failure.
pub(crate) async fn timed<T>(
    log: &RequestLog,
    endpoint: &'static str,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, Failure> {
    let timer = UpstreamTimer::start();
    let outcome = call.await;
    timer.stop(log, endpoint);
    outcome.map_err(|e| Failure::from_api(&e))
}

/// Streams a chat-style turn to the model's chat endpoint: `/responses`, with the request converted, for a
/// model that lists only that; `/chat/completions` otherwise. A model with no chat endpoint (an embeddings
/// model) is refused with a 400 `unsupported_api_for_model` saying it cannot be used for `caller_api`
/// (`chat`, `responses`, `messages`).
pub(crate) async fn stream_chat(
    api: &CopilotApiClient,
    log: &RequestLog,
    resolved: &Resolved,
    chat: ChatRequest,
    options: RequestOptions,
    caller_api: &str,
) -> Result<ChatStream, Failure> {
    match resolved.chat_route() {
        ChatRoute::Responses => {
            timed(
                log,
                "/responses",
                api.responses_stream_with(chat_to_responses(chat), options),
            )
            .await
        }
        ChatRoute::ChatCompletions | ChatRoute::Messages => {
            timed(
                log,
                "/chat/completions",
                api.chat_stream_with(chat, options),
            )
            .await
        }
        ChatRoute::Unsupported | _ => Err(Failure::bad_request(format!(
            "model `{}` cannot be used for {caller_api} (it lists no chat endpoint; is it an embeddings model?)",
            resolved.id
        ))
        .code("unsupported_api_for_model")),
    }
}

/// How an answer goes back: the request's log record, the caller's dialect and the headers every answer
/// carries.
pub(crate) struct Reply<'a> {
    pub(crate) log: &'a RequestLog,
    pub(crate) dialect: Dialect,
    pub(crate) headers: HeaderMap,
}

impl Reply<'_> {
    /// A chat stream answered as server-sent events through `encoder` when `stream`, otherwise collected and
    /// written by `body` as one JSON answer (usage and cost into the log and the cost header).
    pub(crate) async fn chat_stream<E: Encoder>(
        self,
        upstream: ChatStream,
        stream: bool,
        encoder: E,
        body: impl FnOnce(&CollectedChat) -> Value,
    ) -> Result<Response, Failure> {
        if stream {
            return Ok(sse_response(
                upstream,
                encoder,
                self.log.clone(),
                self.dialect,
                String::new(),
                self.headers,
            ));
        }
        let collected = upstream
            .collect()
            .await
            .map_err(|e| Failure::from_api(&e))?;
        Ok(self.json(Meter::of(&collected), body(&collected)))
    }

    /// A JSON answer: `meter`'s usage and cost noted in the log, the cost in its header.
    pub(crate) fn json(self, meter: Meter, body: Value) -> Response {
        meter.report(self.log);
        json_response(body, self.headers, meter.cost_nano_aiu)
    }
}
