//! The registry itself, against skopeo: for each N (`BPDRIFT_BENCH_SIZES`), bpdrift cold and
//! warm cache (a diff for 2, `inspect` for more), `skopeo inspect --config` sequential and with
//! the same parallelism, and from 100 images the fleet report over the same images.

use std::fmt::Write as _;
use std::time::Duration;

use crate::common::proxy::Proxy;
use crate::measure::{Measure, bpdrift, lower_bound, skopeo};
use crate::{ratio_target, verdict};

/// Every N of `sizes` over `repo:t<i>` images behind `proxy`.
pub(crate) fn cases(
    md: &mut String,
    targets: &mut Vec<String>,
    proxy: &Proxy,
    sizes: &[usize],
    rtt: Duration,
    jobs: usize,
) {
    let image = |i: usize| format!("{}/bench/app:t{i}", proxy.addr);
    let _ = rtt;
    for &n in sizes {
        let images: Vec<String> = (0..n).map(image).collect();
        let cache = tempfile::tempdir().unwrap();
        let cache_dir = cache.path().to_str().unwrap().to_string();
        let mut args: Vec<String> = if n == 2 {
            vec!["diff".into(), "--fail-on".into(), "never".into()]
        } else {
            vec!["inspect".into(), "--format".into(), "json".into()]
        };
        args.extend([
            "--jobs".into(),
            jobs.to_string(),
            "--cache-dir".into(),
            cache_dir,
        ]);
        args.extend(images.iter().cloned());
        note!("bench: {n} images: bpdrift cold/warm…");
        let cold = bpdrift(proxy, args.clone());
        let warm = bpdrift(proxy, args.clone());
        note!("bench: {n} images: skopeo sequential…");
        let seq = skopeo(proxy, &images, 1);
        note!("bench: {n} images: skopeo parallel…");
        let par = skopeo(proxy, &images, jobs);
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
            md,
            "bpdrift, cold cache",
            &cold,
            format!(
                "{:.3}× sequential skopeo, {:.2}× lower bound ({lower:.2} s)",
                cold.secs / seq.secs,
                cold.secs / lower
            ),
        );
        row(
            md,
            "bpdrift, warm cache",
            &warm,
            format!("{:.2}× cold", warm.secs / cold.secs),
        );
        row(md, "skopeo, sequential", &seq, "1".into());
        row(
            md,
            &format!("skopeo, {jobs} at a time"),
            &par,
            format!("{:.3}× sequential", par.secs / seq.secs),
        );
        if n >= 100 {
            // The scheduled report over a fleet of `n` services, one image each, cold.
            let dir = tempfile::tempdir().unwrap();
            let mut fleet = String::new();
            for i in 0..n {
                writeln!(
                    fleet,
                    "[[service]]\nname = \"s{i}\"\ndeployed = \"{}\"\n",
                    image(i)
                )
                .unwrap();
            }
            let fleet_file = dir.path().join("fleet.toml");
            std::fs::write(&fleet_file, fleet).unwrap();
            let report_args = crate::measure::report_args(&fleet_file, dir.path(), jobs);
            note!("bench: {n} images: bpdrift report…");
            let rep = bpdrift(proxy, report_args);
            let rep_lower = lower_bound(rep.requests, jobs, rtt);
            row(
                md,
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
            let (skopeo, bound) = (cold.secs / seq.secs, cold.secs / lower);
            for (what, ratio, goal) in [
                (
                    "two-image diff ≤ 0.35× two sequential skopeo calls",
                    skopeo,
                    0.35,
                ),
                ("two-image diff ≤ 1.15× its 2-RTT lower bound", bound, 1.15),
            ] {
                targets.push(ratio_target(what, ratio, goal, 2));
            }
        }
        if n >= 1000 {
            let (skopeo, bound) = (cold.secs / seq.secs, cold.secs / lower);
            let what = format!("{n} images ≤ 0.05× sequential skopeo");
            targets.push(ratio_target(&what, skopeo, 0.05, 3));
            let what = format!("{n} images ≤ 1.5× the round-trip lower bound");
            targets.push(ratio_target(&what, bound, 1.5, 2));
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
}
