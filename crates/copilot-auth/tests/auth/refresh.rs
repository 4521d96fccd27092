//! Refresh grant and get_or_refresh: success, rotation, single flight, bad_refresh_token.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use copilot_auth::{
    AuthError, CredentialKey, CredentialRefresher, GitHubToken, GitHubTokenResponse, MemoryStore,
    RefreshOptions, StoredCredential, TokenRefresher, TokenStore, get_or_refresh_with, load_usable,
    refresh_after_rejection,
};
use copilot_http::time::ManualClock;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::common::{self, Sequence, json as reply};

const CLIENT_ID: &str = "Iv1.refreshapp";

fn refreshed(n: u32) -> serde_json::Value {
    json!({"access_token": format!("ghu_new{n}"), "token_type": "bearer", "scope": "",
           "expires_in": 28800, "refresh_token": format!("ghr_new{n}"),
           "refresh_token_expires_in": 15811200})
}

async fn server(responses: Vec<wiremock::ResponseTemplate>, expected: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(Sequence::new(responses))
        .expect(expected)
        .mount(&server)
        .await;
    common::mount_catch_all(&server).await;
    server
}

fn refresher(server: &MockServer, clock: &ManualClock) -> TokenRefresher {
    TokenRefresher::new(common::host(server), CLIENT_ID)
        .transport(common::transport())
        .identity(common::identity())
        .clock(common::shared(clock))
}

fn key() -> CredentialKey {
    CredentialKey::new("github.com", "octocat")
}

/// A stored GitHub App credential expiring `expires_in_secs` after t0.
fn stored(expires_in_secs: u64) -> StoredCredential {
    let mut credential = StoredCredential::new("github.com", GitHubToken::new("ghu_old"));
    credential.client_id = Some(CLIENT_ID.to_owned());
    credential.refresh_token = Some(SecretString::from("ghr_old"));
    credential.expires_at = Some(common::t0() + Duration::from_secs(expires_in_secs));
    credential.refresh_token_expires_at = Some(common::t0() + Duration::from_secs(15811200));
    credential.login = Some("octocat".to_owned());
    credential
}

/// `get_or_refresh_with` for the credential under [`key`].
async fn fetch(
    store: &dyn TokenStore,
    refresher: &dyn CredentialRefresher,
    options: &RefreshOptions,
) -> Result<GitHubToken, AuthError> {
    get_or_refresh_with(store, &key(), refresher, options).await
}

/// The refresh tokens the mock received, in order.
async fn sent_refresh_tokens(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| common::form_field(r, "refresh_token").unwrap())
        .collect()
}

/// The mock GitHub, clock and store one test works against.
struct Env {
    server: MockServer,
    clock: ManualClock,
    store: MemoryStore,
}

impl Env {
    /// A mock answering `responses` (exactly `expected` refreshes), a clock at t0 and `credential` stored.
    async fn new(
        responses: Vec<wiremock::ResponseTemplate>,
        expected: u64,
        credential: &StoredCredential,
    ) -> Env {
        Env {
            server: server(responses, expected).await,
            clock: ManualClock::new(common::t0()),
            store: memory_store(credential).await,
        }
    }

    /// [`fetch`] through a refresher against the mock and default options.
    async fn fetch(&self) -> Result<GitHubToken, AuthError> {
        let refresher = refresher(&self.server, &self.clock);
        fetch(&self.store, &refresher, &options(&self.clock)).await
    }
}

/// A memory store holding `credential` under [`key`].
async fn memory_store(credential: &StoredCredential) -> MemoryStore {
    let store = MemoryStore::new();
    store.save(&key(), credential).await.unwrap();
    store
}

fn options(clock: &ManualClock) -> RefreshOptions {
    RefreshOptions::new().clock(common::shared(clock))
}

#[tokio::test]
async fn refresh_sends_the_grant_and_returns_the_rotated_pair() {
    let server = server(vec![reply(200, refreshed(1))], 1).await;
    let clock = ManualClock::new(common::t0());
    let response = refresher(&server, &clock)
        .client_secret(SecretString::from("the-client-secret"))
        .refresh(&SecretString::from("ghr_old"))
        .await
        .unwrap();
    assert_eq!(response.access_token.expose_secret(), "ghu_new1");
    assert_eq!(
        response.refresh_token.as_ref().unwrap().expose_secret(),
        "ghr_new1"
    );
    assert_eq!(
        response.expires_at(),
        Some(common::t0() + Duration::from_secs(28800))
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        common::form_field(&requests[0], "refresh_token").unwrap(),
        "ghr_old"
    );
    insta::assert_snapshot!(
        "refresh_grant_request",
        common::render_request(&requests[0])
    );
}

#[tokio::test]
async fn device_flow_tokens_refresh_without_a_secret() {
    let server = server(vec![reply(200, refreshed(1))], 1).await;
    let clock = ManualClock::new(common::t0());
    refresher(&server, &clock)
        .refresh(&SecretString::from("ghr_old"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(common::form_field(&requests[0], "client_secret"), None);
}

#[tokio::test]
async fn bad_refresh_token_is_typed() {
    for status in [200, 400] {
        let server = server(
            vec![reply(
                status,
                json!({"error": "bad_refresh_token",
                "error_description": "The refresh token passed is incorrect or expired."}),
            )],
            1,
        )
        .await;
        let clock = ManualClock::new(common::t0());
        let error = refresher(&server, &clock)
            .refresh(&SecretString::from("ghr_old"))
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::BadRefreshToken), "{error:?}");
    }
}

#[tokio::test]
async fn a_fresh_token_is_returned_without_a_request() {
    let env = Env::new(vec![], 0, &stored(3600)).await;
    assert_eq!(env.fetch().await.unwrap().expose_secret(), "ghu_old");

    // Tokens without expiry never refresh either.
    let mut forever = stored(0);
    forever.expires_at = None;
    env.store.save(&key(), &forever).await.unwrap();
    assert_eq!(env.fetch().await.unwrap().expose_secret(), "ghu_old");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_saved_before_it_is_returned() {
    // Expires in 4 minutes: inside the default 5-minute skew.
    let env = Env::new(vec![reply(200, refreshed(1))], 1, &stored(240)).await;
    assert_eq!(env.fetch().await.unwrap().expose_secret(), "ghu_new1");

    let saved = env.store.load(&key()).await.unwrap().unwrap();
    assert_eq!(saved.access_token.expose_secret(), "ghu_new1");
    assert_eq!(saved.refresh_token.unwrap().expose_secret(), "ghr_new1");
    assert_eq!(
        saved.expires_at,
        Some(common::t0() + Duration::from_secs(28800))
    );
    assert_eq!(saved.login.as_deref(), Some("octocat"));
}

#[tokio::test]
async fn rotation_uses_each_refresh_token_once() {
    let server = server(vec![reply(200, refreshed(1)), reply(200, refreshed(2))], 2).await;
    let clock = ManualClock::new(common::t0());
    let store = memory_store(&stored(60)).await;
    let refresher = refresher(&server, &clock);
    fetch(&store, &refresher, &options(&clock)).await.unwrap();
    clock.advance(Duration::from_secs(28800));
    let token = fetch(&store, &refresher, &options(&clock)).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_new2");

    assert_eq!(sent_refresh_tokens(&server).await, ["ghr_old", "ghr_new1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_refresh() {
    let server = server(
        vec![reply(200, refreshed(1)).set_delay(Duration::from_millis(50))],
        1,
    )
    .await;
    let clock = ManualClock::new(common::t0());
    let store = Arc::new(MemoryStore::new());
    store.save(&key(), &stored(60)).await.unwrap();
    let refresher = Arc::new(refresher(&server, &clock));
    let options = options(&clock);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, refresher, options) = (store.clone(), refresher.clone(), options.clone());
            tokio::spawn(async move {
                fetch(store.as_ref(), refresher.as_ref(), &options)
                    .await
                    .unwrap()
                    .expose_secret()
                    .to_owned()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "ghu_new1");
    }
    // `expect(1)` on the mock is verified when the server drops.
}

#[tokio::test]
async fn bad_refresh_token_means_sign_in_again() {
    let refused = reply(200, json!({"error": "bad_refresh_token"}));
    let env = Env::new(vec![refused], 1, &stored(60)).await;
    let error = env.fetch().await.unwrap_err();
    assert!(
        matches!(error, AuthError::SignInRequired { .. }),
        "{error:?}"
    );
    // The store is left as it was.
    let kept = env.store.load(&key()).await.unwrap().unwrap();
    assert_eq!(kept.access_token.expose_secret(), "ghu_old");
}

/// Simulates losing a rotation race: another process saves a fresh pair, then our refresh is refused.
struct LosesTheRace {
    store: Arc<MemoryStore>,
}

#[async_trait]
impl CredentialRefresher for LosesTheRace {
    async fn refresh_credential(
        &self,
        credential: &StoredCredential,
    ) -> Result<GitHubTokenResponse, AuthError> {
        let mut winner = credential.clone();
        winner.access_token = GitHubToken::new("ghu_from_other_process");
        winner.refresh_token = Some(SecretString::from("ghr_from_other_process"));
        winner.expires_at = Some(common::t0() + Duration::from_secs(28800));
        self.store.save(&key(), &winner).await?;
        Err(AuthError::BadRefreshToken)
    }
}

#[tokio::test]
async fn bad_refresh_token_rereads_the_store_once() {
    let clock = ManualClock::new(common::t0());
    let store = Arc::new(MemoryStore::new());
    store.save(&key(), &stored(60)).await.unwrap();
    let refresher = LosesTheRace {
        store: store.clone(),
    };
    let token = fetch(store.as_ref(), &refresher, &options(&clock))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "ghu_from_other_process");
}

#[tokio::test]
async fn without_a_usable_refresh_token() {
    let server = server(vec![], 0).await;
    let clock = ManualClock::new(common::t0());
    let store = MemoryStore::new();
    let refresher = refresher(&server, &clock);

    // Inside the skew but not expired: the current token is still good.
    let mut credential = stored(60);
    credential.refresh_token = None;
    store.save(&key(), &credential).await.unwrap();
    let token = fetch(&store, &refresher, &options(&clock)).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_old");

    // Expired: sign in again.
    clock.advance(Duration::from_secs(120));
    let error = fetch(&store, &refresher, &options(&clock))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::SignInRequired { .. }));

    // An expired refresh token counts as none.
    let mut credential = stored(0);
    credential.refresh_token_expires_at = Some(common::t0());
    store.save(&key(), &credential).await.unwrap();
    let error = fetch(&store, &refresher, &options(&clock))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::SignInRequired { .. }));

    // Nothing stored.
    let error = get_or_refresh_with(
        &store,
        &CredentialKey::new("github.com", "nobody"),
        &refresher,
        &options(&clock),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, AuthError::SignInRequired { .. }));
}

#[tokio::test]
async fn refresh_after_rejection_refreshes_only_the_rejected_token() {
    let server = server(vec![reply(200, refreshed(1))], 1).await;
    let clock = ManualClock::new(common::t0());
    let store = memory_store(&stored(3600)).await;
    let refresher = refresher(&server, &clock);
    let rejected = GitHubToken::new("ghu_old");
    let token = refresh_after_rejection(&store, &key(), &refresher, &rejected, &options(&clock))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "ghu_new1");
    // A second caller holding the same rejected token gets the replacement without a second refresh.
    let token = refresh_after_rejection(&store, &key(), &refresher, &rejected, &options(&clock))
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "ghu_new1");
}

/// A versioned store whose next `failures` saves fail, as a full disk would.
#[derive(Debug, Default)]
struct FailingSaves {
    inner: MemoryStore,
    failures: std::sync::atomic::AtomicUsize,
    version: std::sync::atomic::AtomicU64,
}

impl FailingSaves {
    fn failing(failures: usize) -> Self {
        FailingSaves {
            failures: failures.into(),
            ..FailingSaves::default()
        }
    }
}

#[async_trait]
impl TokenStore for FailingSaves {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        self.inner.load(key).await
    }
    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        use std::sync::atomic::Ordering;
        let failed = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err(AuthError::Store(Arc::new(std::io::Error::other(
                "no space left on device",
            ))));
        }
        self.inner.save(key, credential).await?;
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        self.inner.delete(key).await
    }
    async fn load_versioned(
        &self,
        key: &CredentialKey,
    ) -> Result<Option<copilot_auth::VersionedCredential>, AuthError> {
        let version = self.version.load(std::sync::atomic::Ordering::SeqCst);
        Ok(self
            .inner
            .load(key)
            .await?
            .map(|credential| copilot_auth::VersionedCredential {
                credential,
                version,
            }))
    }
    async fn save_if_version(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
        expected: Option<u64>,
    ) -> Result<bool, AuthError> {
        if expected != Some(self.version.load(std::sync::atomic::Ordering::SeqCst)) {
            return Ok(false);
        }
        self.save(key, credential).await?;
        Ok(true)
    }
}

/// The access and refresh token the store holds, bypassing its failing saves.
async fn stored_pair(store: &FailingSaves) -> [String; 2] {
    let saved = store.inner.load(&key()).await.unwrap().unwrap();
    [
        saved.access_token.expose_secret().to_owned(),
        saved.refresh_token.unwrap().expose_secret().to_owned(),
    ]
}

#[tokio::test]
async fn a_failed_save_after_refresh_keeps_the_rotated_pair_and_saves_it_later() {
    let server = server(vec![reply(200, refreshed(1))], 1).await;
    let clock = ManualClock::new(common::t0());
    let store = FailingSaves::failing(1);
    store.inner.save(&key(), &stored(60)).await.unwrap();
    let reported = Arc::new(std::sync::Mutex::new(Vec::new()));
    let options = options(&clock).save_failure_handler({
        let reported = reported.clone();
        move |key: &CredentialKey, error: &AuthError| {
            reported.lock().unwrap().push(format!("{key}: {error}"));
        }
    });
    let refresher = refresher(&server, &clock);

    // GitHub rotated the pair, the store refused it: the caller still gets the new token.
    let token = fetch(&store, &refresher, &options).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_new1");
    assert_eq!(options.unsaved_count(), 1);
    assert_eq!(stored_pair(&store).await, ["ghu_old", "ghr_old"]);
    let reports = reported.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("no space left on device"),
        "{reports:?}"
    );
    assert!(
        !reports[0].contains("ghu_") && !reports[0].contains("ghr_"),
        "{reports:?}"
    );

    // The next call saves the kept pair (a clone of the options shares it) and spends no refresh token.
    let token = fetch(&store, &refresher, &options.clone()).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_new1");
    assert_eq!(options.unsaved_count(), 0);
    assert_eq!(stored_pair(&store).await, ["ghu_new1", "ghr_new1"]);
}

#[tokio::test]
async fn while_saves_keep_failing_the_next_refresh_spends_the_kept_refresh_token() {
    let server = server(vec![reply(200, refreshed(1)), reply(200, refreshed(2))], 2).await;
    let clock = ManualClock::new(common::t0());
    let store = FailingSaves::failing(usize::MAX);
    store.inner.save(&key(), &stored(60)).await.unwrap();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let options = options(&clock).save_failure_handler({
        let failures = failures.clone();
        move |_: &CredentialKey, _: &AuthError| {
            failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let refresher = refresher(&server, &clock);

    fetch(&store, &refresher, &options).await.unwrap();
    // Still valid: served from memory, one more failed save attempt reported.
    let token = fetch(&store, &refresher, &options).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_new1");
    clock.advance(Duration::from_secs(28800));
    let token = fetch(&store, &refresher, &options).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_new2");
    assert_eq!(failures.load(std::sync::atomic::Ordering::SeqCst), 4);

    // The dead `ghr_old` was never sent again: the second refresh used the pair kept in memory.
    assert_eq!(sent_refresh_tokens(&server).await, ["ghr_old", "ghr_new1"]);
    assert_eq!(stored_pair(&store).await, ["ghu_old", "ghr_old"]);
}

#[tokio::test]
async fn a_new_sign_in_wins_over_a_pair_waiting_to_be_saved() {
    let server = server(vec![reply(200, refreshed(1))], 1).await;
    let clock = ManualClock::new(common::t0());
    let store = FailingSaves::failing(0);
    store.save(&key(), &stored(60)).await.unwrap();
    store.failures.store(1, std::sync::atomic::Ordering::SeqCst);
    let options = options(&clock);
    let refresher = refresher(&server, &clock);
    fetch(&store, &refresher, &options).await.unwrap();
    assert_eq!(options.unsaved_count(), 1);

    // Meanwhile the user signed in again: the compare-and-set of the kept pair fails, and the new sign-in
    // stays.
    let mut signed_in = stored(28800);
    signed_in.access_token = GitHubToken::new("ghu_signed_in_again");
    signed_in.refresh_token = Some(SecretString::from("ghr_signed_in_again"));
    store.save(&key(), &signed_in).await.unwrap();
    let token = fetch(&store, &refresher, &options).await.unwrap();
    assert_eq!(token.expose_secret(), "ghu_signed_in_again");
    assert_eq!(options.unsaved_count(), 0);
    assert_eq!(
        stored_pair(&store).await,
        ["ghu_signed_in_again", "ghr_signed_in_again"]
    );
}

#[tokio::test]
async fn load_usable_without_a_refresher_is_none_some_or_sign_in() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(common::t0());
    let options = RefreshOptions::new().clock(clock.clone());
    assert!(
        load_usable(&store, &key(), None, &options)
            .await
            .unwrap()
            .is_none(),
        "nothing stored"
    );
    store.save(&key(), &stored(3600)).await.unwrap();
    let token = load_usable(&store, &key(), None, &options).await.unwrap();
    assert_eq!(
        token.map(|t| t.expose_secret().to_owned()).as_deref(),
        Some("ghu_old")
    );
    clock.advance(Duration::from_secs(3601));
    let error = load_usable(&store, &key(), None, &options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::SignInRequired { .. }),
        "{error:?}"
    );
}
