//! The session-store tests both store crates share (the PostgreSQL tests include this file by path): a
//! sample record, and the lock of a holder that keeps renewing or dies.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use copilot_sdk::{HistoryEntry, Message, SdkError, SessionMetadata, SessionRecord, SessionStore};
use copilot_store_core::EncryptionKey;

/// Opens a session store (url, namespace or schema, key, lock TTL), as a new process would.
pub type OpenSessions = fn(
    String,
    String,
    EncryptionKey,
    Duration,
) -> Pin<Box<dyn Future<Output = Arc<dyn SessionStore>> + Send>>;

/// A session whose title and first prompt are `words`.
pub fn record(id: &str, words: &str) -> SessionRecord {
    let mut record = SessionRecord::new(SessionMetadata::new(id, "gpt-4.1", SystemTime::now()));
    record.metadata.summary = Some(words.to_owned());
    record.history = vec![
        HistoryEntry::new(Message::user(words)),
        HistoryEntry::new(Message::assistant("noted")),
    ];
    record
}

/// A held lock outlives its TTL (renewals); one whose holder dies is free once its TTL has run out, not
/// before.
pub async fn locks_are_renewed_and_dead_holders_replaced(
    open: OpenSessions,
    url: &str,
    namespace: &str,
) -> Result<(), SdkError> {
    // Renewed every 333 ms: a renewal may run up to 667 ms late (a loaded machine) before the lease runs out.
    let ttl = Duration::from_secs(1);
    let key = super::fleet::test_key();
    let store = open(url.to_owned(), namespace.to_owned(), key.clone(), ttl).await;

    let held = store.lock("kept").await?;
    tokio::time::sleep(ttl * 3 / 2).await;
    assert!(
        matches!(store.lock("kept").await, Err(SdkError::SessionInUse { .. })),
        "a held lock is renewed past its TTL"
    );
    drop(held);

    // A "process" takes the lock and dies without releasing it: its runtime, renewals included, ends.
    let (url, namespace) = (url.to_owned(), namespace.to_owned());
    let taken_at = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let taken_at = runtime.block_on(async {
            let started = Instant::now();
            let store = open(url, namespace, key, ttl).await;
            std::mem::forget(store.lock("crashed").await.expect("lock"));
            started
        });
        drop(runtime);
        taken_at
    })
    .join()
    .expect("the crashing process");

    assert!(matches!(
        store.lock("crashed").await,
        Err(SdkError::SessionInUse { .. })
    ));
    let lock = loop {
        match store.lock("crashed").await {
            Ok(lock) => break lock,
            Err(SdkError::SessionInUse { .. }) => {
                assert!(
                    taken_at.elapsed() < ttl * 10,
                    "the dead holder's lock never ran out"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => return Err(other),
        }
    };
    assert!(
        taken_at.elapsed() >= ttl,
        "the lock was free before its TTL ran out"
    );
    drop(lock);
    Ok(())
}

/// Saves `alice-1` and `bob-1`, each with private words.
pub async fn save_alice_and_bob(store: &dyn SessionStore) -> Result<(), SdkError> {
    store.save(&record("alice-1", "my private plans")).await?;
    store.save(&record("bob-1", "bob's private plans")).await
}

/// Nothing private readable in a value at rest.
pub fn assert_sealed(value: &[u8], what: &str) {
    assert!(
        !value.windows(7).any(|w| w == b"private"),
        "nothing readable at rest in {what}"
    );
}

/// After Bob's sealed record was copied onto `alice-1`: loading Alice is a typed error naming her (and
/// none of her words), Bob still loads.
pub async fn a_moved_record_is_refused(store: &dyn SessionStore) -> Result<(), SdkError> {
    let error = store.load("alice-1").await.unwrap_err();
    assert!(matches!(error, SdkError::SessionStore { .. }), "{error:?}");
    assert!(
        matches!(
            copilot_store_core::store_error_of(&error),
            Some(copilot_store_core::StoreError::Undecryptable { record }) if record.contains("alice-1")
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("private"));
    assert_eq!(
        store.load("bob-1").await?.map(|r| r.metadata.summary),
        Some(Some("bob's private plans".to_owned()))
    );
    Ok(())
}

/// Garbage that is not a sealed value, for overwriting one.
pub const GARBAGE: &[u8] = b"\x01garbage-garbage-garbage-garbage";

/// After Alice's listed metadata was overwritten with [`GARBAGE`]: listing skips her and lists Bob.
pub async fn broken_metadata_is_skipped(store: &dyn SessionStore) -> Result<(), SdkError> {
    let ids: Vec<String> = store.list().await?.into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["bob-1"]);
    Ok(())
}

/// A store sealing with another key opens nothing of `store`'s; saving Alice again repairs her.
pub async fn a_stranger_opens_nothing_and_a_save_repairs(
    store: &dyn SessionStore,
    stranger: &dyn SessionStore,
) -> Result<(), SdkError> {
    let error = stranger.load("bob-1").await.unwrap_err();
    assert!(matches!(
        copilot_store_core::store_error_of(&error),
        Some(copilot_store_core::StoreError::Undecryptable { .. })
    ));
    assert!(stranger.list().await?.is_empty());
    store.save(&record("alice-1", "fresh start")).await?;
    assert_eq!(store.list().await?.len(), 2);
    Ok(())
}

/// Resumes `id` through `client`, waiting (at most 5 s) while another instance's lock is still being
/// released in the background.
async fn resume_when_free(
    client: &copilot_sdk::CopilotClient,
    id: &str,
) -> Result<copilot_sdk::Session, SdkError> {
    let started = Instant::now();
    loop {
        match client
            .resume_session(id, copilot_sdk::SessionConfig::new())
            .await
        {
            Err(SdkError::SessionInUse { .. }) if started.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Two instances of a service, each with its own handle on the shared store, against one copilot-mock:
/// a conversation started in one is listed, refused while open, then resumed and continued in the other
/// with its whole history, and the first sees the second's turn.
pub async fn two_instances_continue_one_conversation(
    first_store: Arc<dyn SessionStore>,
    second_store: Arc<dyn SessionStore>,
) -> Result<(), SdkError> {
    use copilot_mock::{Endpoint, MockConfig, MockServer};
    use copilot_sdk::{CopilotClient, SessionConfig, SessionFilter};

    let mock = MockServer::start(MockConfig::new().direct_mode(true)).await;
    let token = mock.mint_github_token("octocat");
    let client = |store: Arc<dyn SessionStore>| {
        CopilotClient::builder()
            .host(super::fleet::mock_host(&mock))
            .transport(copilot_http::SharedTransport::default_reqwest().expect("transport"))
            .read_environment(false)
            .github_token(token.clone())
            .use_logged_in_user(false)
            .session_store(store)
            .build()
    };
    let first = client(first_store)?;
    let second = client(second_store)?;

    let session = first
        .create_session(
            SessionConfig::new()
                .session_id("fleet-chat")
                .model("gpt-4.1"),
        )
        .await?;
    session.send_and_wait("Plan a trip to Porto").await?;
    let history = session.history_entries();

    let listed = second.list_sessions(SessionFilter::new()).await?;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].turn_count, 1);
    assert_eq!(listed[0].summary.as_deref(), Some("Plan a trip to Porto"));
    let busy = second
        .resume_session("fleet-chat", SessionConfig::new())
        .await;
    assert!(
        matches!(&busy, Err(SdkError::SessionInUse { id }) if id == "fleet-chat"),
        "open in one instance, refused in the other: {busy:?}"
    );
    drop(session);

    let resumed = resume_when_free(&second, "fleet-chat").await?;
    assert_eq!(resumed.history_entries(), history);
    resumed.send_and_wait("And the hotel?").await?;
    let chats = mock.requests_to(Endpoint::ChatCompletions);
    let body = chats
        .last()
        .and_then(|r| r.body_json())
        .expect("a chat body");
    assert_eq!(
        body["messages"].as_array().map(Vec::len),
        Some(3),
        "the second instance sent the first one's history"
    );
    assert_eq!(
        first
            .get_session_metadata("fleet-chat")
            .await?
            .map(|m| m.turn_count),
        Some(2),
        "the first instance sees the second one's turn"
    );
    drop(resumed);

    let reopened = resume_when_free(&first, "fleet-chat").await?;
    assert_eq!(reopened.history_entries().len(), 4);
    drop(reopened);
    let started = Instant::now();
    loop {
        match second.delete_session("fleet-chat").await {
            Err(SdkError::SessionInUse { .. }) if started.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => {
                assert!(other?, "deleted");
                break;
            }
        }
    }
    assert!(first.list_sessions(SessionFilter::new()).await?.is_empty());
    Ok(())
}

/// Fencing: a holder whose lease was taken over (`steal` removes its lease behind its back, as a stall past
/// the TTL would) cannot save any more; the new holder's conversation is the one kept.
pub async fn a_holder_that_lost_its_lock_cannot_overwrite_the_new_holder(
    store: &dyn SessionStore,
    peer: &dyn SessionStore,
    steal: impl Future<Output = ()>,
) -> Result<(), SdkError> {
    let mine = store.lock("fenced").await?;
    store.save(&record("fenced", "mine")).await?;
    steal.await;
    let theirs = peer.lock("fenced").await?;
    peer.save(&record("fenced", "theirs")).await?;

    let stale = store.save(&record("fenced", "stale")).await;
    assert!(
        matches!(&stale, Err(SdkError::SessionInUse { id }) if id == "fenced"),
        "a save under a lost lock is refused: {stale:?}"
    );
    let kept = store.load("fenced").await?.and_then(|r| r.metadata.summary);
    assert_eq!(kept.as_deref(), Some("theirs"));

    // The old holder's release does not free the new holder's lock.
    drop(mine);
    assert!(matches!(
        store.lock("fenced").await,
        Err(SdkError::SessionInUse { .. })
    ));
    drop(theirs);
    Ok(())
}

/// The session-store tests both store crates run alike: `$sessions` is the crate's
/// `async fn sessions(test) -> Option<(Store, url, namespace)>`, `$open` its
/// `async fn open(url, namespace, key) -> Store`, and `$two_instances` the name of the fleet test. The
/// including file names this module `shared` and the fleet support `fleet`.
macro_rules! session_store_tests {
    ($sessions:ident, $open:ident, $two_instances:ident) => {
        fn open_sessions(
            url: String,
            namespace: String,
            key: EncryptionKey,
            ttl: std::time::Duration,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::sync::Arc<dyn SessionStore>> + Send>,
        > {
            Box::pin(async move {
                std::sync::Arc::new($open(&url, &namespace, &key).await.lock_ttl(ttl))
                    as std::sync::Arc<dyn SessionStore>
            })
        }

        #[tokio::test]
        async fn a_held_lock_is_renewed_and_a_crashed_holder_is_replaced_after_the_ttl()
        -> Result<(), SdkError> {
            let Some((_, url, namespace)) = $sessions("sessions_lock_ttl").await else {
                return Ok(());
            };
            shared::locks_are_renewed_and_dead_holders_replaced(open_sessions, &url, &namespace)
                .await
        }

        #[tokio::test]
        async fn $two_instances() -> Result<(), SdkError> {
            let Some((first, url, namespace)) = $sessions("sessions_fleet").await else {
                return Ok(());
            };
            let second = $open(&url, &namespace, &fleet::test_key()).await;
            shared::two_instances_continue_one_conversation(
                std::sync::Arc::new(first),
                std::sync::Arc::new(second),
            )
            .await
        }
    };
}
pub(crate) use session_store_tests;
