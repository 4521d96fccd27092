use std::time::{Duration, SystemTime};

use copilot_http::time::{
    Clock, ManualClock, RecordingSleep, Sleep, TokioClock, TokioSleep, from_unix_seconds,
    unix_seconds,
};

#[tokio::test(start_paused = true)]
async fn tokio_clock_follows_paused_time() {
    let start = from_unix_seconds(1_700_000_000);
    let clock = TokioClock::starting_at(start);
    assert_eq!(clock.now(), start);
    TokioSleep.sleep(Duration::from_secs(900)).await;
    assert_eq!(clock.now(), start + Duration::from_secs(900));
}

#[test]
fn manual_clock_and_recording_sleep_agree() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let sleep = RecordingSleep::advancing(clock.clone());
    drop(sleep.sleep(Duration::from_secs(5)));
    drop(sleep.sleep(Duration::from_secs(10)));
    assert_eq!(
        sleep.recorded(),
        vec![Duration::from_secs(5), Duration::from_secs(10)]
    );
    assert_eq!(unix_seconds(clock.now()), 15);
    clock.set(from_unix_seconds(100));
    assert_eq!(unix_seconds(clock.now()), 100);
}

#[test]
fn shared_handles_are_clocks_and_sleepers_too() {
    fn takes_clock(clock: impl Clock) -> SystemTime {
        clock.now()
    }
    let manual = ManualClock::new(from_unix_seconds(42));
    let shared: copilot_http::time::SharedClock = copilot_http::time::SharedClock::new(manual);
    assert_eq!(unix_seconds(takes_clock(shared.clone())), 42);
    let recording = RecordingSleep::new();
    let sleeper: copilot_http::time::SharedSleep =
        copilot_http::time::SharedSleep::new(recording.clone());
    drop(sleeper.sleep(Duration::from_secs(3)));
    assert_eq!(recording.recorded(), vec![Duration::from_secs(3)]);
}

#[test]
fn server_supplied_times_saturate_instead_of_panicking() {
    use copilot_http::time::{LATEST_UNIX_SECONDS, saturating_add};
    let latest = from_unix_seconds(LATEST_UNIX_SECONDS);
    assert_eq!(from_unix_seconds(u64::MAX), latest);
    assert_eq!(
        unix_seconds(from_unix_seconds(1_773_238_125)),
        1_773_238_125
    );
    let now = from_unix_seconds(1_700_000_000);
    assert_eq!(saturating_add(now, Duration::from_secs(u64::MAX)), latest);
    assert_eq!(saturating_add(now, Duration::MAX), latest);
    assert_eq!(
        saturating_add(now, Duration::from_secs(900)),
        from_unix_seconds(1_700_000_900)
    );
}
