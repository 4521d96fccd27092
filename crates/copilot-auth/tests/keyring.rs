//! `KeyringStore` against the real operating-system keyring: on Linux the kernel keyutils session keyring
//! (the only Linux backend the `keyring` feature compiles in), which needs no daemon.
//!
//! A login session has a session keyring of its own (pam_keyinit). A process started without one (a container,
//! a CI runner) falls back to the uid's shared user-session keyring; once the `keyring` crate has linked the
//! persistent keyring into that, a write succeeds and the read-back fails with "no entry" (seen on this repo's
//! CI machine). So each test first joins a fresh anonymous session keyring, as `keyctl session -` would; the
//! blocking-pool threads the store works on are spawned from the test thread afterwards and inherit it.
//!
//! Every test first probes the keyring with the `keyring` crate itself. Where the kernel refuses keyutils
//! (a seccomp profile that blocks `add_key`/`keyctl`, or no keyutils in the kernel) the test is skipped with a
//! loud message, except under `CI=true`, where it fails. Each test uses a service name of its own, so tests
//! running in parallel (and in separate processes) never see each other's entries, and deletes what it wrote.
#![cfg(feature = "keyring")]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use copilot_auth::{
    AuthError, CredentialKey, GitHubToken, KeyringStore, StoredCredential, TokenStore,
};
use secrecy::{ExposeSecret, SecretString};

use copilot_test_support::{Captured, log_subscriber};

const ACCESS: &str = "ghu_keyring_access_secret_0123456789";
const REFRESH: &str = "ghr_keyring_refresh_secret_0123456789";

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A service name no other test (or earlier run) uses.
fn unique_service(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("copilot-rs-test-{test}-{}-{nanos}", std::process::id())
}

/// Whether the keyring works here: a write, read and delete with the `keyring` crate directly, so a bug in
/// `KeyringStore` cannot turn into a skip. `false` (after a loud message) means skip; under CI it panics.
fn keyring_available() -> bool {
    #[cfg(target_os = "linux")]
    if let Err(e) =
        linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::Session, true)
    {
        if required() {
            panic!("CI=true and no session keyring could be joined: {e:?}");
        }
        eprintln!("SKIPPED: no session keyring could be joined: {e:?}");
        return false;
    }
    let probe = || -> Result<(), keyring::Error> {
        let entry = keyring::Entry::new(&unique_service("probe"), "probe@github.com")?;
        entry.set_password("probe")?;
        let read = entry.get_password()?;
        entry.delete_credential()?;
        if read == "probe" {
            Ok(())
        } else {
            Err(keyring::Error::Invalid(
                "probe".into(),
                format!("read back {read:?}"),
            ))
        }
    };
    match probe() {
        Ok(()) => true,
        Err(e) if required() => panic!("CI=true and the OS keyring does not work here: {e}"),
        Err(e) => {
            eprintln!(
                "\n{bar}\nSKIPPED: the OS keyring (Linux keyutils) does not work here: {e}\n\
                 (with CI=true this test fails)\n{bar}\n",
                bar = "!".repeat(100)
            );
            false
        }
    }
}

/// Every `tracing` event and every `log` record (the `keyring` crate logs through `log`), from every thread
/// (the store works on tokio's blocking pool), in one buffer. Installed once per test binary.
fn captured_logs() -> &'static Captured {
    static BUFFER: OnceLock<Captured> = OnceLock::new();
    BUFFER.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let (buffer, subscriber) = log_subscriber(tracing::Level::TRACE);
        subscriber
            .try_init()
            .expect("the only global subscriber of this test binary");
        buffer
    })
}

/// A store on a service of its own, or `None` (after the loud message) where the keyring does not work.
fn store_for(test: &str) -> Option<KeyringStore> {
    keyring_available().then(|| KeyringStore::new(unique_service(test)))
}

/// `store` holding [`credential`]`(ACCESS)` for `octocat`.
async fn with_octocat(store: &KeyringStore) {
    store
        .save(&key("octocat"), &credential(ACCESS))
        .await
        .unwrap();
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

fn credential(access: &str) -> StoredCredential {
    let mut credential =
        StoredCredential::new("github.com", GitHubToken::new(access)).with_login("octocat");
    credential.client_id = Some("Iv1.app".to_owned());
    credential.refresh_token = Some(SecretString::from(REFRESH));
    credential.expires_at = Some(t0() + Duration::from_secs(28800));
    credential.refresh_token_expires_at = Some(t0() + Duration::from_secs(15811200));
    credential.scopes = vec!["read:user".to_owned(), "repo".to_owned()];
    credential
}

fn key(account: &str) -> CredentialKey {
    CredentialKey::new("github.com", account)
}

#[tokio::test]
async fn keyring_store_round_trips_every_field_and_deletes() {
    let Some(store) = store_for("round-trip") else {
        return;
    };
    with_octocat(&store).await;

    let loaded = store.load(&key("octocat")).await.unwrap().unwrap();
    assert_eq!(loaded.access_token.expose_secret(), ACCESS);
    assert_eq!(loaded.refresh_token.unwrap().expose_secret(), REFRESH);
    assert_eq!(loaded.host, "github.com");
    assert_eq!(loaded.client_id.as_deref(), Some("Iv1.app"));
    assert_eq!(loaded.login.as_deref(), Some("octocat"));
    assert_eq!(loaded.expires_at, Some(t0() + Duration::from_secs(28800)));
    assert_eq!(
        loaded.refresh_token_expires_at,
        Some(t0() + Duration::from_secs(15811200))
    );
    assert_eq!(loaded.scopes, vec!["read:user", "repo"]);

    // A second store on the same service (another process of the same user, in effect) sees the entry.
    let same_service = store.clone();
    assert!(same_service.load(&key("octocat")).await.unwrap().is_some());

    assert!(store.delete(&key("octocat")).await.unwrap());
    assert!(store.load(&key("octocat")).await.unwrap().is_none());
    assert!(!store.delete(&key("octocat")).await.unwrap());
}

#[tokio::test]
async fn keyring_store_missing_entries_are_none_and_services_hosts_accounts_are_separate() {
    if !keyring_available() {
        return;
    }
    let service = unique_service("missing");
    let store = KeyringStore::new(service.clone());
    assert!(store.load(&key("nobody")).await.unwrap().is_none());
    assert!(!store.delete(&key("nobody")).await.unwrap());

    store
        .save(&key("a"), &credential("ghu_a_secret"))
        .await
        .unwrap();
    // Another host, another account, another service: none of them sees `a@github.com` of `service`.
    assert!(
        store
            .load(&CredentialKey::new("acme.ghe.com", "a"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.load(&key("b")).await.unwrap().is_none());
    assert!(store.load(&key("A")).await.unwrap().is_none());
    let other = KeyringStore::new(format!("{service}-other"));
    assert!(other.load(&key("a")).await.unwrap().is_none());
    assert!(!other.delete(&key("a")).await.unwrap());
    // ...and deleting there left it alone.
    assert!(store.load(&key("a")).await.unwrap().is_some());
    assert!(store.delete(&key("a")).await.unwrap());
}

#[tokio::test]
async fn keyring_store_overwrite_replaces_the_whole_credential() {
    let Some(store) = store_for("overwrite") else {
        return;
    };
    with_octocat(&store).await;
    // The replacement has no refresh token and no expiry: nothing of the first one may survive.
    let replacement =
        StoredCredential::new("github.com", GitHubToken::new("gho_replacement_secret"));
    store.save(&key("octocat"), &replacement).await.unwrap();

    let loaded = store.load(&key("octocat")).await.unwrap().unwrap();
    assert_eq!(
        loaded.access_token.expose_secret(),
        "gho_replacement_secret"
    );
    assert!(loaded.refresh_token.is_none());
    assert!(loaded.expires_at.is_none());
    assert!(loaded.login.is_none());
    assert!(loaded.scopes.is_empty());

    // One entry, not two: a single delete removes it.
    assert!(store.delete(&key("octocat")).await.unwrap());
    assert!(store.load(&key("octocat")).await.unwrap().is_none());
}

#[tokio::test]
async fn keyring_store_odd_account_names_are_distinct_entries() {
    let Some(store) = store_for("odd-names") else {
        return;
    };
    let long = "x".repeat(1000);
    let accounts = [
        "Octo Cat",
        "octocat",
        "OctoCat",
        "o'brien \"quoted\"",
        "ünïcødé-用户-🙂",
        "slash/back\\slash:colon;semi*star?",
        "with@at@signs",
        "tab\tand\nnewline",
        "%s %n {} $(id)",
        long.as_str(),
    ];
    for (i, account) in accounts.iter().enumerate() {
        let token = format!("ghu_odd_{i}_secret");
        store
            .save(&key(account), &credential(&token))
            .await
            .unwrap();
    }
    for (i, account) in accounts.iter().enumerate() {
        let loaded = store
            .load(&key(account))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no entry for {account:?}"));
        assert_eq!(
            loaded.access_token.expose_secret(),
            format!("ghu_odd_{i}_secret"),
            "account {account:?}"
        );
    }
    for account in accounts {
        assert!(store.delete(&key(account)).await.unwrap(), "{account:?}");
    }
    for account in accounts {
        assert!(
            store.load(&key(account)).await.unwrap().is_none(),
            "{account:?}"
        );
    }
}

#[tokio::test]
async fn keyring_store_a_name_the_keyring_cannot_hold_is_a_typed_error() {
    let Some(store) = store_for("too-long") else {
        return;
    };
    // keyutils descriptions are at most 4095 bytes; the store reports it instead of panicking or truncating
    // (a truncated name would alias another account).
    let account = "y".repeat(5000);
    let error = store
        .save(&key(&account), &credential(ACCESS))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Keyring { .. }), "{error:?}");
    assert!(!error.to_string().contains(ACCESS), "{error}");
    assert!(
        store
            .load(&key(&account))
            .await
            .is_err_and(|e| matches!(e, AuthError::Keyring { .. }))
    );
}

#[tokio::test]
async fn keyring_store_a_foreign_entry_is_a_typed_error_that_leaks_nothing() {
    if !keyring_available() {
        return;
    }
    let service = unique_service("foreign");
    // Another program wrote something that is not a credential (a token field of the wrong type) there.
    let entry = keyring::Entry::new(&service, "octocat@github.com").unwrap();
    entry
        .set_password(r#"{"host":"github.com","access_token":["ghu_foreign_secret"]}"#)
        .unwrap();
    let store = KeyringStore::new(service);
    let error = store.load(&key("octocat")).await.unwrap_err();
    assert!(matches!(error, AuthError::Keyring { .. }), "{error:?}");
    assert!(!error.to_string().contains("ghu_foreign_secret"), "{error}");
    assert!(
        !format!("{error:?}").contains("ghu_foreign_secret"),
        "{error:?}"
    );
    // The entry is left as it was (not deleted, not overwritten) until the caller decides.
    assert!(entry.get_password().unwrap().contains("ghu_foreign_secret"));
    assert!(store.delete(&key("octocat")).await.unwrap());
}

#[tokio::test]
async fn keyring_store_logs_hold_no_secret() {
    let logs = captured_logs();
    let Some(store) = store_for("logs") else {
        return;
    };
    with_octocat(&store).await;
    let loaded = store.load(&key("octocat")).await.unwrap().unwrap();
    store.save(&key("octocat"), &loaded).await.unwrap();
    let debug = format!("{store:?} {loaded:?}");
    assert!(store.delete(&key("octocat")).await.unwrap());

    let text = logs.text();
    // The capture works: the keyring crate's own `log` records came through.
    assert!(text.contains("set password for entry"), "{text}");
    assert!(text.contains("get password from entry"), "{text}");
    for secret in [ACCESS, REFRESH] {
        assert!(!text.contains(secret), "log leaks {secret}:\n{text}");
        assert!(!debug.contains(secret), "Debug leaks {secret}: {debug}");
    }
}

/// A save that returns `Ok` can be loaded back, in a process that never joined a session keyring of its own
/// (as a service or CI runner starts; nextest's test processes are such processes here): either the keyring
/// works there, or the save is a typed error naming the cause, never a silently lost sign-in. The child runs
/// before this process probes (and so joins) a keyring, since a child inherits its parent's session keyring.
#[test]
fn keyring_store_save_is_loadable_or_an_error_without_a_session_keyring() {
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "keyring_store_child_without_a_session_keyring",
            "--nocapture",
        ])
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !(output.status.success() && stdout.contains("1 passed")) {
        // Only a keyring that does not work at all excuses the child (a skip, or a failure under CI).
        assert!(!keyring_available(), "child failed:\n{stdout}\n{stderr}");
        return;
    }
    eprintln!(
        "child {}",
        stderr
            .lines()
            .find(|l| l.starts_with("outcome:"))
            .unwrap_or("outcome: -")
    );
}

#[tokio::test]
#[ignore = "run by keyring_store_save_is_loadable_or_an_error_without_a_session_keyring in its own process"]
async fn keyring_store_child_without_a_session_keyring() {
    let store = KeyringStore::new(unique_service("no-session"));
    match store.save(&key("octocat"), &credential(ACCESS)).await {
        Ok(()) => {
            let loaded = store.load(&key("octocat")).await.expect("load");
            assert!(
                loaded.is_some(),
                "save returned Ok but the credential is gone"
            );
            store.delete(&key("octocat")).await.expect("delete");
            eprintln!("outcome: saved and loaded back");
        }
        Err(AuthError::Keyring { message }) => {
            assert!(message.contains("session keyring"), "{message}");
            assert!(!message.contains(ACCESS) && !message.contains(REFRESH));
            eprintln!("outcome: refused at save: {message}");
        }
        Err(other) => panic!("unexpected error: {other:?}"),
    }
}
