//! Serde types for the JSON inside `io.buildpacks.*` labels, as every lifecycle since 2019 wrote
//! them (see `research/labels/REPORT.md`, mirrored in `docs/labels.md`).
//!
//! Go writes nil slices and maps as `null`, fields came and went across Platform API versions, and
//! several changed type (`app` object → array, `command` string → array). So every field is
//! optional, `null` reads as empty, and unknown fields are ignored. Only a value of a type no
//! lifecycle ever wrote (a number where a string belongs) is an error, reported with its path.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `null` or absent → `T::default()`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A version or name that some writers emitted as a number (`"version": 1`) or `null`.
pub(crate) fn lenient_string<'de, D>(d: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        Str(String),
        Num(serde_json::Number),
        Bool(bool),
    }
    Ok(match Option::<S>::deserialize(d)? {
        None => String::new(),
        Some(S::Str(s)) => s,
        Some(S::Num(n)) => n.to_string(),
        Some(S::Bool(b)) => b.to_string(),
    })
}

/// `command` was a string before Platform API 0.10 and an array after.
pub(crate) fn string_or_list<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum C {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<C>::deserialize(d)? {
        None => Vec::new(),
        Some(C::One(s)) if s.is_empty() => Vec::new(),
        Some(C::One(s)) => vec![s],
        Some(C::Many(v)) => v,
    })
}

/// `io.buildpacks.build.metadata` (lifecycle ≥ 0.4).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuildMetadata {
    /// The detected group, in execution order.
    #[serde(deserialize_with = "nullable")]
    pub buildpacks: Vec<ModuleRef>,
    /// Image extensions that ran (Platform API ≥ 0.10).
    #[serde(deserialize_with = "nullable")]
    pub extensions: Vec<ModuleRef>,
    /// Legacy bill of materials (Platform API < 0.9).
    #[serde(deserialize_with = "nullable")]
    pub bom: Vec<BomEntry>,
    /// The launcher (= lifecycle) that built the image.
    pub launcher: Option<Launcher>,
    /// Process types (lifecycle ≥ 0.6).
    #[serde(deserialize_with = "nullable")]
    pub processes: Vec<ProcessMd>,
    /// The default process type (lifecycle ≥ 0.11).
    #[serde(
        rename = "buildpack-default-process-type",
        deserialize_with = "nullable"
    )]
    pub default_process: Option<String>,
}

/// A buildpack or extension as listed in build or builder metadata.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ModuleRef {
    /// Buildpack id, e.g. `paketo-buildpacks/bellsoft-liberica`.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    /// Version; may be `""` or not semver (`v1.0.87`).
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
    /// Homepage from `buildpack.toml` (Platform API ≥ 0.5).
    #[serde(deserialize_with = "nullable")]
    pub homepage: Option<String>,
    /// Display name (builder metadata, pack ≥ 0.28).
    #[serde(deserialize_with = "nullable")]
    pub name: Option<String>,
}

/// `launcher` in build metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Launcher {
    /// Lifecycle version.
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
}

/// A legacy BOM entry (`bom[]`), where old buildpacks recorded dependency versions.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BomEntry {
    /// Dependency name, e.g. `jre`.
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    /// Top-level version (Platform API < 0.4).
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
    /// Free-form metadata; `metadata.version` and `metadata.layer` are read.
    pub metadata: Value,
    /// The buildpack that contributed it.
    #[serde(deserialize_with = "nullable")]
    pub buildpack: ModuleRef,
}

/// A process type in build metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProcessMd {
    /// Process type, e.g. `web`.
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: String,
    /// Command: a string before Platform API 0.10, an array after.
    #[serde(deserialize_with = "string_or_list")]
    pub command: Vec<String>,
    /// Arguments (`null` in some images).
    #[serde(deserialize_with = "nullable")]
    pub args: Vec<String>,
    /// Run without a shell.
    #[serde(deserialize_with = "nullable")]
    pub direct: Option<bool>,
    /// The buildpack that declared it.
    #[serde(rename = "buildpackID", deserialize_with = "nullable")]
    pub buildpack_id: Option<String>,
    /// Working directory (Platform API ≥ 0.9).
    #[serde(rename = "working-dir", deserialize_with = "nullable")]
    pub working_dir: Option<String>,
    /// Set by some very old writers; later carried by `buildpack-default-process-type`.
    #[serde(deserialize_with = "nullable")]
    pub default: Option<bool>,
}

/// `app`: one `{sha}` object (lifecycle ≤ 0.5) or an array of them (slices).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AppLayers {
    /// Old single layer.
    One(ShaRef),
    /// Slices.
    Many(Vec<ShaRef>),
}

impl Default for AppLayers {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl AppLayers {
    /// The diffIDs.
    pub fn shas(&self) -> Vec<String> {
        match self {
            Self::One(s) => s.sha.iter().cloned().collect(),
            Self::Many(v) => v.iter().filter_map(|s| s.sha.clone()).collect(),
        }
    }
}

/// `{"sha": "sha256:…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShaRef {
    /// diffID.
    #[serde(deserialize_with = "nullable")]
    pub sha: Option<String>,
}

/// `io.buildpacks.lifecycle.metadata`: layers per buildpack and the run image.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LifecycleMetadata {
    /// Application layers.
    #[serde(deserialize_with = "nullable")]
    pub app: AppLayers,
    /// Buildpacks with the layers they contributed (keyed by `key`, not `id`).
    #[serde(deserialize_with = "nullable")]
    pub buildpacks: Vec<BuildpackLayers>,
    /// Run image (lifecycle ≥ 0.3; `image`/`mirrors` from Platform API 0.12). Lifecycle
    /// before 2018-10-22 wrote `runimage {name, topLayer}`, then `runImage {name, topLayer,
    /// sha}` (buildpacks/lifecycle 9e317d09): read as `image` and `reference`.
    #[serde(rename = "runImage", alias = "runimage", deserialize_with = "nullable")]
    pub run_image: Option<RunImageMd>,
    /// Legacy run image from `stack.toml`.
    #[serde(deserialize_with = "nullable")]
    pub stack: Option<StackMd>,
    /// Image extensions with the layers they contributed, in the buildpacks' shape.
    #[serde(deserialize_with = "nullable")]
    pub extensions: Vec<BuildpackLayers>,
    /// The launcher layer (lifecycle ≥ 0.4).
    #[serde(deserialize_with = "nullable")]
    pub launcher: Option<ShaRef>,
    /// The `/layers/config/metadata.toml` layer.
    #[serde(deserialize_with = "nullable")]
    pub config: Option<ShaRef>,
    /// The `/cnb/process` symlinks layer (Platform API ≥ 0.4).
    #[serde(rename = "process-types", deserialize_with = "nullable")]
    pub process_types: Option<ShaRef>,
    /// The launch SBOM layer (Platform API ≥ 0.8).
    #[serde(deserialize_with = "nullable")]
    pub sbom: Option<ShaRef>,
}

/// One buildpack's entry in lifecycle metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuildpackLayers {
    /// Buildpack id.
    #[serde(deserialize_with = "lenient_string")]
    pub key: String,
    /// Buildpack version.
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
    /// Layers by name.
    #[serde(deserialize_with = "nullable")]
    pub layers: BTreeMap<String, LayerMd>,
}

/// A layer's metadata: `data` is the `[metadata]` table of the buildpack's `<layer>.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LayerMd {
    /// Uncompressed diffID.
    #[serde(deserialize_with = "nullable")]
    pub sha: Option<String>,
    /// Arbitrary JSON.
    pub data: Value,
    /// Available at launch (`launch = true` in `<layer>.toml`).
    #[serde(deserialize_with = "nullable")]
    pub launch: bool,
    /// Restored as cache on the next build.
    #[serde(deserialize_with = "nullable")]
    pub cache: bool,
    /// Available to later buildpacks at build time.
    #[serde(deserialize_with = "nullable")]
    pub build: bool,
}

/// `runImage`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RunImageMd {
    /// The diffID of the run image's top layer (rebase boundary).
    #[serde(rename = "topLayer", deserialize_with = "nullable")]
    pub top_layer: Option<String>,
    /// Image id or `repo@sha256:…` of the run image used (`sha`, the run image's digest, in
    /// 2018).
    #[serde(alias = "sha", deserialize_with = "nullable")]
    pub reference: Option<String>,
    /// Name from `run.toml` (Platform API ≥ 0.12; `name` in 2018).
    #[serde(alias = "name", deserialize_with = "nullable")]
    pub image: Option<String>,
    /// Mirrors of `image`.
    #[serde(deserialize_with = "nullable")]
    pub mirrors: Vec<String>,
}

/// `stack` in lifecycle metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StackMd {
    /// `stack.runImage`.
    #[serde(rename = "runImage", deserialize_with = "nullable")]
    pub run_image: Option<StackRunImage>,
}

/// `stack.runImage`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StackRunImage {
    /// Run image name.
    #[serde(deserialize_with = "nullable")]
    pub image: Option<String>,
    /// Mirrors.
    #[serde(deserialize_with = "nullable")]
    pub mirrors: Vec<String>,
}

/// `io.buildpacks.builder.metadata` (pack).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuilderMetadata {
    /// Builder description.
    #[serde(deserialize_with = "nullable")]
    pub description: Option<String>,
    /// Buildpacks the builder holds (several versions of one id are possible).
    #[serde(deserialize_with = "nullable")]
    pub buildpacks: Vec<ModuleRef>,
    /// Extensions the builder holds.
    #[serde(deserialize_with = "nullable")]
    pub extensions: Vec<ModuleRef>,
    /// Stack with its run image (older builders).
    #[serde(deserialize_with = "nullable")]
    pub stack: Option<StackMd>,
    /// Run images (pack ≥ 0.30).
    #[serde(deserialize_with = "nullable")]
    pub images: Vec<StackRunImage>,
    /// Lifecycle bundled in the builder.
    #[serde(deserialize_with = "nullable")]
    pub lifecycle: Option<BuilderLifecycle>,
    /// Who created the builder.
    #[serde(rename = "createdBy", deserialize_with = "nullable")]
    pub created_by: Option<CreatedBy>,
}

/// `lifecycle` in builder metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuilderLifecycle {
    /// Lifecycle version.
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
    /// Deprecated single APIs (`{"buildpack":"0.2","platform":"0.2"}`).
    pub api: Value,
    /// Supported API lists (`{"platform":{"supported":[…]}}`).
    pub apis: Value,
}

/// `createdBy` in builder metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreatedBy {
    /// Tool name, e.g. `Pack CLI`.
    #[serde(deserialize_with = "lenient_string")]
    pub name: String,
    /// Tool version (may be a template such as `#{PACK_VERSION}#`).
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
}

/// `io.buildpacks.buildpack.layers` (builders and buildpackages): id → version → the layer that
/// holds that buildpack.
pub type BuildpackLayersLabel = BTreeMap<String, BTreeMap<String, BuildpackBlobMd>>;

/// One buildpack's entry in `io.buildpacks.buildpack.layers`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BuildpackBlobMd {
    /// diffID of the layer holding the buildpack.
    #[serde(rename = "layerDiffID", deserialize_with = "nullable")]
    pub layer_diff_id: Option<String>,
    /// Homepage from `buildpack.toml`.
    #[serde(deserialize_with = "nullable")]
    pub homepage: Option<String>,
}

/// `io.buildpacks.buildpack.order` (builders): the groups detection tries, in order.
pub type OrderLabel = Vec<OrderGroup>;

/// One group of `io.buildpacks.buildpack.order`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderGroup {
    /// Buildpacks of the group.
    #[serde(deserialize_with = "nullable")]
    pub group: Vec<OrderEntry>,
}

/// One buildpack of an order group.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderEntry {
    /// Buildpack id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    /// Version, when pinned.
    #[serde(deserialize_with = "lenient_string")]
    pub version: String,
    /// Whether detection may skip it.
    #[serde(deserialize_with = "nullable")]
    pub optional: bool,
}
