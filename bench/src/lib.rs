//! The measuring instruments of copilot-rs: benchmarks against peers and the practical limit, and the load/soak
//! run. The `copilot-bench` binary drives them (`cargo xtask bench [--quick]`, `cargo xtask load`).
//!
//! Every comparison runs its contenders side by side in the same process and the same run, alternating
//! contender order round by round, and reports the median and the spread (min–max) over the rounds. The mock
//! (`copilot-mock`) runs in its own process on loopback ([`mock::MockProcess`]), so its CPU time is not charged
//! to the client being measured, except that both share the machine's cores.

pub mod gateway;
pub mod load;
pub mod mock;
pub mod probe;
pub mod replay;
pub mod report;
pub mod stats;
pub mod targets;

/// Errors of the harness itself (a contender failing is reported in the table, not here).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The mock server binary could not be found or started.
    #[error("mock server: {0}")]
    Mock(String),
    /// A contender failed while being measured.
    #[error("{contender}: {message}")]
    Contender {
        /// Which contender.
        contender: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing a file (the report).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl BenchError {
    /// A contender's failure, with its message.
    pub fn contender(contender: &'static str, message: impl std::fmt::Display) -> Self {
        BenchError::Contender {
            contender,
            message: message.to_string(),
        }
    }
}
