//! The device-flow responses, through the public API: `DeviceFlow::start` (the device-code answer) and
//! `DeviceFlow::poll_once` (the access-token answer) against a transport that replies with fuzzed status,
//! content type and body. copilot-auth has no public parse function for these bodies, so the flow itself is
//! driven. Must never panic; errors are fine.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use copilot_auth::DeviceFlow;
use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_http::{FnTransport, GitHubHost, ResponseBody, SharedTransport};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

const STATUSES: [u16; 8] = [200, 200, 200, 400, 401, 404, 429, 500];
const TYPES: [&str; 4] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "text/html",
];

fn reply(flags: u8, body: Bytes) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(ResponseBody::from_bytes(body));
    *response.status_mut() = http::StatusCode::from_u16(STATUSES[(flags & 7) as usize])
        .expect("a valid status");
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(TYPES[((flags >> 3) & 3) as usize]),
    );
    response
}

fuzz_target!(|input: &[u8]| {
    // Byte 0: status/type of the code answer; byte 1: of the poll answer; bytes 2–3: where the code answer ends.
    if input.len() < 4 {
        return;
    }
    let (code_flags, poll_flags) = (input[0], input[1]);
    let rest = &input[4..];
    let cut = (u16::from_le_bytes([input[2], input[3]]) as usize).min(rest.len());
    let code_body = Bytes::copy_from_slice(&rest[..cut]);
    let poll_body = Bytes::copy_from_slice(&rest[cut..]);
    let transport = SharedTransport::new(FnTransport::new(move |request| {
        let (flags, body) = if request.uri().path().ends_with("/login/device/code") {
            (code_flags, code_body.clone())
        } else {
            (poll_flags, poll_body.clone())
        };
        async move { Ok(reply(flags, body)) }
    }));
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let flow = DeviceFlow::new(GitHubHost::github_com(), "Iv1.fuzz")
        .transport(transport)
        .clock(Arc::new(clock.clone()))
        .sleep(Arc::new(RecordingSleep::advancing(clock)));
    runtime().block_on(async {
        if let Ok(code) = flow.start().await {
            let _ = format!("{code:?}");
            let _ = flow.poll_once(&code).await.map(|outcome| format!("{outcome:?}"));
        }
    });
});
