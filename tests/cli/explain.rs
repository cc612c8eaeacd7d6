//! Every change explained, not only listed: kpack's rebuild reasons, the rebase verdict (and
//! what `pack rebase` would need), silent layer drift, rules that did not apply, and the label
//! shapes of every kind of CNB image (lifecycle images and their APIs, build images,
//! buildpackages, a label rewritten with the same meaning, two single-platform images of
//! different platforms).

use insta::assert_snapshot;
use serde_json::{Value, json};

use crate::common::{bpdrift, diff_json, find_change, finding_rules, oci, settings};

#[test]
fn rebuild_reasons_in_kpacks_words() {
    for (before, after, reasons) in [
        ("incident-good", "incident-bad", json!(["BUILDPACK"])),
        ("incident-good", "rebased", json!(["STACK"])),
        ("incident-good", "app-change", json!(["COMMIT"])),
        (
            "node-22-lifecycle-0.14",
            "node-22-lifecycle-0.15",
            json!(["LIFECYCLE"]),
        ),
        ("node-20", "node-22", json!(["BUILDPACK"])),
        (
            "petclinic-2020-06",
            "petclinic-2021-12",
            json!(["COMMIT", "CONFIG", "BUILDPACK", "STACK", "LIFECYCLE"]),
        ),
    ] {
        let v = diff_json(before, after, &[]);
        assert_eq!(v["summary"]["reasons"], reasons, "{before} → {after}");
        let words: Vec<&str> = reasons
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let verdict = v["summary"]["verdict"].as_str().unwrap();
        assert!(
            verdict.contains(&format!("({}): ", words.join(", "))),
            "{verdict}"
        );
    }
    // The same image twice, and two builders, have no rebuild reason.
    assert!(
        diff_json("incident-good", "incident-good", &[])["summary"]
            .get("reasons")
            .is_none()
    );
    assert!(
        diff_json("builder-2020", "builder-2025", &[])["summary"]
            .get("reasons")
            .is_none()
    );
}

#[test]
fn a_rebase_is_called_one_with_what_pack_rebase_would_need() {
    // Only the run image moved, same name and stack: a rebase pack does without --force.
    let v = diff_json("incident-good", "rebased", &[]);
    assert_eq!(v["summary"]["rebase"]["is_rebase"], true);
    assert!(
        v["summary"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("rebase (STACK): run image rebased")
    );
    // Onto another run image of another distro (Platform API 0.13): the lifecycle's rebaser
    // validates the target and the run image's name, so `pack rebase` needs --force.
    let v = diff_json("node-22", "node-22-noble", &[]);
    let r = &v["summary"]["rebase"];
    assert_eq!(r["is_rebase"], true);
    let force: Vec<&str> = r["needs_force"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(force.len(), 2, "{force:?}");
    assert!(force[0].contains("distro ubuntu 24.04") && force[0].contains("distro ubuntu 22.04"));
    let run = bpdrift()
        .args(["diff", &oci("node-22"), &oci("node-22-noble")])
        .run();
    settings(&[]).bind(|| assert_snapshot!("explain_rebase_needs_force", run.snapshot()));
    // Buildpacks moved too: not a rebase, and why (Platform API 0.3 app: the stack would have
    // to match, which is moot).
    let v = diff_json("petclinic-2020-06", "petclinic-2021-12", &[]);
    let r = &v["summary"]["rebase"];
    assert_eq!(r["is_rebase"], false);
    assert!(
        r["not_because"]
            .as_array()
            .unwrap()
            .contains(&json!("buildpacks moved"))
    );
    assert!(r.get("needs_force").is_none() && r.get("refused").is_none());
}

/// A rule whose precondition is false (a Java-18+ change on a Java 17 image) is not a finding:
/// counted in the verdict, listed with `--all` with the reason.
#[test]
fn rules_that_do_not_apply_are_counted_not_listed() {
    let v = diff_json("incident-good", "incident-bad", &[]);
    let rules = finding_rules(&v);
    assert!(!rules.contains(&"libjvm-java18-cacerts-off"), "{rules:?}");
    assert_eq!(v["summary"]["not_applicable"], 1);
    assert!(v.get("not_applicable").is_none(), "listed only with --all");
    assert!(
        v["summary"]["verdict"]
            .as_str()
            .unwrap()
            .ends_with("findings: 2 info; 1 rule did not apply")
    );
    let all = diff_json("incident-good", "incident-bad", &["--all"]);
    assert_eq!(
        all["not_applicable"][0]["rule"],
        "libjvm-java18-cacerts-off"
    );
    assert!(
        all["not_applicable"][0]["note"]
            .as_str()
            .unwrap()
            .contains("java 17.0.7")
    );
    let table = bpdrift()
        .args(["diff", "--all", &oci("incident-good"), &oci("incident-bad")])
        .run();
    assert!(table.stdout.contains("Rules that did not apply"));
}

/// A lifecycle image's version and APIs: the version label is the lifecycle item, the dropped
/// APIs are warnings, the Buildpack API list is shown, and no row says its name twice.
#[test]
fn lifecycle_images_and_dropped_apis() {
    let v = diff_json("lifecycle-0.17.8", "lifecycle-0.18.0", &[]);
    assert_eq!(v["before"]["kind"], "lifecycle");
    assert_eq!(v["after"]["buildpack_apis"], "0.7, 0.8, 0.9, 0.10");
    let sev = |id: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == id)
            .map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(sev("platform-api-dropped").as_deref(), Some("warning"));
    assert_eq!(sev("buildpack-api-dropped").as_deref(), Some("warning"));
    assert!(
        v["summary"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("lifecycle 0.17.8 → 0.18.0")
    );
    let run = bpdrift()
        .args(["diff", &oci("lifecycle-0.17.8"), &oci("lifecycle-0.18.0")])
        .run();
    assert_eq!(run.code, 0);
    for line in run.stdout.lines() {
        let cells: Vec<&str> = line
            .split('┆')
            .map(|c| c.trim_matches(['│', ' ']))
            .collect();
        assert!(
            !(cells.len() > 2 && !cells[0].is_empty() && cells[0] == cells[1]),
            "a row says its name twice: {line}"
        );
    }
    settings(&[]).bind(|| assert_snapshot!("explain_lifecycle_images", run.snapshot()));
    let md = bpdrift()
        .args([
            "diff",
            "--format",
            "markdown",
            &oci("lifecycle-0.17.8"),
            &oci("lifecycle-0.18.0"),
        ])
        .run();
    assert!(md.stdout.contains("| buildpack API |  | `0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.10` | `0.7, 0.8, 0.9, 0.10` |"), "{}", md.stdout);
}

#[test]
fn build_images_are_their_own_kind() {
    let v = diff_json("build-jammy-base", "build-noble-base", &[]);
    assert_eq!(v["before"]["kind"], "build-image");
    // The distro and the stack id are in the verdict.
    let verdict = v["summary"]["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("distro ubuntu 22.04 → 24.04, stack id io.buildpacks.stacks.jammy → io.buildpacks.stacks.noble"),
        "{verdict}"
    );
    let v = diff_json("run-jammy-base", "build-jammy-base", &[]);
    assert!(
        v["summary"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("different kinds: CNB run image vs CNB build image")
    );
    let inspect = bpdrift().args(["inspect", &oci("build-noble-base")]).run();
    assert!(
        inspect.stdout.contains("CNB build image"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("distro ubuntu"),
        "{}",
        inspect.stdout
    );
}

#[test]
fn buildpackages_are_worded_as_buildpackages() {
    let v = diff_json("buildpackage-hello-0.0.1", "buildpackage-hello-0.0.2", &[]);
    let ident = find_change(&v, "subject", "buildpackage");
    assert_eq!(ident["before"], "example/hello-universe 0.0.1");
    assert_eq!(ident["after"], "example/hello-universe 0.0.2");
    // Its raw label is not a row of its own.
    assert!(
        !v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["subject"] == "io.buildpacks.buildpackage.metadata")
    );
    let run = bpdrift()
        .args([
            "diff",
            &oci("buildpackage-hello-0.0.1"),
            &oci("buildpackage-hello-0.0.2"),
        ])
        .run();
    assert!(!run.stdout.contains("no longer shipped"));
    settings(&[]).bind(|| assert_snapshot!("explain_buildpackages", run.snapshot()));
}

#[test]
fn a_label_only_difference_is_named_as_such() {
    let v = diff_json("incident-good", "incident-good-relabelled", &[]);
    assert_eq!(
        v["summary"]["verdict"],
        "same layers; only the io.buildpacks.lifecycle.metadata label differs (what bpdrift reads from them is the same); no findings"
    );
}

#[test]
fn memory_on_images_without_a_jvm_is_one_line() {
    let run = bpdrift()
        .args([
            "diff",
            "--memory",
            "512M",
            &oci("ruby-3.3"),
            &oci("ruby-3.4"),
        ])
        .run();
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("JVM") || l.contains("calculator"))
        .collect();
    assert_eq!(
        lines,
        [
            "JVM memory: --memory 512M predicts the Paketo JVM memory calculator, and neither image has it (it runs ruby 3.4.1)"
        ]
    );
}

/// `--platform all` on two single-platform images of different platforms compares them, once,
/// without calling architecture-specific layers drift.
#[test]
fn platform_all_compares_two_single_platform_images() {
    let run = bpdrift()
        .args([
            "diff",
            "--platform",
            "all",
            "--format",
            "json",
            &oci("incident-good"),
            &oci("incident-good-arm64"),
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let entries = v["platforms"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v:#}");
    assert_eq!(entries[0]["platform"], "linux/amd64 → linux/arm64/v8");
    let r = &entries[0]["report"];
    assert_eq!(r["after"]["architecture"], "arm64");
    assert!(
        !r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "layer-changed-same-version")
    );
    assert!(!run.stderr.contains("not the requested"), "{}", run.stderr);
}
