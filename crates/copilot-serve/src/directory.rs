//! Keys from a shared [`ApiKeyDirectory`] (Redis, PostgreSQL): the key map a fleet of gateways shares.
//!
//! Each presented key is looked up by its SHA-256 and the answer (found or not) is kept for the cache TTL, so
//! a busy key costs one database read per TTL per instance, and a removed key stops working everywhere
//! within the TTL. The cache is bounded: past [`MAX_CACHED`] entries the stale ones go, then all of them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use copilot_sdk::http::time::SharedClock;
use copilot_store_core::StoreError;
use copilot_store_core::api_keys::{ApiKeyDigest, ApiKeyDirectory};
use tokio::sync::Semaphore;

/// The most keys whose lookups are cached at once.
pub(crate) const MAX_CACHED: usize = 10_000;

/// A key the directory knows, as the access check uses it.
#[derive(Debug)]
pub(crate) struct DirectoryKey {
    pub(crate) user: String,
    pub(crate) label: String,
    pub(crate) max_concurrent: Option<u32>,
    /// This instance's in-flight limit, kept across cache refreshes while the limit is unchanged (so
    /// requests in flight keep counting).
    pub(crate) limit: Option<Arc<Semaphore>>,
}

struct Cached {
    key: Option<Arc<DirectoryKey>>,
    at: SystemTime,
}

/// The directory and its lookup cache.
pub(crate) struct DirectoryKeys {
    directory: Arc<dyn ApiKeyDirectory>,
    ttl: Duration,
    clock: SharedClock,
    cache: Mutex<HashMap<ApiKeyDigest, Cached>>,
}

impl fmt::Debug for DirectoryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryKeys")
            .field("directory", &self.directory)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl DirectoryKeys {
    pub(crate) fn new(
        directory: Arc<dyn ApiKeyDirectory>,
        ttl: Duration,
        clock: SharedClock,
    ) -> Self {
        DirectoryKeys {
            directory,
            ttl,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key whose digest is `digest`, if the directory has it.
    pub(crate) async fn find(
        &self,
        digest: &ApiKeyDigest,
    ) -> Result<Option<Arc<DirectoryKey>>, StoreError> {
        let digest = *digest;
        let now = self.clock.now();
        let previous = {
            let cache = self.cache();
            match cache.get(&digest) {
                Some(cached) if self.fresh(cached, now) => return Ok(cached.key.clone()),
                Some(cached) => cached.key.clone(),
                None => None,
            }
        };
        let record = self.directory.find(&digest).await?;
        let key = record.map(|record| {
            let limit = match &previous {
                Some(old) if old.max_concurrent == record.max_concurrent => old.limit.clone(),
                _ => record
                    .max_concurrent
                    .map(|n| Arc::new(Semaphore::new(usize::try_from(n).unwrap_or(usize::MAX)))),
            };
            Arc::new(DirectoryKey {
                user: record.user,
                label: record.label,
                max_concurrent: record.max_concurrent,
                limit,
            })
        });
        let mut cache = self.cache();
        if cache.len() >= MAX_CACHED && !cache.contains_key(&digest) {
            cache.retain(|_, cached| self.fresh(cached, now));
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            digest,
            Cached {
                key: key.clone(),
                at: now,
            },
        );
        Ok(key)
    }

    fn fresh(&self, cached: &Cached, now: SystemTime) -> bool {
        now.duration_since(cached.at)
            .is_ok_and(|age| age < self.ttl)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<ApiKeyDigest, Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.cache().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use copilot_sdk::http::time::ManualClock;
    use copilot_store_core::api_keys::{ApiKeyRecord, MemoryApiKeys};

    fn keys(ttl: Duration) -> (Arc<MemoryApiKeys>, DirectoryKeys, ManualClock) {
        let directory = Arc::new(MemoryApiKeys::new());
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        let keys = DirectoryKeys::new(directory.clone(), ttl, SharedClock::new(clock.clone()));
        (directory, keys, clock)
    }

    #[tokio::test]
    async fn lookups_are_cached_for_the_ttl_then_reread() {
        let (directory, keys, clock) = keys(Duration::from_secs(30));
        let digest = ApiKeyDigest::of("sk-fleet-alice-0123456789");
        assert!(
            keys.find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
                .await
                .unwrap()
                .is_none()
        );
        directory
            .add(
                &digest,
                &ApiKeyRecord::new("alice", "alice", SystemTime::UNIX_EPOCH).max_concurrent(2),
            )
            .await
            .unwrap();
        // The negative answer is cached too.
        assert!(
            keys.find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
                .await
                .unwrap()
                .is_none()
        );
        clock.advance(Duration::from_secs(30));
        let found = keys
            .find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.user.as_str(), found.max_concurrent),
            ("alice", Some(2))
        );
        let permit = found.limit.clone().unwrap().try_acquire_owned().unwrap();

        // Refreshed with the same limit: the same semaphore, so the request in flight still counts.
        clock.advance(Duration::from_secs(31));
        let again = keys
            .find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.limit.as_ref().unwrap().available_permits(), 1);
        drop(permit);

        directory.remove(&digest).await.unwrap();
        assert!(
            keys.find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
                .await
                .unwrap()
                .is_some()
        );
        clock.advance(Duration::from_secs(30));
        assert!(
            keys.find(&ApiKeyDigest::of("sk-fleet-alice-0123456789"))
                .await
                .unwrap()
                .is_none(),
            "a removed key stops working once its cached answer is stale"
        );
    }

    #[tokio::test]
    async fn the_cache_stays_bounded_under_random_keys() {
        let (_, keys, clock) = keys(Duration::from_secs(30));
        for i in 0..(MAX_CACHED + 10) {
            keys.find(&ApiKeyDigest::of(&format!("sk-random-{i:08}-0123456789")))
                .await
                .unwrap();
            if i % 1000 == 0 {
                clock.advance(Duration::from_millis(1));
            }
        }
        assert!(keys.cached() <= MAX_CACHED, "{}", keys.cached());
    }
}
