//! The OAuth web application flow with PKCE (`docs/protocol.md` §3), for your own OAuth App or GitHub App.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use copilot_http::GitHubHost;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use crate::http::{HttpContext, http_setters, oauth_error, random_bytes};
use crate::refresh::TokenRefresher;
use crate::{AuthError, GitHubTokenResponse};

const AUTHORIZE_PATH: &str = "/login/oauth/authorize";

/// Signs a user in through the browser: send them to [`WebFlow::authorize_url`], receive the callback
/// (your web server, or [`LoopbackCallback`](crate::LoopbackCallback) for desktop and CLI apps), then
/// [`WebFlow::complete`] or [`WebFlow::exchange`].
///
/// Works only with your own app (the editor client ids have callbacks you do not control). The resulting
/// tokens belong to direct mode (`docs/protocol.md` §5).
#[derive(Debug, Clone)]
pub struct WebFlow {
    host: GitHubHost,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: Url,
    http: HttpContext,
}

/// One started authorization: the `state` sent to GitHub and the PKCE verifier. Single use: consumed by
/// [`WebFlow::exchange`] / [`WebFlow::complete`].
#[derive(Debug)]
pub struct PendingAuthorization {
    state: SecretString,
    code_verifier: SecretString,
    redirect_uri: Url,
}

impl PendingAuthorization {
    /// Rebuilds a pending authorization saved by a web server between the redirect and the callback (for
    /// example in an encrypted session). The verifier must be 43–128 unreserved characters (RFC 7636).
    pub fn from_parts(
        state: SecretString,
        code_verifier: SecretString,
        redirect_uri: Url,
    ) -> Result<Self, AuthError> {
        let verifier = code_verifier.expose_secret();
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
            return Err(AuthError::config(
                "a PKCE code verifier is 43 to 128 unreserved characters",
            ));
        }
        if state.expose_secret().is_empty() {
            return Err(AuthError::config("the OAuth state is empty"));
        }
        Ok(PendingAuthorization {
            state,
            code_verifier,
            redirect_uri,
        })
    }

    /// The `state` value (keep it server-side, e.g. to find this authorization again on callback).
    pub fn state(&self) -> &SecretString {
        &self.state
    }

    /// The PKCE code verifier.
    pub fn code_verifier(&self) -> &SecretString {
        &self.code_verifier
    }

    /// The PKCE S256 challenge: BASE64URL-NOPAD(SHA-256(verifier)).
    pub fn code_challenge(&self) -> String {
        pkce_challenge(self.code_verifier.expose_secret())
    }

    /// The redirect URI used in the authorize URL (and sent again with the code).
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Whether `returned` is this authorization's state, compared in constant time.
    pub fn state_matches(&self, returned: &str) -> bool {
        copilot_http::sensitive::constant_time_eq(self.state.expose_secret(), returned)
    }
}

/// The query parameters GitHub sends to the redirect URI.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CallbackParams {
    /// The authorization code (single use, valid 10 minutes).
    pub code: Option<SecretString>,
    /// The returned state.
    pub state: Option<String>,
    /// The error code, when the authorization failed (`access_denied`, `redirect_uri_mismatch`,
    /// `application_suspended`, …).
    pub error: Option<String>,
    /// The error's description.
    pub error_description: Option<String>,
    /// A documentation link for the error.
    pub error_uri: Option<String>,
}

impl CallbackParams {
    /// Reads the parameters from a query string (`code=…&state=…`, without `?`).
    pub fn from_query(query: &str) -> Self {
        let mut params = CallbackParams::default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "code" => params.code = Some(SecretString::from(value)),
                "state" => params.state = Some(value),
                "error" => params.error = Some(value),
                "error_description" => params.error_description = Some(value),
                "error_uri" => params.error_uri = Some(value),
                _ => {}
            }
        }
        params
    }

    /// Reads the parameters from a full callback URL.
    pub fn from_url(url: &Url) -> Self {
        Self::from_query(url.query().unwrap_or(""))
    }
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .field("error_uri", &self.error_uri)
            .finish()
    }
}

/// BASE64URL-NOPAD(SHA-256(verifier)), RFC 7636 §4.2.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn random_token(bytes: usize) -> Result<SecretString, AuthError> {
    let mut buf = vec![0u8; bytes];
    random_bytes(&mut buf)?;
    Ok(SecretString::from(URL_SAFE_NO_PAD.encode(&buf)))
}

impl WebFlow {
    /// A web flow for your app `client_id` / `client_secret`, with the callback at `redirect_uri` (it must
    /// match the app's registered callback; see `docs/protocol.md` §3).
    pub fn new(
        host: GitHubHost,
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: Url,
    ) -> Self {
        WebFlow {
            host,
            client_id: client_id.into(),
            client_secret,
            redirect_uri,
            http: HttpContext::default(),
        }
    }

    http_setters!(clock: "The clock that stamps token responses (default: system clock).");

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Starts an authorization: the URL to open in the user's browser (`{web}/login/oauth/authorize` with
    /// `client_id`, `redirect_uri`, `scope`, a fresh 256-bit `state` and a PKCE S256 challenge), and the
    /// pending authorization to finish it with.
    pub fn authorize_url<S: AsRef<str>>(
        &self,
        scopes: &[S],
    ) -> Result<(Url, PendingAuthorization), AuthError> {
        let state = random_token(32)?;
        // 48 random bytes encode to 64 unreserved characters: inside RFC 7636's 43..=128.
        let code_verifier = random_token(48)?;
        let pending = PendingAuthorization {
            state,
            code_verifier,
            redirect_uri: self.redirect_uri.clone(),
        };
        let mut url = self.host.web_endpoint(AUTHORIZE_PATH);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.client_id);
            query.append_pair("redirect_uri", self.redirect_uri.as_str());
            let scope = scopes
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(" ");
            if !scope.is_empty() {
                query.append_pair("scope", &scope);
            }
            query.append_pair("state", pending.state.expose_secret());
            query.append_pair("code_challenge", &pending.code_challenge());
            query.append_pair("code_challenge_method", "S256");
        }
        Ok((url, pending))
    }

    /// Finishes an authorization from the callback's parameters: checks the state (constant time, before
    /// anything else), turns `error=…` into typed errors, and exchanges the code.
    pub async fn complete(
        &self,
        pending: PendingAuthorization,
        callback: &CallbackParams,
    ) -> Result<GitHubTokenResponse, AuthError> {
        let returned_state = callback.state.as_deref().unwrap_or("");
        if !pending.state_matches(returned_state) {
            return Err(AuthError::StateMismatch);
        }
        if let Some(code) = &callback.error {
            return Err(oauth_error(code, callback.error_description.clone()));
        }
        let code = callback
            .code
            .as_ref()
            .ok_or(AuthError::MissingCallbackCode)?;
        self.exchange(pending, code.expose_secret(), returned_state)
            .await
    }

    /// Exchanges an authorization code for a token (`POST {web}/login/oauth/access_token`), after checking
    /// in constant time that `returned_state` is the pending authorization's state. On a mismatch nothing is
    /// sent.
    pub async fn exchange(
        &self,
        pending: PendingAuthorization,
        code: &str,
        returned_state: &str,
    ) -> Result<GitHubTokenResponse, AuthError> {
        if !pending.state_matches(returned_state) {
            tracing::debug!("OAuth state mismatch; callback refused");
            return Err(AuthError::StateMismatch);
        }
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("code", code),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("code_verifier", pending.code_verifier.expose_secret()),
        ];
        self.http
            .request_token(&self.host, &form)
            .await?
            .into_token("authorization_code")
    }

    /// A refresher for this app's expiring GitHub App user tokens (sends the client secret).
    pub fn refresher(&self) -> TokenRefresher {
        TokenRefresher::new(self.host.clone(), self.client_id.clone())
            .client_secret(self.client_secret.clone())
            .with_http(self.http.clone())
    }
}
