//! The scheduled fleet report against the real registry: history across runs, moved tags, a
//! deleted rollback target, partial failure, the missed-run alarm, and the HTML page rendered in
//! headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{Registry, bpdrift, free_port};

const T1: &str = "2026-11-20T06:00:00Z";
const T2: &str = "2026-11-21T06:00:00Z";

struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    /// A fleet of one service deploying `image`.
    fn one(name: &str, image: &str) -> Self {
        Self::new(&format!(
            "[[service]]\nname = \"{name}\"\ndeployed = \"{image}\"\n"
        ))
    }
    fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fleet.toml"), toml).unwrap();
        Self { dir }
    }
    fn file(&self) -> PathBuf {
        self.dir.path().join("fleet.toml")
    }
    fn history(&self) -> PathBuf {
        self.dir.path().join("history.sqlite")
    }
    fn run(&self, now: &str, extra: &[&str]) -> (i32, Value, String) {
        let mut args = vec![
            "report".to_string(),
            "--fleet".into(),
            self.file().display().to_string(),
            "--history".into(),
            self.history().display().to_string(),
            "--format".into(),
            "json".into(),
            "--now".into(),
            now.into(),
            "--no-cache".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let run = bpdrift().args(args).run();
        let v = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
        (run.code, v, run.stderr)
    }
}

fn service<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

fn delete_manifest(reg: &Registry, repo: &str, digest: &str) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w"])
        .arg("%{http_code}")
        .args(["-X", "DELETE"])
        .arg(format!("http://{}/v2/{repo}/manifests/{digest}", reg.addr))
        .output();
    let code = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => delete_with_std(reg, repo, digest),
    };
    assert_eq!(code, "202", "DELETE {repo}@{digest}");
}

/// The registry API call without curl.
fn delete_with_std(reg: &Registry, repo: &str, digest: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&reg.addr).unwrap();
    write!(
        s,
        "DELETE /v2/{repo}/manifests/{digest} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        reg.addr
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// The fleet of the report tests (see [`Registry::seed_fleet`]), seeded.
fn fleet_toml(reg: &Registry) -> String {
    reg.seed_fleet("[defaults]\nrollback-targets = 3\n")
}

#[test]
fn two_runs_record_drift_moved_tags_and_a_vanished_rollback_target() {
    let reg = Registry::start();
    let fleet = Fleet::new(&fleet_toml(&reg));

    let (code, first, stderr) = fleet.run(T1, &[]);
    assert_eq!(code, 0, "{stderr}");
    let checkout = service(&first, "checkout");
    assert_eq!(checkout["status"], "info", "{checkout:#}");
    assert_eq!(checkout["drift"][0]["from"], "deployed");
    assert!(
        checkout["drift"][0]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("rebuild (BUILDPACK): 4 buildpacks changed")
    );
    assert!(
        checkout["since_last_run"].as_array().unwrap().is_empty(),
        "first run"
    );
    let good = checkout["images"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // The deploy: prod moves to the candidate, plain moves too; then the old prod digest is
    // deleted by a clean-up policy.
    reg.seed("oci:testdata/images:incident-bad", "checkout:prod");
    reg.seed("oci:testdata/images:plain-b", "plain:prod");
    delete_manifest(&reg, "checkout", &good);

    let (code, second, stderr) = fleet.run(T2, &[]);
    assert_eq!(code, 1, "a vanished rollback target is an error: {stderr}");
    let checkout = service(&second, "checkout");
    assert_eq!(checkout["status"], "error");
    let since = &checkout["since_last_run"][0];
    assert_eq!(since["role"], "deployed");
    assert_eq!(since["previous_digest"], good.as_str());
    let moved: Vec<(String, String)> = since["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == "buildpack")
        .map(|c| {
            (
                c["subject"].as_str().unwrap().to_string(),
                c["after"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        vec![
            (
                "paketo-buildpacks/bellsoft-liberica".into(),
                "10.2.4".into()
            ),
            ("paketo-buildpacks/syft".into(), "1.31.0".into()),
            ("paketo-buildpacks/dist-zip".into(), "5.6.3".into()),
            ("paketo-buildpacks/spring-boot".into(), "5.25.2".into()),
        ]
    );
    assert!(
        checkout["drift"][0]["changes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "prod = main now"
    );
    let rollback = &checkout["rollback"];
    assert_eq!(rollback.as_array().unwrap().len(), 1, "{rollback:#}");
    assert_eq!(rollback[0]["status"], "vanished");
    assert!(rollback[0]["reference"].as_str().unwrap().ends_with(&good));
    assert!(
        checkout["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "rollback-target-vanished" && f["severity"] == "error")
    );
    let plain = service(&second, "plain");
    let labels: Vec<&str> = plain["since_last_run"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["repo2docker.version"], "{plain:#}");
    assert_eq!(plain["rollback"][0]["status"], "present");
    assert_eq!(second["previous_run"], T1);
    assert_eq!(second["summary"]["vanished_rollback_targets"], 1);

    // What ran when.
    let run = bpdrift()
        .args(["history", "checkout", "--history"])
        .arg(fleet.history())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(T1) && run.stdout.contains(T2),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&good),
        "the deleted digest is still on record"
    );
    assert!(
        run.stdout
            .contains("paketo-buildpacks/bellsoft-liberica@10.2.3")
    );
    assert!(
        run.stdout
            .contains("paketo-buildpacks/bellsoft-liberica@10.2.4")
    );
    let json = bpdrift()
        .args(["history", "--format", "json", "--history"])
        .arg(fleet.history())
        .run();
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 2, "both services");
    assert_eq!(
        v["services"][0]["observations"].as_array().unwrap().len(),
        4,
        "2 runs × 2 roles"
    );
}

#[test]
fn one_unreachable_image_does_not_hide_the_others() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:plain-a", "plain:prod");
    let dead = format!("127.0.0.1:{}", free_port());
    let fleet = Fleet::new(&format!(
        r#"
[[service]]
name = "gone"
deployed = "{dead}/app:prod"

[[service]]
name = "plain"
deployed = "{}/plain:prod"
"#,
        reg.addr
    ));
    let (code, v, stderr) = fleet.run(T1, &[]);
    assert_eq!(code, 2);
    assert_eq!(service(&v, "gone")["status"], "failed");
    let err = service(&v, "gone")["images"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("cannot reach registry") && err.contains(&dead),
        "{err}"
    );
    assert_eq!(service(&v, "plain")["status"], "ok");
    assert_eq!(v["summary"]["fetch_errors"], 1);
    assert!(
        stderr.contains("service `gone`") && stderr.contains("could not be fetched"),
        "{stderr}"
    );
    // Recorded anyway, error included.
    let run = bpdrift()
        .args(["history", "gone", "--history"])
        .arg(fleet.history())
        .run();
    assert!(
        run.stdout.contains("error: cannot reach registry"),
        "{}",
        run.stdout
    );
}

#[test]
fn missed_run_alarm() {
    let fleet = Fleet::new(LOCAL_FLEET);
    // Relative references in a fleet file resolve from the working directory (the repo root).
    let (code, _, _) = fleet.run(T1, &["--expect-every", "24h"]);
    assert_eq!(code, 0, "the first run has nothing to compare with");
    let (code, v, _) = fleet.run("2026-11-20T07:00:00Z", &["--expect-every", "24h"]);
    assert_eq!(code, 0);
    assert!(v["alarm"].is_null());
    let (code, v, stderr) = fleet.run("2026-11-22T09:30:00Z", &["--expect-every", "24h"]);
    assert_eq!(code, 1, "a stale previous run alarms");
    let alarm = v["alarm"].as_str().unwrap();
    assert!(
        alarm.contains("2d 2h 30m") && alarm.contains("missed"),
        "{alarm}"
    );
    assert!(stderr.contains("missed run"), "{stderr}");
    let md = bpdrift()
        .args(["report", "--fleet"])
        .arg(fleet.file())
        .args(["--history"])
        .arg(fleet.history())
        .args(["--now", "2026-11-25T09:30:00Z", "--expect-every", "1d"])
        .run();
    assert_eq!(md.code, 1);
    let first_lines: Vec<&str> = md.stdout.lines().take(3).collect();
    assert!(
        first_lines.iter().any(|l| l.contains("Missed run")),
        "the alarm comes first: {first_lines:?}"
    );
}

#[test]
fn fleet_file_mistakes_are_reported_with_positions() {
    let fleet = Fleet::new(
        r#"[defaults]
fail-on = "loud"

[[service]]
name = "x"
deployed = "UPPER/case:1"
colour = "blue"
"#,
    );
    let run = bpdrift()
        .args(["report", "--fleet"])
        .arg(fleet.file())
        .args(["--history"])
        .arg(fleet.history())
        .run();
    assert_eq!(run.code, 2);
    for pos in ["fleet.toml:2:11", "fleet.toml:6:12", "fleet.toml:7:1"] {
        assert!(run.stderr.contains(pos), "{pos}: {}", run.stderr);
    }
    assert!(run.stderr.contains("3 problems in the fleet file"));
    assert!(
        !fleet.history().exists(),
        "nothing recorded for an invalid fleet"
    );
}

fn chromium(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("chromium")
        .args("--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking --disable-component-update --disable-sync --no-first-run --hide-scrollbars".split(' '))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .output()
        .expect("chromium must be installed: scripts/test.sh installs it with apt-get")
}

/// A page that shows the report in a frame `width` px wide (Chromium's windows are at least
/// 500 px wide, a phone is 390) and writes, once it loaded, the report's scroll width, its
/// viewport width and its first service row into the DOM. The report itself has no script.
fn probe(report: &Path, width: u32) -> String {
    format!(
        r#"<!doctype html><html><body style="margin:0"><iframe id="f" src="{}" style="width:{width}px;height:1600px;border:0" onload="
const d = this.contentDocument, w = this.contentWindow;
const row = d.querySelector('#services tbody tr');
const sections = [...d.querySelectorAll('section.service')];
document.getElementById('measure').textContent = JSON.stringify({{
  scroll: d.documentElement.scrollWidth, inner: w.innerWidth, first: row && row.dataset.service,
  widest: Math.max(...sections.map(s => s.scrollWidth - s.clientWidth)),
}});"></iframe><pre id="measure"></pre></body></html>"#,
        report.file_name().unwrap().to_str().unwrap()
    )
}

#[test]
fn html_report_renders_in_chromium() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:plain-b", "plain:nightly");
    // A service whose image is not there, listed last: it must come first.
    let toml = format!(
        "{}\n[[service]]\nname = \"plain\"\ndeployed = \"{r}/plain:prod\"\nimages = {{ nightly = \"{r}/plain:nightly\" }}\n\n[[service]]\nname = \"zz-gone\"\ndeployed = \"{r}/gone:prod\"\n",
        fleet_toml(&reg).replace(
            &format!(
                "\n[[service]]\nname = \"plain\"\ndeployed = \"{}/plain:prod\"\n",
                reg.addr
            ),
            ""
        ),
        r = reg.addr
    );
    let fleet = Fleet::new(&toml);
    fleet.run(T1, &[]);
    // A run that changes nothing adds no timeline row; the deploy adds one.
    fleet.run("2026-11-20T18:00:00Z", &[]);
    reg.seed("oci:testdata/images:incident-bad", "checkout:prod");
    let html = fleet.dir.path().join("report.html");
    let run = bpdrift()
        .args(["report", "--format", "html", "--no-cache", "--now"])
        .arg(T2)
        .arg("--fleet")
        .arg(fleet.file())
        .arg("--history")
        .arg(fleet.history())
        .arg("--out")
        .arg(&html)
        .run();
    assert_eq!(run.code, 2, "a failed service: {}", run.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: no external asset of any kind.
    for needle in ["<script", "<link", "src=\"http", "url(http", "@import"] {
        assert!(!page.contains(needle), "external asset: {needle}");
    }
    // One column per role the fleet uses.
    assert!(
        page.contains("<th>deployed</th><th>candidate</th><th>nightly</th>"),
        "{page}"
    );

    let dir = fleet.dir.path();
    let url = format!("file://{}", html.display());
    let dom = chromium(&["--dump-dom", &url], dir);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(r#"<tr data-service="checkout" data-status="info">"#),
        "{dom}"
    );
    assert!(dom.contains(r#"<tr data-service="plain" data-status="#));
    assert!(dom.contains(r#"id="svc-checkout""#));
    // The timeline: one row per change, with the moved buildpack highlighted.
    let checkout = dom
        .split(r#"id="svc-checkout""#)
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    let rows = checkout.matches("<tr data-role=\"deployed\"").count();
    assert_eq!(
        rows,
        1 + 2,
        "images table row + one timeline row per change: {checkout}"
    );
    assert!(checkout.contains(T1) && checkout.contains(T2));
    let timeline = checkout.split("class=\"timeline\"").nth(1).unwrap();
    assert!(
        !timeline.contains("2026-11-20T18:00:00Z"),
        "an unchanged run adds no row: {timeline}"
    );
    assert!(dom.contains(r#"<td class="changed">10.2.4</td>"#), "{dom}");

    // Laid out at a laptop's and a phone's width: nothing wider than the page, the failed
    // service first.
    let shots = tempfile::tempdir().unwrap();
    for width in [1280u32, 390] {
        let probe_page = dir.join(format!("probe-{width}.html"));
        std::fs::write(&probe_page, probe(&html, width)).unwrap();
        let probe_url = format!("file://{}", probe_page.display());
        let window = format!("--window-size={},1600", width.max(500));
        let out = chromium(
            &[
                "--allow-file-access-from-files",
                &window,
                "--dump-dom",
                &probe_url,
            ],
            dir,
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        let json = dom
            .split("<pre id=\"measure\">")
            .nth(1)
            .and_then(|s| s.split("</pre>").next())
            .unwrap_or_else(|| panic!("not measured at {width}: {dom}"));
        let m: Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
        assert_eq!(m["inner"], width, "{m}");
        assert!(
            m["scroll"].as_u64().unwrap() <= width as u64,
            "the page overflows at {width} px: {m}"
        );
        assert!(
            m["widest"].as_i64().unwrap() <= 0,
            "a service section is wider than its card at {width} px: {m}"
        );
        assert_eq!(m["first"], "zz-gone", "the failed service first: {m}");

        let png = shots.path().join(format!("report-{width}.png"));
        let shot = chromium(
            &[
                "--allow-file-access-from-files",
                &format!("--screenshot={}", png.display()),
                &window,
                &probe_url,
            ],
            dir,
        );
        assert!(
            shot.status.success(),
            "{}",
            String::from_utf8_lossy(&shot.stderr)
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.len() > 1000, "an empty screenshot at {width}");
        assert_eq!(&bytes[1..4], b"PNG");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        assert_eq!(w, width.max(500));
        if let Ok(keep) = std::env::var("BPDRIFT_KEEP_SCREENSHOT") {
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::copy(&png, Path::new(&keep).join(png.file_name().unwrap())).unwrap();
            std::fs::copy(&html, Path::new(&keep).join("report.html")).unwrap();
        }
    }
}

#[test]
fn overlapping_runs_share_the_history_safely() {
    let fleet = Fleet::one("local", "oci:testdata/images:incident-good");
    let spawn = |now: &str| {
        Command::new(env!("CARGO_BIN_EXE_bpdrift"))
            .current_dir(crate::common::root())
            .env_clear()
            .env("HOME", fleet.dir.path())
            .args(["report", "--format", "json", "--no-cache", "--now"])
            .arg(now)
            .arg("--fleet")
            .arg(fleet.file())
            .arg("--history")
            .arg(fleet.history())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Eight runs at once against one fresh database: the first ones also migrate it.
    let children: Vec<_> = (0..8)
        .map(|i| spawn(&format!("2026-11-20T06:0{i}:00Z")))
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = bpdrift()
        .args(["history", "local", "--format", "json", "--history"])
        .arg(fleet.history())
        .run();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v["services"][0]["observations"].as_array().unwrap().len(),
        8,
        "every run recorded once"
    );
}

#[test]
fn report_formats_snapshots() {
    use insta::assert_snapshot;
    let fleet = Fleet::new(&format!(
        "{LOCAL_FLEET}\n[[service]]\nname = \"notebook\"\ndeployed = \"oci:testdata/images:plain-a\"\n"
    ));
    fleet.run(T1, &[]);
    let settings = crate::common::settings(&[(r"/tmp/\.tmp[A-Za-z0-9]+/fleet\.toml", "[FLEET]")]);
    for (format, name) in [("markdown", "report_markdown"), ("html", "report_html")] {
        let run = bpdrift()
            .args(["report", "--no-cache", "--now"])
            .arg(T2)
            .arg("--format")
            .arg(format)
            .arg("--fleet")
            .arg(fleet.file())
            .arg("--history")
            .arg(fleet.history())
            .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        settings.bind(|| assert_snapshot!(name, run.stdout));
    }
    let run = bpdrift()
        .args(["history", "--history"])
        .arg(fleet.history())
        .run();
    settings.bind(|| assert_snapshot!("history_table", run.stdout));
    let run = bpdrift()
        .args([
            "inspect",
            "oci:testdata/images:incident-good",
            "oci:testdata/images:heroku",
        ])
        .run();
    assert_eq!(run.code, 0);
    settings.bind(|| assert_snapshot!("inspect_table", run.stdout));
}

/// Requests as a monitor saw them: (method, target, body).
type Pings = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A loopback server that records every request's method, target and body (a heartbeat
/// monitor).
fn recorder() -> (crate::common::http::Server, Pings) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = crate::common::http::Server::start(move |stream| {
        let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
        if let Some(req) = crate::common::http::read_request(&mut reader) {
            log.lock().unwrap().push((
                req.method.clone(),
                req.target.clone(),
                String::from_utf8_lossy(&req.body).into_owned(),
            ));
            let mut s = stream;
            let _ = crate::common::http::write_response(&mut s, 200, &[], b"OK");
        }
    });
    (server, seen)
}

const LOCAL_FLEET: &str = r#"
[[service]]
name = "local"
deployed = "oci:testdata/images:incident-good"
candidate = "oci:testdata/images:incident-bad"
"#;

/// `start?rid=R`, then `/<exit status>?rid=R` with the summary: (paths, rid, body).
fn pings(seen: &[(String, String, String)]) -> (Vec<String>, String, String) {
    assert_eq!(seen.len(), 2, "{seen:?}");
    let rid = seen[0]
        .1
        .split_once("?rid=")
        .map(|(_, r)| r.to_string())
        .unwrap_or_else(|| panic!("no rid: {seen:?}"));
    assert_eq!(rid.len(), 36, "a UUID: {rid}");
    let paths = seen
        .iter()
        .map(|(m, t, _)| {
            assert_eq!(m, "POST");
            assert!(
                t.ends_with(&format!("?rid={rid}")),
                "the same rid: {seen:?}"
            );
            t.split('?').next().unwrap().to_string()
        })
        .collect();
    (paths, rid, seen[1].2.clone())
}

#[test]
fn heartbeat_pings_start_then_the_exit_status_with_the_summary() {
    let (server, seen) = recorder();
    let url = format!("http://{}/ping/s3cret-key", server.addr);
    let fleet = Fleet::new(LOCAL_FLEET);
    let (code, _, stderr) = fleet.run(T1, &["--heartbeat", &url, "-vv"]);
    assert_eq!(code, 0, "{stderr}");
    let (paths, rid, body) = pings(&seen.lock().unwrap());
    assert_eq!(paths, ["/ping/s3cret-key/start", "/ping/s3cret-key/0"]);
    assert!(
        body.contains("1 service, 2 images, 0 not fetched"),
        "{body}"
    );
    assert!(body.ends_with("exit status 0"), "{body}");
    assert!(!stderr.contains("s3cret"), "the URL is a secret: {stderr}");
    // Each run its own id.
    seen.lock().unwrap().clear();
    fleet.run(T2, &["--heartbeat", &url]);
    assert_ne!(pings(&seen.lock().unwrap()).1, rid);

    // An image that cannot be read: the run exits 2 and the monitor hears `2` and why.
    seen.lock().unwrap().clear();
    let broken = Fleet::one("gone", "oci:testdata/no-such-layout:x");
    let (code, _, stderr) = broken.run(T1, &["--heartbeat", &url]);
    assert_eq!(code, 2, "{stderr}");
    let (paths, _, body) = pings(&seen.lock().unwrap());
    assert_eq!(paths, ["/ping/s3cret-key/start", "/ping/s3cret-key/2"]);
    assert!(
        body.contains("`oci:testdata/no-such-layout:x` could not be fetched"),
        "{body}"
    );
    // The body is cut to the monitor's limit, keeping its end (the outcome).
    seen.lock().unwrap().clear();
    broken.run(T2, &["--heartbeat", &url, "--heartbeat-body-limit", "60"]);
    let (_, _, body) = pings(&seen.lock().unwrap());
    assert!(
        body.len() <= 60 && body.ends_with("exit status 2"),
        "{body}"
    );

    // A monitor that is down costs a warning, never the run.
    let dead = format!("http://127.0.0.1:{}/ping/x", free_port());
    let (code, _, stderr) = fleet.run(T2, &["--heartbeat", &dead]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("heartbeat was not delivered"), "{stderr}");
}

#[test]
fn a_hung_monitor_costs_bounded_time_and_a_warning() {
    // Accepts, reads the request, never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = hung.local_addr().unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in hung.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let fleet = Fleet::new(LOCAL_FLEET);
    let started = std::time::Instant::now();
    let (code, _, stderr) = fleet.run(
        T1,
        &[
            "--heartbeat",
            &format!("http://{addr}/ping/x"),
            "--heartbeat-timeout",
            "2s",
        ],
    );
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(8),
        "start (while the run goes on) and end cost 2 s each at most: {took:?}"
    );
    assert!(
        stderr.contains("the heartbeat was not delivered: no answer within 2 s"),
        "{stderr}"
    );
}

fn promtool(args: &[&str], stdin: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new("promtool");
    cmd.args(args);
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    cmd.output()
        .expect("promtool (Debian package prometheus) is installed by scripts/test.sh")
}

#[test]
fn metrics_file_passes_promtool_and_names_every_service() {
    let fleet = Fleet::new(LOCAL_FLEET);
    let metrics = fleet.dir.path().join("bpdrift.prom");
    let m = metrics.display().to_string();
    let (code, _, stderr) = fleet.run(T1, &["--metrics", &m]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("wrote"), "{stderr}");
    let out = promtool(&["check", "metrics"], Some(&metrics));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    // 2026-11-20T06:00:00Z
    assert!(
        text.contains("bpdrift_report_last_success_timestamp_seconds 1795154400"),
        "{text}"
    );
    assert!(text.contains("bpdrift_images_failed 0"), "{text}");
    // The pair's highest finding is info (the syft and libjvm notes): that status is 1, the
    // others 0.
    assert!(
        text.contains("bpdrift_service_status{service=\"local\",status=\"info\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bpdrift_service_status{service=\"local\",status=\"ok\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("bpdrift_rollback_targets_missing{service=\"local\"} 0"),
        "{text}"
    );

    // A failed run keeps the last success of the run before it: the alert measures its age.
    let broken = format!(
        "{LOCAL_FLEET}\n[[service]]\nname = \"gone\"\ndeployed = \"oci:testdata/no-such-layout:x\"\n"
    );
    std::fs::write(fleet.file(), broken).unwrap();
    let (code, _, _) = fleet.run(T2, &["--metrics", &m]);
    assert_eq!(code, 2);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("bpdrift_report_last_success_timestamp_seconds 1795154400"),
        "{text}"
    );
    assert!(text.contains("bpdrift_images_failed 1"), "{text}");
}

#[test]
fn the_documented_alert_passes_promtool() {
    let doc = std::fs::read_to_string(crate::common::root().join("docs/report.md")).unwrap();
    let rules = doc
        .split("```yaml")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("docs/report.md has a ```yaml alert rule block");
    assert!(
        rules.contains("time() - bpdrift_report_last_success_timestamp_seconds > 26 * 3600"),
        "{rules}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bpdrift.rules.yml");
    std::fs::write(&file, rules).unwrap();
    let out = promtool(&["check", "rules", &file.display().to_string()], None);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real Pushgateway (Debian's prometheus-pushgateway) on a free loopback port, stopped on drop.
struct Pushgateway {
    child: std::process::Child,
    url: String,
}

impl Pushgateway {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("prometheus-pushgateway")
            .args([
                &format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=error",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus-pushgateway is installed by scripts/test.sh");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, url }
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pushgateway_serves_the_pushed_series() {
    let gw = Pushgateway::start();
    let fleet = Fleet::new(LOCAL_FLEET);
    let (code, _, stderr) = fleet.run(T1, &["--pushgateway", &gw.url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("not delivered"), "{stderr}");
    let scrape = || {
        let addr = gw.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    let body = scrape();
    for series in [
        "bpdrift_images_failed{instance=\"\",job=\"bpdrift\"} 0",
        "bpdrift_report_last_success_timestamp_seconds{instance=\"\",job=\"bpdrift\"} 1.7951544e+09",
        "bpdrift_rollback_targets_missing{instance=\"\",job=\"bpdrift\",service=\"local\"} 0",
    ] {
        assert!(body.contains(series), "{series} not in:\n{body}");
    }
    // A failed run a day later updates its series, and leaves the success time alone: the
    // staleness alert sees the last success age.
    let broken =
        Fleet::new("[[service]]\nname = \"local\"\ndeployed = \"oci:testdata/no-such-layout:x\"\n");
    let (code, _, stderr) = broken.run(T2, &["--pushgateway", &gw.url]);
    assert_eq!(code, 2, "{stderr}");
    let body = scrape();
    for series in [
        "bpdrift_images_failed{instance=\"\",job=\"bpdrift\"} 1",
        "bpdrift_report_last_success_timestamp_seconds{instance=\"\",job=\"bpdrift\"} 1.7951544e+09",
    ] {
        assert!(body.contains(series), "{series} not in:\n{body}");
    }
}

#[test]
fn progress_is_shown_on_a_terminal_only() {
    let reg = Registry::start();
    let fleet = Fleet::new(&fleet_toml(&reg));
    // Not a terminal (CI logs): nothing but the report.
    let (code, _, stderr) = fleet.run(T1, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "", "a quiet run off a terminal");

    // A terminal (`script` gives the run a pseudo-terminal): the bar with its ETA.
    let out = fleet.dir.path().join("report.md");
    let home = tempfile::tempdir().unwrap();
    let cmdline = format!(
        "{} report --no-cache --now {T2} --fleet {} --history {} --out {}",
        env!("CARGO_BIN_EXE_bpdrift"),
        fleet.file().display(),
        fleet.history().display(),
        out.display()
    );
    let run = Command::new("script")
        .args(["-qefc", &cmdline, "/dev/null"])
        .env_clear()
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("script (util-linux) must be installed");
    let shown = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{shown}");
    assert!(shown.contains("images fetched"), "{shown}");
    assert!(shown.contains("ETA"), "{shown}");
    assert!(
        shown.contains("0/3 images fetched"),
        "drawn before the first image completes: {shown}"
    );
    assert!(
        shown.contains(&format!("wrote {}", out.display())),
        "{shown}"
    );
}

/// A history written by the release before content-addressed histories (testdata/history,
/// see its .source) is migrated in place on first open, and reads as that release read it.
#[test]
fn a_history_of_the_previous_release_is_migrated_in_place() {
    let fleet = Fleet::one("notebook", "oci:testdata/images:plain-b");
    std::fs::copy(
        crate::common::root().join("testdata/history/v3.sqlite"),
        fleet.history(),
    )
    .unwrap();
    let before = std::fs::metadata(fleet.history()).unwrap().len();
    let (code, v, stderr) = fleet.run("2026-11-22T06:00:00Z", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["previous_run"], "2026-11-21T06:00:00Z", "{stderr}");
    // Same digest as the last run of the old file: nothing moved since.
    assert_eq!(service(&v, "notebook")["status"], "ok");
    let run = bpdrift()
        .args(["history", "--format", "json", "--history"])
        .arg(fleet.history())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let now: Value = serde_json::from_str(&run.stdout).unwrap();
    let then: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::root().join("testdata/history/v3.history.json"))
            .unwrap(),
    )
    .unwrap();
    // What the old release recorded reads back the same (the model's newer fields aside).
    let key = |o: &Value| {
        (
            o["observed_at"].to_string(),
            o["role"].to_string(),
            o["reference"].to_string(),
            o["digest"].to_string(),
            o["error"].to_string(),
            o["snapshot"]["buildpacks"].to_string(),
            o["snapshot"]["packages"].to_string(),
        )
    };
    for old in then.as_array().unwrap() {
        let name = &old["service"];
        let new = now["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| &s["service"] == name)
            .unwrap_or_else(|| panic!("{name} lost"));
        let old_obs: Vec<_> = old["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        let new_obs: Vec<_> = new["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(new_obs[..old_obs.len()], old_obs[..], "{name}");
    }
    // Migrated in place: each image stored once (the old file had a snapshot per row), the
    // file compacted.
    let c = rusqlite::Connection::open(fleet.history()).unwrap();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(DISTINCT digest) FROM images"), 6);
    // plain-b once as the old release described it, once as this one does.
    assert!(count("SELECT COUNT(*) FROM images") <= 7);
    assert_eq!(count("SELECT COUNT(*) FROM sightings"), 11);
    assert_eq!(count("PRAGMA user_version"), 4);
    let after = std::fs::metadata(fleet.history()).unwrap().len();
    assert!(after <= before + 8 * 4096, "{before} → {after}");
}

/// A run dated in the future (a wrong clock, or a hand-edit) is refused on write and left out
/// on read, named in a warning: it never makes a stopped schedule look alive.
#[test]
fn a_forged_future_run_is_refused_and_named_and_the_alarm_still_fires() {
    let fleet = Fleet::new(LOCAL_FLEET);
    let (code, _, stderr) = fleet.run(T1, &[]);
    assert_eq!(code, 0, "{stderr}");
    let run = bpdrift()
        .args([
            "report",
            "--now",
            "2099-01-01T00:00:00Z",
            "--no-cache",
            "--fleet",
        ])
        .arg(fleet.file())
        .arg("--history")
        .arg(fleet.history())
        .run();
    run.assert_error("refusing to record a run dated 2099-01-01T00:00:00Z");
    // The same by hand, straight into the file.
    let c = rusqlite::Connection::open(fleet.history()).unwrap();
    c.execute(
        "INSERT INTO runs (started_at, finished_at, status, fleet, uid)
         VALUES ('2099-01-01T00:00:00Z', '2099-01-01T00:00:01Z', 'ok', 'x', 'f0f0forged')",
        [],
    )
    .unwrap();
    drop(c);
    let (code, v, stderr) = fleet.run(T2, &["--expect-every", "1h"]);
    assert_eq!(code, 1, "the alarm fires: {stderr}");
    assert_eq!(v["previous_run"], T1);
    assert!(v["alarm"].as_str().unwrap().contains(T1), "{v}");
    assert!(
        stderr.contains("run `f0f0forged` is dated 2099-01-01T00:00:00Z, in the future"),
        "{stderr}"
    );
    // And a pull request's diff still sees the schedule stopped.
    let run = bpdrift()
        .args([
            "diff",
            "--format",
            "json",
            "--expect-every",
            "24h",
            "--history",
        ])
        .arg(fleet.history())
        .args([
            "oci:testdata/images:incident-good",
            "oci:testdata/images:incident-bad",
        ])
        .run();
    assert!(run.code <= 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: the fleet report's last successful run"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("f0f0forged"), "{}", run.stderr);
}

/// A history in WAL mode that another user may read but not write (its directory included):
/// that user reads it.
#[test]
fn a_wal_history_reads_as_another_user_who_cannot_write() {
    use std::os::unix::fs::PermissionsExt as _;
    let fleet = Fleet::new(LOCAL_FLEET);
    let (code, _, stderr) = fleet.run(T1, &[]);
    assert_eq!(code, 0, "{stderr}");
    let dir = fleet.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(fleet.history(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mode: String = rusqlite::Connection::open(fleet.history())
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = bin.path().join("bpdrift");
    std::fs::copy(env!("CARGO_BIN_EXE_bpdrift"), &exe).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(&exe)
        .args(["history", "local", "--format", "json", "--history"])
        .arg(fleet.history())
        .env_clear()
        .env("HOME", "/nonexistent")
        .current_dir(bin.path())
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["services"][0]["observations"].as_array().unwrap().len(),
        2
    );
    // Nothing was written by the reader.
    assert!(!dir.join("history.sqlite-shm").exists());
}
