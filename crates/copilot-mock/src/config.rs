//! Start-up configuration: identities, OAuth apps, tokens, scenarios and behaviour knobs.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::error::MockError;
use crate::fault::FaultRule;

/// Client id of the GitHub Copilot GitHub App (`ghu_` tokens, allow-listed for the exchange).
pub const COPILOT_CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";
/// Client id of VS Code's GitHub auth OAuth App (`gho_` tokens, allow-listed for the exchange).
pub const VSCODE_CLIENT_ID: &str = "01ab8ac9400c4e429b23";
/// Client id of the default "own" GitHub App used for web-flow and refresh tests (not allow-listed).
pub const WEB_APP_CLIENT_ID: &str = "Iv23liMockWebApp0001";
/// Client secret of [`WEB_APP_CLIENT_ID`].
pub const WEB_APP_CLIENT_SECRET: &str = "mock-web-app-client-secret";
/// Callback registered for [`WEB_APP_CLIENT_ID`]; any loopback port is accepted.
pub const WEB_APP_REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// Login of the user that exists in every default configuration.
pub const DEFAULT_LOGIN: &str = "octocat";

/// Where the GitHub REST API lives on the mock's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HostLayout {
    /// REST under `/api` (stands in for `api.github.com`).
    #[default]
    Dotcom,
    /// GitHub Enterprise Server layout: REST under `/api/v3`.
    Ghes,
}

impl HostLayout {
    pub(crate) fn rest_prefix(self) -> &'static str {
        match self {
            HostLayout::Dotcom => "/api",
            HostLayout::Ghes => "/api/v3",
        }
    }
}

/// A GitHub user known to the mock.
#[derive(Debug, Clone)]
pub struct MockUser {
    pub(crate) login: String,
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) email: Option<String>,
    pub(crate) orgs: Vec<String>,
    pub(crate) copilot: CopilotAccess,
}

impl MockUser {
    /// A user with an individual Copilot seat and no organisations.
    pub fn new(login: impl Into<String>) -> Self {
        let login = login.into();
        Self {
            id: stable_id(&login),
            name: login.clone(),
            email: None,
            orgs: Vec::new(),
            copilot: CopilotAccess::Seat(CopilotSeat::individual()),
            login,
        }
    }
    /// Numeric user id (default: derived from the login).
    pub fn id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }
    /// Display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Public e-mail.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
    /// Adds membership of organisation `org` (the org must also be configured with [`MockConfig::org`]
    /// to show details; unknown orgs are synthesised).
    pub fn org(mut self, org: impl Into<String>) -> Self {
        self.orgs.push(org.into());
        self
    }
    /// Copilot entitlement of this user.
    pub fn copilot(mut self, access: impl Into<CopilotAccess>) -> Self {
        self.copilot = access.into();
        self
    }
}

/// Whether a user has Copilot, and which seat.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CopilotAccess {
    /// The user has a seat; the exchange succeeds.
    Seat(CopilotSeat),
    /// No entitlement: the exchange answers 403 with GitHub's error envelope.
    NoAccess {
        /// `error_details.notification_id`, e.g. `no_copilot_access`, `subscription_ended`.
        notification_id: String,
        /// `can_signup_for_limited` (true = the user could enable Copilot Free).
        can_signup_for_limited: bool,
    },
}

impl CopilotAccess {
    /// No Copilot at all (`no_copilot_access`, may sign up for Free).
    pub fn none() -> Self {
        CopilotAccess::NoAccess {
            notification_id: "no_copilot_access".into(),
            can_signup_for_limited: true,
        }
    }
}

impl From<CopilotSeat> for CopilotAccess {
    fn from(seat: CopilotSeat) -> Self {
        CopilotAccess::Seat(seat)
    }
}

/// A Copilot seat: plan, sku and quota snapshot values.
#[derive(Debug, Clone)]
pub struct CopilotSeat {
    pub(crate) plan: String,
    pub(crate) sku: String,
    pub(crate) tier: &'static str,
    pub(crate) individual: bool,
    pub(crate) chat_remaining: i64,
    pub(crate) premium_entitlement: i64,
    pub(crate) premium_remaining: i64,
    pub(crate) unlimited_chat: bool,
}

impl CopilotSeat {
    fn with(plan: &str, sku: &str, tier: &'static str, individual: bool) -> Self {
        Self {
            plan: plan.into(),
            sku: sku.into(),
            tier,
            individual,
            chat_remaining: 0,
            premium_entitlement: 300,
            premium_remaining: 300,
            unlimited_chat: true,
        }
    }
    /// Copilot Pro (`copilot_plan: individual`, sku `copilot_individual`).
    pub fn individual() -> Self {
        Self::with("individual", "copilot_individual", "individual", true)
    }
    /// Copilot Business (`copilot_for_business_seat_quota`).
    pub fn business() -> Self {
        Self::with(
            "business",
            "copilot_for_business_seat_quota",
            "business",
            false,
        )
    }
    /// Copilot Enterprise (`copilot_enterprise_seat_quota`).
    pub fn enterprise() -> Self {
        Self::with(
            "enterprise",
            "copilot_enterprise_seat_quota",
            "enterprise",
            false,
        )
    }
    /// Copilot Free (`free_limited_copilot`): limited chat quota.
    pub fn free() -> Self {
        let mut seat = Self::with("free", "free_limited_copilot", "individual", true);
        seat.unlimited_chat = false;
        seat.chat_remaining = 50;
        seat.premium_entitlement = 50;
        seat.premium_remaining = 50;
        seat
    }
    /// Premium-interactions entitlement and remaining value; `remaining` may be negative (overage).
    pub fn premium(mut self, entitlement: i64, remaining: i64) -> Self {
        self.premium_entitlement = entitlement;
        self.premium_remaining = remaining;
        self
    }
}

/// An organisation known to the mock.
#[derive(Debug, Clone)]
pub struct MockOrg {
    pub(crate) login: String,
    pub(crate) id: u64,
    pub(crate) description: String,
}

impl MockOrg {
    /// An organisation with an id derived from its login.
    pub fn new(login: impl Into<String>) -> Self {
        let login = login.into();
        Self {
            id: stable_id(&login),
            description: format!("The {login} organisation"),
            login,
        }
    }
    /// Description shown in `/user/orgs`.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

/// What kind of GitHub application a client id belongs to; decides token prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientKind {
    /// OAuth App: issues `gho_` tokens, scopes apply, redirect URIs match by prefix.
    OAuthApp,
    /// GitHub App: issues `ghu_` tokens (with `ghr_` refresh tokens when expiring), exact redirect URIs.
    GitHubApp,
}

/// An OAuth client (OAuth App or GitHub App) that can sign users in.
#[derive(Debug, Clone)]
pub struct MockClient {
    pub(crate) client_id: String,
    pub(crate) kind: ClientKind,
    pub(crate) secret: Option<String>,
    pub(crate) expiring_tokens: bool,
    pub(crate) device_flow: bool,
    pub(crate) allow_listed: bool,
    pub(crate) redirect_uris: Vec<String>,
}

impl MockClient {
    fn with(client_id: String, kind: ClientKind) -> Self {
        Self {
            client_id,
            kind,
            secret: None,
            expiring_tokens: false,
            device_flow: true,
            allow_listed: false,
            redirect_uris: Vec::new(),
        }
    }
    /// An OAuth App (`gho_` tokens), not allow-listed for the exchange, device flow enabled.
    pub fn oauth_app(client_id: impl Into<String>) -> Self {
        Self::with(client_id.into(), ClientKind::OAuthApp)
    }
    /// A GitHub App (`ghu_` tokens), not allow-listed, device flow enabled, non-expiring tokens.
    pub fn github_app(client_id: impl Into<String>) -> Self {
        Self::with(client_id.into(), ClientKind::GitHubApp)
    }
    /// The Copilot GitHub App [`COPILOT_CLIENT_ID`]: allow-listed, long-lived `ghu_` tokens.
    pub fn copilot_app() -> Self {
        Self::github_app(COPILOT_CLIENT_ID).allow_listed(true)
    }
    /// VS Code's OAuth App [`VSCODE_CLIENT_ID`]: allow-listed, `gho_` tokens.
    pub fn vscode_app() -> Self {
        Self::oauth_app(VSCODE_CLIENT_ID).allow_listed(true)
    }
    /// The default own GitHub App [`WEB_APP_CLIENT_ID`]: secret, expiring tokens, loopback callback.
    pub fn web_app() -> Self {
        Self::github_app(WEB_APP_CLIENT_ID)
            .secret(WEB_APP_CLIENT_SECRET)
            .expiring_tokens(true)
            .redirect_uri(WEB_APP_REDIRECT_URI)
    }
    /// Client secret required by the code exchange and web-flow refreshes.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }
    /// GitHub App tokens expire in 8 h and come with a `ghr_` refresh token.
    pub fn expiring_tokens(mut self, expiring: bool) -> Self {
        self.expiring_tokens = expiring;
        self
    }
    /// Whether the device flow is enabled (else `device_flow_disabled`).
    pub fn device_flow(mut self, enabled: bool) -> Self {
        self.device_flow = enabled;
        self
    }
    /// Whether tokens of this app may use the Copilot token exchange (else 404).
    pub fn allow_listed(mut self, allow_listed: bool) -> Self {
        self.allow_listed = allow_listed;
        self
    }
    /// Adds a registered callback URL.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }
}

/// A GitHub token that exists before the test starts (PATs, imported editor tokens, …).
///
/// Prefix rules: `ghp_` is always refused by the exchange (404), `github_pat_` gets 403 from the
/// exchange and is accepted in Direct mode only with `Copilot-Integration-Id: copilot-developer-cli`.
#[derive(Debug, Clone)]
pub struct RegisteredToken {
    pub(crate) token: String,
    pub(crate) login: String,
    pub(crate) allow_listed: bool,
}

impl RegisteredToken {
    /// `token` belongs to user `login`; allow-listed for the exchange by default.
    pub fn new(token: impl Into<String>, login: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            login: login.into(),
            allow_listed: true,
        }
    }
    /// Whether the token was minted by an allow-listed app (else the exchange answers 404).
    pub fn allow_listed(mut self, allow_listed: bool) -> Self {
        self.allow_listed = allow_listed;
        self
    }
}

/// How a device-flow authorization ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceOutcome {
    /// Answer `authorization_pending` to the first N polls, then issue a token.
    ApproveAfterPolls(u32),
    /// Answer `authorization_pending` until this much time has passed since the code was issued.
    ApproveAfterDelay(Duration),
    /// The user pressed cancel: `access_denied`.
    Deny,
    /// The code expired: `expired_token`.
    Expire,
    /// Stay pending until [`crate::MockServer::approve_device`] / [`crate::MockServer::deny_device`]
    /// or `POST /login/device` with `user_code`.
    Manual,
}

/// Device-flow scenario knobs.
#[derive(Debug, Clone)]
pub struct DeviceScenario {
    pub(crate) outcome: DeviceOutcome,
    pub(crate) login: String,
    pub(crate) interval: u64,
    pub(crate) expires_in: u64,
    pub(crate) slow_down_once: bool,
}

impl Default for DeviceScenario {
    fn default() -> Self {
        Self {
            outcome: DeviceOutcome::ApproveAfterPolls(1),
            login: DEFAULT_LOGIN.into(),
            interval: 5,
            expires_in: 900,
            slow_down_once: false,
        }
    }
}

impl DeviceScenario {
    /// GitHub's defaults: interval 5 s, expires in 900 s, approve after one pending poll, as `octocat`.
    pub fn new() -> Self {
        Self::default()
    }
    /// How the authorization ends.
    pub fn outcome(mut self, outcome: DeviceOutcome) -> Self {
        self.outcome = outcome;
        self
    }
    /// Which user approves.
    pub fn login(mut self, login: impl Into<String>) -> Self {
        self.login = login.into();
        self
    }
    /// The `interval` handed out (seconds). Polls sooner than the interval in force get `slow_down`;
    /// 0 disables that check.
    pub fn interval(mut self, seconds: u64) -> Self {
        self.interval = seconds;
        self
    }
    /// The `expires_in` handed out (seconds); polls after it get `expired_token`.
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }
    /// Answer the first poll of every code with `slow_down` (interval + 5), whatever its timing.
    pub fn slow_down_once(mut self, enabled: bool) -> Self {
        self.slow_down_once = enabled;
        self
    }
}

/// What the simulated user does on `GET /login/oauth/authorize`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebFlowDecision {
    /// Redirect with `code` and `state`, signed in as this login.
    Approve(String),
    /// Redirect with `error=access_denied` and `state`.
    Deny,
}

impl Default for WebFlowDecision {
    fn default() -> Self {
        WebFlowDecision::Approve(DEFAULT_LOGIN.into())
    }
}

/// An SSE transcript served verbatim on `/chat/completions` in small pieces.
#[derive(Debug, Clone)]
pub struct ReplayTranscript {
    pub(crate) bytes: Bytes,
    pub(crate) piece_size: usize,
}

impl ReplayTranscript {
    /// Serves `bytes` verbatim, 16 bytes per write.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self {
            bytes: bytes.into(),
            piece_size: 16,
        }
    }
    /// Reads a transcript file (e.g. a `.sse` fixture).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, MockError> {
        let path = path.as_ref();
        std::fs::read(path)
            .map(Self::from_bytes)
            .map_err(|source| MockError::ReadTranscript {
                path: path.to_path_buf(),
                source,
            })
    }
    /// Bytes per write (minimum 1).
    pub fn piece_size(mut self, bytes: usize) -> Self {
        self.piece_size = bytes.max(1);
        self
    }
    /// Turns single-`\n` event separators (as in the fixture files) into blank lines, so that
    /// spec-compliant parsers see one event per `data:` line. Without this the bytes are verbatim.
    pub fn blank_line_separated(mut self) -> Self {
        let text = String::from_utf8_lossy(&self.bytes);
        let mut out = String::with_capacity(text.len() * 2);
        for line in text.lines() {
            if !line.is_empty() {
                out.push_str(line);
                out.push_str("\n\n");
            }
        }
        self.bytes = Bytes::from(out);
        self
    }
}

/// Everything [`crate::MockServer::start`] needs. `MockConfig::new()` gives a working default:
/// user `octocat` (individual seat, orgs `octo-org` and `github`), the Copilot, VS Code and own web
/// apps, GitHub's device-flow defaults and a 30-minute Copilot token.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub(crate) port: u16,
    pub(crate) layout: HostLayout,
    pub(crate) users: Vec<MockUser>,
    pub(crate) orgs: Vec<MockOrg>,
    pub(crate) clients: Vec<MockClient>,
    pub(crate) tokens: Vec<RegisteredToken>,
    pub(crate) device: DeviceScenario,
    pub(crate) web_flow: WebFlowDecision,
    pub(crate) copilot_token_lifetime: Duration,
    pub(crate) copilot_refresh_in: u64,
    pub(crate) github_token_lifetime: Duration,
    pub(crate) direct_mode: bool,
    pub(crate) provider_key: Option<String>,
    pub(crate) auto_model: bool,
    pub(crate) chunk_model_fields: bool,
    pub(crate) long_answer_chunks: Option<usize>,
    pub(crate) replay: Option<ReplayTranscript>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) ws_upgrade: WsUpgrade,
}

/// How the mock answers a WebSocket upgrade of `GET {api}/responses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WsUpgrade {
    /// Upgrade (after the same authentication as the HTTP call) and answer `response.create` messages.
    #[default]
    Accept,
    /// Refuse the upgrade with this status and a `text/plain` body (e.g. 501 or 426), as a server or proxy
    /// without WebSocket support does.
    Reject {
        /// The HTTP status of the refusal.
        status: u16,
    },
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            port: 0,
            layout: HostLayout::Dotcom,
            users: vec![
                MockUser::new(DEFAULT_LOGIN)
                    .id(583231)
                    .name("The Octocat")
                    .email("octocat@github.com")
                    .org("octo-org")
                    .org("github"),
            ],
            orgs: vec![MockOrg::new("octo-org"), MockOrg::new("github")],
            clients: vec![
                MockClient::copilot_app(),
                MockClient::vscode_app(),
                MockClient::web_app(),
            ],
            tokens: Vec::new(),
            device: DeviceScenario::default(),
            web_flow: WebFlowDecision::default(),
            copilot_token_lifetime: Duration::from_secs(1800),
            copilot_refresh_in: 1500,
            github_token_lifetime: Duration::from_secs(28800),
            direct_mode: false,
            provider_key: None,
            auto_model: true,
            chunk_model_fields: false,
            long_answer_chunks: None,
            replay: None,
            faults: Vec::new(),
            ws_upgrade: WsUpgrade::Accept,
        }
    }
}

impl MockConfig {
    /// The default configuration (see the type docs).
    pub fn new() -> Self {
        Self::default()
    }
    /// Port to bind on 127.0.0.1 (default 0 = any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// REST layout (`/api` or GHES `/api/v3`).
    pub fn layout(mut self, layout: HostLayout) -> Self {
        self.layout = layout;
        self
    }
    /// Adds a user (replaces a user with the same login).
    pub fn user(mut self, user: MockUser) -> Self {
        self.users.retain(|u| u.login != user.login);
        self.users.push(user);
        self
    }
    /// Adds an organisation.
    pub fn org(mut self, org: MockOrg) -> Self {
        self.orgs.retain(|o| o.login != org.login);
        self.orgs.push(org);
        self
    }
    /// Adds an OAuth client (replaces one with the same client id).
    pub fn client(mut self, client: MockClient) -> Self {
        self.clients.retain(|c| c.client_id != client.client_id);
        self.clients.push(client);
        self
    }
    /// Pre-registers a GitHub token (PAT, imported editor token, …).
    pub fn token(mut self, token: RegisteredToken) -> Self {
        self.tokens.push(token);
        self
    }
    /// Device-flow scenario.
    pub fn device(mut self, scenario: DeviceScenario) -> Self {
        self.device = scenario;
        self
    }
    /// Web-flow decision.
    pub fn web_flow(mut self, decision: WebFlowDecision) -> Self {
        self.web_flow = decision;
        self
    }
    /// Lifetime of exchanged Copilot tokens (`expires_at = now + lifetime`).
    pub fn copilot_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.copilot_token_lifetime = lifetime;
        self
    }
    /// `refresh_in` (seconds) in the exchange envelope.
    pub fn copilot_refresh_in(mut self, seconds: u64) -> Self {
        self.copilot_refresh_in = seconds;
        self
    }
    /// Lifetime of expiring `ghu_` tokens (`expires_in`, default 28800 s).
    pub fn github_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.github_token_lifetime = lifetime;
        self
    }
    /// Accept GitHub tokens as `Bearer` on the Copilot API (Direct world).
    pub fn direct_mode(mut self, enabled: bool) -> Self {
        self.direct_mode = enabled;
        self
    }
    /// Also act as a bring-your-own-key model provider with this key: a Copilot API request that carries
    /// it as `Authorization: Bearer <key>` (OpenAI), `api-key: <key>` (Azure OpenAI) or
    /// `x-api-key: <key>` (Anthropic) is served as the first configured user's. Azure's deployment routes
    /// (`{api}/openai/deployments/{model}/chat/completions`, `{api}/openai/responses`) are served too, and
    /// answer 404 without an `api-version` query, as Azure does.
    pub fn provider_key(mut self, key: impl Into<String>) -> Self {
        self.provider_key = Some(key.into());
        self
    }
    /// Serve `POST {api}/models/session` (the Auto model; default on). Off, it answers 404, as Copilot does
    /// for clients that are not GitHub's own.
    pub fn auto_model(mut self, enabled: bool) -> Self {
        self.auto_model = enabled;
        self
    }
    /// Add `model` and `object` to every chat chunk (real Copilot omits them; async-openai needs them).
    pub fn chunk_model_fields(mut self, enabled: bool) -> Self {
        self.chunk_model_fields = enabled;
        self
    }
    /// Every chat answer streams this many ~500-byte content chunks (throughput benchmarks).
    pub fn long_answer_chunks(mut self, chunks: usize) -> Self {
        self.long_answer_chunks = Some(chunks);
        self
    }
    /// Serve this transcript on `/chat/completions` instead of generated answers.
    pub fn replay(mut self, transcript: ReplayTranscript) -> Self {
        self.replay = Some(transcript);
        self
    }
    /// How WebSocket upgrades of `GET {api}/responses` are answered (default [`WsUpgrade::Accept`]);
    /// [`MockServer::set_websocket_upgrade`](crate::MockServer::set_websocket_upgrade) changes it later.
    pub fn websocket_upgrade(mut self, upgrade: WsUpgrade) -> Self {
        self.ws_upgrade = upgrade;
        self
    }
    /// Installs a fault from the start.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

/// A stable small id derived from a name (FNV-1a), so ids do not change between runs.
pub(crate) fn stable_id(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    1_000_000 + hash % 90_000_000
}
