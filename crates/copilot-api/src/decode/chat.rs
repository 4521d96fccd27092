//! `/chat/completions` chunks → [`ChatEvent`]s, with every quirk of protocol.md §7.
//!
//! The wire structs borrow from the event data and name only the fields we use: serde skips the rest
//! (content-filter blobs and friends) without building values. The few extras kept raw are `&RawValue`
//! slices, copied only when present.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{DecodeState, EventQueue, Key, Str};
use crate::chat::{FinishReason, Usage};
use crate::event::{ChatEvent, ReasoningKind, ToolCallDelta};

/// A chunk. Hand-written (with [`ChunkSeed`]) so the common content chunk builds a small value: rare
/// top-level fields live in a box allocated only when present, and `id`/`created` are skipped unparsed once
/// the response id is known (they repeat on every chunk).
struct WireChunk<'a> {
    id: Str<'a>,
    model: Str<'a>,
    created: Option<u64>,
    choices: Option<Vec<WireChoice<'a>>>,
    rare: Option<Box<RareChunk<'a>>>,
}

#[derive(Default)]
struct RareChunk<'a> {
    usage: Option<Usage>,
    error: Option<&'a RawValue>,
    copilot_references: Option<&'a RawValue>,
    copilot_confirmation: Option<&'a RawValue>,
    copilot_errors: Option<&'a RawValue>,
    copilot_usage: Option<&'a RawValue>,
    prompt_filter_results: Option<&'a RawValue>,
}

/// Decodes a [`WireChunk`], skipping `id`/`created` when the id is already known.
struct ChunkSeed {
    id_known: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for ChunkSeed {
    type Value = WireChunk<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ChunkSeed {
    type Value = WireChunk<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a chat completion chunk")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        use serde::de::IgnoredAny;
        let mut chunk = WireChunk {
            id: Str(None),
            model: Str(None),
            created: None,
            choices: None,
            rare: None,
        };
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "choices" => chunk.choices = map.next_value()?,
                "id" | "created" if self.id_known => {
                    map.next_value::<IgnoredAny>()?;
                }
                "id" => chunk.id = map.next_value()?,
                "created" => chunk.created = map.next_value()?,
                "model" => chunk.model = map.next_value()?,
                other => {
                    let rare = || Box::<RareChunk<'de>>::default();
                    match other {
                        "usage" => chunk.rare.get_or_insert_with(rare).usage = map.next_value()?,
                        "error" => chunk.rare.get_or_insert_with(rare).error = map.next_value()?,
                        "copilot_references" => {
                            chunk.rare.get_or_insert_with(rare).copilot_references =
                                map.next_value()?
                        }
                        "copilot_confirmation" => {
                            chunk.rare.get_or_insert_with(rare).copilot_confirmation =
                                map.next_value()?
                        }
                        "copilot_errors" => {
                            chunk.rare.get_or_insert_with(rare).copilot_errors = map.next_value()?
                        }
                        "copilot_usage" => {
                            chunk.rare.get_or_insert_with(rare).copilot_usage = map.next_value()?
                        }
                        "prompt_filter_results" => {
                            chunk.rare.get_or_insert_with(rare).prompt_filter_results =
                                map.next_value()?
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
            }
        }
        Ok(chunk)
    }
}

fn parse_chunk(data: &[u8], id_known: bool) -> Result<WireChunk<'_>, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    let chunk = ChunkSeed { id_known }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(chunk)
}

struct WireChoice<'a> {
    index: u32,
    delta: Option<WireDelta<'a>>,
    finish_reason: Str<'a>,
    annotations: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for WireChoice<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;
        impl<'de> serde::de::Visitor<'de> for ChoiceVisitor {
            type Value = WireChoice<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a choice object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut choice = WireChoice {
                    index: 0,
                    delta: None,
                    finish_reason: Str(None),
                    annotations: None,
                };
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match &*key.0 {
                        "index" => choice.index = map.next_value::<Option<u32>>()?.unwrap_or(0),
                        "delta" => choice.delta = map.next_value()?,
                        "finish_reason" => choice.finish_reason = map.next_value()?,
                        "annotations" => choice.annotations = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(choice)
            }
        }
        deserializer.deserialize_map(ChoiceVisitor)
    }
}

/// A delta. Hand-written so the common case (only `content`, `role`) builds a 32-byte value: the rarer fields
/// live in a box allocated only when one of them appears (moving big structs around was measurable).
#[derive(Default)]
struct WireDelta<'a> {
    content: Option<String>,
    rare: Option<Box<RareDelta<'a>>>,
}

#[derive(Default)]
struct RareDelta<'a> {
    reasoning_text: Str<'a>,
    reasoning_content: Str<'a>,
    reasoning: Option<&'a RawValue>,
    thinking: Option<&'a RawValue>,
    reasoning_opaque: Str<'a>,
    signature: Str<'a>,
    cot_summary: Str<'a>,
    cot_id: Str<'a>,
    tool_calls: Option<Vec<WireToolCall<'a>>>,
    function_call: Option<WireFunction<'a>>,
    copilot_annotations: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for WireDelta<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DeltaVisitor;
        impl<'de> serde::de::Visitor<'de> for DeltaVisitor {
            type Value = WireDelta<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a delta object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut content = None;
                let mut rare: Option<Box<RareDelta<'de>>> = None;
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let key = &*key.0;
                    match key {
                        "content" => content = map.next_value()?,
                        "role" => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        _ => {
                            let r = rare.get_or_insert_with(Box::default);
                            match key {
                                "reasoning_text" => r.reasoning_text = map.next_value()?,
                                "reasoning_content" => r.reasoning_content = map.next_value()?,
                                "reasoning" => r.reasoning = map.next_value()?,
                                "thinking" => r.thinking = map.next_value()?,
                                "reasoning_opaque" => r.reasoning_opaque = map.next_value()?,
                                "signature" => r.signature = map.next_value()?,
                                "cot_summary" => r.cot_summary = map.next_value()?,
                                "cot_id" => r.cot_id = map.next_value()?,
                                "tool_calls" => r.tool_calls = map.next_value()?,
                                "function_call" => r.function_call = map.next_value()?,
                                "copilot_annotations" => {
                                    r.copilot_annotations = map.next_value()?
                                }
                                _ => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                    }
                }
                Ok(WireDelta { content, rare })
            }
        }
        deserializer.deserialize_map(DeltaVisitor)
    }
}

#[derive(Deserialize)]
struct WireToolCall<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    id: Str<'a>,
    #[serde(borrow, default)]
    function: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireFunction<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    #[serde(borrow, default)]
    arguments: Str<'a>,
    #[serde(borrow, default)]
    thought_signature: Str<'a>,
}

/// Per-stream state of the chat mapping.
#[derive(Debug, Default)]
pub(crate) struct ChatMapper {
    /// The last emitted (id, model), to emit `Meta` only when they change.
    meta: Option<(String, Option<String>)>,
}

fn extra(out: &mut EventQueue, choice: Option<u32>, name: &str, value: Option<&RawValue>) {
    if let Some(value) = value
        && value.get() != "null"
    {
        out.push_back(Ok(ChatEvent::Extra {
            choice,
            name: name.to_owned(),
            value: value.to_owned(),
        }));
    }
}

/// `reasoning` / `thinking` are strings in the clients that send them; anything else is kept as an extra.
fn loose_reasoning(out: &mut EventQueue, choice: u32, name: &str, value: Option<&RawValue>) {
    let Some(value) = value else { return };
    match serde_json::from_str::<Option<String>>(value.get()) {
        Ok(Some(text)) if !text.is_empty() => out.push_back(Ok(ChatEvent::Reasoning {
            choice,
            kind: ReasoningKind::Text,
            text,
        })),
        Ok(_) => {}
        Err(_) => extra(out, Some(choice), name, Some(value)),
    }
}

fn reasoning(out: &mut EventQueue, choice: u32, kind: ReasoningKind, value: Str<'_>) {
    if let Some(text) = value.non_empty() {
        out.push_back(Ok(ChatEvent::Reasoning { choice, kind, text }));
    }
}

impl ChatMapper {
    pub fn on_data(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        state: &mut DecodeState,
        out: &mut EventQueue,
    ) {
        if event == Some("error") {
            state.stream_error(super::parse_error_data(data), out);
            return;
        }
        let id_known = self.meta.as_ref().is_some_and(|(id, _)| !id.is_empty());
        let chunk = match parse_chunk(data, id_known) {
            Ok(chunk) => chunk,
            Err(error) => {
                state.malformed(&error, data, out);
                return;
            }
        };
        if let Some(rare) = chunk.rare.as_deref()
            && let Some(error) = rare.error
            && chunk.choices.as_ref().is_none_or(Vec::is_empty)
            && error.get() != "null"
        {
            state.stream_error(super::parse_error_data(data), out);
            return;
        }
        self.meta(chunk.id, chunk.model, chunk.created, out);
        let mut rare = chunk.rare;
        if let Some(rare) = rare.as_deref() {
            extra(
                out,
                None,
                "prompt_filter_results",
                rare.prompt_filter_results,
            );
            extra(out, None, "copilot_references", rare.copilot_references);
            extra(out, None, "copilot_confirmation", rare.copilot_confirmation);
            extra(out, None, "copilot_errors", rare.copilot_errors);
        }
        for choice in chunk.choices.into_iter().flatten() {
            let index = choice.index;
            if let Some(delta) = choice.delta {
                Self::delta(index, delta, out);
            }
            extra(out, Some(index), "annotations", choice.annotations);
            if let Some(reason) = choice.finish_reason.0 {
                state.saw_finish = true;
                out.push_back(Ok(ChatEvent::Finish {
                    choice: index,
                    reason: FinishReason::from(&*reason),
                }));
            }
        }
        if let Some(rare) = rare.as_deref_mut() {
            if let Some(usage) = rare.usage.take() {
                out.push_back(Ok(ChatEvent::Usage(Box::new(usage))));
            }
            extra(out, None, "copilot_usage", rare.copilot_usage);
        }
    }

    /// Emits `Meta` when the id first becomes known, and again when a new id or model shows up. Once the id
    /// is known the chunk decoder skips `id`/`created` unparsed, so only the model can change after that.
    fn meta(&mut self, id: Str<'_>, model: Str<'_>, created: Option<u64>, out: &mut EventQueue) {
        let id = id.as_deref().filter(|id| !id.is_empty());
        let model = model.as_deref();
        if id.is_none() && model.is_none() {
            return; // The prelude chunk (`"id":""`, `"created":0`), or the id is already known.
        }
        let (seen_id, seen_model) = self.meta.get_or_insert_with(Default::default);
        let new_id = id.is_some_and(|id| id != seen_id);
        let new_model = model.is_some_and(|model| seen_model.as_deref() != Some(model));
        if !new_id && !new_model {
            return;
        }
        if let Some(id) = id {
            *seen_id = id.to_owned();
        }
        if let Some(model) = model {
            *seen_model = Some(model.to_owned());
        }
        out.push_back(Ok(ChatEvent::Meta {
            id: seen_id.clone(),
            model: seen_model.clone(),
            created: created.filter(|c| *c != 0),
        }));
    }

    fn delta(index: u32, delta: WireDelta<'_>, out: &mut EventQueue) {
        let mut rare = delta.rare;
        // Reasoning first: it precedes the content of the same delta.
        if let Some(rare) = rare.as_deref_mut() {
            reasoning(
                out,
                index,
                ReasoningKind::Text,
                std::mem::take(&mut rare.reasoning_text),
            );
            reasoning(
                out,
                index,
                ReasoningKind::Text,
                std::mem::take(&mut rare.reasoning_content),
            );
            loose_reasoning(out, index, "reasoning", rare.reasoning);
            loose_reasoning(out, index, "thinking", rare.thinking);
            reasoning(
                out,
                index,
                ReasoningKind::Opaque,
                std::mem::take(&mut rare.reasoning_opaque),
            );
            reasoning(
                out,
                index,
                ReasoningKind::Opaque,
                std::mem::take(&mut rare.signature),
            );
            reasoning(
                out,
                index,
                ReasoningKind::Summary,
                std::mem::take(&mut rare.cot_summary),
            );
            reasoning(
                out,
                index,
                ReasoningKind::Id,
                std::mem::take(&mut rare.cot_id),
            );
        }
        if let Some(text) = delta.content
            && !text.is_empty()
        {
            out.push_back(Ok(ChatEvent::Content {
                choice: index,
                text,
            }));
        }
        let Some(rare) = rare else { return };
        for call in rare.tool_calls.into_iter().flatten() {
            let (name, arguments, thought_signature) = match call.function {
                Some(f) => (
                    f.name.non_empty(),
                    f.arguments.into_string(),
                    f.thought_signature.non_empty(),
                ),
                None => (None, None, None),
            };
            out.push_back(Ok(ChatEvent::ToolCall {
                choice: index,
                delta: ToolCallDelta {
                    index: call.index,
                    id: call.id.non_empty(),
                    name,
                    arguments: arguments.unwrap_or_default(),
                    thought_signature,
                },
            }));
        }
        if let Some(function) = rare.function_call {
            out.push_back(Ok(ChatEvent::FunctionCall {
                choice: index,
                name: function.name.non_empty(),
                arguments: function.arguments.into_string().unwrap_or_default(),
            }));
        }
        extra(
            out,
            Some(index),
            "copilot_annotations",
            rare.copilot_annotations,
        );
    }
}
