//! `--mock demo` and the other commands against the embedded mock: no configuration, no network.

use serde_json::Value;

use crate::support::{TestMock, text};

#[test]
fn demo_tells_the_whole_story_without_configuration() {
    let mock = TestMock::start();
    let output = mock.bare_cmd().args(["--mock", "demo"]).output().unwrap();
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
    let status = mock
        .bare_cmd()
        .args(["--mock", "auth", "status", "--json"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["login"], "octocat");

    let chat = mock
        .bare_cmd()
        .args(["--mock", "chat", "Hi"])
        .output()
        .unwrap();
    assert!(chat.status.success(), "{}", text(&chat.stderr));
    assert!(text(&chat.stdout).starts_with("You said: \"Hi\""));

    let login = mock
        .bare_cmd()
        .args(["--mock", "auth", "login"])
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login.stderr));
    assert!(text(&login.stderr).contains("The embedded mock approves the code by itself."));
    assert!(mock.home_is_empty(), "--mock never touches the config dir");
}
