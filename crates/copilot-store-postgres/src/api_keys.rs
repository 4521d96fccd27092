//! The gateway's API-key map on PostgreSQL: table `copilot_api_keys` (digest → sealed record; migration
//! `20261204000001_api_keys.sql`). Each method is one statement, so concurrent instances never lose a change.

use async_trait::async_trait;
use copilot_store_core::StoreError;
use copilot_store_core::api_keys::{
    ApiKeyDigest, ApiKeyDirectory, ApiKeyRecord, open_api_key, open_api_keys, seal_api_key,
};

use crate::{PostgresStore, backend};

#[async_trait]
impl ApiKeyDirectory for PostgresStore {
    async fn find(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT record FROM copilot_api_keys WHERE digest = $1")
                .bind(digest.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        sealed
            .map(|sealed| open_api_key(&self.sealer, digest, &sealed))
            .transpose()
    }

    async fn add(&self, digest: &ApiKeyDigest, record: &ApiKeyRecord) -> Result<bool, StoreError> {
        let sealed = seal_api_key(&self.sealer, digest, record)?;
        let inserted = sqlx::query(
            "INSERT INTO copilot_api_keys (digest, record) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest.as_bytes().as_slice())
        .bind(sealed)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn remove(&self, digest: &ApiKeyDigest) -> Result<bool, StoreError> {
        let removed = sqlx::query("DELETE FROM copilot_api_keys WHERE digest = $1")
            .bind(digest.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn list(&self) -> Result<Vec<(ApiKeyDigest, ApiKeyRecord)>, StoreError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT digest, record FROM copilot_api_keys")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        let rows = rows.into_iter().filter_map(|(digest, sealed)| {
            let digest = <[u8; 32]>::try_from(digest.as_slice()).ok()?;
            Some((ApiKeyDigest::from_bytes(digest), sealed))
        });
        Ok(open_api_keys(&self.sealer, rows))
    }
}
