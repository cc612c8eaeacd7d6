//! The comparison of two images: pure, no I/O.
//!
//! Every compared item becomes a [`Change`] with a stable kebab-case `code`
//! (`<category>-<status>`, e.g. `buildpack-changed`), so renderers, rules and JSON consumers all
//! speak the same words. Unchanged items are kept (renderers hide them unless `--all`).

mod items;
use self::items::*;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::image::Image;
use crate::version::{VersionClass, classify};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum Category {
    /// A buildpack in the group (app) or inventory (builder).
    Buildpack,
    /// An image extension.
    Extension,
    /// The execution order of buildpacks present in both images.
    BuildpackOrder,
    /// What the image runs on (`java`, `node`, `go`, … and the run image's distro), by name,
    /// whichever buildpack family recorded it.
    Runtime,
    /// A runtime dependency recorded in a buildpack layer (e.g. the JRE).
    Dependency,
    /// The lifecycle (launcher) version.
    Lifecycle,
    /// The Platform API.
    PlatformApi,
    /// The Buildpack APIs a builder's or lifecycle image's lifecycle supports.
    BuildpackApi,
    /// The run (base) image: name, reference, top layer.
    RunImage,
    /// Stack and base image ids.
    Stack,
    /// A process type.
    Process,
    /// An environment variable.
    Env,
    /// A label not interpreted above.
    Label,
    /// User, entrypoint, cmd, working dir, ports, platform.
    Config,
    /// A rollback target of a scheduled report (not compared between two images).
    Rollback,
    /// The JVM memory prediction (`diff --memory`).
    Memory,
    /// A package from the images' SBOMs or packages label (`diff --sbom`); only rules and
    /// findings see it as a change, the report keeps packages in `packages`.
    Package,
}

impl Category {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buildpack => "buildpack",
            Self::Extension => "extension",
            Self::BuildpackOrder => "buildpack-order",
            Self::Runtime => "runtime",
            Self::Dependency => "dependency",
            Self::Lifecycle => "lifecycle",
            Self::PlatformApi => "platform-api",
            Self::BuildpackApi => "buildpack-api",
            Self::RunImage => "run-image",
            Self::Stack => "stack",
            Self::Process => "process",
            Self::Env => "env",
            Self::Label => "label",
            Self::Config => "config",
            Self::Rollback => "rollback",
            Self::Memory => "memory",
            Self::Package => "package",
        }
    }

    /// The words every human format (table, Markdown, HTML, the verdict) uses for the category:
    /// the one vocabulary source. JSON keeps the kebab-case code ([`Self::as_str`]).
    pub fn label(self) -> &'static str {
        match self {
            Self::Buildpack => "buildpack",
            Self::Extension => "extension",
            Self::BuildpackOrder => "buildpack order",
            Self::Runtime => "runtime",
            Self::Dependency => "runtime dependency",
            Self::Lifecycle => "lifecycle",
            Self::PlatformApi => "platform API",
            Self::BuildpackApi => "buildpack API",
            Self::RunImage => "run image",
            Self::Stack => "stack",
            Self::Process => "process type",
            Self::Env => "env variable",
            Self::Label => "label",
            Self::Config => "config",
            Self::Rollback => "rollback target",
            Self::Memory => "memory",
            Self::Package => "package",
        }
    }

    /// `n` items of the category, counted: `1 label`, `2 env variables`, `3 runtime dependencies`.
    pub fn counted(self, n: usize) -> String {
        let one = self.label();
        let many = match self {
            Self::Dependency => "runtime dependencies".to_string(),
            // Settings, not countable things: "2 config settings".
            Self::Config => "config settings".to_string(),
            Self::Stack => "stack ids".to_string(),
            Self::Memory => "memory items".to_string(),
            _ => format!("{one}s"),
        };
        let one = match self {
            Self::Config => "config setting",
            Self::Stack => "stack id",
            Self::Memory => "memory item",
            _ => one,
        };
        crate::text::plural(n, one, &many)
    }

    /// The category for a kebab-case code, as JSON counts use them.
    pub fn from_code(code: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(code.to_string())).ok()
    }
}

/// Whether and how an item differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum Status {
    /// Only in the second image.
    Added,
    /// Only in the first image.
    Removed,
    /// In both, different.
    Changed,
    /// In both, the same.
    Unchanged,
}

impl Status {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One compared item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// Stable code: `<category>-<status>`.
    pub code: String,
    /// What it is about.
    pub category: Category,
    /// Added, removed, changed or unchanged.
    pub status: Status,
    /// The item: a buildpack id, `jre (paketo-buildpacks/bellsoft-liberica)`, an env name…
    pub subject: String,
    /// Value in the first image.
    pub before: Option<String>,
    /// Value in the second image.
    pub after: Option<String>,
    /// Version class, for versioned items that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<VersionClass>,
    /// The new version is a pre-release of a higher major, minor or patch (`1.2.3 → 1.2.4-rc.1`
    /// is `patch` with this set).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prerelease: bool,
    /// Extra words (a dependency's name, the buildpacks that moved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Buildpack homepage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Release notes of the new version, for buildpacks hosted on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes: Option<String>,
}

impl Change {
    /// How the item is named in prose: "env PYTHON_VERSION", "label org.x", "stack id",
    /// "platform" — never the category twice ("stack stack id").
    pub fn item_phrase(&self) -> String {
        match self.category {
            Category::Env => format!("env {}", self.subject),
            Category::Label => format!("label {}", self.subject),
            Category::Process => format!("process type {}", self.subject),
            Category::Buildpack => format!("buildpack {}", self.subject),
            Category::Extension => format!("extension {}", self.subject),
            // Their subjects already say what they are ("stack id", "run image", "platform",
            // "entrypoint", "lifecycle", "platform API").
            Category::Config if self.subject == "platform" => "image platform".into(),
            _ => self.subject.clone(),
        }
    }

    /// The word every format shows for how it changed: the version class (`patch`, or
    /// `patch (prerelease)` for a pre-release bump), else the status.
    pub fn class_word(&self) -> String {
        match self.class {
            Some(k) if self.prerelease => format!("{k} (prerelease)"),
            Some(k) => k.as_str().to_string(),
            None => self.status.as_str().to_string(),
        }
    }

    pub(crate) fn new(
        category: Category,
        subject: impl Into<String>,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        let status = match (&before, &after) {
            (None, Some(_)) => Status::Added,
            (Some(_), None) => Status::Removed,
            (b, a) if b == a => Status::Unchanged,
            _ => Status::Changed,
        };
        Self {
            code: format!("{}-{}", category.as_str(), status.as_str()),
            category,
            status,
            subject: subject.into(),
            before,
            after,
            class: None,
            detail: None,
            homepage: None,
            release_notes: None,
            prerelease: false,
        }
    }

    /// A change built outside a diff (e.g. a rollback target that vanished).
    pub fn of(
        category: Category,
        subject: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        Self::new(category, subject, before, after)
    }

    fn versioned(
        category: Category,
        subject: impl Into<String>,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        let mut c = Self::new(category, subject, before, after);
        if let (Some(b), Some(a)) = (&c.before, &c.after) {
            let api = matches!(category, Category::PlatformApi | Category::BuildpackApi);
            c.class = if api && (b.contains(',') || a.contains(',')) {
                // A builder's supported Platform APIs are a set, not one version.
                crate::version::classify_set(b, a)
            } else {
                classify(b, a)
            };
            c.prerelease = crate::version::is_prerelease_bump(b, a);
            // `1.2` and `v1.2.0` are the same version.
            if c.class.is_none() {
                c.set_status(Status::Unchanged);
            }
        }
        c
    }

    fn set_status(&mut self, status: Status) {
        self.status = status;
        self.code = format!("{}-{}", self.category.as_str(), status.as_str());
    }

    /// Whether it differs at all.
    pub fn is_change(&self) -> bool {
        self.status != Status::Unchanged
    }
}

/// Layer counts and compressed sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LayerCount {
    /// Number of layers.
    pub count: usize,
    /// Total size in bytes (compressed, as in the manifest; uncompressed for docker-archive).
    pub bytes: u64,
}

/// What the two images' layers have in common.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LayerStats {
    /// First image.
    pub before: LayerCount,
    /// Second image.
    pub after: LayerCount,
    /// Layers of the second image that the first already has (by digest).
    pub shared: LayerCount,
    /// Layers of the second image a host holding the first must still pull.
    pub new: LayerCount,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Every compared item, changed or not, grouped by category in a fixed order.
    pub changes: Vec<Change>,
    /// Layer sharing.
    pub layers: LayerStats,
}

impl Diff {
    /// Only the items that differ.
    pub fn changed(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.is_change())
    }
}

/// Compares two images.
pub fn diff(before: &Image, after: &Image) -> Diff {
    let (b, a) = (&before.metadata, &after.metadata);
    let mut changes = Vec::new();
    modules(
        &mut changes,
        Category::Buildpack,
        &b.buildpacks,
        &a.buildpacks,
    );
    // A buildpackage's own buildpack without a homepage: the image's source repository
    // (`org.opencontainers.image.source`) is where it is released.
    if let (Some(top), Some(source)) = (
        a.buildpackage.as_deref().and_then(|p| p.split(' ').next()),
        a.labels.get("org.opencontainers.image.source"),
    ) {
        for c in changes
            .iter_mut()
            .filter(|c| c.subject == top && c.homepage.is_none())
        {
            c.homepage = Some(source.clone());
        }
    }
    order(&mut changes, b, a);
    modules(
        &mut changes,
        Category::Extension,
        &b.extensions,
        &a.extensions,
    );
    runtimes(&mut changes, b, a);
    dependencies(&mut changes, b, a);
    // The lifecycle and its APIs (versions), then the run image and the stack and base ids.
    let versioned = [
        (
            Category::Lifecycle,
            "lifecycle",
            &b.lifecycle_version,
            &a.lifecycle_version,
        ),
        (
            Category::PlatformApi,
            "platform API",
            &b.platform_api,
            &a.platform_api,
        ),
        (
            Category::BuildpackApi,
            "buildpack API",
            &b.buildpack_apis,
            &a.buildpack_apis,
        ),
    ];
    for (category, subject, vb, va) in versioned {
        changes.push(Change::versioned(category, subject, vb.clone(), va.clone()));
    }
    run_image(&mut changes, b, a);
    for (subject, vb, va) in [
        ("stack id", &b.stack_id, &a.stack_id),
        ("base id", &b.base_id, &a.base_id),
    ] {
        changes.push(Change::new(
            Category::Stack,
            subject,
            vb.clone(),
            va.clone(),
        ));
    }
    processes(&mut changes, b, a);
    env(&mut changes, b, a);
    labels(&mut changes, b, a);
    config(&mut changes, b, a);
    builder_order(&mut changes, b, a);
    // Items absent from both images say nothing.
    changes.retain(|c| c.before.is_some() || c.after.is_some());
    // What an unreadable label held is unknown, not gone: nothing it feeds is added or removed.
    changes.retain(|c| {
        let added_or_removed = matches!(c.status, Status::Added | Status::Removed);
        !(added_or_removed && fed_by_unreadable(c.category, b, a))
    });
    Diff {
        changes,
        layers: layer_stats(before, after),
    }
}

fn layer_stats(before: &Image, after: &Image) -> LayerStats {
    let count = |ls: &[crate::image::Layer]| LayerCount {
        count: ls.len(),
        bytes: ls.iter().map(|l| l.size).sum(),
    };
    // A multiset: the same blob twice in one image counts twice only if the other has it twice.
    let mut pool: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &before.layers {
        *pool.entry(l.digest.as_str()).or_default() += 1;
    }
    let (mut shared, mut new) = (LayerCount::default(), LayerCount::default());
    for l in &after.layers {
        let slot = pool.get_mut(l.digest.as_str()).filter(|n| **n > 0);
        let target = match slot {
            Some(n) => {
                *n -= 1;
                &mut shared
            }
            None => &mut new,
        };
        target.count += 1;
        target.bytes += l.size;
    }
    LayerStats {
        before: count(&before.layers),
        after: count(&after.layers),
        shared,
        new,
    }
}

#[cfg(test)]
mod tests;
