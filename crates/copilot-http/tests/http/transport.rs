use std::time::Duration;

use bytes::Bytes;
use copilot_http::{HttpTransport, ReqwestTransport, SharedTransport, TransportError};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Reads a request head (until the blank line) so the client sees a well-behaved peer.
async fn read_head(socket: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

async fn raw_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Accepts one connection on `listener`, reads the request head, then hands the socket to `then`.
fn serve_one<F, Fut>(listener: TcpListener, then: F) -> tokio::task::JoinHandle<Fut::Output>
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_head(&mut socket).await;
        then(socket).await
    })
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn sends_method_path_headers_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", "Bearer tok"))
        .and(header("content-type", "application/json"))
        .and(body_string("{\"a\":1}"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-request-id", "r1")
                .set_body_string("done"),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let transport = SharedTransport::new(ReqwestTransport::new().unwrap());
    let request = http::Request::post(format!("{}/chat/completions", server.uri()))
        .header("authorization", "Bearer tok")
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{\"a\":1}"))
        .unwrap();
    let response = transport.send(request).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "r1");
    assert_eq!(response.into_body().bytes().await.unwrap(), "done");
}

#[tokio::test]
async fn streams_a_body_arriving_in_many_small_chunks() {
    let (listener, url) = raw_server().await;
    let (first_seen_tx, first_seen_rx) = tokio::sync::oneshot::channel::<()>();
    let server = serve_one(listener, |mut socket| async move {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        socket.write_all(b"1\r\nd\r\n").await.unwrap();
        socket.flush().await.unwrap();
        // The client must hand us the first byte before the rest exists: it streams, it does not buffer.
        first_seen_rx.await.unwrap();
        for i in 0..300 {
            let piece = format!("{}", i % 10);
            socket
                .write_all(format!("1\r\n{piece}\r\n").as_bytes())
                .await
                .unwrap();
            if i % 7 == 0 {
                socket.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
        }
        socket.write_all(b"0\r\n\r\n").await.unwrap();
    });
    let transport = ReqwestTransport::new().unwrap();
    let mut body = transport.send(get(&url)).await.unwrap().into_body();
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(first, "d");
    first_seen_tx.send(()).unwrap();
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let expected: String = (0..300)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    assert_eq!(String::from_utf8(rest).unwrap(), expected);
    server.await.unwrap();
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let (listener, url) = raw_server().await;
    drop(listener);
    let transport = ReqwestTransport::new().unwrap();
    let error = transport.send(get(&url)).await.unwrap_err();
    assert!(matches!(error, TransportError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_body_cut_short_is_connection_closed() {
    let (listener, url) = raw_server().await;
    serve_one(listener, |mut socket| async move {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
            .await
            .unwrap();
        socket.shutdown().await.unwrap();
    });
    let transport = ReqwestTransport::new().unwrap();
    let response = transport.send(get(&url)).await.unwrap();
    let error = response.into_body().bytes().await.unwrap_err();
    assert!(
        matches!(error, TransportError::ConnectionClosed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let (listener, url) = raw_server().await;
    let hold = serve_one(listener, |socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let transport = ReqwestTransport::builder()
        .read_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let error = transport.send(get(&url)).await.unwrap_err();
    assert!(matches!(error, TransportError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    hold.abort();
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "https://evil.example/steal"),
        )
        .mount(&server)
        .await;
    let transport = ReqwestTransport::new().unwrap();
    let response = transport.send(get(&server.uri())).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn dropping_the_body_closes_the_connection() {
    let (listener, url) = raw_server().await;
    let server = serve_one(listener, |mut socket| async move {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n")
            .await
            .unwrap();
        socket.flush().await.unwrap();
        // Keep writing until the client goes away; a write error means the connection was closed.
        for _ in 0..10_000 {
            if socket.write_all(b"1\r\nb\r\n").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    });
    let transport = ReqwestTransport::new().unwrap();
    let mut body = transport.send(get(&url)).await.unwrap().into_body();
    body.next().await.unwrap().unwrap();
    drop(body);
    drop(transport);
    assert!(
        server.await.unwrap(),
        "the server should see the connection closed"
    );
}

#[test]
fn parsed_url_matches_only_the_same_url() {
    use copilot_http::ParsedUrl;
    let url: url::Url = "https://user@api.example.com:8443/v1/chat/completions?api-version=1"
        .parse()
        .unwrap();
    let parsed = ParsedUrl::new(url.clone());
    assert!(parsed.matches(&url.as_str().parse().unwrap()));
    for other in [
        "http://user@api.example.com:8443/v1/chat/completions?api-version=1",
        "https://api.example.com:8443/v1/chat/completions?api-version=1",
        "https://user@api.example.com/v1/chat/completions?api-version=1",
        "https://user@evil.example.com:8443/v1/chat/completions?api-version=1",
        "https://user@api.example.com:8443/v1/chat/completions",
        "https://user@api.example.com:8443/v1/models?api-version=1",
    ] {
        assert!(!parsed.matches(&other.parse().unwrap()), "{other}");
    }
    let bare = ParsedUrl::new("https://api.example.com".parse().unwrap());
    assert!(bare.matches(&"https://api.example.com/".parse().unwrap()));
    let with_fragment = ParsedUrl::new("https://api.example.com/a#frag".parse().unwrap());
    assert!(!with_fragment.matches(&"https://api.example.com/a".parse().unwrap()));
}

/// A `ParsedUrl` that no longer names the request's `Uri` (a middleware rewrote it) is ignored: the `Uri`,
/// which the safety policy checked, is where the request goes; a matching one is used.
#[tokio::test]
async fn reqwest_transport_sends_to_the_uri_not_a_stale_parsed_url() {
    let server = MockServer::start().await;
    Mock::given(path("/right"))
        .respond_with(ResponseTemplate::new(200).set_body_string("right"))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("wrong"))
        .mount(&server)
        .await;
    let transport = SharedTransport::new(ReqwestTransport::new().unwrap());
    for parsed in ["/wrong", "/right"] {
        let mut request = http::Request::post(format!("{}/right", server.uri()))
            .header("authorization", "Bearer tok")
            .body(Bytes::new())
            .unwrap();
        let stale = format!("{}{parsed}", server.uri()).parse().unwrap();
        request
            .extensions_mut()
            .insert(copilot_http::ParsedUrl::new(stale));
        let response = transport.send(request).await.unwrap();
        assert_eq!(response.status(), 200, "parsed URL {parsed}");
        assert_eq!(response.into_body().bytes().await.unwrap(), "right");
    }
}
