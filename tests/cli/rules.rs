//! Rules from the command line: user rule files, `--fail-on`, diagnostics, `rules list|check`.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{bpdrift, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";
const FIX: &str = "tests/cli/fixtures/rules";

/// `rules check` of a fixture with mistakes: exit 2, the run for its messages.
fn check_fixture(name: &str) -> crate::common::Run {
    let run = bpdrift()
        .args(["rules", "check", &format!("{FIX}/{name}.toml")])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    run
}

fn rule_ids(v: &Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn mistakes_are_all_reported_with_positions() {
    let run = check_fixture("mistakes");
    for pos in [":7:1", ":13:14", ":20:8", ":25:6", ":27:12", ":34:9"] {
        assert!(
            run.stderr.contains(&format!("mistakes.toml{pos}")),
            "{pos}: {}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("6 problems"));
    settings(&[]).bind(|| assert_snapshot!("rules_mistakes", run.snapshot()));

    // The same file given to `diff` stops it before any image is read.
    let run = bpdrift()
        .args([
            "diff",
            "--rules",
            &format!("{FIX}/mistakes.toml"),
            GOOD,
            BAD,
        ])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("6 problems"));
}

#[test]
fn syntax_errors_do_not_hide_later_mistakes() {
    let run = check_fixture("syntax");
    assert!(run.stderr.contains("syntax.toml:3:36"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown severity `urgent`"),
        "{}",
        run.stderr
    );
    settings(&[]).bind(|| assert_snapshot!("rules_syntax", run.snapshot()));
}

#[test]
fn check_counts_valid_rules_and_catches_typos_against_images() {
    let run = bpdrift()
        .args([
            "rules",
            "check",
            &format!("{FIX}/levels.toml"),
            &format!("{FIX}/repo2docker.toml"),
        ])
        .run();
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "ok: 4 rules in 2 files\n")
    );
    let run = bpdrift()
        .args(["rules", "check"])
        .arg(format!("{FIX}/typo.toml"))
        .arg("--against")
        .arg(GOOD)
        .arg("--against")
        .arg(BAD)
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("`liberika-typo`"));
    assert!(!run.stdout.contains("`spring-boot-ok`"));
    let run = bpdrift()
        .args(["rules", "check", "tests/cli/fixtures/rules/none.toml"])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("none.toml"));
}

#[test]
fn user_label_rule_fires_on_a_plain_image() {
    let args = |extra: &[&str]| {
        let mut v = vec!["diff", "--format", "json", "--rules"];
        v.push("tests/cli/fixtures/rules/repo2docker.toml");
        v.extend_from_slice(extra);
        v.extend_from_slice(&["oci:testdata/images:plain-a", "oci:testdata/images:plain-b"]);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = bpdrift().args(args(&[])).run();
    assert_eq!(
        run.code, 0,
        "a warning does not fail by default: {}",
        run.stderr
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        rule_ids(&v),
        vec![(
            "repo2docker-version-changed".to_string(),
            "warning".to_string()
        )]
    );
    assert_eq!(
        v["findings"][0]["summary"],
        "repo2docker 2022.10.0 → 2023.06.0: every cached image layer is rebuilt"
    );
    assert_eq!(v["findings"][0]["affects"][0], "cache");
    let run = bpdrift().args(args(&["--fail-on", "warning"])).run();
    assert_eq!(run.code, 1);
    let md = bpdrift()
        .args("diff --format markdown --rules tests/cli/fixtures/rules/repo2docker.toml oci:testdata/images:plain-a oci:testdata/images:plain-b".split(' '))
        .run();
    assert!(md.stdout.contains("⚠️ warning"), "{}", md.stdout);
    assert!(
        md.stdout.contains("[1](https://repo2docker.readthedocs.io"),
        "{}",
        md.stdout
    );
}

#[test]
fn fail_on_every_level() {
    let dir = tempfile::tempdir().unwrap();
    for present in ["info", "warning", "error"] {
        let file = dir.path().join(format!("{present}.toml"));
        std::fs::write(
            &file,
            format!(
                "[[rule]]\nid = \"only-{present}\"\nbuildpack = \"paketo-buildpacks/dist-zip\"\nseverity = \"{present}\"\nsummary = \"x\"\n"
            ),
        )
        .unwrap();
        for (fail_on, expected) in [("info", 1), ("warning", 1), ("error", 1), ("never", 0)] {
            let rank = |s: &str| {
                ["info", "warning", "error", "never"]
                    .iter()
                    .position(|x| *x == s)
            };
            let expected = if rank(present) >= rank(fail_on) {
                expected
            } else {
                0
            };
            let run = bpdrift()
                .args(["diff", "--no-default-rules", "--fail-on"])
                .arg(fail_on)
                .arg("--rules")
                .args([file.to_str().unwrap(), GOOD, BAD])
                .run();
            assert_eq!(
                run.code, expected,
                "{present} finding, --fail-on {fail_on}: {}",
                run.stderr
            );
        }
    }
    // No findings at all: never 1.
    let run = bpdrift()
        .args(["diff", "--no-default-rules", "--fail-on", "info", GOOD, BAD])
        .run();
    assert_eq!(run.code, 0);
}

#[test]
fn levels_and_replacement_of_builtins() {
    let run = bpdrift()
        .args(["diff", "--format", "json", "--rules"])
        .arg(format!("{FIX}/levels.toml"))
        .arg(GOOD)
        .arg(BAD)
        .run();
    assert_eq!(run.code, 1, "an error finding fails by default");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ids = rule_ids(&v);
    assert_eq!(
        ids[0],
        ("level-error".to_string(), "error".to_string()),
        "most severe first"
    );
    assert!(ids.contains(&("libjvm-readonly-truststore-tmp".into(), "info".into())));

    // A user rule with a built-in id replaces it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("override.toml");
    std::fs::write(
        &file,
        "[[rule]]\nid = \"syft-build-only\"\nbuildpack = \"paketo-buildpacks/syft\"\nseverity = \"error\"\nsummary = \"we care about syft\"\n",
    )
    .unwrap();
    let run = bpdrift()
        .args(["diff", "--format", "json", "--rules"])
        .arg(file.to_str().unwrap())
        .arg(GOOD)
        .arg(BAD)
        .run();
    assert_eq!(run.code, 1);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["findings"][0]["rule"], "syft-build-only");
    assert_eq!(v["findings"][0]["summary"], "we care about syft");
}

#[test]
fn rules_list() {
    let run = bpdrift().args(["rules", "list", "--format", "json"]).run();
    assert_eq!(run.code, 0);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let rules: Vec<&Value> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["origin"] != "<computed>")
        .collect();
    // One file per family, each rule with its family, boundary and sources (the generic ones
    // alone have no source: they are bpdrift's own reading of version classes).
    assert!(rules.len() >= 130, "{} rules", rules.len());
    assert!(rules.iter().all(|r| r["origin"] == "<built-in>"));
    for r in &rules {
        let family = r["family"]
            .as_str()
            .unwrap_or_else(|| panic!("no family: {r}"));
        if family != "generic" {
            assert!(!r["sources"].as_array().unwrap().is_empty(), "{r}");
        }
    }
    let families: std::collections::BTreeSet<&str> = rules
        .iter()
        .map(|r| r["family"].as_str().unwrap())
        .collect();
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        [
            "dotnet",
            "generic",
            "go",
            "jvm",
            "lifecycle",
            "node",
            "php",
            "python",
            "ruby",
            "run-image",
            "webservers"
        ]
    );
    let timer = rules
        .iter()
        .find(|r| r["id"] == "go-1.23-timer-changes")
        .unwrap();
    assert_eq!(timer["boundary"]["introduced"], "1.23.0");
    assert_eq!(timer["subject"], "runtime go");
    assert_eq!(
        timer["sources"][0],
        "https://go.dev/doc/go1.23#timer-changes"
    );
    // `--family` narrows the listing.
    let go = bpdrift()
        .args(["rules", "list", "--family", "go", "--format", "json"])
        .run();
    let go: Value = serde_json::from_str(&go.stdout).unwrap();
    assert!(
        go["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["family"] == "go")
    );
    assert!(go["rules"].as_array().unwrap().len() >= 8);
    let run = bpdrift()
        .args(["rules", "list", "--no-default-rules", "--rules"])
        .arg(format!("{FIX}/levels.toml"))
        .run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("rules_list_user", run.stdout));
    let run = bpdrift().args(["rules", "list"]).run();
    settings(&[]).bind(|| assert_snapshot!("rules_list_builtin", run.stdout));
}

#[test]
fn examples_in_the_docs_are_valid_rules() {
    let doc = std::fs::read_to_string(crate::common::root().join("docs/rules.md")).unwrap();
    let mut blocks = 0;
    for block in doc.split("```toml").skip(1) {
        let text = block.split("```").next().unwrap();
        let file = bpdrift::parse_rule_file("docs/rules.md", text);
        assert!(
            file.diagnostics.is_empty(),
            "{}",
            bpdrift::render_diagnostics(&file)
        );
        assert_eq!(file.rules.len(), 1);
        blocks += 1;
    }
    assert_eq!(blocks, 5);
}

/// Issue 14: computed findings are listed and overridable (severity or off) like built-ins.
#[test]
fn computed_findings_are_listed_and_overridable() {
    let run = bpdrift().args(["rules", "list", "--format", "json"]).run();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["origin"] == "<computed>")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "memory-no-longer-fits",
            "memory-needs-more",
            "rollback-target-vanished",
            "layer-changed-same-version",
            "platform-api-dropped",
            "buildpack-api-dropped",
            "platform-removed"
        ]
    );
    let file = format!("{FIX}/computed.toml");
    let run = bpdrift()
        .args(["rules", "list", "--format", "json", "--rules", &file])
        .run();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let sev = |id: &str| {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["severity"]
            .clone()
    };
    assert_eq!(sev("memory-needs-more"), Value::Null);
    assert_eq!(sev("memory-no-longer-fits"), "warning");

    // 50 → 250 threads: `memory-needs-more` (a warning) is off.
    let diff = |extra: &[&str]| {
        let flags = "diff --format json --fail-on warning --memory 640M --no-default-rules";
        let mut args: Vec<&str> = flags.split(' ').collect();
        args.extend([
            "oci:testdata/images:jvm-threads-50",
            "oci:testdata/images:jvm-threads-250",
        ]);
        args.extend_from_slice(extra);
        bpdrift().args(args).run()
    };
    assert_eq!(diff(&[]).code, 1);
    let run = diff(&["--rules", &file]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("memory-needs-more"));

    // A typo is a diagnostic with a suggestion.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[computed]\nmemory-needs-mor = \"off\"\n").unwrap();
    let run = bpdrift()
        .args(["rules", "check", bad.to_str().unwrap()])
        .run();
    run.assert_error("unknown computed finding `memory-needs-mor`");
    assert!(run.stderr.contains("did you mean `memory-needs-more`?"));
}

const PLAIN_A: &str = "oci:testdata/images:plain-a";
const PLAIN_B: &str = "oci:testdata/images:plain-b";

fn diff_json(extra: &[&str]) -> (i32, Value) {
    let run = bpdrift()
        .args(["diff", PLAIN_A, PLAIN_B, "--format", "json"])
        .args(extra)
        .run();
    (
        run.code,
        serde_json::from_str(&run.stdout).unwrap_or(Value::Null),
    )
}

fn subjects(v: &Value) -> Vec<String> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn ignored_changes_are_left_out_and_counted() {
    let (_, plain) = diff_json(&[]);
    assert_eq!(subjects(&plain), ["PYTHON_VERSION", "repo2docker.version"]);
    let (code, v) = diff_json(&[
        "--ignore",
        "env:PYTHON_*",
        "--ignore",
        "label:repo2docker.?ersion",
    ]);
    assert_eq!(code, 0);
    assert!(subjects(&v).is_empty(), "{:?}", subjects(&v));
    let verdict = v["summary"]["verdict"].as_str().unwrap();
    assert!(
        verdict.ends_with("2 changes ignored (env PYTHON_VERSION, label repo2docker.version)"),
        "{verdict}"
    );
    assert_eq!(v["ignored"][0]["pattern"], "env:PYTHON_*");
    // Named, never with the value: an ignored env value may be a secret.
    assert!(v["ignored"][0].get("after").is_none());
    assert!(
        !v["summary"]["changed"]
            .as_object()
            .unwrap()
            .contains_key("env")
    );
    // A glob that matches the other category leaves it alone.
    let (_, v) = diff_json(&["--ignore", "label:PYTHON_VERSION"]);
    assert_eq!(subjects(&v), ["PYTHON_VERSION", "repo2docker.version"]);
}

#[test]
fn rule_file_ignores_silence_rules_on_ignored_items() {
    let rules = format!("{FIX}/ignore.toml");
    let (code, v) = diff_json(&["--rules", &rules, "--fail-on", "warning"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(subjects(&v), ["PYTHON_VERSION"]);
    // Without the ignore the same rule fires, so the test above can fail.
    let text = std::fs::read_to_string(&rules)
        .unwrap()
        .replace("ignore = ", "# ");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("rule.toml");
    std::fs::write(&plain, text).unwrap();
    let (code, v) = diff_json(&["--rules", plain.to_str().unwrap(), "--fail-on", "warning"]);
    assert_eq!(code, 1);
    assert_eq!(
        rule_ids(&v),
        [("repo2docker-moved".into(), "warning".into())]
    );
}

#[test]
fn bad_ignore_patterns_are_named_with_positions() {
    let run = check_fixture("ignore-mistakes");
    for pos in [":1:25", ":1:36", ":1:51"] {
        assert!(
            run.stderr.contains(&format!("ignore-mistakes.toml{pos}")),
            "{pos}: {}",
            run.stderr
        );
    }
    let cli = bpdrift()
        .args(["diff", PLAIN_A, PLAIN_B, "--ignore", "GIT_SHA"])
        .run();
    assert_eq!(cli.code, 2);
    settings(&[]).bind(|| {
        assert_snapshot!("rules_ignore_mistakes", run.snapshot());
        assert_snapshot!("diff_ignore_bad_pattern", cli.snapshot());
    });
}

#[test]
fn fleet_file_ignores_apply_to_its_services() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            r#"
[defaults]
ignore = ["label:repo2docker.*"]

[[service]]
name = "quiet"
deployed = "{PLAIN_A}"
candidate = "{PLAIN_B}"
ignore = ["env:PYTHON_VERSION"]

[[service]]
name = "loud"
deployed = "{PLAIN_A}"
candidate = "{PLAIN_B}"
"#
        ),
    )
    .unwrap();
    let run = bpdrift()
        .args(["report", "--format", "json", "--fleet"])
        .arg(&fleet)
        .arg("--history")
        .arg(dir.path().join("h.sqlite"))
        .run();
    let v: Value = serde_json::from_str(&run.stdout).expect(&run.stderr);
    let drift = |name: &str| {
        let s = v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone();
        s["drift"][0].clone()
    };
    let quiet = drift("quiet");
    assert!(quiet["changes"].as_array().unwrap().is_empty(), "{quiet}");
    assert!(
        quiet["verdict"]
            .as_str()
            .unwrap()
            .contains("2 changes ignored"),
        "{quiet}"
    );
    let loud = drift("loud");
    let left: Vec<&str> = loud["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["PYTHON_VERSION"]);
}
