//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong while starting or configuring the mock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The listening socket could not be bound (port in use, no permission, …).
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port (0 = any free port).
        port: u16,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A replay transcript file could not be read.
    #[error("cannot read replay transcript {path}: {source}")]
    ReadTranscript {
        /// The file that was requested.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}
