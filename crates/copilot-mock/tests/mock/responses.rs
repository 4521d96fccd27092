//! /responses: non-stream object, named stream events, function calls.

use copilot_mock::MockConfig;
use serde_json::{Value, json};

use crate::support::{api_post, events, json, signed_in};

#[tokio::test]
async fn responses_answers_in_both_modes() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let whole = json(api_post(&server, "/responses", &token, &json!({"model": "gpt-5.3-codex", "store": false,
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Explain traits"}]}]})).await).await;
    assert_eq!(whole["object"], "response");
    assert_eq!(whole["status"], "completed");
    let text = whole["output"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("Explain traits"));

    let response = api_post(
        &server,
        "/responses",
        &token,
        &json!({"model": "gpt-5.3-codex", "stream": true,
        "reasoning": {"effort": "low", "summary": "auto"}, "input": "Explain traits"}),
    )
    .await;
    let body = response.text().await.unwrap();
    let mut names = Vec::new();
    for event in events(&body) {
        let (name_line, data_line) = event.split_once('\n').unwrap();
        let name = name_line.strip_prefix("event: ").unwrap();
        let data: Value = serde_json::from_str(data_line.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["type"], name);
        names.push(name.to_string());
    }
    assert_eq!(names.first().map(String::as_str), Some("response.created"));
    assert_eq!(names.last().map(String::as_str), Some("response.completed"));
    for expected in [
        "response.output_text.delta",
        "response.output_text.done",
        "response.reasoning_summary_text.delta",
        "response.output_item.done",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
}

#[tokio::test]
async fn responses_function_calls_and_outputs() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let tools = json!([{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]);
    let call = json(
        api_post(
            &server,
            "/responses",
            &token,
            &json!({"model": "gpt-5.4", "tools": tools,
        "input": "use lookup please"}),
        )
        .await,
    )
    .await;
    let item = &call["output"][0];
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "lookup");
    assert!(item["call_id"].as_str().unwrap().starts_with("call_"));

    let answer = json(
        api_post(
            &server,
            "/responses",
            &token,
            &json!({"model": "gpt-5.4", "tools": tools, "input": [
        {"role": "user", "content": "use lookup please"},
        {"type": "function_call", "call_id": item["call_id"], "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": item["call_id"], "output": "42 results"}]}),
        )
        .await,
    )
    .await;
    assert!(
        answer["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("42 results")
    );

    let chat_only = api_post(
        &server,
        "/responses",
        &token,
        &json!({"model": "gemini-3.5-flash", "input": "x"}),
    )
    .await;
    assert_eq!(chat_only.status(), 400);
    assert!(
        chat_only
            .text()
            .await
            .unwrap()
            .contains("not supported via Responses API")
    );
}
