//! Why two images differ, in the words platforms use: kpack's rebuild reasons, whether the pair
//! is a `pack rebase` (and whether the lifecycle's rebaser would need `--force`), and the
//! computed findings for what moved without a version saying so (a buildpack layer rebuilt at
//! the same version, a lifecycle dropping APIs). Pure.

use serde::{Deserialize, Serialize};

use crate::attribution::PartsDiff;
use crate::diff::{Category, Change, Diff, Status};
use crate::metadata::{ImageKind, ImageMetadata};
use crate::rules::{Finding, Severity};

/// A rebuild reason, as kpack names them (`kpack.io/reason` on a Build): what about the image's
/// inputs changed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The app's source: its layers, or `org.opencontainers.image.revision`.
    Commit,
    /// The build configuration: env, process types, user, entrypoint, ports.
    Config,
    /// Buildpacks (versions, order, what their layers hold) and the runtimes they installed.
    Buildpack,
    /// The run image (stack, base image, its distro).
    Stack,
    /// The lifecycle and its APIs.
    Lifecycle,
}

impl Reason {
    /// `BUILDPACK`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commit => "COMMIT",
            Self::Config => "CONFIG",
            Self::Buildpack => "BUILDPACK",
            Self::Stack => "STACK",
            Self::Lifecycle => "LIFECYCLE",
        }
    }
}

/// The source revision label the OCI annotations define: a new commit.
const REVISION: &str = "org.opencontainers.image.revision";

/// The reasons a rebuild of `before` gives `after`, for two app images (other kinds are not
/// rebuilt by a platform): empty when nothing moved.
pub(crate) fn reasons(
    diff: &Diff,
    parts: &PartsDiff,
    before: &ImageMetadata,
    after: &ImageMetadata,
) -> Vec<Reason> {
    if before.kind() != ImageKind::App || after.kind() != ImageKind::App {
        return Vec::new();
    }
    let run_moved = parts.run_image.is_some()
        || diff
            .changed()
            .any(|c| matches!(c.category, Category::RunImage | Category::Stack));
    let mut out = Vec::new();
    for c in diff.changed() {
        let r = match c.category {
            Category::Label if c.subject == REVISION => Reason::Commit,
            // The user comes with the run image: a new stack's user is the stack's move.
            Category::Config if c.subject == "user" && run_moved => Reason::Stack,
            Category::Env | Category::Process | Category::Config => Reason::Config,
            Category::Runtime if c.subject.starts_with("distro ") => Reason::Stack,
            Category::Buildpack
            | Category::Extension
            | Category::BuildpackOrder
            | Category::Runtime
            | Category::Dependency => Reason::Buildpack,
            Category::RunImage | Category::Stack => Reason::Stack,
            Category::Lifecycle | Category::PlatformApi | Category::BuildpackApi => {
                Reason::Lifecycle
            }
            _ => continue,
        };
        out.push(r);
    }
    for p in parts.changed() {
        match p.kind.as_str() {
            "app" => out.push(Reason::Commit),
            "buildpack" | "extension" => out.push(Reason::Buildpack),
            "run-image" => out.push(Reason::Stack),
            "launcher" => out.push(Reason::Lifecycle),
            _ => {}
        }
    }
    if parts.run_image.is_some() {
        out.push(Reason::Stack);
    }
    out.sort();
    out.dedup();
    out
}

/// Whether the pair is a rebase, and what `pack rebase` would say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rebase {
    /// Only the run image moved: the app, buildpack and lifecycle layers are the same.
    pub is_rebase: bool,
    /// Why it is not one, when not (`buildpacks moved`, `the app changed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_because: Vec<String>,
    /// `io.buildpacks.rebasable` of the old image; absent before Platform API 0.12, when
    /// every app image was rebasable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebasable: Option<bool>,
    /// What the lifecycle's rebaser checks and would refuse without `--force`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_force: Vec<String>,
    /// What it refuses even with `--force` (Platform API < 0.12: another stack).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

/// The rebase verdict of two app images whose run image moved; `None` when it did not (or
/// either is not an app image). The checks are the lifecycle rebaser's
/// (buildpacks/lifecycle `phase/rebaser.go` at 4bd4b13e): Platform API ≥ 0.12 validates
/// `io.buildpacks.rebasable`, the target (os, arch, variant, distro) and that the new run image
/// is the recorded one or a mirror, each overridable with `--force`; older apps must keep
/// their stack id, which `--force` does not override.
pub(crate) fn rebase(
    diff: &Diff,
    parts: &PartsDiff,
    before: &ImageMetadata,
    after: &ImageMetadata,
) -> Option<Rebase> {
    if before.kind() != ImageKind::App || after.kind() != ImageKind::App {
        return None;
    }
    let run_moved = parts.run_image.is_some()
        || diff
            .changed()
            .any(|c| matches!(c.category, Category::RunImage | Category::Stack));
    if !run_moved {
        return None;
    }
    let mut not_because: Vec<String> = Vec::new();
    let mut say = |s: &str| {
        if !not_because.iter().any(|x| x == s) {
            not_because.push(s.to_string());
        }
    };
    for c in diff.changed() {
        match c.category {
            Category::Buildpack | Category::Extension | Category::BuildpackOrder => {
                say("buildpacks moved")
            }
            Category::Runtime if !c.subject.starts_with("distro ") => say("runtimes moved"),
            Category::Dependency => say("runtimes moved"),
            Category::Lifecycle => say("the lifecycle moved"),
            // The run image brings its user: a rebase onto a new run image changes it.
            Category::Config if c.subject == "user" => {}
            Category::Process | Category::Env | Category::Config => say("the image config changed"),
            _ => {}
        }
    }
    for p in parts.changed() {
        match p.kind.as_str() {
            "app" => say("the app changed"),
            "buildpack" | "extension" => say("buildpack layers changed"),
            "launcher" | "config" | "process-types" | "sbom" => {
                say("the lifecycle's layers changed")
            }
            _ => {}
        }
    }
    let is_rebase = not_because.is_empty();
    let old_api = before
        .platform_api
        .as_deref()
        .and_then(crate::version::parse);
    let modern = old_api.is_some_and(|v| v >= semver::Version::new(0, 12, 0));
    let mut needs_force = Vec::new();
    let mut refused = Vec::new();
    // What `pack rebase` would check matters only for a pair that is a rebase.
    if !is_rebase {
    } else if modern {
        if before.rebasable == Some(false) {
            needs_force.push(
                "the app image is not marked rebasable (io.buildpacks.rebasable=false: a run-image extension ran)"
                    .to_string(),
            );
        }
        let distro = |m: &ImageMetadata| {
            m.runtimes
                .iter()
                .find(|r| r.kind == crate::metadata::runtimes::RuntimeKind::Distro)
                .map(|r| r.describe())
        };
        let (db, da) = (distro(before), distro(after));
        if db.is_some() && da.is_some() && db != da {
            needs_force.push(format!(
                "the new run image's distro ({}) is not the app's ({})",
                da.unwrap_or_default(),
                db.unwrap_or_default()
            ));
        }
        if before.platform() != after.platform() {
            needs_force.push(format!(
                "the new run image's platform ({}) is not the app's ({})",
                after.platform(),
                before.platform()
            ));
        }
        if let Some(p) = &parts.run_image
            && p.how == crate::attribution::RunImageMove::Replaced
        {
            needs_force.push(format!(
                "the new run image ({}) is not the recorded one or a mirror ({})",
                p.image_after.as_deref().unwrap_or("unnamed"),
                p.image_before.as_deref().unwrap_or("unnamed")
            ));
        }
    } else if before.stack_id.is_some() && before.stack_id != after.stack_id {
        refused.push(format!(
            "the stack id changed ({} → {}); before Platform API 0.12 the rebaser refuses another stack, --force or not",
            before.stack_id.as_deref().unwrap_or_default(),
            after.stack_id.as_deref().unwrap_or("none")
        ));
    }
    Some(Rebase {
        is_rebase,
        not_because,
        rebasable: before.rebasable,
        needs_force,
        refused,
    })
}

/// The verdict's words for a rebase verdict: `pack rebase would need --force: …`.
pub(crate) fn rebase_phrase(r: &Rebase) -> Option<String> {
    if !r.is_rebase {
        return None;
    }
    if !r.refused.is_empty() {
        return Some(format!(
            "pack rebase would refuse: {}",
            r.refused.join("; ")
        ));
    }
    if !r.needs_force.is_empty() {
        return Some(format!(
            "pack rebase would need --force: {}",
            r.needs_force.join("; ")
        ));
    }
    None
}

/// Buildpack layers whose content changed while their buildpack's version did not: a patched
/// layer (a rebuilt JRE, the lifecycle's layer patching) or a buildpack republished under the
/// same version. A warning for a launch layer (the running container gets it) and for a
/// builder's buildpack (every app built on it does), else `info`.
pub(crate) fn layer_drift(
    parts: &PartsDiff,
    diff: &Diff,
    before: &ImageMetadata,
    after: &ImageMetadata,
) -> Vec<Finding> {
    // Two platforms' builds of a buildpack differ by architecture: that is not drift.
    if before.platform() != after.platform() {
        return Vec::new();
    }
    let builder = matches!(after.kind(), ImageKind::Builder | ImageKind::Buildpackage);
    parts
        .changed()
        .filter(|p| p.rebuilt_same_version && !explained(&p.part, diff))
        .map(|p| {
            let version = p.version_after.clone().unwrap_or_default();
            let (subject, what, severity) = match p.part.split_once(' ') {
                Some((id, layer)) if !p.part.contains('@') => (
                    format!("{id} layer {layer}"),
                    format!("layer {layer} of {id} changed while {id} stayed at {version}"),
                    if p.launch { Severity::Warning } else { Severity::Info },
                ),
                _ => (
                    p.part.clone(),
                    format!("the layer of {} changed at the same version", p.part),
                    if builder { Severity::Warning } else { Severity::Info },
                ),
            };
            let launch = if p.launch {
                " (a launch layer: running containers get it)"
            } else {
                ""
            };
            let mut change = Change::of(
                Category::Buildpack,
                &subject,
                Some(version.clone()),
                Some(version),
            );
            change.detail = Some(format!(
                "{} of {} layers differ",
                p.layers_changed, p.layers_after
            ));
            Finding {
                rule: LAYER_DRIFT.into(),
                severity,
                affects: vec!["runtime".into()],
                summary: format!("{what}{launch}: its content is not what the version says"),
                advice: Some(
                    "Compare the two layers (`bpdrift diff --sbom` lists what each holds); a buildpack republished under an old version, or a patched dependency, is worth a look before deploying."
                        .into(),
                ),
                sources: Vec::new(),
                note: None,
                not_applicable: false,
                change,
            }
        })
        .collect()
}

/// Whether a buildpack layer (`id layer`) that changed at the same buildpack version is explained
/// by a version the diff names: the runtime or dependency it holds moved (a Node 22 installed
/// by the same node-engine), so the move is not silent.
pub(crate) fn explained(part: &str, diff: &Diff) -> bool {
    let Some((id, layer)) = part.split_once(' ') else {
        return false;
    };
    diff.changed().any(|c| match c.category {
        Category::Runtime => c
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(&format!("{id} layer {layer} "))),
        Category::Dependency => c.subject == format!("{layer} ({id})"),
        _ => false,
    })
}

/// The computed finding id of [`layer_drift`].
pub(crate) const LAYER_DRIFT: &str = "layer-changed-same-version";
/// The computed finding id of a dropped Platform API.
pub(crate) const PLATFORM_API_DROPPED: &str = "platform-api-dropped";
/// The computed finding id of a dropped Buildpack API.
pub(crate) const BUILDPACK_API_DROPPED: &str = "buildpack-api-dropped";

/// API versions a builder's or lifecycle image's lifecycle no longer supports: platforms pinned
/// to a dropped Platform API stop working (lifecycle exits 11), buildpacks of a dropped
/// Buildpack API stop running (exit 12).
pub(crate) fn api_drops(diff: &Diff) -> Vec<Finding> {
    let set = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut out = Vec::new();
    for c in diff.changed() {
        let (id, who) = match c.category {
            Category::PlatformApi => (
                PLATFORM_API_DROPPED,
                "platforms pinned to it (pack, kpack, Tekton tasks, CI images) stop working: the lifecycle exits with code 11",
            ),
            Category::BuildpackApi => (
                BUILDPACK_API_DROPPED,
                "buildpacks written for it no longer run: the lifecycle exits with code 12",
            ),
            _ => continue,
        };
        // Only lists (builders, lifecycle images): an app's single Platform API moving is
        // not a drop.
        if c.status != Status::Changed {
            continue;
        }
        let (b, a) = (set(&c.before), set(&c.after));
        if b.len() < 2 && a.len() < 2 {
            continue;
        }
        let dropped: Vec<&String> = b.iter().filter(|v| !a.contains(v)).collect();
        if dropped.is_empty() {
            continue;
        }
        let list: Vec<&str> = dropped.iter().map(|s| s.as_str()).collect();
        out.push(Finding {
            rule: id.into(),
            severity: Severity::Warning,
            affects: vec!["build".into()],
            summary: format!(
                "the lifecycle no longer supports {} {}: {who}",
                c.category.label(),
                list.join(", ")
            ),
            advice: Some(format!(
                "Move platforms and buildpacks to a supported {} ({}) before adopting this image.",
                c.category.label(),
                a.join(", ")
            )),
            sources: vec![
                "https://github.com/buildpacks/spec/blob/main/platform.md#platform-api-version"
                    .into(),
            ],
            note: None,
            not_applicable: false,
            change: c.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::PartDiff;

    fn part(key: &str, kind: &str, launch: bool) -> PartDiff {
        PartDiff {
            part: key.into(),
            kind: kind.into(),
            status: Status::Changed,
            layers_before: 1,
            layers_after: 1,
            bytes_before: 10,
            bytes_after: 10,
            layers_changed: 1,
            bytes_changed: 10,
            version_before: Some("1.0.0".into()),
            version_after: Some("1.0.0".into()),
            rebuilt_same_version: true,
            launch,
        }
    }

    fn md(kind_label: &str) -> ImageMetadata {
        let mut m = ImageMetadata {
            os: "linux".into(),
            architecture: "amd64".into(),
            ..Default::default()
        };
        m.labels.insert(kind_label.into(), "{}".into());
        m
    }

    /// A builder's buildpack whose layer changed at the same version is a warning (every app
    /// built on it gets other code); an app's launch layer too; a build-only layer is info; a
    /// layer whose runtime moved is explained and not drift.
    #[test]
    fn layer_drift_levels() {
        let empty = Diff {
            changes: Vec::new(),
            layers: Default::default(),
        };
        let builder = md(crate::metadata::label::BUILDER);
        let parts = PartsDiff {
            parts: vec![part(
                "paketo-buildpacks/node-engine@1.0.0",
                "buildpack",
                false,
            )],
            run_image: None,
        };
        let f = layer_drift(&parts, &empty, &builder, &builder);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        let app = md(crate::metadata::label::BUILD);
        let parts = PartsDiff {
            parts: vec![
                part("paketo-buildpacks/node-engine node", "buildpack", true),
                part("paketo-buildpacks/node-engine cache", "buildpack", false),
            ],
            run_image: None,
        };
        let f = layer_drift(&parts, &empty, &app, &app);
        let levels: Vec<Severity> = f.iter().map(|f| f.severity).collect();
        assert_eq!(levels, [Severity::Warning, Severity::Info]);
        // Node moved inside that layer: explained.
        let mut node = Change::of(
            Category::Runtime,
            "node",
            Some("20.0.0".into()),
            Some("22.0.0".into()),
        );
        node.detail = Some("SBOM of paketo-buildpacks/node-engine layer node (Node Engine)".into());
        let moved = Diff {
            changes: vec![node],
            layers: Default::default(),
        };
        let f = layer_drift(&parts, &moved, &app, &app);
        assert_eq!(f.len(), 1, "only the cache layer is unexplained");
        // Two platforms' builds differ by architecture: not drift.
        let mut arm = app.clone();
        arm.architecture = "arm64".into();
        assert!(layer_drift(&parts, &empty, &app, &arm).is_empty());
    }
}
