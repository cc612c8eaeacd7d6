//! The one diff pipeline: fetch both images → read their metadata → diff → rules → memory
//! prediction. `bpdrift diff` runs it for one platform and for every platform (`--platform
//! all`), `bpdrift github comment` runs it for the PR comment, and the fleet report runs its pure
//! stage ([`assess_pair`]) over images it fetched once for many pairs.
//!
//! Only [`diff_pair`], [`diff_platforms`], [`memory_inputs`] and [`sbom_packages`] do I/O (through
//! [`Fetcher`]); [`assess_pair`] is pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::image::Image;
use crate::memory::{ImageInputs, LayerSummary, Scanner, Size};
use crate::reference::{ImageRef, Platform};
use crate::report::{DiffReport, MemoryDiff, PlatformEntry};
use crate::rules::RuleSet;
use crate::source::{Fetcher, SourceError};

/// The cache kind of a layer's SBOM scan: v2 keeps Go build info.
const SBOM_SCAN: &str = "sbom-v2";

/// What one run of the pipeline compares, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The last-good image.
    pub(crate) before: &'a ImageRef,
    /// The new image.
    pub(crate) after: &'a ImageRef,
    /// Rules to evaluate.
    pub(crate) rules: &'a RuleSet,
    /// Predict the JVM memory calculator in a container of this size.
    pub(crate) memory: Option<Size>,
    /// Launch environment for the prediction, as the platform would set it (wins over both
    /// images): `BPL_JVM_THREAD_COUNT`, `JAVA_TOOL_OPTIONS`…
    pub(crate) env: &'a std::collections::BTreeMap<String, String>,
    /// Keep unchanged items in the report.
    pub(crate) all: bool,
    /// Read the SBOM layers and compare the packages in them (`--sbom`).
    pub(crate) sbom: bool,
    /// Read the launch SBOM layer of images whose buildpacks record their runtime only there
    /// (Paketo's packit family, go-build), so runtime rules see it (off with `--no-sbom`).
    pub(crate) sbom_runtimes: bool,
}

/// Why the pipeline could not produce a report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PipelineError {
    /// One image could not be read.
    #[error(transparent)]
    Fetch(#[from] SourceError),
    /// Neither image could be read: both are worth knowing during an incident.
    #[error("{before}; and {after}")]
    Both {
        /// The first image's error.
        before: SourceError,
        /// The second image's error.
        after: SourceError,
    },
}

/// Fetches both images for `platform` (concurrently, sharing registry state), then assesses
/// them, with the memory prediction when asked.
pub(crate) async fn diff_pair(
    fetcher: &Fetcher,
    req: Request<'_>,
    platform: &Platform,
) -> Result<DiffReport, PipelineError> {
    let (b, a) = tokio::join!(
        fetcher.fetch_platform(req.before, platform),
        fetcher.fetch_platform(req.after, platform)
    );
    let (b, a) = match (b, a) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e.into()),
        (Err(before), Err(after)) => return Err(PipelineError::Both { before, after }),
    };
    assess_fetched(fetcher, req, b, a).await
}

/// The rest of the pipeline once both images are read: what their layers hold (memory, SBOM
/// runtimes and packages, as asked), then the pure assessment.
async fn assess_fetched(
    fetcher: &Fetcher,
    req: Request<'_>,
    mut b: Image,
    mut a: Image,
) -> Result<DiffReport, PipelineError> {
    let memory = match req.memory {
        None => None,
        Some(limit) => {
            let predict = async |r: &ImageRef, img: &Image| {
                let found = memory_inputs(fetcher, r, img, req.env).await?;
                Ok::<_, SourceError>(crate::memory::predict::predict(
                    &r.to_string(),
                    &found,
                    Some(limit),
                ))
            };
            let (pb, pa) = tokio::join!(predict(req.before, &b), predict(req.after, &a));
            Some(MemoryDiff::new(limit, pb?, pa?))
        }
    };
    let packages = if req.sbom {
        let (pb, pa) = tokio::join!(
            sbom_packages(fetcher, req.before, &b),
            sbom_packages(fetcher, req.after, &a)
        );
        let ((pb, rb), (pa, ra)) = (pb?, pa?);
        b.metadata.add_runtimes(rb);
        a.metadata.add_runtimes(ra);
        Some((pb, pa))
    } else {
        if req.sbom_runtimes {
            let (rb, ra) = tokio::join!(
                sbom_runtimes(fetcher, req.before, &b),
                sbom_runtimes(fetcher, req.after, &a)
            );
            b.metadata.add_runtimes(rb);
            a.metadata.add_runtimes(ra);
        }
        None
    };
    Ok(crate::report::assess(
        &b, &a, req.rules, req.all, memory, packages,
    ))
}

/// `--platform all`: every platform either image has, paired; a platform only one side has is
/// an entry without a report, not hidden.
pub(crate) async fn diff_platforms(
    fetcher: &Fetcher,
    req: Request<'_>,
) -> Result<Vec<PlatformEntry>, PipelineError> {
    let (pb, pa) = tokio::join!(
        platforms(fetcher, req.before),
        platforms(fetcher, req.after)
    );
    let ((pb, index_b), (pa, index_a)) = (pb?, pa?);
    // Two single-platform images of different platforms: there is one pair to compare, not
    // two platforms each image lacks (an arm64 rebuild of an amd64 image is still a diff).
    if !index_b && !index_a && pb.len() == 1 && pa.len() == 1 && !pb[0].matches(&pa[0]) {
        let (b, a) = tokio::join!(
            fetcher.fetch_platform(req.before, &pb[0]),
            fetcher.fetch_platform(req.after, &pa[0])
        );
        let (b, a) = match (b, a) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e.into()),
            (Err(before), Err(after)) => return Err(PipelineError::Both { before, after }),
        };
        let report = assess_fetched(fetcher, req, b, a).await?;
        return Ok(vec![PlatformEntry {
            platform: format!("{} → {}", pb[0], pa[0]),
            report: Some(report),
            missing_in: None,
            finding: None,
        }]);
    }
    let mut all: Vec<Platform> = pb.iter().chain(pa.iter()).cloned().collect();
    all.sort();
    all.dedup_by(|a, b| a.matches(b));
    let mut entries = Vec::new();
    for p in &all {
        let (in_b, in_a) = (
            pb.iter().any(|x| x.matches(p)),
            pa.iter().any(|x| x.matches(p)),
        );
        entries.push(if in_b && in_a {
            PlatformEntry {
                platform: p.to_string(),
                report: Some(diff_pair(fetcher, req, p).await?),
                missing_in: None,
                finding: None,
            }
        } else {
            let mut e =
                PlatformEntry::missing(p.to_string(), if in_b { "after" } else { "before" });
            // `[computed] platform-removed = …` in a rule file.
            e.finding = e.finding.and_then(|f| req.rules.adjust(vec![f]).pop());
            e
        });
    }
    Ok(entries)
}

/// The platforms `reference` offers, and whether it is an index; a single-platform image
/// offers the one of its config.
async fn platforms(
    fetcher: &Fetcher,
    reference: &ImageRef,
) -> Result<(Vec<Platform>, bool), SourceError> {
    if let Some(listed) = fetcher.platforms(reference).await? {
        return Ok((listed, true));
    }
    let m = fetcher.fetch_as_is(reference).await?.metadata;
    Ok((
        vec![Platform {
            os: m.os,
            architecture: m.architecture,
            variant: m.variant,
        }],
        false,
    ))
}

/// What `scan` makes of each layer at `indexes`: from the cache (by layer digest, under `kind`)
/// when it holds it, else read once from the source (the same blob twice is read once). Only a
/// scan of content that hashed to its digest is cached: a replay must be of what the digest
/// names. `memory` and `--sbom` both read layers this way.
async fn scan_layers<T>(
    fetcher: &Fetcher,
    reference: &ImageRef,
    image: &Image,
    indexes: &[usize],
    kind: &str,
    mut scan: impl FnMut(&mut dyn std::io::Read) -> std::io::Result<T>,
) -> Result<BTreeMap<usize, T>, SourceError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    let mut found: BTreeMap<usize, T> = BTreeMap::new();
    let mut missing: Vec<usize> = Vec::new();
    let mut seen = BTreeSet::new();
    for &i in indexes {
        let digest = &image.layers[i].digest;
        let cached = fetcher
            .cache()
            .and_then(|c| c.get_derived(kind, digest))
            .and_then(|j| serde_json::from_str(&j).ok());
        match cached {
            Some(s) => {
                found.insert(i, s);
            }
            None if seen.insert(digest.clone()) => missing.push(i),
            None => {}
        }
    }
    let mut read: Vec<(usize, T)> = Vec::new();
    let verified = fetcher
        .read_layers(reference, image, &missing, &mut |i, tar| {
            read.push((i, scan(tar)?));
            Ok(())
        })
        .await?;
    for (i, s) in read {
        if verified.contains(&i)
            && let (Some(c), Ok(j)) = (fetcher.cache(), serde_json::to_string(&s))
        {
            c.put_derived(kind, &image.layers[i].digest, &j);
        }
        found.insert(i, s);
    }
    // A layer whose blob another index already read gets that scan too.
    for &i in indexes {
        if !found.contains_key(&i) {
            let digest = &image.layers[i].digest;
            let same = found
                .iter()
                .find(|(j, _)| image.layers[**j].digest == *digest)
                .map(|(_, s)| s.clone());
            if let Some(s) = same {
                found.insert(i, s);
            }
        }
    }
    Ok(found)
}

/// The packages of `image`, read from only its two SBOM layers: the run image's (the diffID in
/// `io.buildpacks.base.sbom`) and the launch SBOM layer (`lifecycle.metadata.sbom.sha`), each
/// mapped to its blob by its position in `rootfs.diff_ids`. What a layer holds is cached by its
/// digest, so a rerun reads no layer. A layer that is not recorded, or recorded but not in the
/// image, is a note, never an error.
pub(crate) async fn sbom_packages(
    fetcher: &Fetcher,
    reference: &ImageRef,
    image: &Image,
) -> Result<
    (
        crate::packages::ImagePackages,
        Vec<crate::metadata::Runtime>,
    ),
    SourceError,
> {
    use crate::packages::{ImagePackages, sbom::LayerSboms};
    const KIND: &str = SBOM_SCAN;
    let m = &image.metadata;
    let mut notes = Vec::new();
    let run_id = m.labels.get(crate::packages::label::BASE_SBOM).cloned();
    let launch_id = m.layer_map.as_ref().and_then(|l| l.sbom.clone());
    if run_id.is_none() && launch_id.is_none() {
        notes.push("no SBOM layer recorded".to_string());
    } else if run_id.is_none()
        && !m
            .labels
            .contains_key(crate::packages::label::PAKETO_PACKAGES)
    {
        notes.push(format!(
            "the run image records no SBOM layer (no {} label)",
            crate::packages::label::BASE_SBOM
        ));
    }
    let position = |id: &Option<String>, what: &str, notes: &mut Vec<String>| {
        let id = id.as_ref()?;
        let i = m.diff_ids.iter().position(|d| d == id);
        if i.is_none() || i.is_some_and(|i| i >= image.layers.len()) {
            notes.push(format!(
                "the {what} SBOM layer `{}` is not one of the image's layers",
                crate::text::short_digest(id)
            ));
            return None;
        }
        i
    };
    let run_i = position(&run_id, "run image's", &mut notes);
    let launch_i = position(&launch_id, "launch", &mut notes);
    let wanted: Vec<usize> = [run_i, launch_i].into_iter().flatten().collect();
    let found: BTreeMap<usize, LayerSboms> =
        scan_layers(fetcher, reference, image, &wanted, KIND, |tar| {
            crate::packages::sbom::scan_layer(tar)
        })
        .await?;
    let run = run_i.and_then(|i| found.get(&i));
    let launch = launch_i.and_then(|i| found.get(&i));
    let runtimes = launch
        .map(|l| crate::packages::runtimes(m, l))
        .unwrap_or_default();
    Ok((ImagePackages::assemble(m, run, launch, notes), runtimes))
}

/// Whether `image` records a runtime only in its launch SBOM layer: an app image with such a
/// layer, built with a buildpack that writes its version nowhere else (Paketo's packit family,
/// go-build). Images without one cost no request.
pub(crate) fn wants_sbom_runtimes(m: &crate::metadata::ImageMetadata) -> bool {
    m.kind() == crate::metadata::ImageKind::App
        && m.layer_map.as_ref().is_some_and(|l| l.sbom.is_some())
        && m.buildpacks.iter().any(|b| {
            crate::metadata::runtimes::SBOM_ONLY_BUILDPACKS
                .iter()
                .any(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(&b.id)))
        })
}

/// The runtimes in the launch SBOM layer of `image`, when it [wants them read](wants_sbom_runtimes):
/// that one blob, bounded and cached by its digest like every layer scan. A layer that cannot be
/// read costs the runtimes it holds and a warning, never the diff.
pub(crate) async fn sbom_runtimes(
    fetcher: &Fetcher,
    reference: &ImageRef,
    image: &Image,
) -> Vec<crate::metadata::Runtime> {
    use crate::packages::sbom::LayerSboms;
    let m = &image.metadata;
    if !wants_sbom_runtimes(m) {
        return Vec::new();
    }
    let Some(id) = m.layer_map.as_ref().and_then(|l| l.sbom.clone()) else {
        return Vec::new();
    };
    let Some(i) = m
        .diff_ids
        .iter()
        .position(|d| *d == id)
        .filter(|i| *i < image.layers.len())
    else {
        return Vec::new();
    };
    let found: Result<BTreeMap<usize, LayerSboms>, SourceError> =
        scan_layers(fetcher, reference, image, &[i], SBOM_SCAN, |tar| {
            crate::packages::sbom::scan_layer(tar)
        })
        .await;
    match found {
        Ok(found) => found
            .get(&i)
            .map(|l| crate::packages::runtimes(m, l))
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(
                "{reference}: the launch SBOM layer could not be read, so runtimes recorded only there are unknown: {}",
                crate::net::error_chain(&e)
            );
            Vec::new()
        }
    }
}

/// The calculator's inputs of `image`, read from the layers that can hold them: those the
/// lifecycle metadata names as buildpack or application layers (never the run image's). Each
/// layer is read once: what it holds is cached by its digest and replayed after.
pub(crate) async fn memory_inputs(
    fetcher: &Fetcher,
    reference: &ImageRef,
    image: &Image,
    platform_env: &std::collections::BTreeMap<String, String>,
) -> Result<ImageInputs, SourceError> {
    let m = &image.metadata;
    if m.buildpack_layer_shas.is_empty() {
        // No layer to scan; the environment is still the config's with the platform's over it.
        return Ok(Scanner::default().finish(&m.env, platform_env, &[]));
    }
    let wanted: Vec<usize> = m
        .diff_ids
        .iter()
        .enumerate()
        .filter(|(_, d)| m.buildpack_layer_shas.contains(d))
        .map(|(i, _)| i)
        .collect();
    const KIND: &str = "layer-scans-v1";
    let summaries: BTreeMap<usize, LayerSummary> =
        scan_layers(fetcher, reference, image, &wanted, KIND, |tar| {
            LayerSummary::read(tar)
        })
        .await?;
    let mut scanner = Scanner::default();
    for &i in &wanted {
        if let Some(s) = summaries.get(&i) {
            scanner.apply(s);
        }
    }
    let order: Vec<String> = m.buildpacks.iter().map(|b| b.id.clone()).collect();
    let mut found = scanner.finish(&m.env, platform_env, &order);
    // Agents: `-javaagent:` jars named in JAVA_TOOL_OPTIONS (after JAVA_OPTS, as libjvm sees it).
    let env = found.env_map();
    if let Ok(inputs) = crate::memory::Inputs::from_env(&env)
        && let Ok(paths) = inputs.agent_paths()
    {
        let (n, missing) = scanner.agents(&paths);
        found.agent_classes = n;
        found.missing_agents = missing;
    }
    Ok(found)
}

/// Where `--release-notes` reads from: the GitHub REST API at `GITHUB_API_URL`, with
/// `GITHUB_TOKEN` when set.
pub(crate) struct ReleaseSource {
    /// API root, e.g. `https://api.github.com`.
    pub(crate) api_root: String,
    /// Token, when there is one (anonymous otherwise: 60 requests an hour).
    pub(crate) token: Option<crate::github::Token>,
    /// Per request.
    pub(crate) timeout: std::time::Duration,
}

/// The release notes of every buildpack the report says moved (one repository listed once,
/// from the cache when it holds the versions), and at most one warning: the first failure
/// (a rate limit, an unreachable API) stops asking, and the report keeps its links.
pub(crate) async fn release_notes(
    report: &DiffReport,
    source: &ReleaseSource,
    cache: Option<&crate::source::cache::Cache>,
) -> (Vec<crate::release_notes::BuildpackNotes>, Option<String>) {
    use crate::diff::{Category, Status};
    use crate::version::VersionClass;
    let api = match crate::github::api::Api::reader(
        &source.api_root,
        source.token.clone(),
        source.timeout,
    ) {
        Ok(a) => a,
        Err(e) => return (Vec::new(), Some(format!("release notes left out: {e}"))),
    };
    let mut out = Vec::new();
    let mut warning = None;
    for c in &report.changes {
        if c.category != Category::Buildpack
            || c.status != Status::Changed
            || matches!(c.class, Some(VersionClass::NotComparable) | None)
        {
            continue;
        }
        let (Some(from), Some(to)) = (c.before.as_deref(), c.after.as_deref()) else {
            continue;
        };
        let Some(repo) = crate::release_notes::repository(&c.subject, c.homepage.as_deref()) else {
            continue;
        };
        let (Some(f), Some(t)) = (crate::version::parse(from), crate::version::parse(to)) else {
            continue;
        };
        if warning.is_some() {
            // After one failure: what the cache holds, nothing asked.
            let known = crate::github::releases::cached(cache, &api, &repo);
            if !known.is_empty() {
                out.push(crate::release_notes::between(
                    &c.subject, &repo, from, to, &known,
                ));
            }
            continue;
        }
        match crate::github::releases::releases(&api, cache, &repo, &f, &t).await {
            Ok(list) => out.push(crate::release_notes::between(
                &c.subject, &repo, from, to, &list,
            )),
            // A repository that is not there (renamed, private): that buildpack's notes only.
            Err(crate::github::GithubError::Status { status: 404, .. }) => {
                let mut n = crate::release_notes::between(&c.subject, &repo, from, to, &[]);
                n.note = Some(format!("no repository {repo} on GitHub"));
                out.push(n);
            }
            Err(e) => {
                warning = Some(format!(
                    "release notes left out ({}); the links to the releases stay",
                    crate::redact::redact_value(&crate::net::error_chain(&e))
                ));
            }
        }
    }
    (out, warning)
}
