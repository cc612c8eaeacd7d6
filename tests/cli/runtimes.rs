//! Runtimes read where each buildpack family records them, and the family rules that key on
//! them, end to end on images built the way the real buildpacks record the version
//! (`testdata/generate.py`, `FAMILY_TAGS`): a crossing pair fires a specific, sourced finding; a
//! neighbour on the same side raises none; the way back is worded as a rollback. The SBOM layer
//! is read only for images whose buildpacks record the runtime nowhere else.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{Registry, bpdrift, diff_json, oci, settings};

/// Findings of rules of a family (the generic buildpack-move rules and computed findings are
/// not family knowledge).
fn specific(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let r = f["rule"].as_str().unwrap();
            !r.starts_with("buildpack-")
                && !r.starts_with("builder-")
                && !r.contains("same-version")
        })
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (before, after, runtime item, the rule that must fire, its severity). One per family, each
/// recorded as its buildpack family records it.
const CROSSINGS: &[(&str, &str, &str, &str, &str)] = &[
    // Paketo node-engine: the SBOM's `Node Engine` (purl `pkg:generic/node@v…`).
    (
        "node-20",
        "node-22",
        "node",
        "node-22-stream-highwatermark-64k",
        "warning",
    ),
    // Paketo go-build: syft's `stdlib` (`go1.23.4`) and DefaultGODEBUG in the build settings.
    (
        "go-1.22",
        "go-1.23",
        "go",
        "go-1.23-timer-changes",
        "warning",
    ),
    // heroku/python: layer metadata `python_version`.
    (
        "python-3.12",
        "python-3.13",
        "python",
        "python-3.13-dead-batteries-removed",
        "info",
    ),
    // Paketo dotnet-core-aspnet-runtime: the SBOM's `ASP.NET Core Runtime`.
    (
        "dotnet-8",
        "dotnet-9",
        "dotnet",
        "dotnet-9.0-datas-default",
        "info",
    ),
    // Paketo mri: the SBOM's `Ruby`.
    (
        "ruby-3.3",
        "ruby-3.4",
        "ruby",
        "ruby-3.4-happy-eyeballs-v2",
        "warning",
    ),
    // google.php.runtime: flat `version`.
    (
        "php-8.3",
        "php-8.4",
        "php",
        "php-8.4-extensions-moved-to-pecl",
        "info",
    ),
    // Paketo nginx: the SBOM's `Nginx Server`.
    (
        "nginx-1.27.2",
        "nginx-1.27.3",
        "nginx",
        "webservers-nginx-1.27.3-tls10-tls11-off-by-default",
        "info",
    ),
    // heroku/jvm: the JDK's download URL.
    (
        "java-17.0.4",
        "java-17.0.5",
        "java",
        "jvm-17.0.5-cpu-shares-ignored",
        "warning",
    ),
    // The run image: stack id and distro labels (Paketo jammy → noble).
    (
        "node-22",
        "node-22-noble",
        "distro ubuntu",
        "run-image-paketo-noble-run-gid-1001",
        "warning",
    ),
    // The lifecycle: the launcher's version in build metadata.
    (
        "node-22-lifecycle-0.14",
        "node-22-lifecycle-0.15",
        "lifecycle",
        "lifecycle-0.15.0-metadata-toml-processes-unparseable",
        "info",
    ),
];

/// Pairs on the same side of every boundary above: no family finding at all.
const NEIGHBOURS: &[(&str, &str)] = &[
    ("node-22", "node-22-next"),
    ("go-1.23", "go-1.23-next"),
    ("python-3.13", "python-3.13-next"),
    ("dotnet-9", "dotnet-9-next"),
    ("ruby-3.4", "ruby-3.4-next"),
    ("php-8.4", "php-8.4-next"),
    ("nginx-1.27.3", "nginx-1.27.4"),
    ("java-17.0.5", "java-17.0.6"),
    ("node-22-noble", "node-22-noble-next"),
    ("node-22-lifecycle-0.15", "node-22-lifecycle-0.15.2"),
];

#[test]
fn every_family_crossing_fires_its_sourced_finding() {
    for (before, after, item, rule, severity) in CROSSINGS {
        let v = diff_json(before, after, &[]);
        let found = specific(&v);
        let f = found
            .iter()
            .find(|(r, _, _)| r == rule)
            .unwrap_or_else(|| panic!("{before} → {after}: no {rule} in {found:#?}"));
        assert_eq!(f.1, *severity, "{before} → {after}: {rule}");
        // The finding carries its source, and the item moved as the image records it.
        let full = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == *rule)
            .unwrap();
        assert!(
            full["sources"][0].as_str().unwrap().starts_with("https://"),
            "{full}"
        );
        if *item != "lifecycle" {
            let moved = v["changes"].as_array().unwrap().iter().any(|c| {
                c["category"] == "runtime" && c["subject"] == *item && c["status"] == "changed"
            });
            assert!(
                moved,
                "{before} → {after}: {item} did not move: {:#}",
                v["changes"]
            );
        }
    }
}

#[test]
fn neighbours_on_the_same_side_raise_nothing_specific() {
    for (before, after) in NEIGHBOURS {
        let v = diff_json(before, after, &[]);
        assert_eq!(specific(&v), [], "{before} → {after}");
    }
}

#[test]
fn the_way_back_is_worded_as_a_rollback() {
    for (before, after, _, rule, _) in CROSSINGS {
        let v = diff_json(after, before, &[]);
        let back = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == *rule);
        // A bug window fires on the new version alone; a crossing's way back is said as such.
        if let Some(f) = back {
            assert_eq!(f["severity"], "info", "{after} → {before}: {f}");
            let s = f["summary"].as_str().unwrap();
            assert!(s.contains("back"), "{after} → {before}: {s}");
        } else {
            assert!(
                rule.starts_with("lifecycle-0.15.0"),
                "{after} → {before}: the rollback of {rule} said nothing"
            );
        }
    }
}

/// The Go toolchain's timer change applies only when the binary's go line is 1.23 or later,
/// which its `DefaultGODEBUG` build setting shows: the same toolchain with an older go line is
/// counted as a rule that did not apply, and `--all` says why.
#[test]
fn the_go_line_decides_and_the_image_shows_it() {
    let v = diff_json("go-1.22", "go-1.23-oldline", &["--all"]);
    assert!(
        specific(&v)
            .iter()
            .all(|(r, _, _)| r != "go-1.23-timer-changes")
    );
    assert_eq!(v["summary"]["not_applicable"], 1);
    let na = &v["not_applicable"][0];
    assert_eq!(na["rule"], "go-1.23-timer-changes");
    assert!(
        na["note"]
            .as_str()
            .unwrap()
            .contains("DefaultGODEBUG keeps asynctimerchan=1"),
        "{na}"
    );
    // The image's own env overrides every default: GODEBUG is the platform's to set, and a
    // rule file can ask for the setting too.
    let run = bpdrift()
        .args([
            "diff",
            &oci("go-1.22"),
            &oci("go-1.23"),
            "--format",
            "markdown",
        ])
        .run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("runtimes_go_markdown", run.stdout));
}

/// `inspect` shows each image's runtimes and where each was read.
#[test]
fn inspect_shows_the_runtimes_view() {
    let tags = [
        "node-22",
        "go-1.23",
        "python-3.13",
        "dotnet-9",
        "ruby-3.4",
        "php-8.4",
        "nginx-1.27.3",
        "java-17.0.5",
        "incident-good",
    ];
    let args: Vec<String> = ["inspect", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .chain(tags.iter().map(|t| oci(t)))
        .collect();
    let run = bpdrift().args(&args).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let seen: Vec<String> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["runtimes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} ({})",
                        r["name"].as_str().unwrap(),
                        r["version"].as_str().unwrap(),
                        r["source"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    settings(&[]).bind(|| assert_snapshot!("runtimes_inspect", seen.join("\n")));
    let table = bpdrift()
        .args(["inspect", &oci("go-1.23"), &oci("php-8.4")])
        .run();
    settings(&[]).bind(|| assert_snapshot!("runtimes_inspect_table", table.snapshot()));
}

/// `--no-sbom`: the launch SBOM layer is not read, so the runtimes recorded only there are
/// unknown and their rules cannot fire (said in the runtimes view by their absence).
#[test]
fn no_sbom_reads_no_layer() {
    let v = diff_json("node-20", "node-22", &["--no-sbom"]);
    assert!(specific(&v).is_empty(), "{:#?}", specific(&v));
    assert!(
        !v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["category"] == "runtime" && c["subject"] == "node")
    );
}

/// From a registry: the SBOM layer is one blob GET per image, cached by digest (a second run
/// reads none); images whose buildpacks record their runtime in labels cost no blob at all.
#[test]
fn the_sbom_layer_is_one_blob_and_cached() {
    let reg = Registry::start();
    reg.seed(&oci("node-20"), "node:20");
    reg.seed(&oci("node-22"), "node:22");
    reg.seed(&oci("python-3.12"), "py:312");
    reg.seed(&oci("python-3.13"), "py:313");
    reg.clear_log();
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().to_str().unwrap().to_string();
    let run = |a: &str, b: &str| {
        let r = bpdrift()
            .args([
                "diff",
                "--fail-on",
                "never",
                "--cache-dir",
                &cache,
                &reg.image(a),
                &reg.image(b),
            ])
            .run();
        assert_eq!(r.code, 0, "{}", r.stderr);
        r
    };
    let blobs = |reg: &Registry| {
        reg.bpdrift_requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.contains("/blobs/"))
            .count()
    };
    let first = run("node:20", "node:22");
    assert!(
        first.stdout.contains("node 20.18.1 → 22.11.0"),
        "{}",
        first.stdout
    );
    // Two configs and two SBOM layers.
    assert_eq!(blobs(&reg), 4, "{:#?}", reg.bpdrift_requests());
    reg.clear_log();
    let again = run("node:20", "node:22");
    assert_eq!(again.stdout, first.stdout);
    assert_eq!(blobs(&reg), 0, "{:#?}", reg.bpdrift_requests());
    reg.clear_log();
    // heroku/python records the version in its layer metadata: two configs, no layer.
    let py = run("py:312", "py:313");
    assert!(
        py.stdout.contains("python 3.12.8 → 3.13.1"),
        "{}",
        py.stdout
    );
    assert_eq!(blobs(&reg), 2, "{:#?}", reg.bpdrift_requests());
}
