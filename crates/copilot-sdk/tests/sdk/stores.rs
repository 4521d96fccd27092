//! The session stores' contract: round trips, listing, deletion, exclusive locks, private atomic files.

use std::time::{Duration, SystemTime};

use copilot_sdk::test_support::{SessionStoreContract, session_store_contract};
use copilot_sdk::{
    FileSessionStore, HistoryEntry, MemorySessionStore, Message, SdkError, SessionMetadata,
    SessionRecord, SessionStore,
};

fn record(id: &str, model: &str) -> SessionRecord {
    let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let mut record = SessionRecord::new(SessionMetadata::new(id, model, created));
    record.history = vec![
        HistoryEntry::new(Message::user("Hello")),
        HistoryEntry::new(Message::assistant("Hi!")).reasoning_id("rs_1"),
    ];
    record.metadata.turn_count = 1;
    record
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() -> Result<(), SdkError> {
    let store = MemorySessionStore::new();
    let peer = store.clone();
    SessionStoreContract::new(&store).peer(&peer).run().await?;
    // Clones share sessions and locks, like two processes on one store.
    let clone = store.clone();
    let _held = store.lock("b.2").await?;
    assert!(matches!(
        clone.lock("b.2").await,
        Err(SdkError::SessionInUse { .. })
    ));
    assert_eq!(clone.list().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_file_store_keeps_the_contract_in_private_files() -> Result<(), SdkError> {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = home.path().join("copilot-rs").join("sessions");
    let store = FileSessionStore::new(&dir);
    // A second store on the same directory is what another process would open.
    let peer = FileSessionStore::new(&dir);
    SessionStoreContract::new(&store).peer(&peer).run().await?;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &std::path::Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("b.2.json")), 0o600);
    }
    // Atomic writes leave no temporary files behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(names, ["b.2.json"]);

    // A second store on the same directory (as another process would open it) sees the lock.
    let _held = store.lock("b.2").await?;
    assert!(matches!(
        FileSessionStore::new(&dir).lock("b.2").await,
        Err(SdkError::SessionInUse { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn the_file_store_keeps_every_id_of_the_one_rule_inside_its_directory_and_skips_broken_files()
-> Result<(), SdkError> {
    let home = tempfile::tempdir().expect("temp dir");
    let dir = home.path().join("sessions");
    let store = FileSessionStore::new(&dir);
    // Ids a Redis or PostgreSQL store keeps are kept here too, each in a file of its own inside `dir`.
    let kept = [
        "../escape",
        "a/b",
        ".hidden",
        "user-alice@example.com/chat 1",
        &"y".repeat(201),
        &"日".repeat(170),
    ];
    for id in kept {
        store.save(&record(id, "gpt-4.1")).await?;
        assert_eq!(
            store.load(id).await?.map(|r| r.metadata.id).as_deref(),
            Some(id)
        );
    }
    let mut listed: Vec<String> = store.list().await?.into_iter().map(|m| m.id).collect();
    listed.sort();
    let mut expected: Vec<String> = kept.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let outside: Vec<_> = std::fs::read_dir(home.path())
        .expect("list home")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        outside,
        ["sessions"],
        "nothing is written outside the store's directory"
    );
    for name in std::fs::read_dir(&dir).expect("list dir") {
        let name = name
            .expect("entry")
            .file_name()
            .into_string()
            .expect("UTF-8");
        assert!(name.len() <= 210 && !name.starts_with('.'), "{name}");
    }
    for id in kept {
        assert!(store.delete(id).await?, "{id:?}");
    }
    // What the rule refuses is refused: empty, control characters, more than 512 bytes.
    for id in ["", "x\u{0}y", "tab\tinside", &"y".repeat(513)] {
        let error = store.save(&record(id, "gpt-4.1")).await.expect_err(id);
        assert!(
            matches!(error, SdkError::Config { .. }),
            "{id:?}: {error:?}"
        );
        assert!(store.load(id).await.is_err());
    }
    store.save(&record("good", "gpt-4.1")).await?;
    std::fs::write(dir.join("broken.json"), b"{not json").expect("write");
    let mut newer = serde_json::to_value(record("newer", "gpt-4.1")).expect("encode");
    newer["version"] = 99.into();
    std::fs::write(dir.join("newer.json"), newer.to_string()).expect("write");
    let listed: Vec<String> = store.list().await?.into_iter().map(|m| m.id).collect();
    assert_eq!(listed, ["good"]);
    assert!(matches!(
        store.load("broken").await,
        Err(SdkError::SessionStore { .. })
    ));
    // A broken file's values never reach the error (serde would quote them: a conversation, in logs).
    std::fs::write(
        dir.join("quoted.json"),
        br#"{"version": "my private words"}"#,
    )
    .expect("write");
    let error = store.load("quoted").await.expect_err("not a record");
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(!chain.contains("private words"), "{chain}");
    assert!(chain.contains("line 1 column"), "{chain}");
    let error = store.load("newer").await.expect_err("too new");
    let cause = std::error::Error::source(&error)
        .expect("a cause")
        .to_string();
    assert!(cause.contains("format version 99"), "{cause}");
    Ok(())
}

#[tokio::test]
async fn the_contract_runs_on_a_store_alone() -> Result<(), SdkError> {
    session_store_contract(&MemorySessionStore::new()).await
}

/// A store that breaks one promise, to show the contract catches it.
#[derive(Debug, Default)]
struct Broken {
    inner: MemorySessionStore,
    /// Locks are never exclusive.
    shared_locks: bool,
    /// Saves drop fields this version does not know.
    drops_unknown_fields: bool,
}

#[async_trait::async_trait]
impl SessionStore for Broken {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        self.inner.load(id).await
    }
    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        let mut record = record.clone();
        if self.drops_unknown_fields {
            record.extra.clear();
        }
        self.inner.save(&record).await
    }
    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        self.inner.delete(id).await
    }
    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        self.inner.list().await
    }
    async fn lock(&self, id: &str) -> Result<copilot_sdk::SessionLock, SdkError> {
        if self.shared_locks {
            copilot_sdk::check_session_id(id)?;
            return Ok(copilot_sdk::SessionLock::new(()));
        }
        self.inner.lock(id).await
    }
}

#[tokio::test]
#[should_panic(expected = "fails at once with SessionInUse")]
async fn the_contract_fails_a_store_whose_locks_are_not_exclusive() {
    let store = Broken {
        shared_locks: true,
        ..Broken::default()
    };
    let _ = session_store_contract(&store).await;
}

#[tokio::test]
#[should_panic(expected = "loads as it was saved")]
async fn the_contract_fails_a_store_that_drops_unknown_fields() {
    let store = Broken {
        drops_unknown_fields: true,
        ..Broken::default()
    };
    let _ = session_store_contract(&store).await;
}
