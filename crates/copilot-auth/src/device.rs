//! The OAuth device authorization grant (RFC 8628) as GitHub runs it (`docs/protocol.md` §2).

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, SystemTime};

use copilot_http::GitHubHost;
use copilot_http::time::{SharedSleep, Sleep};
use secrecy::{ExposeSecret, SecretString};

use crate::http::{HttpContext, OAuthReply, TokenReply, http_setters, parse_oauth_reply};
use crate::{AuthError, GitHubTokenResponse};

/// The grant type of device-flow polls.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the server asks when it does not say: RFC 8628 defaults.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);
/// RFC 8628 §3.5: on `slow_down` without a new interval, add 5 seconds.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

const DEVICE_CODE_PATH: &str = "/login/device/code";

/// Signs a user in on another device: the user opens [`DeviceCode::verification_uri`] and types
/// [`DeviceCode::user_code`], while this side polls for the token.
///
/// The library never prints or opens a browser: show the [`DeviceCode`] yourself.
#[derive(Debug, Clone)]
pub struct DeviceFlow {
    host: GitHubHost,
    client_id: String,
    scopes: Vec<String>,
    http: HttpContext,
}

/// The answer of step 1: what to show the user, and the (secret) device code to poll with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCode {
    device_code: SecretString,
    /// The code the user types, e.g. `WDJB-MJHT`. Checked on arrival: non-empty, at most 64 characters, no
    /// control characters.
    pub user_code: String,
    /// Where the user types it, e.g. `https://github.com/login/device`. Checked on arrival: https (or http
    /// to loopback), no userinfo, no control characters; anything else fails
    /// [`DeviceFlow::start`] with [`AuthError::MalformedResponse`].
    pub verification_uri: String,
    /// A URI with the code filled in, if the server sent one (GitHub does not) and it passes the same checks
    /// as `verification_uri` (otherwise dropped).
    pub verification_uri_complete: Option<String>,
    /// How long the device code lives.
    pub expires_in: Duration,
    /// `t0 + expires_in`, by the flow's clock: polling stops here even if the server never says
    /// `expired_token`.
    pub expires_at: SystemTime,
    /// The minimum wait between polls.
    pub interval: Duration,
}

impl DeviceCode {
    /// The device code. A secret: whoever holds it receives the token once the user approves.
    pub fn device_code(&self) -> &SecretString {
        &self.device_code
    }
}

/// The result of one poll that did not fail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PollOutcome {
    /// The user has not finished yet (`authorization_pending`): poll again after the current interval.
    Pending,
    /// Polled too fast (`slow_down`): from now on wait `interval` between polls (the server's value, else
    /// the previous interval plus 5 seconds).
    SlowDown {
        /// The new interval.
        interval: Duration,
    },
    /// The user approved: here is the token.
    Complete(GitHubTokenResponse),
}

/// Progress of [`DeviceFlow::wait_with`], for spinners and status lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollEvent {
    /// The server said `authorization_pending`.
    Pending {
        /// How many polls have been sent so far.
        attempt: u32,
    },
    /// The server said `slow_down`; polling continues at `interval`.
    SlowDown {
        /// How many polls have been sent so far.
        attempt: u32,
        /// The new interval.
        interval: Duration,
    },
    /// A poll failed transiently (network error, 5xx, 429); polling continues at the current interval.
    Retrying {
        /// How many polls have been sent so far.
        attempt: u32,
        /// What went wrong (never contains a secret).
        reason: String,
    },
}

enum RawPoll {
    Pending,
    SlowDown(Option<Duration>),
    Complete(GitHubTokenResponse),
}

impl DeviceFlow {
    /// A device flow for the OAuth or GitHub App `client_id` on `host`. Device flow must be enabled in the
    /// app's settings; no client secret is used. See [`crate::client_ids`] for well-known ids.
    pub fn new(host: GitHubHost, client_id: impl Into<String>) -> Self {
        DeviceFlow {
            host,
            client_id: client_id.into(),
            scopes: Vec::new(),
            http: HttpContext::default(),
        }
    }

    /// Scopes to request (OAuth Apps; GitHub Apps ignore them). The Copilot editor app asks for `read:user`.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    http_setters!(
        clock: "The clock that sets [`DeviceCode::expires_at`] and the deadline checks (default: system clock)."
    );

    /// The sleeper that waits between polls (default: tokio's sleep).
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.http.sleep = SharedSleep::new(sleep);
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The host.
    pub fn host(&self) -> &GitHubHost {
        &self.host
    }

    /// Step 1: asks for a device code (`POST {web}/login/device/code`).
    pub async fn start(&self) -> Result<DeviceCode, AuthError> {
        let url = self.host.web_endpoint(DEVICE_CODE_PATH);
        let scope = self.scopes.join(" ");
        let mut form = vec![("client_id", self.client_id.as_str())];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        let t0 = self.http.clock.now();
        let reply = self.http.post_form(&url, &form).await?;
        let raw = match parse_oauth_reply(&reply, DEVICE_CODE_PATH)? {
            OAuthReply::Error(error) => return Err(error.into()),
            OAuthReply::Body(raw) => raw,
        };
        let malformed = |what: &str| AuthError::MalformedResponse {
            endpoint: DEVICE_CODE_PATH.to_owned(),
            message: format!("missing `{what}`"),
        };
        let device_code = raw
            .device_code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| malformed("device_code"))?;
        let user_code = raw.user_code.ok_or_else(|| malformed("user_code"))?;
        if !is_displayable_user_code(&user_code) {
            return Err(AuthError::MalformedResponse {
                endpoint: DEVICE_CODE_PATH.to_owned(),
                message: "`user_code` is empty, too long or contains control characters".to_owned(),
            });
        }
        let verification_uri = raw
            .verification_uri
            .ok_or_else(|| malformed("verification_uri"))?;
        if let Err(reason) = check_verification_uri(&verification_uri) {
            return Err(AuthError::MalformedResponse {
                endpoint: DEVICE_CODE_PATH.to_owned(),
                message: format!("`verification_uri` refused: {reason}"),
            });
        }
        let verification_uri_complete = raw.verification_uri_complete.filter(|uri| {
            let usable = check_verification_uri(uri).is_ok();
            if !usable {
                tracing::debug!("ignoring an unusable `verification_uri_complete`");
            }
            usable
        });
        let expires_in = raw
            .expires_in
            .map_or(DEFAULT_EXPIRES_IN, Duration::from_secs);
        // An interval of 0 would poll in a hot loop; RFC 8628's default applies instead.
        let interval = raw
            .interval
            .filter(|&i| i > 0)
            .map_or(DEFAULT_INTERVAL, Duration::from_secs);
        tracing::debug!(
            expires_in = expires_in.as_secs(),
            interval = interval.as_secs(),
            "device code issued"
        );
        Ok(DeviceCode {
            device_code: SecretString::from(device_code),
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
            expires_at: copilot_http::time::saturating_add(t0, expires_in),
            interval,
        })
    }

    async fn poll_raw(&self, code: &DeviceCode) -> Result<RawPoll, AuthError> {
        let form = [
            ("client_id", self.client_id.as_str()),
            ("device_code", code.device_code.expose_secret()),
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
        ];
        match self.http.request_token(&self.host, &form).await? {
            TokenReply::Error(error) if error.code == "authorization_pending" => {
                Ok(RawPoll::Pending)
            }
            TokenReply::Error(error) if error.code == "slow_down" => Ok(RawPoll::SlowDown(
                error.interval.filter(|&i| i > 0).map(Duration::from_secs),
            )),
            reply => {
                let token = reply.into_token(DEVICE_CODE_GRANT_TYPE)?;
                tracing::debug!("device flow completed");
                Ok(RawPoll::Complete(token))
            }
        }
    }

    /// Step 2, once: polls `POST {web}/login/oauth/access_token` without waiting first. Callers that drive
    /// their own loop must wait [`DeviceCode::interval`] (or the latest `SlowDown` interval) before every
    /// poll, including the first.
    pub async fn poll_once(&self, code: &DeviceCode) -> Result<PollOutcome, AuthError> {
        Ok(match self.poll_raw(code).await? {
            RawPoll::Pending => PollOutcome::Pending,
            RawPoll::SlowDown(server) => PollOutcome::SlowDown {
                interval: server.unwrap_or(code.interval.saturating_add(SLOW_DOWN_STEP)),
            },
            RawPoll::Complete(token) => PollOutcome::Complete(token),
        })
    }

    /// Step 2: waits for the user, polling by the rules (see [`DeviceFlow::wait_with`]).
    pub async fn wait(&self, code: &DeviceCode) -> Result<GitHubTokenResponse, AuthError> {
        self.wait_with(code, std::future::pending(), |_| {}).await
    }

    /// Step 2 with cancellation and progress: waits the current interval before every poll (including
    /// the first), adopts the `slow_down` interval (the server's value, else +5 s), and stops with
    /// [`AuthError::ExpiredDeviceCode`] when the next poll would happen at or after
    /// [`DeviceCode::expires_at`]. Transient failures (network errors, 5xx, 429) are reported as
    /// [`PollEvent::Retrying`] and polling goes on; every other error ends the wait.
    ///
    /// When `cancel` completes the wait ends with [`AuthError::Cancelled`] (pass
    /// `token.cancelled()` of a `tokio_util` `CancellationToken`, a channel receiver, …).
    pub async fn wait_with<C, F>(
        &self,
        code: &DeviceCode,
        cancel: C,
        mut on_event: F,
    ) -> Result<GitHubTokenResponse, AuthError>
    where
        C: Future<Output = ()>,
        F: FnMut(&PollEvent),
    {
        let mut cancel = pin!(cancel);
        let mut interval = code.interval;
        let mut attempt = 0u32;
        loop {
            if copilot_http::time::saturating_add(self.http.clock.now(), interval)
                >= code.expires_at
            {
                tracing::debug!(attempt, "device code deadline reached");
                return Err(AuthError::ExpiredDeviceCode);
            }
            tokio::select! {
                biased;
                () = &mut cancel => return Err(AuthError::Cancelled),
                () = self.http.sleep.sleep(interval) => {}
            }
            attempt += 1;
            let result = tokio::select! {
                biased;
                () = &mut cancel => return Err(AuthError::Cancelled),
                result = self.poll_raw(code) => result,
            };
            match result {
                Ok(RawPoll::Complete(token)) => return Ok(token),
                Ok(RawPoll::Pending) => on_event(&PollEvent::Pending { attempt }),
                Ok(RawPoll::SlowDown(server)) => {
                    interval = server.unwrap_or(interval.saturating_add(SLOW_DOWN_STEP));
                    tracing::debug!(interval = interval.as_secs(), "device flow slow_down");
                    on_event(&PollEvent::SlowDown { attempt, interval });
                }
                Err(error) if error.is_transient() => {
                    tracing::debug!(%error, attempt, "device flow poll failed transiently");
                    on_event(&PollEvent::Retrying {
                        attempt,
                        reason: error.to_string(),
                    });
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// The longest `user_code` accepted (GitHub's are 9 characters, `WDJB-MJHT`).
const MAX_USER_CODE: usize = 64;

/// A code a user can read off a terminal and type: non-empty, short, no control characters (no terminal
/// escape sequences).
fn is_displayable_user_code(code: &str) -> bool {
    !code.is_empty() && code.chars().count() <= MAX_USER_CODE && !code.chars().any(char::is_control)
}

/// A verification URI the user may be sent to: copilot-http's rule for links a server asks the user to
/// open ([`check_openable_link`](copilot_http::safety::check_openable_link)), which the CLI applies again
/// before opening it.
fn check_verification_uri(uri: &str) -> Result<(), &'static str> {
    copilot_http::safety::check_openable_link(uri).map(drop)
}
