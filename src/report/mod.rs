//! The serialisable result of `bpdrift diff`, shared by every renderer.
//!
//! JSON is this struct through serde (schema documented in `docs/json.md`). Bump
//! [`SCHEMA_VERSION`] on any change that removes or renames a field; adding fields does not.

pub(crate) mod explain;
pub(crate) mod fleet;
pub(crate) mod metrics;
mod verdict;

use self::verdict::*;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, PartsDiff, attribute, diff_parts};
use crate::diff::{Category, Change, Diff, LayerCount, LayerStats, Status};
use crate::image::{Image, Origin};
use crate::metadata::{ImageKind, ImageMetadata, LabelProblem};
use crate::packages::ImagePackages;
use crate::packages::diff::PackagesDiff;
use crate::rules::{Finding, Severity};

/// Version of the JSON document. 2: layer attribution (`before.attribution`, `parts`), image
/// kinds `buildpackage`, `run-image` and `lifecycle` (such images were `plain` or `builder`).
/// 3: kind `build-image` (such images were `run-image`), the `runtime` and `buildpack-api`
/// categories, findings whose precondition is false moved out of `findings`.
pub const SCHEMA_VERSION: u32 = 3;

/// One image as the report shows it: where it came from, what kind it is, its layers, and the
/// image model's report view ([`ImageMetadata::for_report`]) flattened beside them. Read back
/// by `bpdrift github post`, so it deserializes too.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
    /// `inspect`: the image's packages (from its SBOM layers with `--sbom`, else from the
    /// legacy packages label); absent when there are none. A diff compares them in `packages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<ImagePackages>,
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
            packages: None,
        }
    }
}

/// The pure stage of the pipeline: diff two fetched images, evaluate the rules (and the memory
/// prediction's findings, when there is one), assemble the report. `packages` are both images'
/// packages read from their SBOM layers (`--sbom`); without them only the legacy packages label
/// is compared (it costs nothing), and the report has no `packages` when neither image has one.
pub(crate) fn assess(
    before: &Image,
    after: &Image,
    rules: &crate::rules::RuleSet,
    all: bool,
    memory: Option<MemoryDiff>,
    packages: Option<(ImagePackages, ImagePackages)>,
) -> DiffReport {
    let mut d = crate::diff::diff(before, after);
    // Ignored before the rules: an ignored change neither counts as drift nor fires a rule.
    let ignored = crate::rules::ignore::apply(rules.ignores(), &mut d.changes);
    let mut findings = rules.evaluate(&d, &after.metadata);
    if let Some(m) = &memory {
        findings.extend(rules.adjust(m.findings()));
    }
    let sbom = packages.is_some();
    let (pb, pa) = packages.unwrap_or_else(|| {
        (
            ImagePackages::labels_only(&before.metadata),
            ImagePackages::labels_only(&after.metadata),
        )
    });
    let packages = (sbom || !pb.is_empty() || !pa.is_empty())
        .then(|| crate::packages::diff::diff(&pb, &pa, sbom));
    if let Some(p) = &packages {
        findings.extend(rules.evaluate_packages(p, &after.metadata));
    }
    // A rule whose precondition is false for the new image is not a finding: counted, and
    // listed with `--all`.
    let (findings, not_applicable): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| !f.not_applicable);
    let mut report = DiffReport::new(before, after, d, findings, all, packages.as_ref(), rules);
    report.summary.not_applicable = not_applicable.len();
    if let Some(text) = not_applicable_text(not_applicable.len()) {
        report.summary.verdict.push_str(&format!("; {text}"));
    }
    if all {
        report.not_applicable = not_applicable;
    }
    report.memory = memory;
    if let Some(text) = crate::rules::ignore::verdict_text(&ignored) {
        report.summary.verdict.push_str(&format!("; {text}"));
    }
    report.ignored = ignored;
    report.packages = packages;
    report
}

/// `--platform all`: one platform of the pair.
#[derive(Debug, Serialize, JsonSchema)]
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
            not_applicable: false,
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
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
    /// Rules whose precondition is false for the new image (not findings; `--all` lists them
    /// in `not_applicable`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_applicable: usize,
    /// Why the new image was rebuilt, in kpack's words (`BUILDPACK`, `STACK`, `LIFECYCLE`,
    /// `CONFIG`, `COMMIT`); app images only, empty when nothing moved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<explain::Reason>,
    /// Whether the pair is a rebase (only the run image moved), when the run image moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebase: Option<explain::Rebase>,
}

/// The verdict with what kind of move the pair is in front: `rebuild (BUILDPACK): …` or
/// `rebase (STACK): …`, and what `pack rebase` would need.
pub(crate) fn explain_verdict(
    verdict: &str,
    reasons: &[explain::Reason],
    rebase: Option<&explain::Rebase>,
) -> String {
    if reasons.is_empty() {
        return verdict.to_string();
    }
    let words: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    let kind = if rebase.is_some_and(|r| r.is_rebase) {
        "rebase"
    } else {
        "rebuild"
    };
    let mut v = format!("{kind} ({}): {verdict}", words.join(", "));
    if let Some(extra) = rebase.and_then(explain::rebase_phrase) {
        // Before the findings: what `pack rebase` would say belongs to the move.
        match v.rfind("; findings:").or_else(|| v.rfind("; no findings")) {
            Some(i) => v.insert_str(i, &format!("; {extra}")),
            None => v.push_str(&format!("; {extra}")),
        }
    }
    v
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `2 rules did not apply`, said after the findings.
pub(crate) fn not_applicable_text(n: usize) -> Option<String> {
    (n > 0).then(|| crate::text::plural(n, "rule did not apply", "rules did not apply"))
}

/// The diff report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DiffReport {
    /// JSON schema version.
    #[schemars(extend("const" = SCHEMA_VERSION))]
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
    /// With `--all`: what rules said of changes they turned out not to apply to (a Java-18+
    /// change on a Java 17 image), each with its note.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<Finding>,
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
    /// Changes left out by `--ignore` patterns (named, never with their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<crate::rules::ignore::Ignored>,
    /// Both images' packages compared by location (`--sbom`, or the legacy packages label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<PackagesDiff>,
    /// `--history … --expect-every`: the fleet report's schedule looks stopped (a warning, not
    /// a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_history: Option<String>,
    /// `--release-notes`: the notes of every version each moved buildpack went through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_notes: Vec<crate::release_notes::BuildpackNotes>,
    /// `--release-notes`: why notes are missing (a rate limit, an API error), said once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes_warning: Option<String>,
}

/// Both images' memory predictions in one container size.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
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
            not_applicable: false,
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
        packages: Option<&PackagesDiff>,
        rules: &crate::rules::RuleSet,
    ) -> Self {
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
        // What moved without a version saying so, and APIs a lifecycle dropped: computed
        // findings, re-levelled by a rule file's `[computed]` like the others.
        findings.extend(rules.adjust(explain::layer_drift(
            &parts,
            &diff,
            &before.metadata,
            &after.metadata,
        )));
        findings.extend(rules.adjust(explain::api_drops(&diff)));
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.change.subject.cmp(&b.change.subject))
        });
        let reasons = explain::reasons(&diff, &parts, &before.metadata, &after.metadata);
        let rebase = explain::rebase(&diff, &parts, &before.metadata, &after.metadata);
        let mut summary = summarize(before, after, &diff, &parts, &findings, packages);
        summary.verdict = explain_verdict(&summary.verdict, &reasons, rebase.as_ref());
        summary.reasons = reasons;
        summary.rebase = rebase;
        let total = diff.changes.len();
        let changes: Vec<Change> = diff
            .changes
            .into_iter()
            // Runtimes and runtime dependencies stay even when unchanged: "the JRE did not
            // move" is an answer.
            .filter(|c| {
                all || c.is_change()
                    || matches!(c.category, Category::Dependency | Category::Runtime)
            })
            .collect();
        Self {
            schema_version: SCHEMA_VERSION,
            bpdrift_version: env!("CARGO_PKG_VERSION").to_string(),
            before: sb,
            after: sa,
            summary,
            findings,
            not_applicable: Vec::new(),
            unchanged_hidden: total - changes.len(),
            changes,
            layers: diff.layers,
            parts,
            memory: None,
            ignored: Vec::new(),
            packages: None,
            stale_history: None,
            release_notes: Vec::new(),
            release_notes_warning: None,
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
