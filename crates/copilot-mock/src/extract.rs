//! Axum extractors for what every handler checks first, so a handler starts at its own logic.
//!
//! - [`CopilotCaller`]: a Copilot API request with a valid Copilot token (or, in direct mode, GitHub token).
//! - [`CopilotJson`]: the same, with a JSON-object body; [`CopilotJson::model`] resolves its `"model"`.
//! - [`GitHubCaller`]: a GitHub REST request with a valid GitHub token.
//! - [`OAuthParams`]: the parameters of an OAuth endpoint, from the query and a form or JSON body.
//!
//! Each rejects with the exact answer the real service gives, so a handler written with them answers
//! auth and body errors byte-for-byte as the old inline checks did.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawQuery, Request};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::request::Parts;
use serde_json::Value;

use crate::config::MockUser;
use crate::copilot::models::lookup;
use crate::copilot::{authenticate, json_body, model_not_supported, policy_denied};
use crate::github::params;
use crate::server::Shared;
use crate::state::GitHubToken;

/// A Copilot API request that passed authentication: who is calling, and the request's headers.
pub(crate) struct CopilotCaller {
    /// The user behind the token.
    #[allow(dead_code)] // Kept for handlers that answer per user (quota, billing).
    pub user: MockUser,
    /// The request headers (intent, initiator, vision flag, …).
    pub headers: HeaderMap,
}

impl FromRequestParts<Arc<Shared>> for CopilotCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let user = authenticate(shared, &parts.headers)?;
        Ok(CopilotCaller {
            user,
            headers: parts.headers.clone(),
        })
    }
}

/// An authenticated Copilot API request with a JSON-object body (else the API's 400).
pub(crate) struct CopilotJson {
    /// The caller, as [`CopilotCaller`] checked it.
    pub caller: CopilotCaller,
    /// The body, a JSON object.
    pub body: Value,
}

/// The model a request names, as the mock's catalogue knows it.
pub(crate) struct RequestedModel {
    /// The id as the request spelled it.
    pub id: String,
    /// The catalogue entry.
    pub info: crate::copilot::models::ModelInfo,
    /// The user's policy state for it (`None` when no policy applies).
    pub policy: Option<String>,
}

impl RequestedModel {
    /// `Ok` unless the user's policy for the model is set and not `enabled` (then the API's 400).
    #[allow(clippy::result_large_err)]
    pub(crate) fn policy_allows(&self) -> Result<(), Response> {
        match self.policy.as_deref() {
            Some(state) if state != "enabled" => Err(policy_denied()),
            _ => Ok(()),
        }
    }
}

impl CopilotJson {
    /// The model named by the body's `"model"` field, or the API's 400 `model_not_supported`.
    // The error is the HTTP answer itself, returned at once; boxing it buys nothing.
    #[allow(clippy::result_large_err)]
    pub(crate) fn model(&self, shared: &Shared) -> Result<RequestedModel, Response> {
        let id = self
            .body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (info, policy) = lookup(shared, id).ok_or_else(model_not_supported)?;
        Ok(RequestedModel {
            id: id.to_owned(),
            info,
            policy,
        })
    }

    /// The request headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.caller.headers
    }
}

impl FromRequest<Arc<Shared>> for CopilotJson {
    type Rejection = Response;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        // Authentication first: an unauthenticated request is 401 whatever its body.
        let caller = CopilotCaller::from_request_parts(&mut parts, shared).await?;
        crate::copilot::models::check_auto_session(shared, &caller)?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = json_body(&bytes)?;
        Ok(CopilotJson { caller, body })
    }
}

/// A GitHub REST request with a valid GitHub token (else GitHub's 401).
pub(crate) struct GitHubCaller {
    /// The token's record (its scopes go back in `X-OAuth-Scopes`).
    pub token: GitHubToken,
    /// The user it belongs to.
    pub user: MockUser,
}

impl FromRequestParts<Arc<Shared>> for GitHubCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let (token, user) = crate::github::rest::authenticate(shared, &parts.headers)?;
        Ok(GitHubCaller { token, user })
    }
}

/// The parameters of an OAuth endpoint (query string, then a form or JSON body), with the request
/// headers, which decide the reply's format (`Accept`).
pub(crate) struct OAuthParams {
    /// The request headers.
    pub headers: HeaderMap,
    /// Every parameter, body values over query values.
    pub params: HashMap<String, String>,
}

impl FromRequest<Arc<Shared>> for OAuthParams {
    type Rejection = Response;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let RawQuery(query) = RawQuery::from_request_parts(&mut parts, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = params(&headers, query.as_deref(), &bytes);
        Ok(OAuthParams { headers, params })
    }
}
