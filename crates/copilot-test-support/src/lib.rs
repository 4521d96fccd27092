//! Helpers the workspace's test suites share; a dev-dependency only, never published.
//!
//! [`capture_logs`] installs a thread-default `tracing` subscriber that writes into a [`Captured`] buffer,
//! for the tests that check what reaches a log line (that no secret does, or that a warning is given).

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// Everything a subscriber wrote into it, from every clone.
#[derive(Clone, Debug, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A subscriber of every event at `level` or more severe, writing plain text (no ANSI colours) into the
/// returned [`Captured`]; for `tracing::subscriber::with_default` or `set_default`.
pub fn log_subscriber(level: tracing::Level) -> (Captured, impl tracing::Subscriber + Send + Sync) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    (captured, subscriber)
}

/// Captures, on this thread and while the returned guard lives, every event at `level` or more severe (see
/// [`log_subscriber`]). Use it from a `current_thread` runtime (`#[tokio::test]`'s default): events of tasks
/// on other threads are not seen.
pub fn capture_logs(level: tracing::Level) -> (Captured, DefaultGuard) {
    let (captured, subscriber) = log_subscriber(level);
    (captured, tracing::subscriber::set_default(subscriber))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_events_at_the_level_and_drops_finer_ones() {
        let (captured, guard) = capture_logs(tracing::Level::WARN);
        tracing::warn!(answer = 42, "kept");
        tracing::info!("dropped");
        drop(guard);
        tracing::warn!("after the guard");
        let text = captured.text();
        assert!(
            text.contains("kept") && text.contains("answer=42"),
            "{text}"
        );
        assert!(!text.contains("dropped"), "{text}");
        assert!(!text.contains("after the guard"), "{text}");
        assert!(!text.contains('\u{1b}'), "no ANSI escapes: {text:?}");
    }

    #[test]
    fn the_subscriber_captures_inside_with_default_only() {
        let (captured, subscriber) = log_subscriber(tracing::Level::TRACE);
        tracing::subscriber::with_default(subscriber, || tracing::trace!("inside"));
        tracing::error!("outside");
        let text = captured.text();
        assert!(text.contains("inside"), "{text}");
        assert!(!text.contains("outside"), "{text}");
    }
}
