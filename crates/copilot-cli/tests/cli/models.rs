//! `models`: the table and `--json`.

use serde_json::Value;

use crate::support::{TestMock, assert_one_line_error, text};

#[test]
fn models_table_lists_every_model_with_its_columns() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&["models"]);
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "VENDOR",
            "ENDPOINTS",
            "CONTEXT",
            "VISION",
            "TOOLS",
            "POLICY"
        ]
    );
    let gpt41: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("gpt-4.1 "))
        .expect("gpt-4.1 row")
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        gpt41,
        [
            "gpt-4.1",
            "Azure OpenAI",
            "chat/completions,responses",
            "128000",
            "yes",
            "yes",
            "enabled"
        ]
    );
    assert!(stdout.contains("text-embedding-3-small"), "{stdout}");
    // Columns are aligned: every row starts its second column at the same offset.
    let offset = lines[0].find("VENDOR").unwrap();
    assert!(lines[1..].iter().all(|l| l.as_bytes()[offset - 1] == b' '));
}

#[test]
fn models_json_is_an_array_of_objects_with_ids() {
    let mock = TestMock::signed_in();
    let output = mock.run_ok(&["models", "--json"]);
    let models: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<&str> = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().expect("every model has an id"))
        .collect();
    assert!(ids.contains(&"gpt-4.1"), "{ids:?}");
    assert!(ids.len() >= 5, "{ids:?}");
    assert_eq!(text(&output.stdout).lines().count(), 1, "one JSON document");
}

#[test]
fn models_needs_a_sign_in() {
    let mock = TestMock::start();
    let output = mock.run(&["models"]);
    assert_one_line_error(&output, 4, "not signed in", "copilot-rs auth login");
}
