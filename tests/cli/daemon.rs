//! `docker-daemon:` and `podman:` against a real Podman service (its Docker-compatible Engine
//! API): the same diff, inspect and memory prediction as the OCI layout the images were pulled
//! from; engine discovery (DOCKER_HOST over a Unix socket, plain TCP and TLS with client
//! certificates, a docker context, CONTAINER_HOST, the rootless socket); and each engine error.

use serde_json::Value;

use crate::common::{bpdrift, podman, settings};

const GOOD: &str = "docker-daemon:example.com/app:good";
const BAD: &str = "docker-daemon:example.com/app:bad";

/// `bpdrift ARGS` with DOCKER_HOST at the shared service.
fn run(args: &[&str]) -> crate::common::Run {
    bpdrift()
        .env("DOCKER_HOST", podman::shared().host())
        .args(args)
        .run()
}

fn json(args: &[&str]) -> Value {
    let r = run(args);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr))
}

/// The report without what says where an image came from (reference, transport, manifest
/// digest) and without sizes: the Engine API gives diffIDs but no layer sizes.
fn without_origin(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| {
                    !matches!(k.as_str(), "reference" | "transport" | "digest" | "size")
                        && !k.starts_with("bytes")
                });
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn daemon_diff_equals_the_layout_diff() {
    let args = ["diff", "--format", "json", "--fail-on", "never"];
    let daemon = json(&[&args[..], &[GOOD, BAD]].concat());
    let layout = json(
        &[
            &args[..],
            &[
                "oci:testdata/images:incident-good",
                "oci:testdata/images:incident-bad",
            ],
        ]
        .concat(),
    );
    assert_eq!(daemon["before"]["transport"], "docker-daemon");
    assert_eq!(daemon["before"]["reference"], GOOD);
    // The image id is the config digest.
    assert_eq!(
        daemon["after"]["config_digest"],
        layout["after"]["config_digest"]
    );
    assert_eq!(daemon["before"]["layers"]["count"], 20);
    assert!(
        !daemon["changes"].as_array().unwrap().is_empty(),
        "{daemon}"
    );
    assert_eq!(without_origin(daemon), without_origin(layout));
}

#[test]
fn inspect_by_image_id_and_through_the_podman_alias() {
    let p = podman::shared();
    let id = p.id("example.com/app:good");
    let layout = without_origin(json(&[
        "inspect",
        "--format",
        "json",
        "oci:testdata/images:incident-good",
    ]));
    let by_id = json(&[
        "inspect",
        "--format",
        "json",
        &format!("docker-daemon:{id}"),
    ]);
    assert_eq!(by_id["images"][0]["config_digest"], id.as_str(), "{by_id}");
    assert_eq!(
        by_id["images"][0]["reference"],
        format!("docker-daemon:{id}")
    );
    assert_eq!(without_origin(by_id), layout);

    // podman: reads CONTAINER_HOST, not DOCKER_HOST.
    let alias = bpdrift()
        .env("CONTAINER_HOST", p.host())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["inspect", "--format", "json", "podman:example.com/app:good"])
        .run();
    assert_eq!(alias.code, 0, "{}", alias.stderr);
    let v: Value = serde_json::from_str(&alias.stdout).unwrap();
    assert_eq!(v["images"][0]["transport"], "podman");
    assert_eq!(without_origin(v), layout);

    // The rootless socket under XDG_RUNTIME_DIR when nothing names one.
    let runtime = tempfile::tempdir().unwrap();
    std::fs::create_dir(runtime.path().join("podman")).unwrap();
    std::os::unix::fs::symlink(&p.socket, runtime.path().join("podman/podman.sock")).unwrap();
    let rootless = bpdrift()
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["inspect", "podman:example.com/app:good"])
        .run();
    assert_eq!(rootless.code, 0, "{}", rootless.stderr);
    assert!(
        rootless
            .stdout
            .contains("paketo-buildpacks/bellsoft-liberica")
    );
}

#[test]
fn the_current_docker_context_names_the_engine() {
    let p = podman::shared();
    let b = bpdrift();
    let docker = b.home().join(".docker");
    let id = bpdrift::sha256(b"ci-engine");
    let meta = docker
        .join("contexts/meta")
        .join(id.trim_start_matches("sha256:"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        docker.join("config.json"),
        r#"{"auths":{},"currentContext":"ci-engine"}"#,
    )
    .unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(
            r#"{{"Name":"ci-engine","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{}","SkipTLSVerify":false}}}}}}"#,
            p.host()
        ),
    )
    .unwrap();
    let r = b.args(["diff", "--fail-on", "never", GOOD, BAD]).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("4 buildpacks changed"), "{}", r.stdout);
}

#[test]
fn memory_of_a_daemon_image_equals_the_layouts() {
    let args = ["memory", "--format", "json", "--memory", "616300K"];
    let daemon = json(&[&args[..], &["docker-daemon:example.com/jvm:incident"]].concat());
    let layout = json(&[&args[..], &["oci:testdata/images:jvm-incident"]].concat());
    // Read from the layers the engine exported: the big jar's classes are counted.
    assert_eq!(daemon["app_classes"], 29830, "{daemon}");
    assert_eq!(without_origin(daemon), without_origin(layout));
}

#[test]
fn engine_errors_name_the_engine_and_what_to_do() {
    let p = podman::shared();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sock");
    // A socket file nobody listens on (what a stopped engine leaves behind).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut out = String::new();
    let mut line = |host: &str, image: &str| {
        let r = bpdrift()
            .env("DOCKER_HOST", host)
            .args(["inspect", image])
            .run();
        assert_eq!(r.code, 2, "{host} {image}: {}", r.stderr);
        out.push_str(&r.stderr);
    };
    line(&format!("unix://{}", missing.display()), GOOD);
    line(&format!("unix://{}", stale.display()), GOOD);
    line(&p.host(), "docker-daemon:example.com/app:nope");
    line(
        &p.host(),
        &format!("docker-daemon:sha256:{}", "0".repeat(64)),
    );
    line("ssh://me@build-host", GOOD);
    line("http://localhost:2375", GOOD);
    // DOCKER_TLS_VERIFY: TLS with the files of DOCKER_CERT_PATH, here missing.
    let r = bpdrift()
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", dir.path())
        .args(["inspect", GOOD])
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    out.push_str(&r.stderr);
    settings(&[("bpdrift-podman-[A-Za-z0-9]+", "[PODMAN]")])
        .bind(|| insta::assert_snapshot!("daemon_errors", out));
}

#[test]
fn permission_denied_on_the_socket() {
    // Root opens any socket, so the run is as `nobody`, who may not enter the service's
    // directory (mode 0700): connect(2) fails with EACCES, as on a docker.sock of group docker.
    // The binary is copied where `nobody` may run it: a checkout under /root is not.
    use std::os::unix::fs::PermissionsExt as _;
    let p = podman::shared();
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = bin.path().join("bpdrift");
    std::fs::copy(env!("CARGO_BIN_EXE_bpdrift"), &exe).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(&exe)
        .args(["inspect", GOOD])
        .env_clear()
        .env("DOCKER_HOST", p.host())
        .env("HOME", "/nonexistent")
        .current_dir(bin.path())
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    settings(&[("bpdrift-podman-[A-Za-z0-9]+", "[PODMAN]")])
        .bind(|| insta::assert_snapshot!("daemon_permission_denied", stderr));
}

#[test]
fn fleet_files_take_daemon_references() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[service]]\nname = \"checkout\"\ndeployed = \"{GOOD}\"\ncandidate = \"{BAD}\"\n"),
    )
    .unwrap();
    let history = dir.path().join("history.sqlite");
    let v = json(&[
        "report",
        "--fleet",
        fleet.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
        "--format",
        "json",
        "--now",
        "2026-11-20T06:00:00Z",
        "--no-cache",
    ]);
    let service = &v["services"][0];
    assert_eq!(service["name"], "checkout", "{v}");
    let text = service.to_string();
    assert!(text.contains(BAD), "{text}");
    assert!(text.contains("paketo-buildpacks/syft"), "{text}");
}

#[test]
fn a_tcp_engine_is_reached_through_docker_host() {
    let tcp = podman::shared().start_tcp();
    let r = bpdrift()
        .env("DOCKER_HOST", tcp.host())
        .args(["diff", "--fail-on", "never", GOOD, BAD])
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("4 buildpacks changed"), "{}", r.stdout);
    // Stopped on drop: then nothing listens on the port.
    let host = tcp.host();
    drop(tcp);
    let r = bpdrift()
        .env("DOCKER_HOST", &host)
        .args(["inspect", GOOD])
        .run();
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains(&format!("no container engine at `{host}`")),
        "{}",
        r.stderr
    );
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &std::path::Path, args: &str) {
    let out = std::process::Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA in `dir` (`ca.pem`), and `prefix.pem`/`prefix-key.pem` it signs with `ext`.
fn ca_and_cert(dir: &std::path::Path, prefix: &str, ext: &str) {
    if !dir.join("ca.pem").exists() {
        openssl(
            dir,
            "req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=bpdrift-test-ca",
        );
    }
    std::fs::write(dir.join(format!("{prefix}.ext")), ext).unwrap();
    openssl(
        dir,
        &format!(
            "req -newkey rsa:2048 -nodes -keyout {prefix}-key.pem -out {prefix}.csr -subj /CN={prefix}"
        ),
    );
    openssl(
        dir,
        &format!(
            "x509 -req -in {prefix}.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out {prefix}.pem -days 2 -extfile {prefix}.ext"
        ),
    );
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_tls_engine_with_client_certificates() {
    // socat terminates TLS in front of the service's socket, verifying client certificates
    // against the CA, as dockerd's `--tlsverify` does.
    let p = podman::shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca_and_cert(d, "server", "subjectAltName=IP:127.0.0.1\n");
    ca_and_cert(d, "client", "extendedKeyUsage=clientAuth\n");
    // DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem.
    let certs = d.join("certs");
    std::fs::create_dir(&certs).unwrap();
    for (from, to) in [
        ("ca.pem", "ca.pem"),
        ("client.pem", "cert.pem"),
        ("client-key.pem", "key.pem"),
    ] {
        std::fs::copy(d.join(from), certs.join(to)).unwrap();
    }
    let port = crate::common::free_port();
    let _socat = Killed(
        std::process::Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},cafile={},verify=1",
                d.join("server.pem").display(),
                d.join("server-key.pem").display(),
                d.join("ca.pem").display()
            ))
            .arg(format!("UNIX-CONNECT:{}", p.socket.display()))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("socat must be installed: scripts/test.sh installs it"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "socat did not listen");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let inspect = |cert_path: &std::path::Path| {
        bpdrift()
            .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", cert_path)
            .args(["inspect", GOOD])
            .run()
    };
    let ok = inspect(&certs);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("lifecycle: 0.16.5"), "{}", ok.stdout);

    // Without a client certificate the engine refuses the handshake.
    std::fs::remove_file(certs.join("cert.pem")).unwrap();
    let refused = inspect(&certs);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("CertificateRequired"),
        "{}",
        refused.stderr
    );

    // A CA that did not sign the engine's certificate: not trusted.
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    openssl(
        &other,
        "req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=other",
    );
    let untrusted = inspect(&other);
    assert_eq!(untrusted.code, 2);
    assert!(
        untrusted
            .stderr
            .contains("cannot talk to the engine at `tcp://127.0.0.1:")
            && untrusted.stderr.contains("UnknownIssuer"),
        "{}",
        untrusted.stderr
    );
}
