//! The SSE framing layer alone (`copilot_api::sse::SseDecoder`): arbitrary bytes in arbitrary pieces. Must never
//! panic, and where the pieces are cut must never change the events. (The event mapping above it is fuzzed by
//! `crates/copilot-api/fuzz`'s `decode` target; `cargo xtask fuzz` runs both.)

#![no_main]

use copilot_api::sse::{SseDecoder, SseEvent};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Owned {
    event: Option<String>,
    data: Vec<u8>,
    id: Option<String>,
    stray: bool,
}

fn own(event: SseEvent<'_>) -> Owned {
    Owned {
        event: event.event.map(str::to_owned),
        data: event.data.to_vec(),
        id: event.id.map(str::to_owned),
        stray: event.stray,
    }
}

fn decode(data: &[u8], splits: &[u8]) -> (Vec<Owned>, Option<u64>) {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    let mut rest = data;
    for &split in splits {
        let at = (split as usize).min(rest.len());
        // Fuzz inputs stay far below the default 16 MiB caps.
        decoder.feed(&rest[..at], |e| events.push(own(e))).expect("within the limits");
        rest = &rest[at..];
    }
    decoder.feed(rest, |e| events.push(own(e))).expect("within the limits");
    decoder.finish(|e| events.push(own(e))).expect("within the limits");
    (events, decoder.retry())
}

fuzz_target!(|input: &[u8]| {
    // The first 8 bytes are piece sizes, the rest is the body.
    let (splits, data) = input.split_at(input.len().min(8));
    let pieces = decode(data, splits);
    let whole = decode(data, &[]);
    assert_eq!(pieces, whole, "piece boundaries changed the events");
    for event in &whole.0 {
        let _ = String::from_utf8_lossy(&event.data);
    }
});
