//! Device flow: `/login/device/code`, the device-code grant, and the `/login/device` page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::HeaderMap;
use serde_json::json;

use super::{oauth_error, oauth_error_body, oauth_reply};
use crate::config::DeviceOutcome;
use crate::extract::OAuthParams;
use crate::ids;
use crate::server::{LogNote, Shared};
use crate::state::{DeviceGrant, DeviceStatus};

/// `POST /login/device/code`
pub(crate) async fn device_code(
    State(shared): State<Arc<Shared>>,
    OAuthParams { headers, params: p }: OAuthParams,
) -> Response {
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let mut state = shared.state();
    let Some(client) = state.clients.get(&client_id) else {
        return oauth_error(&headers, "incorrect_client_credentials");
    };
    if !client.device_flow {
        return oauth_error(&headers, "device_flow_disabled");
    }
    let scenario = state.device_scenario.clone();
    let now = Instant::now();
    let grant = DeviceGrant {
        device_code: ids::device_code(),
        user_code: ids::user_code(),
        client_id,
        scope: p.get("scope").cloned().unwrap_or_default(),
        issued: now,
        expires_at: now + Duration::from_secs(scenario.expires_in),
        interval: scenario.interval,
        last_poll: None,
        pending_polls: 0,
        slow_down_sent: false,
        status: DeviceStatus::Pending,
        scenario,
    };
    let body = json!({
        "device_code": grant.device_code,
        "user_code": grant.user_code,
        "verification_uri": format!("{}/login/device", shared.web_url),
        "expires_in": grant.scenario.expires_in,
        "interval": grant.interval,
    });
    state.devices.push(grant);
    oauth_reply(&headers, body)
}

/// The device-code grant of `/login/oauth/access_token`.
pub(crate) fn poll(
    shared: &Shared,
    headers: &HeaderMap,
    p: &std::collections::HashMap<String, String>,
) -> Response {
    let mut state = shared.state();
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let Some(client) = state.clients.get(&client_id).cloned() else {
        return oauth_error(headers, "incorrect_client_credentials");
    };
    if !client.device_flow {
        return oauth_error(headers, "device_flow_disabled");
    }
    let device_code = p.get("device_code").cloned().unwrap_or_default();
    let Some(index) = state
        .devices
        .iter()
        .position(|d| d.device_code == device_code && d.client_id == client_id)
    else {
        return oauth_error(headers, "incorrect_device_code");
    };
    let now = Instant::now();
    let grant = &mut state.devices[index];
    match grant.status {
        DeviceStatus::Consumed => return oauth_error(headers, "incorrect_device_code"),
        DeviceStatus::Denied => return oauth_error(headers, "access_denied"),
        _ => {}
    }
    if now >= grant.expires_at || grant.scenario.outcome == DeviceOutcome::Expire {
        return oauth_error(headers, "expired_token");
    }
    let since = now.duration_since(grant.last_poll.unwrap_or(grant.issued));
    let forced = grant.scenario.slow_down_once && !grant.slow_down_sent;
    let too_fast = grant.interval > 0 && since < Duration::from_secs(grant.interval);
    grant.last_poll = Some(now);
    if forced || too_fast {
        grant.slow_down_sent = true;
        grant.interval += 5;
        let interval = grant.interval;
        state.slow_downs += 1;
        let mut body = oauth_error_body("slow_down");
        body["interval"] = json!(interval);
        let mut response = oauth_reply(headers, body);
        response.extensions_mut().insert(LogNote("slow_down"));
        return response;
    }
    let approved_as = match (&grant.status, &grant.scenario.outcome) {
        (DeviceStatus::Approved(login), _) => Some(login.clone()),
        (_, DeviceOutcome::ApproveAfterPolls(n)) if grant.pending_polls >= *n => {
            Some(grant.scenario.login.clone())
        }
        (_, DeviceOutcome::ApproveAfterDelay(d)) if now.duration_since(grant.issued) >= *d => {
            Some(grant.scenario.login.clone())
        }
        (_, DeviceOutcome::Deny) => {
            grant.status = DeviceStatus::Denied;
            return oauth_error(headers, "access_denied");
        }
        _ => None,
    };
    match approved_as {
        Some(login) => {
            grant.status = DeviceStatus::Consumed;
            let scope = grant.scope.clone();
            let body = state.issue_user_token(&client, &login, &scope, false);
            oauth_reply(headers, body)
        }
        None => {
            grant.pending_polls += 1;
            oauth_error(headers, "authorization_pending")
        }
    }
}

/// `GET /login/device`: the page a user would type the code into.
pub(crate) async fn device_page() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>Device Activation · copilot-mock</title></head><body>\
         <h1>Device Activation</h1><p>Enter the code displayed on your device.</p>\
         <form method=\"post\" action=\"/login/device\">\
         <input name=\"user_code\" placeholder=\"XXXX-XXXX\" autocomplete=\"off\">\
         <input name=\"login\" placeholder=\"octocat\">\
         <button name=\"action\" value=\"approve\">Authorize</button>\
         <button name=\"action\" value=\"deny\">Cancel</button></form></body></html>",
    )
}

/// `POST /login/device` (`user_code`, optional `login`, `action=approve|deny`): the user's decision.
pub(crate) async fn device_page_submit(
    State(shared): State<Arc<Shared>>,
    OAuthParams { params: p, .. }: OAuthParams,
) -> Response {
    let user_code = p.get("user_code").cloned().unwrap_or_default();
    let mut state = shared.state();
    let login = p
        .get("login")
        .filter(|l| !l.is_empty())
        .cloned()
        .unwrap_or_else(|| state.device_scenario.login.clone());
    let status = if p.get("action").map(String::as_str) == Some("deny") {
        DeviceStatus::Denied
    } else {
        DeviceStatus::Approved(login)
    };
    if state.set_device_status(&user_code, status) {
        Html(
            "<!doctype html><html><body><h1>Congratulations, you're all set!</h1>\
              <p>Your device is now connected.</p></body></html>",
        )
        .into_response()
    } else {
        (
            http::StatusCode::NOT_FOUND,
            Html("<!doctype html><html><body><h1>Incorrect code</h1></body></html>"),
        )
            .into_response()
    }
}
