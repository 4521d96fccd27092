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

/// A tool call the assistant will make.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCall {
    pub name: String,
    pub arguments: String,
}

/// The deterministic reply to a prompt.
pub(crate) fn reply_text(prompt: &str) -> String {
    let prompt = prompt.trim();
    if prompt.is_empty() {
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
