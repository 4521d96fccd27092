//! `keys`: the gateway's API keys in the shared store (`--store-url`), which every gateway on it accepts.

use std::time::{Duration, SystemTime};

use copilot_serve::generate_key;
use copilot_store_core::api_keys::{ApiKeyDigest, ApiKeyDirectory, ApiKeyRecord};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::cli::KeysCommand;
use crate::context::Context;
use crate::error::CliError;
use crate::output::table::Table;
use crate::output::time::rfc3339;
use crate::output::{note, out, out_json, out_line};

/// Runs `keys …`.
pub async fn run(context: &Context, command: &KeysCommand) -> Result<(), CliError> {
    let Some(shared) = &context.shared else {
        return Err(CliError::Usage(
            "the gateway's keys live in a shared store: pass --store-url (or set COPILOT_RS_STORE_URL)"
                .to_owned(),
        ));
    };
    let directory: &dyn ApiKeyDirectory = shared.keys.as_ref();
    let failed = |error: copilot_store_core::StoreError| {
        CliError::Usage(format!("store {}: {error}", shared.location))
    };
    match command {
        KeysCommand::Add(args) => {
            let user = args.user.trim();
            if user.is_empty() || user.chars().any(char::is_control) {
                return Err(CliError::Usage(
                    "--user: give a non-empty name without control characters".to_owned(),
                ));
            }
            let key = generate_key().map_err(|e| CliError::Usage(e.to_string()))?;
            let digest = ApiKeyDigest::of(key.expose_secret());
            let label = args.label.clone().unwrap_or_else(|| user.to_owned());
            let record = ApiKeyRecord::new(user, label, SystemTime::now())
                .max_concurrent(args.max_concurrent);
            if !directory.add(&digest, &record).await.map_err(failed)? {
                return Err(CliError::Usage(
                    "a freshly generated key already exists in the store; run the command again"
                        .to_owned(),
                ));
            }
            let signed_in = context
                .store
                .load(&copilot_auth::CredentialKey::new(context.host.key(), user))
                .await?
                .is_some();
            note(&format!(
                "added key {digest} for user {user}; it is shown only now, keep it safe"
            ));
            if !signed_in {
                note(&format!(
                    "user {user} has no stored login on {} yet: run `copilot-rs --store-url … --account {user} auth login`",
                    context.host.key()
                ));
            }
            out_line(key.expose_secret())
        }
        KeysCommand::List(args) => {
            let keys = directory.list().await.map_err(failed)?;
            if args.json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|(digest, record)| {
                        json!({
                            "sha256": digest.to_hex(),
                            "user": record.user,
                            "label": record.label,
                            "max_concurrent": record.max_concurrent,
                            "created_at": record.created_at,
                        })
                    })
                    .collect();
                return out_json(&rows);
            }
            if keys.is_empty() {
                note("no keys (add one: copilot-rs keys add --user NAME)");
                return Ok(());
            }
            let mut table = Table::new(["KEY", "USER", "LABEL", "MAX CONCURRENT", "CREATED"]);
            for (digest, record) in &keys {
                table.row([
                    digest.to_string(),
                    record.user.clone(),
                    record.label.clone(),
                    record
                        .max_concurrent
                        .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    // A record from the database: an absurd time must not overflow.
                    SystemTime::UNIX_EPOCH
                        .checked_add(Duration::from_secs(record.created_at))
                        .map_or_else(|| "-".to_owned(), rfc3339),
                ]);
            }
            out(&table.render())
        }
        KeysCommand::Remove(args) => {
            let given = args.key.trim();
            let digest = ApiKeyDigest::from_hex(given).unwrap_or_else(|| ApiKeyDigest::of(given));
            if directory.remove(&digest).await.map_err(failed)? {
                note(&format!(
                    "removed key {digest}; gateways stop accepting it within their --key-cache-secs"
                ));
                Ok(())
            } else {
                Err(CliError::Usage(format!("no key {digest} in the store")))
            }
        }
    }
}
