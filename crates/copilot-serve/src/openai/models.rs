//! `GET /v1/models` and `GET /v1/models/{id}`: the Copilot models list in the caller's format (OpenAI,
//! or Anthropic's when the request carries `anthropic-version`).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use copilot_api::{ModelInfo, ModelList};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::error::{Dialect, Failure};
use crate::handler::ApiCall;

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

/// The caller's dialect: Anthropic's when the request carries `anthropic-version`, OpenAI's otherwise.
fn dialect(call: &ApiCall) -> Dialect {
    if wants_anthropic(&call.headers) {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

/// The Copilot models list the caller's credential sees.
async fn models(call: &ApiCall) -> Result<std::sync::Arc<ModelList>, Failure> {
    call.api()
        .await?
        .models()
        .await
        .map_err(|e| Failure::from_api(&e))
}

/// The list, chat and embedding models included (hidden ones too: they are callable).
pub(crate) async fn list(call: ApiCall) -> Response {
    let dialect = dialect(&call);
    let outcome = models(&call).await.map(|models| {
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
    });
    call.respond(dialect, outcome)
}

/// One model.
pub(crate) async fn get_one(Path(id): Path<String>, call: ApiCall) -> Response {
    let dialect = dialect(&call);
    let outcome = models(&call).await.and_then(|models| {
        let model = crate::routing::resolve(&models, &id).info.ok_or_else(|| {
            Failure::new(StatusCode::NOT_FOUND, format!("model `{id}` is not listed"))
                .code("model_not_found")
        })?;
        Ok(axum::Json(match dialect {
            Dialect::Anthropic => anthropic_entry(&model),
            Dialect::OpenAi => openai_entry(&model),
        })
        .into_response())
    });
    call.respond(dialect, outcome)
}
