//! `GET /v1/models` and `GET /v1/models/{id}`: the Copilot models list in the caller's format (OpenAI,
//! or Anthropic's when the request carries `anthropic-version`).

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use copilot_api::ModelInfo;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::error::{Dialect, Failure};
use crate::server::{Caller, Gateway, RequestLog};

/// Whether the caller is an Anthropic client (they send `anthropic-version` on every request).
fn wants_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

/// An entry in OpenAI's shape, with Copilot's own fields (capabilities, endpoints, policy, billing) kept.
fn openai_entry(model: &ModelInfo) -> Value {
    let mut entry = serde_json::to_value(model).unwrap_or_else(|_| json!({"id": model.id}));
    if let Some(object) = entry.as_object_mut() {
        object.insert("object".to_owned(), json!("model"));
        object.insert("created".to_owned(), json!(0));
        let owner = model
            .vendor
            .as_ref()
            .map_or_else(|| "github-copilot".to_owned(), |v| v.to_string());
        object.insert("owned_by".to_owned(), json!(owner));
    }
    entry
}

fn anthropic_entry(model: &ModelInfo) -> Value {
    json!({
        "type": "model",
        "id": model.id,
        "display_name": if model.name.is_empty() { model.id.clone() } else { model.name.clone() },
        "created_at": "1970-01-01T00:00:00Z",
    })
}

/// The list, chat and embedding models included (hidden ones too: they are callable).
pub(crate) async fn list(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Extension(log): Extension<RequestLog>,
    headers: HeaderMap,
) -> Response {
    let dialect = if wants_anthropic(&headers) {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    };
    let result = async {
        let api = gateway.inner.upstream.api(caller.user.as_deref()).await?;
        api.models().await.map_err(|e| Failure::from_api(&e))
    }
    .await;
    let models = match result {
        Ok(models) => models,
        Err(failure) => return log.failed(dialect, failure),
    };
    let body = match dialect {
        Dialect::Anthropic => {
            let data: Vec<Value> = models.data.iter().map(anthropic_entry).collect();
            json!({
                "data": data,
                "has_more": false,
                "first_id": models.data.first().map(|m| m.id.clone()),
                "last_id": models.data.last().map(|m| m.id.clone()),
            })
        }
        Dialect::OpenAi => {
            let data: Vec<Value> = models.data.iter().map(openai_entry).collect();
            json!({"object": "list", "data": data})
        }
    };
    axum::Json(body).into_response()
}

/// One model.
pub(crate) async fn get_one(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let dialect = if wants_anthropic(&headers) {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    };
    let result = async {
        let api = gateway.inner.upstream.api(caller.user.as_deref()).await?;
        let models = api.models().await.map_err(|e| Failure::from_api(&e))?;
        let resolved = crate::routing::resolve(&models, &id);
        resolved.info.ok_or_else(|| {
            Failure::new(StatusCode::NOT_FOUND, format!("model `{id}` is not listed"))
                .code("model_not_found")
        })
    }
    .await;
    match result {
        Ok(model) => axum::Json(match dialect {
            Dialect::Anthropic => anthropic_entry(&model),
            Dialect::OpenAi => openai_entry(&model),
        })
        .into_response(),
        Err(failure) => failure.in_dialect(dialect).into_response(),
    }
}
