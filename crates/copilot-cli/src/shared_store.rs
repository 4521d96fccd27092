//! `--store-url`: credentials, sessions, shared Copilot tokens and the gateway's API keys on Redis or
//! PostgreSQL, so several `copilot-rs` processes (a fleet of gateways) share them.

use std::path::Path;
use std::sync::Arc;

use copilot_auth::TokenStore;
use copilot_http::RedactedUrl;
use copilot_sdk::SessionStore;
use copilot_store_core::EncryptionKey;
use copilot_store_core::api_keys::ApiKeyDirectory;
use copilot_store_postgres::PostgresStore;
use copilot_store_redis::RedisStore;
use copilot_token::SharedTokenCaches;
use secrecy::{ExposeSecret, SecretString};

use crate::error::CliError;

/// The variable holding the store's encryption key (base64 of 32 bytes) when --store-key-file is absent.
pub const STORE_KEY_VAR: &str = "COPILOT_RS_STORE_KEY";

/// One shared database seen as every store the commands use.
#[derive(Debug, Clone)]
pub struct SharedStore {
    pub tokens: Arc<dyn TokenStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub caches: Arc<dyn SharedTokenCaches>,
    pub keys: Arc<dyn ApiKeyDirectory>,
    /// The URL without its password, for messages.
    pub location: String,
}

impl SharedStore {
    /// Connects to `url` (Redis or PostgreSQL; PostgreSQL's tables are created or migrated first).
    pub async fn open(
        url: &str,
        namespace: Option<&str>,
        key_file: Option<&Path>,
    ) -> Result<Self, CliError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| CliError::Usage(format!("--store-url: not a URL ({e})")))?;
        let location = RedactedUrl::url(&parsed).to_string();
        let key = encryption_key(key_file)?;
        let unreachable = |error: copilot_store_core::StoreError| {
            CliError::Usage(format!("--store-url {location}: {error}"))
        };
        match parsed.scheme() {
            "redis" | "rediss" => {
                let mut store = RedisStore::connect(url, &key).await.map_err(unreachable)?;
                if let Some(namespace) = namespace {
                    store = store.namespace(namespace);
                }
                let sessions = Arc::new(store.sessions());
                Ok(Self::of(store, sessions, location))
            }
            "postgres" | "postgresql" if namespace.is_some() => Err(CliError::Usage(
                "--store-namespace is for Redis; on PostgreSQL choose a schema in the URL \
                 (`?options=-csearch_path%3Dname`)"
                    .to_owned(),
            )),
            "postgres" | "postgresql" => {
                let store = PostgresStore::connect(url, &key)
                    .await
                    .map_err(unreachable)?;
                store.migrate().await.map_err(unreachable)?;
                let sessions = Arc::new(store.sessions());
                Ok(Self::of(store, sessions, location))
            }
            other => Err(CliError::Usage(format!(
                "--store-url: `{other}://` is not a supported store (use redis://, rediss:// or postgres://)"
            ))),
        }
    }
}

impl SharedStore {
    fn of<S>(store: S, sessions: Arc<dyn SessionStore>, location: String) -> Self
    where
        S: TokenStore + SharedTokenCaches + ApiKeyDirectory + Clone + 'static,
    {
        SharedStore {
            tokens: Arc::new(store.clone()),
            sessions,
            caches: Arc::new(store.clone()),
            keys: Arc::new(store),
            location,
        }
    }
}

/// The encryption key from `key_file`, else from [`STORE_KEY_VAR`].
fn encryption_key(key_file: Option<&Path>) -> Result<EncryptionKey, CliError> {
    let (text, source) = match key_file {
        Some(path) => (
            SecretString::from(std::fs::read_to_string(path).map_err(|e| {
                CliError::Usage(format!("--store-key-file {}: {e}", path.display()))
            })?),
            format!("--store-key-file {}", path.display()),
        ),
        None => match std::env::var(STORE_KEY_VAR) {
            Ok(text) => (SecretString::from(text), STORE_KEY_VAR.to_owned()),
            Err(_) => {
                return Err(CliError::Usage(format!(
                    "--store-url needs the store's encryption key: set {STORE_KEY_VAR} (base64 of 32 random \
                     bytes, e.g. `openssl rand -base64 32`) or pass --store-key-file; every instance must use \
                     the same key"
                )));
            }
        },
    };
    EncryptionKey::from_base64(text.expose_secret().trim())
        .map_err(|e| CliError::Usage(format!("{source}: {e}")))
}
