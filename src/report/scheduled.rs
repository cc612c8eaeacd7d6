//! The scheduled fleet report: every watched image fetched (concurrently, bounded), drift
//! between each service's watched references and since the previous run, rule findings, the
//! rollback targets checked for existence, everything recorded in the history, and an alarm when
//! the schedule itself stopped. Nothing is skipped silently: an image that cannot be fetched
//! is a row with its error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fleet::{Fleet, Service};
use super::history::{self, History, Observation, RecordedFinding};
use crate::diff::{Category, Change};
use crate::metadata::{Dependency, ImageMetadata, Module, RunImage, label};
use crate::reference::ImageRef;
use crate::rules::{Finding, RuleSet, Severity};
use crate::source::{Fetcher, Image, Origin};

/// What an image was made of, as the history keeps it (enough to diff buildpacks, dependencies,
/// lifecycle, run image and labels against a later run).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Buildpacks.
    pub buildpacks: Vec<SnapModule>,
    /// Runtime dependencies.
    pub dependencies: Vec<SnapDependency>,
    /// Lifecycle version.
    pub lifecycle_version: Option<String>,
    /// Platform API.
    pub platform_api: Option<String>,
    /// Run image name and reference.
    pub run_image: Option<String>,
    /// Run image reference.
    pub run_image_reference: Option<String>,
    /// Stack id.
    pub stack_id: Option<String>,
    /// Labels with short values (long ones are package lists, not worth keeping).
    pub labels: BTreeMap<String, String>,
}

/// A buildpack in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapModule {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Homepage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// A dependency in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapDependency {
    /// Buildpack.
    pub buildpack: String,
    /// Layer.
    pub layer: String,
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
}

impl Snapshot {
    /// The snapshot of an image.
    pub fn of(m: &ImageMetadata) -> Self {
        Self {
            buildpacks: m
                .buildpacks
                .iter()
                .map(|b| SnapModule {
                    id: b.id.clone(),
                    version: b.version.clone(),
                    homepage: b.homepage.clone(),
                })
                .collect(),
            dependencies: m
                .dependencies
                .iter()
                .map(|d| SnapDependency {
                    buildpack: d.buildpack.clone(),
                    layer: d.layer.clone(),
                    id: d.id.clone(),
                    version: d.version.clone(),
                })
                .collect(),
            lifecycle_version: m.lifecycle_version.clone(),
            platform_api: m.platform_api.clone(),
            run_image: m.run_image.as_ref().and_then(|r| r.image.clone()),
            run_image_reference: m.run_image.as_ref().and_then(|r| r.reference.clone()),
            stack_id: m.stack_id.clone(),
            labels: m
                .labels
                .iter()
                .filter(|(k, v)| v.len() <= 512 && !k.starts_with("io.buildpacks."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Metadata to diff against (what the snapshot kept; the rest is empty).
    pub fn metadata(&self) -> ImageMetadata {
        let mut labels = self.labels.clone();
        if !self.buildpacks.is_empty() {
            // Marks an app image, so buildpack order is compared as for live images.
            labels.insert(label::BUILD.into(), "{}".into());
        }
        ImageMetadata {
            buildpacks: self
                .buildpacks
                .iter()
                .map(|b| Module {
                    id: b.id.clone(),
                    version: b.version.clone(),
                    homepage: b.homepage.clone(),
                })
                .collect(),
            dependencies: self
                .dependencies
                .iter()
                .map(|d| Dependency {
                    buildpack: d.buildpack.clone(),
                    layer: d.layer.clone(),
                    id: d.id.clone(),
                    name: None,
                    version: d.version.clone(),
                })
                .collect(),
            lifecycle_version: self.lifecycle_version.clone(),
            platform_api: self.platform_api.clone(),
            run_image: (self.run_image.is_some() || self.run_image_reference.is_some()).then(
                || RunImage {
                    image: self.run_image.clone(),
                    reference: self.run_image_reference.clone(),
                    ..Default::default()
                },
            ),
            stack_id: self.stack_id.clone(),
            labels,
            ..Default::default()
        }
    }

    /// `id version` pairs for timelines.
    pub fn buildpack_versions(&self) -> BTreeMap<String, String> {
        self.buildpacks
            .iter()
            .map(|b| (b.id.clone(), b.version.clone()))
            .chain(
                self.dependencies
                    .iter()
                    .map(|d| (format!("{} ({})", d.layer, d.buildpack), d.version.clone())),
            )
            .collect()
    }
}

/// One watched image in this run.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedImage {
    /// Role (`deployed`, `candidate`…).
    pub role: String,
    /// Reference watched.
    pub reference: String,
    /// Digest it resolved to.
    pub digest: Option<String>,
    /// Index digest for multi-arch images.
    pub index_digest: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// Buildpacks and versions.
    pub buildpacks: Vec<SnapModule>,
    /// Runtime dependencies.
    pub dependencies: Vec<SnapDependency>,
    /// Lifecycle.
    pub lifecycle_version: Option<String>,
    /// Why it could not be fetched.
    pub error: Option<String>,
}

/// Drift between two watched references of a service.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDrift {
    /// From role.
    pub from: String,
    /// To role.
    pub to: String,
    /// One line.
    pub verdict: String,
    /// What changed.
    pub changes: Vec<Change>,
}

/// Drift of one watched reference since the previous run.
#[derive(Debug, Clone, Serialize)]
pub struct SinceLastRun {
    /// Role.
    pub role: String,
    /// When it was last seen.
    pub previous_at: Option<String>,
    /// The digest then.
    pub previous_digest: Option<String>,
    /// The digest now.
    pub digest: Option<String>,
    /// What changed (buildpacks, dependencies, lifecycle, run image, labels).
    pub changes: Vec<Change>,
}

/// A digest to roll back to.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackTarget {
    /// `repo@sha256:…`.
    pub reference: String,
    /// `pinned` (fleet file) or `history` (a digest this service ran before).
    pub origin: &'static str,
    /// `present`, `vanished` or `unknown` (the check failed).
    pub status: &'static str,
    /// Why the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One point of a service's history.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: String,
    /// Role.
    pub role: String,
    /// Digest (none when the fetch failed).
    pub digest: Option<String>,
    /// Buildpack and dependency versions.
    pub versions: BTreeMap<String, String>,
    /// The error of a failed fetch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One service in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// `ok`, `drift`, `info`, `warning`, `error` (highest finding) or `failed` (an image could
    /// not be fetched).
    pub status: String,
    /// Watched images now.
    pub images: Vec<ObservedImage>,
    /// Drift between watched references.
    pub drift: Vec<RoleDrift>,
    /// Drift since the previous run.
    pub since_last_run: Vec<SinceLastRun>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Rollback targets.
    pub rollback: Vec<RollbackTarget>,
    /// History, this run included.
    pub timeline: Vec<TimelineEntry>,
    /// Whether this service's findings reach its `fail-on`.
    pub failed_checks: bool,
}

/// Totals.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSummary {
    /// Services.
    pub services: usize,
    /// Images watched.
    pub images: usize,
    /// Images that could not be fetched.
    pub fetch_errors: usize,
    /// Findings by severity.
    pub findings: BTreeMap<Severity, usize>,
    /// Rollback targets that vanished.
    pub vanished_rollback_targets: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// bpdrift version.
    pub bpdrift_version: &'static str,
    /// When (RFC 3339).
    pub generated_at: String,
    /// The fleet file.
    pub fleet: String,
    /// When the previous finished run started.
    pub previous_run: Option<String>,
    /// Set when the schedule missed a run: said first, and the run exits non-zero.
    pub alarm: Option<String>,
    /// Totals.
    pub summary: FleetSummary,
    /// Services.
    pub services: Vec<ServiceReport>,
}

impl FleetReport {
    /// 2 when an image could not be fetched, 1 when a finding reaches a service's `fail-on`
    /// or the schedule missed a run, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.summary.fetch_errors > 0 {
            2
        } else if self.alarm.is_some() || self.services.iter().any(|s| s.failed_checks) {
            1
        } else {
            0
        }
    }
}

/// Everything a run needs.
pub struct RunInput<'a> {
    /// The fleet.
    pub fleet: &'a Fleet,
    /// Its file name (recorded).
    pub fleet_name: &'a str,
    /// Rules per service (built-ins plus the fleet's and the service's files), shared.
    pub rules: &'a BTreeMap<String, std::sync::Arc<RuleSet>>,
    /// Now, seconds since the epoch.
    pub now: i64,
    /// `--expect-every`, in seconds.
    pub expect_every: Option<i64>,
    /// Called after each fetch with (done, total, what): progress.
    pub progress: &'a (dyn Fn(usize, usize, &str) + Sync),
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !msg.contains(&t) && s.downcast_ref::<reqwest::Error>().is_none() {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        cur = s.source();
    }
    msg
}

fn origin_image(origin: Origin, metadata: ImageMetadata) -> Image {
    Image {
        origin,
        layers: Vec::new(),
        metadata,
    }
}

/// A vanished rollback target as a finding (error: the way back is gone).
fn vanished_finding(service: &str, target: &RollbackTarget) -> Finding {
    Finding {
        rule: "rollback-target-vanished".into(),
        severity: Severity::Error,
        affects: vec!["rollback".into()],
        summary: format!(
            "rollback target {} of {service} no longer exists in the registry",
            target.reference
        ),
        advice: Some(
            "Protect release digests from registry clean-up policies, or pin a newer last-good digest."
                .into(),
        ),
        sources: Vec::new(),
        note: None,
        change: Change::of(
            Category::Rollback,
            &target.reference,
            Some("present".into()),
            None,
        ),
    }
}

/// Runs the report and records it. History errors are errors (the record is the point).
pub async fn run(
    input: RunInput<'_>,
    fetcher: &Fetcher,
    history: &mut History,
) -> Result<FleetReport, history::HistoryError> {
    let now_s = history::rfc3339(input.now);
    let previous = history.last_finished_run()?;
    let alarm = match (&previous, input.expect_every) {
        (Some(p), Some(every)) => history::parse_rfc3339(&p.started_at).and_then(|t| {
            let age = input.now.saturating_sub(t);
            (age > every).then(|| {
                format!(
                    "the previous run started {} ago ({}), longer than the expected interval of {}: the schedule missed at least one run",
                    human_duration(age),
                    p.started_at,
                    human_duration(every)
                )
            })
        }),
        _ => None,
    };
    let run_id = history.start_run(&now_s, input.fleet_name)?;

    // Fetch every watched image concurrently; the client bounds requests in flight.
    let jobs: Vec<(&Service, &String, &ImageRef)> = input
        .fleet
        .services
        .iter()
        .flat_map(|s| s.images.iter().map(move |(role, r)| (s, role, r)))
        .collect();
    let total = jobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let fetched = futures_util::future::join_all(jobs.iter().map(|(s, _, r)| {
        let done = &done;
        async move {
            let res = fetcher.fetch_platform(r, &s.platform).await;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            (input.progress)(n, total, &r.to_string());
            res
        }
    }))
    .await;
    let mut results: BTreeMap<(String, String), Result<Image, String>> = BTreeMap::new();
    for ((s, role, _), res) in jobs.iter().zip(fetched) {
        results.insert(
            (s.name.clone(), (*role).clone()),
            res.map_err(|e| error_chain(&e)),
        );
    }

    let mut services = Vec::new();
    let mut observations = Vec::new();
    let mut recorded = Vec::new();
    for s in &input.fleet.services {
        let rules = input.rules.get(&s.name).cloned().unwrap_or_default();
        let mut images = Vec::new();
        let mut findings: Vec<Finding> = Vec::new();
        let mut since_last_run = Vec::new();
        let mut failed = false;
        for (role, r) in &s.images {
            let res = &results[&(s.name.clone(), role.clone())];
            let snapshot = res.as_ref().ok().map(|img| Snapshot::of(&img.metadata));
            observations.push(Observation {
                observed_at: now_s.clone(),
                service: s.name.clone(),
                role: role.clone(),
                reference: r.to_string(),
                digest: res.as_ref().ok().map(|i| {
                    i.origin
                        .digest
                        .clone()
                        .unwrap_or(i.origin.config_digest.clone())
                }),
                platform: res.as_ref().ok().map(|i| i.origin.platform.clone()),
                snapshot: snapshot
                    .as_ref()
                    .and_then(|s| serde_json::to_string(s).ok()),
                error: res.as_ref().err().cloned(),
            });
            match res {
                Ok(img) => {
                    let snap = snapshot.clone().unwrap_or_default();
                    let digest = img
                        .origin
                        .digest
                        .clone()
                        .unwrap_or(img.origin.config_digest.clone());
                    // Drift since the last run of this service and role.
                    if let Some(prev) = history.previous(&s.name, role, run_id)? {
                        let prev_snap: Snapshot = prev
                            .snapshot
                            .as_deref()
                            .and_then(|j| serde_json::from_str(j).ok())
                            .unwrap_or_default();
                        let before = origin_image(img.origin.clone(), prev_snap.metadata());
                        let after = origin_image(img.origin.clone(), snap.metadata());
                        let d = crate::diff::diff(&before, &after);
                        if prev.digest.as_deref() != Some(digest.as_str()) {
                            findings.extend(rules.evaluate(&d, &after.metadata));
                        }
                        since_last_run.push(SinceLastRun {
                            role: role.clone(),
                            previous_at: Some(prev.observed_at.clone()),
                            previous_digest: prev.digest.clone(),
                            digest: Some(digest.clone()),
                            changes: d.changed().cloned().collect(),
                        });
                    }
                    images.push(ObservedImage {
                        role: role.clone(),
                        reference: r.to_string(),
                        digest: Some(digest),
                        index_digest: img.origin.index_digest.clone(),
                        platform: Some(img.origin.platform.clone()),
                        buildpacks: snap.buildpacks.clone(),
                        dependencies: snap.dependencies.clone(),
                        lifecycle_version: snap.lifecycle_version.clone(),
                        error: None,
                    });
                }
                Err(e) => {
                    failed = true;
                    images.push(ObservedImage {
                        role: role.clone(),
                        reference: r.to_string(),
                        digest: None,
                        index_digest: None,
                        platform: None,
                        buildpacks: Vec::new(),
                        dependencies: Vec::new(),
                        lifecycle_version: None,
                        error: Some(e.clone()),
                    });
                }
            }
        }

        // Drift between the first watched reference (normally `deployed`) and each other one.
        let mut drift = Vec::new();
        if let Some(((first_role, _), rest)) = s.images.split_first() {
            for (role, _) in rest {
                let (Ok(a), Ok(b)) = (
                    &results[&(s.name.clone(), first_role.clone())],
                    &results[&(s.name.clone(), role.clone())],
                ) else {
                    continue;
                };
                let d = crate::diff::diff(a, b);
                let f = rules.evaluate(&d, &b.metadata);
                let report = super::DiffReport::new(a, b, d.clone(), f.clone(), false);
                findings.extend(f);
                drift.push(RoleDrift {
                    from: first_role.clone(),
                    to: role.clone(),
                    verdict: report.summary.verdict.clone(),
                    changes: d.changed().cloned().collect(),
                });
            }
        }

        // Rollback targets: pinned ones, then the newest digests this service ran (`deployed`,
        // or its first role), each checked with one HEAD by digest.
        let mut targets: Vec<(String, &'static str)> =
            s.last_good.iter().map(|d| (d.clone(), "pinned")).collect();
        let first_role = s.images.first().map(|(r, _)| r.clone()).unwrap_or_default();
        let current: Option<String> = images.first().and_then(|i| i.digest.clone());
        for (d, _) in history.digests(&s.name, &first_role, input.fleet.rollback_targets + 1)? {
            if Some(&d) != current.as_ref() && !targets.iter().any(|(t, _)| *t == d) {
                targets.push((d, "history"));
            }
        }
        targets.truncate(s.last_good.len() + input.fleet.rollback_targets);
        let mut rollback = Vec::new();
        if let Some((_, ImageRef::Registry(r))) = s.images.first() {
            let checks = futures_util::future::join_all(targets.iter().map(|(d, _)| {
                let target: ImageRef = ImageRef::Registry(crate::reference::RegistryRef {
                    input: format!("{}/{}@{d}", r.registry(), r.repository()),
                    reference: r.reference.clone_with_digest(d.clone()),
                });
                async move {
                    let res = fetcher.exists(&target).await;
                    (target, res)
                }
            }))
            .await;
            for ((target, res), (_, origin)) in checks.into_iter().zip(&targets) {
                let (status, error) = match res {
                    Ok(true) => ("present", None),
                    Ok(false) => ("vanished", None),
                    Err(e) => ("unknown", Some(error_chain(&e))),
                };
                let t = RollbackTarget {
                    reference: target.to_string(),
                    origin,
                    status,
                    error,
                };
                if status == "vanished" {
                    findings.push(vanished_finding(&s.name, &t));
                }
                rollback.push(t);
            }
        }

        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.change.subject.cmp(&b.change.subject))
        });
        findings.dedup_by(|a, b| {
            a.rule == b.rule
                && a.change.subject == b.change.subject
                && a.change.after == b.change.after
        });
        for f in &findings {
            recorded.push(RecordedFinding {
                service: s.name.clone(),
                rule: f.rule.clone(),
                severity: f.severity.to_string(),
                subject: f.change.subject.clone(),
                summary: f.summary.clone(),
            });
        }
        let failed_checks = findings.iter().any(|f| s.fail_on.fails(f.severity));
        let status = if failed {
            "failed".to_string()
        } else if let Some(f) = findings.first() {
            f.severity.to_string()
        } else if drift.iter().any(|d| !d.changes.is_empty())
            || since_last_run.iter().any(|d| !d.changes.is_empty())
        {
            "drift".to_string()
        } else {
            "ok".to_string()
        };
        services.push(ServiceReport {
            name: s.name.clone(),
            status,
            images,
            drift,
            since_last_run,
            findings,
            rollback,
            timeline: Vec::new(),
            failed_checks,
        });
    }

    let fetch_errors = results.values().filter(|r| r.is_err()).count();
    let status = if fetch_errors > 0 { "partial" } else { "ok" };
    history.finish_run(
        run_id,
        &history::rfc3339(input.now),
        status,
        &observations,
        &recorded,
    )?;

    // Timelines include this run, now recorded.
    for s in &mut services {
        s.timeline = history
            .timeline(&s.name)?
            .into_iter()
            .map(|o| TimelineEntry {
                at: o.observed_at,
                role: o.role,
                digest: o.digest,
                versions: o
                    .snapshot
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<Snapshot>(j).ok())
                    .map(|s| s.buildpack_versions())
                    .unwrap_or_default(),
                error: o.error,
            })
            .collect();
    }

    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in services.iter().flat_map(|s| &s.findings) {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    Ok(FleetReport {
        schema_version: 1,
        bpdrift_version: env!("CARGO_PKG_VERSION"),
        generated_at: now_s,
        fleet: input.fleet_name.to_string(),
        previous_run: previous.map(|p| p.started_at),
        alarm,
        summary: FleetSummary {
            services: services.len(),
            images: total,
            fetch_errors,
            findings: by_sev,
            vanished_rollback_targets: services
                .iter()
                .flat_map(|s| &s.rollback)
                .filter(|t| t.status == "vanished")
                .count(),
        },
        services,
    })
}

/// `90061` → `1d 1h 1m`.
pub fn human_duration(secs: i64) -> String {
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

/// `24h`, `90m`, `1d`, `3600s`, `1d12h` → seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        // Checked: `94368760191893771d` is an error, not a wrap-around to two minutes.
        let unit = match c {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(
            parse_duration("94368760191893771d"),
            None,
            "overflow is an error"
        );
        assert_eq!(parse_duration("9223372036854775807s1s"), None);
        assert_eq!(parse_duration("1d12h"), Some(129_600));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("24"), None);
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(human_duration(90_061), "1d 1h 1m");
        assert_eq!(human_duration(30), "0m");
    }
}
