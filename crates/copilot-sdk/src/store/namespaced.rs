//! One user's view of a session store shared by many (a [`ClientPool`](crate::ClientPool)'s): ids are
//! prefixed with the user's namespace, so a user lists, loads, resumes and deletes only their own sessions.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{SessionLock, SessionMetadata, SessionRecord, SessionStore};
use crate::SdkError;

/// A user's sessions inside a shared store: `u<32 hex digits of SHA-256(user id)>-<session id>` there.
///
/// The digest keeps any user id (an email, a UUID, a name with spaces) within the characters every store
/// accepts, at a fixed length; 128 bits make two users' prefixes collide only by chance no one will meet.
pub(crate) struct NamespacedSessionStore {
    inner: Arc<dyn SessionStore>,
    prefix: String,
}

impl NamespacedSessionStore {
    pub(crate) fn new(inner: Arc<dyn SessionStore>, user_id: &str) -> Self {
        let digest = Sha256::digest(user_id.as_bytes());
        let prefix = format!("u{}-", copilot_http::hex::encode(&digest[..16]));
        NamespacedSessionStore { inner, prefix }
    }

    fn inner_id(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// An error of the shared store about `id`, naming the user's id (the namespace is the pool's business).
    fn own_error(&self, id: &str, error: SdkError) -> SdkError {
        match error {
            SdkError::SessionInUse { .. } => SdkError::SessionInUse { id: id.to_owned() },
            other => other,
        }
    }

    /// The user's id for an id of the shared store, if it is in this user's namespace.
    fn own_id<'a>(&self, inner_id: &'a str) -> Option<&'a str> {
        inner_id.strip_prefix(&self.prefix)
    }
}

impl fmt::Debug for NamespacedSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespacedSessionStore")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for NamespacedSessionStore {
    async fn load(&self, id: &str) -> Result<Option<SessionRecord>, SdkError> {
        let Some(mut record) = self.inner.load(&self.inner_id(id)).await? else {
            return Ok(None);
        };
        record.metadata.id = id.to_owned();
        Ok(Some(record))
    }

    async fn save(&self, record: &SessionRecord) -> Result<(), SdkError> {
        let mut stored = record.clone();
        stored.metadata.id = self.inner_id(&record.metadata.id);
        self.inner
            .save(&stored)
            .await
            .map_err(|e| self.own_error(&record.metadata.id, e))
    }

    async fn delete(&self, id: &str) -> Result<bool, SdkError> {
        self.inner
            .delete(&self.inner_id(id))
            .await
            .map_err(|e| self.own_error(id, e))
    }

    async fn list(&self) -> Result<Vec<SessionMetadata>, SdkError> {
        Ok(self
            .inner
            .list()
            .await?
            .into_iter()
            .filter_map(|mut metadata| {
                let own = self.own_id(&metadata.id)?.to_owned();
                metadata.id = own;
                Some(metadata)
            })
            .collect())
    }

    async fn lock(&self, id: &str) -> Result<SessionLock, SdkError> {
        self.inner
            .lock(&self.inner_id(id))
            .await
            .map_err(|e| self.own_error(id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySessionStore;

    #[tokio::test]
    async fn users_see_only_their_own_sessions() {
        let shared: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
        let alice = NamespacedSessionStore::new(shared.clone(), "alice@example.com");
        let bob = NamespacedSessionStore::new(shared.clone(), "bob");
        let record = SessionRecord::new(SessionMetadata::new(
            "trip".to_owned(),
            "gpt-4.1".to_owned(),
            std::time::SystemTime::UNIX_EPOCH,
        ));
        alice.save(&record).await.unwrap();
        assert_eq!(
            alice.load("trip").await.unwrap().unwrap().metadata.id,
            "trip"
        );
        assert!(bob.load("trip").await.unwrap().is_none());
        assert!(bob.list().await.unwrap().is_empty());
        assert!(!bob.delete("trip").await.unwrap());
        let _bobs = bob
            .lock("trip")
            .await
            .expect("bob's 'trip' is another session");
        let _alices = alice.lock("trip").await.unwrap();
        let stored = shared.list().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].id.starts_with('u') && stored[0].id.ends_with("-trip"));
        assert_eq!(stored[0].id.len(), 34 + 4);
    }

    /// A user's view is a full session store: the shared contract, with a second view of the same user
    /// as the peer, over a store that holds other users' sessions too.
    #[cfg(feature = "test-support")]
    #[tokio::test]
    async fn a_users_view_passes_the_session_store_contract() {
        let shared: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
        let neighbour = NamespacedSessionStore::new(shared.clone(), "neighbour");
        let record = SessionRecord::new(SessionMetadata::new(
            "theirs".to_owned(),
            "gpt-4.1".to_owned(),
            std::time::SystemTime::UNIX_EPOCH,
        ));
        neighbour.save(&record).await.unwrap();
        let user = NamespacedSessionStore::new(shared.clone(), "carol");
        let peer = NamespacedSessionStore::new(shared.clone(), "carol");
        crate::test_support::SessionStoreContract::new(&user)
            .peer(&peer)
            .run()
            .await
            .unwrap();
        assert_eq!(neighbour.list().await.unwrap().len(), 1, "untouched");
    }
}
