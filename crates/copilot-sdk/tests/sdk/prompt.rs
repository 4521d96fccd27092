//! What a turn's prompt carries: the system message and its mode, and attachments (files, blobs, images,
//! directory listings).

use copilot_mock::Endpoint;
use copilot_sdk::{
    Attachment, AttachmentRefusal, MAX_FILE_ATTACHMENT_BYTES, Message, MessageOptions, SdkError,
    SessionConfig, SystemMessage,
};
use serde_json::{Value, json};

use crate::common::{
    Target, mock_session, octocat_client, octocat_session as session, requests, target,
};

fn seeded(model: &str, system: impl Into<SystemMessage>) -> SessionConfig {
    SessionConfig::new()
        .model(model)
        .history([
            Message::system("Base."),
            Message::user("earlier"),
            Message::assistant("before"),
        ])
        .system_message(system)
}

fn last_body(target: &Target, endpoint: Endpoint) -> Value {
    requests(target, endpoint)
        .last()
        .and_then(|request| request.body_json())
        .expect("a JSON request body")
}

/// Sends "now" in a new [`seeded`] session of `model` with `system`; the body of the request it made to
/// `endpoint`.
async fn seeded_turn(
    target: &Target,
    model: &str,
    system: impl Into<SystemMessage>,
    endpoint: Endpoint,
) -> Result<Value, SdkError> {
    session(target, seeded(model, system))
        .await?
        .send_and_wait("now")
        .await?;
    Ok(last_body(target, endpoint))
}

#[tokio::test]
async fn system_message_append_joins_the_history_base_on_chat_completions() -> Result<(), SdkError>
{
    let (target, session) = mock_session(seeded("gpt-4.1", "Mine.")).await?;
    session.send_and_wait("now").await?;
    assert_eq!(
        last_body(&target, Endpoint::ChatCompletions)["messages"],
        json!([
            {"role": "system", "content": "Base.\n\nMine."},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "before"},
            {"role": "user", "content": "now"},
        ])
    );
    // The history keeps the base as it was seeded.
    assert_eq!(session.history()[0], Message::system("Base."));
    Ok(())
}

#[tokio::test]
async fn system_message_replace_drops_the_history_base_on_chat_completions() -> Result<(), SdkError>
{
    let (target, session) =
        mock_session(seeded("gpt-4.1", SystemMessage::replace("Mine."))).await?;
    session.send_and_wait("now").await?;
    assert_eq!(
        last_body(&target, Endpoint::ChatCompletions)["messages"],
        json!([
            {"role": "system", "content": "Mine."},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "before"},
            {"role": "user", "content": "now"},
        ])
    );
    Ok(())
}

#[tokio::test]
async fn system_message_modes_set_responses_instructions() -> Result<(), SdkError> {
    let target = target().await;
    let body = seeded_turn(&target, "gpt-5.3-codex", "Mine.", Endpoint::Responses).await?;
    assert_eq!(body["instructions"], "Base.\n\nMine.");
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "earlier"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "before"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "now"}]},
        ])
    );

    let replace = SystemMessage::replace("Mine.");
    let body = seeded_turn(&target, "gpt-5.3-codex", replace, Endpoint::Responses).await?;
    assert_eq!(body["instructions"], "Mine.");
    assert_eq!(body["input"].as_array().map(Vec::len), Some(3));
    Ok(())
}

#[tokio::test]
async fn without_a_system_message_the_history_base_goes_out_as_seeded() -> Result<(), SdkError> {
    let target = target().await;
    let config = SessionConfig::new()
        .model("gpt-4.1")
        .history([Message::system("Base."), Message::user("earlier")]);
    let session = session(&target, config).await?;
    session.send_and_wait("now").await?;
    let body = last_body(&target, Endpoint::ChatCompletions);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "Base."})
    );
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(3));
    Ok(())
}

fn user_parts(target: &Target) -> Vec<Value> {
    let body = last_body(target, Endpoint::ChatCompletions);
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    messages
        .last()
        .and_then(|m| m["content"].as_array().cloned())
        .expect("the user message has content parts")
}

#[tokio::test]
async fn file_blob_and_directory_attachments_go_out_as_text_parts() -> Result<(), SdkError> {
    let target = target().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.txt"), "outside").expect("write");
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::write(project.join("notes.txt"), "line one\nline two\n").expect("write");
    std::fs::write(project.join("Cargo.toml"), "[package]").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), project.join("link")).expect("symlink");

    let session = session(&target, SessionConfig::new().model("gpt-4.1")).await?;
    session
        .send_and_wait(
            MessageOptions::new("Look")
                .attachment(Attachment::file(project.join("notes.txt")))
                .attachment(Attachment::blob("text/plain", "aGVsbG8="))
                .attachment(Attachment::directory(&project)),
        )
        .await?;
    let request = requests(&target, Endpoint::ChatCompletions)
        .pop()
        .expect("a request");
    assert_eq!(request.header("copilot-vision-request"), None);
    let listing = if cfg!(unix) {
        "Cargo.toml\nlink\nnotes.txt\nsrc/"
    } else {
        "Cargo.toml\nnotes.txt\nsrc/"
    };
    assert_eq!(
        user_parts(&target),
        vec![
            json!({"type": "text", "text": "Look"}),
            json!({"type": "text", "text": "<attachment kind=\"file\" name=\"notes.txt\">\nline one\nline two\n</attachment>"}),
            json!({"type": "text", "text": "<attachment kind=\"blob\" name=\"text/plain\">\nhello\n</attachment>"}),
            json!({"type": "text", "text": format!("<attachment kind=\"directory\" name=\"project\">\n{listing}\n</attachment>")}),
        ]
    );
    // The symlink is named, never followed.
    assert!(
        !request
            .body_json()
            .expect("body")
            .to_string()
            .contains("secret")
    );
    Ok(())
}

#[tokio::test]
async fn non_utf8_oversized_and_wrong_kind_files_are_refused_typed() -> Result<(), SdkError> {
    let target = target().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("blob.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).expect("write");
    let big = dir.path().join("big.txt");
    let size = MAX_FILE_ATTACHMENT_BYTES + 1;
    std::fs::write(&big, vec![b'a'; usize::try_from(size).expect("usize")]).expect("write");
    let session = session(&target, SessionConfig::new().model("gpt-4.1")).await?;

    let refusal = |attachment: Attachment| {
        let session = &session;
        async move {
            match session
                .send_and_wait(MessageOptions::new("x").attachment(attachment))
                .await
            {
                Err(SdkError::AttachmentRefused { reason, .. }) => reason,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    };
    assert_eq!(
        refusal(Attachment::file(&binary)).await,
        AttachmentRefusal::NotText
    );
    assert_eq!(
        refusal(Attachment::file(&big)).await,
        AttachmentRefusal::TooLarge {
            size,
            limit: MAX_FILE_ATTACHMENT_BYTES
        }
    );
    assert_eq!(
        refusal(Attachment::file(dir.path())).await,
        AttachmentRefusal::WrongKind { expected: "file" }
    );
    assert_eq!(
        refusal(Attachment::directory(&binary)).await,
        AttachmentRefusal::WrongKind {
            expected: "directory"
        }
    );
    assert_eq!(
        refusal(Attachment::blob("application/zip", "UEsDBA==")).await,
        AttachmentRefusal::UnsupportedMediaType {
            media_type: "application/zip".into()
        }
    );
    // Nothing was sent for any of them.
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    Ok(())
}

/// A PNG of noise (which compresses badly) over the mock's 3 MiB `max_prompt_image_size`.
fn large_png() -> (Vec<u8>, u32, u32) {
    let (width, height) = (1200u32, 1000u32);
    let mut seed = 0x2545_f491_u32;
    let image = image::RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed.to_le_bytes()[0]
        };
        image::Rgb([next(), next(), next()])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("encode");
    (bytes.into_inner(), width, height)
}

#[tokio::test]
async fn a_large_png_is_downscaled_below_the_models_vision_limit() -> Result<(), SdkError> {
    const LIMIT: usize = 3_145_728;
    let (png, width, height) = large_png();
    assert!(png.len() > LIMIT, "the fixture must be over the limit");
    let (target, session) = mock_session(SessionConfig::new().model("gpt-4.1")).await?;
    session
        .send_and_wait(
            MessageOptions::new("What is this?")
                .attachment(Attachment::image_bytes("image/png", &png)),
        )
        .await?;
    let request = requests(&target, Endpoint::ChatCompletions)
        .pop()
        .expect("a request");
    assert_eq!(request.header("copilot-vision-request"), Some("true"));
    let parts = user_parts(&target);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1]["type"], "image_url");
    let url = parts[1]["image_url"]["url"].as_str().expect("url");
    let data = url
        .strip_prefix("data:image/png;base64,")
        .expect("still a PNG data URL");
    let sent =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).expect("base64");
    assert!(sent.len() <= LIMIT, "{} bytes sent", sent.len());
    let decoded =
        image::load_from_memory_with_format(&sent, image::ImageFormat::Png).expect("a valid PNG");
    assert!(decoded.width() < width && decoded.height() < height);
    // The aspect ratio is kept (within a pixel of rounding).
    let expected_height = u64::from(decoded.width()) * u64::from(height) / u64::from(width);
    assert!(u64::from(decoded.height()).abs_diff(expected_height) <= 1);
    Ok(())
}

#[tokio::test]
async fn images_are_refused_for_a_model_without_vision() -> Result<(), SdkError> {
    let target = target().await;
    // o4-mini's models-list entry has no `supports.vision`.
    let session = session(&target, SessionConfig::new().model("o4-mini")).await?;
    let error = session
        .send_and_wait(
            MessageOptions::new("See")
                .attachment(Attachment::image_base64("image/png", "iVBORw0KGgo=")),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(
            &error,
            SdkError::AttachmentRefused { reason: AttachmentRefusal::NoVision { model }, .. }
                if model == "o4-mini"
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("does not accept images"),
        "{error}"
    );
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    assert!(requests(&target, Endpoint::Responses).is_empty());
    // Text attachments still go to it.
    session
        .send_and_wait(
            MessageOptions::new("Read").attachment(Attachment::blob("text/plain", "aGk=")),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn images_over_the_models_count_or_media_types_are_refused() -> Result<(), SdkError> {
    let target = target().await;
    // gpt-4.1 takes one image a prompt, of jpeg, png, webp or gif.
    let session = session(&target, SessionConfig::new().model("gpt-4.1")).await?;
    let two = MessageOptions::new("Two")
        .attachment(Attachment::image_base64("image/png", "iVBORw0KGgo="))
        .attachment(Attachment::image_url("https://example.com/a.png"));
    let error = session.send_and_wait(two).await.expect_err("too many");
    assert!(
        matches!(
            error,
            SdkError::AttachmentRefused {
                reason: AttachmentRefusal::TooManyImages { count: 2, limit: 1 },
                ..
            }
        ),
        "{error:?}"
    );
    let tiff = MessageOptions::new("Tiff").attachment(Attachment::blob("image/tiff", "SUkqAA=="));
    let error = session.send_and_wait(tiff).await.expect_err("unsupported");
    assert!(
        matches!(
            &error,
            SdkError::AttachmentRefused { reason: AttachmentRefusal::UnsupportedMediaType { media_type }, .. }
                if media_type == "image/tiff"
        ),
        "{error:?}"
    );
    assert!(requests(&target, Endpoint::ChatCompletions).is_empty());
    Ok(())
}

#[tokio::test]
async fn a_replace_system_message_is_saved_and_resumed_with_its_mode() -> Result<(), SdkError> {
    let target = target().await;
    let store = copilot_sdk::MemorySessionStore::new();
    let client = || octocat_client(&target, Some(std::sync::Arc::new(store.clone())));
    let first = client()?;
    let session = first
        .create_session(seeded("gpt-4.1", SystemMessage::replace("Mine.")).session_id("kept"))
        .await?;
    session.send_and_wait("now").await?;
    drop(session);
    let record = copilot_sdk::SessionStore::load(&store, "kept")
        .await?
        .expect("saved");
    assert_eq!(record.system_message.as_deref(), Some("Mine."));
    assert_eq!(
        record.system_message_mode,
        Some(copilot_sdk::SystemMessageMode::Replace)
    );

    let resumed = client()?
        .resume_session("kept", SessionConfig::new())
        .await?;
    resumed.send_and_wait("again").await?;
    let messages = last_body(&target, Endpoint::ChatCompletions)["messages"].clone();
    assert_eq!(messages[0], json!({"role": "system", "content": "Mine."}));
    assert_eq!(
        messages
            .as_array()
            .map(|m| m.iter().filter(|m| m["role"] == "system").count()),
        Some(1),
        "{messages}"
    );
    Ok(())
}

#[tokio::test]
async fn system_message_modes_set_the_messages_system() -> Result<(), SdkError> {
    let target = target().await;
    let body = seeded_turn(&target, "claude-sonnet-4.5", "Mine.", Endpoint::Messages).await?;
    assert_eq!(body["system"], "Base.\n\nMine.");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(3), "{body}");

    let replace = SystemMessage::replace("Mine.");
    let body = seeded_turn(&target, "claude-sonnet-4.5", replace, Endpoint::Messages).await?;
    assert_eq!(body["system"], "Mine.");
    Ok(())
}
