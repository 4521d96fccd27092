use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use super::{CredentialKey, StoredCredential, TokenStore};
use crate::AuthError;
use crate::private_fs::{self, create_private_dir, write_atomic};

/// The version of the file format written by this crate.
const FORMAT_VERSION: u32 = 1;

/// Credentials in one JSON file, readable only by the user.
///
/// - The directory is created with mode 0700 and the file written with mode 0600 (Unix). An existing
///   directory of ours that group or others can access is restricted to 0700 on the first write (with a
///   warning); one owned by someone else, or a shared sticky directory like `/tmp`, is left alone.
/// - Every write replaces the file atomically: a temporary file in the same directory is written, fsynced
///   and renamed over the old one, then the directory is fsynced. Readers never see a partial file.
/// - Writers are serialised by an async mutex within one `FileStore` (clones share it) and by an advisory
///   lock on `<file>.lock` across `FileStore`s and processes, so concurrent read-modify-write cycles never
///   lose each other's entries.
/// - A file that does not parse is reported as [`AuthError::CorruptStore`] and never overwritten.
/// - File I/O runs on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Serialize, Deserialize, Default)]
struct CredentialFile {
    version: u32,
    #[serde(default)]
    credentials: Vec<FileEntry>,
    /// Fields written by a newer version, kept as they are.
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    host: String,
    account: String,
    credential: StoredCredential,
}

impl FileStore {
    /// A store in the file at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            writer: Arc::default(),
        }
    }

    /// The default location: `credentials.json` in [`private_fs::config_dir`].
    pub fn default_path() -> Result<PathBuf, AuthError> {
        private_fs::config_dir()
            .map(|dir| dir.join("credentials.json"))
            .ok_or_else(|| AuthError::config("no configuration directory for this user"))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> Result<T, AuthError> + Send + 'static,
    {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || work(&path))
            .await
            .map_err(|e| {
                AuthError::io("run blocking file I/O for", &self.path, io::Error::other(e))
            })?
    }

    /// Runs a read-modify-write cycle under both locks.
    async fn update<T, F>(&self, change: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&mut CredentialFile) -> (T, bool) + Send + 'static,
    {
        let _writer = self.writer.lock().await;
        self.blocking(move |path| {
            let dir = parent_dir(path);
            create_private_dir(&dir)?;
            let lock = lock_exclusive(path)?;
            private_fs::tighten_private_dir(&dir, &lock)?;
            let mut file = read_file(path)?.unwrap_or_else(|| CredentialFile {
                version: FORMAT_VERSION,
                ..CredentialFile::default()
            });
            let (result, changed) = change(&mut file);
            if changed {
                let bytes = serde_json::to_vec_pretty(&file)
                    .map_err(|e| AuthError::config(format!("cannot encode credentials: {e}")))?;
                write_atomic(path, &dir, &bytes)?;
            }
            Ok(result)
        })
        .await
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opens (creating) `<file>.lock` and takes an exclusive advisory lock; released when the handle drops.
/// A separate lock file is needed because the data file's inode is replaced by every write.
fn lock_exclusive(path: &Path) -> Result<File, AuthError> {
    let file = private_fs::open_lock_file(path)?;
    file.lock_exclusive()
        .map_err(|e| AuthError::io("lock", private_fs::lock_path(path), e))?;
    Ok(file)
}

fn read_file(path: &Path) -> Result<Option<CredentialFile>, AuthError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError::io("read", path, e)),
    };
    let file: CredentialFile =
        serde_json::from_slice(&bytes).map_err(|e| AuthError::CorruptStore {
            path: path.to_path_buf(),
            message: copilot_http::redact::json_error(&e),
        })?;
    if file.version > FORMAT_VERSION {
        return Err(AuthError::CorruptStore {
            path: path.to_path_buf(),
            message: format!(
                "format version {} is newer than this program understands ({FORMAT_VERSION})",
                file.version
            ),
        });
    }
    Ok(Some(file))
}

fn matches(entry: &FileEntry, key: &CredentialKey) -> bool {
    entry.host == key.host && entry.account == key.account
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        // Writes are atomic renames, so a lock-free read sees a whole file.
        let key = key.clone();
        self.blocking(move |path| {
            Ok(read_file(path)?.and_then(|file| {
                file.credentials
                    .into_iter()
                    .find(|e| matches(e, &key))
                    .map(|e| e.credential)
            }))
        })
        .await
    }

    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        let key = key.clone();
        let credential = credential.clone();
        tracing::debug!(key = %key, "saving credential to file store");
        self.update(move |file| {
            match file.credentials.iter_mut().find(|e| matches(e, &key)) {
                Some(entry) => entry.credential = credential,
                None => file.credentials.push(FileEntry {
                    host: key.host,
                    account: key.account,
                    credential,
                }),
            }
            ((), true)
        })
        .await
    }

    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        let key = key.clone();
        self.update(move |file| {
            let before = file.credentials.len();
            file.credentials.retain(|e| !matches(e, &key));
            let removed = file.credentials.len() != before;
            (removed, removed)
        })
        .await
    }
}
