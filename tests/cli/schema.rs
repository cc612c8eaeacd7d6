//! The JSON Schemas: every real JSON output of every command, every JSON snapshot and every
//! example file validates against its schema (`bpdrift schema NAME`) with a real validator (the
//! Python `jsonschema` package, also checking each schema against the draft 2020-12
//! meta-schema); a document with a required property removed or a type changed does not; the
//! committed `schemas/*.schema.json` are what the binary prints. (SARIF snapshots are checked
//! against the official SARIF schema here too.)

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::common::{bpdrift, report_args, root};

/// Every schema name `bpdrift schema` knows.
const NAMES: &[&str] = &[
    "diff",
    "inspect",
    "memory",
    "report",
    "history",
    "rules-list",
    "rules",
    "fleet",
];

/// The validator's verdict on each instance: `ok PATH` or `invalid PATH: <path>: <message>`
/// lines. The validator is the `jsonschema` package scripts/test.sh installs into
/// target/lint-tools (the system's works too).
pub fn validate(schema: &Path, instances: &[PathBuf]) -> Vec<String> {
    let tools = root().join("target/lint-tools");
    let out = Command::new("python3")
        .arg(root().join("tests/cli/common/validate.py"))
        .arg(schema)
        .args(instances)
        .env("PYTHONPATH", &tools)
        .output()
        .expect("python3 runs (scripts/test.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the validator failed (scripts/test.sh installs `jsonschema` into {}): {stderr}",
        tools.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Asserts every instance is valid, naming each error otherwise.
pub fn assert_valid(schema: &Path, instances: &[PathBuf]) {
    assert!(!instances.is_empty());
    let lines = validate(schema, instances);
    let invalid: Vec<&String> = lines.iter().filter(|l| !l.starts_with("ok ")).collect();
    assert!(
        invalid.is_empty(),
        "against {}:\n{}",
        schema.display(),
        invalid
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(lines.len(), instances.len(), "{lines:?}");
}

/// `bpdrift schema NAME`, written to `dir`.
fn schema_file(dir: &Path, name: &str) -> PathBuf {
    let run = bpdrift().args(["schema", name]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = dir.join(format!("{name}.schema.json"));
    std::fs::write(&path, &run.stdout).unwrap();
    path
}

/// Runs bpdrift and keeps its stdout as `dir/<file>`; asserts the exit code.
fn output(dir: &Path, file: &str, args: &[&str], code: i32) -> PathBuf {
    let run = bpdrift().args(args).run();
    assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
    serde_json::from_str::<Value>(&run.stdout)
        .unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}): {}", run.stdout));
    let path = dir.join(file);
    std::fs::write(&path, &run.stdout).unwrap();
    path
}

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

#[test]
fn every_json_output_validates_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let img = |tag: &str| format!("oci:testdata/images:{tag}");
    let (multi, multi_next) = (img("multiarch"), img("multiarch-next"));
    let (sbom_a, sbom_b) = (img("sbom-before"), img("sbom-after"));
    let (threads_a, threads_b) = (img("jvm-threads-50"), img("jvm-threads-250"));

    let diffs = vec![
        output(d, "diff.json", &["diff", GOOD, BAD, "--format", "json"], 0),
        output(
            d,
            "diff-all.json",
            &["diff", GOOD, BAD, "--format", "json", "--all"],
            0,
        ),
        output(
            d,
            "diff-platforms.json",
            &[
                "diff",
                &multi,
                &multi_next,
                "--platform",
                "all",
                "--format",
                "json",
            ],
            0,
        ),
        output(
            d,
            "diff-sbom.json",
            &["diff", &sbom_a, &sbom_b, "--sbom", "--format", "json"],
            0,
        ),
        output(
            d,
            "diff-memory.json",
            &[
                "diff",
                &threads_a,
                &threads_b,
                "--memory",
                "1G",
                "--format",
                "json",
                "--fail-on",
                "never",
            ],
            0,
        ),
        output(
            d,
            "diff-kinds.json",
            &[
                "diff",
                &img("plain-a"),
                &img("builder-2025"),
                "--format",
                "json",
            ],
            0,
        ),
    ];
    assert_valid(&schema_file(d, "diff"), &diffs);

    let inspects = vec![
        output(
            d,
            "inspect.json",
            &["inspect", GOOD, BAD, "--format", "json"],
            0,
        ),
        output(
            d,
            "inspect-platforms.json",
            &["inspect", &multi, "--platform", "all", "--format", "json"],
            0,
        ),
        output(
            d,
            "inspect-sbom.json",
            &["inspect", &sbom_b, "--sbom", "--format", "json"],
            0,
        ),
    ];
    assert_valid(&schema_file(d, "inspect"), &inspects);

    let memories = vec![
        output(
            d,
            "memory.json",
            &["memory", &threads_b, "--memory", "1G", "--format", "json"],
            0,
        ),
        output(
            d,
            "memory-plain.json",
            &["memory", &img("plain-a"), "--format", "json"],
            0,
        ),
    ];
    assert_valid(&schema_file(d, "memory"), &memories);

    let history = d.join("history.sqlite");
    let history = history.to_str().unwrap();
    let fleet = root().join("examples/fleet.toml");
    let fleet = fleet.to_str().unwrap();
    let mut reports = Vec::new();
    for (i, now) in ["2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"]
        .iter()
        .enumerate()
    {
        let args = report_args(fleet, history, "json", now);
        reports.push(output(d, &format!("report-{i}.json"), &args, 0));
    }
    assert_valid(&schema_file(d, "report"), &reports);

    let histories = vec![
        output(
            d,
            "history.json",
            &["history", "--history", history, "--format", "json"],
            0,
        ),
        output(
            d,
            "history-one.json",
            &[
                "history",
                "checkout",
                "--history",
                history,
                "--format",
                "json",
            ],
            0,
        ),
    ];
    assert_valid(&schema_file(d, "history"), &histories);

    let lists = vec![
        output(d, "rules.json", &["rules", "list", "--format", "json"], 0),
        output(
            d,
            "rules-user.json",
            &[
                "rules",
                "list",
                "--format",
                "json",
                "--rules",
                "examples/rules/team.toml",
            ],
            0,
        ),
    ];
    assert_valid(&schema_file(d, "rules-list"), &lists);
}

/// The body of an insta snapshot file (after its `---` header).
fn snapshot_body(text: &str) -> &str {
    let rest = text.strip_prefix("---\n").expect("insta header");
    let end = rest.find("\n---\n").expect("insta header end");
    &rest[end + 5..]
}

#[test]
fn every_json_snapshot_validates_against_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let schema: Value =
        serde_json::from_str(&bpdrift().args(["schema", "diff"]).run().stdout).unwrap();
    // A schema for a part of the diff document: its root points into the same `$defs`.
    let part = |def: &str| {
        let mut s = schema.clone();
        let m = s.as_object_mut().unwrap();
        m.remove("anyOf");
        m.insert("$ref".into(), json!(format!("#/$defs/{def}")));
        let path = dir.path().join(format!("{def}.schema.json"));
        std::fs::write(&path, serde_json::to_string(&s).unwrap()).unwrap();
        path
    };
    let whole = dir.path().join("diff.schema.json");
    std::fs::write(&whole, serde_json::to_string(&schema).unwrap()).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("tests/cli/snapshots")).unwrap() {
        let path = entry.unwrap().path();
        // Accepted snapshots only (not a pending `.snap.new`).
        if path.extension().is_none_or(|e| e != "snap") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body = snapshot_body(&text);
        let Ok(doc) = serde_json::from_str::<Value>(body) else {
            continue;
        };
        let header = &text[..text.len() - body.len()];
        let schema = if doc.get("schema_version").is_some() && doc.get("summary").is_some() {
            whole.clone()
        } else if doc["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-schema-2.1.0"))
        {
            root().join("testdata/sarif/sarif-schema-2.1.0.json")
        } else if header.contains(r#"[\"packages\"]"#) {
            part("PackagesDiff")
        } else {
            panic!(
                "{}: a JSON snapshot this test does not know the schema of",
                path.display()
            );
        };
        let instance = dir
            .path()
            .join(path.file_name().unwrap())
            .with_extension("json");
        std::fs::write(&instance, body).unwrap();
        assert_valid(&schema, &[instance]);
        checked += 1;
    }
    assert!(checked >= 3, "JSON snapshots found: {checked}");
}

#[test]
fn example_and_builtin_files_validate_against_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut rule_files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(!rule_files.is_empty());
    rule_files.extend(
        std::fs::read_dir(root().join("src/rules/builtin"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    rule_files.sort();
    assert_valid(&schema_file(dir.path(), "rules"), &rule_files);
    assert_valid(
        &schema_file(dir.path(), "fleet"),
        &[root().join("examples/fleet.toml")],
    );
}

/// A broken document is rejected: a required property removed, a type changed, a version from
/// another major, a misspelt key in a rule file, an unknown severity.
#[test]
fn broken_documents_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = output(d, "good.json", &["diff", GOOD, BAD, "--format", "json"], 0);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let broken = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut v = doc.clone();
        edit(&mut v);
        let path = d.join(name);
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
        path
    };
    let cases = [
        broken("no-summary.json", &|v| {
            v.as_object_mut().unwrap().remove("summary");
        }),
        broken("no-kind.json", &|v| {
            v["after"].as_object_mut().unwrap().remove("kind");
        }),
        broken("hidden-as-string.json", &|v| {
            v["unchanged_hidden"] = json!("32");
        }),
        broken("severity-typo.json", &|v| {
            v["findings"][0]["severity"] = json!("high");
        }),
        broken("version-4.json", &|v| v["schema_version"] = json!(4)),
    ];
    let schema = schema_file(d, "diff");
    let lines = validate(&schema, &cases);
    for (case, why) in cases.iter().zip([
        "'summary' is a required property",
        "'kind' is a required property",
        "'32' is not of type 'integer'",
        "$.findings[0].severity: 'warning' was expected",
        "$.schema_version: 3 was expected",
    ]) {
        let name = case.display().to_string();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("invalid {name}")) && l.contains(why)),
            "{name} should be invalid ({why}): {lines:?}"
        );
        assert!(!lines.contains(&format!("ok {name}")), "{lines:?}");
    }
    assert_valid(&schema, &[good]);

    let rules = d.join("typo.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"x\"\nseverity = \"high\"\nsumary = \"typo\"\nbuildpack = \"a/b\"\n",
    )
    .unwrap();
    let lines = validate(&schema_file(d, "rules"), std::slice::from_ref(&rules));
    let text = lines.join("\n");
    assert!(text.contains("'summary' is a required property"), "{text}");
    assert!(text.contains("'sumary' was unexpected"), "{text}");
    assert!(
        text.contains("$.rule[0].severity: 'info' was expected"),
        "{text}"
    );
}

/// `schemas/NAME.schema.json` is what `bpdrift schema NAME` prints: a change to an output type
/// shows in review as a change to its schema. `BPDRIFT_UPDATE_SCHEMAS=1` rewrites them.
#[test]
fn committed_schemas_are_current_and_linked_from_the_docs() {
    let docs = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    let update = std::env::var_os("BPDRIFT_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for name in NAMES {
        let run = bpdrift().args(["schema", name]).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let file = root().join(format!("schemas/{name}.schema.json"));
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &run.stdout).unwrap();
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(run.stdout.as_str()) {
            stale.push(file.display().to_string());
        }
        assert!(
            docs.contains(&format!("(../schemas/{name}.schema.json)")),
            "docs/json.md links schemas/{name}.schema.json"
        );
    }
    assert!(
        stale.is_empty(),
        "stale schemas (run `BPDRIFT_UPDATE_SCHEMAS=1 cargo test --test cli schema`): {stale:?}"
    );
    let run = bpdrift().args(["schema", "nope"]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("possible values: diff"),
        "{}",
        run.stderr
    );
}
