//! For every built-in rule, image pairs generated from the rule itself: one that crosses its
//! boundary (it must fire, at the severity the rule promises for what the pair shows), one on
//! the same side of the boundary (it must stay silent), and the way back (a rollback, worded as
//! one). A rule added to a `builtin/*.toml` file is covered without anyone writing its pair;
//! a rule whose condition this generator cannot build a pair for fails the test.

use super::*;
use crate::metadata::Runtime;
use crate::metadata::runtimes::RuntimeKind;

/// One side of a generated pair: what the image records of the rule's subject.
#[derive(Debug, Clone)]
struct Side {
    /// The subject's value (a version or a name), `None` = absent.
    value: Option<String>,
}

/// A version strictly below `v` (`1.25.0` → `1.24.9`, `22.04` → `22.3.9`), satisfying `req`
/// when there is one.
fn below(v: &semver::Version, req: Option<&semver::VersionReq>) -> Option<String> {
    let mut c = Vec::new();
    if v.patch > 0 {
        c.push(semver::Version::new(v.major, v.minor, v.patch - 1));
    }
    if v.minor > 0 {
        c.push(semver::Version::new(v.major, v.minor - 1, 9));
        c.push(semver::Version::new(v.major, v.minor - 1, 0));
    }
    if v.major > 0 {
        c.push(semver::Version::new(v.major - 1, 9, 9));
        c.push(semver::Version::new(v.major - 1, 0, 0));
    }
    c.into_iter()
        .find(|x| req.is_none_or(|r| r.matches(x)))
        .map(|x| x.to_string())
}

/// A version at or above `v` (`v` itself first, then later patches and minors) satisfying
/// `req`.
fn at_or_above(
    v: &semver::Version,
    req: Option<&semver::VersionReq>,
    skip: usize,
) -> Option<String> {
    let c = [
        v.clone(),
        semver::Version::new(v.major, v.minor, v.patch + 1),
        semver::Version::new(v.major, v.minor, v.patch + 2),
        semver::Version::new(v.major, v.minor + 1, 0),
    ];
    c.into_iter()
        .filter(|x| req.is_none_or(|r| r.matches(x)))
        .nth(skip)
        .map(|x| x.to_string())
}

/// An example value matching the first glob (`*run-jammy-tiny*` → `run-jammy-tiny`), with a
/// suffix to make a second, different one.
fn example(g: &Globs, suffix: &str) -> String {
    let p = g.0[0].as_str();
    let s: String = p.replace(['*', '?'], "").replace(['[', ']'], "");
    let s = if suffix.is_empty() {
        s
    } else {
        format!("{s}{suffix}")
    };
    assert!(g.matches(&s), "cannot make an example of `{p}`");
    s
}

/// A second value matching `g` other than `first` when one can be made (a second pattern, or a
/// suffix on a wildcard), else `first` itself (an unchanged value).
fn another(g: &Globs, first: &str) -> String {
    for p in g.0.iter().skip(1) {
        let s = p.as_str().replace(['*', '?', '[', ']'], "");
        if g.matches(&s) && s != first {
            return s;
        }
    }
    let s = format!("{first}-next");
    if g.matches(&s) { s } else { first.to_string() }
}

/// The generated pairs of a rule: (crossing, neighbour, rollback), each `(before, after)`.
type Pairs = ((Side, Side), (Side, Side), Option<(Side, Side)>);

fn side(v: Option<String>) -> Side {
    Side { value: v }
}

fn pairs(r: &Rule) -> Pairs {
    let c = &r.condition;
    let (from, to) = (c.from.as_ref(), c.to.as_ref());
    if let Some(i) = &c.introduced {
        let i = match &c.package_bounds {
            Some((i, _)) => crate::version::parse(i).expect("package bound"),
            None => i.clone(),
        };
        let lo = below(&i, from).unwrap_or_else(|| panic!("`{}`: no version below {i}", r.id));
        let hit = at_or_above(&i, to, 0).unwrap_or_else(|| panic!("`{}`: no version at {i}", r.id));
        return match &c.fixed {
            // A bug window: into it fires; past its end, on both sides, does not.
            Some(f) => {
                let past = at_or_above(f, to, 0).expect("past the window");
                let past2 = at_or_above(f, to, 1).expect("past the window");
                (
                    (side(Some(lo)), side(Some(hit))),
                    (side(Some(past)), side(Some(past2))),
                    None,
                )
            }
            None => {
                let hit2 = at_or_above(&i, to, 1).expect("above the boundary");
                let back = r
                    .condition
                    .reverse
                    .severity
                    .map(|_| (side(Some(hit.clone())), side(Some(lo.clone()))));
                (
                    (side(Some(lo.clone())), side(Some(hit.clone()))),
                    (side(Some(hit)), side(Some(hit2))),
                    back,
                )
            }
        };
    }
    if let (Some(f), Some(t)) = (&c.from_value, &c.to_value) {
        let (a, b) = (example(f, ""), example(t, ""));
        return (
            (side(Some(a.clone())), side(Some(b.clone()))),
            (side(Some(b.clone())), side(Some(another(t, &b)))),
            r.condition
                .reverse
                .severity
                .map(|_| (side(Some(b)), side(Some(a)))),
        );
    }
    if let Some(t) = &c.to_value {
        let b = example(t, "");
        return (
            (side(Some("something-else".into())), side(Some(b.clone()))),
            (side(Some(b.clone())), side(Some(b))),
            None,
        );
    }
    // Change kinds (the generic rules): a move of that kind, and one of another kind.
    let kinds: Vec<&str> = c.change.iter().map(|k| k.as_str()).collect();
    let pick = |k: &str| -> (Option<&str>, Option<&str>) {
        match k {
            "major" => (Some("1.9.0"), Some("2.0.0")),
            "minor" => (Some("1.9.0"), Some("1.10.0")),
            "patch" => (Some("1.9.0"), Some("1.9.1")),
            "prerelease" => (Some("1.9.0"), Some("1.9.1-rc.1")),
            "build-metadata" => (Some("1.9.0"), Some("1.9.0+b2")),
            "downgrade" => (Some("1.2.0"), Some("1.1.9")),
            "not-comparable" => (Some("1.2.0"), Some("{{.version}}")),
            "added" => (None, Some("1.0.0")),
            "removed" => (Some("1.0.0"), None),
            _ => (Some("1.0.0"), Some("1.0.1")),
        }
    };
    let first = kinds.first().copied().unwrap_or("changed");
    let (b, a) = pick(first);
    // The neighbour: the same item, unchanged.
    (
        (side(b.map(String::from)), side(a.map(String::from))),
        (side(Some("1.0.0".into())), side(Some("1.0.0".into()))),
        None,
    )
}

/// A runtime entry as the pipeline would have read it.
fn runtime(name: &str, version: &str) -> Runtime {
    Runtime {
        name: name.into(),
        version: version.into(),
        recorded: None,
        kind: crate::metadata::runtimes::kind_of(name),
        source: "test".into(),
        default_godebug: None,
    }
}

/// The image of one side: the rule's kind (app unless it names only others), the subject's
/// value set, and what its `applies-if` needs to hold.
fn build(r: &Rule, s: &Side, satisfy: bool) -> ImageMetadata {
    let mut md = match r.kinds.first() {
        Some(ImageKind::Builder) => builder(),
        Some(ImageKind::Buildpackage) => {
            let mut md = ImageMetadata {
                os: "linux".into(),
                architecture: "amd64".into(),
                ..Default::default()
            };
            md.labels.insert(label::BUILDPACKAGE.into(), "{}".into());
            md
        }
        _ => app(),
    };
    let v = s.value.clone();
    match &r.subject {
        Subject::Buildpack(g) => {
            let id = example(g, "");
            md = with_bp(md, &id, v.as_deref());
        }
        Subject::Dependency { layer, buildpack } => {
            if let Some(v) = v {
                md.dependencies.push(Dependency {
                    buildpack: buildpack
                        .as_ref()
                        .map_or_else(|| LIB.to_string(), |b| example(b, "")),
                    layer: example(layer, ""),
                    id: example(layer, ""),
                    name: None,
                    version: v,
                });
            }
        }
        Subject::Runtime(g) => {
            if let Some(v) = v {
                md.runtimes.push(runtime(&example(g, ""), &v));
            }
        }
        Subject::Lifecycle => md.lifecycle_version = v,
        Subject::PlatformApi => md.platform_api = v,
        Subject::Stack => md.stack_id = v,
        Subject::RunImage => {
            md.run_image = v.map(|v| RunImage {
                image: Some(v),
                ..Default::default()
            })
        }
        other => panic!("`{}`: no generator for {}", r.id, other.describe()),
    }
    if satisfy && let Some(a) = &r.applies_if {
        match &a.target {
            AppliesTarget::Runtime(g) => {
                let name = example(g, "");
                let v = lowest(&a.version);
                md.runtimes.retain(|x| x.name != name);
                md.runtimes.push(runtime(&name, &v));
            }
            AppliesTarget::Dependency(g) => {
                md = with_jre(md, &lowest(&a.version));
                md.dependencies.last_mut().unwrap().layer = example(g, "");
            }
            AppliesTarget::Godebug { setting, old, kept } => {
                let godebug = if *kept {
                    format!("{setting}={old}")
                } else {
                    String::new()
                };
                match md.runtimes.iter_mut().find(|x| x.name == "go") {
                    Some(go) => go.default_godebug = Some(godebug),
                    None => {
                        let mut go = runtime("go", "1.30.0");
                        go.default_godebug = Some(godebug);
                        md.runtimes.push(go);
                    }
                }
            }
        }
    }
    md
}

/// The lowest version a requirement takes (`>=18` → `18.0.0`, `<12` → `0.0.0`).
fn lowest(req: &semver::VersionReq) -> String {
    ["0.0.0", "1.0.0"]
        .iter()
        .map(|s| semver::Version::parse(s).unwrap())
        .chain(
            req.comparators
                .iter()
                .map(|c| semver::Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0))),
        )
        .find(|v| req.matches(v))
        .unwrap_or_else(|| panic!("no version satisfies {req}"))
        .to_string()
}

fn run(set: &RuleSet, r: &Rule, pair: &(Side, Side), satisfy: bool) -> Vec<Finding> {
    let (b, a) = (
        image(build(r, &pair.0, satisfy)),
        image(build(r, &pair.1, satisfy)),
    );
    let d = crate::diff::diff(&b, &a);
    set.evaluate(&d, &a.metadata)
}

/// What the rule promises for a pair that shows its condition: its severity, but `info` when
/// it depends on something no image records.
fn expected(r: &Rule) -> Severity {
    let proven = matches!(
        r.applies_if.as_ref().map(|a| &a.target),
        Some(
            AppliesTarget::Godebug { .. }
                | AppliesTarget::Runtime(_)
                | AppliesTarget::Dependency(_)
        )
    );
    if r.depends_on.is_some() && !proven {
        Severity::Info
    } else {
        r.severity
    }
}

#[test]
fn every_builtin_rule_fires_on_its_crossing_and_not_on_its_neighbour() {
    let set = RuleSet::builtin();
    assert!(
        set.rules().len() >= 100,
        "{} built-in rules",
        set.rules().len()
    );
    let mut checked = 0;
    for r in set.rules() {
        let (cross, neighbour, back) = pairs(r);
        let got = run(&set, r, &cross, true);
        let f = got.iter().find(|f| f.rule == r.id).unwrap_or_else(|| {
            panic!(
                "`{}` did not fire on its crossing {cross:?}: {got:#?}",
                r.id
            )
        });
        assert_eq!(
            f.severity,
            expected(r),
            "`{}` on {cross:?}: {:?}",
            r.id,
            f.note
        );
        assert!(!f.not_applicable, "`{}`: {:?}", r.id, f.note);
        assert!(
            !run(&set, r, &neighbour, true)
                .iter()
                .any(|f| f.rule == r.id),
            "`{}` fired on its neighbour {neighbour:?}",
            r.id
        );
        if let Some(back) = back {
            let got = run(&set, r, &back, true);
            let f = got
                .iter()
                .find(|f| f.rule == r.id)
                .unwrap_or_else(|| panic!("`{}`: its rollback {back:?} said nothing", r.id));
            assert_eq!(Some(f.severity), r.condition.reverse.severity, "`{}`", r.id);
            assert!(
                f.summary.contains("back"),
                "`{}`: a rollback must be worded as one: {}",
                r.id,
                f.summary
            );
        }
        // The condition does not hold: not a finding (a rule with `applies-if` only).
        if let Some(a) = &r.applies_if
            && !matches!(a.target, AppliesTarget::Dependency(_))
        {
            let got = run(&set, r, &cross, false);
            if let Some(f) = got.iter().find(|f| f.rule == r.id) {
                assert_eq!(
                    f.severity,
                    Severity::Info,
                    "`{}` unproven: {:?}",
                    r.id,
                    f.note
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, set.rules().len());
}

#[test]
fn every_builtin_rule_is_sourced_and_says_what_to_do() {
    let set = RuleSet::builtin();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for r in set.rules() {
        assert!(r.family.is_some(), "`{}` has no family", r.id);
        let generic = r.family.as_deref() == Some("generic");
        if generic {
            continue;
        }
        assert!(!r.sources.is_empty(), "`{}` has no source", r.id);
        for s in &r.sources {
            // Well-formed: an https URL with a host and no whitespace.
            let rest = s
                .strip_prefix("https://")
                .unwrap_or_else(|| panic!("`{}`: {s}", r.id));
            let host = rest.split(['/', '#', '?']).next().unwrap_or_default();
            assert!(
                host.contains('.') && !s.contains(char::is_whitespace),
                "`{}`: malformed source {s}",
                r.id
            );
            // Unique to its fact: no two rules cite the same URL.
            if let Some(other) = seen.insert(s.as_str(), r.id.as_str()) {
                panic!("`{}` and `{other}` share the source {s}", r.id);
            }
        }
        // Version rules must say what to do; the JVM seed's memory facts are notes of what
        // changed and carry advice where one exists.
        if r.family.as_deref() != Some("jvm") || matches!(r.subject, Subject::Runtime(_)) {
            assert!(
                r.advice.is_some(),
                "`{}` says nothing about what to do",
                r.id
            );
        }
        assert!(!r.kinds.is_empty(), "`{}` names no image kinds", r.id);
    }
}

#[test]
fn families_have_their_minimum_of_rules() {
    let set = RuleSet::builtin();
    let count = |f: &str| {
        set.rules()
            .iter()
            .filter(|r| r.family.as_deref() == Some(f))
            .count()
    };
    for (family, min) in [
        ("node", 8),
        ("go", 8),
        ("python", 8),
        ("dotnet", 8),
        ("jvm", 4),
        ("ruby", 4),
        ("php", 4),
        ("webservers", 4),
        ("run-image", 4),
        ("lifecycle", 4),
    ] {
        assert!(count(family) >= min, "{family}: {} rules", count(family));
    }
    // Each family's runtime rules name the runtime of that family.
    let _ = RuntimeKind::Runtime;
}
