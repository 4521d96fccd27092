use bytes::Bytes;
use copilot_http::sensitive::{RedactedHeaders, RedactedRequest, mark_sensitive};

#[test]
fn redacted_request_hides_secrets_and_bodies() {
    let request = http::Request::post("https://github.com/login/oauth/access_token?code=abc")
        .header("authorization", "token gho_topsecret")
        .header("cookie", "session=xyz")
        .header("x-request-id", "rid-1")
        .body(Bytes::from_static(
            b"client_secret=shh&refresh_token=ghr_abc",
        ))
        .unwrap();
    let text = format!("{:?}", RedactedRequest(&request));
    for secret in ["gho_topsecret", "session=xyz", "shh", "ghr_abc", "code=abc"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("rid-1"));
    assert!(text.contains("[redacted]"));
    assert!(text.contains("body_len"));
}

#[test]
fn mark_sensitive_marks_only_secret_headers() {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer x".parse().unwrap());
    headers.insert("proxy-authorization", "Basic y".parse().unwrap());
    headers.insert("copilot-session-token", "z".parse().unwrap());
    headers.insert("accept", "application/json".parse().unwrap());
    mark_sensitive(&mut headers);
    assert!(headers["authorization"].is_sensitive());
    assert!(headers["proxy-authorization"].is_sensitive());
    assert!(headers["copilot-session-token"].is_sensitive());
    assert!(!headers["accept"].is_sensitive());
    let text = format!("{:?}", RedactedHeaders(&headers));
    assert!(!text.contains("Bearer x") && text.contains("application/json"));
    // http's own Debug honours the flag too.
    assert!(!format!("{headers:?}").contains("Bearer x"));
}

#[test]
fn constant_time_eq_compares_whole_secrets() {
    use copilot_http::sensitive::constant_time_eq;
    assert!(constant_time_eq("gho_secret", "gho_secret"));
    assert!(constant_time_eq(b"", b""));
    assert!(!constant_time_eq("gho_secret", "gho_secreT"));
    assert!(!constant_time_eq("gho_secret", "gho_secret_longer"));
    assert!(!constant_time_eq("gho_secret", "gho_secre"));
    assert!(!constant_time_eq("", "x"));
    // Strings and bytes alike.
    assert!(constant_time_eq(String::from("state"), b"state"));
}
