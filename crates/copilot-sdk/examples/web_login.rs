//! A small web app with its own OAuth/GitHub App: users sign in on GitHub, members of one organisation get
//! a Copilot answer. `cargo run -p copilot-sdk --example web_login`, then open http://127.0.0.1:3000/login.
//!
//! Against the mock the app uses the mock's own GitHub App (`WEB_APP_CLIENT_ID`); its tokens are not
//! allow-listed for the token exchange, so the clients run in direct mode (auto mode finds this out). Live,
//! set `GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET` and `REQUIRED_ORG`.

#[path = "support/mod.rs"]
pub mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use copilot_sdk::{
    CallbackParams, ClientPool, GitHubApi, MemoryStore, PendingAuthorization, SdkError,
    SessionConfig, WebFlow,
};
use secrecy::{ExposeSecret, SecretString};
use support::{BoxError, Target};

/// The app's state: the OAuth flow, authorizations in progress, and the users' clients.
pub struct WebApp {
    flow: WebFlow,
    client_id: String,
    github: GitHubApi,
    pool: ClientPool,
    pending: Mutex<HashMap<String, PendingAuthorization>>,
}

impl WebApp {
    /// An app signing users in with `client_id`/`client_secret`, redirecting back to `redirect_uri`, letting
    /// only members of `org` in.
    pub fn new(
        target: &Target,
        client_id: &str,
        client_secret: SecretString,
        redirect_uri: url::Url,
        org: &str,
    ) -> Result<Arc<WebApp>, BoxError> {
        let flow = WebFlow::new(target.host.clone(), client_id, client_secret, redirect_uri)
            .transport(target.transport.clone());
        let pool = ClientPool::builder()
            .host(target.host.clone())
            .transport(target.transport.clone())
            .token_store(Arc::new(MemoryStore::new()))
            .refresher(Arc::new(flow.refresher()))
            .require_org(org)
            .build()?;
        Ok(Arc::new(WebApp {
            github: GitHubApi::new(target.host.clone()).transport(target.transport.clone()),
            client_id: client_id.to_owned(),
            flow,
            pool,
            pending: Mutex::new(HashMap::new()),
        }))
    }

    /// The routes: `/login` and `/callback`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback))
            .with_state(self)
    }

    async fn finish(&self, query: &str) -> Result<String, BoxError> {
        let params = CallbackParams::from_query(query);
        let state = params.state.clone().ok_or("the callback has no state")?;
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&state)
            .ok_or("unknown or already used state")?;
        let token = self.flow.complete(pending, &params).await?;
        let user = self.github.get_user(&token.access_token).await?;
        self.pool
            .save_login(&user.login, Some(self.client_id.clone()), &token)
            .await?;
        let client = self.pool.client_for_stored(&user.login).await?;
        let session = client
            .create_session(
                SessionConfig::new()
                    .session_id(format!("user-{}-session", user.login))
                    .model("gpt-4.1"),
            )
            .await?;
        let answer = session.send_and_wait("Hello!").await?;
        Ok(format!(
            "Hello {}! Copilot says: {}",
            user.login, answer.content
        ))
    }
}

async fn login(State(app): State<Arc<WebApp>>) -> Response {
    match app.flow.authorize_url(&["read:user", "read:org"]) {
        Ok((url, pending)) => {
            let state = pending.state().expose_secret().to_owned();
            app.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(state, pending);
            Redirect::to(url.as_str()).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

async fn callback(State(app): State<Arc<WebApp>>, RawQuery(query): RawQuery) -> Response {
    match app.finish(query.as_deref().unwrap_or("")).await {
        Ok(page) => page.into_response(),
        Err(error) => {
            let status = match error.downcast_ref::<SdkError>() {
                Some(SdkError::NotOrgMember { .. }) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_GATEWAY,
            };
            (status, error.to_string()).into_response()
        }
    }
}

/// Serves the app for the mock's own GitHub App on `listener`, gated on `org`.
pub async fn serve_mock_app(
    target: &Target,
    listener: tokio::net::TcpListener,
    org: &str,
) -> Result<(), BoxError> {
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback").parse()?;
    let app = WebApp::new(
        target,
        copilot_mock::WEB_APP_CLIENT_ID,
        SecretString::from(copilot_mock::WEB_APP_CLIENT_SECRET),
        redirect,
        org,
    )?;
    axum::serve(listener, app.router()).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    eprintln!("open http://127.0.0.1:3000/login");
    match std::env::var("GITHUB_CLIENT_ID") {
        Ok(client_id) if target.mock.is_none() => {
            let secret = SecretString::from(std::env::var("GITHUB_CLIENT_SECRET")?);
            let org = std::env::var("REQUIRED_ORG")?;
            let redirect = "http://127.0.0.1:3000/callback".parse()?;
            let app = WebApp::new(&target, &client_id, secret, redirect, &org)?;
            axum::serve(listener, app.router()).await?;
            Ok(())
        }
        _ => serve_mock_app(&target, listener, "octo-org").await,
    }
}
