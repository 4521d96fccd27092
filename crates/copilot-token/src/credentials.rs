//! How GitHub credentials become Copilot API credentials. The credentials themselves,
//! [`CopilotCredentials`](copilot_core::CopilotCredentials), live in copilot-core.

/// How GitHub credentials become Copilot API credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// Exchange the GitHub token at `copilot_internal/v2/token` and send the short-lived Copilot token as
    /// `Bearer` to the `endpoints.api` of the same response. Works for tokens of allow-listed apps.
    Exchange,
    /// Send the GitHub token itself as `Bearer` to the Copilot API (base from `copilot_internal/user`
    /// `endpoints.api`, else the host default), with the configured `Copilot-Integration-Id`. For tokens of
    /// your own OAuth/GitHub App and fine-grained PATs.
    Direct,
    /// Exchange, and fall back to direct mode when the exchange answers 404 (and go direct at once for
    /// `github_pat_`/`ghs_` tokens, which can never be exchanged: see
    /// [`TokenKind::is_never_exchangeable`](copilot_core::TokenKind::is_never_exchangeable)). The decision is remembered for the life of
    /// the manager.
    #[default]
    Auto,
}
