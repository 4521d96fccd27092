//! Which GitHub a client talks to, and where that GitHub's OAuth, REST and Copilot endpoints live.
//!
//! | kind | web (OAuth) | REST | default Copilot API |
//! |---|---|---|---|
//! | github.com | `https://github.com` | `https://api.github.com` | `https://api.githubcopilot.com` |
//! | GHE.com data residency | `https://TENANT.ghe.com` | `https://api.TENANT.ghe.com` | `https://copilot-api.TENANT.ghe.com` |
//! | GitHub Enterprise Server | `https://HOST` | `https://HOST/api/v3` | `https://copilot-api.HOST` (unverified) |
//! | custom (tests, the mock) | any | any | any |
//!
//! The Copilot API base actually used comes from the token exchange's `endpoints.api`; the default here is the
//! last resort. [`GitHubHost::is_trusted_copilot_api`] decides whether an advertised base may receive a token.

use url::Url;

use crate::TransportError;
use crate::redact::RedactedUrl;
use crate::safety::is_loopback_host;

/// The kind of GitHub deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostKind {
    /// github.com.
    GitHubCom,
    /// A GitHub Enterprise Server instance (REST under `/api/v3`).
    EnterpriseServer,
    /// A GHE.com data-residency tenant.
    DataResidency {
        /// The tenant name (`acme` for `acme.ghe.com`).
        tenant: String,
    },
    /// Explicit URLs for every endpoint (tests, the mock, proxies).
    Custom,
}

/// A GitHub deployment and its endpoint base URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubHost {
    kind: HostKind,
    web: Url,
    api: Url,
    copilot_api: Url,
}

fn parse_url(input: &str) -> Result<Url, TransportError> {
    Url::parse(input).map_err(|e| TransportError::InvalidUrl {
        input: RedactedUrl::text(input).to_string(),
        message: e.to_string(),
    })
}

fn invalid(input: &str, reason: impl Into<String>) -> TransportError {
    TransportError::InvalidHost {
        input: RedactedUrl::text(input).to_string(),
        reason: reason.into(),
    }
}

fn valid_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl GitHubHost {
    /// github.com.
    pub fn github_com() -> Self {
        GitHubHost {
            kind: HostKind::GitHubCom,
            web: parse_url("https://github.com").expect("static URL"),
            api: parse_url("https://api.github.com").expect("static URL"),
            copilot_api: parse_url("https://api.githubcopilot.com").expect("static URL"),
        }
    }

    /// A GHE.com data-residency tenant, e.g. `acme` for `acme.ghe.com`.
    pub fn ghe_com(tenant: &str) -> Result<Self, TransportError> {
        let tenant = tenant.trim().to_ascii_lowercase();
        if tenant.contains('.') || !valid_hostname(&tenant) {
            return Err(invalid(
                &tenant,
                "a GHE.com tenant is a single DNS label, e.g. `acme`",
            ));
        }
        Ok(GitHubHost {
            web: parse_url(&format!("https://{tenant}.ghe.com"))?,
            api: parse_url(&format!("https://api.{tenant}.ghe.com"))?,
            copilot_api: parse_url(&format!("https://copilot-api.{tenant}.ghe.com"))?,
            kind: HostKind::DataResidency { tenant },
        })
    }

    /// A GitHub Enterprise Server by host name (`github.example.com`, optionally with `:port`). Served over
    /// https; REST lives under `/api/v3`.
    pub fn enterprise_server(hostname: &str) -> Result<Self, TransportError> {
        let hostname = hostname.trim().to_ascii_lowercase();
        let bare = hostname.split(':').next().unwrap_or_default();
        if !valid_hostname(bare) {
            return Err(invalid(&hostname, "not a valid host name"));
        }
        Self::enterprise_server_url(&format!("https://{hostname}"))
    }

    /// A GitHub Enterprise Server by base URL. `http` is accepted only for loopback addresses (a local mock
    /// with the GHES layout).
    pub fn enterprise_server_url(base: &str) -> Result<Self, TransportError> {
        let web = parse_url(base)?;
        let host = web
            .host_str()
            .ok_or_else(|| invalid(base, "the URL has no host"))?
            .to_owned();
        if web.scheme() != "https" && !(web.scheme() == "http" && is_loopback_host(&host)) {
            return Err(invalid(
                base,
                "GitHub Enterprise Server must be served over https",
            ));
        }
        if !web.username().is_empty() || web.password().is_some() {
            return Err(invalid(base, "the URL must not carry credentials"));
        }
        let origin = web.origin().ascii_serialization();
        let api = parse_url(&format!("{origin}/api/v3"))?;
        let copilot_api = if is_loopback_host(&host) {
            api.clone()
        } else {
            let port = web.port().map(|p| format!(":{p}")).unwrap_or_default();
            parse_url(&format!("https://copilot-api.{host}{port}"))?
        };
        Ok(GitHubHost {
            kind: HostKind::EnterpriseServer,
            web: parse_url(&origin)?,
            api,
            copilot_api,
        })
    }

    /// Explicit base URLs for the web (OAuth), REST and Copilot API endpoints. Used for tests and the mock.
    pub fn custom(web: Url, api: Url, copilot_api: Url) -> Self {
        GitHubHost {
            kind: HostKind::Custom,
            web,
            api,
            copilot_api,
        }
    }

    /// Understands what a user would type: `github.com`, `https://github.com`, `api.github.com`,
    /// `acme.ghe.com`, `https://api.acme.ghe.com`, `github.example.com`, `https://github.example.com:8443`.
    pub fn parse(input: &str) -> Result<Self, TransportError> {
        let trimmed = input.trim().trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(invalid(input, "empty host"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let url = parse_url(&with_scheme).map_err(|_| invalid(input, "not a host name or URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid(input, "only https URLs are supported"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| invalid(input, "no host name"))?
            .to_ascii_lowercase();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(input, "the URL must not carry credentials"));
        }
        if !matches!(url.path(), "" | "/" | "/api/v3") {
            return Err(invalid(
                input,
                "a GitHub host URL has no path (other than /api/v3)",
            ));
        }
        if host == "github.com" || host == "api.github.com" || host == "www.github.com" {
            if url.scheme() != "https" || url.port().is_some() {
                return Err(invalid(
                    input,
                    "github.com is reached over https on the default port",
                ));
            }
            return Ok(Self::github_com());
        }
        if let Some(rest) = host.strip_suffix(".ghe.com") {
            if url.scheme() != "https" {
                return Err(invalid(input, "GHE.com is reached over https"));
            }
            let tenant = rest.rsplit('.').next().unwrap_or(rest);
            return Self::ghe_com(tenant);
        }
        Self::enterprise_server_url(&url.origin().ascii_serialization())
    }

    /// The deployment kind.
    pub fn kind(&self) -> &HostKind {
        &self.kind
    }

    /// The web (OAuth) base URL, e.g. `https://github.com`.
    pub fn web_url(&self) -> &Url {
        &self.web
    }

    /// The REST base URL, e.g. `https://api.github.com` or `https://HOST/api/v3`.
    pub fn api_url(&self) -> &Url {
        &self.api
    }

    /// The default Copilot API base URL (used only when no token envelope says otherwise).
    pub fn copilot_api_url(&self) -> &Url {
        &self.copilot_api
    }

    /// The host name that identifies this deployment in stores and editor files (`github.com`,
    /// `acme.ghe.com`, `github.example.com:8443`).
    pub fn key(&self) -> String {
        match self.web.port() {
            Some(port) => format!("{}:{port}", self.web.host_str().unwrap_or_default()),
            None => self.web.host_str().unwrap_or_default().to_owned(),
        }
    }

    /// Replaces the REST base URL.
    pub fn with_api_url(mut self, api: Url) -> Self {
        self.api = api;
        self
    }

    /// Replaces the default Copilot API base URL.
    pub fn with_copilot_api_url(mut self, copilot_api: Url) -> Self {
        self.copilot_api = copilot_api;
        self
    }

    /// `path` (starting with `/`) under the web base: `web_endpoint("/login/device/code")`.
    pub fn web_endpoint(&self, path: &str) -> Url {
        join(&self.web, path)
    }

    /// `path` (starting with `/`) under the REST base, keeping a GHES `/api/v3` prefix.
    pub fn api_endpoint(&self, path: &str) -> Url {
        join(&self.api, path)
    }

    /// Whether a Copilot API base URL advertised by a server may receive a Copilot token for this host:
    /// without userinfo, and either the configured Copilot API itself (same scheme, host and port), or https
    /// on the default port on `githubcopilot.com` (or a subdomain), on the tenant's `ghe.com` domain, or on
    /// this GHES host's domain.
    ///
    /// A loopback address (`localhost`, `127.0.0.1`, `[::1]`; over http or https) is trusted only for a
    /// [`custom`](Self::custom) host (tests, the mock): for github.com, GHE.com or GHES a loopback
    /// `endpoints.api` would hand the token to whatever listens on this machine.
    pub fn is_trusted_copilot_api(&self, url: &Url) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let same_as_configured = self.copilot_api.scheme() == url.scheme()
            && self.copilot_api.host_str() == Some(host.as_str())
            && self.copilot_api.port_or_known_default() == url.port_or_known_default();
        if same_as_configured {
            return url.scheme() == "https" || is_loopback_host(&host);
        }
        if is_loopback_host(&host) {
            return self.kind == HostKind::Custom && matches!(url.scheme(), "http" | "https");
        }
        if url.scheme() != "https" {
            return false;
        }
        if url.port().is_some() {
            return false;
        }
        let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
        match &self.kind {
            HostKind::GitHubCom | HostKind::Custom => under("githubcopilot.com"),
            HostKind::DataResidency { tenant } => under(&format!("{tenant}.ghe.com")),
            HostKind::EnterpriseServer => {
                under("githubcopilot.com") || self.web.host_str().is_some_and(under)
            }
        }
    }
}

impl Default for GitHubHost {
    fn default() -> Self {
        Self::github_com()
    }
}

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}
