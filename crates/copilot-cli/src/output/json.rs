//! The `--json` shapes. Field names and types are a stable interface for scripts: add fields, never
//! rename or remove them.

use serde::Serialize;

/// `chat --json`: exactly one object, printed when the answer is complete.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatJson {
    /// The model that answered.
    pub model: String,
    /// The answer text.
    pub content: String,
    /// Readable reasoning, if the model sent any.
    pub reasoning: Option<String>,
    /// Tool calls the model asked for.
    pub tool_calls: Vec<ToolCallJson>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, …).
    pub finish_reason: Option<String>,
    /// Token usage, when reported.
    pub usage: Option<UsageJson>,
    /// Copilot's cost of the turn in nano-AIU (1e9 = 1 AI credit), when reported.
    pub cost_nano_aiu: Option<u64>,
    /// The same cost in AI credits.
    pub ai_credits: Option<f64>,
}

/// One tool call in [`ChatJson`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ToolCallJson {
    /// The call id.
    pub id: String,
    /// The tool name.
    pub name: String,
    /// The arguments as the model sent them (a JSON document in a string).
    pub arguments: String,
}

/// Token usage in [`ChatJson`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct UsageJson {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
}

impl From<&copilot_api::Usage> for UsageJson {
    fn from(usage: &copilot_api::Usage) -> Self {
        UsageJson {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
        }
    }
}

/// `auth status --json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatusJson {
    /// The GitHub host key, e.g. `github.com`.
    pub host: String,
    /// Whether a credential was found and accepted.
    pub logged_in: bool,
    /// The GitHub login, when known.
    pub login: Option<String>,
    /// The token kind by prefix: `gho`, `ghu`, `github_pat`, `ghs`, `unknown` (`null` for a pre-exchanged
    /// Copilot token).
    pub token_kind: Option<String>,
    /// Where the credential came from: `store`, `env:GH_TOKEN`, `explicit`, `editor`, …
    pub source: Option<String>,
    /// `exchange` or `direct`.
    pub auth_mode: Option<String>,
    /// The Copilot plan (`individual`, `business`, …).
    pub plan: Option<String>,
    /// The Copilot sku from the Copilot token (`copilot_individual`, …).
    pub sku: Option<String>,
    /// The Copilot API base URL in use.
    pub api_endpoint: Option<String>,
    /// When the Copilot token expires, RFC 3339 UTC.
    pub copilot_token_expires_at: Option<String>,
    /// AI credits used this period (`quota_snapshots.premium_interactions`), when known.
    pub ai_credits_used: Option<f64>,
    /// The period's AI-credit allowance, when known (`null` when unlimited).
    pub ai_credits_entitlement: Option<f64>,
    /// AI credits left (negative in overage), when known.
    pub ai_credits_remaining: Option<f64>,
    /// When quotas reset (`YYYY-MM-DD`), when known.
    pub quota_reset_date: Option<String>,
}
