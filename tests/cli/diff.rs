//! `bpdrift diff` on the shipped OCI layouts and archives: every output format, every image shape.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{bpdrift, finding_rules, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

fn json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let run = bpdrift().args(all).run();
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run.code, v)
}

/// `(subject, code, class)` of every change in a JSON report, in order.
fn changes(v: &Value, category: &str) -> Vec<(String, String, String)> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == category)
        .map(|c| {
            (
                c["subject"].as_str().unwrap().to_string(),
                c["code"].as_str().unwrap().to_string(),
                c["class"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn incident_table() {
    let run = bpdrift().args(["diff", GOOD, BAD]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    settings(&[]).bind(|| assert_snapshot!("incident_table", run.snapshot()));
}

#[test]
fn incident_markdown() {
    let run = bpdrift()
        .args(["diff", "--format", "markdown", GOOD, BAD])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "https://github.com/paketo-buildpacks/bellsoft-liberica/releases/tag/v10.2.4"
        )
    );
    settings(&[]).bind(|| assert_snapshot!("incident_markdown", run.snapshot()));
}

#[test]
fn incident_json_has_exactly_the_four_changes() {
    let (code, v) = json(&[GOOD, BAD]);
    assert_eq!(code, 0);
    assert_eq!(v["schema_version"], 3);
    assert_eq!(
        changes(&v, "buildpack"),
        vec![
            s(
                "paketo-buildpacks/bellsoft-liberica",
                "buildpack-changed",
                "patch"
            ),
            s("paketo-buildpacks/syft", "buildpack-changed", "minor"),
            s("paketo-buildpacks/dist-zip", "buildpack-changed", "patch"),
            s(
                "paketo-buildpacks/spring-boot",
                "buildpack-changed",
                "patch"
            ),
        ]
    );
    // The JRE is shown, unchanged.
    let jre: Vec<_> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["category"] == "dependency" && c["subject"].as_str().unwrap().starts_with("jre ")
        })
        .collect();
    assert_eq!(jre.len(), 1);
    assert_eq!(jre[0]["status"], "unchanged");
    assert_eq!(jre[0]["before"], "17.0.7");
    assert_eq!(jre[0]["after"], "17.0.7");
    // Both images' buildpacks are listed in full, with versions.
    for (side, expect) in [
        (
            "before",
            ["3.6.2", "10.2.3", "1.30.1", "6.7.3", "5.6.2", "5.25.1"],
        ),
        (
            "after",
            ["3.6.2", "10.2.4", "1.31.0", "6.7.3", "5.6.3", "5.25.2"],
        ),
    ] {
        let got: Vec<&str> = v[side]["buildpacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["version"].as_str().unwrap())
            .collect();
        assert_eq!(got, expect, "{side}");
        assert!(v[side]["digest"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(v[side]["platform"], "linux/amd64");
    }
    // The built-in rules say what the bumps mean: all informational, none about memory.
    let findings: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert!(
        findings.contains(&("libjvm-readonly-truststore-tmp", "info")),
        "{findings:?}"
    );
    assert!(
        findings.iter().all(|(_, sev)| *sev == "info"),
        "{findings:?}"
    );
    assert!(v["layers"]["shared"]["count"].as_u64().unwrap() > 0);
    settings(&[])
        .bind(|| assert_snapshot!("incident_json", serde_json::to_string_pretty(&v).unwrap()));
}

#[test]
fn all_shows_unchanged_items() {
    let run = bpdrift().args(["diff", "--all", GOOD, BAD]).run();
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("paketo-buildpacks/ca-certificates"));
    assert!(run.stdout.contains("paketo-buildpacks/executable-jar"));
    let hidden = bpdrift().args(["diff", GOOD, BAD]).run();
    assert!(!hidden.stdout.contains("paketo-buildpacks/ca-certificates"));
}

#[test]
fn same_image_is_identical() {
    let run = bpdrift().args(["diff", GOOD, GOOD]).run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("\nidentical; no findings\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn archives_give_the_same_buildpack_diff_as_the_layout() {
    let (_, layout) = json(&[GOOD, BAD]);
    let (code, archives) = json(&[
        "oci-archive:testdata/archives/incident-good.oci.tar",
        "docker-archive:testdata/archives/incident-bad.docker.tar",
    ]);
    assert_eq!(code, 0);
    for cat in [
        "buildpack",
        "dependency",
        "process",
        "env",
        "label",
        "lifecycle",
    ] {
        assert_eq!(changes(&layout, cat), changes(&archives, cat), "{cat}");
    }
    assert_eq!(archives["before"]["transport"], "oci-archive");
    assert_eq!(archives["after"]["transport"], "docker-archive");
    assert_eq!(archives["before"]["digest"], layout["before"]["digest"]);
    assert_eq!(
        archives["after"]["config_digest"],
        layout["after"]["config_digest"]
    );
}

#[test]
fn plain_images_get_a_config_diff() {
    let run = bpdrift()
        .args([
            "diff",
            "oci:testdata/images:plain-a",
            "oci:testdata/images:plain-b",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("was not built by buildpacks"));
    settings(&[]).bind(|| assert_snapshot!("plain_table", run.snapshot()));
    let (_, v) = json(&["oci:testdata/images:plain-a", "oci:testdata/images:plain-b"]);
    assert_eq!(v["before"]["built_by_buildpacks"], false);
    assert!(changes(&v, "label").contains(&s("repo2docker.version", "label-changed", "")));
    let (code, _) = json(&[
        "oci:testdata/images:plain-null",
        "oci:testdata/images:plain-a",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn petclinic_2020_to_2021_flags_major_bumps() {
    let run = bpdrift()
        .args([
            "diff",
            "oci:testdata/images:petclinic-2020-06",
            "oci:testdata/images:petclinic-2021-12",
        ])
        .run();
    assert_eq!(
        run.code, 0,
        "major bumps are warnings; --fail-on defaults to error: {}",
        run.stderr
    );
    settings(&[]).bind(|| assert_snapshot!("petclinic_table", run.snapshot()));
    let (_, v) = json(&[
        "oci:testdata/images:petclinic-2020-06",
        "oci:testdata/images:petclinic-2021-12",
    ]);
    let jre = crate::common::find_change(&v, "category", "dependency");
    assert_eq!(
        (jre["before"].as_str(), jre["after"].as_str()),
        (Some("11.0.7"), Some("11.0.13"))
    );
    assert!(
        changes(&v, "buildpack")
            .iter()
            .any(|(id, code, _)| id == "paketo-buildpacks/syft" && code == "buildpack-added")
    );
    // Warnings fail the run only when asked to.
    for (level, code) in [("never", 0), ("error", 0), ("warning", 1), ("info", 1)] {
        let run = bpdrift()
            .args(["diff", "--fail-on"])
            .arg(level)
            .args(
                "oci:testdata/images:petclinic-2020-06 oci:testdata/images:petclinic-2021-12"
                    .split(' '),
            )
            .run();
        assert_eq!(run.code, code, "--fail-on {level}");
    }
}

#[test]
fn removed_buildpacks_are_flagged() {
    let (code, v) = json(&["--fail-on", "warning", GOOD, "oci:testdata/images:heroku"]);
    assert_eq!(code, 1);
    let rules = finding_rules(&v);
    assert_eq!(
        rules.iter().filter(|r| **r == "buildpack-removed").count(),
        6
    );
    assert!(changes(&v, "buildpack").contains(&s("heroku/ruby", "buildpack-added", "")));
}

#[test]
fn old_label_shapes_parse() {
    for (a, b) in [
        ("ancient", "petclinic-2020-06"),
        ("petclinic-2020-06", "heroku"),
        ("builder-2020", "builder-2025"),
    ] {
        let (code, v) = json(&[
            &format!("oci:testdata/images:{a}"),
            &format!("oci:testdata/images:{b}"),
        ]);
        assert_ne!(code, 2, "{a} vs {b}");
        assert!(
            v["before"]["problems"].as_array().unwrap().is_empty(),
            "{a}"
        );
        assert!(v["after"]["problems"].as_array().unwrap().is_empty(), "{b}");
        assert!(
            !v["before"]["buildpacks"].as_array().unwrap().is_empty(),
            "{a}"
        );
    }
}

#[test]
fn builders_diff() {
    let run = bpdrift()
        .args("diff --format markdown oci:testdata/images:builder-2020 oci:testdata/images:builder-2025".split(' '))
        .run();
    assert_ne!(run.code, 2, "{}", run.stderr);
    settings(&[]).bind(|| assert_snapshot!("builders_markdown", run.snapshot()));
}

#[test]
fn multiarch_selects_the_requested_platform() {
    let (code, amd) = json(&[
        "oci:testdata/images:multiarch",
        "oci:testdata/images:multiarch-next",
    ]);
    assert_eq!(code, 0);
    assert_eq!(amd["before"]["platform"], "linux/amd64");
    assert!(
        amd["before"]["index_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_ne!(amd["before"]["index_digest"], amd["before"]["digest"]);
    let (_, arm) = json(&[
        "--platform",
        "linux/arm64",
        "oci:testdata/images:multiarch",
        "oci:testdata/images:multiarch-next",
    ]);
    assert_eq!(arm["before"]["platform"], "linux/arm64/v8");
    assert_ne!(arm["before"]["digest"], amd["before"]["digest"]);
    let (_, v7) = json(&[
        "--platform",
        "linux/arm/v7",
        "oci:testdata/images:multiarch",
        GOOD,
    ]);
    let jre = v7["before"]["dependencies"][0]["version"].as_str().unwrap();
    assert_eq!(jre, "17.0.6");
    let missing = bpdrift()
        .args("diff --platform linux/arm/v7 oci:testdata/images:multiarch oci:testdata/images:multiarch-next".split(' '))
        .run();
    assert_eq!(missing.code, 2);
    settings(&[]).bind(|| assert_snapshot!("multiarch_missing_platform", missing.snapshot()));
}

#[test]
fn help() {
    let run = bpdrift().args(["--help"]).run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("help", run.stdout));
    let run = bpdrift().args(["diff", "--help"]).run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("diff_help", run.stdout));
}

/// Issue 14: the rollback of the thread-count incident (spring-boot 5.24.0 → 5.23.0 removes the
/// +200 MiB of stacks) must not turn the gate red; the finding says "back below" with the numbers.
#[test]
fn rollback_across_a_boundary_exits_0_and_says_back_below() {
    let run = bpdrift()
        .args("diff --format json --memory 512M oci:testdata/images:jvm-threads-250 oci:testdata/images:jvm-threads-50".split(' '))
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "{findings:#?}"
    );
    let f = findings
        .iter()
        .find(|f| f["rule"] == "spring-boot-jakarta-servlet-detection")
        .expect("the reverse crossing is reported");
    assert_eq!(f["severity"], "info");
    let s = f["summary"].as_str().unwrap();
    assert!(s.starts_with("back below 5.24.0 (5.24.0 → 5.23.0)"), "{s}");
    assert!(s.contains("250 → 50") && s.contains("−200 MiB"), "{s}");
}

/// Issue 14: with `COLUMNS`, every table fits the terminal (cells wrap inside their columns);
/// the incident is snapshotted at 80 and 120 columns.
#[test]
fn tables_fit_the_terminal() {
    let cases: &[&[&str]] = &[
        &["diff", GOOD, BAD],
        &[
            "diff",
            "--all",
            "oci:testdata/images:builder-2020",
            "oci:testdata/images:builder-2025",
        ],
        &[
            "diff",
            "--memory",
            "512M",
            "oci:testdata/images:jvm-threads-250",
            "oci:testdata/images:jvm-threads-50",
        ],
        &["rules", "list"],
        &["inspect", GOOD],
        &["inspect", "oci:testdata/images:builder-2025"],
        &[
            "memory",
            "oci:testdata/images:jvm-incident",
            "--memory",
            "1G",
        ],
        &[
            "diff",
            "--all",
            "oci:testdata/images:plain-a",
            "oci:testdata/images:petclinic-2021-12",
        ],
    ];
    for width in [80usize, 120] {
        for args in cases {
            let run = bpdrift()
                .env("COLUMNS", width.to_string())
                .args(args.iter().copied())
                .run();
            assert_ne!(run.code, 2, "{args:?}: {}", run.stderr);
            for line in run.stdout.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{args:?} at {width}: {} columns: {line}",
                    line.chars().count()
                );
            }
        }
        let run = bpdrift()
            .env("COLUMNS", width.to_string())
            .args(["diff", GOOD, BAD])
            .run();
        settings(&[]).bind(|| assert_snapshot!(format!("incident_table_{width}"), run.stdout));
    }
}

/// Without `COLUMNS`, tables fit the terminal stdout is (a pseudo-terminal of 90 columns made
/// by util-linux `script`), and keep their natural width when piped.
#[test]
fn tables_fit_the_tty_without_columns() {
    let bin = env!("CARGO_BIN_EXE_bpdrift");
    let run = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("stty rows 40 cols 90; {bin} rules list"),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("util-linux script");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // A terminal gets colour: its SGR sequences take no column.
    let out = crate::common::strip_sgr(&String::from_utf8_lossy(&run.stdout));
    let widest = out
        .lines()
        .map(|l| l.trim_end_matches('\r').chars().count())
        .max();
    assert!(
        matches!(widest, Some(w) if w > 60 && w <= 90),
        "{widest:?}\n{out}"
    );
    let piped = bpdrift().args(["rules", "list"]).run();
    let natural = piped
        .stdout
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(natural > 90, "piped output keeps its width: {natural}");
}
