use bytes::Bytes;
use copilot_http::{ResponseBody, TransportError};
use futures_util::StreamExt;

#[tokio::test]
async fn collect_concatenates_chunks() {
    let chunks = (0..100).map(|i| Ok(Bytes::from(format!("{i},"))));
    let body = ResponseBody::from_stream(futures_util::stream::iter(chunks));
    let all = body.bytes().await.unwrap();
    let expected: String = (0..100).map(|i| format!("{i},")).collect();
    assert_eq!(all, expected.as_bytes());
}

#[tokio::test]
async fn collect_limited_refuses_oversized_bodies() {
    let chunks = (0..10).map(|_| Ok(Bytes::from_static(&[0u8; 100])));
    let body = ResponseBody::from_stream(futures_util::stream::iter(chunks));
    let error = body.collect_limited(999).await.unwrap_err();
    assert!(matches!(error, TransportError::Body { .. }));
    let body = ResponseBody::from_stream(futures_util::stream::iter(
        (0..10).map(|_| Ok(Bytes::from_static(&[0u8; 100]))),
    ));
    assert_eq!(body.collect_limited(1000).await.unwrap().len(), 1000);
}

#[tokio::test]
async fn errors_in_the_stream_surface() {
    let items = vec![
        Ok(Bytes::from_static(b"a")),
        Err(TransportError::ConnectionClosed {
            message: "reset".into(),
        }),
    ];
    let mut body = ResponseBody::from_stream(futures_util::stream::iter(items));
    assert_eq!(body.next().await.unwrap().unwrap(), "a");
    assert!(body.next().await.unwrap().is_err());
}

#[tokio::test]
async fn snippet_is_length_limited_and_lossy() {
    let body = ResponseBody::from_bytes(vec![b'x'; 10_000]);
    assert_eq!(body.snippet(64).await.len(), 64);
    let body = ResponseBody::from_bytes(vec![0xff, b'o', b'k']);
    assert_eq!(body.snippet(64).await, "\u{fffd}ok");
    assert!(ResponseBody::empty().bytes().await.unwrap().is_empty());
}
