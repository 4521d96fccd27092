//! What the fake assistant says: deterministic replies, tool-call and reasoning triggers,
//! long answers. Shared by `/chat/completions` and `/responses`.

use serde_json::Value;

use super::schema;

/// A tool the request offers.
#[derive(Debug, Clone)]
pub(crate) struct ToolDef {
    pub name: String,
    pub parameters: Value,
}

impl ToolDef {
    /// The tools `request` declares in its `tools` array, in any dialect: each tool's definition sits at the
    /// JSON pointer `at` inside its entry (`""` for the entry itself, `"/function"` in chat completions) and
    /// keeps its JSON schema under `schema` (`parameters`, or Anthropic's `input_schema`). An entry without a
    /// name is skipped; one without a schema takes any object.
    pub(crate) fn declared(request: &Value, at: &str, schema: &str) -> Vec<ToolDef> {
        let Some(tools) = request.get("tools").and_then(Value::as_array) else {
            return Vec::new();
        };
        tools
            .iter()
            .filter_map(|tool| {
                let def = tool.pointer(at)?;
                Some(ToolDef {
                    name: def.get("name")?.as_str()?.to_string(),
                    parameters: def
                        .get(schema)
                        .cloned()
                        .unwrap_or(serde_json::json!({"type": "object"})),
                })
            })
            .collect()
    }
}

/// A tool call the assistant will make.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCall {
    pub name: String,
    pub arguments: String,
}

/// The deterministic reply to a prompt.
pub(crate) fn reply_text(prompt: &str) -> String {
    let prompt = prompt.trim();
    if asks_to_summarise(prompt) {
        summary_text(prompt)
    } else if prompt.is_empty() {
        "Hello! How can I help you today?".to_string()
    } else {
        format!("You said: \"{prompt}\". This is a deterministic answer from copilot-mock.")
    }
}

/// The reply after tool results came back: it quotes them.
pub(crate) fn tool_answer(results: &[String]) -> String {
    format!("The tool results were: {}.", results.join("; "))
}

/// Splits text into stream pieces of up to three words, keeping leading spaces like real streams.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            current.push(' ');
        }
        current.push_str(word);
        words += 1;
        if words == 3 {
            out.push(std::mem::take(&mut current));
            words = 0;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `long answer [N]` in the prompt asks for N (default 100) long-answer chunks.
pub(crate) fn long_answer_request(prompt: &str) -> Option<usize> {
    let lower = prompt.to_ascii_lowercase();
    let at = lower.find("long answer")?;
    let rest = lower[at + "long answer".len()..].trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(digits.parse().unwrap_or(100))
}

/// `n` content pieces for throughput tests; with the chunk envelope each event is ~500 bytes.
pub(crate) fn long_pieces(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Chunk {i:05} of a long answer: lorem ipsum dolor sit amet. "))
        .collect()
}

/// Whether the prompt asks for visible thinking (`think` anywhere, case-insensitive).
pub(crate) fn asks_to_think(prompt: &str) -> bool {
    prompt.to_ascii_lowercase().contains("think")
}

/// The reasoning summary shown for a prompt.
pub(crate) fn reasoning_text(prompt: &str) -> String {
    let short: String = prompt.chars().take(60).collect();
    format!("The user asked about \"{short}\". I will answer directly and deterministically.")
}

/// Decides which tools to call. Trigger: tools offered, `tool_choice` not `none`, and either
/// `tool_choice` is `required`/a named function, or the prompt names a tool, or it says
/// "use tools"/"use a tool"/"use tool". At most `max` calls.
pub(crate) fn choose_tools(
    tools: &[ToolDef],
    tool_choice: Option<&Value>,
    prompt: &str,
    max: usize,
) -> Vec<PlannedCall> {
    if tools.is_empty() || tool_choice.and_then(Value::as_str) == Some("none") {
        return Vec::new();
    }
    let forced_name = tool_choice
        .and_then(|c| c.pointer("/function/name").or_else(|| c.get("name")))
        .and_then(Value::as_str);
    let required = tool_choice.and_then(Value::as_str) == Some("required");
    let lower = prompt.to_ascii_lowercase();
    let asked =
        lower.contains("use tools") || lower.contains("use a tool") || lower.contains("use tool");
    let chosen: Vec<&ToolDef> = if let Some(name) = forced_name {
        tools.iter().filter(|t| t.name == name).collect()
    } else {
        let named: Vec<&ToolDef> = tools.iter().filter(|t| prompt.contains(&t.name)).collect();
        if !named.is_empty() {
            named
        } else if required || asked {
            tools.iter().take(1).collect()
        } else {
            Vec::new()
        }
    };
    chosen
        .into_iter()
        .take(max)
        .map(|t| PlannedCall {
            name: t.name.clone(),
            arguments: schema::example(&t.parameters, &t.name).to_string(),
        })
        .collect()
}

/// The two calls of a model that always calls tools: the first two offered tools (arguments from their
/// schemas), or, when the request offers none, two tools of a coding agent the client never declared.
pub(crate) fn insistent_tool_calls(tools: &[ToolDef]) -> Vec<PlannedCall> {
    if tools.is_empty() {
        return vec![
            PlannedCall {
                name: "read_file".to_string(),
                arguments: r#"{"path":"README.md"}"#.to_string(),
            },
            PlannedCall {
                name: "run_in_terminal".to_string(),
                arguments: r#"{"command":"cargo test"}"#.to_string(),
            },
        ];
    }
    tools
        .iter()
        .take(2)
        .map(|t| PlannedCall {
            name: t.name.clone(),
            arguments: schema::example(&t.parameters, &t.name).to_string(),
        })
        .collect()
}

/// Splits tool-call arguments into a few fragments, as streams deliver them.
pub(crate) fn argument_fragments(arguments: &str) -> Vec<String> {
    let chars: Vec<char> = arguments.chars().collect();
    chars.chunks(8).map(|c| c.iter().collect()).collect()
}

/// Rough token count (4 bytes per token), never 0 for non-empty text.
pub(crate) fn tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Whether the prompt asks for a summary (`summar` anywhere, case-insensitive): compaction requests do.
pub(crate) fn asks_to_summarise(prompt: &str) -> bool {
    prompt.to_ascii_lowercase().contains("summar")
}

/// Words of a summary taken from each end of the text being summarised.
const SUMMARY_WORDS: usize = 30;

/// The answer to a summary request: a short, deterministic digest of the text after the instruction (the
/// prompt's first line), at most `2 × SUMMARY_WORDS` of its words, so a summary stays small however long
/// the conversation it condenses.
pub(crate) fn summary_text(prompt: &str) -> String {
    let body = prompt.split_once('\n').map_or(prompt, |(_, rest)| rest);
    let words: Vec<&str> = body.split_whitespace().collect();
    let digest = if words.len() <= 2 * SUMMARY_WORDS {
        words.join(" ")
    } else {
        format!(
            "{} … {}",
            words[..SUMMARY_WORDS].join(" "),
            words[words.len() - SUMMARY_WORDS..].join(" ")
        )
    };
    format!(
        "Summary of the conversation so far ({} words condensed by copilot-mock): {digest}",
        words.len()
    )
}

/// Tokens an image costs, however it is encoded (a data URL or base64 `data`), as vision models count a
/// tile rather than the bytes.
const IMAGE_TOKENS: u64 = 765;

/// Tokens of a JSON value as sent: 4 bytes of JSON per token, except images (see [`IMAGE_TOKENS`]).
fn json_tokens(value: &Value) -> u64 {
    match value {
        Value::String(text) if text.starts_with("data:") => IMAGE_TOKENS,
        Value::Array(items) => items.iter().map(json_tokens).sum::<u64>() + 1,
        Value::Object(fields) => {
            fields
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) if key == "data" && text.len() > 256 => IMAGE_TOKENS,
                    _ => tokens(key) + json_tokens(value),
                })
                .sum::<u64>()
                + 1
        }
        other => tokens(&other.to_string()),
    }
}

/// The prompt tokens of a request: every message (or input item), the system prompt and the tool
/// definitions as sent, at about 4 bytes of JSON per token (an image counts [`IMAGE_TOKENS`]), plus 3 per
/// message for the chat framing. Roughly proportional to the request's size, as a real tokenizer's count is.
pub(crate) fn prompt_tokens(request: &Value) -> u64 {
    let items = |key: &str| {
        request
            .get(key)
            .and_then(Value::as_array)
            .map_or(0, |items| {
                items.iter().map(|item| json_tokens(item) + 3).sum::<u64>()
            })
    };
    let whole = |key: &str| request.get(key).map_or(0, json_tokens);
    let input = match request.get("input") {
        Some(Value::String(text)) => tokens(text) + 3,
        _ => items("input"),
    };
    items("messages") + input + whole("system") + whole("instructions") + whole("tools") + 3
}
