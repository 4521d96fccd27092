//! What every command needs, resolved once from the global options: the GitHub host, the OAuth client id,
//! the credential store, one shared HTTP transport, and (with `--mock`) the embedded mock.

use std::path::PathBuf;
use std::sync::Arc;

use copilot_auth::client_ids::COPILOT_EDITOR_CLIENT_ID;
use copilot_auth::{
    CredentialKey, FileStore, GitHubToken, MemoryStore, StoredCredential, TokenRefresher,
    TokenStore,
};
use copilot_http::{ClientIdentity, GitHubHost, SharedTransport};
use copilot_sdk::{CopilotClient, FileSessionStore, MemorySessionStore, SdkError, SessionStore};
use url::Url;

use crate::cli::GlobalOptions;
use crate::error::CliError;
use crate::mock::EmbeddedMock;
use crate::shared_store::SharedStore;

/// The credentials file inside the config directory.
const CREDENTIALS_FILE: &str = "credentials.json";

/// Resolved global settings shared by the commands.
#[derive(Debug)]
pub struct Context {
    /// The GitHub deployment.
    pub host: GitHubHost,
    /// The OAuth client id for the device flow and token refresh.
    pub client_id: String,
    /// Where the GitHub credential is kept.
    pub store: Arc<dyn TokenStore>,
    /// Where the store lives, for messages (a path, or `memory` with `--mock`).
    pub store_location: String,
    /// Where chat sessions are saved: `sessions/` beside the credentials (in memory with `--mock`).
    pub sessions: Arc<dyn SessionStore>,
    /// One transport (and connection pool) for every request.
    pub transport: SharedTransport,
    /// The identity headers of every request (defaults plus the `--editor-version`, … overrides).
    pub identity: ClientIdentity,
    /// The embedded mock, with `--mock`.
    pub mock: Option<EmbeddedMock>,
    /// The account (user id) whose credential the commands use (`--account`).
    pub account: String,
    /// The shared database behind the stores, with `--store-url`.
    pub shared: Option<SharedStore>,
}

impl Context {
    /// Resolves the options. With `--mock` the embedded mock is started, every URL points at it, the
    /// store is in memory and pre-seeded with a token of the mock's default user.
    pub async fn new(options: &GlobalOptions) -> Result<Self, CliError> {
        let transport = SharedTransport::default_reqwest().map_err(SdkError::from)?;
        let client_id = options
            .client_id
            .clone()
            .unwrap_or_else(|| COPILOT_EDITOR_CLIENT_ID.to_owned());
        let identity = options.identity();
        let account = options.account.trim().to_owned();
        if account.is_empty() || account.chars().any(char::is_control) {
            return Err(CliError::Usage(
                "--account: give a non-empty name without control characters".to_owned(),
            ));
        }
        if options.mock && options.store_url.is_some() {
            return Err(CliError::Usage(
                "--mock keeps everything in memory; it cannot be combined with --store-url"
                    .to_owned(),
            ));
        }
        if options.mock {
            let mock = EmbeddedMock::start().await?;
            let host = mock.host()?;
            let store = Arc::new(MemoryStore::new());
            let (token, login) = mock.mint_token();
            let credential =
                StoredCredential::new(host.key(), GitHubToken::new(token)).with_login(login);
            store
                .save(&credential_key(&host, &account), &credential)
                .await
                .map_err(CliError::Auth)?;
            return Ok(Context {
                host,
                client_id,
                store,
                store_location: "memory (embedded mock)".to_owned(),
                sessions: Arc::new(MemorySessionStore::new()),
                transport,
                identity,
                mock: Some(mock),
                account,
                shared: None,
            });
        }
        let host = resolve_host(&options.github_url, options.github_api_url.as_deref())?;
        if let Some(url) = &options.store_url {
            let shared = SharedStore::open(
                url,
                options.store_namespace.as_deref(),
                options.store_key_file.as_deref(),
            )
            .await?;
            return Ok(Context {
                host,
                client_id,
                store: shared.tokens.clone(),
                store_location: shared.location.clone(),
                sessions: shared.sessions.clone(),
                transport,
                identity,
                mock: None,
                account,
                shared: Some(shared),
            });
        }
        let path = credentials_path(options.config_dir.clone())?;
        Ok(Context {
            host,
            client_id,
            store_location: path.display().to_string(),
            sessions: Arc::new(FileSessionStore::new(
                path.parent().unwrap_or(&path).join("sessions"),
            )),
            store: Arc::new(FileStore::new(path)),
            transport,
            identity,
            mock: None,
            account,
            shared: None,
        })
    }

    /// The key of this host's credential in the store.
    pub fn credential_key(&self) -> CredentialKey {
        credential_key(&self.host, &self.account)
    }

    /// The stored credential for this host, if any.
    pub async fn stored_credential(&self) -> Result<Option<StoredCredential>, CliError> {
        Ok(self.store.load(&self.credential_key()).await?)
    }

    /// A Copilot client for the signed-in user: environment variables (`COPILOT_GITHUB_TOKEN`,
    /// `GH_TOKEN`, `GITHUB_TOKEN`) first, then the store (refreshing expiring tokens). With `--mock` the
    /// environment is ignored: its tokens belong to the real GitHub.
    pub fn copilot_client(&self) -> Result<CopilotClient, CliError> {
        let mut builder = CopilotClient::builder()
            .host(self.host.clone())
            .transport(self.transport.clone())
            .identity(self.identity.clone())
            .token_store(self.store.clone())
            .store_account(self.account.clone())
            .refresher(Arc::new(self.refresher()))
            .session_store(self.sessions.clone())
            .read_environment(self.mock.is_none() && self.shared.is_none());
        if let Some(shared) = &self.shared {
            // The name a pool gives a stored user, so `chat` and the gateways share one exchange.
            let identity = copilot_sdk::shared_cache_identity(&self.host, &self.account);
            builder = builder.shared_token_cache(shared.caches.cache_for(&identity));
        }
        Ok(builder.build()?)
    }
}

impl Context {
    /// A GitHub App token refresher for this host, client id, transport and identity.
    pub fn refresher(&self) -> TokenRefresher {
        TokenRefresher::new(self.host.clone(), self.client_id.clone())
            .transport(self.transport.clone())
            .identity(self.identity.clone())
    }
}

fn credential_key(host: &GitHubHost, account: &str) -> CredentialKey {
    CredentialKey::new(host.key(), account)
}

/// `--github-url` (github.com, a GHE.com tenant, or a GitHub Enterprise Server) and an optional explicit
/// REST base.
pub fn resolve_host(github_url: &str, api_url: Option<&str>) -> Result<GitHubHost, CliError> {
    let host =
        GitHubHost::parse(github_url).map_err(|e| CliError::Usage(format!("--github-url: {e}")))?;
    Ok(match api_url {
        Some(api) => {
            let api = Url::parse(api.trim())
                .map_err(|e| CliError::Usage(format!("--github-api-url {api}: {e}")))?;
            if !matches!(api.scheme(), "https" | "http") {
                return Err(CliError::Usage(format!(
                    "--github-api-url {api}: only http(s) URLs are supported"
                )));
            }
            host.with_api_url(api)
        }
        None => host,
    })
}

fn credentials_path(config_dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let dir = match config_dir {
        Some(dir) => dir,
        None => copilot_auth::private_fs::config_dir().ok_or_else(|| {
            CliError::Usage(
                "no configuration directory for this user; pass --config-dir".to_owned(),
            )
        })?,
    };
    Ok(dir.join(CREDENTIALS_FILE))
}
