//! Request translation between chat completions and the Responses API, for models that list only one of
//! them (`supported_endpoints`). Answers come back through the shared event vocabulary (see `encode`).

use copilot_api::{
    ChatRequest, Content, ContentPart, ImageDetail, Message, ReasoningConfig, ResponseContent,
    ResponseFormat, ResponseItem, ResponsesRequest, ResponsesTool, Role, Tool, ToolCall,
    ToolChoice,
};
use serde_json::{Value, json};

use crate::error::Failure;

/// A chat request as a `/responses` request (for responses-only models).
pub(crate) fn chat_to_responses(chat: ChatRequest) -> ResponsesRequest {
    let mut instructions: Vec<String> = Vec::new();
    let mut input = Vec::new();
    for message in chat.messages {
        match message.role {
            Role::System | Role::Developer => instructions.push(message.text()),
            Role::User => input.push(ResponseItem::message(
                Role::User,
                input_parts(message.content),
            )),
            Role::Assistant => {
                if let Some(opaque) = message.reasoning_opaque.clone() {
                    input.push(ResponseItem::reasoning(
                        message
                            .extra
                            .get_as::<String>("cot_id")
                            .and_then(Result::ok),
                        Vec::new(),
                        Some(opaque),
                    ));
                }
                let text = message.text();
                if !text.is_empty() {
                    input.push(ResponseItem::message(
                        Role::Assistant,
                        vec![ResponseContent::output_text(text)],
                    ));
                }
                for call in message.tool_calls {
                    input.push(ResponseItem::function_call(
                        call.id,
                        call.function.name,
                        call.function.arguments,
                    ));
                }
            }
            Role::Tool | Role::Function => input.push(ResponseItem::function_call_output(
                message.tool_call_id.unwrap_or_default(),
                message
                    .content
                    .as_ref()
                    .map(Content::text)
                    .unwrap_or_default(),
            )),
            _ => input.push(ResponseItem::message(
                message.role,
                input_parts(message.content),
            )),
        }
    }
    let mut request = ResponsesRequest::new(chat.model, input);
    if !instructions.is_empty() {
        request.instructions = Some(instructions.join("\n\n"));
    }
    request.tools = chat
        .tools
        .into_iter()
        .map(|tool| {
            let mut out = ResponsesTool::function(
                tool.function.name,
                tool.function.description.unwrap_or_default(),
                Some(tool.function.parameters),
            );
            out.strict = tool.function.strict;
            out
        })
        .collect();
    request.tool_choice = chat.tool_choice.map(|choice| match choice {
        ToolChoice::Function(name) => ToolChoice::Other(json!({"type": "function", "name": name})),
        other => other,
    });
    let max_completion = chat
        .extra
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    request.max_output_tokens = max_completion.or(chat.max_tokens);
    if let Some(effort) = chat.reasoning_effort {
        request = request.reasoning(ReasoningConfig::new(Some(effort), Some("auto".to_owned())));
    }
    request.store = Some(false);
    if let Some(format) = chat.response_format {
        request.text = Some(json!({ "format": format.to_responses_format() }));
    }
    if let Some(t) = chat.temperature {
        request.extra.insert("temperature".to_owned(), json!(t));
    }
    if let Some(p) = chat.top_p {
        request.extra.insert("top_p".to_owned(), json!(p));
    }
    if let Some(parallel) = chat.parallel_tool_calls {
        request
            .extra
            .insert("parallel_tool_calls".to_owned(), json!(parallel));
    }
    request
}

fn input_parts(content: Option<Content>) -> Vec<ResponseContent> {
    match content {
        None => Vec::new(),
        Some(Content::Text(text)) => vec![ResponseContent::input_text(text)],
        Some(Content::Parts(parts)) => parts
            .into_iter()
            .map(|part| match part {
                ContentPart::Text { text } => ResponseContent::input_text(text),
                ContentPart::ImageUrl { url, detail } => ResponseContent::input_image(url, detail),
                ContentPart::Other(value) => ResponseContent::Other(value),
            })
            .collect(),
    }
}

/// Normalises a `/responses` body the way the API accepts it, so it decodes into typed items: `input` as a
/// plain string becomes one user message; messages without `type` get `"type":"message"`; string content
/// becomes one text part; `function_call_output.output` given as parts becomes their text; tools other
/// than functions are dropped.
pub(crate) fn normalize_responses_body(body: &mut Value) -> Result<(), Failure> {
    let Some(object) = body.as_object_mut() else {
        return Err(Failure::bad_request(
            "the request body must be a JSON object",
        ));
    };
    match object.get_mut("input") {
        Some(Value::String(text)) => {
            let text = std::mem::take(text);
            object.insert(
                "input".to_owned(),
                json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]),
            );
        }
        Some(Value::Array(items)) => {
            for item in items {
                normalize_item(item);
            }
        }
        None => {
            object.insert("input".to_owned(), json!([]));
        }
        Some(_) => return Err(Failure::bad_request("`input` must be a string or an array")),
    }
    // Built-in tools (`web_search`, `file_search`, `local_shell`, `custom`, …) are OpenAI-hosted or
    // client-specific; Copilot serves function tools only and rejects the request otherwise.
    if let Some(Value::Array(tools)) = object.get_mut("tools") {
        tools.retain(|tool| {
            let function = tool.get("type").and_then(Value::as_str) == Some("function");
            if !function {
                let kind = tool.get("type").and_then(Value::as_str).unwrap_or("?");
                tracing::debug!(kind, "dropping a tool type Copilot does not serve");
            }
            function
        });
    }
    Ok(())
}

fn normalize_item(item: &mut Value) {
    let Some(map) = item.as_object_mut() else {
        return;
    };
    if !map.contains_key("type") && map.contains_key("role") {
        map.insert("type".to_owned(), json!("message"));
    }
    match map.get("type").and_then(Value::as_str) {
        Some("message") => {
            let assistant = map.get("role").and_then(Value::as_str) == Some("assistant");
            if let Some(Value::String(text)) = map.get_mut("content") {
                let text = std::mem::take(text);
                let kind = if assistant {
                    "output_text"
                } else {
                    "input_text"
                };
                map.insert("content".to_owned(), json!([{"type": kind, "text": text}]));
            }
        }
        Some("function_call_output") => {
            if let Some(Value::Array(parts)) = map.get("output") {
                let text: String = parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect();
                map.insert("output".to_owned(), json!(text));
            }
        }
        _ => {}
    }
}

/// A `/responses` request as a chat request (for chat-only models). Items chat cannot express (reasoning
/// items of another model, built-in tool calls) are dropped; non-function tools are dropped.
pub(crate) fn responses_to_chat(request: ResponsesRequest) -> ChatRequest {
    let mut messages: Vec<Message> = Vec::new();
    if let Some(instructions) = request.instructions.filter(|i| !i.is_empty()) {
        messages.push(Message::system(instructions));
    }
    for item in request.input {
        match item {
            ResponseItem::Message { role, content, .. } => {
                let parts: Vec<ContentPart> = content
                    .into_iter()
                    .filter_map(|part| match part {
                        ResponseContent::InputText { text, .. }
                        | ResponseContent::OutputText { text, .. } => Some(ContentPart::text(text)),
                        ResponseContent::InputImage {
                            image_url, detail, ..
                        } => Some(ContentPart::image_url(image_url, detail)),
                        ResponseContent::Other(value) => other_part(value),
                        _ => None,
                    })
                    .collect();
                let content = if parts.iter().all(|p| matches!(p, ContentPart::Text { .. })) {
                    Content::Text(
                        parts
                            .iter()
                            .filter_map(|p| match p {
                                ContentPart::Text { text } => Some(text.as_str()),
                                _ => None,
                            })
                            .collect(),
                    )
                } else {
                    Content::Parts(parts)
                };
                let role = match role {
                    Role::Developer => Role::System,
                    other => other,
                };
                messages.push(Message::new(role, content));
            }
            ResponseItem::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => {
                let call = ToolCall::function(call_id, name, arguments);
                match messages.last_mut() {
                    Some(last) if last.role == Role::Assistant => last.tool_calls.push(call),
                    _ => messages.push(Message::assistant_tool_calls(vec![call])),
                }
            }
            ResponseItem::FunctionCallOutput {
                call_id, output, ..
            } => {
                messages.push(Message::tool(call_id, output));
            }
            ResponseItem::Reasoning { .. } => {}
            ResponseItem::Other(value) => {
                let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
                tracing::debug!(kind, "dropping a /responses input item chat cannot express");
            }
            _ => {}
        }
    }
    let mut chat = ChatRequest::new(request.model, messages);
    chat.tools = request
        .tools
        .into_iter()
        .filter(|tool| tool.kind == "function")
        .map(|tool| {
            let mut out = Tool::function(
                tool.name,
                tool.description.clone().unwrap_or_default(),
                Some(tool.parameters),
            );
            out.function.description = tool.description;
            out.function.strict = tool.strict;
            out
        })
        .collect();
    chat.tool_choice = request.tool_choice.map(|choice| match choice {
        ToolChoice::Other(value)
            if value.get("type").and_then(Value::as_str) == Some("function") =>
        {
            match value.get("name").and_then(Value::as_str) {
                Some(name) => ToolChoice::Function(name.to_owned()),
                None => ToolChoice::Auto,
            }
        }
        ToolChoice::Other(_) => ToolChoice::Auto,
        other => other,
    });
    if chat.tools.is_empty() {
        chat.tool_choice = None;
    }
    chat.max_tokens = request.max_output_tokens;
    chat.reasoning_effort = request.reasoning.and_then(|r| r.effort);
    if let Some(format) = request.text.as_ref().and_then(|t| t.get("format")) {
        // Only a format chat needs: plain text is the default, and an unknown one is left out.
        chat.response_format = ResponseFormat::from_responses_format(format).filter(|format| {
            matches!(
                format,
                ResponseFormat::JsonSchema(_) | ResponseFormat::JsonObject
            )
        });
    }
    for key in ["temperature", "top_p", "parallel_tool_calls", "user"] {
        if let Some(value) = request.extra.get(key) {
            match key {
                "temperature" => chat.temperature = value.as_f64(),
                "top_p" => chat.top_p = value.as_f64(),
                "parallel_tool_calls" => chat.parallel_tool_calls = value.as_bool(),
                _ => chat.user = value.as_str().map(str::to_owned),
            }
        }
    }
    chat
}

fn other_part(value: Value) -> Option<ContentPart> {
    match value.get("type").and_then(Value::as_str) {
        Some("input_image") => {
            let url = value
                .get("image_url")
                .and_then(Value::as_str)
                .map(str::to_owned)?;
            let detail = value
                .get("detail")
                .and_then(|d| serde_json::from_value::<ImageDetail>(d.clone()).ok());
            Some(ContentPart::image_url(url, detail))
        }
        Some("input_text" | "output_text" | "text") => value
            .get("text")
            .and_then(Value::as_str)
            .map(ContentPart::text),
        _ => None,
    }
}
