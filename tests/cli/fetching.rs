//! Production-grade fetching against the real registry: every credential source, the bearer
//! token flow, retries through a fault-injecting proxy, integrity checks, the on-disk cache and
//! its request budget, `--platform all`.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::common::proxy::{Fault, Proxy};
use crate::common::token::TokenServer;
use crate::common::{PASSWORD, Registry, Request, USER, bpdrift, root};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, v.to_string()).unwrap();
}

fn auths(registry: &str, user: &str, password: &str) -> Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    serde_json::json!({"auths": {registry: {"auth": auth}}})
}

fn fixtures_path() -> String {
    format!(
        "{}:{}",
        root().join("testdata/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn count(reqs: &[Request], pred: impl Fn(&Request) -> bool) -> usize {
    reqs.iter().filter(|r| pred(r)).count()
}

#[test]
fn every_credential_source_authenticates() {
    let reg = Registry::start_htpasswd();
    let (good, bad) = reg.seed_incident_pair();
    let ok = |run: crate::common::Run, source: &str| {
        assert_eq!(run.code, 0, "{source}: {}", run.stderr);
        assert!(run.stdout.contains("4 buildpacks changed"), "{source}");
        assert!(
            !run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD),
            "{source}"
        );
    };

    // 1. --username + --password-stdin.
    let run = bpdrift()
        .args(["diff", "--username", USER, "--password-stdin", &good, &bad])
        .input(format!("{PASSWORD}\n").as_bytes())
        .run();
    ok(run, "--password-stdin");

    // 2. Environment variables.
    let run = bpdrift()
        .args(["diff", &good, &bad])
        .env("BPDRIFT_REGISTRY_USERNAME", USER)
        .env("BPDRIFT_REGISTRY_PASSWORD", PASSWORD)
        .run();
    ok(run, "env");

    // 3a. docker config `auths`.
    let cmd = bpdrift().args(["diff", &good, &bad]);
    write_json(
        &cmd.home().join(".docker/config.json"),
        &auths(&reg.addr, USER, PASSWORD),
    );
    ok(cmd.run(), "auths");

    // 3b. docker config `credsStore` (a helper for every registry).
    let cmd = bpdrift()
        .args(["diff", &good, &bad])
        .env("PATH", fixtures_path())
        .env("BPDRIFT_TEST_HELPER_REGISTRY", &reg.addr);
    write_json(
        &cmd.home().join(".docker/config.json"),
        &serde_json::json!({"credsStore": "bpdrift-test"}),
    );
    ok(cmd.run(), "credsStore");

    // 3c. docker config per-registry `credHelpers`, found through DOCKER_CONFIG.
    let dir = tempfile::tempdir().unwrap();
    write_json(
        &dir.path().join("config.json"),
        &serde_json::json!({"credHelpers": {reg.addr.clone(): "bpdrift-test"}}),
    );
    let run = bpdrift()
        .args(["diff", &good, &bad])
        .env("DOCKER_CONFIG", dir.path())
        .env("PATH", fixtures_path())
        .env("BPDRIFT_TEST_HELPER_REGISTRY", &reg.addr)
        .run();
    ok(run, "credHelpers");

    // 4a. containers auth file through REGISTRY_AUTH_FILE.
    let file = dir.path().join("auth.json");
    write_json(&file, &auths(&reg.addr, USER, PASSWORD));
    let run = bpdrift()
        .args(["diff", &good, &bad])
        .env("REGISTRY_AUTH_FILE", &file)
        .run();
    ok(run, "REGISTRY_AUTH_FILE");

    // 4b. …and at $XDG_RUNTIME_DIR/containers/auth.json.
    write_json(
        &dir.path().join("containers/auth.json"),
        &auths(&reg.addr, USER, PASSWORD),
    );
    let run = bpdrift()
        .args(["diff", &good, &bad])
        .env("XDG_RUNTIME_DIR", dir.path())
        .run();
    ok(run, "XDG_RUNTIME_DIR");

    // First match wins: a wrong password on the command line is not rescued by the env.
    let run = bpdrift()
        .args(["diff", "--username", USER, "--password-stdin", &good, &bad])
        .input(b"wrong-pass-7f3a\n")
        .env("BPDRIFT_REGISTRY_USERNAME", USER)
        .env("BPDRIFT_REGISTRY_PASSWORD", PASSWORD)
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("rejected the credentials from --username/--password-stdin"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong-pass-7f3a"));
}

#[test]
fn broken_credential_sources_are_named_without_secrets() {
    let reg = Registry::start_htpasswd();
    let (good, bad) = reg.seed_incident_pair();

    let cmd = bpdrift()
        .args(["-vv", "diff", &good, &bad])
        .env("PATH", fixtures_path())
        .env("BPDRIFT_TEST_HELPER_MODE", "fail");
    write_json(
        &cmd.home().join(".docker/config.json"),
        &serde_json::json!({"credHelpers": {reg.addr.clone(): "bpdrift-test"}}),
    );
    let run = cmd.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("credential helper `docker-credential-bpdrift-test` failed for registry")
            && run.stderr.contains("exit status 3"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("LEAKED") && !run.stdout.contains("LEAKED"));

    let cmd = bpdrift().args(["diff", &good, &bad]);
    let config = cmd.home().join(".docker/config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        r#"{"auths":{"x":{"auth":"c2VjcmV0OnNlY3JldA=="}},"credHelpers":["not-an-object"]}"#,
    )
    .unwrap();
    let run = cmd.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("config.json` is not valid at `credHelpers`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("c2VjcmV0"));

    let run = bpdrift()
        .args(["diff", &good, &bad])
        .env("BPDRIFT_REGISTRY_USERNAME", USER)
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("BPDRIFT_REGISTRY_PASSWORD"),
        "{}",
        run.stderr
    );
}

#[test]
fn bearer_token_flow_one_token_per_repository() {
    let tokens = TokenServer::start();
    let reg = Registry::start_token(&tokens);
    let (good, bad) = reg.seed_incident_pair();
    reg.seed(GOOD, "other/app:1");
    reg.clear_log();
    tokens.requests.lock().unwrap().clear();

    let cmd = bpdrift().args(["diff", "--format", "json", &good, &bad]);
    write_json(
        &cmd.home().join(".docker/config.json"),
        &auths(&reg.addr, USER, PASSWORD),
    );
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // No ping: each manifest GET earns a 401 with the challenge, one token is fetched for the
    // repository, the GETs are sent again with it (critical path: 401, token, manifest, config).
    let reqs = reg.bpdrift_requests();
    assert_eq!(count(&reqs, |r| r.path == "/v2/"), 0, "{reqs:#?}");
    assert_eq!(
        count(&reqs, |r| r.path.contains("/manifests/") && r.status == 401),
        2,
        "{reqs:#?}"
    );
    assert_eq!(
        count(&reqs, |r| r.path.contains("/manifests/") && r.status == 200),
        2,
        "{reqs:#?}"
    );
    assert_eq!(count(&reqs, |r| r.path.contains("/blobs/")), 2, "{reqs:#?}");
    assert_eq!(
        reqs.len(),
        6,
        "no request was retried or repeated: {reqs:#?}"
    );
    assert_eq!(
        tokens.requests.lock().unwrap().clone(),
        vec![("GET".to_string(), "repository:app:pull".to_string())],
        "one token for the one repository"
    );

    // Two repositories: two scopes, two tokens, still no ping.
    tokens.requests.lock().unwrap().clear();
    reg.clear_log();
    let cmd = bpdrift().args(["diff", &good, &reg.image("other/app:1")]);
    write_json(
        &cmd.home().join(".docker/config.json"),
        &auths(&reg.addr, USER, PASSWORD),
    );
    assert_eq!(cmd.run().code, 0);
    let mut scopes: Vec<String> = tokens
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    scopes.sort();
    assert_eq!(
        scopes,
        vec!["repository:app:pull", "repository:other/app:pull"]
    );
    assert_eq!(count(&reg.bpdrift_requests(), |r| r.path == "/v2/"), 0);

    // An identity token from a credential helper: the OAuth2 refresh-token grant.
    tokens.requests.lock().unwrap().clear();
    let cmd = bpdrift()
        .args(["diff", &good, &bad])
        .env("PATH", fixtures_path())
        .env("BPDRIFT_TEST_HELPER_REGISTRY", &reg.addr)
        .env("BPDRIFT_TEST_HELPER_MODE", "token");
    write_json(
        &cmd.home().join(".docker/config.json"),
        &serde_json::json!({"credsStore": "bpdrift-test"}),
    );
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(tokens.requests.lock().unwrap()[0].0, "POST");

    // Wrong password at the token endpoint: rejected, named, never printed even at -vv.
    let cmd = bpdrift().args(["-vv", "diff", &good, &bad]);
    write_json(
        &cmd.home().join(".docker/config.json"),
        &auths(&reg.addr, USER, "nope-9c1e"),
    );
    let run = cmd.run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("rejected the credentials from docker config"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("nope-9c1e") && !run.stdout.contains("nope-9c1e"));
}

#[test]
fn retries_honour_retry_after_and_recover_from_503() {
    let reg = Registry::start();
    let (_, _) = reg.seed_incident_pair();
    // First manifest GET: 429 with Retry-After: 1; first config GET: 503; a HEAD-less cold run.
    let proxy = Proxy::start(
        &reg.addr,
        Duration::ZERO,
        Box::new(|method, path, n| match (method, n) {
            ("GET", 0) if path.contains("/manifests/good") => {
                Some(Fault::Status(429, vec![("Retry-After", "1".into())]))
            }
            ("GET", 0) if path.contains("/blobs/") => Some(Fault::Status(503, vec![])),
            ("GET", 0) if path.contains("/manifests/bad") => Some(Fault::Reset),
            _ => None,
        }),
    );
    let started = Instant::now();
    let run = bpdrift()
        .args([
            "diff",
            &format!("{}/app:good", proxy.addr),
            &format!("{}/app:bad", proxy.addr),
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert!(
        run.stderr.contains("HTTP 429") && run.stderr.contains("retrying"),
        "{}",
        run.stderr
    );
    let seen = proxy.seen();
    let statuses = |p: &str| -> Vec<u16> {
        seen.iter()
            .filter(|s| s.path.contains(p))
            .map(|s| s.status)
            .collect()
    };
    assert_eq!(statuses("/manifests/good"), vec![429, 200]);
    assert_eq!(
        statuses("/manifests/bad"),
        vec![0, 200],
        "a reset connection is retried"
    );
    assert!(statuses("/blobs/").starts_with(&[503, 200]));
}

#[test]
fn retry_limits_and_client_errors() {
    let reg = Registry::start();
    let (_, _) = reg.seed_incident_pair();
    let date = "Fri, 01 Jan 2100 00:00:00 GMT";
    let proxy = Proxy::start(
        &reg.addr,
        Duration::ZERO,
        Box::new(move |_, path, _| {
            if path.contains("/manifests/good") {
                Some(Fault::Status(503, vec![]))
            } else if path.contains("/manifests/bad") {
                Some(Fault::Status(429, vec![("Retry-After", date.into())]))
            } else if path.contains("/manifests/teapot") {
                Some(Fault::Status(400, vec![]))
            } else {
                None
            }
        }),
    );
    let img = |t: &str| format!("{}/app:{t}", proxy.addr);
    let run = bpdrift()
        .args(["diff", "--retries", "3", &img("good"), GOOD])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("gave up after 3 attempts"),
        "{}",
        run.stderr
    );

    // A Retry-After far beyond the retry budget is not waited for.
    let started = Instant::now();
    let run = bpdrift().args(["diff", &img("bad"), GOOD]).run();
    assert_eq!(run.code, 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        run.stderr.contains("Retry-After asks for"),
        "{}",
        run.stderr
    );

    // Other 4xx fail at once.
    let before = proxy.seen().len();
    let run = bpdrift().args(["diff", &img("teapot"), GOOD]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("HTTP 400"), "{}", run.stderr);
    let after: Vec<_> = proxy.seen()[before..]
        .iter()
        .filter(|s| s.path.contains("teapot"))
        .cloned()
        .collect();
    assert_eq!(after.len(), 1, "no retry of a 400: {after:?}");
}

#[test]
fn per_request_timeout() {
    let reg = Registry::start();
    let (_, _) = reg.seed_incident_pair();
    let proxy = Proxy::start(&reg.addr, Duration::from_secs(3), Box::new(|_, _, _| None));
    let started = Instant::now();
    let run = bpdrift()
        .args(["diff", "--timeout", "1"])
        .arg(format!("{}/app:good", proxy.addr))
        .arg(GOOD)
        .run();
    assert_eq!(run.code, 2);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
}

#[test]
fn digest_mismatches_are_errors() {
    let reg = Registry::start();
    let (good, bad) = reg.seed_incident_pair();
    let run = bpdrift()
        .args(["diff", "--format", "json", "--no-cache", &good, &bad])
        .run();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let config = v["after"]["config_digest"].as_str().unwrap().to_string();
    let manifest = v["before"]["digest"].as_str().unwrap().to_string();

    // The registry serves config bytes that do not hash to the digest the manifest names.
    std::fs::write(reg.blob_file(&config), b"{\"tampered\":true}").unwrap();
    let run = bpdrift().args(["diff", "--no-cache", &good, &bad]).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("digest mismatch for config"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&config), "{}", run.stderr);

    // A manifest fetched by digest must hash to that digest.
    let blob = reg.blob_file(&manifest);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes.push(b' ');
    std::fs::write(&blob, bytes).unwrap();
    let by_digest = format!("{}@{manifest}", reg.image("app"));
    let run = bpdrift()
        .args(["diff", "--no-cache", &by_digest, &good])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("digest mismatch for manifest"),
        "{}",
        run.stderr
    );
}

#[test]
fn schema1_manifests_are_unsupported() {
    let reg = Registry::start();
    let (_, _) = reg.seed_incident_pair();
    let proxy = Proxy::start(
        &reg.addr,
        Duration::ZERO,
        Box::new(|_, path, _| {
            path.contains("/manifests/").then(|| {
                Fault::Body(
                    200,
                    vec![(
                        "Content-Type",
                        "application/vnd.docker.distribution.manifest.v1+prettyjws".into(),
                    )],
                    br#"{"schemaVersion":1,"name":"app","tag":"old","fsLayers":[],"history":[]}"#
                        .to_vec(),
                )
            })
        }),
    );
    let run = bpdrift()
        .args(["diff", &format!("{}/app:old", proxy.addr), GOOD])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("schema version 1 is unsupported"),
        "{}",
        run.stderr
    );
}

#[test]
fn warm_cache_costs_one_head_per_tag_and_nothing_per_digest() {
    let reg = Registry::start();
    let (good, bad) = reg.seed_incident_pair();
    reg.seed("oci:testdata/images:multiarch", "multi:1");
    reg.clear_log();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let diff = |a: &str, b: &str| {
        let run = bpdrift()
            .args("diff --format json --fail-on never --cache-dir".split(' '))
            .arg(cache_dir)
            .arg(a)
            .arg(b)
            .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str::<Value>(&run.stdout).unwrap()
    };

    let cold = diff(&good, &bad);
    let reqs = reg.bpdrift_requests();
    assert_eq!(
        reqs.len(),
        4,
        "cold: 2 manifests, 2 configs, no ping: {reqs:#?}"
    );

    reg.clear_log();
    let warm = diff(&good, &bad);
    let reqs = reg.bpdrift_requests();
    assert_eq!(count(&reqs, |r| r.method == "HEAD"), 2, "{reqs:#?}");
    assert_eq!(count(&reqs, |r| r.method == "GET"), 0, "no GET: {reqs:#?}");
    assert_eq!(warm["changes"], cold["changes"]);

    reg.clear_log();
    let a = format!(
        "{}@{}",
        reg.image("app"),
        cold["before"]["digest"].as_str().unwrap()
    );
    let b = format!(
        "{}@{}",
        reg.image("app"),
        cold["after"]["digest"].as_str().unwrap()
    );
    let by_digest = diff(&a, &b);
    assert_eq!(
        reg.bpdrift_requests(),
        vec![],
        "digests are answered from the cache"
    );
    assert_eq!(by_digest["changes"], cold["changes"]);

    // An index: one HEAD for the tag; platform manifest and config from the cache.
    let multi = reg.image("multi:1");
    diff(&multi, &good);
    reg.clear_log();
    diff(&multi, &good);
    let reqs = reg.bpdrift_requests();
    assert_eq!(
        (reqs.len(), count(&reqs, |r| r.method == "HEAD")),
        (2, 2),
        "{reqs:#?}"
    );

    // A moved tag is noticed: the HEAD names the new digest (here one the cache already holds,
    // so still no GET), and the diff uses it.
    reg.seed(BAD, "app:good");
    reg.clear_log();
    let moved = diff(&good, &bad);
    assert_eq!(
        moved["summary"]["verdict"]
            .as_str()
            .unwrap()
            .split(';')
            .next(),
        Some("identical")
    );
    assert_eq!(moved["before"]["digest"], cold["after"]["digest"]);
    let reqs = reg.bpdrift_requests();
    assert_eq!(
        (reqs.len(), count(&reqs, |r| r.method == "HEAD")),
        (2, 2),
        "{reqs:#?}"
    );

    // Moved to an image never seen: HEAD, then the manifest and config GETs.
    reg.seed("oci:testdata/images:petclinic-2021-12", "app:good");
    reg.clear_log();
    let fresh = diff(&good, &bad);
    assert_eq!(fresh["before"]["buildpacks"][0]["version"], "3.0.1");
    let reqs = reg.bpdrift_requests();
    assert_eq!(
        count(&reqs, |r| r.method == "GET"
            && r.path.contains("/manifests/good")),
        1,
        "{reqs:#?}"
    );
    assert_eq!(
        count(&reqs, |r| r.method == "GET" && r.path.contains("/blobs/")),
        1,
        "{reqs:#?}"
    );
}

#[test]
fn platform_all_pairs_platforms_and_names_the_missing_one() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:multiarch", "multi:1");
    reg.seed("oci:testdata/images:multiarch-next", "multi:2");
    let run = bpdrift()
        .args(["diff", "--platform", "all", "--format", "json"])
        .arg(reg.image("multi:1"))
        .arg(reg.image("multi:2"))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let platforms: Vec<(String, Option<String>)> = v["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_string(),
                p["missing_in"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        platforms,
        vec![
            ("linux/amd64".into(), None),
            ("linux/arm/v7".into(), Some("after".into())),
            ("linux/arm64/v8".into(), None),
        ]
    );
    let arm64 = &v["platforms"][2]["report"];
    assert_eq!(arm64["before"]["platform"], "linux/arm64/v8");
    assert!(
        arm64["before"]["index_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let text = bpdrift()
        .args(["diff", "--platform", "all"])
        .arg(reg.image("multi:1"))
        .arg(reg.image("multi:2"))
        .run();
    assert!(
        text.stdout.contains("platform linux/arm/v7 is only in"),
        "{}",
        text.stdout
    );
}
