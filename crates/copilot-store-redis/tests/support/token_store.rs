//! The `TokenStore` and shared-cache tests both store crates run the same way (the PostgreSQL tests include
//! this file by path); each crate adds its checks of the raw rows.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use copilot_auth::{AuthError, CredentialKey, GitHubToken, StoredCredential, TokenStore};
use copilot_store_core::{StoreError, store_error_of};
use copilot_token::{SharedCopilotToken, SharedTokenCache};
use secrecy::{ExposeSecret, SecretString};

/// A credential with a `ghr_` refresh token, valid for an hour.
pub fn credential(token: &str) -> StoredCredential {
    let mut credential = StoredCredential::new("github.com", GitHubToken::new(token));
    credential.refresh_token = Some(SecretString::from(format!("ghr_{token}")));
    credential.expires_at = Some(SystemTime::now() + Duration::from_secs(3600));
    credential
}

/// 8 writers × 25 increments of a counter kept in the login field, each a read-modify-CAS loop: 200 at
/// the end, no update lost.
pub async fn concurrent_compare_and_set_writers_never_lose_an_update(store: Arc<dyn TokenStore>) {
    let key = CredentialKey::new("github.com", "counter");
    store.save(&key, &credential("ghu_0")).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let key = key.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let current = store.load_versioned(&key).await.unwrap().unwrap();
                        let n: u32 = current
                            .credential
                            .login
                            .as_deref()
                            .unwrap_or("0")
                            .parse()
                            .unwrap();
                        let next = current.credential.clone().with_login((n + 1).to_string());
                        if store
                            .save_if_version(&key, &next, Some(current.version))
                            .await
                            .unwrap()
                        {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let last = store.load(&key).await.unwrap().unwrap();
    assert_eq!(last.login.as_deref(), Some("200"));
}

/// The refresh lease is exclusive, times out with a typed error, and runs out: `impatient` waits 300 ms
/// for a lease, `patient` 5 s (two handles on one store).
pub async fn the_refresh_lease_is_exclusive_and_runs_out(
    impatient: &dyn TokenStore,
    patient: &dyn TokenStore,
) {
    let key = CredentialKey::new("github.com", "alice");
    let held = impatient
        .lock_refresh(&key, Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a shared store has leases");
    // Someone else waits 300 ms and gives up with a typed error.
    let error = impatient
        .lock_refresh(&key, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(
        store_error_of(&error),
        Some(StoreError::LeaseTimeout { .. })
    ));
    held.release().await.unwrap();
    let leased_at = std::time::Instant::now();
    let again = impatient
        .lock_refresh(&key, Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    // Never released (a crashed holder): the next one gets it once the 200 ms run out.
    let taken_over = patient
        .lock_refresh(&key, Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(leased_at.elapsed() >= Duration::from_millis(200));
    // The crashed holder's late release does not free the new holder's lease.
    again.release().await.unwrap();
    assert!(
        impatient
            .lock_refresh(&key, Duration::from_secs(30))
            .await
            .is_err()
    );
    taken_over.release().await.unwrap();
}

/// Alice's cache (`alice`) leases, publishes (ending the lease) and loads; Bob's (`bob`) stays empty.
/// Returns the published token, whose envelope contains `tid=1` and expires in 30 minutes.
pub async fn the_shared_copilot_cache_publishes_and_leases(
    alice: &dyn SharedTokenCache,
    bob: &dyn SharedTokenCache,
) -> SharedCopilotToken {
    assert!(alice.load().await.unwrap().is_none());
    let lease = alice
        .try_lease(Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(
        alice
            .try_lease(Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    let expires_at = copilot_http::time::unix_seconds(SystemTime::now()) + 1800;
    let token = SharedCopilotToken {
        envelope: SecretString::from(format!(
            r#"{{"token":"tid=1;exp={expires_at}:mac","expires_at":{expires_at},"refresh_in":1500}}"#
        )),
        fetched_at: SystemTime::now(),
    };
    alice.publish(&token, &lease).await.unwrap();
    let next = alice.try_lease(Duration::from_secs(30)).await.unwrap();
    assert!(next.is_some(), "publishing ended the lease");
    alice.release(&next.unwrap()).await.unwrap();
    let loaded = alice.load().await.unwrap().unwrap();
    assert_eq!(
        loaded.envelope.expose_secret(),
        token.envelope.expose_secret()
    );
    assert!(
        bob.load().await.unwrap().is_none(),
        "another user's cache is separate"
    );
    token
}

/// Alice is saved (nothing before) and loads at version 1, refresh token included.
pub async fn a_saved_credential_loads_at_version_one(store: &dyn TokenStore) {
    let alice = CredentialKey::new("github.com", "alice");
    assert!(store.load(&alice).await.unwrap().is_none());
    store.save(&alice, &credential("ghu_alice1")).await.unwrap();
    let loaded = store.load_versioned(&alice).await.unwrap().unwrap();
    assert_eq!(loaded.credential.access_token.expose_secret(), "ghu_alice1");
    assert_eq!(
        loaded.credential.refresh_token.unwrap().expose_secret(),
        "ghr_ghu_alice1"
    );
    assert_eq!(loaded.version, 1);
}

/// Nothing readable in Alice's sealed value at rest: not the token, not the refresh token.
pub fn assert_sealed_credential(raw: &[u8]) {
    assert!(!raw.windows(9).any(|w| w == b"ghu_alice"));
    assert!(!raw.windows(4).any(|w| w == b"ghr_"));
}

/// After [`a_saved_credential_loads_at_version_one`]: compare-and-set lets the current writer win and the
/// stale ones lose, creates Bob only when he is missing, and deletion reports what it did.
pub async fn compare_and_set_lets_only_the_current_writer_win(store: &dyn TokenStore) {
    let alice = CredentialKey::new("github.com", "alice");
    assert!(
        store
            .save_if_version(&alice, &credential("ghu_alice2"), Some(1))
            .await
            .unwrap()
    );
    for stale in [Some(1), None] {
        assert!(
            !store
                .save_if_version(&alice, &credential("ghu_stale"), stale)
                .await
                .unwrap(),
            "a writer expecting {stale:?} loses"
        );
    }
    let now = store.load_versioned(&alice).await.unwrap().unwrap();
    assert_eq!(now.credential.access_token.expose_secret(), "ghu_alice2");
    assert_eq!(now.version, 2);
    let bob = CredentialKey::new("github.com", "bob");
    assert!(
        store
            .save_if_version(&bob, &credential("ghu_bob"), None)
            .await
            .unwrap()
    );
    assert!(store.delete(&alice).await.unwrap());
    assert!(!store.delete(&alice).await.unwrap());
    assert!(store.load(&bob).await.unwrap().is_some());
}

/// The sealed credential rows of a store, read and written behind its back (each crate's raw access).
#[allow(async_fn_in_trait)]
pub trait SealedRows {
    /// The sealed value in `account`'s row.
    async fn sealed(&self, account: &str) -> Vec<u8>;
    /// Overwrites the sealed value in `account`'s row.
    async fn set_sealed(&self, account: &str, sealed: &[u8]);
}

/// A corrupt or undecryptable row is a typed error naming its record (and no token) and touches no other
/// row: garbage in Alice's row, then Bob's sealed value moved onto Alice's row (it is bound to Bob's
/// record); `wrong` (another key) reads nothing, `rotating` (`wrong` keeping the test key as a previous
/// key) reads Bob. Bob's row is as it was and still loads; saving Alice again repairs her row. Returns Bob's
/// sealed value.
pub async fn a_corrupt_row_is_a_typed_error_and_touches_no_other_row(
    store: &dyn TokenStore,
    rows: &impl SealedRows,
    wrong: &dyn TokenStore,
    rotating: &dyn TokenStore,
) -> Vec<u8> {
    let alice = CredentialKey::new("github.com", "alice");
    let bob = CredentialKey::new("github.com", "bob");
    store.save(&alice, &credential("ghu_alice")).await.unwrap();
    store.save(&bob, &credential("ghu_bob")).await.unwrap();
    let bob_before = rows.sealed("bob").await;

    // 1. Garbage in alice's row.
    rows.set_sealed("alice", b"\x01not a sealed value at all, just bytes")
        .await;
    let error = store.load(&alice).await.unwrap_err();
    assert!(matches!(error, AuthError::Store(_)), "{error:?}");
    assert!(
        matches!(store_error_of(&error), Some(StoreError::Undecryptable { record }) if record.contains("alice")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("ghu_"));

    // 2. Bob's sealed value copied onto alice's row does not open there.
    rows.set_sealed("alice", &bob_before).await;
    assert!(matches!(
        store_error_of(&store.load(&alice).await.unwrap_err()),
        Some(StoreError::Undecryptable { .. })
    ));

    // 3. Another key reads nothing, unless it keeps the old one as a previous key (rotation).
    assert!(matches!(
        store_error_of(&wrong.load(&bob).await.unwrap_err()),
        Some(StoreError::Undecryptable { .. })
    ));
    assert!(rotating.load(&bob).await.unwrap().is_some());

    // Bob's row is as it was, and still loads; signing alice in again repairs her row.
    assert_eq!(rows.sealed("bob").await, bob_before);
    assert_eq!(
        store
            .load(&bob)
            .await
            .unwrap()
            .unwrap()
            .access_token
            .expose_secret(),
        "ghu_bob"
    );
    store
        .save(&alice, &credential("ghu_alice_again"))
        .await
        .unwrap();
    assert!(store.load(&alice).await.unwrap().is_some());
    bob_before
}

/// The tests both store crates run alike, by the same names: `$store` is the crate's
/// `async fn store(test) -> Option<(Store, url, namespace)>`, `$backend` its fleet [`Backend`](super::fleet::Backend)
/// (with the worker process `fleet_worker`). The including file names this module `shared` and the fleet
/// support `fleet`.
macro_rules! token_store_tests {
    ($store:ident, $backend:expr) => {
        #[tokio::test]
        async fn concurrent_compare_and_set_writers_never_lose_an_update() {
            let Some((store, _, _)) = $store("cas_counter").await else {
                return;
            };
            shared::concurrent_compare_and_set_writers_never_lose_an_update(std::sync::Arc::new(
                store,
            ))
            .await;
        }

        #[tokio::test]
        async fn the_refresh_lease_is_exclusive_and_runs_out() {
            let Some((store, _, _)) = $store("refresh_lease").await else {
                return;
            };
            shared::the_refresh_lease_is_exclusive_and_runs_out(
                &store
                    .clone()
                    .lease_wait(std::time::Duration::from_millis(300)),
                &store.lease_wait(std::time::Duration::from_secs(5)),
            )
            .await;
        }

        /// The fleet's worker process (started by the fleet tests, never on its own).
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "a worker process of the fleet tests; they start it"]
        async fn fleet_worker() {
            fleet::worker(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn three_processes_by_a_thousand_callers_refresh_once_and_exchange_once() {
            let Some(url) = fleet::service_url($backend.url_var, "fleet") else {
                return;
            };
            fleet::one_refresh_and_one_exchange_for_a_fleet(
                &$backend,
                &url,
                "fleet_worker",
                3,
                1000,
            )
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_lease_holder_killed_mid_exchange_is_replaced() {
            let Some(url) = fleet::service_url($backend.url_var, "killed_holder") else {
                return;
            };
            fleet::a_killed_lease_holder_is_replaced(&$backend, &url, "fleet_worker").await;
        }
    };
}
pub(crate) use token_store_tests;
