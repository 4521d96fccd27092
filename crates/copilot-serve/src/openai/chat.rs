//! `POST /v1/chat/completions`.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use copilot_api::{ChatRequest, ChatRoute};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::{UpstreamTimer, model_headers, parse_body, request_options, resolve_model};
use crate::encode::chat::{ChatChunks, completion};
use crate::encode::{COST_HEADER, Meter, cost_of, now_secs, sse_response};
use crate::error::{Dialect, Failure};
use crate::server::{Caller, Gateway, RequestLog};
use crate::translate::chat_to_responses;

/// Chat completions, streamed or not, for any model: chat models directly, responses-only models through
/// `/responses` with the answer translated back.
pub(crate) async fn chat_completions(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Extension(log): Extension<RequestLog>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    log.respond(
        Dialect::OpenAi,
        run(&gateway, &caller, &log, &headers, &body).await,
    )
}

async fn run(
    gateway: &Gateway,
    caller: &Caller,
    log: &RequestLog,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Failure> {
    let mut request: ChatRequest = parse_body(body)?;
    let api = gateway.inner.upstream.api(caller.user.as_deref()).await?;
    let resolved = resolve_model(&api, &request.model, log).await?;
    request.model = resolved.id.clone();
    let options = request_options(headers);
    let stream = request.stream == Some(true);
    let include_usage = request
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    log.update(|r| r.stream = stream);
    let extra_headers = model_headers(&resolved);
    match resolved.chat_route() {
        ChatRoute::Responses => {
            let timer = UpstreamTimer::start();
            let upstream = api
                .responses_stream_with(chat_to_responses(request), options)
                .await
                .map_err(|e| Failure::from_api(&e));
            timer.stop(log, "/responses");
            let upstream = upstream?;
            if stream {
                Ok(sse_response(
                    upstream,
                    ChatChunks::new(&resolved.id, include_usage),
                    log.clone(),
                    Dialect::OpenAi,
                    String::new(),
                    extra_headers,
                ))
            } else {
                let collected = upstream.collect().await.map_err(|e| Failure::from_api(&e))?;
                let meter = Meter::of(&collected);
                meter.report(log);
                Ok(json_response(
                    completion(&collected, &resolved.id),
                    extra_headers,
                    meter.cost_nano_aiu,
                ))
            }
        }
        ChatRoute::ChatCompletions | ChatRoute::Messages => {
            let timer = UpstreamTimer::start();
            if stream {
                let upstream = api.chat_stream_with(request, options).await;
                timer.stop(log, "/chat/completions");
                let upstream = upstream.map_err(|e| Failure::from_api(&e))?;
                Ok(sse_response(
                    upstream,
                    ChatChunks::new(&resolved.id, include_usage),
                    log.clone(),
                    Dialect::OpenAi,
                    String::new(),
                    extra_headers,
                ))
            } else {
                let answer = api.chat_with(request, options).await;
                timer.stop(log, "/chat/completions");
                let answer = answer.map_err(|e| Failure::from_api(&e))?;
                let cost = answer.extra.get("copilot_usage").and_then(cost_of);
                let meter = Meter::new(answer.usage.clone(), cost);
                meter.report(log);
                let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
                complete_chat_object(&mut body, &resolved.id);
                Ok(json_response(body, extra_headers, cost))
            }
        }
        ChatRoute::Unsupported | _ => Err(Failure::bad_request(format!(
            "model `{}` cannot be used for chat (it lists no chat endpoint; is it an embeddings model?)",
            resolved.id
        ))
        .code("unsupported_api_for_model")),
    }
}

/// Fills what OpenAI clients expect of a `chat.completion` and Copilot leaves out: `object`, a non-empty
/// `id`, `created`, `model`, and `role`/`logprobs` on each choice.
fn complete_chat_object(body: &mut Value, model: &str) {
    let Some(object) = body.as_object_mut() else {
        return;
    };
    object.insert("object".to_owned(), json!("chat.completion"));
    if object
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(|id| id.trim().is_empty())
    {
        object.insert("id".to_owned(), json!(crate::encode::new_id("chatcmpl-")));
    }
    if object
        .get("created")
        .and_then(Value::as_u64)
        .is_none_or(|c| c == 0)
    {
        object.insert("created".to_owned(), json!(now_secs()));
    }
    if object
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        object.insert("model".to_owned(), json!(model));
    }
    if let Some(Value::Array(choices)) = object.get_mut("choices") {
        for choice in choices {
            if let Some(choice) = choice.as_object_mut() {
                choice.entry("logprobs").or_insert(Value::Null);
                if let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) {
                    message.insert("role".to_owned(), json!("assistant"));
                    message.entry("content").or_insert(Value::Null);
                }
            }
        }
    }
}

/// A JSON answer with the model and cost headers.
pub(crate) fn json_response(body: Value, headers: HeaderMap, cost: Option<u64>) -> Response {
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().extend(headers);
    if let Some(cost) = cost {
        response.headers_mut().insert(
            HeaderName::from_static(COST_HEADER),
            HeaderValue::from(cost),
        );
    }
    response
}
