//! Leases on a shared database, as both store crates use them: the trait a database implements
//! ([`LeaseBackend`]), waiting for a refresh lease ([`lock_refresh`]), and the held refresh lease.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use copilot_auth::{AuthError, CredentialKey, StoreLease};
use copilot_token::LeaseId;

use crate::{StoreError, credential_record};

/// How often a process waiting for a lease asks again.
pub const LEASE_POLL: Duration = Duration::from_millis(25);

/// A database's leases. Every call is one atomic operation on the database, with a random holder id, so
/// only the holder can extend or end its lease.
#[async_trait]
pub trait LeaseBackend: Clone + fmt::Debug + Send + Sync + 'static {
    /// Takes lease `name` for `ttl` if nobody holds it (or its holder's lease ran out); `None` if taken.
    async fn take(&self, name: &str, ttl: Duration) -> Result<Option<LeaseId>, StoreError>;
    /// Extends `holder`'s lease `name` to `ttl` from now; `false` if `holder` no longer has it.
    async fn renew(&self, name: &str, holder: &LeaseId, ttl: Duration) -> Result<bool, StoreError>;
    /// Ends `holder`'s lease `name` (nothing if someone else holds it now).
    async fn release(&self, name: &str, holder: &LeaseId) -> Result<(), StoreError>;
}

/// [`TokenStore::lock_refresh`](copilot_auth::TokenStore::lock_refresh) on `backend`: takes lease `name`
/// for the refresh of `key`, asking every [`LEASE_POLL`] while another process holds it, for at most `wait`
/// (default: twice `ttl`, so a crashed holder's lease runs out first); then [`StoreError::LeaseTimeout`].
pub async fn lock_refresh<B: LeaseBackend>(
    backend: &B,
    name: String,
    key: &CredentialKey,
    ttl: Duration,
    wait: Option<Duration>,
) -> Result<Option<Box<dyn StoreLease>>, AuthError> {
    let wait = wait.unwrap_or(ttl.saturating_mul(2));
    let started = tokio::time::Instant::now();
    loop {
        if let Some(holder) = backend.take(&name, ttl).await? {
            return Ok(Some(Box::new(RefreshLease {
                backend: backend.clone(),
                name,
                holder,
            })));
        }
        if started.elapsed() >= wait {
            return Err(StoreError::LeaseTimeout {
                record: credential_record(key).0,
                waited: wait,
            }
            .into());
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// A held refresh lease; [`StoreLease::release`] ends it.
struct RefreshLease<B> {
    backend: B,
    name: String,
    holder: LeaseId,
}

impl<B> fmt::Debug for RefreshLease<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLease")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<B: LeaseBackend> StoreLease for RefreshLease<B> {
    async fn release(self: Box<Self>) -> Result<(), AuthError> {
        Ok(self.backend.release(&self.name, &self.holder).await?)
    }
}

/// A lease backend in memory for this crate's tests: one holder per name; `release` takes `release_delay`.
#[cfg(test)]
pub(crate) mod memory {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Debug, Default)]
    pub(crate) struct MemoryLeases {
        pub(crate) holders: Arc<Mutex<HashMap<String, String>>>,
        pub(crate) release_delay: Duration,
        pub(crate) renewals: Arc<std::sync::atomic::AtomicUsize>,
    }

    #[async_trait]
    impl LeaseBackend for MemoryLeases {
        async fn take(&self, name: &str, _: Duration) -> Result<Option<LeaseId>, StoreError> {
            let mut holders = self.holders.lock().unwrap();
            if holders.contains_key(name) {
                return Ok(None);
            }
            let id = crate::new_lease_id()?;
            holders.insert(name.to_owned(), id.as_str().to_owned());
            Ok(Some(id))
        }
        async fn renew(
            &self,
            name: &str,
            holder: &LeaseId,
            _: Duration,
        ) -> Result<bool, StoreError> {
            self.renewals
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self.holders.lock().unwrap().get(name).map(String::as_str) == Some(holder.as_str()))
        }
        async fn release(&self, name: &str, holder: &LeaseId) -> Result<(), StoreError> {
            tokio::time::sleep(self.release_delay).await;
            let mut holders = self.holders.lock().unwrap();
            if holders.get(name).map(String::as_str) == Some(holder.as_str()) {
                holders.remove(name);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryLeases;
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_refresh_lease_is_waited_for_then_times_out_and_release_frees_it() {
        let backend = MemoryLeases::default();
        let key = CredentialKey::new("github.com", "alice");
        let ttl = Duration::from_secs(1);
        let held = lock_refresh(&backend, "r".into(), &key, ttl, None)
            .await
            .unwrap()
            .unwrap();

        let started = tokio::time::Instant::now();
        let error = lock_refresh(&backend, "r".into(), &key, ttl, None)
            .await
            .unwrap_err();
        assert!(
            started.elapsed() >= ttl * 2,
            "waits twice the TTL by default"
        );
        assert!(
            matches!(
                crate::store_error_of(&error),
                Some(StoreError::LeaseTimeout { record, .. }) if record.contains("alice")
            ),
            "{error:?}"
        );

        held.release().await.unwrap();
        let again = lock_refresh(&backend, "r".into(), &key, ttl, Some(Duration::ZERO)).await;
        assert!(matches!(again, Ok(Some(_))), "{again:?}");
    }
}
