//! Stores: memory, file (permissions, atomicity, concurrent writers, corruption), serde of credentials.

use std::time::Duration;

use copilot_auth::{
    AuthError, CredentialKey, FileStore, GitHubToken, MemoryStore, StoredCredential, TokenStore,
};
use secrecy::{ExposeSecret, SecretString};

use crate::common;

fn credential(token: &str) -> StoredCredential {
    let mut credential =
        StoredCredential::new("github.com", GitHubToken::new(token)).with_login("octocat");
    credential.client_id = Some("Iv1.app".to_owned());
    credential.refresh_token = Some(SecretString::from("ghr_refreshsecret"));
    credential.expires_at = Some(common::t0() + Duration::from_secs(28800));
    credential.refresh_token_expires_at = Some(common::t0() + Duration::from_secs(15811200));
    credential.scopes = vec!["read:user".to_owned()];
    credential
}

fn key(account: &str) -> CredentialKey {
    CredentialKey::new("github.com", account)
}

async fn exercise(store: &dyn TokenStore) {
    assert!(store.load(&key("a")).await.unwrap().is_none());
    store.save(&key("a"), &credential("ghu_aaa")).await.unwrap();
    store.save(&key("b"), &credential("ghu_bbb")).await.unwrap();
    store
        .save(&key("a"), &credential("ghu_aaa2"))
        .await
        .unwrap();
    let a = store.load(&key("a")).await.unwrap().unwrap();
    assert_eq!(a.access_token.expose_secret(), "ghu_aaa2");
    assert_eq!(
        a.refresh_token.unwrap().expose_secret(),
        "ghr_refreshsecret"
    );
    assert_eq!(
        a.expires_at,
        Some(common::t0() + Duration::from_secs(28800))
    );
    assert_eq!(a.login.as_deref(), Some("octocat"));
    assert_eq!(a.scopes, vec!["read:user"]);
    let other_host = CredentialKey::new("acme.ghe.com", "a");
    assert!(store.load(&other_host).await.unwrap().is_none());
    assert!(store.delete(&key("a")).await.unwrap());
    assert!(!store.delete(&key("a")).await.unwrap());
    assert!(store.load(&key("a")).await.unwrap().is_none());
    assert!(store.load(&key("b")).await.unwrap().is_some());
}

/// Saves one credential to a file store at `path`.
#[cfg(unix)]
async fn save_one(path: &std::path::Path) {
    FileStore::new(path)
        .save(&key("a"), &credential("ghu_aaa"))
        .await
        .unwrap();
}

/// Asserts the store directory is 0700 and the credential file 0600.
#[cfg(unix)]
fn assert_private(store_dir: &std::path::Path, file: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store_dir), 0o700, "{}", store_dir.display());
    assert_eq!(mode(file), 0o600, "{}", file.display());
}

#[tokio::test]
async fn memory_store_round_trips() {
    let store = MemoryStore::new();
    exercise(&store).await;
    assert_eq!(store.len(), 1);
    assert!(!format!("{store:?}").contains("ghu_"));
}

#[tokio::test]
async fn file_store_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path().join("nested/dir/credentials.json"));
    exercise(&store).await;
}

#[cfg(unix)]
#[tokio::test]
async fn file_store_permissions_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("copilot-rs");
    let path = store_dir.join("credentials.json");
    save_one(&path).await;
    assert_private(&store_dir, &path);
}

/// A pre-existing loose directory (0777, ours) is tightened to 0700 on the first save, not left as it was
/// (issue 14): anyone could otherwise replace the credential file between our writes.
#[cfg(unix)]
#[tokio::test]
async fn file_store_tightens_an_existing_loose_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("copilot-rs");
    std::fs::create_dir(&store_dir).unwrap();
    std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = store_dir.join("credentials.json");
    save_one(&path).await;
    assert_private(&store_dir, &path);
    // A shared sticky directory (like /tmp) is never ours to change.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    save_one(&shared.join("credentials.json")).await;
    assert_eq!(
        std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
}

fn leftover_temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[tokio::test]
async fn file_store_writes_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    FileStore::new(&path)
        .save(&key("octocat"), &credential("ghu_aaa"))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    insta::assert_json_snapshot!("file_store_json", json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_stores_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    let first = FileStore::new(&path);
    let second = FileStore::new(&path);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .save(&key(&format!("user{i}")), &credential(&format!("ghu_{i}")))
                .await
                .unwrap();
        }));
    }
    // A reader running alongside always sees a whole, parseable file.
    let reader = {
        let store = FileStore::new(&path);
        tokio::spawn(async move {
            for _ in 0..40 {
                store.load(&key("user0")).await.unwrap();
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    reader.await.unwrap();
    for i in 0..40 {
        let loaded = first
            .load(&key(&format!("user{i}")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(loaded.access_token.expose_secret(), format!("ghu_{i}"));
    }
    assert!(leftover_temp_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_corrupt_file_is_a_typed_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    let garbage = b"{\"version\":1,\"credentials\":[{\"host\":\"github.com\",\"access_token\":\"ghu_secretvalue\"";
    std::fs::write(&path, garbage).unwrap();
    let store = FileStore::new(&path);

    let error = store.load(&key("a")).await.unwrap_err();
    assert!(
        matches!(&error, AuthError::CorruptStore { path: p, .. } if p == &path),
        "{error:?}"
    );
    assert!(!error.to_string().contains("ghu_secretvalue"));

    let error = store
        .save(&key("a"), &credential("ghu_new"))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::CorruptStore { .. }));
    let error = store.delete(&key("a")).await.unwrap_err();
    assert!(matches!(error, AuthError::CorruptStore { .. }));

    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    assert!(leftover_temp_files(dir.path()).is_empty());
}

#[tokio::test]
async fn a_wrongly_typed_token_field_does_not_leak_into_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    std::fs::write(
        &path,
        br#"{"version":1,"credentials":[{"host":"github.com","account":"a","credential":{"host":"github.com","access_token":"ghu_x","expires_at":"ghu_leakedvalue","scopes":[]}}]}"#,
    )
    .unwrap();
    let error = FileStore::new(&path).load(&key("a")).await.unwrap_err();
    assert!(matches!(error, AuthError::CorruptStore { .. }));
    assert!(!error.to_string().contains("ghu_leakedvalue"), "{error}");
}

#[test]
fn stored_credential_debug_is_redacted_and_serde_round_trips() {
    let credential = credential("ghu_debugsecret");
    let debug = format!("{credential:?}");
    assert!(!debug.contains("ghu_debugsecret"), "{debug}");
    assert!(!debug.contains("ghr_refreshsecret"), "{debug}");

    let json = serde_json::to_string(&credential).unwrap();
    let back: StoredCredential = serde_json::from_str(&json).unwrap();
    assert_eq!(back.access_token.expose_secret(), "ghu_debugsecret");
    assert_eq!(
        back.refresh_token_expires_at,
        credential.refresh_token_expires_at
    );
}
