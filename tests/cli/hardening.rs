//! Hostile registries, layouts, archives, layers and files (issue 12): each case exits 2 with one
//! line naming the subject and the limit, within a bounded time and a peak RSS under 200 MB
//! (measured with GNU time), and nothing secret reaches any output.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::bpdrift;
use crate::common::hostile::{self, Hostile, sha256, stream};
use crate::common::http::{self, Request};

const GB2: u64 = 2 << 30;

/// A valid single-platform image manifest served for `repo:tag`, its config streamed by `config`.
fn image_registry(
    config_bytes: Vec<u8>,
    declared_size: usize,
    config: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> Hostile {
    let cdigest = sha256(&config_bytes);
    let m = hostile::manifest(
        &json!({"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": declared_size}),
        &[],
    );
    let mbytes = serde_json::to_vec(&m).unwrap();
    Hostile::start(move |req: &Request, s: &mut TcpStream| {
        if req.path().contains("/manifests/") {
            let _ = http::write_response(
                s,
                200,
                &[("Content-Type", hostile::OCI_MANIFEST.to_string())],
                &mbytes,
            );
            return true;
        }
        if req.path().contains("/blobs/") {
            config(s);
            return true;
        }
        false
    })
}

fn diff_registry(reg: &Hostile, extra: &[&str]) -> hostile::Measured {
    let img = reg.image("app:latest");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "5"])
        .args(extra)
        .args([&img, &img])
        .run_measured()
}

#[test]
fn oversized_manifest_stops_at_4_mib() {
    let reg = Hostile::start(|req, s| {
        if req.path().contains("/manifests/") {
            // No Content-Length: the body only ends when bpdrift hangs up.
            stream(s, 200, &[], None, GB2, b' ', Duration::ZERO);
            return true;
        }
        false
    });
    diff_registry(&reg, &[]).assert_refused(&["manifest", "larger than the 4 MiB limit"], 20);
}

#[test]
fn content_length_is_not_trusted_either_way() {
    // A Content-Length over the limit is refused before any byte is read.
    let reg = Hostile::start(|req, s| {
        if req.path().contains("/manifests/") {
            stream(s, 200, &[], Some(GB2), 0, b' ', Duration::ZERO);
            return true;
        }
        false
    });
    diff_registry(&reg, &[]).assert_refused(&["manifest", "larger than the 4 MiB limit"], 20);
}

#[test]
fn lying_config_stops_at_its_descriptor_size() {
    // The manifest says 2 KiB; the blob streams 2 GiB.
    let reg = image_registry(vec![b'{'; 10], 2048, |s| {
        stream(s, 200, &[], None, GB2, b' ', Duration::ZERO)
    });
    diff_registry(&reg, &[]).assert_refused(&["config blob", "larger than the 2 KiB limit"], 20);
}

#[test]
fn slow_registry_times_out() {
    let reg = Hostile::start(|req, s| {
        if req.path().contains("/manifests/") {
            // 1 KiB every 100 ms, for ever (bounded: 50 MB or until bpdrift hangs up).
            stream(
                s,
                200,
                &[],
                None,
                50 << 20,
                b' ',
                Duration::from_millis(100),
            );
            return true;
        }
        false
    });
    let img = reg.image("app:latest");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "2"])
        .args([&img, &img])
        .run_measured()
        .assert_refused(&["timed out"], 20);
}

#[test]
fn redirect_loop_is_an_error() {
    let reg = Hostile::start(|req, s| {
        if req.path().contains("/manifests/") {
            let _ = http::write_response(s, 307, &[("Location", req.target.clone())], b"");
            return true;
        }
        false
    });
    diff_registry(&reg, &[]).assert_refused(&["app:latest"], 20);
}

#[test]
fn oversized_token_answer_is_refused() {
    let reg = Hostile::start(|req, s| {
        let addr = req.header("host").unwrap_or_default().to_string();
        if req.path() == "/v2/" {
            let _ = http::write_response(
                s,
                401,
                &[(
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="http://{addr}/token",service="hostile""#),
                )],
                b"",
            );
            return true;
        }
        if req.path() == "/token" {
            stream(s, 200, &[], None, GB2, b' ', Duration::ZERO);
            return true;
        }
        false
    });
    diff_registry(&reg, &[]).assert_refused(&["token request", "larger than the 1 MiB limit"], 20);
}

#[test]
fn bearer_realm_on_plain_http_elsewhere_is_refused() {
    let reg = Hostile::start(|req, s| {
        if req.path() == "/v2/" {
            let _ = http::write_response(
                s,
                401,
                &[(
                    "WWW-Authenticate",
                    r#"Bearer realm="http://auth.example.invalid/token",service="x""#.to_string(),
                )],
                b"",
            );
            return true;
        }
        false
    });
    let img = reg.image("app:latest");
    let m = bpdrift()
        .args(["diff", "--no-cache", "--retries", "1"])
        .args([&img, &img])
        .env("BPDRIFT_REGISTRY_USERNAME", "u")
        .env("BPDRIFT_REGISTRY_PASSWORD", "pw-must-not-travel")
        .run_measured();
    m.assert_refused(&["over plain HTTP; refused", "auth.example.invalid"], 20);
    assert!(!m.run.stderr.contains("pw-must-not-travel"));
}

// ---- local layouts ------------------------------------------------------------------------

fn layout_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    hostile::write_layout(d.path(), &hostile::config(&[], json!({})), &[], |_| {});
    d
}

fn diff_layout(dir: &Path) -> hostile::Measured {
    let r = format!("oci:{}", dir.display());
    bpdrift().args(["diff", &r, &r]).run_measured()
}

#[test]
fn index_json_linked_to_dev_zero_is_refused() {
    let d = layout_dir();
    std::fs::remove_file(d.path().join("index.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.path().join("index.json")).unwrap();
    diff_layout(d.path()).assert_refused(&["index.json", "not a regular file"], 10);
}

#[test]
fn index_json_fifo_does_not_hang() {
    let d = layout_dir();
    std::fs::remove_file(d.path().join("index.json")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(d.path().join("index.json"))
        .status()
        .unwrap();
    assert!(status.success());
    diff_layout(d.path()).assert_refused(&["index.json", "not a regular file"], 10);
}

#[test]
fn sparse_giant_config_is_refused_unread() {
    let d = layout_dir();
    // The config blob, replaced by a 10 GiB sparse file.
    let m: Value = {
        let idx: Value =
            serde_json::from_slice(&std::fs::read(d.path().join("index.json")).unwrap()).unwrap();
        let digest = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
        serde_json::from_slice(
            &std::fs::read(d.path().join("blobs/sha256").join(&digest[7..])).unwrap(),
        )
        .unwrap()
    };
    let config = d
        .path()
        .join("blobs/sha256")
        .join(&m["config"]["digest"].as_str().unwrap()[7..]);
    std::fs::File::create(&config)
        .unwrap()
        .set_len(10 << 30)
        .unwrap();
    diff_layout(d.path()).assert_refused(&["config blob", "larger than the"], 10);
}

#[test]
fn sparse_giant_index_json_is_refused_unread() {
    let d = layout_dir();
    std::fs::File::create(d.path().join("index.json"))
        .unwrap()
        .set_len(10 << 30)
        .unwrap();
    diff_layout(d.path()).assert_refused(&["`index.json` is larger than the 4 MiB limit"], 10);
}
