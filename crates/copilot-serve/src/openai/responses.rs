//! `POST /v1/responses` (and `/v1/responses/compact`, which Copilot does not offer).

use axum::response::{IntoResponse, Response};
use copilot_api::ResponsesRequest;
use http::StatusCode;
use serde_json::{Value, json};

use super::{model_headers, request_options, resolve_model};
use crate::encode::responses::{ResponsesEvents, response};
use crate::encode::{Meter, now_secs};
use crate::error::{Dialect, Failure};
use crate::handler::{ApiCall, Reply, stream_chat, timed};
use crate::translate::{normalize_responses_body, responses_to_chat};

/// The Responses API, streamed or not: models listing `/responses` directly, chat-only models through
/// chat completions with the answer translated back.
pub(crate) async fn responses(call: ApiCall) -> Response {
    call.respond(Dialect::OpenAi, run(&call).await)
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

async fn run(call: &ApiCall) -> Result<Response, Failure> {
    let log = &call.log;
    let mut value: Value = super::parse_body(&call.body)?;
    normalize_responses_body(&mut value)?;
    let mut request: ResponsesRequest = serde_json::from_value(value)
        .map_err(|e| Failure::bad_request(format!("invalid request body: {e}")))?;
    let api = call.api().await?;
    let resolved = resolve_model(&api, &request.model, log).await?;
    request.model = resolved.id.clone();
    let options = request_options(&call.headers);
    let stream = request.stream == Some(true);
    log.update(|r| r.stream = stream);
    let reply = Reply {
        log,
        dialect: Dialect::OpenAi,
        headers: model_headers(&resolved),
    };
    let upstream = if resolved.supports_responses() {
        if !stream {
            let answer = timed(log, "/responses", api.responses_with(request, options)).await?;
            let cost = answer.copilot_usage().map(|u| u.total_nano_aiu);
            let meter = Meter::new(answer.usage.as_ref().map(|u| u.to_usage()), cost);
            let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
            complete_response_object(&mut body, &resolved.id);
            return Ok(reply.json(meter, body));
        }
        timed(
            log,
            "/responses",
            api.responses_stream_with(request, options),
        )
        .await?
    } else {
        let chat = responses_to_chat(request);
        stream_chat(&api, log, &resolved, chat, options, "responses").await?
    };
    reply
        .chat_stream(
            upstream,
            stream,
            ResponsesEvents::new(&resolved.id),
            |collected| response(collected, &resolved.id),
        )
        .await
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
