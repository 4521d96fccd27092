//! The official Copilot SDK guide's program, line for line, against the mock (the crate docs' opening example).

use copilot_mock::Endpoint;
use copilot_sdk::{CopilotClient, PermissionHandler, Role, SessionConfig};

use crate::common::{mock, octocat_builder, requests, target};

#[tokio::test]
async fn the_seeds_snippet_runs_against_the_mock() -> Result<(), Box<dyn std::error::Error>> {
    let target = target().await;
    let user_token = mock(&target).mint_github_token("octocat");
    let user_id = 42;

    let client = CopilotClient::builder()
        .github_token(user_token)
        .use_logged_in_user(false)
        .host(target.host.clone())
        .transport(target.transport.clone())
        .read_environment(false)
        .build()?;
    client.start().await?;
    let session = client
        .create_session(
            SessionConfig::new()
                .session_id(format!("user-{user_id}-session"))
                .model("gpt-4.1")
                .on_permission_request(PermissionHandler::approve_all()),
        )
        .await?;
    let response = session.send_and_wait("Hello!").await?;

    assert_eq!(session.id(), "user-42-session");
    assert_eq!(
        response.content,
        "You said: \"Hello!\". This is a deterministic answer from copilot-mock."
    );
    assert_eq!(response.model, "gpt-4.1");
    assert_eq!(response.tool_rounds, 0);
    let history = session.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].role, Role::User);
    assert_eq!(history[1].role, Role::Assistant);
    assert_eq!(history[1].text(), response.content);

    // start() exchanged the token once; the chat used the exchanged token with X-Initiator: user.
    assert_eq!(mock(&target).copilot_tokens_issued(), 1);
    let chats = requests(&target, Endpoint::ChatCompletions);
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].header("x-initiator"), Some("user"));
    Ok(())
}

#[tokio::test]
async fn auth_status_models_and_quota() -> Result<(), Box<dyn std::error::Error>> {
    let target = target().await;
    let client = octocat_builder(&target).build()?;
    client.start().await?;

    let status = client.get_auth_status().await?;
    assert_eq!(status.login.as_deref(), Some("octocat"));
    assert_eq!(status.token_kind, Some(copilot_sdk::TokenKind::OAuth));
    assert_eq!(status.auth_mode, Some(copilot_sdk::AuthMode::Exchange));
    assert_eq!(
        status.api_endpoint.as_str().trim_end_matches('/'),
        mock(&target).copilot_api_url()
    );
    assert!(status.copilot_token_expires_at.is_some());
    assert_eq!(status.source, copilot_sdk::CredentialSource::Explicit);

    let models = client.list_models().await?;
    assert!(models.iter().any(|m| m.id == "gpt-4.1"));
    assert!(models.iter().any(|m| m.id == "gpt-5.3-codex"));

    let quota = client.quota().await?;
    assert!(quota.plan.is_some());
    Ok(())
}
