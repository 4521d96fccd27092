//! Mutable server state shared by all handlers (behind one std mutex, never held across `.await`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::config::{
    ClientKind, DeviceScenario, MockClient, MockConfig, MockOrg, MockUser, ReplayTranscript,
    WebFlowDecision,
};
use crate::fault::{Endpoint, Fault, FaultRule};
use crate::ids;

/// Six months, GitHub's `refresh_token_expires_in`.
pub(crate) const REFRESH_TOKEN_LIFETIME_SECS: u64 = 15_811_200;
/// Web-flow codes are valid for 10 minutes.
pub(crate) const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(600);

/// A GitHub token the mock will accept.
#[derive(Debug, Clone)]
pub(crate) struct GitHubToken {
    pub login: String,
    pub allow_listed: bool,
    pub expires_at: Option<SystemTime>,
    pub revoked: bool,
    pub scopes: String,
}

impl GitHubToken {
    pub fn usable(&self) -> bool {
        !self.revoked && self.expires_at.is_none_or(|t| SystemTime::now() < t)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved(String),
    Denied,
    Consumed,
}

/// One device authorization.
#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub issued: Instant,
    pub expires_at: Instant,
    pub interval: u64,
    pub last_poll: Option<Instant>,
    pub pending_polls: u32,
    pub slow_down_sent: bool,
    pub status: DeviceStatus,
    pub scenario: DeviceScenario,
}

/// One web-flow authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub challenge: Option<String>,
    pub login: String,
    pub scope: String,
    pub issued: Instant,
    pub used: bool,
}

/// One `ghr_` refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub login: String,
    pub client_id: String,
    pub access_token: String,
    pub expires_at: SystemTime,
    pub used: bool,
    pub needs_secret: bool,
}

/// One exchanged Copilot token.
#[derive(Debug, Clone)]
pub(crate) struct CopilotTokenRecord {
    pub login: String,
    pub expires_at: SystemTime,
}

/// Everything that changes while the mock runs.
#[derive(Debug)]
pub(crate) struct State {
    pub users: HashMap<String, MockUser>,
    pub orgs: Vec<MockOrg>,
    pub clients: HashMap<String, MockClient>,
    pub github_tokens: HashMap<String, GitHubToken>,
    pub devices: Vec<DeviceGrant>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub copilot_tokens: HashMap<String, CopilotTokenRecord>,
    pub faults: Vec<FaultRule>,
    pub device_scenario: DeviceScenario,
    pub web_flow: WebFlowDecision,
    pub replay: Option<ReplayTranscript>,
    pub model_policies: HashMap<String, String>,
    /// Auto-model session tokens handed out: token → (login, expiry in unix seconds).
    pub auto_sessions: HashMap<String, (String, u64)>,
    pub slow_downs: u64,
    pub github_token_lifetime: Duration,
    /// How WebSocket upgrades of `/responses` are answered.
    pub ws_upgrade: crate::config::WsUpgrade,
    /// WebSocket upgrades of `/responses` attempted (authenticated or not, refused or not).
    pub ws_upgrades: u64,
    /// WebSocket sockets opened on `/responses`.
    pub ws_sockets: u64,
}

impl State {
    pub fn new(config: &MockConfig) -> Self {
        let mut state = Self {
            users: config
                .users
                .iter()
                .map(|u| (u.login.clone(), u.clone()))
                .collect(),
            orgs: config.orgs.clone(),
            clients: config
                .clients
                .iter()
                .map(|c| (c.client_id.clone(), c.clone()))
                .collect(),
            github_tokens: HashMap::new(),
            devices: Vec::new(),
            auth_codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            copilot_tokens: HashMap::new(),
            faults: config.faults.clone(),
            device_scenario: config.device.clone(),
            web_flow: config.web_flow.clone(),
            replay: config.replay.clone(),
            model_policies: crate::copilot::models::initial_policies(),
            auto_sessions: HashMap::new(),
            slow_downs: 0,
            github_token_lifetime: config.github_token_lifetime,
            ws_upgrade: config.ws_upgrade,
            ws_upgrades: 0,
            ws_sockets: 0,
        };
        for t in &config.tokens {
            state.register_token(&t.token, &t.login, t.allow_listed);
        }
        state
    }

    pub fn register_token(&mut self, token: &str, login: &str, allow_listed: bool) {
        self.github_tokens.insert(
            token.to_string(),
            GitHubToken {
                login: login.to_string(),
                allow_listed,
                expires_at: None,
                revoked: false,
                scopes: String::new(),
            },
        );
    }

    /// Takes the fault for `endpoint`, counting down "next N" rules.
    pub fn take_fault(&mut self, endpoint: Endpoint, headers: &http::HeaderMap) -> Option<Fault> {
        let pos = self
            .faults
            .iter()
            .position(|r| r.matches(endpoint, headers))?;
        let rule = &mut self.faults[pos];
        let fault = rule.fault.clone();
        if let Some(n) = rule.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.faults.remove(pos);
            }
        }
        Some(fault)
    }

    /// Issues a user token for `client` and returns GitHub's success body.
    /// `needs_secret`: whether a later refresh must present the client secret (web flow).
    pub fn issue_user_token(
        &mut self,
        client: &MockClient,
        login: &str,
        scope: &str,
        needs_secret: bool,
    ) -> Value {
        let (access_token, scope) = match client.kind {
            ClientKind::OAuthApp => (ids::oauth_token(), scope.replace(' ', ",")),
            ClientKind::GitHubApp => (ids::user_to_server_token(), String::new()),
        };
        let expiring = client.kind == ClientKind::GitHubApp && client.expiring_tokens;
        let expires_at = expiring.then(|| SystemTime::now() + self.github_token_lifetime);
        self.github_tokens.insert(
            access_token.clone(),
            GitHubToken {
                login: login.to_string(),
                allow_listed: client.allow_listed,
                expires_at,
                revoked: false,
                scopes: scope.clone(),
            },
        );
        let mut body = json!({
            "access_token": access_token,
            "token_type": "bearer",
            "scope": scope,
        });
        if expiring {
            let refresh = ids::refresh_token();
            self.refresh_tokens.insert(
                refresh.clone(),
                RefreshGrant {
                    login: login.to_string(),
                    client_id: client.client_id.clone(),
                    access_token,
                    expires_at: SystemTime::now()
                        + Duration::from_secs(REFRESH_TOKEN_LIFETIME_SECS),
                    used: false,
                    needs_secret,
                },
            );
            body["expires_in"] = json!(self.github_token_lifetime.as_secs());
            body["refresh_token"] = json!(refresh);
            body["refresh_token_expires_in"] = json!(REFRESH_TOKEN_LIFETIME_SECS);
        }
        body
    }

    /// The user behind a usable GitHub token.
    pub fn github_user(&self, token: &str) -> Option<(&GitHubToken, &MockUser)> {
        let record = self.github_tokens.get(token).filter(|t| t.usable())?;
        let user = self.users.get(&record.login)?;
        Some((record, user))
    }
}
