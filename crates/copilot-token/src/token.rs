//! The Copilot token and its envelope (`copilot_internal/v2/token` success body).
//!
//! Only `token` and `expires_at` are required (and `refresh_in` read when present). Everything else is optional
//! and decoded as a whole; if that fails (a server changed a field's type) the token is still usable, the typed
//! extras are left empty and every other key is kept raw in [`CopilotToken::extra`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use copilot_http::GitHubHost;
use copilot_http::time::from_unix_seconds;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::TokenError;

/// The Copilot API endpoints advertised by an envelope (`endpoints`) or by `copilot_internal/user`.
///
/// Values are kept as the server sent them; they are parsed and checked when a base URL is resolved.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Endpoints {
    /// The Copilot API base URL (`https://api.business.githubcopilot.com`).
    pub api: Option<String>,
    /// The completions proxy.
    pub proxy: Option<String>,
    /// The telemetry service.
    pub telemetry: Option<String>,
    /// The origin tracker (`origin-tracker`).
    #[serde(default, rename = "origin-tracker")]
    pub origin_tracker: Option<String>,
    /// Endpoints this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message the server wants shown to the user (`user_notification`), e.g. `subscription_trial_ending`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct UserNotification {
    /// Identifies the notification (open set).
    pub notification_id: Option<String>,
    /// Short title.
    pub title: Option<String>,
    /// The text to show.
    pub message: Option<String>,
    /// A link with more information.
    pub url: Option<String>,
    /// Fields this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Copilot Free counters (`limited_user_quotas`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LimitedUserQuotas {
    /// Chat messages left.
    pub chat: Option<i64>,
    /// Completions left.
    pub completions: Option<i64>,
    /// Fields this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The typed optional part of the envelope, with every unknown field in `extra`; decoded all-or-nothing,
/// and written back as it was read.
#[derive(Clone, Default, Deserialize, Serialize)]
struct OptionalFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoints: Option<Endpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chat_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_notification: Option<UserNotification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limited_user_quotas: Option<LimitedUserQuotas>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// The `k=v;…` fields of a Copilot token string (`tid`, `exp`, `sku`, `proxy-ep`, `ip`, …).
///
/// The token is opaque on the wire; these fields are for diagnostics and for deriving the API host. They
/// include the client's IP address, so `Debug` prints the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenFields {
    fields: BTreeMap<String, String>,
}

impl TokenFields {
    /// Parses a token string: the MAC after the **last** `:` is cut off, the rest is split on `;`, and each
    /// part on its first `=` (a part without `=` becomes a key with an empty value).
    pub fn parse(token: &str) -> Self {
        let body = token.rsplit_once(':').map_or(token, |(body, _mac)| body);
        let fields = body
            .split(';')
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None => (part.to_owned(), String::new()),
            })
            .collect();
        TokenFields { fields }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// All fields. Do not log this map: it contains the client IP (`ip`).
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.fields
    }

    /// Whether no field was found.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The tracking id (`tid`).
    pub fn tid(&self) -> Option<&str> {
        self.get("tid")
    }

    /// The expiry the token itself carries (`exp`, unix seconds).
    pub fn exp(&self) -> Option<u64> {
        self.get("exp")?.parse().ok()
    }

    /// The SKU (`sku`).
    pub fn sku(&self) -> Option<&str> {
        self.get("sku")
    }

    /// The proxy host (`proxy-ep`, e.g. `proxy.business.githubcopilot.com`).
    pub fn proxy_ep(&self) -> Option<&str> {
        self.get("proxy-ep")
    }
}

impl fmt::Debug for TokenFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFields")
            .field("keys", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A short-lived Copilot token with everything its envelope said.
///
/// `Debug` never prints the token, its fields (they contain the client IP) or raw extra values.
#[derive(Clone)]
pub struct CopilotToken {
    secret: SecretString,
    expires_at: SystemTime,
    refresh_in: Option<Duration>,
    fetched_at: SystemTime,
    base_url: Url,
    fields: TokenFields,
    optional: OptionalFields,
    /// Whether `optional` could not be decoded (its typed fields are empty, everything is in `extra`).
    partial: bool,
}

impl CopilotToken {
    /// Decodes an exchange success body received at `fetched_at` (local clock) and resolves its Copilot API
    /// base URL for `host` (see [`resolve_copilot_base_url`]).
    pub fn from_json(
        body: &[u8],
        fetched_at: SystemTime,
        host: &GitHubHost,
    ) -> Result<Self, TokenError> {
        let decode_error = |message: String| TokenError::Decode {
            what: "token envelope",
            message,
        };
        let mut object: Map<String, Value> = match serde_json::from_slice(body) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(decode_error("the body is not a JSON object".into())),
            // serde's message may quote input; report the position only.
            Err(e) => return Err(decode_error(copilot_http::redact::json_error(&e))),
        };
        let secret = match object.remove("token") {
            Some(Value::String(token)) if !token.is_empty() => token,
            _ => return Err(decode_error("`token` is missing or not a string".into())),
        };
        let expires_at = object
            .remove("expires_at")
            .as_ref()
            .and_then(seconds)
            .map(from_unix_seconds)
            .ok_or_else(|| decode_error("`expires_at` is missing or not a number".into()))?;
        let refresh_in = object
            .remove("refresh_in")
            .as_ref()
            .and_then(seconds)
            .map(Duration::from_secs);
        let fields = TokenFields::parse(&secret);

        let (optional, partial) = match serde_json::from_value::<OptionalFields>(Value::Object(
            object.clone(),
        )) {
            Ok(optional) => (optional, false),
            Err(e) => {
                tracing::warn!(
                    category = ?e.classify(),
                    "the token envelope has unexpected field types; using token, expires_at and refresh_in only"
                );
                let fallback = OptionalFields {
                    extra: object,
                    ..OptionalFields::default()
                };
                (fallback, true)
            }
        };

        let base_url = resolve_copilot_base_url(
            optional.endpoints.as_ref().and_then(|e| e.api.as_deref()),
            fields.proxy_ep(),
            host,
        )?;
        Ok(CopilotToken {
            secret: SecretString::from(secret),
            expires_at,
            refresh_in,
            fetched_at,
            base_url,
            fields,
            optional,
            partial,
        })
    }

    /// The envelope as JSON again (`token`, `expires_at`, `refresh_in`, every typed and unknown field), for
    /// sharing it with other processes: [`from_json`](Self::from_json) of it, with the same `fetched_at`, gives
    /// back an equal token. It contains the token, hence the secret type.
    pub fn envelope_json(&self) -> SecretString {
        // Serialising a map of JSON values and plain options cannot fail.
        let mut object = match serde_json::to_value(&self.optional) {
            Ok(Value::Object(object)) => object,
            _ => Map::new(),
        };
        object.insert(
            "token".to_owned(),
            Value::String(self.secret.expose_secret().to_owned()),
        );
        object.insert(
            "expires_at".to_owned(),
            Value::from(copilot_http::time::unix_seconds(self.expires_at)),
        );
        if let Some(refresh_in) = self.refresh_in {
            object.insert("refresh_in".to_owned(), Value::from(refresh_in.as_secs()));
        }
        SecretString::from(Value::Object(object).to_string())
    }

    /// The token, to be sent verbatim as `Authorization: Bearer <token>`. Never log it.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The hard expiry (`expires_at`, server clock).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// How long after fetching the server wants a refresh (`refresh_in`), if it said.
    pub fn refresh_in(&self) -> Option<Duration> {
        self.refresh_in
    }

    /// When this token was received (local clock).
    pub fn fetched_at(&self) -> SystemTime {
        self.fetched_at
    }

    /// When to refresh: `min(fetched_at + refresh_in, expires_at − skew)`.
    ///
    /// `refresh_in` is measured on the local clock and `expires_at` is server time, so the earlier of the two
    /// protects against clock skew either way.
    pub fn refresh_at(&self, skew: Duration) -> SystemTime {
        let by_expiry = self
            .expires_at
            .checked_sub(skew)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match self.refresh_in {
            Some(refresh_in) => by_expiry.min(copilot_http::time::saturating_add(
                self.fetched_at,
                refresh_in,
            )),
            None => by_expiry,
        }
    }

    /// The Copilot API base URL to use with this token: `endpoints.api`, else derived from `proxy-ep`, else the
    /// host's default. Already checked with [`GitHubHost::is_trusted_copilot_api`].
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The advertised endpoints (absent in old envelopes).
    pub fn endpoints(&self) -> Option<&Endpoints> {
        self.optional.endpoints.as_ref()
    }

    /// The SKU (`sku` of the envelope, else the token's `sku` field), e.g. `copilot_for_business_seat_quota`.
    pub fn sku(&self) -> Option<&str> {
        self.optional.sku.as_deref().or_else(|| self.fields.sku())
    }

    /// The `k=v` fields of the token string.
    pub fn fields(&self) -> &TokenFields {
        &self.fields
    }

    /// `chat_enabled`.
    pub fn chat_enabled(&self) -> Option<bool> {
        self.optional.chat_enabled
    }

    /// `organization_list`.
    pub fn organization_list(&self) -> Option<&[String]> {
        self.optional.organization_list.as_deref()
    }

    /// `user_notification`.
    pub fn user_notification(&self) -> Option<&UserNotification> {
        self.optional.user_notification.as_ref()
    }

    /// `limited_user_quotas` (Copilot Free).
    pub fn limited_user_quotas(&self) -> Option<&LimitedUserQuotas> {
        self.optional.limited_user_quotas.as_ref()
    }

    /// Every other envelope field (feature flags, `tracking_id`, `individual`, …) as sent.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.optional.extra
    }

    /// Whether the optional fields could not be decoded and only `token`, `expires_at` and `refresh_in` were
    /// used (everything else is then in [`extra`](Self::extra)).
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Whether the hard expiry has passed at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }
}

impl fmt::Debug for CopilotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopilotToken")
            .field("secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("refresh_in", &self.refresh_in)
            .field("fetched_at", &self.fetched_at)
            .field("base_url", &self.base_url.as_str())
            .field("endpoints", &self.optional.endpoints)
            .field("sku", &self.sku())
            .field("fields", &self.fields)
            .field("chat_enabled", &self.optional.chat_enabled)
            .field(
                "extra_keys",
                &self.optional.extra.keys().collect::<Vec<_>>(),
            )
            .field("partial", &self.partial)
            .finish_non_exhaustive()
    }
}

/// Non-negative whole seconds from a JSON number (integer or float).
pub(crate) fn seconds(value: &Value) -> Option<u64> {
    if let Some(secs) = value.as_u64() {
        return Some(secs);
    }
    let secs = value.as_f64()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs as u64)
}

/// Resolves the Copilot API base URL: `advertised_api` (an envelope's `endpoints.api`), else
/// `https://api.X` derived from a `proxy-ep` of `proxy.X` (or `copilot-api.X` from `copilot-proxy.X`), else the
/// host's default Copilot API URL. Never from an account-type flag.
///
/// An advertised or derived URL that [`GitHubHost::is_trusted_copilot_api`] refuses is an
/// [`UntrustedEndpoint`](TokenError::UntrustedEndpoint) error: a poisoned envelope must not receive a token.
pub fn resolve_copilot_base_url(
    advertised_api: Option<&str>,
    proxy_ep: Option<&str>,
    host: &GitHubHost,
) -> Result<Url, TokenError> {
    let candidate = match (advertised_api, proxy_ep.and_then(api_from_proxy_ep)) {
        (Some(api), _) => api.trim().to_owned(),
        (None, Some(derived)) => derived,
        (None, None) => return Ok(host.copilot_api_url().clone()),
    };
    let untrusted = || TokenError::UntrustedEndpoint {
        url: copilot_http::RedactedUrl::text(&candidate).to_string(),
    };
    let url = Url::parse(&candidate).map_err(|_| untrusted())?;
    if !host.is_trusted_copilot_api(&url) {
        return Err(untrusted());
    }
    Ok(url)
}

fn api_from_proxy_ep(proxy_ep: &str) -> Option<String> {
    let proxy_ep = proxy_ep.trim();
    if let Some(rest) = proxy_ep.strip_prefix("copilot-proxy.") {
        return Some(format!("https://copilot-api.{rest}"));
    }
    proxy_ep
        .strip_prefix("proxy.")
        .map(|rest| format!("https://api.{rest}"))
}
