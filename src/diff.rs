//! The comparison of two images: pure, no I/O.
//!
//! Every compared item becomes a [`Change`] with a stable kebab-case `code`
//! (`<category>-<status>`, e.g. `buildpack-changed`), so renderers, rules and JSON consumers all
//! speak the same words. Unchanged items are kept (renderers hide them unless `--all`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::image::Image;
use crate::metadata::{ImageMetadata, Module, label};
use crate::version::{VersionClass, classify};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// A buildpack in the group (app) or inventory (builder).
    Buildpack,
    /// An image extension.
    Extension,
    /// The execution order of buildpacks present in both images.
    BuildpackOrder,
    /// A runtime dependency recorded in a buildpack layer (e.g. the JRE).
    Dependency,
    /// The lifecycle (launcher) version.
    Lifecycle,
    /// The Platform API.
    PlatformApi,
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
}

impl Category {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buildpack => "buildpack",
            Self::Extension => "extension",
            Self::BuildpackOrder => "buildpack-order",
            Self::Dependency => "dependency",
            Self::Lifecycle => "lifecycle",
            Self::PlatformApi => "platform-api",
            Self::RunImage => "run-image",
            Self::Stack => "stack",
            Self::Process => "process",
            Self::Env => "env",
            Self::Label => "label",
            Self::Config => "config",
            Self::Rollback => "rollback",
            Self::Memory => "memory",
        }
    }
}

/// Whether and how an item differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The word every format shows for how it changed: the version class (`patch`, or
    /// `patch (prerelease)` for a pre-release bump), else the status.
    pub fn class_word(&self) -> String {
        match self.class {
            Some(k) if self.prerelease => format!("{k} (prerelease)"),
            Some(k) => k.as_str().to_string(),
            None => self.status.as_str().to_string(),
        }
    }

    fn new(
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
            c.class = if category == Category::PlatformApi && (b.contains(',') || a.contains(',')) {
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerCount {
    /// Number of layers.
    pub count: usize,
    /// Total size in bytes (compressed, as in the manifest; uncompressed for docker-archive).
    pub bytes: u64,
}

/// What the two images' layers have in common.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    order(&mut changes, b, a);
    modules(
        &mut changes,
        Category::Extension,
        &b.extensions,
        &a.extensions,
    );
    dependencies(&mut changes, b, a);
    changes.push(Change::versioned(
        Category::Lifecycle,
        "lifecycle",
        b.lifecycle_version.clone(),
        a.lifecycle_version.clone(),
    ));
    changes.push(Change::versioned(
        Category::PlatformApi,
        "platform API",
        b.platform_api.clone(),
        a.platform_api.clone(),
    ));
    run_image(&mut changes, b, a);
    changes.push(Change::new(
        Category::Stack,
        "stack id",
        b.stack_id.clone(),
        a.stack_id.clone(),
    ));
    changes.push(Change::new(
        Category::Stack,
        "base id",
        b.base_id.clone(),
        a.base_id.clone(),
    ));
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

fn modules(out: &mut Vec<Change>, category: Category, before: &[Module], after: &[Module]) {
    // A builder may hold several versions of one id: compare the sets per id.
    fn group(ms: &[Module]) -> BTreeMap<&str, Vec<&Module>> {
        let mut m: BTreeMap<&str, Vec<&Module>> = BTreeMap::new();
        for x in ms {
            m.entry(x.id.as_str()).or_default().push(x);
        }
        m
    }
    fn versions<'a>(g: &BTreeMap<&str, Vec<&'a Module>>, id: &str) -> Option<Vec<&'a str>> {
        g.get(id).map(|ms| {
            let mut v: Vec<&str> = ms.iter().map(|m| m.version.as_str()).collect();
            v.sort();
            v.dedup();
            v
        })
    }
    let (gb, ga) = (group(before), group(after));
    // Order: the second image's order, then what was removed, at its old position.
    let mut ids: Vec<&str> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for m in after.iter().chain(before) {
        if seen.insert(m.id.as_str()) {
            ids.push(&m.id);
        }
    }
    for id in ids {
        let (vb, va) = (versions(&gb, id), versions(&ga, id));
        let show = |v: &Option<Vec<&str>>| v.as_ref().map(|v| v.join(", "));
        let mut c = Change::new(category, id, show(&vb), show(&va));
        if let (Some(vb), Some(va)) = (&vb, &va)
            && vb != va
        {
            let max = |v: &Vec<&str>| {
                v.iter()
                    .copied()
                    .max_by(
                        |x, y| match (crate::version::parse(x), crate::version::parse(y)) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            _ => x.cmp(y),
                        },
                    )
                    .unwrap_or_default()
                    .to_string()
            };
            c.class = classify(&max(vb), &max(va));
            c.prerelease = crate::version::is_prerelease_bump(&max(vb), &max(va));
            if c.class.is_none() && vb.len() == 1 && va.len() == 1 {
                c.set_status(Status::Unchanged);
            } else if c.class.is_none() {
                c.class = Some(VersionClass::NotComparable);
            }
        }
        let newest = ga.get(id).or(gb.get(id)).and_then(|ms| ms.last());
        if let Some(m) = newest {
            c.homepage = m.homepage.clone();
            if c.status == Status::Changed || c.status == Status::Added {
                c.release_notes = release_notes(m);
            }
        }
        out.push(c);
    }
}

/// `<homepage>/releases/tag/v<version>` for buildpacks whose homepage is a GitHub repository
/// (Paketo tags releases as `v<version>`).
fn release_notes(m: &Module) -> Option<String> {
    let home = m.homepage.as_deref()?.trim_end_matches('/');
    let path = home.strip_prefix("https://github.com/")?;
    if path.split('/').filter(|s| !s.is_empty()).count() != 2 || m.version.is_empty() {
        return None;
    }
    let v = m.version.strip_prefix('v').unwrap_or(&m.version);
    Some(format!("{home}/releases/tag/v{v}"))
}

/// Whether a label that feeds `category` could not be read in either image.
fn fed_by_unreadable(category: Category, b: &ImageMetadata, a: &ImageMetadata) -> bool {
    let labels: &[&str] = match category {
        // The lifecycle label lists buildpacks too, but is read for them only without build
        // metadata (lifecycle ≤ 0.3).
        Category::Buildpack | Category::Extension
            if [b, a].iter().any(|m| {
                m.unreadable(label::LIFECYCLE) && !m.labels.contains_key(label::BUILD)
            }) =>
        {
            return true;
        }
        Category::Buildpack | Category::Extension => &[
            label::BUILD,
            label::BUILDER,
            label::BUILDPACK_LAYERS,
            label::EXTENSION_LAYERS,
            label::BUILDPACKAGE,
        ],
        Category::BuildpackOrder => &[label::BUILD, label::BUILDPACK_ORDER],
        Category::Dependency => &[label::BUILD, label::LIFECYCLE],
        Category::Lifecycle | Category::PlatformApi => {
            &[label::BUILD, label::BUILDER, label::LIFECYCLE_APIS]
        }
        Category::RunImage => &[label::LIFECYCLE, label::BUILDER],
        Category::Process => &[label::BUILD],
        _ => &[],
    };
    labels.iter().any(|l| b.unreadable(l) || a.unreadable(l))
}

/// A builder's order groups, compared as data (not as label text): one item per group.
fn builder_order(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // The same groups in another order: one item saying so, not one per position.
    let (mut sb, mut sa) = (b.order.clone(), a.order.clone());
    sb.sort();
    sa.sort();
    if b.order != a.order && sb == sa {
        let firsts = |m: &ImageMetadata| {
            let f: Vec<&str> = m
                .order
                .iter()
                .map(|g| g.first().map_or("", String::as_str))
                .collect();
            Some(f.join(" | "))
        };
        let mut c = Change::new(
            Category::BuildpackOrder,
            "order groups",
            firsts(b),
            firsts(a),
        );
        c.detail = Some("reordered".into());
        out.push(c);
        return;
    }
    let n = b.order.len().max(a.order.len());
    for i in 0..n {
        let group = |m: &ImageMetadata| m.order.get(i).map(|g| g.join(", "));
        out.push(Change::new(
            Category::BuildpackOrder,
            format!("order group {}", i + 1),
            group(b),
            group(a),
        ));
    }
}

fn order(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // Builders list an inventory, not an execution order.
    if b.kind() != crate::metadata::ImageKind::App || a.kind() != crate::metadata::ImageKind::App {
        return;
    }
    let ids_b: BTreeSet<&str> = b.buildpacks.iter().map(|m| m.id.as_str()).collect();
    let ids_a: BTreeSet<&str> = a.buildpacks.iter().map(|m| m.id.as_str()).collect();
    let common: Vec<&str> = b
        .buildpacks
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| ids_a.contains(id))
        .collect();
    let common_after: Vec<&str> = a
        .buildpacks
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| ids_b.contains(id))
        .collect();
    if common.len() < 2 {
        return;
    }
    let mut c = Change::new(
        Category::BuildpackOrder,
        "execution order",
        Some(common.join(", ")),
        Some(common_after.join(", ")),
    );
    if !c.is_change() {
        // The same order is not an item worth a row (it rendered as `- | - | unchanged`).
        return;
    }
    {
        // The buildpacks outside the longest common subsequence are the ones that moved.
        // LCS is quadratic in time and memory: beyond a few thousand entries (a hostile label),
        // Myers with a deadline gives a minimal script or, past the deadline, a valid one.
        let ops = if common.len() <= 2_000 {
            similar::capture_diff_slices(similar::Algorithm::Lcs, &common, &common_after)
        } else {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            similar::capture_diff_slices_deadline(
                similar::Algorithm::Myers,
                &common,
                &common_after,
                Some(deadline),
            )
        };
        let moved: Vec<&str> = ops
            .iter()
            .filter_map(|op| match *op {
                similar::DiffOp::Insert {
                    new_index, new_len, ..
                } => Some(&common_after[new_index..new_index + new_len]),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        c.detail = Some(format!("moved: {}", moved.join(", ")));
    }
    out.push(c);
}

fn dependencies(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    fn index(m: &ImageMetadata) -> BTreeMap<String, &crate::metadata::Dependency> {
        m.dependencies.iter().map(|d| (d.key(), d)).collect()
    }
    let (ib, ia) = (index(b), index(a));
    let keys: BTreeSet<&String> = ib.keys().chain(ia.keys()).collect();
    for key in keys {
        let (db, da) = (ib.get(key), ia.get(key));
        let d = da.or(db).copied().expect("key from one of the maps");
        let subject = format!("{} ({})", d.layer, d.buildpack);
        let mut c = Change::versioned(
            Category::Dependency,
            subject,
            db.map(|d| d.version.clone()),
            da.map(|d| d.version.clone()),
        );
        c.detail = d.name.clone();
        out.push(c);
    }
}

fn run_image(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let (rb, ra) = (b.run_image.clone(), a.run_image.clone());
    let field =
        |r: &Option<crate::metadata::RunImage>,
         f: fn(&crate::metadata::RunImage) -> Option<String>| { r.as_ref().and_then(f) };
    out.push(Change::new(
        Category::RunImage,
        "run image",
        field(&rb, |r| r.image.clone()),
        field(&ra, |r| r.image.clone()),
    ));
    out.push(Change::new(
        Category::RunImage,
        "run image reference",
        field(&rb, |r| r.reference.clone()),
        field(&ra, |r| r.reference.clone()),
    ));
    out.push(Change::new(
        Category::RunImage,
        "run image top layer",
        field(&rb, |r| r.top_layer.clone()),
        field(&ra, |r| r.top_layer.clone()),
    ));
    let mirrors = |r: &Option<crate::metadata::RunImage>| {
        r.as_ref()
            .map(|r| r.mirrors.join(", "))
            .filter(|m| !m.is_empty())
    };
    out.push(Change::new(
        Category::RunImage,
        "run image mirrors",
        mirrors(&rb),
        mirrors(&ra),
    ));
}

fn processes(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let index = |m: &ImageMetadata| {
        m.processes
            .iter()
            .map(|p| {
                let mut line = p.command_line();
                if p.default {
                    line.push_str(" [default]");
                }
                (p.kind.clone(), line)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let (ib, ia) = (index(b), index(a));
    let keys: BTreeSet<&String> = ib.keys().chain(ia.keys()).collect();
    for k in keys {
        out.push(Change::new(
            Category::Process,
            k.clone(),
            ib.get(k).cloned(),
            ia.get(k).cloned(),
        ));
    }
}

/// Env names whose values are shown as `<redacted>`: images do carry credentials in env.
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "AUTH",
    ]
    .iter()
    .any(|s| n.contains(s))
}

fn env(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let keys: BTreeSet<&String> = b.env.keys().chain(a.env.keys()).collect();
    for k in keys {
        // Reported as the platform API item.
        if k == "CNB_PLATFORM_API" {
            continue;
        }
        let (vb, va) = (b.env.get(k).cloned(), a.env.get(k).cloned());
        let mut c = Change::new(Category::Env, k.clone(), vb, va);
        if looks_secret(k) {
            let redact = |v: &mut Option<String>| {
                if v.is_some() {
                    *v = Some("<redacted>".into());
                }
            };
            redact(&mut c.before);
            redact(&mut c.after);
        } else {
            // Whatever the name: URL user-info, `password=` parameters, DSNs, `-D…secret=`.
            for v in [&mut c.before, &mut c.after].into_iter().flatten() {
                if let std::borrow::Cow::Owned(r) = crate::redact::redact_value(v) {
                    *v = r;
                }
            }
        }
        out.push(c);
    }
}

/// Long label values (package lists, configuration metadata) are shown by size and hash.
fn label_value(v: &str) -> String {
    const MAX: usize = 200;
    if v.len() <= MAX {
        return v.to_string();
    }
    let hash = Sha256::digest(v.as_bytes());
    let hex = crate::digest::hex(&hash[..6]);
    format!("<{} bytes, sha256:{hex}…>", v.len())
}

fn labels(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // Read into their own items (a lifecycle image's version is the lifecycle item, once).
    const INTERPRETED: &[&str] = &[
        label::BUILD,
        label::LIFECYCLE,
        label::BUILDER,
        label::STACK_ID,
        label::BASE_ID,
        label::BUILDPACK_LAYERS,
        label::BUILDPACK_ORDER,
        label::EXTENSION_LAYERS,
        label::LIFECYCLE_VERSION,
        label::LIFECYCLE_APIS,
    ];
    let keys: BTreeSet<&String> = b.labels.keys().chain(a.labels.keys()).collect();
    for k in keys {
        if INTERPRETED.contains(&k.as_str()) {
            continue;
        }
        let (vb, va) = (b.labels.get(k), a.labels.get(k));
        let mut c = Change::new(Category::Label, k.clone(), vb.cloned(), va.cloned());
        c.before = vb.map(|v| label_value(v));
        c.after = va.map(|v| label_value(v));
        out.push(c);
    }
}

fn config(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let words = |v: &Vec<String>| (!v.is_empty()).then(|| format!("{v:?}"));
    let ports = |v: &Vec<String>| (!v.is_empty()).then(|| v.join(", "));
    let items = [
        ("platform", Some(b.platform()), Some(a.platform())),
        ("user", b.user.clone(), a.user.clone()),
        ("entrypoint", words(&b.entrypoint), words(&a.entrypoint)),
        ("cmd", words(&b.cmd), words(&a.cmd)),
        ("working dir", b.working_dir.clone(), a.working_dir.clone()),
        ("exposed ports", ports(&b.ports), ports(&a.ports)),
    ];
    for (subject, vb, va) in items {
        out.push(Change::new(Category::Config, subject, vb, va));
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
mod tests {
    use super::*;

    fn m(id: &str, v: &str) -> Module {
        Module {
            id: id.into(),
            version: v.into(),
            homepage: Some(format!("https://github.com/{id}")),
        }
    }

    /// Issue 14: build metadata, pre-release bumps, API lists as sets.
    #[test]
    fn version_classes_of_items() {
        let mut out = Vec::new();
        modules(
            &mut out,
            Category::Buildpack,
            &[m("p/a", "1.2.3"), m("p/b", "1.2.3")],
            &[m("p/a", "1.2.3+build.5"), m("p/b", "1.2.4-rc.1")],
        );
        assert_eq!(out[0].class, Some(VersionClass::BuildMetadata));
        assert_eq!(out[0].class_word(), "build-metadata");
        assert_eq!(out[1].class, Some(VersionClass::Patch));
        assert_eq!(out[1].class_word(), "patch (prerelease)");
        let api = |b: &str, a: &str| {
            Change::versioned(
                Category::PlatformApi,
                "platform API",
                Some(b.into()),
                Some(a.into()),
            )
        };
        let same = api("0.3, 0.4", "0.4, 0.3");
        assert_eq!((same.status, same.class), (Status::Unchanged, None));
        let gained = api("0.11, 0.12", "0.11, 0.12, 0.13");
        assert_eq!(gained.class, Some(VersionClass::Minor));
    }

    #[test]
    fn module_changes_and_release_notes() {
        let mut out = Vec::new();
        modules(
            &mut out,
            Category::Buildpack,
            &[m("p/a", "1.0.0"), m("p/b", "2.0.0"), m("p/gone", "1.0.0")],
            &[m("p/a", "1.0.1"), m("p/b", "v2.0"), m("p/new", "0.1.0")],
        );
        let got: Vec<(&str, &str, Option<VersionClass>)> = out
            .iter()
            .map(|c| (c.subject.as_str(), c.code.as_str(), c.class))
            .collect();
        assert_eq!(
            got,
            vec![
                ("p/a", "buildpack-changed", Some(VersionClass::Patch)),
                ("p/b", "buildpack-unchanged", None),
                ("p/new", "buildpack-added", None),
                ("p/gone", "buildpack-removed", None),
            ]
        );
        assert_eq!(
            out[0].release_notes.as_deref(),
            Some("https://github.com/p/a/releases/tag/v1.0.1")
        );
        assert_eq!(out[1].release_notes, None);
    }

    #[test]
    fn builder_multiset_versions() {
        let mut out = Vec::new();
        modules(
            &mut out,
            Category::Buildpack,
            &[m("p/a", "1.0.0"), m("p/a", "2.0.0")],
            &[m("p/a", "2.0.0"), m("p/a", "3.0.0")],
        );
        assert_eq!(out[0].before.as_deref(), Some("1.0.0, 2.0.0"));
        assert_eq!(out[0].class, Some(VersionClass::Major));
    }

    #[test]
    fn secrets_in_env_are_redacted() {
        let mut b = ImageMetadata::default();
        let mut a = ImageMetadata::default();
        b.env.insert("DB_PASSWORD".into(), "hunter2".into());
        a.env.insert("DB_PASSWORD".into(), "hunter3".into());
        let mut out = Vec::new();
        env(&mut out, &b, &a);
        assert_eq!(out[0].status, Status::Changed);
        assert_eq!(out[0].after.as_deref(), Some("<redacted>"));
    }

    #[test]
    fn reordered_builder_groups_are_one_item() {
        let mk = |groups: &[&[&str]]| ImageMetadata {
            order: groups
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
            ..Default::default()
        };
        let (b, a) = (
            mk(&[&["java@1"], &["node@2"]]),
            mk(&[&["node@2"], &["java@1"]]),
        );
        let mut out = Vec::new();
        builder_order(&mut out, &b, &a);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].detail.as_deref(), Some("reordered"));
        assert_eq!(out[0].after.as_deref(), Some("node@2 | java@1"));
        let mut out = Vec::new();
        builder_order(&mut out, &b, &mk(&[&["java@1"], &["node@3"]]));
        assert_eq!(out[1].status, Status::Changed);
    }

    #[test]
    fn order_change_names_what_moved() {
        let mk = |ids: &[&str]| {
            let mut md = ImageMetadata::default();
            md.labels.insert(label::BUILD.into(), "{}".into());
            md.buildpacks = ids.iter().map(|i| m(i, "1.0.0")).collect();
            md
        };
        let mut out = Vec::new();
        order(
            &mut out,
            &mk(&["a", "b", "c", "d"]),
            &mk(&["b", "c", "d", "a"]),
        );
        assert_eq!(out[0].status, Status::Changed);
        assert_eq!(out[0].detail.as_deref(), Some("moved: a"));
    }
}
