//! `bpdrift diff` against a real registry (Debian's docker-registry on loopback), seeded from the
//! shipped layouts with skopeo: results equal the layout diff, the request budget holds, and
//! registry errors are clear and leak no secret.

use std::time::{Duration, Instant};

use base64::Engine as _;
use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{PASSWORD, Registry, USER, bpdrift, free_port, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

fn diff_json(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let run = bpdrift().args(all).run();
    let v = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.code, v, run.stderr)
}

/// The report without what legitimately differs between sources.
fn comparable(mut v: Value) -> Value {
    for side in ["before", "after"] {
        let s = v[side].as_object_mut().unwrap();
        s.remove("reference");
        s.remove("transport");
    }
    v
}

#[test]
fn registry_diff_equals_layout_diff_within_the_request_budget() {
    let reg = Registry::start();
    reg.seed(GOOD, "app:good");
    reg.seed(BAD, "app:bad");
    reg.clear_log();

    let (code, from_registry, stderr) = diff_json(&[&reg.image("app:good"), &reg.image("app:bad")]);
    assert_eq!(code, 0, "{stderr}");
    let (_, from_layout, _) = diff_json(&[GOOD, BAD]);
    assert_eq!(comparable(from_registry.clone()), comparable(from_layout));
    assert_eq!(from_registry["before"]["transport"], "registry");

    // Budget: no ping; per image 1 manifest GET and 1 config GET; never a layer blob.
    let reqs = reg.bpdrift_requests();
    let count =
        |pred: &dyn Fn(&crate::common::Request) -> bool| reqs.iter().filter(|r| pred(r)).count();
    assert_eq!(count(&|r| r.path == "/v2/"), 0, "{reqs:#?}");
    assert_eq!(count(&|r| r.path.contains("/manifests/")), 2, "{reqs:#?}");
    assert_eq!(count(&|r| r.path.contains("/blobs/")), 2, "{reqs:#?}");
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    let configs: Vec<&str> = [&from_registry["before"], &from_registry["after"]]
        .iter()
        .map(|s| s["config_digest"].as_str().unwrap())
        .collect();
    for r in reqs.iter().filter(|r| r.path.contains("/blobs/")) {
        assert!(
            configs.iter().any(|c| r.path.ends_with(c)),
            "layer blob fetched: {}",
            r.path
        );
        assert_eq!(r.method, "GET");
    }
}

#[test]
fn registry_multiarch_index_and_digest_references() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:multiarch", "multi:1");
    reg.seed("oci:testdata/images:multiarch-next", "multi:2");
    let (code, v, stderr) = diff_json(&[
        "--platform",
        "linux/arm64/v8",
        &reg.image("multi:1"),
        &reg.image("multi:2"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (_, layout, _) = diff_json(&[
        "--platform",
        "linux/arm64/v8",
        "oci:testdata/images:multiarch",
        "oci:testdata/images:multiarch-next",
    ]);
    assert_eq!(comparable(v.clone()), comparable(layout));
    // By digest (`repo@sha256:…` and `tag@digest`), the same image.
    let digest = v["before"]["digest"].as_str().unwrap();
    let by_digest = format!("{}@{digest}", reg.image("multi"));
    let tag_digest = format!("{}@{digest}", reg.image("multi:1"));
    let (code, d, stderr) = diff_json(&[&by_digest, &tag_digest]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(d["before"]["platform"], "linux/arm64/v8");
    assert!(
        d["summary"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("identical")
    );
}

#[test]
fn missing_tag_and_repository() {
    let reg = Registry::start();
    reg.seed(GOOD, "app:good");
    let run = bpdrift()
        .args(["diff", &reg.image("app:good"), &reg.image("app:nope")])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("repository `app`"), "{}", run.stderr);
    settings(&[]).bind(|| assert_snapshot!("registry_tag_not_found", run.snapshot()));
    let run = bpdrift()
        .args(["diff", &reg.image("app:good"), &reg.image("other/app:1")])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("repository `other/app`"),
        "{}",
        run.stderr
    );
}

#[test]
fn unreachable_registry_fails_fast() {
    let port = free_port();
    let started = Instant::now();
    let run = bpdrift()
        .args([
            "diff",
            &format!("127.0.0.1:{port}/app:1"),
            "oci:testdata/images:incident-good",
        ])
        .run();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("connection"), "{}", run.stderr);
    settings(&[]).bind(|| assert_snapshot!("registry_unreachable", run.snapshot()));
}

fn docker_config(home: &std::path::Path, registry: &str, user: &str, password: &str) {
    let dir = home.join(".docker");
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
}

#[test]
fn basic_auth_from_docker_config() {
    let reg = Registry::start_htpasswd();
    reg.seed(GOOD, "app:good");
    reg.seed(BAD, "app:bad");
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));

    // No credentials at all.
    let run = bpdrift().args(["diff", &good, &bad]).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("requires credentials"),
        "{}",
        run.stderr
    );
    settings(&[]).bind(|| assert_snapshot!("registry_no_credentials", run.snapshot()));

    // Wrong password: rejected, and the password never printed, even at -vv.
    let wrong = "wrong-password-f00d";
    let cmd = bpdrift().args(["-vv", "diff", &good, &bad]);
    docker_config(cmd.home(), &reg.addr, USER, wrong);
    let run = cmd.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("rejected the credentials"),
        "{}",
        run.stderr
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{wrong}"));
    for secret in [wrong, encoded.as_str()] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    let last = run.stderr.lines().last().unwrap_or_default().to_string();
    settings(&[]).bind(|| assert_snapshot!("registry_wrong_credentials", last));

    // Right password, through `DOCKER_CONFIG` this time.
    let dir = tempfile::tempdir().unwrap();
    docker_config(dir.path(), &reg.addr, USER, PASSWORD);
    let run = bpdrift()
        .args(["-vv", "diff", &good, &bad])
        .env("DOCKER_CONFIG", dir.path().join(".docker"))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("4 buildpacks changed"));
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));
}
