//! The optional background refresher: refreshes at the deadline so callers rarely wait for an exchange.
//!
//! Correctness never depends on it (the lazy path in [`TokenManager::credentials`] refreshes on use); it only
//! moves the exchange off the request path. It holds a weak reference, so it stops by itself once every clone
//! of the manager is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use copilot_http::retry::RetryPolicy;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TokenManager;
use crate::manager::Inner;

/// Controls a background refresher started with [`TokenManager::spawn_background_refresh`].
///
/// Dropping the handle does not stop the task (it still ends when the manager is dropped); call
/// [`stop`](Self::stop) to end it early.
#[derive(Debug)]
pub struct RefresherHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl RefresherHandle {
    /// Asks the refresher to stop; it exits at its next await point (an in-flight exchange is abandoned).
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// The token that stops this refresher (cancel it from anywhere).
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the refresher and waits until the task has ended.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        // A refresher never panics; a JoinError here could only be a panic or runtime shutdown.
        let _ = self.task.await;
    }
}

impl TokenManager {
    /// Starts a task on the current tokio runtime that fetches credentials now and then again at each
    /// refresh deadline. Failures are retried with jittered exponential backoff (1 s doubling up to 5 min).
    ///
    /// Must be called from within a tokio runtime.
    pub fn spawn_background_refresh(&self) -> RefresherHandle {
        let policy = RetryPolicy::new()
            .initial_backoff(Duration::from_secs(1))
            .max_backoff(Duration::from_secs(300));
        self.spawn_background_refresh_with(policy)
    }

    /// Like [`spawn_background_refresh`](Self::spawn_background_refresh) with your own backoff schedule (only
    /// the policy's backoff is used; the refresher retries until stopped).
    pub fn spawn_background_refresh_with(&self, backoff: RetryPolicy) -> RefresherHandle {
        let cancel = self.inner.shutdown.child_token();
        let task = tokio::spawn(run(Arc::downgrade(&self.inner), cancel.clone(), backoff));
        RefresherHandle { cancel, task }
    }
}

async fn run(manager: Weak<Inner>, cancel: CancellationToken, backoff: RetryPolicy) {
    let mut failures: u32 = 0;
    loop {
        // Hold the manager only while working, never while sleeping.
        let (wait, sleep) = {
            let Some(inner) = manager.upgrade() else {
                return;
            };
            let manager = TokenManager { inner };
            let sleep = manager.exchanger().sleep().clone();
            let wait = if failures > 0 {
                backoff.backoff(failures)
            } else {
                let now = manager.exchanger().clock().now();
                manager.next_refresh_at().map_or(Duration::ZERO, |at| {
                    at.duration_since(now).unwrap_or_default()
                })
            };
            (wait, sleep)
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = sleep.sleep(wait) => {}
        }
        let Some(inner) = manager.upgrade() else {
            return;
        };
        let manager = TokenManager { inner };
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            outcome = manager.credentials() => outcome,
        };
        match outcome {
            Ok(_) => failures = 0,
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%error, failures, "background refresh of Copilot credentials failed");
            }
        }
    }
}
