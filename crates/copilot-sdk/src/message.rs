//! What one user turn sends: a prompt, attachments (text files, blobs, images, directory listings), and
//! optionally a required output schema.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use copilot_api::{ContentPart, ImageDetail, Message, ModelInfo, VisionLimits};
use image::{DynamicImage, ImageFormat, ImageReader, imageops::FilterType};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::SdkError;

/// The largest text file [`Attachment::file`] sends (256 KiB); a larger one is refused.
pub const MAX_FILE_ATTACHMENT_BYTES: u64 = 256 * 1024;
/// The most entries [`Attachment::directory`] lists; the rest are counted, not named.
pub const MAX_DIRECTORY_ENTRIES: usize = 500;
/// The largest image read before downscaling (32 MiB); a larger one is refused.
pub const MAX_IMAGE_INPUT_BYTES: u64 = 32 * 1024 * 1024;
/// Entries read from a directory at most (bounds the work on a huge directory).
const MAX_DIRECTORY_SCAN: usize = 10_000;
/// Largest width or height decoded for downscaling.
const MAX_IMAGE_DIMENSION: u32 = 16_384;

/// Something sent with a prompt ([`MessageOptions::attachment`]).
///
/// Images (inline, files, URLs and `image/*` blobs) need a model with vision (`capabilities.supports.vision`):
/// otherwise the turn is refused with [`SdkError::AttachmentRefused`] before anything is sent. Inline images
/// larger than the model's `capabilities.limits.vision.max_prompt_image_size` are downscaled (PNG and
/// JPEG) until they fit. Text files and directory listings go out as text parts. See `docs/protocol.md` §11.
///
/// ```no_run
/// # async fn demo(session: copilot_sdk::Session) -> Result<(), copilot_sdk::SdkError> {
/// use copilot_sdk::{Attachment, MessageOptions};
///
/// session
///     .send_and_wait(
///         MessageOptions::new("Review this module and the screenshot.")
///             .attachment(Attachment::file("src/lib.rs"))
///             .attachment(Attachment::directory("src"))
///             .attachment(Attachment::image_file("screenshot.png")),
///     )
///     .await?;
/// # Ok(()) }
/// ```
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
    /// A UTF-8 text file, read when the message is sent (at most [`MAX_FILE_ATTACHMENT_BYTES`]).
    File {
        /// The file.
        path: PathBuf,
    },
    /// Base64 data with its MIME type: `image/*` is sent as an image, `text/*` as text (UTF-8 only).
    Blob {
        /// The MIME type.
        mime_type: String,
        /// The base64 data (standard alphabet).
        data: String,
    },
    /// The names in a directory (one level, at most [`MAX_DIRECTORY_ENTRIES`]; symlinks are named, never
    /// followed; sub-directories end in `/`).
    Directory {
        /// The directory.
        path: PathBuf,
    },
}

/// Why an attachment was refused ([`SdkError::AttachmentRefused`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentRefusal {
    /// Larger than the cap.
    #[error("{size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// A file or `text/*` blob that is not UTF-8.
    #[error("it is not UTF-8 text")]
    NotText,
    /// An image for a model without vision.
    #[error("model `{model}` does not accept images (no vision support)")]
    NoVision {
        /// The model id.
        model: String,
    },
    /// A media type the model (or this SDK) does not take.
    #[error("media type `{media_type}` is not supported here")]
    UnsupportedMediaType {
        /// The media type.
        media_type: String,
    },
    /// More images than the model's `max_prompt_images`.
    #[error("{count} images is over the model's limit of {limit}")]
    TooManyImages {
        /// Images in the prompt.
        count: u32,
        /// The model's limit.
        limit: u32,
    },
    /// An image over the size limit that could not be decoded or made small enough.
    #[error("it is over the size limit and cannot be downscaled: {reason}")]
    CannotDownscale {
        /// What went wrong.
        reason: String,
    },
    /// Not a regular file (or, for [`Attachment::Directory`], not a directory).
    #[error("it is not a {expected}")]
    WrongKind {
        /// `file` or `directory`.
        expected: &'static str,
    },
}

fn refused(name: impl Into<String>, reason: AttachmentRefusal) -> SdkError {
    SdkError::AttachmentRefused {
        name: name.into(),
        reason,
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SdkError + '_ {
    move |source| SdkError::Attachment {
        path: path.to_path_buf(),
        source,
    }
}

/// The name a path is shown under: its last component.
fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
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

    /// A UTF-8 text file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Attachment::File { path: path.into() }
    }

    /// Base64 data with its MIME type (`image/*` or `text/*`).
    pub fn blob(mime_type: impl Into<String>, data: impl Into<String>) -> Self {
        Attachment::Blob {
            mime_type: mime_type.into(),
            data: data.into(),
        }
    }

    /// A directory listing (names only).
    pub fn directory(path: impl Into<PathBuf>) -> Self {
        Attachment::Directory { path: path.into() }
    }

    fn is_image(&self) -> bool {
        match self {
            Attachment::ImageBase64 { .. }
            | Attachment::ImageFile { .. }
            | Attachment::ImageUrl { .. } => true,
            Attachment::Blob { mime_type, .. } => is_image_type(mime_type),
            Attachment::File { .. } | Attachment::Directory { .. } => false,
        }
    }

    /// The content part to send. `vision` is the model's limits when it is known to take images.
    async fn to_part(&self, vision: Option<&VisionLimits>) -> Result<ContentPart, SdkError> {
        match self {
            Attachment::ImageUrl { url } => {
                Ok(ContentPart::image_url(url.clone(), Some(ImageDetail::Auto)))
            }
            Attachment::ImageBase64 { media_type, data } => {
                inline_image(media_type, media_type, data, vision).await
            }
            Attachment::Blob { mime_type, data } if is_image_type(mime_type) => {
                inline_image(mime_type, mime_type, data, vision).await
            }
            Attachment::Blob { mime_type, data } => {
                if !mime_type.to_ascii_lowercase().starts_with("text/") {
                    return Err(refused(
                        mime_type.clone(),
                        AttachmentRefusal::UnsupportedMediaType {
                            media_type: mime_type.clone(),
                        },
                    ));
                }
                let bytes = STANDARD.decode(data).map_err(|e| {
                    refused(
                        mime_type.clone(),
                        AttachmentRefusal::CannotDownscale {
                            reason: format!("invalid base64: {e}"),
                        },
                    )
                })?;
                let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                if size > MAX_FILE_ATTACHMENT_BYTES {
                    return Err(refused(
                        mime_type.clone(),
                        AttachmentRefusal::TooLarge {
                            size,
                            limit: MAX_FILE_ATTACHMENT_BYTES,
                        },
                    ));
                }
                let text = String::from_utf8(bytes)
                    .map_err(|_| refused(mime_type.clone(), AttachmentRefusal::NotText))?;
                Ok(ContentPart::text(wrap("blob", mime_type, &text)))
            }
            Attachment::ImageFile { path } => {
                let name = display_name(path);
                let bytes = read_capped(path, &name, MAX_IMAGE_INPUT_BYTES).await?;
                let media_type = media_type_of(path);
                let data = STANDARD.encode(&bytes);
                inline_image(&name, media_type, &data, vision).await
            }
            Attachment::File { path } => {
                let name = display_name(path);
                let bytes = read_capped(path, &name, MAX_FILE_ATTACHMENT_BYTES).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| refused(name.clone(), AttachmentRefusal::NotText))?;
                Ok(ContentPart::text(wrap("file", &name, &text)))
            }
            Attachment::Directory { path } => {
                let name = display_name(path);
                Ok(ContentPart::text(wrap(
                    "directory",
                    &name,
                    &list_directory(path, &name).await?,
                )))
            }
        }
    }
}

fn is_image_type(media_type: &str) -> bool {
    media_type.to_ascii_lowercase().starts_with("image/")
}

/// A text attachment as the model reads it: `<attachment kind="…" name="…">` … `</attachment>`.
fn wrap(kind: &str, name: &str, text: &str) -> String {
    let name = name.replace('"', "'");
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("<attachment kind=\"{kind}\" name=\"{name}\">\n{text}{newline}</attachment>")
}

/// A regular file's bytes, refused past `limit` (checked on the metadata and again while reading).
async fn read_capped(path: &Path, name: &str, limit: u64) -> Result<Vec<u8>, SdkError> {
    let metadata = tokio::fs::metadata(path).await.map_err(io_error(path))?;
    if !metadata.is_file() {
        return Err(refused(
            name,
            AttachmentRefusal::WrongKind { expected: "file" },
        ));
    }
    let too_large = |size: u64| refused(name, AttachmentRefusal::TooLarge { size, limit });
    if metadata.len() > limit {
        return Err(too_large(metadata.len()));
    }
    let file = tokio::fs::File::open(path).await.map_err(io_error(path))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(io_error(path))?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limit {
        return Err(too_large(size));
    }
    Ok(bytes)
}

/// One level of names, sorted; symlinks are listed by name and never followed.
async fn list_directory(path: &Path, name: &str) -> Result<String, SdkError> {
    let metadata = tokio::fs::metadata(path).await.map_err(io_error(path))?;
    if !metadata.is_dir() {
        return Err(refused(
            name,
            AttachmentRefusal::WrongKind {
                expected: "directory",
            },
        ));
    }
    let mut entries = tokio::fs::read_dir(path).await.map_err(io_error(path))?;
    let mut names = Vec::new();
    let mut more = 0usize;
    while let Some(entry) = entries.next_entry().await.map_err(io_error(path))? {
        if names.len() >= MAX_DIRECTORY_SCAN {
            more = more.saturating_add(1);
            continue;
        }
        // `file_type` does not follow symlinks: a link to a directory is not shown (or read) as one.
        let is_dir = entry.file_type().await.is_ok_and(|kind| kind.is_dir());
        let mut entry_name = entry.file_name().to_string_lossy().into_owned();
        if is_dir {
            entry_name.push('/');
        }
        names.push(entry_name);
    }
    names.sort();
    if names.len() > MAX_DIRECTORY_ENTRIES {
        more = more.saturating_add(names.len() - MAX_DIRECTORY_ENTRIES);
        names.truncate(MAX_DIRECTORY_ENTRIES);
    }
    let mut listing = names.join("\n");
    if more > 0 {
        listing.push_str(&format!("\n… and {more} more"));
    }
    Ok(listing)
}

/// An inline image as a `data:` URL, checked against the model's media types and downscaled below its size
/// limit when over it.
async fn inline_image(
    name: &str,
    media_type: &str,
    data: &str,
    vision: Option<&VisionLimits>,
) -> Result<ContentPart, SdkError> {
    let Some(limits) = vision else {
        return Ok(data_url(media_type, data.to_owned()));
    };
    let lower = media_type.to_ascii_lowercase();
    if !limits.supported_media_types.is_empty()
        && !limits
            .supported_media_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&lower))
    {
        return Err(refused(
            name,
            AttachmentRefusal::UnsupportedMediaType {
                media_type: media_type.to_owned(),
            },
        ));
    }
    let Some(limit) = limits.max_prompt_image_size else {
        return Ok(data_url(media_type, data.to_owned()));
    };
    // Decoded size, from the base64 length (padding ignored): no decoding for images that fit.
    let size = u64::try_from(data.len() / 4 * 3).unwrap_or(u64::MAX);
    if size <= limit {
        return Ok(data_url(media_type, data.to_owned()));
    }
    let cannot = |reason: String| refused(name, AttachmentRefusal::CannotDownscale { reason });
    let bytes = STANDARD
        .decode(data)
        .map_err(|e| cannot(format!("invalid base64: {e}")))?;
    let format = match lower.as_str() {
        "image/png" => ImageFormat::Png,
        "image/jpeg" | "image/jpg" => ImageFormat::Jpeg,
        _ => {
            return Err(refused(name, AttachmentRefusal::TooLarge { size, limit }));
        }
    };
    let smaller = tokio::task::spawn_blocking(move || downscale(&bytes, format, limit))
        .await
        .map_err(|e| cannot(e.to_string()))?
        .map_err(cannot)?;
    Ok(data_url(media_type, STANDARD.encode(smaller)))
}

fn data_url(media_type: &str, data: String) -> ContentPart {
    ContentPart::image_url(
        format!("data:{media_type};base64,{data}"),
        Some(ImageDetail::Auto),
    )
}

/// Decodes, then shrinks (keeping the aspect ratio) and re-encodes in the same format until the result is
/// at most `limit` bytes.
fn downscale(bytes: &[u8], format: ImageFormat, limit: u64) -> Result<Vec<u8>, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_DIMENSION);
    limits.max_image_height = Some(MAX_IMAGE_DIMENSION);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| e.to_string())?;
    let size = bytes.len().max(1) as f64;
    // Encoded size scales roughly with the pixel count: start at the area ratio, then shrink further.
    let mut factor = ((limit as f64) / size).sqrt() * 0.9;
    for _ in 0..8 {
        let width = ((f64::from(image.width()) * factor) as u32).max(1);
        let height = ((f64::from(image.height()) * factor) as u32).max(1);
        let resized = image.resize(width, height, FilterType::Triangle);
        let encoded = encode(&resized, format)?;
        if u64::try_from(encoded.len()).unwrap_or(u64::MAX) <= limit {
            return Ok(encoded);
        }
        factor *= 0.7;
    }
    Err("still over the limit after downscaling".to_owned())
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(image.to_rgb8()).write_to(&mut out, format),
        _ => image.write_to(&mut out, format),
    };
    written.map_err(|e| e.to_string())?;
    Ok(out.into_inner())
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

/// The model's vision limits for image attachments: `Ok(None)` when the model is unknown (nothing checked),
/// an error when it is known to take no images.
fn vision_of<'a>(
    model: Option<&'a ModelInfo>,
    name: &str,
) -> Result<Option<&'a VisionLimits>, SdkError> {
    let Some(info) = model else {
        return Ok(None);
    };
    if !info.supports_vision() {
        return Err(refused(
            name,
            AttachmentRefusal::NoVision {
                model: info.id.clone(),
            },
        ));
    }
    Ok(Some(
        info.capabilities
            .limits
            .vision
            .as_ref()
            .unwrap_or(&NO_LIMITS),
    ))
}

static NO_LIMITS: std::sync::LazyLock<VisionLimits> =
    std::sync::LazyLock::new(VisionLimits::default);

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
        let name = crate::tools::sanitise_name(&T::schema_name());
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

    /// The user [`Message`] for the history (attachments read, checked against `model`'s vision
    /// capabilities and limits when it is known, and inlined).
    pub(crate) async fn to_message(&self, model: Option<&ModelInfo>) -> Result<Message, SdkError> {
        if self.attachments.is_empty() {
            return Ok(Message::user(self.prompt.clone()));
        }
        let images = self.attachments.iter().filter(|a| a.is_image()).count();
        let mut vision = None;
        if images > 0 {
            vision = vision_of(model, "image")?;
            let count = u32::try_from(images).unwrap_or(u32::MAX);
            if let Some(limit) = vision.and_then(|v| v.max_prompt_images)
                && count > limit
            {
                return Err(refused(
                    "images",
                    AttachmentRefusal::TooManyImages { count, limit },
                ));
            }
        }
        let mut parts = vec![ContentPart::text(self.prompt.clone())];
        for attachment in &self.attachments {
            parts.push(attachment.to_part(vision).await?);
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
