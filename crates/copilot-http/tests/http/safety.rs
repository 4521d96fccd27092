use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use copilot_http::safety::{check_credential_uri, is_loopback_host};
use copilot_http::{
    CarriesCredential, FnTransport, HttpTransport, ResponseBody, SharedTransport, TransportError,
};

fn counting_transport() -> (SharedTransport, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = SharedTransport::new(FnTransport::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok(http::Response::new(ResponseBody::empty())) }
    }));
    (transport, calls)
}

fn with_auth(url: &str) -> http::Request<Bytes> {
    http::Request::get(url)
        .header("authorization", "Bearer gho_secret")
        .body(Bytes::new())
        .unwrap()
}

/// Sends a GET with a bearer token to each of `urls` through a [`counting_transport`]; returns each
/// outcome and how many requests reached the inner transport.
async fn send_each(urls: &[&str]) -> (Vec<Result<(), TransportError>>, usize) {
    let (transport, calls) = counting_transport();
    let mut outcomes = Vec::new();
    for url in urls {
        outcomes.push(transport.send(with_auth(url)).await.map(drop));
    }
    (outcomes, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn https_with_credentials_is_sent() {
    let (outcomes, calls) = send_each(&["https://api.githubcopilot.com/models"]).await;
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn plain_http_to_loopback_is_sent() {
    let (outcomes, calls) = send_each(&[
        "http://127.0.0.1:8080/x",
        "http://localhost:1/x",
        "http://[::1]:9/x",
        "http://127.8.9.10/x",
    ])
    .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(calls, 4);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_byte() {
    let urls = [
        "http://api.githubcopilot.com/chat/completions",
        "http://10.0.0.1/x",
        "http://localhost.evil.com/x",
        "ftp://github.com/x",
    ];
    let (outcomes, calls) = send_each(&urls).await;
    for (url, outcome) in urls.iter().zip(outcomes) {
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, TransportError::InsecureUrl { .. }),
            "{url}: {error:?}"
        );
        let text = error.to_string();
        assert!(!text.contains("gho_secret"), "{text}");
    }
    assert_eq!(
        calls, 0,
        "the inner transport must never see a refused request"
    );
}

#[tokio::test]
async fn every_secret_header_counts_as_a_credential() {
    // A provider key in `api-key` / `x-api-key` (Azure, Anthropic) gets the same https-or-loopback rule as
    // a bearer: the list is the one that redaction uses.
    let (transport, calls) = counting_transport();
    for name in [
        "api-key",
        "x-api-key",
        "x-github-token",
        "copilot-session-token",
        "cookie",
    ] {
        let request = http::Request::get("http://api.example.com/v1/messages")
            .header(name, "sk-secret")
            .body(Bytes::new())
            .unwrap();
        let error = transport.send(request).await.unwrap_err();
        assert!(
            matches!(error, TransportError::InsecureUrl { .. }),
            "{name}: {error:?}"
        );
        let loopback = http::Request::get("http://127.0.0.1:9/v1/messages")
            .header(name, "sk-secret")
            .body(Bytes::new())
            .unwrap();
        transport.send(loopback).await.unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "only the loopback requests were sent"
    );
}

#[tokio::test]
async fn userinfo_is_refused_and_not_echoed() {
    let (transport, calls) = counting_transport();
    let error = transport
        .send(with_auth("https://user:hunter2@api.github.com/user"))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::InsecureUrl { .. }));
    assert!(!error.to_string().contains("hunter2"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn secrets_in_a_body_are_guarded_by_the_extension() {
    let (transport, calls) = counting_transport();
    let mut request = http::Request::post("http://github.com/login/oauth/access_token")
        .body(Bytes::from_static(b"device_code=abc"))
        .unwrap();
    request.extensions_mut().insert(CarriesCredential);
    assert!(transport.send(request).await.is_err());
    // Without a credential, plain http is none of our business.
    let anonymous = http::Request::get("http://example.com/")
        .body(Bytes::new())
        .unwrap();
    transport.send(anonymous).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn shared_transport_marks_authorization_sensitive() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let slot = seen.clone();
    let transport = SharedTransport::new(FnTransport::new(move |request: http::Request<Bytes>| {
        *slot.lock().unwrap() = Some(request.headers()["authorization"].is_sensitive());
        async { Ok(http::Response::new(ResponseBody::empty())) }
    }));
    transport
        .send(with_auth("https://api.github.com/user"))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(true));
}

#[test]
fn loopback_detection() {
    for host in [
        "127.0.0.1",
        "127.255.0.1",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
    ] {
        assert!(is_loopback_host(host), "{host}");
    }
    for host in [
        "10.0.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "localhost.evil.com",
        "a.localhost",
        "github.com",
        "::2",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
    assert!(check_credential_uri(&"https://github.com".parse().unwrap()).is_ok());
}

/// `attacker.localhost` is resolved through DNS on ordinary machines: it is no loopback address (issue 14).
#[test]
fn dot_localhost_names_are_not_loopback() {
    for host in ["attacker.localhost", "a.b.localhost", "LOCALHOST.localhost"] {
        assert!(!is_loopback_host(host), "{host}");
        let uri: http::Uri = format!("http://{host}:8080/x").parse().unwrap();
        assert!(
            matches!(
                check_credential_uri(&uri),
                Err(TransportError::InsecureUrl { .. })
            ),
            "{host}"
        );
    }
}
