//! Hostile registries, layouts, archives, layers and files (issue 12): each case exits 2 with one
//! line naming the subject and the limit, within a bounded time and a peak RSS under 200 MB
//! (measured with GNU time), and nothing secret reaches any output.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::bpdrift;
use crate::common::hostile::{self, Hostile, sha256, stream};
use crate::common::http::{self, Request};

const GB2: u64 = 2 << 30;

/// A valid single-platform image manifest served for `repo:tag`, its config streamed by `config`.
fn image_registry(
    config_bytes: Vec<u8>,
    declared_size: usize,
    config: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> Hostile {
    let cdigest = sha256(&config_bytes);
    let m = hostile::manifest(
        &json!({"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": declared_size}),
        &[],
    );
    let mbytes = serde_json::to_vec(&m).unwrap();
    Hostile::start(move |req: &Request, s: &mut TcpStream| {
        if req.path().contains("/manifests/") {
            return hostile::serve_manifest(s, &mbytes);
        }
        if req.path().contains("/blobs/") {
            config(s);
            return true;
        }
        false
    })
}

/// A registry answering every manifest request with `answer`.
fn on_manifests(answer: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |req, s| {
        let is_manifest = req.path().contains("/manifests/");
        if is_manifest {
            answer(req, s);
        }
        is_manifest
    })
}

fn diff_registry(reg: &Hostile, extra: &[&str]) -> hostile::Measured {
    let img = reg.image("app:latest");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "5"])
        .args(extra)
        .args([&img, &img])
        .run_measured()
}

#[test]
fn oversized_manifest_stops_at_4_mib() {
    // No Content-Length: the body only ends when bpdrift hangs up.
    let reg = on_manifests(|_, s| stream(s, 200, &[], None, GB2, b' ', Duration::ZERO));
    diff_registry(&reg, &[]).assert_refused(&["manifest", "larger than the 4 MiB limit"], 20);
}

#[test]
fn content_length_is_not_trusted_either_way() {
    // A Content-Length over the limit is refused before any byte is read.
    let reg = on_manifests(|_, s| stream(s, 200, &[], Some(GB2), 0, b' ', Duration::ZERO));
    diff_registry(&reg, &[]).assert_refused(&["manifest", "larger than the 4 MiB limit"], 20);
}

#[test]
fn lying_config_stops_at_its_descriptor_size() {
    // The manifest says 2 KiB; the blob streams 2 GiB.
    let reg = image_registry(vec![b'{'; 10], 2048, |s| {
        stream(s, 200, &[], None, GB2, b' ', Duration::ZERO)
    });
    diff_registry(&reg, &[]).assert_refused(&["config blob", "larger than the 2 KiB limit"], 20);
}

#[test]
fn slow_registry_times_out() {
    // 64 KiB every 100 ms, for ever (bounded: 50 MB or until bpdrift hangs up).
    let reg = on_manifests(|_, s| {
        let pause = Duration::from_millis(100);
        stream(s, 200, &[], None, 50 << 20, b' ', pause)
    });
    let img = reg.image("app:latest");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "2"])
        .args([&img, &img])
        .run_measured()
        .assert_refused(&["timed out"], 20);
}

#[test]
fn redirect_loop_is_an_error() {
    let reg = on_manifests(|req, s| {
        let _ = http::write_response(s, 307, &[("Location", req.target.clone())], b"");
    });
    diff_registry(&reg, &[]).assert_refused(&["app:latest"], 20);
}

#[test]
fn oversized_token_answer_is_refused() {
    let reg = Hostile::start(|req, s| {
        let addr = req.header("host").unwrap_or_default().to_string();
        // No ping: the manifest request itself earns the challenge.
        if req.path().starts_with("/v2/") {
            let _ = http::write_response(
                s,
                401,
                &[(
                    "WWW-Authenticate",
                    format!(r#"Bearer realm="http://{addr}/token",service="hostile""#),
                )],
                b"",
            );
            return true;
        }
        if req.path() == "/token" {
            stream(s, 200, &[], None, GB2, b' ', Duration::ZERO);
            return true;
        }
        false
    });
    diff_registry(&reg, &[]).assert_refused(&["token request", "larger than the 1 MiB limit"], 20);
}

#[test]
fn bearer_realm_on_plain_http_elsewhere_is_refused() {
    let reg = Hostile::start(|req, s| {
        // No ping: the manifest request itself earns the challenge.
        if req.path().starts_with("/v2/") {
            let _ = http::write_response(
                s,
                401,
                &[(
                    "WWW-Authenticate",
                    r#"Bearer realm="http://auth.example.invalid/token",service="x""#.to_string(),
                )],
                b"",
            );
            return true;
        }
        false
    });
    let img = reg.image("app:latest");
    let m = bpdrift()
        .args(["diff", "--no-cache", "--retries", "1"])
        .args([&img, &img])
        .env("BPDRIFT_REGISTRY_USERNAME", "u")
        .env("BPDRIFT_REGISTRY_PASSWORD", "pw-must-not-travel")
        .run_measured();
    m.assert_refused(&["over plain HTTP; refused", "auth.example.invalid"], 20);
    assert!(!m.run.stderr.contains("pw-must-not-travel"));
}

// ---- local layouts ------------------------------------------------------------------------

fn layout_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    hostile::write_layout(d.path(), &hostile::config(&[], json!({})), &[], |_| {});
    d
}

fn diff_layout(dir: &Path) -> hostile::Measured {
    let r = format!("oci:{}", dir.display());
    bpdrift().args(["diff", &r, &r]).run_measured()
}

#[test]
fn index_json_linked_to_dev_zero_is_refused() {
    let d = layout_dir();
    std::fs::remove_file(d.path().join("index.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.path().join("index.json")).unwrap();
    diff_layout(d.path()).assert_refused(&["index.json", "not a regular file"], 10);
}

#[test]
fn index_json_fifo_does_not_hang() {
    let d = layout_dir();
    std::fs::remove_file(d.path().join("index.json")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(d.path().join("index.json"))
        .status()
        .unwrap();
    assert!(status.success());
    diff_layout(d.path()).assert_refused(&["index.json", "not a regular file"], 10);
}

#[test]
fn sparse_giant_config_is_refused_unread() {
    let d = layout_dir();
    // The config blob, replaced by a 10 GiB sparse file.
    let m: Value = {
        let idx: Value =
            serde_json::from_slice(&std::fs::read(d.path().join("index.json")).unwrap()).unwrap();
        let digest = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
        serde_json::from_slice(
            &std::fs::read(d.path().join("blobs/sha256").join(&digest[7..])).unwrap(),
        )
        .unwrap()
    };
    let config = d
        .path()
        .join("blobs/sha256")
        .join(&m["config"]["digest"].as_str().unwrap()[7..]);
    std::fs::File::create(&config)
        .unwrap()
        .set_len(10 << 30)
        .unwrap();
    diff_layout(d.path()).assert_refused(&["config blob", "larger than the"], 10);
}

#[test]
fn sparse_giant_index_json_is_refused_unread() {
    let d = layout_dir();
    std::fs::File::create(d.path().join("index.json"))
        .unwrap()
        .set_len(10 << 30)
        .unwrap();
    diff_layout(d.path()).assert_refused(&["`index.json` is larger than the 4 MiB limit"], 10);
}

// ---- memory layers -------------------------------------------------------------------------

/// A layout whose one layer (the file at `layer_gz`, gzip'd; `diff_id` its uncompressed
/// digest) `bpdrift memory` reads.
fn memory_layout(dir: &Path, layer_gz: &[u8], diff_id: &str, tweak: impl FnOnce(&mut Value)) {
    let c = hostile::buildpack_config(&[diff_id.to_string()], &["BPI_JVM_CLASS_COUNT=100"]);
    hostile::write_layout(dir, &c, &[layer_gz.to_vec()], tweak);
}

fn memory(dir: &Path, cache: &Path) -> hostile::Measured {
    bpdrift()
        .args(["memory", "--format", "json", "--cache-dir"])
        .arg(cache)
        .arg(format!("oci:{}", dir.display()))
        .run_measured()
}

/// Writes a gzip'd layer to `out` with one member `path` of `size` bytes of `fill`, made by
/// Python; prints the uncompressed tar's sha256.
const BIG_MEMBER: &str = r#"
import gzip, hashlib, io, sys, tarfile
out, path, size, fill = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fill = b"\0" if fill == "zero" else fill.encode()
class Src(io.RawIOBase):
    def __init__(s): s.left = size
    def readable(s): return True
    def readinto(s, b):
        n = min(len(b), s.left); b[:n] = fill * n; s.left -= n; return n
class Tee(io.RawIOBase):
    def __init__(s, f): s.f, s.h = f, hashlib.sha256()
    def writable(s): return True
    def write(s, b): s.h.update(b); return s.f.write(b)
with open(out, "wb") as raw:
    gz = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1)
    tee = Tee(gz)
    t = tarfile.open(fileobj=tee, mode="w|", format=tarfile.GNU_FORMAT)
    info = tarfile.TarInfo(path); info.size = size
    t.addfile(info, io.BufferedReader(Src(), 1 << 20)); t.close(); gz.close()
open(out + ".diffid", "w").write("sha256:" + tee.h.hexdigest())
"#;

fn big_member_layer(dir: &Path, path: &str, size: u64, fill: &str) -> (Vec<u8>, String) {
    let out = dir.join("layer.tgz");
    hostile::python(
        BIG_MEMBER,
        &[out.to_str().unwrap(), path, &size.to_string(), fill],
    );
    let gz = std::fs::read(&out).unwrap();
    let diff_id = std::fs::read_to_string(dir.join("layer.tgz.diffid")).unwrap();
    (gz, diff_id)
}

#[test]
fn jar_bomb_in_a_layer_is_refused() {
    let work = tempfile::tempdir().unwrap();
    // 1.5 GiB of zeros named like a jar: a few MB of gzip.
    let (gz, diff_id) = big_member_layer(work.path(), "workspace/app.jar", 3 << 29, "zero");
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &gz, &diff_id, |_| {});
    memory(d.path(), &work.path().join("cache")).assert_refused(
        &["jar `/workspace/app.jar`", "larger than the 256 MiB limit"],
        30,
    );
}

#[test]
fn huge_env_launch_file_is_refused_and_not_echoed() {
    let work = tempfile::tempdir().unwrap();
    let (gz, diff_id) = big_member_layer(
        work.path(),
        "layers/test_jvm/jre/env.launch/JAVA_TOOL_OPTIONS.append",
        1 << 30,
        "A",
    );
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &gz, &diff_id, |_| {});
    let m = memory(d.path(), &work.path().join("cache"));
    m.assert_refused(&["env file", "larger than the 64 KiB limit"], 30);
    assert!(
        m.run.stdout.len() + m.run.stderr.len() < 4096,
        "{}",
        m.run.snapshot()
    );
}

/// A jar holding `inner.jar`: `size` bytes of zeros, deflated (a few KB).
const NESTED_BOMB: &str = r#"
import sys, zipfile
out, size = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr("A.class", b"")
    with z.open("BOOT-INF/lib/inner.jar", "w", force_zip64=True) as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20): f.write(chunk)
"#;

#[test]
fn nested_jar_bomb_stops_at_its_cap() {
    let work = tempfile::tempdir().unwrap();
    let jar = work.path().join("app.jar");
    hostile::python(
        NESTED_BOMB,
        &[jar.to_str().unwrap(), &(1u64 << 30).to_string()],
    );
    let jar = std::fs::read(jar).unwrap();
    let tar = hostile::tar(&[("workspace/app.jar", &jar)]);
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &hostile::gzip(&tar), &sha256(&tar), |_| {});
    memory(d.path(), &work.path().join("cache")).assert_refused(
        &[
            "nested jar `BOOT-INF/lib/inner.jar`",
            "larger than the 64 MiB limit",
        ],
        30,
    );
}

#[test]
fn layer_digest_with_a_path_is_refused() {
    let tar = hostile::tar(&[("workspace/A.class", b"")]);
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &hostile::gzip(&tar), &sha256(&tar), |m| {
        m["layers"][0]["digest"] = json!("sha256:../../../../../../etc/passwd");
    });
    let work = tempfile::tempdir().unwrap();
    memory(d.path(), &work.path().join("cache"))
        .assert_refused(&["layer has an invalid digest `sha256:../../"], 10);
}

#[test]
fn multi_member_gzip_layers_are_read_to_the_end() {
    let tar = hostile::tar(&[
        ("workspace/A.class", b""),
        ("workspace/B.class", b""),
        ("workspace/C.class", b""),
    ]);
    // Two gzip members, split inside the tar: containers read both.
    let mut gz = hostile::gzip(&tar[..1024]);
    gz.extend(hostile::gzip(&tar[1024..]));
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &gz, &sha256(&tar), |_| {});
    let work = tempfile::tempdir().unwrap();
    let m = memory(d.path(), &work.path().join("cache"));
    let v: Value =
        serde_json::from_str(&m.run.stdout).unwrap_or_else(|e| panic!("{e}: {}", m.run.snapshot()));
    assert_eq!(v["app_classes"], 3, "{}", m.run.snapshot());
}

#[test]
fn a_crafted_layout_cannot_poison_the_layer_cache() {
    // The layer blob's content is not what its digest says: refused, and nothing cached.
    let honest = hostile::tar(&[("workspace/A.class", b"")]);
    let honest_gz = hostile::gzip(&honest);
    let many: Vec<(String, Vec<u8>)> = (0..300)
        .map(|i| (format!("workspace/X{i}.class"), Vec::new()))
        .collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let crafted_gz = hostile::gzip(&hostile::tar(&refs));
    let d = tempfile::tempdir().unwrap();
    memory_layout(d.path(), &honest_gz, &sha256(&honest), |_| {});
    // Same name (the honest digest), other bytes.
    std::fs::write(
        d.path().join("blobs/sha256").join(&sha256(&honest_gz)[7..]),
        &crafted_gz,
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    memory(d.path(), &cache).assert_refused(&["digest mismatch for layer"], 10);
    let scans = cache.join("layer-scans-v1");
    assert!(
        !scans.exists() || std::fs::read_dir(&scans).unwrap().next().is_none(),
        "a scan of unverified content was cached"
    );
}

// ---- credentials -----------------------------------------------------------------------------

/// A registry that asks for basic auth and records every Authorization header it is sent.
fn basic_auth_registry() -> (Hostile, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let reg = Hostile::start(move |req, s| {
        if let Some(a) = req.header("authorization") {
            log.lock().unwrap().push(a.to_string());
        }
        let _ = http::write_response(
            s,
            401,
            &[("WWW-Authenticate", r#"Basic realm="r""#.to_string())],
            b"",
        );
        true
    });
    (reg, seen)
}

#[test]
fn given_credentials_go_to_one_registry_only() {
    let (a, seen_a) = basic_auth_registry();
    let (b, seen_b) = basic_auth_registry();
    let run = |extra: &[&str]| {
        bpdrift()
            .args(["diff", "--no-cache", "--retries", "1"])
            .args(extra)
            .args([&a.image("app:1"), &b.image("app:1")])
            .env("BPDRIFT_REGISTRY_USERNAME", "alice")
            .env("BPDRIFT_REGISTRY_PASSWORD", "s3cret-for-a")
            .run_measured()
    };
    // Two registries and no --registry-host: ambiguous, nothing sent anywhere.
    run(&[]).assert_refused(&["would go to several registries", "--registry-host"], 20);
    assert!(seen_a.lock().unwrap().is_empty() && seen_b.lock().unwrap().is_empty());
    // Bound to the first: the second never sees them.
    let m = run(&["--registry-host", a.addr()]);
    assert_eq!(m.run.code, 2, "{}", m.run.snapshot());
    assert!(
        !seen_a.lock().unwrap().is_empty(),
        "the first registry got them"
    );
    assert!(
        seen_b.lock().unwrap().is_empty(),
        "the second registry was sent {:?}",
        seen_b.lock().unwrap()
    );
}

// ---- secrets in env values -------------------------------------------------------------------

/// One env var per form, each holding `pw`.
fn secret_env(pw: &str) -> Vec<String> {
    vec![
        format!("DATABASE_URL=postgres://app:{pw}@db:5432/app"),
        format!("JDBC_URL=jdbc:sqlserver://db:1433;user=app;password={pw};encrypt=true"),
        format!("SENTRY_DSN=https://{pw}@o1.ingest.sentry.io/42"),
        format!("CALLBACK=https://hooks.example.com/cb?user=a&token={pw}"),
        format!("JAVA_TOOL_OPTIONS=-Xss512k -Dspring.datasource.password={pw} -Dx=y"),
    ]
}

const PW_BEFORE: &str = "hunter2-before";
const PW_AFTER: &str = "hunter2-after";

fn secret_layouts() -> (tempfile::TempDir, String, String) {
    let d = tempfile::tempdir().unwrap();
    let mut refs = Vec::new();
    for (name, pw) in [("before", PW_BEFORE), ("after", PW_AFTER)] {
        let dir = d.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let env = secret_env(pw);
        let env: Vec<&str> = env.iter().map(String::as_str).collect();
        hostile::write_layout(&dir, &hostile::config(&env, json!({})), &[], |_| {});
        refs.push(format!("oci:{}", dir.display()));
    }
    let after = refs.pop().unwrap();
    (d, refs.pop().unwrap(), after)
}

fn assert_no_secret(what: &str, out: &str) {
    for pw in [PW_BEFORE, PW_AFTER] {
        assert!(!out.contains(pw), "{what} shows a secret:\n{out}");
    }
}

#[test]
fn env_secrets_are_redacted_in_every_diff_format() {
    let (_d, before, after) = secret_layouts();
    let names = [
        "DATABASE_URL",
        "JDBC_URL",
        "SENTRY_DSN",
        "CALLBACK",
        "JAVA_TOOL_OPTIONS",
    ];
    for format in ["table", "json", "markdown"] {
        let run = bpdrift()
            .args(["-vv", "diff", "--format", format, &before, &after])
            .run();
        assert_eq!(run.code, 0, "{}", run.snapshot());
        assert_no_secret(format, &run.stdout);
        assert_no_secret(format, &run.stderr);
        for name in names {
            // Each form is shown (changed), redacted.
            let line = run
                .stdout
                .lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("{format}: no {name}:\n{}", run.stdout));
            assert!(
                line.contains("<redacted>")
                    || line.contains("&lt;redacted&gt;")
                    || format == "json",
                "{format} {name}: {line}"
            );
        }
        if format == "markdown" {
            // Issue 14: values are code spans, where GitHub decodes no entities: an escaped
            // `&lt;redacted&gt;` would be shown literally.
            assert!(
                !run.stdout.contains("`&lt;"),
                "entity inside a code span:\n{}",
                run.stdout
            );
            assert!(run.stdout.contains("password=<redacted>"), "{}", run.stdout);
        }
        if format == "json" {
            let v: Value = serde_json::from_str(&run.stdout).unwrap();
            let text = v.to_string();
            assert_eq!(
                text.matches("<redacted>").count(),
                2 * names.len(),
                "{text}"
            );
        }
    }
}

#[test]
fn env_secrets_are_redacted_in_every_fleet_report_format() {
    let (d, before, after) = secret_layouts();
    let fleet = d.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[service]]\nname = \"svc\"\ndeployed = \"{before}\"\ncandidate = \"{after}\"\n"),
    )
    .unwrap();
    for format in ["json", "markdown", "html"] {
        let history = d.path().join(format!("{format}.sqlite"));
        let run = bpdrift()
            .args(["-vv", "report", "--no-cache", "--format", format, "--fleet"])
            .arg(&fleet)
            .arg("--history")
            .arg(&history)
            .run();
        assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
        assert_no_secret(format, &run.stdout);
        assert_no_secret(format, &run.stderr);
        if format == "json" {
            assert!(run.stdout.contains("<redacted>"), "{}", run.stdout);
        }
        let h = bpdrift()
            .args(["history", "--format", "json", "--history"])
            .arg(&history)
            .run();
        assert_no_secret("history", &h.stdout);
    }
}

// ---- rule and fleet files --------------------------------------------------------------------

#[test]
fn a_hundred_thousand_syntax_errors_are_told_in_a_screenful() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules.toml");
    std::fs::write(&rules, "x = \n".repeat(100_000)).unwrap();
    let m = bpdrift()
        .args(["rules", "check"])
        .arg(&rules)
        .run_measured();
    m.assert_refused(&["more problems in", "problems in rule files"], 20);
    assert!(
        m.run.stderr.len() < 64 << 10,
        "{} bytes",
        m.run.stderr.len()
    );
    let fleet = d.path().join("fleet.toml");
    std::fs::write(&fleet, "[[service]]\nname = \n".repeat(50_000)).unwrap();
    let m = bpdrift()
        .args(["report", "--no-cache", "--fleet"])
        .arg(&fleet)
        .arg("--history")
        .arg(d.path().join("h.sqlite"))
        .run_measured();
    m.assert_refused(&["more problems in"], 20);
}

#[test]
fn invalid_utf8_in_rule_and_fleet_files_has_a_position() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules.toml");
    std::fs::write(&rules, b"[[rule]]\nid = \"a\"\nsummary = \"caf\xe9\"\n").unwrap();
    let run = bpdrift().args(["rules", "check"]).arg(&rules).run();
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("rules.toml:3:15: invalid UTF-8"),
        "{}",
        run.stderr
    );
    let fleet = d.path().join("fleet.toml");
    std::fs::write(&fleet, b"[[service]]\nname = \"\xff\"\n").unwrap();
    let run = bpdrift()
        .args(["report", "--no-cache", "--fleet"])
        .arg(&fleet)
        .arg("--history")
        .arg(d.path().join("h.sqlite"))
        .run();
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("fleet.toml:2:9: invalid UTF-8"),
        "{}",
        run.stderr
    );
}

#[test]
fn expect_every_overflow_is_an_error() {
    let run = bpdrift()
        .args("report --fleet x.toml --expect-every 94368760191893771d".split(' '))
        .run();
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(
        run.stderr.contains("invalid duration `94368760191893771d`"),
        "{}",
        run.stderr
    );
}

// ---- archives, whiteouts, registry layers, labels ---------------------------------------------

/// Tars the directory `src` into `out` with Python (the members: every file under it).
const TAR_DIR: &str = r#"
import os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    for root, _, files in os.walk(src):
        for f in sorted(files):
            p = os.path.join(root, f)
            t.add(p, arcname=os.path.relpath(p, src))
"#;

/// Writes `n` blobs of `size` random-looking bytes (never read by a diff) into the layout.
const BIG_BLOBS: &str = r#"
import hashlib, os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(os.path.join(d, "blobs/sha256"), exist_ok=True)
for i in range(n):
    b = hashlib.sha256(str(i).encode()).digest() * (size // 32)
    open(os.path.join(d, "blobs/sha256", hashlib.sha256(b).hexdigest()), "wb").write(b)
"#;

#[test]
fn oci_archive_members_are_not_held_in_memory() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    hostile::write_layout(&layout, &hostile::config(&["A=1"], json!({})), &[], |_| {});
    // 30 members of 10 MiB: each under the old 16 MiB keep-in-memory limit.
    hostile::python(
        BIG_BLOBS,
        &[layout.to_str().unwrap(), "30", &(10u64 << 20).to_string()],
    );
    let archive = work.path().join("image.oci.tar");
    hostile::python(
        TAR_DIR,
        &[layout.to_str().unwrap(), archive.to_str().unwrap()],
    );
    let r = format!("oci-archive:{}", archive.display());
    let m = bpdrift().args(["diff", &r, &r]).run_measured();
    assert_eq!(m.run.code, 0, "{}", m.run.snapshot());
    assert!(
        m.peak_rss_kb < 60_000,
        "peak RSS {} kB for a 300 MiB archive",
        m.peak_rss_kb
    );
    m.report("oci-archive of 300 MiB");
}

/// A layer of `n` files, then a layer whiting each of them out, as two gzip'd layers.
const WHITEOUTS: &str = r#"
import gzip, hashlib, io, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2])
for i, names in enumerate([["workspace/d%d/C%d.class" % (k % 100, k) for k in range(n)],
                           ["workspace/d%d/.wh.C%d.class" % (k % 100, k) for k in range(n)]]):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name in names:
            t.addfile(tarfile.TarInfo(name))
    raw = buf.getvalue()
    open("%s.%d.tgz" % (out, i), "wb").write(gzip.compress(raw, 1))
    open("%s.%d.diffid" % (out, i), "w").write("sha256:" + hashlib.sha256(raw).hexdigest())
"#;

#[test]
fn two_hundred_thousand_whiteouts_apply_in_linear_time() {
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("l");
    hostile::python(WHITEOUTS, &[base.to_str().unwrap(), "200000"]);
    let read =
        |i: usize, ext: &str| std::fs::read(format!("{}.{i}.{ext}", base.display())).unwrap();
    let layers = vec![read(0, "tgz"), read(1, "tgz")];
    let diff_ids: Vec<String> = (0..2)
        .map(|i| String::from_utf8(read(i, "diffid")).unwrap())
        .collect();
    let d = tempfile::tempdir().unwrap();
    let c = hostile::buildpack_config(&diff_ids, &["BPI_JVM_CLASS_COUNT=100"]);
    hostile::write_layout(d.path(), &c, &layers, |_| {});
    let m = memory(d.path(), &work.path().join("cache"));
    assert_ne!(m.run.code, 2, "{}", m.run.snapshot());
    let v: Value = serde_json::from_str(&m.run.stdout).unwrap();
    assert_eq!(v["app_classes"], 0, "every class was whited out");
    // A bound that tells the algorithms apart, not a timing goal: the quadratic `retain` took
    // 5.6 s for 40 k whiteouts, so 200 k would take over two minutes; the linear removal takes
    // a few seconds in a debug build, leaving room for a loaded machine.
    assert!(m.elapsed < Duration::from_secs(60), "took {:?}", m.elapsed);
    m.report("200,000 whiteouts");
}

/// A registry serving one image whose one layer's descriptor says 2 KiB while the blob streams
/// 2 GiB.
fn lying_layer_registry() -> Hostile {
    let tar = hostile::tar(&[("workspace/A.class", b"")]);
    let diff_id = sha256(&tar);
    let config = serde_json::to_vec(&hostile::buildpack_config(
        &[diff_id],
        &["BPI_JVM_CLASS_COUNT=100"],
    ))
    .unwrap();
    let m = hostile::manifest(
        &hostile::descriptor("application/vnd.oci.image.config.v1+json", &config),
        &[json!({"mediaType": hostile::OCI_LAYER, "digest": sha256(b"whatever"), "size": 2048})],
    );
    let mbytes = serde_json::to_vec(&m).unwrap();
    let cdigest = sha256(&config);
    Hostile::start(move |req, s| {
        if req.path().contains("/manifests/") {
            return hostile::serve_manifest(s, &mbytes);
        }
        if req.path().ends_with(&cdigest) {
            let _ = http::write_response(s, 200, &[], &config);
            return true;
        }
        if req.path().contains("/blobs/") {
            stream(s, 200, &[], None, GB2, 0x1f, Duration::ZERO);
            return true;
        }
        false
    })
}

#[test]
fn registry_layer_download_stops_at_its_descriptor_size_and_leaves_nothing() {
    let reg = lying_layer_registry();
    let tmp = tempfile::tempdir().unwrap();
    let m = bpdrift()
        .args(["memory", "--no-cache", "--retries", "1"])
        .arg(reg.image("app:1"))
        .env("TMPDIR", tmp.path())
        .run_measured();
    m.assert_refused(&["a layer blob", "larger than the 2 KiB limit"], 20);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "a temp file was left"
    );
}

#[test]
fn huge_label_and_wrong_type_values_are_not_echoed() {
    // A 3 MiB string where the buildpacks array belongs: one short problem line.
    let huge = "x".repeat(3 << 20);
    let build = json!({ "buildpacks": huge }).to_string();
    let d = tempfile::tempdir().unwrap();
    hostile::write_layout(
        d.path(),
        &hostile::config(&[], json!({ "io.buildpacks.build.metadata": build })),
        &[],
        |_| {},
    );
    let r = format!("oci:{}", d.path().display());
    for format in ["table", "json", "markdown"] {
        let m = bpdrift()
            .args(["diff", "--format", format, &r, &r])
            .run_measured();
        m.assert_refused(&["buildpacks", "expected a sequence"], 10);
        assert!(
            m.run.stdout.len() + m.run.stderr.len() < 64 << 10,
            "{format}: output echoes the value"
        );
    }
    // A label over the ceiling is a problem naming the limit, not read.
    let big = json!({ "buildpacks": [{ "id": "a", "version": "x".repeat(5 << 20) }] }).to_string();
    let d = tempfile::tempdir().unwrap();
    hostile::write_layout(
        d.path(),
        &hostile::config(&[], json!({ "io.buildpacks.build.metadata": big })),
        &[],
        |_| {},
    );
    let r = format!("oci:{}", d.path().display());
    bpdrift()
        .args(["diff", &r, &r])
        .run_measured()
        .assert_refused(
            &[
                "io.buildpacks.build.metadata",
                "larger than the 4 MiB limit for a label",
            ],
            10,
        );
}

#[test]
fn memory_inputs_are_redacted_in_every_format() {
    let tar = hostile::tar(&[(
        "layers/test_jvm/jre/env.launch/JAVA_TOOL_OPTIONS.append",
        format!("-XX:+ExitOnOutOfMemoryError -Djavax.net.ssl.trustStorePassword={PW_AFTER}")
            .as_bytes(),
    )]);
    let d = tempfile::tempdir().unwrap();
    let c = hostile::buildpack_config(
        &[sha256(&tar)],
        &[
            "BPI_JVM_CLASS_COUNT=100",
            &format!("JAVA_OPTS=-Ddb.password={PW_BEFORE}"),
        ],
    );
    hostile::write_layout(d.path(), &c, &[hostile::gzip(&tar)], |_| {});
    let r = format!("oci:{}", d.path().display());
    for format in ["table", "json", "markdown"] {
        let run = bpdrift()
            .args("-vv memory --no-cache --memory 1G --format".split(' '))
            .arg(format)
            .arg(&r)
            .run();
        assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
        assert_no_secret(format, &run.stdout);
        assert_no_secret(format, &run.stderr);
        assert!(run.stdout.contains("redacted"), "{format}: {}", run.stdout);
    }
}

#[test]
fn a_redirect_to_another_host_carries_no_credentials() {
    let (b, seen_b) = basic_auth_registry();
    let target = b.addr().to_string();
    let a = Hostile::start(move |req, s| {
        if req.header("authorization").is_none() {
            let _ = http::write_response(
                s,
                401,
                &[("WWW-Authenticate", r#"Basic realm="r""#.to_string())],
                b"",
            );
        } else {
            let _ = http::write_response(
                s,
                307,
                &[("Location", format!("http://{target}{}", req.target))],
                b"",
            );
        }
        true
    });
    let img = a.image("app:1");
    let m = bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", &img, &img])
        .env("BPDRIFT_REGISTRY_USERNAME", "alice")
        .env("BPDRIFT_REGISTRY_PASSWORD", "s3cret-for-a")
        .run_measured();
    assert_eq!(m.run.code, 2, "{}", m.run.snapshot());
    // The redirect was followed (the target's 401 is what failed), without the credentials.
    assert!(
        m.run.stderr.contains("rejected the credentials"),
        "{}",
        m.run.snapshot()
    );
    assert!(
        seen_b.lock().unwrap().is_empty(),
        "the redirect target was sent {:?}",
        seen_b.lock().unwrap()
    );
    assert!(!m.run.stderr.contains("s3cret-for-a"));
}

#[test]
fn docker_config_linked_to_dev_zero_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let docker = home.path().join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::os::unix::fs::symlink("/dev/zero", docker.join("config.json")).unwrap();
    let (reg, _) = basic_auth_registry();
    let img = reg.image("app:1");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", &img, &img])
        .env("DOCKER_CONFIG", &docker)
        .run_measured()
        .assert_refused(&["config.json", "not a regular file"], 10);
}

/// Issue 14: the PR comment as GitHub shows it. The Markdown of a diff with redacted env
/// values, an over-long label (`<N bytes, sha256:…>`), backticks, `#N` and HTML in values is
/// rendered by a GFM renderer (comrak, GitHub's options: tables, autolinks, the tag filter, raw
/// HTML for `<details>`): no entity shows literally, every table row has its header's cells,
/// nothing a value holds becomes a tag or a link.
#[test]
fn pr_comment_renders_on_a_gfm_renderer_as_intended() {
    let d = tempfile::tempdir().unwrap();
    let mut refs = Vec::new();
    for (name, pw) in [("before", PW_BEFORE), ("after", PW_AFTER)] {
        let dir = d.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut env = secret_env(pw);
        env.push(format!("NOTE=see #42 and `{name}` <b>bold</b> | pipe"));
        let env: Vec<&str> = env.iter().map(String::as_str).collect();
        let long = format!("{name}-{}", "x".repeat(2000));
        hostile::write_layout(
            &dir,
            &hostile::config(
                &env,
                json!({ "org.example.long": long, "org.example.html": format!("<img src=x onerror=alert(1)> {name}") }),
            ),
            &[],
            |_| {},
        );
        refs.push(format!("oci:{}", dir.display()));
    }
    let run = bpdrift()
        .args(["diff", "--format", "markdown", &refs[0], &refs[1]])
        .run();
    assert_eq!(run.code, 0, "{}", run.snapshot());
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.extension.tagfilter = true;
    options.render.r#unsafe = true;
    let html = comrak::markdown_to_html(&run.stdout, &options);
    for literal in ["&amp;lt;", "&amp;gt;", "&amp;amp;", "&amp;#"] {
        assert!(
            !html.contains(literal),
            "{literal} shown literally:\n{html}"
        );
    }
    assert!(
        html.contains("<code>-Xss512k -Dspring.datasource.password=&lt;redacted&gt; -Dx=y</code>"),
        "{html}"
    );
    assert!(html.contains("&lt;2007 bytes, sha256:"), "{html}");
    assert!(
        !html.contains("<img") && !html.contains("<b>"),
        "a value became a tag:\n{html}"
    );
    // Backticks inside a value are kept (a longer fence), not rewritten.
    assert!(
        html.contains("`before`") && html.contains("`after`"),
        "{html}"
    );
    // No link but the ones bpdrift writes: `#42` stays text.
    assert!(!html.contains("href=\"#"), "{html}");
    // Tables intact: each row has as many cells as its header.
    for table in html.split("<table>").skip(1) {
        let table = table.split("</table>").next().unwrap();
        let cells = |s: &str, tag: &str| {
            s.matches(&format!("<{tag}>")).count() + s.matches(&format!("<{tag} ")).count()
        };
        let head = cells(table.split("</tr>").next().unwrap(), "th");
        assert!(head > 0, "{table}");
        for row in table.split("<tr>").skip(2) {
            assert_eq!(cells(row, "td"), head, "broken row: {row}");
        }
    }
    assert!(html.matches("<table>").count() >= 2, "{html}");
}

/// Credentials typed into an argument by mistake are never echoed back: not by clap's usage
/// errors (which quote the invalid value), not by bpdrift's own errors about the argument.
#[test]
fn credentials_typed_into_arguments_are_not_echoed() {
    let pw = "hunter2-typed";
    let cases: Vec<Vec<String>> = vec![
        vec![
            "history".into(),
            "--history".into(),
            format!("oci://me:{pw}@127.0.0.1:1/x:y"),
        ],
        vec![
            "diff".into(),
            format!("me:{pw}@ghcr.io/a:b"),
            "oci:testdata/images:plain-a".into(),
        ],
        vec!["inspect".into(), format!("https://me:{pw}@ghcr.io/a:b")],
        vec![
            "report".into(),
            "--fleet".into(),
            "/nonexistent.toml".into(),
            "--pushgateway".into(),
            format!("ftp://me:{pw}@gw:9091"),
        ],
        vec![
            "diff".into(),
            "--platform".into(),
            format!("me:{pw}@linux"),
            "a".into(),
            "b".into(),
        ],
    ];
    for args in cases {
        let run = bpdrift().args(&args).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.snapshot());
        assert!(!run.stderr.is_empty(), "{args:?}");
        assert_no_secret_text(&format!("{args:?}"), &run.stderr, pw);
        assert_no_secret_text(&format!("{args:?}"), &run.stdout, pw);
    }
}

fn assert_no_secret_text(what: &str, out: &str, secret: &str) {
    assert!(!out.contains(secret), "{what} shows the secret:\n{out}");
}
