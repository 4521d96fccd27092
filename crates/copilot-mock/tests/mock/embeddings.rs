//! /embeddings: deterministic, dimensions, max_inputs.

use copilot_mock::MockConfig;
use serde_json::json;

use crate::support::{api_post, json, signed_in};

#[tokio::test]
async fn embeddings_are_deterministic_unit_vectors() {
    let (server, token) = signed_in(MockConfig::new()).await;
    let ask = |dims: Option<u64>| {
        let mut body = json!({"model": "text-embedding-3-small", "input": ["alpha", "beta"]});
        if let Some(d) = dims {
            body["dimensions"] = json!(d);
        }
        body
    };
    let first = json(api_post(&server, "/embeddings", &token, &ask(Some(64))).await).await;
    let second = json(api_post(&server, "/embeddings", &token, &ask(Some(64))).await).await;
    assert_eq!(first["data"], second["data"]);
    let vector: Vec<f64> = first["data"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(vector.len(), 64);
    let norm: f64 = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3);
    assert_ne!(first["data"][0]["embedding"], first["data"][1]["embedding"]);
    assert_eq!(first["data"][1]["index"], 1);
    assert_eq!(first["object"], "list");

    let default = json(api_post(&server, "/embeddings", &token, &ask(None)).await).await;
    assert_eq!(
        default["data"][0]["embedding"].as_array().unwrap().len(),
        1536
    );

    let too_many: Vec<String> = (0..513).map(|i| format!("t{i}")).collect();
    let rejected = api_post(
        &server,
        "/embeddings",
        &token,
        &json!({"model": "text-embedding-3-small", "input": too_many}),
    )
    .await;
    assert_eq!(rejected.status(), 400);
    let chat_model = api_post(
        &server,
        "/embeddings",
        &token,
        &json!({"model": "gpt-4.1", "input": "x"}),
    )
    .await;
    assert_eq!(
        json(chat_model).await["error"]["code"],
        "model_not_supported"
    );
}
