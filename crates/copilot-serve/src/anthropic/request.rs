//! An Anthropic Messages request as a chat completions request (for models served through chat or
//! responses).
//!
//! What agents send that chat cannot carry is adapted rather than passed on to fail: `cache_control` (any
//! `scope`/`ttl`), `context_management`, `metadata`, `top_k`, server tools (`web_search_…`, `bash_…`,
//! `text_editor_…`, `computer_…`, `code_execution_…`) and `document` blocks are left out; `thinking`
//! becomes Copilot's `thinking_budget` for Claude models, or a `reasoning_effort` the model lists.

use std::borrow::Cow;

use copilot_api::{
    ChatRequest, Content, ContentPart, Initiator, Message, ModelInfo, ReasoningEffort, Role, Tool,
    ToolCall, ToolChoice,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Failure;

/// The fields of a Messages request the gateway reads. Everything else is accepted and ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct MessagesRequest {
    pub(crate) model: String,
    #[serde(default)]
    pub(crate) messages: Vec<InMessage>,
    pub(crate) system: Option<System>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) stream: Option<bool>,
    pub(crate) temperature: Option<f64>,
    pub(crate) top_p: Option<f64>,
    pub(crate) stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) tools: Vec<Value>,
    pub(crate) tool_choice: Option<Value>,
    pub(crate) thinking: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum System {
    Text(String),
    Blocks(Vec<Value>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct InMessage {
    pub(crate) role: String,
    pub(crate) content: InContent,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum InContent {
    Text(String),
    Blocks(Vec<Value>),
}

impl InContent {
    /// The content as blocks: a string is one `text` block; blocks are borrowed, not copied (a long
    /// conversation's tool results would otherwise be copied on every request).
    fn blocks(&self) -> Cow<'_, [Value]> {
        match self {
            InContent::Text(text) => Cow::Owned(vec![json!({"type": "text", "text": text})]),
            InContent::Blocks(blocks) => Cow::Borrowed(blocks),
        }
    }
}

impl InContent {
    fn has_tool_result(&self) -> bool {
        match self {
            InContent::Text(_) => false,
            InContent::Blocks(blocks) => blocks.iter().any(|b| block_type(b) == "tool_result"),
        }
    }
}

impl MessagesRequest {
    /// Who the turn is billed to: `user` only when the last message is the human's own prompt (a user
    /// message with no `tool_result` block), as `copilot_api::MessagesRequest::initiator` judges it.
    pub(crate) fn initiator(&self) -> Initiator {
        match self.messages.last() {
            Some(last) if last.role == "user" && !last.content.has_tool_result() => Initiator::User,
            _ => Initiator::Agent,
        }
    }
}

fn block_type(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

fn text_of(block: &Value) -> Option<&str> {
    block.get("text").and_then(Value::as_str)
}

/// An Anthropic `image` block as a chat image part (`data:` URL or https URL).
fn image_part(block: &Value) -> Option<ContentPart> {
    let source = block.get("source")?;
    match source.get("type").and_then(Value::as_str)? {
        "base64" => {
            let media = source.get("media_type").and_then(Value::as_str)?;
            let data = source.get("data").and_then(Value::as_str)?;
            Some(ContentPart::image_url(
                format!("data:{media};base64,{data}"),
                None,
            ))
        }
        "url" => Some(ContentPart::image_url(
            source.get("url").and_then(Value::as_str)?,
            None,
        )),
        _ => None,
    }
}

/// Whether a tool definition is one Copilot can serve: a plain (custom) tool with an input schema.
/// Server tools (`web_search_20250305`, `bash_20250124`, `text_editor_…`, `computer_…`,
/// `code_execution_…`) are Anthropic-hosted or client-specific.
pub(crate) fn is_custom_tool(tool: &Value) -> bool {
    matches!(
        tool.get("type").and_then(Value::as_str),
        None | Some("custom")
    ) && tool.get("name").and_then(Value::as_str).is_some()
}

/// Text of a `tool_result`'s content (a string, or blocks whose text is joined), and its images.
fn tool_result_content(block: &Value) -> (String, Vec<ContentPart>) {
    let mut images = Vec::new();
    let text = match block.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                match block_type(part) {
                    "text" => text.push_str(text_of(part).unwrap_or("")),
                    "image" => images.extend(image_part(part)),
                    _ => {}
                }
            }
            text
        }
        _ => String::new(),
    };
    let is_error = block.get("is_error").and_then(Value::as_bool) == Some(true);
    (
        if is_error {
            format!("Error: {text}")
        } else {
            text
        },
        images,
    )
}

/// The chat request for `request`, sent to `model` (its entry, when listed).
pub(crate) fn to_chat(
    request: &MessagesRequest,
    model: &str,
    info: Option<&ModelInfo>,
) -> Result<ChatRequest, Failure> {
    let mut messages = Vec::new();
    match &request.system {
        Some(System::Text(text)) => {
            let text = without_billing_header(text).unwrap_or_else(|| text.clone());
            if !text.trim().is_empty() {
                messages.push(Message::system(text));
            }
        }
        Some(System::Blocks(blocks)) => {
            let text: Vec<String> = blocks
                .iter()
                .filter_map(text_of)
                .map(|text| without_billing_header(text).unwrap_or_else(|| text.to_owned()))
                .filter(|text| !text.trim().is_empty())
                .collect();
            if !text.is_empty() {
                messages.push(Message::system(text.join("\n\n")));
            }
        }
        _ => {}
    }
    for message in &request.messages {
        let blocks = message.content.blocks();
        match message.role.as_str() {
            "user" => user_messages(&blocks, &mut messages),
            "assistant" => messages.push(assistant_message(&blocks)),
            other => {
                return Err(Failure::bad_request(format!(
                    "messages: role `{other}` is not `user` or `assistant`"
                )));
            }
        }
    }
    let mut chat = ChatRequest::new(model, messages);
    chat.max_tokens = request.max_tokens;
    chat.temperature = request.temperature;
    chat.top_p = request.top_p;
    chat.stop = request.stop_sequences.clone().filter(|s| !s.is_empty());
    chat.tools = request
        .tools
        .iter()
        .filter(|tool| {
            let keep = is_custom_tool(tool);
            if !keep {
                let kind = tool.get("type").and_then(Value::as_str).unwrap_or("?");
                tracing::debug!(kind, "dropping a server tool Copilot does not serve");
            }
            keep
        })
        .map(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            let mut out = Tool::function(name, "", tool.get("input_schema").cloned());
            out.function.description = tool
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            out
        })
        .collect();
    if let Some(choice) = &request.tool_choice {
        if choice
            .get("disable_parallel_tool_use")
            .and_then(Value::as_bool)
            == Some(true)
        {
            chat.parallel_tool_calls = Some(false);
        }
        chat.tool_choice = match choice.get("type").and_then(Value::as_str) {
            Some("any") => Some(ToolChoice::Required),
            Some("none") => Some(ToolChoice::None),
            Some("tool") => choice
                .get("name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Function(name.to_owned())),
            _ => None,
        };
    }
    if chat.tools.is_empty() {
        chat.tool_choice = None;
        chat.parallel_tool_calls = None;
    }
    apply_thinking(request.thinking.as_ref(), model, info, &mut chat);
    Ok(chat)
}

/// `thinking`: Claude models take Copilot's `thinking_budget`; other models a `reasoning_effort` they
/// list, chosen by the budget.
fn apply_thinking(
    thinking: Option<&Value>,
    model: &str,
    info: Option<&ModelInfo>,
    chat: &mut ChatRequest,
) {
    let Some(thinking) = thinking else {
        return;
    };
    let kind = thinking.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "enabled" | "adaptive") {
        return;
    }
    let budget = thinking
        .get("budget_tokens")
        .and_then(Value::as_u64)
        .map(|b| u32::try_from(b).unwrap_or(u32::MAX));
    if model.starts_with("claude") {
        chat.thinking_budget = Some(budget.unwrap_or(4096));
        return;
    }
    let listed = info
        .map(|m| m.capabilities.supports.reasoning_effort.clone())
        .unwrap_or_default();
    let wanted = match budget {
        Some(b) if b <= 2048 => ReasoningEffort::Low,
        Some(b) if b <= 8192 => ReasoningEffort::Medium,
        _ => ReasoningEffort::High,
    };
    if listed.contains(&wanted) {
        chat.reasoning_effort = Some(wanted);
    } else if let Some(effort) = listed.iter().rev().find(|e| **e != ReasoningEffort::None) {
        chat.reasoning_effort = Some(effort.clone());
    }
}

/// A user turn: its `tool_result` blocks become tool messages (first, as chat requires them right after
/// the assistant's calls), the rest one user message.
fn user_messages(blocks: &[Value], out: &mut Vec<Message>) {
    let mut parts = Vec::new();
    let mut result_images = Vec::new();
    for block in blocks {
        match block_type(block) {
            "tool_result" => {
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (text, images) = tool_result_content(block);
                out.push(Message::tool(id, text));
                result_images.extend(images);
            }
            "text" => parts.extend(text_of(block).map(ContentPart::text)),
            "image" => parts.extend(image_part(block)),
            other => tracing::debug!(
                kind = other,
                "dropping a user content block chat cannot carry"
            ),
        }
    }
    // Images returned by tools ride along in the next user content (chat tool messages carry text only).
    let mut all = result_images;
    all.append(&mut parts);
    if all.is_empty() {
        return;
    }
    let content = if all.iter().all(|p| matches!(p, ContentPart::Text { .. })) {
        let text: Vec<String> = all
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text } => Some(text.clone()),
                _ => None,
            })
            .collect();
        Content::Text(text.join("\n\n"))
    } else {
        Content::Parts(all)
    };
    out.push(Message::new(Role::User, content));
}

/// An assistant turn: text, tool calls, and thinking (replayed as `reasoning_text`/`reasoning_opaque`).
fn assistant_message(blocks: &[Value]) -> Message {
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut thinking = String::new();
    let mut signature = None;
    for block in blocks {
        match block_type(block) {
            "text" => text.push_str(text_of(block).unwrap_or("")),
            "tool_use" => {
                let id = block.get("id").and_then(Value::as_str).unwrap_or_default();
                let name = block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(ToolCall::function(id, name, input.to_string()));
            }
            "thinking" => {
                thinking.push_str(block.get("thinking").and_then(Value::as_str).unwrap_or(""));
                if let Some(sig) = block.get("signature").and_then(Value::as_str) {
                    signature = Some(sig.to_owned());
                }
            }
            "redacted_thinking" => {
                if let Some(data) = block.get("data").and_then(Value::as_str) {
                    signature = Some(data.to_owned());
                }
            }
            _ => {}
        }
    }
    let mut message = Message::assistant(text.clone());
    if text.is_empty() && !calls.is_empty() {
        message.content = None;
    }
    message.tool_calls = calls;
    message.reasoning_text = Some(thinking).filter(|t| !t.is_empty());
    message.reasoning_opaque = signature;
    message
}

/// The line Claude Code puts at the top of its system prompt (`x-anthropic-billing-header: cc_version=…;
/// cc_entrypoint=cli; cch=…;`, alone in `system[0]` or before the prompt in one block). Copilot refuses a
/// request carrying it ("a reserved keyword and may not be used in the system prompt"), so the gateway
/// leaves it out; it is Anthropic's own attribution and means nothing to Copilot.
const BILLING_HEADER_LINE: &str = "x-anthropic-billing-header:";

/// `text` without Claude Code's billing-header lines (and the blank lines right after them); `None` when it
/// has none.
pub(crate) fn without_billing_header(text: &str) -> Option<String> {
    if !text.contains(BILLING_HEADER_LINE) {
        return None;
    }
    let mut kept = Vec::new();
    let mut after_header = false;
    for line in text.split('\n') {
        if line.trim_start().starts_with(BILLING_HEADER_LINE) {
            after_header = true;
            continue;
        }
        if after_header && line.trim().is_empty() {
            continue;
        }
        after_header = false;
        kept.push(line);
    }
    Some(kept.join("\n"))
}

/// Removes Claude Code's billing-header lines from a Messages body's `system` (a string, or text blocks; a
/// block left empty is dropped).
pub(crate) fn strip_billing_header(system: &mut Value) {
    match system {
        Value::String(text) => {
            if let Some(clean) = without_billing_header(text) {
                *text = clean;
            }
        }
        Value::Array(blocks) => {
            blocks.retain_mut(|block| {
                let Some(Value::String(text)) = block.get_mut("text") else {
                    return true;
                };
                match without_billing_header(text) {
                    Some(clean) if clean.trim().is_empty() => false,
                    Some(clean) => {
                        *text = clean;
                        true
                    }
                    None => true,
                }
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod billing_header_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_codes_billing_header_is_removed_in_every_shape() {
        let line =
            "x-anthropic-billing-header: cc_version=2.1.177.3bf; cc_entrypoint=cli; cch=00000;";
        let mut blocks = json!([
            {"type": "text", "text": line},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
        ]);
        strip_billing_header(&mut blocks);
        assert_eq!(
            blocks,
            json!([{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."}])
        );
        let mut text = json!(format!("{line}\n\nBe brief."));
        strip_billing_header(&mut text);
        assert_eq!(text, json!("Be brief."));
        let mut other = json!("Mentions x-anthropic-billing-header: only mid-line.");
        strip_billing_header(&mut other);
        assert_eq!(
            other,
            json!("Mentions x-anthropic-billing-header: only mid-line.")
        );
    }
}
