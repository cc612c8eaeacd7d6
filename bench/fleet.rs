//! The scheduled report over a fleet of distinct images (`BPDRIFT_BENCH_FLEET`, default
//! 10,000: a manifest and a config of their own each, the incident image's layers shared),
//! through the latency proxy, in keep-alive mode, against the least possible client: HTTP/1.1
//! keep-alive connections, two GETs per image (manifest, config), the same parallelism, the
//! same proxy. Measured for bpdrift: the cold run and the second run (same cache and history):
//! wall time, peak RSS, requests per image, and the history's bytes per image per run. With
//! `BPDRIFT_BENCH_SHARDS=N`, a second case: the fleet file holds N times the images and
//! bpdrift runs `--shard 1/N` (only that shard's images exist). With `BPDRIFT_BENCH_BEFORE=BIN`, the same
//! runs of an older binary are measured too (before → after).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::Registry;
use crate::common::proxy::Proxy;
use crate::measure::{Measure, bpdrift_bin};
use crate::seed::{blob, layout_manifest, put_variant, upload};
use crate::verdict;

const REPO: &str = "bench/fleet";

/// Whether service `name` is in shard 1 of `n` (bpdrift's rule: the first 8 bytes of the
/// name's SHA-256, modulo N).
fn in_first_shard(name: &str, n: u64) -> bool {
    let hex = bpdrift::sha256(name.as_bytes());
    let hex = hex.trim_start_matches("sha256:");
    u64::from_str_radix(&hex[..16], 16)
        .unwrap()
        .is_multiple_of(n)
}

/// Seeds `repo:f<i>` for each `i`: the incident image's layers once, then per image its own
/// config (a label tells them apart) and manifest, 4 uploads at a time.
fn seed(addr: &str, indices: &[usize]) {
    let manifest = layout_manifest("incident-good");
    for l in manifest["layers"].as_array().unwrap() {
        upload(addr, REPO, &blob(l["digest"].as_str().unwrap()));
    }
    let config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = indices.get(k) else { break };
                    put_variant(addr, REPO, &format!("f{i}"), &manifest, &config, i);
                }
            });
        }
    });
}

/// One response on a keep-alive connection: status and body (framed by Content-Length).
fn exchange(reader: &mut BufReader<TcpStream>, request: &str) -> (u16, Vec<u8>) {
    reader.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (code, body)
}

/// The least possible client: `jobs` keep-alive connections, each fetching the next image's
/// manifest then its config. Returns its wall time.
fn least_client(proxy: &Proxy, indices: &[usize], jobs: usize) -> f64 {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                let stream = TcpStream::connect(&proxy.addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = indices.get(k) else { break };
                    let (code, body) = exchange(
                        &mut reader,
                        &format!(
                            "GET /v2/{REPO}/manifests/f{i} HTTP/1.1\r\nHost: {}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n",
                            proxy.addr
                        ),
                    );
                    assert_eq!(code, 200);
                    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let config = m["config"]["digest"].as_str().unwrap();
                    let (code, body) = exchange(
                        &mut reader,
                        &format!(
                            "GET /v2/{REPO}/blobs/{config} HTTP/1.1\r\nHost: {}\r\n\r\n",
                            proxy.addr
                        ),
                    );
                    assert_eq!(code, 200);
                    // Parsed, as any client would.
                    let _: serde_json::Value = serde_json::from_slice(&body).unwrap();
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

/// One binary's cold and second run: the measures, and the history's size after each.
struct Runs {
    cold: Measure,
    second: Measure,
    history_cold: u64,
    history_second: u64,
}

fn runs(bin: &str, proxy: &Proxy, fleet: &std::path::Path, shards: u64, jobs: usize) -> Runs {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.sqlite");
    let mut args = crate::measure::report_args(fleet, dir.path(), jobs);
    if shards > 1 {
        args.extend(["--shard".into(), format!("1/{shards}")]);
    }
    let size = || std::fs::metadata(&history).map(|m| m.len()).unwrap_or(0);
    note!("bench: fleet: {bin}: cold run…");
    let cold = bpdrift_bin(bin, proxy, args.clone());
    let history_cold = size();
    note!("bench: fleet: {bin}: second run…");
    let second = bpdrift_bin(bin, proxy, args);
    let history_second = size();
    Runs {
        cold,
        second,
        history_cold,
        history_second,
    }
}

/// Requests by method in the proxy's log since `from`.
fn methods(proxy: &Proxy, from: usize) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for s in &proxy.seen()[from..] {
        *by.entry(s.method.clone()).or_default() += 1;
    }
    by
}

pub(crate) fn case(
    md: &mut String,
    targets: &mut Vec<String>,
    reg: &Registry,
    n: usize,
    shards: u64,
    rtt: Duration,
    jobs: usize,
) {
    let total = n * shards as usize;
    let names: Vec<String> = (0..total).map(|i| format!("s{i}")).collect();
    let ours: Vec<usize> = (0..total)
        .filter(|&i| shards == 1 || in_first_shard(&names[i], shards))
        .collect();
    note!("bench: fleet: seeding {} images…", ours.len());
    let started = Instant::now();
    seed(&reg.addr, &ours);
    note!(
        "bench: fleet: seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let proxy = Proxy::start_keep_alive(&reg.addr, rtt);
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = String::new();
    for (i, name) in names.iter().enumerate() {
        writeln!(
            fleet,
            "[[service]]\nname = \"{name}\"\ndeployed = \"{}/{REPO}:f{i}\"\n",
            proxy.addr
        )
        .unwrap();
    }
    let fleet_file = dir.path().join("fleet.toml");
    std::fs::write(&fleet_file, fleet).unwrap();

    note!("bench: fleet: the least client over {} images…", ours.len());
    let least = least_client(&proxy, &ours, jobs);
    let mut measured = Vec::new();
    // An older build knows no `--shard`.
    if let (Ok(before), 1) = (std::env::var("BPDRIFT_BENCH_BEFORE"), shards) {
        measured.push(("before", runs(&before, &proxy, &fleet_file, shards, jobs)));
    }
    let from = proxy.seen().len();
    let after = runs(
        env!("CARGO_BIN_EXE_bpdrift"),
        &proxy,
        &fleet_file,
        shards,
        jobs,
    );
    let second_methods = {
        let all = methods(&proxy, from + after.cold.requests);
        all.into_iter()
            .map(|(m, c)| format!("{c} {m}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    measured.push(("after", after));
    let images = ours.len();
    let per = |bytes: u64| bytes as f64 / images as f64;

    writeln!(md).unwrap();
    writeln!(md, "### Fleet report over {images} images").unwrap();
    writeln!(md).unwrap();
    let what = if shards > 1 {
        format!(
            "shard 1 of {shards} (`--shard 1/{shards}`) of a fleet of {total} services, one image each: its {images} images"
        )
    } else {
        format!("{images} services, one image each")
    };
    writeln!(md, "{what} (a manifest and a config of their own each, the incident image's layers shared; seeded through the registry API), `--jobs {jobs}`, through the {:.0} ms proxy keeping connections alive. The least client: {jobs} keep-alive connections, a manifest GET then a config GET per image: **{least:.2} s**.", rtt.as_secs_f64() * 1000.0).unwrap();
    writeln!(md).unwrap();
    writeln!(
        md,
        "| build | run | wall s | × least client | requests/image | peak RSS MB | history bytes/image |"
    )
    .unwrap();
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|").unwrap();
    for (name, r) in &measured {
        for (run, m, bytes) in [
            ("cold", &r.cold, r.history_cold),
            ("second", &r.second, r.history_second - r.history_cold),
        ] {
            writeln!(
                md,
                "| {name} | {run} | {:.2} | {:.2}× | {:.2} | {:.1} | {:.0} |",
                m.secs,
                m.secs / least,
                m.requests as f64 / images as f64,
                m.rss_kb as f64 / 1024.0,
                per(bytes)
            )
            .unwrap();
        }
    }
    writeln!(md).unwrap();
    writeln!(
        md,
        "The second run's requests (this build): {second_methods}. History bytes: the SQLite file's growth in that run, per image."
    )
    .unwrap();
    let (_, after) = measured.last().unwrap();
    targets.push(format!(
        "fleet report over {images} images, cold ≤ 1.10× the least client: {:.2}× — {}",
        after.cold.secs / least,
        verdict(after.cold.secs / least <= 1.10)
    ));
    let rss = after.cold.rss_kb.max(after.second.rss_kb);
    targets.push(format!(
        "fleet report over {images} images, peak RSS ≤ 80 MB (cold and second run): {:.1} MB — {}",
        rss as f64 / 1024.0,
        verdict(rss <= 80 * 1024)
    ));
    let second = after.second.requests as f64 / images as f64;
    targets.push(format!(
        "fleet report over {images} images, second run one request (a HEAD) per tag: {second:.2} — {}",
        verdict(second <= 1.0)
    ));
    let growth = per(after.history_second - after.history_cold);
    targets.push(format!(
        "history growth of an unchanged run ≤ 200 bytes per service: {growth:.0} — {}",
        verdict(growth <= 200.0)
    ));
}
