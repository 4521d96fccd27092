//! What the shared-database session stores have in common (feature `sessions`): sealing session records,
//! the ids they accept, and the session lock as a lease kept alive while it is held.
//!
//! # Records at rest
//!
//! A saved session is two sealed values: the whole [`SessionRecord`] and, for listing without decrypting
//! conversations, its [`SessionMetadata`] with the format version. Each is bound to its session id (and
//! part) by the additional authenticated data, so a value copied to another id does not open there. A value
//! that does not open is a [`SdkError::SessionStore`] holding [`StoreError::Undecryptable`]; one that opens
//! but does not decode, [`StoreError::Corrupt`] (find either with [`store_error_of`](crate::store_error_of)).
//! Listing skips such sessions with a warning instead of hiding every other one.
//!
//! # Locks
//!
//! [`SessionLocks`] turns a [`LeaseBackend`] (a Redis key, a PostgreSQL row) into
//! [`SessionStore::lock`](copilot_sdk::SessionStore::lock): the lease is taken once, without waiting
//! ([`SdkError::SessionInUse`] when another holder has it), renewed every third of its TTL while the
//! [`SessionLock`] lives, and released when it is dropped. A holder that dies stops renewing, so its lease
//! runs out after the TTL and the session can be opened elsewhere.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use copilot_sdk::{SESSION_FORMAT_VERSION, SdkError, SessionLock, SessionMetadata, SessionRecord};
use copilot_token::LeaseId;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::lease::LeaseBackend;
use crate::{Sealer, StoreError};

/// The largest encoded session record a shared store writes or reads.
pub const MAX_SESSION_RECORD_BYTES: usize = 256 * 1024 * 1024;
/// How long a session lock lives without renewal (default; it is renewed every third of it).
pub const DEFAULT_SESSION_LOCK_TTL: Duration = Duration::from_secs(30);

/// The session-id rule every store shares (copilot-sdk's, re-exported here for the store crates).
pub use copilot_sdk::{MAX_SESSION_ID_BYTES, check_session_id};

/// Which sealed part of a session.
#[derive(Clone, Copy)]
enum Part {
    Record,
    Metadata,
}

/// The name (and authenticated data) of one part of session `id`.
fn session_part(id: &str, part: Part) -> (String, Vec<u8>) {
    let (label, tag): (&str, &[u8]) = match part {
        Part::Record => ("session", b"record"),
        Part::Metadata => ("session metadata", b"metadata"),
    };
    let mut aad = b"copilot-rs/session/v1\0".to_vec();
    aad.extend_from_slice(tag);
    aad.push(0);
    aad.extend_from_slice(id.as_bytes());
    (format!("{label} {id:?}"), aad)
}

/// A session sealed for storage.
pub struct SealedSession {
    /// The sealed [`SessionMetadata`] (with the format version), for listing.
    pub metadata: Vec<u8>,
    /// The sealed [`SessionRecord`].
    pub record: Vec<u8>,
}

impl fmt::Debug for SealedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSession")
            .field("metadata_bytes", &self.metadata.len())
            .field("record_bytes", &self.record.len())
            .finish()
    }
}

#[derive(Serialize)]
struct ListedOut<'a> {
    version: u32,
    metadata: &'a SessionMetadata,
}

#[derive(Deserialize)]
struct ListedIn {
    version: u32,
    metadata: SessionMetadata,
}

/// A [`SdkError::SessionStore`] saying what was being done with session `id`.
pub fn session_error(doing: &str, id: &str, error: StoreError) -> SdkError {
    SdkError::session_store(format!("{doing} session {id:?}"), error)
}

fn encode_error(id: &str, error: serde_json::Error) -> SdkError {
    session_error(
        "encode",
        id,
        StoreError::config(format!("cannot encode the session: {error}")),
    )
}

fn check_version(record: String, version: u32) -> Result<(), StoreError> {
    if version > SESSION_FORMAT_VERSION {
        return Err(StoreError::Corrupt {
            record,
            message: format!(
                "format version {version} is newer than this program understands \
                 ({SESSION_FORMAT_VERSION})"
            ),
        });
    }
    Ok(())
}

/// Checks the id of `record`, encodes and seals it (refusing records over [`MAX_SESSION_RECORD_BYTES`]).
pub fn seal_session(sealer: &Sealer, record: &SessionRecord) -> Result<SealedSession, SdkError> {
    let id = record.metadata.id.as_str();
    check_session_id(id)?;
    let json = SecretBox::new(
        serde_json::to_vec(record)
            .map_err(|e| encode_error(id, e))?
            .into_boxed_slice(),
    );
    if json.expose_secret().len() > MAX_SESSION_RECORD_BYTES {
        return Err(session_error(
            "save",
            id,
            StoreError::config(format!(
                "the encoded session is larger than {MAX_SESSION_RECORD_BYTES} bytes"
            )),
        ));
    }
    let listed = serde_json::to_vec(&ListedOut {
        version: record.version,
        metadata: &record.metadata,
    })
    .map_err(|e| encode_error(id, e))?;
    let seal = |part: Part, plain: &[u8]| {
        sealer
            .seal(&session_part(id, part).1, plain)
            .map_err(|e| session_error("seal", id, e))
    };
    Ok(SealedSession {
        metadata: seal(Part::Metadata, &listed)?,
        record: seal(Part::Record, json.expose_secret())?,
    })
}

/// Opens one sealed part of session `id` and checks its format version and id.
fn open_part<T: serde::de::DeserializeOwned>(
    sealer: &Sealer,
    id: &str,
    part: Part,
    sealed: &[u8],
    version_and_id: impl FnOnce(&T) -> (u32, &str),
) -> Result<T, StoreError> {
    let (name, aad) = session_part(id, part);
    if sealed.len() > MAX_SESSION_RECORD_BYTES.saturating_add(64) {
        return Err(StoreError::Corrupt {
            record: name,
            message: format!("larger than {MAX_SESSION_RECORD_BYTES} bytes"),
        });
    }
    let json = sealer.open(&name, &aad, sealed)?;
    let value: T = serde_json::from_slice(json.expose_secret())
        .map_err(|e| crate::corrupt_record(name.clone(), &e))?;
    let (version, stored_id) = version_and_id(&value);
    check_version(name.clone(), version)?;
    if stored_id != id {
        return Err(StoreError::Corrupt {
            record: name,
            message: "it names another session".to_owned(),
        });
    }
    Ok(value)
}

/// Opens the sealed record of session `id`.
pub fn open_session(sealer: &Sealer, id: &str, sealed: &[u8]) -> Result<SessionRecord, SdkError> {
    open_part(sealer, id, Part::Record, sealed, |r: &SessionRecord| {
        (r.version, &r.metadata.id)
    })
    .map_err(|e| session_error("load", id, e))
}

/// Opens the sealed metadata of session `id`.
pub fn open_session_metadata(
    sealer: &Sealer,
    id: &str,
    sealed: &[u8],
) -> Result<SessionMetadata, SdkError> {
    open_part(sealer, id, Part::Metadata, sealed, |l: &ListedIn| {
        (l.version, &l.metadata.id)
    })
    .map(|listed| listed.metadata)
    .map_err(|e| session_error("list", id, e))
}

/// Opens every listed `(id, sealed metadata)`, skipping (with a warning) those that do not open, so one
/// broken session does not hide the others.
pub fn open_listed(
    sealer: &Sealer,
    listed: impl IntoIterator<Item = (String, Vec<u8>)>,
) -> Vec<SessionMetadata> {
    listed
        .into_iter()
        .filter_map(
            |(id, sealed)| match open_session_metadata(sealer, &id, &sealed) {
                Ok(metadata) => Some(metadata),
                Err(error) => {
                    tracing::warn!(%error, "skipping an unreadable session");
                    None
                }
            },
        )
        .collect()
}

/// Session locks as leases on a [`LeaseBackend`] (see the [module docs](self)). Clones share the
/// releases in flight, so a lock dropped in this process can be taken again at once by any clone.
#[derive(Clone)]
pub struct SessionLocks<B> {
    backend: B,
    ttl: Duration,
    releasing: Arc<Mutex<HashMap<String, JoinHandle<()>>>>,
    /// The leases held through this family of clones: name → holder id.
    held: Arc<Mutex<HashMap<String, LeaseId>>>,
}

impl<B: fmt::Debug> fmt::Debug for SessionLocks<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLocks")
            .field("backend", &self.backend)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<B: LeaseBackend> SessionLocks<B> {
    /// Locks on `backend` whose leases live [`DEFAULT_SESSION_LOCK_TTL`] without renewal.
    pub fn new(backend: B) -> Self {
        SessionLocks {
            backend,
            ttl: DEFAULT_SESSION_LOCK_TTL,
            releasing: Arc::default(),
            held: Arc::default(),
        }
    }

    /// How long a lease lives without renewal (at least 30 ms): how long a crashed holder keeps a session.
    pub fn ttl(mut self, ttl: impl Into<Duration>) -> Self {
        self.ttl = ttl.into().max(Duration::from_millis(30));
        self
    }

    /// The lease TTL.
    pub fn lease_ttl(&self) -> Duration {
        self.ttl
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Takes the lock on session `id` as lease `name`, or fails at once with [`SdkError::SessionInUse`].
    pub async fn lock(&self, id: &str, name: String) -> Result<SessionLock, SdkError> {
        check_session_id(id)?;
        // A lock dropped in this process is released in the background: wait for that release first.
        let pending = self.releasing_map().remove(&name);
        if let Some(release) = pending {
            let _ = release.await;
        }
        let holder = self
            .backend
            .take(&name, self.ttl)
            .await
            .map_err(|e| session_error("lock", id, e))?
            .ok_or_else(|| SdkError::SessionInUse { id: id.to_owned() })?;
        self.held_map().insert(name.clone(), holder.clone());
        let renewer = tokio::spawn(renew(
            self.backend.clone(),
            name.clone(),
            holder.clone(),
            self.ttl,
        ));
        Ok(SessionLock::new(HeldLease {
            locks: self.clone(),
            name,
            holder,
            renewer,
        }))
    }

    /// The holder id of lease `name` if a [`SessionLock`] of this store (or a clone) holds it: a store
    /// writes a session under its lock only while that lease is still this holder's (fencing), so a process
    /// that stalled past its TTL and lost the lock cannot overwrite the new holder's conversation.
    pub fn holder(&self, name: &str) -> Option<LeaseId> {
        self.held_map().get(name).cloned()
    }

    fn held_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, LeaseId>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn releasing_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, JoinHandle<()>>> {
        // Every change is one insert or remove: a poisoned map is still consistent.
        self.releasing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Renews the lease every third of its TTL until aborted or lost.
async fn renew<B: LeaseBackend>(backend: B, name: String, holder: LeaseId, ttl: Duration) {
    let every = ttl / 3;
    loop {
        tokio::time::sleep(every).await;
        match backend.renew(&name, &holder, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    lease = %name,
                    "a session lock ran out before it was renewed (the process stalled for longer than its \
                     TTL); another process may open the session now"
                );
                return;
            }
            // Try again at the next tick: the lease is still ours until its TTL runs out.
            Err(error) => tracing::warn!(lease = %name, %error, "could not renew a session lock"),
        }
    }
}

/// A held lease; dropping it stops the renewals and releases it in the background.
struct HeldLease<B: LeaseBackend> {
    locks: SessionLocks<B>,
    name: String,
    holder: LeaseId,
    renewer: JoinHandle<()>,
}

impl<B: LeaseBackend> Drop for HeldLease<B> {
    fn drop(&mut self) {
        self.renewer.abort();
        self.locks.held_map().remove(&self.name);
        // Without a runtime (it is shutting down) the lease runs out after its TTL instead.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let backend = self.locks.backend.clone();
        let releasing = Arc::clone(&self.locks.releasing);
        let name = self.name.clone();
        let holder = self.holder.clone();
        // Hold the map while spawning so the task's own removal comes after its insertion.
        let mut map = self.locks.releasing_map();
        let task = runtime.spawn(async move {
            if let Err(error) = backend.release(&name, &holder).await {
                tracing::warn!(lease = %name, %error, "could not release a session lock; it runs out after its TTL");
            }
            releasing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&name);
        });
        map.insert(self.name.clone(), task);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::EncryptionKey;
    use crate::lease::memory::MemoryLeases;

    #[tokio::test(start_paused = true)]
    async fn a_dropped_lock_is_free_at_once_in_this_process_though_its_release_is_slow() {
        let backend = MemoryLeases {
            release_delay: Duration::from_secs(2),
            ..MemoryLeases::default()
        };
        let locks = SessionLocks::new(backend.clone()).ttl(Duration::from_secs(3));
        let held = locks.lock("s", "session:s".into()).await.unwrap();
        assert!(matches!(
            locks.clone().lock("s", "session:s".into()).await,
            Err(SdkError::SessionInUse { id }) if id == "s"
        ));
        // Renewed every third of the TTL while held.
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(backend.renewals.load(Ordering::SeqCst), 3);

        assert!(
            locks.clone().holder("session:s").is_some(),
            "clones know the holder"
        );
        drop(held);
        assert_eq!(
            locks.holder("session:s"),
            None,
            "dropped: saves are no longer fenced"
        );
        // The release is still sleeping in the background; a clone waits for it instead of failing.
        let again = locks.clone().lock("s", "session:s".into()).await;
        assert!(again.is_ok(), "{again:?}");
        assert!(matches!(
            locks.lock("", "session:".into()).await,
            Err(SdkError::Config { .. })
        ));
    }

    #[test]
    fn a_lock_dropped_without_a_runtime_is_left_to_run_out() {
        let backend = MemoryLeases::default();
        let locks = SessionLocks::new(backend.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let held = runtime
            .block_on(locks.lock("s", "session:s".into()))
            .unwrap();
        drop(runtime);
        drop(held); // no runtime: no panic, nothing released
        assert!(backend.holders.lock().unwrap().contains_key("session:s"));
    }

    fn record(id: &str) -> SessionRecord {
        let mut record = SessionRecord::new(SessionMetadata::new(
            id,
            "gpt-4.1",
            std::time::SystemTime::UNIX_EPOCH,
        ));
        record.system_message = Some("private words".to_owned());
        record
    }

    #[test]
    fn a_sealed_session_opens_only_for_its_own_id_and_key() {
        let sealer = Sealer::new(&EncryptionKey::from_bytes([5; 32]));
        let sealed = seal_session(&sealer, &record("alice-1")).unwrap();
        assert!(!sealed.record.windows(7).any(|w| w == b"private"));
        assert_eq!(
            open_session(&sealer, "alice-1", &sealed.record).unwrap(),
            record("alice-1")
        );
        assert_eq!(
            open_session_metadata(&sealer, "alice-1", &sealed.metadata).unwrap(),
            record("alice-1").metadata
        );
        for (id, value) in [("bob-1", &sealed.record), ("alice-1", &sealed.metadata)] {
            let error = open_session(&sealer, id, value).unwrap_err();
            assert!(
                matches!(
                    crate::store_error_of(&error),
                    Some(StoreError::Undecryptable { .. })
                ),
                "{error:?}"
            );
        }
        let other = Sealer::new(&EncryptionKey::from_bytes([6; 32]));
        assert!(open_session(&other, "alice-1", &sealed.record).is_err());
        // One unreadable entry is skipped, the others listed.
        let listed = open_listed(
            &sealer,
            [
                ("alice-1".to_owned(), sealed.metadata.clone()),
                ("bob-1".to_owned(), sealed.metadata.clone()),
            ],
        );
        assert_eq!(listed, [record("alice-1").metadata]);
    }

    #[test]
    fn a_newer_format_or_a_broken_value_is_corrupt_not_a_panic() {
        let sealer = Sealer::new(&EncryptionKey::from_bytes([5; 32]));
        let mut newer = record("s");
        newer.version = SESSION_FORMAT_VERSION + 1;
        let sealed = seal_session(&sealer, &newer).unwrap();
        let error = open_session(&sealer, "s", &sealed.record).unwrap_err();
        assert!(error.to_string().contains("load session"), "{error}");
        assert!(matches!(
            crate::store_error_of(&error),
            Some(StoreError::Corrupt { message, .. }) if message.contains("newer")
        ));
        assert!(open_session_metadata(&sealer, "s", &sealed.metadata).is_err());
        let garbage = sealer
            .seal(&session_part("s", Part::Record).1, b"{\"secret\": 1")
            .unwrap();
        let error = open_session(&sealer, "s", &garbage).unwrap_err();
        let found = crate::store_error_of(&error).map(ToString::to_string);
        assert!(
            found
                .as_deref()
                .is_some_and(|m| m.contains("corrupt") && !m.contains("secret")),
            "{found:?}"
        );
    }

    #[test]
    fn ids_without_control_characters_are_kept() {
        for id in [
            "a",
            "with space",
            "日本/🦀:*?",
            &"x".repeat(MAX_SESSION_ID_BYTES),
        ] {
            assert!(check_session_id(id).is_ok(), "{id:?}");
        }
        for id in [
            "",
            "nul\0",
            "tab\t",
            "new\nline",
            &"x".repeat(MAX_SESSION_ID_BYTES + 1),
        ] {
            assert!(
                matches!(check_session_id(id), Err(SdkError::Config { .. })),
                "{id:?}"
            );
        }
    }
}
