use copilot_http::host::HostKind;
use copilot_http::{GitHubHost, TransportError};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// Asserts the web, REST API and Copilot API base URLs of `host`, naming `input` on failure.
fn assert_bases(host: &GitHubHost, input: &str, [web, api, copilot]: [&str; 3]) {
    assert_eq!(host.web_url().as_str(), web, "{input}");
    assert_eq!(host.api_url().as_str(), api, "{input}");
    assert_eq!(host.copilot_api_url().as_str(), copilot, "{input}");
}

/// Asserts where `host` sends the Copilot token exchange and the device-code request.
fn assert_token_and_device_endpoints(host: &GitHubHost, token: &str, device: &str) {
    assert_eq!(
        host.api_endpoint("/copilot_internal/v2/token").as_str(),
        token
    );
    assert_eq!(host.web_endpoint("/login/device/code").as_str(), device);
}

#[test]
fn github_com_in_every_spelling() {
    for input in [
        "github.com",
        "https://github.com",
        "https://github.com/",
        "api.github.com",
        " GitHub.com ",
    ] {
        let host = GitHubHost::parse(input).unwrap();
        assert_eq!(host.kind(), &HostKind::GitHubCom, "{input}");
        assert_bases(
            &host,
            input,
            [
                "https://github.com/",
                "https://api.github.com/",
                "https://api.githubcopilot.com/",
            ],
        );
        assert_eq!(host.key(), "github.com");
    }
    assert_token_and_device_endpoints(
        &GitHubHost::github_com(),
        "https://api.github.com/copilot_internal/v2/token",
        "https://github.com/login/device/code",
    );
}

#[test]
fn ghe_com_tenants() {
    for input in [
        "acme.ghe.com",
        "https://acme.ghe.com",
        "https://api.acme.ghe.com",
        "copilot-api.acme.ghe.com",
    ] {
        let host = GitHubHost::parse(input).unwrap();
        assert_eq!(
            host.kind(),
            &HostKind::DataResidency {
                tenant: "acme".into()
            },
            "{input}"
        );
        assert_bases(
            &host,
            input,
            [
                "https://acme.ghe.com/",
                "https://api.acme.ghe.com/",
                "https://copilot-api.acme.ghe.com/",
            ],
        );
        assert_eq!(host.key(), "acme.ghe.com");
    }
    assert!(GitHubHost::ghe_com("a.b").is_err());
    assert!(GitHubHost::ghe_com("").is_err());
    assert!(GitHubHost::parse("http://acme.ghe.com").is_err());
}

#[test]
fn enterprise_server_keeps_the_api_v3_prefix() {
    for input in [
        "github.example.com",
        "https://github.example.com",
        "https://github.example.com/api/v3",
    ] {
        let host = GitHubHost::parse(input).unwrap();
        assert_eq!(host.kind(), &HostKind::EnterpriseServer, "{input}");
        assert_eq!(host.web_url().as_str(), "https://github.example.com/");
        assert_eq!(host.api_url().as_str(), "https://github.example.com/api/v3");
        assert_eq!(
            host.api_endpoint("/copilot_internal/v2/token").as_str(),
            "https://github.example.com/api/v3/copilot_internal/v2/token"
        );
        assert_eq!(
            host.api_endpoint("user/orgs").as_str(),
            "https://github.example.com/api/v3/user/orgs"
        );
    }
    let with_port = GitHubHost::parse("https://ghes.internal:8443").unwrap();
    assert_eq!(with_port.key(), "ghes.internal:8443");
    assert_eq!(
        with_port.api_url().as_str(),
        "https://ghes.internal:8443/api/v3"
    );
    // A local mock with the GHES layout.
    let local = GitHubHost::enterprise_server_url("http://127.0.0.1:4000").unwrap();
    assert_eq!(local.api_url().as_str(), "http://127.0.0.1:4000/api/v3");
}

#[test]
fn bad_hosts_get_clear_errors() {
    let cases = [
        "",
        "   ",
        "http://github.example.com",
        "https://github.example.com/some/path",
        "ftp://github.com",
        "https://github.com:8443",
        "git hub.com",
        "https://user:pw@github.example.com",
    ];
    for input in cases {
        let error = GitHubHost::parse(input).unwrap_err();
        assert!(
            matches!(
                error,
                TransportError::InvalidHost { .. } | TransportError::InvalidUrl { .. }
            ),
            "{input:?}: {error:?}"
        );
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn custom_hosts_point_everything_anywhere() {
    let host = GitHubHost::custom(
        url("http://127.0.0.1:9000/github"),
        url("http://127.0.0.1:9000/api"),
        url("http://127.0.0.1:9000/copilot"),
    );
    assert_eq!(host.kind(), &HostKind::Custom);
    assert_token_and_device_endpoints(
        &host,
        "http://127.0.0.1:9000/api/copilot_internal/v2/token",
        "http://127.0.0.1:9000/github/login/device/code",
    );
}

#[test]
fn trusted_copilot_api_hosts() {
    let dotcom = GitHubHost::github_com();
    for ok in [
        "https://api.githubcopilot.com",
        "https://api.business.githubcopilot.com",
        "https://api.individual.githubcopilot.com/",
    ] {
        assert!(dotcom.is_trusted_copilot_api(&url(ok)), "{ok}");
    }
    for bad in [
        "http://api.githubcopilot.com",
        "https://api.githubcopilot.com.evil.com",
        "https://evilgithubcopilot.com",
        "https://api.githubcopilot.com:8443",
        "https://user@api.githubcopilot.com",
        "https://copilot-api.acme.ghe.com",
        "http://10.1.1.1",
        // Loopback is trusted only for custom hosts (loopback_copilot_api_is_trusted_only_for_custom_hosts).
        "http://127.0.0.1:4010",
    ] {
        assert!(!dotcom.is_trusted_copilot_api(&url(bad)), "{bad}");
    }
    let tenant = GitHubHost::ghe_com("acme").unwrap();
    assert!(tenant.is_trusted_copilot_api(&url("https://copilot-api.acme.ghe.com")));
    assert!(!tenant.is_trusted_copilot_api(&url("https://copilot-api.other.ghe.com")));
    assert!(!tenant.is_trusted_copilot_api(&url("https://api.githubcopilot.com")));
}

/// A token envelope that advertises a loopback `endpoints.api` is trusted only for custom (test) hosts:
/// on a real deployment it would hand the Copilot token to whatever listens on this machine (issue 14).
#[test]
fn loopback_copilot_api_is_trusted_only_for_custom_hosts() {
    let real = [
        GitHubHost::github_com(),
        GitHubHost::ghe_com("acme").unwrap(),
        GitHubHost::enterprise_server("github.example.com").unwrap(),
    ];
    for host in &real {
        for advertised in [
            "http://127.0.0.1:4010",
            "https://127.0.0.1",
            "http://localhost:8080",
            "http://[::1]:80",
        ] {
            assert!(
                !host.is_trusted_copilot_api(&url(advertised)),
                "{} trusted {advertised}",
                host.key()
            );
        }
    }
    let custom = custom_on("http://127.0.0.1:4000");
    assert!(custom.is_trusted_copilot_api(&url("http://127.0.0.1:4010")));
    assert!(custom.is_trusted_copilot_api(&url("http://localhost:4010")));
    assert!(!custom.is_trusted_copilot_api(&url("http://attacker.localhost:4010")));
    // A GHES mock on loopback keeps working: its own configured Copilot API is trusted.
    let ghes_mock = GitHubHost::enterprise_server_url("http://127.0.0.1:4000").unwrap();
    assert!(ghes_mock.is_trusted_copilot_api(ghes_mock.copilot_api_url()));
}

/// An invalid-host error never echoes a password from the input (issue 14).
#[test]
fn host_errors_never_echo_url_credentials() {
    for input in [
        "https://u:hunter2password@github.example.com",
        "https://u:hunter2password@github.example.com/some/path",
        "ftp://u:hunter2password@github.example.com",
        "https://u:hunter2password@",
    ] {
        assert_no_password(GitHubHost::parse(input).unwrap_err(), input);
    }
    let input = "https://u:hunter2password@ghes.example.com";
    assert_no_password(GitHubHost::enterprise_server_url(input).unwrap_err(), input);
}

fn assert_no_password(error: TransportError, input: &str) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("hunter2password"), "{input}: {shown}");
}

/// A custom host whose web root is `base`, its REST API at `base/api` and its Copilot API at `base/copilot`.
fn custom_on(base: &str) -> GitHubHost {
    GitHubHost::custom(
        url(base),
        url(&format!("{base}/api")),
        url(&format!("{base}/copilot")),
    )
}
