//! REST: GET /user and the organisation gate with Link pagination.

use copilot_auth::{AuthError, GitHubApi, GitHubToken};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, json as reply};

fn api(server: &MockServer) -> GitHubApi {
    GitHubApi::new(common::host(server))
        .transport(common::transport())
        .identity(common::identity())
}

fn token() -> GitHubToken {
    GitHubToken::new("gho_restapitoken")
}

#[tokio::test]
async fn get_user_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("authorization", "Bearer gho_restapitoken"))
        .respond_with(reply(
            200,
            json!({"login": "octocat", "id": 1, "name": "The Octocat",
                                        "email": null, "plan": {"name": "pro"}}),
        ))
        .mount(&server)
        .await;
    common::mount_catch_all(&server).await;
    let user = api(&server).get_user(&token()).await.unwrap();
    assert_eq!(user.login, "octocat");
    assert_eq!(user.id, 1);
    assert_eq!(user.name.as_deref(), Some("The Octocat"));
    assert!(user.extra.contains_key("plan"));
    let requests = server.received_requests().await.unwrap();
    insta::assert_snapshot!("get_user_request", common::render_request(&requests[0]));
}

/// A server answering every GET with `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn unauthorized_means_sign_in_again() {
    let server = answering(reply(401, json!({"message": "Bad credentials"}))).await;
    let error = api(&server).get_user(&token()).await.unwrap_err();
    assert!(matches!(error, AuthError::BadCredentials));
    assert!(error.to_string().contains("sign in again"));
    let error = api(&server)
        .verify_org_membership(&token(), "acme")
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::BadCredentials));
}

#[tokio::test]
async fn an_error_bodys_control_characters_never_reach_the_message() {
    let body = "\u{1b}]0;pwned\u{7}\u{1b}[2J gateway\r\nX-Forged: 1";
    let server = answering(ResponseTemplate::new(502).set_body_string(body)).await;
    let error = api(&server).get_user(&token()).await.unwrap_err();
    let AuthError::Http {
        status, message, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*status, 502);
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(message.contains("gateway"), "{message:?}");
    assert!(!error.to_string().chars().any(char::is_control));
}

async fn paginated_orgs(server: &MockServer) {
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/user/orgs"))
        .and(query_param("page", "2"))
        .respond_with(reply(200, json!([{"login": "middle-org"}])).insert_header(
            "link",
            format!("<{base}/user/orgs?per_page=100&page=3>; rel=\"next\", <{base}/user/orgs?per_page=100&page=1>; rel=\"first\""),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/orgs"))
        .and(query_param("page", "3"))
        .respond_with(reply(200, json!([{"login": "Acme-Corp"}])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/orgs"))
        .and(query_param("per_page", "100"))
        .respond_with(reply(200, json!([{"login": "first-org"}, {"login": "second-org"}])).insert_header(
            "link",
            format!("<{base}/user/orgs?per_page=100&page=2>; rel=\"next\", <{base}/user/orgs?per_page=100&page=3>; rel=\"last\""),
        ))
        .mount(server)
        .await;
    common::mount_catch_all(server).await;
}

#[tokio::test]
async fn org_gate_follows_pagination() {
    let server = MockServer::start().await;
    paginated_orgs(&server).await;
    assert!(
        api(&server)
            .verify_org_membership(&token(), "acme-corp")
            .await
            .unwrap()
    );
    let requests = server.received_requests().await.unwrap();
    let urls: Vec<String> = requests
        .iter()
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or("")))
        .collect();
    assert_eq!(
        urls,
        vec![
            "/user/orgs?per_page=100",
            "/user/orgs?per_page=100&page=2",
            "/user/orgs?per_page=100&page=3",
        ]
    );
    insta::assert_snapshot!("user_orgs_request", common::render_request(&requests[0]));
}

/// Asks the org gate of the [`paginated_orgs`] mock about `org`: the answer and the pages it fetched.
async fn ask_paginated_org_gate(org: &str) -> (bool, usize) {
    let server = MockServer::start().await;
    paginated_orgs(&server).await;
    let member = api(&server)
        .verify_org_membership(&token(), org)
        .await
        .unwrap();
    (member, server.received_requests().await.unwrap().len())
}

#[tokio::test]
async fn org_gate_says_no_after_the_last_page() {
    assert_eq!(ask_paginated_org_gate("not-a-member").await, (false, 3));
}

#[tokio::test]
async fn org_gate_stops_at_the_first_match() {
    assert_eq!(ask_paginated_org_gate("second-org").await, (true, 1));
}

#[tokio::test]
async fn org_gate_never_follows_a_link_to_another_origin() {
    let server = MockServer::start().await;
    Mock::given(path("/user/orgs"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .insert_header(
                    "link",
                    "<https://evil.example/user/orgs?page=2>; rel=\"next\"",
                ),
        )
        .mount(&server)
        .await;
    let error = api(&server)
        .verify_org_membership(&token(), "acme")
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::MalformedResponse { .. }),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
