//! Cached lookups through each credential store, as a ratio to `MemoryStore` (issue 18):
//!
//! - `TokenStore::load` of a saved credential through `MemoryStore`, `FileStore` (a temp file),
//!   `RedisStore` and `PostgresStore` (sealed with AES-256-GCM, so a load includes the decryption);
//! - `SharedTokenCache::load` of a published Copilot token through `InProcessTokenCache` (the in-memory
//!   baseline), `RedisStore::copilot_cache` and `PostgresStore::copilot_cache`.
//!
//! Redis and PostgreSQL are the servers `cargo xtask bench` starts on loopback (URLs in
//! `COPILOT_RS_TEST_REDIS_URL` / `COPILOT_RS_TEST_POSTGRES_URL`); a server that is not there gets a note
//! saying so and no row. Contenders alternate within each round; one sample is the mean time per call over a
//! fixed time budget, sequential calls from one task.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use copilot_auth::{
    CredentialKey, FileStore, GitHubToken, MemoryStore, StoredCredential, TokenStore,
};
use copilot_store_core::EncryptionKey;
use copilot_store_postgres::PostgresStore;
use copilot_store_redis::RedisStore;
use copilot_token::{InProcessTokenCache, SharedCopilotToken, SharedTokenCache};
use secrecy::SecretString;

use super::Settings;
use crate::BenchError;
use crate::report::{Report, Row, Verdict};
use crate::stats::{Samples, interleaved};

/// The URL variables `cargo xtask bench` sets (the same ones the store tests read).
const REDIS_URL_VAR: &str = "COPILOT_RS_TEST_REDIS_URL";
const POSTGRES_URL_VAR: &str = "COPILOT_RS_TEST_POSTGRES_URL";

/// One thing whose cached value is read.
enum Lookup {
    Store(Arc<dyn TokenStore>, CredentialKey),
    Cache(Arc<dyn SharedTokenCache>),
}

impl Lookup {
    async fn once(&self) -> Result<(), BenchError> {
        match self {
            Lookup::Store(store, key) => {
                let found = store
                    .load(key)
                    .await
                    .map_err(|e| BenchError::contender("stores", e))?;
                if found.is_none() {
                    return Err(BenchError::contender(
                        "stores",
                        "the saved credential is gone",
                    ));
                }
                std::hint::black_box(found);
            }
            Lookup::Cache(cache) => {
                let found = cache
                    .load()
                    .await
                    .map_err(|e| BenchError::contender("stores", e))?;
                if found.is_none() {
                    return Err(BenchError::contender(
                        "stores",
                        "the published token is gone",
                    ));
                }
                std::hint::black_box(found);
            }
        }
        Ok(())
    }

    /// Microseconds per call: calls one after another until `budget` has passed.
    async fn micros_per_call(&self, budget: Duration) -> Result<f64, BenchError> {
        let started = Instant::now();
        let mut calls: u32 = 0;
        while calls == 0 || started.elapsed() < budget {
            self.once().await?;
            calls = calls.saturating_add(1);
        }
        Ok(started.elapsed().as_secs_f64() * 1e6 / f64::from(calls))
    }
}

fn credential() -> StoredCredential {
    let mut credential = StoredCredential::new(
        "github.com",
        GitHubToken::new("ghu_bench_access_token_0123456789"),
    )
    .with_login("octocat");
    credential.client_id = Some("Iv1.bench".to_owned());
    credential.refresh_token = Some(SecretString::from("ghr_bench_refresh_token_0123456789"));
    credential.expires_at = Some(SystemTime::now() + Duration::from_secs(28800));
    credential.refresh_token_expires_at = Some(SystemTime::now() + Duration::from_secs(15811200));
    credential.scopes = vec!["read:user".to_owned()];
    credential
}

fn shared_token() -> SharedCopilotToken {
    let expires_at = copilot_http::time::unix_seconds(SystemTime::now()).saturating_add(1800);
    SharedCopilotToken {
        envelope: SecretString::from(format!(
            r#"{{"token":"tid=bench;exp={expires_at}:mac","expires_at":{expires_at},"refresh_in":1500}}"#
        )),
        fetched_at: SystemTime::now(),
    }
}

/// A namespace (Redis) / user (PostgreSQL) no other run uses.
fn fresh_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("copilot-bench-{}-{nanos}", std::process::id())
}

async fn saved(store: Arc<dyn TokenStore>, key: &CredentialKey) -> Result<Lookup, BenchError> {
    store
        .save(key, &credential())
        .await
        .map_err(|e| BenchError::contender("stores", e))?;
    Ok(Lookup::Store(store, key.clone()))
}

async fn published(cache: Arc<dyn SharedTokenCache>) -> Result<Lookup, BenchError> {
    let lease = cache
        .try_lease(Duration::from_secs(30))
        .await
        .map_err(|e| BenchError::contender("stores", e))?
        .ok_or_else(|| BenchError::contender("stores", "a fresh cache's lease is taken"))?;
    cache
        .publish(&shared_token(), &lease)
        .await
        .map_err(|e| BenchError::contender("stores", e))?;
    Ok(Lookup::Cache(cache))
}

/// Removes the FileStore's temp directory when the target ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `stores` rows.
pub async fn run(report: &mut Report, settings: Settings) -> Result<(), BenchError> {
    let key = CredentialKey::new("github.com", fresh_name());
    let encryption = EncryptionKey::generate().map_err(|e| BenchError::contender("stores", e))?;
    let dir = TempDir(std::env::temp_dir().join(fresh_name()));
    std::fs::create_dir_all(&dir.0)?;

    let mut stores: Vec<(&'static str, Lookup)> = vec![
        (
            "MemoryStore",
            saved(Arc::new(MemoryStore::new()), &key).await?,
        ),
        (
            "FileStore",
            saved(
                Arc::new(FileStore::new(dir.0.join("credentials.json"))),
                &key,
            )
            .await?,
        ),
    ];
    let mut caches: Vec<(&'static str, Lookup)> = vec![(
        "InProcessTokenCache",
        published(Arc::new(InProcessTokenCache::new())).await?,
    )];
    let mut missing = Vec::new();

    match std::env::var(REDIS_URL_VAR) {
        Ok(url) => {
            let store = RedisStore::connect(&url, &encryption)
                .await
                .map_err(|e| BenchError::contender("redis", e))?
                .namespace(fresh_name());
            let cache = store.copilot_cache("bench-user");
            stores.push(("RedisStore", saved(Arc::new(store), &key).await?));
            caches.push((
                "RedisStore::copilot_cache",
                published(Arc::new(cache)).await?,
            ));
        }
        Err(_) => missing.push(format!("RedisStore ({REDIS_URL_VAR} unset)")),
    }
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) => {
            let store = PostgresStore::connect(&url, &encryption)
                .await
                .map_err(|e| BenchError::contender("postgres", e))?;
            store
                .migrate()
                .await
                .map_err(|e| BenchError::contender("postgres", e))?;
            let cache = store.copilot_cache(fresh_name());
            stores.push(("PostgresStore", saved(Arc::new(store), &key).await?));
            caches.push((
                "PostgresStore::copilot_cache",
                published(Arc::new(cache)).await?,
            ));
        }
        Err(_) => missing.push(format!("PostgresStore ({POSTGRES_URL_VAR} unset)")),
    }

    let rounds = settings.pick(5, 15);
    let budget = Duration::from_millis(settings.pick(100, 300));
    for (what, contenders) in [
        ("TokenStore::load of a cached credential", &stores),
        (
            "SharedTokenCache::load of a published Copilot token",
            &caches,
        ),
    ] {
        let mut samples: Vec<Samples> = contenders.iter().map(|_| Samples::new()).collect();
        for (_, which) in interleaved(rounds, contenders.len()) {
            samples[which].push(contenders[which].1.micros_per_call(budget).await?);
        }
        let (baseline_name, _) = &contenders[0];
        let baseline = &samples[0];
        for ((name, _), measured) in contenders.iter().zip(&samples).skip(1) {
            report.row(Row {
                name: format!("{what}: {name} (µs per call)"),
                ours: format!("{} µs", measured.display(2)),
                baselines: format!("{baseline_name}: {} µs", baseline.display(3)),
                ratio: format!(
                    "{:.1}× {baseline_name}",
                    measured.median() / baseline.median()
                ),
                goal: "– (informational)".into(),
                verdict: Verdict::NoGoal,
            });
        }
    }
    report.note(format!(
        "stores: sequential calls from one task, {rounds} rounds of {} ms per contender; Redis and PostgreSQL \
         on loopback as `cargo xtask bench` starts them; their loads include AES-256-GCM decryption.",
        budget.as_millis()
    ));
    if !missing.is_empty() {
        report.note(format!(
            "stores: NOT MEASURED (server not started; run through `cargo xtask bench`): {}",
            missing.join(", ")
        ));
    }
    Ok(())
}
