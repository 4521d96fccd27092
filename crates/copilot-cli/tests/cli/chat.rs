//! `chat`: streaming, `--json`, `--no-stream`, stdin prompts and the error exits.

use copilot_mock::{Endpoint, Fault};
use serde_json::{Value, json};

use crate::support::{TestMock, assert_one_line_error, text};

fn mock_answer(prompt: &str) -> String {
    format!("You said: \"{prompt}\". This is a deterministic answer from copilot-mock.")
}

/// The one JSON object `--json` printed, asserting that it is the only line on stdout.
fn one_json_object(output: &std::process::Output) -> Value {
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn chat_streams_the_answer_to_stdout() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&["chat", "Hello mock"]);
    assert_eq!(
        text(&output.stdout),
        format!("{}\n", mock_answer("Hello mock"))
    );
    // The cost goes to stderr, so the answer can be piped alone.
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(" AI credits; session ") && stderr.starts_with('['),
        "{stderr}"
    );
    let request = &mock.server().requests_to(Endpoint::ChatCompletions)[0];
    let body = request.body_json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Hello mock"}])
    );
    assert_eq!(body["model"], "gpt-4.1", "the models list's chat default");
}

#[test]
fn chat_json_prints_exactly_one_object() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&[
        "chat",
        "--json",
        "--model",
        "gpt-4o",
        "--system",
        "Be brief.",
        "Hi",
    ]);
    let answer = one_json_object(&output);
    let usage = &answer["usage"];
    assert!(usage["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
    assert_eq!(
        answer,
        json!({
            "model": "gpt-4o",
            "content": mock_answer("Hi"),
            "reasoning": null,
            "tool_calls": [],
            "finish_reason": "stop",
            "usage": usage.clone(),
            "cost_nano_aiu": answer["cost_nano_aiu"].clone(),
            "ai_credits": answer["ai_credits"].clone(),
        })
    );
    // The mock prices gpt-4o at 1,000 nano-AIU per input and 4,000 per output token.
    let nano = usage["prompt_tokens"].as_u64().unwrap() * 1_000
        + usage["completion_tokens"].as_u64().unwrap() * 4_000;
    assert_eq!(answer["cost_nano_aiu"].as_u64(), Some(nano));
    assert_eq!(answer["ai_credits"].as_f64(), Some(nano as f64 / 1e9));
    let body = mock.server().requests_to(Endpoint::ChatCompletions)[0]
        .body_json()
        .unwrap();
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    );
}

#[test]
fn chat_json_reports_reasoning() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&["chat", "--json", "--model", "o4-mini", "Why?"]);
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        answer["reasoning"].as_str().is_some_and(|r| !r.is_empty()),
        "{answer}"
    );
    assert_eq!(answer["content"], mock_answer("Why?"));

    // Not streamed, the o-series summary still comes back (from the message's `cot_summary`).
    let output = mock.run_ok(&[
        "chat",
        "--json",
        "--no-stream",
        "--model",
        "o4-mini",
        "Why?",
    ]);
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        answer["reasoning"].as_str().is_some_and(|r| !r.is_empty()),
        "{answer}"
    );
    let chats = mock.server().requests_to(Endpoint::ChatCompletions);
    let body = chats.last().unwrap().body_json().unwrap();
    assert!(body.get("stream").is_none_or(|s| s == false), "{body}");
}

#[test]
fn chat_no_stream_sends_a_non_streamed_request() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&["chat", "--no-stream", "--json", "Hello"]);
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["content"], mock_answer("Hello"));
    assert_eq!(answer["finish_reason"], "stop");
    assert!(answer["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let body = mock.server().requests_to(Endpoint::ChatCompletions)[0]
        .body_json()
        .unwrap();
    assert!(body.get("stream").is_none_or(|s| s == false), "{body}");

    let plain = mock.run(&["chat", "--no-stream", "Hello"]);
    assert_eq!(text(&plain.stdout), format!("{}\n", mock_answer("Hello")));
}

#[test]
fn chat_reads_the_prompt_from_stdin() {
    let mock = TestMock::signed_in();
    let output = mock.run_with_stdin(&["chat", "-"], "from a pipe");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("{}\n", mock_answer("from a pipe"))
    );

    // No prompt and stdin is not a terminal: stdin is the prompt too.
    let output = mock.run_with_stdin(&["chat"], "piped");
    assert_eq!(text(&output.stdout), format!("{}\n", mock_answer("piped")));

    let empty = mock.run_with_stdin(&["chat", "-"], "  \n");
    assert_one_line_error(&empty, 2, "invalid input", "the prompt is empty");
}

#[test]
fn rate_limited_chat_exits_1_naming_the_kind_and_message() {
    // A Retry-After beyond the client's retry budget: it gives up at once instead of waiting.
    let mock = TestMock::with_chat_fault(Fault::rate_limited(3600));
    let output = mock.run(&["chat", "Hello"]);
    assert_one_line_error(&output, 1, "rate limited", "you have been rate-limited");
    assert!(text(&output.stderr).contains("retry after 3600s"));
}

#[test]
fn quota_exceeded_chat_exits_1_naming_the_kind_and_message() {
    let mock = TestMock::with_chat_fault(Fault::quota_exceeded());
    let output = mock.run(&["chat", "--json", "Hello"]);
    assert_one_line_error(
        &output,
        1,
        "quota exceeded",
        "You have no quota (HTTP 402, quota_exceeded)",
    );
}

#[test]
fn unsupported_model_exits_1_naming_the_kind_and_message() {
    let mock = TestMock::signed_in();
    let output = mock.run(&["chat", "--model", "gpt-2-imaginary", "Hello"]);
    assert_one_line_error(&output, 1, "model not supported", "model_not_supported");
}

#[test]
fn revoked_token_exits_4_as_unauthorized() {
    let mock = TestMock::start();
    let token = mock.sign_in();
    assert!(mock.server().revoke_github_token(&token));
    let output = mock.run(&["chat", "Hello"]);
    assert_one_line_error(
        &output,
        4,
        "unauthorized",
        "Bad credentials; run `copilot-rs auth login` again",
    );
}

#[test]
fn mid_stream_error_is_reported_after_the_partial_answer() {
    let mock = TestMock::with_chat_fault(Fault::MidStreamError {
        after_events: 3,
        code: "model_overloaded".into(),
        message: "The model is overloaded".into(),
    });
    let output = mock.run(&["chat", "Hello"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("The model is overloaded"), "{stderr}");
}

/// The model's two calls as `--json` must show them (the mock's `claude-tool-caller` always calls these two
/// on index 0 when no tools are offered).
fn assert_returned_calls(answer: &Value) {
    assert_eq!(answer["finish_reason"], "tool_calls", "{answer}");
    let calls = answer["tool_calls"].as_array().expect("tool_calls");
    let shown: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["arguments"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("read_file", r#"{"path":"README.md"}"#),
            ("run_in_terminal", r#"{"command":"cargo test"}"#)
        ]
    );
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(
        ids.iter().all(|id| id.starts_with("tooluse_")) && ids[0] != ids[1],
        "{ids:?}"
    );
    assert_eq!(
        calls[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["arguments", "id", "name"]
    );
}

/// Every request the mock received: one, sent as the user's.
fn assert_one_user_request(mock: &TestMock, expected_total: usize) {
    let chats = mock.server().requests_to(Endpoint::ChatCompletions);
    assert_eq!(chats.len(), expected_total, "one request per CLI turn");
    assert!(
        chats
            .iter()
            .all(|r| r.header("x-initiator") == Some("user"))
    );
    assert!(
        chats
            .iter()
            .all(|r| r.body_json().unwrap().get("tools").is_none()),
        "the CLI offers no tools"
    );
}

/// Runs `chat <flags> --model claude-tool-caller "What is here?"` (the `nth` CLI turn against `mock`) and
/// checks that it sent exactly one more request, as the user's.
fn ask_the_tool_caller(mock: &TestMock, flags: &[&str], nth: usize) -> std::process::Output {
    let mut args = vec!["chat"];
    args.extend_from_slice(flags);
    args.extend(["--model", "claude-tool-caller", "What is here?"]);
    let output = mock.run_ok(&args);
    assert_one_user_request(mock, nth);
    output
}

#[test]
fn chat_hands_tool_calls_back_after_one_request() {
    let mock = TestMock::signed_in();
    let output = ask_the_tool_caller(&mock, &[], 1);
    assert_eq!(
        text(&output.stdout),
        "I'll use read_file and run_in_terminal to answer that.\n\
         The model asked to run 2 tools (copilot-rs runs no tools):\n  \
         read_file {\"path\":\"README.md\"}\n  \
         run_in_terminal {\"command\":\"cargo test\"}\n"
    );

    let answer = one_json_object(&ask_the_tool_caller(&mock, &["--json"], 2));
    assert_returned_calls(&answer);
    assert_eq!(
        answer["content"],
        "I'll use read_file and run_in_terminal to answer that."
    );

    // Not streamed: Copilot splits Claude's text and calls into two choices; both still arrive.
    let output = ask_the_tool_caller(&mock, &["--json", "--no-stream"], 3);
    assert_returned_calls(&serde_json::from_slice(&output.stdout).unwrap());
}

#[test]
fn chat_max_ai_credits_zero_refuses_the_turn_before_anything_is_sent() {
    let mock = TestMock::signed_in();
    let output = mock.run(&["chat", "--max-ai-credits", "0", "Hello mock"]);
    assert_one_line_error(&output, 1, "budget spent", "AI-credit budget is spent");
    assert!(text(&output.stdout).is_empty());
    assert!(
        mock.server()
            .requests_to(Endpoint::ChatCompletions)
            .is_empty()
    );
}

#[test]
fn chat_max_ai_credits_lets_the_turn_that_crosses_it_complete() {
    let mock = TestMock::signed_in();
    // Far less than one answer costs: the turn still runs to its end.
    let output = mock.run_ok(&["chat", "--max-ai-credits", "0.000001", "Hello mock"]);
    assert_eq!(
        text(&output.stdout),
        format!("{}\n", mock_answer("Hello mock"))
    );
    assert_eq!(
        mock.server().requests_to(Endpoint::ChatCompletions).len(),
        1
    );
}

#[test]
fn chat_max_ai_credits_must_be_a_finite_non_negative_number() {
    let mock = TestMock::start();
    for bad in ["nan", "-1", "inf", "lots"] {
        let flag = format!("--max-ai-credits={bad}");
        let output = mock.run(&["chat", &flag, "Hi"]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{bad}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains("not a number of AI credits"),
            "{}",
            text(&output.stderr)
        );
    }
    assert!(mock.server().requests().is_empty());
}
