//! Progress while waiting for the device-flow sign-in: a spinner with the time left on a terminal, plain
//! lines otherwise. Everything goes to stderr.

use std::io::Write;
use std::time::{Duration, SystemTime};

use copilot_auth::PollEvent;

use crate::output::time::short_duration;

/// Spinner frames.
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// How often the spinner redraws.
pub const SPINNER_TICK: Duration = Duration::from_millis(120);

/// Reports the state of the wait for the user's approval.
#[derive(Debug)]
pub struct WaitProgress {
    spinner: bool,
    expires_at: SystemTime,
    frame: usize,
    status: String,
    drawn: bool,
}

impl WaitProgress {
    /// Progress for a code expiring at `expires_at`; `spinner` on a terminal, plain lines otherwise.
    pub fn new(spinner: bool, expires_at: SystemTime) -> Self {
        WaitProgress {
            spinner,
            expires_at,
            frame: 0,
            status: "Waiting for authorization".to_owned(),
            drawn: false,
        }
    }

    /// Whether a spinner is drawn (callers tick it every [`SPINNER_TICK`]).
    pub fn is_spinner(&self) -> bool {
        self.spinner
    }

    fn time_left(&self) -> String {
        let left = self
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        short_duration(Duration::from_secs(left.as_secs()))
    }

    /// Redraws the spinner line.
    pub fn tick(&mut self) {
        if !self.spinner {
            return;
        }
        self.frame = (self.frame + 1) % FRAMES.len();
        let line = format!(
            "{} {}… ({} left, Ctrl-C to cancel)",
            FRAMES[self.frame],
            self.status,
            self.time_left()
        );
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        self.drawn = true;
    }

    /// Takes a polling event into account.
    pub fn event(&mut self, event: &PollEvent) {
        let (status, line) = match event {
            PollEvent::Pending { attempt } => (
                "Waiting for authorization".to_owned(),
                format!(
                    "Waiting for authorization (poll {attempt}, {} left)",
                    self.time_left()
                ),
            ),
            PollEvent::SlowDown { interval, .. } => (
                format!(
                    "Waiting for authorization (polling every {}s)",
                    interval.as_secs()
                ),
                format!(
                    "GitHub asked to slow down; polling every {}s",
                    interval.as_secs()
                ),
            ),
            PollEvent::Retrying { reason, .. } => (
                "Waiting for authorization (retrying)".to_owned(),
                format!("Polling failed ({reason}); retrying"),
            ),
            _ => return,
        };
        self.status = status;
        if !self.spinner {
            crate::output::note(&line);
        }
    }

    /// Clears the spinner line.
    pub fn finish(&mut self) {
        if self.spinner && self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
            self.drawn = false;
        }
    }
}
