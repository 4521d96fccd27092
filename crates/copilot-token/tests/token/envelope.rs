//! Envelope decoding, token-string fields and the Copilot API host allowlist.

use std::time::Duration;

use copilot_http::GitHubHost;
use copilot_http::time::from_unix_seconds;
use copilot_token::{CopilotToken, TokenError, TokenFields, resolve_copilot_base_url};
use secrecy::ExposeSecret;
use serde_json::json;
use url::Url;

use super::support::*;

fn decode(value: serde_json::Value) -> Result<CopilotToken, TokenError> {
    CopilotToken::from_json(
        &serde_json::to_vec(&value).unwrap(),
        t0(),
        &GitHubHost::github_com(),
    )
}

#[test]
fn real_business_seat_fixture_decodes_strictly() {
    let body = fixture("token_v2_business_seat_2026-03_redacted_by_author.json");
    let token = CopilotToken::from_json(&body, t0(), &GitHubHost::github_com()).unwrap();

    assert!(!token.is_partial());
    assert!(
        token
            .secret()
            .expose_secret()
            .starts_with("tid=xx;ol=xx;exp=1773238125;")
    );
    assert_eq!(token.expires_at(), from_unix_seconds(1_773_238_125));
    assert_eq!(token.refresh_in(), Some(Duration::from_secs(1500)));
    assert_eq!(token.fetched_at(), t0());
    assert_eq!(token.sku(), Some("copilot_for_business_seat_quota"));
    assert_eq!(
        token.base_url().as_str(),
        "https://api.business.githubcopilot.com/"
    );
    let endpoints = token.endpoints().unwrap();
    assert_eq!(
        endpoints.proxy.as_deref(),
        Some("https://proxy.business.githubcopilot.com")
    );
    assert_eq!(
        endpoints.origin_tracker.as_deref(),
        Some("https://origin-tracker.business.githubcopilot.com")
    );
    assert_eq!(
        endpoints.telemetry.as_deref(),
        Some("https://telemetry.business.githubcopilot.com")
    );
    assert_eq!(token.chat_enabled(), Some(true));
    assert_eq!(token.organization_list(), Some(&["xxx".to_owned()][..]));
    assert!(token.user_notification().is_none());
    assert!(token.limited_user_quotas().is_none());

    // Everything else is kept, untyped.
    let extra = token.extra();
    assert_eq!(extra["individual"], json!(false));
    assert_eq!(extra["public_suggestions"], json!("disabled"));
    assert_eq!(extra["xcode"], json!(true));
    assert_eq!(extra["limited_user_reset_date"], json!(null));
    assert_eq!(extra["tracking_id"], json!("xxx"));
    for typed in [
        "token",
        "expires_at",
        "refresh_in",
        "endpoints",
        "sku",
        "chat_enabled",
    ] {
        assert!(!extra.contains_key(typed), "{typed} should not be in extra");
    }

    // Token-string fields: the MAC after the last ':' is cut, `asn` keeps its value.
    let fields = token.fields();
    assert_eq!(fields.tid(), Some("xx"));
    assert_eq!(fields.exp(), Some(1_773_238_125));
    assert_eq!(fields.sku(), Some("copilot_for_business_seat_quota"));
    assert_eq!(fields.proxy_ep(), Some("proxy.business.githubcopilot.com"));
    assert_eq!(fields.get("asn"), Some("AS16509"));
    assert_eq!(fields.get("8kp"), Some("1"));
    assert_eq!(fields.as_map().len(), 18);

    // The capture's expires_at lies before t0(), so the expiry bound (minus skew) is the earlier one.
    assert_eq!(
        token.refresh_at(Duration::from_secs(60)),
        from_unix_seconds(1_773_238_125 - 60)
    );
}

#[test]
fn refresh_at_is_the_earlier_bound() {
    let late_expiry = decode(envelope("a=1:m", T0 + 1800, 1500)).unwrap();
    assert_eq!(
        late_expiry.refresh_at(Duration::from_secs(60)),
        from_unix_seconds(T0 + 1500)
    );
    let early_expiry = decode(envelope("a=1:m", T0 + 600, 1500)).unwrap();
    assert_eq!(
        early_expiry.refresh_at(Duration::from_secs(60)),
        from_unix_seconds(T0 + 540)
    );
    let no_refresh_in = decode(json!({"token": "a=1:m", "expires_at": T0 + 600})).unwrap();
    assert_eq!(no_refresh_in.refresh_in(), None);
    assert_eq!(
        no_refresh_in.refresh_at(Duration::from_secs(60)),
        from_unix_seconds(T0 + 540)
    );
}

#[test]
fn old_envelope_without_endpoints_derives_the_base_from_proxy_ep() {
    let token = decode(json!({
        "token": token_string("old", T0 + 1800),
        "expires_at": T0 + 1800,
        "refresh_in": 1500
    }))
    .unwrap();
    assert!(token.endpoints().is_none());
    assert!(!token.is_partial());
    assert_eq!(
        token.base_url().as_str(),
        "https://api.individual.githubcopilot.com/"
    );
}

#[test]
fn no_endpoints_and_no_proxy_ep_use_the_host_default() {
    let token =
        decode(json!({"token": "tid=1;exp=1:mac", "expires_at": T0, "refresh_in": 300})).unwrap();
    assert_eq!(token.base_url().as_str(), "https://api.githubcopilot.com/");
    let ghe = GitHubHost::ghe_com("acme").unwrap();
    let token =
        CopilotToken::from_json(br#"{"token":"tid=1:m","expires_at":1}"#, t0(), &ghe).unwrap();
    assert_eq!(
        token.base_url().as_str(),
        "https://copilot-api.acme.ghe.com/"
    );
}

#[test]
fn unknown_fields_are_kept_in_extra_and_typed_extras_decode() {
    let mut value = envelope(&token_string("x", T0 + 1800), T0 + 1800, 1500);
    value["brand_new_flag"] = json!({"nested": [1, 2, 3]});
    value["user_notification"] = json!({
        "notification_id": "subscription_trial_ending",
        "title": "Trial ending",
        "message": "Your trial ends soon",
        "url": "https://github.com/settings/copilot",
        "severity": "info"
    });
    value["limited_user_quotas"] = json!({"chat": 42, "completions": -3, "premium": 1});
    value["organization_list"] = json!(["acme", "globex"]);
    value["endpoints"]["future-service"] = json!("https://future.githubcopilot.com");
    let token = decode(value).unwrap();

    assert!(!token.is_partial());
    assert_eq!(
        token.extra()["brand_new_flag"],
        json!({"nested": [1, 2, 3]})
    );
    let notification = token.user_notification().unwrap();
    assert_eq!(
        notification.notification_id.as_deref(),
        Some("subscription_trial_ending")
    );
    assert_eq!(notification.extra["severity"], json!("info"));
    let quotas = token.limited_user_quotas().unwrap();
    assert_eq!((quotas.chat, quotas.completions), (Some(42), Some(-3)));
    assert_eq!(quotas.extra["premium"], json!(1));
    assert_eq!(token.organization_list().unwrap().len(), 2);
    assert_eq!(
        token.endpoints().unwrap().extra["future-service"],
        json!("https://future.githubcopilot.com")
    );
}

#[test]
fn strict_failure_falls_back_to_the_core_fields() {
    // `endpoints` as a string and `chat_enabled` as a number: the optional part cannot be decoded.
    let token = decode(json!({
        "token": token_string("fb", T0 + 1800),
        "expires_at": T0 + 1800,
        "refresh_in": 1500,
        "endpoints": "https://api.individual.githubcopilot.com",
        "chat_enabled": 1,
        "sku": "copilot_individual"
    }))
    .unwrap();
    assert!(token.is_partial());
    assert!(token.endpoints().is_none());
    assert_eq!(token.chat_enabled(), None);
    assert_eq!(token.expires_at(), from_unix_seconds(T0 + 1800));
    assert_eq!(token.refresh_in(), Some(Duration::from_secs(1500)));
    // Nothing is lost: the raw values are in extra.
    assert_eq!(
        token.extra()["endpoints"],
        json!("https://api.individual.githubcopilot.com")
    );
    assert_eq!(token.extra()["chat_enabled"], json!(1));
    // The SKU still comes from the token string, the base URL from proxy-ep.
    assert_eq!(token.sku(), Some("copilot_individual"));
    assert_eq!(
        token.base_url().as_str(),
        "https://api.individual.githubcopilot.com/"
    );
}

#[test]
fn numbers_may_be_floats() {
    let token =
        decode(json!({"token": "t=1:m", "expires_at": 1800000000.75, "refresh_in": 1500.0}))
            .unwrap();
    assert_eq!(token.expires_at(), from_unix_seconds(1_800_000_000));
    assert_eq!(token.refresh_in(), Some(Duration::from_secs(1500)));
}

#[test]
fn missing_core_fields_are_typed_errors_without_the_token() {
    for (body, expect) in [
        (json!({"expires_at": 1}), "`token`"),
        (json!({"token": 5, "expires_at": 1}), "`token`"),
        (json!({"token": "SECRET=1:m"}), "`expires_at`"),
        (
            json!({"token": "SECRET=1:m", "expires_at": "soon"}),
            "`expires_at`",
        ),
        (json!(["not", "an", "object"]), "not a JSON object"),
    ] {
        let error = decode(body).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, TokenError::Decode { .. }), "{error:?}");
        assert!(text.contains(expect), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }
    let error = CopilotToken::from_json(b"{\"token\": \"SECRET", t0(), &GitHubHost::github_com())
        .unwrap_err();
    assert!(!error.to_string().contains("SECRET"));
}

#[test]
fn token_fields_parsing() {
    let fields = TokenFields::parse(
        "tid=abc;exp=123;flag;proxy-ep=proxy.x.githubcopilot.com;k=a=b:mac:more",
    );
    // The MAC is cut after the LAST ':'.
    assert_eq!(fields.get("k"), Some("a=b:mac"));
    assert_eq!(fields.get("flag"), Some(""));
    assert_eq!(fields.tid(), Some("abc"));
    assert_eq!(fields.exp(), Some(123));
    assert_eq!(fields.proxy_ep(), Some("proxy.x.githubcopilot.com"));
    assert!(TokenFields::parse("").is_empty());
    assert_eq!(
        TokenFields::parse("no-mac-here=1").get("no-mac-here"),
        Some("1")
    );
    assert_eq!(TokenFields::parse("exp=notanumber:m").exp(), None);
}

#[test]
fn poisoned_endpoints_api_is_refused() {
    for poisoned in [
        "https://evil.example.com",
        "https://api.githubcopilot.com.evil.example",
        "http://api.githubcopilot.com",
        "https://api.githubcopilot.com:8443",
        "https://user:pass@api.githubcopilot.com",
        "https://copilot-api.acme.ghe.com",
        "not a url",
        // Loopback is trusted only for custom (test) hosts, never for github.com.
        "http://127.0.0.1:4141",
        "http://attacker.localhost:4141",
    ] {
        let mut value = envelope(&token_string("p", T0 + 1800), T0 + 1800, 1500);
        value["endpoints"]["api"] = json!(poisoned);
        match decode(value) {
            // Shown through the one redacting URL display: userinfo never echoes.
            Err(TokenError::UntrustedEndpoint { url }) => assert_eq!(
                url,
                copilot_http::RedactedUrl::text(poisoned).to_string(),
                "{poisoned}"
            ),
            other => panic!("{poisoned}: expected UntrustedEndpoint, got {other:?}"),
        }
    }
}

#[test]
fn poisoned_proxy_ep_is_refused_too() {
    let error = decode(json!({
        "token": "tid=1;proxy-ep=proxy.evil.example:m",
        "expires_at": T0,
        "refresh_in": 1
    }))
    .unwrap_err();
    assert!(
        matches!(error, TokenError::UntrustedEndpoint { ref url } if url == "https://api.evil.example"),
        "{error:?}"
    );
}

#[test]
fn host_allowlist() {
    let github = GitHubHost::github_com();
    let ghe = GitHubHost::ghe_com("acme").unwrap();
    let ok = |api: &str, host: &GitHubHost| resolve_copilot_base_url(Some(api), None, host);

    assert!(ok("https://api.githubcopilot.com", &github).is_ok());
    assert!(ok("https://api.enterprise.githubcopilot.com", &github).is_ok());
    // A GHE.com tenant: its own copilot-api host, not another tenant's, not github.com's.
    assert_eq!(
        ok("https://copilot-api.acme.ghe.com", &ghe)
            .unwrap()
            .as_str(),
        "https://copilot-api.acme.ghe.com/"
    );
    assert!(matches!(
        ok("https://copilot-api.other.ghe.com", &ghe),
        Err(TokenError::UntrustedEndpoint { .. })
    ));
    assert!(ok("https://api.githubcopilot.com", &ghe).is_err());
    // Loopback (the mock) is accepted, plain http included, only for a custom host: for github.com or a
    // GHE.com tenant a loopback `endpoints.api` would hand the token to whatever listens on this machine.
    let mock = GitHubHost::custom(
        Url::parse("http://127.0.0.1:4000").unwrap(),
        Url::parse("http://127.0.0.1:4000").unwrap(),
        Url::parse("http://127.0.0.1:4000").unwrap(),
    );
    for loopback in [
        "http://127.0.0.1:4141",
        "http://localhost:8080/copilot",
        "http://[::1]:9000",
    ] {
        assert!(ok(loopback, &mock).is_ok(), "{loopback}");
        assert!(ok(loopback, &github).is_err(), "{loopback}");
        assert!(ok(loopback, &ghe).is_err(), "{loopback}");
    }
    assert!(ok("http://attacker.localhost:8080", &mock).is_err());
    // proxy-ep derivation for a GHE.com tenant.
    assert_eq!(
        resolve_copilot_base_url(None, Some("copilot-proxy.acme.ghe.com"), &ghe)
            .unwrap()
            .as_str(),
        "https://copilot-api.acme.ghe.com/"
    );
    // A configured custom Copilot host is trusted.
    let custom = GitHubHost::github_com()
        .with_copilot_api_url(Url::parse("https://copilot.internal.example").unwrap());
    assert!(ok("https://copilot.internal.example", &custom).is_ok());
}

/// Found by the `token_envelope` fuzz target: an absurd `expires_at` (or `refresh_in`) from the server must
/// decode or fail typed, never panic on time arithmetic.
#[test]
fn absurd_times_never_panic() {
    let huge = br#"{"token":"tid=1;exp=1:m","expires_at":175033333333333333333333333333333333333333001800,"refresh_in":1501}"#;
    let _ = CopilotToken::from_json(huge, t0(), &GitHubHost::github_com());
    for body in [
        json!({"token": "tid=1:m", "expires_at": u64::MAX, "refresh_in": u64::MAX}),
        json!({"token": "tid=1:m", "expires_at": 1.0e300, "refresh_in": 1.0e300}),
        json!({"token": "tid=1:m", "expires_at": 1_800_000_000u64, "refresh_in": u64::MAX}),
    ] {
        if let Ok(token) = decode(body) {
            let _ = token.refresh_at(Duration::from_secs(60));
            let _ = token.is_expired(t0());
        }
    }
}
