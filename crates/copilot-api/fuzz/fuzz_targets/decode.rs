//! Arbitrary bytes in arbitrary chunk splits through the SSE decoder and the chat/responses event mapping,
//! then into the collector. Must never panic; splitting must never change the outcome.

#![no_main]

use copilot_api::{ChatCollector, ChatEventDecoder, Dialect, EventQueue};
use libfuzzer_sys::fuzz_target;

fn run(dialect: Dialect, data: &[u8], splits: &[u8]) -> String {
    let mut decoder = ChatEventDecoder::new(dialect);
    let mut queue = EventQueue::new();
    let mut rest = data;
    for &split in splits {
        let at = (split as usize).min(rest.len());
        decoder.feed(&rest[..at], &mut queue);
        rest = &rest[at..];
    }
    decoder.feed(rest, &mut queue);
    decoder.finish(&mut queue);
    let rendered = format!("{queue:?}");
    let mut collector = ChatCollector::new(None);
    for event in queue.into_iter().flatten() {
        collector.push(event);
    }
    let _ = collector.finish();
    rendered
}

fuzz_target!(|input: &[u8]| {
    // The first byte chooses the dialect, the next 8 the split sizes, the rest is the body.
    let Some((&selector, rest)) = input.split_first() else { return };
    let (splits, data) = rest.split_at(rest.len().min(8));
    let dialect = if selector & 1 == 0 { Dialect::ChatCompletions } else { Dialect::Responses };
    let split = run(dialect, data, splits);
    let whole = run(dialect, data, &[]);
    assert_eq!(split, whole, "chunk boundaries changed the decoded events");
});
