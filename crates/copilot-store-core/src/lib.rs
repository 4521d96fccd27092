//! What copilot-rs's shared-database stores (`copilot-store-redis`, `copilot-store-postgres`) have in common:
//! sealing records at rest, the record formats, the store error, and leases ([`lease`]: the trait each
//! database implements once, and the refresh-lease wait both stores use).
//!
//! # Records at rest
//!
//! Every stored value (a GitHub credential, a shared Copilot token) is sealed with AES-256-GCM under a key the
//! application supplies ([`EncryptionKey`]): `0x01 ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag`. The
//! additional authenticated data names the record (its kind, host and account), so a sealed value copied onto
//! another user's row does not open there. A value that does not open with any configured key is
//! [`StoreError::Undecryptable`]; one that opens but does not decode is [`StoreError::Corrupt`]. Neither
//! touches any other record.
//!
//! Session records are sealed the same way (the `sessions` module, feature `sessions`), and so are the
//! gateway's API-key records ([`api_keys`]: stored under the key's SHA-256, never the key).
//!
//! Keys rotate: [`Sealer::previous_key`] keeps opening values sealed under an old key while every write
//! seals under the current one.

pub mod api_keys;
pub mod lease;
#[cfg(feature = "sessions")]
pub mod sessions;
pub mod token_cache;

use std::fmt;
use std::time::{Duration, SystemTime};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use copilot_auth::{AuthError, CredentialKey, StoredCredential, VersionedCredential};
use copilot_token::{LeaseId, SharedCopilotToken, TokenError};
use secrecy::{ExposeSecret, SecretBox, SecretString};

/// The first byte of every sealed value: the format (AES-256-GCM, 96-bit random nonce).
const FORMAT_AES256_GCM: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A 256-bit key for sealing records. `Debug` redacts it.
pub struct EncryptionKey(SecretBox<[u8; 32]>);

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        EncryptionKey(SecretBox::new(Box::new(bytes)))
    }

    /// A key from standard base64 (with or without padding) of 32 bytes, e.g. an environment variable.
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim().trim_end_matches('='))
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text.trim().trim_end_matches('='))
            })
            .map_err(|_| StoreError::config("the encryption key is not valid base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::config("the encryption key must be 32 bytes (256 bits)"))?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key (store it somewhere safe: without it the records cannot be read).
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::config(format!("random number generator failed: {e}")))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key as standard base64, to keep it in a secret manager.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(self.0.expose_secret()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.expose_secret().into())
    }
}

impl Clone for EncryptionKey {
    fn clone(&self) -> Self {
        Self::from_bytes(*self.0.expose_secret())
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// Seals and opens records with the current key (and opens with previous ones).
#[derive(Clone)]
pub struct Sealer {
    current: Aes256Gcm,
    previous: Vec<Aes256Gcm>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("previous_keys", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Seals under `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        Sealer {
            current: key.cipher(),
            previous: Vec::new(),
        }
    }

    /// Also opens values sealed under `key` (a key being rotated out).
    pub fn previous_key(mut self, key: &EncryptionKey) -> Self {
        self.previous.push(key.cipher());
        self
    }

    /// Seals `plaintext` for the record named `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::config(format!("random number generator failed: {e}")))?;
        let ciphertext = self
            .current
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| StoreError::config("AES-GCM refused to seal the record"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_AES256_GCM);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed for the record named `aad`; `record` names it in errors.
    pub fn open(
        &self,
        record: &str,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<SecretBox<[u8]>, StoreError> {
        let undecryptable = || StoreError::Undecryptable {
            record: record.to_owned(),
        };
        let (&format, rest) = sealed.split_first().ok_or_else(undecryptable)?;
        if format != FORMAT_AES256_GCM || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|cipher| {
                cipher
                    .decrypt(
                        Nonce::from_slice(nonce),
                        Payload {
                            msg: ciphertext,
                            aad,
                        },
                    )
                    .ok()
            })
            .map(|plain| SecretBox::new(plain.into_boxed_slice()))
            .ok_or_else(undecryptable)
    }
}

/// The name (and authenticated data) of a stored credential.
pub fn credential_record(key: &CredentialKey) -> (String, Vec<u8>) {
    let name = format!("credential {}", key);
    let mut aad = b"copilot-rs/credential/v1\0".to_vec();
    aad.extend_from_slice(key.host.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key.account.as_bytes());
    (name, aad)
}

/// The name (and authenticated data) of a shared Copilot token.
pub fn copilot_token_record(identity: &str) -> (String, Vec<u8>) {
    let name = format!("copilot token {identity}");
    let mut aad = b"copilot-rs/copilot-token/v1\0".to_vec();
    aad.extend_from_slice(identity.as_bytes());
    (name, aad)
}

/// Seals a credential for its record.
pub fn seal_credential(
    sealer: &Sealer,
    key: &CredentialKey,
    credential: &StoredCredential,
) -> Result<Vec<u8>, StoreError> {
    seal_json(
        sealer,
        &credential_record(key).1,
        credential,
        "the credential",
    )
}

/// Encodes `value` as JSON (kept as a secret while it exists) and seals it under `aad`; `what` names it in
/// the error.
pub(crate) fn seal_json<T: serde::Serialize>(
    sealer: &Sealer,
    aad: &[u8],
    value: &T,
    what: &str,
) -> Result<Vec<u8>, StoreError> {
    let json = SecretBox::new(
        serde_json::to_vec(value)
            .map_err(|e| StoreError::config(format!("cannot encode {what}: {e}")))?
            .into_boxed_slice(),
    );
    sealer.seal(aad, json.expose_secret())
}

/// Opens the sealed record `(name, aad)` and decodes its JSON.
pub(crate) fn open_json<T: serde::de::DeserializeOwned>(
    sealer: &Sealer,
    (record, aad): (String, Vec<u8>),
    sealed: &[u8],
) -> Result<T, StoreError> {
    let json = sealer.open(&record, &aad, sealed)?;
    decode_record(record, json.expose_secret())
}

/// Opens a sealed credential.
pub fn open_credential(
    sealer: &Sealer,
    key: &CredentialKey,
    sealed: &[u8],
) -> Result<StoredCredential, StoreError> {
    open_json(sealer, credential_record(key), sealed)
}

/// Opens a sealed credential read with its `version` (`Err` says why the database's version is unusable,
/// which makes the record [`StoreError::Corrupt`]).
pub fn open_versioned_credential(
    sealer: &Sealer,
    key: &CredentialKey,
    sealed: &[u8],
    version: Result<u64, &str>,
) -> Result<VersionedCredential, StoreError> {
    let credential = open_credential(sealer, key, sealed)?;
    let version = version.map_err(|problem| StoreError::Corrupt {
        record: credential_record(key).0,
        message: problem.into(),
    })?;
    Ok(VersionedCredential {
        credential,
        version,
    })
}

/// Decodes an opened record; a failure is [`StoreError::Corrupt`] naming `record`.
pub(crate) fn decode_record<T: serde::de::DeserializeOwned>(
    record: String,
    json: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(json).map_err(|e| corrupt_record(record, &e))
}

/// [`StoreError::Corrupt`] for `record`, with serde's category and position only: its message may quote the
/// (secret) input.
pub(crate) fn corrupt_record(record: String, error: &serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        record,
        message: copilot_http::redact::json_error(error),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SharedRecord {
    envelope: String,
    fetched_at_ms: u64,
}

/// Seals a shared Copilot token for `identity`.
pub fn seal_copilot_token(
    sealer: &Sealer,
    identity: &str,
    token: &SharedCopilotToken,
) -> Result<Vec<u8>, StoreError> {
    let fetched_at_ms = token
        .fetched_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let record = SharedRecord {
        envelope: token.envelope.expose_secret().to_owned(),
        fetched_at_ms,
    };
    seal_json(
        sealer,
        &copilot_token_record(identity).1,
        &record,
        "the Copilot token",
    )
}

/// Opens a shared Copilot token of `identity`.
pub fn open_copilot_token(
    sealer: &Sealer,
    identity: &str,
    sealed: &[u8],
) -> Result<SharedCopilotToken, StoreError> {
    let shared: SharedRecord = open_json(sealer, copilot_token_record(identity), sealed)?;
    Ok(SharedCopilotToken {
        envelope: SecretString::from(shared.envelope),
        fetched_at: SystemTime::UNIX_EPOCH + Duration::from_millis(shared.fetched_at_ms),
    })
}

/// A shared Copilot token as read from a cache (`None`: nothing cached): one that does not open or decode
/// is reported with a warning and treated as missing, since the next publish replaces it.
pub fn read_cached_copilot_token(
    sealer: &Sealer,
    identity: &str,
    sealed: Option<Vec<u8>>,
) -> Option<SharedCopilotToken> {
    match open_copilot_token(sealer, identity, &sealed?) {
        Ok(token) => Some(token),
        Err(error) => {
            tracing::warn!(%error, "ignoring an unreadable shared Copilot token");
            None
        }
    }
}

/// How long a shared Copilot token is worth keeping: until its `expires_at` (at least a minute, at most a day).
pub fn copilot_token_ttl(token: &SharedCopilotToken, now: SystemTime) -> Duration {
    token
        .expires_at()
        .and_then(|at| at.duration_since(now).ok())
        .unwrap_or_default()
        .clamp(Duration::from_secs(60), Duration::from_secs(86_400))
}

/// A new random lease id (128 bits, hex).
pub fn new_lease_id() -> Result<LeaseId, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::config(format!("random number generator failed: {e}")))?;
    Ok(LeaseId::new(copilot_http::hex::encode(bytes)))
}

/// Everything that can go wrong in a shared store. Convert it into the caller's error with `From`
/// ([`AuthError::Store`], [`TokenError::SharedCache`]), where it stays downcastable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed: unreachable, a command or query failed.
    #[error("{backend}: {source}")]
    Backend {
        /// `redis` or `postgres`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value does not open with any configured key (wrong key, or the value was altered or moved
    /// from another record). The record was left as it is.
    #[error("{record} cannot be decrypted with the configured keys; it was left untouched")]
    Undecryptable {
        /// Which record (kind, account and host; never its content).
        record: String,
    },
    /// A stored value opened but is not a valid record. The record was left as it is.
    #[error("{record} is corrupt ({message}); it was left untouched")]
    Corrupt {
        /// Which record.
        record: String,
        /// What is wrong (never its content).
        message: String,
    },
    /// The lease was still held by another process after waiting this long.
    #[error("{record}: another process held the lease for longer than {waited:?}")]
    LeaseTimeout {
        /// Which record.
        record: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A setting is unusable (bad key, bad URL, …).
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

impl StoreError {
    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        StoreError::Config {
            message: message.into(),
        }
    }

    /// A driver error of `backend`.
    pub fn backend(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            backend,
            source: source.into(),
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        AuthError::Store(std::sync::Arc::new(error))
    }
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        TokenError::SharedCache(std::sync::Arc::new(error))
    }
}

/// The store error inside an [`AuthError`] or [`TokenError`], if it is one.
pub fn store_error_of<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a StoreError> {
    let mut current: Option<&'a (dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(store) = e.downcast_ref::<StoreError>() {
            return Some(store);
        }
        // `AuthError::Store` and `TokenError::SharedCache` hold it behind an `Arc<dyn Error>`, whose own
        // `source()` skips the inner error.
        if let Some(shared) =
            e.downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>()
            && let Some(store) = (**shared).downcast_ref::<StoreError>()
        {
            return Some(store);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use copilot_auth::GitHubToken;

    fn credential() -> StoredCredential {
        StoredCredential::new("github.com", GitHubToken::new("ghu_secretSECRET"))
    }

    #[test]
    fn a_sealed_credential_opens_only_for_its_own_record_and_key() {
        let key = EncryptionKey::from_bytes([7; 32]);
        let sealer = Sealer::new(&key);
        let alice = CredentialKey::new("github.com", "alice");
        let bob = CredentialKey::new("github.com", "bob");
        let sealed = seal_credential(&sealer, &alice, &credential()).unwrap();
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "no plaintext at rest"
        );

        let opened = open_credential(&sealer, &alice, &sealed).unwrap();
        assert_eq!(opened.access_token.expose_secret(), "ghu_secretSECRET");
        assert!(matches!(
            open_credential(&sealer, &bob, &sealed),
            Err(StoreError::Undecryptable { .. })
        ));
        let other = Sealer::new(&EncryptionKey::from_bytes([8; 32]));
        assert!(matches!(
            open_credential(&other, &alice, &sealed),
            Err(StoreError::Undecryptable { .. })
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            open_credential(&sealer, &alice, &flipped),
            Err(StoreError::Undecryptable { .. })
        ));
        assert!(matches!(
            open_credential(&sealer, &alice, b"\x01short"),
            Err(StoreError::Undecryptable { .. })
        ));
    }

    #[test]
    fn a_previous_key_still_opens_while_new_values_use_the_current_one() {
        let old = EncryptionKey::from_bytes([1; 32]);
        let new = EncryptionKey::from_bytes([2; 32]);
        let key = CredentialKey::new("github.com", "alice");
        let sealed_old = seal_credential(&Sealer::new(&old), &key, &credential()).unwrap();
        let rotating = Sealer::new(&new).previous_key(&old);
        assert!(open_credential(&rotating, &key, &sealed_old).is_ok());
        let sealed_new = seal_credential(&rotating, &key, &credential()).unwrap();
        assert!(open_credential(&Sealer::new(&new), &key, &sealed_new).is_ok());
        assert!(open_credential(&Sealer::new(&old), &key, &sealed_new).is_err());
    }

    #[test]
    fn a_value_that_opens_but_does_not_decode_is_corrupt() {
        let sealer = Sealer::new(&EncryptionKey::from_bytes([3; 32]));
        let key = CredentialKey::new("github.com", "alice");
        let (_, aad) = credential_record(&key);
        let sealed = sealer.seal(&aad, b"{\"not\": \"a credential\"}").unwrap();
        let error = open_credential(&sealer, &key, &sealed).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        let auth: AuthError = error.into();
        assert!(matches!(
            store_error_of(&auth),
            Some(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = EncryptionKey::generate().unwrap();
        let text = key.to_base64();
        let again = EncryptionKey::from_base64(text.expose_secret()).unwrap();
        let aad = b"x";
        let sealed = Sealer::new(&key).seal(aad, b"hello").unwrap();
        assert!(Sealer::new(&again).open("x", aad, &sealed).is_ok());
        assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
        assert!(EncryptionKey::from_base64("c2hvcnQ=").is_err());
        assert!(EncryptionKey::from_base64("!!!").is_err());
    }

    #[test]
    fn a_cached_tokens_ttl_reads_float_and_absurd_expiries_without_panicking() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let token = |expires_at: &str| SharedCopilotToken {
            envelope: SecretString::from(format!(r#"{{"token":"t","expires_at":{expires_at}}}"#)),
            fetched_at: now,
        };
        // A float, as the exchange may send it, counts like an integer.
        assert_eq!(
            copilot_token_ttl(&token("1800001200.5"), now),
            Duration::from_secs(1200)
        );
        // u64::MAX seconds would overflow SystemTime: it saturates, and the TTL is capped at a day.
        assert_eq!(
            copilot_token_ttl(&token("18446744073709551615"), now),
            Duration::from_secs(86_400)
        );
        // Missing, negative or not a number: the one-minute floor.
        for bad in ["-5", "\"soon\"", "null"] {
            assert_eq!(
                copilot_token_ttl(&token(bad), now),
                Duration::from_secs(60),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_shared_copilot_token_round_trips_sealed() {
        let sealer = Sealer::new(&EncryptionKey::from_bytes([4; 32]));
        let token = SharedCopilotToken {
            envelope: SecretString::from(r#"{"token":"tid=1:mac","expires_at":1800000000}"#),
            fetched_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_799_998_200_123),
        };
        let sealed = seal_copilot_token(&sealer, "alice", &token).unwrap();
        let back = open_copilot_token(&sealer, "alice", &sealed).unwrap();
        assert_eq!(
            back.envelope.expose_secret(),
            token.envelope.expose_secret()
        );
        assert_eq!(back.fetched_at, token.fetched_at);
        assert!(open_copilot_token(&sealer, "bob", &sealed).is_err());
        assert_eq!(
            copilot_token_ttl(
                &token,
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_799_998_200)
            ),
            Duration::from_secs(1800)
        );
    }
}
