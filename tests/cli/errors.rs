//! Every user-facing error: exit 2, one line on stderr naming the subject, no panic.

use insta::assert_snapshot;

use crate::common::{bpdrift, settings};

const GOOD: &str = "oci:testdata/images:incident-good";

fn fails(args: &[&str]) -> crate::common::Run {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    let run = bpdrift().args(all).run();
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[test]
fn invalid_references() {
    let mut out = String::new();
    for bad in [
        "Ghcr.io/Org/App:1",
        "ghcr.io/org/app@sha256:abc",
        "ghcr.io/org/app:",
        "https://ghcr.io/org/app",
        "oci:",
        "dir:/tmp/image",
        "docker-daemon:sha256:abc",
        "",
    ] {
        let run = fails(&[bad, GOOD]);
        assert!(run.stdout.is_empty());
        out.push_str(&format!("{bad:?} -> {}", run.stderr));
    }
    settings(&[]).bind(|| assert_snapshot!("invalid_references", out));
}

#[test]
fn invalid_platform() {
    let run = bpdrift()
        .args(["diff", "--platform", "arm64", GOOD, GOOD])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid platform `arm64`"),
        "{}",
        run.stderr
    );
}

#[test]
fn broken_layouts_and_archives() {
    let mut out = String::new();
    for bad in [
        "oci:testdata/does-not-exist:x",
        "oci:testdata/broken/no-index",
        "oci:testdata/broken/missing-blob",
        "oci:testdata/images:no-such-tag",
        "oci:testdata/images",
        "oci-archive:testdata/archives/not-a-tar.tar",
        "oci-archive:testdata/archives/missing.tar",
        "docker-archive:testdata/archives/incident-good.oci.tar",
        "docker-archive:testdata/archives/incident-bad.docker.tar:example.com/app:nope",
    ] {
        let run = fails(&[GOOD, bad]);
        assert!(
            run.stdout.is_empty(),
            "nothing is printed when an image cannot be read"
        );
        assert!(run.stderr.contains(bad), "{bad}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        out.push_str(&run.stderr);
    }
    settings(&[]).bind(|| assert_snapshot!("broken_sources", out));
}

#[test]
fn corrupt_label_still_prints_the_diff_then_exits_2() {
    let run = fails(&[GOOD, "oci:testdata/images:broken-labels"]);
    assert!(run.stdout.contains("Unreadable labels"), "{}", run.stdout);
    assert!(run.stderr.contains("io.buildpacks.build.metadata"));
    assert!(run.stderr.contains("runImage.topLayer"));
    assert!(run.stderr.contains("oci:testdata/images:broken-labels"));
    settings(&[]).bind(|| assert_snapshot!("broken_labels", run.snapshot()));
}

/// `inspect` of an image with unreadable labels shows what is readable, names each label and
/// its JSON path, and exits 2, as `diff` does (it used to exit 0 in silence).
#[test]
fn inspect_of_corrupt_labels_names_them_and_exits_2() {
    for format in ["table", "json"] {
        let run = bpdrift()
            .args(["inspect", "--format"])
            .arg(format)
            .arg("oci:testdata/images:broken-labels")
            .run();
        assert_eq!(run.code, 2, "{}", run.snapshot());
        assert!(!run.stdout.is_empty(), "what is readable is still shown");
        assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("`io.buildpacks.build.metadata`")
                && run.stderr.contains("`runImage.topLayer`")
        );
        if format == "table" {
            settings(&[]).bind(|| assert_snapshot!("inspect_broken_labels_stderr", run.stderr));
        }
    }
}
