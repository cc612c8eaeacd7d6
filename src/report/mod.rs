//! The serialisable result of `bpdrift diff`, shared by every renderer.
//!
//! JSON is this struct through serde (schema documented in `docs/json.md`). Bump
//! [`SCHEMA_VERSION`] on any change that removes or renames a field; adding fields does not.

pub(crate) mod fleet;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::{Category, Change, Diff, LayerCount, LayerStats, Status};
use crate::image::{Image, Origin};
use crate::metadata::{ImageKind, ImageMetadata, LabelProblem};
use crate::rules::{Finding, Severity};

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;

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
        findings.extend(m.findings());
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<DiffReport>,
    /// `before` or `after`: the image that lacks the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_in: Option<&'static str>,
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
    /// The JVM memory prediction of both images (`--memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
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
        let summary = summarize(before, after, &diff, &findings);
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
            before: ImageSummary::new(before, diff.layers.before),
            after: ImageSummary::new(after, diff.layers.after),
            summary,
            findings,
            unchanged_hidden: total - changes.len(),
            changes,
            layers: diff.layers,
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

fn summarize(before: &Image, after: &Image, diff: &Diff, findings: &[Finding]) -> Summary {
    let mut changed: BTreeMap<String, usize> = BTreeMap::new();
    let mut buildpacks: BTreeMap<String, usize> = BTreeMap::new();
    for c in diff.changed() {
        *changed.entry(c.category.as_str().to_string()).or_default() += 1;
        if c.category == Category::Buildpack {
            let key = match (c.status, c.class) {
                (Status::Changed, Some(class)) => class.as_str().to_string(),
                (s, _) => s.as_str().to_string(),
            };
            *buildpacks.entry(key).or_default() += 1;
        }
    }
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    let max_severity = by_sev.keys().max().copied();

    let mut parts: Vec<String> = Vec::new();
    let bp_changed: usize = diff
        .changed()
        .filter(|c| c.category == Category::Buildpack && c.status == Status::Changed)
        .count();
    if bp_changed > 0 {
        let classes: Vec<String> = buildpacks
            .iter()
            .filter(|(k, _)| k.as_str() != "added" && k.as_str() != "removed")
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
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
    for cat in [
        Category::Lifecycle,
        Category::RunImage,
        Category::PlatformApi,
    ] {
        if changed.contains_key(cat.as_str()) {
            parts.push(format!("{} changed", cat.as_str().replace('-', " ")));
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
    let mut verdict = if parts.is_empty() {
        "no drift".to_string()
    } else {
        parts.join(", ")
    };
    let plain = [before, after]
        .iter()
        .filter(|i| i.metadata.kind() == ImageKind::Plain)
        .count();
    if plain == 2 {
        verdict.push_str(" (neither image was built by buildpacks)");
    } else if plain == 1 {
        verdict.push_str(" (one image was not built by buildpacks)");
    }
    let findings_text = if findings.is_empty() {
        "no findings".to_string()
    } else {
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
    };
    verdict.push_str("; ");
    verdict.push_str(&findings_text);
    Summary {
        verdict,
        changed,
        buildpacks,
        findings: by_sev,
        max_severity,
    }
}
