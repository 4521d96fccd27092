//! Replay mode: a captured transcript served verbatim.

use copilot_mock::{MockConfig, ReplayTranscript};
use serde_json::json;

use crate::support::{api_post, api_post_text, signed_in};

fn fixture() -> String {
    format!(
        "{}/tests/fixtures/sse_chat_gpt4o_single_tool_call.sse",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn replay_serves_the_transcript_verbatim() {
    let transcript = ReplayTranscript::from_file(fixture())
        .unwrap()
        .piece_size(7);
    let (server, token) = signed_in(MockConfig::new().replay(transcript)).await;
    let body = json!({"model": "whatever", "stream": true, "messages": []});
    let response = api_post(&server, "/chat/completions", &token, &body).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), std::fs::read(fixture()).unwrap().as_slice());

    server.set_replay(Some(
        ReplayTranscript::from_file(fixture())
            .unwrap()
            .blank_line_separated(),
    ));
    let text = api_post_text(&server, "/chat/completions", &token, &body).await;
    let chunks = crate::support::chat_chunks(&text);
    assert_eq!(chunks.len(), 9);

    server.set_replay(None);
    let generated = api_post(&server, "/chat/completions", &token, &body).await;
    assert_eq!(generated.status(), 400, "unknown model again");
    assert!(ReplayTranscript::from_file("/nonexistent.sse").is_err());
}
