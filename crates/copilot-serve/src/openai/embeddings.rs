//! `POST /v1/embeddings`.

use axum::response::Response;
use base64::Engine;
use copilot_api::EmbeddingsRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::chat::json_response;
use super::{model_headers, resolve_model};
use crate::error::{Dialect, Failure};
use crate::handler::{ApiCall, timed};

/// OpenAI's embeddings body: `input` is a string, a list of strings (token-id inputs are refused: Copilot
/// takes text), `encoding_format` `float` or `base64` (the `openai` Python client asks for base64 by
/// default).
#[derive(Deserialize)]
struct Body {
    model: String,
    input: Input,
    encoding_format: Option<String>,
    dimensions: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
    Tokens(serde::de::IgnoredAny),
}

/// Embeddings for one or many inputs, floats or base64 as asked.
pub(crate) async fn embeddings(call: ApiCall) -> Response {
    call.respond(Dialect::OpenAi, run(&call).await)
}

async fn run(call: &ApiCall) -> Result<Response, Failure> {
    let log = &call.log;
    let body: Body = super::parse_body(&call.body)?;
    let input = match body.input {
        Input::One(text) => vec![text],
        Input::Many(texts) => texts,
        Input::Tokens(_) => {
            return Err(Failure::bad_request(
                "token-id inputs are not supported: GitHub Copilot embeds text; send strings",
            )
            .code("invalid_input"));
        }
    };
    if input.is_empty() {
        return Err(Failure::bad_request("`input` is empty").code("invalid_input"));
    }
    let base64 = match body.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "`encoding_format` must be `float` or `base64`, not `{other}`"
            )));
        }
    };
    let api = call.api().await?;
    let resolved = resolve_model(&api, &body.model, log).await?;
    let mut request = EmbeddingsRequest::new(resolved.id.clone(), input);
    request.dimensions = body.dimensions;
    let answer = timed(log, "/embeddings", api.embeddings(request)).await?;
    let data: Vec<Value> = answer
        .data
        .iter()
        .map(|e| {
            let embedding = if base64 {
                let mut bytes = Vec::with_capacity(e.embedding.len() * 4);
                for value in &e.embedding {
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(e.embedding)
            };
            json!({"object": "embedding", "index": e.index, "embedding": embedding})
        })
        .collect();
    let usage = answer.usage.unwrap_or_default();
    log.update(|r| r.prompt_tokens = Some(usage.prompt_tokens));
    Ok(json_response(
        json!({
            "object": "list",
            "data": data,
            "model": answer.model.unwrap_or_else(|| resolved.id.clone()),
            "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens},
        }),
        model_headers(&resolved),
        None,
    ))
}
