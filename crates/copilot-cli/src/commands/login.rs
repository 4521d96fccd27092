//! `auth login`: the device flow (or `--with-token`), storing the GitHub token.

use std::cell::RefCell;
use std::io::IsTerminal;

use tokio::io::AsyncReadExt;

use copilot_auth::{
    AuthError, DeviceCode, DeviceFlow, GitHubApi, GitHubToken, GitHubTokenResponse, PollEvent,
    StoredCredential,
};

use crate::cli::LoginArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::output::note;
use crate::progress::{SPINNER_TICK, WaitProgress};

/// The scope the Copilot editor app asks for.
const SCOPES: [&str; 1] = ["read:user"];

/// Runs `auth login`.
pub async fn run(context: &Context, args: &LoginArgs) -> Result<(), CliError> {
    if args.with_token {
        return with_token(context).await;
    }
    let flow = device_flow(context);
    let code = flow.start().await?;
    // Checked by the device flow already; stripped again because these come from a server and land on a
    // terminal.
    note(&format!(
        "! First copy your one-time code: {}",
        crate::browser::printable(&code.user_code)
    ));
    note(&format!(
        "  Then open {} and enter the code.",
        crate::browser::printable(&code.verification_uri)
    ));
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if context.mock.is_some() {
        note("  (The embedded mock approves the code by itself.)");
    } else if !args.no_browser && terminal {
        offer_browser(&code.verification_uri);
    }
    let mut progress = WaitProgress::new(std::io::stderr().is_terminal(), code.expires_at);
    let token = wait_for_approval(&flow, &code, &mut progress).await?;
    let login = store_token_response(context, &token).await?;
    note(&format!(
        "✓ Logged in to {} as {}",
        context.host.key(),
        login.as_deref().unwrap_or("(unknown user)")
    ));
    note(&format!(
        "  Credential stored in {}",
        context.store_location
    ));
    Ok(())
}

/// A device flow for the context's host and client id.
pub fn device_flow(context: &Context) -> DeviceFlow {
    DeviceFlow::new(context.host.clone(), context.client_id.clone())
        .scopes(SCOPES)
        .transport(context.transport.clone())
        .identity(context.identity.clone())
}

/// Polls until the user approves (or denies, or the code expires), reporting to `progress`; Ctrl-C
/// cancels.
pub async fn wait_for_approval(
    flow: &DeviceFlow,
    code: &DeviceCode,
    progress: &mut WaitProgress,
) -> Result<GitHubTokenResponse, CliError> {
    let spinner = progress.is_spinner();
    let progress = RefCell::new(progress);
    let wait = flow.wait_with(code, super::ctrl_c(), |event: &PollEvent| {
        progress.borrow_mut().event(event)
    });
    tokio::pin!(wait);
    let mut ticker = tokio::time::interval(SPINNER_TICK);
    let result = loop {
        tokio::select! {
            result = &mut wait => break result,
            _ = ticker.tick(), if spinner => progress.borrow_mut().tick(),
        }
    };
    progress.borrow_mut().finish();
    match result {
        Err(copilot_auth::AuthError::Cancelled) => Err(CliError::Cancelled),
        other => Ok(other?),
    }
}

/// Stores a token the device flow returned; returns the login if GitHub told it.
async fn store_token_response(
    context: &Context,
    token: &GitHubTokenResponse,
) -> Result<Option<String>, CliError> {
    let login = lookup_login(context, &token.access_token).await;
    let mut credential = StoredCredential::from_token_response(
        context.host.key(),
        Some(context.client_id.clone()),
        token,
    );
    if let Some(login) = &login {
        credential = credential.with_login(login.clone());
    }
    context
        .store
        .save(&context.credential_key(), &credential)
        .await?;
    Ok(login)
}

/// The GitHub REST client for the context's host, transport and identity.
fn github_api(context: &Context) -> GitHubApi {
    GitHubApi::new(context.host.clone())
        .transport(context.transport.clone())
        .identity(context.identity.clone())
}

/// The login of the token's user; `None` if GitHub cannot be asked (the token is stored anyway).
async fn lookup_login(context: &Context, token: &GitHubToken) -> Option<String> {
    let api = github_api(context);
    match api.get_user(token).await {
        Ok(user) => Some(user.login),
        Err(error) => {
            tracing::debug!(%error, "could not look up the signed-in user");
            None
        }
    }
}

/// `auth login --with-token`: reads a token from stdin, checks it with GitHub and stores it.
async fn with_token(context: &Context) -> Result<(), CliError> {
    if std::io::stdin().is_terminal() {
        note("Paste a GitHub token, then press Ctrl-D:");
    }
    let mut text = String::new();
    tokio::io::stdin()
        .read_to_string(&mut text)
        .await
        .map_err(|e| CliError::io("read the token from stdin", e))?;
    let token = GitHubToken::parse(&text).map_err(AuthError::from)?;
    token.check_usable_for_copilot().map_err(AuthError::from)?;
    let api = github_api(context);
    let user = api.get_user(&token).await?;
    let credential =
        StoredCredential::new(context.host.key(), token).with_login(user.login.clone());
    context
        .store
        .save(&context.credential_key(), &credential)
        .await?;
    note(&format!(
        "✓ Logged in to {} as {} ({})",
        context.host.key(),
        user.login,
        credential.access_token.kind()
    ));
    note(&format!(
        "  Credential stored in {}",
        context.store_location
    ));
    Ok(())
}

/// Offers to open the verification page: waits for Enter on a background thread while polling goes on.
fn offer_browser(url: &str) {
    let url = crate::browser::printable(url);
    note(&format!("- Press Enter to open {url} in your browser..."));
    // A plain thread, not the runtime's blocking pool: the read may never finish, and the process must be
    // able to exit without waiting for it.
    std::thread::spawn(move || {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0)
            && let Err(error) = crate::browser::open(&url)
        {
            note(&format!(
                "  Could not open the browser ({error}); open {url} yourself."
            ));
        }
    });
}
