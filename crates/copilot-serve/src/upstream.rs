//! [`Upstream`]: where a caller's requests go, the gateway's own Copilot client or a user's client from a
//! [`ClientPool`].

use copilot_api::CopilotApiClient;
use copilot_sdk::{ClientPool, CopilotClient};
use http::StatusCode;

use crate::error::Failure;

/// The Copilot side of the gateway.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Upstream {
    /// One signed-in identity serves every key (keys bound to a user are refused).
    Client(CopilotClient),
    /// Multi-user: each key's `user` names a stored GitHub credential in the pool's token store, so each
    /// member is billed to their own subscription. Keys without a user are refused.
    Pool(ClientPool),
    /// A ready Copilot API client (a fixed or pre-exchanged token; tests).
    Api(CopilotApiClient),
}

impl Upstream {
    /// The Copilot API client for a caller bound to `user` (or to the gateway's own identity).
    pub(crate) async fn api(&self, user: Option<&str>) -> Result<CopilotApiClient, Failure> {
        match (self, user) {
            (Upstream::Api(api), None) => Ok(api.clone()),
            (Upstream::Client(client), None) => {
                if let Some(api) = client.api() {
                    return Ok(api.clone());
                }
                client.start().await.map_err(|e| Failure::from_sdk(&e))?;
                client.api().cloned().ok_or_else(|| {
                    Failure::new(StatusCode::BAD_GATEWAY, "the Copilot client did not start")
                })
            }
            (Upstream::Pool(pool), Some(user)) => {
                let client = pool
                    .client_for_stored(user)
                    .await
                    .map_err(|e| Failure::from_sdk(&e))?;
                if let Some(api) = client.api() {
                    return Ok(api.clone());
                }
                client.start().await.map_err(|e| Failure::from_sdk(&e))?;
                client.api().cloned().ok_or_else(|| {
                    Failure::new(StatusCode::BAD_GATEWAY, "the Copilot client did not start")
                })
            }
            (Upstream::Pool(_), None) => Err(Failure::new(
                StatusCode::FORBIDDEN,
                "this gateway runs in multi-user mode and the API key is bound to no user",
            )
            .code("key_without_user")),
            (_, Some(_)) => Err(Failure::new(
                StatusCode::FORBIDDEN,
                "the API key is bound to a user, but this gateway serves a single identity",
            )
            .code("key_user_unsupported")),
        }
    }
}
