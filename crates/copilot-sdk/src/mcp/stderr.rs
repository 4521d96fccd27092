//! What a stdio MCP server last wrote to stderr. A server that cannot start, or dies mid-session, usually
//! says why there ("missing API key", a stack trace), so its errors quote the end of it. The pipe is
//! drained for the life of the process (a full pipe would block the server), keeping only a bounded tail.

use std::sync::{Arc, Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// How much of the end of a server's stderr is quoted (bytes).
pub(super) const STDERR_TAIL_BYTES: usize = 2048;

/// How much is kept to quote from: twice the quote, so a secret cut in half where the buffer starts lies
/// in the part that is dropped after redaction, never in the quote.
const KEPT_BYTES: usize = 2 * STDERR_TAIL_BYTES;

/// Secrets shorter than this are not searched for: they would match ordinary text.
const MIN_REDACTED_LEN: usize = 4;

/// The end of one server's stderr, shared by the task draining the pipe and the errors quoting it.
#[derive(Clone)]
pub(super) struct StderrTail {
    bytes: Arc<Mutex<Vec<u8>>>,
    /// The values the session gave the server (its `env`): never quoted back.
    secrets: Arc<[SecretString]>,
    /// Becomes `true` when the pipe is closed (the drain has read everything).
    ended: watch::Receiver<bool>,
}

impl StderrTail {
    /// Starts draining `pipe`; the task ends when the server closes it (it exits or is killed).
    pub(super) fn drain(
        pipe: impl AsyncRead + Unpin + Send + 'static,
        secrets: Vec<SecretString>,
    ) -> StderrTail {
        let (done, ended) = watch::channel(false);
        let tail = StderrTail {
            bytes: Arc::new(Mutex::new(Vec::new())),
            secrets: secrets.into(),
            ended,
        };
        let writer = tail.clone();
        tokio::spawn(async move {
            let mut pipe = pipe;
            let mut buf = [0u8; 1024];
            // A read error ends the drain like EOF: the tail keeps what came before.
            while let Ok(read @ 1..) = pipe.read(&mut buf).await {
                writer.push(&buf[..read]);
            }
            let _ = done.send(true);
        });
        tail
    }

    /// Resolves once the server has closed its stderr (it exited): everything it wrote is in the tail.
    pub(super) async fn ended(&self) {
        let mut ended = self.ended.clone();
        // An error means the drain task is gone, which also ends the output.
        let _ = ended.wait_for(|ended| *ended).await;
    }

    fn push(&self, chunk: &[u8]) {
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(chunk);
        if bytes.len() > KEPT_BYTES {
            let cut = bytes.len() - KEPT_BYTES;
            bytes.drain(..cut);
        }
    }

    /// The last [`STDERR_TAIL_BYTES`] of the output (secrets the server was given replaced by
    /// `[redacted]` first), lossily decoded, starting at a line boundary when the front was cut; `None`
    /// when the server wrote nothing.
    pub(super) fn text(&self) -> Option<String> {
        let bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        drop(bytes);
        for secret in self.secrets.iter() {
            let secret = secret.expose_secret();
            if secret.len() >= MIN_REDACTED_LEN {
                text = text.replace(secret, "[redacted]");
            }
        }
        if text.len() > STDERR_TAIL_BYTES {
            let mut start = text.len() - STDERR_TAIL_BYTES;
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let line = text[start..].find('\n').map_or(start, |at| start + at + 1);
            text.replace_range(..line, "…");
        }
        let text = text.trim();
        (!text.is_empty() && text != "…").then(|| text.to_owned())
    }

    /// `message`, followed by the end of the server's stderr when there is one.
    pub(super) fn explain(&self, message: impl std::fmt::Display) -> String {
        match self.text() {
            Some(stderr) => format!("{message}; its stderr ends: {stderr}"),
            None => message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(secrets: &[&str]) -> StderrTail {
        StderrTail {
            bytes: Arc::new(Mutex::new(Vec::new())),
            secrets: secrets
                .iter()
                .map(|s| SecretString::from(s.to_string()))
                .collect(),
            ended: watch::channel(true).1,
        }
    }

    #[test]
    fn the_tail_is_bounded_starts_at_a_line_and_never_quotes_a_secret() {
        let tail = tail(&["tok-12345", "abc"]);
        assert_eq!(tail.text(), None);
        for n in 0..500 {
            tail.push(format!("line {n}\n").as_bytes());
        }
        tail.push(b"fatal: token tok-12345 refused; abc stays\n");
        let text = tail.text().expect("text");
        assert!(tail.bytes.lock().unwrap().len() <= KEPT_BYTES);
        assert!(text.len() <= STDERR_TAIL_BYTES + "…".len());
        assert!(text.starts_with("…line "), "{text}");
        assert!(
            text.ends_with("fatal: token [redacted] refused; abc stays"),
            "{text}"
        );
        assert!(!text.contains("tok-12345"));
    }

    #[test]
    fn a_secret_cut_where_the_buffer_starts_is_not_quoted() {
        let secret = "s3cr3t-".repeat(20);
        let tail = tail(&[&secret]);
        // Fill the buffer so its front falls inside the secret, with no newline after it.
        tail.push(secret.as_bytes());
        tail.push(&vec![b'x'; KEPT_BYTES - secret.len() / 2]);
        let text = tail.text().expect("text");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[tokio::test]
    async fn draining_reads_to_the_end_of_the_pipe() {
        let tail = StderrTail::drain(&b"starting\nno API key given\n"[..], Vec::new());
        tail.ended().await;
        assert_eq!(tail.text().as_deref(), Some("starting\nno API key given"));
        assert_eq!(
            tail.explain("MCP handshake failed"),
            "MCP handshake failed; its stderr ends: starting\nno API key given"
        );
    }
}
