//! FileStore crash safety: a writer killed with SIGKILL in the middle of its writes leaves either the old or
//! the new credential on disk, never a partial or mixed file.
//!
//! The test re-runs this test binary as a child process that does nothing but save credentials in a loop
//! (the ignored `crash_child_writer` test, selected with `--exact --ignored`), kills it at a random moment,
//! and checks what a fresh `FileStore` reads back.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use copilot_auth::{CredentialKey, FileStore, GitHubToken, StoredCredential, TokenStore};

const CHILD_PATH_ENV: &str = "COPILOT_AUTH_CRASH_CHILD_PATH";

fn key() -> CredentialKey {
    CredentialKey::new("github.com", "default")
}

/// A credential whose fields all encode `n`, so a torn or mixed write is detectable.
fn credential(n: u64) -> StoredCredential {
    let mut credential =
        StoredCredential::new("github.com", GitHubToken::new(format!("gho_crash{n:012}")))
            .with_login(format!("user{n}"));
    // A few hundred KiB per write makes the window in which a kill lands mid-write wide.
    credential.scopes = (0..4000).map(|i| format!("scope-{n}-{i}")).collect();
    credential
}

/// Checks that what is on disk is one complete credential written by the child.
async fn assert_consistent(path: &Path) -> Option<u64> {
    let loaded = FileStore::new(path)
        .load(&key())
        .await
        .unwrap_or_else(|e| panic!("the store must stay readable after a crash: {e}"))?;
    let login = loaded.login.clone().expect("login is always written");
    let n: u64 = login
        .trim_start_matches("user")
        .parse()
        .expect("login encodes n");
    assert_eq!(
        loaded.access_token.expose_secret(),
        format!("gho_crash{n:012}"),
        "token and login disagree"
    );
    assert_eq!(loaded.scopes.len(), 4000, "scopes cut short");
    assert!(
        loaded
            .scopes
            .iter()
            .enumerate()
            .all(|(i, s)| *s == format!("scope-{n}-{i}")),
        "mixed scopes"
    );
    Some(n)
}

/// Runs `work` to completion on a fresh current-thread runtime (the child writers are plain `#[test]`s).
fn block_on<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

#[test]
#[ignore = "helper process for filestore_survives_sigkill_mid_write; does nothing unless its env var is set"]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD_PATH_ENV) else {
        return;
    };
    block_on(async {
        let store = FileStore::new(path);
        let start = match store.load(&key()).await.unwrap() {
            Some(existing) => {
                existing
                    .login
                    .unwrap()
                    .trim_start_matches("user")
                    .parse::<u64>()
                    .unwrap()
                    + 1
            }
            None => 0,
        };
        // Bounded so a child that somehow survives its parent stops by itself.
        for n in start..start + 100_000 {
            store.save(&key(), &credential(n)).await.unwrap();
        }
    });
}

#[cfg(unix)]
#[tokio::test]
async fn filestore_survives_sigkill_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config").join("credentials.json");
    let exe = std::env::current_exe().unwrap();
    let mut last_seen = None;
    for round in 0..12u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_child_writer",
                "--ignored",
                "--test-threads",
                "1",
            ])
            .env(CHILD_PATH_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this child has written at least once past what the last round left.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                Instant::now() < deadline,
                "round {round}: the child never wrote"
            );
            if let Ok(Some(n)) = FileStore::new(&path)
                .load(&key())
                .await
                .map(|c| c.and_then(|c| c.login))
                .map(|login| login.map(|l| l.trim_start_matches("user").parse::<u64>().unwrap()))
                && Some(n) > last_seen
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Kill at a varying moment inside the write loop.
        tokio::time::sleep(Duration::from_millis(1 + (round * 7) % 23)).await;
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = assert_consistent(&path)
            .await
            .expect("a credential was written");
        assert!(Some(n) >= last_seen, "the store went backwards");
        last_seen = Some(n);
    }
    // Permissions survive the crashes too.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

const WRITER_PATH_ENV: &str = "COPILOT_AUTH_WRITER_PATH";
const WRITER_ACCOUNT_ENV: &str = "COPILOT_AUTH_WRITER_ACCOUNT";
const WRITES_PER_PROCESS: u64 = 40;

#[test]
#[ignore = "helper process for concurrent_processes_never_lose_each_others_entries"]
fn concurrent_child_writer() {
    let (Some(path), Ok(account)) = (
        std::env::var_os(WRITER_PATH_ENV),
        std::env::var(WRITER_ACCOUNT_ENV),
    ) else {
        return;
    };
    block_on(async {
        let store = FileStore::new(path);
        let key = CredentialKey::new("github.com", account.as_str());
        for n in 0..WRITES_PER_PROCESS {
            let credential =
                StoredCredential::new("github.com", GitHubToken::new(format!("gho_{account}_{n}")))
                    .with_login(format!("{account}-{n}"));
            store.save(&key, &credential).await.unwrap();
        }
    });
}

/// Several processes saving different accounts into one file at the same time: every read-modify-write
/// happens under the cross-process lock, so no process overwrites another's entry with a stale copy.
#[cfg(unix)]
#[tokio::test]
async fn concurrent_processes_never_lose_each_others_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    let exe = std::env::current_exe().unwrap();
    let accounts = ["alice", "bob", "carol", "dave"];
    let children: Vec<_> = accounts
        .iter()
        .map(|account| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "crash::concurrent_child_writer",
                    "--ignored",
                    "--test-threads",
                    "1",
                ])
                .env(WRITER_PATH_ENV, &path)
                .env(WRITER_ACCOUNT_ENV, account)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "a writer process failed: {status}");
    }
    let store = FileStore::new(&path);
    for account in accounts {
        let loaded = store
            .load(&CredentialKey::new("github.com", account))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{account}'s entry was lost"));
        let last = WRITES_PER_PROCESS - 1;
        assert_eq!(
            loaded.login.as_deref(),
            Some(format!("{account}-{last}").as_str())
        );
        assert_eq!(
            loaded.access_token.expose_secret(),
            format!("gho_{account}_{last}")
        );
    }
}
