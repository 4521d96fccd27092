//! /chat/completions: stream shape, tools, reasoning, structured output, vision, n, long answers,
//! Direct mode.

use copilot_mock::{MockConfig, RegisteredToken};
use serde_json::{Value, json};

use crate::support::{
    api_get, api_post, chat_chunks, content_of, copilot_token, json, signed_in, start,
};

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}}, "required": ["city", "days"]}}},
        {"type": "function", "function": {"name": "get_time", "description": "Local time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET"]}}, "required": ["zone"]}}}
    ])
}

async fn stream(server: &copilot_mock::MockServer, token: &str, body: Value) -> Vec<Value> {
    let response = api_post(server, "/chat/completions", token, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    chat_chunks(&response.text().await.unwrap())
}

#[tokio::test]
async fn non_streaming_answers_are_deterministic_and_honour_n() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let body = json!({"model": "gpt-4.1", "n": 2, "messages": [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "What is Rust?"}]});
    let first = json(api_post(&server, "/chat/completions", &token, &body).await).await;
    let second = json(api_post(&server, "/chat/completions", &token, &body).await).await;
    assert_eq!(first["choices"], second["choices"]);
    assert_eq!(first["choices"].as_array().unwrap().len(), 2);
    let text = first["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("What is Rust?"), "{text}");
    assert_eq!(first["choices"][0]["finish_reason"], "stop");
    assert!(
        first["choices"][1]["message"]["content"]
            .as_str()
            .unwrap()
            .ends_with("(choice 1)")
    );
    assert!(first["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn openai_stream_has_copilots_shape() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask = |usage: bool| {
        json!({"model": "gpt-4.1", "stream": true, "stream_options": {"include_usage": usage},
        "messages": [{"role": "user", "content": "Say hello"}]})
    };
    let chunks = stream(&server, &token, ask(true)).await;
    let prelude = &chunks[0];
    assert_eq!(prelude["choices"], json!([]));
    assert_eq!(prelude["id"], "");
    assert_eq!(prelude["created"], 0);
    assert!(prelude["prompt_filter_results"].is_array());
    assert!(
        chunks
            .iter()
            .all(|c| c.get("model").is_none() && c.get("object").is_none())
    );
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": "", "role": "assistant"})
    );
    assert!(chunks[1]["choices"][0]["content_filter_results"].is_object());
    assert!(content_of(&chunks, 0).contains("Say hello"));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let trailing = chunks.last().unwrap();
    assert_eq!(trailing["choices"], json!([]));
    assert!(trailing["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let without = stream(&server, &token, ask(false)).await;
    assert!(without.iter().all(|c| c.get("usage").is_none()));
}

#[tokio::test]
async fn model_fields_can_be_added_for_strict_clients() {
    let (server, token) = signed_in(MockConfig::new().chunk_model_fields(true)).await;
    let chunks = stream(
        &server,
        &token,
        json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "gpt-4.1" && c["object"] == "chat.completion.chunk")
    );
}

#[tokio::test]
async fn openai_tool_calls_use_distinct_indices_and_schema_valid_arguments() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let chunks = stream(
        &server,
        &token,
        json!({"model": "gpt-4.1", "stream": true, "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Call get_weather for Paris"}]}),
    )
    .await;
    let first = &chunks[1]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    let call = &first["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "");
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    let arguments: Value = serde_json::from_str(&arguments).unwrap();
    assert!(arguments["city"].is_string());
    assert_eq!(arguments["days"], 1);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );

    // "use tools" triggers the first tool; tool_choice none never calls.
    let generic = json(
        api_post(
            &server,
            "/chat/completions",
            &token,
            &json!({"model": "gpt-4.1", "tools": weather_tools(),
        "messages": [{"role": "user", "content": "please use tools"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        generic["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    let none = json(
        api_post(
            &server,
            "/chat/completions",
            &token,
            &json!({"model": "gpt-4.1", "tools": weather_tools(), "tool_choice": "none",
        "messages": [{"role": "user", "content": "get_weather please"}]}),
        )
        .await,
    )
    .await;
    assert!(none["choices"][0]["message"]["content"].is_string());
}

#[tokio::test]
async fn claude_calls_two_tools_at_index_zero_with_usage_on_finish() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask = |stream: bool| {
        json!({"model": "claude-sonnet-4.5", "stream": stream, "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Use get_weather and get_time"}]})
    };
    let chunks = stream(&server, &token, ask(true)).await;
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert!(calls.iter().all(|c| c["index"] == 0));
    let ids: Vec<&str> = calls.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|id| id.starts_with("tooluse_")) && ids[0] != ids[1]);
    let finish = chunks.last().unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert!(finish["usage"]["total_tokens"].as_u64().is_some());
    assert!(content_of(&chunks, 0).contains("get_weather"));

    let whole = json(api_post(&server, "/chat/completions", &token, &ask(false)).await).await;
    assert_eq!(whole["choices"][0]["finish_reason"], "stop");
    assert_eq!(whole["choices"][1]["finish_reason"], "tool_calls");
    assert_eq!(
        whole["choices"][1]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_tool_caller_model_always_calls_two_tools_at_index_zero() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let calls_of = |chunks: &[Value]| -> Vec<(u64, String, String)> {
        let mut calls: Vec<(u64, String, String)> = Vec::new();
        for delta in chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        {
            if let Some(name) = delta["function"]["name"].as_str() {
                calls.push((
                    delta["index"].as_u64().unwrap(),
                    name.to_owned(),
                    String::new(),
                ));
            }
            let fragment = delta["function"]["arguments"].as_str().unwrap_or_default();
            calls.last_mut().unwrap().2.push_str(fragment);
        }
        calls
    };

    // No tools offered: it still calls two (a coding agent's), both at index 0.
    let chunks = stream(
        &server,
        &token,
        json!({"model": "claude-tool-caller", "stream": true,
               "messages": [{"role": "user", "content": "Hello"}]}),
    )
    .await;
    let calls = calls_of(&chunks);
    assert_eq!(
        calls,
        [
            (
                0,
                "read_file".to_owned(),
                r#"{"path":"README.md"}"#.to_owned()
            ),
            (
                0,
                "run_in_terminal".to_owned(),
                r#"{"command":"cargo test"}"#.to_owned()
            ),
        ]
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );

    // With tools offered and after tool results it calls the offered ones again.
    let chunks = stream(
        &server,
        &token,
        json!({"model": "claude-tool-caller", "stream": true, "tools": weather_tools(), "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "tooluse_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "Sunny"}]}),
    )
    .await;
    let names: Vec<String> = calls_of(&chunks).into_iter().map(|c| c.1).collect();
    assert_eq!(names, ["get_weather", "get_time"]);
}

#[tokio::test]
async fn tool_results_are_used_in_the_next_answer() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let body = json!({"model": "gpt-4.1", "tools": weather_tools(), "messages": [
        {"role": "user", "content": "get_weather for Paris"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21C"}]});
    let answer = json(api_post(&server, "/chat/completions", &token, &body).await).await;
    assert!(
        answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("Sunny, 21C")
    );
}

#[tokio::test]
async fn reasoning_deltas_follow_each_vendor() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let claude = stream(
        &server,
        &token,
        json!({"model": "claude-sonnet-4.5", "stream": true, "thinking_budget": 2048,
        "messages": [{"role": "user", "content": "Why?"}]}),
    )
    .await;
    let reasoning: String = claude
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_text"].as_str())
        .collect();
    assert!(reasoning.contains("Why?"));
    assert!(
        claude
            .iter()
            .any(|c| c["choices"][0]["delta"]["reasoning_opaque"].is_string())
    );
    assert!(claude.last().unwrap()["usage"].is_object());

    let o_series = stream(
        &server,
        &token,
        json!({"model": "o4-mini", "stream": true,
        "messages": [{"role": "user", "content": "Why?"}]}),
    )
    .await;
    let finish_at = o_series
        .iter()
        .position(|c| c["choices"][0]["finish_reason"] == "stop")
        .unwrap();
    let summary_at = o_series
        .iter()
        .position(|c| c["choices"][0]["delta"]["cot_summary"].is_string())
        .unwrap();
    let cot_id_at = o_series
        .iter()
        .position(|c| c["choices"][0]["delta"]["cot_id"].is_string())
        .unwrap();
    assert!(summary_at < finish_at && finish_at < cot_id_at);
}

#[tokio::test]
async fn json_schema_response_format_yields_a_valid_instance() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let schema = json!({"type": "object", "required": ["name", "tags", "kind", "when"], "additionalProperties": false,
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"$ref": "#/$defs/kind"}, "when": {"type": ["string", "null"], "format": "date"}},
        "$defs": {"kind": {"enum": ["a", "b"]}}});
    let answer = json(api_post(&server, "/chat/completions", &token, &json!({"model": "gpt-4.1",
        "response_format": {"type": "json_schema", "json_schema": {"name": "thing", "schema": schema, "strict": true}},
        "messages": [{"role": "user", "content": "give me a thing"}]})).await).await;
    let object: Value =
        serde_json::from_str(answer["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(object["name"].is_string());
    assert_eq!(object["tags"].as_array().unwrap().len(), 2);
    assert_eq!(object["kind"], "a");
    assert_eq!(object["when"], "2026-01-01");
}

#[tokio::test]
async fn vision_requests_need_the_vision_header() {
    let (server, client) = start(MockConfig::new()).await;
    let token = copilot_token(&server).await;
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]});
    assert_eq!(
        api_post(&server, "/chat/completions", &token, &body)
            .await
            .status(),
        400
    );
    let with_header = client
        .post(format!("{}/chat/completions", server.copilot_api_url()))
        .header("authorization", format!("Bearer {token}"))
        .header("copilot-vision-request", "true")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(with_header.status(), 200);
}

#[tokio::test]
async fn n_choices_stream_one_after_another() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let chunks = stream(
        &server,
        &token,
        json!({"model": "gpt-4.1", "stream": true, "n": 3,
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let order: Vec<u64> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["index"].as_u64())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c["choices"][0]["finish_reason"] == "stop")
            .count(),
        3
    );
    assert!(content_of(&chunks, 2).ends_with("(choice 2)"));
}

#[tokio::test]
async fn long_answers_stream_many_realistic_chunks() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let response = api_post(
        &server,
        "/chat/completions",
        &token,
        &json!({"model": "gpt-4.1", "stream": true,
        "messages": [{"role": "user", "content": "long answer 50"}]}),
    )
    .await;
    let body = response.text().await.unwrap();
    let events = crate::support::events(&body);
    let content: Vec<&String> = events.iter().filter(|e| e.contains("Chunk 0")).collect();
    assert_eq!(content.len(), 50);
    assert!(
        content.iter().all(|e| (400..700).contains(&e.len())),
        "{}",
        content[0].len()
    );

    let (configured, _) = start(MockConfig::new().long_answer_chunks(7)).await;
    let token = copilot_token(&configured).await;
    let chunks = stream(
        &configured,
        &token,
        json!({"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| s.starts_with("Chunk")))
            .count(),
        7
    );
}

#[tokio::test]
async fn direct_mode_accepts_github_tokens_as_bearer() {
    let pat = "github_pat_11AAAAAAA0directdirectdirectdirect";
    let (server, client) = start(
        MockConfig::new()
            .direct_mode(true)
            .token(RegisteredToken::new(pat, "octocat")),
    )
    .await;
    let github = server.mint_github_token("octocat");
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(
        api_post(&server, "/chat/completions", &github, &body)
            .await
            .status(),
        200
    );
    let send = |auth: String, integration: &'static str| {
        client
            .post(format!("{}/chat/completions", server.copilot_api_url()))
            .header("authorization", auth)
            .header("copilot-integration-id", integration)
            .body(body.to_string())
            .send()
    };
    let scheme = send(format!("token {github}"), "vscode-chat")
        .await
        .unwrap();
    assert_eq!(scheme.status(), 400);
    let pat_wrong = send(format!("Bearer {pat}"), "vscode-chat").await.unwrap();
    assert_eq!(pat_wrong.status(), 400);
    assert!(
        pat_wrong
            .text()
            .await
            .unwrap()
            .contains("Personal Access Tokens are not supported")
    );
    assert_eq!(
        send(format!("Bearer {pat}"), "copilot-developer-cli")
            .await
            .unwrap()
            .status(),
        200
    );

    let (strict, _) = start(MockConfig::new()).await;
    let github = strict.mint_github_token("octocat");
    assert_eq!(
        api_post(&strict, "/chat/completions", &github, &body)
            .await
            .status(),
        401
    );
}

/// The 400 bodies Copilot sends for a prompt over `max_prompt_tokens`, as quoted in public issues.
fn captured_prompt_too_long() -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/prompt_too_long_bodies.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("a JSON line");
            serde_json::from_str(entry["body"].as_str().expect("a body")).expect("a JSON body")
        })
        .collect()
}

#[tokio::test]
async fn the_small_context_model_counts_prompts_by_size_and_refuses_long_ones_as_copilot_does() {
    use copilot_mock::{SMALL_CONTEXT_MODEL, SMALL_CONTEXT_PROMPT_TOKENS};
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask = |words: usize| {
        json!({"model": SMALL_CONTEXT_MODEL, "messages": [
            {"role": "user", "content": vec!["word"; words].join(" ")}]})
    };
    let usage = |body: &Value| body["usage"]["prompt_tokens"].as_u64().unwrap();
    let short = usage(&json(api_post(&server, "/chat/completions", &token, &ask(10)).await).await);
    let long = usage(&json(api_post(&server, "/chat/completions", &token, &ask(1000)).await).await);
    // "word " is 5 bytes: 100 times the text is about 100 times the tokens, framing aside.
    assert!(long > 1000 && long < 1300, "{long}");
    assert!(short * 20 < long, "{short} vs {long}");

    let refused = api_post(&server, "/chat/completions", &token, &ask(2000)).await;
    assert_eq!(refused.status(), 400);
    let body = json(refused).await;
    let captured = captured_prompt_too_long();
    let keys = |v: &Value| {
        v["error"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for real in &captured {
        assert_eq!(keys(&body), keys(real), "{body} vs {real}");
        assert_eq!(body["error"]["code"], real["error"]["code"]);
    }
    let message = body["error"]["message"].as_str().unwrap();
    let expected_tail = format!(" exceeds the limit of {SMALL_CONTEXT_PROMPT_TOKENS}");
    assert!(message.starts_with("prompt token count of "), "{message}");
    assert!(message.ends_with(&expected_tail), "{message}");
    let count: u64 = message["prompt token count of ".len()..message.len() - expected_tail.len()]
        .parse()
        .unwrap();
    assert!(count > SMALL_CONTEXT_PROMPT_TOKENS, "{message}");

    // The catalogue says so too.
    let response = api_get(&server, &format!("/models/{SMALL_CONTEXT_MODEL}"), &token).await;
    let entry = json(response).await;
    assert_eq!(
        entry["capabilities"]["limits"]["max_prompt_tokens"],
        SMALL_CONTEXT_PROMPT_TOKENS
    );
}

#[tokio::test]
async fn summary_requests_get_a_short_digest_however_long_the_conversation() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let transcript: Vec<String> = (0..300).map(|n| format!("User: question {n}")).collect();
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content":
        format!("Summarise the conversation below.\n{}", transcript.join("\n"))}]});
    let answer = json(api_post(&server, "/chat/completions", &token, &body).await).await;
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        text.starts_with("Summary of the conversation so far"),
        "{text}"
    );
    assert!(
        text.contains("question 0") && text.contains("question 299"),
        "{text}"
    );
    assert!(
        !text.contains("question 150"),
        "the middle is condensed: {text}"
    );
    assert!(text.split_whitespace().count() < 80, "{text}");
}
