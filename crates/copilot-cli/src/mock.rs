//! `--mock`: the embedded copilot-mock server, started in-process and auto-approving sign-ins.

use copilot_http::GitHubHost;
use copilot_mock::{DeviceOutcome, DeviceScenario, MockConfig, MockServer};
use url::Url;

use crate::error::CliError;

/// The device-flow polling interval the embedded mock hands out, in seconds. One second keeps the demo
/// quick while still showing a real poll (the client never polls faster than the interval).
const MOCK_POLL_INTERVAL_SECS: u64 = 1;

/// A copilot-mock server running inside this process. Its state (users, tokens) lives only as long as the
/// process.
#[derive(Debug)]
pub struct EmbeddedMock {
    server: MockServer,
}

impl EmbeddedMock {
    /// Starts the mock on a free loopback port. The simulated user approves a device code after one
    /// pending poll.
    pub async fn start() -> Result<Self, CliError> {
        let device = DeviceScenario::new()
            .interval(MOCK_POLL_INTERVAL_SECS)
            .outcome(DeviceOutcome::ApproveAfterPolls(1));
        let server = MockServer::try_start(MockConfig::new().device(device))
            .await
            .map_err(|e| CliError::Usage(format!("cannot start the embedded mock: {e}")))?;
        tracing::debug!(addr = %server.addr(), "embedded mock started");
        Ok(EmbeddedMock { server })
    }

    /// A host whose web, REST and Copilot API endpoints all point at the mock.
    pub fn host(&self) -> Result<GitHubHost, CliError> {
        let parse = |url: &str| {
            Url::parse(url).map_err(|e| {
                CliError::Usage(format!(
                    "mock URL {}: {e}",
                    copilot_http::RedactedUrl::text(url)
                ))
            })
        };
        Ok(GitHubHost::custom(
            parse(self.server.github_web_url())?,
            parse(self.server.github_api_url())?,
            parse(self.server.copilot_api_url())?,
        ))
    }

    /// A fresh GitHub token for the mock's default user, so that commands work without signing in first.
    pub fn mint_token(&self) -> (String, &'static str) {
        let login = copilot_mock::DEFAULT_LOGIN;
        (self.server.mint_github_token(login), login)
    }
}
