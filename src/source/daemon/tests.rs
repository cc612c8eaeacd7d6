//! Unit tests of `source::daemon`: discovery from variables and files, host parsing, version
//! negotiation, the inspect document as a config. The engine itself is tested against a real
//! Podman service in `tests/cli/daemon.rs`.

use std::collections::BTreeMap;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned().filter(|v| !v.is_empty())
}

fn docker(pairs: &[(&str, &str)]) -> Result<Endpoint, DaemonError> {
    discover(Engine::Docker, &vars(pairs))
}

#[test]
fn docker_host_wins_then_the_context_then_the_default_socket() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    assert_eq!(
        docker(&[("HOME", h)]).unwrap().addr,
        Addr::Unix("/var/run/docker.sock".into())
    );
    assert_eq!(
        docker(&[
            ("HOME", h),
            ("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
        ])
        .unwrap()
        .addr,
        Addr::Unix("/run/user/1000/docker.sock".into())
    );

    // A current context with its TLS files.
    let dir = home.path().join(".docker");
    let id = crate::digest::sha256(b"remote");
    let id = id.trim_start_matches("sha256:");
    let meta = dir.join("contexts/meta").join(id);
    let tls = dir.join("contexts/tls").join(id).join("docker");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(tls.join("ca.pem"), "").unwrap();
    std::fs::write(dir.join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://build.example:2376"}}}"#,
    )
    .unwrap();
    let e = docker(&[("HOME", h)]).unwrap();
    assert_eq!(
        e.addr,
        Addr::Tcp {
            authority: "build.example:2376".into(),
            tls: Some(tls.clone())
        }
    );
    assert_eq!(e.from, "docker context `remote` (from `currentContext`)");
    // DOCKER_CONTEXT=default overrides config.json; DOCKER_HOST overrides both.
    assert_eq!(
        docker(&[("HOME", h), ("DOCKER_CONTEXT", "default")])
            .unwrap()
            .addr,
        Addr::Unix("/var/run/docker.sock".into())
    );
    let err = docker(&[("HOME", h), ("DOCKER_CONTEXT", "gone")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("docker context `gone` (from `DOCKER_CONTEXT`): cannot read"),
        "{err}"
    );
}

#[test]
fn tcp_hosts_get_docker_ports_and_tls_from_the_cert_path() {
    let e = docker(&[
        ("DOCKER_HOST", "tcp://10.0.0.5"),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", "/certs"),
    ])
    .unwrap();
    assert_eq!(
        e.addr,
        Addr::Tcp {
            authority: "10.0.0.5:2376".into(),
            tls: Some("/certs".into())
        }
    );
    let e = docker(&[("DOCKER_HOST", "tcp://[::1]"), ("HOME", "/h")]).unwrap();
    assert_eq!(
        e.addr,
        Addr::Tcp {
            authority: "[::1]:2375".into(),
            tls: None
        }
    );
    // TLS files default to the docker config directory.
    let e = docker(&[
        ("DOCKER_HOST", "tcp://h:1234/"),
        ("DOCKER_TLS_VERIFY", "1"),
        ("HOME", "/h"),
    ])
    .unwrap();
    assert_eq!(
        e.addr,
        Addr::Tcp {
            authority: "h:1234".into(),
            tls: Some("/h/.docker".into())
        }
    );
    assert_eq!(e.addr.to_string(), "tcp://h:1234");
}

#[test]
fn unusable_hosts_say_why_without_credentials() {
    for (host, needle) in [
        (
            "ssh://deploy:hunter2@build",
            "ssh:// engines are not supported",
        ),
        ("npipe:////./pipe/docker_engine", "is not `unix://"),
        ("unix://", "names no socket"),
        ("tcp://user:hunter2@h:2375", "is not `tcp://host[:port]`"),
    ] {
        let err = docker(&[("DOCKER_HOST", host)]).unwrap_err().to_string();
        assert!(err.contains(needle), "{host}: {err}");
        assert!(err.starts_with("`DOCKER_HOST`: "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn podman_prefers_container_host_then_the_socket_that_exists() {
    let podman = |pairs: &[(&str, &str)]| discover(Engine::Podman, &vars(pairs)).unwrap();
    // DOCKER_HOST names docker's engine, not podman's.
    let e = podman(&[
        ("CONTAINER_HOST", "unix:///tmp/p.sock"),
        ("DOCKER_HOST", "unix:///tmp/d.sock"),
    ]);
    assert_eq!(e.addr, Addr::Unix("/tmp/p.sock".into()));
    let runtime = tempfile::tempdir().unwrap();
    let r = runtime.path().to_str().unwrap();
    let rootless = runtime.path().join("podman/podman.sock");
    // Neither socket exists (no rootful podman here): the rootless one is named.
    if !std::path::Path::new("/run/podman/podman.sock").exists() {
        assert_eq!(
            podman(&[("XDG_RUNTIME_DIR", r)]).addr,
            Addr::Unix(rootless.clone())
        );
        assert_eq!(
            podman(&[]).addr,
            Addr::Unix("/run/podman/podman.sock".into())
        );
    }
    std::fs::create_dir_all(rootless.parent().unwrap()).unwrap();
    std::fs::write(&rootless, "").unwrap();
    let e = podman(&[("XDG_RUNTIME_DIR", r)]);
    assert_eq!(e.addr, Addr::Unix(rootless));
    assert_eq!(e.from, "the rootless socket");
}

#[test]
fn api_version_is_the_engines_up_to_ours() {
    assert_eq!(negotiate("1.41"), Some((1, 41)));
    assert_eq!(negotiate("1.52"), Some(API_MAX));
    assert_eq!(negotiate("1.9"), Some((1, 9)));
    assert_eq!(negotiate("latest"), None);
    assert_eq!(negotiate(""), None);
}

#[test]
fn inspect_becomes_the_config_it_describes() {
    let id = format!("sha256:{}", "c".repeat(64));
    let body = serde_json::json!({
        "Id": id,
        "RepoDigests": null,
        "Os": "linux",
        "Architecture": "arm64",
        "Variant": "v8",
        "Size": 1234,
        "Config": {"User": "cnb", "Env": ["A=1"], "Labels": {"io.buildpacks.stack.id": "s"}},
        "RootFS": {"Type": "layers", "Layers": ["sha256:aa", "sha256:bb"]},
    });
    let (fetched, size) = from_inspect(body.to_string().as_bytes()).unwrap();
    assert_eq!(size, 1234);
    assert_eq!(fetched.manifest.config.digest, id);
    assert_eq!(fetched.digest, None);
    let layers: Vec<&str> = fetched
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.as_str())
        .collect();
    assert_eq!(layers, ["sha256:aa", "sha256:bb"]);
    let md = crate::metadata::ImageMetadata::from_config(&fetched.config).unwrap();
    assert_eq!(md.platform(), "linux/arm64/v8");
    assert_eq!(md.user.as_deref(), Some("cnb"));
    assert_eq!(md.env.get("A").map(String::as_str), Some("1"));
    assert_eq!(md.stack_id.as_deref(), Some("s"));
    assert_eq!(md.diff_ids, ["sha256:aa", "sha256:bb"]);

    // A bare hex id is the same digest; `Config: null` is an empty config.
    let body = format!(
        r#"{{"Id":"{}","Config":null,"RootFS":null}}"#,
        "d".repeat(64)
    );
    let (fetched, _) = from_inspect(body.as_bytes()).unwrap();
    assert_eq!(
        fetched.manifest.config.digest,
        format!("sha256:{}", "d".repeat(64))
    );
    crate::metadata::ImageMetadata::from_config(&fetched.config).unwrap();

    for (body, needle) in [
        (r#"{"Id":"sha256:short"}"#, "not a sha256 digest"),
        (r#"{"Os":"linux"}"#, "missing field `Id`"),
        (r#"{"Id":1}"#, "at `Id`"),
        ("not json", "expected"),
    ] {
        let err = from_inspect(body.as_bytes()).err().unwrap();
        assert!(err.contains(needle), "{body}: {err}");
    }
}
