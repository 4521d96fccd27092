//! Everything the commands print: tables, the `--json` shapes, times, and stdout/stderr helpers.
//!
//! Results go to stdout; progress and diagnostics go to stderr.

pub mod json;
pub mod table;
pub mod time;

use std::io::Write;

use crate::error::CliError;

/// Writes `text` to stdout and flushes it (streamed answers must appear as they arrive).
pub fn out(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::io("write to stdout", e))
}

/// Writes `line` and a newline to stdout.
pub fn out_line(line: &str) -> Result<(), CliError> {
    out(&format!("{line}\n"))
}

/// Writes `value` as one line of JSON to stdout.
pub fn out_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::io("encode JSON", std::io::Error::other(e)))?;
    out_line(&text)
}

/// Writes a diagnostic line to stderr (errors writing to stderr are ignored: there is nowhere to report
/// them).
pub fn note(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
