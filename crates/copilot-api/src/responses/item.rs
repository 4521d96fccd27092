//! Responses API items: what `input[]` is made of and what `output[]` returns ([`ResponseItem`]), with
//! their content parts and reasoning summaries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chat::{ImageDetail, Role};

/// One item of `input[]` (and of a response's `output[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseItem {
    /// A message.
    Message {
        /// The author.
        role: Role,
        /// The parts.
        content: Vec<ResponseContent>,
        /// The item id (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The item status (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// A function call made by the model.
    FunctionCall {
        /// The call id, echoed by the output.
        call_id: String,
        /// The function name.
        name: String,
        /// JSON-encoded arguments.
        arguments: String,
        /// The item id (output items).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// A tool result.
    FunctionCallOutput {
        /// The call it answers.
        call_id: String,
        /// The result text.
        output: String,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// Reasoning to replay. `encrypted_content` must be sent back byte-for-byte unchanged.
    Reasoning {
        /// The reasoning item id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Summary parts.
        #[serde(default)]
        summary: Vec<ReasoningSummary>,
        /// The encrypted reasoning (requested with `include: ["reasoning.encrypted_content"]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// Any other item, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

impl ResponseItem {
    /// A user message with text.
    pub fn user_text(text: impl Into<String>) -> Self {
        ResponseItem::Message {
            role: Role::User,
            content: vec![ResponseContent::InputText {
                text: text.into(),
                extra: Map::new(),
            }],
            id: None,
            status: None,
            extra: Map::new(),
        }
    }

    /// A message item (no id or status: an input item).
    pub fn message(role: Role, content: Vec<ResponseContent>) -> Self {
        ResponseItem::Message {
            role,
            content,
            id: None,
            status: None,
            extra: Map::new(),
        }
    }

    /// A function call the model made, to replay.
    pub fn function_call(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ResponseItem::FunctionCall {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
            id: None,
            extra: Map::new(),
        }
    }

    /// Reasoning to replay (`encrypted_content` unchanged).
    pub fn reasoning(
        id: Option<String>,
        summary: Vec<ReasoningSummary>,
        encrypted_content: Option<String>,
    ) -> Self {
        ResponseItem::Reasoning {
            id,
            summary,
            encrypted_content,
            extra: Map::new(),
        }
    }

    /// A tool result.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        ResponseItem::FunctionCallOutput {
            call_id: call_id.into(),
            output: output.into(),
            extra: Map::new(),
        }
    }

    /// Whether this item carries an image.
    pub fn has_image(&self) -> bool {
        match self {
            ResponseItem::Message { content, .. } => content.iter().any(|c| match c {
                ResponseContent::InputImage { .. } => true,
                ResponseContent::Other(v) => {
                    v.get("type").and_then(Value::as_str) == Some("input_image")
                }
                _ => false,
            }),
            _ => false,
        }
    }
}

/// A reasoning summary part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningSummary {
    /// Always `summary_text` today.
    #[serde(rename = "type", default = "summary_text")]
    pub kind: String,
    /// The summary text.
    #[serde(default)]
    pub text: String,
}

fn summary_text() -> String {
    "summary_text".to_owned()
}

impl ReasoningSummary {
    /// A `summary_text` part.
    pub fn new(text: impl Into<String>) -> Self {
        ReasoningSummary {
            kind: summary_text(),
            text: text.into(),
        }
    }
}

/// A content part of a [`ResponseItem::Message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseContent {
    /// User-side text.
    InputText {
        /// The text.
        text: String,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// Assistant-side text (when replaying).
    OutputText {
        /// The text.
        text: String,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// An image.
    InputImage {
        /// A data URL or https URL.
        image_url: String,
        /// Optional detail level.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<ImageDetail>,
        /// Fields this version does not model (e.g. `phase`, `annotations`), kept for replay.
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
    /// Any other part, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

impl ResponseContent {
    /// User-side text.
    pub fn input_text(text: impl Into<String>) -> Self {
        ResponseContent::InputText {
            text: text.into(),
            extra: Map::new(),
        }
    }

    /// Assistant-side text.
    pub fn output_text(text: impl Into<String>) -> Self {
        ResponseContent::OutputText {
            text: text.into(),
            extra: Map::new(),
        }
    }

    /// An image (a data URL or an https URL).
    pub fn input_image(image_url: impl Into<String>, detail: Option<ImageDetail>) -> Self {
        ResponseContent::InputImage {
            image_url: image_url.into(),
            detail,
            extra: Map::new(),
        }
    }
}
