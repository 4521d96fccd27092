//! Which listed model a requested name means, and which Copilot endpoint serves it.
//!
//! Agents send names Copilot does not list: Anthropic's dated ids (`claude-sonnet-4-5-20250929`), dashed
//! versions (`claude-opus-4-6`), aliases (`claude-3-5-haiku-latest`) and provider prefixes
//! (`anthropic/claude-sonnet-4.5`, `openai/gpt-4.1`). Copilot answers those with 400 `model_not_supported`,
//! so the gateway maps them to the closest listed model and says so in the `x-copilot-model` response
//! header. Names it cannot place go upstream unchanged (and fail there, in the caller's dialect).

use copilot_api::{ApiEndpoint, ChatRoute, ModelInfo, ModelList};

/// The model a request will use.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The id sent upstream.
    pub(crate) id: String,
    /// The caller's name, when it differs from `id`.
    pub(crate) mapped_from: Option<String>,
    /// The models-list entry, when listed.
    pub(crate) info: Option<ModelInfo>,
}

impl Resolved {
    /// The endpoint a chat-style turn goes to (legacy or unlisted models: chat).
    pub(crate) fn chat_route(&self) -> ChatRoute {
        self.info
            .as_ref()
            .map_or(ChatRoute::ChatCompletions, ModelInfo::endpoint_for_chat)
    }

    /// Whether the model lists `/responses`.
    pub(crate) fn supports_responses(&self) -> bool {
        self.info
            .as_ref()
            .is_some_and(|m| m.supports_endpoint(&ApiEndpoint::Responses))
    }

    /// Whether the model lists native `/v1/messages`.
    pub(crate) fn supports_messages(&self) -> bool {
        self.info
            .as_ref()
            .is_some_and(|m| m.supports_endpoint(&ApiEndpoint::Messages))
    }
}

/// Resolves `requested` against `models`.
pub(crate) fn resolve(models: &ModelList, requested: &str) -> Resolved {
    if let Some(info) = models.get(requested) {
        return Resolved {
            id: requested.to_owned(),
            mapped_from: None,
            info: Some(info.clone()),
        };
    }
    match closest(models, requested) {
        Some(info) => Resolved {
            id: info.id.clone(),
            mapped_from: Some(requested.to_owned()),
            info: Some(info.clone()),
        },
        None => Resolved {
            id: requested.to_owned(),
            mapped_from: None,
            info: None,
        },
    }
}

/// The listed model closest to an unlisted name, if the name can be placed.
fn closest<'a>(models: &'a ModelList, requested: &str) -> Option<&'a ModelInfo> {
    let normalized = normalize(requested);
    if let Some(info) = models.data.iter().find(|m| m.id == normalized) {
        return Some(info);
    }
    let wanted = ClaudeName::parse(&normalized)?;
    // Same family (opus/sonnet/haiku): the newest version not above the requested one, else the oldest
    // above it.
    let mut candidates: Vec<(Vec<u32>, &ModelInfo)> = models
        .data
        .iter()
        .filter(|m| !m.is_embeddings())
        .filter_map(|m| {
            let name = ClaudeName::parse(&m.id)?;
            (name.family == wanted.family).then_some((name.version, m))
        })
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    candidates
        .iter()
        .rev()
        .find(|(version, _)| *version <= wanted.version)
        .or_else(|| candidates.first())
        .map(|(_, m)| *m)
}

/// Lower case, without a provider prefix, a date or `-latest` suffix, with Anthropic's dashed versions
/// written the way Copilot lists them (`claude-sonnet-4-5` → `claude-sonnet-4.5`).
fn normalize(name: &str) -> String {
    let mut name = name.trim().to_ascii_lowercase();
    if let Some((_, rest)) = name.rsplit_once('/') {
        name = rest.to_owned();
    }
    for suffix in ["-latest", "[1m]"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped.to_owned();
        }
    }
    // A trailing date: -20250929 or -2025-09-29.
    let parts: Vec<&str> = name.split('-').collect();
    let mut keep = parts.len();
    if keep > 1 && is_digits(parts[keep - 1], 8) {
        keep -= 1;
    } else if keep > 3
        && is_digits(parts[keep - 3], 4)
        && is_digits(parts[keep - 2], 2)
        && is_digits(parts[keep - 1], 2)
    {
        keep -= 3;
    }
    let parts = &parts[..keep];
    if parts.first().is_none_or(|p| *p != "claude") {
        return parts.join("-");
    }
    // Join single-digit version pieces with dots: claude-sonnet-4-5 → claude-sonnet-4.5,
    // claude-3-5-sonnet → claude-3.5-sonnet.
    let mut out: Vec<String> = Vec::new();
    for part in parts {
        let is_version_piece = part.len() <= 2 && part.chars().all(|c| c.is_ascii_digit());
        match out.last_mut() {
            Some(last)
                if is_version_piece
                    && last.rsplit('.').next().is_some_and(|p| {
                        !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())
                    }) =>
            {
                last.push('.');
                last.push_str(part);
            }
            _ => out.push((*part).to_owned()),
        }
    }
    out.join("-")
}

fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.chars().all(|c| c.is_ascii_digit())
}

/// A Claude model name as family + version, in either order (`claude-sonnet-4.5`, `claude-3.5-sonnet`).
struct ClaudeName {
    family: String,
    version: Vec<u32>,
}

impl ClaudeName {
    fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("claude-")?;
        let mut family = None;
        let mut version = None;
        for part in rest.split('-') {
            if part.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                if version.is_none() {
                    version = part
                        .split('.')
                        .map(|p| p.parse::<u32>().ok())
                        .collect::<Option<Vec<u32>>>();
                }
            } else if family.is_none() && matches!(part, "opus" | "sonnet" | "haiku" | "instant") {
                family = Some(part.to_owned());
            }
        }
        Some(ClaudeName {
            family: family?,
            version: version?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ids: &[&str]) -> ModelList {
        let data: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "capabilities": {"type": "chat"}}))
            .collect();
        ModelList::from_json(serde_json::json!({ "data": data }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn agent_model_names_map_to_listed_models() {
        let models = list(&[
            "claude-sonnet-4.5",
            "claude-opus-4.6",
            "claude-haiku-4.5",
            "claude-3.5-sonnet",
            "gpt-4.1",
        ]);
        let cases = [
            // Claude Code's default and background models.
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4.5"),
            ("claude-haiku-4-5-20251001", "claude-haiku-4.5"),
            ("claude-opus-4-6", "claude-opus-4.6"),
            ("claude-3-5-sonnet-latest", "claude-3.5-sonnet"),
            ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5"),
            ("openai/gpt-4.1", "gpt-4.1"),
            // Not listed: the same family's newest version not above the requested one.
            ("claude-sonnet-4-6", "claude-sonnet-4.5"),
            ("claude-opus-4-1-20250805", "claude-opus-4.6"),
        ];
        for (requested, expected) in cases {
            let resolved = resolve(&models, requested);
            assert_eq!(resolved.id, expected, "{requested}");
            assert_eq!(resolved.mapped_from.as_deref(), Some(requested));
        }
        let exact = resolve(&models, "gpt-4.1");
        assert!(exact.mapped_from.is_none());
        let unknown = resolve(&models, "mystery-model");
        assert_eq!(unknown.id, "mystery-model");
        assert!(unknown.info.is_none() && unknown.mapped_from.is_none());
    }
}
