//! One retrier for every call: [`Retrier`] owns the attempts, the clock and the time budget, asks
//! [`classify`] what each attempt's outcome allows, and performs the one credential refresh a call may
//! need. Callers describe an attempt ([`Attempt`]) and say whether the request may be delivered twice
//! ([`Idempotency`]); they never loop themselves.
//!
//! The rules (each pinned by a test, see `docs/protocol.md`, "Retries and idempotency"):
//!
//! - **Idempotent** calls (token exchange, `GET /models`, embeddings) are retried after a transport failure
//!   before a response ([`TransportError::is_retryable`]) and after a [retryable status](is_retryable_status).
//! - **Non-idempotent** calls (chat, responses, messages: one user turn is one billed request) are retried
//!   only when the failure proves the server did not process the request: a connection that was never
//!   established ([`TransportError::proves_not_sent`]), `429`, or `503` with `Retry-After`. A response head
//!   is final; anything else reaches the caller as a typed error it may decide to retry.
//! - A `401`, `403` or `421` asks the [`Attempt`] to refresh its credentials and is re-sent at once, at most
//!   once per call; that re-send does not count against `max_attempts`.
//! - Waits honour `Retry-After` (seconds or HTTP-date, clamped to [`MAX_RETRY_AFTER`]) and are compared with
//!   the remaining budget in saturating arithmetic: no retry starts whose wait would end past `max_elapsed`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::{HeaderMap, StatusCode, header};

use crate::time::{Clock, Sleep};
use crate::{HttpRequest, HttpResponse, HttpTransport, TransportError};

/// The longest `Retry-After` taken from a server (one year); larger values, including absurd ones such as
/// `18446744073709551615`, are clamped here so that nothing computing with them can overflow.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(365 * 24 * 60 * 60);

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
/// Also the one meaning of a *transient* status across the workspace (an error whose cause may pass):
/// 501, 505 and other 5xx answers say the request itself will never work.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 499 | 500 | 502 | 503 | 504)
}

/// [`is_retryable_status`] for a status kept as a number (an error's `status` field); a number that is no
/// HTTP status is not retryable.
pub fn is_retryable_status_code(status: u16) -> bool {
    StatusCode::from_u16(status).is_ok_and(is_retryable_status)
}

/// Parses `Retry-After` as delta-seconds or as an HTTP-date (relative to `now`). A date in the past is zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value (delta-seconds or HTTP-date), clamped to [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        // try_: a server's "1e300" must not panic.
        Duration::try_from_secs_f64(secs).ok()?
    } else {
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Whether a request may be delivered to the server twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Idempotency {
    /// Delivering it twice changes nothing (a `GET`, the token exchange, embeddings, accepting a policy).
    Idempotent,
    /// Delivering it twice could act or bill twice (a chat, responses or messages turn).
    NonIdempotent,
}

/// What one attempt's outcome allows, as decided by [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Hand the outcome to the caller as it is.
    Final,
    /// Send again after a backoff; `server_wait` is the server's `Retry-After`, when it gave one.
    Retry {
        /// The server's requested wait.
        server_wait: Option<Duration>,
    },
    /// The server rejected the credentials (401, 403, 421): refresh them and send again at once.
    RefreshCredentials,
}

/// The classifier: what the outcome of one attempt of a request of the given idempotency allows (see the
/// [module docs](self) for the rules). `now` resolves a `Retry-After` HTTP-date.
pub fn classify(
    idempotency: Idempotency,
    outcome: Result<&HttpResponse, &TransportError>,
    now: SystemTime,
) -> Verdict {
    match outcome {
        Ok(response) => {
            let status = response.status();
            if matches!(status.as_u16(), 401 | 403 | 421) {
                return Verdict::RefreshCredentials;
            }
            let server_wait = || retry_after(response.headers(), now);
            match idempotency {
                Idempotency::Idempotent if is_retryable_status(status) => Verdict::Retry {
                    server_wait: server_wait(),
                },
                // 429: the request was refused, not processed. 503 with Retry-After: the server says it
                // did not take the request and when to come back. Any other status is an answer.
                Idempotency::NonIdempotent if status == StatusCode::TOO_MANY_REQUESTS => {
                    Verdict::Retry {
                        server_wait: server_wait(),
                    }
                }
                Idempotency::NonIdempotent if status == StatusCode::SERVICE_UNAVAILABLE => {
                    match server_wait() {
                        Some(wait) => Verdict::Retry {
                            server_wait: Some(wait),
                        },
                        None => Verdict::Final,
                    }
                }
                _ => Verdict::Final,
            }
        }
        Err(error) => {
            let retry = match idempotency {
                Idempotency::Idempotent => error.is_retryable(),
                Idempotency::NonIdempotent => error.proves_not_sent(),
            };
            if retry {
                Verdict::Retry { server_wait: None }
            } else {
                Verdict::Final
            }
        }
    }
}

/// One attempt of a call, as the [`Retrier`] drives it: build the request afresh (current credentials, a new
/// request id) and send it.
#[async_trait]
pub trait Attempt: Send {
    /// What the caller's attempts fail with: a transport error, or something that ends the call at once
    /// (e.g. no credentials could be obtained).
    type Error: Send;

    /// Builds and sends the next request.
    async fn send(&mut self) -> Result<HttpResponse, Self::Error>;

    /// The transport error inside `error`, which the classifier judges; `None` ends the call with `error`.
    fn transport_error(error: &Self::Error) -> Option<&TransportError>;

    /// The server rejected the credentials of the last request with `status` (401, 403, 421): drop them
    /// so the next [`send`](Self::send) uses fresh ones. Return whether a re-send can help. Called at most
    /// once per call. The default has no credentials to refresh.
    async fn refresh_credentials(&mut self, status: StatusCode) -> bool {
        let _ = status;
        false
    }
}

/// The one retry loop: attempts, clock and time budget in one place (see the [module docs](self)).
///
/// One call sends at most `max_attempts` requests, plus one after a credential refresh, and starts no
/// wait that would end past `max_elapsed`. When retries run out the last outcome is returned as it is, so
/// the caller maps a status and body as usual.
#[derive(Debug, Clone, Copy)]
pub struct Retrier<'a> {
    policy: &'a RetryPolicy,
    clock: &'a dyn Clock,
    sleep: &'a dyn Sleep,
}

impl<'a> Retrier<'a> {
    /// A retrier applying `policy`, reading time from `clock` and waiting with `sleep`.
    pub fn new(policy: &'a RetryPolicy, clock: &'a dyn Clock, sleep: &'a dyn Sleep) -> Self {
        Retrier {
            policy,
            clock,
            sleep,
        }
    }

    /// Runs `attempt` until its outcome is final, retries run out, or the budget would be exceeded.
    pub async fn run<A: Attempt + ?Sized>(
        &self,
        idempotency: Idempotency,
        attempt: &mut A,
    ) -> Result<HttpResponse, A::Error> {
        let started = self.clock.now();
        let mut counted = 0u32;
        let mut refreshed = false;
        loop {
            let result = attempt.send().await;
            // No reference into `result` may live across an await: a response body is not `Sync`.
            let (verdict, status) = {
                let outcome = match &result {
                    Ok(response) => Ok(response),
                    Err(error) => match A::transport_error(error) {
                        Some(error) => Err(error),
                        None => return result,
                    },
                };
                (
                    classify(idempotency, outcome, self.clock.now()),
                    outcome.ok().map(|response| response.status()),
                )
            };
            let server_wait = match (verdict, status) {
                (Verdict::Final, _) => return result,
                (Verdict::RefreshCredentials, Some(status)) => {
                    if refreshed || !attempt.refresh_credentials(status).await {
                        return result;
                    }
                    tracing::debug!(
                        status = status.as_u16(),
                        "credentials rejected; refreshed, sending once more"
                    );
                    refreshed = true;
                    // The refreshed re-send is the "+1": it does not count against `max_attempts`.
                    drop(result);
                    continue;
                }
                (Verdict::RefreshCredentials, None) => return result,
                (Verdict::Retry { server_wait }, _) => server_wait,
            };
            counted += 1;
            if counted >= self.policy.max_attempts {
                return result;
            }
            let wait = self.policy.delay(counted, server_wait);
            let elapsed = self
                .clock
                .now()
                .duration_since(started)
                .unwrap_or(Duration::ZERO);
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            // Saturating: a server's wait, however large, is compared with what is left of the budget.
            if wait > self.policy.max_elapsed.saturating_sub(elapsed) {
                tracing::debug!(
                    wait_ms,
                    "not retrying: the wait would end past the time budget"
                );
                return result;
            }
            match status {
                Some(status) => tracing::debug!(
                    status = status.as_u16(),
                    attempt = counted,
                    wait_ms,
                    "retrying after a retryable status"
                ),
                None => tracing::debug!(
                    attempt = counted,
                    wait_ms,
                    "retrying after a transport error"
                ),
            }
            // Drop the failed response (and its connection) before waiting.
            drop(result);
            self.sleep.sleep(wait).await;
        }
    }
}

/// Resends copies of one fixed request: what [`send_with_retry`] drives.
struct Resend<'a> {
    transport: &'a dyn HttpTransport,
    request: Option<HttpRequest>,
    last: bool,
}

#[async_trait]
impl Attempt for Resend<'_> {
    type Error = TransportError;

    async fn send(&mut self) -> Result<HttpResponse, TransportError> {
        let request = match (&self.request, self.last) {
            // No retry can follow: send the request itself instead of a copy.
            (Some(_), true) => self.request.take(),
            (Some(request), false) => Some(clone_request(request)),
            (None, _) => None,
        };
        match request {
            Some(request) => self.transport.send(request).await,
            None => Err(TransportError::InvalidRequest {
                message: "the request was already sent".to_owned(),
            }),
        }
    }

    fn transport_error(error: &TransportError) -> Option<&TransportError> {
        Some(error)
    }
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

/// Sends an idempotent `request` through the [`Retrier`]: transport failures before a response
/// ([`TransportError::is_retryable`]) and [retryable statuses](is_retryable_status) are retried per `policy`.
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
    let mut attempt = Resend {
        transport,
        request: Some(request),
        last: policy.max_attempts <= 1,
    };
    Retrier::new(policy, clock, sleep)
        .run(Idempotency::Idempotent, &mut attempt)
        .await
}
