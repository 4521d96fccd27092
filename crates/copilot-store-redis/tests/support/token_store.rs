//! The `TokenStore` and shared-cache tests both store crates run the same way (the PostgreSQL tests include
//! this file by path); each crate adds its checks of the raw rows.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use copilot_auth::{CredentialKey, GitHubToken, StoredCredential, TokenStore};
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
