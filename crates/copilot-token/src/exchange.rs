//! `GET {rest}/copilot_internal/v2/token` and `GET {rest}/copilot_internal/user`, and how their errors map.

use std::time::SystemTime;

use bytes::Bytes;
use copilot_core::GitHubToken;
use copilot_http::redact::excerpt;
use copilot_http::retry::{RetryPolicy, send_with_retry};
use copilot_http::time::{Clock, SharedClock, SharedSleep, Sleep, from_unix_seconds};
use copilot_http::{ClientIdentity, GitHubHost, HttpRequest, SharedTransport};
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::{CopilotToken, CopilotUserInfo, TokenError};

/// The exchange path under the REST base.
pub(crate) const EXCHANGE_PATH: &str = "/copilot_internal/v2/token";
/// The user/quota path under the REST base.
pub(crate) const USER_PATH: &str = "/copilot_internal/user";

/// The largest success body read into memory (real envelopes are about 2 KiB).
const MAX_SUCCESS_BODY: usize = 1024 * 1024;
/// How much of an error body is read for mapping.
const MAX_ERROR_BODY: usize = 16 * 1024;
/// How much of an error body ends up in an error message.
const MAX_SNIPPET_CHARS: usize = 300;

/// Which `copilot_internal` endpoint answered (404 means different things).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Exchange,
    User,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Exchange => "copilot_internal/v2/token",
            Endpoint::User => "copilot_internal/user",
        }
    }
}

/// Options of a [`TokenExchanger`]; from [`TokenExchanger::builder`].
#[derive(Debug, Clone)]
pub struct TokenExchangerBuilder {
    exchanger: TokenExchanger,
}

impl TokenExchangerBuilder {
    /// The identity headers (`User-Agent`, `Editor-Version`, …, and the integration id used in direct mode).
    pub fn identity(mut self, identity: impl Into<ClientIdentity>) -> Self {
        self.exchanger.identity = identity.into();
        self
    }

    /// The retry policy for 5xx and transport errors.
    pub fn retry_policy(mut self, retry: impl Into<RetryPolicy>) -> Self {
        self.exchanger.retry = retry.into();
        self
    }

    /// The clock (`fetched_at`, `Retry-After` dates; default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.exchanger.clock = SharedClock::new(clock);
        self
    }

    /// How backoff waits (default: tokio's sleep).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.exchanger.sleep = SharedSleep::new(sleep);
        self
    }

    /// The exchanger.
    pub fn build(self) -> TokenExchanger {
        self.exchanger
    }
}

/// Exchanges GitHub tokens for Copilot tokens and reads `copilot_internal/user`.
///
/// Both calls are idempotent `GET`s, so 5xx answers and transport failures are retried with the configured
/// [`RetryPolicy`] (jittered exponential backoff honouring `Retry-After`). It holds no state besides its
/// configuration; caching and single-flight belong to [`TokenManager`](crate::TokenManager).
#[derive(Debug, Clone)]
pub struct TokenExchanger {
    transport: SharedTransport,
    host: GitHubHost,
    identity: ClientIdentity,
    retry: RetryPolicy,
    clock: SharedClock,
    sleep: SharedSleep,
}

impl TokenExchanger {
    /// An exchanger for `host` over `transport`, with the default identity, retry policy, system clock and
    /// tokio sleep. [`builder`](Self::builder) sets the others.
    pub fn new(transport: SharedTransport, host: GitHubHost) -> Self {
        Self::builder(transport, host).build()
    }

    /// A builder for an exchanger for `host` over `transport`.
    pub fn builder(transport: SharedTransport, host: GitHubHost) -> TokenExchangerBuilder {
        TokenExchangerBuilder {
            exchanger: TokenExchanger {
                transport,
                host,
                identity: ClientIdentity::default(),
                retry: RetryPolicy::default(),
                clock: SharedClock::system(),
                sleep: SharedSleep::tokio(),
            },
        }
    }

    /// The GitHub deployment.
    pub fn host(&self) -> &GitHubHost {
        &self.host
    }

    /// The identity headers.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The sleeper.
    pub fn sleep(&self) -> &SharedSleep {
        &self.sleep
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `GET {rest}/copilot_internal/v2/token` with `Authorization: token <github_token>`.
    ///
    /// Errors: 401 → [`GitHubTokenRejected`](TokenError::GitHubTokenRejected); 403 with the Copilot envelope →
    /// [`NotEntitled`](TokenError::NotEntitled); 403/429 rate limit → [`RateLimited`](TokenError::RateLimited);
    /// 403 "Resource not accessible by personal access token" →
    /// [`UnsupportedTokenSource`](TokenError::UnsupportedTokenSource); 404 →
    /// [`ExchangeNotAvailable`](TokenError::ExchangeNotAvailable); an untrusted `endpoints.api` →
    /// [`UntrustedEndpoint`](TokenError::UntrustedEndpoint).
    pub async fn exchange(&self, github_token: &GitHubToken) -> Result<CopilotToken, TokenError> {
        let body = self.get(Endpoint::Exchange, github_token).await?;
        let token = CopilotToken::from_json(&body, self.clock.now(), &self.host)?;
        tracing::debug!(
            base_url = %token.base_url(),
            sku = token.sku().unwrap_or("unknown"),
            expires_at = copilot_http::time::unix_seconds(token.expires_at()),
            partial = token.is_partial(),
            "exchanged a GitHub token for a Copilot token"
        );
        Ok(token)
    }

    /// `GET {rest}/copilot_internal/user` with the GitHub token: plan, endpoints and quota.
    pub async fn user_info(
        &self,
        github_token: &GitHubToken,
    ) -> Result<CopilotUserInfo, TokenError> {
        let body = self.get(Endpoint::User, github_token).await?;
        CopilotUserInfo::from_json(&body)
    }

    async fn get(
        &self,
        endpoint: Endpoint,
        github_token: &GitHubToken,
    ) -> Result<Bytes, TokenError> {
        // Kinds that can never work are refused before anything is sent (one rule, in copilot-core).
        github_token.check_usable_for_copilot()?;
        let path = match endpoint {
            Endpoint::Exchange => EXCHANGE_PATH,
            Endpoint::User => USER_PATH,
        };
        let url = self.host.api_endpoint(path);
        let authorization = github_token.authorization_header("token")?;
        let mut request: HttpRequest = http::Request::new(Bytes::new());
        *request.method_mut() = Method::GET;
        *request.uri_mut() = url.as_str().parse().map_err(|_| {
            TokenError::from(copilot_http::TransportError::InvalidUrl {
                input: copilot_http::RedactedUrl::url(&url).to_string(),
                message: "not a valid request URI".into(),
            })
        })?;
        let headers = request.headers_mut();
        self.identity.apply_exchange(headers);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(AUTHORIZATION, authorization);

        tracing::debug!(endpoint = endpoint.name(), url = %copilot_http::RedactedUrl::url(&url), "calling GitHub");
        let response = send_with_retry(
            &self.transport,
            request,
            &self.retry,
            &self.clock,
            &self.sleep,
        )
        .await?;
        let (parts, body) = response.into_parts();
        if parts.status.is_success() {
            return Ok(body.collect_limited(MAX_SUCCESS_BODY).await?);
        }
        let text = body.snippet(MAX_ERROR_BODY).await;
        let error = map_error(
            endpoint,
            parts.status,
            &parts.headers,
            &text,
            self.clock.now(),
        );
        tracing::debug!(endpoint = endpoint.name(), status = parts.status.as_u16(), %error, "GitHub refused");
        Err(error)
    }
}

/// Maps a non-success answer of a `copilot_internal` endpoint.
fn map_error(
    endpoint: Endpoint,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    now: SystemTime,
) -> TokenError {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name));
    let message = field("message")
        .and_then(Value::as_str)
        .map(|m| excerpt(m, MAX_SNIPPET_CHARS))
        .unwrap_or_else(|| excerpt(body, MAX_SNIPPET_CHARS));
    let rate_limited = || TokenError::RateLimited {
        reset_at: headers
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(from_unix_seconds),
        retry_after: copilot_http::retry::retry_after(headers, now),
        message: message.clone(),
    };
    match status.as_u16() {
        401 => TokenError::GitHubTokenRejected {
            message: message.clone(),
        },
        403 => {
            let remaining_zero = headers
                .get("x-ratelimit-remaining")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == "0");
            let details = field("error_details").filter(|d| d.is_object());
            if message.to_ascii_lowercase().contains("rate limit") {
                rate_limited()
            } else if details.is_some() || field("can_signup_for_limited").is_some() {
                let detail = |name: &str| {
                    details
                        .and_then(|d| d.get(name))
                        .and_then(Value::as_str)
                        .map(|s| excerpt(s, MAX_SNIPPET_CHARS))
                };
                TokenError::NotEntitled {
                    notification_id: detail("notification_id"),
                    message: detail("message").unwrap_or_else(|| message.clone()),
                    url: detail("url"),
                    can_signup_for_limited: field("can_signup_for_limited")
                        .and_then(Value::as_bool),
                }
            } else if remaining_zero {
                rate_limited()
            } else if message
                .to_ascii_lowercase()
                .contains("resource not accessible by personal access token")
            {
                TokenError::UnsupportedTokenSource {
                    message: format!(
                        "{message} (personal access tokens cannot be exchanged; use direct mode with a fine-grained PAT)"
                    ),
                }
            } else {
                other(endpoint, status, headers, body)
            }
        }
        404 if endpoint == Endpoint::Exchange => TokenError::ExchangeNotAvailable,
        429 => rate_limited(),
        _ => other(endpoint, status, headers, body),
    }
}

fn other(endpoint: Endpoint, status: StatusCode, headers: &HeaderMap, body: &str) -> TokenError {
    TokenError::Http {
        status: status.as_u16(),
        endpoint: endpoint.name(),
        snippet: excerpt(body, MAX_SNIPPET_CHARS),
        request_id: headers
            .get("x-github-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| excerpt(v, 100)),
    }
}
