//! Injectable time.
//!
//! Everything time-driven in copilot-rs (token expiry, polling intervals, backoff) reads the wall clock
//! through [`Clock`] and waits through [`Sleep`]. Production uses [`SystemClock`] and [`TokioSleep`]; tests
//! use [`ManualClock`] or [`TokioClock`] (which follows tokio's paused time), so a 15-minute device flow runs
//! in microseconds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Reads the wall clock.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// Waits.
pub trait Sleep: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// A shared [`Clock`]: cheap to clone, and a [`Clock`] itself, so it can be passed wherever a clock is taken.
///
/// Setters across the workspace take `impl Clock + 'static`; this is what they keep.
#[derive(Clone)]
pub struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// Shares `clock`; a `SharedClock` is kept as it is, not wrapped again.
    pub fn new(clock: impl Clock + 'static) -> Self {
        crate::shared::share(clock, |clock| SharedClock(Arc::new(clock)))
    }

    /// Whether both handles share one clock.
    pub fn ptr_eq(&self, other: &SharedClock) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The operating system's wall clock.
    pub fn system() -> Self {
        SharedClock::new(SystemClock)
    }

    /// The current time (as [`Clock::now`], without importing the trait).
    pub fn now(&self) -> SystemTime {
        self.0.now()
    }
}

impl Default for SharedClock {
    /// [`SharedClock::system`].
    fn default() -> Self {
        SharedClock::system()
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClock").field(&self.0).finish()
    }
}

impl Clock for SharedClock {
    fn now(&self) -> SystemTime {
        self.0.now()
    }
}

/// A shared [`Sleep`]: cheap to clone, and a [`Sleep`] itself.
#[derive(Clone)]
pub struct SharedSleep(Arc<dyn Sleep>);

impl SharedSleep {
    /// Shares `sleep`; a `SharedSleep` is kept as it is, not wrapped again.
    pub fn new(sleep: impl Sleep + 'static) -> Self {
        crate::shared::share(sleep, |sleep| SharedSleep(Arc::new(sleep)))
    }

    /// Whether both handles share one sleeper.
    pub fn ptr_eq(&self, other: &SharedSleep) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// `tokio::time::sleep`.
    pub fn tokio() -> Self {
        SharedSleep::new(TokioSleep)
    }

    /// A future that completes after `duration` (as [`Sleep::sleep`], without importing the trait).
    pub fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.sleep(duration)
    }
}

impl Default for SharedSleep {
    /// [`SharedSleep::tokio`].
    fn default() -> Self {
        SharedSleep::tokio()
    }
}

impl fmt::Debug for SharedSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedSleep").field(&self.0).finish()
    }
}

impl Sleep for SharedSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.sleep(duration)
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Sleeps with `tokio::time::sleep` (so tokio's paused test time applies).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A wall clock that advances with tokio's clock: `start + (tokio::time::Instant::now() - created)`.
///
/// Under `#[tokio::test(start_paused = true)]` it jumps forward whenever the runtime auto-advances time, so
/// expiry logic and sleeps agree without real waiting.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: SystemTime,
    created: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start` now and advances with tokio's clock.
    pub fn starting_at(start: SystemTime) -> Self {
        TokioClock {
            start,
            created: tokio::time::Instant::now(),
        }
    }

    /// A clock anchored at the current system time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.start + self.created.elapsed()
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock that reads `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A [`Sleep`] that returns at once and records what it was asked to wait, for asserting schedules.
#[derive(Debug, Clone, Default)]
pub struct RecordingSleep {
    slept: Arc<Mutex<Vec<Duration>>>,
    clock: Option<ManualClock>,
}

impl RecordingSleep {
    /// A sleeper that only records.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sleeper that records and advances `clock` by each requested duration.
    pub fn advancing(clock: ManualClock) -> Self {
        RecordingSleep {
            slept: Arc::default(),
            clock: Some(clock),
        }
    }

    /// Every duration requested so far, in order.
    pub fn recorded(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.slept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Seconds since the Unix epoch of `time` (0 for times before it).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The latest time copilot-rs computes with: 9999-12-31T23:59:59Z. Every platform's `SystemTime` can hold it,
/// so times derived from server-supplied numbers (`expires_at`, `expires_in`, `Retry-After`) saturate here
/// instead of overflowing.
pub const LATEST_UNIX_SECONDS: u64 = 253_402_300_799;

/// The `SystemTime` of a Unix timestamp in seconds, saturating at [`LATEST_UNIX_SECONDS`] (the value may come
/// from a server; an absurd one must not panic).
pub fn from_unix_seconds(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs.min(LATEST_UNIX_SECONDS))
}

/// `time + duration`, saturating at [`LATEST_UNIX_SECONDS`] instead of overflowing (durations such as
/// `expires_in` or a polling interval may come from a server).
pub fn saturating_add(time: SystemTime, duration: Duration) -> SystemTime {
    let latest = from_unix_seconds(LATEST_UNIX_SECONDS);
    match time.checked_add(duration) {
        Some(sum) if sum <= latest => sum,
        _ => latest.max(time),
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

impl<T: Sleep + ?Sized> Sleep for Arc<T> {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        (**self).sleep(duration)
    }
}
