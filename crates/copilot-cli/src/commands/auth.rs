//! `auth status` and `auth logout` (`auth login` is in [`super::login`]).

use std::time::SystemTime;

use copilot_auth::{CredentialSource, TokenKind};
use copilot_sdk::{AuthMode, AuthStatus, SdkError};

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::json::StatusJson;
use crate::output::time::{relative, rfc3339};
use crate::output::{note, out, out_json};

/// Runs `auth status`.
pub async fn status(context: &Context, args: &StatusArgs) -> Result<(), CliError> {
    let client = context.copilot_client()?;
    let status = match client.get_auth_status().await {
        Ok(status) => status,
        Err(SdkError::SignInRequired { .. }) => {
            if args.json {
                out_json(&StatusJson {
                    host: context.host.key(),
                    logged_in: false,
                    login: None,
                    token_kind: None,
                    source: None,
                    auth_mode: None,
                    plan: None,
                    sku: None,
                    api_endpoint: None,
                    copilot_token_expires_at: None,
                    ai_credits_used: None,
                    ai_credits_entitlement: None,
                    ai_credits_remaining: None,
                    quota_reset_date: None,
                })?;
            }
            return Err(CliError::NotSignedIn {
                host: context.host.key(),
            });
        }
        Err(error) => return Err(error.into()),
    };
    let stored_login = match &status.source {
        CredentialSource::Store { .. } => context.stored_credential().await?.and_then(|c| c.login),
        _ => None,
    };
    let report = StatusJson {
        host: context.host.key(),
        logged_in: true,
        login: status.login.clone().or(stored_login),
        token_kind: status
            .token_kind
            .as_ref()
            .map(|k| token_kind_name(*k).to_owned()),
        source: Some(source_name(&status.source)),
        auth_mode: status.auth_mode.map(|m| mode_name(m).to_owned()),
        plan: status.plan.as_ref().map(|p| p.as_str().to_owned()),
        sku: status.sku.clone(),
        api_endpoint: Some(status.api_endpoint.to_string()),
        copilot_token_expires_at: status.copilot_token_expires_at.map(rfc3339),
        ai_credits_used: status.ai_credits.as_ref().and_then(|q| q.used()),
        ai_credits_entitlement: status
            .ai_credits
            .as_ref()
            .filter(|q| q.unlimited != Some(true))
            .and_then(|q| q.entitlement),
        ai_credits_remaining: status
            .ai_credits
            .as_ref()
            .filter(|q| q.unlimited != Some(true))
            .and_then(|q| q.remaining),
        quota_reset_date: status.quota_reset_date.clone(),
    };
    if args.json {
        out_json(&report)
    } else {
        out(&human_status(context, &report, &status))
    }
}

fn human_status(context: &Context, report: &StatusJson, status: &AuthStatus) -> String {
    let unknown = || "unknown".to_owned();
    let mut text = format!("{}\n", report.host);
    text.push_str(&format!(
        "  ✓ Logged in as {}\n",
        report.login.clone().unwrap_or_else(unknown)
    ));
    let kind = status.token_kind.as_ref().map_or_else(
        || "pre-exchanged Copilot token".to_owned(),
        |k| k.to_string(),
    );
    let source = match &status.source {
        CredentialSource::Store { .. } => format!("stored in {}", context.store_location),
        other => format!("from {}", source_name(other)),
    };
    text.push_str(&format!("  Token:          {kind}, {source}\n"));
    if let Some(mode) = &report.auth_mode {
        text.push_str(&format!("  Auth mode:      {mode}\n"));
    }
    let plan = report.plan.clone().unwrap_or_else(unknown);
    match &report.sku {
        Some(sku) => text.push_str(&format!("  Copilot plan:   {plan} (sku {sku})\n")),
        None => text.push_str(&format!("  Copilot plan:   {plan}\n")),
    }
    text.push_str(&format!(
        "  API endpoint:   {}\n",
        report.api_endpoint.clone().unwrap_or_else(unknown)
    ));
    if let Some(line) = credits_line(report, status) {
        text.push_str(&line);
    }
    if let Some(expires_at) = status.copilot_token_expires_at {
        text.push_str(&format!(
            "  Copilot token:  expires {} ({})\n",
            rfc3339(expires_at),
            relative(expires_at, SystemTime::now())
        ));
    }
    text
}

/// `  AI credits:     51.25 used of 300.00 (248.75 left, resets 2026-12-31)`, or `unlimited`.
fn credits_line(report: &StatusJson, status: &AuthStatus) -> Option<String> {
    use super::chat::credits;
    let snapshot = status.ai_credits.as_ref()?;
    let resets = report
        .quota_reset_date
        .as_ref()
        .map(|d| format!("resets {}", d.escape_debug()));
    if snapshot.unlimited == Some(true) {
        let resets = resets.map(|r| format!(" ({r})")).unwrap_or_default();
        return Some(format!("  AI credits:     unlimited{resets}\n"));
    }
    let mut line = format!(
        "  AI credits:     {} used",
        credits(report.ai_credits_used?)
    );
    if let Some(entitlement) = report.ai_credits_entitlement {
        line.push_str(&format!(" of {}", credits(entitlement)));
    }
    let left = report.ai_credits_remaining.map(|left| {
        if left < 0.0 {
            format!("{} over", credits(-left))
        } else {
            format!("{} left", credits(left))
        }
    });
    let notes: Vec<String> = [left, resets].into_iter().flatten().collect();
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join(", ")));
    }
    line.push('\n');
    Some(line)
}

/// Runs `auth logout`.
pub async fn logout(context: &Context) -> Result<(), CliError> {
    let removed = context.store.delete(&context.credential_key()).await?;
    if removed {
        note(&format!(
            "✓ Logged out of {} (removed the credential from {})",
            context.host.key(),
            context.store_location
        ));
    } else {
        note(&format!(
            "Not signed in to {}; nothing to remove",
            context.host.key()
        ));
    }
    Ok(())
}

/// The short, stable name of a token kind used in `--json` output: its prefix without the `_` (copilot-core's
/// one prefix table), or `unknown`.
pub fn token_kind_name(kind: TokenKind) -> &'static str {
    kind.prefix()
        .and_then(|prefix| prefix.strip_suffix('_'))
        .unwrap_or("unknown")
}

fn mode_name(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::Exchange => "exchange",
        AuthMode::Direct => "direct",
        _ => "auto",
    }
}

fn source_name(source: &CredentialSource) -> String {
    match source {
        CredentialSource::Explicit => "explicit".to_owned(),
        CredentialSource::PreExchangedEnv => "env:GITHUB_COPILOT_API_TOKEN".to_owned(),
        CredentialSource::Environment { var } => format!("env:{var}"),
        CredentialSource::Store { .. } => "store".to_owned(),
        CredentialSource::Editor { .. } => "editor".to_owned(),
        _ => "other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kind_names_are_the_prefixes_without_the_underscore() {
        let kinds = [
            TokenKind::OAuth,
            TokenKind::GitHubAppUser,
            TokenKind::FineGrainedPat,
            TokenKind::ClassicPat,
            TokenKind::Installation,
            TokenKind::Refresh,
            TokenKind::Unknown,
        ];
        let names = kinds.map(token_kind_name);
        assert_eq!(
            names,
            ["gho", "ghu", "github_pat", "ghp", "ghs", "ghr", "unknown"]
        );
    }
}
