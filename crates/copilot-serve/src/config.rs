//! [`ServeConfig`] and [`ApiKeys`]: where the gateway listens and who may call it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use copilot_sdk::http::sensitive::constant_time_eq;
use copilot_sdk::http::time::{Clock, SharedClock};
use copilot_store_core::api_keys::{ApiKeyDigest, ApiKeyDirectory};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::ServeError;

/// The default port (the one the TypeScript copilot-api gateway uses, so existing client settings work).
pub const DEFAULT_PORT: u16 = 4141;

/// How long shutdown waits for open streams to finish before closing them.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request body accepted (images arrive base64-encoded inside JSON).
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;

/// The shortest API key accepted: anything shorter is guessable.
pub const MIN_KEY_LEN: usize = 16;

/// How long a lookup in a shared key directory is trusted: a key removed from the directory stops working on
/// every instance within this time.
pub const DEFAULT_KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) keys: ApiKeys,
    pub(crate) directory: Option<Arc<dyn ApiKeyDirectory>>,
    pub(crate) key_cache_ttl: Duration,
    pub(crate) clock: SharedClock,
    pub(crate) drain_timeout: Duration,
    pub(crate) max_body: usize,
}

impl ServeConfig {
    /// A configuration accepting `keys`, bound to `127.0.0.1:4141`.
    pub fn new(keys: ApiKeys) -> Self {
        ServeConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            keys,
            directory: None,
            key_cache_ttl: DEFAULT_KEY_CACHE_TTL,
            clock: SharedClock::system(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Also accepts the keys of a shared directory (`RedisStore`, `PostgresStore`: see
    /// `copilot_store_core::api_keys`), so that every gateway of a fleet accepts the same keys, each bound to
    /// a user (multi-user mode). A key is looked up by its SHA-256 after the configured keys, and the answer
    /// is cached for [`key_cache_ttl`](Self::key_cache_ttl). When the directory cannot be read, requests with
    /// a key it would have to answer for get 503: the gateway never fails open.
    pub fn key_directory(mut self, directory: Arc<dyn ApiKeyDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// How long a key-directory lookup (found or not) is trusted (default [`DEFAULT_KEY_CACHE_TTL`]; zero
    /// reads the directory on every request).
    pub fn key_cache_ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.key_cache_ttl = ttl.into();
        self
    }

    /// The clock of the key cache (default the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = SharedClock::new(clock);
        self
    }

    /// The address to listen on (default `127.0.0.1:4141`; port 0 picks a free port).
    pub fn bind(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.bind = addr.into();
        self
    }

    /// How long shutdown waits for open streams (default 30 s).
    pub fn drain_timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.drain_timeout = timeout.into();
        self
    }

    /// The largest request body accepted (default 32 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The configured listen address.
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
    }

    /// Checks the configuration: at least one key (or a key directory), and keys long enough.
    pub fn validate(&self) -> Result<(), ServeError> {
        if self.keys.entries.is_empty() && self.directory.is_none() {
            return Err(ServeError::Config(
                "no API key: pass --api-key, --keys-file or --store-url (clients send it as `Authorization: Bearer` or `x-api-key`)"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// One accepted API key and whose Copilot subscription it uses.
#[derive(Clone)]
pub(crate) struct KeyEntry {
    /// SHA-256 of the key: the key itself is not kept, and digests compare in constant time.
    digest: ApiKeyDigest,
    /// The stored GitHub credential (token store account) this key uses; `None` = the gateway's own client.
    pub(crate) user: Option<String>,
    /// How many requests this key may have in flight at once.
    pub(crate) max_concurrent: Option<usize>,
    /// A name for logs (never the key).
    pub(crate) label: String,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("label", &self.label)
            .field("user", &self.user)
            .field("max_concurrent", &self.max_concurrent)
            .finish_non_exhaustive()
    }
}

/// The API keys the gateway accepts.
///
/// A keys file (JSON) maps each key to a user whose stored GitHub credential serves it (multi-user mode):
///
/// ```json
/// {"keys": [
///   {"key": "sk-alice-0123456789abcdef", "user": "alice", "max_concurrent": 4},
///   {"sha256": "<hex SHA-256 of bob's key>", "user": "bob", "name": "bob's laptop"}
/// ]}
/// ```
///
/// `sha256` keeps the key itself out of the file. Without `user` a key uses the gateway's own sign-in.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub(crate) entries: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: Vec<KeysFileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFileEntry {
    key: Option<SecretString>,
    sha256: Option<String>,
    user: Option<String>,
    name: Option<String>,
    max_concurrent: Option<usize>,
}

impl ApiKeys {
    /// No keys (a configuration with none does not validate).
    pub fn new() -> Self {
        Self::default()
    }

    /// One key for the gateway's own sign-in.
    pub fn single(key: impl Into<SecretString>) -> Result<Self, ServeError> {
        Self::new().with_key(key, None::<String>, None)
    }

    /// Adds a key, optionally bound to `user`'s stored credential and a concurrency limit.
    pub fn with_key(
        mut self,
        key: impl Into<SecretString>,
        user: impl Into<Option<String>>,
        max_concurrent: Option<usize>,
    ) -> Result<Self, ServeError> {
        let key = key.into();
        check_key(key.expose_secret())?;
        let user = user.into();
        let label = user
            .clone()
            .unwrap_or_else(|| format!("key#{}", self.entries.len()));
        self.entries.push(KeyEntry {
            digest: ApiKeyDigest::of(key.expose_secret()),
            user,
            max_concurrent,
            label,
        });
        Ok(self)
    }

    /// Parses a keys file (see the type docs).
    pub fn from_json(text: &str) -> Result<Self, ServeError> {
        let file: KeysFile = serde_json::from_str(text)
            .map_err(|e| ServeError::Config(format!("keys file: {e}")))?;
        let mut keys = ApiKeys::new();
        for (position, entry) in file.keys.into_iter().enumerate() {
            let digest = match (entry.key, entry.sha256) {
                (Some(key), None) => {
                    check_key(key.expose_secret())?;
                    ApiKeyDigest::of(key.expose_secret())
                }
                (None, Some(hex)) => ApiKeyDigest::from_hex(&hex).ok_or_else(|| {
                    ServeError::Config(format!(
                        "keys file entry {position}: `sha256` must be 64 hex digits"
                    ))
                })?,
                _ => {
                    return Err(ServeError::Config(format!(
                        "keys file entry {position}: give exactly one of `key` and `sha256`"
                    )));
                }
            };
            if entry.max_concurrent == Some(0) {
                return Err(ServeError::Config(format!(
                    "keys file entry {position}: `max_concurrent` must be at least 1"
                )));
            }
            let label = entry
                .name
                .or_else(|| entry.user.clone())
                .unwrap_or_else(|| format!("key#{position}"));
            keys.entries.push(KeyEntry {
                digest,
                user: entry.user,
                max_concurrent: entry.max_concurrent,
                label,
            });
        }
        Ok(keys)
    }

    /// Reads a keys file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ServeError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServeError::Config(format!("keys file {}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    /// Merges another set of keys into this one.
    pub fn extend(mut self, other: ApiKeys) -> Self {
        self.entries.extend(other.entries);
        self
    }

    /// How many keys are accepted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is accepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any key is bound to a user (multi-user mode needs a token store).
    pub fn has_users(&self) -> bool {
        self.entries.iter().any(|e| e.user.is_some())
    }

    /// The position of the entry whose digest is `presented`. Every entry is compared, in constant time, so the
    /// answer's timing says nothing about which keys exist or how much of one matched.
    pub(crate) fn find(&self, presented: &ApiKeyDigest) -> Option<usize> {
        let mut found = None;
        for (position, entry) in self.entries.iter().enumerate() {
            if constant_time_eq(entry.digest.as_bytes(), presented.as_bytes()) && found.is_none() {
                found = Some(position);
            }
        }
        found
    }
}

/// A random key (`sk-copilot-rs-` + 32 hex digits) for a gateway started without one.
pub fn generate_key() -> Result<SecretString, ServeError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServeError::Config(format!("no randomness for an API key: {e}")))?;
    Ok(SecretString::from(format!(
        "sk-copilot-rs-{}",
        copilot_sdk::http::hex::encode(bytes)
    )))
}

fn check_key(key: &str) -> Result<(), ServeError> {
    if key.chars().count() < MIN_KEY_LEN {
        return Err(ServeError::Config(format!(
            "an API key must be at least {MIN_KEY_LEN} characters"
        )));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServeError::Config(
            "an API key must not contain whitespace or control characters".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_by_digest_and_file_entries_bind_users() {
        let bob_hex = ApiKeyDigest::of("bob-key-0123456789").to_hex();
        let keys = ApiKeys::from_json(&format!(
            r#"{{"keys":[{{"key":"alice-key-0123456789","user":"alice","max_concurrent":2}},{{"sha256":"{bob_hex}","user":"bob"}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            keys.find(&ApiKeyDigest::of("alice-key-0123456789")),
            Some(0)
        );
        assert_eq!(keys.find(&ApiKeyDigest::of("bob-key-0123456789")), Some(1));
        assert_eq!(keys.find(&ApiKeyDigest::of("alice-key-012345678")), None);
        assert_eq!(keys.entries[0].max_concurrent, Some(2));
        assert_eq!(keys.entries[1].user.as_deref(), Some("bob"));
        assert!(keys.has_users());
    }

    #[test]
    fn weak_or_ambiguous_keys_are_refused() {
        assert!(ApiKeys::single("short").is_err());
        assert!(ApiKeys::single("has a space in it, long enough").is_err());
        assert!(ApiKeys::from_json(r#"{"keys":[{"user":"x"}]}"#).is_err());
        assert!(ApiKeys::from_json(r#"{"keys":[{"sha256":"abc"}]}"#).is_err());
        assert!(
            ApiKeys::from_json(r#"{"keys":[{"key":"0123456789abcdef","max_concurrent":0}]}"#)
                .is_err()
        );
        assert!(ApiKeys::from_json(r#"{"keys":[{"key":"0123456789abcdef","typo":1}]}"#).is_err());
        assert!(ServeConfig::new(ApiKeys::new()).validate().is_err());
    }

    #[test]
    fn generated_keys_are_accepted_and_distinct() {
        let a = generate_key().unwrap();
        let b = generate_key().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(ApiKeys::single(a).is_ok());
    }
}
