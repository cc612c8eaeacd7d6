//! The serialisable result of `bpdrift diff`, shared by every renderer.
//!
//! JSON is this struct through serde (schema documented in `docs/json.md`). Bump
//! [`SCHEMA_VERSION`] on any change that removes or renames a field; adding fields does not.

pub(crate) mod fleet;
pub(crate) mod metrics;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, PartsDiff, RunImageMove, attribute, diff_parts};
use crate::diff::{Category, Change, Diff, LayerCount, LayerStats, Status};
use crate::image::{Image, Origin};
use crate::metadata::{ImageKind, ImageMetadata, LabelProblem};
use crate::rules::{Finding, Severity};

/// Version of the JSON document. 2: layer attribution (`before.attribution`, `parts`), image
/// kinds `buildpackage`, `run-image` and `lifecycle` (such images were `plain` or `builder`).
pub const SCHEMA_VERSION: u32 = 2;

/// One image as the report shows it: where it came from, what kind it is, its layers, and the
/// image model's report view ([`ImageMetadata::for_report`]) flattened beside them. Read back
/// by `bpdrift github post`, so it deserializes too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageSummary {
    /// Provenance: reference, transport, digests, platform.
    #[serde(flatten)]
    pub origin: Origin,
    /// `app`, `builder` or `plain`.
    pub kind: ImageKind,
    /// Whether buildpack labels were found.
    pub built_by_buildpacks: bool,
    /// Layer count and bytes.
    pub layers: LayerCount,
    /// Which part each layer is (one entry per `rootfs.diff_ids` entry).
    pub attribution: Attribution,
    /// What the config and labels say.
    #[serde(flatten)]
    pub metadata: ImageMetadata,
}

impl ImageSummary {
    /// The summary of one image on its own.
    pub fn of(img: &Image) -> Self {
        let layers = LayerCount {
            count: img.layers.len(),
            bytes: img.layers.iter().map(|l| l.size).sum(),
        };
        Self::new(img, layers)
    }

    fn new(img: &Image, layers: LayerCount) -> Self {
        let m = &img.metadata;
        Self {
            origin: img.origin.clone(),
            kind: m.kind(),
            built_by_buildpacks: m.kind() != ImageKind::Plain,
            layers,
            attribution: attribute(m, &img.layers),
            metadata: m.for_report(),
        }
    }
}

/// The pure stage of the pipeline: diff two fetched images, evaluate the rules (and the memory
/// prediction's findings, when there is one), assemble the report.
pub(crate) fn assess(
    before: &Image,
    after: &Image,
    rules: &crate::rules::RuleSet,
    all: bool,
    memory: Option<MemoryDiff>,
) -> DiffReport {
    let d = crate::diff::diff(before, after);
    let mut findings = rules.evaluate(&d, &after.metadata);
    if let Some(m) = &memory {
        findings.extend(rules.adjust(m.findings()));
    }
    let mut report = DiffReport::new(before, after, d, findings, all);
    report.memory = memory;
    report
}

/// `--platform all`: one platform of the pair.
#[derive(Debug, Serialize)]
pub struct PlatformEntry {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The diff, when both images have the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<DiffReport>,
    /// `before` or `after`: the image that lacks the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_in: Option<&'static str>,
    /// A platform the old image had and the new one lacks: deploys there break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<crate::rules::Finding>,
}

impl PlatformEntry {
    /// A platform only one image has; a `warning` finding when it is the new one that lacks it.
    pub fn missing(platform: String, missing_in: &'static str) -> Self {
        let finding = (missing_in == "after").then(|| crate::rules::Finding {
            rule: "platform-removed".into(),
            severity: crate::rules::Severity::Warning,
            affects: vec!["deploy".into()],
            summary: format!(
                "the new image has no {platform} manifest: deploys on that architecture fail to pull"
            ),
            advice: Some(
                "Build the missing platform again, or make sure nothing runs on it.".into(),
            ),
            sources: Vec::new(),
            note: None,
            change: crate::diff::Change::of(
                crate::diff::Category::Config,
                "platform",
                Some(platform.clone()),
                None,
            ),
        });
        Self {
            platform,
            report: None,
            missing_in: Some(missing_in),
            finding,
        }
    }
}

/// Counts for the verdict line and for scripts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// One line a person reads first.
    pub verdict: String,
    /// Items that differ, by category.
    pub changed: BTreeMap<String, usize>,
    /// Changed buildpacks by version class (plus `added`, `removed`).
    pub buildpacks: BTreeMap<String, usize>,
    /// Findings by severity.
    pub findings: BTreeMap<Severity, usize>,
    /// The highest finding severity.
    pub max_severity: Option<Severity>,
}

/// The diff report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffReport {
    /// JSON schema version.
    pub schema_version: u32,
    /// bpdrift version that wrote it.
    pub bpdrift_version: String,
    /// The first (last-good) image.
    pub before: ImageSummary,
    /// The second (new) image.
    pub after: ImageSummary,
    /// Verdict and counts.
    pub summary: Summary,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Compared items: differences and runtime dependencies; everything with `--all`.
    pub changes: Vec<Change>,
    /// How many unchanged items were left out.
    pub unchanged_hidden: usize,
    /// Layer sharing.
    pub layers: LayerStats,
    /// The layers compared part by part (run image, buildpack layers, app, …).
    pub parts: PartsDiff,
    /// The JVM memory prediction of both images (`--memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryDiff>,
}

/// Both images' memory predictions in one container size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryDiff {
    /// The limit, as given.
    pub limit: String,
    /// The first image.
    pub before: crate::memory::predict::Prediction,
    /// The second image.
    pub after: crate::memory::predict::Prediction,
}

impl MemoryDiff {
    /// Pairs two predictions.
    pub fn new(
        limit: crate::memory::Size,
        before: crate::memory::predict::Prediction,
        after: crate::memory::predict::Prediction,
    ) -> Self {
        Self {
            limit: limit.to_string(),
            before,
            after,
        }
    }

    /// An error when the new image no longer starts in the limit (or its inputs fail), a
    /// warning when it needs notably more: 10 % or 32 MiB more than the old one.
    pub fn findings(&self) -> Vec<Finding> {
        let starts = |p: &crate::memory::predict::Prediction| {
            p.outcome.as_ref().is_some_and(|o| o.starts) && p.input_error.is_none()
        };
        let finding = |rule: &str,
                       severity: Severity,
                       summary: String,
                       before: Option<String>,
                       after: Option<String>| {
            Finding {
            rule: rule.into(),
            severity,
            affects: vec!["memory".into(), "startup".into()],
            summary,
            advice: Some("Raise the container's memory limit, or lower BPL_JVM_THREAD_COUNT / class counts; `bpdrift memory IMAGE` shows the inputs and where they come from.".into()),
            sources: vec!["https://paketo.io/docs/reference/java-reference/".into()],
            note: None,
            change: Change::of(crate::diff::Category::Memory, "JVM memory", before, after),
        }
        };
        let min = |p: &crate::memory::predict::Prediction| p.minimum_limit_bytes;
        let mut out = Vec::new();
        if !self.after.jvm {
            return out;
        }
        let after_error = self
            .after
            .outcome
            .as_ref()
            .and_then(|o| o.error.clone())
            .or(self.after.input_error.clone());
        if !starts(&self.after) && (starts(&self.before) || !self.before.jvm) {
            out.push(finding(
                "memory-no-longer-fits",
                Severity::Error,
                format!(
                    "the new image's JVM does not start in {}: {}",
                    self.limit,
                    after_error.unwrap_or_default()
                ),
                self.before.minimum_limit.clone(),
                self.after.minimum_limit.clone(),
            ));
        } else if let (Some(b), Some(a)) = (min(&self.before), min(&self.after))
            && a > b
            && (a - b >= 32 * 1024 * 1024 || (a - b) * 10 >= b)
        {
            out.push(finding(
                "memory-needs-more",
                Severity::Warning,
                format!(
                    "the new image needs {} MiB more to start ({} → {})",
                    (a - b) / (1024 * 1024),
                    self.before.minimum_limit.clone().unwrap_or_default(),
                    self.after.minimum_limit.clone().unwrap_or_default()
                ),
                self.before.minimum_limit.clone(),
                self.after.minimum_limit.clone(),
            ));
        }
        out
    }
}

impl DiffReport {
    /// Assembles the report.
    pub fn new(
        before: &Image,
        after: &Image,
        diff: Diff,
        mut findings: Vec<Finding>,
        all: bool,
    ) -> Self {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.change.subject.cmp(&b.change.subject))
        });
        let (sb, sa) = (
            ImageSummary::new(before, diff.layers.before),
            ImageSummary::new(after, diff.layers.after),
        );
        let mut parts = diff_parts(
            &sb.attribution,
            &sa.attribution,
            before.metadata.run_image.as_ref(),
            after.metadata.run_image.as_ref(),
        );
        // An unreadable run image record is not a rebase.
        let lc = crate::metadata::label::LIFECYCLE;
        if before.metadata.unreadable(lc) || after.metadata.unreadable(lc) {
            parts.run_image = None;
            // A part only one side can name, whose layers the other side has, did not move.
            let ids = |s: &ImageSummary| -> std::collections::BTreeSet<String> {
                s.attribution
                    .layers
                    .iter()
                    .map(|l| l.diff_id.clone())
                    .collect()
            };
            let (ib, ia) = (ids(&sb), ids(&sa));
            for p in &mut parts.parts {
                let (side, other) = match p.status {
                    Status::Added => (&sa, &ib),
                    Status::Removed => (&sb, &ia),
                    _ => continue,
                };
                let all_there = side
                    .attribution
                    .layers
                    .iter()
                    .filter(|l| l.part.key() == p.part)
                    .all(|l| other.contains(&l.diff_id));
                if all_there {
                    p.status = Status::Unchanged;
                }
            }
        }
        let summary = summarize(before, after, &diff, &parts, &findings);
        let total = diff.changes.len();
        let changes: Vec<Change> = diff
            .changes
            .into_iter()
            // Runtime dependencies stay even when unchanged: "the JRE did not move" is an answer.
            .filter(|c| all || c.is_change() || c.category == Category::Dependency)
            .collect();
        Self {
            schema_version: SCHEMA_VERSION,
            bpdrift_version: env!("CARGO_PKG_VERSION").to_string(),
            before: sb,
            after: sa,
            summary,
            findings,
            unchanged_hidden: total - changes.len(),
            changes,
            layers: diff.layers,
            parts,
            memory: None,
        }
    }

    /// Labels that could not be read, with the image they belong to.
    pub fn problems(&self) -> impl Iterator<Item = (&str, &LabelProblem)> {
        let b = self
            .before
            .metadata
            .problems
            .iter()
            .map(|p| (self.before.origin.reference.as_str(), p));
        let a = self
            .after
            .metadata
            .problems
            .iter()
            .map(|p| (self.after.origin.reference.as_str(), p));
        b.chain(a)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The image kinds, when they differ: said first, since nothing after compares like with like.
fn kinds_line(before: &Image, after: &Image) -> Option<String> {
    let (kb, ka) = (before.metadata.kind(), after.metadata.kind());
    (kb != ka).then(|| format!("different kinds: {} vs {}", kb.describe(), ka.describe()))
}

/// "2 labels unreadable: io.buildpacks.build.metadata (after), …": what the verdict cannot vouch for.
fn unreadable_line(before: &Image, after: &Image) -> Option<String> {
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

/// Same manifest (or, without one, same config): nothing can differ.
fn identical(before: &Image, after: &Image) -> bool {
    let (b, a) = (&before.origin, &after.origin);
    match (&b.digest, &a.digest) {
        (Some(x), Some(y)) => x == y,
        _ => b.config_digest == a.config_digest && before.layers == after.layers,
    }
}

/// The app part, first: "your code changed" is the first question.
fn app_line(parts: &PartsDiff) -> Option<String> {
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
fn rebuilt_line(parts: &PartsDiff) -> Option<String> {
    let rebuilt: Vec<String> = parts
        .changed()
        .filter(|p| p.rebuilt_same_version)
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

fn run_image_line(parts: &PartsDiff) -> Option<String> {
    let r = parts.run_image.as_ref()?;
    let short = |d: &Option<String>| {
        d.as_deref()
            .map(crate::text::short_digest)
            .unwrap_or_else(|| "none".into())
    };
    Some(match r.how {
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
fn unexplained_line(parts: &PartsDiff, said_anything: bool, plain: bool) -> Option<String> {
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
fn count_changes<'a>(
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

fn count_findings(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    by_sev
}

/// "4 buildpacks changed (1 minor, 3 patch)", "1 buildpack added", "2 buildpacks removed".
fn buildpack_phrases(buildpacks: &BTreeMap<String, usize>) -> Vec<String> {
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
fn findings_text(by_sev: &BTreeMap<Severity, usize>) -> String {
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
        for (cat, n) in changed.iter().filter(|(k, _)| k.as_str() != "buildpack") {
            parts.push(format!("{n} {} changed", cat.replace('-', " ")));
        }
        if parts_moved > 0 {
            parts.push(plural(parts_moved, "layer part moved", "layer parts moved"));
            changed.insert("layer-part".to_string(), parts_moved);
        }
        let verdict = if parts.is_empty() {
            "no compared item differs".to_string()
        } else {
            parts.join(", ")
        };
        Summary {
            verdict: format!("{verdict}; {}", findings_text(&by_sev)),
            changed,
            buildpacks,
            max_severity: by_sev.keys().max().copied(),
            findings: by_sev,
        }
    }
}

fn plural_names(names: &[&str], one: &str, many: &str) -> String {
    format!(
        "{} {}",
        names.join(", "),
        if names.len() == 1 { one } else { many }
    )
}

fn summarize(
    before: &Image,
    after: &Image,
    diff: &Diff,
    parts_diff: &PartsDiff,
    findings: &[Finding],
) -> Summary {
    let (mut changed, buildpacks) = count_changes(diff.changed());
    let by_sev = count_findings(findings);
    let max_severity = by_sev.keys().max().copied();

    let mut parts: Vec<String> = Vec::new();
    parts.extend(app_line(parts_diff));
    parts.extend(buildpack_phrases(&buildpacks));
    let deps: Vec<&Change> = diff
        .changed()
        .filter(|c| c.category == Category::Dependency)
        .collect();
    let all_deps: Vec<&Change> = diff
        .changes
        .iter()
        .filter(|c| c.category == Category::Dependency)
        .collect();
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
    parts.extend(rebuilt_line(parts_diff));
    for cat in [
        Category::RunImage,
        Category::Lifecycle,
        Category::PlatformApi,
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
                parts.push(format!("{} changed", cat.as_str().replace('-', " ")))
            }
            _ => {}
        }
    }
    let listed = [
        Category::Buildpack,
        Category::Dependency,
        Category::Lifecycle,
        Category::RunImage,
        Category::PlatformApi,
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
            parts.push(format!(
                "{} {} {}",
                c.category.as_str(),
                c.subject,
                c.status.as_str()
            ));
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
    }
}
