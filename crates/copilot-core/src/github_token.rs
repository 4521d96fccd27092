//! [`GitHubToken`] and the one reading of its prefix, [`TokenKind`].

use std::fmt;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::CredentialError;

/// What kind of GitHub token a string is, judged by its prefix (`docs/protocol.md` §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// `gho_`: an OAuth App user token.
    OAuth,
    /// `ghu_`: a GitHub App user-to-server token (may expire and come with a refresh token).
    GitHubAppUser,
    /// `github_pat_`: a fine-grained personal access token. Cannot be exchanged; works in direct mode.
    FineGrainedPat,
    /// `ghp_`: a classic personal access token. Not usable with Copilot.
    ClassicPat,
    /// `ghs_`: a GitHub App installation token. Cannot be exchanged; works in direct mode.
    Installation,
    /// `ghr_`: a refresh token. Never sent as a bearer token.
    Refresh,
    /// Any other shape (older 40-hex tokens, GHES tokens, test tokens).
    Unknown,
}

const PREFIXES: &[(&str, TokenKind)] = &[
    ("gho_", TokenKind::OAuth),
    ("ghu_", TokenKind::GitHubAppUser),
    ("github_pat_", TokenKind::FineGrainedPat),
    ("ghp_", TokenKind::ClassicPat),
    ("ghs_", TokenKind::Installation),
    ("ghr_", TokenKind::Refresh),
];

impl TokenKind {
    /// Detects the kind of `token` from its prefix (case-sensitive, as GitHub issues them).
    pub fn detect(token: &str) -> TokenKind {
        PREFIXES
            .iter()
            .find(|(prefix, _)| token.starts_with(prefix))
            .map_or(TokenKind::Unknown, |(_, kind)| *kind)
    }

    /// The prefix of this kind, if it has one.
    pub fn prefix(self) -> Option<&'static str> {
        PREFIXES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map(|(prefix, _)| *prefix)
    }

    /// Why Copilot refuses this kind of token and what to do instead, or `None` if it may be tried.
    pub fn copilot_refusal(self) -> Option<&'static str> {
        match self {
            TokenKind::ClassicPat => Some(
                "GitHub Copilot does not accept classic personal access tokens. Sign in (device or web \
                 flow), or create a fine-grained personal access token with the \"Copilot Requests\" \
                 account permission",
            ),
            TokenKind::Refresh => Some(
                "a refresh token only buys a new access token through the refresh grant; pass the access \
                 token (gho_/ghu_/github_pat_) instead",
            ),
            _ => None,
        }
    }

    /// Whether `copilot_internal/v2/token` can never exchange this kind (fine-grained PATs and installation
    /// tokens), so only direct mode can use it.
    pub fn is_never_exchangeable(self) -> bool {
        matches!(self, TokenKind::FineGrainedPat | TokenKind::Installation)
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
    /// empty text or text with whitespace or control characters inside is refused
    /// ([`CredentialError::InvalidToken`]).
    pub fn parse(token: &str) -> Result<Self, CredentialError> {
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(CredentialError::InvalidToken {
                reason: "the token is empty",
            });
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CredentialError::InvalidToken {
                reason: "the token contains whitespace, control or non-ASCII characters",
            });
        }
        Ok(GitHubToken::new(trimmed))
    }

    /// The kind, from the prefix.
    pub fn kind(&self) -> TokenKind {
        TokenKind::detect(self.0.expose_secret().trim_start())
    }

    /// The token text. Keep it out of logs.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// The token as a [`SecretString`].
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }

    /// The token as an `Authorization` header value, `<scheme> <token>`, marked sensitive: `"token"` as
    /// editors send it to Copilot's token exchange, `"Bearer"` for GitHub's REST API. Surrounding whitespace
    /// is left out. Text that cannot be a header value is refused ([`CredentialError::InvalidToken`], which
    /// never quotes the token).
    pub fn authorization_header(&self, scheme: &str) -> Result<HeaderValue, CredentialError> {
        let mut value = HeaderValue::from_str(&format!("{scheme} {}", self.expose_secret().trim()))
            .map_err(|_| CredentialError::InvalidToken {
                reason: "the token contains characters not allowed in an HTTP header",
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Whether both hold the same token text, compared in constant time.
    pub fn same_token(&self, other: &GitHubToken) -> bool {
        copilot_http::sensitive::constant_time_eq(self.expose_secret(), other.expose_secret())
    }

    /// Refuses, before any network call, tokens Copilot never accepts: empty ones
    /// ([`CredentialError::InvalidToken`]), classic PATs (`ghp_`) and refresh tokens (`ghr_`)
    /// ([`CredentialError::UnsupportedToken`], the one refusal every crate reports).
    pub fn check_usable_for_copilot(&self) -> Result<(), CredentialError> {
        if self.expose_secret().trim().is_empty() {
            return Err(CredentialError::InvalidToken {
                reason: "the token is empty",
            });
        }
        let kind = self.kind();
        match kind.copilot_refusal() {
            Some(reason) => Err(CredentialError::UnsupportedToken { kind, reason }),
            None => Ok(()),
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

impl From<String> for GitHubToken {
    fn from(token: String) -> Self {
        GitHubToken::new(token)
    }
}

impl From<&str> for GitHubToken {
    fn from(token: &str) -> Self {
        GitHubToken::new(token)
    }
}

impl From<GitHubToken> for SecretString {
    fn from(token: GitHubToken) -> Self {
        token.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_maps_to_its_kind_and_back() {
        for (prefix, kind) in PREFIXES {
            assert_eq!(TokenKind::detect(&format!("{prefix}abc")), *kind);
            assert_eq!(kind.prefix(), Some(*prefix));
        }
        assert_eq!(TokenKind::detect("GHO_abc"), TokenKind::Unknown);
        assert_eq!(TokenKind::Unknown.prefix(), None);
    }

    #[test]
    fn only_classic_pats_refresh_tokens_and_empty_text_are_refused() {
        for (token, refused) in [
            ("gho_a", false),
            ("ghu_a", false),
            ("github_pat_a", false),
            ("ghs_a", false),
            ("0123456789abcdef", false),
            ("ghp_a", true),
            ("ghr_a", true),
            ("  ", true),
        ] {
            assert_eq!(
                GitHubToken::new(token).check_usable_for_copilot().is_err(),
                refused,
                "{token}"
            );
        }
        let error = GitHubToken::new("ghp_a")
            .check_usable_for_copilot()
            .unwrap_err();
        assert_eq!(error.unsupported_token_kind(), Some(TokenKind::ClassicPat));
    }

    #[test]
    fn the_authorization_header_is_sensitive_trimmed_and_refuses_header_breaking_text() {
        let header = GitHubToken::new(" gho_abc \n")
            .authorization_header("token")
            .unwrap();
        assert_eq!(header, "token gho_abc");
        assert!(header.is_sensitive());
        let bearer = GitHubToken::new("ghu_x")
            .authorization_header("Bearer")
            .unwrap();
        assert_eq!(bearer, "Bearer ghu_x");
        let error = GitHubToken::new("gho_a\nInjected: yes")
            .authorization_header("Bearer")
            .unwrap_err();
        assert!(
            matches!(error, CredentialError::InvalidToken { .. }),
            "{error:?}"
        );
        assert!(
            !error.to_string().contains("gho_a"),
            "the error never quotes the token"
        );
    }

    #[test]
    fn debug_shows_the_kind_only() {
        let debug = format!("{:?}", GitHubToken::new("gho_secretvalue"));
        assert!(
            debug.contains("OAuth") && !debug.contains("secretvalue"),
            "{debug}"
        );
    }
}
