//! The `copilot-mock` binary.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn binary_starts_and_prints_its_urls() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_copilot-mock"))
        .args(["--port", "0", "--interval", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let stop = line.starts_with("Press Ctrl-C");
        seen.push(line);
        if stop {
            break;
        }
    }
    let find = |prefix: &str| {
        seen.iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| panic!("no {prefix} in {seen:?}"))
    };
    let rest = find("GitHub REST:");
    let copilot = find("Copilot API:");
    assert!(find("GitHub web:").starts_with("http://127.0.0.1:"));
    assert!(rest.ends_with("/api"));
    assert!(copilot.ends_with("/copilot"));
    let token = find("Demo GitHub token (user octocat):");
    let response = reqwest::Client::new()
        .get(format!("{rest}/user"))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn binary_rejects_unknown_arguments() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_copilot-mock"))
        .arg("--bogus")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}
