//! GitHub REST: `/user`, `/user/orgs` (paginated), org membership, and the 404 fallback.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Value, json};

use super::{credential, rest_error};
use crate::config::{MockOrg, MockUser};
use crate::extract::GitHubCaller;
use crate::server::Shared;
use crate::state::GitHubToken;

/// The user behind the request's GitHub token, or GitHub's 401.
// The error is the HTTP answer itself, returned at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(GitHubToken, MockUser), Response> {
    let Some((_, token)) = credential(headers) else {
        return Err(rest_error(401, "Requires authentication"));
    };
    let state = shared.state();
    state
        .github_user(&token)
        .map(|(t, u)| (t.clone(), u.clone()))
        .ok_or_else(|| rest_error(401, "Bad credentials"))
}

fn user_json(shared: &Shared, user: &MockUser) -> Value {
    json!({
        "login": user.login,
        "id": user.id,
        "node_id": format!("MDQ6VXNlcj{}", user.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "html_url": format!("{}/{}", shared.web_url, user.login),
        "url": format!("{}/users/{}", shared.rest_url, user.login),
        "type": "User",
        "site_admin": false,
        "name": user.name,
        "email": user.email,
        "company": null,
        "blog": "",
        "location": null,
        "bio": null,
        "public_repos": 8,
        "followers": 20,
        "following": 0,
        "created_at": "2011-01-25T18:44:36Z",
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

fn org_json(shared: &Shared, org: &MockOrg) -> Value {
    json!({
        "login": org.login,
        "id": org.id,
        "node_id": format!("MDEyOk9yZ2FuaXphdGlvbj{}", org.id),
        "url": format!("{}/orgs/{}", shared.rest_url, org.login),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", org.id),
        "description": org.description,
    })
}

fn with_scopes(mut response: Response, token: &GitHubToken) -> Response {
    if let Ok(v) = http::HeaderValue::from_str(&token.scopes) {
        response.headers_mut().insert("x-oauth-scopes", v);
    }
    response
}

/// `GET /user`
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    GitHubCaller { token, user }: GitHubCaller,
) -> Response {
    with_scopes(
        axum::Json(user_json(&shared, &user)).into_response(),
        &token,
    )
}

/// The organisations of `user`, synthesising ones that were not configured.
fn orgs_of(shared: &Shared, user: &MockUser) -> Vec<MockOrg> {
    let state = shared.state();
    user.orgs
        .iter()
        .map(|login| {
            state
                .orgs
                .iter()
                .find(|o| &o.login == login)
                .cloned()
                .unwrap_or_else(|| MockOrg::new(login.clone()))
        })
        .collect()
}

/// `GET /user/orgs?per_page=&page=` with GitHub's `Link` header.
pub(crate) async fn user_orgs(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    GitHubCaller { user, .. }: GitHubCaller,
) -> Response {
    let per_page = q
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let orgs = orgs_of(&shared, &user);
    let last = orgs.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = orgs
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|o| org_json(&shared, o))
        .collect();
    let link_to = |p: usize, rel: &str| {
        format!(
            "<{}/user/orgs?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            shared.rest_url
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link_to(page - 1, "prev"));
    }
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
    }
    let mut response = axum::Json(Value::Array(items)).into_response();
    if !links.is_empty()
        && let Ok(v) = http::HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(http::header::LINK, v);
    }
    response
}

/// `GET /user/memberships/orgs/{org}`
pub(crate) async fn org_membership(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    GitHubCaller { user, .. }: GitHubCaller,
) -> Response {
    match orgs_of(&shared, &user)
        .into_iter()
        .find(|o| o.login.eq_ignore_ascii_case(&org))
    {
        Some(o) => axum::Json(json!({
            "url": format!("{}/orgs/{}/memberships/{}", shared.rest_url, o.login, user.login),
            "state": "active",
            "role": "member",
            "organization_url": format!("{}/orgs/{}", shared.rest_url, o.login),
            "organization": org_json(&shared, &o),
            "user": user_json(&shared, &user),
        }))
        .into_response(),
        None => rest_error(404, "Not Found"),
    }
}

/// Anything unrouted: GitHub's REST 404.
pub(crate) async fn not_found() -> Response {
    rest_error(404, "Not Found")
}
