//! `--mock demo` and the other commands against the embedded mock: no configuration, no network.

use serde_json::Value;

use crate::support::{TestMock, text};

#[test]
fn demo_tells_the_whole_story_without_configuration() {
    let mock = TestMock::start();
    let output = mock.run_bare(&["--mock", "demo"]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let headings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(
        headings,
        [
            "== 1. Sign in with the GitHub device flow ==",
            "== 2. Exchange the GitHub token for Copilot access ==",
            "== 3. Models ==",
            "== 4. A streamed answer ==",
            "== 5. A tool call round trip =="
        ]
    );
    for expected in [
        "One-time code:",
        "✓ Signed in: received a GitHub App user token (ghu_)",
        "Copilot plan:   individual (sku copilot_individual)",
        "gpt-4.1",
        "You said: \"Say hello to the copilot-rs demo.\"",
        "→ the model calls get_weather(",
        "← get_weather returned {",
        "The tool results were:",
        "(answered after 1 tool round)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // Nothing was written to the (empty) home directory.
    assert!(mock.home_is_empty(), "the demo writes no files");
}

#[test]
fn mock_flag_serves_every_command_in_process() {
    let mock = TestMock::start();
    let status = mock.run_bare_ok(&["--mock", "auth", "status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["login"], "octocat");

    let chat = mock.run_bare_ok(&["--mock", "chat", "Hi"]);
    assert!(text(&chat.stdout).starts_with("You said: \"Hi\""));

    let login = mock.run_bare_ok(&["--mock", "auth", "login"]);
    assert!(text(&login.stderr).contains("The embedded mock approves the code by itself."));
    assert!(mock.home_is_empty(), "--mock never touches the config dir");
}
