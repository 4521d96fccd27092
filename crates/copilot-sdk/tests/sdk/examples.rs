//! Every example, run against the mock through the same functions its `main` calls.

use std::sync::Arc;

use copilot_sdk::{MemoryStore, SdkError};

#[allow(dead_code)]
#[path = "../../examples/chat_stream.rs"]
mod chat_stream;
#[allow(dead_code)]
#[path = "../../examples/device_login.rs"]
mod device_login;
#[allow(dead_code)]
#[path = "../../examples/hooks.rs"]
mod hooks;
#[cfg(feature = "mcp")]
#[allow(dead_code)]
#[path = "../../examples/mcp_tools.rs"]
pub(crate) mod mcp_tools;
#[allow(dead_code)]
#[path = "../../examples/multi_user.rs"]
mod multi_user;
#[allow(dead_code)]
#[path = "../../examples/structured_output.rs"]
mod structured_output;
#[allow(dead_code)]
#[path = "../../examples/tools.rs"]
mod tools;
#[allow(dead_code)]
#[path = "../../examples/web_login.rs"]
mod web_login;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[tokio::test]
async fn device_login_then_a_streamed_answer() -> TestResult {
    let target = device_login::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let store = Arc::new(MemoryStore::new());
    let answer = device_login::run(&target, store.clone()).await?;
    assert!(answer.contains("Hello from the device flow!"), "{answer}");
    assert_eq!(store.len(), 1);
    Ok(())
}

#[tokio::test]
async fn chat_stream_example() -> TestResult {
    let target = chat_stream::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let streamed = chat_stream::run(&target, "gpt-4.1", "Write a haiku", false).await?;
    assert!(streamed.contains("Write a haiku"), "{streamed}");
    // A responses-only model streams through the same code.
    let streamed = chat_stream::run(&target, "gpt-5.3-codex", "Write a haiku", false).await?;
    assert!(streamed.contains("Write a haiku"), "{streamed}");
    Ok(())
}

#[tokio::test]
async fn tools_example() -> TestResult {
    let target = tools::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let answer = tools::run(&target).await?;
    assert_eq!(answer.tool_rounds, 1);
    assert!(answer.content.contains("sunny"), "{}", answer.content);
    assert!(answer.content.contains("12:00"), "{}", answer.content);
    Ok(())
}

#[cfg(feature = "mcp")]
#[tokio::test]
async fn mcp_tools_example() -> TestResult {
    let target = mcp_tools::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let outcome = mcp_tools::run(&target, crate::mcp::demo_server()).await?;
    assert_eq!(
        outcome.first.content,
        "The tool results were: 84; MOCK-TEXT."
    );
    assert!(
        outcome.second.content.contains("the tool timed out"),
        "{}",
        outcome.second.content
    );
    assert!(
        outcome.third.content.contains("`demo` is not running"),
        "{}",
        outcome.third.content
    );
    assert_eq!(
        outcome.permissions,
        ["demo/add", "demo/text.upper", "demo/sleep", "demo/crash"]
    );
    Ok(())
}

#[tokio::test]
async fn hooks_example() -> TestResult {
    let target = hooks::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let (answer, audit) = hooks::run(&target).await?;
    // The model read the weather for the corrected city and the denial of the shell command.
    assert!(answer.content.contains("Lisbon"), "{}", answer.content);
    assert!(
        answer.content.contains("shell commands are not allowed"),
        "{}",
        answer.content
    );
    assert_eq!(
        audit[0],
        "prompt: Use get_weather and run_command to see if Porto is sunny"
    );
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("ran get_weather {\"city\":\"Lisbon\"}")),
        "{audit:?}"
    );
    assert!(
        !audit.iter().any(|l| l.starts_with("ran run_command")),
        "{audit:?}"
    );
    assert_eq!(
        audit.last().map(String::as_str),
        Some("ended after 1 turns")
    );
    let mock = target.mock.as_ref().expect("the mock");
    // Claude goes to its native `/v1/messages`.
    assert!(
        mock.requests_to(copilot_mock::Endpoint::ChatCompletions)
            .is_empty()
    );
    let sent = mock.requests_to(copilot_mock::Endpoint::Messages);
    assert_eq!(sent.len(), 2);
    let first = sent[0].body_json().expect("JSON body");
    assert_eq!(
        first["messages"][0]["content"],
        serde_json::json!([{
            "type": "text",
            "text": "Use get_weather and run_command to see if Porto is sunny Keep it short."
        }])
    );
    assert_eq!(sent[0].header("x-initiator"), Some("user"));
    assert_eq!(sent[1].header("x-initiator"), Some("agent"));
    Ok(())
}

#[tokio::test]
async fn structured_output_example() -> TestResult {
    let target = structured_output::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let facts = structured_output::run(&target).await?;
    assert!(!facts.city.is_empty());
    Ok(())
}

#[tokio::test]
async fn multi_user_example() -> TestResult {
    let target = multi_user::support::Target::mock(copilot_mock::MockConfig::new()).await;
    target
        .mock
        .as_ref()
        .expect("mock")
        .add_user(copilot_mock::MockUser::new("outsider"));
    let users = vec![
        ("octocat", target.user_token("octocat")?),
        ("outsider", target.user_token("outsider")?),
    ];
    let outcomes = multi_user::run(&target, "octo-org", &users).await?;
    assert!(matches!(&outcomes[0].1, Ok(answer) if answer.contains("Hello!")));
    assert!(matches!(&outcomes[1].1, Err(SdkError::NotOrgMember { .. })));
    Ok(())
}

async fn web_login_flow(
    org: &str,
) -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    let target = web_login::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    let server = {
        let org = org.to_owned();
        let serve = async move { web_login::serve_mock_app(&target, listener, &org).await };
        tokio::spawn(async move {
            let _ = serve.await;
        })
    };
    // A browser that shows each redirect to the test instead of following it.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut url = format!("{app_url}/login");
    let mut outcome = None;
    for _ in 0..4 {
        let response = browser.get(&url).send().await?;
        if let Some(location) = response.headers().get("location") {
            url = location.to_str()?.to_owned();
            continue;
        }
        outcome = Some((response.status().as_u16(), response.text().await?));
        break;
    }
    server.abort();
    outcome.ok_or_else(|| "too many redirects".into())
}

#[tokio::test]
async fn web_login_example_lets_org_members_in() -> TestResult {
    let (status, page) = web_login_flow("octo-org").await?;
    assert_eq!(status, 200, "{page}");
    assert!(page.starts_with("Hello octocat! Copilot says:"), "{page}");
    assert!(page.contains("Hello!"), "{page}");
    Ok(())
}

#[tokio::test]
async fn web_login_example_refuses_non_members() -> TestResult {
    let (status, page) = web_login_flow("some-other-org").await?;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("some-other-org"), "{page}");
    Ok(())
}

#[allow(dead_code)]
#[path = "../../examples/persistent_chat.rs"]
mod persistent_chat;

/// The example binary (built by `cargo test` next to the test binaries).
fn example_binary(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe().expect("test binary");
    let dir = deps.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test]
async fn persistent_chat_continues_in_a_new_process_and_never_forks() -> TestResult {
    let target = persistent_chat::support::Target::mock(copilot_mock::MockConfig::new()).await;
    let store = tempfile::tempdir()?;
    let binary = example_binary("persistent_chat");
    assert!(
        binary.exists(),
        "{} is built by cargo test",
        binary.display()
    );
    let transcript = persistent_chat::run(&target, store.path(), &binary).await?;
    assert!(
        transcript.first_answer.contains("sunny"),
        "{}",
        transcript.first_answer
    );
    assert_eq!(
        transcript.in_use_exit,
        Some(persistent_chat::IN_USE_EXIT),
        "a second process is refused while the first has the session open"
    );
    let out = &transcript.resumed_output;
    // user, assistant (tool call), tool, assistant: four messages came back from the file.
    assert!(
        out.contains("resumed persistent-chat-demo with 4 messages (1 tool results); first prompt: \"Use get_weather for Lisbon\""),
        "{out}"
    );
    assert!(out.contains("now 6 messages"), "{out}");
    assert!(out.contains("[(\"persistent-chat-demo\", 1)]"), "{out}");

    // The resumed process's second request carried the whole conversation.
    let mock = target.mock.as_ref().expect("the mock");
    let chats = mock.requests_to(copilot_mock::Endpoint::ChatCompletions);
    let last = chats
        .last()
        .expect("requests")
        .body_json()
        .expect("JSON body");
    let messages = last["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 5, "{last}");
    assert_eq!(messages[0]["content"], "Use get_weather for Lisbon");
    assert_eq!(messages[4]["content"], "And tomorrow?");
    assert_eq!(
        chats.last().expect("request").header("x-initiator"),
        Some("user")
    );
    Ok(())
}
