//! The Copilot side: token exchange, plan/quota, models, chat, responses, embeddings.

pub(crate) mod chat;
pub(crate) mod embeddings;
pub(crate) mod exchange;
pub(crate) mod messages;
pub(crate) mod models;
pub(crate) mod responses;
pub(crate) mod responses_ws;
pub(crate) mod schema;
pub(crate) mod script;

use std::time::SystemTime;

use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Value, json};

use crate::config::{CopilotAccess, MockUser};
use crate::github::credential;
use crate::server::Shared;

/// `401 text/plain` as the Copilot API sends it for expired or unknown tokens.
pub(crate) fn unauthorized() -> Response {
    text(401, "unauthorized: token expired")
}

/// A plain-text error.
pub(crate) fn text(status: u16, body: &str) -> Response {
    (
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
        [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// `{"error":{"message","code","param","type"}}` with `status`.
/// The system-prompt line Claude Code adds (`x-anthropic-billing-header: cc_version=…;`), which Copilot's
/// Anthropic backends refuse as a reserved keyword.
const RESERVED_SYSTEM_KEYWORD: &str = "x-anthropic-billing-header";

/// Copilot's 400 for a system prompt carrying [`RESERVED_SYSTEM_KEYWORD`], on `/v1/messages` (`system`) and
/// chat completions (a `system` message), as reported against the real service.
pub(crate) fn reserved_system_keyword(body: &Value) -> Option<Response> {
    let in_system = |value: &Value| value.to_string().contains(RESERVED_SYSTEM_KEYWORD);
    let messages_system = body.get("system").is_some_and(in_system);
    let chat_system = body
        .get("messages")
        .and_then(Value::as_array)
        .is_some_and(|messages| {
            messages
                .iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("system"))
                .any(|m| m.get("content").is_some_and(in_system))
        });
    (messages_system || chat_system).then(|| {
        api_error(
            400,
            "invalid_request_body",
            &format!(
                "{RESERVED_SYSTEM_KEYWORD} is a reserved keyword and may not be used in the system prompt"
            ),
            "system",
        )
    })
}

pub(crate) fn api_error(status: u16, code: &str, message: &str, param: &str) -> Response {
    (
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
        axum::Json(json!({"error": {
            "message": message,
            "code": code,
            "param": param,
            "type": "invalid_request_error",
        }})),
    )
        .into_response()
}

/// 400 `model_not_supported`, byte-for-byte the captured body.
pub(crate) fn model_not_supported() -> Response {
    api_error(
        400,
        "model_not_supported",
        "The requested model is not supported.",
        "model",
    )
}

/// 400 for a model whose policy is not `enabled`.
pub(crate) fn policy_denied() -> Response {
    (
        http::StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {
            "message": "model access is not permitted per policy settings",
            "param": "", "code": "", "type": "",
        }})),
    )
        .into_response()
}

/// Copilot's 400 for a prompt over the model's `max_prompt_tokens`, worded and shaped as the service sends
/// it (`{"error":{"message":"prompt token count of N exceeds the limit of M","code":
/// "model_max_prompt_tokens_exceeded"}}`, no `param` or `type`; reported in microsoft/vscode#289514 and
/// microsoft/copilot-intellij-feedback#94). `None` when the prompt fits.
pub(crate) fn prompt_too_long(model: &models::ModelInfo, prompt_tokens: u64) -> Option<Response> {
    let limit = model.max_prompt_tokens?;
    (prompt_tokens > limit).then(|| {
        (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {
                "message": format!("prompt token count of {prompt_tokens} exceeds the limit of {limit}"),
                "code": "model_max_prompt_tokens_exceeded",
            }})),
        )
            .into_response()
    })
}

/// Parses a JSON request body or answers 400.
// The error is the HTTP answer itself, returned at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn json_body(body: &[u8]) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(api_error(
            400,
            "invalid_request_body",
            "invalid request body: expected a JSON object",
            "",
        )),
    }
}

/// The user a request carrying the provider key ([`MockConfig::provider_key`](crate::MockConfig::provider_key))
/// is served as: the key as `Authorization: Bearer`, `api-key` or `x-api-key`.
fn provider_caller(shared: &Shared, headers: &HeaderMap) -> Option<MockUser> {
    let (key, login) = shared.settings.provider.as_ref()?;
    let bearer = credential(headers).filter(|(scheme, _)| scheme == "bearer");
    let mut carried = bearer
        .as_ref()
        .map(|(_, token)| token.as_str())
        .into_iter()
        .chain(
            ["api-key", "x-api-key"]
                .into_iter()
                .filter_map(|name| headers.get(name)?.to_str().ok()),
        );
    if !carried.any(|value| value == key) {
        return None;
    }
    shared.state().users.get(login).cloned()
}

/// Who is calling the Copilot API: a Copilot token, or a GitHub token in Direct mode.
// The error is the HTTP answer itself, returned at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<MockUser, Response> {
    if let Some(user) = provider_caller(shared, headers) {
        return Ok(user);
    }
    let Some((scheme, token)) = credential(headers) else {
        return Err(unauthorized());
    };
    let state = shared.state();
    if let Some(record) = state.copilot_tokens.get(&token) {
        if SystemTime::now() >= record.expires_at {
            return Err(unauthorized());
        }
        return state
            .users
            .get(&record.login)
            .cloned()
            .ok_or_else(unauthorized);
    }
    let looks_like_github = ["gho_", "ghu_", "ghs_", "github_pat_", "ghp_"]
        .iter()
        .any(|p| token.starts_with(p));
    if !shared.settings.direct_mode || !looks_like_github {
        return Err(unauthorized());
    }
    if scheme != "bearer" {
        return Err(text(
            400,
            "bad request: Authorization header is badly formatted",
        ));
    }
    let Some((_, user)) = state.github_user(&token) else {
        return Err(unauthorized());
    };
    let is_pat = token.starts_with("github_pat_") || token.starts_with("ghp_");
    let integration = headers
        .get("copilot-integration-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if is_pat && (token.starts_with("ghp_") || integration != "copilot-developer-cli") {
        return Err(text(
            400,
            "bad request: Personal Access Tokens are not supported for this endpoint",
        ));
    }
    match user.copilot {
        CopilotAccess::Seat(_) => Ok(user.clone()),
        CopilotAccess::NoAccess { .. } => Err(text(403, "access to this endpoint is forbidden")),
    }
}

/// Seconds since the epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The mock's token prices in nano-AIU per token (1e9 nano-AIU = 1 AI credit): (input, cached input,
/// output). Claude costs more than the others. They are not published in `/models` (`billing.token_prices`
/// has no captured shape yet); tests that check a client's sums use the same table.
pub(crate) fn token_prices(model: &models::ModelInfo) -> (u64, u64, u64) {
    match model.family {
        models::Family::Claude => (3_000, 300, 15_000),
        models::Family::OSeries => (2_000, 500, 8_000),
        models::Family::OpenAi => (1_000, 250, 4_000),
    }
}

/// `copilot_usage` for an answer: the total in nano-AIU and the per-kind breakdown.
pub(crate) fn copilot_usage(
    model: &models::ModelInfo,
    input: u64,
    cached: u64,
    output: u64,
) -> Value {
    let (input_price, cached_price, output_price) = token_prices(model);
    let uncached = input.saturating_sub(cached);
    let details = [
        ("input", uncached, uncached.saturating_mul(input_price)),
        ("cached_input", cached, cached.saturating_mul(cached_price)),
        ("output", output, output.saturating_mul(output_price)),
    ];
    let total = details
        .iter()
        .fold(0u64, |sum, (_, _, nano)| sum.saturating_add(*nano));
    json!({
        "total_nano_aiu": total,
        "token_details": details
            .iter()
            .map(|(kind, count, nano)| json!({"token_type": kind, "token_count": count, "nano_aiu": nano}))
            .collect::<Vec<_>>(),
    })
}
