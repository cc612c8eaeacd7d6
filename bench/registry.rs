//! Registry benchmark: bpdrift against `skopeo inspect --config`, the tool people use today for
//! the same data, through a loopback proxy that adds a round-trip delay to every request.
//!
//! Run: `cargo bench --bench registry` (see the README). It starts Debian's docker-registry on a
//! free loopback port, seeds N images (default 2, 100, 1000; unique configs, shared layers) with
//! plain HTTP uploads, puts the latency proxy (default 50 ms, `BPDRIFT_BENCH_RTT_MS`) in front,
//! and measures, for each N: bpdrift cold and warm cache, skopeo sequential and with the same
//! parallelism (`BPDRIFT_BENCH_JOBS`, default 32): wall time, requests per image (from the
//! proxy's log), peak RSS (GNU time), and ratios to the targets; then (unless
//! `BPDRIFT_BENCH_TLS=0`) bpdrift over HTTPS with HTTP/2 and HTTP/1.1 through a TCP-level delay
//! proxy (the test name in `/etc/hosts`: run as root); a fleet report over 10,000 images
//! (`BPDRIFT_BENCH_FLEET`, 0 skips); and, unless `BPDRIFT_BENCH_DAEMON=0`, `docker-daemon:`
//! against `podman save` + `docker-archive:` through a Podman service. It writes
//! `bench/RESULTS.md`.
//! Only 127.0.0.1 is contacted; every loop is bounded by N.

#[allow(unused_imports)]
#[path = "../tests/cli/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Registry;
use common::proxy::Proxy;

/// Progress on stderr (the report goes to stdout and bench/RESULTS.md).
macro_rules! note {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sha256(b: &[u8]) -> String {
    bpdrift::sha256(b)
}

/// One plain HTTP/1.1 request to the registry (seeding only; not timed).
fn call(addr: &str, method: &str, path: &str, ctype: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("registry");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// `PUT /v2/<repo>/manifests/<tag>` of an OCI manifest; anything but 201 fails the bench.
fn put_manifest(addr: &str, repo: &str, tag: &str, manifest: &serde_json::Value) {
    let path = format!("/v2/{repo}/manifests/{tag}");
    let body = serde_json::to_vec(manifest).unwrap();
    let (status, text) = call(addr, "PUT", &path, common::hostile::OCI_MANIFEST, &body);
    assert_eq!(status, 201, "manifest upload failed: {text}");
}

fn upload(addr: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    // distribution 2.8 has no single-request upload: open a session, then PUT the bytes to it.
    let (status, text) = call(
        addr,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        "application/octet-stream",
        b"",
    );
    assert_eq!(status, 202, "upload session failed: {text}");
    let location = text
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .expect("Location header")
        .trim();
    let path = location
        .split_once(addr)
        .map(|(_, p)| p)
        .unwrap_or(location);
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, text) = call(
        addr,
        "PUT",
        &format!("{path}{sep}digest={digest}"),
        "application/octet-stream",
        bytes,
    );
    assert_eq!(status, 201, "blob upload failed: {text}");
    digest
}

/// A blob of the shipped OCI layout.
fn blob(digest: &str) -> Vec<u8> {
    let path = common::root()
        .join("testdata/images/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::read(path).unwrap()
}

/// The manifest of a tag of the shipped OCI layout.
fn layout_manifest(tag: &str) -> serde_json::Value {
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("testdata/images/index.json")).unwrap(),
    )
    .unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    serde_json::from_slice(&blob(entry["digest"].as_str().unwrap())).unwrap()
}

/// Seeds `n` images `repo:t<i>`: the incident image's layers once, a unique config per image.
fn seed(addr: &str, repo: &str, n: usize) {
    let manifest = layout_manifest("incident-good");
    for l in manifest["layers"].as_array().unwrap() {
        upload(addr, repo, &blob(l["digest"].as_str().unwrap()));
    }
    let config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    for i in 0..n {
        let mut c = config.clone();
        c["config"]["Labels"]["bench.index"] = serde_json::Value::String(i.to_string());
        let bytes = serde_json::to_vec(&c).unwrap();
        let digest = upload(addr, repo, &bytes);
        let mut m = manifest.clone();
        m["config"]["digest"] = digest.into();
        m["config"]["size"] = bytes.len().into();
        put_manifest(addr, repo, &format!("t{i}"), &m);
    }
}

/// Seeds `repo:big`: the jvm-threads-50 image with a JRE layer grown by `extra` MiB of
/// incompressible data, for the memory prediction's bounded-memory case.
fn seed_big_jvm(addr: &str, repo: &str, extra_mib: usize) -> u64 {
    use std::io::Write as _;
    let mut manifest = layout_manifest("jvm-threads-50");
    let mut config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let lifecycle: serde_json::Value = serde_json::from_str(
        config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let jre_sha = lifecycle["buildpacks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| b["layers"]["jre"]["sha"].as_str().map(str::to_string))
        .unwrap();
    let pos = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d == jre_sha.as_str())
        .unwrap();
    // Old JRE layer + a large file of pseudo-random (incompressible) bytes.
    let old = blob(manifest["layers"][pos]["digest"].as_str().unwrap());
    let mut tar_bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&old[..]), &mut tar_bytes)
        .unwrap();
    // Drop the end-of-archive blocks (and any record padding) after the last member.
    let end = {
        let mut a = tar::Archive::new(&tar_bytes[..]);
        let mut end = 0u64;
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            end = e.raw_file_position() + e.size().div_ceil(512) * 512;
        }
        end as usize
    };
    tar_bytes.truncate(end);
    let mut builder = tar::Builder::new(tar_bytes);
    let mut data = vec![0u8; extra_mib << 20];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    builder
        .append_data(
            &mut h,
            "layers/paketo-buildpacks_bellsoft-liberica/jre/lib/modules",
            &data[..],
        )
        .unwrap();
    let tar_bytes = builder.into_inner().unwrap();
    let diff_id = sha256(&tar_bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    let layer = gz.finish().unwrap();
    let size = layer.len() as u64;
    let digest = upload(addr, repo, &layer);
    for (i, l) in manifest["layers"]
        .clone()
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if i != pos {
            upload(addr, repo, &blob(l["digest"].as_str().unwrap()));
        }
    }
    manifest["layers"][pos]["digest"] = digest.into();
    manifest["layers"][pos]["size"] = size.into();
    config["rootfs"]["diff_ids"][pos] = diff_id.clone().into();
    let label = config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
        .as_str()
        .unwrap()
        .replace(&jre_sha, &diff_id);
    config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"] = label.into();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = upload(addr, repo, &config_bytes).into();
    manifest["config"]["size"] = config_bytes.len().into();
    put_manifest(addr, repo, "big", &manifest);
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum()
}

struct Measure {
    secs: f64,
    requests: usize,
    rss_kb: u64,
}

/// Runs `program args` under GNU time for peak RSS; returns wall time and RSS.
fn timed(program: &str, args: &[String]) -> (f64, u64) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("BENCH_RSS_KB=%M")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("GNU time (/usr/bin/time, Debian package `time`)");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} failed: {stderr}");
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (secs, rss)
}

fn bpdrift(proxy: &Proxy, args: Vec<String>) -> Measure {
    let before = proxy.seen().len();
    let (secs, rss_kb) = timed(env!("CARGO_BIN_EXE_bpdrift"), &args);
    Measure {
        secs,
        requests: proxy.seen().len() - before,
        rss_kb,
    }
}

fn skopeo_args(image: &str) -> Vec<String> {
    [
        "inspect",
        "--config",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `skopeo inspect --config` for every image, `jobs` at a time; peak RSS is the largest single
/// process.
fn skopeo(proxy: &Proxy, images: &[String], jobs: usize) -> Measure {
    let before = proxy.seen().len();
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rss = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(images.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(img) = images.get(i) else { break };
                    let (_, r) = timed("skopeo", &skopeo_args(img));
                    rss.fetch_max(r, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    Measure {
        secs: started.elapsed().as_secs_f64(),
        requests: proxy.seen().len() - before,
        rss_kb: rss.into_inner(),
    }
}

/// What bounds the results, so a miss can be read for what it is.
const NOTES: &str = "
## Notes

- **No ping.** The cold path sends the manifest requests at once (containerd's way): an
  anonymous registry answers them, a token registry answers 401 with its challenge, which is
  answered (one token per repository) and remembered per registry, in the run and in the cache.
  Critical path: anonymous 2 round trips (manifests in parallel, then configs), token
  registry 4 (401, token, manifest, config), warm 1 HEAD per tag.
- **Two-image diff against two sequential skopeo calls.** bpdrift's cold diff is 2 round trips,
  100 ms at 50 ms RTT; two sequential `skopeo inspect --config` calls are six round trips (skopeo
  pings `/v2/`) plus two process starts, about 340 ms. The best possible ratio is therefore about
  100 / 340 ≈ 0.29; the target 0.35× leaves 15 % for process start and parsing.
- **The proxy.** Every answer is written whole in one write, with `TCP_NODELAY` on both sockets:
  a head and a body in two writes left the body to Nagle's algorithm and the client's delayed
  ACK, a ~40 ms stall for whichever client opened a second concurrent connection.
- **Warm rerun against cold run.** Warm = one HEAD per image, `jobs` at a time; cold = a manifest
  and a config per image. With whole batches, the best ratio is ceil(N/jobs) / ceil(2N/jobs):
  1/2 for N = 2 (one round trip of two), 4/7 for N = 100 at 32 jobs, 32/63 for N = 1000; with
  the ping gone the warm rerun can no longer beat 0.5× cold by the ping's share.
- Requests per image are read from the proxy's log: cold 2, warm 1 (a HEAD).
- **HTTP/2 on a cold run.** The first request to an `https://` host goes alone; the others wait
  for its response headers, then find its HTTP/2 connection in the pool (one TCP connection
  and one handshake instead of one per request in flight). The price is one round trip for
  small runs (the second manifest waits for the first); over HTTP/1.1 the others then open
  their own connections as before.
- **Fixed cost of a cold diff** (profiled with `strace` and `perf` against a local registry):
  no trust store is read for plain-HTTP registries (the TLS client is built on first `https://`
  request); the process start, parsing and rendering take ~5 ms (an `oci:` diff), the cold
  cache's 7 files and 4 directories ~5-8 ms of ext4 inode allocation on this busy disk, the
  rest is docker-registry's own service time, which the lower bound does not count.
- The machine is shared with other builds (2 cores); wall times carry that noise.
";

/// `requests` one RTT each, `jobs` at a time, and never fewer than two RTTs (manifest, then
/// config).
fn lower_bound(requests: usize, jobs: usize, rtt: Duration) -> f64 {
    ((requests as f64) / jobs as f64).ceil().max(2.0) * rtt.as_secs_f64()
}

/// A TCP proxy that holds every chunk the client sends for `delay` before passing it on (the
/// answers flow back at once): each round trip costs `delay`, whatever is inside the stream —
/// TLS handshakes included, HTTP/2 multiplexing and HTTP/1.1 connection counts included.
struct TcpDelay {
    addr: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TcpDelay {
    fn start(upstream: &str, delay: Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.to_string();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(up) = TcpStream::connect(&upstream) else {
                    continue;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = client.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
                let mut c_read = client.try_clone().unwrap();
                let mut u_write = up.try_clone().unwrap();
                let mut u_read = up;
                let mut c_write = client;
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0
                            || tx
                                .send((Instant::now() + delay, buf[..n].to_vec()))
                                .is_err()
                        {
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    for (due, bytes) in rx {
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        if u_write.write_all(&bytes).is_err() {
                            break;
                        }
                    }
                    let _ = u_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// bpdrift over HTTPS (own CA) with HTTP/2 and with HTTP/1.1 (the registry's h2 switched off),
/// through [`TcpDelay`]: the cold two-image diff and a cold 100-image inspect.
fn tls_case(md: &mut String, plain: &Registry, rtt: Duration, jobs: usize) {
    let pki = common::tls::Pki::new();
    let h2 = Registry::start_tls(&pki, false);
    let h1 = Registry::start_tls_http1(&pki);
    let n = 100;
    note!("bench: TLS: copying {n} images…");
    for reg in [&h2, &h1] {
        for i in 0..n {
            common::output_ok(
                Command::new("skopeo")
                    .args("copy --quiet --src-tls-verify=false --dest-cert-dir".split(' '))
                    .arg(pki.client_dir())
                    .arg(format!("docker://{}/bench/app:t{i}", plain.addr))
                    .arg(format!("docker://{}/bench/app:t{i}", reg.name)),
            );
        }
    }
    writeln!(md).unwrap();
    writeln!(md, "### HTTPS: HTTP/2 against HTTP/1.1").unwrap();
    writeln!(md).unwrap();
    writeln!(md, "docker-registry over TLS 1.3 with the test's own CA (`--ca-file`), once with HTTP/2 (ALPN `h2`) and once with `http.http2.disabled`, behind a TCP proxy that delays every client-to-server chunk by {:.0} ms (so the TLS handshake pays its round trip too). Cold cache. Lower bound: 1 RTT for the handshake + the request round trips.", rtt.as_secs_f64() * 1000.0).unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| images | protocol | wall s | TCP connections | lower bound s | ratio |"
    )
    .unwrap();
    writeln!(md, "|---:|---|---:|---:|---:|---:|").unwrap();
    for (reg, proto) in [(&h2, "HTTP/2"), (&h1, "HTTP/1.1")] {
        let port = reg.name.rsplit(':').next().unwrap().to_string();
        let proxy = TcpDelay::start(&format!("127.0.0.1:{port}"), rtt);
        let proxy_port = proxy.addr.rsplit(':').next().unwrap().to_string();
        let host = format!("{}:{proxy_port}", common::tls::TEST_HOST);
        for count in [2usize, n] {
            let cache = tempfile::tempdir().unwrap();
            let mut args = command_for(count);
            args.extend([
                "--ca-file".into(),
                pki.ca.display().to_string(),
                "--jobs".into(),
                jobs.to_string(),
                "--cache-dir".into(),
                cache.path().display().to_string(),
            ]);
            args.extend((0..count).map(|i| format!("{host}/bench/app:t{i}")));
            let before = proxy.connections();
            let (secs, _) = timed(env!("CARGO_BIN_EXE_bpdrift"), &args);
            let lower = rtt.as_secs_f64() + lower_bound(2 * count, jobs, rtt);
            writeln!(
                md,
                "| {count} | {proto} | {secs:.2} | {} | {lower:.2} | {:.2}× |",
                proxy.connections() - before,
                secs / lower
            )
            .unwrap();
        }
    }
}

/// Seeds `n` images `repo:f<i>` through the registry API: one config blob and one tiny layer,
/// uploaded once, then `n` small manifests that differ only by an annotation (so each tag has
/// its own manifest digest), 4 uploads at a time.
fn seed_fleet(addr: &str, repo: &str, n: usize) {
    let layer = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "hi", &b"hi"[..]).unwrap();
        let tar_bytes = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_bytes).unwrap();
        (sha256(&tar_bytes), gz.finish().unwrap())
    };
    let layer_digest = upload(addr, repo, &layer.1);
    let manifest = layout_manifest("incident-good");
    let mut config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    config["rootfs"]["diff_ids"] = serde_json::json!([layer.0]);
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = upload(addr, repo, &config_bytes);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let m = serde_json::json!({
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                            "digest": config_digest, "size": config_bytes.len()},
                        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": layer_digest, "size": layer.1.len()}],
                        "annotations": {"bench.index": i.to_string()},
                    });
                    put_manifest(addr, repo, &format!("f{i}"), &m);
                }
            });
        }
    });
}

/// `bpdrift report --fleet` over `n` services (one image each, cold), through the proxy.
fn fleet_case(
    md: &mut String,
    targets: &mut Vec<String>,
    reg: &Registry,
    proxy: &Proxy,
    n: usize,
    rtt: Duration,
    jobs: usize,
) {
    note!("bench: fleet: seeding {n} manifests…");
    let started = Instant::now();
    seed_fleet(&reg.addr, "bench/fleet", n);
    note!(
        "bench: fleet: seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let images = (0..n).map(|i| format!("{}/bench/fleet:f{i}", proxy.addr));
    let args = fleet_report_args(dir.path(), images, jobs);
    note!("bench: fleet: bpdrift report over {n} images…");
    let rep = bpdrift(proxy, args);
    // Every request `jobs` at a time, one RTT each (the requests per image are the critical
    // path's: the manifest, then the config unless another image already fetched it).
    let lower = lower_bound(rep.requests, jobs, rtt);
    let per_image = rep.requests as f64 / n as f64;
    writeln!(md).unwrap();
    writeln!(md, "### Fleet report over {n} images").unwrap();
    writeln!(md).unwrap();
    writeln!(md, "{n} services, one image each (distinct manifests under distinct tags, one shared config and layer: seeded through the registry API), cold cache, `--jobs {jobs}`, through the same {:.0} ms proxy.", rtt.as_secs_f64() * 1000.0).unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| images | wall s | requests/image | lower bound s | ratio | peak RSS MB |"
    )
    .unwrap();
    writeln!(md, "|---:|---:|---:|---:|---:|---:|").unwrap();
    writeln!(
        md,
        "| {n} | {:.2} | {per_image:.2} | {lower:.2} | {:.2}× | {:.1} |",
        rep.secs,
        rep.secs / lower,
        rep.rss_kb as f64 / 1024.0
    )
    .unwrap();
    targets.push(format!(
        "fleet report over {n} images ≤ 1.25× the round-trip lower bound: {:.2}× — {}",
        rep.secs / lower,
        verdict(rep.secs / lower <= 1.25)
    ));
    targets.push(format!(
        "fleet report over {n} images, peak RSS ≤ 80 MB: {:.1} MB — {}",
        rep.rss_kb as f64 / 1024.0,
        verdict(rep.rss_kb <= 80 * 1024)
    ));
}

/// The median wall time of `runs` runs of `program args` with `envs`.
fn median_secs(program: &str, args: &[String], envs: &[(&str, String)], runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let out = Command::new(program)
                .args(args)
                .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .expect(program);
            let secs = started.elapsed().as_secs_f64();
            assert!(
                out.status.success(),
                "{program} {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            secs
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// `docker-daemon:` against `podman save` + `docker-archive:` for the same two images, through
/// a Podman service on a Unix socket (Docker's `docker save` writes the same archive format).
fn daemon_case(md: &mut String, targets: &mut Vec<String>) {
    note!("bench: daemon: starting podman and loading two images…");
    let p = common::podman::Podman::start();
    p.load("incident-good", "example.com/app:good");
    p.load("incident-bad", "example.com/app:bad");
    let runs = 11;
    let bin = env!("CARGO_BIN_EXE_bpdrift");
    let env = [("DOCKER_HOST", p.host())];
    let diff = |a: &str, b: &str| -> Vec<String> {
        ["diff", "--fail-on", "never", "--no-cache", a, b]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    note!("bench: daemon: docker-daemon: diff…");
    let daemon = median_secs(
        bin,
        &diff(
            "docker-daemon:example.com/app:good",
            "docker-daemon:example.com/app:bad",
        ),
        &env,
        runs,
    );
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tar");
    let bad = dir.path().join("bad.tar");
    // `podman save` under the service's storage, as `docker save` would be run.
    let save = |name: &str, out: &Path| {
        p.podman(&[
            "save",
            "--quiet",
            "--format",
            "docker-archive",
            "-o",
            &out.display().to_string(),
            name,
        ]);
    };
    let mut save_times: Vec<f64> = (0..runs.min(5))
        .map(|_| {
            let _ = std::fs::remove_file(&good);
            let _ = std::fs::remove_file(&bad);
            let started = Instant::now();
            save("example.com/app:good", &good);
            save("example.com/app:bad", &bad);
            started.elapsed().as_secs_f64()
        })
        .collect();
    save_times.sort_by(f64::total_cmp);
    let saved = save_times[save_times.len() / 2];
    note!("bench: daemon: docker-archive: diff…");
    let archive = median_secs(
        bin,
        &diff(
            &format!("docker-archive:{}", good.display()),
            &format!("docker-archive:{}", bad.display()),
        ),
        &[],
        runs,
    );
    writeln!(md).unwrap();
    writeln!(
        md,
        "### Local engine: `docker-daemon:` against `docker save` + `docker-archive:`"
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(md, "The incident pair in a Podman service (its Docker-compatible API on a Unix socket, vfs storage); medians of {runs} runs (the saves: of 5), `--no-cache`.").unwrap();
    writeln!(md).unwrap();
    writeln!(md, "| way | wall s |").unwrap();
    writeln!(md, "|---|---:|").unwrap();
    writeln!(
        md,
        "| `bpdrift diff docker-daemon:… docker-daemon:…` | {daemon:.3} |"
    )
    .unwrap();
    writeln!(md, "| `podman save` × 2 | {saved:.3} |").unwrap();
    writeln!(
        md,
        "| `bpdrift diff docker-archive:… docker-archive:…` | {archive:.3} |"
    )
    .unwrap();
    writeln!(md, "| save + archive diff | {:.3} |", saved + archive).unwrap();
    targets.push(format!(
        "`docker-daemon:` diff of two local images ≤ 0.1 s: {daemon:.3} s — {}",
        verdict(daemon <= 0.1)
    ));
}

/// Two images are diffed; more are inspected (one JSON document).
fn command_for(images: usize) -> Vec<String> {
    let words = if images == 2 {
        "diff --fail-on never"
    } else {
        "inspect --format json"
    };
    words.split(' ').map(String::from).collect()
}

/// `report` of a fleet of one service per image, written to `dir`, cold (its own cache).
fn fleet_report_args(dir: &Path, images: impl Iterator<Item = String>, jobs: usize) -> Vec<String> {
    let mut fleet = String::new();
    for (i, image) in images.enumerate() {
        writeln!(
            fleet,
            "[[service]]\nname = \"s{i}\"\ndeployed = \"{image}\"\n"
        )
        .unwrap();
    }
    let fleet_file = dir.join("fleet.toml");
    std::fs::write(&fleet_file, fleet).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args: Vec<String> = vec!["report".into(), "--fleet".into(), path("fleet.toml")];
    for (flag, value) in [
        ("--history", path("h.sqlite")),
        ("--format", "json".into()),
        ("--out", path("report.json")),
        ("--jobs", jobs.to_string()),
        ("--cache-dir", path("cache")),
    ] {
        args.extend([flag.to_string(), value]);
    }
    args
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn main() {
    let rtt = Duration::from_millis(env_num("BPDRIFT_BENCH_RTT_MS", 50));
    let jobs = env_num("BPDRIFT_BENCH_JOBS", 32) as usize;
    let sizes: Vec<usize> = std::env::var("BPDRIFT_BENCH_SIZES")
        .unwrap_or_else(|_| "2,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let max = sizes.iter().copied().max().unwrap_or(2);
    note!("bench: seeding {max} images…");
    let reg = Registry::start();
    seed(&reg.addr, "bench/app", max);
    let proxy = Proxy::start(&reg.addr, rtt, Box::new(|_, _, _| None));
    let image = |i: usize| format!("{}/bench/app:t{i}", proxy.addr);
    let rtt_ms = rtt.as_secs_f64() * 1000.0;

    let mut md = String::new();
    writeln!(md, "# Registry benchmark").unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "`cargo bench --bench registry` on this machine ({} cores), {rtt_ms:.0} ms added per request by the loopback proxy, parallelism {jobs} (`--jobs {jobs}` for bpdrift, {jobs} concurrent skopeo processes). skopeo {}. Each proxy request opens a new connection (`Connection: close`), for both tools.",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        String::from_utf8_lossy(&Command::new("skopeo").arg("--version").output().map(|o| o.stdout).unwrap_or_default()).trim()
    )
    .unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| images | run | wall s | requests/image | peak RSS MB | ratio |"
    )
    .unwrap();
    writeln!(md, "|---:|---|---:|---:|---:|---|").unwrap();
    let mut targets = Vec::new();
    for &n in &sizes {
        let images: Vec<String> = (0..n).map(image).collect();
        let cache = tempfile::tempdir().unwrap();
        let cache_dir = cache.path().to_str().unwrap().to_string();
        let mut args = command_for(n);
        args.extend([
            "--jobs".into(),
            jobs.to_string(),
            "--cache-dir".into(),
            cache_dir,
        ]);
        args.extend(images.iter().cloned());
        note!("bench: {n} images: bpdrift cold/warm…");
        let cold = bpdrift(&proxy, args.clone());
        let warm = bpdrift(&proxy, args.clone());
        note!("bench: {n} images: skopeo sequential…");
        let seq = skopeo(&proxy, &images, 1);
        note!("bench: {n} images: skopeo parallel…");
        let par = skopeo(&proxy, &images, jobs);
        // Lower bound: every request of the cold run `jobs` at a time, one RTT each — and never
        // fewer than the manifest-then-config chain of one image (there is no ping).
        let lower = lower_bound(cold.requests, jobs, rtt);
        let row = |md: &mut String, run: &str, m: &Measure, ratio: String| {
            writeln!(
                md,
                "| {n} | {run} | {:.2} | {:.2} | {:.1} | {ratio} |",
                m.secs,
                m.requests as f64 / n as f64,
                m.rss_kb as f64 / 1024.0
            )
            .unwrap();
        };
        row(
            &mut md,
            "bpdrift, cold cache",
            &cold,
            format!(
                "{:.3}× sequential skopeo, {:.2}× lower bound ({lower:.2} s)",
                cold.secs / seq.secs,
                cold.secs / lower
            ),
        );
        row(
            &mut md,
            "bpdrift, warm cache",
            &warm,
            format!("{:.2}× cold", warm.secs / cold.secs),
        );
        row(&mut md, "skopeo, sequential", &seq, "1".into());
        row(
            &mut md,
            &format!("skopeo, {jobs} at a time"),
            &par,
            format!("{:.3}× sequential", par.secs / seq.secs),
        );
        if n >= 100 {
            // The scheduled report over a fleet of `n` services, one image each, cold.
            let dir = tempfile::tempdir().unwrap();
            let report_args = fleet_report_args(dir.path(), (0..n).map(image), jobs);
            note!("bench: {n} images: bpdrift report…");
            let rep = bpdrift(&proxy, report_args);
            let rep_lower = lower_bound(rep.requests, jobs, rtt);
            row(
                &mut md,
                &format!("bpdrift report, fleet of {n}, cold"),
                &rep,
                format!(
                    "{:.2}× lower bound ({rep_lower:.2} s)",
                    rep.secs / rep_lower
                ),
            );
            if n >= 1000 {
                targets.push(format!(
                    "report over {n} images ≤ 1.5× the round-trip lower bound: {:.2}× — {}",
                    rep.secs / rep_lower,
                    verdict(rep.secs / rep_lower <= 1.5)
                ));
                targets.push(format!(
                    "report over {n} images, peak RSS ≤ 50 MB: {:.1} MB — {}",
                    rep.rss_kb as f64 / 1024.0,
                    verdict(rep.rss_kb <= 50 * 1024)
                ));
            }
        }
        if n == 2 {
            targets.push(format!(
                "two-image diff ≤ 0.35× two sequential skopeo calls: {:.2}× — {}",
                cold.secs / seq.secs,
                verdict(cold.secs / seq.secs <= 0.35)
            ));
            targets.push(format!(
                "two-image diff ≤ 1.15× its 2-RTT lower bound: {:.2}× — {}",
                cold.secs / lower,
                verdict(cold.secs / lower <= 1.15)
            ));
        }
        if n >= 1000 {
            targets.push(format!(
                "{n} images ≤ 0.05× sequential skopeo: {:.3}× — {}",
                cold.secs / seq.secs,
                verdict(cold.secs / seq.secs <= 0.05)
            ));
            targets.push(format!(
                "{n} images ≤ 1.5× the round-trip lower bound: {:.2}× — {}",
                cold.secs / lower,
                verdict(cold.secs / lower <= 1.5)
            ));
            targets.push(format!(
                "peak RSS ≤ 50 MB for {n} images: {:.1} MB — {}",
                cold.rss_kb.max(warm.rss_kb) as f64 / 1024.0,
                verdict(cold.rss_kb.max(warm.rss_kb) <= 50 * 1024)
            ));
        }
        targets.push(format!(
            "{n} images: warm rerun ≤ 0.5× cold: {:.2}× — {}",
            warm.secs / cold.secs,
            verdict(warm.secs / cold.secs <= 0.5)
        ));
    }
    if env_num("BPDRIFT_BENCH_TLS", 1) == 1 {
        tls_case(&mut md, &reg, rtt, jobs);
    }
    let fleet_n = env_num("BPDRIFT_BENCH_FLEET", 10_000) as usize;
    if fleet_n > 0 {
        fleet_case(&mut md, &mut targets, &reg, &proxy, fleet_n, rtt, jobs);
    }
    if env_num("BPDRIFT_BENCH_DAEMON", 1) == 1 {
        daemon_case(&mut md, &mut targets);
    }
    // The memory prediction of a ~300 MB image: layers streamed, memory bounded.
    let big_mib = env_num("BPDRIFT_BENCH_BIG_MIB", 290) as usize;
    note!("bench: memory of a {big_mib} MiB-JRE image…");
    let total = seed_big_jvm(&reg.addr, "bench/jvm", big_mib);
    let mem = bpdrift(
        &proxy,
        vec![
            "memory".into(),
            "--no-cache".into(),
            "--memory".into(),
            "1G".into(),
            format!("{}/bench/jvm:big", proxy.addr),
        ],
    );
    writeln!(md).unwrap();
    writeln!(md, "`bpdrift memory` of an image of {:.0} MB (compressed; its JRE layer holds {big_mib} MiB of incompressible data, streamed to a temporary file, verified and scanned): {:.2} s, {} requests, peak RSS {:.1} MB.", total as f64 / 1e6, mem.secs, mem.requests, mem.rss_kb as f64 / 1024.0).unwrap();
    targets.push(format!(
        "memory prediction of a {:.0} MB image, peak RSS ≤ 100 MB: {:.1} MB — {}",
        total as f64 / 1e6,
        mem.rss_kb as f64 / 1024.0,
        verdict(mem.rss_kb <= 100 * 1024)
    ));
    writeln!(md).unwrap();
    writeln!(md, "## Targets").unwrap();
    writeln!(md).unwrap();
    for t in &targets {
        writeln!(md, "- {t}").unwrap();
    }
    md.push_str(NOTES);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/RESULTS.md");
    std::fs::write(&out, &md).unwrap();
    let _ = std::io::stdout().write_all(md.as_bytes());
}
