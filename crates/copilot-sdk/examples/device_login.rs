//! Device-flow sign-in, then a streamed answer: `cargo run -p copilot-sdk --example device_login`.
//!
//! Against the mock the simulated user approves at once. Live, open the printed URL and enter the code.
//! The sign-in uses the Copilot editor app's client id, a borrowed identity (see
//! `copilot_sdk::auth::client_ids`); prefer your own app where you can.

#[path = "support/mod.rs"]
pub mod support;

use std::sync::Arc;

use copilot_sdk::auth::client_ids::COPILOT_EDITOR_CLIENT_ID;
use copilot_sdk::{
    CredentialKey, DeviceFlow, MemoryStore, SessionConfig, SessionEvent, StoredCredential,
    TokenStore,
};
use futures_util::StreamExt;
use support::{BoxError, Target};

/// Signs in with the device flow, keeps the token in `store` and streams one answer. Returns the answer.
pub async fn run(target: &Target, store: Arc<dyn TokenStore>) -> Result<String, BoxError> {
    let flow = DeviceFlow::new(target.host.clone(), COPILOT_EDITOR_CLIENT_ID)
        .scopes(["read:user"])
        .transport(target.transport.clone())
        .sleep(target.sleep.clone());
    let code = flow.start().await?;
    eprintln!(
        "Open {} and enter {}",
        code.verification_uri, code.user_code
    );
    let token = flow.wait(&code).await?;

    let key = CredentialKey::new(target.host.key(), "default");
    let credential = StoredCredential::from_token_response(
        target.host.key(),
        Some(COPILOT_EDITOR_CLIENT_ID.to_owned()),
        &token,
    );
    store.save(&key, &credential).await?;

    // The logged-in user comes from the store now: no token is passed.
    let client = target.client_builder().token_store(store).build()?;
    client.start().await?;
    let status = client.get_auth_status().await?;
    eprintln!("signed in as {:?} ({:?})", status.login, status.token_kind);

    let session = client
        .create_session(SessionConfig::new().model("gpt-4.1"))
        .await?;
    let mut answer = String::new();
    let mut events = session.send("Hello from the device flow!");
    while let Some(event) = events.next().await {
        match event {
            SessionEvent::MessageDelta { content } => answer.push_str(&content),
            SessionEvent::Error(error) => return Err(error.into()),
            _ => {}
        }
    }
    Ok(answer)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let answer = run(&target, Arc::new(MemoryStore::new())).await?;
    println!("{answer}");
    Ok(())
}
