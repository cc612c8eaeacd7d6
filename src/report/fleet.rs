//! The fleet report's model: what a scheduled run found per service (statuses, drift, findings,
//! rollback targets, timelines), and the rows the history records of it. Pure data, produced by
//! `fleet::assess`, stored by `fleet::history`, rendered by `render`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::Change;
use crate::metadata::{Dependency, Module};
use crate::rules::{Finding, Severity};

/// Schema version of the fleet report's JSON.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// How a service stands, worst first in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ServiceStatus {
    /// An image could not be fetched: nothing else about it is known.
    Failed,
    /// The highest finding is an error.
    Error,
    /// The highest finding is a warning.
    Warning,
    /// The highest finding is informational.
    Info,
    /// Something moved, and no rule minds.
    Drift,
    /// Nothing moved.
    Ok,
}

impl ServiceStatus {
    /// The word the report shows.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
            Self::Drift => "drift",
            Self::Ok => "ok",
        }
    }
}

impl std::fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a rollback target comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TargetOrigin {
    /// `last-good` in the fleet file.
    Pinned,
    /// A digest this service ran before, from the history.
    History,
}

/// Whether a rollback target still exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TargetStatus {
    /// The registry still has it.
    Present,
    /// The registry answered that it is gone.
    Vanished,
    /// The check failed.
    Unknown,
}

impl std::fmt::Display for TargetOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pinned => "pinned",
            Self::History => "history",
        })
    }
}

impl std::fmt::Display for TargetStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Present => "present",
            Self::Vanished => "vanished",
            Self::Unknown => "unknown",
        })
    }
}

/// One watched image in this run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ObservedImage {
    /// Role (`deployed`, `candidate`…).
    pub(crate) role: String,
    /// Reference watched.
    pub(crate) reference: String,
    /// Digest it resolved to.
    pub(crate) digest: Option<String>,
    /// Index digest for multi-arch images.
    pub(crate) index_digest: Option<String>,
    /// Platform.
    pub(crate) platform: Option<String>,
    /// Buildpacks and versions.
    pub(crate) buildpacks: Vec<Module>,
    /// Runtime dependencies.
    pub(crate) dependencies: Vec<Dependency>,
    /// Lifecycle.
    pub(crate) lifecycle_version: Option<String>,
    /// Why it could not be fetched.
    pub(crate) error: Option<String>,
}

/// Drift between two watched references of a service.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RoleDrift {
    /// From role.
    pub(crate) from: String,
    /// To role.
    pub(crate) to: String,
    /// One line.
    pub(crate) verdict: String,
    /// What changed.
    pub(crate) changes: Vec<Change>,
}

/// Drift of one watched reference since the previous run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SinceLastRun {
    /// Role.
    pub(crate) role: String,
    /// When it was last seen.
    pub(crate) previous_at: Option<String>,
    /// The digest then.
    pub(crate) previous_digest: Option<String>,
    /// The digest now.
    pub(crate) digest: Option<String>,
    /// What changed (buildpacks, dependencies, lifecycle, run image, labels).
    pub(crate) changes: Vec<Change>,
    /// `sbom = true`: the packages compared with the previous digest's, as the history recorded
    /// both (absent when the digest did not move or either side has no packages recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) packages: Option<crate::packages::diff::PackagesDiff>,
}

impl SinceLastRun {
    /// The package verdict phrases (`run image: 3 OS packages changed (…)`).
    pub(crate) fn package_phrases(&self) -> Vec<String> {
        self.packages
            .as_ref()
            .map(crate::packages::diff::PackagesDiff::phrases)
            .unwrap_or_default()
    }
}

/// A digest to roll back to.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct RollbackTarget {
    /// `repo@sha256:…`.
    pub(crate) reference: String,
    /// Pinned in the fleet file, or a digest this service ran before.
    pub(crate) origin: TargetOrigin,
    /// Present, vanished, or unknown (the check failed).
    pub(crate) status: TargetStatus,
    /// Why the check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// One point of a service's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct TimelineEntry {
    /// When.
    pub(crate) at: String,
    /// Role.
    pub(crate) role: String,
    /// Digest (none when the fetch failed).
    pub(crate) digest: Option<String>,
    /// Buildpack and dependency versions.
    pub(crate) versions: BTreeMap<String, String>,
    /// `sbom = true`: the package phrases against the role's previous digest (`run image: 3 OS
    /// packages changed (…)`), or on the role's first row with packages what they count (`run
    /// image: 120 OS packages`); empty: the same packages. Absent: none recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) packages: Option<Vec<String>>,
    /// The error of a failed fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// One service in the report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ServiceReport {
    /// Name.
    pub(crate) name: String,
    /// The highest finding, drift, ok, or failed (an image could not be fetched).
    pub(crate) status: ServiceStatus,
    /// Watched images now.
    pub(crate) images: Vec<ObservedImage>,
    /// Drift between watched references.
    pub(crate) drift: Vec<RoleDrift>,
    /// Drift since the previous run.
    pub(crate) since_last_run: Vec<SinceLastRun>,
    /// Findings, most severe first.
    pub(crate) findings: Vec<Finding>,
    /// Rollback targets.
    pub(crate) rollback: Vec<RollbackTarget>,
    /// History, this run included.
    pub(crate) timeline: Vec<TimelineEntry>,
    /// Whether this service's findings reach its `fail-on`.
    pub(crate) failed_checks: bool,
}

/// Totals.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct FleetSummary {
    /// Services.
    pub(crate) services: usize,
    /// Images watched.
    pub(crate) images: usize,
    /// Images that could not be fetched.
    pub(crate) fetch_errors: usize,
    /// Findings by severity.
    pub(crate) findings: BTreeMap<Severity, usize>,
    /// Rollback targets that vanished.
    pub(crate) vanished_rollback_targets: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct FleetReport {
    /// Schema version of this JSON.
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub(crate) schema_version: u32,
    /// bpdrift version.
    pub(crate) bpdrift_version: &'static str,
    /// When (RFC 3339).
    pub(crate) generated_at: String,
    /// The fleet file.
    pub(crate) fleet: String,
    /// When the previous finished run started.
    pub(crate) previous_run: Option<String>,
    /// Set when the schedule missed a run: said first, and the run exits non-zero.
    pub(crate) alarm: Option<String>,
    /// Totals.
    pub(crate) summary: FleetSummary,
    /// Services.
    pub(crate) services: Vec<ServiceReport>,
}

impl FleetReport {
    /// 2 when an image could not be fetched, 1 when a finding reaches a service's `fail-on`
    /// or the schedule missed a run, else 0.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.summary.fetch_errors > 0 {
            2
        } else if self.alarm.is_some() || self.services.iter().any(|s| s.failed_checks) {
            1
        } else {
            0
        }
    }
}

/// `90061` → `1d 1h 1m`.
pub(crate) fn human_duration(secs: i64) -> String {
    // Under a minute, seconds: "0m ago" for a 1 s interval says nothing.
    if secs < 60 {
        return format!("{}s", secs.max(0));
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 || parts.is_empty() {
        parts.push(format!("{m}m"));
    }
    parts.join(" ")
}

/// The warning for `diff --history … --expect-every` when the fleet report's last successful
/// run (`last_success`, seconds since the epoch) is older than expected, or there is none.
pub(crate) fn stale_history(
    history: &str,
    last_success: Option<i64>,
    now: i64,
    expect_every: i64,
) -> Option<String> {
    let Some(at) = last_success else {
        return Some(format!(
            "the fleet history `{history}` has no successful report run: is the scheduled report running?"
        ));
    };
    if let Some(by) = crate::clock::ahead(at, now) {
        return Some(crate::clock::ahead_message(
            &format!("the fleet report's last successful run (history `{history}`)"),
            at,
            now,
            by,
        ));
    }
    let age = now.saturating_sub(at);
    (age > expect_every).then(|| {
        format!(
            "the fleet report's last successful run (history `{history}`) finished {} ago ({}), longer than the expected interval of {}: the scheduled report may have stopped",
            human_duration(age),
            crate::clock::rfc3339(at),
            human_duration(expect_every)
        )
    })
}

/// One observation of one watched reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Observation {
    /// When (RFC 3339, UTC).
    pub(crate) observed_at: String,
    /// Service name from the fleet file.
    pub(crate) service: String,
    /// `deployed`, `candidate`…
    pub(crate) role: String,
    /// The reference watched.
    pub(crate) reference: String,
    /// The digest it resolved to (none when it could not be fetched).
    pub(crate) digest: Option<String>,
    /// Platform.
    pub(crate) platform: Option<String>,
    /// What the image was made of: the image model's history view, and its packages.
    pub(crate) snapshot: Option<Snapshot>,
    /// Why it could not be fetched.
    pub(crate) error: Option<String>,
}

/// What the history keeps of one image: the image model's history view
/// (`ImageMetadata::for_history`) and, for a service with `sbom = true`, its packages. One JSON
/// object in the database and the registry artifact; `packages` is new, so a record without it
/// (older bpdrift, `sbom = false`) still reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Snapshot {
    /// The image model, its fields at the top level (as before `packages` existed).
    #[serde(flatten)]
    pub(crate) metadata: crate::metadata::ImageMetadata,
    /// The image's packages (`ImagePackages::for_history`): recorded on the first observation of
    /// a digest only (a digest's packages never change), so most observations have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) packages: Option<crate::packages::ImagePackages>,
}

/// A finding as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedFinding {
    /// Service.
    pub(crate) service: String,
    /// Rule id.
    pub(crate) rule: String,
    /// Severity.
    pub(crate) severity: String,
    /// Subject.
    pub(crate) subject: String,
    /// Summary.
    pub(crate) summary: String,
}

/// A previous run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Run {
    /// Run id.
    pub(crate) id: i64,
    /// Start (RFC 3339).
    pub(crate) started_at: String,
    /// End, when it finished.
    pub(crate) finished_at: Option<String>,
    /// `running`, `ok`, `partial`.
    pub(crate) status: String,
    /// The run id its shards share (`--run-id`), else its own uid.
    pub(crate) group: Option<String>,
}
