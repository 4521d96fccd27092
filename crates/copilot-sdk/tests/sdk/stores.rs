//! The session stores' contract: round trips, listing, deletion, exclusive locks, private atomic files.

use std::time::{Duration, SystemTime};

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

/// The contract every store must keep.
async fn contract(store: &dyn SessionStore) -> Result<(), SdkError> {
    assert_eq!(store.load("a").await?, None);
    assert!(store.list().await?.is_empty());

    let a = record("a", "gpt-4.1");
    store.save(&a).await?;
    store.save(&record("b.2", "claude-sonnet-4.5")).await?;
    assert_eq!(store.load("a").await?, Some(a.clone()));

    let mut changed = a.clone();
    changed.metadata.turn_count = 2;
    changed
        .history
        .push(HistoryEntry::new(Message::user("Again")));
    store.save(&changed).await?;
    assert_eq!(store.load("a").await?, Some(changed.clone()), "replaced");

    let mut listed: Vec<(String, String, u64)> = store
        .list()
        .await?
        .into_iter()
        .map(|m| (m.id, m.model, m.turn_count))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("a".to_owned(), "gpt-4.1".to_owned(), 2),
            ("b.2".to_owned(), "claude-sonnet-4.5".to_owned(), 1)
        ]
    );

    // One holder at a time, released on drop; ids that were never saved can be locked too.
    let held = store.lock("a").await?;
    let second = store.lock("a").await;
    assert!(
        matches!(&second, Err(SdkError::SessionInUse { id }) if id == "a"),
        "{second:?}"
    );
    let other = store.lock("new").await?;
    drop(held);
    let again = store.lock("a").await?;
    drop((again, other));

    assert!(store.delete("a").await?);
    assert!(!store.delete("a").await?);
    assert_eq!(store.load("a").await?, None);
    assert_eq!(store.list().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() -> Result<(), SdkError> {
    let store = MemorySessionStore::new();
    contract(&store).await?;
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
    contract(&store).await?;

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
async fn the_file_store_refuses_ids_that_are_not_file_names_and_skips_broken_files()
-> Result<(), SdkError> {
    let home = tempfile::tempdir().expect("temp dir");
    let store = FileSessionStore::new(home.path());
    for id in [
        "",
        "../escape",
        "a/b",
        ".hidden",
        "x\u{0}y",
        &"y".repeat(201),
    ] {
        let error = store.save(&record(id, "gpt-4.1")).await.expect_err(id);
        assert!(
            matches!(error, SdkError::Config { .. }),
            "{id:?}: {error:?}"
        );
        assert!(store.load(id).await.is_err());
    }
    store.save(&record("good", "gpt-4.1")).await?;
    std::fs::write(home.path().join("broken.json"), b"{not json").expect("write");
    let mut newer = serde_json::to_value(record("newer", "gpt-4.1")).expect("encode");
    newer["version"] = 99.into();
    std::fs::write(home.path().join("newer.json"), newer.to_string()).expect("write");
    let listed: Vec<String> = store.list().await?.into_iter().map(|m| m.id).collect();
    assert_eq!(listed, ["good"]);
    assert!(matches!(
        store.load("broken").await,
        Err(SdkError::SessionStore { .. })
    ));
    let error = store.load("newer").await.expect_err("too new");
    let cause = std::error::Error::source(&error)
        .expect("a cause")
        .to_string();
    assert!(cause.contains("format version 99"), "{cause}");
    Ok(())
}
