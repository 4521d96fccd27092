//! [`MemorySessionStore`]: sessions in memory, for tests and short-lived programs.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{SessionLock, SessionMetadata, SessionRecord, SessionStore};
use crate::SdkError;

/// Sessions in memory. Clones share the same sessions and locks, so two clients given clones behave like
/// two processes sharing one store (a session open in one is [`SdkError::SessionInUse`] in the other).
#[derive(Debug, Clone, Default)]
pub struct MemorySessionStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<String, SessionRecord>,
    locked: HashSet<String>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every change is a single insert or remove: a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes the id from the locked set when dropped.
struct MemoryLock {
    store: MemorySessionStore,
    id: String,
}

impl Drop for MemoryLock {
    fn drop(&mut self) {
        self.store.inner().locked.remove(&self.id);
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        super::check_session_id(id)?;
        Ok(self.inner().records.get(id).cloned())
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        // The rule every store applies, so what works here works on disk and in Redis too.
        super::check_session_id(&record.metadata.id)?;
        self.inner()
            .records
            .insert(record.metadata.id.clone(), record.clone());
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        super::check_session_id(id)?;
        Ok(self.inner().records.remove(id).is_some())
    }

    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        Ok(self
            .inner()
            .records
            .values()
            .map(|record| record.metadata.clone())
            .collect())
    }

    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        super::check_session_id(id)?;
        if !self.inner().locked.insert(id.to_owned()) {
            return Err(SdkError::SessionInUse { id: id.to_owned() });
        }
        Ok(SessionLock::new(MemoryLock {
            store: self.clone(),
            id: id.to_owned(),
        }))
    }
}
