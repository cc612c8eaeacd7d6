//! SARIF 2.1.0 for GitHub code scanning, validated against the official OASIS schema
//! (testdata/sarif/, draft-04) with the same validator as the JSON Schemas: one result per
//! finding, each with a location in the file that pins the image and a rule the driver defines;
//! fingerprints that do not move between runs.

use std::path::PathBuf;

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{bpdrift, report_args, root, settings};
use crate::schema::assert_valid;

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";
/// `diff` of the incident pair as SARIF; more arguments follow.
const PAIR: [&str; 5] = ["diff", GOOD, BAD, "--format", "sarif"];

/// [`PAIR`] with `--sarif-location LOCATION`.
fn located(location: &str) -> Vec<&str> {
    [&PAIR[..], &["--sarif-location", location]].concat()
}

fn official_schema() -> PathBuf {
    root().join("testdata/sarif/sarif-schema-2.1.0.json")
}

/// Runs bpdrift, validates its stdout as SARIF, returns it parsed.
fn sarif(args: &[&str], code: i32) -> Value {
    let run = bpdrift().args(args).run();
    assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.sarif");
    std::fs::write(&path, &run.stdout).unwrap();
    assert_valid(&official_schema(), &[path]);
    serde_json::from_str(&run.stdout).unwrap()
}

fn results(v: &Value) -> &Vec<Value> {
    v["runs"][0]["results"].as_array().unwrap()
}

/// Every result names a rule the driver defines (by id and index) and points at `uri`, with a
/// fingerprint; the fingerprints differ between results.
fn check_results(v: &Value, uri: &str) {
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let mut prints = std::collections::BTreeSet::new();
    for r in results(v) {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"], "{r}");
        let level = rules[index]["defaultConfiguration"]["level"]
            .as_str()
            .unwrap();
        assert!(["error", "warning", "note"].contains(&level), "{level}");
        assert!(
            rules[index]["helpUri"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
        assert!(!rules[index]["help"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], uri, "{r}");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        let fp = r["partialFingerprints"]["bpdriftFinding/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 64);
        assert!(prints.insert(fp.to_string()), "fingerprint {fp} twice");
    }
    let ids: std::collections::BTreeSet<&str> =
        rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), rules.len(), "each rule once");
}

#[test]
fn incident_pair_sarif_has_one_valid_result_per_finding() {
    let v = sarif(&PAIR, 0);
    let json = bpdrift()
        .args(["diff", GOOD, BAD, "--format", "json"])
        .run();
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert_eq!(results(&v).len(), findings.len(), "one result per finding");
    for (r, f) in results(&v).iter().zip(findings) {
        assert_eq!(r["ruleId"], f["rule"]);
        let level = match f["severity"].as_str().unwrap() {
            "info" => "note",
            other => other,
        };
        assert_eq!(r["level"], level);
        assert!(
            r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with(f["summary"].as_str().unwrap())
        );
    }
    check_results(&v, "project.toml");
    // The same pair again: the same alerts.
    let again = sarif(&PAIR, 0);
    let prints = |v: &Value| -> Vec<Value> {
        results(v)
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(prints(&v), prints(&again));
    let text = serde_json::to_string_pretty(&v).unwrap();
    let version = format!(r#""{}""#, env!("CARGO_PKG_VERSION").replace('.', r"\."));
    settings(&[(version.as_str(), r#""[VERSION]""#)])
        .bind(|| assert_snapshot!("incident_sarif", text));
}

/// A result points at the line of the pinning file that names its buildpack; the fingerprint
/// is the same whatever the versions (it names rule, subject and scope only).
#[test]
fn results_point_at_the_line_naming_their_subject() {
    let dir = root().join("target/sarif-location-test");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("project.toml"),
        "[_]\nschema-version = \"0.2\"\n\n[io.buildpacks]\nbuilder = \"paketobuildpacks/builder-jammy-base\"\n\n[[io.buildpacks.group]]\nid = \"paketo-buildpacks/bellsoft-liberica\"\n",
    )
    .unwrap();
    let v = sarif(&located("./target/sarif-location-test/project.toml"), 0);
    check_results(&v, "target/sarif-location-test/project.toml");
    for r in results(&v) {
        let line = &r["locations"][0]["physicalLocation"]["region"]["startLine"];
        let subject = r["properties"]["subject"].as_str().unwrap();
        let want = if subject.contains("paketo-buildpacks/bellsoft-liberica") {
            8
        } else {
            5
        };
        assert_eq!(line, want, "{subject}");
    }
    // Absolute paths under the working directory are made relative; others are refused.
    let abs = dir.join("project.toml");
    let run = bpdrift()
        .args(["diff", GOOD, BAD, "--format", "sarif", "--sarif-location"])
        .arg(&abs)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains(r#""uri": "target/sarif-location-test/project.toml""#)
    );
    for outside in ["/etc/hosts", "../project.toml"] {
        let run = bpdrift().args(located(outside)).run();
        assert_eq!(run.code, 2, "{outside}: {}", run.stdout);
        assert!(run.stderr.contains("--sarif-location"), "{}", run.stderr);
    }
}

#[test]
fn every_platform_and_the_fleet_report_write_valid_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let v = sarif(
        &[
            "diff",
            "oci:testdata/images:multiarch",
            "oci:testdata/images:multiarch-next",
            "--platform",
            "all",
            "--format",
            "sarif",
        ],
        0,
    );
    check_results(&v, "project.toml");

    let history = dir.path().join("history.sqlite");
    let history = history.to_str().unwrap();
    let report = |now: &str| {
        let args = report_args("examples/fleet.toml", history, "sarif", now);
        sarif(&args, 0)
    };
    let first = report("2026-11-20T06:00:00Z");
    check_results(&first, "examples/fleet.toml");
    assert!(!results(&first).is_empty());
    let fleet = std::fs::read_to_string(root().join("examples/fleet.toml")).unwrap();
    let line_of = |needle: &str| fleet.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for r in results(&first) {
        let service = r["properties"]["scope"].as_str().unwrap();
        let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap() as usize;
        assert_eq!(line, line_of(&format!("name = \"{service}\"")), "{r}");
    }
    // The next run: the same alerts, fingerprint for fingerprint.
    let second = report("2026-11-21T06:00:00Z");
    let prints = |v: &Value| -> std::collections::BTreeSet<String> {
        results(v)
            .iter()
            .map(|r| r["partialFingerprints"].to_string())
            .collect()
    };
    assert_eq!(prints(&first), prints(&second));
}

/// `github comment` (the Action's step) writes `report.sarif` beside the JSON report, pointing
/// at `--sarif-location` (the Action's `sarif-location` input), for the upload step.
#[test]
fn github_comment_writes_the_sarif_the_action_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let run = bpdrift()
        .args(["github", "comment", "--no-comment", "--report-json"])
        .arg(dir.path().join("out/report.json"))
        .args(["--sarif-location", "deploy/app.toml", GOOD, BAD])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = dir.path().join("out/report.sarif");
    assert_valid(&official_schema(), std::slice::from_ref(&path));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    check_results(&v, "deploy/app.toml");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    assert_eq!(
        results(&v).len(),
        json["findings"].as_array().unwrap().len()
    );
    // The Action passes the input on and uploads what the step output names.
    let action = std::fs::read_to_string(root().join("action.yml")).unwrap();
    assert!(action.contains("github/codeql-action/upload-sarif@"));
    assert!(action.contains("sarif_file: ${{ steps.run.outputs.sarif }}"));
    let run_sh = std::fs::read_to_string(root().join("action/run.sh")).unwrap();
    assert!(run_sh.contains(r#"--sarif-location "$INPUT_SARIF_LOCATION""#));
}
