//! `GET {rest}/copilot_internal/user`: who the user is, their plan, endpoints and quota.
//!
//! Every field is optional and decoded on its own, so a field whose type changes on the server becomes `None`
//! instead of failing the whole answer; unknown fields are kept in `extra`.

use std::fmt;

use copilot_http::GitHubHost;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use url::Url;

use crate::TokenError;
use crate::token::{Endpoints, resolve_copilot_base_url};

/// Deserializes a field leniently: a value of an unexpected type becomes `None` instead of failing the whole
/// document.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// The Copilot plan (`copilot_plan`). Open set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopilotPlan {
    /// `free`.
    Free,
    /// `individual`.
    Individual,
    /// `individual_pro`.
    IndividualPro,
    /// `business`.
    Business,
    /// `enterprise`.
    Enterprise,
    /// A plan this crate does not know yet.
    Other(String),
}

impl CopilotPlan {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            CopilotPlan::Free => "free",
            CopilotPlan::Individual => "individual",
            CopilotPlan::IndividualPro => "individual_pro",
            CopilotPlan::Business => "business",
            CopilotPlan::Enterprise => "enterprise",
            CopilotPlan::Other(other) => other,
        }
    }
}

impl From<&str> for CopilotPlan {
    fn from(value: &str) -> Self {
        match value {
            "free" => CopilotPlan::Free,
            "individual" => CopilotPlan::Individual,
            "individual_pro" => CopilotPlan::IndividualPro,
            "business" => CopilotPlan::Business,
            "enterprise" => CopilotPlan::Enterprise,
            other => CopilotPlan::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for CopilotPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CopilotPlan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Ok(CopilotPlan::from(value.as_str()))
    }
}

/// An organization that grants Copilot (`organization_list[]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Organization {
    /// The organization's login.
    #[serde(default, deserialize_with = "lenient")]
    pub login: Option<String>,
    /// Its display name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Fields this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One quota counter (`quota_snapshots.chat`, `.completions`, `.premium_interactions`).
///
/// `remaining` and `percent_remaining` can be negative (overage). Since 2026-06 `premium_interactions` counts
/// AI credits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QuotaSnapshot {
    /// The allowance for the period.
    #[serde(default, deserialize_with = "lenient")]
    pub entitlement: Option<f64>,
    /// What is left (may be negative).
    #[serde(default, deserialize_with = "lenient")]
    pub remaining: Option<f64>,
    /// What is left, as reported in `quota_remaining`.
    #[serde(default, deserialize_with = "lenient")]
    pub quota_remaining: Option<f64>,
    /// What is left in percent (may be negative).
    #[serde(default, deserialize_with = "lenient")]
    pub percent_remaining: Option<f64>,
    /// Whether the counter is unlimited.
    #[serde(default, deserialize_with = "lenient")]
    pub unlimited: Option<bool>,
    /// How far usage went past the allowance.
    #[serde(default, deserialize_with = "lenient")]
    pub overage_count: Option<f64>,
    /// Whether usage past the allowance is allowed.
    #[serde(default, deserialize_with = "lenient")]
    pub overage_permitted: Option<bool>,
    /// The quota's id.
    #[serde(default, deserialize_with = "lenient")]
    pub quota_id: Option<String>,
    /// Whether the account has this quota at all.
    #[serde(default, deserialize_with = "lenient")]
    pub has_quota: Option<bool>,
    /// When the counter resets (as sent).
    pub quota_reset_at: Option<Value>,
    /// When the snapshot was taken (as sent).
    #[serde(default, deserialize_with = "lenient")]
    pub timestamp_utc: Option<String>,
    /// AI credits used this period, when the server reports it (usage-based billing).
    #[serde(default, deserialize_with = "lenient")]
    pub credits_used: Option<f64>,
    /// How much usage past the allowance is allowed, when reported.
    #[serde(default, deserialize_with = "lenient")]
    pub overage_entitlement: Option<f64>,
    /// Fields this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl QuotaSnapshot {
    /// What was used this period: `credits_used` when the server sends it, else `entitlement - remaining`
    /// (more than the entitlement in overage). `None` for an unlimited counter or when neither is known.
    pub fn used(&self) -> Option<f64> {
        if self.unlimited == Some(true) {
            return None;
        }
        self.credits_used
            .or_else(|| Some(self.entitlement? - self.remaining?))
            .filter(|used| used.is_finite())
    }
}

/// `token_based_billing`: whether the account is billed by tokens (AI credits) rather than by requests.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokenBasedBilling {
    /// Whether token-based billing is on.
    #[serde(default, deserialize_with = "lenient")]
    pub enabled: Option<bool>,
    /// Fields this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `quota_snapshots`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct QuotaSnapshots {
    /// Chat messages.
    #[serde(default, deserialize_with = "lenient")]
    pub chat: Option<QuotaSnapshot>,
    /// Code completions.
    #[serde(default, deserialize_with = "lenient")]
    pub completions: Option<QuotaSnapshot>,
    /// Premium requests / AI credits.
    #[serde(default, deserialize_with = "lenient")]
    pub premium_interactions: Option<QuotaSnapshot>,
    /// Counters this crate does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer of `GET {rest}/copilot_internal/user`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CopilotUserInfo {
    /// The GitHub login.
    #[serde(default, deserialize_with = "lenient")]
    pub login: Option<String>,
    /// The access SKU, e.g. `free_limited_copilot`.
    #[serde(default, deserialize_with = "lenient")]
    pub access_type_sku: Option<String>,
    /// The plan.
    #[serde(default, deserialize_with = "lenient")]
    pub copilot_plan: Option<CopilotPlan>,
    /// Whether chat is enabled.
    #[serde(default, deserialize_with = "lenient")]
    pub chat_enabled: Option<bool>,
    /// Whether the user could enable Copilot Free.
    #[serde(default, deserialize_with = "lenient")]
    pub can_signup_for_limited: Option<bool>,
    /// An analytics id.
    #[serde(default, deserialize_with = "lenient")]
    pub analytics_tracking_id: Option<String>,
    /// When the seat was assigned (as sent).
    #[serde(default, deserialize_with = "lenient")]
    pub assigned_date: Option<String>,
    /// The advertised endpoints. Note: `endpoints.api` here may differ from the exchange's (org-entitled
    /// Enterprise seats); use it only for direct mode, never with an exchanged token.
    #[serde(default, deserialize_with = "lenient")]
    pub endpoints: Option<Endpoints>,
    /// Logins of the organizations granting Copilot.
    #[serde(default, deserialize_with = "lenient")]
    pub organization_login_list: Option<Vec<String>>,
    /// Organizations granting Copilot.
    #[serde(default, deserialize_with = "lenient")]
    pub organization_list: Option<Vec<Organization>>,
    /// When quotas reset (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "lenient")]
    pub quota_reset_date: Option<String>,
    /// When quotas reset (UTC timestamp, as sent).
    #[serde(default, deserialize_with = "lenient")]
    pub quota_reset_date_utc: Option<String>,
    /// Quota counters.
    #[serde(default, deserialize_with = "lenient")]
    pub quota_snapshots: Option<QuotaSnapshots>,
    /// Whether usage is billed by tokens (AI credits).
    #[serde(default, deserialize_with = "lenient")]
    pub token_based_billing: Option<TokenBasedBilling>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CopilotUserInfo {
    /// Decodes a `copilot_internal/user` body.
    pub fn from_json(body: &[u8]) -> Result<Self, TokenError> {
        serde_json::from_slice(body).map_err(|e| TokenError::Decode {
            what: "copilot_internal/user response",
            message: copilot_http::redact::json_error(&e),
        })
    }

    /// The Copilot API base URL for direct mode: `endpoints.api` (checked with
    /// [`GitHubHost::is_trusted_copilot_api`]) or the host's default.
    pub fn direct_base_url(&self, host: &GitHubHost) -> Result<Url, TokenError> {
        resolve_copilot_base_url(
            self.endpoints.as_ref().and_then(|e| e.api.as_deref()),
            None,
            host,
        )
    }
}
