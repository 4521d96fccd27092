//! Read-only import of tokens that Copilot editor plugins saved (`docs/protocol.md` §5). Opt-in only.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::client_ids::COPILOT_EDITOR_CLIENT_ID;
use crate::{AuthError, GitHubToken};

/// Which editor file a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditorFile {
    /// `apps.json` (Copilot language server ≥ 2024, JetBrains), keys `host:client_id`.
    Apps,
    /// `hosts.json` (copilot.vim / copilot.lua, older language server), keys `host`.
    Hosts,
}

/// A token found in an editor file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EditorToken {
    /// The token (use it in the Exchange world: always exchange it, never send it straight to Copilot).
    pub token: GitHubToken,
    /// The `user` field, if present.
    pub user: Option<String>,
    /// The client id from the `apps.json` key (`None` for `hosts.json`).
    pub client_id: Option<String>,
    /// The file it came from.
    pub file: EditorFile,
    /// The file's path.
    pub path: PathBuf,
}

#[derive(Deserialize)]
struct EditorEntry {
    user: Option<String>,
    oauth_token: Option<String>,
}

/// The editors' configuration directory: `$XDG_CONFIG_HOME/github-copilot`, else (Windows)
/// `%LOCALAPPDATA%\github-copilot`, else `$HOME/.config/github-copilot`. `env` reads variables.
pub fn editor_config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let non_empty = |var: &str| env(var).filter(|v| !v.trim().is_empty());
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(xdg).join("github-copilot"));
    }
    if cfg!(windows)
        && let Some(local) = non_empty("LOCALAPPDATA")
    {
        return Some(PathBuf::from(local).join("github-copilot"));
    }
    let home = non_empty("HOME").or_else(|| non_empty("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".config").join("github-copilot"))
}

/// Finds a token for `host_key` (e.g. `github.com`) in `dir`: `apps.json` first (the entry for
/// `client_id` if given, else the Copilot editor app's, else the first by key), then `hosts.json`.
/// Missing files are skipped; a file that does not parse is [`AuthError::CorruptStore`].
pub fn import_editor_token(
    dir: &Path,
    host_key: &str,
    client_id: Option<&str>,
) -> Result<Option<EditorToken>, AuthError> {
    let apps_path = dir.join("apps.json");
    if let Some(entries) = read_entries(&apps_path)? {
        let mut candidates: Vec<(String, EditorEntry)> = entries
            .into_iter()
            .filter_map(|(key, entry)| {
                let (host, app) = key.rsplit_once(':')?;
                (host.eq_ignore_ascii_case(host_key) && has_token(&entry))
                    .then(|| (app.to_owned(), entry))
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        let preferred = [client_id, Some(COPILOT_EDITOR_CLIENT_ID)];
        let index = preferred
            .iter()
            .flatten()
            .find_map(|wanted| candidates.iter().position(|(app, _)| app == wanted))
            .or(if candidates.is_empty() { None } else { Some(0) });
        if let Some(index) = index {
            let (app, entry) = candidates.swap_remove(index);
            return Ok(Some(editor_token(
                entry,
                Some(app),
                EditorFile::Apps,
                apps_path,
            )?));
        }
    }
    let hosts_path = dir.join("hosts.json");
    if let Some(entries) = read_entries(&hosts_path)?
        && let Some((_, entry)) = entries
            .into_iter()
            .find(|(key, entry)| key.eq_ignore_ascii_case(host_key) && has_token(entry))
    {
        return Ok(Some(editor_token(
            entry,
            None,
            EditorFile::Hosts,
            hosts_path,
        )?));
    }
    Ok(None)
}

fn has_token(entry: &EditorEntry) -> bool {
    entry
        .oauth_token
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
}

fn editor_token(
    entry: EditorEntry,
    client_id: Option<String>,
    file: EditorFile,
    path: PathBuf,
) -> Result<EditorToken, AuthError> {
    let token = GitHubToken::parse(entry.oauth_token.as_deref().unwrap_or(""))?;
    Ok(EditorToken {
        token,
        user: entry.user,
        client_id,
        file,
        path,
    })
}

fn read_entries(path: &Path) -> Result<Option<Vec<(String, EditorEntry)>>, AuthError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError::io("read", path, e)),
    };
    let map: std::collections::BTreeMap<String, EditorEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| AuthError::CorruptStore {
            path: path.to_path_buf(),
            message: copilot_http::redact::json_error(&e),
        })?;
    Ok(Some(map.into_iter().collect()))
}
