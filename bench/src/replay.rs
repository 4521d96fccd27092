//! A replay server: a minimal HTTP/1.1 server, run as its own process (`copilot-bench replay-server FILE`), that
//! answers every request with the bytes of FILE (a recorded `copilot-mock` stream) in 64 KiB writes.
//!
//! Why: `copilot-mock` writes each SSE event separately (one write per ~500-byte chunk), so at full speed the
//! mock process, not the client, sets the pace and every contender measures about the same. Serving the very
//! same bytes in network-sized writes moves the bottleneck to the client, which is what the throughput
//! comparison is about. The request is read (headers and `Content-Length` body) and ignored.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::BenchError;

const WRITE_SIZE: usize = 64 * 1024;

/// Serves `body` on a free loopback port until killed; prints `listening on http://ADDR` first.
pub async fn serve(body: Vec<u8>) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let body: std::sync::Arc<[u8]> = body.into();
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let _ = connection(stream, &body).await;
        });
    }
}

async fn connection(stream: TcpStream, body: &[u8]) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = AsyncBufReader::new(stream);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    loop {
        // Request line and headers.
        let mut content_length = 0usize;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if !first
                && let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
            first = false;
        }
        let mut request_body = vec![0; content_length];
        reader.read_exact(&mut request_body).await?;
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        for piece in body.chunks(WRITE_SIZE) {
            stream.write_all(piece).await?;
        }
        stream.flush().await?;
    }
}

/// A running replay server process.
#[derive(Debug)]
pub struct ReplayProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl ReplayProcess {
    /// Starts `copilot-bench replay-server FILE` (this executable) serving `file`.
    pub fn start(file: &Path) -> Result<Self, BenchError> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg("replay-server")
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Mock("replay server: no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = lines
            .next()
            .and_then(Result::ok)
            .and_then(|line| line.strip_prefix("listening on ").map(str::to_owned));
        std::thread::spawn(move || lines.for_each(drop));
        match url {
            Some(url) => Ok(ReplayProcess { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(BenchError::Mock("the replay server did not start".into()))
            }
        }
    }
}

impl Drop for ReplayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
