//! `POST /v1/responses` (and `/v1/responses/compact`, which Copilot does not offer).

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use copilot_api::{ChatRoute, ResponsesRequest};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::chat::json_response;
use super::{UpstreamTimer, model_headers, request_options, resolve_model};
use crate::encode::responses::{ResponsesEvents, response};
use crate::encode::{Meter, cost_of, now_secs, sse_response};
use crate::error::{Dialect, Failure};
use crate::server::{Caller, Gateway, RequestLog};
use crate::translate::{normalize_responses_body, responses_to_chat};

/// The Responses API, streamed or not: models listing `/responses` directly, chat-only models through
/// chat completions with the answer translated back.
pub(crate) async fn responses(
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

/// `/v1/responses/compact`: Copilot has no compaction endpoint. A clear 501 lets clients (Codex) fall
/// back to compacting with an ordinary turn instead of retrying.
pub(crate) async fn compact() -> Response {
    Failure::new(
        StatusCode::NOT_IMPLEMENTED,
        "`/v1/responses/compact` is not offered by GitHub Copilot, so this gateway cannot serve it; \
         compact the conversation with an ordinary /v1/responses request instead",
    )
    .code("unsupported_endpoint")
    .into_response()
}

async fn run(
    gateway: &Gateway,
    caller: &Caller,
    log: &RequestLog,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Failure> {
    let mut value: Value = super::parse_body(body)?;
    normalize_responses_body(&mut value)?;
    let mut request: ResponsesRequest = serde_json::from_value(value)
        .map_err(|e| Failure::bad_request(format!("invalid request body: {e}")))?;
    let api = gateway.inner.upstream.api(caller.user.as_deref()).await?;
    let resolved = resolve_model(&api, &request.model, log).await?;
    request.model = resolved.id.clone();
    let options = request_options(headers);
    let stream = request.stream == Some(true);
    log.update(|r| r.stream = stream);
    let extra_headers = model_headers(&resolved);
    if resolved.supports_responses() {
        let timer = UpstreamTimer::start();
        if stream {
            let upstream = api.responses_stream_with(request, options).await;
            timer.stop(log, "/responses");
            let upstream = upstream.map_err(|e| Failure::from_api(&e))?;
            return Ok(sse_response(
                upstream,
                ResponsesEvents::new(&resolved.id),
                log.clone(),
                Dialect::OpenAi,
                String::new(),
                extra_headers,
            ));
        }
        let answer = api.responses_with(request, options).await;
        timer.stop(log, "/responses");
        let answer = answer.map_err(|e| Failure::from_api(&e))?;
        let cost = answer.extra.get("copilot_usage").and_then(cost_of);
        let meter = Meter::new(answer.usage.as_ref().map(|u| u.to_usage()), cost);
        meter.report(log);
        let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
        complete_response_object(&mut body, &resolved.id);
        return Ok(json_response(body, extra_headers, cost));
    }
    match resolved.chat_route() {
        ChatRoute::ChatCompletions | ChatRoute::Messages => {}
        _ => {
            return Err(Failure::bad_request(format!(
                "model `{}` cannot be used for responses (it lists no chat endpoint)",
                resolved.id
            ))
            .code("unsupported_api_for_model"));
        }
    }
    let chat = responses_to_chat(request);
    let timer = UpstreamTimer::start();
    let upstream = api.chat_stream_with(chat, options).await;
    timer.stop(log, "/chat/completions");
    let upstream = upstream.map_err(|e| Failure::from_api(&e))?;
    if stream {
        return Ok(sse_response(
            upstream,
            ResponsesEvents::new(&resolved.id),
            log.clone(),
            Dialect::OpenAi,
            String::new(),
            extra_headers,
        ));
    }
    let collected = upstream
        .collect()
        .await
        .map_err(|e| Failure::from_api(&e))?;
    let meter = Meter::of(&collected);
    meter.report(log);
    Ok(json_response(
        response(&collected, &resolved.id),
        extra_headers,
        meter.cost_nano_aiu,
    ))
}

/// Fills what OpenAI clients expect of a `response` object and Copilot may leave out.
fn complete_response_object(body: &mut Value, model: &str) {
    let Some(object) = body.as_object_mut() else {
        return;
    };
    object.insert("object".to_owned(), json!("response"));
    if object
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        object.insert("id".to_owned(), json!(crate::encode::new_id("resp_")));
    }
    object.entry("created_at").or_insert(json!(now_secs()));
    object.entry("status").or_insert(json!("completed"));
    if object
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        object.insert("model".to_owned(), json!(model));
    }
    for (key, default) in [
        ("error", Value::Null),
        ("incomplete_details", Value::Null),
        ("instructions", Value::Null),
        ("metadata", json!({})),
        ("parallel_tool_calls", json!(true)),
        ("temperature", Value::Null),
        ("top_p", Value::Null),
        ("tool_choice", json!("auto")),
        ("tools", json!([])),
    ] {
        object.entry(key).or_insert(default);
    }
}
