//! Wrapping an injected value in its shared handle, once.
//!
//! Setters across the workspace take `impl HttpTransport`, `impl Clock` or `impl Sleep`, and the shared
//! handles ([`SharedTransport`](crate::SharedTransport), [`SharedClock`](crate::time::SharedClock),
//! [`SharedSleep`](crate::time::SharedSleep)) implement those traits themselves, so a caller may pass either
//! a bare value or a handle it already shares with other clients. The handle's `new` uses [`share`], so a
//! handle is kept as it is: no second `Arc` and, for a transport, no second safety check on every request.

use std::any::Any;

/// `value` itself when it already is the handle `S`, else `wrap(value)`.
pub(crate) fn share<T: 'static, S: 'static>(value: T, wrap: impl FnOnce(T) -> S) -> S {
    let mut value = Some(value);
    let reused = (&mut value as &mut dyn Any)
        .downcast_mut::<Option<S>>()
        .and_then(Option::take);
    match (reused, value) {
        (Some(shared), _) => shared,
        (None, Some(value)) => wrap(value),
        // `value` is taken only when it was an `S`, and then `reused` holds it.
        (None, None) => unreachable!("a value is either reused or wrapped"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::time::{ManualClock, SharedClock};
    use crate::{FnTransport, ResponseBody, SharedTransport};

    #[test]
    fn a_shared_handle_is_kept_and_a_bare_value_is_wrapped() {
        let clock = SharedClock::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let again = SharedClock::new(clock.clone());
        assert!(
            again.ptr_eq(&clock),
            "a SharedClock given to SharedClock::new is the same handle"
        );

        let transport = SharedTransport::new(FnTransport::new(|_request| async {
            Ok(http::Response::new(ResponseBody::from_bytes("")))
        }));
        let again = SharedTransport::new(transport.clone());
        assert!(
            again.ptr_eq(&transport),
            "a SharedTransport is not wrapped twice"
        );

        let manual = ManualClock::new(SystemTime::UNIX_EPOCH);
        let shared = SharedClock::new(manual.clone());
        manual.advance(Duration::from_secs(5));
        assert_eq!(
            shared.now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(5)
        );
    }
}
