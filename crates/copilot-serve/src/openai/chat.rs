//! `POST /v1/chat/completions`.

use axum::response::{IntoResponse, Response};
use copilot_api::{ChatRequest, ChatRoute};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::{model_headers, parse_body, request_options, resolve_model};
use crate::encode::chat::{ChatChunks, completion};
use crate::encode::{COST_HEADER, Meter, now_secs};
use crate::error::{Dialect, Failure};
use crate::handler::{ApiCall, Reply, stream_chat, timed};

/// Chat completions, streamed or not, for any model: chat models directly, responses-only models through
/// `/responses` with the answer translated back.
pub(crate) async fn chat_completions(call: ApiCall) -> Response {
    call.respond(Dialect::OpenAi, run(&call).await)
}

async fn run(call: &ApiCall) -> Result<Response, Failure> {
    let log = &call.log;
    let mut request: ChatRequest = parse_body(&call.body)?;
    let api = call.api().await?;
    let resolved = resolve_model(&api, &request.model, log).await?;
    request.model = resolved.id.clone();
    let options = request_options(&call.headers);
    let stream = request.stream == Some(true);
    let include_usage = request
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    log.update(|r| r.stream = stream);
    let reply = Reply {
        log,
        dialect: Dialect::OpenAi,
        headers: model_headers(&resolved),
    };
    let chunks = ChatChunks::new(&resolved.id, include_usage);
    let upstream = match resolved.chat_route() {
        ChatRoute::ChatCompletions | ChatRoute::Messages if !stream => {
            let answer = timed(log, "/chat/completions", api.chat_with(request, options)).await?;
            let cost = answer.copilot_usage().map(|u| u.total_nano_aiu);
            let meter = Meter::new(answer.usage.clone(), cost);
            let mut body = serde_json::to_value(&answer).unwrap_or(Value::Null);
            complete_chat_object(&mut body, &resolved.id);
            return Ok(reply.json(meter, body));
        }
        _ => stream_chat(&api, log, &resolved, request, options, "chat").await?,
    };
    reply
        .chat_stream(upstream, stream, chunks, |collected| {
            completion(collected, &resolved.id)
        })
        .await
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
