//! SSE decoding throughput on synthetic input, under criterion: the three contenders of the harness's decode
//! row (`bench/src/targets/decode.rs`: ours, the limit, eventsource-stream + `serde_json::Value`) on the same
//! input in the same run.
//!
//! The input is ≥ 10 MB of realistic Copilot chunks (~500 bytes, with `content_filter_offsets` and
//! `content_filter_results` like the captured plain-text stream), fed in 16 KiB network-sized pieces.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use copilot_bench::targets::decode::{Api, READ_SIZE, eventsource_value, limit, ours};
use copilot_bench::targets::tiny_content_len;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const TARGET_BYTES: usize = 10 * 1024 * 1024 + 1;

fn synthetic_stream() -> Vec<u8> {
    let words = [
        "Hello",
        " world",
        "!",
        " How",
        " can",
        " I",
        " assist",
        " you",
        " with",
        " your",
        " code",
        " today",
        "?",
        " \\\"quoted\\\"",
        " naïve",
        " ünïcödé",
        " →",
    ];
    let mut out = Vec::with_capacity(TARGET_BYTES + 4096);
    out.extend_from_slice(br#"data: {"choices":[],"created":0,"id":"","prompt_filter_results":[{"content_filter_results":{"error":{"code":"","message":""},"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"prompt_index":0}]}"#);
    out.extend_from_slice(b"\n\n");
    let mut i = 0usize;
    while out.len() < TARGET_BYTES {
        let word = words[i % words.len()];
        let offset = 2257 + i;
        let chunk = format!(
            r#"data: {{"choices":[{{"index":0,"content_filter_offsets":{{"check_offset":{offset},"start_offset":{offset},"end_offset":{}}},"content_filter_results":{{"error":{{"code":"","message":""}},"hate":{{"filtered":false,"severity":"safe"}},"self_harm":{{"filtered":false,"severity":"safe"}},"sexual":{{"filtered":false,"severity":"safe"}},"violence":{{"filtered":false,"severity":"safe"}}}},"delta":{{"content":"{word}","role":null}}}}],"created":1717764806,"id":"chatcmpl-9XTNuRVy7pKFgXL5VsZKe5wfpiWQU"}}"#,
            offset + 55
        );
        out.extend_from_slice(chunk.as_bytes());
        out.extend_from_slice(b"\n\n");
        i += 1;
    }
    out.extend_from_slice(br#"data: {"choices":[{"finish_reason":"stop","index":0,"delta":{"content":null,"role":null}}],"created":1717764806,"id":"chatcmpl-9XTNuRVy7pKFgXL5VsZKe5wfpiWQU"}"#);
    out.extend_from_slice(b"\n\ndata: [DONE]\n\n");
    out
}

/// Diagnostic: our SSE framing + the tiny struct (isolates framing cost from event mapping).
fn framing_only(input: &[u8]) -> usize {
    let mut decoder = copilot_api::sse::SseDecoder::new();
    let mut content = 0;
    let mut on_event =
        |event: copilot_api::sse::SseEvent<'_>| content += tiny_content_len(event.data);
    for piece in input.chunks(READ_SIZE) {
        decoder
            .feed(piece, &mut on_event)
            .expect("within the limits");
    }
    decoder.finish(&mut on_event).expect("within the limits");
    content
}

fn bench(c: &mut Criterion) {
    let input = synthetic_stream();
    let bytes = Bytes::from(input.clone());
    let expected = limit(Api::Chat, &input);
    assert_eq!(
        ours(Api::Chat, &input),
        expected,
        "ours and the limit must agree on the content"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(eventsource_value(Api::Chat, &runtime, &bytes), expected);

    // `SSE_BENCH_DIAG=1` adds an interleaved min-of-N comparison and a framing-only variant.
    if std::env::var_os("SSE_BENCH_DIAG").is_some() {
        // Interleaved min-of-N timing: robust against other processes sharing the CPUs.
        let mut best = [f64::MAX; 3];
        for _ in 0..40 {
            let runs: [fn(&[u8]) -> usize; 3] = [
                |input| ours(Api::Chat, input),
                |input| limit(Api::Chat, input),
                framing_only,
            ];
            for (slot, run) in runs.into_iter().enumerate() {
                let start = std::time::Instant::now();
                black_box(run(black_box(&input)));
                best[slot] = best[slot].min(start.elapsed().as_secs_f64());
            }
        }
        let mb = input.len() as f64 / 1e6;
        eprintln!(
            "min-of-40: ours {:.0} MB/s, limit {:.0} MB/s, ratio {:.3} (our framing + tiny struct {:.0} MB/s)",
            mb / best[0],
            mb / best[1],
            best[1] / best[0],
            mb / best[2],
        );
    }
    let mut group = c.benchmark_group("sse_decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter(|| black_box(ours(Api::Chat, black_box(&input))))
    });
    group.bench_function("limit", |b| {
        b.iter(|| black_box(limit(Api::Chat, black_box(&input))))
    });
    if std::env::var_os("SSE_BENCH_DIAG").is_some() {
        group.bench_function("diag_framing_only", |b| {
            b.iter(|| black_box(framing_only(black_box(&input))))
        });
    }
    group.bench_function("eventsource_value", |b| {
        b.iter(|| black_box(eventsource_value(Api::Chat, &runtime, black_box(&bytes))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
