//! The multi-user pool: organisation gate, one shared transport for many users, idle eviction, stored
//! tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use copilot_mock::MockUser;
use copilot_sdk::http::time::ManualClock;
use copilot_sdk::http::{FnTransport, HttpTransport, ReqwestTransport};
use copilot_sdk::{
    ClientPool, CredentialKey, GitHubToken, MemoryStore, SdkError, SessionConfig, SharedTransport,
    StoredCredential, TokenStore,
};

use crate::common::{Target, assert_echoes, mock, target};

fn pool(target: &Target) -> copilot_sdk::ClientPoolBuilder {
    ClientPool::builder()
        .host(target.host.clone())
        .transport(target.transport.clone())
}

#[tokio::test]
async fn org_gate_accepts_members_and_refuses_others() -> Result<(), SdkError> {
    let target = target().await;
    mock(&target).add_user(MockUser::new("outsider"));
    let pool = pool(&target).require_org("octo-org").build()?;

    let member = pool
        .client_for("octocat", target.user_token("octocat").expect("token"))
        .await?;
    let session = member
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    assert_echoes(&session, "Hello!").await?;

    let refused = pool
        .client_for("outsider", target.user_token("outsider").expect("token"))
        .await
        .expect_err("not a member");
    assert!(
        matches!(&refused, SdkError::NotOrgMember { org } if org == "octo-org"),
        "{refused:?}"
    );
    assert_eq!(pool.len(), 1);

    // Same user, same token: the same client; classic PATs are refused before any request.
    let again = pool
        .client_for("octocat", target.user_token("octocat").expect("token"))
        .await?;
    assert_eq!(pool.len(), 1);
    drop(again);
    let pat = pool
        .client_for("octocat", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB")
        .await
        .expect_err("ghp_");
    assert_eq!(
        pat.unsupported_token_kind(),
        Some(copilot_sdk::TokenKind::ClassicPat),
        "{pat:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_hundred_users_share_one_transport() -> Result<(), SdkError> {
    let target = target().await;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let reqwest = Arc::new(ReqwestTransport::new()?);
    let transport = SharedTransport::new(FnTransport::new(move |request| {
        counter.fetch_add(1, Ordering::SeqCst);
        let reqwest = reqwest.clone();
        async move { reqwest.send(request).await }
    }));
    let pool = ClientPool::builder()
        .host(target.host.clone())
        .transport(transport)
        .require_org("octo-org")
        .build()?;

    let users: Vec<(String, String)> = (0..100)
        .map(|i| {
            let login = format!("user-{i:03}");
            mock(&target).add_user(MockUser::new(login.clone()).org("octo-org"));
            let token = mock(&target).mint_github_token(&login);
            (login, token)
        })
        .collect();

    let answers = futures_util::future::join_all(users.iter().map(|(login, token)| {
        let pool = pool.clone();
        async move {
            let client = pool.client_for(login, token.clone()).await?;
            let session = client
                .create_session(
                    SessionConfig::new()
                        .session_id(format!("user-{login}-session"))
                        .model("gpt-4.1"),
                )
                .await?;
            session.send_and_wait(format!("Hi, I am {login}")).await
        }
    }))
    .await;

    for ((login, _), answer) in users.iter().zip(answers) {
        assert!(answer?.content.contains(login.as_str()));
    }
    assert_eq!(pool.len(), 100);
    // One token manager (and exchange) per user, every request through the one transport.
    assert_eq!(mock(&target).copilot_tokens_issued(), 100);
    assert_eq!(sent.load(Ordering::SeqCst), mock(&target).requests().len());
    Ok(())
}

#[tokio::test]
async fn idle_clients_are_evicted_by_the_injected_clock() -> Result<(), SdkError> {
    let target = target().await;
    let clock = ManualClock::new(SystemTime::now());
    let pool = pool(&target)
        .clock(Arc::new(clock.clone()))
        .idle_timeout(Duration::from_secs(600))
        .build()?;
    pool.client_for("a", target.user_token("octocat").expect("token"))
        .await?;
    clock.advance(Duration::from_secs(300));
    pool.client_for("b", target.user_token("octocat").expect("token"))
        .await?;
    assert_eq!(pool.evict_idle(), 0);
    clock.advance(Duration::from_secs(301));
    assert_eq!(pool.evict_idle(), 1);
    assert_eq!(pool.len(), 1);
    assert!(pool.remove("b"));
    assert!(pool.is_empty());
    Ok(())
}

#[tokio::test]
async fn get_or_refresh_token_over_any_store() -> Result<(), SdkError> {
    let target = target().await;
    let clock = ManualClock::new(SystemTime::now());
    let store = Arc::new(MemoryStore::new());
    let pool = pool(&target)
        .token_store(store.clone())
        .clock(Arc::new(clock.clone()))
        .build()?;

    let missing = pool
        .get_or_refresh_token("alice")
        .await
        .expect_err("nothing stored");
    assert!(missing.requires_sign_in());

    let token = target.user_token("octocat").expect("token");
    let mut credential = StoredCredential::new(target.host.key(), GitHubToken::new(token.clone()));
    credential.expires_at = Some(clock.now_for_test() + Duration::from_secs(3600));
    store
        .save(&CredentialKey::new(target.host.key(), "alice"), &credential)
        .await?;
    assert_eq!(
        pool.get_or_refresh_token("alice").await?.expose_secret(),
        token
    );

    let client = pool.client_for_stored("alice").await?;
    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    assert_echoes(&session, "stored").await?;

    // Expired, and no refresher configured: the user must sign in again.
    clock.advance(Duration::from_secs(7200));
    let expired = pool
        .get_or_refresh_token("alice")
        .await
        .expect_err("expired");
    assert!(expired.requires_sign_in(), "{expired:?}");
    Ok(())
}

trait NowForTest {
    fn now_for_test(&self) -> SystemTime;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> SystemTime {
        copilot_sdk::http::time::Clock::now(self)
    }
}

/// Three pools (a fleet's instances) on one token store: with one set of shared Copilot-token caches they
/// exchange once per user between them, however many callers each has; without it, once per pool.
#[tokio::test]
async fn pools_sharing_token_caches_exchange_once_per_user() -> Result<(), SdkError> {
    use copilot_sdk::token::InProcessTokenCaches;

    async fn fleet_of_three(target: &Target, shared: bool) -> Result<usize, SdkError> {
        let before = mock(target).copilot_tokens_issued();
        let store = Arc::new(MemoryStore::new());
        let token = target.user_token("octocat").expect("token");
        store
            .save(
                &CredentialKey::new(target.host.key(), "alice"),
                &StoredCredential::new(target.host.key(), GitHubToken::new(token)),
            )
            .await?;
        let caches = Arc::new(InProcessTokenCaches::new());
        let pools = (0..3)
            .map(|_| {
                let builder = pool(target).token_store(store.clone());
                if shared {
                    builder.shared_token_caches(caches.clone()).build()
                } else {
                    builder.build()
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let callers = pools.iter().flat_map(|pool| {
            (0..50).map(move |_| async move {
                let client = pool.client_for_stored("alice").await?;
                client.start().await
            })
        });
        for outcome in futures_util::future::join_all(callers).await {
            outcome?;
        }
        Ok(mock(target).copilot_tokens_issued() - before)
    }

    let target = target().await;
    assert_eq!(
        fleet_of_three(&target, false).await?,
        3,
        "one exchange per pool"
    );
    assert_eq!(
        fleet_of_three(&target, true).await?,
        1,
        "one exchange per user"
    );

    // Users given with a token share the Copilot token only between clients holding that same GitHub token.
    let caches = Arc::new(InProcessTokenCaches::new());
    let pools = (0..3)
        .map(|_| pool(&target).shared_token_caches(caches.clone()).build())
        .collect::<Result<Vec<_>, _>>()?;
    let first = mock(&target).mint_github_token("octocat");
    let second = mock(&target).mint_github_token("octocat");
    let before = mock(&target).copilot_tokens_issued();
    for pool in &pools {
        pool.client_for("carol", first.clone())
            .await?
            .start()
            .await?;
    }
    assert_eq!(mock(&target).copilot_tokens_issued() - before, 1);
    pools[0].client_for("carol", second).await?.start().await?;
    assert_eq!(
        mock(&target).copilot_tokens_issued() - before,
        2,
        "another GitHub token of the same user id gets its own exchange"
    );
    Ok(())
}
