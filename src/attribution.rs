//! Layer attribution: which part of a CNB image each layer is, and what moved between two
//! images, part by part. Pure: no I/O.
//!
//! The lifecycle names every layer it exports by its diffID (`io.buildpacks.lifecycle.metadata`:
//! `runImage.topLayer`, `buildpacks[].layers.<name>.sha`, `app[].sha`, `launcher`, `config`,
//! `process-types`, `sbom`); builders and buildpackages name the layer of each buildpack
//! (`io.buildpacks.buildpack.layers`, `layerDiffID`). Joined with the config's `rootfs.diff_ids`
//! and the manifest's layer sizes (same index), this says what changed without pulling a layer.
//! See <https://github.com/buildpacks/spec/blob/main/platform.md#iobuildpackslifecyclemetadata-json>.

use std::collections::{BTreeMap, VecDeque};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::Status;
use crate::image::Layer;
use crate::metadata::{ImageKind, ImageMetadata, RunImage, label};

/// What a layer is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "part", rename_all = "kebab-case")]
pub enum Part {
    /// A layer of the run (base) image: everything up to and including `runImage.topLayer`.
    RunImage,
    /// A layer an image extension contributed (app), or the layer holding an extension
    /// (builder).
    Extension {
        /// Extension id.
        id: String,
        /// Its version.
        version: String,
        /// Layer name; absent for the layer holding a whole extension.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
    },
    /// A buildpack layer (app image) or the layer holding a buildpack (builder, buildpackage).
    Buildpack {
        /// Buildpack id.
        id: String,
        /// Its version.
        version: String,
        /// Layer name (`jre`); absent for the layer holding a whole buildpack.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
        /// Available at launch.
        launch: bool,
        /// Kept as cache.
        cache: bool,
    },
    /// The launch SBOM layer.
    Sbom,
    /// Application source (one slice per layer).
    App,
    /// The launcher binary.
    Launcher,
    /// `/layers/config/metadata.toml`.
    Config,
    /// `/cnb/process/<type>` symlinks.
    ProcessTypes,
    /// Nothing in the labels names this layer.
    Unattributed {
        /// Why.
        reason: String,
    },
}

impl Part {
    /// The key two images' parts are matched on: a buildpack layer by buildpack and layer name
    /// (not version, so a version bump is a change of the same part).
    pub fn key(&self) -> String {
        match self {
            Self::RunImage => "run image".into(),
            Self::Extension {
                id,
                layer: Some(layer),
                ..
            } => format!("extension {id} {layer}"),
            Self::Extension { id, version, .. } => format!("extension {id}@{version}"),
            Self::Buildpack {
                id,
                layer: Some(layer),
                ..
            } => format!("{id} {layer}"),
            Self::Buildpack { id, version, .. } => format!("{id}@{version}"),
            Self::Sbom => "sbom".into(),
            Self::App => "app".into(),
            Self::Launcher => "launcher".into(),
            Self::Config => "config".into(),
            Self::ProcessTypes => "process types".into(),
            Self::Unattributed { .. } => "unattributed".into(),
        }
    }

    /// The part's version, for buildpack and extension layers.
    fn version(&self) -> Option<&str> {
        match self {
            Self::Extension { version, .. } | Self::Buildpack { version, .. } => Some(version),
            _ => None,
        }
    }

    /// Kebab-case kind, for JSON consumers grouping parts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RunImage => "run-image",
            Self::Extension { .. } => "extension",
            Self::Buildpack { .. } => "buildpack",
            Self::Sbom => "sbom",
            Self::App => "app",
            Self::Launcher => "launcher",
            Self::Config => "config",
            Self::ProcessTypes => "process-types",
            Self::Unattributed { .. } => "unattributed",
        }
    }
}

/// One entry of `rootfs.diff_ids` with the part it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LayerPart {
    /// Position in `rootfs.diff_ids` (0 = bottom).
    pub index: usize,
    /// The diffID.
    pub diff_id: String,
    /// Compressed size from the manifest (same index); absent when the counts disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// What it is.
    #[serde(flatten)]
    pub part: Part,
}

/// Layers and bytes of one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartTotal {
    /// [`Part::key`].
    pub part: String,
    /// [`Part::kind`].
    pub kind: String,
    /// Number of layers.
    pub layers: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Every layer of one image, attributed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attribution {
    /// One entry per `rootfs.diff_ids` entry, in order.
    pub layers: Vec<LayerPart>,
    /// Totals per part, in the order parts first appear.
    pub parts: Vec<PartTotal>,
    /// Labels whose names were given but are not among the layers (metadata that does not
    /// describe this image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

impl Attribution {
    /// The layers of one part (by key), in order.
    fn of(&self, key: &str) -> Vec<&LayerPart> {
        self.layers.iter().filter(|l| l.part.key() == key).collect()
    }
}

/// Attributes each of `metadata.diff_ids` to a part; `layers` (the manifest's) give the sizes.
pub fn attribute(metadata: &ImageMetadata, layers: &[Layer]) -> Attribution {
    let ids = &metadata.diff_ids;
    let size = |i: usize| (layers.len() == ids.len()).then(|| layers[i].size);
    let kind = metadata.kind();
    let unattributed = |reason: &str| Part::Unattributed {
        reason: reason.to_string(),
    };
    let mut parts: Vec<Option<Part>> = vec![None; ids.len()];
    let mut missing = Vec::new();

    // Parts named by diffID. The same diffID can name two parts (an empty layer): each
    // occurrence takes the next name, in the order the metadata lists them.
    let mut named: BTreeMap<&str, VecDeque<Part>> = BTreeMap::new();
    if let Some(map) = &metadata.layer_map {
        for m in &map.modules {
            let part = match (&m.layer, m.extension) {
                (layer, true) => Part::Extension {
                    id: m.module.clone(),
                    version: m.version.clone(),
                    layer: layer.clone(),
                },
                (layer, false) => Part::Buildpack {
                    id: m.module.clone(),
                    version: m.version.clone(),
                    layer: layer.clone(),
                    launch: m.launch,
                    cache: m.cache,
                },
            };
            named.entry(&m.sha).or_default().push_back(part);
        }
        let singles = [
            (&map.sbom, Part::Sbom),
            (&map.launcher, Part::Launcher),
            (&map.config, Part::Config),
            (&map.process_types, Part::ProcessTypes),
        ];
        for sha in &map.app {
            named.entry(sha).or_default().push_back(Part::App);
        }
        for (sha, part) in singles {
            if let Some(sha) = sha {
                named.entry(sha).or_default().push_back(part);
            }
        }
    }

    // The run image: every layer up to and including its top layer (the rebase boundary).
    let top = metadata
        .run_image
        .as_ref()
        .and_then(|r| r.top_layer.as_deref());
    let mut base_end = 0;
    if kind == ImageKind::App
        && let Some(top) = top
    {
        // The run image ends below the first layer the metadata names (an empty layer can have
        // the top layer's diffID higher up, e.g. an empty app slice).
        let first_named = ids
            .iter()
            .position(|d| d != top && named.contains_key(d.as_str()))
            .unwrap_or(ids.len());
        let below = ids[..first_named].iter().rposition(|d| d == top);
        match below.or_else(|| ids.iter().rposition(|d| d == top)) {
            Some(i) => {
                base_end = i + 1;
                for p in parts.iter_mut().take(base_end) {
                    *p = Some(Part::RunImage);
                }
            }
            None => missing.push(format!("runImage.topLayer {top}")),
        }
    }
    if matches!(kind, ImageKind::RunImage | ImageKind::BuildImage) {
        // A run image is all base.
        parts.iter_mut().for_each(|p| *p = Some(Part::RunImage));
    }
    for (i, id) in ids.iter().enumerate().skip(base_end) {
        if parts[i].is_some() {
            continue;
        }
        if let Some(part) = named.get_mut(id.as_str()).and_then(VecDeque::pop_front) {
            parts[i] = Some(part);
        }
    }
    for (sha, left) in &named {
        for part in left {
            // Build- and cache-only layers are not exported; old metadata has no launch flag.
            let exported = !matches!(part, Part::Buildpack { launch: false, .. });
            if exported && !ids.iter().any(|d| d == sha) {
                missing.push(format!("{} {sha}", part.key()));
            }
        }
    }

    // Why the rest is unattributed.
    let first_named = parts.iter().position(Option::is_some).unwrap_or(ids.len());
    let reason_below = if metadata.unreadable(label::LIFECYCLE) {
        "io.buildpacks.lifecycle.metadata is unreadable"
    } else if kind == ImageKind::App && top.is_none() {
        "below the first named layer, but the metadata has no runImage.topLayer (older than the field)"
    } else {
        ""
    };
    let reason_other = match kind {
        _ if metadata.unreadable(label::LIFECYCLE) => {
            "io.buildpacks.lifecycle.metadata is unreadable"
        }
        ImageKind::App if metadata.layer_map.is_none() => {
            "no io.buildpacks.lifecycle.metadata names the layers"
        }
        ImageKind::App => "no diffID in the lifecycle metadata matches it",
        ImageKind::Builder => "not a buildpack layer (base image, lifecycle or builder config)",
        ImageKind::Buildpackage => "not named in io.buildpacks.buildpack.layers",
        ImageKind::Lifecycle => "lifecycle image layers are not named by its labels",
        ImageKind::RunImage => "run image",
        ImageKind::BuildImage => "build image",
        ImageKind::Plain => "not built by buildpacks",
    };
    let layers: Vec<LayerPart> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| LayerPart {
            index: i,
            diff_id: id.clone(),
            size: size(i),
            part: parts[i].take().unwrap_or_else(|| {
                if i < first_named && !reason_below.is_empty() {
                    unattributed(reason_below)
                } else {
                    unattributed(reason_other)
                }
            }),
        })
        .collect();
    let mut totals: Vec<PartTotal> = Vec::new();
    for l in &layers {
        let key = l.part.key();
        match totals.iter_mut().find(|t| t.part == key) {
            Some(t) => {
                t.layers += 1;
                t.bytes += l.size.unwrap_or(0);
            }
            None => totals.push(PartTotal {
                part: key,
                kind: l.part.kind().to_string(),
                layers: 1,
                bytes: l.size.unwrap_or(0),
            }),
        }
    }
    Attribution {
        layers,
        parts: totals,
        missing,
    }
}

/// How one part differs between two images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartDiff {
    /// [`Part::key`].
    pub part: String,
    /// [`Part::kind`].
    pub kind: String,
    /// Added, removed, changed or unchanged.
    pub status: Status,
    /// Layers in the first image.
    pub layers_before: usize,
    /// Layers in the second image.
    pub layers_after: usize,
    /// Bytes in the first image.
    pub bytes_before: u64,
    /// Bytes in the second image.
    pub bytes_after: u64,
    /// Layers of the second image the first does not have in this part.
    pub layers_changed: usize,
    /// Their bytes (what a host holding the first image pulls for this part).
    pub bytes_changed: u64,
    /// Version in the first image (buildpack and extension layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_before: Option<String>,
    /// Version in the second image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_after: Option<String>,
    /// The layer changed while its buildpack's version did not (a version that is recorded:
    /// two empty versions are unknown, not the same).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rebuilt_same_version: bool,
    /// A buildpack layer available at launch (what a running container sees).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub launch: bool,
}

/// How the run image moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunImageMove {
    /// Same image name, new top layer or reference (`pack rebase`, or a rebuild on a newer run
    /// image of the same name).
    Rebased,
    /// Another image.
    Replaced,
}

/// The run image's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunImageChange {
    /// Rebased or replaced.
    #[serde(rename = "move")]
    pub how: RunImageMove,
    /// Name (or reference) in the first image.
    pub image_before: Option<String>,
    /// Name (or reference) in the second image.
    pub image_after: Option<String>,
    /// `runImage.topLayer` in the first image.
    pub top_layer_before: Option<String>,
    /// `runImage.topLayer` in the second image.
    pub top_layer_after: Option<String>,
    /// Base layers of the second image the first does not have.
    pub base_layers_changed: usize,
    /// The second image's base layers.
    pub base_layers: usize,
}

/// Two images compared part by part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PartsDiff {
    /// Every part of either image: the second image's order, then removed parts.
    pub parts: Vec<PartDiff>,
    /// How the run image moved, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_image: Option<RunImageChange>,
}

impl PartsDiff {
    /// Parts that differ.
    pub fn changed(&self) -> impl Iterator<Item = &PartDiff> {
        self.parts.iter().filter(|p| p.status != Status::Unchanged)
    }

    /// The part with `key`.
    pub fn get(&self, key: &str) -> Option<&PartDiff> {
        self.parts.iter().find(|p| p.part == key)
    }
}

/// The layers of `these` that `pool` does not have, as a multiset: a diffID `pool` has once
/// matches once.
fn not_in<'a>(these: &[&'a LayerPart], pool: &[&LayerPart]) -> Vec<&'a LayerPart> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for l in pool {
        *count.entry(l.diff_id.as_str()).or_default() += 1;
    }
    these
        .iter()
        .filter(
            |l| match count.get_mut(l.diff_id.as_str()).filter(|n| **n > 0) {
                Some(n) => {
                    *n -= 1;
                    false
                }
                None => true,
            },
        )
        .copied()
        .collect()
}

/// Whether two run image names (or references) name the same image: same repository (in any
/// Docker Hub spelling) and the same tag (`latest` when untagged). A `repo@sha256:…` reference
/// has no tag to compare: its repository decides. A bare image id names nothing: `None`.
fn same_image(b: &str, a: &str) -> Option<bool> {
    let tag = |n: &str| -> Option<String> {
        if n.contains('@') {
            return None;
        }
        let slash = n.rfind('/').map_or(0, |i| i + 1);
        Some(
            n[slash..]
                .split_once(':')
                .map_or("latest", |(_, t)| t)
                .to_string(),
        )
    };
    let (rb, ra) = (repository(b)?, repository(a)?);
    Some(
        rb == ra
            && match (tag(b), tag(a)) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            },
    )
}

/// The repository of an image name or `repo@sha256:…` reference, without tag or digest; `None`
/// for a bare image id.
fn repository(name: &str) -> Option<&str> {
    let name = name.split('@').next().unwrap_or(name);
    if name.is_empty() || (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    // Docker Hub has several spellings (`index.docker.io/x/run`, `docker.io/x/run`, `x/run`,
    // `library/ubuntu`, `ubuntu`): compare them as one.
    let mut name = name;
    for prefix in ["index.docker.io/", "registry-1.docker.io/", "docker.io/"] {
        name = name.strip_prefix(prefix).unwrap_or(name);
    }
    name = name.strip_prefix("library/").unwrap_or(name);
    // A `:` after the last `/` starts a tag (a `:` before it is a registry port).
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    Some(match name[slash..].find(':') {
        Some(i) => &name[..slash + i],
        None => name,
    })
}

fn run_image_name(r: &RunImage) -> Option<String> {
    r.image.clone().or_else(|| r.reference.clone())
}

/// Compares two attributions part by part; `run_before`/`run_after` tell a rebase from a
/// replacement.
pub fn diff_parts(
    before: &Attribution,
    after: &Attribution,
    run_before: Option<&RunImage>,
    run_after: Option<&RunImage>,
) -> PartsDiff {
    let mut keys: Vec<String> = Vec::new();
    for l in after.layers.iter().chain(&before.layers) {
        let k = l.part.key();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut parts = Vec::new();
    for key in keys {
        let (lb, la) = (before.of(&key), after.of(&key));
        let kind = la
            .first()
            .or(lb.first())
            .map(|l| l.part.kind())
            .unwrap_or("");
        let bytes = |ls: &[&LayerPart]| ls.iter().map(|l| l.size.unwrap_or(0)).sum::<u64>();
        // Layers nothing names are matched against the whole other image: a layer one image
        // cannot name (an unreadable label) but the other can is not a change.
        let (pool_b, pool_a): (Vec<&LayerPart>, Vec<&LayerPart>) = if key == "unattributed" {
            (
                before.layers.iter().collect(),
                after.layers.iter().collect(),
            )
        } else {
            (lb.clone(), la.clone())
        };
        let changed = not_in(&la, &pool_b);
        let gone = not_in(&lb, &pool_a).len();
        let status = match (lb.is_empty(), la.is_empty()) {
            _ if key == "unattributed" && changed.is_empty() && gone == 0 => Status::Unchanged,
            (true, _) => Status::Added,
            (_, true) => Status::Removed,
            _ if changed.is_empty() && gone == 0 => Status::Unchanged,
            _ => Status::Changed,
        };
        let version =
            |ls: &[&LayerPart]| ls.first().and_then(|l| l.part.version()).map(String::from);
        let (vb, va) = (version(&lb), version(&la));
        let launch = la
            .iter()
            .chain(&lb)
            .any(|l| matches!(l.part, Part::Buildpack { launch: true, .. }));
        parts.push(PartDiff {
            rebuilt_same_version: status == Status::Changed
                && vb.as_deref().is_some_and(|v| !v.trim().is_empty())
                && vb == va,
            launch,
            part: key,
            kind: kind.to_string(),
            status,
            layers_before: lb.len(),
            layers_after: la.len(),
            bytes_before: bytes(&lb),
            bytes_after: bytes(&la),
            layers_changed: changed.len(),
            bytes_changed: bytes(&changed),
            version_before: vb,
            version_after: va,
        });
    }
    let run_image = match (run_before, run_after) {
        (Some(rb), Some(ra))
            if rb.top_layer != ra.top_layer
                || rb.reference != ra.reference
                || rb.image != ra.image =>
        {
            let (nb, na) = (run_image_name(rb), run_image_name(ra));
            // A mirror of the image is the same image (`pack rebase` may pull from one).
            let names = |r: &RunImage, own: &Option<String>| -> Vec<String> {
                own.iter().chain(&r.mirrors).cloned().collect()
            };
            let (all_b, all_a) = (names(rb, &nb), names(ra, &na));
            let same = match (nb.as_deref(), na.as_deref()) {
                // No names to compare (image ids only): the top layer moved under the same name.
                (Some(b), Some(a)) if same_image(b, a).is_none() => true,
                (Some(_), Some(_)) => all_b
                    .iter()
                    .any(|b| all_a.iter().any(|a| same_image(b, a) == Some(true))),
                _ => true,
            };
            let base = parts.iter().find(|p| p.kind == "run-image");
            Some(RunImageChange {
                how: if same {
                    RunImageMove::Rebased
                } else {
                    RunImageMove::Replaced
                },
                image_before: nb,
                image_after: na,
                top_layer_before: rb.top_layer.clone(),
                top_layer_after: ra.top_layer.clone(),
                base_layers_changed: base.map_or(0, |p| p.layers_changed),
                base_layers: base.map_or(0, |p| p.layers_after),
            })
        }
        _ => None,
    };
    PartsDiff { parts, run_image }
}

#[cfg(test)]
mod tests;
