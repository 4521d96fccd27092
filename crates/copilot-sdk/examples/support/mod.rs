//! Where the examples run: an in-process `copilot-mock` (the default), or the real github.com when
//! `COPILOT_RS_LIVE=1` is set (the token then comes from `COPILOT_GITHUB_TOKEN`).
#![allow(dead_code)]

use copilot_mock::{DeviceScenario, MockConfig, MockServer};
use copilot_sdk::http::time::{SharedSleep, Sleep};
use copilot_sdk::{CopilotClient, CopilotClientBuilder, GitHubHost, SharedTransport, Tool};

/// Errors of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The GitHub the examples talk to.
pub struct Target {
    /// Hosts (all pointing at the mock, or github.com).
    pub host: GitHubHost,
    /// One transport for everything.
    pub transport: SharedTransport,
    /// The sleeper for device-flow polling (instant against the mock).
    pub sleep: SharedSleep,
    /// The running mock, if any.
    pub mock: Option<MockServer>,
}

/// A sleeper that returns at once: the mock needs no real polling intervals.
#[derive(Debug)]
struct NoWait;

impl Sleep for NoWait {
    fn sleep(
        &self,
        _duration: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(std::future::ready(()))
    }
}

impl Target {
    /// The mock (default) or github.com (`COPILOT_RS_LIVE=1`).
    pub async fn from_env() -> Result<Target, BoxError> {
        if std::env::var_os("COPILOT_RS_LIVE").is_some() {
            Ok(Target {
                host: GitHubHost::github_com(),
                transport: SharedTransport::default_reqwest()?,
                sleep: SharedSleep::tokio(),
                mock: None,
            })
        } else {
            Ok(Target::mock(MockConfig::new()).await)
        }
    }

    /// An in-process mock with `config` (device flow without polling delays, direct mode on for tokens of
    /// own apps).
    pub async fn mock(config: MockConfig) -> Target {
        let config = config
            .device(DeviceScenario::new().interval(0))
            .direct_mode(true);
        let mock = MockServer::start(config).await;
        let url = |s: &str| s.parse().expect("mock URL");
        Target {
            host: GitHubHost::custom(
                url(mock.github_web_url()),
                url(mock.github_api_url()),
                url(mock.copilot_api_url()),
            ),
            transport: SharedTransport::default_reqwest().expect("reqwest transport"),
            sleep: SharedSleep::new(NoWait),
            mock: Some(mock),
        }
    }

    /// A target over hosts another process set up (e.g. a mock started by a parent process).
    pub fn remote(host: GitHubHost) -> Result<Target, BoxError> {
        Ok(Target {
            host,
            transport: SharedTransport::default_reqwest()?,
            sleep: SharedSleep::new(NoWait),
            mock: None,
        })
    }

    /// A GitHub token for `login`: minted by the mock, or `COPILOT_GITHUB_TOKEN` when live.
    pub fn user_token(&self, login: &str) -> Result<String, BoxError> {
        match &self.mock {
            Some(mock) => Ok(mock.mint_github_token(login)),
            None => Ok(std::env::var("COPILOT_GITHUB_TOKEN")
                .map_err(|_| "set COPILOT_GITHUB_TOKEN to run against github.com")?),
        }
    }

    /// A client builder for this target (environment variables ignored so the examples are reproducible;
    /// sessions are not saved unless an example gives a session store).
    pub fn client_builder(&self) -> CopilotClientBuilder {
        CopilotClient::builder()
            .host(self.host.clone())
            .transport(self.transport.clone())
            .read_environment(false)
            .persist_sessions(false)
    }

    /// A client signed in as `login` with that user's GitHub token (a fresh mock token, or
    /// `COPILOT_GITHUB_TOKEN` against github.com), not as the machine's logged-in user.
    pub fn user_client(&self, login: &str) -> Result<CopilotClient, BoxError> {
        Ok(self
            .client_builder()
            .github_token(self.user_token(login)?)
            .use_logged_in_user(false)
            .build()?)
    }
}

/// A weather lookup (a stand-in for a real API call): always sunny.
pub fn weather_tool() -> Tool {
    Tool::new(
        "get_weather",
        "Current weather for a city",
        serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: serde_json::Value| async move {
            Ok(serde_json::json!({"city": args["city"], "condition": "sunny"}))
        },
    )
}
