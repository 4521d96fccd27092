//! The Auto model: `POST {api}/models/session` hands out a session whose turns Copilot routes (and
//! discounts). `docs/protocol.md` §9.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use copilot_http::sensitive::constant_time_eq;
use http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The header that carries an Auto-model session token on the session's turns.
pub const COPILOT_SESSION_TOKEN: HeaderName = HeaderName::from_static("copilot-session-token");

/// The model id that asks for the Auto model (`SessionConfig::model("auto")` in copilot-sdk).
pub const AUTO_MODEL: &str = "auto";

/// An Auto-model session token: a credential for the session's turns (redacted in `Debug`, compared in
/// constant time, sent as a sensitive header).
#[derive(Clone)]
pub struct AutoSessionToken(SecretString);

impl AutoSessionToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        AutoSessionToken(SecretString::from(token.into()))
    }

    /// The token itself.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AutoSessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AutoSessionToken(<redacted>)")
    }
}

impl PartialEq for AutoSessionToken {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.expose_secret(), other.expose_secret())
    }
}

impl<'de> Deserialize<'de> for AutoSessionToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(AutoSessionToken::new)
    }
}

/// The answer of `POST {api}/models/session`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AutoModelSession {
    /// The models the session may use, best first.
    #[serde(default, deserialize_with = "lenient_list")]
    pub available_models: Vec<String>,
    /// The model Copilot selected, when it says.
    #[serde(default, deserialize_with = "lenient_string")]
    pub selected_model: Option<String>,
    /// The token the session's turns send in [`COPILOT_SESSION_TOKEN`].
    pub session_token: AutoSessionToken,
    /// When the token expires (sent as unix seconds; an unreadable value counts as already expired).
    #[serde(default, deserialize_with = "unix_seconds")]
    pub expires_at: Option<SystemTime>,
    /// The discount per model (a fraction: `0.1` is 10 % off), when sent.
    #[serde(default, deserialize_with = "lenient_discounts")]
    pub discounted_costs: BTreeMap<String, f64>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AutoModelSession {
    /// Whether the token should be replaced at `now`: it expires within `margin` (or its expiry is unknown).
    pub fn expires_within(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at
            .is_none_or(|at| at.duration_since(now).map_or(true, |left| left <= margin))
    }
}

fn lenient_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) if !text.is_empty() => Some(text),
        _ => None,
    })
}

fn lenient_discounts<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, f64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(model, value)| Some((model, value.as_f64().filter(|d| d.is_finite())?)))
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// Unix seconds (integer or float) to a time, saturating far-future values at the latest time the platform
/// holds; anything else (negative, not a number) is `None`.
fn unix_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SystemTime>, D::Error> {
    let seconds = match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    Ok(seconds.map(copilot_http::time::from_unix_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_fields_decode_leniently_and_the_token_never_shows() {
        let session: AutoModelSession = serde_json::from_str(
            r#"{"available_models":["gpt-4.1",7,"claude-sonnet-4.5"],"selected_model":"",
                "session_token":"acs_secret","expires_at":1e300,"discounted_costs":{"a":0.1,"b":"x"},
                "brand_new":true}"#,
        )
        .unwrap();
        assert_eq!(session.available_models, ["gpt-4.1", "claude-sonnet-4.5"]);
        assert_eq!(session.selected_model, None);
        assert!(session.expires_at.is_some(), "saturated, not an error");
        assert_eq!(session.discounted_costs.len(), 1);
        assert_eq!(session.extra["brand_new"], true);
        assert!(!format!("{session:?}").contains("acs_secret"));
        let expired: AutoModelSession =
            serde_json::from_str(r#"{"session_token":"t","expires_at":-5}"#).unwrap();
        assert!(expired.expires_within(SystemTime::now(), Duration::ZERO));
    }
}
