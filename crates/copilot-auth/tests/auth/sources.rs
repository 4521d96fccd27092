//! Credential sources: precedence, invalid env tokens fail, use_logged_in_user(false), editor import.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use copilot_auth::editor::{EditorFile, editor_config_dir, import_editor_token};
use copilot_auth::{
    AuthError, Credential, CredentialKey, CredentialSource, CredentialSources, GitHubHost,
    GitHubToken, MemoryStore, ResolvedCredential, StoredCredential, TokenKind, TokenStore,
};
use secrecy::ExposeSecret;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |var| map.get(var).cloned()
}

fn github_token(resolved: &ResolvedCredential) -> &str {
    match &resolved.credential {
        Credential::GitHub(token) => token.expose_secret(),
        other => panic!("not a GitHub token: {other:?}"),
    }
}

fn key() -> CredentialKey {
    CredentialKey::new("github.com", "me")
}

async fn store_with(token: &str) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    store
        .save(
            &key(),
            &StoredCredential::new("github.com", GitHubToken::new(token)),
        )
        .await
        .unwrap();
    store
}

fn editor_dir(apps: Option<&str>, hosts: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(apps) = apps {
        std::fs::write(dir.path().join("apps.json"), apps).unwrap();
    }
    if let Some(hosts) = hosts {
        std::fs::write(dir.path().join("hosts.json"), hosts).unwrap();
    }
    dir
}

/// What `import_editor_token` finds in `dir` for `host` (and `client_id`), if anything.
fn import(
    dir: &tempfile::TempDir,
    host: &str,
    client_id: Option<&str>,
) -> Option<copilot_auth::editor::EditorToken> {
    import_editor_token(dir.path(), host, client_id).unwrap()
}

const ALL_ENV: &[(&str, &str)] = &[
    ("GITHUB_COPILOT_API_TOKEN", "tid=copilot;exp=1"),
    ("COPILOT_API_URL", "https://api.business.githubcopilot.com"),
    ("COPILOT_GITHUB_TOKEN", "gho_fromcopilotvar"),
    ("GH_TOKEN", "gho_fromghtoken"),
    ("GITHUB_TOKEN", "gho_fromgithubtoken"),
];

#[tokio::test]
async fn precedence_follows_the_official_sdk() {
    let editor = editor_dir(
        None,
        Some(r#"{"github.com": {"user": "vim", "oauth_token": "gho_fromeditor"}}"#),
    );
    let store = store_with("gho_fromstore").await;
    let sources = |env_pairs: &[(&str, &str)]| {
        CredentialSources::new(GitHubHost::github_com())
            .env(env(env_pairs))
            .store(store.clone(), key())
            .editor_import(true)
            .editor_config_dir(editor.path())
    };

    let resolved = sources(ALL_ENV)
        .token(GitHubToken::new("gho_explicit"))
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.source, CredentialSource::Explicit);
    assert_eq!(github_token(&resolved), "gho_explicit");

    let resolved = sources(ALL_ENV).resolve().await.unwrap();
    assert_eq!(resolved.source, CredentialSource::PreExchangedEnv);
    match &resolved.credential {
        Credential::CopilotApi { token, api_url } => {
            assert_eq!(token.expose_secret(), "tid=copilot;exp=1");
            assert_eq!(api_url.as_str(), "https://api.business.githubcopilot.com/");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{resolved:?}").contains("tid=copilot"));

    for (i, (var, token)) in ALL_ENV[2..].iter().enumerate() {
        let resolved = sources(&ALL_ENV[2 + i..]).resolve().await.unwrap();
        assert_eq!(resolved.source, CredentialSource::Environment { var });
        assert_eq!(github_token(&resolved), *token);
    }

    let resolved = sources(&[]).resolve().await.unwrap();
    assert_eq!(resolved.source, CredentialSource::Store { key: key() });
    assert_eq!(github_token(&resolved), "gho_fromstore");

    store.delete(&key()).await.unwrap();
    let resolved = sources(&[]).resolve().await.unwrap();
    assert_eq!(
        resolved.source,
        CredentialSource::Editor {
            file: EditorFile::Hosts,
            path: editor.path().join("hosts.json")
        }
    );
    assert_eq!(github_token(&resolved), "gho_fromeditor");

    let resolved = sources(&[]).editor_import(false).resolve().await;
    assert!(matches!(resolved, Err(AuthError::SignInRequired { .. })));
}

/// Resolves with the environment `pairs` and `store` (which holds a token) on github.com; it must fail.
async fn resolve_error(pairs: &[(&str, &str)], store: &Arc<MemoryStore>) -> AuthError {
    CredentialSources::new(GitHubHost::github_com())
        .env(env(pairs))
        .store(store.clone(), key())
        .resolve()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_invalid_env_token_fails_instead_of_falling_through() {
    let store = store_with("gho_fromstore").await;
    for (pairs, bad_var, bad_kind) in [
        (
            vec![
                ("GH_TOKEN", "ghp_classicpat"),
                ("GITHUB_TOKEN", "gho_valid"),
            ],
            "GH_TOKEN",
            TokenKind::ClassicPat,
        ),
        (
            vec![("COPILOT_GITHUB_TOKEN", "ghr_refresh")],
            "COPILOT_GITHUB_TOKEN",
            TokenKind::Refresh,
        ),
    ] {
        let error = resolve_error(&pairs, &store).await;
        match &error {
            AuthError::UnsupportedEnvToken { var, kind, .. } => {
                assert_eq!(*var, bad_var);
                assert_eq!(*kind, bad_kind);
            }
            other => panic!("{pairs:?}: {other:?}"),
        }
        assert_eq!(error.unsupported_token_kind(), Some(bad_kind));
        for (_, value) in &pairs {
            assert!(!error.to_string().contains(value), "{error}");
        }
    }
    for (pairs, bad_var) in [
        (vec![("GITHUB_TOKEN", "gho_with space")], "GITHUB_TOKEN"),
        (
            vec![("GITHUB_COPILOT_API_TOKEN", "tid=x")],
            "COPILOT_API_URL",
        ),
        (
            vec![("COPILOT_API_URL", "https://api.githubcopilot.com")],
            "GITHUB_COPILOT_API_TOKEN",
        ),
        (
            vec![
                ("GITHUB_COPILOT_API_TOKEN", "tid=x"),
                ("COPILOT_API_URL", "http://evil.example"),
            ],
            "COPILOT_API_URL",
        ),
    ] {
        let error = resolve_error(&pairs, &store).await;
        match &error {
            AuthError::InvalidEnvironment { var, .. } => assert_eq!(*var, bad_var),
            other => panic!("{pairs:?}: {other:?}"),
        }
        for (var, value) in &pairs {
            if *var != "COPILOT_API_URL" {
                assert!(!error.to_string().contains(value), "{error}");
            }
        }
    }
}

#[tokio::test]
async fn empty_env_values_count_as_unset() {
    let resolved = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[
            ("COPILOT_GITHUB_TOKEN", ""),
            ("GH_TOKEN", "  "),
            ("GITHUB_TOKEN", "gho_x"),
        ]))
        .resolve()
        .await
        .unwrap();
    assert_eq!(
        resolved.source,
        CredentialSource::Environment {
            var: "GITHUB_TOKEN"
        }
    );
}

#[tokio::test]
async fn an_explicit_classic_pat_is_refused() {
    let error = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[("GITHUB_TOKEN", "gho_fallback")]))
        .token(GitHubToken::new("ghp_classic"))
        .resolve()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthError::Credential(copilot_auth::CredentialError::UnsupportedToken { .. })
    ));
}

#[tokio::test]
async fn use_logged_in_user_false_turns_off_ambient_sources() {
    let editor = editor_dir(
        None,
        Some(r#"{"github.com": {"oauth_token": "gho_fromeditor"}}"#),
    );
    let store = store_with("gho_fromstore").await;
    let sources = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[]))
        .store(store, key())
        .editor_import(true)
        .editor_config_dir(editor.path())
        .use_logged_in_user(false);
    let error = sources.clone().resolve().await.unwrap_err();
    assert!(
        matches!(error, AuthError::SignInRequired { .. }),
        "{error:?}"
    );

    // The explicit token of the request still works.
    let resolved = sources
        .token(GitHubToken::new("gho_user42"))
        .resolve()
        .await
        .unwrap();
    assert_eq!(github_token(&resolved), "gho_user42");
}

#[tokio::test]
async fn without_env_ignores_the_environment() {
    let error = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[("GITHUB_TOKEN", "gho_x")]))
        .without_env()
        .resolve()
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::SignInRequired { .. }));
}

#[tokio::test]
async fn an_expired_stored_login_is_an_error_not_a_fallthrough() {
    let store = Arc::new(MemoryStore::new());
    let mut credential = StoredCredential::new("github.com", GitHubToken::new("ghu_old"));
    credential.expires_at = Some(std::time::SystemTime::now() - Duration::from_secs(60));
    store.save(&key(), &credential).await.unwrap();
    let editor = editor_dir(
        None,
        Some(r#"{"github.com": {"oauth_token": "gho_fromeditor"}}"#),
    );
    let error = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[]))
        .store(store, key())
        .editor_import(true)
        .editor_config_dir(editor.path())
        .resolve()
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::SignInRequired { .. }),
        "{error:?}"
    );
}

fn fixture_apps_json() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps_json_example.json"),
    )
    .unwrap()
}

#[test]
fn editor_import_reads_the_published_apps_json_shape() {
    let dir = editor_dir(Some(&fixture_apps_json()), None);
    // The Copilot editor app's entry is preferred when no client id is configured.
    let found = import(&dir, "github.com", None).unwrap();
    assert_eq!(found.token.expose_secret(), "xxxxx");
    assert_eq!(found.user.as_deref(), Some("xxxx"));
    assert_eq!(found.client_id.as_deref(), Some("Iv1.b507a08c87ecfe98"));
    assert_eq!(found.file, EditorFile::Apps);

    // The configured client id wins.
    let found = import(&dir, "github.com", Some("Iv23ctfURkiMfJ4xr5mv")).unwrap();
    assert_eq!(found.token.expose_secret(), "xxx");

    // Keys are host-qualified.
    assert!(import(&dir, "acme.ghe.com", None).is_none());
}

#[test]
fn editor_import_filters_by_host_and_falls_back_to_hosts_json() {
    let dir = editor_dir(
        Some(r#"{"acme.ghe.com:Iv1.b507a08c87ecfe98": {"user": "a", "oauth_token": "ghu_acme"}}"#),
        Some(
            r#"{"github.com": {"user": "vim", "oauth_token": "gho_hosts"},
                 "acme.ghe.com": {"user": "x", "oauth_token": "gho_acmehosts"}}"#,
        ),
    );
    let found = import(&dir, "acme.ghe.com", None).unwrap();
    assert_eq!(found.token.expose_secret(), "ghu_acme");
    let found = import(&dir, "github.com", None).unwrap();
    assert_eq!(found.token.expose_secret(), "gho_hosts");
    assert_eq!(found.file, EditorFile::Hosts);
    assert!(import(&dir, "other.example", None).is_none());
}

#[test]
fn a_corrupt_editor_file_is_an_error() {
    let dir = editor_dir(Some("{not json"), None);
    let error = import_editor_token(dir.path(), "github.com", None).unwrap_err();
    assert!(matches!(error, AuthError::CorruptStore { .. }));
}

#[test]
fn editor_config_dir_prefers_xdg_then_home() {
    assert_eq!(
        editor_config_dir(&env(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/me")])),
        Some(Path::new("/xdg").join("github-copilot"))
    );
    assert_eq!(
        editor_config_dir(&env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/home/me")])),
        Some(Path::new("/home/me").join(".config").join("github-copilot"))
    );
    assert_eq!(editor_config_dir(&env(&[])), None);
}

#[tokio::test]
async fn editor_import_uses_xdg_config_home_from_the_injected_env() {
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir(xdg.path().join("github-copilot")).unwrap();
    std::fs::write(
        xdg.path().join("github-copilot/apps.json"),
        fixture_apps_json(),
    )
    .unwrap();
    let resolved = CredentialSources::new(GitHubHost::github_com())
        .env(env(&[("XDG_CONFIG_HOME", xdg.path().to_str().unwrap())]))
        .editor_import(true)
        .client_id("Iv23ctfURkiMfJ4xr5mv")
        .resolve()
        .await
        .unwrap();
    assert_eq!(github_token(&resolved), "xxx");
    assert!(matches!(
        resolved.source,
        CredentialSource::Editor {
            file: EditorFile::Apps,
            ..
        }
    ));
}
