//! What every handler checks before its own logic (the extractors of `src/extract.rs`): the token first,
//! then the body, each answered as the real service answers it.

use serde_json::Value;

use crate::support::{copilot_token, http, json, start};
use copilot_mock::MockConfig;

const COPILOT_POSTS: &[&str] = &[
    "/chat/completions",
    "/responses",
    "/embeddings",
    "/models/gpt-4o/policy",
];
const COPILOT_GETS: &[&str] = &["/models", "/models/gpt-4o"];
const GITHUB_GETS: &[&str] = &[
    "/user",
    "/user/orgs",
    "/user/memberships/orgs/octo-org",
    "/copilot_internal/user",
];

#[tokio::test]
async fn the_token_is_checked_before_the_body() {
    let (server, client) = start(MockConfig::new()).await;
    for path in COPILOT_POSTS {
        for auth in [None, Some("Bearer not-a-token")] {
            let mut request = client
                .post(format!("{}{path}", server.copilot_api_url()))
                .body("not json");
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} with {auth:?}");
            assert_eq!(
                response.text().await.unwrap(),
                "unauthorized: token expired",
                "{path}"
            );
        }
    }
    for path in COPILOT_GETS {
        let response = client
            .get(format!("{}{path}", server.copilot_api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
}

#[tokio::test]
async fn an_authenticated_post_needs_a_json_object_body() {
    let (server, client) = start(MockConfig::new()).await;
    let token = copilot_token(&server).await;
    for path in COPILOT_POSTS {
        for body in ["not json", "[1,2]", "\"text\"", ""] {
            let response = client
                .post(format!("{}{path}", server.copilot_api_url()))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{path} with {body:?}");
            let error = json(response).await;
            assert_eq!(error["error"]["code"], "invalid_request_body", "{path}");
        }
    }
}

#[tokio::test]
async fn an_unknown_model_is_model_not_supported_on_every_model_endpoint() {
    let (server, client) = start(MockConfig::new()).await;
    let token = copilot_token(&server).await;
    for path in ["/chat/completions", "/responses", "/embeddings"] {
        let response = client
            .post(format!("{}{path}", server.copilot_api_url()))
            .header("authorization", format!("Bearer {token}"))
            .body(r#"{"model":"no-such-model","messages":[],"input":"x"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = json(response).await;
        assert_eq!(error["error"]["code"], "model_not_supported", "{path}");
    }
}

#[tokio::test]
async fn github_rest_answers_401_without_a_valid_github_token() {
    let (server, _) = start(MockConfig::new()).await;
    for path in GITHUB_GETS {
        for (auth, message) in [
            (None, "Requires authentication"),
            (Some("token gho_unknown"), "Bad credentials"),
        ] {
            let mut request = http().get(format!("{}{path}", server.github_api_url()));
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} with {auth:?}");
            assert_eq!(json(response).await["message"], message, "{path}");
        }
    }
}
