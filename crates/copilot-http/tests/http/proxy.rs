//! The environment's proxy never sees a loopback request, and never a credential over plain http (issue 14).
//!
//! Proxy settings come from the process environment, which a test cannot change safely (and this workspace
//! forbids `unsafe`), so the test re-runs itself as a child process with `HTTP_PROXY` and friends pointing at
//! a recording "proxy".

use std::process::Command;

use bytes::Bytes;
use copilot_http::{HttpTransport, ReqwestTransport, TransportError};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHILD: &str = "COPILOT_HTTP_PROXY_TEST_CHILD";
const TEST: &str =
    "http::proxy::the_environment_proxy_never_sees_loopback_or_plain_http_credentials";

fn with_bearer(url: &str) -> http::Request<Bytes> {
    http::Request::get(url)
        .header("authorization", "Bearer loopback-only-secret")
        .body(Bytes::new())
        .unwrap()
}

/// Runs in the child, with the proxy variables set.
async fn child() {
    let target = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("direct"))
        .mount(&target)
        .await;
    let transport = ReqwestTransport::new().unwrap();
    let port = target.address().port();
    for url in [
        format!("http://127.0.0.1:{port}/chat/completions"),
        format!("http://localhost:{port}/chat/completions"),
    ] {
        let response = transport.send(with_bearer(&url)).await.unwrap();
        assert_eq!(response.status(), 200, "{url} went through the proxy");
        let body = response.into_body().bytes().await.unwrap();
        assert_eq!(&body[..], b"direct", "{url}");
    }
    // Plain http to anything else with a credential is refused before the proxy (or anyone) sees it, even
    // when the adapter is used without `SharedTransport`.
    match transport
        .send(with_bearer("http://copilot.example.test/chat/completions"))
        .await
    {
        Err(TransportError::InsecureUrl { .. }) => {}
        other => panic!("a credential over plain http: {other:?}"),
    }
}

#[tokio::test]
async fn the_environment_proxy_never_sees_loopback_or_plain_http_credentials() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let proxy = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_string("proxied"))
        .mount(&proxy)
        .await;
    let exe = std::env::current_exe().unwrap();
    let output = tokio::task::spawn_blocking({
        let proxy = proxy.uri();
        move || {
            let mut command = Command::new(exe);
            command
                .args(["--exact", TEST, "--nocapture"])
                .env(CHILD, "1");
            for var in ["NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
                command.env_remove(var);
            }
            for var in [
                "HTTP_PROXY",
                "http_proxy",
                "HTTPS_PROXY",
                "https_proxy",
                "ALL_PROXY",
                "all_proxy",
            ] {
                command.env(var, &proxy);
            }
            command.output().unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child did not run the test:\n{stdout}"
    );
    let seen = proxy.received_requests().await.unwrap();
    assert!(
        seen.is_empty(),
        "the proxy received {} request(s), e.g. {:?}",
        seen.len(),
        seen.first()
            .map(|r| (r.url.to_string(), r.headers.get("authorization").cloned()))
    );
}
