//! `SessionConfig::model("auto")`: Copilot's Auto model, or a documented local choice where Copilot offers
//! none (`docs/protocol.md` §9).

use std::time::Duration;

use copilot_api::{AUTO_MODEL, ApiError, AutoModelSession, AutoSessionToken};

use super::SessionInner;
use crate::SdkError;
use crate::client::Started;

/// How long before its expiry an Auto-model session is replaced.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// What a session knows about Copilot's Auto model.
#[derive(Debug, Clone, Default)]
pub(crate) enum AutoModelState {
    /// Not asked yet (or the session ran out).
    #[default]
    Unknown,
    /// The current Auto-model session.
    Session(AutoModelSession),
    /// Copilot has no Auto model for this client (404): the local choice, without asking again.
    Unavailable,
}

/// Whether `model` asks for the Auto model.
pub(crate) fn is_auto(model: &str) -> bool {
    model.eq_ignore_ascii_case(AUTO_MODEL)
}

/// The model a turn goes to, and the Auto-model session token it carries (`None` for a model the caller
/// named, and for the local choice).
pub(crate) async fn resolve(
    session: &SessionInner,
    started: &Started,
    model: &str,
) -> Result<(String, Option<AutoSessionToken>), SdkError> {
    resolve_with(session, started, model, true).await
}

/// [`resolve`] for a request beside the turns (compaction): an Auto-model session close to its expiry is
/// used as it is; the next turn renews it.
pub(crate) async fn resolve_current(
    session: &SessionInner,
    started: &Started,
    model: &str,
) -> Result<(String, Option<AutoSessionToken>), SdkError> {
    resolve_with(session, started, model, false).await
}

async fn resolve_with(
    session: &SessionInner,
    started: &Started,
    model: &str,
    renew: bool,
) -> Result<(String, Option<AutoSessionToken>), SdkError> {
    if !is_auto(model) {
        return Ok((model.to_owned(), None));
    }
    let now = session.client.clock().now();
    let current = session.state().auto_model.clone();
    let auto = match current {
        AutoModelState::Session(auto) if !renew || !auto.expires_within(now, RENEW_BEFORE) => auto,
        AutoModelState::Unavailable => return local_choice(started).await,
        _ => match started.api.auto_model_session().await {
            Ok(auto) => {
                session.state().auto_model = AutoModelState::Session(auto.clone());
                auto
            }
            Err(ApiError::NotFound(_)) => {
                tracing::info!(
                    "Copilot offers no Auto model to this client (/models/session answered 404); \
                     choosing a model locally"
                );
                session.state().auto_model = AutoModelState::Unavailable;
                return local_choice(started).await;
            }
            Err(error) => return Err(error.into()),
        },
    };
    let models = started.api.models().await?;
    let preferred = auto
        .selected_model
        .iter()
        .chain(&auto.available_models)
        .map(String::as_str);
    match models.auto_choice(preferred) {
        Some(chosen) => {
            tracing::debug!(model = %chosen.id, "the Auto model chose");
            Ok((chosen.id.clone(), Some(auto.session_token.clone())))
        }
        None => {
            tracing::warn!(
                available = ?auto.available_models,
                "none of the Auto model's choices is a callable chat model here; choosing locally"
            );
            local_choice(started).await
        }
    }
}

/// The chat default, else the first picker model (callable ones only; never a pseudo-model).
async fn local_choice(started: &Started) -> Result<(String, Option<AutoSessionToken>), SdkError> {
    let models = started.api.models().await?;
    let chosen = models
        .local_auto_choice()
        .ok_or_else(|| SdkError::ModelUnsupported {
            model: AUTO_MODEL.to_owned(),
            reason:
                "Copilot offers no Auto model here and the models list has no callable chat model"
                    .to_owned(),
        })?;
    tracing::info!(model = %chosen.id, "Auto model: chose the models list's default locally");
    Ok((chosen.id.clone(), None))
}
