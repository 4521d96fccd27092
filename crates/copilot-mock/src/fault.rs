//! Fault injection: which route, what goes wrong, and how many times.

use std::time::{Duration, SystemTime};

use crate::config::HostLayout;

/// A route of the mock, used to target faults and to filter the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST {web}/login/device/code`
    DeviceCode,
    /// `POST {web}/login/oauth/access_token`
    AccessToken,
    /// `GET {web}/login/oauth/authorize`
    Authorize,
    /// `GET|POST {web}/login/device`
    DevicePage,
    /// `GET {rest}/user`
    User,
    /// `GET {rest}/user/orgs`
    UserOrgs,
    /// `GET {rest}/user/memberships/orgs/{org}`
    OrgMembership,
    /// `GET {rest}/copilot_internal/v2/token`
    CopilotToken,
    /// `GET {rest}/copilot_internal/user`
    CopilotUser,
    /// `GET {api}/models`
    Models,
    /// `GET {api}/models/{id}`
    Model,
    /// `POST {api}/models/{id}/policy`
    ModelPolicy,
    /// `POST {api}/models/session` (the Auto model)
    ModelSession,
    /// `POST {api}/chat/completions`
    ChatCompletions,
    /// `POST {api}/responses`
    Responses,
    /// `GET {api}/responses` upgraded to a WebSocket: the upgrade and each `response.create` turn on the
    /// socket (logged with method `WS`). Its faults apply per turn, not to the upgrade (see
    /// [`WsUpgrade`](crate::WsUpgrade) for refusing that).
    ResponsesWebSocket,
    /// `POST {api}/embeddings`
    Embeddings,
    /// `POST {api}/v1/messages`
    Messages,
    /// `GET {api}/_ping`
    Ping,
    /// Anything else (answered 404).
    Other,
}

impl Endpoint {
    /// Classifies a request path of the mock's single port.
    pub(crate) fn classify(path: &str, layout: HostLayout) -> Endpoint {
        if let Some(api) = path.strip_prefix(crate::server::COPILOT_PREFIX) {
            return match api {
                "/models" => Endpoint::Models,
                "/chat/completions" => Endpoint::ChatCompletions,
                "/responses" => Endpoint::Responses,
                "/embeddings" => Endpoint::Embeddings,
                "/v1/messages" => Endpoint::Messages,
                "/_ping" => Endpoint::Ping,
                "/models/session" => Endpoint::ModelSession,
                // Azure OpenAI's shapes of the same endpoints (`MockConfig::provider_key`).
                "/openai/responses" => Endpoint::Responses,
                p if p.starts_with("/openai/deployments/") && p.ends_with("/chat/completions") => {
                    Endpoint::ChatCompletions
                }
                p if p.starts_with("/models/") && p.ends_with("/policy") => Endpoint::ModelPolicy,
                p if p.starts_with("/models/") => Endpoint::Model,
                _ => Endpoint::Other,
            };
        }
        if let Some(rest) = path.strip_prefix(layout.rest_prefix()) {
            return match rest {
                "/user" => Endpoint::User,
                "/user/orgs" => Endpoint::UserOrgs,
                "/copilot_internal/v2/token" => Endpoint::CopilotToken,
                "/copilot_internal/user" => Endpoint::CopilotUser,
                p if p.starts_with("/user/memberships/orgs/") => Endpoint::OrgMembership,
                _ => Endpoint::Other,
            };
        }
        match path {
            "/login/device/code" => Endpoint::DeviceCode,
            "/login/oauth/access_token" => Endpoint::AccessToken,
            "/login/oauth/authorize" => Endpoint::Authorize,
            "/login/device" => Endpoint::DevicePage,
            _ => Endpoint::Other,
        }
    }
}

/// What goes wrong. Stream faults count *events* (SSE events for streaming answers; for a
/// non-streaming body the body is cut in half instead and `after_events` is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, headers and body instead of the real response.
    Status {
        /// HTTP status code.
        status: u16,
        /// Extra response headers (e.g. `retry-after`).
        headers: Vec<(String, String)>,
        /// `Content-Type` of the body.
        content_type: String,
        /// The body.
        body: String,
    },
    /// Wait this long before handling the request (the response itself is normal).
    Latency(Duration),
    /// Send the status line and headers, then wait this long before the first body byte.
    StallBeforeFirstByte(Duration),
    /// Send `after_events` events, then wait `duration`, then continue normally.
    StallMidStream {
        /// Events sent before the stall.
        after_events: usize,
        /// Length of the stall.
        duration: Duration,
    },
    /// Send `after_events` events, then abort the connection (the client sees a broken body).
    ResetMidStream {
        /// Events sent before the reset.
        after_events: usize,
    },
    /// Send `after_events` events, then end the body cleanly (no finish chunk, no `[DONE]`).
    TruncateStream {
        /// Events sent before the clean end.
        after_events: usize,
    },
    /// After `after_events` events, send one event whose data is not valid JSON, then continue.
    MalformedChunk {
        /// Events sent before the malformed one.
        after_events: usize,
    },
    /// Leave out the final `data: [DONE]` event.
    MissingDone,
    /// After `after_events` events, send `data: {"error":{"message","code"}}` and end the stream.
    MidStreamError {
        /// Events sent before the error.
        after_events: usize,
        /// `error.code`, e.g. `quota_exceeded`, `model_overloaded`.
        code: String,
        /// `error.message`.
        message: String,
    },
}

impl Fault {
    /// For a stream fault: after how many of `total` events it strikes.
    pub(crate) fn cut(&self, total: usize) -> Option<usize> {
        match self {
            Fault::StallMidStream { after_events, .. }
            | Fault::ResetMidStream { after_events }
            | Fault::TruncateStream { after_events }
            | Fault::MalformedChunk { after_events }
            | Fault::MidStreamError { after_events, .. } => Some((*after_events).min(total)),
            _ => None,
        }
    }
    /// A status fault with a JSON body.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Fault::Status {
            status,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: body.into(),
        }
    }
    /// A status fault with a `text/plain` body.
    pub fn status_text(status: u16, body: impl Into<String>) -> Self {
        Fault::Status {
            status,
            headers: Vec::new(),
            content_type: "text/plain; charset=utf-8".into(),
            body: body.into(),
        }
    }
    /// 429 `rate_limited` with `retry-after: <seconds>` and `x-ratelimit-exceeded`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::rate_limited_with(retry_after_secs.to_string())
    }
    /// 429 `rate_limited` with `retry-after` as an HTTP-date.
    pub fn rate_limited_until(when: SystemTime) -> Self {
        Self::rate_limited_with(httpdate::fmt_http_date(when))
    }
    fn rate_limited_with(retry_after: String) -> Self {
        Fault::Status {
            status: 429,
            headers: vec![
                ("retry-after".into(), retry_after),
                ("x-ratelimit-exceeded".into(), "user_global_rate_limited".into()),
            ],
            content_type: "application/json".into(),
            body: r#"{"error":{"message":"Sorry, you have been rate-limited. Please wait a moment before trying again.","code":"rate_limited","type":"rate_limit_error"}}"#.into(),
        }
    }
    /// 402 `quota_exceeded`, as Copilot sends when the premium allowance is exhausted.
    pub fn quota_exceeded() -> Self {
        Self::status(
            402,
            r#"{"error":{"message":"You have no quota","code":"quota_exceeded"}}"#,
        )
    }
    /// 402 `billing_not_configured`: usage-based billing needs a billing entity the account has not chosen.
    pub fn billing_not_configured() -> Self {
        Self::error_json(
            402,
            "billing_not_configured",
            "a default billing entity has not been selected",
        )
    }
    /// 402 `session_quota_exceeded`: the allowance of this agent session is used up (like every quota
    /// answer, not worth retrying).
    pub fn session_quota_exceeded() -> Self {
        Self::error_json(
            402,
            "session_quota_exceeded",
            "You have exceeded the quota for this session.",
        )
    }
    /// 429 `user_weekly_rate_limited` with `retry-after: <seconds>` and the same `x-ratelimit-exceeded`
    /// bucket.
    pub fn weekly_rate_limited(retry_after_secs: u64) -> Self {
        Self::error_json(
            429,
            "user_weekly_rate_limited",
            "Sorry, you have exceeded your weekly rate limit.",
        )
        .with_header("retry-after", retry_after_secs.to_string())
        .with_header("x-ratelimit-exceeded", "user_weekly_rate_limited")
    }
    /// 400 `no_available_model_endpoints`, as Copilot answered for Claude models when no endpoint served
    /// them under the account's plan and policies (the body is the captured one).
    pub fn no_available_model_endpoints() -> Self {
        Self::error_json(
            400,
            "no_available_model_endpoints",
            "no endpoints available for this model under your current plan and policies",
        )
    }
    /// 400 `invalid_reasoning_effort` for a reasoning effort `model` does not accept, worded as Copilot
    /// words it on `/v1/messages` (`output_config.effort "xhigh" is not supported by model …; supported
    /// values: [medium]`).
    pub fn invalid_reasoning_effort(
        model: &str,
        effort: &str,
        supported: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Self {
        Self::error_json(
            400,
            "invalid_reasoning_effort",
            &invalid_reasoning_effort_message(model, effort, supported),
        )
    }
    /// 466 with a `text/plain` body: Copilot no longer supports the client version the identity headers
    /// announce.
    pub fn client_not_supported() -> Self {
        Self::status_text(
            466,
            "client not supported: this client version is no longer supported, please update",
        )
    }
    /// A status fault with a `{"error":{"message","code"}}` body, serialised (and escaped) by serde_json.
    fn error_json(status: u16, code: &str, message: &str) -> Self {
        let body = serde_json::json!({"error": {"message": message, "code": code}});
        Self::status(status, body.to_string())
    }
    /// A 5xx (or any) server error with a plain-text body.
    pub fn server_error(status: u16) -> Self {
        Self::status_text(status, "upstream error")
    }
    /// Adds a response header to a [`Fault::Status`] (ignored for other kinds).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Fault::Status { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// Copilot's wording of a rejected `output_config.effort`, shared by [`Fault::invalid_reasoning_effort`] and
/// the mock's own `/v1/messages` check.
pub(crate) fn invalid_reasoning_effort_message(
    model: &str,
    effort: &str,
    supported: impl IntoIterator<Item = impl AsRef<str>>,
) -> String {
    let supported: Vec<String> = supported
        .into_iter()
        .map(|value| value.as_ref().to_owned())
        .collect();
    format!(
        "output_config.effort \"{effort}\" is not supported by model {model}; supported values: [{}]",
        supported.join(", ")
    )
}

/// A fault bound to a route, active for every request or for the next N only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub(crate) endpoint: Endpoint,
    pub(crate) fault: Fault,
    pub(crate) remaining: Option<u32>,
    /// Only requests carrying this header (lower-case name) with this value (case-insensitive).
    pub(crate) header: Option<(String, String)>,
}

impl FaultRule {
    /// `fault` on every request to `endpoint` until cleared.
    pub fn new(endpoint: Endpoint, fault: Fault) -> Self {
        Self {
            endpoint,
            fault,
            remaining: None,
            header: None,
        }
    }
    /// Only the next `n` requests fail; later ones are served normally ("fail N then recover").
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }
    /// Only requests whose header `name` has `value` (compared case-insensitively) are hit, e.g.
    /// `X-Interaction-Type: conversation-background` to fail a client's compaction requests but not its
    /// user turns; others are served normally and do not count towards [`times`](Self::times).
    pub fn when_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.header = Some((name.into().to_ascii_lowercase(), value.into()));
        self
    }
    /// Whether this rule applies to a request to `endpoint` with `headers`.
    pub(crate) fn matches(&self, endpoint: Endpoint, headers: &http::HeaderMap) -> bool {
        self.endpoint == endpoint
            && self.header.as_ref().is_none_or(|(name, value)| {
                headers
                    .get_all(name.as_str())
                    .iter()
                    .any(|v| v.to_str().is_ok_and(|v| v.eq_ignore_ascii_case(value)))
            })
    }
}
