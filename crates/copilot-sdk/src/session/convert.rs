//! Turning the session's history (chat messages) into `/chat/completions`, `/responses` or `/v1/messages`
//! requests.

use copilot_api::{
    AnthropicMessage, ChatRequest, ChatResponse, CollectedMessage, Content, ContentBlock,
    ContentPart, FinishReason, Initiator, JsonSchemaFormat, Message, MessageContent,
    MessagesRequest, MessagesTool, ModelInfo, OutputConfig, ReasoningConfig, ReasoningEffort,
    RequestOptions, RequestPurpose, ResponseContent, ResponseFormat, ResponseItem,
    ResponsesRequest, Role, ThinkingConfig, Usage,
};
use serde_json::{Value, json};

use super::history::HistoryEntry;
use crate::message::OutputSchema;
use crate::tools::Tool;

/// Everything a request needs besides the history.
pub(crate) struct RequestParts<'a> {
    pub model: &'a str,
    pub system_message: Option<&'a str>,
    pub reasoning_effort: Option<&'a ReasoningEffort>,
    pub tools: &'a [Tool],
    pub output_schema: Option<&'a OutputSchema>,
}

pub(crate) fn chat_request(parts: &RequestParts<'_>, history: &[HistoryEntry]) -> ChatRequest {
    let mut messages = Vec::with_capacity(history.len() + 1);
    if let Some(system) = parts.system_message {
        messages.push(Message::system(system));
    }
    messages.extend(
        history
            .iter()
            .map(|entry| entry.replayed_to(parts.model).message.clone()),
    );
    let mut request = ChatRequest::new(parts.model, messages);
    if !parts.tools.is_empty() {
        request = request.tools(parts.tools.iter().map(Tool::chat_definition).collect());
    }
    if let Some(effort) = parts.reasoning_effort {
        request = request.reasoning_effort(effort.clone());
    }
    if let Some(schema) = parts.output_schema {
        request = request.response_format(ResponseFormat::JsonSchema(JsonSchemaFormat::new(
            schema.name.clone(),
            schema.schema.clone(),
            None,
        )));
    }
    request
}

pub(crate) fn responses_request(
    parts: &RequestParts<'_>,
    history: &[HistoryEntry],
) -> ResponsesRequest {
    let input = history
        .iter()
        .flat_map(|entry| message_items(&entry.replayed_to(parts.model)))
        .collect();
    let mut request = ResponsesRequest::new(parts.model, input);
    if let Some(system) = parts.system_message {
        request = request.instructions(system);
    }
    if !parts.tools.is_empty() {
        request = request.tools(parts.tools.iter().map(Tool::responses_definition).collect());
    }
    if let Some(effort) = parts.reasoning_effort {
        request = request.reasoning(ReasoningConfig::new(Some(effort.clone()), None));
    }
    if let Some(schema) = parts.output_schema {
        let format = ResponseFormat::JsonSchema(JsonSchemaFormat::new(
            schema.name.clone(),
            schema.schema.clone(),
            None,
        ));
        request.text = Some(json!({"format": format.to_responses_format()}));
    }
    request
}

/// `max_tokens` when the models list gives no output limit.
const DEFAULT_MAX_TOKENS: u64 = 8192;
/// The thinking budget bounds when the models list gives none (Anthropic's minimum is 1024).
const DEFAULT_MIN_THINKING: u64 = 1024;
const DEFAULT_MAX_THINKING: u64 = 32_000;

/// The history as a `/v1/messages` request (`docs/protocol.md` §8, "Sessions"): system messages (the
/// session's, then any in the history) become `system`; consecutive messages of one role merge into one
/// message (the format alternates roles), tool results become `tool_result` blocks of a user message;
/// an assistant message replays its kept thinking blocks first, then its text and `tool_use` blocks.
/// `info` (the model's models-list entry) gives `max_tokens` and how a reasoning effort is asked for.
pub(crate) fn messages_request(
    parts: &RequestParts<'_>,
    info: Option<&ModelInfo>,
    history: &[HistoryEntry],
) -> MessagesRequest {
    let mut system: Vec<String> = parts
        .system_message
        .map(str::to_owned)
        .into_iter()
        .collect();
    let mut messages: Vec<AnthropicMessage> = Vec::with_capacity(history.len());
    for entry in history {
        let entry = entry.replayed_to(parts.model);
        let message = &entry.message;
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                let text = message.text();
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::Tool => (
                Role::User,
                vec![ContentBlock::tool_result(
                    message.tool_call_id.clone().unwrap_or_default(),
                    message.text(),
                )],
            ),
            Role::Assistant => (Role::Assistant, assistant_blocks(&entry)),
            _ => (Role::User, user_blocks(message)),
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => {
                if let MessageContent::Blocks(existing) = &mut last.content {
                    existing.extend(blocks);
                }
            }
            _ => messages.push(AnthropicMessage::new(role, MessageContent::Blocks(blocks))),
        }
    }
    let limits = info.map(|info| &info.capabilities.limits);
    let max_tokens = limits
        .and_then(|limits| limits.max_output_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let max_tokens = u32::try_from(max_tokens).unwrap_or(u32::MAX).max(1);
    let mut request = MessagesRequest::new(parts.model, max_tokens, messages);
    if !system.is_empty() {
        request = request.system(system.join("\n\n"));
    }
    if !parts.tools.is_empty() {
        request = request.tools(
            parts
                .tools
                .iter()
                .map(|tool| {
                    MessagesTool::new(
                        tool.name(),
                        tool.description(),
                        Some(tool.parameters().clone()),
                    )
                })
                .collect(),
        );
    }
    if let Some(effort) = parts.reasoning_effort {
        request = apply_effort(request, effort, info);
    }
    if let Some(schema) = parts.output_schema {
        let mut config = request.output_config.take().unwrap_or_default();
        config.extra.insert(
            "format".to_owned(),
            json!({"type": "json_schema", "schema": schema.schema}),
        );
        request = request.output_config(config);
    }
    request
}

/// The options of a `/v1/messages` round, billed as the same history would be on chat: a prompt that
/// follows results the session filled in for calls nobody answered shares its user message with their
/// `tool_result` blocks (the format alternates roles), which `MessagesRequest::initiator` alone would call
/// a tool follow-up; it is the user's prompt, so `X-Initiator: user` (for a conversation; another
/// purpose, or an initiator the caller set, decides as always).
pub(crate) fn messages_options(
    options: RequestOptions,
    history: &[HistoryEntry],
    request: &MessagesRequest,
) -> RequestOptions {
    let prompt_last = history
        .last()
        .is_some_and(|entry| entry.message.role == Role::User && !entry.message.is_tool_result());
    if prompt_last
        && options.initiator.is_none()
        && options.purpose == RequestPurpose::Conversation
        && request.initiator() == Initiator::Agent
    {
        return options.initiator(Initiator::User);
    }
    options
}

/// A reasoning effort on `/v1/messages`: `none` asks for nothing; a model with adaptive thinking gets
/// `thinking: adaptive` with `output_config.effort`; any other gets `thinking: enabled` with a budget
/// picked by the effort (low 2048, medium 8192, high 16384, higher 32000 tokens), kept within the
/// model's thinking budget bounds and below `max_tokens`.
fn apply_effort(
    request: MessagesRequest,
    effort: &ReasoningEffort,
    info: Option<&ModelInfo>,
) -> MessagesRequest {
    if *effort == ReasoningEffort::None {
        return request;
    }
    let supports = info.map(|info| &info.capabilities.supports);
    if supports.is_some_and(|s| s.adaptive_thinking == Some(true)) {
        return request
            .thinking(ThinkingConfig::adaptive())
            .output_config(OutputConfig::effort(effort.clone()));
    }
    let wanted: u64 = match effort {
        ReasoningEffort::Minimal | ReasoningEffort::Low => 2048,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 16_384,
        _ => 32_000,
    };
    let low = supports
        .and_then(|s| s.min_thinking_budget)
        .unwrap_or(DEFAULT_MIN_THINKING);
    let high = supports
        .and_then(|s| s.max_thinking_budget)
        .unwrap_or(DEFAULT_MAX_THINKING)
        .max(low);
    // The budget must stay below `max_tokens`.
    let below_output = u64::from(request.max_tokens).saturating_sub(1);
    let budget = wanted.clamp(low, high).min(below_output);
    let budget = u32::try_from(budget).unwrap_or(u32::MAX);
    request.thinking(ThinkingConfig::enabled(budget))
}

/// An assistant message as blocks: the kept thinking blocks, the text, then one `tool_use` per call
/// (arguments that are not a JSON object are sent as `{}`).
fn assistant_blocks(entry: &HistoryEntry) -> Vec<ContentBlock> {
    let message = &entry.message;
    let mut blocks = entry.thinking_blocks.clone();
    let text = message.text();
    if !text.is_empty() {
        blocks.push(ContentBlock::text(text));
    }
    for call in &message.tool_calls {
        let input = match serde_json::from_str::<Value>(call.function.arguments.trim()) {
            Ok(input @ Value::Object(_)) => input,
            _ => Value::Object(serde_json::Map::new()),
        };
        blocks.push(ContentBlock::tool_use(
            call.id.clone(),
            call.function.name.clone(),
            input,
        ));
    }
    blocks
}

/// A user message as blocks: text, and images (a `data:` URL as base64, any other URL as a `url` source).
fn user_blocks(message: &Message) -> Vec<ContentBlock> {
    match &message.content {
        Some(Content::Text(text)) if !text.is_empty() => vec![ContentBlock::text(text.clone())],
        Some(Content::Parts(parts)) => parts.iter().filter_map(user_block).collect(),
        _ => Vec::new(),
    }
}

fn user_block(part: &ContentPart) -> Option<ContentBlock> {
    match part {
        ContentPart::Text { text } => Some(ContentBlock::text(text.clone())),
        ContentPart::ImageUrl { url, .. } => Some(image_block(url)),
        ContentPart::Other(value) => {
            tracing::debug!(kind = ?value.get("type"), "a content part /v1/messages has no block for is left out");
            None
        }
    }
}

/// `data:<media type>;base64,<data>` becomes a base64 image block; any other URL a `url` source.
fn image_block(url: &str) -> ContentBlock {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((media_type, data)) = rest.split_once(";base64,")
    {
        return ContentBlock::image_base64(media_type, data);
    }
    let block = json!({"type": "image", "source": {"type": "url", "url": url}});
    serde_json::from_value(block.clone()).unwrap_or(ContentBlock::Other(block))
}

fn message_items(entry: &HistoryEntry) -> Vec<ResponseItem> {
    let message = &entry.message;
    let mut items = Vec::new();
    match &message.role {
        Role::Tool => items.push(ResponseItem::function_call_output(
            message.tool_call_id.clone().unwrap_or_default(),
            message.text(),
        )),
        Role::Assistant => {
            let reasoning_id = entry.reasoning_id.clone();
            if reasoning_id.is_some() || message.reasoning_opaque.is_some() {
                items.push(ResponseItem::reasoning(
                    reasoning_id,
                    Vec::new(),
                    message.reasoning_opaque.clone(),
                ));
            }
            let text = message.text();
            if !text.is_empty() {
                items.push(ResponseItem::message(
                    Role::Assistant,
                    vec![ResponseContent::output_text(text)],
                ));
            }
            for call in &message.tool_calls {
                items.push(ResponseItem::function_call(
                    call.id.clone(),
                    call.function.name.clone(),
                    call.function.arguments.clone(),
                ));
            }
        }
        role => {
            let content = match &message.content {
                Some(Content::Parts(parts)) => parts.iter().filter_map(input_part).collect(),
                Some(Content::Text(text)) => {
                    vec![ResponseContent::input_text(text.clone())]
                }
                _ => Vec::new(),
            };
            items.push(ResponseItem::message(role.clone(), content));
        }
    }
    items
}

fn input_part(part: &ContentPart) -> Option<ResponseContent> {
    match part {
        ContentPart::Text { text } => Some(ResponseContent::input_text(text.clone())),
        ContentPart::ImageUrl { url, detail } => {
            Some(ResponseContent::input_image(url.clone(), detail.clone()))
        }
        ContentPart::Other(value) => Some(ResponseContent::Other(value.clone())),
    }
}

/// The first choice of a non-streamed chat answer, in the shape a streamed round is assembled into, and the
/// usage. o-series reasoning (`cot_summary`, `cot_id`) arrives as extra message fields.
pub(crate) fn collected_from_response(response: ChatResponse) -> (CollectedMessage, Option<Usage>) {
    let usage = response.usage;
    let mut collected = CollectedMessage::default();
    let Some(choice) = response.choices.into_iter().next() else {
        return (collected, usage);
    };
    let message = choice.message;
    let extra_text = |key: &str| message.extra.get_as::<String>(key).and_then(Result::ok);
    collected.index = choice.index;
    collected.content = message
        .content
        .as_ref()
        .map(Content::text)
        .unwrap_or_default();
    collected.reasoning.text = message.reasoning_text.clone().unwrap_or_default();
    collected.reasoning.opaque = message.reasoning_opaque.clone();
    collected.reasoning.summary = extra_text("cot_summary").unwrap_or_default();
    collected.reasoning.id = extra_text("cot_id");
    collected.finish_reason = match choice.finish_reason {
        Some(FinishReason::Stop) if !message.tool_calls.is_empty() => Some(FinishReason::ToolCalls),
        other => other,
    };
    collected.tool_calls = message.tool_calls;
    collected.function_call = message.function_call;
    (collected, usage)
}

#[cfg(test)]
mod tests {
    use copilot_api::{ContentPart, ImageDetail, ToolCall};
    use serde_json::json;

    use super::*;

    fn model(supports: Value) -> ModelInfo {
        serde_json::from_value(json!({
            "id": "claude-x",
            "capabilities": {"limits": {"max_output_tokens": 4000}, "supports": supports},
        }))
        .expect("a model entry")
    }

    fn parts<'a>(effort: Option<&'a ReasoningEffort>) -> RequestParts<'a> {
        RequestParts {
            model: "claude-x",
            system_message: Some("Be brief."),
            reasoning_effort: effort,
            tools: &[],
            output_schema: None,
        }
    }

    /// A prompt, then an assistant answer by `writer` carrying every kind of reasoning replay state.
    fn reasoned_history(writer: Option<&str>) -> Vec<HistoryEntry> {
        let mut call = ToolCall::function("call_1", "read", "{}");
        call.function.thought_signature = Some("gemini-sig".into());
        let message = Message::assistant("answer")
            .with_tool_calls(vec![call])
            .with_reasoning(Some("thought".into()), Some("opaque-sig".into()));
        let mut entry = HistoryEntry::new(message)
            .reasoning_id("rs_1")
            .thinking_blocks([ContentBlock::thinking("thought", "claude-sig")]);
        entry.model = writer.map(str::to_owned);
        vec![
            HistoryEntry::new(Message::user("q")),
            entry,
            HistoryEntry::new(Message::tool("call_1", "r")),
        ]
    }

    /// The three request bodies `model` would get for `history`, as one JSON text.
    fn bodies_for(model: &str, history: &[HistoryEntry]) -> String {
        let parts = RequestParts {
            model,
            ..parts(None)
        };
        let chat = serde_json::to_value(chat_request(&parts, history)).expect("chat");
        let responses =
            serde_json::to_value(responses_request(&parts, history)).expect("responses");
        let messages =
            serde_json::to_value(messages_request(&parts, None, history)).expect("messages");
        format!("{chat}\n{responses}\n{messages}")
    }

    #[test]
    fn reasoning_goes_back_only_to_the_model_that_wrote_it() {
        let signatures = [
            "opaque-sig",
            "gemini-sig",
            "claude-sig",
            "rs_1",
            "\"thought\"",
        ];
        // Another model: the text and tool round stay, every signature and reasoning field goes.
        let foreign = bodies_for("gpt-5", &reasoned_history(Some("claude-x")));
        for secret in signatures {
            assert!(
                !foreign.contains(secret),
                "{secret} replayed to gpt-5: {foreign}"
            );
        }
        assert!(
            foreign.contains("answer") && foreign.contains("call_1"),
            "{foreign}"
        );
        // The writer itself, and an entry whose writer is unknown (saved before the field): all kept.
        for history in [reasoned_history(Some("claude-x")), reasoned_history(None)] {
            let own = bodies_for("claude-x", &history);
            for secret in signatures {
                assert!(own.contains(secret), "{secret} missing: {own}");
            }
        }
    }

    #[test]
    fn history_becomes_alternating_messages_with_tool_results_images_and_thinking() {
        let history = vec![
            HistoryEntry::new(Message::system("Seeded system.")),
            HistoryEntry::new(Message::user(Content::Parts(vec![
                ContentPart::text("Look"),
                ContentPart::image_url("data:image/png;base64,AAAA", Some(ImageDetail::High)),
                ContentPart::image_url("https://example.com/a.png", None),
            ]))),
            HistoryEntry::new(Message::assistant_tool_calls(vec![
                ToolCall::function("toolu_1", "read", r#"{"path":"a"}"#),
                ToolCall::function("toolu_2", "read", "not json"),
            ]))
            .thinking_blocks([
                ContentBlock::thinking("hmm", "sig1"),
                ContentBlock::text("not thinking: left out"),
                ContentBlock::redacted_thinking("enc"),
            ]),
            HistoryEntry::new(Message::tool("toolu_1", "one")),
            HistoryEntry::new(Message::tool("toolu_2", "two")),
            HistoryEntry::new(Message::user("Next")),
        ];
        let request = messages_request(&parts(None), Some(&model(json!({}))), &history);
        let body = serde_json::to_value(&request).expect("serialisable");
        assert_eq!(
            body,
            json!({
                "model": "claude-x",
                "max_tokens": 4000,
                "system": "Be brief.\n\nSeeded system.",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "Look"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                    ]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig1"},
                        {"type": "redacted_thinking", "data": "enc"},
                        {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "read", "input": {}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "two"},
                        {"type": "text", "text": "Next"},
                    ]},
                ],
            })
        );
        assert!(request.has_image());
        // The prompt shares its message with the tool results; it is still billed as the user's.
        assert_eq!(request.initiator(), Initiator::Agent);
        let options = messages_options(RequestOptions::new(), &history, &request);
        assert_eq!(options.initiator, Some(Initiator::User));
        let subagent = RequestOptions::new().purpose(RequestPurpose::Subagent);
        assert_eq!(
            messages_options(subagent, &history, &request).initiator,
            None,
            "another purpose decides as always (agent)"
        );
        // A real tool follow-up stays `agent`.
        let follow_up = &history[..history.len() - 1];
        let request = messages_request(&parts(None), None, follow_up);
        assert_eq!(request.initiator(), Initiator::Agent);
        assert_eq!(
            messages_options(RequestOptions::new(), follow_up, &request).initiator,
            None
        );
    }

    #[test]
    fn an_effort_is_a_budget_or_adaptive_thinking_as_the_model_takes_it() {
        let history = [HistoryEntry::new(Message::user("Hi"))];
        let budgeted = model(json!({"min_thinking_budget": 1024, "max_thinking_budget": 3000}));
        let thinking = |effort: ReasoningEffort, info: &ModelInfo| {
            let request = messages_request(&parts(Some(&effort)), Some(info), &history);
            serde_json::to_value(&request).expect("serialisable")
        };
        // low 2048 fits; high (16384) is capped by the model's budget; max by max_tokens (4000) too.
        assert_eq!(
            thinking(ReasoningEffort::Low, &budgeted)["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(
            thinking(ReasoningEffort::High, &budgeted)["thinking"],
            json!({"type": "enabled", "budget_tokens": 3000})
        );
        let roomy = model(json!({"max_thinking_budget": 32000}));
        assert_eq!(
            thinking(ReasoningEffort::Max, &roomy)["thinking"]["budget_tokens"],
            3999
        );
        assert!(
            thinking(ReasoningEffort::None, &roomy)
                .get("thinking")
                .is_none()
        );
        let adaptive = model(json!({"adaptive_thinking": true}));
        let body = thinking(ReasoningEffort::High, &adaptive);
        assert_eq!(body["thinking"], json!({"type": "adaptive"}));
        assert_eq!(body["output_config"], json!({"effort": "high"}));
    }
}
