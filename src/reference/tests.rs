//! Unit tests of `reference`.

use super::*;

fn reg(s: &str) -> RegistryRef {
    match s.parse::<ImageRef>().unwrap() {
        ImageRef::Registry(r) => r,
        other => panic!("not a registry ref: {other:?}"),
    }
}

#[test]
fn docker_hub_shorthand_is_normalised() {
    let r = reg("ubuntu");
    assert_eq!(r.registry(), "index.docker.io");
    assert_eq!(r.repository(), "library/ubuntu");
    assert_eq!(r.manifest_reference(), "latest");
    let r = reg("paketobuildpacks/builder-jammy-base");
    assert_eq!(r.repository(), "paketobuildpacks/builder-jammy-base");
}

#[test]
fn tag_and_digest_forms() {
    let d = "sha256:".to_string() + &"a".repeat(64);
    let r = reg(&format!("ghcr.io/org/app:1.2@{d}"));
    assert_eq!(r.registry(), "ghcr.io");
    assert_eq!(r.manifest_reference(), d);
    let r = reg(&format!("127.0.0.1:5000/app@{d}"));
    assert!(r.is_loopback());
    assert_eq!(r.registry(), "127.0.0.1:5000");
}

#[test]
fn loopback_hosts() {
    assert!(is_loopback_host("localhost:5000"));
    assert!(is_loopback_host("[::1]:5000"));
    assert!(is_loopback_host("127.0.0.1"));
    assert!(!is_loopback_host("registry.example.com:5000"));
    assert!(!is_loopback_host("localhost.example.com"));
}

#[test]
fn local_transports() {
    assert_eq!(
        "oci:testdata/images:good".parse::<ImageRef>().unwrap(),
        ImageRef::OciLayout {
            dir: "testdata/images".into(),
            tag: Some("good".into())
        }
    );
    assert_eq!(
        "oci-archive:a.tar".parse::<ImageRef>().unwrap(),
        ImageRef::OciArchive {
            file: "a.tar".into(),
            tag: None
        }
    );
    assert_eq!(
        "docker-archive:a.tar:example.com/app:bad"
            .parse::<ImageRef>()
            .unwrap(),
        ImageRef::DockerArchive {
            file: "a.tar".into(),
            reference: Some("example.com/app:bad".into())
        }
    );
    let id = format!("sha256:{}", "a".repeat(64));
    let pinned = format!("example.com/app@sha256:{}", "b".repeat(64));
    for (engine, name) in [
        (Engine::Docker, "app:1"),
        (Engine::Docker, pinned.as_str()),
        (Engine::Podman, id.as_str()),
        (Engine::Podman, "localhost/app"),
    ] {
        let input = format!("{}:{name}", engine.prefix());
        let parsed = input.parse::<ImageRef>().unwrap();
        let name = name.to_string();
        assert_eq!(
            parsed,
            ImageRef::Daemon(DaemonRef { engine, name }),
            "{input}"
        );
        assert_eq!(parsed.to_string(), input);
    }
    // A registry on port 5000 of a host called `podman` stays a registry reference.
    assert!(matches!(
        "podman:5000/app".parse::<ImageRef>().unwrap(),
        ImageRef::Registry(_)
    ));
}

#[test]
fn invalid_references_say_why() {
    for (input, needle) in [
        ("Ubuntu", "lowercase"),
        ("app@sha256:123", "digest"),
        ("https://ghcr.io/a/b", "URL scheme"),
        ("oci:", "needs a path"),
        ("dir:/tmp/x", "unsupported transport"),
        ("app:", "empty"),
        ("my app", "spaces"),
        ("docker-daemon:", "name an image"),
        ("docker-daemon:sha256:abc", "image id"),
        ("podman:App", "lowercase"),
        ("docker-daemon:../x", "path segments"),
    ] {
        let err = input.parse::<ImageRef>().unwrap_err().to_string();
        assert!(err.contains(needle), "{input}: {err}");
        assert!(
            err.contains(input.trim_end_matches(':')) || input.is_empty(),
            "{err}"
        );
    }
}

#[test]
fn grammar_edges() {
    let r = reg("localhost:5000/a/b-c__d.e:1.0");
    assert_eq!(
        (r.registry(), r.repository()),
        ("localhost:5000", "a/b-c__d.e")
    );
    assert_eq!(r.manifest_reference(), "1.0");
    let r = reg("[::1]:5000/app");
    assert_eq!(r.registry(), "[::1]:5000");
    assert!(r.is_loopback());
    assert_eq!(reg("org/app").repository(), "org/app");
    assert_eq!(reg("docker.io/ubuntu").repository(), "library/ubuntu");
    for bad in ["a//b", "-app", "app-", "a/.b", "app:.x", "x@md5:abc"] {
        assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
    }
}

#[test]
fn platforms() {
    let p: Platform = "linux/arm64".parse().unwrap();
    let q: Platform = "linux/arm64/v8".parse().unwrap();
    assert!(p.matches(&q));
    let arm7: Platform = "linux/arm/v7".parse().unwrap();
    let arm6: Platform = "linux/arm/v6".parse().unwrap();
    assert!(!arm7.matches(&arm6));
    assert!("linux".parse::<Platform>().is_err());
    assert!("linux//v7".parse::<Platform>().is_err());
}
