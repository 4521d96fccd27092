//! The model catalogue (modelled on a real 2026 `/models` answer) and its endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{api_error, policy_denied};
use crate::extract::{CopilotCaller, CopilotJson};
use crate::server::Shared;

/// How a model streams; decides chunk quirks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// OpenAI/Azure/Google/xAI/…: trailing usage-only chunk, distinct tool-call indices.
    OpenAi,
    /// Anthropic: usage on the finish chunk, tool calls all at index 0, `reasoning_text`.
    Claude,
    /// OpenAI o-series: `cot_summary`, then `cot_id` after the finish chunk.
    OSeries,
}

/// A catalogue entry the handlers reason about.
#[derive(Debug, Clone)]
pub(crate) struct ModelInfo {
    pub id: String,
    pub family: Family,
    pub kind: String,
    pub endpoints: Option<Vec<String>>,
    pub vision: bool,
    pub max_inputs: Option<usize>,
    pub default_dimensions: usize,
    /// Answers every request with tool calls (see [`Spec::always_calls_tools`]).
    pub always_calls_tools: bool,
    /// `capabilities.supports.reasoning_effort`: the efforts `/v1/messages` accepts.
    pub reasoning_efforts: Vec<String>,
    /// `capabilities.limits.max_prompt_tokens`: longer prompts are refused (400
    /// `model_max_prompt_tokens_exceeded`).
    pub max_prompt_tokens: Option<u64>,
}

impl ModelInfo {
    /// Whether `endpoint` may be called; legacy entries without `supported_endpoints` are chat-only.
    pub fn supports(&self, endpoint: &str) -> bool {
        match &self.endpoints {
            Some(list) => list.iter().any(|e| e == endpoint),
            None => endpoint == "/chat/completions" && self.kind == "chat",
        }
    }
}

const WARNING: &str = "Your billing plan has changed to usage-based billing and model multipliers no longer apply. Please update your client to the latest version to see the new billing information.";

fn vision(max_images: u32) -> Value {
    json!({
        "max_prompt_image_size": 3145728,
        "max_prompt_images": max_images,
        "supported_media_types": ["image/jpeg", "image/png", "image/webp", "image/gif"],
    })
}

/// A test model with a small context: `max_prompt_tokens` [`SMALL_CONTEXT_PROMPT_TOKENS`], so a long
/// conversation reaches its limit within a few dozen turns (context compaction tests). Not in the picker,
/// so the Auto model never selects it.
pub const SMALL_CONTEXT_MODEL: &str = "gpt-4.1-small-context";
/// [`SMALL_CONTEXT_MODEL`]'s `max_prompt_tokens`.
pub const SMALL_CONTEXT_PROMPT_TOKENS: u64 = 2048;

struct Spec {
    id: &'static str,
    name: &'static str,
    vendor: &'static str,
    category: Option<&'static str>,
    endpoints: Option<&'static [&'static str]>,
    policy: Option<&'static str>,
    supports: Value,
    limits: Value,
    kind: &'static str,
    picker: bool,
    default: bool,
    /// A test model that never stops asking for tools: every answer, even one to tool results and even
    /// without `tools` in the request, is two tool calls (on `index` 0 for Claude). It is how a client's
    /// handling of tools it does not have, and its round cap, are exercised.
    always_calls_tools: bool,
}

fn specs() -> Vec<Spec> {
    let chat_limits = |ctx: u64, prompt: u64, out: u64, images: u32| json!({"max_context_window_tokens": ctx, "max_prompt_tokens": prompt, "max_output_tokens": out, "vision": vision(images)});
    vec![
        Spec {
            id: "gpt-4.1",
            name: "GPT-4.1",
            vendor: "Azure OpenAI",
            category: Some("versatile"),
            endpoints: Some(&["/chat/completions", "/responses"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "structured_outputs": true}),
            limits: chat_limits(128000, 111616, 16384, 1),
            kind: "chat",
            picker: true,
            default: true,
            always_calls_tools: false,
        },
        Spec {
            id: "gpt-5.4",
            name: "GPT-5.4",
            vendor: "OpenAI",
            category: Some("powerful"),
            endpoints: Some(&["/responses", "/chat/completions", "ws:/responses"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "structured_outputs": true, "reasoning_effort": ["none", "low", "medium", "high", "xhigh"]}),
            limits: chat_limits(1050000, 922000, 128000, 1),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "gpt-5.3-codex",
            name: "GPT-5.3-Codex",
            vendor: "OpenAI",
            category: Some("powerful"),
            endpoints: Some(&["/responses", "ws:/responses"]),
            policy: None,
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "structured_outputs": true, "reasoning_effort": ["low", "medium", "high", "xhigh"]}),
            limits: chat_limits(400000, 272000, 128000, 1),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "o4-mini",
            name: "o4-mini",
            vendor: "Azure OpenAI",
            category: Some("lightweight"),
            endpoints: Some(&["/chat/completions", "/responses"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "structured_outputs": true, "reasoning_effort": ["low", "medium", "high"]}),
            limits: json!({"max_context_window_tokens": 200000, "max_prompt_tokens": 128000, "max_output_tokens": 16384}),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "claude-sonnet-4.5",
            name: "Claude Sonnet 4.5",
            vendor: "Anthropic",
            category: Some("versatile"),
            endpoints: Some(&["/v1/messages", "/chat/completions"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "structured_outputs": true, "max_thinking_budget": 32000, "min_thinking_budget": 1024, "reasoning_effort": ["low", "medium", "high"]}),
            limits: chat_limits(200000, 128000, 16000, 5),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "claude-opus-4.6",
            name: "Claude Opus 4.6",
            vendor: "Anthropic",
            category: Some("powerful"),
            endpoints: Some(&["/v1/messages", "/chat/completions"]),
            policy: Some("unconfigured"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "structured_outputs": true, "adaptive_thinking": true, "max_thinking_budget": 32000, "min_thinking_budget": 1024, "reasoning_effort": ["low", "medium", "high", "max"]}),
            limits: chat_limits(1000000, 936000, 64000, 1),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "claude-tool-caller",
            name: "Claude Tool Caller (copilot-mock)",
            vendor: "Anthropic",
            category: None,
            endpoints: Some(&["/chat/completions"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true}),
            limits: json!({"max_context_window_tokens": 200000, "max_prompt_tokens": 128000, "max_output_tokens": 16000}),
            kind: "chat",
            picker: false,
            default: false,
            always_calls_tools: true,
        },
        Spec {
            id: SMALL_CONTEXT_MODEL,
            name: "GPT-4.1 Small Context (copilot-mock)",
            vendor: "Azure OpenAI",
            category: None,
            endpoints: Some(&["/chat/completions"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true}),
            limits: json!({"max_context_window_tokens": 4096, "max_prompt_tokens": SMALL_CONTEXT_PROMPT_TOKENS, "max_output_tokens": 1024}),
            kind: "chat",
            picker: false,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "gemini-3.5-flash",
            name: "Gemini 3.5 Flash",
            vendor: "Google",
            category: Some("lightweight"),
            endpoints: Some(&["/chat/completions"]),
            policy: Some("enabled"),
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true, "max_thinking_budget": 24000, "min_thinking_budget": 256}),
            limits: chat_limits(1000000, 936000, 64000, 10),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "grok-code-fast-1",
            name: "Grok Code Fast 1",
            vendor: "xAI",
            category: Some("lightweight"),
            endpoints: Some(&["/chat/completions"]),
            policy: Some("disabled"),
            supports: json!({"streaming": true, "tool_calls": true, "structured_outputs": true}),
            limits: json!({"max_context_window_tokens": 256000, "max_prompt_tokens": 128000, "max_output_tokens": 64000}),
            kind: "chat",
            picker: true,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "gpt-4o",
            name: "GPT-4o",
            vendor: "Azure OpenAI",
            category: None,
            endpoints: None,
            policy: None,
            supports: json!({"streaming": true, "tool_calls": true, "parallel_tool_calls": true, "vision": true}),
            limits: chat_limits(128000, 64000, 4096, 1),
            kind: "chat",
            picker: false,
            default: false,
            always_calls_tools: false,
        },
        Spec {
            id: "text-embedding-3-small",
            name: "Embedding V3 small",
            vendor: "Azure OpenAI",
            category: None,
            endpoints: None,
            policy: None,
            supports: json!({"dimensions": true}),
            limits: json!({"max_inputs": 512}),
            kind: "embeddings",
            picker: false,
            default: false,
            always_calls_tools: false,
        },
    ]
}

/// Initial `policy.state` per model (models without a policy are absent).
pub(crate) fn initial_policies() -> HashMap<String, String> {
    specs()
        .into_iter()
        .filter_map(|s| s.policy.map(|p| (s.id.to_string(), p.to_string())))
        .collect()
}

fn entry(spec: &Spec, policies: &HashMap<String, String>) -> Value {
    let mut entry = json!({
        "billing": {"is_premium": spec.kind == "chat", "multiplier": 1,
                    "restricted_to": ["pro", "pro_plus", "business", "enterprise"]},
        "capabilities": {
            "family": spec.id,
            "limits": spec.limits,
            "object": "model_capabilities",
            "supports": spec.supports,
            "tokenizer": if spec.kind == "embeddings" { "cl100k_base" } else { "o200k_base" },
            "type": spec.kind,
        },
        "id": spec.id,
        "is_chat_default": spec.default,
        "is_chat_fallback": spec.default,
        "model_picker_enabled": spec.picker,
        "name": spec.name,
        "object": "model",
        "preview": false,
        "vendor": spec.vendor,
        "version": spec.id,
        "warning_message": WARNING,
    });
    if let Some(category) = spec.category {
        entry["model_picker_category"] = json!(category);
    }
    if let Some(endpoints) = spec.endpoints {
        entry["supported_endpoints"] = json!(endpoints);
    }
    if let Some(state) = policies.get(spec.id) {
        entry["policy"] = json!({
            "state": state,
            "terms": format!("Enable access to the latest {} model from {}.", spec.name, spec.vendor),
        });
    }
    entry
}

/// What the chat/responses/embeddings handlers need to know about `id`, with its policy state.
pub(crate) fn lookup(shared: &Shared, id: &str) -> Option<(ModelInfo, Option<String>)> {
    let spec = specs().into_iter().find(|s| s.id == id)?;
    let family = if spec.vendor == "Anthropic" {
        Family::Claude
    } else if id.starts_with('o') && id[1..].starts_with(|c: char| c.is_ascii_digit()) {
        Family::OSeries
    } else {
        Family::OpenAi
    };
    let info = ModelInfo {
        id: spec.id.to_string(),
        family,
        kind: spec.kind.to_string(),
        endpoints: spec
            .endpoints
            .map(|e| e.iter().map(|s| s.to_string()).collect()),
        vision: spec.supports.get("vision") == Some(&Value::Bool(true)),
        max_inputs: spec
            .limits
            .get("max_inputs")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        default_dimensions: 1536,
        always_calls_tools: spec.always_calls_tools,
        reasoning_efforts: spec
            .supports
            .get("reasoning_effort")
            .and_then(Value::as_array)
            .map(|efforts| {
                efforts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        max_prompt_tokens: spec.limits.get("max_prompt_tokens").and_then(Value::as_u64),
    };
    let policy = shared.state().model_policies.get(id).cloned();
    Some((info, policy))
}

/// `GET /models`
pub(crate) async fn list(State(shared): State<Arc<Shared>>, _: CopilotCaller) -> Response {
    let policies = shared.state().model_policies.clone();
    let data: Vec<Value> = specs().iter().map(|s| entry(s, &policies)).collect();
    axum::Json(json!({"data": data, "object": "list"})).into_response()
}

fn not_found(id: &str) -> Response {
    api_error(
        404,
        "model_not_found",
        &format!("model {id} not found"),
        "model",
    )
}

/// `GET /models/{id}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    _: CopilotCaller,
) -> Response {
    let policies = shared.state().model_policies.clone();
    match specs().iter().find(|s| s.id == id) {
        Some(spec) => axum::Json(entry(spec, &policies)).into_response(),
        None => not_found(&id),
    }
}

/// How long an Auto-model session token lasts.
const AUTO_SESSION_LIFETIME: u64 = 3600;

/// `POST /models/session` with `{"auto_mode":{"model_hints":[…]}}`: an Auto-model session, the models it may
/// use (chat models in the picker whose policy is not off, test-only models excluded), the one it selected
/// and a `session_token` that turns then carry in `Copilot-Session-Token`. The selection is deliberately
/// *not* the chat default, so a test can tell Copilot's choice from a client's local fallback. 404 when
/// [`MockConfig::auto_model`](crate::MockConfig::auto_model) is off.
pub(crate) async fn auto_session(
    State(shared): State<Arc<Shared>>,
    CopilotJson { caller, body }: CopilotJson,
) -> Response {
    if !shared.settings.auto_model {
        return api_error(404, "not_found", "Not Found", "");
    }
    if !body.get("auto_mode").is_some_and(Value::is_object) {
        return api_error(
            400,
            "invalid_request_body",
            "auto_mode is required",
            "auto_mode",
        );
    }
    let mut state = shared.state();
    let available: Vec<&'static str> = specs()
        .iter()
        .filter(|s| s.kind == "chat" && s.picker && !s.always_calls_tools)
        .filter(|s| {
            state
                .model_policies
                .get(s.id)
                .is_none_or(|p| p == "enabled")
        })
        .map(|s| s.id)
        .collect();
    let default = specs().iter().find(|s| s.default).map(|s| s.id);
    let selected = available.iter().copied().find(|id| Some(*id) != default);
    let token = crate::ids::token("acs_", 40);
    let expires_at = super::unix_now().saturating_add(AUTO_SESSION_LIFETIME);
    state
        .auto_sessions
        .insert(token.clone(), (caller.user.login.clone(), expires_at));
    let discounts: serde_json::Map<String, Value> = available
        .iter()
        .map(|id| ((*id).to_owned(), json!(0.1)))
        .collect();
    axum::Json(json!({
        "available_models": available,
        "selected_model": selected,
        "session_token": token,
        "expires_at": expires_at,
        "discounted_costs": discounts,
    }))
    .into_response()
}

/// A request carrying `Copilot-Session-Token` must carry one this mock issued to the same user, unexpired
/// (else 400 `invalid_session_token`).
#[allow(clippy::result_large_err)]
pub(crate) fn check_auto_session(shared: &Shared, caller: &CopilotCaller) -> Result<(), Response> {
    let Some(token) = caller.headers.get("copilot-session-token") else {
        return Ok(());
    };
    let state = shared.state();
    let valid = token
        .to_str()
        .ok()
        .and_then(|t| state.auto_sessions.get(t))
        .is_some_and(|(login, expires_at)| {
            *login == caller.user.login && super::unix_now() < *expires_at
        });
    if valid {
        Ok(())
    } else {
        Err(api_error(
            400,
            "invalid_session_token",
            "The Copilot-Session-Token is invalid or expired",
            "",
        ))
    }
}

/// `POST /models/{id}/policy` with `{"state":"enabled"}`. Admin-disabled models stay disabled.
pub(crate) async fn set_policy(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    CopilotJson { body, .. }: CopilotJson,
) -> Response {
    if !specs().iter().any(|s| s.id == id) {
        return not_found(&id);
    }
    let wanted = body
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("enabled")
        .to_string();
    let mut state = shared.state();
    match state.model_policies.get(&id).map(String::as_str) {
        Some("disabled") => policy_denied(),
        _ => {
            state.model_policies.insert(id, wanted.clone());
            axum::Json(json!({"state": wanted})).into_response()
        }
    }
}
