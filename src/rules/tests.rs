//! Every built-in rule has a pair of images that triggers it and a neighbouring pair that must
//! not; a rule added without its pair fails `every_builtin_rule_has_a_pair`.

mod generated;

use std::collections::BTreeMap;

use super::*;
use crate::diff::diff;
use crate::image::{Image, Origin};
use crate::metadata::{Dependency, ImageMetadata, Module, RunImage, label};

/// What differs between the two synthetic images.
#[derive(Clone, Copy)]
enum Pair {
    /// Buildpack id, before version, after version (None = absent).
    Bp(&'static str, Option<&'static str>, Option<&'static str>),
    /// Like `Bp`, with the JRE version of the new image.
    BpJre(&'static str, &'static str, &'static str, &'static str),
    /// bellsoft-liberica `jre` dependency, before and after.
    Jre(&'static str, &'static str),
    /// Stack id before and after.
    Stack(&'static str, &'static str),
    /// Run image name before and after.
    Run(&'static str, &'static str),
    /// A builder listing a buildpack, before and after (None = absent).
    Builder(&'static str, Option<&'static str>, Option<&'static str>),
}

fn image(md: ImageMetadata) -> Image {
    Image {
        origin: Origin {
            reference: "test".into(),
            transport: crate::image::Transport::Oci,
            digest: None,
            index_digest: None,
            config_digest: "sha256:0".into(),
            platform: "linux/amd64".into(),
        },
        layers: Vec::new(),
        metadata: md,
    }
}

fn app() -> ImageMetadata {
    let mut md = ImageMetadata {
        os: "linux".into(),
        architecture: "amd64".into(),
        ..Default::default()
    };
    md.labels.insert(label::BUILD.into(), "{}".into());
    md
}

fn builder() -> ImageMetadata {
    let mut md = ImageMetadata {
        os: "linux".into(),
        architecture: "amd64".into(),
        ..Default::default()
    };
    md.labels.insert(label::BUILDER.into(), "{}".into());
    md
}

fn with_bp(mut md: ImageMetadata, id: &str, v: Option<&str>) -> ImageMetadata {
    if let Some(v) = v {
        md.buildpacks.push(Module {
            id: id.into(),
            version: v.into(),
            homepage: None,
        });
    }
    md
}

/// A JRE as bellsoft-liberica records it: the layer's dependency, and so the `java` runtime.
fn with_jre(mut md: ImageMetadata, v: &str) -> ImageMetadata {
    md.dependencies.push(Dependency {
        buildpack: "paketo-buildpacks/bellsoft-liberica".into(),
        layer: "jre".into(),
        id: "jre".into(),
        name: None,
        version: v.into(),
    });
    md.runtimes.retain(|r| r.name != "java");
    md.runtimes.push(crate::metadata::Runtime {
        name: "java".into(),
        version: v.into(),
        recorded: None,
        kind: crate::metadata::runtimes::RuntimeKind::Runtime,
        source: "paketo-buildpacks/bellsoft-liberica layer jre (dependency.version)".into(),
        default_godebug: None,
    });
    md
}

fn images(p: Pair) -> (Image, Image) {
    let (b, a) = match p {
        Pair::Bp(id, b, a) => (with_bp(app(), id, b), with_bp(app(), id, a)),
        Pair::BpJre(id, b, a, jre) => (
            with_jre(with_bp(app(), id, Some(b)), jre),
            with_jre(with_bp(app(), id, Some(a)), jre),
        ),
        Pair::Jre(b, a) => (with_jre(app(), b), with_jre(app(), a)),
        Pair::Stack(b, a) => {
            let (mut x, mut y) = (app(), app());
            x.stack_id = Some(b.into());
            y.stack_id = Some(a.into());
            (x, y)
        }
        Pair::Run(b, a) => {
            let (mut x, mut y) = (app(), app());
            x.run_image = Some(RunImage {
                image: Some(b.into()),
                ..Default::default()
            });
            y.run_image = Some(RunImage {
                image: Some(a.into()),
                ..Default::default()
            });
            (x, y)
        }
        Pair::Builder(id, b, a) => (with_bp(builder(), id, b), with_bp(builder(), id, a)),
    };
    (image(b), image(a))
}

fn findings(set: &RuleSet, p: Pair) -> Vec<Finding> {
    let (b, a) = images(p);
    set.evaluate(&diff(&b, &a), &a.metadata)
}

const LIB: &str = "paketo-buildpacks/bellsoft-liberica";
const SB: &str = "paketo-buildpacks/spring-boot";

/// Hand-picked JVM cases beyond the generated ones (`generated.rs`): (rule id, triggering pair,
/// neighbouring pair that must not trigger it).
const PAIRS: &[(&str, Pair, Pair)] = &[
    (
        "buildpack-major-bump",
        Pair::Bp("x/y", Some("1.9.0"), Some("2.0.0")),
        Pair::Bp("x/y", Some("1.9.0"), Some("1.10.0")),
    ),
    (
        "buildpack-downgrade",
        Pair::Bp("x/y", Some("1.2.0"), Some("1.1.9")),
        Pair::Bp("x/y", Some("1.1.9"), Some("1.2.0")),
    ),
    (
        "buildpack-removed",
        Pair::Bp("x/y", Some("1.0.0"), None),
        Pair::Bp("x/y", None, Some("1.0.0")),
    ),
    (
        "builder-buildpack-removed",
        Pair::Builder("x/y", Some("1.0.0"), None),
        Pair::Bp("x/y", Some("1.0.0"), None),
    ),
    (
        "builder-bump-moves-apps",
        Pair::Builder(LIB, Some("10.2.3"), Some("10.4.2")),
        Pair::Bp(LIB, Some("10.2.3"), Some("10.4.2")),
    ),
    (
        "libjvm-go-memory-calculator",
        Pair::Bp(LIB, Some("3.0.0"), Some("3.1.0")),
        Pair::Bp(LIB, Some("3.1.0"), Some("3.2.0")),
    ),
    (
        "libjvm-meminfo-fallback",
        Pair::Bp(LIB, Some("5.2.1"), Some("6.0.0")),
        Pair::Bp(LIB, Some("6.0.0"), Some("6.1.0")),
    ),
    (
        "libjvm-head-room-var-fix",
        Pair::Bp(LIB, Some("8.0.0"), Some("8.1.0")),
        Pair::Bp(LIB, Some("8.1.0"), Some("8.2.0")),
    ),
    (
        "libjvm-cgroups-v2",
        Pair::Bp(LIB, Some("8.2.0"), Some("8.3.0")),
        Pair::Bp(LIB, Some("8.3.0"), Some("8.3.1")),
    ),
    (
        "libjvm-exit-on-oom-no-jvmkill",
        Pair::Bp(LIB, Some("8.3.1"), Some("8.4.0")),
        Pair::Bp(LIB, Some("8.4.0"), Some("8.5.0")),
    ),
    (
        "libjvm-nmt-default-on",
        Pair::Bp(LIB, Some("8.6.0"), Some("8.7.0")),
        Pair::Bp(LIB, Some("8.7.0"), Some("8.8.0")),
    ),
    (
        "libjvm-class-adjustment",
        Pair::Bp(LIB, Some("8.9.0"), Some("9.0.0")),
        Pair::Bp(LIB, Some("9.0.0"), Some("9.0.1")),
    ),
    (
        "libjvm-jvm-version-from-manifest",
        Pair::Bp(LIB, Some("9.0.2"), Some("9.0.3")),
        Pair::Bp(LIB, Some("9.0.3"), Some("9.1.0")),
    ),
    (
        "libjvm-java18-cacerts-off",
        Pair::BpJre(LIB, "9.3.0", "9.3.1", "18.0.2"),
        Pair::Bp(LIB, Some("10.4.2"), Some("10.4.3")),
    ),
    (
        "libjvm-agent-class-count",
        Pair::Bp(LIB, Some("9.3.3"), Some("9.3.4")),
        Pair::Bp(LIB, Some("9.3.4"), Some("9.3.5")),
    ),
    (
        "libjvm-nested-jar-count",
        Pair::Bp(LIB, Some("9.3.4"), Some("9.3.5")),
        Pair::Bp(LIB, Some("9.3.5"), Some("9.3.6")),
    ),
    (
        "libjvm-jlink",
        Pair::Bp(LIB, Some("9.3.9"), Some("9.4.0")),
        Pair::Bp(LIB, Some("9.4.0"), Some("9.5.0")),
    ),
    (
        "liberica-default-java-17",
        Pair::Bp(LIB, Some("9.12.0"), Some("10.0.0")),
        Pair::Bp(LIB, Some("10.0.0"), Some("10.1.0")),
    ),
    (
        "libjvm-readonly-truststore-tmp",
        Pair::Bp(LIB, Some("10.2.3"), Some("10.2.4")),
        Pair::Bp(LIB, Some("10.2.4"), Some("10.2.5")),
    ),
    (
        "libjvm-readonly-fs-java18plus-launch-failure",
        Pair::BpJre(LIB, "10.4.2", "10.4.3", "21.0.1"),
        Pair::BpJre(LIB, "10.4.4", "10.4.5", "21.0.1"),
    ),
    (
        "libjvm-no-active-processor-count-java17",
        Pair::BpJre(LIB, "10.7.0", "10.7.1", "17.0.9"),
        Pair::Bp(LIB, Some("10.7.1"), Some("10.8.0")),
    ),
    (
        "liberica-default-java-21",
        Pair::Bp(LIB, Some("10.9.0"), Some("11.0.0")),
        Pair::Bp(LIB, Some("11.0.0"), Some("11.1.0")),
    ),
    (
        "liberica-jre-change",
        Pair::Jre("17.0.6", "17.0.7"),
        Pair::Jre("17.0.7", "17.0.7"),
    ),
    (
        "spring-boot-thread-count-by-app-type",
        Pair::Bp(SB, Some("1.8.1"), Some("1.9.0")),
        Pair::Bp(SB, Some("1.9.0"), Some("1.10.0")),
    ),
    (
        "spring-boot-jakarta-servlet-detection",
        Pair::Bp(SB, Some("5.23.0"), Some("5.24.0")),
        Pair::Bp(SB, Some("5.24.0"), Some("5.24.1")),
    ),
    (
        "spring-boot-scb-disabled-wipes-jto",
        Pair::Bp(SB, Some("5.28.1"), Some("5.29.0")),
        Pair::Bp(SB, Some("5.30.2"), Some("5.31.0")),
    ),
    (
        "spring-boot-cds-aot",
        Pair::Bp(SB, Some("5.28.0"), Some("5.29.0")),
        Pair::Bp(SB, Some("5.29.0"), Some("5.30.0")),
    ),
    (
        "syft-build-only",
        Pair::Bp("paketo-buildpacks/syft", Some("1.30.1"), Some("1.31.0")),
        Pair::Bp("paketo-buildpacks/syft", Some("1.31.0"), Some("1.31.0")),
    ),
    (
        "spring-boot-plugin-default-builder-jammy",
        Pair::Stack("io.buildpacks.stacks.bionic", "io.buildpacks.stacks.jammy"),
        Pair::Stack("io.buildpacks.stacks.jammy", "io.buildpacks.stacks.noble"),
    ),
    (
        "spring-boot-plugin-default-builder-tiny",
        Pair::Run(
            "paketobuildpacks/run-jammy-base:latest",
            "paketobuildpacks/run-jammy-tiny:latest",
        ),
        Pair::Run(
            "paketobuildpacks/run-jammy-tiny:latest",
            "paketobuildpacks/run-jammy-base:latest",
        ),
    ),
    (
        "jvm-vendors-low-memory-profile",
        Pair::Bp("paketo-buildpacks/jvm-vendors", None, Some("0.0.2")),
        Pair::Bp("paketo-buildpacks/jvm-vendors", Some("0.0.2"), None),
    ),
];

#[test]
fn builtin_rules_trigger_and_neighbours_do_not() {
    let set = RuleSet::builtin();
    for (id, hit, miss) in PAIRS {
        let rule = set.rules().iter().find(|r| r.id == *id).expect("rule");
        let got = findings(&set, *hit);
        let f = got
            .iter()
            .find(|f| f.rule == *id)
            .unwrap_or_else(|| panic!("`{id}` did not trigger"));
        assert_eq!(f.severity, rule.severity, "`{id}`: {:?}", f.note);
        assert!(
            !f.sources.is_empty() || id.starts_with("buildpack-") || id.starts_with("builder-"),
            "`{id}` has no sources"
        );
        assert!(
            !findings(&set, *miss).iter().any(|f| f.rule == *id),
            "`{id}` triggered on its neighbouring pair"
        );
    }
}

#[test]
fn bug_window_bounds() {
    let set = RuleSet::builtin();
    let id = "libjvm-readonly-fs-java18plus-launch-failure";
    for (before, after, fires) in [
        ("10.4.2", "10.4.3", true),
        ("10.4.3", "10.4.4", true),
        ("10.4.2", "10.4.4", true),
        ("10.4.4", "10.4.5", false),
        ("10.4.2", "10.4.5", false),
        ("10.4.1", "10.4.2", false),
    ] {
        let got = findings(&set, Pair::BpJre(LIB, before, after, "21.0.1"));
        assert_eq!(
            got.iter().any(|f| f.rule == id),
            fires,
            "{before} → {after}"
        );
    }
}

#[test]
fn applies_if_lowers_severity_with_a_note() {
    let set = RuleSet::builtin();
    let id = "libjvm-readonly-fs-java18plus-launch-failure";
    let got = findings(&set, Pair::BpJre(LIB, "10.4.2", "10.4.3", "17.0.9"));
    let f = got.iter().find(|f| f.rule == id).expect("still reported");
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.note.as_deref().unwrap().contains("java 17.0.9"),
        "{:?}",
        f.note
    );
}

#[test]
fn crossing_works_both_ways_and_not_comparable_is_said() {
    let set = RuleSet::builtin();
    let down = findings(&set, Pair::Bp(LIB, Some("10.0.0"), Some("9.12.0")));
    let f = down
        .iter()
        .find(|f| f.rule == "liberica-default-java-17")
        .expect("reverse crossing reported");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.summary.starts_with("back below 10.0.0"), "{}", f.summary);
    assert!(f.summary.contains("17 → 11"), "{}", f.summary);
    let odd = findings(&set, Pair::Bp(LIB, Some("{{.version}}"), Some("10.0.0")));
    let f = odd
        .iter()
        .find(|f| f.rule == "liberica-default-java-17")
        .expect("reported as unknown");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.note.as_deref().unwrap().contains("not comparable"));
}

#[test]
fn incident_pair_has_no_memory_warning() {
    let set = RuleSet::builtin();
    for p in [
        Pair::BpJre(LIB, "10.2.3", "10.2.4", "17.0.7"),
        Pair::Bp("paketo-buildpacks/syft", Some("1.30.1"), Some("1.31.0")),
        Pair::Bp("paketo-buildpacks/dist-zip", Some("5.6.2"), Some("5.6.3")),
        Pair::Bp(SB, Some("5.25.1"), Some("5.25.2")),
    ] {
        for f in findings(&set, p) {
            assert_eq!(f.severity, Severity::Info, "{}: {:?}", f.rule, f.note);
        }
    }
}

#[test]
fn user_rule_replaces_builtin_with_same_id() {
    let mut set = RuleSet::builtin();
    let n = set.rules().len();
    let file = parse_file(
        "mine.toml",
        r#"
[[rule]]
id = "liberica-default-java-17"
buildpack = "paketo-buildpacks/bellsoft-liberica"
introduced = "10.0.0"
severity = "error"
summary = "we pin Java 11"
"#,
    );
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    set.extend(file.rules);
    assert_eq!(set.rules().len(), n);
    let got = findings(&set, Pair::Bp(LIB, Some("9.12.0"), Some("10.0.0")));
    let f = got
        .iter()
        .find(|f| f.rule == "liberica-default-java-17")
        .unwrap();
    assert_eq!(
        (f.severity, f.summary.as_str()),
        (Severity::Error, "we pin Java 11")
    );
}

/// The rollback of the incident: spring-boot 5.24.0 → 5.23.0 removes the +200 MiB; the rule's
/// own text (and `error`) describe the other direction.
#[test]
fn rollback_across_a_boundary_is_info_with_its_own_text() {
    let set = RuleSet::builtin();
    let id = "spring-boot-jakarta-servlet-detection";
    let up = findings(&set, Pair::Bp(SB, Some("5.23.0"), Some("5.24.0")));
    let f = up.iter().find(|f| f.rule == id).expect("upward");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.summary.contains("5.23.0 → 5.24.0"), "{}", f.summary);
    let down = findings(&set, Pair::Bp(SB, Some("5.24.0"), Some("5.23.0")));
    let f = down.iter().find(|f| f.rule == id).expect("reverse");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.summary,
        "back below 5.24.0 (5.24.0 → 5.23.0): Spring Boot 3 \
         (jakarta.servlet) web apps are detected as non-web again: default threads 250 → 50, \
         −200 MiB of stack in the calculation"
    );
    assert!(
        down.iter().all(|f| f.severity < Severity::Error),
        "{down:?}"
    );
}

#[test]
fn reverse_severity_and_summary_are_the_rule_files_to_set() {
    let mut set = RuleSet::default();
    let file = parse_file(
        "mine.toml",
        r#"
[[rule]]
id = "quiet-rollback"
buildpack = "x/y"
introduced = "2.0.0"
severity = "error"
reverse-severity = "off"
summary = "up"

[[rule]]
id = "loud-rollback"
buildpack = "x/y"
introduced = "2.0.0"
severity = "info"
reverse-severity = "warning"
reverse-summary = "{subject} back below {boundary}: {before} → {after}"
summary = "up"
"#,
    );
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    set.extend(file.rules);
    let got = findings(&set, Pair::Bp("x/y", Some("2.1.0"), Some("1.9.0")));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (
            got[0].rule.as_str(),
            got[0].severity,
            got[0].summary.as_str()
        ),
        (
            "loud-rollback",
            Severity::Warning,
            "x/y back below 2.0.0: 2.1.0 → 1.9.0"
        )
    );
}

#[test]
fn reverse_keys_need_a_crossing_and_kinds_are_checked() {
    let file = parse_file(
        "bad.toml",
        r#"
[[rule]]
id = "window"
buildpack = "x/y"
introduced = "1.0.0"
fixed = "1.1.0"
reverse-severity = "info"
image-kinds = ["app", "container"]
severity = "error"
summary = "s"
"#,
    );
    let msgs: Vec<&str> = file
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        msgs.contains(&"`reverse-severity` only applies to a crossing rule"),
        "{msgs:?}"
    );
    assert!(msgs.contains(&"unknown image kind `container`"), "{msgs:?}");
}

#[test]
fn no_hard_coded_version_pairs_in_texts() {
    let set = RuleSet::builtin();
    for (b, a) in [("2.10.0", "2.9.0"), ("1.31.0", "2.0.0")] {
        let got = findings(&set, Pair::Bp("paketo-buildpacks/syft", Some(b), Some(a)));
        let f = got.iter().find(|f| f.rule == "syft-build-only").unwrap();
        assert!(
            f.summary.starts_with(&format!("{b} → {a}:")),
            "{}",
            f.summary
        );
        assert!(!f.summary.contains("1.30.1"), "{}", f.summary);
    }
    let added = findings(
        &set,
        Pair::Bp("paketo-buildpacks/syft", None, Some("2.10.0")),
    );
    let f = added.iter().find(|f| f.rule == "syft-build-only").unwrap();
    assert!(f.summary.contains("none → 2.10.0"), "{}", f.summary);
    // No bare `#N`: GitHub would link it to the commented repository's own issue.
    for r in set.rules() {
        let bare = r
            .summary
            .match_indices('#')
            .any(|(i, _)| r.summary[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
        assert!(!bare, "`{}`: {}", r.id, r.summary);
    }
}

/// An `applies-if` that cannot be evaluated (no JRE recorded) never reports at the rule's own
/// severity: `info` with "may apply" by default, nothing with `when-unknown = "off"`.
#[test]
fn applies_if_without_the_dependency_is_may_apply_or_nothing() {
    let set = RuleSet::builtin();
    let id = "libjvm-readonly-fs-java18plus-launch-failure";
    let got = findings(&set, Pair::Bp(LIB, Some("10.4.2"), Some("10.4.3")));
    let f = got
        .iter()
        .find(|f| f.rule == id)
        .expect("reported as may apply");
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.note
            .as_deref()
            .unwrap()
            .starts_with("may apply: no java recorded"),
        "{:?}",
        f.note
    );

    let mut set = RuleSet::default();
    let file = parse_file(
        "mine.toml",
        r#"
[[rule]]
id = "needs-java-21"
buildpack = "x/y"
change = ["changed"]
applies-if = { dependency = ["jre"], version = ">=21", when-unknown = "off" }
severity = "error"
summary = "s"
"#,
    );
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    set.extend(file.rules);
    assert!(findings(&set, Pair::Bp("x/y", Some("1.0.0"), Some("1.1.0"))).is_empty());
    let got = findings(&set, Pair::BpJre("x/y", "1.0.0", "1.1.0", "21.0.1"));
    assert_eq!(got[0].severity, Severity::Error);
}

/// A builder bump: no app runtime rules, no "did not detect", a summary of what apps would move.
#[test]
fn builder_diffs_get_builder_rules_only() {
    let set = RuleSet::builtin();
    let got = findings(&set, Pair::Builder(SB, Some("5.23.0"), Some("5.24.0")));
    assert!(got.iter().all(|f| f.severity == Severity::Info), "{got:?}");
    let rules: Vec<&str> = got.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["builder-bump-moves-apps"]);
    assert_eq!(
        got[0].summary,
        "apps built on this builder would move paketo-buildpacks/spring-boot 5.23.0 → 5.24.0"
    );
    let got = findings(&set, Pair::Builder(LIB, Some("10.2.3"), None));
    let rules: Vec<&str> = got.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["builder-buildpack-removed"]);
    assert!(!got[0].summary.contains("did not detect"));
}

#[test]
fn package_rules_parse_with_their_own_version_order() {
    let f = parse_file(
        "p.toml",
        r#"
[[rule]]
id = "ssl"
package = "libssl*"
purl-type = "deb"
introduced = "3.0.2-0ubuntu1.10"
severity = "warning"
summary = "{subject}"

[[rule]]
id = "lonely-purl-type"
purl-type = "deb"
label = "x"
severity = "info"
summary = "s"
"#,
    );
    assert_eq!(f.rules.len(), 1, "{:?}", f.diagnostics);
    assert_eq!(f.rules[0].subject.describe(), "package libssl* (deb)");
    assert_eq!(
        f.rules[0].condition.describe(),
        "crosses 3.0.2-0ubuntu1.10 upward (back below: info)"
    );
    assert_eq!(f.diagnostics.len(), 1);
    assert!(
        f.diagnostics[0]
            .message
            .contains("`purl-type` narrows a `package` rule"),
        "{:?}",
        f.diagnostics
    );
}

/// A version as its ecosystem writes it is compared as the version it is: a package rule on
/// Go's `stdlib` matches `go1.23.0`, and one that cannot be ordered is said, never silent.
#[test]
fn ecosystem_versions_compare_and_the_rest_is_said() {
    let file = parse_file(
        "go.toml",
        r#"
[[rule]]
id = "stdlib-1.23"
package = "stdlib"
purl-type = "golang"
introduced = "1.23.0"
severity = "warning"
summary = "Go {before} → {after}"
sources = ["https://go.dev/doc/go1.23"]
"#,
    );
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    let rule = &file.rules[0];
    let mut c = Change::of(
        Category::Package,
        "stdlib (paketo-buildpacks/go-build)",
        Some("go1.22.5".into()),
        Some("go1.23.0".into()),
    );
    c.class = crate::version::classify("go1.22.5", "go1.23.0");
    let f = rule.found(
        &c,
        &ImageMetadata::default(),
        rule.check_package(&c, "golang"),
    );
    assert_eq!(f.expect("fires").severity, Severity::Warning);
    let odd = Change::of(
        Category::Package,
        "stdlib (x)",
        Some("devel +abc".into()),
        Some("go1.23.0".into()),
    );
    let f = rule
        .found(
            &odd,
            &ImageMetadata::default(),
            rule.check_package(&odd, "golang"),
        )
        .expect("said");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.note.unwrap().contains("not comparable"));
}

/// `runtime` names are checked: a typo is an error with a suggestion, a glob is taken as is.
#[test]
fn runtime_names_are_checked() {
    let file = parse_file(
        "r.toml",
        r#"
family = "mine"

[[rule]]
id = "a"
runtime = "golang"
introduced = "1.23.0"
severity = "info"
summary = "x"

[[rule]]
id = "b"
runtime = "py*"
introduced = "3.13.0"
severity = "info"
summary = "x"
depends-on = "whether the app imports cgi"
applies-if = { godebug = "asynctimerchan", kept = false }
"#,
    );
    let msgs: Vec<String> = file.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("unknown runtime `golang`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("invalid `godebug`")),
        "{msgs:?}"
    );
    let text = render_diagnostics(&file);
    assert!(text.contains("did you mean `go`?"), "{text}");
}
