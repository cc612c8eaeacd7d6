//! `bpdrift diff --release-notes` against a loopback server that follows GitHub's documented
//! releases API (pagination by `Link`, rate-limit headers and 403/429 bodies): the notes of
//! exactly the versions in between, folded, cached; a rate limit is one warning and never the
//! exit code; a huge or hostile body is bounded and escaped; without the flag nothing is asked.

use insta::assert_snapshot;
use serde_json::Value;

use crate::common::github_api::{FakeGithub, RateLimit, TOKEN};
use crate::common::{bpdrift, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";
const LIBERICA: &str = "paketo-buildpacks/bellsoft-liberica";

/// Releases of the incident pair's four moved buildpacks, newest first; bellsoft-liberica's
/// list is 130 long so the versions in between span two pages.
fn publish(gh: &FakeGithub) {
    let mut liberica: Vec<(String, String)> = Vec::new();
    for patch in (0..=9).rev() {
        liberica.push((
            format!("v10.2.{patch}"),
            format!("## Liberica 10.2.{patch}\n* JRE bumps for 10.2.{patch}"),
        ));
    }
    for minor in (0..=1).rev() {
        for patch in (0..60).rev() {
            liberica.push((format!("v10.{minor}.{patch}"), "older".into()));
        }
    }
    let refs: Vec<(&str, &str)> = liberica
        .iter()
        .map(|(t, b)| (t.as_str(), b.as_str()))
        .collect();
    gh.add_releases(LIBERICA, &refs);
    gh.add_releases(
        "paketo-buildpacks/syft",
        &[
            ("v1.31.0", "Syft 1.31: new cataloguers"),
            ("v1.30.2", "Syft 1.30.2: a fix in between"),
            ("v1.30.1", "the old version"),
        ],
    );
    gh.add_releases(
        "paketo-buildpacks/spring-boot",
        &[("v5.25.2", "Spring Boot 5.25.2"), ("v5.25.1", "old")],
    );
    // dist-zip's repository is not there: its notes only are missing.
}

fn diff(gh: &FakeGithub, cache: &std::path::Path, extra: &[&str]) -> crate::common::Run {
    let mut args = vec!["diff", GOOD, BAD, "--release-notes", "--cache-dir"];
    let cache = cache.to_str().unwrap().to_string();
    args.push(&cache);
    args.extend_from_slice(extra);
    bpdrift()
        .args(args)
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_TOKEN", TOKEN)
        .run()
}

#[test]
fn notes_of_exactly_the_versions_in_between_folded_and_cached() {
    let gh = FakeGithub::start();
    publish(&gh);
    let cache = tempfile::tempdir().unwrap();
    let run = diff(&gh, cache.path(), &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let notes = v["release_notes"].as_array().unwrap();
    let of = |bp: &str| {
        notes
            .iter()
            .find(|n| n["buildpack"] == bp)
            .unwrap_or_else(|| panic!("no notes of {bp}: {notes:#?}"))
    };
    let versions = |n: &Value| -> Vec<String> {
        n["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_str().unwrap().to_string())
            .collect()
    };
    // 10.2.3 → 10.2.4: only 10.2.4; syft 1.30.1 → 1.31.0 skips nothing released in between.
    assert_eq!(versions(of(LIBERICA)), ["10.2.4"]);
    assert_eq!(of(LIBERICA)["releases"][0]["headline"], "Liberica 10.2.4");
    assert_eq!(versions(of("paketo-buildpacks/syft")), ["1.30.2", "1.31.0"]);
    assert_eq!(versions(of("paketo-buildpacks/spring-boot")), ["5.25.2"]);
    assert!(
        of("paketo-buildpacks/dist-zip")["note"]
            .as_str()
            .unwrap()
            .contains("no repository paketo-buildpacks/dist-zip"),
        "{notes:#?}"
    );
    let first = gh.count("GET", "/releases");
    assert!(first >= 4, "{first} release requests");
    // The same versions again: the cache answers, nothing is asked.
    gh.clear_requests();
    let again = diff(&gh, cache.path(), &["--format", "markdown"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // dist-zip's repository was not there: that one is asked again (a 404 is not cached).
    assert_eq!(
        gh.count("GET", "/releases"),
        1,
        "{:#?}",
        gh.requests().iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert!(
        again
            .stdout
            .contains("<details><summary>10.2.4 Liberica 10.2.4</summary>"),
        "{}",
        again.stdout
    );
    settings(&[]).bind(|| assert_snapshot!("release_notes_markdown", again.stdout));
    let table = diff(&gh, cache.path(), &[]);
    settings(&[]).bind(|| assert_snapshot!("release_notes_table", table.snapshot()));
}

#[test]
fn a_long_move_reads_every_page_it_needs() {
    let gh = FakeGithub::start();
    publish(&gh);
    // A rule file is not needed: the versions come from the images; the pages from the API.
    let cache = tempfile::tempdir().unwrap();
    let out = bpdrift()
        .args([
            "diff",
            "oci:testdata/images:petclinic-2021-12",
            GOOD,
            "--release-notes",
            "--format",
            "json",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ])
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_TOKEN", TOKEN)
        .run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let lib = v["release_notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["buildpack"] == LIBERICA)
        .cloned()
        .unwrap();
    // 9.0.1 → 10.2.3: 60 + 60 + 4 releases on two pages of 100; the newest 50 shown.
    assert_eq!(lib["releases"].as_array().unwrap().len(), 50);
    assert_eq!(lib["more"], 74);
    assert_eq!(lib["releases"][49]["version"], "10.2.3");
    let pages: Vec<String> = gh
        .requests()
        .iter()
        .filter(|r| r.target.contains("releases") && r.target.contains("page="))
        .map(|r| r.target.clone())
        .collect();
    assert!(!pages.is_empty(), "the Link to page 2 was followed");
}

#[test]
fn a_rate_limit_is_one_warning_and_never_the_exit_code() {
    let gh = FakeGithub::start();
    publish(&gh);
    gh.set(|s| {
        s.rate_limits.push_back(RateLimit::Exhausted(3600));
        s.rate_limits.push_back(RateLimit::Exhausted(3600));
    });
    let cache = tempfile::tempdir().unwrap();
    let without = bpdrift().args(["diff", GOOD, BAD]).run();
    let run = diff(&gh, cache.path(), &[]);
    assert_eq!(run.code, without.code);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("rate limit") && warnings[0].contains("403"),
        "{}",
        warnings[0]
    );
    // One request, then nothing more is asked; the links stay.
    assert_eq!(gh.count("GET", "/releases"), 1);
    assert!(
        run.stdout.contains("Release notes") || run.stdout.contains("note: release notes left out")
    );
    // 429 with Retry-After: the same.
    let gh = FakeGithub::start();
    publish(&gh);
    gh.set(|s| s.rate_limits.push_back(RateLimit::RetryAfter(120)));
    let fresh = tempfile::tempdir().unwrap();
    let run = diff(&gh, fresh.path(), &["--format", "markdown"]);
    assert_eq!(run.code, without.code);
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("releases/tag/v10.2.4"),
        "the link stays"
    );
}

#[test]
fn a_huge_or_hostile_body_is_bounded_and_escaped() {
    let gh = FakeGithub::start();
    let hostile = format!(
        "@org/maintainers merge now</details><img src=x onerror=alert(1)>\n```\nfenced\n```\n\u{1b}]52;c;cHduZWQ=\u{7}\u{202e}\n{}",
        "x".repeat(5 * 1024 * 1024)
    );
    gh.add_releases(LIBERICA, &[("v10.2.4", &hostile), ("v10.2.3", "old")]);
    let cache = tempfile::tempdir().unwrap();
    let md = diff(&gh, cache.path(), &["--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md.stdout.len() < 200_000, "{} bytes", md.stdout.len());
    assert!(!md.stdout.contains('\u{1b}') && !md.stdout.contains('\u{7}'));
    // The body is a fenced block longer than any fence inside it: its `</details>` and
    // `<img>` are text, its mention pings nobody (code renders no mention).
    let start = md.stdout.find("<details><summary>10.2.4").unwrap();
    let block = &md.stdout[start..];
    let fence_line = block.lines().nth(2).unwrap();
    assert_eq!(fence_line, "````text", "{block:.300}");
    let json = diff(&gh, cache.path(), &["--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let r = &v["release_notes"][0]["releases"][0];
    assert_eq!(r["truncated"], true);
    assert!(r["body"].as_str().unwrap().len() <= 16 * 1024);
}

#[test]
fn without_the_flag_nothing_is_asked() {
    let gh = FakeGithub::start();
    publish(&gh);
    let run = bpdrift()
        .args(["diff", GOOD, BAD])
        .env("GITHUB_API_URL", gh.url())
        .env("GITHUB_TOKEN", TOKEN)
        .run();
    assert_eq!(run.code, 0);
    assert!(gh.requests().is_empty(), "{:?}", gh.requests());
}
