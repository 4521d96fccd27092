//! Files only their owner may read: directories created 0700, files written 0600 (Unix), every write an
//! atomic replace. Shared by the credential [`FileStore`](crate::FileStore) and copilot-sdk's session
//! file store, so the rules live in one place.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::AuthError;

/// The directory copilot-rs keeps its files in: `<config dir>/copilot-rs` (`$XDG_CONFIG_HOME` or
/// `~/.config` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows); `None` when
/// the user has no configuration directory. The credential [`FileStore`](crate::FileStore)'s
/// `credentials.json`, copilot-sdk's `sessions/` and the CLI's files all live here.
pub fn config_dir() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("copilot-rs"))
}

/// Creates `dir` (and its parents) with mode 0700 if it does not exist. An existing directory is left as it
/// is here; [`tighten_private_dir`] restricts it once a file of ours proves who owns it.
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

/// Tightens an existing directory we own to 0700 when group or others have any access (Unix; elsewhere a
/// no-op). `ours` is a file we just created in `dir` (the lock file): a directory with the same owner is
/// ours to tighten. A directory owned by someone else, or a shared sticky directory (`/tmp`), is left alone
/// with a warning when others can write to it.
pub fn tighten_private_dir(dir: &Path, ours: &File) -> Result<(), AuthError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = fs::metadata(dir).map_err(|e| AuthError::io("inspect directory", dir, e))?;
        let mode = meta.permissions().mode();
        if mode & 0o077 == 0 {
            return Ok(());
        }
        let owner = ours
            .metadata()
            .map_err(|e| AuthError::io("inspect lock file in", dir, e))?
            .uid();
        let sticky = mode & 0o1000 != 0;
        if meta.uid() == owner && !sticky {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| AuthError::io("restrict permissions of", dir, e))?;
            tracing::warn!(
                dir = %dir.display(),
                was = format_args!("{:o}", mode & 0o777),
                "credential directory was accessible to others; restricted it to 0700"
            );
        } else if mode & 0o022 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                "credential directory is writable by others and not ours to restrict"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, ours);
    Ok(())
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
        copilot_http::hex::encode(suffix)
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
