//! Layer attribution and the verdict it drives: each fixture moves exactly one thing relative to
//! `incident-good`, with real diffIDs in its lifecycle metadata.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{bpdrift, settings};

const GOOD: &str = "oci:testdata/images:incident-good";

fn img(tag: &str) -> String {
    format!("oci:testdata/images:{tag}")
}

/// The first line of the verdict in every format: table (after the two image lines), JSON
/// `summary.verdict`, Markdown heading. Asserts they agree and that "no drift" is nowhere.
fn verdicts(before: &str, after: &str) -> (String, Value) {
    let table = bpdrift().args(["diff", before, after]).run();
    let json = bpdrift()
        .args(["diff", "--format", "json", before, after])
        .run();
    let md = bpdrift()
        .args(["diff", "--format", "markdown", before, after])
        .run();
    for run in [&table, &json, &md] {
        assert!(!run.stdout.contains("no drift"), "{}", run.stdout);
    }
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let verdict = v["summary"]["verdict"].as_str().unwrap().to_string();
    let first_table = table
        .stdout
        .lines()
        .find(|l| !l.is_empty() && !l.starts_with("before:") && !l.starts_with("after:"))
        .unwrap();
    assert_eq!(first_table, verdict);
    let heading = md.stdout.lines().next().unwrap();
    assert!(heading.ends_with(&verdict.replace('|', "\\|")), "{heading}");
    (verdict, v)
}

#[test]
fn app_only_change_names_the_app_and_its_bytes() {
    let (verdict, v) = verdicts(GOOD, &img("app-change"));
    assert!(
        verdict.starts_with("rebuild (COMMIT): app changed (1 of 5 app layers, 868 B)"),
        "{verdict}"
    );
    let moved: Vec<&str> = v["parts"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] != "unchanged")
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    assert_eq!(moved, ["app"]);
    // A difference for `github comment` too (not "no drift anymore").
    assert_eq!(v["summary"]["changed"]["layer-part"], 1);
    let run = bpdrift().args(["diff", GOOD, &img("app-change")]).run();
    settings(&[]).bind(|| assert_snapshot!("attribution_app_change", run.snapshot()));
}

#[test]
fn run_image_rebase_names_both_top_layers() {
    let (verdict, v) = verdicts(GOOD, &img("rebased"));
    assert!(
        verdict.starts_with(
            "rebase (STACK): run image rebased (top layer sha256:45db860c565c → sha256:e0827051ff02; 2 of 3 base layers differ)"
        ),
        "{verdict}"
    );
    // Only the run image moved: a rebase, which `pack rebase` may do (Platform API 0.11, the
    // same stack).
    assert_eq!(v["summary"]["reasons"], serde_json::json!(["STACK"]));
    assert_eq!(v["summary"]["rebase"]["is_rebase"], true);
    assert!(v["summary"]["rebase"].get("needs_force").is_none());
    let r = &v["parts"]["run_image"];
    assert_eq!(r["move"], "rebased");
    assert_eq!(r["top_layer_before"], v["before"]["run_image"]["top_layer"]);
    assert_eq!(r["top_layer_after"], v["after"]["run_image"]["top_layer"]);
    let run = bpdrift()
        .args(["diff", "--format", "markdown", GOOD, &img("rebased")])
        .run();
    settings(&[]).bind(|| assert_snapshot!("attribution_rebased_markdown", run.snapshot()));
}

#[test]
fn layer_rebuilt_at_the_same_version_names_buildpack_and_layer() {
    let (verdict, v) = verdicts(GOOD, &img("jre-rebuilt"));
    // The JRE layer is a launch layer: what a running container gets changed while the
    // buildpack's version says it did not — a warning.
    assert_eq!(
        verdict,
        "rebuild (BUILDPACK): paketo-buildpacks/bellsoft-liberica layer jre rebuilt at the same version 10.2.3; findings: 1 warning"
    );
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "layer-changed-same-version");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["change"]["subject"],
        "paketo-buildpacks/bellsoft-liberica layer jre"
    );
    let jre: Vec<&Value> = v["parts"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] != "unchanged")
        .collect();
    assert_eq!(jre.len(), 1);
    assert_eq!(jre[0]["part"], "paketo-buildpacks/bellsoft-liberica jre");
    assert_eq!(jre[0]["rebuilt_same_version"], true);
    assert_eq!(jre[0]["version_before"], "10.2.3");
}

#[test]
fn same_image_twice_is_identical_in_every_format() {
    let (verdict, _) = verdicts(GOOD, GOOD);
    assert_eq!(verdict, "identical; no findings");
}

#[test]
fn the_incident_pair_is_not_no_drift() {
    let (verdict, _) = verdicts(&img("incident-bad"), &img("jvm-incident"));
    assert!(
        verdict
            .starts_with("rebuild (COMMIT, BUILDPACK): app changed (3 of 5 app layers, 288.3 KiB)"),
        "{verdict}"
    );
    assert!(verdict.contains(
        "paketo-buildpacks/bellsoft-liberica layer jre rebuilt at the same version 10.2.4"
    ));
    assert!(verdict.contains(
        "paketo-buildpacks/spring-boot layer spring-cloud-bindings rebuilt at the same version 5.25.2"
    ));
    let run = bpdrift()
        .args(["diff", &img("incident-bad"), &img("jvm-incident")])
        .run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("attribution_incident_pair", run.snapshot()));
}

/// For every image of the layout (every platform), the JSON attributes exactly as many layers as
/// its config has diffIDs (the inventory lists one diffID per layer).
#[test]
fn every_layer_of_every_image_is_attributed_once() {
    let inventory: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::root().join("testdata/inventory.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for (tag, entry) in inventory["tags"].as_object().unwrap() {
        let run = bpdrift()
            .args(["inspect", "--format", "json", "--platform", "all"])
            .arg(img(tag))
            .run();
        // An image with unreadable labels is still shown (and exits 2, naming them).
        let want = if tag == "broken-labels" { 2 } else { 0 };
        assert_eq!(run.code, want, "{tag}: {}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        let summaries: Vec<Value> = doc["images"].as_array().unwrap().clone();
        let manifests: Vec<&Value> = match entry["manifests"].as_array() {
            Some(ms) => ms.iter().collect(),
            None => vec![entry],
        };
        assert_eq!(summaries.len(), manifests.len(), "{tag}");
        for (s, m) in summaries.iter().zip(manifests) {
            let layers = s["attribution"]["layers"].as_array().unwrap();
            let ids: Vec<&str> = m["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["diffID"].as_str().unwrap())
                .collect();
            let got: Vec<&str> = layers
                .iter()
                .map(|l| l["diff_id"].as_str().unwrap())
                .collect();
            assert_eq!(got, ids, "{tag}");
            assert!(layers.iter().all(|l| l["part"].is_string()), "{tag}");
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn app_against_builder_warns_first() {
    let run = bpdrift().args(["diff", GOOD, &img("builder-2025")]).run();
    // The verdict follows the image lines (and the kinds warning) after a blank line.
    let verdict = run.stdout.split("\n\n").nth(1).unwrap();
    assert!(
        verdict.starts_with("different kinds: app image vs builder; "),
        "{verdict}"
    );
    assert!(
        run.stdout
            .contains("warning: the images are of different kinds (app image vs builder)"),
        "{}",
        run.stdout
    );
}

#[test]
fn unreadable_labels_are_named_and_nothing_they_held_is_removed() {
    for (b, a) in [
        (GOOD.to_string(), img("broken-labels")),
        (img("broken-labels"), GOOD.to_string()),
    ] {
        let run = bpdrift().args(["diff", "--format", "json", &b, &a]).run();
        assert_eq!(run.code, 2);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        let verdict = v["summary"]["verdict"].as_str().unwrap();
        assert!(
            verdict.starts_with("2 labels unreadable: io.buildpacks.build.metadata"),
            "{verdict}"
        );
        assert!(
            !verdict.contains("removed") && !verdict.contains("added"),
            "{verdict}"
        );
        let moved: Vec<&Value> = v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "removed" || c["status"] == "added")
            .collect();
        assert!(moved.is_empty(), "{moved:#?}");
    }
}

#[test]
fn inspect_shows_what_pack_inspect_shows_and_more() {
    let run = bpdrift()
        .args(["inspect", "--platform", "all"])
        .arg(img("multiarch"))
        .arg(img("petclinic-2020-06"))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    for want in [
        "index digest: sha256:c65c89a3dac6",
        "manifest digest: sha256:349a94507e8c",
        "linux/arm/v7",
        "run image reference: index.docker.io/paketobuildpacks/run-jammy-base@sha256:",
        "run image top layer: sha256:45db860c565c",
        "run image mirrors: gcr.io/paketo-buildpacks/run:base-cnb",
        "https://github.com/paketo-buildpacks/bellsoft-liberica",
        "web (default)",
        "process types",
    ] {
        assert!(run.stdout.contains(want), "{want}\n{}", run.stdout);
    }
    let json = bpdrift()
        .args(["inspect", "--format", "json", &img("multiarch")])
        .run();
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let s = &v["images"][0];
    assert!(
        s["index_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:c65c89a3dac6")
    );
    assert!(
        s["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:551d05539a5f")
    );
    assert_eq!(s["processes"][2]["type"], "web");
    assert_eq!(s["processes"][2]["direct"], true);
    assert_eq!(s["processes"][2]["default"], true);
    assert!(s["run_image"]["reference"].is_string());
    assert!(s["run_image"]["top_layer"].is_string());
    assert!(s["buildpacks"][0]["homepage"].is_string());
    assert!(s["extensions"].is_array());
}

#[test]
fn platform_all_with_a_lost_platform_warns() {
    let args = |fail: &str| {
        bpdrift()
            .args(["diff", "--platform", "all", "--fail-on"])
            .arg(fail)
            .args(["--format", "json"])
            .arg(img("multiarch"))
            .arg(img("multiarch-next"))
            .run()
    };
    let run = args("warning");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("3 platforms: platform lost (warning): linux/arm/v7"),
        "{}",
        v["verdict"]
    );
    let lost: Vec<&Value> = v["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["missing_in"] == "after")
        .collect();
    assert_eq!(lost[0]["finding"]["rule"], "platform-removed");
    assert_eq!(lost[0]["finding"]["severity"], "warning");
    assert_eq!(args("error").code, 0);
    let table = bpdrift()
        .args(["diff", "--platform", "all"])
        .arg(img("multiarch"))
        .arg(img("multiarch-next"))
        .run();
    assert_eq!(table.code, 0);
    settings(&[]).bind(|| assert_snapshot!("attribution_platform_lost", table.snapshot()));
}

/// The same image read from a layout and from `docker save` output: no manifest digest to
/// compare, but the same config; said as it is, never "no drift".
#[test]
fn same_content_through_another_transport() {
    let (verdict, _) = verdicts(
        &img("incident-bad"),
        "docker-archive:testdata/archives/incident-bad.docker.tar",
    );
    assert_eq!(
        verdict,
        "same content (same config and layer diffIDs); only the manifests differ; no findings"
    );
}
