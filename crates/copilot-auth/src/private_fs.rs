//! Files only their owner may read: directories created 0700, files written 0600 (Unix), every write an
//! atomic replace. Shared by the credential [`FileStore`](crate::FileStore) and copilot-sdk's session
//! file store, so the rules live in one place.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::AuthError;

/// Creates `dir` (and its parents) with mode 0700 if it does not exist.
pub fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| AuthError::io("create directory", dir, e))
}

/// `<path>.lock`: the file advisory locks are taken on (the data file's inode changes with every write).
pub fn lock_path(path: &Path) -> PathBuf {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    PathBuf::from(lock_path)
}

/// Opens (creating, mode 0600) the lock file of `path`; the caller takes the lock it needs on it.
pub fn open_lock_file(path: &Path) -> Result<File, AuthError> {
    let lock_path = lock_path(path);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&lock_path)
        .map_err(|e| AuthError::io("open lock file", &lock_path, e))
}

/// Replaces `path` (in directory `dir`) with `bytes` atomically: a temporary file (mode 0600) in the same
/// directory is written and fsynced, renamed over `path`, then the directory is fsynced. Readers see the
/// old or the new contents, never a mix.
pub fn write_atomic(path: &Path, dir: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let mut suffix = [0u8; 8];
    crate::http::random_bytes(&mut suffix)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temp)
            .map_err(|e| AuthError::io("create", &temp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| AuthError::io("write", &temp, e))?;
        drop(file);
        fs::rename(&temp, path).map_err(|e| AuthError::io("replace", path, e))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), AuthError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| AuthError::io("sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
