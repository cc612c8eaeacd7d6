//! The I/O stage of a fleet run: every watched image fetched (concurrently; the client bounds
//! requests in flight), each service's previous observations read from the history, and its
//! rollback targets checked with one HEAD each.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::RunInput;
use super::assess::Observed;
use super::history::{History, HistoryError};
use crate::image::Image;
use crate::reference::{ImageRef, RegistryRef};
use crate::report::fleet::{RollbackTarget, TargetStatus};
use crate::source::Fetcher;

/// Fetches, reads the history, checks rollback targets.
pub(crate) async fn observe(
    input: &RunInput<'_>,
    fetcher: &Fetcher,
    history: &History,
    run_id: i64,
) -> Result<Observed, HistoryError> {
    let jobs: Vec<(&super::file::Service, &String, &ImageRef)> = input
        .fleet
        .services
        .iter()
        .flat_map(|s| s.images.iter().map(move |(role, r)| (s, role, r)))
        .collect();
    let total = jobs.len();
    let done = AtomicUsize::new(0);
    (input.progress)(0, total, "");
    // In order, at most `jobs` images at once: with every image started together, the
    // client's request slots go to all the manifests first and no image completes until
    // nearly all of them did.
    let fetched: Vec<_> = futures_util::StreamExt::collect(futures_util::StreamExt::buffered(
        futures_util::stream::iter(jobs.iter().map(|(s, _, r)| {
            let done = &done;
            async move {
                let res = fetcher.fetch_platform(r, &s.platform).await;
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                (input.progress)(n, total, &r.to_string());
                res
            }
        })),
        input.jobs.max(1),
    ))
    .await;
    let mut observed = Observed::default();
    // `sbom = true`: the SBOM layers of each image that was read (cached by digest, as in diff).
    let packages = futures_util::future::join_all(jobs.iter().zip(&fetched).map(
        |((s, _, r), res)| async move {
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
    for (((s, role, _), res), pkgs) in jobs.iter().zip(fetched).zip(packages) {
        let key = (s.name.clone(), (*role).clone());
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
    for s in &input.fleet.services {
        let Some((first_role, ImageRef::Registry(r))) = s.images.first() else {
            continue;
        };
        let current = observed
            .images
            .get(&(s.name.clone(), first_role.clone()))
            .and_then(|i| i.as_ref().ok())
            .map(Image::digest);
        let ran = history
            .digests(&s.name, first_role, input.fleet.rollback_targets + 1)
            .await?;
        let ran: Vec<String> = ran.into_iter().map(|(d, _)| d).collect();
        let targets = super::assess::rollback_targets(
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
    Ok(observed)
}
