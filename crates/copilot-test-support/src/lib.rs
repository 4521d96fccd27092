//! Helpers the workspace's test suites share; a dev-dependency only, never published.
//!
//! [`capture_logs`] installs a thread-default `tracing` subscriber that writes into a [`Captured`] buffer,
//! for the tests that check what reaches a log line (that no secret does, or that a warning is given).
//! [`redacted_headers`] renders a request's headers stably for a snapshot, without the credential.

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

/// `headers` as `(name, value)` pairs sorted by name, without the names in `skip`; an `authorization` value
/// keeps only its scheme (`Bearer [redacted]`), and a value that is not text reads `<binary>`.
pub fn redacted_headers(headers: &http::HeaderMap, skip: &[&str]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<binary>");
            let value = if name.as_str() == "authorization" {
                let scheme = value.split(' ').next().unwrap_or_default();
                format!("{scheme} [redacted]")
            } else {
                value.to_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    pairs.sort();
    pairs
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
    fn headers_are_sorted_filtered_and_the_credential_is_redacted() {
        let text = [
            ("x-b", "2"),
            ("host", "example.test"),
            ("authorization", "Bearer gho_secret"),
        ];
        let mut headers: http::HeaderMap = text
            .into_iter()
            .map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap()))
            .collect();
        headers.insert("x-a", http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(
            redacted_headers(&headers, &["host"]),
            [
                ("authorization".to_owned(), "Bearer [redacted]".to_owned()),
                ("x-a".to_owned(), "<binary>".to_owned()),
                ("x-b".to_owned(), "2".to_owned()),
            ]
        );
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
