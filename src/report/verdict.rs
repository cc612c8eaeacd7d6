//! The verdict: the one line a person reads first, in order of cause (kinds, unreadable labels,
//! the app, buildpacks, rebuilt layers, the run image, lifecycle, then config), and the counts
//! behind it — from the images for a fresh report, from the structured data alone for a report
//! read back from an untrusted artifact ([`DiffReport::recounted_summary`]). Pure.

use super::*;
use crate::attribution::{PartsDiff, RunImageMove};
use crate::diff::{Category, Change, Diff, Status};
use crate::image::Image;
use crate::metadata::ImageKind;
use crate::rules::{Finding, Severity};
use std::collections::BTreeMap;

pub(super) use crate::text::plural;

/// The image kinds, when they differ: said first, since nothing after compares like with like.
pub(super) fn kinds_line(before: &Image, after: &Image) -> Option<String> {
    let (kb, ka) = (before.metadata.kind(), after.metadata.kind());
    (kb != ka).then(|| format!("different kinds: {} vs {}", kb.describe(), ka.describe()))
}

/// "2 labels unreadable: io.buildpacks.build.metadata (after), …": what the verdict cannot vouch for.
pub(super) fn unreadable_line(before: &Image, after: &Image) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for (side, img) in [("before", before), ("after", after)] {
        for p in &img.metadata.problems {
            let name = format!("{} ({side})", p.label);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    (!names.is_empty()).then(|| {
        format!(
            "{} unreadable: {}",
            plural(names.len(), "label", "labels"),
            names.join(", ")
        )
    })
}

/// Labels whose values differ between the images (the interpreted ones compared by the digest
/// of their raw text), when any do.
pub(super) fn differing_labels<'a>(before: &'a Image, after: &'a Image) -> Option<Vec<&'a str>> {
    let (b, a) = (&before.metadata.labels, &after.metadata.labels);
    let names: Vec<&str> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<&str>>()
        .into_iter()
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Same manifest (or, without one, same config): nothing can differ.
pub(super) fn identical(before: &Image, after: &Image) -> bool {
    let (b, a) = (&before.origin, &after.origin);
    match (&b.digest, &a.digest) {
        (Some(x), Some(y)) => x == y,
        _ => b.config_digest == a.config_digest && before.layers == after.layers,
    }
}

/// The app part, first: "your code changed" is the first question.
pub(super) fn app_line(parts: &PartsDiff) -> Option<String> {
    let p = parts.get("app")?;
    let bytes = crate::text::human_bytes(p.bytes_changed);
    match p.status {
        Status::Unchanged => None,
        Status::Added => Some(format!(
            "app added ({}, {bytes})",
            plural(p.layers_after, "layer", "layers")
        )),
        Status::Removed => Some("app removed".into()),
        Status::Changed => Some(format!(
            "app changed ({} of {} app layers, {bytes})",
            p.layers_changed, p.layers_after
        )),
    }
}

/// Buildpack layers that changed while their buildpack's version did not.
pub(super) fn rebuilt_line(parts: &PartsDiff, diff: &Diff) -> Option<String> {
    let rebuilt: Vec<String> = parts
        .changed()
        .filter(|p| p.rebuilt_same_version && !super::explain::explained(&p.part, diff))
        .map(|p| {
            let v = p.version_after.as_deref().unwrap_or_default();
            match p.part.split_once(' ') {
                Some((id, layer)) if !p.part.contains('@') => {
                    format!("{id} layer {layer} rebuilt at the same version {v}")
                }
                _ => format!("{} rebuilt at the same version", p.part),
            }
        })
        .collect();
    match rebuilt.len() {
        0 => None,
        1..=3 => Some(rebuilt.join(", ")),
        n => Some(format!("{n} buildpack layers rebuilt at the same version")),
    }
}

pub(super) fn run_image_line(parts: &PartsDiff) -> Option<String> {
    let r = parts.run_image.as_ref()?;
    let short = |d: &Option<String>| {
        d.as_deref()
            .map(crate::text::short_digest)
            .unwrap_or_else(|| "none".into())
    };
    Some(match r.how {
        // The label names the same top layer while the layers under it differ (a label copied
        // between platforms, or rewritten): "X → X" would read as no change.
        RunImageMove::Rebased if r.top_layer_before == r.top_layer_after => format!(
            "run image layers changed under the same recorded top layer {} ({} of {} base layers differ)",
            short(&r.top_layer_after),
            r.base_layers_changed,
            r.base_layers
        ),
        RunImageMove::Rebased if r.base_layers > 0 => format!(
            "run image rebased (top layer {} → {}; {} of {} base layers differ)",
            short(&r.top_layer_before),
            short(&r.top_layer_after),
            r.base_layers_changed,
            r.base_layers
        ),
        RunImageMove::Rebased => format!(
            "run image rebased (top layer {} → {})",
            short(&r.top_layer_before),
            short(&r.top_layer_after),
        ),
        RunImageMove::Replaced => format!(
            "run image replaced ({} → {})",
            r.image_before.as_deref().unwrap_or("none"),
            r.image_after.as_deref().unwrap_or("none")
        ),
    })
}

/// Changed layers nothing above explains: layers the labels do not name, and, when nothing
/// else moved, the lifecycle's own layers (launcher, config, process types, SBOM).
pub(super) fn unexplained_line(
    parts: &PartsDiff,
    said_anything: bool,
    plain: bool,
) -> Option<String> {
    let un = parts
        .get("unattributed")
        .filter(|p| p.status != Status::Unchanged);
    if let Some(p) = un.filter(|p| p.layers_changed > 0) {
        // Plain images have nothing to attribute layers to: "unattributed" would say nothing.
        let what = if plain { "" } else { "unattributed " };
        let n = p.layers_changed;
        return Some(format!(
            "{n} {what}{} ({})",
            if n == 1 {
                "layer differs"
            } else {
                "layers differ"
            },
            crate::text::human_bytes(p.bytes_changed)
        ));
    }
    if said_anything {
        return None;
    }
    let moved: Vec<&crate::attribution::PartDiff> = parts.changed().collect();
    if moved.is_empty() {
        return None;
    }
    let names: Vec<&str> = moved.iter().map(|p| p.part.as_str()).collect();
    let bytes: u64 = moved.iter().map(|p| p.bytes_changed).sum();
    Some(format!(
        "{} changed ({})",
        plural_names(&names, "layer", "layers"),
        crate::text::human_bytes(bytes)
    ))
}

/// Changed items by category, and changed buildpacks by version class (or `added`, `removed`).
pub(super) fn count_changes<'a>(
    changes: impl Iterator<Item = &'a Change>,
) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut changed: BTreeMap<String, usize> = BTreeMap::new();
    let mut buildpacks: BTreeMap<String, usize> = BTreeMap::new();
    for c in changes {
        *changed.entry(c.category.as_str().to_string()).or_default() += 1;
        if c.category == Category::Buildpack {
            let key = match (c.status, c.class) {
                (Status::Changed, Some(class)) => class.as_str().to_string(),
                (s, _) => s.as_str().to_string(),
            };
            *buildpacks.entry(key).or_default() += 1;
        }
    }
    (changed, buildpacks)
}

pub(super) fn count_findings(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    by_sev
}

/// "4 buildpacks changed (1 minor, 3 patch)", "1 buildpack added", "2 buildpacks removed".
pub(super) fn buildpack_phrases(buildpacks: &BTreeMap<String, usize>) -> Vec<String> {
    let mut parts = Vec::new();
    let classes: Vec<(&String, &usize)> = buildpacks
        .iter()
        .filter(|(k, _)| k.as_str() != "added" && k.as_str() != "removed")
        .collect();
    let bp_changed: usize = classes.iter().map(|(_, n)| **n).sum();
    if bp_changed > 0 {
        let classes: Vec<String> = classes.iter().map(|(k, n)| format!("{n} {k}")).collect();
        parts.push(format!(
            "{} changed ({})",
            plural(bp_changed, "buildpack", "buildpacks"),
            classes.join(", ")
        ));
    }
    for (key, one, many) in [
        ("added", "buildpack added", "buildpacks added"),
        ("removed", "buildpack removed", "buildpacks removed"),
    ] {
        if let Some(n) = buildpacks.get(key) {
            parts.push(plural(*n, one, many));
        }
    }
    parts
}

/// "no findings", or "findings: 2 errors, 1 warning".
pub(super) fn findings_text(by_sev: &BTreeMap<Severity, usize>) -> String {
    if by_sev.is_empty() {
        return "no findings".to_string();
    }
    let counts: Vec<String> = by_sev
        .iter()
        .rev()
        .map(|(s, n)| match s {
            Severity::Error => plural(*n, "error", "errors"),
            Severity::Warning => plural(*n, "warning", "warnings"),
            Severity::Info => format!("{n} info"),
        })
        .collect();
    format!("findings: {}", counts.join(", "))
}

impl DiffReport {
    /// The summary recounted from the structured data alone (changes, parts, findings), its
    /// verdict built of numbers and fixed words: what `github post` shows of a report that came
    /// from an untrusted artifact, whose `summary` strings anyone could have written.
    pub(crate) fn recounted_summary(&self) -> Summary {
        let (mut changed, buildpacks) =
            count_changes(self.changes.iter().filter(|c| c.is_change()));
        let parts_moved = self
            .parts
            .changed()
            .filter(|p| p.layers_changed > 0 || p.status == Status::Removed)
            .count();
        let by_sev = count_findings(&self.findings);
        let mut parts = buildpack_phrases(&buildpacks);
        for (code, n) in changed.iter().filter(|(k, _)| k.as_str() != "buildpack") {
            // Codes from an untrusted artifact that name no category are not repeated.
            if let Some(cat) = Category::from_code(code) {
                parts.push(format!("{} changed", cat.counted(*n)));
            }
        }
        if parts_moved > 0 {
            parts.push(plural(parts_moved, "layer part moved", "layer parts moved"));
            changed.insert("layer-part".to_string(), parts_moved);
        }
        // Counted from the package entries, in fixed words: no name from the artifact is said.
        if let Some(p) = &self.packages {
            let n = package_count(p);
            if n > 0 {
                parts.push(plural(n, "package changed", "packages changed"));
                changed.insert(Category::Package.as_str().to_string(), n);
            }
        }
        let verdict = if parts.is_empty() {
            "no compared item differs".to_string()
        } else {
            parts.join(", ")
        };
        // Counted only: the names in an artifact's `ignored` are not repeated.
        let ignored = match self.ignored.len() {
            0 => String::new(),
            n => format!("; {}", plural(n, "change ignored", "changes ignored")),
        };
        let not_applicable = super::not_applicable_text(self.summary.not_applicable)
            .map(|t| format!("; {t}"))
            .unwrap_or_default();
        // Reasons are words of a fixed set (an enum): safe to repeat from an artifact.
        let verdict = super::explain_verdict(&verdict, &self.summary.reasons, None);
        Summary {
            verdict: format!(
                "{verdict}; {}{not_applicable}{ignored}",
                findings_text(&by_sev)
            ),
            changed,
            buildpacks,
            max_severity: by_sev.keys().max().copied(),
            findings: by_sev,
            not_applicable: self.summary.not_applicable,
            // Words from a fixed set, re-derived from nothing an artifact's author wrote.
            reasons: self.summary.reasons.clone(),
            rebase: None,
        }
    }
}

/// Packages added, removed or changed, over every location.
pub(super) fn package_count(p: &crate::packages::diff::PackagesDiff) -> usize {
    p.groups
        .iter()
        .map(|g| g.added + g.removed + g.changed)
        .sum()
}

/// `go 1.22.5 → 1.23.0`, `node 20.11.1 added`; or, when none moved but the app or buildpacks
/// did (`said`), `runtimes unchanged (java 17.0.7, distro ubuntu 22.04)`: the first suspects
/// ruled out.
pub(super) fn runtime_phrases(diff: &Diff, said: bool) -> Vec<String> {
    let all: Vec<&Change> = diff
        .changes
        .iter()
        .filter(|c| c.category == Category::Runtime)
        .collect();
    let moved: Vec<&Change> = all.iter().copied().filter(|c| c.is_change()).collect();
    match moved.as_slice() {
        [] if !all.is_empty() && said => {
            let list: Vec<String> = all
                .iter()
                .map(|c| format!("{} {}", c.subject, c.after.as_deref().unwrap_or_default()))
                .collect();
            vec![format!("runtimes unchanged ({})", list.join(", "))]
        }
        [] => Vec::new(),
        few if few.len() <= 3 => few
            .iter()
            .map(|c| match c.status {
                Status::Added => format!(
                    "{} {} added",
                    c.subject,
                    c.after.as_deref().unwrap_or_default()
                ),
                Status::Removed => {
                    format!(
                        "{} {} no longer recorded",
                        c.subject,
                        c.before.as_deref().unwrap_or_default()
                    )
                }
                _ => format!(
                    "{} {} → {}",
                    c.subject,
                    c.before.as_deref().unwrap_or_default(),
                    c.after.as_deref().unwrap_or_default()
                ),
            })
            .collect(),
        many => vec![plural(many.len(), "runtime changed", "runtimes changed")],
    }
}

pub(super) fn plural_names(names: &[&str], one: &str, many: &str) -> String {
    format!(
        "{} {}",
        names.join(", "),
        if names.len() == 1 { one } else { many }
    )
}

pub(super) fn summarize(
    before: &Image,
    after: &Image,
    diff: &Diff,
    parts_diff: &PartsDiff,
    findings: &[Finding],
    packages: Option<&crate::packages::diff::PackagesDiff>,
) -> Summary {
    let (mut changed, buildpacks) = count_changes(diff.changed());
    let by_sev = count_findings(findings);
    let max_severity = by_sev.keys().max().copied();

    let mut parts: Vec<String> = Vec::new();
    parts.extend(app_line(parts_diff));
    parts.extend(buildpack_phrases(&buildpacks));
    let said = !parts.is_empty();
    parts.extend(runtime_phrases(diff, said));
    // A JVM dependency is said as the `java` runtime above; the other dependencies (Spring Cloud
    // Bindings, a memory calculator) are said here.
    let java_said = diff
        .changes
        .iter()
        .any(|c| c.category == Category::Runtime && c.subject == "java");
    let is_dep = |c: &&Change| {
        c.category == Category::Dependency
            && !(java_said
                && ["jre", "jdk", "native-image-svm"]
                    .contains(&c.subject.split(' ').next().unwrap_or_default()))
    };
    let deps: Vec<&Change> = diff.changed().filter(is_dep).collect();
    let all_deps: Vec<&Change> = diff.changes.iter().filter(is_dep).collect();
    match deps.as_slice() {
        // Said out loud: during an incident "the JRE did not move" rules out a suspect.
        [] if !all_deps.is_empty() && !parts.is_empty() => {
            let list: Vec<String> = all_deps
                .iter()
                .map(|c| {
                    let name = c.subject.split(' ').next().unwrap_or(&c.subject);
                    format!("{name} {}", c.after.as_deref().unwrap_or_default())
                })
                .collect();
            parts.push(format!(
                "runtime dependencies unchanged ({})",
                list.join(", ")
            ));
        }
        [] => {}
        [one] => parts.push(format!(
            "{} {} → {}",
            one.subject,
            one.before.as_deref().unwrap_or("none"),
            one.after.as_deref().unwrap_or("none")
        )),
        many => parts.push(plural(
            many.len(),
            "runtime dependency changed",
            "runtime dependencies changed",
        )),
    }
    parts.extend(rebuilt_line(parts_diff, diff));
    // A stack (base image) id move is named, with both ids: it decides what `pack rebase`
    // accepts and which buildpacks detect.
    for c in diff.changed().filter(|c| c.category == Category::Stack) {
        parts.push(format!(
            "{} {} → {}",
            c.subject,
            c.before.as_deref().unwrap_or("none"),
            c.after.as_deref().unwrap_or("none")
        ));
    }
    for cat in [
        Category::RunImage,
        Category::Lifecycle,
        Category::PlatformApi,
        Category::BuildpackApi,
    ] {
        if cat == Category::RunImage
            && let Some(line) = run_image_line(parts_diff)
        {
            parts.push(line);
            continue;
        }
        let one = diff
            .changed()
            .find(|c| c.category == cat && c.status == Status::Changed);
        match one {
            // "lifecycle 0.16.5 → 0.17.0" says more than "lifecycle changed".
            Some(c) if cat == Category::Lifecycle => parts.push(format!(
                "lifecycle {} → {}",
                c.before.as_deref().unwrap_or_default(),
                c.after.as_deref().unwrap_or_default()
            )),
            _ if changed.contains_key(cat.as_str()) => {
                parts.push(format!("{} changed", cat.label()))
            }
            _ => {}
        }
    }
    // "run image: 7 OS packages changed (libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10, …)".
    if let Some(p) = packages {
        parts.extend(p.phrases());
        let n = package_count(p);
        if n > 0 {
            changed.insert(Category::Package.as_str().to_string(), n);
        }
    }
    let listed = [
        Category::Buildpack,
        Category::Runtime,
        Category::Dependency,
        Category::Lifecycle,
        Category::RunImage,
        Category::PlatformApi,
        Category::BuildpackApi,
        Category::Stack,
        Category::Package,
    ];
    let other: usize = changed
        .iter()
        .filter(|(k, _)| !listed.iter().any(|c| c.as_str() == **k))
        .map(|(_, n)| n)
        .sum();
    let other_items: Vec<&Change> = diff
        .changed()
        .filter(|c| !listed.contains(&c.category))
        .collect();
    if other > 0 && other <= 3 {
        // Few enough to name: "env PYTHON_VERSION changed" beats "1 other change".
        for c in other_items {
            parts.push(match (&c.before, &c.after) {
                // An identity reads best as its move: `buildpackage x/y 0.0.1 → x/y 0.0.2`.
                (Some(b), Some(a)) if c.subject == "buildpackage" => {
                    format!("{} {b} → {a}", c.item_phrase())
                }
                _ => format!("{} {}", c.item_phrase(), c.status.as_str()),
            });
        }
    } else if other > 0 {
        parts.push(plural(other, "other change", "other changes"));
    }
    let said_anything = !parts.is_empty();
    let both_plain =
        before.metadata.kind() == ImageKind::Plain && after.metadata.kind() == ImageKind::Plain;
    parts.extend(unexplained_line(parts_diff, said_anything, both_plain));
    // Never "no drift" on two different images: what is left is said as it is.
    let mut verdict = if identical(before, after) {
        "identical".to_string()
    } else if parts.is_empty()
        && before.metadata.diff_ids == after.metadata.diff_ids
        && unreadable_line(before, after).is_some()
    {
        "same layers; what is readable is the same".to_string()
    } else if parts.is_empty() && before.origin.config_digest == after.origin.config_digest {
        // Same config, so the same diffIDs: only the manifests differ (another compression,
        // media types, or a docker-archive against a registry copy).
        "same content (same config and layer diffIDs); only the manifests differ".to_string()
    } else if parts.is_empty()
        && before.metadata.diff_ids == after.metadata.diff_ids
        && let Some(labels) = differing_labels(before, after)
    {
        // The labels bpdrift reads into items can be rewritten with the same meaning (key
        // order, whitespace, a field it does not compare): say that, not "timestamps".
        format!(
            "same layers; only the {} (what bpdrift reads from them is the same)",
            plural_names(&labels, "label differs", "labels differ")
        )
    } else if parts.is_empty() && before.metadata.diff_ids == after.metadata.diff_ids {
        "same layers and compared settings; the image configs differ elsewhere (history, timestamps)"
            .to_string()
    } else if parts.is_empty() {
        "layers differ".to_string()
    } else {
        parts.join(", ")
    };
    let lead: Vec<String> = kinds_line(before, after)
        .into_iter()
        .chain(unreadable_line(before, after))
        .collect();
    if !lead.is_empty() {
        verdict = format!("{}; {verdict}", lead.join("; "));
    }
    let plain = [before, after]
        .iter()
        .filter(|i| i.metadata.kind() == ImageKind::Plain)
        .count();
    if plain == 2 {
        verdict.push_str(" (neither image was built by buildpacks)");
    } else if plain == 1 {
        verdict.push_str(" (one image was not built by buildpacks)");
    }
    verdict.push_str("; ");
    verdict.push_str(&findings_text(&by_sev));
    // Layers that moved count as a difference even when no labelled item did (an app-only
    // change): `github comment` must not call that "no drift anymore".
    let parts_moved = parts_diff
        .changed()
        .filter(|p| p.layers_changed > 0 || p.status == Status::Removed)
        .count();
    if parts_moved > 0 {
        changed.insert("layer-part".to_string(), parts_moved);
    }
    Summary {
        verdict,
        changed,
        buildpacks,
        findings: by_sev,
        max_severity,
        not_applicable: 0,
        reasons: Vec::new(),
        rebase: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::{RunImageChange, RunImageMove};

    fn moved(top_before: &str, top_after: &str) -> PartsDiff {
        PartsDiff {
            parts: Vec::new(),
            run_image: Some(RunImageChange {
                how: RunImageMove::Rebased,
                image_before: None,
                image_after: None,
                top_layer_before: Some(top_before.into()),
                top_layer_after: Some(top_after.into()),
                base_layers_changed: 2,
                base_layers: 3,
            }),
        }
    }

    /// The same recorded top layer over changed base layers is not worded as a move "X → X".
    #[test]
    fn a_rebase_under_the_same_top_layer_names_it_once() {
        let top = format!("sha256:{}", "a".repeat(64));
        let other = format!("sha256:{}", "b".repeat(64));
        let same = run_image_line(&moved(&top, &top)).unwrap();
        assert!(
            same.starts_with("run image layers changed under the same recorded top layer"),
            "{same}"
        );
        assert!(same.ends_with("(2 of 3 base layers differ)"), "{same}");
        assert!(!same.contains('→'), "{same}");
        let rebased = run_image_line(&moved(&top, &other)).unwrap();
        assert!(
            rebased.starts_with("run image rebased (top layer "),
            "{rebased}"
        );
        assert!(rebased.contains('→'), "{rebased}");
    }
}
