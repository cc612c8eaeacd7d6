//! Unit tests of `source::registry`.

use super::*;
use reqwest::header::RETRY_AFTER;
use std::time::SystemTime;

#[test]
fn parses_bearer_challenges() {
    let Challenge::Bearer { realm, service } = parse_challenge(
        r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#,
    ) else {
        panic!("not bearer")
    };
    assert_eq!(realm, "https://auth.docker.io/token");
    assert_eq!(service.as_deref(), Some("registry.docker.io"));
    assert!(matches!(
        parse_challenge(r#"Basic realm="Registry Realm""#),
        Challenge::Basic
    ));
    let Challenge::Bearer { realm, service } =
        parse_challenge("bearer realm=http://127.0.0.1:1/t, service=reg")
    else {
        panic!("not bearer")
    };
    assert_eq!(
        (realm.as_str(), service.as_deref()),
        ("http://127.0.0.1:1/t", Some("reg"))
    );
}

#[test]
fn registry_error_messages() {
    let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
    assert_eq!(
        registry_message(body),
        ": MANIFEST_UNKNOWN manifest unknown"
    );
    assert_eq!(registry_message(b"<html>"), "");
}

#[test]
fn retry_after_forms() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, "3".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    let t = crate::clock::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    assert_eq!(
        t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
        784_111_777
    );
    h.insert(
        RETRY_AFTER,
        "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
    );
    assert_eq!(
        retry_after(&h),
        Some(Duration::ZERO),
        "a past date means now"
    );
    h.insert(RETRY_AFTER, "soon".parse().unwrap());
    assert_eq!(retry_after(&h), None);
}

proptest::proptest! {
    #![proptest_config(crate::proptests::config())]

    /// Auth challenges, error bodies and Retry-After values from any server: no panic,
    /// bounded work, and error messages stay short.
    #[test]
    fn server_answers(s in "\\PC{0,400}", quoted in r#"[a-zA-Z=,"\\ ]{0,200}"#) {
        let limit = std::time::Duration::from_secs(1);
        crate::proptests::bounded(limit, || parse_challenge(&s));
        crate::proptests::bounded(limit, || parse_challenge(&format!("Bearer {quoted}")));
        let m = crate::proptests::bounded(limit, || registry_message(s.as_bytes()));
        proptest::prop_assert!(m.len() < 1200);
        let body = serde_json::json!({"errors": [{"code": quoted, "message": s}]}).to_string();
        let m = crate::proptests::bounded(limit, || registry_message(body.as_bytes()));
        proptest::prop_assert!(m.len() < 1200);
        if let Ok(v) = reqwest::header::HeaderValue::from_str(&s) {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, v);
            let _ = retry_after(&h);
        }
    }
}

#[test]
fn form_encoding() {
    assert_eq!(
        form(&[("scope", "repository:a/b:pull"), ("x", "a b&c")]),
        "scope=repository%3Aa%2Fb%3Apull&x=a+b%26c"
    );
}
