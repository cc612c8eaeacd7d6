//! Registries over HTTPS with their own CA (made by the test with openssl), reached by a
//! non-loopback name: trust through `--ca-file`, `SSL_CERT_FILE`, `--certs-dir` and the certs.d
//! directories; client certificates (mTLS); the untrusted-certificate message; HTTP/2 by ALPN;
//! a loopback registry with configured trust is reached over HTTPS too.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::tls::{Pki, RemoveOnDrop};
use crate::common::{Registry, Run, bpdrift, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

fn diff(good: &str, bad: &str) -> crate::common::Bpdrift {
    bpdrift().args(["diff", "--format", "json", "--fail-on", "never", good, bad])
}

/// A diff that worked, and the same as from the layouts.
fn assert_diffed(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["before"]["transport"], "registry");
    let local = bpdrift()
        .args(["diff", "--format", "json", "--fail-on", "never", GOOD, BAD])
        .run();
    let local: Value = serde_json::from_str(&local.stdout).unwrap();
    assert_eq!(v["changes"], local["changes"]);
}

fn tls_settings() -> insta::Settings {
    settings(&[(r"bpdrift-registry\.test:\d+", "[TLS_REGISTRY]")])
}

#[test]
fn own_ca_through_every_trust_path() {
    let pki = Pki::new();
    let reg = Registry::start_tls(&pki, false);
    let (good, bad) = reg.seed_incident_pair();
    let ca = pki.ca.to_str().unwrap();

    // Untrusted: one line (per reference) naming the registry and what to pass.
    let run = diff(&good, &bad).run();
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.trim().lines().count(), 2, "{}", run.stderr);
    tls_settings().bind(|| assert_snapshot!("tls_untrusted_certificate", run.snapshot()));
    assert!(
        reg.bpdrift_requests().is_empty(),
        "no request got past the handshake"
    );

    // --ca-file.
    assert_diffed(&diff(&good, &bad).args(["--ca-file", ca]).run());
    // SSL_CERT_FILE (replaces the system store, as in OpenSSL).
    assert_diffed(&diff(&good, &bad).env("SSL_CERT_FILE", ca).run());
    // --certs-dir: CAs directly in the directory, as skopeo's --cert-dir.
    let dir = tempfile::tempdir().unwrap();
    pki.certs_d_into(dir.path(), false);
    assert_diffed(
        &diff(&good, &bad)
            .args(["--certs-dir", dir.path().to_str().unwrap()])
            .run(),
    );
    // ~/.config/containers/certs.d/<host:port>/.
    let cmd = diff(&good, &bad);
    pki.certs_d_into(
        &cmd.home()
            .join(".config/containers/certs.d")
            .join(&reg.name),
        false,
    );
    assert_diffed(&cmd.run());
    // /etc/docker/certs.d/<host:port>/ (the port is this test's own; removed afterwards).
    let etc = RemoveOnDrop(std::path::Path::new("/etc/docker/certs.d").join(&reg.name));
    pki.certs_d_into(&etc.0, false);
    assert_diffed(&diff(&good, &bad).run());
    drop(etc);
    assert_eq!(
        diff(&good, &bad).run().code,
        2,
        "trust is gone with the entry"
    );

    // A CA file that is not PEM is named.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let run = diff(&good, &bad)
        .args(["--ca-file", junk.to_str().unwrap()])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("junk.pem") && run.stderr.contains("no PEM certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn http2_is_negotiated_and_loopback_with_trust_is_https() {
    let pki = Pki::new();
    let reg = Registry::start_tls(&pki, false);
    let (good, bad) = reg.seed_incident_pair();
    let ca = pki.ca.to_str().unwrap();

    let run = diff(&good, &bad)
        .args(["--ca-file", ca])
        .env("BPDRIFT_LOG", "bpdrift=debug")
        .run();
    assert_diffed(&run);
    assert!(run.stderr.contains("version=HTTP/2.0"), "{}", run.stderr);
    assert!(!run.stderr.contains("version=HTTP/1.1"), "{}", run.stderr);
    // The registry's own access log says so too: 2 manifests and 2 configs, all over h2.
    let log = reg.raw_log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("bpdrift/")).collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(lines.iter().all(|l| l.contains("HTTP/2.0\"")), "{log}");

    // 127.0.0.1 with --ca-file: HTTPS (the certificate names 127.0.0.1), not plain HTTP.
    let good = format!("{}/app:good", reg.addr);
    let bad = format!("{}/app:bad", reg.addr);
    assert_diffed(&diff(&good, &bad).args(["--ca-file", ca]).run());
    // Without configured trust loopback stays plain HTTP (the documented default), which a TLS
    // port refuses.
    let run = diff(&good, &bad).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn mtls_client_certificate_from_certs_d() {
    let pki = Pki::new();
    let reg = Registry::start_tls(&pki, true);
    let (good, bad) = reg.seed_incident_pair();

    // CA trusted, no client certificate: the registry ends the connection; said in one line
    // per reference.
    let run = diff(&good, &bad)
        .args(["--ca-file", pki.ca.to_str().unwrap()])
        .run();
    assert_eq!(run.code, 2);
    // TLS 1.3 lets the client write before the server has refused its (missing) certificate:
    // the request may then fail with a broken pipe, retried (one warning) until the alert is
    // read. The retry line is said; the error is the same.
    let mut run = run;
    run.stderr = run
        .stderr
        .lines()
        .filter(|l| {
            !(l.contains("WARN") && l.contains("connection reset") && l.contains("retrying in"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(run.stderr.trim().lines().count(), 2, "{}", run.stderr);
    tls_settings().bind(|| assert_snapshot!("tls_client_certificate_required", run.snapshot()));

    // client.cert + client.key next to the CA in certs.d.
    let cmd = diff(&good, &bad);
    pki.certs_d_into(
        &cmd.home()
            .join(".config/containers/certs.d")
            .join(&reg.name),
        true,
    );
    assert_diffed(&cmd.run());
    // --certs-dir with the same files.
    let dir = tempfile::tempdir().unwrap();
    pki.certs_d_into(dir.path(), true);
    assert_diffed(
        &diff(&good, &bad)
            .args(["--certs-dir", dir.path().to_str().unwrap()])
            .run(),
    );
}
