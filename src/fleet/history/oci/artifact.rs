//! The history artifact's format, with no I/O: its media types, the JSON lines of its layers
//! (images, packages, runs; version 1's whole runs split into them), gzip in and out within a
//! budget, and the layer-list policy (the union of two writers, the bounded merge window).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::super::{Observation, RecordedFinding};
use crate::reference::RegistryRef;
use crate::source::SourceError;

/// The manifest's `artifactType`.
pub(crate) const ARTIFACT_TYPE: &str = "application/vnd.bpdrift.history.v2";
/// Version 1: one layer of whole runs ([`LAYER_TYPE_V1`]). Read, never written.
pub(super) const ARTIFACT_TYPE_V1: &str = "application/vnd.bpdrift.history.v1";
/// A layer: gzip'd JSON lines of [`Line`]s.
pub(crate) const LAYER_TYPE: &str = "application/vnd.bpdrift.history.v2.jsonl+gzip";
/// A version 1 layer: gzip'd JSON lines of [`RunRecord`]s.
pub(super) const LAYER_TYPE_V1: &str = "application/vnd.bpdrift.history.v1.jsonl+gzip";
/// The annotation of a merged layer: the digests of the layers it replaces, space-separated.
pub(crate) const REPLACES: &str = "io.bpdrift.history.replaces";
pub(super) const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub(super) const EMPTY: &[u8] = b"{}";
pub(super) const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// More layers than this and a merge runs.
pub(crate) const MAX_LAYERS: usize = 16;
/// How many adjacent layers one merge reads and writes as one.
pub(crate) const FANIN: usize = 8;

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
    #[error("history `oci://{reference}`: line {line} of layer {layer} is not a history record")]
    Corrupt {
        /// The artifact.
        reference: String,
        /// The layer's digest.
        layer: String,
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

/// One finished run as a version 1 artifact stored it (one JSON line, snapshots inline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// Unique across databases: the merge key.
    pub(crate) uid: String,
    /// Start (RFC 3339).
    pub(crate) started_at: String,
    /// End (RFC 3339).
    pub(crate) finished_at: Option<String>,
    /// `ok`, `partial`.
    pub(crate) status: String,
    /// The fleet file's name.
    pub(crate) fleet: String,
    /// What it saw.
    pub(crate) observations: Vec<Observation>,
    /// What it found.
    #[serde(default)]
    pub(crate) findings: Vec<RecordedFinding>,
}

/// One line of a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Line {
    /// An image, stored once.
    Image(ImageLine),
    /// A digest's packages, stored once.
    Packages(PackagesLine),
    /// A finished run.
    Run(RunLine),
}

/// An image: its content address ([`super::super::image_key`]) and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ImageLine {
    pub(crate) key: String,
    pub(crate) digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<String>,
    /// The snapshot's JSON text, exactly as hashed into the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) snapshot: Option<String>,
}

/// A digest's packages (their JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PackagesLine {
    pub(crate) digest: String,
    pub(crate) body: String,
}

/// A run and what it saw, each watched reference one small entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunLine {
    pub(crate) uid: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: Option<String>,
    pub(crate) status: String,
    pub(crate) fleet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shard: Option<String>,
    pub(crate) observations: Vec<SightingLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) findings: Vec<RecordedFinding>,
}

/// One watched reference in one run: the history's own small row.
pub(crate) type SightingLine = super::super::Sighting;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Descriptor {
    pub(super) media_type: String,
    pub(super) digest: String,
    pub(super) size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub(super) fn replaces(&self) -> impl Iterator<Item = &str> {
        self.annotations
            .get(REPLACES)
            .map(|s| s.split_whitespace())
            .into_iter()
            .flatten()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ArtifactManifest {
    pub(super) schema_version: u32,
    #[serde(default)]
    pub(super) media_type: Option<String>,
    #[serde(default)]
    pub(super) artifact_type: Option<String>,
    pub(super) config: Descriptor,
    pub(super) layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) annotations: BTreeMap<String, String>,
}

/// Gzip'd JSON lines → text, inflating at most `budget` bytes (decremented).
pub(super) fn inflate(
    r: &RegistryRef,
    gz: &[u8],
    budget: &mut u64,
) -> Result<Vec<u8>, ArtifactError> {
    let layer = |why: String| ArtifactError::Layer {
        reference: r.input.clone(),
        why,
    };
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(*budget + 1)
        .read_to_end(&mut text)
        .map_err(|e| layer(format!("a layer is not gzip ({e})")))?;
    if text.len() as u64 > *budget {
        return Err(layer(format!(
            "its layers inflate past the {} limit",
            crate::limits::human(crate::limits::HISTORY_JSONL_MAX)
        )));
    }
    *budget -= text.len() as u64;
    Ok(text)
}

/// The non-blank lines of `text`, each parsed as `T`.
pub(super) fn parse_lines<T: serde::de::DeserializeOwned>(
    r: &RegistryRef,
    digest: &str,
    text: &[u8],
) -> Result<Vec<T>, ArtifactError> {
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| {
            serde_json::from_slice(l).map_err(|source| ArtifactError::Corrupt {
                reference: r.input.clone(),
                layer: digest.to_string(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// A layer's contents as lines (a version 1 layer's whole runs are split into lines).
pub(super) fn decode(
    r: &RegistryRef,
    layer: &Descriptor,
    gz: &[u8],
    budget: &mut u64,
) -> Result<Vec<Line>, ArtifactError> {
    let text = inflate(r, gz, budget)?;
    if layer.media_type == LAYER_TYPE_V1 {
        let runs: Vec<RunRecord> = parse_lines(r, &layer.digest, &text)?;
        return Ok(runs.into_iter().flat_map(split_record).collect());
    }
    parse_lines(r, &layer.digest, &text)
}

/// A version 1 run record as version 2 lines.
pub(super) fn split_record(run: RunRecord) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut observations = Vec::new();
    for o in &run.observations {
        let image = o.digest.as_ref().map(|d| {
            let snapshot = super::super::snapshot_json(o);
            if let Some(p) = o.snapshot.as_ref().and_then(|s| s.packages.as_ref())
                && let Ok(body) = serde_json::to_string(p)
            {
                lines.push(Line::Packages(PackagesLine {
                    digest: d.clone(),
                    body,
                }));
            }
            let key = super::super::image_key(d, o.platform.as_deref(), snapshot.as_deref());
            lines.push(Line::Image(ImageLine {
                key: key.clone(),
                digest: d.clone(),
                platform: o.platform.clone(),
                snapshot,
            }));
            key
        });
        observations.push(SightingLine {
            service: o.service.clone(),
            role: o.role.clone(),
            reference: o.reference.clone(),
            image,
            error: o.error.clone(),
            observed_at: (o.observed_at != run.started_at).then(|| o.observed_at.clone()),
        });
    }
    lines.push(Line::Run(RunLine {
        uid: run.uid,
        started_at: run.started_at,
        finished_at: run.finished_at,
        status: run.status,
        fleet: run.fleet,
        group: None,
        shard: None,
        observations,
        findings: run.findings,
    }));
    lines
}

/// Lines → gzip'd JSON lines, and how many bytes they were before gzip.
pub(super) fn encode(lines: &[Line]) -> (Vec<u8>, u64) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut raw = 0u64;
    for line in lines {
        // Plain data: serializing it cannot fail, writing to a Vec neither.
        let text = serde_json::to_vec(line).unwrap_or_default();
        raw += text.len() as u64 + 1;
        let _ = gz.write_all(&text);
        let _ = gz.write_all(b"\n");
    }
    (gz.finish().unwrap_or_default(), raw)
}

/// Several layers' lines as one: each image, packages and run once, in the order first seen.
pub(super) fn merge_lines(layers: Vec<Vec<Line>>) -> Vec<Line> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in layers.into_iter().flatten() {
        let id = match &line {
            Line::Image(i) => format!("i {}", i.key),
            Line::Packages(p) => format!("p {}", p.digest),
            Line::Run(r) => format!("r {}", r.uid),
        };
        if seen.insert(id) {
            out.push(line);
        }
    }
    out
}

/// The union of two writers' layer lists: `theirs` in order, then ours not in it, less any
/// layer a present merged layer replaces.
pub(super) fn union(theirs: &[Descriptor], ours: &[Descriptor]) -> Vec<Descriptor> {
    let mut all: Vec<Descriptor> = theirs.to_vec();
    for d in ours {
        if !all.iter().any(|t| t.digest == d.digest) {
            all.push(d.clone());
        }
    }
    let replaced: BTreeSet<String> = all
        .iter()
        .flat_map(|d| d.replaces().map(str::to_string).collect::<Vec<_>>())
        .collect();
    all.retain(|d| !replaced.contains(&d.digest));
    all
}

/// The start of the [`FANIN`] adjacent layers with the fewest bytes (the newest on a tie: the
/// small recent layers are merged, the big old one is left alone).
pub(super) fn merge_window(layers: &[Descriptor]) -> Option<usize> {
    if layers.len() <= MAX_LAYERS {
        return None;
    }
    (0..=layers.len() - FANIN)
        .rev()
        .min_by_key(|&i| layers[i..i + FANIN].iter().map(|l| l.size).sum::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ImageRef;

    fn d(digest: &str, size: u64, replaces: &[&str]) -> Descriptor {
        Descriptor {
            media_type: LAYER_TYPE.into(),
            digest: digest.into(),
            size,
            annotations: if replaces.is_empty() {
                BTreeMap::new()
            } else {
                BTreeMap::from([(REPLACES.to_string(), replaces.join(" "))])
            },
        }
    }

    #[test]
    fn a_version_1_layer_reads_as_lines() {
        let r = match "127.0.0.1:5000/h:main".parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            _ => unreachable!(),
        };
        let line = r#"{"uid":"aa","started_at":"2026-01-01T00:00:00Z","finished_at":null,"status":"ok","fleet":"f","observations":[{"observed_at":"2026-01-01T00:00:00Z","service":"s","role":"deployed","reference":"r:1","digest":"sha256:bb","platform":"linux/amd64","snapshot":{"os":"linux","buildpacks":[]},"error":null}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(line.as_bytes()).unwrap();
        let v1 = Descriptor {
            media_type: LAYER_TYPE_V1.into(),
            ..d("x", 0, &[])
        };
        let lines = decode(&r, &v1, &gz.finish().unwrap(), &mut (1 << 20)).unwrap();
        let [Line::Image(image), Line::Run(run)] = lines.as_slice() else {
            panic!("{lines:?}")
        };
        assert_eq!(image.digest, "sha256:bb");
        assert_eq!(run.uid, "aa");
        assert_eq!(run.observations[0].image.as_ref(), Some(&image.key));
        assert_eq!(run.observations[0].observed_at, None, "the run's own time");
    }

    #[test]
    fn union_keeps_every_writer_and_drops_what_a_merge_replaced() {
        let theirs = vec![d("m", 10, &["a", "b"]), d("c", 1, &[])];
        let ours = vec![d("a", 1, &[]), d("b", 1, &[]), d("x", 1, &[])];
        let u: Vec<String> = union(&theirs, &ours)
            .into_iter()
            .map(|l| l.digest)
            .collect();
        assert_eq!(u, ["m", "c", "x"]);
    }

    #[test]
    fn the_merge_window_is_bounded_and_spares_the_big_base() {
        let mut layers = vec![d("base", 1_000_000, &[])];
        layers.extend((0..MAX_LAYERS).map(|i| d(&format!("l{i}"), 300, &[])));
        assert_eq!(layers.len(), MAX_LAYERS + 1);
        let at = merge_window(&layers).unwrap();
        assert!(at >= 1, "the base is not rewritten: {at}");
        assert_eq!(merge_window(&layers[..MAX_LAYERS]), None);
    }

    #[test]
    fn lines_round_trip_and_merge_once() {
        let r = match "127.0.0.1:5000/h:main".parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            _ => unreachable!(),
        };
        let run = |uid: &str| {
            Line::Run(RunLine {
                uid: uid.into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                finished_at: None,
                status: "ok".into(),
                fleet: "f".into(),
                group: None,
                shard: None,
                observations: vec![SightingLine {
                    service: "s".into(),
                    role: "deployed".into(),
                    reference: "r:1".into(),
                    image: Some("k".into()),
                    error: None,
                    observed_at: None,
                }],
                findings: Vec::new(),
            })
        };
        let image = Line::Image(ImageLine {
            key: "k".into(),
            digest: "sha256:aa".into(),
            platform: None,
            snapshot: Some("{}".into()),
        });
        let a = vec![image.clone(), run("a")];
        let (gz, raw) = encode(&a);
        let mut budget = 1 << 20;
        assert_eq!(decode(&r, &d("x", 0, &[]), &gz, &mut budget).unwrap(), a);
        assert_eq!(budget, (1 << 20) - raw);
        let merged = merge_lines(vec![a.clone(), vec![image.clone(), run("b")]]);
        assert_eq!(merged, vec![image, run("a"), run("b")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"uid\":1}\n").unwrap();
        let err = decode(
            &r,
            &d("sha256:x", 0, &[]),
            &gz.finish().unwrap(),
            &mut budget,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 1 of layer sha256:x"), "{err}");
        assert!(decode(&r, &d("x", 0, &[]), b"not gzip", &mut budget).is_err());
    }
}
