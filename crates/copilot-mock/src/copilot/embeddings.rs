//! `POST /embeddings`: deterministic unit vectors, `dimensions` honoured, `max_inputs` enforced.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{api_error, model_not_supported, script};
use crate::extract::CopilotJson;
use crate::server::Shared;

/// A unit vector derived only from (model, text, dims): the same input always embeds the same.
pub(crate) fn vector(model: &str, text: &str, dims: usize) -> Vec<f32> {
    let mut raw = Vec::with_capacity(dims);
    let mut counter: u32 = 0;
    while raw.len() < dims {
        let digest = Sha256::new()
            .chain_update(model.as_bytes())
            .chain_update([0])
            .chain_update(text.as_bytes())
            .chain_update(counter.to_le_bytes())
            .finalize();
        for pair in digest.chunks(2) {
            if raw.len() == dims {
                break;
            }
            let v = u16::from_le_bytes([pair[0], pair[1]]) as f32 / u16::MAX as f32;
            raw.push(v * 2.0 - 1.0);
        }
        counter += 1;
    }
    let norm = raw
        .iter()
        .map(|v| v * v)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    raw.iter().map(|v| v / norm).collect()
}

/// `POST /embeddings`
pub(crate) async fn embeddings(State(shared): State<Arc<Shared>>, call: CopilotJson) -> Response {
    let model = match call.model(&shared) {
        Ok(requested) => requested.info,
        Err(response) => return response,
    };
    let request = &call.body;
    if model.kind != "embeddings" {
        return model_not_supported();
    }
    let inputs: Vec<String> = match request.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect(),
        _ => return api_error(400, "invalid_request_body", "input is required", "input"),
    };
    if let Some(max) = model.max_inputs
        && inputs.len() > max
    {
        return api_error(
            400,
            "invalid_request_body",
            &format!("too many inputs: {} (max {max})", inputs.len()),
            "input",
        );
    }
    let dims = request
        .get("dimensions")
        .and_then(Value::as_u64)
        .map(|d| d as usize)
        .unwrap_or(model.default_dimensions)
        .clamp(1, 4096);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            json!({"object": "embedding", "index": index, "embedding": vector(&model.id, text, dims)})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|t| script::tokens(t)).sum();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": model.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}
