//! Many users, one connection pool, an organisation gate: `cargo run -p copilot-sdk --example multi_user`.

#[path = "support/mod.rs"]
pub mod support;

use copilot_sdk::{ClientPool, SdkError, SessionConfig};
use support::{BoxError, Target};

/// Builds an org-gated pool and asks one question per user. Returns `(user, answer or refusal)` pairs.
pub async fn run(
    target: &Target,
    org: &str,
    users: &[(&str, String)],
) -> Result<Vec<(String, Result<String, SdkError>)>, BoxError> {
    let pool = ClientPool::builder()
        .host(target.host.clone())
        .transport(target.transport.clone())
        .require_org(org)
        .build()?;
    let mut outcomes = Vec::new();
    for (user_id, token) in users {
        let outcome = async {
            let client = pool.client_for(user_id, token.clone()).await?;
            let session = client
                .create_session(
                    SessionConfig::new()
                        .session_id(format!("user-{user_id}-session"))
                        .model("gpt-4.1"),
                )
                .await?;
            Ok(session.send_and_wait("Hello!").await?.content)
        }
        .await;
        outcomes.push((user_id.to_string(), outcome));
    }
    Ok(outcomes)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let users = vec![("octocat", target.user_token("octocat")?)];
    for (user, outcome) in run(&target, "octo-org", &users).await? {
        match outcome {
            Ok(answer) => println!("{user}: {answer}"),
            Err(error) => println!("{user}: refused: {error}"),
        }
    }
    Ok(())
}
