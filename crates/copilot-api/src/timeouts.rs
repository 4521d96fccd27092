//! The deadlines on a streamed answer, as one value: the client builder, each [`ChatStream`] and the SDK's
//! client take the same [`StreamTimeouts`], so the three limits are documented and defaulted in one place.
//!
//! [`ChatStream`]: crate::ChatStream

use std::time::Duration;

/// How long a streamed answer may take to start, stay silent, and stay open. `None` disables a limit.
///
/// ```
/// use std::time::Duration;
/// use copilot_api::StreamTimeouts;
///
/// let timeouts = StreamTimeouts {
///     idle: Some(Duration::from_secs(30)),
///     ..StreamTimeouts::default()
/// };
/// assert_eq!(timeouts.first_event, Some(Duration::from_secs(90)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimeouts {
    /// How long the stream may take to produce its first event (keep-alive comments do not count); past
    /// it the stream ends with [`ApiError::FirstEventTimeout`](crate::ApiError::FirstEventTimeout).
    /// Default 90 s.
    pub first_event: Option<Duration>,
    /// How long a started stream may go without bytes; past it the stream ends with
    /// [`ApiError::IdleTimeout`](crate::ApiError::IdleTimeout). Default 120 s.
    pub idle: Option<Duration>,
    /// The longest the stream may stay open in total, however lively: keep-alive comments restart the idle
    /// timer but never this one, so a server cannot hold the stream (and its connection) open forever.
    /// The clock starts when the client has read the first body bytes (for
    /// [`ChatStream::from_body`](crate::ChatStream::from_body) streams: at the first poll). Past it the
    /// stream ends with [`ApiError::StreamDeadline`](crate::ApiError::StreamDeadline). Default `None`
    /// here; copilot-sdk's client sets 30 minutes.
    pub max_duration: Option<Duration>,
}

impl StreamTimeouts {
    /// No limits at all: what a [`ChatStream::from_body`](crate::ChatStream::from_body) stream starts with.
    pub const NONE: StreamTimeouts = StreamTimeouts {
        first_event: None,
        idle: None,
        max_duration: None,
    };

    /// The defaults: 90 s to the first event, 120 s of silence, no overall limit.
    pub const fn new() -> Self {
        StreamTimeouts {
            first_event: Some(Duration::from_secs(90)),
            idle: Some(Duration::from_secs(120)),
            max_duration: None,
        }
    }
}

impl Default for StreamTimeouts {
    fn default() -> Self {
        Self::new()
    }
}
