//! GitHub REST: /user, /user/orgs pagination, membership, GHES layout.

use copilot_mock::{HostLayout, MockConfig, MockUser};

use crate::support::{github_get, http, json, start};

#[tokio::test]
async fn user_accepts_token_and_bearer_and_rejects_bad_credentials() {
    let (server, _) = start(MockConfig::new()).await;
    let token = server.mint_github_token("octocat");
    for scheme in ["token", "Bearer"] {
        let response = github_get(&server, "/user", &format!("{scheme} {token}")).await;
        assert_eq!(response.status(), 200);
        let user = json(response).await;
        assert_eq!(user["login"], "octocat");
        assert_eq!(user["id"], 583231);
    }
    let bad = github_get(&server, "/user", "token gho_nope").await;
    assert_eq!(bad.status(), 401);
    let body = json(bad).await;
    assert_eq!(body["message"], "Bad credentials");
    assert_eq!(body["status"], "401");
    assert!(server.revoke_github_token(&token));
    let revoked = github_get(&server, "/user", &format!("token {token}")).await;
    assert_eq!(revoked.status(), 401);
}

#[tokio::test]
async fn user_orgs_paginate_with_link_headers() {
    let mut user = MockUser::new("hubot");
    for org in ["a", "b", "c", "d", "e"] {
        user = user.org(org);
    }
    let (server, _) = start(MockConfig::new().user(user)).await;
    let bearer = format!("Bearer {}", server.mint_github_token("hubot"));
    let first = github_get(&server, "/user/orgs?per_page=2&page=1", &bearer).await;
    let link = first.headers()["link"].to_str().unwrap().to_string();
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");
    let orgs = json(first).await;
    assert_eq!(orgs.as_array().unwrap().len(), 2);
    assert_eq!(orgs[0]["login"], "a");

    let last = github_get(&server, "/user/orgs?per_page=2&page=3", &bearer).await;
    let link = last.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("rel=\"prev\"")
            && link.contains("rel=\"first\"")
            && !link.contains("rel=\"next\"")
    );
    assert_eq!(json(last).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn org_membership_is_per_user() {
    let (server, _) = start(MockConfig::new().user(MockUser::new("loner"))).await;
    let octocat = server.mint_github_token("octocat");
    let loner = server.mint_github_token("loner");
    let membership = |token: String| {
        let server = &server;
        async move {
            github_get(
                server,
                "/user/memberships/orgs/octo-org",
                &format!("token {token}"),
            )
            .await
        }
    };
    let member = membership(octocat).await;
    assert_eq!(member.status(), 200);
    assert_eq!(json(member).await["state"], "active");
    assert_eq!(membership(loner).await.status(), 404);
}

#[tokio::test]
async fn ghes_layout_serves_rest_under_api_v3() {
    let (server, _) = start(MockConfig::new().layout(HostLayout::Ghes)).await;
    assert!(server.github_api_url().ends_with("/api/v3"));
    let token = server.mint_github_token("octocat");
    let ok = github_get(&server, "/user", &format!("token {token}")).await;
    assert_eq!(ok.status(), 200);
    let wrong = http()
        .get(format!("{}/api/user", server.github_web_url()))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(json(wrong).await["message"], "Not Found");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let (server, client) = start(MockConfig::new()).await;
    let url = format!("{}/_ping", server.copilot_api_url());
    assert_eq!(
        client.get(&url).send().await.unwrap().text().await.unwrap(),
        "pong"
    );
    server.shutdown().await;
    assert!(http().get(&url).send().await.is_err());
}
