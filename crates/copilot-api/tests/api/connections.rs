//! Connection reuse: a stream read to its `[DONE]` hands its connection back to the pool, so a session's
//! next request does not pay for a new TCP (and, in production, TLS) handshake.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use copilot_api::{ChatEvent, ChatRequest, CopilotApiClient, Message, StaticAuth};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SSE: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

/// A keep-alive HTTP/1.1 server that answers every request with a chunked SSE stream, and counts the TCP
/// connections it accepts. The last event and the chunked terminator go out in one write, as real servers do.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Read one request: head, then a Content-Length body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < head_end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n\
                         {:x}\r\n{SSE}\r\n0\r\n\r\n",
                        SSE.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, connections)
}

#[tokio::test]
async fn a_stream_read_to_done_returns_its_connection_to_the_pool() {
    let (base, connections) = counting_server().await;
    let client =
        CopilotApiClient::new(StaticAuth::new("tid=test:mac", base.parse().unwrap())).unwrap();
    for _ in 0..3 {
        let mut stream = client
            .chat_stream(ChatRequest::new("gpt-4.1", vec![Message::user("hello")]))
            .await
            .unwrap();
        // Read up to Done, as a consumer that stops at the end of the answer does, then drop the stream.
        while let Some(event) = stream.next().await {
            if matches!(event.unwrap(), ChatEvent::Done { .. }) {
                break;
            }
        }
        drop(stream);
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "every request should reuse the first connection"
    );
}
