//! Measuring a process: wall time, peak RSS (GNU time) and the requests it made (the proxy's
//! log); skopeo as the baseline; the round-trip lower bound.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::proxy::Proxy;

pub(crate) struct Measure {
    pub(crate) secs: f64,
    pub(crate) requests: usize,
    pub(crate) rss_kb: u64,
}

/// Runs `program args` under GNU time for peak RSS; returns wall time and RSS.
pub(crate) fn timed(program: &str, args: &[String]) -> (f64, u64) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("BENCH_RSS_KB=%M\nBENCH_CPU=user %U s, system %S s")
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
    // On stderr with the progress: on a 2-core machine the CPU a run takes is what the registry
    // and the proxy cannot have.
    if let Some(cpu) = stderr.lines().find_map(|l| l.strip_prefix("BENCH_CPU=")) {
        note!("bench: {program}: {secs:.2} s wall, CPU {cpu}");
    }
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (secs, rss)
}

pub(crate) fn bpdrift(proxy: &Proxy, args: Vec<String>) -> Measure {
    bpdrift_bin(env!("CARGO_BIN_EXE_bpdrift"), proxy, args)
}

/// [`bpdrift`] with another binary (an older build, for before → after).
pub(crate) fn bpdrift_bin(bin: &str, proxy: &Proxy, args: Vec<String>) -> Measure {
    let before = proxy.seen().len();
    let (secs, rss_kb) = timed(bin, &args);
    Measure {
        secs,
        requests: proxy.seen().len() - before,
        rss_kb,
    }
}

pub(crate) fn skopeo_args(image: &str) -> Vec<String> {
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
pub(crate) fn skopeo(proxy: &Proxy, images: &[String], jobs: usize) -> Measure {
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

/// `requests` one RTT each, `jobs` at a time, and never fewer than two RTTs (manifest, then
/// config).
pub(crate) fn lower_bound(requests: usize, jobs: usize, rtt: Duration) -> f64 {
    ((requests as f64) / jobs as f64).ceil().max(2.0) * rtt.as_secs_f64()
}

/// The median wall time of `runs` runs of `program args` with `envs`.
pub(crate) fn median_secs(
    program: &str,
    args: &[String],
    envs: &[(&str, String)],
    runs: usize,
) -> f64 {
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

/// `bpdrift report` of `fleet` into `dir` (history `h.sqlite`, JSON report, its own cache: a
/// cold run), `jobs` at a time.
pub(crate) fn report_args(
    fleet: &std::path::Path,
    dir: &std::path::Path,
    jobs: usize,
) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args: Vec<String> = vec![
        "report".into(),
        "--fleet".into(),
        fleet.display().to_string(),
    ];
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
