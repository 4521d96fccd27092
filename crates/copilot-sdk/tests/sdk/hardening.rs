//! Hardening (issue 14) at the façade: what the SDK turns on by default, and what a pool never lets through.

use std::time::Duration;

use bytes::Bytes;
use copilot_sdk::CopilotClient;
use copilot_sdk::api::{ApiError, ChatRequest, Message};
use copilot_sdk::http::{FnTransport, ResponseBody, SharedTransport};
use futures_util::StreamExt;

/// A Copilot API that answers every chat with one content event and then only keep-alive comments, every
/// 5 s, forever.
fn keep_alive_forever() -> SharedTransport {
    SharedTransport::new(FnTransport::new(|_request| async move {
        let event = Bytes::from_static(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        );
        let body = futures_util::stream::unfold(Some(event), |first| async move {
            match first {
                Some(event) => Some((Ok(event), None)),
                None => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Some((Ok(Bytes::from_static(b": keep-alive\n\n")), None))
                }
            }
        });
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(ResponseBody::from_stream(body))
            .unwrap())
    }))
}

#[tokio::test(start_paused = true)]
async fn sdk_streams_have_an_overall_deadline_by_default() {
    let client = CopilotClient::builder()
        .transport(keep_alive_forever())
        .use_logged_in_user(false)
        .env(|var| match var {
            "GITHUB_COPILOT_API_TOKEN" => Some("copilot-token".to_owned()),
            "COPILOT_API_URL" => Some("https://api.copilot.test".to_owned()),
            _ => None,
        })
        .build()
        .unwrap();
    client.start().await.unwrap();
    let api = client.api().expect("started");
    let mut stream = api
        .chat_stream(ChatRequest::new("gpt-4o", vec![Message::user("hi")]))
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    let started = tokio::time::Instant::now();
    // Without a deadline the keep-alives hold the stream open for good; a week of virtual time is the proof.
    let end = tokio::time::timeout(Duration::from_secs(7 * 24 * 3600), stream.next())
        .await
        .expect("the stream must end on its own");
    match end {
        Some(Err(ApiError::StreamDeadline { after, .. })) => {
            assert_eq!(after, copilot_sdk::DEFAULT_MAX_STREAM_DURATION);
            assert!(started.elapsed() <= after);
        }
        other => panic!("{other:?}"),
    }
}

/// Credential settings on the pool's client defaults never reach a user's client (issue 14): a stored user
/// runs as themselves, not as the template's token, environment or API URL.
#[tokio::test]
async fn pool_users_never_run_under_the_template_credentials() -> Result<(), copilot_sdk::SdkError>
{
    use copilot_mock::MockUser;
    use copilot_sdk::{
        ClientPool, CredentialKey, GitHubToken, MemoryStore, StoredCredential, TokenStore,
    };
    use std::sync::Arc;

    let target = crate::common::target().await;
    crate::common::mock(&target).add_user(MockUser::new("alice"));
    let template_token = target.user_token("octocat").expect("token");
    let store = Arc::new(MemoryStore::new());
    let alice = target.user_token("alice").expect("token");
    store
        .save(
            &CredentialKey::new(target.host.key(), "alice"),
            &StoredCredential::new(target.host.key(), GitHubToken::new(alice.clone())),
        )
        .await?;
    let template = CopilotClient::builder()
        .github_token(template_token.clone())
        .env(move |var| {
            (var == "GH_TOKEN").then(|| "gho_fromthetemplateenvironment0000000".to_owned())
        })
        .copilot_api_url(url::Url::parse("https://template.invalid").unwrap());
    let pool = ClientPool::builder()
        .host(target.host.clone())
        .transport(target.transport.clone())
        .token_store(store)
        .client_defaults(template)
        .build()?;

    let stored = pool.client_for_stored("alice").await?;
    assert_eq!(
        stored.get_auth_status().await?.login.as_deref(),
        Some("alice")
    );
    let explicit = pool.client_for("alice", alice).await?;
    assert_eq!(
        explicit.get_auth_status().await?.login.as_deref(),
        Some("alice")
    );
    Ok(())
}

/// A pool's users share the template's session store, never one another's sessions: each sees, resumes and
/// deletes only their own, even under the same session id.
#[tokio::test]
async fn pool_users_share_a_session_store_but_not_their_sessions()
-> Result<(), copilot_sdk::SdkError> {
    use copilot_mock::MockUser;
    use copilot_sdk::{ClientPool, MemorySessionStore, SessionConfig, SessionFilter, SessionStore};
    use std::sync::Arc;

    let target = crate::common::target().await;
    crate::common::mock(&target).add_user(MockUser::new("alice"));
    crate::common::mock(&target).add_user(MockUser::new("bob"));
    let sessions = Arc::new(MemorySessionStore::new());
    let pool = ClientPool::builder()
        .host(target.host.clone())
        .transport(target.transport.clone())
        .client_defaults(CopilotClient::builder().session_store(sessions.clone()))
        .build()?;
    let alice = pool
        .client_for("alice", target.user_token("alice").expect("token"))
        .await?;
    let bob = pool
        .client_for("bob", target.user_token("bob").expect("token"))
        .await?;

    let trip = alice
        .create_session(SessionConfig::new().session_id("trip").model("gpt-4.1"))
        .await?;
    trip.send_and_wait("Alice's private plans").await?;
    drop(trip);

    assert!(bob.list_sessions(SessionFilter::new()).await?.is_empty());
    assert!(bob.get_session_metadata("trip").await?.is_none());
    assert!(
        bob.resume_session("trip", SessionConfig::new())
            .await
            .is_err(),
        "bob cannot resume alice's session"
    );
    assert!(!bob.delete_session("trip").await?);
    // Bob's own "trip" is another session.
    let bobs = bob
        .create_session(SessionConfig::new().session_id("trip").model("gpt-4.1"))
        .await?;
    bobs.send_and_wait("Bob's plans").await?;
    drop(bobs);

    let listed = alice.list_sessions(SessionFilter::new()).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "trip");
    let resumed = alice.resume_session("trip", SessionConfig::new()).await?;
    assert!(resumed.history()[0].text().contains("Alice"));
    assert_eq!(sessions.list().await?.len(), 2, "both are in the one store");
    Ok(())
}
