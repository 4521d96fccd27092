//! Hand-written `Deserialize` for the chat types a non-streamed answer is made of ([`ChatResponse`],
//! [`Choice`], [`Message`], [`Content`], [`Usage`] and its details).
//!
//! Why not the derive: these types keep unknown fields in `extra` maps, and the derive's
//! `#[serde(flatten)]` (and `#[serde(untagged)]` for [`Content`]) buffers the input in a generic tree and
//! decodes it twice; see [`crate::wire::fields`]. The rules are the derive's: absent fields take their
//! defaults (`role` defaults to `assistant`), `null` `choices`/`tool_calls` read as empty, `message` is
//! required in a choice.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::chat::{
    ChatResponse, Choice, CompletionTokensDetails, Content, ContentPart, FinishReason,
    FunctionCall, Message, PromptTokensDetails, Role, ToolCall, Usage,
};
use crate::wire::extra::Extra;
use crate::wire::fields::{self, Fields, once};

impl<'de> Deserialize<'de> for ChatResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, ChatResponseFields>(deserializer)
    }
}

#[derive(Default)]
struct ChatResponseFields {
    id: Option<String>,
    model: Option<Option<String>>,
    created: Option<Option<u64>>,
    choices: Option<Option<Vec<Choice>>>,
    usage: Option<Option<Usage>>,
}

impl<'de> Fields<'de> for ChatResponseFields {
    type Target = ChatResponse;
    const EXPECTING: &'static str = "struct ChatResponse";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "id" => once(&mut self.id, "id", map),
            "model" => once(&mut self.model, "model", map),
            "created" => once(&mut self.created, "created", map),
            "choices" => once(&mut self.choices, "choices", map),
            "usage" => once(&mut self.usage, "usage", map),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<ChatResponse, E> {
        Ok(ChatResponse {
            id: self.id.unwrap_or_default(),
            model: self.model.flatten(),
            created: self.created.flatten(),
            choices: self.choices.flatten().unwrap_or_default(),
            usage: self.usage.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for Choice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, ChoiceFields>(deserializer)
    }
}

#[derive(Default)]
struct ChoiceFields {
    index: Option<u32>,
    message: Option<Message>,
    finish_reason: Option<Option<FinishReason>>,
}

impl<'de> Fields<'de> for ChoiceFields {
    type Target = Choice;
    const EXPECTING: &'static str = "struct Choice";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "index" => once(&mut self.index, "index", map),
            "message" => once(&mut self.message, "message", map),
            "finish_reason" => once(&mut self.finish_reason, "finish_reason", map),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<Choice, E> {
        Ok(Choice {
            index: self.index.unwrap_or_default(),
            message: self.message.ok_or_else(|| E::missing_field("message"))?,
            finish_reason: self.finish_reason.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, MessageFields>(deserializer)
    }
}

#[derive(Default)]
struct MessageFields {
    role: Option<Role>,
    content: Option<Option<Content>>,
    name: Option<Option<String>>,
    tool_calls: Option<Option<Vec<ToolCall>>>,
    tool_call_id: Option<Option<String>>,
    reasoning_text: Option<Option<String>>,
    reasoning_opaque: Option<Option<String>>,
    function_call: Option<Option<FunctionCall>>,
}

impl<'de> Fields<'de> for MessageFields {
    type Target = Message;
    const EXPECTING: &'static str = "struct Message";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "role" => once(&mut self.role, "role", map),
            "content" => once(&mut self.content, "content", map),
            "name" => once(&mut self.name, "name", map),
            "tool_calls" => once(&mut self.tool_calls, "tool_calls", map),
            "tool_call_id" => once(&mut self.tool_call_id, "tool_call_id", map),
            "reasoning_text" => once(&mut self.reasoning_text, "reasoning_text", map),
            "reasoning_opaque" => once(&mut self.reasoning_opaque, "reasoning_opaque", map),
            "function_call" => once(&mut self.function_call, "function_call", map),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<Message, E> {
        Ok(Message {
            role: self.role.unwrap_or(Role::Assistant),
            content: self.content.flatten(),
            name: self.name.flatten(),
            tool_calls: self.tool_calls.flatten().unwrap_or_default(),
            tool_call_id: self.tool_call_id.flatten(),
            reasoning_text: self.reasoning_text.flatten(),
            reasoning_opaque: self.reasoning_opaque.flatten(),
            function_call: self.function_call.flatten(),
            extra,
        })
    }
}

/// The message the derive's `#[serde(untagged)]` gave when neither form matched; kept for callers that
/// match on it.
const CONTENT_MISMATCH: &str = "data did not match any variant of untagged enum Content";

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;

        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of content parts")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Content, E> {
                Ok(Content::Text(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Content, E> {
                Ok(Content::Text(text))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(part) = seq.next_element::<ContentPart>()? {
                    parts.push(part);
                }
                Ok(Content::Parts(parts))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Content, E> {
                Err(E::custom(CONTENT_MISMATCH))
            }

            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Content, A::Error> {
                Err(de::Error::custom(CONTENT_MISMATCH))
            }
        }

        deserializer.deserialize_any(ContentVisitor)
    }
}

impl<'de> Deserialize<'de> for Usage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, UsageFields>(deserializer)
    }
}

#[derive(Default)]
struct UsageFields {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    prompt_tokens_details: Option<Option<PromptTokensDetails>>,
    completion_tokens_details: Option<Option<CompletionTokensDetails>>,
    cache_creation_input_tokens: Option<Option<u64>>,
}

impl<'de> Fields<'de> for UsageFields {
    type Target = Usage;
    const EXPECTING: &'static str = "struct Usage";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "prompt_tokens" => once(&mut self.prompt_tokens, "prompt_tokens", map),
            "completion_tokens" => once(&mut self.completion_tokens, "completion_tokens", map),
            "total_tokens" => once(&mut self.total_tokens, "total_tokens", map),
            "prompt_tokens_details" => once(
                &mut self.prompt_tokens_details,
                "prompt_tokens_details",
                map,
            ),
            "completion_tokens_details" => once(
                &mut self.completion_tokens_details,
                "completion_tokens_details",
                map,
            ),
            "cache_creation_input_tokens" => once(
                &mut self.cache_creation_input_tokens,
                "cache_creation_input_tokens",
                map,
            ),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<Usage, E> {
        Ok(Usage {
            prompt_tokens: self.prompt_tokens.unwrap_or_default(),
            completion_tokens: self.completion_tokens.unwrap_or_default(),
            total_tokens: self.total_tokens.unwrap_or_default(),
            prompt_tokens_details: self.prompt_tokens_details.flatten(),
            completion_tokens_details: self.completion_tokens_details.flatten(),
            cache_creation_input_tokens: self.cache_creation_input_tokens.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for PromptTokensDetails {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, PromptTokensDetailsFields>(deserializer)
    }
}

#[derive(Default)]
struct PromptTokensDetailsFields {
    cached_tokens: Option<Option<u64>>,
}

impl<'de> Fields<'de> for PromptTokensDetailsFields {
    type Target = PromptTokensDetails;
    const EXPECTING: &'static str = "struct PromptTokensDetails";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "cached_tokens" => once(&mut self.cached_tokens, "cached_tokens", map),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<PromptTokensDetails, E> {
        Ok(PromptTokensDetails {
            cached_tokens: self.cached_tokens.flatten(),
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for CompletionTokensDetails {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fields::deserialize::<D, CompletionTokensDetailsFields>(deserializer)
    }
}

#[derive(Default)]
struct CompletionTokensDetailsFields {
    reasoning_tokens: Option<Option<u64>>,
    accepted_prediction_tokens: Option<Option<u64>>,
    rejected_prediction_tokens: Option<Option<u64>>,
}

impl<'de> Fields<'de> for CompletionTokensDetailsFields {
    type Target = CompletionTokensDetails;
    const EXPECTING: &'static str = "struct CompletionTokensDetails";

    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "reasoning_tokens" => once(&mut self.reasoning_tokens, "reasoning_tokens", map),
            "accepted_prediction_tokens" => once(
                &mut self.accepted_prediction_tokens,
                "accepted_prediction_tokens",
                map,
            ),
            "rejected_prediction_tokens" => once(
                &mut self.rejected_prediction_tokens,
                "rejected_prediction_tokens",
                map,
            ),
            _ => Ok(false),
        }
    }

    fn finish<E: de::Error>(self, extra: Extra) -> Result<CompletionTokensDetails, E> {
        Ok(CompletionTokensDetails {
            reasoning_tokens: self.reasoning_tokens.flatten(),
            accepted_prediction_tokens: self.accepted_prediction_tokens.flatten(),
            rejected_prediction_tokens: self.rejected_prediction_tokens.flatten(),
            extra,
        })
    }
}
