//! Retry with exponential backoff and jitter, honouring `Retry-After`.
//!
//! Use it only where a retry cannot duplicate an effect: idempotent calls (token exchange, `GET /models`)
//! and requests whose response has not started (a chat request answered 429 or 503 before any byte of the
//! stream). A streamed answer is never retried once the caller has seen a byte of it.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header};

use crate::time::{Clock, Sleep};
use crate::{HttpRequest, HttpResponse, HttpTransport, TransportError};

/// How often and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// Four attempts, 500 ms doubling to at most 10 s, at most 60 s in all, with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts, including the first (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; it doubles for each further one.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest computed backoff (a server's `Retry-After` may ask for more, up to `max_elapsed`).
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The total time budget: no retry is started whose wait would end past it.
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// Whether to randomise each backoff within [half, full] (on by default; off gives exact schedules).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The configured number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        if self.jitter {
            let half = full / 2;
            half + half.mul_f64(random_unit())
        } else {
            full
        }
    }

    /// How long to wait before retry number `retry`, given the server's `Retry-After` (if any): the server's
    /// value when present, else the computed backoff.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or_else(|| self.backoff(retry))
    }

    /// The total time budget.
    pub fn budget(&self) -> Duration {
        self.max_elapsed
    }
}

/// A uniformly distributed number in [0, 1), from the operating system's randomness.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Statuses worth retrying when the request may be repeated: 408, 429, 499 and 5xx gateway/server errors.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 499 | 500 | 502 | 503 | 504)
}

/// Parses `Retry-After` as delta-seconds or as an HTTP-date (relative to `now`). A date in the past is zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value (delta-seconds or HTTP-date).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        // try_: a server's "1e300" must not panic.
        return Duration::try_from_secs_f64(secs).ok();
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

fn clone_request(request: &HttpRequest) -> HttpRequest {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    if let Some(marker) = request.extensions().get::<crate::CarriesCredential>() {
        copy.extensions_mut().insert(*marker);
    }
    copy
}

/// Sends `request`, retrying transport failures that happened before a response ([`TransportError::is_retryable`])
/// and [retryable statuses](is_retryable_status) per `policy`.
///
/// When retries run out (attempts or time budget) the last response is returned as it is, so the caller
/// maps its status and body as usual; the last transport error is returned likewise.
pub async fn send_with_retry(
    transport: &dyn HttpTransport,
    request: HttpRequest,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    sleep: &dyn Sleep,
) -> Result<HttpResponse, TransportError> {
    if policy.max_attempts <= 1 {
        // No retry can follow: send the request itself instead of a copy.
        return transport.send(request).await;
    }
    let started = clock.now();
    let mut attempt = 1;
    loop {
        let result = transport.send(clone_request(&request)).await;
        let server_wait = match &result {
            Ok(response) if is_retryable_status(response.status()) => {
                retry_after(response.headers(), clock.now())
            }
            Err(error) if error.is_retryable() => None,
            _ => return result,
        };
        if attempt >= policy.max_attempts {
            return result;
        }
        let wait = policy.delay(attempt, server_wait);
        let elapsed = clock
            .now()
            .duration_since(started)
            .unwrap_or(Duration::ZERO);
        if elapsed + wait > policy.max_elapsed {
            return result;
        }
        match &result {
            Ok(response) => tracing::debug!(
                status = response.status().as_u16(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying after a retryable status"
            ),
            Err(error) => {
                tracing::debug!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying after a transport error")
            }
        }
        // Drop the failed response (and its connection) before waiting.
        drop(result);
        sleep.sleep(wait).await;
        attempt += 1;
    }
}
