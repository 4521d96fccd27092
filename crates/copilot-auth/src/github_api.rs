//! The two GitHub REST calls sign-in needs: who the user is, and whether they belong to an organisation.

use bytes::Bytes;
use copilot_http::identity::X_GITHUB_API_VERSION;
use copilot_http::{ClientIdentity, GitHubHost, HttpTransport, SharedTransport};
use http::header::{ACCEPT, AUTHORIZATION, HeaderValue, LINK};
use serde::Deserialize;
use url::Url;

use crate::http::{HttpContext, Reply, http_error};
use crate::{AuthError, GitHubToken};

/// The REST API version this crate speaks.
pub const GITHUB_API_VERSION: &str = "2022-11-28";

/// A guard against a server that paginates forever.
const MAX_PAGES: usize = 100;

/// A GitHub REST client for `GET /user` and `GET /user/orgs`.
///
/// Requests carry `Authorization: Bearer <token>`. GitHub's REST API accepts `token` and `Bearer` alike;
/// `Bearer` is the one every token kind accepts everywhere (fine-grained PATs must use it with Copilot), so
/// this crate uses it throughout.
#[derive(Debug, Clone)]
pub struct GitHubApi {
    host: GitHubHost,
    http: HttpContext,
}

/// The signed-in user (`GET /user`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GitHubUser {
    /// The login, e.g. `octocat`.
    pub login: String,
    /// The numeric id.
    pub id: u64,
    /// The display name.
    pub name: Option<String>,
    /// The public email address.
    pub email: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct OrgEntry {
    login: String,
}

impl GitHubApi {
    /// A client for `host`'s REST API.
    pub fn new(host: GitHubHost) -> Self {
        GitHubApi {
            host,
            http: HttpContext::default(),
        }
    }

    /// The HTTP transport (default: copilot-http's reqwest transport).
    pub fn transport(mut self, transport: impl HttpTransport + 'static) -> Self {
        self.http.set_transport(SharedTransport::new(transport));
        self
    }

    /// The client identity; its `User-Agent` is sent with every request (GitHub refuses requests without).
    pub fn identity(mut self, identity: impl Into<ClientIdentity>) -> Self {
        self.http.identity = identity.into();
        self
    }

    async fn get(&self, url: &Url, token: &GitHubToken) -> Result<Reply, AuthError> {
        let authorization = token.authorization_header("Bearer")?;
        let request = http::Request::get(url.as_str())
            .header(AUTHORIZATION, authorization)
            .header(
                ACCEPT,
                HeaderValue::from_static("application/vnd.github+json"),
            )
            .header(
                X_GITHUB_API_VERSION,
                HeaderValue::from_static(GITHUB_API_VERSION),
            )
            .body(Bytes::new())
            .map_err(|e| {
                AuthError::config(format!("cannot build request to {}: {e}", url.path()))
            })?;
        tracing::debug!(endpoint = url.path(), "GET");
        let reply = self.http.send(request).await?;
        if reply.status == http::StatusCode::UNAUTHORIZED {
            return Err(AuthError::BadCredentials);
        }
        if !reply.status.is_success() {
            return Err(http_error(&reply, url.path()));
        }
        Ok(reply)
    }

    /// The signed-in user (`GET {api}/user`). 401 is [`AuthError::BadCredentials`].
    pub async fn get_user(&self, token: &GitHubToken) -> Result<GitHubUser, AuthError> {
        let url = self.host.api_endpoint("/user");
        let reply = self.get(&url, token).await?;
        serde_json::from_slice(&reply.body).map_err(|e| AuthError::MalformedResponse {
            endpoint: url.path().to_owned(),
            message: copilot_http::redact::json_error(&e),
        })
    }

    /// Whether the token's user belongs to `org` (case-insensitive), from `GET {api}/user/orgs?per_page=100`
    /// following `Link: rel="next"` pages. Next-page links are followed only on the REST API's own origin, so
    /// the token never goes elsewhere.
    ///
    /// The list shows the organisations the token may see: a GitHub App user token only lists organisations
    /// where the app is installed, and an OAuth token without `read:org` may miss organisations whose
    /// membership is private. For an authoritative gate use a token with `read:org`.
    pub async fn verify_org_membership(
        &self,
        token: &GitHubToken,
        org: &str,
    ) -> Result<bool, AuthError> {
        let mut url = self.host.api_endpoint("/user/orgs");
        url.query_pairs_mut().append_pair("per_page", "100");
        let origin = url.origin();
        for _ in 0..MAX_PAGES {
            let reply = self.get(&url, token).await?;
            let orgs: Vec<OrgEntry> =
                serde_json::from_slice(&reply.body).map_err(|e| AuthError::MalformedResponse {
                    endpoint: url.path().to_owned(),
                    message: copilot_http::redact::json_error(&e),
                })?;
            if orgs.iter().any(|o| o.login.eq_ignore_ascii_case(org)) {
                return Ok(true);
            }
            let Some(next) = next_link(&reply.headers) else {
                return Ok(false);
            };
            let next = url.join(&next).map_err(|e| AuthError::MalformedResponse {
                endpoint: url.path().to_owned(),
                message: format!("invalid next-page link: {e}"),
            })?;
            if next.origin() != origin {
                return Err(AuthError::MalformedResponse {
                    endpoint: url.path().to_owned(),
                    message: "the next-page link points to another origin; not following it"
                        .to_owned(),
                });
            }
            url = next;
        }
        Err(AuthError::MalformedResponse {
            endpoint: "/user/orgs".to_owned(),
            message: format!("more than {MAX_PAGES} pages"),
        })
    }
}

/// The `rel="next"` target of RFC 8288 `Link` headers.
pub(crate) fn next_link(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
            });
            is_next.then(|| target.to_owned())
        })
}
