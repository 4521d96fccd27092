//! GitHub tokens and what their prefix says about them.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use crate::AuthError;

/// What kind of GitHub token a string is, judged by its prefix (`docs/protocol.md` §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// `gho_`: an OAuth App user token.
    OAuth,
    /// `ghu_`: a GitHub App user-to-server token (may expire and come with a refresh token).
    GitHubAppUser,
    /// `github_pat_`: a fine-grained personal access token.
    FineGrainedPat,
    /// `ghp_`: a classic personal access token. Not usable with Copilot.
    ClassicPat,
    /// `ghs_`: a GitHub App installation token.
    Installation,
    /// `ghr_`: a refresh token. Never sent as a bearer token.
    Refresh,
    /// Any other shape (older 40-hex tokens, GHES tokens, test tokens).
    Unknown,
}

impl TokenKind {
    /// Detects the kind of `token` from its prefix.
    pub fn detect(token: &str) -> TokenKind {
        const PREFIXES: &[(&str, TokenKind)] = &[
            ("gho_", TokenKind::OAuth),
            ("ghu_", TokenKind::GitHubAppUser),
            ("github_pat_", TokenKind::FineGrainedPat),
            ("ghp_", TokenKind::ClassicPat),
            ("ghs_", TokenKind::Installation),
            ("ghr_", TokenKind::Refresh),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| token.starts_with(prefix))
            .map_or(TokenKind::Unknown, |(_, kind)| kind.clone())
    }

    /// The prefix of this kind, if it has one.
    pub fn prefix(&self) -> Option<&'static str> {
        Some(match self {
            TokenKind::OAuth => "gho_",
            TokenKind::GitHubAppUser => "ghu_",
            TokenKind::FineGrainedPat => "github_pat_",
            TokenKind::ClassicPat => "ghp_",
            TokenKind::Installation => "ghs_",
            TokenKind::Refresh => "ghr_",
            TokenKind::Unknown => return None,
        })
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::OAuth => "OAuth app token (gho_)",
            TokenKind::GitHubAppUser => "GitHub App user token (ghu_)",
            TokenKind::FineGrainedPat => "fine-grained personal access token (github_pat_)",
            TokenKind::ClassicPat => "classic personal access token (ghp_)",
            TokenKind::Installation => "GitHub App installation token (ghs_)",
            TokenKind::Refresh => "refresh token (ghr_)",
            TokenKind::Unknown => "token of unknown kind",
        })
    }
}

/// A GitHub token (user, app or PAT). The value is a secret: `Debug` prints only the kind.
#[derive(Clone)]
pub struct GitHubToken(SecretString);

impl GitHubToken {
    /// Wraps a token as given. Use [`GitHubToken::parse`] for text from users, files or the environment.
    pub fn new(token: impl Into<String>) -> Self {
        GitHubToken(SecretString::from(token.into()))
    }

    /// Wraps token text from a user, file or environment variable: surrounding whitespace is trimmed, and
    /// empty text or text with whitespace or control characters inside is refused.
    pub fn parse(token: &str) -> Result<Self, AuthError> {
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(AuthError::InvalidToken {
                reason: "the token is empty",
            });
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AuthError::InvalidToken {
                reason: "the token contains whitespace, control or non-ASCII characters",
            });
        }
        Ok(GitHubToken::new(trimmed))
    }

    /// The kind, from the prefix.
    pub fn kind(&self) -> TokenKind {
        TokenKind::detect(self.0.expose_secret())
    }

    /// The token text. Keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The token as a [`SecretString`].
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }

    /// Refuses tokens that Copilot never accepts, before any network call: classic PATs (`ghp_`) and
    /// refresh tokens (`ghr_`).
    pub fn check_usable_for_copilot(&self) -> Result<(), AuthError> {
        match self.kind() {
            TokenKind::ClassicPat => Err(AuthError::UnsupportedToken {
                kind: TokenKind::ClassicPat,
                reason: "GitHub Copilot does not accept classic personal access tokens. Sign in (device or \
                         web flow), or create a fine-grained personal access token with the \"Copilot \
                         Requests\" account permission",
            }),
            TokenKind::Refresh => Err(AuthError::UnsupportedToken {
                kind: TokenKind::Refresh,
                reason: "a refresh token only buys a new access token through the refresh grant; pass the \
                         access token (gho_/ghu_/github_pat_) instead",
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for GitHubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GitHubToken({:?}, [redacted])", self.kind())
    }
}

impl From<SecretString> for GitHubToken {
    fn from(secret: SecretString) -> Self {
        GitHubToken(secret)
    }
}

/// A successful answer of `POST /login/oauth/access_token` (device flow, web flow or refresh).
#[derive(Clone)]
#[non_exhaustive]
pub struct GitHubTokenResponse {
    /// The access token (`gho_`, `ghu_`, …).
    pub access_token: GitHubToken,
    /// `token_type`, normally `bearer`.
    pub token_type: Option<String>,
    /// The granted scopes (GitHub sends them comma-separated; empty for GitHub Apps).
    pub scopes: Vec<String>,
    /// Lifetime of the access token, for expiring GitHub App user tokens.
    pub expires_in: Option<Duration>,
    /// The refresh token (`ghr_`), for expiring GitHub App user tokens.
    pub refresh_token: Option<SecretString>,
    /// Lifetime of the refresh token.
    pub refresh_token_expires_in: Option<Duration>,
    /// When the response was received (by the injected clock); the base of the expiry times.
    pub received_at: SystemTime,
    /// Any other fields of the response.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl GitHubTokenResponse {
    /// When the access token expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_in
            .map(|d| copilot_http::time::saturating_add(self.received_at, d))
    }

    /// When the refresh token expires, if there is one with a known lifetime.
    pub fn refresh_token_expires_at(&self) -> Option<SystemTime> {
        self.refresh_token_expires_in
            .map(|d| copilot_http::time::saturating_add(self.received_at, d))
    }
}

impl fmt::Debug for GitHubTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubTokenResponse")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("received_at", &self.received_at)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}
