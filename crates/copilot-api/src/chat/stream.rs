//! `/chat/completions` chunks → [`ChatEvent`]s, with every quirk of `docs/protocol.md` §6.
//!
//! The wire structs borrow from the event data and name only the fields we use: serde skips the rest
//! (content-filter blobs and friends) without building values. The few extras kept raw are `&RawValue`
//! slices, copied only when present.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::chat::FinishReason;
use crate::chat::{ChatEvent, ReasoningKind, ToolCallDelta};
use crate::decode::{DecodeState, EventQueue, Str, extra};
use crate::usage::Usage;

/// A chunk. Hand-written (with [`ChunkSeed`]) so the common content chunk builds a small value (small wire
/// values measured faster to build and move through serde than wide ones): rare
/// top-level fields live in a box allocated only when present, and `id`/`created` are skipped unparsed once
/// the response id is known (they repeat on every chunk).
struct WireChunk<'a> {
    model: Str<'a>,
    choices: WireChoices<'a>,
    rare: Option<Box<RareChunk<'a>>>,
}

/// A chunk's `choices` (absent or `null` reads as none): the first one inline, so the common one-choice
/// chunk allocates no list.
#[derive(Default)]
struct WireChoices<'a> {
    first: Option<WireChoice<'a>>,
    more: Vec<WireChoice<'a>>,
}

impl<'a> WireChoices<'a> {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn into_all(self) -> impl Iterator<Item = WireChoice<'a>> {
        self.first.into_iter().chain(self.more)
    }
}

/// Reads [`WireChoices`]: `null` or a list.
struct ChoicesVisitor;

impl<'de> serde::de::Visitor<'de> for ChoicesVisitor {
    type Value = WireChoices<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of choices or null")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(WireChoices::default())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(WireChoices::default())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, list: D) -> Result<Self::Value, D::Error> {
        list.deserialize_seq(ChoicesVisitor)
    }

    fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let first = seq.next_element()?;
        let mut more = Vec::new();
        if first.is_some() {
            while let Some(choice) = seq.next_element()? {
                more.push(choice);
            }
        }
        Ok(WireChoices { first, more })
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireChoices<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(ChoicesVisitor)
    }
}

#[derive(Default)]
struct RareChunk<'a> {
    // `id`/`created` are here because they are parsed only until the id is known.
    id: Str<'a>,
    created: Option<u64>,
    usage: Option<Usage>,
    error: Option<&'a RawValue>,
    copilot_references: Option<&'a RawValue>,
    copilot_confirmation: Option<&'a RawValue>,
    copilot_errors: Option<&'a RawValue>,
    copilot_usage: Option<&'a RawValue>,
    prompt_filter_results: Option<&'a RawValue>,
}

impl<'a> RareChunk<'a> {
    /// Reads the value of a rare key into its field (a key that is not one is skipped).
    fn read<M: serde::de::MapAccess<'a>>(
        &mut self,
        field: ChunkField,
        map: &mut M,
    ) -> Result<(), M::Error> {
        match field {
            ChunkField::Id => self.id = map.next_value()?,
            ChunkField::Created => self.created = map.next_value()?,
            ChunkField::Usage => self.usage = map.next_value()?,
            ChunkField::Error => self.error = map.next_value()?,
            ChunkField::CopilotReferences => self.copilot_references = map.next_value()?,
            ChunkField::CopilotConfirmation => self.copilot_confirmation = map.next_value()?,
            ChunkField::CopilotErrors => self.copilot_errors = map.next_value()?,
            ChunkField::CopilotUsage => self.copilot_usage = map.next_value()?,
            ChunkField::PromptFilterResults => self.prompt_filter_results = map.next_value()?,
            ChunkField::Choices | ChunkField::Model | ChunkField::Other => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

// The keys each visitor acts on, decoded as field identifiers: serde matches the key inside the identifier
// visitor and hands back a one-byte tag, which measured ~15% faster on the whole stream than returning the
// key as a `Cow<str>` and matching strings afterwards. Any other key is `Other` and skipped with
// `IgnoredAny` (no value is built for content-filter blobs).

/// A top-level key of a chunk.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChunkField {
    Choices,
    Id,
    Created,
    Model,
    Usage,
    Error,
    CopilotReferences,
    CopilotConfirmation,
    CopilotErrors,
    CopilotUsage,
    PromptFilterResults,
    #[serde(other)]
    Other,
}

/// A key of a choice.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChoiceField {
    Index,
    Delta,
    FinishReason,
    Annotations,
    #[serde(other)]
    Other,
}

/// A key of a delta.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum DeltaField {
    Content,
    Role,
    ReasoningText,
    ReasoningContent,
    Reasoning,
    Thinking,
    ReasoningOpaque,
    Signature,
    CotSummary,
    CotId,
    ToolCalls,
    FunctionCall,
    CopilotAnnotations,
    Annotations,
    #[serde(other)]
    Other,
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
            model: Str(None),
            choices: WireChoices::default(),
            rare: None,
        };
        while let Some(field) = map.next_key::<ChunkField>()? {
            match field {
                ChunkField::Choices => chunk.choices = map.next_value()?,
                ChunkField::Model => chunk.model = map.next_value()?,
                ChunkField::Id | ChunkField::Created if self.id_known => {
                    map.next_value::<IgnoredAny>()?;
                }
                ChunkField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                field => chunk
                    .rare
                    .get_or_insert_with(Box::default)
                    .read(field, &mut map)?,
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
    /// `finish_reason` and `annotations`, boxed: they appear on one chunk per choice, and a smaller
    /// `WireChoice` measured several percent faster on the whole stream.
    end: Option<Box<ChoiceEnd<'a>>>,
}

#[derive(Default)]
struct ChoiceEnd<'a> {
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
                    end: None,
                };
                while let Some(field) = map.next_key::<ChoiceField>()? {
                    match field {
                        ChoiceField::Index => {
                            choice.index = map.next_value::<Option<u32>>()?.unwrap_or(0)
                        }
                        ChoiceField::Delta => choice.delta = map.next_value()?,
                        ChoiceField::FinishReason => {
                            choice.end.get_or_insert_with(Box::default).finish_reason =
                                map.next_value()?
                        }
                        ChoiceField::Annotations => {
                            choice.end.get_or_insert_with(Box::default).annotations =
                                map.next_value()?
                        }
                        ChoiceField::Other => {
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
    annotations: Option<&'a RawValue>,
}

impl<'a> RareDelta<'a> {
    /// Reads the value of a rare key into its field (a key that is not one is skipped).
    fn read<M: serde::de::MapAccess<'a>>(
        &mut self,
        field: DeltaField,
        map: &mut M,
    ) -> Result<(), M::Error> {
        match field {
            DeltaField::ReasoningText => self.reasoning_text = map.next_value()?,
            DeltaField::ReasoningContent => self.reasoning_content = map.next_value()?,
            DeltaField::Reasoning => self.reasoning = map.next_value()?,
            DeltaField::Thinking => self.thinking = map.next_value()?,
            DeltaField::ReasoningOpaque => self.reasoning_opaque = map.next_value()?,
            DeltaField::Signature => self.signature = map.next_value()?,
            DeltaField::CotSummary => self.cot_summary = map.next_value()?,
            DeltaField::CotId => self.cot_id = map.next_value()?,
            DeltaField::ToolCalls => self.tool_calls = map.next_value()?,
            DeltaField::FunctionCall => self.function_call = map.next_value()?,
            DeltaField::CopilotAnnotations => self.copilot_annotations = map.next_value()?,
            DeltaField::Annotations => self.annotations = map.next_value()?,
            DeltaField::Content | DeltaField::Role | DeltaField::Other => {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
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
                while let Some(field) = map.next_key::<DeltaField>()? {
                    match field {
                        DeltaField::Content => content = map.next_value()?,
                        DeltaField::Role | DeltaField::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        field => rare
                            .get_or_insert_with(Box::default)
                            .read(field, &mut map)?,
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
            state.stream_error(crate::decode::parse_error_data(data), out);
            return;
        }
        let id_known = self.meta.as_ref().is_some_and(|(id, _)| !id.is_empty());
        let Some(chunk) = state.decoded(parse_chunk(data, id_known), data, out) else {
            return;
        };
        if let Some(rare) = chunk.rare.as_deref()
            && let Some(error) = rare.error
            && chunk.choices.is_empty()
            && error.get() != "null"
        {
            state.stream_error(crate::decode::parse_error_data(data), out);
            return;
        }
        let mut rare = chunk.rare;
        match rare.as_deref_mut() {
            Some(rare) => self.meta(std::mem::take(&mut rare.id), chunk.model, rare.created, out),
            None => self.meta(Str(None), chunk.model, None, out),
        }
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
        for choice in chunk.choices.into_all() {
            let index = choice.index;
            if let Some(delta) = choice.delta {
                Self::delta(index, delta, out);
            }
            let Some(end) = choice.end else { continue };
            extra(out, Some(index), "annotations", end.annotations);
            if let Some(reason) = end.finish_reason.0 {
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
        extra(out, Some(index), "annotations", rare.annotations);
    }
}
