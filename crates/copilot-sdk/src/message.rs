//! What one user turn sends: a prompt, image attachments, and optionally a required output schema.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use copilot_api::{ContentPart, ImageDetail, Message};
use serde_json::Value;

use crate::SdkError;

/// An image sent with a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attachment {
    /// Base64 image data with its media type (e.g. `image/png`).
    ImageBase64 {
        /// The media type.
        media_type: String,
        /// The base64 data (standard alphabet, no `data:` prefix).
        data: String,
    },
    /// An image file, read when the message is sent; the media type comes from the extension.
    ImageFile {
        /// The file.
        path: PathBuf,
    },
    /// An https image URL.
    ImageUrl {
        /// The URL.
        url: String,
    },
}

impl Attachment {
    /// Base64 data with its media type.
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        Attachment::ImageBase64 {
            media_type: media_type.into(),
            data: data.into(),
        }
    }

    /// Raw image bytes with their media type (encoded to base64 here).
    pub fn image_bytes(media_type: impl Into<String>, bytes: &[u8]) -> Self {
        Attachment::image_base64(media_type, STANDARD.encode(bytes))
    }

    /// An image file (`.png`, `.jpg`/`.jpeg`, `.gif`, `.webp`).
    pub fn image_file(path: impl Into<PathBuf>) -> Self {
        Attachment::ImageFile { path: path.into() }
    }

    /// An https image URL.
    pub fn image_url(url: impl Into<String>) -> Self {
        Attachment::ImageUrl { url: url.into() }
    }

    /// The URL to send: a `data:` URL for inline data and files, or the URL itself.
    pub(crate) async fn to_url(&self) -> Result<String, SdkError> {
        match self {
            Attachment::ImageBase64 { media_type, data } => {
                Ok(format!("data:{media_type};base64,{data}"))
            }
            Attachment::ImageUrl { url } => Ok(url.clone()),
            Attachment::ImageFile { path } => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|source| SdkError::Attachment {
                        path: path.clone(),
                        source,
                    })?;
                Ok(format!(
                    "data:{};base64,{}",
                    media_type_of(path),
                    STANDARD.encode(bytes)
                ))
            }
        }
    }
}

fn media_type_of(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "image/png",
    }
}

/// A JSON Schema the answer must follow ([`Session::send_and_wait_json`](crate::Session::send_and_wait_json)).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSchema {
    /// A name for the schema (letters, digits, `_`, `-`).
    pub name: String,
    /// The JSON Schema.
    pub schema: Value,
}

impl OutputSchema {
    /// A schema named `name`.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        OutputSchema {
            name: name.into(),
            schema,
        }
    }

    /// The schema of `T`, derived with `schemars`, named after the type.
    #[cfg(feature = "schemars")]
    pub fn of<T: schemars::JsonSchema>() -> Self {
        let name: String = T::schema_name()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
        OutputSchema::new(name, schema)
    }
}

/// One user message: a prompt plus options. `&str` and `String` convert into it, so
/// `session.send_and_wait("Hello!")` works.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOptions {
    /// The prompt.
    pub prompt: String,
    /// Images sent with the prompt.
    pub attachments: Vec<Attachment>,
    /// A schema the answer must follow.
    pub output_schema: Option<OutputSchema>,
}

impl MessageOptions {
    /// A message with `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        MessageOptions {
            prompt: prompt.into(),
            attachments: Vec::new(),
            output_schema: None,
        }
    }

    /// Adds an attachment.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Requires the answer to follow `schema`.
    pub fn output_schema(mut self, schema: OutputSchema) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// The user [`Message`] for the history (attachments read and inlined).
    pub(crate) async fn to_message(&self) -> Result<Message, SdkError> {
        if self.attachments.is_empty() {
            return Ok(Message::user(self.prompt.clone()));
        }
        let mut parts = vec![ContentPart::text(self.prompt.clone())];
        for attachment in &self.attachments {
            parts.push(ContentPart::image_url(
                attachment.to_url().await?,
                Some(ImageDetail::Auto),
            ));
        }
        Ok(Message::user(parts))
    }
}

impl From<&str> for MessageOptions {
    fn from(prompt: &str) -> Self {
        MessageOptions::new(prompt)
    }
}

impl From<String> for MessageOptions {
    fn from(prompt: String) -> Self {
        MessageOptions::new(prompt)
    }
}

impl From<&String> for MessageOptions {
    fn from(prompt: &String) -> Self {
        MessageOptions::new(prompt.clone())
    }
}
