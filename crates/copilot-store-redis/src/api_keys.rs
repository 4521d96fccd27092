//! The gateway's API-key map on Redis: one hash `{ns}:apikeys`, field = the key's SHA-256 in hex, value =
//! the sealed [`ApiKeyRecord`]. `HSETNX`, `HGET`, `HDEL` and `HGETALL` are each atomic, so instances adding
//! and removing keys at once never lose a change.

use async_trait::async_trait;
use copilot_store_core::StoreError;
use copilot_store_core::api_keys::{
    ApiKeyDigest, ApiKeyDirectory, ApiKeyRecord, open_api_key, open_api_keys, seal_api_key,
};
use redis::AsyncCommands;

use crate::{RedisStore, backend};

impl RedisStore {
    fn api_keys_key(&self) -> String {
        format!("{}:apikeys", self.namespace)
    }
}

#[async_trait]
impl ApiKeyDirectory for RedisStore {
    async fn find(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sealed: Option<Vec<u8>> = self
            .connection()
            .hget(self.api_keys_key(), digest.to_hex())
            .await
            .map_err(backend)?;
        sealed
            .map(|sealed| open_api_key(&self.sealer, digest, &sealed))
            .transpose()
    }

    async fn add(&self, digest: &ApiKeyDigest, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        let sealed = seal_api_key(&self.sealer, digest, record)?;
        self.connection()
            .hset_nx(self.api_keys_key(), digest.to_hex(), sealed)
            .await
            .map_err(backend)
    }

    async fn remove(&self, digest: &ApiKeyDigest) -> Result<bool, StoreError> {
        let removed: u64 = self
            .connection()
            .hdel(self.api_keys_key(), digest.to_hex())
            .await
            .map_err(backend)?;
        Ok(removed > 0)
    }

    async fn list(&self) -> Result<Vec<(ApiKeyDigest, ApiKeyRecord)>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = self
            .connection()
            .hgetall(self.api_keys_key())
            .await
            .map_err(backend)?;
        let rows = rows.into_iter().filter_map(|(hex, sealed)| {
            let digest = ApiKeyDigest::from_hex(&hex);
            if digest.is_none() {
                tracing::warn!("skipping an API key field that is not a digest");
            }
            Some((digest?, sealed))
        });
        Ok(open_api_keys(&self.sealer, rows))
    }
}
