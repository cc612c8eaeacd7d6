//! The fleet history kept in a registry (`--history oci://REGISTRY/REPOSITORY:TAG`): an OCI
//! artifact next to the images, durable where a CI cache is evicted, reachable with the
//! credentials the job already has, through the run's registry client (auth, retries, limits).
//!
//! Layout (docs/report.md): an OCI image manifest with `artifactType` [`ARTIFACT_TYPE`], the
//! empty config, and layers of [`LAYER_TYPE`]: gzip'd JSON lines of images (stored once, by
//! content address), packages (once per digest) and runs (one line each, its observations
//! pointing at images by key). **Each run appends one layer** with what it added; a run is
//! never rewritten, so two writers merge by taking the union of their layers. When the
//! manifest has more than [`MAX_LAYERS`] layers, the [`FANIN`] adjacent layers with the fewest
//! bytes are merged into one (a bounded merge: those layers' bytes, never the whole history);
//! the merged layer names the layers it replaces in an annotation ([`REPLACES`]), so a writer
//! that still lists them drops them on its next merge.
//!
//! A run loads every layer into a temporary SQLite database (every query of the local history
//! is reused), runs as with a file, then uploads its layer and publishes a manifest: the
//! current one's layers plus its own. Pushing is optimistic: the tag is re-read right before
//! the manifest PUT; after the PUT, and a pause longer than a writer's re-read-to-PUT window
//! ([`WINDOW`]), it is read once more, and if another writer's PUT replaced this run's layer
//! the union is published again (bounded attempts, with jitter). Version 1 artifacts (one layer
//! of whole runs) are read, and become the first layer of the next version 2 manifest.
//!
//! Spec: <https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidelines-for-artifact-usage>.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rusqlite::params;

use super::sqlite::Sqlite;
use super::{Access, HistoryError, RecordedFinding};
use crate::reference::RegistryRef;
use crate::source::registry::RegistryClient;
use crate::source::{Fetcher, SourceError};

mod artifact;

pub use artifact::ArtifactError;
use artifact::{
    ARTIFACT_TYPE, ARTIFACT_TYPE_V1, ArtifactManifest, Descriptor, EMPTY, EMPTY_TYPE, FANIN,
    ImageLine, LAYER_TYPE, LAYER_TYPE_V1, Line, MANIFEST_TYPE, PackagesLine, REPLACES, RunLine,
    SightingLine, decode, encode, merge_lines, merge_window, union,
};

/// Push attempts before giving up on a tag that keeps moving.
const ATTEMPTS: u32 = 6;
/// The longest a writer lets pass between re-reading the tag and sending its PUT (it re-reads
/// again when more has passed), and the pause before a writer checks its push survived.
/// Registries offer no compare-and-swap on a tag: the guarantee holds while a manifest PUT
/// completes within this of the re-read, and a slower one is warned about.
const WINDOW: Duration = Duration::from_secs(2);

fn registry_err(r: &RegistryRef) -> impl FnOnce(SourceError) -> ArtifactError + '_ {
    move |source| ArtifactError::Registry {
        reference: r.input.clone(),
        source: Box::new(source),
    }
}

/// The tag's manifest digest and layers (`None`: no such tag yet).
async fn read_manifest(
    client: &RegistryClient,
    r: &RegistryRef,
    push: bool,
) -> Result<Option<(String, Vec<Descriptor>)>, ArtifactError> {
    let Some((digest, bytes)) = client
        .manifest_bytes(r, push)
        .await
        .map_err(registry_err(r))?
    else {
        return Ok(None);
    };
    let not = |why: String| ArtifactError::NotHistory {
        reference: r.input.clone(),
        why,
    };
    let m: ArtifactManifest = serde_json::from_slice(&bytes)
        .map_err(|e| not(format!("its manifest does not parse ({e})")))?;
    match m.artifact_type.as_deref() {
        Some(ARTIFACT_TYPE | ARTIFACT_TYPE_V1) => {}
        other => {
            return Err(not(format!(
                "its artifactType is `{}`, not `{ARTIFACT_TYPE}`",
                other.unwrap_or("none")
            )));
        }
    }
    if let Some(l) = m
        .layers
        .iter()
        .find(|l| l.media_type != LAYER_TYPE && l.media_type != LAYER_TYPE_V1)
    {
        return Err(not(format!("a layer is `{}`", l.media_type)));
    }
    let total: u64 = m.layers.iter().map(|l| l.size).sum();
    if total > crate::limits::HISTORY_ARTIFACT_MAX {
        return Err(ArtifactError::Layer {
            reference: r.input.clone(),
            why: format!(
                "its layers are {total} bytes, above the {} limit",
                crate::limits::human(crate::limits::HISTORY_ARTIFACT_MAX)
            ),
        });
    }
    Ok(Some((digest, m.layers)))
}

/// A registry history, loaded.
pub(crate) struct OciHistory {
    reference: RegistryRef,
    local: Sqlite,
    _dir: tempfile::TempDir,
    /// The digest the tag pointed at when it was read.
    base: Option<String>,
    /// Image, package and run rows that came from the registry end at these ids.
    loaded: (i64, i64, i64),
}

impl OciHistory {
    /// Reads the history at `r` into a temporary database. `None`: no such tag, and `access`
    /// is `Read`. A report asks for a token that can push too (it pushes later: one token, and
    /// no permission found missing after the run).
    pub(crate) async fn open(
        r: &RegistryRef,
        fetcher: &Fetcher,
        access: Access,
        cutoff: i64,
    ) -> Result<Option<Self>, HistoryError> {
        let client = fetcher.registry();
        let push = access == Access::Write;
        let manifest = read_manifest(client, r, push).await?;
        if manifest.is_none() && !push {
            return Ok(None);
        }
        let dir = tempfile::tempdir().map_err(|source| HistoryError::Temp {
            location: format!("oci://{}", r.input),
            source,
        })?;
        let mut local = Sqlite::scratch(dir.path(), cutoff)?;
        let (base, layers) = manifest.unzip();
        let mut budget = crate::limits::HISTORY_JSONL_MAX;
        let mut runs = 0;
        for layer in layers.unwrap_or_default() {
            let gz = client
                .blob(r, &layer.digest, layer.size, push)
                .await
                .map_err(registry_err(r))?;
            let lines = decode(r, &layer, &gz, &mut budget)?;
            runs += lines.iter().filter(|l| matches!(l, Line::Run(_))).count();
            import(&mut local, &lines)?;
        }
        tracing::info!(
            "read {} from `oci://{}`",
            crate::text::plural(runs, "recorded run", "recorded runs"),
            r.input
        );
        let loaded = local
            .conn
            .query_row(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM images),
                        (SELECT COALESCE(MAX(rowid), 0) FROM packages),
                        (SELECT COALESCE(MAX(id), 0) FROM runs)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(local.err("cannot read the history"))?;
        Ok(Some(Self {
            reference: r.clone(),
            local,
            _dir: dir,
            base,
            loaded,
        }))
    }

    /// The working copy, for reads.
    pub(crate) fn local(&self) -> &Sqlite {
        &self.local
    }

    /// The working copy, for this run's writes.
    pub(crate) fn local_mut(&mut self) -> &mut Sqlite {
        &mut self.local
    }

    /// This run's layer: the images and packages it added, and its finished runs.
    fn our_lines(&self) -> Result<Vec<Line>, HistoryError> {
        let conn = &self.local.conn;
        let err = |what| self.local.err(what);
        let mut lines = Vec::new();
        let mut images = conn
            .prepare("SELECT key, digest, platform, snapshot FROM images WHERE id > ?1 ORDER BY id")
            .map_err(err("cannot export"))?;
        let rows = images
            .query_map([self.loaded.0], |r| {
                Ok(Line::Image(ImageLine {
                    key: r.get(0)?,
                    digest: r.get(1)?,
                    platform: r.get(2)?,
                    snapshot: r.get(3)?,
                }))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("cannot export"))?;
        lines.extend(rows);
        let mut packages = conn
            .prepare("SELECT digest, body FROM packages WHERE rowid > ?1 ORDER BY rowid")
            .map_err(err("cannot export"))?;
        let rows = packages
            .query_map([self.loaded.1], |r| {
                Ok(Line::Packages(PackagesLine {
                    digest: r.get(0)?,
                    body: r.get(1)?,
                }))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("cannot export"))?;
        lines.extend(rows);
        // Runs this copy holds that the registry did not: this process's (a run still
        // `running` is not published).
        let mut runs = conn
            .prepare(
                "SELECT id, uid, started_at, finished_at, status, fleet, run_group, shard
                 FROM runs WHERE status != 'running' AND id > ?1 ORDER BY id",
            )
            .map_err(err("cannot export"))?;
        let found = runs
            .query_map([self.loaded.2], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    RunLine {
                        uid: r.get(1)?,
                        started_at: r.get(2)?,
                        finished_at: r.get(3)?,
                        status: r.get(4)?,
                        fleet: r.get(5)?,
                        group: r.get(6)?,
                        shard: r.get(7)?,
                        observations: Vec::new(),
                        findings: Vec::new(),
                    },
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("cannot export"))?;
        let mut sightings = conn
            .prepare(
                "SELECT w.service, w.role, w.reference, i.key, s.error, s.observed_at
                 FROM sightings s JOIN watches w ON w.id = s.watch_id
                 LEFT JOIN images i ON i.id = s.image_id WHERE s.run_id = ?1
                 ORDER BY w.id",
            )
            .map_err(err("cannot export"))?;
        let mut findings = conn
            .prepare(
                "SELECT f.service, f.rule, f.severity, f.subject, f.summary
                 FROM run_findings rf JOIN finding_texts f ON f.id = rf.finding_id
                 WHERE rf.run_id = ?1 ORDER BY f.id",
            )
            .map_err(err("cannot export"))?;
        for (id, mut run) in found {
            run.observations = sightings
                .query_map([id], |r| {
                    Ok(SightingLine {
                        service: r.get(0)?,
                        role: r.get(1)?,
                        reference: r.get(2)?,
                        image: r.get(3)?,
                        error: r.get(4)?,
                        observed_at: r.get(5)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err("cannot export"))?;
            run.findings = findings
                .query_map([id], |r| {
                    Ok(RecordedFinding {
                        service: r.get(0)?,
                        rule: r.get(1)?,
                        severity: r.get(2)?,
                        subject: r.get(3)?,
                        summary: r.get(4)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err("cannot export"))?;
            lines.push(Line::Run(run));
        }
        Ok(lines)
    }

    /// Uploads this run's layer and publishes a manifest holding it and every other writer's
    /// layers. Returns the status line.
    pub(crate) async fn publish(&mut self, fetcher: &Fetcher) -> Result<String, HistoryError> {
        let lines = self.our_lines()?;
        let r = &self.reference;
        let client = fetcher.registry();
        let (layer, raw) = encode(&lines);
        let ours = Descriptor {
            media_type: LAYER_TYPE.into(),
            digest: client.push_blob(r, &layer).await.map_err(registry_err(r))?,
            size: layer.len() as u64,
            annotations: BTreeMap::new(),
        };
        let empty = client.push_blob(r, EMPTY).await.map_err(registry_err(r))?;
        let mut merges = 0;
        let mut compactions = 0;
        let mut last_seen = self.base.clone();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                pause(Duration::from_millis(200), Duration::from_millis(300)).await;
            }
            let mut read_at = Instant::now();
            let current = read_manifest(client, r, true).await?;
            let (digest, theirs) = current.unzip();
            if digest != last_seen {
                merges += 1;
                tracing::info!(
                    "history `oci://{}` moved since it was read: adding this run's layer to the other runs'",
                    r.input
                );
                last_seen = digest.clone();
            }
            let mut layers = union(&theirs.unwrap_or_default(), std::slice::from_ref(&ours));
            if let Some(at) = merge_window(&layers) {
                layers = compact(client, r, layers, at).await?;
                compactions += 1;
                read_at = Instant::now();
            }
            let manifest = ArtifactManifest {
                schema_version: 2,
                media_type: Some(MANIFEST_TYPE.into()),
                artifact_type: Some(ARTIFACT_TYPE.into()),
                config: Descriptor {
                    media_type: EMPTY_TYPE.into(),
                    digest: empty.clone(),
                    size: EMPTY.len() as u64,
                    annotations: BTreeMap::new(),
                },
                layers,
                annotations: BTreeMap::from([(
                    "org.opencontainers.image.title".to_string(),
                    "bpdrift fleet history".to_string(),
                )]),
            };
            let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
            // Re-read right before the PUT when the uploads took long: the window in which
            // another writer's PUT goes unseen stays under `WINDOW`.
            if read_at.elapsed() > WINDOW / 2 {
                let now = client.tag_digest(r, true).await.map_err(registry_err(r))?;
                if now != digest {
                    continue;
                }
                read_at = Instant::now();
            }
            let put = client
                .push_manifest(r, &bytes)
                .await
                .map_err(registry_err(r))?;
            if read_at.elapsed() > WINDOW {
                tracing::warn!(
                    "history `oci://{}`: the push took {:.1} s after the tag was read; a run that pushed within that time may have been replaced (its next run records again, but check `bpdrift history`)",
                    r.input,
                    read_at.elapsed().as_secs_f64()
                );
            }
            // A writer that re-read before our PUT and put after it replaced our layer: look
            // once its window has passed, and publish the union again if so.
            pause(WINDOW, Duration::from_millis(250)).await;
            let after = read_manifest(client, r, true).await?;
            let kept = after.as_ref().is_some_and(|(_, layers)| {
                layers
                    .iter()
                    .any(|l| l.digest == ours.digest || l.replaces().any(|d| d == ours.digest))
            });
            if kept {
                self.base = after.map(|(d, _)| d);
                let merged = match merges {
                    0 => String::new(),
                    1 => ", merged with other runs' pushes once".to_string(),
                    n => format!(", merged with other runs' pushes {n} times"),
                };
                let compacted = match compactions {
                    0 => String::new(),
                    _ => format!(", {FANIN} layers merged into one"),
                };
                return Ok(format!(
                    "pushed the history to oci://{} ({}, appended a layer of {} bytes, {raw} inflated{compacted}{merged})",
                    r.input,
                    self.base.as_deref().unwrap_or(&put),
                    ours.size
                ));
            }
            tracing::info!(
                "history `oci://{}` was replaced by another run's push: publishing again",
                r.input
            );
            merges += 1;
            last_seen = after.map(|(d, _)| d);
        }
        Err(ArtifactError::Conflict {
            reference: r.input.clone(),
            attempts: ATTEMPTS,
        }
        .into())
    }
}

/// Merges the [`FANIN`] layers at `at` into one layer that names them in [`REPLACES`].
async fn compact(
    client: &RegistryClient,
    r: &RegistryRef,
    mut layers: Vec<Descriptor>,
    at: usize,
) -> Result<Vec<Descriptor>, ArtifactError> {
    let window: Vec<Descriptor> = layers.drain(at..at + FANIN).collect();
    let mut budget = crate::limits::HISTORY_JSONL_MAX;
    let mut parts = Vec::new();
    for l in &window {
        let gz = client
            .blob(r, &l.digest, l.size, true)
            .await
            .map_err(registry_err(r))?;
        parts.push(decode(r, l, &gz, &mut budget)?);
    }
    let (gz, _) = encode(&merge_lines(parts));
    let mut replaces: Vec<&str> = window.iter().map(|l| l.digest.as_str()).collect();
    // What the merged layers replaced, too: a writer may still list those.
    replaces.extend(window.iter().flat_map(Descriptor::replaces));
    let merged = Descriptor {
        media_type: LAYER_TYPE.into(),
        digest: client.push_blob(r, &gz).await.map_err(registry_err(r))?,
        size: gz.len() as u64,
        annotations: BTreeMap::from([(REPLACES.to_string(), replaces.join(" "))]),
    };
    layers.insert(at, merged);
    Ok(layers)
}

/// Adds `lines` to the working copy: images and packages by key (once), runs by uid (once).
fn import(local: &mut Sqlite, lines: &[Line]) -> Result<(), HistoryError> {
    let err = local.err("cannot load the registry history");
    let err2 = local.err("cannot load the registry history");
    let tx = local.conn.transaction().map_err(err)?;
    let result = (|| -> rusqlite::Result<()> {
        for line in lines {
            match line {
                Line::Image(i) => {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO images (key, digest, platform, snapshot)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![i.key, i.digest, i.platform, i.snapshot])?;
                }
                Line::Packages(p) => super::schema::put_packages(&tx, &p.digest, &p.body)?,
                Line::Run(run) => import_run(&tx, run)?,
            }
        }
        Ok(())
    })();
    result.and_then(|()| tx.commit()).map_err(err2)
}

fn import_run(tx: &rusqlite::Transaction<'_>, run: &RunLine) -> rusqlite::Result<()> {
    let added = tx.execute(
        "INSERT OR IGNORE INTO runs (uid, started_at, finished_at, status, fleet, run_group, shard)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            run.uid,
            run.started_at,
            run.finished_at,
            run.status,
            run.fleet,
            run.group,
            run.shard
        ],
    )?;
    if added == 0 {
        return Ok(());
    }
    let id = tx.last_insert_rowid();
    super::sqlite::write_rows(tx, id, &run.observations, &run.findings)
}

/// A pause of `base` plus up to `jitter` more (two writers that collided do not collide
/// again in step).
async fn pause(base: Duration, jitter: Duration) {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let jitter = jitter.mul_f64((random % 1000) as f64 / 1000.0);
    tokio::time::sleep(base + jitter).await;
}
