//! Turning the session's history (chat messages) into `/chat/completions` or `/responses` requests.

use copilot_api::{
    ChatRequest, ChatResponse, CollectedMessage, Content, ContentPart, FinishReason,
    JsonSchemaFormat, Message, ReasoningConfig, ReasoningEffort, ResponseContent, ResponseFormat,
    ResponseItem, ResponsesRequest, Role, Usage,
};
use serde_json::json;

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
    messages.extend(history.iter().map(|entry| entry.message.clone()));
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
    let input = history.iter().flat_map(message_items).collect();
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
        request.text = Some(json!({"format": {
            "type": "json_schema",
            "name": schema.name,
            "schema": schema.schema,
        }}));
    }
    request
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
