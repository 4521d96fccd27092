//! `POST {api}/embeddings` types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An embeddings request. The client splits `input` into batches of the model's `limits.max_inputs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingsRequest {
    /// An embeddings model id, e.g. `text-embedding-3-small`.
    pub model: String,
    /// The texts.
    pub input: Vec<String>,
    /// Output dimensions, for models that support it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// Anything else, merged into the body.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Inputs per request; when unset the model's `limits.max_inputs` from `/models` is used (512 if unknown).
    #[serde(skip)]
    pub batch_size: Option<usize>,
}

impl EmbeddingsRequest {
    /// Embeds `input` with `model`.
    pub fn new(
        model: impl Into<String>,
        input: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        EmbeddingsRequest {
            model: model.into(),
            input: input.into_iter().map(Into::into).collect(),
            dimensions: None,
            extra: Map::new(),
            batch_size: None,
        }
    }

    /// Sets `dimensions`.
    pub fn dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Sets the batch size (inputs per request), skipping the `/models` lookup.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = Some(size.max(1));
        self
    }
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embedding {
    /// The position of its input in the whole request (re-based across batches).
    #[serde(default)]
    pub index: usize,
    /// The vector.
    pub embedding: Vec<f32>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Embeddings usage.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingsUsage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Total tokens.
    #[serde(default)]
    pub total_tokens: u64,
}

/// An embeddings response (batches merged).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingsResponse {
    /// One embedding per input, ordered by index.
    #[serde(default)]
    pub data: Vec<Embedding>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Usage, summed over batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingsUsage>,
}
