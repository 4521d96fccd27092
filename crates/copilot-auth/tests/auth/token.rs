//! Token kinds and the Copilot usability check.

use copilot_auth::{CredentialError, GitHubToken, TokenKind};

#[test]
fn kinds_are_detected_from_the_prefix() {
    let cases = [
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a", TokenKind::OAuth),
        ("ghu_abc", TokenKind::GitHubAppUser),
        ("github_pat_11ABCDEFG_xyz", TokenKind::FineGrainedPat),
        ("ghp_abc", TokenKind::ClassicPat),
        ("ghs_abc", TokenKind::Installation),
        ("ghr_abc", TokenKind::Refresh),
        (
            "0123456789abcdef0123456789abcdef01234567",
            TokenKind::Unknown,
        ),
        ("gh_abc", TokenKind::Unknown),
        ("GHO_abc", TokenKind::Unknown),
    ];
    for (token, kind) in cases {
        assert_eq!(GitHubToken::new(token).kind(), kind, "{token}");
        assert_eq!(TokenKind::detect(token), kind);
        if let Some(prefix) = kind.prefix() {
            assert!(token.starts_with(prefix));
        }
    }
}

#[test]
fn classic_pats_and_refresh_tokens_are_refused_for_copilot() {
    let error = GitHubToken::new("ghp_classic")
        .check_usable_for_copilot()
        .unwrap_err();
    assert!(matches!(
        &error,
        CredentialError::UnsupportedToken {
            kind: TokenKind::ClassicPat,
            ..
        }
    ));
    let message = error.to_string();
    assert!(
        message.contains("classic personal access token"),
        "{message}"
    );
    assert!(message.contains("fine-grained"), "{message}");
    assert!(message.contains("Copilot Requests"), "{message}");
    assert!(!message.contains("ghp_classic"));

    let error = GitHubToken::new("ghr_refresh")
        .check_usable_for_copilot()
        .unwrap_err();
    assert!(matches!(
        error,
        CredentialError::UnsupportedToken {
            kind: TokenKind::Refresh,
            ..
        }
    ));

    for ok in ["gho_a", "ghu_a", "github_pat_a", "ghs_a", "something"] {
        GitHubToken::new(ok).check_usable_for_copilot().unwrap();
    }
}

#[test]
fn parse_trims_and_refuses_garbage() {
    assert_eq!(
        GitHubToken::parse("  gho_abc\n").unwrap().expose_secret(),
        "gho_abc"
    );
    for bad in ["", "   ", "gho_a b", "gho_\u{7f}x", "gho_é"] {
        assert!(
            matches!(
                GitHubToken::parse(bad),
                Err(CredentialError::InvalidToken { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn debug_shows_the_kind_only() {
    let debug = format!("{:?}", GitHubToken::new("gho_supersecretvalue"));
    assert!(!debug.contains("supersecretvalue"), "{debug}");
    assert!(debug.contains("OAuth"), "{debug}");
}
