//! Who the client says it is: the header profile sent to GitHub and Copilot.
//!
//! Copilot expects editor-style identity headers. Which values to send is a policy decision for the
//! application, so every value is configurable and the defaults are honest: they name copilot-rs itself,
//! not an editor it is not. The headers and their defaults are recorded in `docs/protocol.md` §11.

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

/// The version of copilot-rs, used in the default identity.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment variables that override the identity, read only by [`ClientIdentity::from_env`] (an
/// explicit opt-in; no other library code reads them) and by the `copilot-rs` CLI (`docs/protocol.md` §11).
pub mod env {
    /// Overrides `Editor-Version`.
    pub const EDITOR_VERSION: &str = "COPILOT_RS_EDITOR_VERSION";
    /// Overrides `Editor-Plugin-Version`.
    pub const EDITOR_PLUGIN_VERSION: &str = "COPILOT_RS_EDITOR_PLUGIN_VERSION";
    /// Overrides `User-Agent`.
    pub const USER_AGENT: &str = "COPILOT_RS_USER_AGENT";
    /// Overrides `Copilot-Integration-Id`.
    pub const INTEGRATION_ID: &str = "COPILOT_RS_INTEGRATION_ID";
    /// Overrides `X-GitHub-Api-Version` on Copilot API calls (chat, responses, embeddings, models).
    pub const COPILOT_API_VERSION: &str = "COPILOT_RS_COPILOT_API_VERSION";
    /// Overrides `X-GitHub-Api-Version` on `/v1/messages`.
    pub const MESSAGES_API_VERSION: &str = "COPILOT_RS_MESSAGES_API_VERSION";
    /// Overrides `X-GitHub-Api-Version` on the token exchange (`copilot_internal/*`).
    pub const EXCHANGE_API_VERSION: &str = "COPILOT_RS_EXCHANGE_API_VERSION";

    /// Every override: the `copilot-rs` option (`--editor-version`, without the dashes) and its variable.
    /// The one list the CLI's and the gateway's "client not supported" hints are written from.
    pub const OVERRIDES: &[(&str, &str)] = &[
        ("editor-version", EDITOR_VERSION),
        ("editor-plugin-version", EDITOR_PLUGIN_VERSION),
        ("user-agent", USER_AGENT),
        ("integration-id", INTEGRATION_ID),
        ("copilot-api-version", COPILOT_API_VERSION),
        ("messages-api-version", MESSAGES_API_VERSION),
        ("exchange-api-version", EXCHANGE_API_VERSION),
    ];

    /// The overrides as a hint: `--editor-version, … (or COPILOT_RS_EDITOR_VERSION, …)`.
    ///
    /// ```
    /// let hint = copilot_http::identity::env::overrides_hint();
    /// assert!(hint.starts_with("--editor-version, --editor-plugin-version"));
    /// assert!(hint.ends_with("COPILOT_RS_EXCHANGE_API_VERSION)"));
    /// ```
    pub fn overrides_hint() -> String {
        let options: Vec<String> = OVERRIDES
            .iter()
            .map(|(option, _)| format!("--{option}"))
            .collect();
        let variables: Vec<&str> = OVERRIDES.iter().map(|(_, variable)| *variable).collect();
        format!("{} (or {})", options.join(", "), variables.join(", "))
    }
}

/// `X-GitHub-Api-Version` on `/v1/messages` by default (the newest real clients' value for that endpoint).
pub const DEFAULT_MESSAGES_API_VERSION: &str = "2026-06-01";

/// The identity headers of a Copilot client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    user_agent: String,
    editor_version: String,
    editor_plugin_version: String,
    integration_id: String,
    exchange_api_version: Option<String>,
    copilot_api_version: Option<String>,
    messages_api_version: Option<String>,
}

impl Default for ClientIdentity {
    /// `copilot-rs/<version>` everywhere, integration id `copilot-developer-cli` (the official SDK's, the only
    /// one that accepts fine-grained PATs), `X-GitHub-Api-Version` 2025-04-01 for the token exchange,
    /// 2025-05-01 for the Copilot API and 2026-06-01 for `/v1/messages`.
    fn default() -> Self {
        ClientIdentity {
            user_agent: format!("copilot-rs/{VERSION}"),
            editor_version: format!("copilot-rs/{VERSION}"),
            editor_plugin_version: format!("copilot-rs/{VERSION}"),
            integration_id: "copilot-developer-cli".to_owned(),
            exchange_api_version: Some("2025-04-01".to_owned()),
            copilot_api_version: Some("2025-05-01".to_owned()),
            messages_api_version: Some(DEFAULT_MESSAGES_API_VERSION.to_owned()),
        }
    }
}

impl ClientIdentity {
    /// The default identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// The default identity with the overrides set in the environment ([`env`](mod@env):
    /// `COPILOT_RS_EDITOR_VERSION`, `COPILOT_RS_EDITOR_PLUGIN_VERSION`, `COPILOT_RS_USER_AGENT`,
    /// `COPILOT_RS_INTEGRATION_ID`, and the `X-GitHub-Api-Version` of each endpoint,
    /// `COPILOT_RS_COPILOT_API_VERSION`, `COPILOT_RS_MESSAGES_API_VERSION`, `COPILOT_RS_EXCHANGE_API_VERSION`), so a user can answer header drift (e.g. a 466 "client not supported")
    /// without waiting for a release. Unset or blank variables keep the default. Nothing reads these
    /// variables unless a caller asks for this constructor.
    pub fn from_env() -> Self {
        Self::default().overrides(|name| std::env::var(name).ok())
    }

    /// Applies the overrides `lookup` returns for the [`env`](mod@env) variable names (blank values are
    /// ignored): what [`from_env`](Self::from_env) does with the process environment, for any other source of
    /// settings.
    pub fn overrides(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(value) = value(env::EDITOR_VERSION) {
            self.editor_version = value;
        }
        if let Some(value) = value(env::EDITOR_PLUGIN_VERSION) {
            self.editor_plugin_version = value;
        }
        if let Some(value) = value(env::USER_AGENT) {
            self.user_agent = value;
        }
        if let Some(value) = value(env::INTEGRATION_ID) {
            self.integration_id = value;
        }
        if let Some(value) = value(env::COPILOT_API_VERSION) {
            self.copilot_api_version = Some(value);
        }
        if let Some(value) = value(env::MESSAGES_API_VERSION) {
            self.messages_api_version = Some(value);
        }
        if let Some(value) = value(env::EXCHANGE_API_VERSION) {
            self.exchange_api_version = Some(value);
        }
        self
    }

    /// Sets `User-Agent` (GitHub REST refuses requests without one).
    pub fn with_user_agent(mut self, value: impl Into<String>) -> Self {
        self.user_agent = value.into();
        self
    }

    /// Sets `Editor-Version` (`name/version`).
    pub fn with_editor_version(mut self, value: impl Into<String>) -> Self {
        self.editor_version = value.into();
        self
    }

    /// Sets `Editor-Plugin-Version` (`plugin/version`).
    pub fn with_editor_plugin_version(mut self, value: impl Into<String>) -> Self {
        self.editor_plugin_version = value.into();
        self
    }

    /// Sets `Copilot-Integration-Id` (e.g. `copilot-developer-cli`, `vscode-chat`).
    pub fn with_integration_id(mut self, value: impl Into<String>) -> Self {
        self.integration_id = value.into();
        self
    }

    /// Sets (or with `None` omits) `X-GitHub-Api-Version` on the token exchange.
    pub fn with_exchange_api_version<'a>(mut self, value: impl Into<Option<&'a str>>) -> Self {
        self.exchange_api_version = value.into().map(str::to_owned);
        self
    }

    /// Sets (or with `None` omits) `X-GitHub-Api-Version` on Copilot API calls.
    pub fn with_copilot_api_version<'a>(mut self, value: impl Into<Option<&'a str>>) -> Self {
        self.copilot_api_version = value.into().map(str::to_owned);
        self
    }

    /// Sets (or with `None` omits) `X-GitHub-Api-Version` on `/v1/messages`, which replaces the Copilot API
    /// version there.
    pub fn with_messages_api_version<'a>(mut self, value: impl Into<Option<&'a str>>) -> Self {
        self.messages_api_version = value.into().map(str::to_owned);
        self
    }

    /// The `User-Agent` value.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The `Editor-Version` value.
    pub fn editor_version(&self) -> &str {
        &self.editor_version
    }

    /// The `Editor-Plugin-Version` value.
    pub fn editor_plugin_version(&self) -> &str {
        &self.editor_plugin_version
    }

    /// The `Copilot-Integration-Id` value.
    pub fn integration_id(&self) -> &str {
        &self.integration_id
    }

    /// The `X-GitHub-Api-Version` sent on the token exchange, if any.
    pub fn exchange_api_version(&self) -> Option<&str> {
        self.exchange_api_version.as_deref()
    }

    /// The `X-GitHub-Api-Version` sent to the Copilot API, if any.
    pub fn copilot_api_version(&self) -> Option<&str> {
        self.copilot_api_version.as_deref()
    }

    /// The `X-GitHub-Api-Version` sent to `/v1/messages`, if any.
    pub fn messages_api_version(&self) -> Option<&str> {
        self.messages_api_version.as_deref()
    }

    /// Headers for GitHub web/REST calls (OAuth, `/user`): `User-Agent` only.
    pub fn apply_github(&self, headers: &mut HeaderMap) {
        insert(headers, USER_AGENT, &self.user_agent);
    }

    /// Headers for `copilot_internal/*` on the GitHub REST host: `User-Agent`, `Editor-Version`,
    /// `Editor-Plugin-Version` and the exchange API version.
    pub fn apply_exchange(&self, headers: &mut HeaderMap) {
        insert(headers, USER_AGENT, &self.user_agent);
        insert(headers, EDITOR_VERSION, &self.editor_version);
        insert(headers, EDITOR_PLUGIN_VERSION, &self.editor_plugin_version);
        if let Some(version) = &self.exchange_api_version {
            insert(headers, X_GITHUB_API_VERSION, version);
        }
    }

    /// Headers for the Copilot API: `User-Agent`, `Editor-Version`, `Editor-Plugin-Version`,
    /// `Copilot-Integration-Id` and the Copilot API version.
    pub fn apply_copilot(&self, headers: &mut HeaderMap) {
        insert(headers, USER_AGENT, &self.user_agent);
        insert(headers, EDITOR_VERSION, &self.editor_version);
        insert(headers, EDITOR_PLUGIN_VERSION, &self.editor_plugin_version);
        insert(headers, COPILOT_INTEGRATION_ID, &self.integration_id);
        if let Some(version) = &self.copilot_api_version {
            insert(headers, X_GITHUB_API_VERSION, version);
        }
    }
}

/// `Editor-Version`.
pub const EDITOR_VERSION: HeaderName = HeaderName::from_static("editor-version");
/// `Editor-Plugin-Version`.
pub const EDITOR_PLUGIN_VERSION: HeaderName = HeaderName::from_static("editor-plugin-version");
/// `Copilot-Integration-Id`.
pub const COPILOT_INTEGRATION_ID: HeaderName = HeaderName::from_static("copilot-integration-id");
/// `X-GitHub-Api-Version`.
pub const X_GITHUB_API_VERSION: HeaderName = HeaderName::from_static("x-github-api-version");

/// Inserts a header, skipping values that are not valid header text (configuration with control characters
/// must not break every request).
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            tracing::warn!(header = %name, "skipping an identity header with an invalid value")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_the_values_set_and_not_blank() {
        let vars = [
            (env::EDITOR_VERSION, "vscode/1.200.0"),
            (env::EDITOR_PLUGIN_VERSION, "copilot-chat/0.50.0"),
            (env::USER_AGENT, "  "),
            (env::COPILOT_API_VERSION, "2025-10-01"),
            (env::MESSAGES_API_VERSION, "2026-09-01"),
            (env::EXCHANGE_API_VERSION, "2026-01-01"),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let identity = ClientIdentity::new().overrides(lookup);
        let default = ClientIdentity::default();
        assert_eq!(identity.editor_version(), "vscode/1.200.0");
        assert_eq!(identity.editor_plugin_version(), "copilot-chat/0.50.0");
        assert_eq!(
            identity.user_agent(),
            default.user_agent(),
            "blank is ignored"
        );
        assert_eq!(identity.integration_id(), default.integration_id(), "unset");
        assert_eq!(identity.copilot_api_version(), Some("2025-10-01"));
        assert_eq!(identity.messages_api_version(), Some("2026-09-01"));
        assert_eq!(identity.exchange_api_version(), Some("2026-01-01"));

        let mut headers = HeaderMap::new();
        identity.apply_copilot(&mut headers);
        assert_eq!(headers[EDITOR_VERSION], "vscode/1.200.0");
        assert_eq!(headers[EDITOR_PLUGIN_VERSION], "copilot-chat/0.50.0");
        assert_eq!(headers[COPILOT_INTEGRATION_ID], "copilot-developer-cli");
        assert_eq!(headers[X_GITHUB_API_VERSION], "2025-10-01");
        let mut exchange = HeaderMap::new();
        identity.apply_exchange(&mut exchange);
        assert_eq!(exchange[X_GITHUB_API_VERSION], "2026-01-01");
    }

    /// Runs [`from_env_child`] in a child process with the variables set (tests may not change their own
    /// environment: it is shared by every thread and `set_var` is `unsafe`).
    #[test]
    fn from_env_reads_the_process_environment() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "identity::tests::from_env_child", "--ignored"])
            .env(env::EDITOR_VERSION, "JetBrains-IC/2026.2")
            .env(env::EDITOR_PLUGIN_VERSION, "copilot-intellij/1.9.0")
            .env(env::USER_AGENT, "GithubCopilot/1.9.0")
            .env(env::INTEGRATION_ID, "jetbrains-chat")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "the child test ran: {stdout}");
    }

    #[test]
    #[ignore = "run by from_env_reads_the_process_environment with the variables set"]
    fn from_env_child() {
        let identity = ClientIdentity::from_env();
        assert_eq!(identity.editor_version(), "JetBrains-IC/2026.2");
        assert_eq!(identity.editor_plugin_version(), "copilot-intellij/1.9.0");
        assert_eq!(identity.user_agent(), "GithubCopilot/1.9.0");
        assert_eq!(identity.integration_id(), "jetbrains-chat");
    }

    #[test]
    fn no_override_is_the_default() {
        assert_eq!(
            ClientIdentity::new().overrides(|_| None),
            ClientIdentity::default()
        );
    }
}
