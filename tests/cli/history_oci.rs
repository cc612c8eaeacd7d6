//! The fleet history kept in the registry (`--history oci://…`) against the real registry with
//! token auth: it outlives the runner (every run gets a fresh `$HOME`: no cache, no state),
//! overlapping runs lose no observation, and `bpdrift history` reads it.

use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

use crate::common::token::TokenServer;
use crate::common::{PASSWORD, Registry, USER, bpdrift, output_ok};

const T1: &str = "2026-11-20T06:00:00Z";
const T2: &str = "2026-11-21T06:00:00Z";

/// A fleet file in `dir` watching `plain:prod` of `reg`.
fn plain_fleet(dir: &Path, reg: &Registry) -> std::path::PathBuf {
    let fleet = dir.join("fleet.toml");
    let toml = format!(
        "[[service]]\nname = \"plain\"\ndeployed = \"{}/plain:prod\"\n",
        reg.addr
    );
    std::fs::write(&fleet, toml).unwrap();
    fleet
}

/// Docker credentials for the registry in a fresh `$HOME`.
fn login(home: &Path, reg: &Registry) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let dir = home.join(".docker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({"auths": {reg.addr.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
}

fn report_args(fleet: &Path, history: &str, now: &str) -> Vec<String> {
    vec![
        "report".into(),
        "--fleet".into(),
        fleet.display().to_string(),
        "--history".into(),
        history.into(),
        "--format".into(),
        "json".into(),
        "--now".into(),
        now.into(),
    ]
}

fn report(fleet: &Path, reg: &Registry, history: &str, now: &str) -> (i32, Value, String) {
    // Trace logging: no credential or token may show up even then.
    let cmd = bpdrift()
        .args(report_args(fleet, history, now))
        .env("BPDRIFT_LOG", "trace");
    login(cmd.home(), reg);
    let run = cmd.run();
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    (run.code, v, run.stderr)
}

fn history_json(reg: &Registry, history: &str) -> Value {
    let cmd = bpdrift().args(["history", "--format", "json", "--history", history]);
    login(cmd.home(), reg);
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn observations(v: &Value, service: &str) -> Vec<(String, String)> {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service)
        .map(|s| {
            s["observations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["observed_at"].as_str().unwrap().to_string(),
                        o["role"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn history_in_the_registry_outlives_the_runner_and_survives_overlapping_runs() {
    let tokens = TokenServer::start();
    let reg = Registry::start_token(&tokens);
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, reg.seed_fleet("")).unwrap();
    let history = format!("oci://{}/history/fleet:main", reg.addr);

    // No artifact yet: `history` says so.
    let cmd = bpdrift().args(["history", "--history", &history]);
    login(cmd.home(), &reg);
    let run = cmd.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("run `bpdrift report` first"),
        "{}",
        run.stderr
    );

    tokens.requests.lock().unwrap().clear();
    let (code, first, stderr) = report(&fleet, &reg, &history, T1);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("pushed the history to {history} (sha256:")),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    assert!(
        !stderr.contains("eyJ"),
        "a bearer token was logged: {stderr}"
    );
    assert!(stderr.contains("PUT"), "trace logging was on: {stderr}");
    let scopes = tokens.requests.lock().unwrap().clone();
    assert!(
        scopes
            .iter()
            .any(|(_, s)| s == "repository:history/fleet:push,pull"),
        "the history is pushed with a push,pull token: {scopes:?}"
    );
    assert!(first["previous_run"].is_null());

    // The artifact is what docs/report.md says.
    let out = output_ok(
        Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("--creds={USER}:{PASSWORD}"))
            .arg(format!("docker://{}/history/fleet:main", reg.addr)),
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["artifactType"], "application/vnd.bpdrift.history.v2");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.bpdrift.history.v2.jsonl+gzip"
    );

    // The deploy; the next run starts on a new runner (a fresh $HOME: no cache, no state).
    reg.seed("oci:testdata/images:incident-bad", "checkout:prod");
    let (code, second, stderr) = report(&fleet, &reg, &history, T2);
    assert!(code <= 1, "{stderr}");
    assert_eq!(second["previous_run"], T1, "{stderr}");
    let checkout = second["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "checkout")
        .unwrap();
    let since = &checkout["since_last_run"][0];
    assert_eq!(since["role"], "deployed", "{checkout:#}");
    assert!(
        !since["changes"].as_array().unwrap().is_empty(),
        "drift since run 1 is reported: {since:#}"
    );

    // Four runs at once, all reading the same artifact: every run survives.
    let stamps = [
        "2026-11-22T06:00:00Z",
        "2026-11-22T06:00:01Z",
        "2026-11-22T06:00:02Z",
        "2026-11-22T06:00:03Z",
    ];
    let homes: Vec<tempfile::TempDir> = stamps
        .iter()
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let children: Vec<std::process::Child> = stamps
        .iter()
        .zip(&homes)
        .map(|(now, home)| {
            login(home.path(), &reg);
            Command::new(env!("CARGO_BIN_EXE_bpdrift"))
                .env_clear()
                .env("HOME", home.path())
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(report_args(&fleet, &history, now))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut merged = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.code().unwrap() <= 1, "{stderr}");
        assert!(stderr.contains("pushed the history"), "{stderr}");
        if stderr.contains("merged with other runs") {
            merged += 1;
        }
    }
    assert!(
        merged >= 1,
        "the runs overlapped: at least one had to merge"
    );

    let v = history_json(&reg, &history);
    let checkout = observations(&v, "checkout");
    assert_eq!(checkout.len(), 6 * 2, "6 runs × 2 roles: {checkout:?}");
    for at in [T1, T2].iter().chain(&stamps) {
        assert!(
            checkout.iter().any(|(o, _)| o == at),
            "the run at {at} is on record"
        );
    }
    assert_eq!(observations(&v, "plain").len(), 6);

    // A pull request's diff sees that the nightly stopped (the last run is days old), from the
    // registry: a warning in the report and on stderr, not a failure.
    let (good, bad) = (reg.image("checkout:prod"), reg.image("checkout:main"));
    let cmd = bpdrift()
        .args(["diff", "--format", "markdown", "--history"])
        .arg(&history)
        .args(["--expect-every", "24h"])
        .arg(&good)
        .arg(&bad);
    login(cmd.home(), &reg);
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: the fleet report's last successful run (history `{history}`) finished"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("> [!WARNING]\n> the fleet report's last successful run"),
        "{}",
        run.stdout
    );

    // The table reads it too.
    let cmd = bpdrift().args(["history", "checkout", "--history", &history]);
    login(cmd.home(), &reg);
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("OBSERVED"), "{}", run.stdout);
    assert!(
        run.stdout.contains(T1) && run.stdout.contains(T2),
        "{}",
        run.stdout
    );
}

#[test]
fn diff_warns_when_the_fleet_report_stopped() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:plain-a", "plain:prod");
    reg.seed("oci:testdata/images:plain-b", "plain:main");
    let dir = tempfile::tempdir().unwrap();
    let fleet = plain_fleet(dir.path(), &reg);
    let history = dir.path().join("history.sqlite");
    let history = history.to_str().unwrap();
    let (a, b) = (reg.image("plain:prod"), reg.image("plain:main"));
    let diff = |every: &str, format: &str| {
        bpdrift()
            .args(["diff", "--format"])
            .arg(format)
            .arg("--history")
            .arg(history)
            .arg("--expect-every")
            .arg(every)
            .arg(&a)
            .arg(&b)
            .run()
    };
    // No history yet: that is worth a warning too.
    let run = diff("24h", "json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("has no successful report run"),
        "{}",
        run.stderr
    );
    // A run long ago (the clock of the test is now).
    let r = bpdrift().args(report_args(&fleet, history, T1)).run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run = diff("24h", "json");
    assert_eq!(run.code, 0, "a warning, not a failure: {}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let w = v["stale_history"].as_str().unwrap();
    assert!(
        w.contains(T1) && w.contains("longer than the expected interval of 1d"),
        "{w}"
    );
    assert!(
        run.stderr
            .contains("warning: the fleet report's last successful run"),
        "{}",
        run.stderr
    );
    // Within the interval (T1 is less than ten years ago): nothing said.
    let run = diff("3650d", "json");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(v.get("stale_history").is_none());
    // Both or neither.
    let run = bpdrift().args(["diff", "--history", history, &a, &b]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--expect-every"), "{}", run.stderr);
}

#[test]
fn a_tag_holding_something_else_is_refused_and_left_alone() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:plain-a", "history/fleet:main");
    let dir = tempfile::tempdir().unwrap();
    let fleet = plain_fleet(dir.path(), &reg);
    reg.seed("oci:testdata/images:plain-a", "plain:prod");
    let history = format!("oci://{}/history/fleet:main", reg.addr);
    let run = bpdrift()
        .args(["report", "--fleet"])
        .arg(&fleet)
        .args(["--history", &history])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a bpdrift history"),
        "{}",
        run.stderr
    );
    let bad = bpdrift()
        .args(["history", "--history", "oci://history:main"])
        .run();
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("invalid history location"),
        "{}",
        bad.stderr
    );
}

/// A race made certain: run A reaches the registry through a proxy that, on A's first image
/// request (A has read the history already), lets run B complete a whole report and push. A's
/// push then finds the tag moved, merges B's run, and neither run is lost.
#[test]
fn a_push_that_lost_the_race_merges_and_loses_nothing() {
    use crate::common::proxy::Proxy;
    use std::time::Duration;

    let reg = Registry::start();
    reg.seed("oci:testdata/images:plain-a", "plain:prod");
    let dir = tempfile::tempdir().unwrap();
    let fleet_for = |addr: &str, name: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("[[service]]\nname = \"plain\"\ndeployed = \"{addr}/plain:prod\"\n"),
        )
        .unwrap();
        path
    };
    let direct = fleet_for(&reg.addr, "direct.toml");
    let history_b = format!("oci://{}/history/fleet:main", reg.addr);
    // One run before, so both racers start from an existing artifact.
    let first = bpdrift().args(report_args(&direct, &history_b, T1)).run();
    assert_eq!(first.code, 0, "{}", first.stderr);

    let b_stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b_out = b_stderr.clone();
    let (direct_b, history) = (direct.clone(), history_b.clone());
    let proxy = Proxy::start(
        &reg.addr,
        Duration::ZERO,
        Box::new(move |method, path, n| {
            if method == "GET" && path == "/v2/plain/manifests/prod" && n == 0 {
                let b = bpdrift()
                    .args(report_args(&direct_b, &history, "2026-11-21T06:00:01Z"))
                    .run();
                *b_out.lock().unwrap() = format!("exit {}: {}", b.code, b.stderr);
            }
            None
        }),
    );
    let via_proxy = fleet_for(&proxy.addr, "proxy.toml");
    let history_a = format!("oci://{}/history/fleet:main", proxy.addr);
    let a = bpdrift()
        .args(report_args(&via_proxy, &history_a, T2))
        .run();
    let b = b_stderr.lock().unwrap().clone();
    assert!(b.starts_with("exit 0: "), "run B: {b}");
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert!(
        a.stderr.contains("merged with other runs' pushes once"),
        "{}",
        a.stderr
    );

    let v = history_json(&reg, &history_b);
    let mut seen: Vec<String> = observations(&v, "plain")
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [T1, T2, "2026-11-21T06:00:01Z"],
        "all three runs on record"
    );
}

/// `sbom = true` with the history in the registry: the packages the first run recorded come
/// back from the artifact in the next run's fresh `$HOME`, and name what moved since.
#[test]
fn packages_recorded_in_the_artifact_come_back_the_next_run() {
    let reg = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let history = format!("oci://{}/history/packages:main", reg.addr);
    let fleet = |name: &str, image: &str| {
        let f = dir.path().join(name);
        std::fs::write(
            &f,
            format!("[[service]]\nname = \"shop\"\nsbom = true\ndeployed = \"oci:testdata/images:{image}\"\n"),
        )
        .unwrap();
        f
    };
    let (code, _, stderr) = report(&fleet("a.toml", "sbom-before"), &reg, &history, T1);
    assert_eq!(code, 0, "{stderr}");
    let (code, v, stderr) = report(&fleet("b.toml", "sbom-after"), &reg, &history, T2);
    assert!(code <= 1, "{stderr}");
    let since = &v["services"][0]["since_last_run"][0];
    let groups = since["packages"]["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{since}"));
    let run_image = groups
        .iter()
        .find(|g| g["location"] == "run-image")
        .unwrap();
    assert_eq!(run_image["changed"], 3, "{run_image}");
    let h = history_json(&reg, &history);
    let obs = h["services"][0]["observations"].as_array().unwrap();
    assert!(
        obs.iter()
            .all(|o| o["snapshot"]["packages"]["groups"].is_array()),
        "each digest's packages, once: {h}"
    );
}

/// Thirty runs that saw nothing new: each appends a layer of its own small rows (the images
/// were stored by the first), merges keep the layer count bounded, and the history holds what
/// the runs wrote, nothing twice.
#[test]
fn thirty_unchanged_runs_grow_the_artifact_by_their_own_rows() {
    let reg = Registry::start();
    let services = ["cart", "search", "billing"];
    let mut toml = String::new();
    for s in services {
        reg.seed("oci:testdata/images:plain-a", &format!("{s}:prod"));
        toml.push_str(&format!(
            "[[service]]\nname = \"{s}\"\ndeployed = \"{}\"\n",
            reg.image(&format!("{s}:prod"))
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(&fleet, toml).unwrap();
    let history = format!("oci://{}/history/fleet:main", reg.addr);
    let mut appended = Vec::new();
    for i in 0..30 {
        let now = format!("2026-11-{:02}T06:00:00Z", i + 1);
        let run = bpdrift().args(report_args(&fleet, &history, &now)).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        // `appended a layer of N bytes, M inflated`
        let tail = run
            .stderr
            .split("appended a layer of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{}", run.stderr));
        let mut words = tail
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty());
        let gz: u64 = words.next().unwrap().parse().unwrap();
        let raw: u64 = words.next().unwrap().parse().unwrap();
        appended.push((gz, raw));
    }
    let unchanged: u64 = appended[1..].iter().map(|(gz, _)| gz).sum();
    let per_service = unchanged as f64 / 29.0 / services.len() as f64;
    // A layer's own overhead (gzip header, the run's line) is shared by a fleet's services;
    // three services carry it here.
    assert!(
        per_service <= 200.0,
        "an unchanged run appends {per_service:.0} bytes per service: {appended:?}"
    );
    // What the artifact holds, inflated, against what the runs appended.
    let out = dir.path().join("artifact");
    let copy = Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{}/history/fleet:main", reg.addr))
        .arg(format!("dir:{}", out.display()))
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let layers = m["layers"].as_array().unwrap();
    assert!(layers.len() <= 17, "merged: {} layers", layers.len());
    let mut total = 0u64;
    for l in layers {
        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(out.join(hex)).unwrap()),
            &mut text,
        )
        .unwrap();
        total += text.len() as u64;
    }
    let rows: u64 = appended.iter().map(|(_, raw)| raw).sum();
    let ratio = total as f64 / rows as f64;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "the history holds {total} bytes, the runs wrote {rows}: {ratio:.2}"
    );
    let v = history_json(&reg, &history);
    assert_eq!(observations(&v, "search").len(), 30);
}
