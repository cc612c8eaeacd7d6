//! The I/O stage of a fleet run, one service at a time: its watched images fetched
//! (concurrently; the client bounds requests in flight), its previous observations read from
//! the history, its rollback targets checked with one HEAD each; then assessed (pure) and its
//! images stored in the history, and nothing of them kept but the report's row. A run holds the
//! images of the services in flight only (`--jobs`), never the fleet's.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::RunInput;
use super::assess::{self, Observed};
use super::file::{Fleet, Service};
use super::history::{History, HistoryError, Sighting};
use crate::image::Image;
use crate::reference::{ImageRef, RegistryRef};
use crate::report::fleet::{RecordedFinding, RollbackTarget, ServiceReport, TargetStatus};
use crate::source::Fetcher;

/// What one service leaves behind.
pub(crate) struct Done {
    /// Its row and details in the report (the timeline is filled in after recording).
    pub(crate) report: ServiceReport,
    /// What the history records of it (its images are stored already).
    pub(crate) sightings: Vec<Sighting>,
    /// Its findings, as recorded.
    pub(crate) findings: Vec<RecordedFinding>,
    /// Images watched, and how many could not be fetched.
    pub(crate) images: usize,
    pub(crate) fetch_errors: usize,
}

/// Progress across the services in flight.
pub(crate) struct Progress<'a> {
    pub(crate) done: &'a AtomicUsize,
    pub(crate) total: usize,
}

/// Fetches, reads the history, checks rollback targets, assesses and stores one service.
pub(crate) async fn service(
    input: &RunInput<'_>,
    fetcher: &Fetcher,
    history: &History,
    run_id: i64,
    started_at: &str,
    s: &Service,
    progress: &Progress<'_>,
) -> Result<Done, HistoryError> {
    let fetched = futures_util::future::join_all(s.images.iter().map(|(_, r)| async move {
        let res = fetcher.fetch_platform(r, &s.platform).await;
        let n = progress.done.fetch_add(1, Ordering::SeqCst) + 1;
        (input.progress)(n, progress.total, &r.to_string());
        res
    }))
    .await;
    let mut observed = Observed::default();
    // `sbom = true`: the SBOM layers of each image that was read (cached by digest, as in diff).
    let packages = futures_util::future::join_all(s.images.iter().zip(&fetched).map(
        |((_, r), res)| async move {
            match res {
                Ok(img) if s.sbom => Some(
                    crate::pipeline::sbom_packages(fetcher, r, img)
                        .await
                        .map(|(p, _)| p),
                ),
                _ => None,
            }
        },
    ))
    .await;
    for (((role, _), res), pkgs) in s.images.iter().zip(fetched).zip(packages) {
        let key = (s.name.clone(), role.clone());
        match pkgs {
            Some(Ok(p)) => {
                observed.packages.insert(key.clone(), p);
            }
            // The image itself was read: its packages' problem is a note, not a failed service.
            Some(Err(e)) => {
                let note = format!("SBOM layers unreadable: {}", crate::net::error_chain(&e));
                observed.packages.insert(
                    key.clone(),
                    crate::packages::ImagePackages {
                        groups: Vec::new(),
                        notes: vec![note],
                    },
                );
                // Not recorded: the next run tries again.
                observed.unreadable_packages.insert(key.clone());
            }
            None => {}
        }
        let prev = history.previous(&s.name, role, run_id).await?;
        // `sbom = true`: what the history holds of this digest's packages (recorded once) and of
        // the previous digest's (the since-last-run comparison).
        if let (true, Ok(img)) = (s.sbom, &res) {
            let digests = std::iter::once(img.digest())
                .chain(prev.as_ref().and_then(|p| p.digest.clone()))
                .collect::<std::collections::BTreeSet<_>>();
            for d in digests {
                if let Some(p) = history.packages(&d).await? {
                    observed
                        .recorded_packages
                        .insert((key.0.clone(), key.1.clone(), d), p);
                }
            }
        }
        if let Some(prev) = prev {
            observed.previous.insert(key.clone(), prev);
        }
        observed
            .images
            .insert(key, res.map_err(|e| crate::net::error_chain(&e)));
    }
    if let Some((first_role, ImageRef::Registry(r))) = s.images.first() {
        let current = observed
            .images
            .get(&(s.name.clone(), first_role.clone()))
            .and_then(|i| i.as_ref().ok())
            .map(Image::digest);
        let ran = history
            .digests(&s.name, first_role, input.fleet.rollback_targets + 1)
            .await?;
        let ran: Vec<String> = ran.into_iter().map(|(d, _)| d).collect();
        let targets = assess::rollback_targets(
            &s.last_good,
            &ran,
            current.as_deref(),
            input.fleet.rollback_targets,
        );
        let checks = futures_util::future::join_all(targets.iter().map(|(d, _)| {
            let target = ImageRef::Registry(RegistryRef {
                input: format!("{}/{}@{d}", r.registry(), r.repository()),
                reference: r.reference.clone_with_digest(d.clone()),
            });
            async move {
                let res = fetcher.exists(&target).await;
                (target, res)
            }
        }))
        .await;
        let checked = checks
            .into_iter()
            .zip(&targets)
            .map(|((target, res), (_, origin))| {
                let (status, error) = match res {
                    Ok(true) => (TargetStatus::Present, None),
                    Ok(false) => (TargetStatus::Vanished, None),
                    Err(e) => (TargetStatus::Unknown, Some(crate::net::error_chain(&e))),
                };
                RollbackTarget {
                    reference: target.to_string(),
                    origin: *origin,
                    status,
                    error,
                }
            })
            .collect();
        observed.rollback.insert(s.name.clone(), checked);
    }
    let images = observed.images.len();
    let fetch_errors = observed.images.values().filter(|r| r.is_err()).count();
    // The pure stage, for this service alone.
    let one = Fleet {
        services: vec![s.clone()],
        rollback_targets: input.fleet.rollback_targets,
        in_file: 1,
    };
    let context = assess::Context {
        fleet: &one,
        fleet_name: input.fleet_name,
        rules: input.rules,
        now: input.now,
        expect_every: None,
    };
    let assessed = assess::assess(&context, observed);
    let sightings = history
        .put_images(&assessed.observations, started_at)
        .await?;
    let mut services = assessed.report.services;
    let mut report = services.pop().expect("one service assessed");
    // The timeline, this run included (recorded at the run's end, with its roles in the
    // order the history gives them).
    let mut timeline = history.timeline(&s.name).await?;
    let mut now = assessed.observations.clone();
    now.sort_by(|a, b| a.role.cmp(&b.role));
    timeline.extend(now);
    report.timeline = assess::timeline(&timeline);
    Ok(Done {
        report,
        sightings,
        findings: assessed.findings,
        images,
        fetch_errors,
    })
}
