//! [`FileSessionStore`]: one private JSON file per session.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use copilot_auth::private_fs;
use fs4::fs_std::FileExt;
use serde::Deserialize;

use super::{SESSION_FORMAT_VERSION, SessionLock, SessionMetadata, SessionRecord, SessionStore};
use crate::SdkError;

/// The largest session file read (a hostile or broken file must not exhaust memory).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// The longest file name (without `.json`) an id is kept as; a longer encoding becomes a digest name.
const MAX_NAME_LEN: usize = 200;

/// Sessions as files in one directory: `<dir>/<id>.json`, readable only by the user.
///
/// - The directory is created with mode 0700 and files are written with mode 0600 (Unix).
/// - Every save replaces the file atomically (temporary file, fsync, rename, directory fsync).
/// - [`lock`](SessionStore::lock) takes a non-blocking advisory lock on `<id>.json.lock`, held while the
///   session is open; it dies with the process, so a crashed program never leaves a session locked.
/// - Ids follow the one rule of every store ([`check_session_id`](crate::check_session_id): 1 to 512 bytes,
///   no control characters). An id of letters, digits, `-`, `_` and `.` (not first), at most 200
///   characters, is the file name as it is; any other byte is written `%XX`, and a name that would be
///   longer than 200 characters becomes `~<SHA-256 of the id>`. Listing reads the ids from the files, so
///   every name maps back.
/// - File I/O runs on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct FileSessionStore {
    dir: PathBuf,
}

/// Only the metadata of a record, for listing without decoding conversations.
#[derive(Deserialize)]
struct MetadataOnly {
    version: u32,
    metadata: SessionMetadata,
}

impl FileSessionStore {
    /// A store in `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSessionStore { dir: dir.into() }
    }

    /// The default directory: `sessions` in copilot-rs's configuration directory
    /// ([`private_fs::config_dir`]: `<config dir>/copilot-rs`).
    pub fn default_dir() -> Result<PathBuf, SdkError> {
        private_fs::config_dir()
            .map(|dir| dir.join("sessions"))
            .ok_or_else(|| SdkError::config("no configuration directory for this user"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, SdkError> {
        super::check_session_id(id)?;
        Ok(self.dir.join(format!("{}.json", file_name(id))))
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, SdkError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, SdkError> + Send + 'static,
    {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| SdkError::session_store("blocking file I/O did not finish", e))?
    }
}

/// The file name (without `.json`) of session `id`: the id itself when it is a portable file name, else
/// its bytes outside `[A-Za-z0-9_-]` (and `.`, except not first) as `%XX`, else, past
/// [`MAX_NAME_LEN`], `~` and the id's SHA-256. The three forms cannot meet: a plain name has neither `%`
/// nor `~`, an encoded one always has `%`, a digest name starts with `~`.
fn file_name(id: &str) -> String {
    let portable = |index: usize, byte: u8| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') || (byte == b'.' && index > 0)
    };
    let mut name = String::with_capacity(id.len());
    for (index, byte) in id.bytes().enumerate() {
        if portable(index, byte) {
            name.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(name, "%{byte:02X}");
        }
    }
    if name.len() <= MAX_NAME_LEN {
        return name;
    }
    use sha2::{Digest, Sha256};
    format!(
        "~{}",
        copilot_http::hex::encode(Sha256::digest(id.as_bytes()))
    )
}

fn store_error(
    operation: &str,
    path: &Path,
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> SdkError {
    SdkError::session_store(format!("{operation} {}", path.display()), error)
}

/// Reads a file of at most [`MAX_FILE_BYTES`]; `None` if it does not exist.
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>, SdkError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_error("open", path, e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| store_error("read", path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(store_error(
            "read",
            path,
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(Some(bytes))
}

fn check_version(path: &Path, version: u32) -> Result<(), SdkError> {
    if version > SESSION_FORMAT_VERSION {
        return Err(store_error(
            "read",
            path,
            format!(
                "format version {version} is newer than this program understands \
                 ({SESSION_FORMAT_VERSION})"
            ),
        ));
    }
    Ok(())
}

#[async_trait]
impl SessionStore for FileSessionStore {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        let path = self.path_of(id)?;
        self.blocking(move || {
            let Some(bytes) = read_capped(&path)? else {
                return Ok(None);
            };
            // The position only: serde's message would quote the conversation into logs.
            let record: SessionRecord = serde_json::from_slice(&bytes)
                .map_err(|e| store_error("decode", &path, copilot_http::redact::json_error(&e)))?;
            check_version(&path, record.version)?;
            Ok(Some(record))
        })
        .await
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        let path = self.path_of(&record.metadata.id)?;
        let dir = self.dir.clone();
        let bytes = serde_json::to_vec(record)
            .map_err(|e| SdkError::session_store("encode the session record", e))?;
        self.blocking(move || {
            private_fs::create_private_dir(&dir).map_err(|e| store_error("create", &dir, e))?;
            private_fs::write_atomic(&path, &dir, &bytes)
                .map_err(|e| store_error("write", &path, e))
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        let path = self.path_of(id)?;
        let dir = self.dir.clone();
        self.blocking(move || match fs::remove_file(&path) {
            Ok(()) => {
                private_fs::sync_dir(&dir).map_err(|e| store_error("sync", &dir, e))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(store_error("remove", &path, e)),
        })
        .await
    }

    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        let dir = self.dir.clone();
        self.blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(store_error("list", &dir, e)),
            };
            let mut sessions = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| store_error("list", &dir, e))?.path();
                let is_record = path.extension().is_some_and(|e| e == "json")
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !n.starts_with('.'));
                if !is_record {
                    continue;
                }
                // One unreadable file does not hide the other sessions.
                let decoded = read_capped(&path).and_then(|bytes| {
                    let Some(bytes) = bytes else { return Ok(None) };
                    let only: MetadataOnly = serde_json::from_slice(&bytes).map_err(|e| {
                        store_error("decode", &path, copilot_http::redact::json_error(&e))
                    })?;
                    check_version(&path, only.version)?;
                    Ok(Some(only.metadata))
                });
                match decoded {
                    Ok(Some(metadata)) => sessions.push(metadata),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "skipping an unreadable session file"),
                }
            }
            Ok(sessions)
        })
        .await
    }

    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        let path = self.path_of(id)?;
        let dir = self.dir.clone();
        let id = id.to_owned();
        self.blocking(move || {
            private_fs::create_private_dir(&dir).map_err(|e| store_error("create", &dir, e))?;
            let file =
                private_fs::open_lock_file(&path).map_err(|e| store_error("lock", &path, e))?;
            match file.try_lock_exclusive() {
                Ok(true) => Ok(SessionLock::new(file)),
                Ok(false) => Err(SdkError::SessionInUse { id }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Err(SdkError::SessionInUse { id })
                }
                Err(e) => Err(store_error("lock", &path, e)),
            }
        })
        .await
    }
}
