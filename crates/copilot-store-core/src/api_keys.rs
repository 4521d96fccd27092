//! The gateway's API keys in a shared store: the key map of a fleet of `copilot-rs serve` instances.
//!
//! A key is never stored, only its SHA-256 ([`ApiKeyDigest`]), so a copy of the database lets nobody call the
//! gateway. What the digest maps to ([`ApiKeyRecord`]: the user whose stored login serves the key, a label for
//! logs, a concurrency limit) is sealed like every other record, bound to its digest, so a record moved onto
//! another digest (binding a key to someone else's subscription) does not open there.
//!
//! `RedisStore` and `PostgresStore` implement [`ApiKeyDirectory`]; [`MemoryApiKeys`] is the same within one
//! process (tests, a single instance).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Sealer, StoreError, open_json};

/// The SHA-256 of an API key: how a key is looked up and stored. `Debug` and `Display` show the first 8 hex
/// digits only (enough to tell keys apart in logs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyDigest([u8; 32]);

impl ApiKeyDigest {
    /// The digest of `key`.
    pub fn of(key: &str) -> Self {
        ApiKeyDigest(Sha256::digest(key.as_bytes()).into())
    }

    /// From 64 hex digits (either case, surrounding whitespace ignored); `None` otherwise.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(ApiKeyDigest(out))
    }

    /// From the raw 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ApiKeyDigest(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        copilot_http::hex::encode(self.0)
    }
}

impl fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyDigest({self})")
    }
}

impl fmt::Display for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…")
    }
}

/// What one API key serves. Unknown fields of a stored record are kept, so an older instance rewriting a
/// record does not drop what a newer one added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiKeyRecord {
    /// The token-store account (user id) whose stored GitHub login serves the key.
    pub user: String,
    /// A name for logs and listings (never the key).
    pub label: String,
    /// How many requests the key may have in flight at once on each instance (`None`: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// When the key was added (seconds since the Unix epoch).
    #[serde(default)]
    pub created_at: u64,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiKeyRecord {
    /// A record for `user`, labelled `label`, created `now`, with no concurrency limit.
    pub fn new(user: impl Into<String>, label: impl Into<String>, now: SystemTime) -> Self {
        ApiKeyRecord {
            user: user.into(),
            label: label.into(),
            max_concurrent: None,
            created_at: now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs(),
            extra: serde_json::Map::new(),
        }
    }

    /// Limits the key to `limit` requests in flight per instance (at least 1).
    pub fn max_concurrent(mut self, limit: impl Into<Option<u32>>) -> Self {
        self.max_concurrent = limit.into().map(|n| n.max(1));
        self
    }
}

/// The shared map from API-key digests to what they serve. Every method is one atomic step in the database,
/// so instances adding and removing keys at once never lose one another's changes.
#[async_trait]
pub trait ApiKeyDirectory: Send + Sync + fmt::Debug {
    /// The record of `digest`, if the key exists. A record that does not open or decode is an error naming
    /// the record, never another key's record.
    async fn find(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Adds a key; `false` (and nothing changed) if the digest is already present.
    async fn add(&self, digest: &ApiKeyDigest, record: &ApiKeyRecord) -> Result<bool, StoreError>;
    /// Removes a key; `false` if there was none.
    async fn remove(&self, digest: &ApiKeyDigest) -> Result<bool, StoreError>;
    /// Every key, ordered by digest. Records that do not open are skipped with a warning.
    async fn list(&self) -> Result<Vec<(ApiKeyDigest, ApiKeyRecord)>, StoreError>;
}

/// The name (and authenticated data) of an API-key record.
pub fn api_key_record(digest: &ApiKeyDigest) -> (String, Vec<u8>) {
    let name = format!("api key {digest}");
    let mut aad = b"copilot-rs/api-key/v1\0".to_vec();
    aad.extend_from_slice(digest.as_bytes());
    (name, aad)
}

/// Seals `record` for `digest`.
pub fn seal_api_key(
    sealer: &Sealer,
    digest: &ApiKeyDigest,
    record: &ApiKeyRecord,
) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(record)
        .map_err(|e| StoreError::config(format!("cannot encode the API key record: {e}")))?;
    let (_, aad) = api_key_record(digest);
    sealer.seal(&aad, &json)
}

/// Opens the record of `digest`.
pub fn open_api_key(
    sealer: &Sealer,
    digest: &ApiKeyDigest,
    sealed: &[u8],
) -> Result<ApiKeyRecord, StoreError> {
    open_json(sealer, api_key_record(digest), sealed)
}

/// Opens every listed record, skipping (with a warning) those that do not open: one damaged record must not
/// hide every other key.
pub fn open_api_keys(
    sealer: &Sealer,
    rows: impl IntoIterator<Item = (ApiKeyDigest, Vec<u8>)>,
) -> Vec<(ApiKeyDigest, ApiKeyRecord)> {
    let mut keys: Vec<_> = rows
        .into_iter()
        .filter_map(
            |(digest, sealed)| match open_api_key(sealer, &digest, &sealed) {
                Ok(record) => Some((digest, record)),
                Err(error) => {
                    tracing::warn!(%error, "skipping an unreadable API key record");
                    None
                }
            },
        )
        .collect();
    keys.sort_by_key(|(digest, _)| *digest);
    keys
}

/// [`ApiKeyDirectory`] in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryApiKeys {
    keys: Mutex<BTreeMap<ApiKeyDigest, ApiKeyRecord>>,
}

impl MemoryApiKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, BTreeMap<ApiKeyDigest, ApiKeyRecord>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ApiKeyDirectory for MemoryApiKeys {
    async fn find(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.keys().get(digest).cloned())
    }

    async fn add(&self, digest: &ApiKeyDigest, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        let mut keys = self.keys();
        if keys.contains_key(digest) {
            return Ok(false);
        }
        keys.insert(*digest, record.clone());
        Ok(true)
    }

    async fn remove(&self, digest: &ApiKeyDigest) -> Result<bool, StoreError> {
        Ok(self.keys().remove(digest).is_some())
    }

    async fn list(&self) -> Result<Vec<(ApiKeyDigest, ApiKeyRecord)>, StoreError> {
        Ok(self
            .keys()
            .iter()
            .map(|(digest, record)| (*digest, record.clone()))
            .collect())
    }
}

/// Writes raw sealed bytes under a digest (see [`api_key_directory_contract`]).
#[cfg(any(test, feature = "test-support"))]
pub type PlantRecord = dyn Fn(ApiKeyDigest, Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Sync;

/// The [`ApiKeyDirectory`] contract, for every implementation's tests: add / find / duplicate add / list /
/// remove, unknown fields kept, and records bound to their digest (a record copied onto another digest is
/// refused by `find`, and listing skips it). `plant` writes raw sealed bytes under a digest, as an attacker
/// with write access to the database could; `None` skips that part (the in-memory directory has no bytes).
#[cfg(any(test, feature = "test-support"))]
pub async fn api_key_directory_contract(
    directory: &dyn ApiKeyDirectory,
    plant: Option<&PlantRecord>,
    sealer: &Sealer,
) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let alice = ApiKeyDigest::of("sk-contract-alice-0123456789");
    let bob = ApiKeyDigest::of("sk-contract-bob-0123456789");
    let mut record = ApiKeyRecord::new("alice", "alice laptop", now).max_concurrent(2);
    record
        .extra
        .insert("future".to_owned(), serde_json::json!({"kept": true}));
    assert_eq!(directory.find(&alice).await.expect("find"), None);
    assert!(directory.add(&alice, &record).await.expect("add"));
    let other = ApiKeyRecord::new("mallory", "takeover", now);
    assert!(
        !directory.add(&alice, &other).await.expect("second add"),
        "a second add of the same digest changes nothing"
    );
    assert_eq!(
        directory.find(&alice).await.expect("find"),
        Some(record.clone())
    );
    assert!(
        directory
            .add(&bob, &ApiKeyRecord::new("bob", "bob", now))
            .await
            .expect("add bob")
    );
    let listed = directory.list().await.expect("list");
    let users: Vec<_> = listed.iter().map(|(_, r)| r.user.as_str()).collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(users.contains(&"alice") && users.contains(&"bob"));
    assert!(
        listed.windows(2).all(|w| w[0].0 < w[1].0),
        "ordered by digest"
    );

    if let Some(plant) = plant {
        // Alice's sealed record copied onto a new digest does not open there.
        let moved = ApiKeyDigest::of("sk-contract-moved-0123456789");
        plant(moved, seal_api_key(sealer, &alice, &record).expect("seal")).await;
        let refused = directory.find(&moved).await.expect_err("moved record");
        assert!(
            matches!(refused, StoreError::Undecryptable { .. }),
            "{refused:?}"
        );
        assert_eq!(
            directory.list().await.expect("list").len(),
            2,
            "listing skips the unreadable record"
        );
        assert!(directory.remove(&moved).await.expect("remove moved"));
        assert_eq!(
            directory.find(&alice).await.expect("find"),
            Some(record.clone())
        );
    }

    assert!(directory.remove(&alice).await.expect("remove"));
    assert!(!directory.remove(&alice).await.expect("remove again"));
    assert_eq!(directory.find(&alice).await.expect("find"), None);
    assert!(directory.remove(&bob).await.expect("remove bob"));
    assert!(directory.list().await.expect("list").is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncryptionKey;

    #[test]
    fn digests_parse_print_and_redact() {
        let digest = ApiKeyDigest::of("sk-copilot-rs-0123456789abcdef");
        let hex = digest.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(ApiKeyDigest::from_hex(&hex.to_uppercase()), Some(digest));
        assert_eq!(ApiKeyDigest::from_hex(&format!(" {hex}\n")), Some(digest));
        assert_eq!(ApiKeyDigest::from_hex(&hex[..63]), None);
        assert_eq!(ApiKeyDigest::from_hex(&format!("{}zz", &hex[..62])), None);
        assert_eq!(ApiKeyDigest::from_hex(&format!("{}é", &hex[..62])), None);
        assert_eq!(
            format!("{digest:?}"),
            format!("ApiKeyDigest({}…)", &hex[..8])
        );
    }

    #[test]
    fn records_are_bound_to_their_digest() {
        let sealer = Sealer::new(&EncryptionKey::generate().expect("key"));
        let a = ApiKeyDigest::of("sk-a-0123456789abcdef");
        let b = ApiKeyDigest::of("sk-b-0123456789abcdef");
        let record = ApiKeyRecord::new("alice", "a", SystemTime::now());
        let sealed = seal_api_key(&sealer, &a, &record).expect("seal");
        assert_eq!(open_api_key(&sealer, &a, &sealed).expect("open"), record);
        assert!(matches!(
            open_api_key(&sealer, &b, &sealed),
            Err(StoreError::Undecryptable { .. })
        ));
        let garbage = sealer
            .seal(&api_key_record(&a).1, b"not json")
            .expect("seal");
        assert!(matches!(
            open_api_key(&sealer, &a, &garbage),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn memory_directory_meets_the_contract() {
        let sealer = Sealer::new(&EncryptionKey::generate().expect("key"));
        api_key_directory_contract(&MemoryApiKeys::new(), None, &sealer).await;
    }
}
