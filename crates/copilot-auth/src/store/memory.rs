use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{CredentialKey, StoredCredential, TokenStore};
use crate::AuthError;

/// A store that lives as long as the process: for tests, and for servers that keep their users' tokens
/// elsewhere and only need a cache.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<CredentialKey, StoredCredential>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CredentialKey, StoredCredential>> {
        // A panic elsewhere while holding the lock cannot leave a half-written map: every write is one insert.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self.lock().keys().map(ToString::to_string).collect();
        f.debug_struct("MemoryStore").field("keys", &keys).finish()
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn load(&self, key: &CredentialKey) -> Result<Option<StoredCredential>, AuthError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn save(
        &self,
        key: &CredentialKey,
        credential: &StoredCredential,
    ) -> Result<(), AuthError> {
        self.lock().insert(key.clone(), credential.clone());
        Ok(())
    }

    async fn delete(&self, key: &CredentialKey) -> Result<bool, AuthError> {
        Ok(self.lock().remove(key).is_some())
    }
}
