//! Where a credential comes from, in the official Copilot SDK's order (`docs/protocol.md` §5).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use copilot_http::GitHubHost;
use secrecy::SecretString;
use url::Url;

use crate::editor::{EditorFile, editor_config_dir, import_editor_token};
use crate::refresh::{CredentialRefresher, RefreshOptions};
use crate::{AuthError, CredentialError, CredentialKey, GitHubToken, TokenStore};

/// Reads an environment variable. Injectable so tests (and multi-tenant servers) never touch the
/// process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// `GITHUB_COPILOT_API_TOKEN`: a pre-exchanged Copilot token (needs [`COPILOT_API_URL`]).
pub const GITHUB_COPILOT_API_TOKEN: &str = "GITHUB_COPILOT_API_TOKEN";
/// `COPILOT_API_URL`: the Copilot API base for [`GITHUB_COPILOT_API_TOKEN`].
pub const COPILOT_API_URL: &str = "COPILOT_API_URL";
/// The GitHub token variables, in precedence order.
pub const GITHUB_TOKEN_VARS: [&str; 3] = ["COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"];

/// Which source provided the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// The token given to [`CredentialSources::token`].
    Explicit,
    /// `GITHUB_COPILOT_API_TOKEN` + `COPILOT_API_URL` (a Copilot token, not a GitHub token).
    PreExchangedEnv,
    /// A GitHub token variable (`COPILOT_GITHUB_TOKEN`, `GH_TOKEN` or `GITHUB_TOKEN`).
    Environment {
        /// The variable.
        var: &'static str,
    },
    /// The token store.
    Store {
        /// The key it was stored under.
        key: CredentialKey,
    },
    /// An editor's token file (opt-in import).
    Editor {
        /// Which file.
        file: EditorFile,
        /// Its path.
        path: PathBuf,
    },
}

/// The credential found.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credential {
    /// A GitHub token (to exchange, or to use directly).
    GitHub(GitHubToken),
    /// A pre-exchanged Copilot token and its API base. Static: it cannot be refreshed, and a 401 is final.
    CopilotApi {
        /// The Copilot token.
        token: SecretString,
        /// The Copilot API base URL.
        api_url: Url,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::GitHub(token) => f.debug_tuple("GitHub").field(token).finish(),
            Credential::CopilotApi { api_url, .. } => f
                .debug_struct("CopilotApi")
                .field("token", &"[redacted]")
                .field("api_url", &api_url.as_str())
                .finish(),
        }
    }
}

/// A credential and where it came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolvedCredential {
    /// The credential.
    pub credential: Credential,
    /// Its source.
    pub source: CredentialSource,
}

/// Finds the credential to use, in this order (the first source that has one wins):
///
/// 1. the explicit token ([`token`](Self::token));
/// 2. `GITHUB_COPILOT_API_TOKEN` + `COPILOT_API_URL` (both must be set);
/// 3. `COPILOT_GITHUB_TOKEN`, then `GH_TOKEN`, then `GITHUB_TOKEN`;
/// 4. the token store ([`store`](Self::store)), refreshed if a refresher is configured;
/// 5. opt-in: editors' `apps.json` then `hosts.json` ([`editor_import`](Self::editor_import)).
///
/// A source that is present but unusable (a classic PAT in `GH_TOKEN`, an expired stored login without a
/// refresh token, a corrupt file) is an error: resolution never falls through to a different identity.
/// Empty variables count as unset. [`use_logged_in_user(false)`](Self::use_logged_in_user) turns off the
/// ambient per-user sources (store and editor import), for servers acting for many users.
#[derive(Clone)]
pub struct CredentialSources {
    host: GitHubHost,
    explicit: Option<GitHubToken>,
    env: Option<EnvLookup>,
    store: Option<(Arc<dyn TokenStore>, CredentialKey)>,
    refresher: Option<Arc<dyn CredentialRefresher>>,
    refresh_options: RefreshOptions,
    editor_import: bool,
    editor_dir: Option<PathBuf>,
    client_id: Option<String>,
    use_logged_in_user: bool,
}

impl fmt::Debug for CredentialSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSources")
            .field("host", &self.host.key())
            .field("explicit", &self.explicit)
            .field("reads_env", &self.env.is_some())
            .field("store", &self.store.as_ref().map(|(s, k)| (s, k)))
            .field("refresher", &self.refresher.is_some())
            .field("editor_import", &self.editor_import)
            .field("editor_dir", &self.editor_dir)
            .field("client_id", &self.client_id)
            .field("use_logged_in_user", &self.use_logged_in_user)
            .finish()
    }
}

fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

impl CredentialSources {
    /// Sources for `host`, reading the process environment, with no store and no editor import.
    pub fn new(host: GitHubHost) -> Self {
        CredentialSources {
            host,
            explicit: None,
            env: Some(Arc::new(process_env)),
            store: None,
            refresher: None,
            refresh_options: RefreshOptions::default(),
            editor_import: false,
            editor_dir: None,
            client_id: None,
            use_logged_in_user: true,
        }
    }

    /// An explicit token: always wins.
    pub fn token(mut self, token: GitHubToken) -> Self {
        self.explicit = Some(token);
        self
    }

    /// Reads environment variables through `lookup` instead of the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.env = Some(Arc::new(lookup));
        self
    }

    /// Ignores environment variables entirely.
    pub fn without_env(mut self) -> Self {
        self.env = None;
        self
    }

    /// The token store and the key of this user's credential.
    pub fn store(mut self, store: Arc<dyn TokenStore>, key: CredentialKey) -> Self {
        self.store = Some((store, key));
        self
    }

    /// Refreshes an expiring stored credential with `refresher` (see [`get_or_refresh_with`](crate::get_or_refresh_with)).
    pub fn refresher(mut self, refresher: Arc<dyn CredentialRefresher>) -> Self {
        self.refresher = Some(refresher);
        self
    }

    /// Skew and clock for refreshing the stored credential.
    pub fn refresh_options(mut self, options: RefreshOptions) -> Self {
        self.refresh_options = options;
        self
    }

    /// Opts in to importing editors' token files (off by default).
    pub fn editor_import(mut self, enabled: bool) -> Self {
        self.editor_import = enabled;
        self
    }

    /// Reads editor files from `dir` instead of the default editor configuration directory.
    pub fn editor_config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.editor_dir = Some(dir.into());
        self
    }

    /// The client id whose `apps.json` entry to prefer.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// `false` turns off every ambient source (store and editor import), so a request made for one user
    /// never falls back to another identity signed in on this machine. Default `true`.
    pub fn use_logged_in_user(mut self, enabled: bool) -> Self {
        self.use_logged_in_user = enabled;
        self
    }

    fn env_var(&self, var: &str) -> Option<String> {
        let lookup = self.env.as_ref()?;
        lookup(var).filter(|v| !v.trim().is_empty())
    }

    /// Finds the credential. [`AuthError::SignInRequired`] if no source has one.
    pub async fn resolve(&self) -> Result<ResolvedCredential, AuthError> {
        let resolved = |credential, source| ResolvedCredential { credential, source };

        if let Some(token) = &self.explicit {
            let token = GitHubToken::parse(token.expose_secret())?;
            token.check_usable_for_copilot()?;
            return Ok(resolved(
                Credential::GitHub(token),
                CredentialSource::Explicit,
            ));
        }

        if let Some(credential) = self.pre_exchanged()? {
            return Ok(resolved(credential, CredentialSource::PreExchangedEnv));
        }

        for var in GITHUB_TOKEN_VARS {
            if let Some(value) = self.env_var(var) {
                let invalid =
                    |e: CredentialError| AuthError::invalid_environment(var, e.to_string());
                let token = GitHubToken::parse(&value).map_err(invalid)?;
                token
                    .check_usable_for_copilot()
                    .map_err(|error| match error {
                        CredentialError::UnsupportedToken { kind, reason } => {
                            AuthError::UnsupportedEnvToken { var, kind, reason }
                        }
                        other => invalid(other),
                    })?;
                tracing::debug!(var, kind = %token.kind(), "using a token from the environment");
                return Ok(resolved(
                    Credential::GitHub(token),
                    CredentialSource::Environment { var },
                ));
            }
        }

        if !self.use_logged_in_user {
            return Err(AuthError::sign_in_required(
                "no explicit or environment token, and logged-in user sources are disabled",
            ));
        }

        if let Some((store, key)) = &self.store
            && let Some(token) = self.stored_token(store.as_ref(), key).await?
        {
            token.check_usable_for_copilot()?;
            return Ok(resolved(
                Credential::GitHub(token),
                CredentialSource::Store { key: key.clone() },
            ));
        }

        if self.editor_import
            && let Some(found) = self.editor_token().await?
        {
            found.token.check_usable_for_copilot()?;
            return Ok(resolved(
                Credential::GitHub(found.token),
                CredentialSource::Editor {
                    file: found.file,
                    path: found.path,
                },
            ));
        }

        Err(AuthError::sign_in_required(
            "no credential found (explicit token, environment, store or editor import)",
        ))
    }

    fn pre_exchanged(&self) -> Result<Option<Credential>, AuthError> {
        let token = self.env_var(GITHUB_COPILOT_API_TOKEN);
        let api_url = self.env_var(COPILOT_API_URL);
        match (token, api_url) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(AuthError::invalid_environment(
                COPILOT_API_URL,
                format!("{GITHUB_COPILOT_API_TOKEN} is set, so {COPILOT_API_URL} must be too"),
            )),
            (None, Some(_)) => Err(AuthError::invalid_environment(
                GITHUB_COPILOT_API_TOKEN,
                format!("{COPILOT_API_URL} is set, so {GITHUB_COPILOT_API_TOKEN} must be too"),
            )),
            (Some(token), Some(api_url)) => {
                let invalid_url = |reason| AuthError::invalid_environment(COPILOT_API_URL, reason);
                let url = Url::parse(api_url.trim())
                    .map_err(|e| invalid_url(format!("not a URL: {e}")))?;
                copilot_http::safety::check_credential_url(&url)
                    .map_err(|e| invalid_url(e.to_string()))?;
                let token = GitHubToken::parse(&token).map_err(|e| {
                    AuthError::invalid_environment(GITHUB_COPILOT_API_TOKEN, e.to_string())
                })?;
                Ok(Some(Credential::CopilotApi {
                    token: token.as_secret().clone(),
                    api_url: url,
                }))
            }
        }
    }

    async fn stored_token(
        &self,
        store: &dyn TokenStore,
        key: &CredentialKey,
    ) -> Result<Option<GitHubToken>, AuthError> {
        // Only "nothing stored" falls through to the next source; an unusable stored login is an error.
        crate::load_usable(store, key, self.refresher.as_deref(), &self.refresh_options).await
    }

    async fn editor_token(&self) -> Result<Option<crate::editor::EditorToken>, AuthError> {
        let dir = match &self.editor_dir {
            Some(dir) => dir.clone(),
            None => {
                let env = self.env.clone();
                let lookup = move |var: &str| env.as_ref().and_then(|f| f(var));
                match editor_config_dir(&lookup) {
                    Some(dir) => dir,
                    None => return Ok(None),
                }
            }
        };
        let host_key = self.host.key();
        let client_id = self.client_id.clone();
        tokio::task::spawn_blocking(move || {
            import_editor_token(&dir, &host_key, client_id.as_deref())
        })
        .await
        .map_err(|e| {
            AuthError::io(
                "read editor files in",
                PathBuf::new(),
                std::io::Error::other(e),
            )
        })?
    }
}
