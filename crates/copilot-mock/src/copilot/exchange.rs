//! `GET /copilot_internal/v2/token` and `GET /copilot_internal/user`.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Value, json};

use super::unix_now;
use crate::config::{CopilotAccess, CopilotSeat, MockUser};
use crate::extract::GitHubCaller;
use crate::github::{credential, rest_error};
use crate::ids;
use crate::server::Shared;
use crate::state::CopilotTokenRecord;

/// 403 envelope for users without Copilot, as GitHub sends it.
fn no_access(notification_id: &str, can_signup: bool) -> Response {
    let message = "You do not have access to GitHub Copilot. Sign up for Copilot Free or ask your organization administrator for access.";
    (
        http::StatusCode::FORBIDDEN,
        axum::Json(json!({
            "can_signup_for_limited": can_signup,
            "error_details": {
                "message": message,
                "notification_id": notification_id,
                "title": "No Copilot access",
                "url": "https://github.com/features/copilot/plans",
            },
            "message": message,
        })),
    )
        .into_response()
}

/// The seat of the user behind the GitHub token, or the exchange's error response.
// The error is the HTTP answer itself, returned at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn seat_for(shared: &Shared, headers: &HeaderMap) -> Result<(MockUser, CopilotSeat), Response> {
    let Some((_, token)) = credential(headers) else {
        return Err(rest_error(401, "Requires authentication"));
    };
    if token.starts_with("ghp_") {
        return Err(rest_error(404, "Not Found"));
    }
    let state = shared.state();
    let Some((record, user)) = state.github_user(&token) else {
        return Err(rest_error(401, "Bad credentials"));
    };
    if token.starts_with("github_pat_") {
        return Err(rest_error(
            403,
            "Resource not accessible by personal access token",
        ));
    }
    if !record.allow_listed {
        return Err(rest_error(404, "Not Found"));
    }
    match &user.copilot {
        CopilotAccess::Seat(seat) => Ok((user.clone(), seat.clone())),
        CopilotAccess::NoAccess {
            notification_id,
            can_signup_for_limited,
        } => Err(no_access(notification_id, *can_signup_for_limited)),
    }
}

fn endpoints(shared: &Shared) -> Value {
    json!({
        "api": shared.copilot_url,
        "origin-tracker": format!("{}/origin-tracker", shared.web_url),
        "proxy": format!("{}/proxy", shared.web_url),
        "telemetry": format!("{}/telemetry", shared.web_url),
    })
}

/// `GET /copilot_internal/v2/token`
pub(crate) async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (user, seat) = match seat_for(&shared, &headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let lifetime = shared.settings.copilot_token_lifetime;
    let expires_at = unix_now() + lifetime.as_secs();
    let token = format!(
        "tid={};ol={};exp={expires_at};sku={};proxy-ep=proxy.{}.githubcopilot.com;st=dotcom;ssc=1;chat=1;cit=1;malfil=1;editor_preview_features=1;agent_mode=1;agent_mode_auto_approval=1;mcp=1;ccr=1;8kp=1;ip=127.0.0.1;asn=AS0:{}",
        ids::hex(16),
        ids::hex(16),
        seat.sku,
        seat.tier,
        ids::hex(32),
    );
    shared.state().copilot_tokens.insert(
        token.clone(),
        CopilotTokenRecord {
            login: user.login.clone(),
            expires_at: SystemTime::now() + lifetime,
        },
    );
    // The real list holds opaque organisation ids.
    let orgs: Vec<String> = user
        .orgs
        .iter()
        .map(|o| format!("{:032x}", crate::config::stable_id(o)))
        .collect();
    axum::Json(json!({
        "agent_mode_auto_approval": true,
        "annotations_enabled": true,
        "azure_only": false,
        "blackbird_clientside_indexing": false,
        "chat_enabled": true,
        "chat_jetbrains_enabled": true,
        "code_quote_enabled": true,
        "code_review_enabled": true,
        "codesearch": true,
        "copilotignore_enabled": false,
        "endpoints": endpoints(&shared),
        "expires_at": expires_at,
        "individual": seat.individual,
        "limited_user_quotas": null,
        "limited_user_reset_date": null,
        "organization_list": orgs,
        "prompt_8k": true,
        "public_suggestions": "disabled",
        "refresh_in": shared.settings.copilot_refresh_in,
        "sku": seat.sku,
        "snippy_load_test_enabled": false,
        "telemetry": "disabled",
        "token": token,
        "tracking_id": ids::hex(16),
        "vsc_electron_fetcher_v2": false,
        "xcode": true,
        "xcode_chat": false,
    }))
    .into_response()
}

fn snapshot(id: &str, entitlement: i64, remaining: i64, unlimited: bool) -> Value {
    let percent = if unlimited || entitlement == 0 {
        100.0
    } else {
        remaining as f64 * 100.0 / entitlement as f64
    };
    json!({
        "entitlement": entitlement,
        "remaining": remaining,
        "quota_remaining": remaining,
        "percent_remaining": percent,
        "unlimited": unlimited,
        "overage_count": if remaining < 0 { -remaining } else { 0 },
        "overage_permitted": !unlimited,
        "quota_id": id,
        "has_quota": unlimited || remaining > 0,
        "quota_reset_at": 1_798_761_600u64,
        "timestamp_utc": "2026-01-01T00:00:00.000Z",
    })
}

/// `GET /copilot_internal/user`
pub(crate) async fn copilot_user(
    State(shared): State<Arc<Shared>>,
    // Any valid GitHub token, allow-listed or not: Direct-world clients call it too.
    GitHubCaller { user, .. }: GitHubCaller,
) -> Response {
    let seat = match &user.copilot {
        CopilotAccess::Seat(seat) => seat.clone(),
        CopilotAccess::NoAccess {
            notification_id,
            can_signup_for_limited,
        } => return no_access(notification_id, *can_signup_for_limited),
    };
    let orgs: Vec<Value> = user
        .orgs
        .iter()
        .map(|o| json!({"login": o, "name": o}))
        .collect();
    axum::Json(json!({
        "login": user.login,
        "access_type_sku": seat.sku,
        "analytics_tracking_id": ids::hex(16),
        "assigned_date": "2025-01-01T00:00:00Z",
        "can_signup_for_limited": false,
        "chat_enabled": true,
        "copilot_plan": seat.plan,
        "organization_login_list": user.orgs,
        "organization_list": orgs,
        "endpoints": endpoints(&shared),
        "quota_reset_date": "2027-01-01",
        "quota_reset_date_utc": "2027-01-01T00:00:00.000Z",
        "token_based_billing": {"enabled": true},
        "quota_snapshots": {
            "chat": snapshot("chat", seat.chat_remaining, seat.chat_remaining, seat.unlimited_chat),
            "completions": snapshot("completions", 0, 0, true),
            "premium_interactions": snapshot(
                "premium_interactions",
                seat.premium_entitlement,
                seat.premium_remaining,
                false,
            ),
        },
    }))
    .into_response()
}
