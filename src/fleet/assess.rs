//! The pure stage of a fleet run: from what [`super::fetch`] observed, the drift between each
//! service's watched references and since the previous run, rule findings, statuses, totals and
//! the missed-run alarm; plus the observations and findings the history will record. No I/O, so
//! it is tested (and snapshotted) without a registry or a database.

use std::collections::BTreeMap;

use std::sync::Arc;

use super::file::Fleet;
use crate::clock::{parse_rfc3339, rfc3339};
use crate::diff::{Category, Change};
use crate::image::Image;
use crate::packages::ImagePackages;
use crate::report::fleet::{
    FleetReport, FleetSummary, Observation, ObservedImage, RecordedFinding, RoleDrift,
    RollbackTarget, Run, SCHEMA_VERSION, ServiceReport, ServiceStatus, SinceLastRun, Snapshot,
    TargetOrigin, TargetStatus, TimelineEntry, human_duration,
};
use crate::rules::{Finding, RuleSet, Severity};

/// A (service, role) pair.
pub(crate) type Key = (String, String);

/// What the I/O stage saw; everything [`assess`] needs besides the fleet.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Each watched image, or why it could not be fetched (one line).
    pub(crate) images: BTreeMap<Key, Result<Image, String>>,
    /// The previous observation of each (service, role), from the history.
    pub(crate) previous: BTreeMap<Key, Observation>,
    /// Each service's rollback targets, checked.
    pub(crate) rollback: BTreeMap<String, Vec<RollbackTarget>>,
    /// The previous finished run.
    pub(crate) previous_run: Option<Run>,
    /// Services with `sbom = true`: each image's packages from its SBOM layers.
    pub(crate) packages: BTreeMap<Key, crate::packages::ImagePackages>,
    /// Of those, the ones whose SBOM layers could not be read (not recorded: the next run
    /// tries again).
    pub(crate) unreadable_packages: std::collections::BTreeSet<Key>,
    /// Packages the history already holds, by (service, role, digest): the current digest's
    /// (then not recorded again) and the previous observation's.
    pub(crate) recorded_packages: BTreeMap<(String, String, String), ImagePackages>,
}

/// The run being assessed.
pub(crate) struct Context<'a> {
    /// The fleet.
    pub(crate) fleet: &'a Fleet,
    /// Its file name.
    pub(crate) fleet_name: &'a str,
    /// Rules per service.
    pub(crate) rules: &'a BTreeMap<String, Arc<RuleSet>>,
    /// Now, seconds since the epoch.
    pub(crate) now: i64,
    /// `--expect-every`, in seconds.
    pub(crate) expect_every: Option<i64>,
}

/// A report, and what the history records of it.
pub(crate) struct Assessed {
    /// The report (timelines are filled in after recording).
    pub(crate) report: FleetReport,
    /// One per watched image.
    pub(crate) observations: Vec<Observation>,
    /// Every finding of every service.
    pub(crate) findings: Vec<RecordedFinding>,
}

/// Pinned digests first, then the newest digests this service ran (`ran`, newest first) other
/// than the current one, at most `from_history` of those.
pub(crate) fn rollback_targets(
    pinned: &[String],
    ran: &[String],
    current: Option<&str>,
    from_history: usize,
) -> Vec<(String, TargetOrigin)> {
    let mut targets: Vec<(String, TargetOrigin)> = pinned
        .iter()
        .map(|d| (d.clone(), TargetOrigin::Pinned))
        .collect();
    for d in ran {
        if Some(d.as_str()) != current && !targets.iter().any(|(t, _)| t == d) {
            targets.push((d.clone(), TargetOrigin::History));
        }
    }
    targets.truncate(pinned.len() + from_history);
    targets
}

/// The alarm when the previous run is older than `expect_every` allows.
fn missed_run(previous: Option<&Run>, now: i64, expect_every: Option<i64>) -> Option<String> {
    let p = previous?;
    // A run dated ahead of the clock would keep the alarm quiet for as long as it lies: said,
    // whether or not an interval is expected (crate::clock::ahead).
    if let Some(started) = parse_rfc3339(&p.started_at)
        && let Some(by) = crate::clock::ahead(started, now)
    {
        return Some(crate::clock::ahead_message(
            "the previous run",
            started,
            now,
            by,
        ));
    }
    let every = expect_every?;
    let age = now.saturating_sub(parse_rfc3339(&p.started_at)?);
    (age > every).then(|| {
        format!(
            "the previous run started {} ago ({}), longer than the expected interval of {}: the schedule missed at least one run",
            human_duration(age),
            p.started_at,
            human_duration(every)
        )
    })
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
        not_applicable: false,
        change: Change::of(
            Category::Rollback,
            &target.reference,
            Some("present".into()),
            None,
        ),
    }
}

/// An image stripped to what the history keeps, so that an image of this run and one read back
/// from the history are compared like with like.
fn as_recorded(img: &Image) -> Image {
    Image {
        origin: img.origin.clone(),
        layers: Vec::new(),
        metadata: img.metadata.for_history(),
    }
}

/// Assesses one run.
pub(crate) fn assess(input: &Context<'_>, observed: Observed) -> Assessed {
    let now_s = rfc3339(input.now);
    let mut services = Vec::new();
    let mut observations = Vec::new();
    let mut recorded = Vec::new();
    for s in &input.fleet.services {
        let rules = input.rules.get(&s.name).cloned().unwrap_or_default();
        let key = |role: &str| (s.name.clone(), role.to_string());
        let mut images = Vec::new();
        let mut findings: Vec<Finding> = Vec::new();
        let mut since_last_run = Vec::new();
        let mut failed = false;
        for (role, r) in &s.images {
            let res = &observed.images[&key(role)];
            let ok = res.as_ref().ok();
            // The packages as the history keeps them, compared as kept (bounded either side).
            let packages = ok
                .filter(|_| !observed.unreadable_packages.contains(&key(role)))
                .and_then(|_| observed.packages.get(&key(role)))
                .map(|p| p.for_history(crate::limits::HISTORY_PACKAGES_MAX));
            let recorded = |digest: &str| {
                observed
                    .recorded_packages
                    .get(&(s.name.clone(), role.clone(), digest.to_string()))
            };
            observations.push(Observation {
                observed_at: now_s.clone(),
                service: s.name.clone(),
                role: role.clone(),
                reference: r.to_string(),
                digest: ok.map(Image::digest),
                platform: ok.map(|i| i.origin.platform.clone()),
                snapshot: ok.map(|i| Snapshot {
                    metadata: i.metadata.for_history(),
                    // Once per digest: its packages never change.
                    packages: packages.clone().filter(|_| recorded(&i.digest()).is_none()),
                }),
                error: res.as_ref().err().cloned(),
            });
            let Ok(img) = res else {
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
                    error: res.as_ref().err().cloned(),
                });
                continue;
            };
            let digest = img.digest();
            // Drift since the last run of this service and role.
            if let Some(prev) = observed.previous.get(&key(role)) {
                let after = as_recorded(img);
                let before = Image {
                    metadata: prev
                        .snapshot
                        .as_ref()
                        .map(|s| s.metadata.clone())
                        .unwrap_or_default(),
                    ..after.clone()
                };
                let d = crate::diff::diff(&before, &after);
                let moved = prev.digest.as_deref() != Some(digest.as_str());
                // A rebase between two runs moves OS packages and nothing the labels say.
                let pkgs = match (moved, prev.digest.as_deref().and_then(recorded), &packages) {
                    (true, Some(pb), Some(pa)) => Some(crate::packages::diff::diff(pb, pa, true)),
                    _ => None,
                };
                if moved {
                    findings.extend(rules.evaluate(&d, &after.metadata));
                    if let Some(p) = &pkgs {
                        findings.extend(rules.evaluate_packages(p, &after.metadata));
                    }
                }
                since_last_run.push(SinceLastRun {
                    role: role.clone(),
                    previous_at: Some(prev.observed_at.clone()),
                    previous_digest: prev.digest.clone(),
                    digest: Some(digest.clone()),
                    changes: d.changed().cloned().collect(),
                    packages: pkgs,
                });
            }
            let m = &img.metadata;
            images.push(ObservedImage {
                role: role.clone(),
                reference: r.to_string(),
                digest: Some(digest),
                index_digest: img.origin.index_digest.clone(),
                platform: Some(img.origin.platform.clone()),
                buildpacks: m.buildpacks.clone(),
                dependencies: m.dependencies.clone(),
                lifecycle_version: m.lifecycle_version.clone(),
                error: None,
            });
        }

        // Drift between the first watched reference (normally `deployed`) and each other one.
        let mut drift = Vec::new();
        if let Some(((first_role, _), rest)) = s.images.split_first() {
            for (role, _) in rest {
                let (Ok(a), Ok(b)) = (
                    &observed.images[&key(first_role)],
                    &observed.images[&key(role)],
                ) else {
                    continue;
                };
                let packages = match (
                    observed.packages.get(&key(first_role)),
                    observed.packages.get(&key(role)),
                ) {
                    (Some(pa), Some(pb)) => Some((pa.clone(), pb.clone())),
                    _ => None,
                };
                let report = crate::report::assess(a, b, &rules, false, None, packages);
                drift.push(RoleDrift {
                    from: first_role.clone(),
                    to: role.clone(),
                    verdict: report.summary.verdict.clone(),
                    changes: report
                        .changes
                        .iter()
                        .filter(|c| c.is_change())
                        .cloned()
                        .collect(),
                });
                findings.extend(report.findings);
            }
        }

        let rollback = observed.rollback.get(&s.name).cloned().unwrap_or_default();
        for t in rollback
            .iter()
            .filter(|t| t.status == TargetStatus::Vanished)
        {
            findings.extend(rules.adjust(vec![vanished_finding(&s.name, t)]));
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
        recorded.extend(findings.iter().map(|f| RecordedFinding {
            service: s.name.clone(),
            rule: f.rule.clone(),
            severity: f.severity.to_string(),
            subject: f.change.subject.clone(),
            summary: f.summary.clone(),
        }));
        let failed_checks = findings.iter().any(|f| s.fail_on.fails(f.severity));
        let status = if failed {
            ServiceStatus::Failed
        } else if let Some(f) = findings.first() {
            match f.severity {
                Severity::Error => ServiceStatus::Error,
                Severity::Warning => ServiceStatus::Warning,
                Severity::Info => ServiceStatus::Info,
            }
        } else if drift.iter().any(|d| !d.changes.is_empty())
            || since_last_run
                .iter()
                .any(|d| !d.changes.is_empty() || !d.package_phrases().is_empty())
        {
            ServiceStatus::Drift
        } else {
            ServiceStatus::Ok
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

    let images = observed.images.len();
    let fetch_errors = observed.images.values().filter(|r| r.is_err()).count();
    let report = assemble(input, observed.previous_run, services, images, fetch_errors);
    Assessed {
        report,
        observations,
        findings: recorded,
    }
}

/// The report of a run from its services' reports (in fleet order): the worst first, the
/// totals, the missed-run alarm.
pub(crate) fn assemble(
    input: &Context<'_>,
    previous_run: Option<Run>,
    mut services: Vec<ServiceReport>,
    images: usize,
    fetch_errors: usize,
) -> FleetReport {
    let alarm = missed_run(previous_run.as_ref(), input.now, input.expect_every);
    // The worst first, so a failed service is never below the fold; fleet order within a status.
    services.sort_by_key(|s| s.status);
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in services.iter().flat_map(|s| &s.findings) {
        *by_sev.entry(f.severity).or_default() += 1;
    }
    FleetReport {
        schema_version: SCHEMA_VERSION,
        bpdrift_version: env!("CARGO_PKG_VERSION"),
        generated_at: rfc3339(input.now),
        fleet: input.fleet_name.to_string(),
        previous_run: previous_run.map(|p| p.started_at),
        alarm,
        summary: FleetSummary {
            services: services.len(),
            images,
            fetch_errors,
            findings: by_sev,
            vanished_rollback_targets: services
                .iter()
                .flat_map(|s| &s.rollback)
                .filter(|t| t.status == TargetStatus::Vanished)
                .count(),
        },
        services,
    }
}

/// A service's observations (oldest first, as `History::timeline` gives them) as timeline
/// entries, one per observation: the versions, and with packages recorded the package phrases
/// against the role's previous digest (or, on its first digest with packages, their counts).
pub(crate) fn timeline(observations: &[Observation]) -> Vec<TimelineEntry> {
    // Packages are recorded on a digest's first observation: later ones (and a digest seen
    // again after another) are found here by role and digest.
    let mut by_digest: BTreeMap<(&str, &str), &ImagePackages> = BTreeMap::new();
    let mut last_digest: BTreeMap<&str, &str> = BTreeMap::new();
    observations
        .iter()
        .map(|o| {
            let role = o.role.as_str();
            let recorded = o.snapshot.as_ref().and_then(|s| s.packages.as_ref());
            let mut packages = None;
            if let Some(d) = o.digest.as_deref() {
                if let Some(p) = recorded {
                    by_digest.insert((role, d), p);
                }
                let now = by_digest.get(&(role, d)).copied();
                let prev = last_digest.get(role).copied();
                packages = match (now, prev) {
                    (Some(_), Some(p)) if p == d => Some(Vec::new()),
                    (Some(a), Some(p)) => match by_digest.get(&(role, p)) {
                        Some(b) => Some(crate::packages::diff::diff(b, a, true).phrases()),
                        None => Some(vec![a.counts()]),
                    },
                    (Some(a), None) => Some(vec![a.counts()]),
                    (None, _) => None,
                };
                last_digest.insert(role, d);
            }
            TimelineEntry {
                at: o.observed_at.clone(),
                role: o.role.clone(),
                digest: o.digest.clone(),
                versions: o
                    .snapshot
                    .as_ref()
                    .map(|s| s.metadata.versions())
                    .unwrap_or_default(),
                packages,
                error: o.error.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::{Group, Location, Package};

    fn pkgs(ssl: &str) -> ImagePackages {
        ImagePackages {
            groups: vec![Group {
                location: Location::RunImage,
                sources: vec!["label io.paketo.stack.packages".into()],
                packages: vec![Package {
                    name: "libssl3".into(),
                    version: ssl.into(),
                    kind: "deb".into(),
                    arch: None,
                    purl: None,
                }],
                truncated: 0,
            }],
            notes: Vec::new(),
        }
    }

    fn obs(at: &str, digest: &str, packages: Option<ImagePackages>) -> Observation {
        Observation {
            observed_at: at.into(),
            service: "shop".into(),
            role: "deployed".into(),
            reference: "r:prod".into(),
            digest: Some(digest.into()),
            platform: None,
            snapshot: Some(Snapshot {
                metadata: Default::default(),
                packages,
            }),
            error: None,
        }
    }

    #[test]
    fn the_timeline_compares_each_digest_with_the_previous_one_recorded_once() {
        let t = timeline(&[
            obs("1", "sha256:a", Some(pkgs("3.0.2-0ubuntu1.9"))),
            obs("2", "sha256:a", None),
            obs("3", "sha256:b", Some(pkgs("3.0.2-0ubuntu1.10"))),
            // Back to a: its packages were recorded on its first observation.
            obs("4", "sha256:a", None),
            // Never recorded (sbom = false then).
            obs("5", "sha256:c", None),
        ]);
        let p: Vec<Option<Vec<String>>> = t.into_iter().map(|e| e.packages).collect();
        assert_eq!(
            p,
            [
                Some(vec!["run image: 1 OS package".to_string()]),
                Some(vec![]),
                Some(vec![
                    "run image: 1 OS package changed (libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10)"
                        .to_string()
                ]),
                Some(vec![
                    "run image: 1 OS package changed (libssl3 3.0.2-0ubuntu1.10 → 3.0.2-0ubuntu1.9)"
                        .to_string()
                ]),
                None,
            ]
        );
    }
}
