//! One module per command.

pub mod auth;
pub mod chat;
pub mod demo;
pub mod keys;
pub mod login;
pub mod models;
pub mod serve;

/// Completes when the user presses Ctrl-C (never, if the handler cannot be installed).
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
