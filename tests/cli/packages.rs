//! `diff --sbom` and `inspect --sbom`: packages from the images' SBOM layers (CycloneDX, SPDX and
//! syft JSON in testdata/images) and from the legacy `io.paketo.stack.packages` label, grouped by
//! location, in every format; only the SBOM layers are downloaded, and a warm rerun downloads none.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::{Registry, bpdrift, settings};

const BEFORE: &str = "oci:testdata/images:sbom-before";
const AFTER: &str = "oci:testdata/images:sbom-after";
const NEXT: &str = "oci:testdata/images:sbom-next";
const LEGACY_A: &str = "oci:testdata/images:run-bionic-packages-a";
const LEGACY_B: &str = "oci:testdata/images:run-bionic-packages-b";

fn json(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let run = bpdrift().args(all).run();
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run.code, v, run.stderr)
}

fn group<'a>(v: &'a Value, location: &str, buildpack: Option<&str>) -> &'a Value {
    v["packages"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["location"] == location && buildpack.is_none_or(|b| g["buildpack"] == b))
        .unwrap_or_else(|| panic!("no {location} {buildpack:?} group: {}", v["packages"]))
}

/// `(name, before, after, class or status)` of a group's changes.
fn changes(g: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("—").to_string();
    g["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let class = c["class"].as_str().unwrap_or(c["status"].as_str().unwrap());
            (
                s(&c["name"]),
                s(&c["before"]),
                s(&c["after"]),
                class.to_string(),
            )
        })
        .collect()
}

fn c(n: &str, b: &str, a: &str, k: &str) -> (String, String, String, String) {
    (n.into(), b.into(), a.into(), k.into())
}

#[test]
fn a_rebase_a_jre_and_app_libraries_from_the_sbom_layers() {
    let (code, v, stderr) = json(&["--sbom", BEFORE, AFTER]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["packages"]["sbom"], true);
    let run = group(&v, "run-image", None);
    assert_eq!(
        changes(run),
        [
            c("libgnutls30", "—", "3.7.3-4ubuntu1.2", "added"),
            c(
                "libssl3",
                "3.0.2-0ubuntu1.9",
                "3.0.2-0ubuntu1.10",
                "revision"
            ),
            c("libtasn1-6", "4.18.0-4build1", "—", "removed"),
            c(
                "openssl",
                "3.0.2-0ubuntu1.9",
                "3.0.2-0ubuntu1.10",
                "revision"
            ),
            c(
                "tzdata",
                "2023c-0ubuntu0.22.04.1",
                "2023c-0ubuntu0.22.04.2",
                "revision"
            ),
        ]
    );
    // zlib1g's epoch version `1:1.2.11.dfsg-2ubuntu9.2` did not move.
    assert_eq!(run["unchanged"], 3);
    assert_eq!(
        run["sources_after"][0],
        "cnb/sbom/bom.cdx.json (CycloneDX 1.6)"
    );
    assert_eq!(
        run["changes"][1]["purl_after"],
        "pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?arch=amd64&distro=ubuntu-22.04"
    );
    let jre = group(&v, "buildpack", Some("paketo-buildpacks/bellsoft-liberica"));
    assert_eq!(
        changes(jre),
        [c("bellsoft-jre", "17.0.6", "17.0.7", "patch")]
    );
    let app = group(&v, "app", None);
    assert_eq!(
        changes(app),
        [
            c("jackson-core", "—", "2.15.2", "added"),
            c("snakeyaml", "1.33", "—", "removed"),
            c("spring-boot", "3.1.0", "3.1.1", "patch"),
            c("spring-core", "6.0.9", "6.0.10", "patch"),
            c("tomcat-embed-core", "10.1.8", "10.1.10", "patch"),
        ]
    );
    assert_eq!(
        app["sources_after"][0],
        "layers/sbom/launch/paketo-buildpacks_executable-jar/sbom.syft.json (syft JSON 16.0.24)"
    );
    // The SPDX document of spring-cloud-bindings is read too (unchanged).
    let scb = group(&v, "buildpack", Some("paketo-buildpacks/spring-boot"));
    assert!(
        scb["sources_after"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().ends_with("(SPDX 2.3)")),
        "{scb}"
    );
    let verdict = v["summary"]["verdict"].as_str().unwrap();
    assert!(
        verdict.contains(
            "run image: 3 OS packages changed (libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10, \
             openssl 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10, …), 1 added, 1 removed"
        ),
        "{verdict}"
    );
    assert_eq!(v["summary"]["changed"]["package"], 11);
    settings(&[]).bind(|| {
        assert_snapshot!(
            "packages_json",
            serde_json::to_string_pretty(&v["packages"]).unwrap()
        )
    });
}

#[test]
fn every_format_shows_the_packages() {
    for (format, name) in [
        ("table", "packages_table"),
        ("markdown", "packages_markdown"),
    ] {
        let run = bpdrift()
            .args(["diff", "--sbom", "--format", format, BEFORE, AFTER])
            .env("COLUMNS", "120")
            .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        settings(&[]).bind(|| assert_snapshot!(name, run.snapshot()));
    }
}

#[test]
fn the_legacy_label_is_read_without_sbom() {
    let (code, v, stderr) = json(&[LEGACY_A, LEGACY_B]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["packages"]["sbom"], false);
    let run = group(&v, "run-image", None);
    assert_eq!(run["sources_after"][0], "label io.paketo.stack.packages");
    assert_eq!(
        changes(run),
        [
            c(
                "libssl1.1",
                "1.1.1-1ubuntu2.1~18.04.21",
                "1.1.1-1ubuntu2.1~18.04.22",
                "revision"
            ),
            c(
                "tzdata",
                "2022g-0ubuntu0.18.04",
                "2023c-0ubuntu0.18.04",
                "major"
            ),
        ]
    );
    assert!(
        v["summary"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("run image: 2 OS packages changed ("),
        "{}",
        v["summary"]["verdict"]
    );
    // Images without a packages label and without --sbom have no `packages` at all.
    let (_, v, _) = json(&[
        "oci:testdata/images:incident-good",
        "oci:testdata/images:incident-bad",
    ]);
    assert!(v.get("packages").is_none(), "{}", v["packages"]);
    // --sbom on images without SBOM layers says so, and still diffs.
    let (code, v, _) = json(&[
        "--sbom",
        "oci:testdata/images:plain-a",
        "oci:testdata/images:plain-b",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        v["packages"]["notes"][0],
        serde_json::json!({"image": "before", "note": "no SBOM layer recorded"})
    );
}

#[test]
fn a_package_rule_fires_on_the_crossing_pair_only() {
    let rules = "tests/cli/fixtures/rules/packages.toml";
    let ids = |v: &Value| -> Vec<(String, String)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["change"]["category"] == "package")
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["change"]["subject"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (code, v, stderr) = json(&["--sbom", "--rules", rules, BEFORE, AFTER]);
    assert_eq!(code, 0, "a warning does not fail: {stderr}");
    assert_eq!(
        ids(&v),
        [(
            "libssl3-usn-6188".to_string(),
            "libssl3 (run image)".to_string()
        )]
    );
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "libssl3-usn-6188")
        .unwrap();
    assert_eq!(
        f["summary"],
        "libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10 crosses 3.0.2-0ubuntu1.10 (USN-6188-1): \
         OpenSSL behaviour changes with the fix"
    );
    assert_eq!(f["severity"], "warning");
    // The neighbour: libssl3 moves again (1.10 → 1.12), above the boundary: quiet.
    let (code, v, stderr) = json(&["--sbom", "--rules", rules, AFTER, NEXT]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        group(&v, "run-image", None)["changes"][0]["after"],
        "3.0.2-0ubuntu1.12"
    );
    assert!(ids(&v).is_empty(), "{:?}", ids(&v));
    // Going back down is the reverse crossing: info, not the warning.
    let (_, v, _) = json(&["--sbom", "--rules", rules, AFTER, BEFORE]);
    let back: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "libssl3-usn-6188")
        .collect();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0]["severity"], "info");
    // Patch moves of spring-* are not the minor/major the second rule asks for.
    assert!(!ids(&v).iter().any(|(r, _)| r == "app-spring-minor"));
}

#[test]
fn inspect_lists_the_packages() {
    let run = bpdrift()
        .args(["inspect", "--sbom", "--format", "json", AFTER])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let groups = v["images"][0]["packages"]["groups"].as_array().unwrap();
    assert_eq!(groups[0]["location"], "run-image");
    assert_eq!(groups[0]["packages"].as_array().unwrap().len(), 7);
    let run = bpdrift().args(["inspect", "--sbom", AFTER]).run();
    assert!(
        run.stdout
            .contains("    run image: 7 OS packages (cnb/sbom/bom.cdx.json (CycloneDX 1.6))"),
        "{}",
        run.stdout
    );
    // The label is read without --sbom.
    let run = bpdrift().args(["inspect", LEGACY_A]).run();
    assert!(
        run.stdout
            .contains("    run image: 4 OS packages (label io.paketo.stack.packages)"),
        "{}",
        run.stdout
    );
}

#[test]
fn registry_downloads_only_the_sbom_layers_and_a_warm_rerun_none() {
    let reg = Registry::start();
    reg.seed(BEFORE, "app:before");
    reg.seed(AFTER, "app:after");
    let inventory: Value = serde_json::from_slice(
        &std::fs::read(crate::common::root().join("testdata/inventory.json")).unwrap(),
    )
    .unwrap();
    let mut wanted: Vec<String> = Vec::new();
    for tag in ["sbom-before", "sbom-after"] {
        let t = &inventory["tags"][tag];
        wanted.push(t["config"]["digest"].as_str().unwrap().to_string());
        for l in t["layers"].as_array().unwrap() {
            let name = l["name"].as_str().unwrap();
            if name == "run: sbom" || name == "launch.sbom" {
                wanted.push(l["digest"].as_str().unwrap().to_string());
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    assert_eq!(
        wanted.len(),
        6,
        "two configs, two run SBOM and two launch SBOM layers"
    );

    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let (b, a) = (reg.image("app:before"), reg.image("app:after"));
    reg.clear_log();
    let (code, cold, stderr) = json(&["--sbom", "--cache-dir", cache_dir, &b, &a]);
    assert_eq!(code, 0, "{stderr}");
    let mut got: Vec<String> = reg
        .bpdrift_requests()
        .into_iter()
        .filter(|r| r.path.contains("/blobs/"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got, wanted,
        "each SBOM layer and config exactly once, no other blob"
    );
    let (_, local, _) = json(&["--sbom", BEFORE, AFTER]);
    assert_eq!(cold["packages"], local["packages"]);

    reg.clear_log();
    let (_, warm, _) = json(&["--sbom", "--cache-dir", cache_dir, &b, &a]);
    assert_eq!(warm["packages"], cold["packages"]);
    let blobs: Vec<_> = reg
        .bpdrift_requests()
        .into_iter()
        .filter(|r| r.path.contains("/blobs/"))
        .collect();
    assert!(
        blobs.is_empty(),
        "a warm rerun downloads no blob: {blobs:#?}"
    );
}

#[test]
fn archives_give_the_same_packages() {
    // oci-archive and docker-archive sources go through the same layer reading.
    let dir = tempfile::tempdir().unwrap();
    let mut refs = Vec::new();
    for (tag, name) in [("sbom-before", "b"), ("sbom-after", "a")] {
        let file = dir.path().join(format!("{name}.tar"));
        let status = std::process::Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                &format!("oci:testdata/images:{tag}"),
                &format!("oci-archive:{}:{tag}", file.display()),
            ])
            .current_dir(crate::common::root())
            .status()
            .expect("skopeo");
        assert!(status.success());
        refs.push(format!("oci-archive:{}", file.display()));
    }
    let (code, from_archive, stderr) = json(&["--sbom", &refs[0], &refs[1]]);
    assert_eq!(code, 0, "{stderr}");
    let (_, local, _) = json(&["--sbom", BEFORE, AFTER]);
    assert_eq!(from_archive["packages"], local["packages"]);
    // docker-archive: uncompressed layers named by diffID, found by position all the same.
    let file = dir.path().join("after.docker.tar");
    let status = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            AFTER,
            &format!("docker-archive:{}:example.com/app:after", file.display()),
        ])
        .current_dir(crate::common::root())
        .status()
        .expect("skopeo");
    assert!(status.success());
    let docker = format!("docker-archive:{}", file.display());
    let (code, from_docker, stderr) = json(&["--sbom", BEFORE, &docker]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        from_docker["packages"]["groups"],
        local["packages"]["groups"]
    );
}

#[test]
fn fleet_sbom_true_compares_the_packages_of_the_roles() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            "[defaults]\nsbom = true\n\n[[service]]\nname = \"shop\"\ndeployed = \"{BEFORE}\"\ncandidate = \"{AFTER}\"\n\n\
             [[service]]\nname = \"no-sbom\"\nsbom = false\ndeployed = \"{BEFORE}\"\ncandidate = \"{AFTER}\"\n"
        ),
    )
    .unwrap();
    let run = bpdrift()
        .args(["report", "--fleet"])
        .arg(&fleet)
        .arg("--history")
        .arg(dir.path().join("h.sqlite"))
        .args("--format json --now 2026-11-20T06:00:00Z --no-cache".split(' '))
        .run();
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    let verdict = |name: &str| {
        v["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["drift"][0]["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        verdict("shop").contains("run image: 3 OS packages changed (libssl3"),
        "{}",
        verdict("shop")
    );
    assert!(
        !verdict("no-sbom").contains("OS packages"),
        "{}",
        verdict("no-sbom")
    );
}

/// Two nightly runs of a fleet with `sbom = true`: the deployed image moved from `sbom-before`
/// to `sbom-after` (a rebase, a JRE patch, app libraries) and a watched run image from
/// `run-bionic-packages-a` to `-b` (OS packages only). The history keeps each digest's packages
/// once; the since-last-run drift, the timeline and `bpdrift history` name what moved.
#[test]
fn the_history_keeps_packages_and_the_next_run_names_what_moved() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.sqlite");
    let fleet = |name: &str, app: &str, base: &str| {
        let f = dir.path().join(name);
        std::fs::write(
            &f,
            format!(
                "[defaults]\nsbom = true\n\n[[service]]\nname = \"shop\"\ndeployed = \"{app}\"\n\n\
                 [[service]]\nname = \"base\"\ndeployed = \"{base}\"\n"
            ),
        )
        .unwrap();
        f
    };
    let first = fleet("first.toml", BEFORE, LEGACY_A);
    let second = fleet("second.toml", AFTER, LEGACY_B);
    let report = |file: &std::path::Path, now: &str, format: &str| {
        let run = bpdrift()
            .args(["report", "--no-cache", "--format", format, "--now", now])
            .arg("--fleet")
            .arg(file)
            .arg("--history")
            .arg(&history)
            .run();
        assert!(run.code <= 1, "{}\n{}", run.stdout, run.stderr);
        run.stdout
    };
    report(&first, "2026-11-20T06:00:00Z", "json");
    let md = report(&second, "2026-11-21T06:00:00Z", "markdown");
    assert!(
        md.contains(
            "same buildpacks; run image: 2 OS packages changed (tzdata 2022g-0ubuntu0.18.04 → 2023c"
        ),
        "{md}"
    );
    settings(&[(r"from `[^`]*second\.toml`", "from `[FLEET]`")])
        .bind(|| assert_snapshot!("fleet_history_packages_markdown", md));
    let html = report(&second, "2026-11-21T07:00:00Z", "html");
    assert!(html.contains("<th>Packages</th>"), "{html}");
    assert!(
        html.contains("<td class=\"packages changed\">run image: 3 OS packages changed (libssl3"),
        "{html}"
    );
    // A third run of the same digests: nothing moved, and nothing is recorded again.
    let v: Value = serde_json::from_str(&report(&second, "2026-11-22T06:00:00Z", "json")).unwrap();
    let shop = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "shop")
        .unwrap();
    assert!(
        shop["since_last_run"][0].get("packages").is_none(),
        "{shop}"
    );
    let phrases: Vec<&Value> = shop["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["packages"])
        .collect();
    assert_eq!(phrases.len(), 4);
    assert!(
        phrases[0][0]
            .as_str()
            .unwrap()
            .starts_with("run image: 7 OS packages"),
        "{phrases:?}"
    );
    assert!(
        phrases[1][0]
            .as_str()
            .unwrap()
            .starts_with("run image: 3 OS packages changed"),
        "{phrases:?}"
    );
    assert_eq!(
        phrases[2],
        &serde_json::json!([]),
        "same digest, same packages"
    );

    let run = bpdrift()
        .args(["history", "shop", "--format", "json", "--history"])
        .arg(&history)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let h: Value = serde_json::from_str(&run.stdout).unwrap();
    let obs = h["services"][0]["observations"].as_array().unwrap();
    let recorded: Vec<bool> = obs
        .iter()
        .map(|o| o["snapshot"].get("packages").is_some())
        .collect();
    assert_eq!(recorded, [true, true, false, false], "once per digest");
    let run_image = &obs[1]["snapshot"]["packages"]["groups"][0];
    assert_eq!(run_image["location"], "run-image");
    let libssl = run_image["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libssl3")
        .unwrap();
    assert_eq!(
        libssl,
        &serde_json::json!({"name": "libssl3", "version": "3.0.2-0ubuntu1.10", "type": "deb"})
    );
    let run = bpdrift()
        .args(["history", "base", "--history"])
        .arg(&history)
        .run();
    assert!(
        run.stdout
            .contains("run image: 2 OS packages changed (tzdata"),
        "{}",
        run.stdout
    );
}
