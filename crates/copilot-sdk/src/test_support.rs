//! Test support for [`SessionStore`] implementations (feature `test-support`).
//!
//! [`SessionStoreContract`] runs what the trait promises against a store: save, load, list and delete;
//! overwrites; unknown ids; ids with odd characters (kept apart exactly, or refused with
//! [`SdkError::Config`]); large histories; concurrent writers and readers (a reader sees one whole record,
//! never a mix); unknown fields surviving a round trip; and the exclusive lock, also as seen from a second
//! handle on the same storage (another process would open one). The stores of this crate run it in their
//! tests, and so do the shared-database stores of `copilot-store-redis` and `copilot-store-postgres`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), copilot_sdk::SdkError> {
//! use copilot_sdk::MemorySessionStore;
//! use copilot_sdk::test_support::SessionStoreContract;
//!
//! let store = MemorySessionStore::new();
//! SessionStoreContract::new(&store).peer(&store.clone()).run().await?;
//! # Ok(()) }
//! ```
//!
//! A contract violation panics with a message naming the promise; an error from the store is returned.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use copilot_api::{ContentBlock, Message, ReasoningEffort, ToolCall};
use futures_util::future::join_all;

use crate::SdkError;
use crate::session::{EventEnvelope, HistoryEntry};
use crate::store::{SessionMetadata, SessionRecord, SessionStore, StoredToolCall};

/// Ids with characters a store might mishandle: separators, glob and SQL metacharacters, escapes,
/// non-ASCII. A store keeps each that the one session-id rule ([`check_session_id`](crate::check_session_id))
/// accepts apart from every other (and from the plain ids), and refuses the others with
/// [`SdkError::Config`], so a session can move between stores.
pub const ODD_SESSION_IDS: &[&str] = &[
    "with space",
    "slash/inside",
    "../parent",
    "colon:inside",
    "lock:colon",
    "a%2Fb",
    "a/b",
    "quote'\"",
    "semi;DROP TABLE x;--",
    "glob*?[a-z]",
    "back\\slash",
    "brace{tag}",
    "tab\tinside",
    "unicode-é-日本-🦀",
    "trailing.",
    ".leading",
];

/// The contract of [`SessionStore`], run against one store (see the [module docs](self)).
///
/// The store must be empty when [`run`](Self::run) starts (a fresh directory, namespace or schema); it
/// holds a few sessions afterwards.
#[derive(Debug)]
pub struct SessionStoreContract<'a> {
    store: &'a dyn SessionStore,
    peer: Option<&'a dyn SessionStore>,
    release_within: Duration,
    history_entries: usize,
    writers: usize,
}

impl<'a> SessionStoreContract<'a> {
    /// The contract for `store`.
    pub fn new(store: &'a dyn SessionStore) -> Self {
        SessionStoreContract {
            store,
            peer: None,
            release_within: Duration::from_secs(5),
            history_entries: 2_000,
            writers: 16,
        }
    }

    /// A second handle on the same storage, opened as another process would open it: it must see the
    /// first handle's sessions and respect its locks.
    pub fn peer(mut self, peer: &'a dyn SessionStore) -> Self {
        self.peer = Some(peer);
        self
    }

    /// How soon after a [`SessionLock`](crate::SessionLock) is dropped the peer must be able to take it
    /// (default 5 s; a store that releases in the background needs a moment).
    pub fn release_within(mut self, within: impl Into<Duration>) -> Self {
        self.release_within = within.into();
        self
    }

    /// How many entries the large history has (default 2,000, next to one 1 MiB message).
    pub fn history_entries(mut self, entries: usize) -> Self {
        self.history_entries = entries;
        self
    }

    /// How many concurrent writers race on one id (default 16).
    pub fn writers(mut self, writers: usize) -> Self {
        self.writers = writers.max(2);
        self
    }

    /// Runs every part of the contract, in order.
    pub async fn run(self) -> Result<(), SdkError> {
        self.empty_store().await?;
        self.round_trip_and_overwrite().await?;
        self.unknown_ids().await?;
        self.odd_ids().await?;
        self.large_history().await?;
        self.concurrent_writers().await?;
        self.locks().await?;
        self.peer_view().await?;
        self.delete().await?;
        Ok(())
    }

    async fn empty_store(&self) -> Result<(), SdkError> {
        let store = self.store;
        assert_eq!(store.load("a").await?, None, "an empty store loads nothing");
        assert!(
            store.list().await?.is_empty(),
            "an empty store lists nothing"
        );
        assert!(!store.delete("a").await?, "deleting from an empty store");
        Ok(())
    }

    async fn round_trip_and_overwrite(&self) -> Result<(), SdkError> {
        let store = self.store;
        let a = rich_record("a", "gpt-4.1");
        store.save(&a).await?;
        let b = plain_record("b.2", "claude-sonnet-4.5", 1);
        store.save(&b).await?;
        assert_eq!(
            store.load("a").await?.as_ref(),
            Some(&a),
            "a record (tool calls, reasoning, events, unknown fields) loads as it was saved"
        );
        assert_eq!(store.load("b.2").await?.as_ref(), Some(&b));

        let mut changed = a.clone();
        changed.metadata.turn_count = 2;
        changed.metadata.modified_at += Duration::from_secs(60);
        changed.metadata.summary = Some("changed title".to_owned());
        changed.metadata.model = "gpt-5".to_owned();
        changed.history.truncate(1);
        changed.pending_tool_calls.clear();
        changed.extra.remove("future_field");
        store.save(&changed).await?;
        assert_eq!(
            store.load("a").await?.as_ref(),
            Some(&changed),
            "a save replaces the whole record (removed parts stay removed)"
        );
        assert_eq!(
            listed(store).await?,
            BTreeMap::from([
                ("a".to_owned(), changed.metadata.clone()),
                ("b.2".to_owned(), b.metadata.clone()),
            ]),
            "list returns every session once, with the metadata of its last save"
        );
        Ok(())
    }

    async fn unknown_ids(&self) -> Result<(), SdkError> {
        let store = self.store;
        // Neighbours of saved ids: prefixes, extensions, patterns. (Not other cases: a file store on a
        // case-insensitive file system cannot keep `a` and `A` apart.)
        for id in [
            "", "b", "b.", "b.2.json", "b.2 ", " b.2", "aa", "b?2", "b*", "%",
        ] {
            match store.load(id).await {
                Ok(loaded) => assert_eq!(loaded, None, "unknown id {id:?} loads nothing"),
                Err(SdkError::Config { .. }) => {}
                Err(other) => return Err(other),
            }
            match store.delete(id).await {
                Ok(deleted) => assert!(!deleted, "deleting unknown id {id:?}"),
                Err(SdkError::Config { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        assert_eq!(
            listed(store).await?.len(),
            2,
            "looking up unknown ids changes nothing"
        );
        Ok(())
    }

    async fn odd_ids(&self) -> Result<(), SdkError> {
        let store = self.store;
        let before = listed(store).await?;
        let mut accepted = Vec::new();
        for (n, id) in ODD_SESSION_IDS.iter().enumerate() {
            let record = plain_record(id, "gpt-4.1", n as u64 + 10);
            let allowed = crate::check_session_id(id).is_ok();
            match store.save(&record).await {
                Ok(()) => {
                    assert!(
                        allowed,
                        "id {id:?} breaks the one session-id rule but was stored"
                    );
                    accepted.push(record);
                }
                Err(SdkError::Config { .. }) => {
                    assert!(
                        !allowed,
                        "id {id:?} follows the one session-id rule (check_session_id) but was refused: \
                         a session could not move to this store"
                    );
                    // A refused id is refused everywhere, never mapped onto another one.
                    for (what, result) in [
                        ("load", store.load(id).await.map(|_| ())),
                        ("delete", store.delete(id).await.map(|_| ())),
                        ("lock", store.lock(id).await.map(|_| ())),
                    ] {
                        assert!(
                            matches!(result, Err(SdkError::Config { .. })),
                            "{what} of refused id {id:?}: {result:?}"
                        );
                    }
                }
                Err(other) => return Err(other),
            }
        }
        for record in &accepted {
            let id = &record.metadata.id;
            assert_eq!(
                store.load(id).await?.as_ref(),
                Some(record),
                "odd id {id:?} loads its own record"
            );
        }
        let mut expected = before.clone();
        expected.extend(
            accepted
                .iter()
                .map(|r| (r.metadata.id.clone(), r.metadata.clone())),
        );
        assert_eq!(
            listed(store).await?,
            expected,
            "odd ids are listed as they were given"
        );
        for record in &accepted {
            let id = &record.metadata.id;
            let lock = store.lock(id).await?;
            drop(lock);
            assert!(store.delete(id).await?, "odd id {id:?} deletes");
            assert_eq!(store.load(id).await?, None);
        }
        assert_eq!(
            listed(store).await?,
            before,
            "deleting odd ids touched nothing else"
        );
        Ok(())
    }

    async fn large_history(&self) -> Result<(), SdkError> {
        let store = self.store;
        let mut record = plain_record("large", "gpt-4.1", 0);
        record.history = (0..self.history_entries)
            .map(|i| {
                HistoryEntry::new(if i % 2 == 0 {
                    Message::user(format!("question {i}: {}", "q".repeat(200)))
                } else {
                    Message::assistant(format!("answer {i}: {}", "a".repeat(300)))
                })
            })
            .collect();
        record
            .history
            .push(HistoryEntry::new(Message::user("x".repeat(1024 * 1024))));
        record.metadata.turn_count = self.history_entries as u64 / 2;
        store.save(&record).await?;
        let loaded = store.load("large").await?;
        assert!(
            loaded.as_ref() == Some(&record),
            "a history of {} entries and a 1 MiB message round-trips (got {} entries)",
            record.history.len(),
            loaded.map_or(0, |r| r.history.len())
        );
        assert!(store.delete("large").await?);
        Ok(())
    }

    async fn concurrent_writers(&self) -> Result<(), SdkError> {
        let store = self.store;
        let candidates: Vec<SessionRecord> = (0..self.writers)
            .map(|n| {
                let mut record = plain_record("raced", "gpt-4.1", n as u64);
                record.history = (0..=n)
                    .map(|i| HistoryEntry::new(Message::user(format!("writer {n} line {i}"))))
                    .collect();
                record.metadata.summary = Some(format!("writer {n}"));
                record
            })
            .collect();
        let first = &candidates[0];
        store.save(first).await?;

        // Every writer saves its record while readers keep loading: each load is one whole record.
        let writes = join_all(candidates.iter().map(|record| store.save(record)));
        let reads = join_all((0..self.writers).map(|_| store.load("raced")));
        let (written, read) = futures_util::join!(writes, reads);
        written.into_iter().collect::<Result<Vec<()>, _>>()?;
        for loaded in read {
            let loaded = loaded?;
            assert!(
                loaded.as_ref().is_some_and(|r| candidates.contains(r)),
                "a load during concurrent saves returns one writer's whole record, got {loaded:?}"
            );
        }
        let last = store.load("raced").await?.expect("the raced session");
        assert!(
            candidates.contains(&last),
            "after concurrent saves the record is one writer's, whole"
        );
        let listed = listed(store).await?;
        assert_eq!(
            listed.get("raced"),
            Some(&last.metadata),
            "the listed metadata is the metadata of the record that won"
        );

        // Writers on different ids all land.
        let distinct: Vec<SessionRecord> = (0..self.writers)
            .map(|n| plain_record(&format!("parallel-{n}"), "gpt-4.1", n as u64))
            .collect();
        join_all(distinct.iter().map(|record| store.save(record)))
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()?;
        for record in &distinct {
            assert_eq!(
                store.load(&record.metadata.id).await?.as_ref(),
                Some(record)
            );
        }
        for record in &distinct {
            assert!(store.delete(&record.metadata.id).await?);
        }
        assert!(store.delete("raced").await?);
        Ok(())
    }

    async fn locks(&self) -> Result<(), SdkError> {
        let store = self.store;
        let before = listed(store).await?;
        let held = store.lock("a").await?;
        let second = store.lock("a").await;
        assert!(
            matches!(&second, Err(SdkError::SessionInUse { id }) if id == "a"),
            "a second lock of a held id fails at once with SessionInUse: {second:?}"
        );
        // Ids that were never saved can be locked; a lock of one id leaves the others free.
        let other = store.lock("never-saved").await?;
        assert_eq!(
            store.load("never-saved").await?,
            None,
            "a lock saves nothing"
        );
        assert_eq!(listed(store).await?, before, "a lock lists nothing");
        drop(held);
        let again = store.lock("a").await?;
        drop((again, other));

        // Racing lockers: exactly one wins.
        let handles: Vec<&dyn SessionStore> = match self.peer {
            Some(peer) => (0..self.writers)
                .map(|n| if n % 2 == 0 { store } else { peer })
                .collect(),
            None => vec![store; self.writers],
        };
        let attempts = join_all(handles.iter().map(|s| s.lock("contended"))).await;
        let mut winners = Vec::new();
        for attempt in attempts {
            match attempt {
                Ok(lock) => winners.push(lock),
                Err(SdkError::SessionInUse { id }) => assert_eq!(id, "contended"),
                Err(other) => return Err(other),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "of {} concurrent lockers exactly one holds the lock",
            self.writers
        );
        drop(winners);

        if let Some(peer) = self.peer {
            let held = store.lock("b.2").await?;
            let from_peer = peer.lock("b.2").await;
            assert!(
                matches!(&from_peer, Err(SdkError::SessionInUse { .. })),
                "a lock held through one handle is held for the peer too: {from_peer:?}"
            );
            drop(held);
            let started = tokio::time::Instant::now();
            let taken = loop {
                match peer.lock("b.2").await {
                    Ok(lock) => break lock,
                    Err(SdkError::SessionInUse { .. })
                        if started.elapsed() < self.release_within =>
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(other) => {
                        panic!(
                            "the peer could not take a dropped lock within {:?}: {other:?}",
                            self.release_within
                        )
                    }
                }
            };
            assert!(
                matches!(store.lock("b.2").await, Err(SdkError::SessionInUse { .. })),
                "the peer's lock holds for the first handle"
            );
            drop(taken);
        }
        Ok(())
    }

    async fn peer_view(&self) -> Result<(), SdkError> {
        let Some(peer) = self.peer else {
            return Ok(());
        };
        assert_eq!(
            listed(peer).await?,
            listed(self.store).await?,
            "the peer lists the same sessions"
        );
        let mut from_peer = plain_record("from-peer", "gpt-4.1", 3);
        peer.save(&from_peer).await?;
        assert_eq!(
            self.store.load("from-peer").await?.as_ref(),
            Some(&from_peer)
        );
        from_peer.metadata.turn_count = 4;
        self.store.save(&from_peer).await?;
        assert_eq!(peer.load("from-peer").await?.as_ref(), Some(&from_peer));
        assert!(peer.delete("from-peer").await?);
        assert_eq!(self.store.load("from-peer").await?, None);
        Ok(())
    }

    async fn delete(&self) -> Result<(), SdkError> {
        let store = self.store;
        assert!(
            store.delete("a").await?,
            "delete returns true for a saved session"
        );
        assert!(!store.delete("a").await?, "and false the second time");
        assert_eq!(store.load("a").await?, None);
        assert_eq!(
            listed(store).await?.into_keys().collect::<Vec<_>>(),
            ["b.2"],
            "deleting one session leaves the others"
        );
        Ok(())
    }
}

/// Runs the whole [`SessionStoreContract`] against an empty `store` with the default settings.
pub async fn session_store_contract(store: &dyn SessionStore) -> Result<(), SdkError> {
    SessionStoreContract::new(store).run().await
}

/// The listed sessions by id; an id listed twice fails the contract.
async fn listed(store: &dyn SessionStore) -> Result<BTreeMap<String, SessionMetadata>, SdkError> {
    let mut by_id = BTreeMap::new();
    for metadata in store.list().await? {
        let id = metadata.id.clone();
        assert!(
            by_id.insert(id.clone(), metadata).is_none(),
            "session {id:?} is listed twice"
        );
    }
    Ok(by_id)
}

fn at(seconds: u64, nanos: u32) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos)
}

/// A small record whose content depends on `n`.
fn plain_record(id: &str, model: &str, n: u64) -> SessionRecord {
    let mut record = SessionRecord::new(SessionMetadata::new(
        id,
        model,
        at(1_780_000_000, 123_456_789),
    ));
    record.metadata.modified_at = at(1_780_000_000 + n, 987_654_321);
    record.metadata.turn_count = n;
    record.metadata.summary = Some(format!("session {id}"));
    record.history = vec![
        HistoryEntry::new(Message::user(format!("Hello {n}"))),
        HistoryEntry::new(Message::assistant("Hi!")).reasoning_id("rs_1"),
    ];
    record
}

/// A record using every field: tool calls, reasoning, a pending call, events, fields from a newer version.
fn rich_record(id: &str, model: &str) -> SessionRecord {
    let mut record = plain_record(id, model, 1);
    record.metadata.total_cost = 1.25;
    record.system_message = Some("You are terse.".to_owned());
    record.reasoning_effort = Some(ReasoningEffort::High);
    record.history = vec![
        HistoryEntry::new(Message::user("What is the weather in Paris?")),
        HistoryEntry::new(
            Message::assistant_tool_calls(vec![ToolCall::function(
                "call_1",
                "weather",
                r#"{"city":"Paris"}"#,
            )])
            .with_reasoning(
                Some("I should call the tool.".into()),
                Some("opaque==".into()),
            ),
        )
        .reasoning_id("rs_42"),
        HistoryEntry::new(Message::tool("call_1", r#"{"sky":"clear"}"#)),
        HistoryEntry::new(Message::assistant(
            "Clear skies. \u{2600}\u{fe0f} \"quoted\" \\ \n",
        )),
        // A `/v1/messages` answer keeps its thinking blocks (signatures and unknown fields included).
        HistoryEntry::new(Message::assistant("Sunny.")).thinking_blocks([
            ContentBlock::thinking("Paris \u{2600}\u{fe0f} in June", "sig==\n/+"),
            ContentBlock::redacted_thinking("ENCRYPTED=="),
            serde_json::from_value::<ContentBlock>(serde_json::json!({
                "type": "thinking", "thinking": "more", "signature": "s2", "newer_field": [1]
            }))
            .expect("a thinking block"),
        ]),
    ];
    record.pending_tool_calls = vec![StoredToolCall {
        id: "call_2".to_owned(),
        name: "calendar".to_owned(),
        arguments: r#"{"day":"today"}"#.to_owned(),
    }];
    record.events = vec![
        EventEnvelope::new(
            "session.start",
            serde_json::json!({"model": model}),
            None,
            at(1_780_000_000, 1),
        ),
        EventEnvelope::new(
            "assistant.message",
            serde_json::json!({"content": "Clear skies.", "nested": {"list": [1, 2.5, null]}}),
            Some("parent".to_owned()),
            at(1_780_000_001, 2),
        ),
    ];
    record.extra.insert(
        "future_field".to_owned(),
        serde_json::json!({"kept": true, "items": ["x", 1]}),
    );
    record
}
