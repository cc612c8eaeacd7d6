//! `bpdrift memory`: the calculator's inputs read from the layers of Paketo-style JVM images,
//! the exact libjvm outcome, the smallest limit, and only the layers that can hold inputs read.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{Registry, bpdrift, settings};

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["memory", "--format", "json"];
    all.extend_from_slice(args);
    let run = bpdrift().args(all).run();
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, v)
}

/// The expected counts the generator wrote, read back from testdata/inventory.json.
fn expected(tag: &str) -> Value {
    let inv: Value = serde_json::from_slice(
        &std::fs::read(crate::common::root().join("testdata/inventory.json")).unwrap(),
    )
    .unwrap();
    inv["tags"][tag]["expected_memory"].clone()
}

#[test]
fn incident_inputs_reproduce_the_incident() {
    let run = bpdrift()
        .args("memory oci:testdata/images:jvm-incident --memory 616300K".split(' '))
        .run();
    assert_eq!(run.code, 1, "the JVM does not start: {}", run.stderr);
    assert!(run.stdout.contains(
        "fixed memory regions require 632382K which is greater than 616300K available for allocation: -XX:MaxDirectMemorySize=10M, -XX:MaxMetaspaceSize=120382K, -XX:ReservedCodeCacheSize=240M, -Xss1M * 250 threads"
    ), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Smallest memory limit with which the JVM starts: 632383K")
    );
    assert!(
        run.stdout.contains("MemAvailable"),
        "the meminfo caveat is always said"
    );
    settings(&[]).bind(|| assert_snapshot!("memory_incident", run.stdout));

    let (code, v) = json(&["oci:testdata/images:jvm-incident", "--memory", "1G"]);
    assert_eq!(code, 0);
    let e = expected("jvm-incident");
    assert_eq!(v["app_classes"], e["app_classes"]);
    assert_eq!(v["loaded_classes"], 18840);
    assert_eq!(v["outcome"]["starts"], true);
    assert_eq!(
        v["outcome"]["flags"],
        "-XX:MaxDirectMemorySize=10M -Xmx416193K -XX:MaxMetaspaceSize=120382K -XX:ReservedCodeCacheSize=240M -Xss1M"
    );
}

#[test]
fn thread_count_default_50_to_250_costs_200_mib() {
    let (_, fifty) = json(&["oci:testdata/images:jvm-threads-50"]);
    let (_, two_fifty) = json(&["oci:testdata/images:jvm-threads-250"]);
    assert_eq!(fifty["threads"], expected("jvm-threads-50")["thread_count"]);
    assert_eq!(two_fifty["threads"], 250);
    assert_eq!(
        fifty["app_classes"],
        expected("jvm-threads-50")["app_classes"]
    );
    let min = |v: &Value| v["minimum_limit_bytes"].as_i64().unwrap();
    assert_eq!(min(&two_fifty) - min(&fifty), 200 * 1024 * 1024);
    // The platform's env wins over the image's default.
    let (_, overridden) = json(&[
        "oci:testdata/images:jvm-threads-250",
        "--env",
        "BPL_JVM_THREAD_COUNT=50",
    ]);
    assert_eq!(overridden["threads"], 50);
    assert_eq!(min(&overridden), min(&fifty));
    let src = overridden["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "BPL_JVM_THREAD_COUNT")
        .unwrap();
    assert_eq!(src["from"], "--env");
}

#[test]
fn not_a_jvm_image_has_nothing_to_predict() {
    for image in [
        "oci:testdata/images:plain-a",
        "oci:testdata/images:incident-good",
    ] {
        let run = bpdrift().args(["memory", image, "--memory", "512M"]).run();
        assert_eq!(run.code, 0, "{image}: {}", run.stderr);
        assert!(
            run.stdout.contains("nothing to predict"),
            "{image}: {}",
            run.stdout
        );
    }
    let run = bpdrift()
        .args("memory oci:testdata/images:jvm-incident --memory lots".split(' '))
        .run();
    assert_eq!(run.code, 2);
}

#[test]
fn registry_reads_only_the_layers_that_hold_inputs() {
    let reg = Registry::start();
    reg.seed("oci:testdata/images:jvm-incident", "app:incident");
    reg.clear_log();
    let (code, v) = json(&[
        "--no-cache",
        &reg.image("app:incident"),
        "--memory",
        "616300K",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["loaded_classes"], 18840);
    let (_, local) = json(&["oci:testdata/images:jvm-incident", "--memory", "616300K"]);
    assert_eq!(v["outcome"], local["outcome"]);
    let blobs: Vec<String> = reg
        .bpdrift_requests()
        .into_iter()
        .filter(|r| r.path.contains("/blobs/"))
        .map(|r| r.path)
        .collect();
    // The config, then exactly the buildpack and application layers (by the generator's
    // inventory): never the run-image layers, nor the launcher, config, process-types or SBOM.
    let inventory: Value = serde_json::from_slice(
        &std::fs::read(crate::common::root().join("testdata/inventory.json")).unwrap(),
    )
    .unwrap();
    let tag = &inventory["tags"]["jvm-incident"];
    let mut wanted: Vec<String> = tag["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            let name = l["name"].as_str().unwrap();
            name.starts_with("paketo-buildpacks/") || name.starts_with("app:")
        })
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    wanted.push(tag["config"]["digest"].as_str().unwrap().to_string());
    wanted.sort();
    wanted.dedup();
    let mut got: Vec<String> = blobs
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, wanted, "each needed blob exactly once");

    // A rerun with the cache: one HEAD for the tag, no blob at all (what each layer holds is
    // cached by its digest).
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let (_, first) = json(&[
        "--cache-dir",
        cache_dir,
        &reg.image("app:incident"),
        "--memory",
        "616300K",
    ]);
    reg.clear_log();
    let (_, second) = json(&[
        "--cache-dir",
        cache_dir,
        &reg.image("app:incident"),
        "--memory",
        "616300K",
    ]);
    assert_eq!(second["outcome"], first["outcome"]);
    let reqs = reg.bpdrift_requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0].method, "HEAD");
}

#[test]
fn diff_with_memory_flags_what_no_longer_fits() {
    let run = bpdrift()
        .args("diff --format json --fail-on never --memory 616300K oci:testdata/images:jvm-threads-50 oci:testdata/images:jvm-incident".split(' '))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["memory"]["before"]["outcome"]["starts"], true);
    assert_eq!(v["memory"]["after"]["outcome"]["starts"], false);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "memory-no-longer-fits")
        .expect("finding");
    assert_eq!(f["severity"], "error");
    assert!(f["summary"].as_str().unwrap().contains("632382K"), "{f}");

    // 50 → 250 threads in a container where both start: a warning, +200 MiB.
    let run = bpdrift()
        .args(
            "diff --format markdown --no-default-rules --fail-on warning --memory 640M".split(' '),
        )
        .args([
            "oci:testdata/images:jvm-threads-50",
            "oci:testdata/images:jvm-threads-250",
        ])
        .run();
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("needs 200 MiB more to start"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("#### JVM memory in a container limited to 640M")
    );
}

#[test]
fn archives_give_the_same_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("jvm.oci.tar");
    let docker = dir.path().join("jvm.docker.tar");
    for dest in [
        format!("oci-archive:{}:jvm", oci.display()),
        format!(
            "docker-archive:{}:example.com/jvm:incident",
            docker.display()
        ),
    ] {
        let out = std::process::Command::new("skopeo")
            .args(["copy", "--quiet", "oci:testdata/images:jvm-incident", &dest])
            .current_dir(crate::common::root())
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_, layout) = json(&["oci:testdata/images:jvm-incident", "--memory", "616300K"]);
    for image in [
        format!("oci-archive:{}:jvm", oci.display()),
        format!("docker-archive:{}", docker.display()),
    ] {
        let (code, v) = json(&[&image, "--memory", "616300K"]);
        assert_eq!(code, 1, "{image}");
        assert_eq!(v["app_classes"], layout["app_classes"], "{image}");
        assert_eq!(v["outcome"], layout["outcome"], "{image}");
    }
}

#[test]
fn platform_all_keeps_the_memory_prediction() {
    // The copy of the pipeline that `--platform all` once had dropped `--memory`.
    let run = bpdrift()
        .args("diff --format json --fail-on never --platform all --memory 616300K oci:testdata/images:jvm-threads-50 oci:testdata/images:jvm-incident".split(' '))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let platforms = v["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    for p in platforms {
        let r = &p["report"];
        assert_eq!(r["memory"]["before"]["outcome"]["starts"], true, "{p}");
        assert_eq!(r["memory"]["after"]["outcome"]["starts"], false, "{p}");
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "memory-no-longer-fits"),
            "{p}"
        );
    }
    let text = bpdrift()
        .args("diff --platform all --memory 616300K oci:testdata/images:jvm-threads-50 oci:testdata/images:jvm-incident".split(' '))
        .run();
    assert!(text.stdout.contains("616300K"), "{}", text.stdout);
}

/// Issue 14: `--memory` takes what users type and refuses zero with a clear line (exit 2).
#[test]
fn memory_flag_takes_what_users_type() {
    for size in ["1Gi", "512MB", "1.5G"] {
        let run = bpdrift()
            .args(["memory", "--format", "json", "--memory"])
            .arg(size)
            .arg("oci:testdata/images:jvm-threads-50")
            .run();
        assert_eq!(run.code, 0, "{size}: {}", run.stderr);
    }
    for (size, words) in [("0", "is zero"), ("-512M", "is negative")] {
        let run = bpdrift()
            .args([
                "memory",
                &format!("--memory={size}"),
                "oci:testdata/images:jvm-threads-50",
            ])
            .run();
        assert_eq!(run.code, 2, "{size}");
        assert!(run.stderr.contains(words), "{size}: {}", run.stderr);
        assert!(!run.stderr.contains("pattern"), "{}", run.stderr);
    }
}

/// Issue 14: `memory --format json` is versioned, with byte counts as numbers beside the
/// formatted sizes and no prose inside fields.
#[test]
fn memory_json_is_versioned_with_numeric_bytes() {
    let run = bpdrift()
        .args("memory --format json --memory 512M oci:testdata/images:jvm-threads-50".split(' '))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["outcome"]["limit"], "512M");
    assert_eq!(v["outcome"]["limit_bytes"], 512 * 1024 * 1024);
    assert!(v["outcome"]["fixed_bytes"].is_i64(), "{v:#}");
    let min = v["minimum_limit"].as_str().unwrap();
    assert!(!min.contains(' '), "no prose in `minimum_limit`: {min}");
    assert_eq!(
        v["minimum_limit_bytes"].as_i64().unwrap() / 1024,
        min.trim_end_matches('K').parse::<i64>().unwrap()
    );
    assert!(v["minimum_limit_heap_bytes"].is_i64());
    let d = &v["app_detail"][0];
    assert!(d["path"].is_string() && d["classes"].is_i64(), "{d}");
}

/// Issue 14: an image built with bellsoft-liberica but without the class count is told what is
/// missing, not "not a Paketo JVM image".
#[test]
fn memory_says_what_is_missing() {
    let run = bpdrift()
        .args(["memory", "oci:testdata/images:incident-good"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stdout.contains("not a Paketo JVM image"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("missing BPI_JVM_CLASS_COUNT"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("layers of paketo-buildpacks/bellsoft-liberica"),
        "{}",
        run.stdout
    );
}

/// `--env` is the platform's env: the image's `.append` files still extend it, as the launcher
/// does, so the prediction sees `-XX:+ExitOnOutOfMemoryError` and the user's flag alike.
#[test]
fn env_flag_keeps_the_images_appended_options() {
    let run = bpdrift()
        .args("memory oci:testdata/images:jvm-incident --env JAVA_TOOL_OPTIONS=-Dmine=1 --format json".split(' '))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let jto = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "JAVA_TOOL_OPTIONS")
        .unwrap();
    let value = jto["value"].as_str().unwrap();
    assert!(value.starts_with("-Dmine=1 "), "{value}");
    assert!(value.ends_with(" -XX:+ExitOnOutOfMemoryError"), "{value}");
    assert!(
        jto["from"]
            .as_str()
            .unwrap()
            .starts_with("--env + /layers/"),
        "{jto}"
    );
}
