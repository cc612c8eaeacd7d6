//! The fleet history kept in a registry (`--history oci://REGISTRY/REPOSITORY:TAG`): an OCI
//! artifact next to the images, durable where a CI cache is evicted, reachable with the
//! credentials the job already has, through the run's registry client (auth, retries, limits).
//!
//! Layout (docs/report.md): an OCI image manifest with `artifactType`
//! [`ARTIFACT_TYPE`], the empty config (`application/vnd.oci.empty.v1+json`, `{}`) and one
//! layer of [`LAYER_TYPE`]: gzip'd JSON lines, one finished run per line with its
//! observations and findings ([`RunRecord`]). Runs are append-only and carry a uid, so two
//! writers' artifacts merge as a set union of runs.
//!
//! A run loads the artifact into a temporary SQLite database (every query of the local history
//! is reused), runs as with a file, then exports and pushes. Pushing is optimistic: the tag's
//! digest is re-read right before the manifest PUT; if it moved, the other writer's runs are
//! merged in and the push is retried (bounded, with jitter). After the PUT the tag is read
//! once more, after a pause longer than a writer's re-read-to-PUT window ([`WINDOW`]): a
//! writer that overwrote us in that window is caught there, merged, and pushed again.
//!
//! Spec: <https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidelines-for-artifact-usage>.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::history::RunRecord;
use crate::reference::{ImageRef, RegistryRef};
use crate::source::SourceError;
use crate::source::registry::RegistryClient;

/// The manifest's `artifactType`.
pub(crate) const ARTIFACT_TYPE: &str = "application/vnd.bpdrift.history.v1";
/// The one layer: gzip'd JSON lines of [`RunRecord`]s.
pub(crate) const LAYER_TYPE: &str = "application/vnd.bpdrift.history.v1.jsonl+gzip";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY: &[u8] = b"{}";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Push attempts before giving up on a tag that keeps moving.
const ATTEMPTS: u32 = 5;
/// The longest a writer lets pass between re-reading the tag and sending its PUT (it re-reads
/// again when more has passed), and the pause before a writer checks its push survived.
/// Registries offer no compare-and-swap on a tag: the guarantee holds while a manifest PUT
/// completes within this of the re-read, and a slower one is warned about.
const WINDOW: Duration = Duration::from_secs(2);

/// Where the history lives: a SQLite file, or an artifact in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Store {
    /// A local SQLite database.
    File(PathBuf),
    /// `oci://REGISTRY/REPOSITORY:TAG`.
    Oci(RegistryRef),
}

impl std::str::FromStr for Store {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(rest) = s.strip_prefix("oci://") else {
            return Ok(Self::File(PathBuf::from(s)));
        };
        // A location may carry user-info by mistake: never echoed.
        let bad = |why: &str| {
            format!(
                "invalid history location `{}`: {}",
                crate::redact::scrub(s),
                crate::redact::scrub(why)
            )
        };
        match rest.parse::<ImageRef>() {
            Ok(ImageRef::Registry(r)) => {
                if r.reference.digest().is_some() || r.reference.tag().is_none() {
                    return Err(bad(
                        "expected oci://REGISTRY/REPOSITORY:TAG (a tag, no digest)",
                    ));
                }
                if !rest.contains('/') {
                    return Err(bad("name the registry: oci://REGISTRY/REPOSITORY:TAG"));
                }
                Ok(Self::Oci(r))
            }
            Ok(_) => Err(bad("expected oci://REGISTRY/REPOSITORY:TAG")),
            Err(e) => Err(bad(&e.to_string())),
        }
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Oci(r) => write!(f, "oci://{}", r.input),
        }
    }
}

/// A history artifact problem.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The registry refused or failed.
    #[error("history `oci://{reference}`")]
    Registry {
        /// The artifact.
        reference: String,
        /// Why (boxed: a registry error is large, and this one is rare).
        #[source]
        source: Box<SourceError>,
    },
    /// The tag holds something else than a bpdrift history.
    #[error("history `oci://{reference}` is not a bpdrift history: {why} (left unchanged)")]
    NotHistory {
        /// The artifact.
        reference: String,
        /// What is wrong.
        why: String,
    },
    /// A line that does not parse.
    #[error("history `oci://{reference}`: line {line} of the layer is not a run record")]
    Corrupt {
        /// The artifact.
        reference: String,
        /// 1-based.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// Gzip or size trouble.
    #[error("history `oci://{reference}`: {why}")]
    Layer {
        /// The artifact.
        reference: String,
        /// What is wrong.
        why: String,
    },
    /// Other writers kept moving the tag.
    #[error(
        "history `oci://{reference}`: the tag kept moving under {attempts} push attempts (other runs writing at once); this run's record was not published"
    )]
    Conflict {
        /// The artifact.
        reference: String,
        /// How many.
        attempts: u32,
    },
}

/// What was read: the manifest digest the tag pointed at (`None`: no such tag yet) and the
/// runs.
#[derive(Debug, Default)]
pub(crate) struct Pulled {
    pub(crate) digest: Option<String>,
    pub(crate) runs: Vec<RunRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactManifest {
    schema_version: u32,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

fn registry_err(r: &RegistryRef) -> impl FnOnce(SourceError) -> ArtifactError + '_ {
    move |source| ArtifactError::Registry {
        reference: r.input.clone(),
        source: Box::new(source),
    }
}

/// Reads the history at `r` (empty when the tag does not exist). `push`: ask for a token that
/// can push too (a report run, which pushes later: one token, and no permission found missing
/// after the run).
pub(crate) async fn pull(
    client: &RegistryClient,
    r: &RegistryRef,
    push: bool,
) -> Result<Pulled, ArtifactError> {
    let Some((digest, bytes)) = client
        .manifest_bytes(r, push)
        .await
        .map_err(registry_err(r))?
    else {
        return Ok(Pulled::default());
    };
    let not = |why: String| ArtifactError::NotHistory {
        reference: r.input.clone(),
        why,
    };
    let m: ArtifactManifest = serde_json::from_slice(&bytes)
        .map_err(|e| not(format!("its manifest does not parse ({e})")))?;
    if m.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        return Err(not(format!(
            "its artifactType is `{}`, not `{ARTIFACT_TYPE}`",
            m.artifact_type.as_deref().unwrap_or("none")
        )));
    }
    let [layer] = m.layers.as_slice() else {
        return Err(not(format!("it has {} layers, not 1", m.layers.len())));
    };
    if layer.media_type != LAYER_TYPE {
        return Err(not(format!("its layer is `{}`", layer.media_type)));
    }
    if layer.size > crate::limits::HISTORY_ARTIFACT_MAX {
        return Err(ArtifactError::Layer {
            reference: r.input.clone(),
            why: format!(
                "its layer is {} bytes, above the {} limit",
                layer.size,
                crate::limits::human(crate::limits::HISTORY_ARTIFACT_MAX)
            ),
        });
    }
    let blob = client
        .blob(r, &layer.digest, layer.size, push)
        .await
        .map_err(registry_err(r))?;
    let runs = decode(r, &blob)?;
    Ok(Pulled {
        digest: Some(digest),
        runs,
    })
}

/// Gzip'd JSON lines → runs, inflating at most [`crate::limits::HISTORY_JSONL_MAX`] bytes.
fn decode(r: &RegistryRef, gz: &[u8]) -> Result<Vec<RunRecord>, ArtifactError> {
    let layer = |why: String| ArtifactError::Layer {
        reference: r.input.clone(),
        why,
    };
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(crate::limits::HISTORY_JSONL_MAX + 1)
        .read_to_end(&mut text)
        .map_err(|e| layer(format!("its layer is not gzip ({e})")))?;
    if text.len() as u64 > crate::limits::HISTORY_JSONL_MAX {
        return Err(layer(format!(
            "its layer inflates past the {} limit",
            crate::limits::human(crate::limits::HISTORY_JSONL_MAX)
        )));
    }
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| {
            serde_json::from_slice(l).map_err(|source| ArtifactError::Corrupt {
                reference: r.input.clone(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Runs → gzip'd JSON lines.
fn encode(runs: &[RunRecord]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for run in runs {
        // A run record is plain data: serializing it cannot fail, writing to a Vec neither.
        let _ = serde_json::to_writer(&mut gz, run);
        let _ = gz.write_all(b"\n");
    }
    gz.finish().unwrap_or_default()
}

/// The set union of two histories by run uid, oldest first. Runs are append-only: a uid on both
/// sides is the same run.
pub(crate) fn merge(a: Vec<RunRecord>, b: Vec<RunRecord>) -> Vec<RunRecord> {
    let mut by_uid: BTreeMap<String, RunRecord> = BTreeMap::new();
    for run in a.into_iter().chain(b) {
        by_uid.entry(run.uid.clone()).or_insert(run);
    }
    let mut runs: Vec<RunRecord> = by_uid.into_values().collect();
    runs.sort_by(|x, y| (&x.started_at, &x.uid).cmp(&(&y.started_at, &y.uid)));
    runs
}

/// What [`push`] did.
pub(crate) struct Pushed {
    /// The manifest the tag points at now.
    pub(crate) digest: String,
    /// How often other writers' runs were merged in.
    pub(crate) merges: u32,
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

/// Publishes `ours` at `r`, merged with whatever other writers published since `base` (the
/// digest [`pull`] saw).
pub(crate) async fn push(
    client: &RegistryClient,
    r: &RegistryRef,
    base: Option<String>,
    ours: Vec<RunRecord>,
) -> Result<Pushed, ArtifactError> {
    let mut merges = 0;
    let mine: Vec<String> = ours.iter().map(|run| run.uid.clone()).collect();
    let mut base = base;
    let mut runs = ours;
    let empty = client.push_blob(r, EMPTY).await.map_err(registry_err(r))?;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            pause(Duration::from_millis(200), Duration::from_millis(200)).await;
        }
        let mut read_at = Instant::now();
        let now = client.tag_digest(r, true).await.map_err(registry_err(r))?;
        if now != base {
            let theirs = pull(client, r, true).await?;
            tracing::info!(
                "history `oci://{}` moved since it was read: merging {} runs",
                r.input,
                theirs.runs.len()
            );
            runs = merge(runs, theirs.runs);
            base = theirs.digest;
            merges += 1;
            read_at = Instant::now();
        }
        let layer = encode(&runs);
        if layer.len() as u64 > crate::limits::HISTORY_ARTIFACT_MAX {
            return Err(ArtifactError::Layer {
                reference: r.input.clone(),
                why: format!(
                    "the history would be {} bytes gzip'd, above the {} limit (start a new tag)",
                    layer.len(),
                    crate::limits::human(crate::limits::HISTORY_ARTIFACT_MAX)
                ),
            });
        }
        let layer_digest = client.push_blob(r, &layer).await.map_err(registry_err(r))?;
        let manifest = ArtifactManifest {
            schema_version: 2,
            media_type: Some(MANIFEST_TYPE.into()),
            artifact_type: Some(ARTIFACT_TYPE.into()),
            config: Descriptor {
                media_type: EMPTY_TYPE.into(),
                digest: empty.clone(),
                size: EMPTY.len() as u64,
            },
            layers: vec![Descriptor {
                media_type: LAYER_TYPE.into(),
                digest: layer_digest,
                size: layer.len() as u64,
            }],
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
            if now != base {
                continue;
            }
            read_at = Instant::now();
        }
        let digest = client
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
        // A writer that re-read before our PUT and put after it replaced our runs: look once
        // its window has passed, and merge again if so.
        pause(WINDOW, Duration::from_millis(250)).await;
        let after = pull(client, r, true).await?;
        let missing = mine
            .iter()
            .filter(|uid| !after.runs.iter().any(|run| &run.uid == *uid))
            .count();
        if missing == 0 {
            return Ok(Pushed {
                digest: after.digest.unwrap_or(digest),
                merges,
            });
        }
        tracing::info!(
            "history `oci://{}` was replaced by another run's push: merging again",
            r.input
        );
        runs = merge(runs, after.runs);
        base = after.digest;
        merges += 1;
    }
    Err(ArtifactError::Conflict {
        reference: r.input.clone(),
        attempts: ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(uid: &str, at: &str) -> RunRecord {
        RunRecord {
            uid: uid.into(),
            started_at: at.into(),
            finished_at: Some(at.into()),
            status: "ok".into(),
            fleet: "fleet.toml".into(),
            observations: Vec::new(),
            findings: Vec::new(),
        }
    }

    #[test]
    fn merge_is_a_union_by_uid_oldest_first() {
        let a = vec![
            run("a", "2026-01-01T00:00:00Z"),
            run("c", "2026-01-03T00:00:00Z"),
        ];
        let b = vec![
            run("b", "2026-01-02T00:00:00Z"),
            run("a", "2026-01-01T00:00:00Z"),
        ];
        let uids: Vec<String> = merge(a, b).into_iter().map(|r| r.uid).collect();
        assert_eq!(uids, ["a", "b", "c"]);
    }

    #[test]
    fn encode_decode_round_trip_and_bad_lines_are_named() {
        let r = match "127.0.0.1:5000/h:main".parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            _ => unreachable!(),
        };
        let runs = vec![run("a", "2026-01-01T00:00:00Z")];
        assert_eq!(decode(&r, &encode(&runs)).unwrap(), runs);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"uid\":1}\n").unwrap();
        let err = decode(&r, &gz.finish().unwrap()).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(decode(&r, b"not gzip").is_err());
    }

    #[test]
    fn locations() {
        assert_eq!(
            "h.sqlite".parse::<Store>().unwrap(),
            Store::File("h.sqlite".into())
        );
        assert!(matches!(
            "oci://ghcr.io/acme/history:main".parse::<Store>().unwrap(),
            Store::Oci(_)
        ));
        for bad in [
            "oci://ghcr.io/acme/h@sha256:00",
            "oci://history:main",
            "oci://",
        ] {
            assert!(bad.parse::<Store>().is_err(), "{bad}");
        }
    }
}
