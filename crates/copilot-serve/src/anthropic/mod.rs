//! The Anthropic-compatible endpoints: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

mod native;
pub(crate) mod request;

use axum::Extension;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use copilot_api::Initiator;
use http::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::encode::anthropic::{MessagesEvents, message};
use crate::error::{Dialect, Failure};
use crate::handler::{ApiCall, Reply, stream_chat};
use crate::openai::{model_headers, parse_body, request_options, resolve_model};
use crate::server::RequestLog;
use request::{InContent, MessagesRequest, System, to_chat};

/// Messages, streamed or not, for any model Copilot lists: natively on Copilot's `/v1/messages` for the
/// models that list it (Claude), otherwise through chat completions (or `/responses` for responses-only
/// models) with the answer translated back.
pub(crate) async fn messages(call: ApiCall) -> Response {
    call.respond(Dialect::Anthropic, run(&call).await)
}

async fn run(call: &ApiCall) -> Result<Response, Failure> {
    let (log, headers, body) = (&call.log, &call.headers, &call.body[..]);
    let request: MessagesRequest = parse_body(body)?;
    if request.messages.is_empty() {
        return Err(Failure::bad_request(
            "messages: at least one message is required",
        ));
    }
    let api = call.api().await?;
    let resolved = resolve_model(&api, &request.model, log).await?;
    let mut options = request_options(headers);
    if options.initiator.is_none() {
        options.initiator = Some(request.initiator());
    }
    // A caller may only lower the billing of a turn with tool results, never raise it to `user`.
    if request.initiator() == Initiator::Agent {
        options.initiator = Some(Initiator::Agent);
    }
    let stream = request.stream == Some(true);
    log.update(|r| r.stream = stream);
    if resolved.supports_messages() {
        let call = native::Call {
            body,
            headers,
            resolved: &resolved,
            requested_model: &request.model,
            stream,
            extra_headers: model_headers(&resolved),
        };
        return native::forward(&api, call, options, log).await;
    }
    let chat = to_chat(&request, &resolved.id, resolved.info.as_ref())?;
    let upstream = stream_chat(&api, log, &resolved, chat, options, "messages").await?;
    let reply = Reply {
        log,
        dialect: Dialect::Anthropic,
        headers: model_headers(&resolved),
    };
    reply
        .chat_stream(
            upstream,
            stream,
            MessagesEvents::new(&request.model),
            |collected| message(collected, &request.model),
        )
        .await
}

/// Response header saying how `count_tokens` counted.
const COUNT_HEADER: &str = "x-copilot-token-count";

/// `count_tokens`: Copilot has no counting endpoint and the models' tokenizers are not public, so this
/// estimates (about four bytes of text per token, plus a fixed cost per image), and says so in
/// `x-copilot-token-count: estimate`.
pub(crate) async fn count_tokens(Extension(log): Extension<RequestLog>, body: Bytes) -> Response {
    let request: MessagesRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(failure) => return failure.in_dialect(Dialect::Anthropic).into_response(),
    };
    let tokens = estimate_tokens(&request);
    log.update(|r| {
        r.model = Some(request.model.clone());
        r.prompt_tokens = Some(tokens);
    });
    let mut response = axum::Json(json!({"input_tokens": tokens})).into_response();
    response.headers_mut().insert(
        HeaderName::from_static(COUNT_HEADER),
        HeaderValue::from_static("estimate"),
    );
    response
}

/// Tokens Anthropic's documentation gives for a typical image (about 1.15 megapixels).
const IMAGE_TOKENS: u64 = 1600;

fn estimate_tokens(request: &MessagesRequest) -> u64 {
    let mut bytes: u64 = 0;
    let mut images: u64 = 0;
    match &request.system {
        Some(System::Text(text)) => bytes += text.len() as u64,
        Some(System::Blocks(blocks)) => {
            for block in blocks {
                count(block, &mut bytes, &mut images);
            }
        }
        None => {}
    }
    for message in &request.messages {
        // Role markers and separators.
        bytes += 16;
        match &message.content {
            InContent::Text(text) => bytes += text.len() as u64,
            InContent::Blocks(blocks) => {
                for block in blocks {
                    count(block, &mut bytes, &mut images);
                }
            }
        }
    }
    for tool in &request.tools {
        bytes += tool.to_string().len() as u64;
    }
    (bytes.div_ceil(4))
        .saturating_add(images.saturating_mul(IMAGE_TOKENS))
        .max(1)
}

/// Adds the text a block contributes (text, thinking, tool input, tool results) and counts images.
fn count(block: &Value, bytes: &mut u64, images: &mut u64) {
    match block.get("type").and_then(Value::as_str).unwrap_or("") {
        "image" => *images += 1,
        "text" => {
            *bytes += block
                .get("text")
                .and_then(Value::as_str)
                .map_or(0, str::len) as u64
        }
        "thinking" => {
            *bytes += block
                .get("thinking")
                .and_then(Value::as_str)
                .map_or(0, str::len) as u64;
        }
        "tool_use" => *bytes += block.get("input").map_or(0, |i| i.to_string().len()) as u64 + 16,
        "tool_result" => match block.get("content") {
            Some(Value::String(text)) => *bytes += text.len() as u64,
            Some(Value::Array(parts)) => {
                for part in parts {
                    count(part, bytes, images);
                }
            }
            _ => {}
        },
        _ => {}
    }
}
