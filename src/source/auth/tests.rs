//! Unit tests of `source::auth`.

use super::*;

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("config.json");
    std::fs::write(&p, text).unwrap();
    p
}

fn basic_of(c: Credential) -> (String, String) {
    match c.secret {
        Secret::Basic { username, password } => (username, password),
        Secret::IdentityToken(_) => panic!("identity token"),
    }
}

#[tokio::test]
async fn reads_auth_username_password_and_identity_tokens() {
    let d = tempfile::tempdir().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let p = write(
        d.path(),
        &format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}},"ghcr.io":{{"identitytoken":"refresh-me"}}}}}}"#
        ),
    );
    let hub = lookup_docker_config(&p, "index.docker.io")
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{hub:?}").contains("s3cret"));
    assert_eq!(basic_of(hub), ("alice".into(), "s3cret".into()));
    assert_eq!(
        basic_of(
            lookup_docker_config(&p, "127.0.0.1:5000")
                .await
                .unwrap()
                .unwrap()
        )
        .0,
        "bob"
    );
    let gh = lookup_docker_config(&p, "ghcr.io").await.unwrap().unwrap();
    assert!(gh.secret == Secret::IdentityToken("refresh-me".into()));
    assert!(!format!("{gh:?}").contains("refresh-me"));
    assert!(lookup_docker_config(&p, "quay.io").await.unwrap().is_none());
    assert!(
        lookup_docker_config(&d.path().join("nope.json"), "ghcr.io")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn malformed_names_file_and_path_not_values() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), r#"{"auths":{"ghcr.io":{"auth":42}}}"#);
    let err = lookup_docker_config(&p, "ghcr.io")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("auths.ghcr.io.auth"), "{err}");
    // An entry that is a string (base64 user:password) is named, never printed.
    let p = write(d.path(), r#"{"auths":{"ghcr.io":"YWxpY2U6czNjcmV0"}}"#);
    let err = format!(
        "{:?}",
        anyhow::Error::new(lookup_docker_config(&p, "ghcr.io").await.unwrap_err())
    );
    assert!(
        err.contains("`auths.ghcr.io`") && err.contains("expected struct AuthEntry"),
        "{err}"
    );
    assert!(!err.contains("YWxpY2U6czNjcmV0"), "{err}");
    let p = write(d.path(), r#"{"auths":{"ghcr.io":{"auth":"!!notbase64"}}}"#);
    let err = lookup_docker_config(&p, "ghcr.io")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not base64") && !err.contains("notbase64"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_helper_is_named() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        r#"{"credHelpers":{"ghcr.io":"bpdrift-test-missing"}}"#,
    );
    let err = lookup_docker_config(&p, "ghcr.io")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("docker-credential-bpdrift-test-missing"),
        "{err}"
    );
    assert!(err.contains("not found on PATH"), "{err}");
}

#[tokio::test]
async fn explicit_beats_env_beats_files() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        r#"{"auths":{"r:1":{"username":"file","password":"f"}}}"#,
    );
    let mut s = CredentialSources {
        explicit: Some(("cli".into(), "c".into())),
        env: Some(("env".into(), "e".into())),
        docker_config: Some(p),
        containers_auth: None,
        host: Some("r:1".into()),
    };
    assert_eq!(basic_of(s.lookup("r:1").await.unwrap().unwrap()).0, "cli");
    s.explicit = None;
    assert_eq!(basic_of(s.lookup("r:1").await.unwrap().unwrap()).0, "env");
    s.env = None;
    assert_eq!(basic_of(s.lookup("r:1").await.unwrap().unwrap()).0, "file");
}

#[tokio::test]
async fn given_credentials_are_bound_to_one_registry() {
    let mut s = CredentialSources {
        explicit: Some(("cli".into(), "secret".into())),
        ..Default::default()
    };
    // Unbound: an error, never a guess.
    assert!(matches!(
        s.lookup("a:1").await,
        Err(AuthError::Unbound { .. })
    ));
    // The references disagree: ambiguous.
    let err = s.clone().bind(["a:1", "b:2"]).unwrap_err().to_string();
    assert!(
        err.contains("`a:1`, `b:2`") && err.contains("--registry-host"),
        "{err}"
    );
    // They agree (Docker Hub's aliases are one registry).
    s.bind(["docker.io", "index.docker.io"]).unwrap();
    assert_eq!(
        basic_of(s.lookup("registry-1.docker.io").await.unwrap().unwrap()).0,
        "cli"
    );
    // Another registry gets nothing from them.
    assert!(s.lookup("ghcr.io").await.unwrap().is_none());
}
