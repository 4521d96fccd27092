//! The HTTP plumbing every flow shares: transport, clock, sleeper, identity, and the OAuth reply parser.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use copilot_http::time::{SharedClock, SharedSleep};
use copilot_http::{CarriesCredential, ClientIdentity, GitHubHost, HttpTransport, SharedTransport};
use http::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use url::Url;

use crate::{AuthError, GitHubToken, GitHubTokenResponse};

/// Bodies of OAuth and REST answers are small; a larger one is a misbehaving server.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The OAuth token endpoint, where every grant ends: device code, authorization code and refresh token.
pub(crate) const ACCESS_TOKEN_PATH: &str = "/login/oauth/access_token";

/// Transport, time and identity settings, shared by the flows' builders.
#[derive(Debug, Clone)]
pub(crate) struct HttpContext {
    transport: Option<SharedTransport>,
    default_transport: Arc<OnceLock<SharedTransport>>,
    pub(crate) clock: SharedClock,
    pub(crate) sleep: SharedSleep,
    pub(crate) identity: ClientIdentity,
}

impl Default for HttpContext {
    fn default() -> Self {
        HttpContext {
            transport: None,
            default_transport: Arc::default(),
            clock: SharedClock::system(),
            sleep: SharedSleep::tokio(),
            identity: ClientIdentity::default(),
        }
    }
}

/// The HTTP setters of every flow that keeps an [`HttpContext`] in a field `http`: `transport`, `clock`
/// (documented by the flow, which says what its clock stamps) and `identity`, written once so the flows
/// cannot drift apart.
macro_rules! http_setters {
    (clock: $clock_doc:literal) => {
        /// The HTTP transport (default: copilot-http's reqwest transport).
        pub fn transport(mut self, transport: impl copilot_http::HttpTransport + 'static) -> Self {
            self.http
                .set_transport(copilot_http::SharedTransport::new(transport));
            self
        }

        #[doc = $clock_doc]
        pub fn clock(mut self, clock: impl copilot_http::time::Clock + 'static) -> Self {
            self.http.clock = copilot_http::time::SharedClock::new(clock);
            self
        }

        /// The client identity; its `User-Agent` is sent with every request.
        pub fn identity(mut self, identity: impl Into<copilot_http::ClientIdentity>) -> Self {
            self.http.identity = identity.into();
            self
        }
    };
}
pub(crate) use http_setters;

/// A buffered response.
pub(crate) struct Reply {
    pub(crate) status: http::StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl HttpContext {
    pub(crate) fn set_transport(&mut self, transport: SharedTransport) {
        self.transport = Some(transport);
    }

    fn transport(&self) -> Result<SharedTransport, AuthError> {
        if let Some(transport) = &self.transport {
            return Ok(transport.clone());
        }
        if let Some(transport) = self.default_transport.get() {
            return Ok(transport.clone());
        }
        let transport = SharedTransport::default_transport()?;
        Ok(self.default_transport.get_or_init(|| transport).clone())
    }

    /// Sends `request` (with the identity headers added) and buffers the answer.
    pub(crate) async fn send(&self, mut request: http::Request<Bytes>) -> Result<Reply, AuthError> {
        self.identity.apply_github(request.headers_mut());
        let transport = self.transport()?;
        let response = transport.send(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect_limited(MAX_BODY).await?;
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `POST`s a form to `url` with `Accept: application/json`. The request is marked as carrying a
    /// credential, so it only goes to https (or loopback).
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<Reply, AuthError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| AuthError::config(format!("cannot encode form: {e}")))?;
        let mut request = http::Request::post(url.as_str())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(Bytes::from(body))
            .map_err(|e| {
                AuthError::config(format!("cannot build request to {}: {e}", url.path()))
            })?;
        request.extensions_mut().insert(CarriesCredential);
        tracing::debug!(endpoint = url.path(), "POST form");
        self.send(request).await
    }

    /// `POST`s a grant (`form`) to `host`'s token endpoint (`{web}/login/oauth/access_token`): the token,
    /// stamped with this clock's time of the answer, or the OAuth error the server answered with. Each flow
    /// decides what an error code means to it (the device flow keeps polling on `authorization_pending`).
    pub(crate) async fn request_token(
        &self,
        host: &GitHubHost,
        form: &[(&str, &str)],
    ) -> Result<TokenReply, AuthError> {
        let reply = self
            .post_form(&host.web_endpoint(ACCESS_TOKEN_PATH), form)
            .await?;
        let received_at = self.clock.now();
        Ok(match parse_oauth_reply(&reply, ACCESS_TOKEN_PATH)? {
            OAuthReply::Error(error) => TokenReply::Error(error),
            OAuthReply::Body(raw) => {
                TokenReply::Token(token_response(*raw, received_at, ACCESS_TOKEN_PATH)?)
            }
        })
    }
}

/// What the token endpoint answered to a grant.
pub(crate) enum TokenReply {
    /// A token response (it has an `access_token`).
    Token(GitHubTokenResponse),
    /// An OAuth error.
    Error(OAuthErrorReply),
}

impl TokenReply {
    /// The token; an OAuth error becomes its typed [`AuthError`] (logged at debug level as `grant` failing).
    pub(crate) fn into_token(self, grant: &'static str) -> Result<GitHubTokenResponse, AuthError> {
        match self {
            TokenReply::Token(response) => Ok(response),
            TokenReply::Error(error) => {
                tracing::debug!(grant, error = %error.code, "the token endpoint refused the grant");
                Err(error.into())
            }
        }
    }
}

/// Accepts a JSON number or a numeric string (form-encoded replies carry numbers as text).
fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        N(u64),
        S(String),
        F(f64),
    }
    Ok(match Option::<Num>::deserialize(d)? {
        None => None,
        Some(Num::N(n)) => Some(n),
        Some(Num::S(s)) => s.trim().parse().ok(),
        Some(Num::F(f)) if f >= 0.0 => Some(f as u64),
        Some(Num::F(_)) => None,
    })
}

/// Every field any answer of the OAuth endpoints may have.
#[derive(Deserialize)]
pub(crate) struct RawOAuthReply {
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
    pub(crate) access_token: Option<String>,
    pub(crate) token_type: Option<String>,
    pub(crate) scope: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub(crate) expires_in: Option<u64>,
    pub(crate) refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub(crate) refresh_token_expires_in: Option<u64>,
    pub(crate) device_code: Option<String>,
    pub(crate) user_code: Option<String>,
    pub(crate) verification_uri: Option<String>,
    pub(crate) verification_uri_complete: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub(crate) interval: Option<u64>,
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

/// What an OAuth endpoint said: an OAuth error (whatever the status), or a body to interpret.
pub(crate) enum OAuthReply {
    Error(OAuthErrorReply),
    Body(Box<RawOAuthReply>),
}

/// An OAuth error answer (RFC 6749 §5.2), with the device flow's `slow_down` interval (RFC 8628 §3.5).
pub(crate) struct OAuthErrorReply {
    /// The `error` code (never empty).
    pub(crate) code: String,
    /// `error_description`.
    pub(crate) description: Option<String>,
    /// `interval`, in seconds.
    pub(crate) interval: Option<u64>,
}

impl From<OAuthErrorReply> for AuthError {
    fn from(error: OAuthErrorReply) -> Self {
        oauth_error(&error.code, error.description)
    }
}

/// Classifies an OAuth endpoint's answer by the `error` field first and the status second (GitHub answers
/// errors with 200, RFC servers with 400). Falls back to a form-encoded body if the server ignored `Accept`.
pub(crate) fn parse_oauth_reply(reply: &Reply, endpoint: &str) -> Result<OAuthReply, AuthError> {
    let parsed = serde_json::from_slice::<RawOAuthReply>(&reply.body)
        .ok()
        .or_else(|| parse_form_reply(&reply.body));
    let Some(raw) = parsed else {
        return Err(if reply.status.is_success() {
            // Never quote a success body: it may hold a token.
            AuthError::MalformedResponse {
                endpoint: endpoint.to_owned(),
                message: "the body is neither JSON nor form-encoded".to_owned(),
            }
        } else {
            http_error(reply, endpoint)
        });
    };
    if let Some(code) = raw.error.clone().filter(|c| !c.is_empty()) {
        return Ok(OAuthReply::Error(OAuthErrorReply {
            code,
            description: raw.error_description.clone(),
            interval: raw.interval,
        }));
    }
    if !reply.status.is_success() {
        return Err(http_error(reply, endpoint));
    }
    Ok(OAuthReply::Body(Box::new(raw)))
}

fn parse_form_reply(body: &[u8]) -> Option<RawOAuthReply> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    if !pairs
        .iter()
        .any(|(k, _)| k == "error" || k == "access_token" || k == "device_code")
    {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).ok()
}

/// An HTTP error without a usable OAuth body. The excerpt comes from an error body, never a success body.
pub(crate) fn http_error(reply: &Reply, endpoint: &str) -> AuthError {
    // Quoted through the one excerpt rule: an error body's control characters never reach a terminal.
    let excerpt = copilot_http::redact::excerpt(&String::from_utf8_lossy(&reply.body), 200);
    AuthError::Http {
        status: reply.status.as_u16(),
        endpoint: endpoint.to_owned(),
        message: if excerpt.is_empty() {
            reply
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_owned()
        } else {
            excerpt
        },
    }
}

/// Maps an OAuth `error` code to the typed error.
pub(crate) fn oauth_error(code: &str, description: Option<String>) -> AuthError {
    match code {
        "access_denied" => AuthError::AccessDenied { description },
        "expired_token" | "token_expired" => AuthError::ExpiredDeviceCode,
        "incorrect_device_code" => AuthError::IncorrectDeviceCode,
        "incorrect_client_credentials" => AuthError::IncorrectClientCredentials,
        "device_flow_disabled" => AuthError::DeviceFlowDisabled,
        "unsupported_grant_type" => AuthError::UnsupportedGrantType,
        "bad_verification_code" => AuthError::BadVerificationCode,
        "redirect_uri_mismatch" => AuthError::RedirectUriMismatch,
        "unverified_user_email" => AuthError::UnverifiedUserEmail,
        "bad_refresh_token" => AuthError::BadRefreshToken,
        other => AuthError::OAuth {
            code: other.to_owned(),
            description,
        },
    }
}

/// Turns a success body into a token response; a 200 without `access_token` is not a success.
fn token_response(
    raw: RawOAuthReply,
    received_at: SystemTime,
    endpoint: &str,
) -> Result<GitHubTokenResponse, AuthError> {
    let Some(access_token) = raw.access_token.filter(|t| !t.is_empty()) else {
        return Err(AuthError::MalformedResponse {
            endpoint: endpoint.to_owned(),
            message: "the answer has neither `access_token` nor `error`".to_owned(),
        });
    };
    let extra = raw.extra;
    Ok(GitHubTokenResponse {
        access_token: GitHubToken::new(access_token),
        token_type: raw.token_type,
        scopes: split_scopes(raw.scope.as_deref().unwrap_or("")),
        expires_in: raw.expires_in.map(Duration::from_secs),
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(secrecy::SecretString::from),
        refresh_token_expires_in: raw.refresh_token_expires_in.map(Duration::from_secs),
        received_at,
        extra,
    })
}

/// GitHub separates granted scopes with commas; RFC 6749 with spaces. Accept both.
pub(crate) fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Fills `buf` from the OS random number generator.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(buf).map_err(|e| AuthError::Random {
        message: e.to_string(),
    })
}
