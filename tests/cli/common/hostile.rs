//! Hostile inputs for the hardening tests: OCI layouts written on the fly (any config, any
//! layer), a registry on a real loopback socket whose answers are oversized, slow, lying about
//! their size or redirecting, and a runner that measures the child's peak RSS and wall time.
//! Everything is bounded: a stream stops when the client hangs up or at its byte budget.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::http::{self, Request, Server};
use super::{Bpdrift, Run};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Answers with an OCI manifest; `true`: the request was handled.
pub fn serve_manifest(s: &mut std::net::TcpStream, manifest: &[u8]) -> bool {
    let content_type = [("Content-Type", OCI_MANIFEST.to_string())];
    let _ = super::http::write_response(s, 200, &content_type, manifest);
    true
}

pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A minimal image config with `env` (`K=V`) and `labels`.
pub fn config(env: &[&str], labels: Value) -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Env": env, "Labels": labels },
        "rootfs": { "type": "layers", "diff_ids": [] }
    })
}

/// A descriptor for `bytes`.
pub fn descriptor(media_type: &str, bytes: &[u8]) -> Value {
    json!({ "mediaType": media_type, "digest": sha256(bytes), "size": bytes.len() })
}

/// An image manifest for a config and layers (descriptors).
pub fn manifest(config: &Value, layers: &[Value]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    })
}

/// Writes `bytes` as a blob of the layout at `dir`; returns its digest.
pub fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
    digest
}

/// An OCI layout at `dir` holding one image: `config` and `layers` (bytes, gzip'd tars or not);
/// `tweak` may change the manifest before it is written (lying digests and sizes).
pub fn write_layout(
    dir: &Path,
    config: &Value,
    layers: &[Vec<u8>],
    tweak: impl FnOnce(&mut Value),
) -> String {
    let config_bytes = serde_json::to_vec(config).unwrap();
    put_blob(dir, &config_bytes);
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            put_blob(dir, l);
            descriptor(OCI_LAYER, l)
        })
        .collect();
    let mut m = manifest(
        &descriptor("application/vnd.oci.image.config.v1+json", &config_bytes),
        &layer_descs,
    );
    tweak(&mut m);
    let m_bytes = serde_json::to_vec(&m).unwrap();
    let m_digest = put_blob(dir, &m_bytes);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": m_digest, "size": m_bytes.len(),
            "annotations": { "org.opencontainers.image.ref.name": "latest" }
        }]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    m_digest
}

/// A tar of `files` (path, bytes), gzip'd.
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    gzip(&tar(files))
}

/// Writes a response head, then `total` bytes of `fill` in 64 KiB writes, stopping when the
/// client hangs up. `content_length`: the header to send (a lie, or none).
pub fn stream(
    s: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    content_length: Option<u64>,
    total: u64,
    fill: u8,
    pause: Duration,
) {
    let mut head = format!("HTTP/1.1 {status} Status\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = content_length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if s.write_all(head.as_bytes()).is_err() {
        return;
    }
    let chunk = vec![fill; 64 << 10];
    let mut sent = 0u64;
    while sent < total {
        let n = chunk.len().min((total - sent) as usize);
        if s.write_all(&chunk[..n]).is_err() {
            return;
        }
        sent += n as u64;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

/// A registry on 127.0.0.1 that answers every request with `answer` (the `/v2/` ping included,
/// unless `answer` leaves it to the default: 200).
pub struct Hostile {
    server: Server,
}

impl Hostile {
    /// `answer` returns `true` when it handled the request (wrote a response).
    pub fn start(
        answer: impl Fn(&Request, &mut TcpStream) -> bool + Send + Sync + 'static,
    ) -> Self {
        let server = Server::start(move |stream| {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let Some(req) = http::read_request(&mut reader) else {
                return;
            };
            let mut out = stream;
            if !answer(&req, &mut out) {
                let status = if req.path() == "/v2/" { 200 } else { 404 };
                let _ = http::write_response(&mut out, status, &[], b"{}");
            }
        });
        Self { server }
    }

    pub fn addr(&self) -> &str {
        &self.server.addr
    }

    /// `127.0.0.1:<port>/<repo>:<tag>`.
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.server.addr)
    }
}

/// A run with its peak RSS and wall time.
pub struct Measured {
    pub run: Run,
    pub peak_rss_kb: u64,
    pub elapsed: Duration,
}

impl Bpdrift {
    /// Runs under GNU time (`/usr/bin/time -f %M`, the Debian package `time`) for the peak RSS
    /// of the child.
    pub fn run_measured(self) -> Measured {
        let out_dir = tempfile::tempdir().unwrap();
        let rss_file = out_dir.path().join("rss");
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(self.cmd.get_program())
            .args(self.cmd.get_args())
            .env_clear()
            .stdin(std::process::Stdio::null());
        if let Some(d) = self.cmd.get_current_dir() {
            cmd.current_dir(d);
        }
        for (k, v) in self.cmd.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let started = Instant::now();
        let out = cmd.output().expect("run bpdrift under /usr/bin/time");
        let elapsed = started.elapsed();
        let rss = std::fs::read_to_string(&rss_file).unwrap_or_default();
        let peak_rss_kb = rss
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no RSS from /usr/bin/time: {rss:?}"));
        Measured {
            run: Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
            peak_rss_kb,
            elapsed,
        }
    }
}

impl Measured {
    /// Prints the figures (for the closing note; shown with `--nocapture`).
    #[allow(clippy::print_stderr, clippy::disallowed_macros)]
    pub fn report(&self, what: &str) {
        eprintln!(
            "{what}: exit {}, peak RSS {} kB, {:.2} s",
            self.run.code,
            self.peak_rss_kb,
            self.elapsed.as_secs_f64()
        );
    }

    /// Exit 2, one error line containing every one of `needles`, peak RSS under 200 MB, done
    /// within `secs`.
    // The figures, for the closing note (shown with `--nocapture`; captured otherwise).
    #[allow(clippy::print_stderr, clippy::disallowed_macros)]
    pub fn assert_refused(&self, needles: &[&str], secs: u64) {
        let r = &self.run;
        assert_eq!(r.code, 2, "{}", r.snapshot());
        for n in needles {
            assert!(r.stderr.contains(n), "missing {n:?}:\n{}", r.snapshot());
        }
        assert!(
            self.peak_rss_kb < 200_000,
            "peak RSS {} kB\n{}",
            self.peak_rss_kb,
            r.snapshot()
        );
        assert!(
            self.elapsed < Duration::from_secs(secs),
            "took {:?}\n{}",
            self.elapsed,
            r.snapshot()
        );
        eprintln!(
            "peak RSS {} kB, {:.2} s: {}",
            self.peak_rss_kb,
            self.elapsed.as_secs_f64(),
            r.stderr.lines().last().unwrap_or_default()
        );
    }
}

/// The config of a buildpacks image whose layers (by diffID) all belong to one buildpack, so
/// `bpdrift memory` reads every one of them.
pub fn buildpack_config(diff_ids: &[String], env: &[&str]) -> Value {
    let layers: serde_json::Map<String, Value> = diff_ids
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("l{i}"), json!({ "sha": d })))
        .collect();
    let lifecycle = json!({
        "buildpacks": [{ "key": "test/jvm", "version": "1.0.0", "layers": layers }]
    });
    let mut c = config(
        env,
        json!({
            "io.buildpacks.lifecycle.metadata": lifecycle.to_string(),
            "io.buildpacks.build.metadata":
                json!({"buildpacks": [{"id": "test/jvm", "version": "1.0.0"}]}).to_string(),
        }),
    );
    c["rootfs"]["diff_ids"] = json!(diff_ids);
    c
}

/// A plain (uncompressed) tar of `files`.
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, p, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Runs a Python 3 script (zlib in C: gigabytes of zeros compress in seconds, where the test
/// profile's miniz would take minutes) with `args`.
pub fn python(script: &str, args: &[&str]) {
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .status()
        .expect("python3");
    assert!(status.success(), "python3 failed");
}
