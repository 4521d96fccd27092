//! `GET {api}/models` types, resilient list decoding and endpoint routing (`docs/protocol.md` §9).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::chat::ReasoningEffort;
use crate::wire::open_enum::open_enum;

open_enum! {
    /// A model vendor (open set).
    pub enum Vendor {
        /// `OpenAI`.
        OpenAi => "OpenAI",
        /// `Azure OpenAI`.
        AzureOpenAi => "Azure OpenAI",
        /// `Anthropic`.
        Anthropic => "Anthropic",
        /// `Google`.
        Google => "Google",
        /// `xAI`.
        XAi => "xAI",
        /// `Microsoft`.
        Microsoft => "Microsoft",
        /// `Fireworks`.
        Fireworks => "Fireworks",
    }
}

open_enum! {
    /// An API endpoint a model supports (open set).
    pub enum ApiEndpoint {
        /// `/chat/completions`.
        ChatCompletions => "/chat/completions",
        /// `/responses`.
        Responses => "/responses",
        /// `ws:/responses` (WebSocket responses).
        WsResponses => "ws:/responses",
        /// `/v1/messages` (native Anthropic).
        Messages => "/v1/messages",
    }
}

open_enum! {
    /// `capabilities.type`.
    pub enum ModelType {
        /// A chat model.
        Chat => "chat",
        /// An embeddings model.
        Embeddings => "embeddings",
        /// A completion model.
        Completion => "completion",
    }
}

open_enum! {
    /// `policy.state`.
    pub enum PolicyState {
        /// Usable.
        Enabled => "enabled",
        /// Disabled (by an admin, or declined).
        Disabled => "disabled",
        /// Not configured yet: terms must be accepted.
        Unconfigured => "unconfigured",
        /// Pending.
        Pending => "pending",
        /// Requires consent.
        RequiresConsent => "requires_consent",
    }
}

open_enum! {
    /// `model_picker_category`.
    pub enum PickerCategory {
        /// Fast and cheap.
        Lightweight => "lightweight",
        /// General purpose.
        Versatile => "versatile",
        /// Most capable.
        Powerful => "powerful",
    }
}

/// Which endpoint to use to chat with a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatRoute {
    /// `/chat/completions` (listed, or the legacy assumption when `supported_endpoints` is absent).
    ChatCompletions,
    /// `/responses`: the model is responses-only; chat would give 400 `unsupported_api_for_model`.
    Responses,
    /// Only native Anthropic `/v1/messages` is listed.
    Messages,
    /// The model cannot chat (an embeddings model, or no known endpoint).
    Unsupported,
}

/// One entry of the models list. Unknown fields land in `extra`; enums keep unknown values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The id to put in requests.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Always `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<Vendor>,
    /// Preview model.
    #[serde(default)]
    pub preview: bool,
    /// A UI hint only: hidden (`false`) models are still callable.
    #[serde(default)]
    pub model_picker_enabled: bool,
    /// UI category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_picker_category: Option<PickerCategory>,
    /// The default chat model.
    #[serde(default)]
    pub is_chat_default: bool,
    /// The fallback chat model.
    #[serde(default)]
    pub is_chat_fallback: bool,
    /// Supported endpoints; `None` for legacy entries (assume chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_endpoints: Option<Vec<ApiEndpoint>>,
    /// Terms/policy; absent means usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ModelPolicy>,
    /// Billing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<ModelBilling>,
    /// Capabilities.
    #[serde(default)]
    pub capabilities: ModelCapabilities,
    /// A warning to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_message: Option<String>,
    /// Structured warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning_messages: Vec<ModelMessage>,
    /// Informational messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info_messages: Vec<ModelMessage>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `{code, message}` note on a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelMessage {
    /// Machine-readable code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Text.
    #[serde(default)]
    pub message: String,
}

/// `policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelPolicy {
    /// The state.
    pub state: PolicyState,
    /// The terms text (Markdown) to show before accepting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `billing`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelBilling {
    /// Consumes premium requests / AI credits.
    #[serde(default)]
    pub is_premium: bool,
    /// Premium request multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    /// Plans that may use the model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restricted_to: Vec<String>,
    /// A running promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo: Option<Promo>,
    /// Token prices, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_prices: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `billing.promo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Promo {
    /// Discount in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<f64>,
    /// RFC 3339 end time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// Promo id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `capabilities`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelCapabilities {
    /// `chat`, `embeddings`, `completion`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ModelType>,
    /// Model family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Tokenizer name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// `model_capabilities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Limits.
    #[serde(default)]
    pub limits: ModelLimits,
    /// Feature support.
    #[serde(default)]
    pub supports: ModelSupports,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `capabilities.limits`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelLimits {
    /// Context window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context_window_tokens: Option<u64>,
    /// Prompt limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_tokens: Option<u64>,
    /// Output limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Output limit without streaming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_non_streaming_output_tokens: Option<u64>,
    /// Embeddings: inputs per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inputs: Option<u32>,
    /// Vision limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<VisionLimits>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `capabilities.limits.vision`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VisionLimits {
    /// Bytes per image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_image_size: Option<u64>,
    /// Images per prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_images: Option<u32>,
    /// MIME types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_media_types: Vec<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `capabilities.supports`. `None` means the entry did not say.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelSupports {
    /// Streaming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<bool>,
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<bool>,
    /// Parallel tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Image input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vision: Option<bool>,
    /// `response_format` json_schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_outputs: Option<bool>,
    /// Embeddings `dimensions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<bool>,
    /// Predicted outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<bool>,
    /// Thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<bool>,
    /// Adaptive thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_thinking: Option<bool>,
    /// Minimum thinking budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_thinking_budget: Option<u64>,
    /// Maximum thinking budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_thinking_budget: Option<u64>,
    /// Accepted reasoning efforts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning_effort: Vec<ReasoningEffort>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ModelInfo {
    /// Whether `endpoint` is listed. Legacy entries without `supported_endpoints` count as chat-only.
    pub fn supports_endpoint(&self, endpoint: &ApiEndpoint) -> bool {
        match &self.supported_endpoints {
            Some(list) => list.contains(endpoint),
            None => *endpoint == ApiEndpoint::ChatCompletions && !self.is_embeddings(),
        }
    }

    /// Whether this is an embeddings model.
    pub fn is_embeddings(&self) -> bool {
        self.capabilities.kind == Some(ModelType::Embeddings)
    }

    /// Which endpoint to chat through: `/chat/completions` when listed (or for legacy entries), else
    /// `/responses`, else `/v1/messages`. Never substitutes another model.
    pub fn endpoint_for_chat(&self) -> ChatRoute {
        if self.is_embeddings() {
            ChatRoute::Unsupported
        } else if self.supports_endpoint(&ApiEndpoint::ChatCompletions) {
            ChatRoute::ChatCompletions
        } else if self.supports_endpoint(&ApiEndpoint::Responses) {
            ChatRoute::Responses
        } else if self.supports_endpoint(&ApiEndpoint::Messages) {
            ChatRoute::Messages
        } else {
            ChatRoute::Unsupported
        }
    }

    /// Whether a turn can be sent to this model as it is: a chat endpoint (`/chat/completions`,
    /// `/responses`, or `/v1/messages`, which copilot-sdk sessions speak natively), the policy allows it,
    /// and it is no pseudo-model (`auto` names a choice, not a model).
    pub fn is_callable_chat(&self) -> bool {
        self.id != crate::auto_model::AUTO_MODEL
            && self.is_enabled()
            && self
                .capabilities
                .kind
                .as_ref()
                .is_none_or(|k| *k == ModelType::Chat)
            && matches!(
                self.endpoint_for_chat(),
                ChatRoute::ChatCompletions | ChatRoute::Responses | ChatRoute::Messages
            )
    }

    /// Whether the policy allows use: absent or `enabled`.
    pub fn is_enabled(&self) -> bool {
        self.policy
            .as_ref()
            .is_none_or(|p| p.state == PolicyState::Enabled)
    }

    /// Whether the user can enable the model by accepting its terms (`accept_policy`).
    pub fn needs_terms_acceptance(&self) -> bool {
        self.policy.as_ref().is_some_and(|p| {
            matches!(
                p.state,
                PolicyState::Unconfigured | PolicyState::RequiresConsent
            )
        })
    }

    /// Whether the model accepts image input.
    pub fn supports_vision(&self) -> bool {
        self.capabilities.supports.vision == Some(true)
    }
}

/// The most entries [`ModelList::from_json`] decodes; the rest are counted in [`ModelList::truncated`].
/// A real list has well under a hundred; the cap bounds the memory a hostile list can claim (each decoded
/// entry costs far more than its JSON).
pub const MAX_MODEL_ENTRIES: usize = 4096;

/// The decoded models list.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ModelList {
    /// Every entry that decoded, in server order (hidden and embedding models included), at most
    /// [`MAX_MODEL_ENTRIES`].
    pub data: Vec<ModelInfo>,
    /// How many entries were skipped because they did not decode.
    pub skipped: usize,
    /// How many entries past [`MAX_MODEL_ENTRIES`] were not decoded.
    pub truncated: usize,
}

impl ModelList {
    /// Decodes a `/models` body. Entries that fail to decode are skipped, never fatal; entries past
    /// [`MAX_MODEL_ENTRIES`] are counted, not decoded. Either logs one summary warning per list (never one
    /// per entry: a hostile list of 200,000 bad entries must not flood the log).
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            data: Entries,
        }
        let envelope: Envelope = serde_json::from_slice(body)?;
        let Entries { list, first_error } = envelope.data;
        if list.skipped > 0 || list.truncated > 0 {
            let (first_position, first_error) = first_error.unzip();
            tracing::warn!(
                skipped = list.skipped,
                truncated = list.truncated,
                kept = list.data.len(),
                first_position,
                first_error = first_error.as_deref(),
                "some models entries were not used (did not decode, or past the entry cap)"
            );
        }
        Ok(list)
    }

    /// The entry with `id`.
    pub fn get(&self, id: &str) -> Option<&ModelInfo> {
        self.data.iter().find(|m| m.id == id)
    }

    /// The default chat model, if one is flagged.
    pub fn chat_default(&self) -> Option<&ModelInfo> {
        self.data.iter().find(|m| m.is_chat_default)
    }

    /// The model to use for an Auto-model session: of `preferred` (Copilot's `selected_model` first, then
    /// its `available_models`), the first this list has as a [callable chat model](ModelInfo::is_callable_chat).
    pub fn auto_choice<'a>(
        &self,
        preferred: impl IntoIterator<Item = &'a str>,
    ) -> Option<&ModelInfo> {
        preferred
            .into_iter()
            .find_map(|id| self.get(id).filter(|m| m.is_callable_chat()))
    }

    /// The local stand-in for the Auto model when Copilot offers no session (`/models/session` answers 404
    /// to clients that are not GitHub's own): the chat default, else the first picker model, if callable.
    pub fn local_auto_choice(&self) -> Option<&ModelInfo> {
        self.chat_default()
            .filter(|m| m.is_callable_chat())
            .or_else(|| {
                self.data
                    .iter()
                    .find(|m| m.model_picker_enabled && m.is_callable_chat())
            })
    }
}

/// The `data` array, decoded entry by entry with the cap applied while reading.
#[derive(Default)]
struct Entries {
    list: ModelList,
    /// The position and complaint of the first entry that did not decode.
    first_error: Option<(usize, String)>,
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> serde::de::Visitor<'de> for EntriesVisitor {
            type Value = Entries;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of models")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Entries::default();
                let mut position = 0usize;
                loop {
                    if position >= MAX_MODEL_ENTRIES {
                        // Past the cap: skim, never build.
                        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                            entries.list.truncated += 1;
                        }
                        break;
                    }
                    let Some(raw) = seq.next_element::<&'de RawValue>()? else {
                        break;
                    };
                    match serde_json::from_str::<ModelInfo>(raw.get()) {
                        Ok(model) => entries.list.data.push(model),
                        Err(error) => {
                            entries.list.skipped += 1;
                            entries
                                .first_error
                                .get_or_insert_with(|| (position, error.to_string()));
                        }
                    }
                    position += 1;
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_seq(EntriesVisitor)
    }
}
