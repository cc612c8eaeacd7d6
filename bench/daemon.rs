//! A local engine: `docker-daemon:` against `podman save` + `docker-archive:`, through a Podman
//! service (its Docker-compatible API on a Unix socket).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use crate::common;
use crate::measure::median_secs;
use crate::verdict;

/// `docker-daemon:` against `podman save` + `docker-archive:` for the same two images, through
/// a Podman service on a Unix socket (Docker's `docker save` writes the same archive format).
pub(crate) fn case(md: &mut String, targets: &mut Vec<String>) {
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
