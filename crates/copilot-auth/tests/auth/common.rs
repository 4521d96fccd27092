//! Shared helpers: wiremock hosts, a real transport, and a redacting request renderer for snapshots.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use copilot_http::time::{ManualClock, RecordingSleep};
use copilot_http::{ClientIdentity, GitHubHost, ReqwestTransport, SharedTransport};
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Form fields and query parameters whose values are secrets or random.
const REDACTED_FIELDS: &[&str] = &[
    "device_code",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "state",
    "code_challenge",
];

/// A host whose web, REST and Copilot endpoints all point at the mock server.
pub fn host(server: &MockServer) -> GitHubHost {
    let url = Url::parse(&server.uri()).unwrap();
    GitHubHost::custom(url.clone(), url.clone(), url)
}

/// The real reqwest transport (wiremock listens on loopback, which the safety policy allows).
pub fn transport() -> SharedTransport {
    SharedTransport::new(ReqwestTransport::new().unwrap())
}

/// A stable identity so snapshots do not change with the crate version.
pub fn identity() -> ClientIdentity {
    ClientIdentity::new().with_user_agent("copilot-auth-tests/1.0")
}

/// A fixed start time.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A manual clock at [`t0`] and a sleeper that records and advances it.
pub fn manual_time() -> (ManualClock, RecordingSleep) {
    let clock = ManualClock::new(t0());
    let sleep = RecordingSleep::advancing(clock.clone());
    (clock, sleep)
}

/// Mounts the catch-all 500 that must come last.
pub async fn mount_catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// Renders a request as stable text: method, path and query (secrets redacted), the headers that matter
/// (sorted; `Authorization` reduced to its scheme), and a form body with secret fields redacted.
pub fn render_request(request: &Request) -> String {
    let mut out = format!("{} {}", request.method, request.url.path());
    let query: Vec<String> = request
        .url
        .query_pairs()
        .map(|(k, v)| format!("{k}={}", redact_value(&k, &v)))
        .collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out.push('\n');
    let skip = ["host", "content-length", "accept-encoding"];
    for (name, value) in copilot_test_support::redacted_headers(&request.headers, &skip) {
        out.push_str(&format!("{name}: {value}\n"));
    }
    if !request.body.is_empty() {
        out.push('\n');
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap();
        for (k, v) in pairs {
            out.push_str(&format!("{k}={}\n", redact_value(&k, &v)));
        }
    }
    out
}

fn redact_value(key: &str, value: &str) -> String {
    if REDACTED_FIELDS.contains(&key) {
        "[redacted]".to_owned()
    } else {
        value.to_owned()
    }
}

/// The form fields of a request body.
pub fn form(request: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap()
}

/// One form field.
pub fn form_field(request: &Request, key: &str) -> Option<String> {
    form(request)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// A JSON response.
pub fn json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// Answers with the given responses in order, then repeats the last one.
pub struct Sequence {
    responses: Vec<ResponseTemplate>,
    next: std::sync::atomic::AtomicUsize,
}

impl Sequence {
    pub fn new(responses: Vec<ResponseTemplate>) -> Self {
        Sequence {
            responses,
            next: Default::default(),
        }
    }
}

impl wiremock::Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

/// A shared clock handle for builders.
pub fn shared<T: copilot_http::time::Clock + Clone + 'static>(
    clock: &T,
) -> Arc<dyn copilot_http::time::Clock> {
    Arc::new(clock.clone())
}
