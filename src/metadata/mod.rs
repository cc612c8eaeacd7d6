//! One lenient model of what an image says about how it was built: the OCI image config plus the
//! `io.buildpacks.*` labels, for app images (lifecycle metadata) and builder images (pack
//! metadata) alike.
//!
//! A label that is not valid JSON does not stop anything: it becomes a [`LabelProblem`] naming the
//! label, the JSON path and line:column, the rest of the image is still read, and the CLI exits 2
//! after printing the diff.

pub mod labels;
mod read;
pub mod runtimes;
#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::runtimes::Runtime;

/// Label names bpdrift reads.
pub mod label {
    /// App image: the detected group, processes, launcher.
    pub const BUILD: &str = "io.buildpacks.build.metadata";
    /// App image: layers per buildpack, run image.
    pub const LIFECYCLE: &str = "io.buildpacks.lifecycle.metadata";
    /// App image: source project metadata.
    pub const PROJECT: &str = "io.buildpacks.project.metadata";
    /// Builder image: the buildpacks it holds.
    pub const BUILDER: &str = "io.buildpacks.builder.metadata";
    /// Legacy stack id, inherited by app images from the run image.
    pub const STACK_ID: &str = "io.buildpacks.stack.id";
    /// Base image id (Platform API ≥ 0.12).
    pub const BASE_ID: &str = "io.buildpacks.base.id";
    /// Builder and buildpackage: the layer holding each buildpack (`layerDiffID`).
    pub const BUILDPACK_LAYERS: &str = "io.buildpacks.buildpack.layers";
    /// Builder: the layer holding each image extension (`layerDiffID`).
    pub const EXTENSION_LAYERS: &str = "io.buildpacks.extension.layers";
    /// Builder: the order groups detection tries.
    pub const BUILDPACK_ORDER: &str = "io.buildpacks.buildpack.order";
    /// Buildpackage: the buildpack at its top.
    pub const BUILDPACKAGE: &str = "io.buildpacks.buildpackage.metadata";
    /// Lifecycle image (`buildpacksio/lifecycle`): its version.
    pub const LIFECYCLE_VERSION: &str = "io.buildpacks.lifecycle.version";
    /// Lifecycle image: the Buildpack and Platform APIs it supports.
    pub const LIFECYCLE_APIS: &str = "io.buildpacks.lifecycle.apis";
    /// App image: whether `pack rebase` may swap its run image (false after run-image extension).
    pub const REBASABLE: &str = "io.buildpacks.rebasable";
    /// Prefix of the run/base image labels (`io.buildpacks.base.*`, Platform API ≥ 0.12).
    pub const BASE_PREFIX: &str = "io.buildpacks.base.";
    /// Prefix of the legacy stack labels (`io.buildpacks.stack.*`).
    pub const STACK_PREFIX: &str = "io.buildpacks.stack.";
}

/// What kind of image the labels describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    /// An application image exported by the lifecycle.
    App,
    /// A builder image created by `pack builder create`.
    Builder,
    /// A buildpackage (buildpack image) created by `pack buildpack package`.
    Buildpackage,
    /// A CNB run image: stack or base labels, no lifecycle metadata.
    RunImage,
    /// A CNB build image: stack or base labels and the `CNB_USER_ID`/`CNB_GROUP_ID` env the
    /// platform spec requires of build images (platform.md, "Build Image").
    BuildImage,
    /// A lifecycle image (`buildpacksio/lifecycle`).
    Lifecycle,
    /// Not built by buildpacks (no buildpack labels).
    Plain,
}

impl ImageKind {
    /// How the report names the kind.
    pub fn describe(self) -> &'static str {
        match self {
            Self::App => "app image",
            Self::Builder => "builder",
            Self::Buildpackage => "buildpackage",
            Self::RunImage => "CNB run image",
            Self::BuildImage => "CNB build image",
            Self::Lifecycle => "lifecycle image",
            Self::Plain => "plain image",
        }
    }
}

/// One layer a buildpack or extension contributed (app images), or the layer holding a
/// buildpack (builders, buildpackages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleLayer {
    /// Buildpack or extension id.
    pub module: String,
    /// Its version.
    pub version: String,
    /// Layer name (`jre`); `None` for the layer that holds a whole buildpack.
    pub layer: Option<String>,
    /// diffID.
    pub sha: String,
    /// Available at launch.
    pub launch: bool,
    /// Kept as cache.
    pub cache: bool,
    /// Available at build time.
    pub build: bool,
    /// Contributed by an image extension.
    pub extension: bool,
}

/// Which diffID is which part, as the lifecycle metadata (or a builder's layer label) records
/// it. Pure data; `crate::attribution` joins it with the config's `rootfs.diff_ids`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerMap {
    /// App slices, in order.
    pub app: Vec<String>,
    /// Buildpack and extension layers.
    pub modules: Vec<ModuleLayer>,
    /// The launcher layer.
    pub launcher: Option<String>,
    /// The config layer.
    pub config: Option<String>,
    /// The process-types layer.
    pub process_types: Option<String>,
    /// The launch SBOM layer.
    pub sbom: Option<String>,
}

/// A buildpack or extension with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Module {
    /// Buildpack id.
    pub id: String,
    /// Version exactly as recorded (may be empty or not semver).
    pub version: String,
    /// Homepage, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// A runtime dependency recorded in a buildpack layer (e.g. the JRE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dependency {
    /// The buildpack that contributed it.
    pub buildpack: String,
    /// The layer (or BOM entry) name, e.g. `jre`.
    pub layer: String,
    /// Dependency id, e.g. `jre`.
    pub id: String,
    /// Human name, e.g. `BellSoft Liberica JRE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version.
    pub version: String,
}

impl Dependency {
    /// The key two images' dependencies are matched on.
    pub fn key(&self) -> String {
        format!("{} {}", self.buildpack, self.layer)
    }
}

/// The run (base) image an app image was built on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RunImage {
    /// Name from `run.toml`/`stack.toml`, e.g. `paketobuildpacks/run-jammy-base:latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image id or `repo@sha256:…` actually used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// diffID of the run image's top layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_layer: Option<String>,
    /// Mirrors of `image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
}

/// A process type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Process {
    /// Type, e.g. `web`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Command words.
    pub command: Vec<String>,
    /// Arguments.
    pub args: Vec<String>,
    /// Runs without a shell.
    pub direct: bool,
    /// Working directory, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The default process.
    pub default: bool,
}

impl Process {
    /// The command line as one string, for display and comparison.
    pub fn command_line(&self) -> String {
        let mut words = self.command.clone();
        words.extend(self.args.iter().cloned());
        let mut s = words.join(" ");
        if !self.direct {
            s = format!("bash -c '{s}'");
        }
        if let Some(dir) = &self.working_dir {
            s.push_str(&format!(" (in {dir})"));
        }
        s
    }
}

/// A label whose value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabelProblem {
    /// Label name.
    pub label: String,
    /// JSON path where reading stopped, e.g. `buildpacks[1].version` (`.` for the root).
    pub path: String,
    /// 1-based line in the label value (0 when only the path is known).
    pub line: usize,
    /// 1-based column in the label value (0 when only the path is known).
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl LabelProblem {
    /// ` (line L, column C)`, or nothing when the position is unknown.
    pub fn position(&self) -> String {
        if self.line == 0 {
            String::new()
        } else {
            format!(" (line {}, column {})", self.line, self.column)
        }
    }
}

/// Everything bpdrift knows about one image. Serialized as the history keeps it
/// ([`ImageMetadata::for_history`]): every field defaults, so older records still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ImageMetadata {
    /// Operating system.
    pub os: String,
    /// Architecture.
    pub architecture: String,
    /// Variant.
    pub variant: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `WorkingDir`.
    pub working_dir: Option<String>,
    /// Exposed ports.
    pub ports: Vec<String>,
    /// Environment. Never serialized: values may be secrets, and every serialized form of the
    /// model (the JSON report, a PR comment's source, the history) is shared.
    #[serde(skip)]
    pub env: BTreeMap<String, String>,
    /// All labels, raw (the report view leaves them out: they are compared in `changes`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Buildpacks in execution order (app) or inventory (builder). Empty for plain images.
    pub buildpacks: Vec<Module>,
    /// Extensions.
    pub extensions: Vec<Module>,
    /// Lifecycle version (the launcher's for apps, the bundled one for builders).
    pub lifecycle_version: Option<String>,
    /// Platform API (`CNB_PLATFORM_API`); for builders and lifecycle images, the supported list.
    pub platform_api: Option<String>,
    /// A buildpackage's own buildpack, as `id version` (`io.buildpacks.buildpackage.metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildpackage: Option<String>,
    /// Builders and lifecycle images: the Buildpack APIs the lifecycle supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildpack_apis: Option<String>,
    /// Run image.
    pub run_image: Option<RunImage>,
    /// `io.buildpacks.stack.id`.
    pub stack_id: Option<String>,
    /// `io.buildpacks.base.id`.
    pub base_id: Option<String>,
    /// `io.buildpacks.rebasable`: whether the run image may be swapped (absent before Platform
    /// API 0.12, where every app image was).
    pub rebasable: Option<bool>,
    /// Runtime dependencies from layer metadata and the legacy BOM.
    pub dependencies: Vec<Dependency>,
    /// What the image runs on, one entry per name (`java 17.0.7`, `go 1.22.5`, `distro ubuntu
    /// 22.04`), wherever its buildpack family recorded it: labels when the image is read, the
    /// launch SBOM layer's when the pipeline reads it ([`ImageMetadata::add_runtimes`]).
    pub runtimes: Vec<Runtime>,
    /// Process types, sorted by type.
    pub processes: Vec<Process>,
    /// Labels that could not be read.
    pub problems: Vec<LabelProblem>,
    /// Layer diffIDs, in manifest order.
    #[serde(skip)]
    pub diff_ids: Vec<String>,
    /// diffIDs of buildpack-contributed and application layers (from lifecycle metadata): the
    /// layers that can hold launch env files and application classes.
    #[serde(skip)]
    pub buildpack_layer_shas: Vec<String>,
    /// Which layer is which (app images, builders, buildpackages); `None` when not recorded.
    /// Not serialized: the report carries the attribution computed from it.
    #[serde(skip)]
    pub layer_map: Option<LayerMap>,
    /// Builder order groups, each as `id@version` entries (`?` marks optional ones).
    pub order: Vec<Vec<String>>,
}

impl ImageMetadata {
    /// What the history keeps of an image: everything diffed across runs, without the
    /// environment (values may be secrets, and a history file is shared), long label values
    /// (package lists) and the layer lists.
    pub fn for_history(&self) -> Self {
        Self {
            env: BTreeMap::new(),
            labels: self
                .labels
                .iter()
                .filter(|(_, v)| v.len() <= 512)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            diff_ids: Vec::new(),
            buildpack_layer_shas: Vec::new(),
            ..self.clone()
        }
    }

    /// What the report shows of an image: the model without its labels (compared item by item in
    /// the report's `changes`, and a package list can be hundreds of KB).
    pub fn for_report(&self) -> Self {
        Self {
            labels: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// `id → version` of every buildpack and runtime dependency, for timelines.
    pub fn versions(&self) -> BTreeMap<String, String> {
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

    /// What kind of image the labels describe. The most specific label wins: a builder also
    /// carries buildpack layers and stack labels, an app image also carries the run image's
    /// stack labels, a buildpackage carries buildpack layers without builder metadata.
    pub fn kind(&self) -> ImageKind {
        let has = |l: &str| self.labels.contains_key(l);
        // A lifecycle image carries its version and APIs, and a legacy subset of builder
        // metadata, but no buildpacks (no layer or order label) and no app metadata.
        let lifecycle_labels = has(label::LIFECYCLE_VERSION) || has(label::LIFECYCLE_APIS);
        let builds = [
            label::BUILDPACK_LAYERS,
            label::BUILDPACK_ORDER,
            label::BUILD,
            label::LIFECYCLE,
        ];
        if lifecycle_labels && !builds.iter().any(|l| has(l)) {
            ImageKind::Lifecycle
        } else if has(label::BUILDER) {
            ImageKind::Builder
        } else if has(label::BUILD) || has(label::LIFECYCLE) {
            ImageKind::App
        } else if has(label::BUILDPACKAGE)
            || has(label::BUILDPACK_LAYERS)
            || has(label::EXTENSION_LAYERS)
        {
            ImageKind::Buildpackage
        } else if self
            .labels
            .keys()
            .any(|k| k.starts_with(label::STACK_PREFIX) || k.starts_with(label::BASE_PREFIX))
        {
            // Stack/base labels are on run and build images alike; only a build image must
            // name its user in the env (Google's run images do too, and read as build images).
            if self.env.contains_key("CNB_USER_ID") && self.env.contains_key("CNB_GROUP_ID") {
                ImageKind::BuildImage
            } else {
                ImageKind::RunImage
            }
        } else {
            ImageKind::Plain
        }
    }

    /// Adds runtimes read elsewhere (the launch SBOM layer); a name already known from the
    /// labels keeps its label entry.
    pub fn add_runtimes(&mut self, found: impl IntoIterator<Item = Runtime>) {
        for r in found {
            if !self.runtimes.iter().any(|x| x.name == r.name) {
                self.runtimes.push(r);
            }
        }
        self.sort_runtimes();
    }

    /// The runtime named `name`, if recorded.
    pub fn runtime(&self, name: &str) -> Option<&Runtime> {
        self.runtimes.iter().find(|r| r.name == name)
    }

    /// Runtimes first, then servers, then the distro; by name within each.
    fn sort_runtimes(&mut self) {
        self.runtimes
            .sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.name.cmp(&b.name)));
    }

    /// Whether a label was present but (partly) unreadable.
    pub fn unreadable(&self, name: &str) -> bool {
        self.problems.iter().any(|p| p.label == name)
    }

    /// The platform as `os/arch[/variant]`.
    pub fn platform(&self) -> String {
        let mut s = format!("{}/{}", self.os, self.architecture);
        if let Some(v) = &self.variant {
            s.push('/');
            s.push_str(v);
        }
        s
    }
}

pub use self::read::ConfigError;
