//! Which changes matter: rules select a changed item (a buildpack, a dependency in a buildpack
//! layer, the lifecycle, a label…) and a condition on how it changed (crossing a version, landing
//! in a bug window, a version range, a change class), and report a finding with a severity and
//! sources. The built-in rules (`builtin/<family>.toml`, one file per runtime family) each
//! carry a primary source; users add their own files. The format is documented in
//! `docs/rules.md`.

mod evaluate;
pub(crate) mod file;
pub mod ignore;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use file::{RuleFile, kind_word, parse_file, render_diagnostics};

use crate::diff::{Category, Change, Diff, Status};
use crate::metadata::{ImageKind, ImageMetadata};
use crate::version::VersionClass;

/// The built-in rules, compiled in: one file per family, so adding a family is adding a file
/// (and a line here).
pub const BUILTIN: &[(&str, &str)] = &[
    ("generic", include_str!("builtin/generic.toml")),
    ("jvm", include_str!("builtin/jvm.toml")),
    ("node", include_str!("builtin/node.toml")),
    ("go", include_str!("builtin/go.toml")),
    ("python", include_str!("builtin/python.toml")),
    ("dotnet", include_str!("builtin/dotnet.toml")),
    ("ruby", include_str!("builtin/ruby.toml")),
    ("php", include_str!("builtin/php.toml")),
    ("webservers", include_str!("builtin/webservers.toml")),
    ("run-image", include_str!("builtin/run-image.toml")),
    ("lifecycle", include_str!("builtin/lifecycle.toml")),
];
/// The name built-in rules are reported under.
pub const DEFAULT_RULES_NAME: &str = "<built-in>";

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth a look before deploying.
    Warning,
    /// Likely to break.
    Error,
}

impl Severity {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            _ => Err(()),
        }
    }
}

/// `--fail-on`: the lowest severity that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
    /// Never exit 1 for findings.
    Never,
}

impl FailOn {
    /// Whether a finding of `severity` fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            Self::Info => true,
            Self::Warning => severity >= Severity::Warning,
            Self::Error => severity >= Severity::Error,
            Self::Never => false,
        }
    }
}

/// A set of glob patterns; matches when any does.
#[derive(Debug, Clone)]
pub struct Globs(Vec<glob::Pattern>);

impl Globs {
    /// Whether `s` matches one of the patterns.
    pub fn matches(&self, s: &str) -> bool {
        self.0.iter().any(|p| p.matches(s))
    }
}

impl fmt::Display for Globs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<&str> = self.0.iter().map(glob::Pattern::as_str).collect();
        f.write_str(&v.join(", "))
    }
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Buildpacks whose id matches.
    Buildpack(Globs),
    /// Extensions whose id matches.
    Extension(Globs),
    /// Dependencies recorded in a layer whose name matches, of buildpacks that match (any when
    /// `None`).
    Dependency {
        /// Buildpack filter.
        buildpack: Option<Globs>,
        /// Layer name, e.g. `jre`.
        layer: Globs,
    },
    /// The lifecycle version.
    Lifecycle,
    /// The Platform API.
    PlatformApi,
    /// The run image (name, reference, top layer).
    RunImage,
    /// Stack and base ids.
    Stack,
    /// Labels whose name matches.
    Label(Globs),
    /// Env variables whose name matches.
    Env(Globs),
    /// Process types that match.
    Process(Globs),
    /// Runtimes whose name matches (`go`, `node`, `ubuntu`), whichever buildpack family
    /// recorded them.
    Runtime(Globs),
    /// Packages from the SBOMs or the packages label (`diff --sbom`) whose name matches, of a
    /// package type (purl type: `deb`, `maven`, …) that matches (any when `None`).
    Package {
        /// Package name, e.g. `libssl3`.
        name: Globs,
        /// Purl type filter.
        purl_type: Option<Globs>,
    },
}

impl Subject {
    /// Items of this subject carry versions (so version conditions apply).
    pub fn versioned(&self) -> bool {
        matches!(
            self,
            Self::Buildpack(_)
                | Self::Extension(_)
                | Self::Dependency { .. }
                | Self::Lifecycle
                | Self::PlatformApi
                | Self::Package { .. }
                | Self::Runtime(_)
        )
    }

    fn matches(&self, c: &Change) -> bool {
        match (self, c.category) {
            (Self::Buildpack(g), Category::Buildpack) => g.matches(&c.subject),
            (Self::Extension(g), Category::Extension) => g.matches(&c.subject),
            (Self::Dependency { buildpack, layer }, Category::Dependency) => {
                let (l, bp) = dependency_parts(c);
                layer.matches(l) && buildpack.as_ref().is_none_or(|b| b.matches(bp))
            }
            (Self::Lifecycle, Category::Lifecycle) => true,
            (Self::PlatformApi, Category::PlatformApi) => true,
            (Self::RunImage, Category::RunImage) => true,
            (Self::Stack, Category::Stack) => true,
            (Self::Label(g), Category::Label) => g.matches(&c.subject),
            // Stack and base ids are labels too; a label rule on them must see them.
            (Self::Label(g), Category::Stack) => {
                let name = match c.subject.as_str() {
                    "stack id" => crate::metadata::label::STACK_ID,
                    _ => crate::metadata::label::BASE_ID,
                };
                g.matches(name)
            }
            (Self::Env(g), Category::Env) => g.matches(&c.subject),
            (Self::Process(g), Category::Process) => g.matches(&c.subject),
            (Self::Package { name, .. }, Category::Package) => name.matches(dependency_parts(c).0),
            (Self::Runtime(g), Category::Runtime) => g.matches(runtime_name(c)),
            _ => false,
        }
    }

    /// Short words for listings: `buildpack paketo-buildpacks/*`.
    pub fn describe(&self) -> String {
        match self {
            Self::Buildpack(g) => format!("buildpack {g}"),
            Self::Extension(g) => format!("extension {g}"),
            Self::Dependency { buildpack, layer } => match buildpack {
                Some(b) => format!("dependency {layer} of {b}"),
                None => format!("dependency {layer}"),
            },
            Self::Lifecycle => "lifecycle".into(),
            Self::PlatformApi => "platform API".into(),
            Self::RunImage => "run image".into(),
            Self::Stack => "stack".into(),
            Self::Label(g) => format!("label {g}"),
            Self::Env(g) => format!("env {g}"),
            Self::Process(g) => format!("process {g}"),
            Self::Runtime(g) => format!("runtime {g}"),
            Self::Package { name, purl_type } => match purl_type {
                Some(t) => format!("package {name} ({t})"),
                None => format!("package {name}"),
            },
        }
    }
}

/// `distro ubuntu` → `ubuntu`; `go` → `go`.
fn runtime_name(c: &Change) -> &str {
    c.subject.strip_prefix("distro ").unwrap_or(&c.subject)
}

/// `jre (paketo-buildpacks/bellsoft-liberica)` → (`jre`, `paketo-buildpacks/bellsoft-liberica`).
fn dependency_parts(c: &Change) -> (&str, &str) {
    match c.subject.split_once(" (") {
        Some((layer, rest)) => (layer, rest.trim_end_matches(')')),
        None => (c.subject.as_str(), ""),
    }
}

/// A change kind a rule can ask for: a version class or a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Version class.
    Class(VersionClass),
    /// Only in the second image.
    Added,
    /// Only in the first image.
    Removed,
    /// Any difference.
    Changed,
}

impl ChangeKind {
    /// The words accepted in `change = [...]`.
    pub const WORDS: &[&str] = &[
        "major",
        "minor",
        "patch",
        "prerelease",
        "build-metadata",
        "revision",
        "downgrade",
        "not-comparable",
        "added",
        "removed",
        "changed",
    ];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "major" => Self::Class(VersionClass::Major),
            "minor" => Self::Class(VersionClass::Minor),
            "patch" => Self::Class(VersionClass::Patch),
            "prerelease" => Self::Class(VersionClass::Prerelease),
            "build-metadata" => Self::Class(VersionClass::BuildMetadata),
            "revision" => Self::Class(VersionClass::Revision),
            "downgrade" => Self::Class(VersionClass::Downgrade),
            "not-comparable" => Self::Class(VersionClass::NotComparable),
            "added" => Self::Added,
            "removed" => Self::Removed,
            "changed" => Self::Changed,
            _ => return None,
        })
    }

    fn matches(self, c: &Change) -> bool {
        match self {
            // A pre-release bump (`1.2.3 → 1.2.4-rc.1`) is both `patch` and `prerelease`.
            Self::Class(VersionClass::Prerelease) => {
                c.status == Status::Changed
                    && (c.class == Some(VersionClass::Prerelease) || c.prerelease)
            }
            Self::Class(k) => c.status == Status::Changed && c.class == Some(k),
            Self::Added => c.status == Status::Added,
            Self::Removed => c.status == Status::Removed,
            Self::Changed => c.is_change(),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Class(k) => k.as_str(),
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// A condition on another item of the new image: the finding is only as severe as the rule says
/// when it holds, and is kept as `info` with a note when it does not (so a rule never hides a
/// change silently).
#[derive(Debug, Clone)]
pub struct AppliesIf {
    /// What must be in the new image: a dependency layer (`jre`) or a runtime (`java`).
    pub target: AppliesTarget,
    /// Version requirement, e.g. `>=18` (`*` for a GODEBUG condition).
    pub version: semver::VersionReq,
    /// What to do when the new image records no such dependency at all (a builder, a native
    /// image, an image built without the dependency's metadata): the condition cannot be
    /// evaluated, so the rule never reports at its own severity.
    pub when_unknown: WhenUnknown,
}

/// What an `applies-if` looks at in the new image.
#[derive(Debug, Clone)]
pub enum AppliesTarget {
    /// `dependency = ["jre", "jdk"]`: a dependency recorded in a layer, by layer name.
    Dependency(Globs),
    /// `runtime = "java"`: a runtime, whichever family recorded it.
    Runtime(Globs),
    /// `godebug = "asynctimerchan=1", kept = false`: whether the new image's Go binary keeps
    /// an older default, as its `DefaultGODEBUG` build setting (the go.mod go line) and a
    /// `GODEBUG` in the image's env say.
    Godebug {
        /// The setting, e.g. `asynctimerchan`.
        setting: String,
        /// Its old value, e.g. `1`.
        old: String,
        /// `true`: applies when the binary keeps the old default; `false`: when it does not.
        kept: bool,
    },
}

impl AppliesTarget {
    /// How `rules list` and notes name it.
    pub fn describe(&self) -> String {
        match self {
            Self::Dependency(g) => format!("dependency {g}"),
            Self::Runtime(g) => format!("runtime {g}"),
            Self::Godebug {
                setting,
                old,
                kept: true,
            } => {
                format!("the Go binary keeps GODEBUG {setting}={old}")
            }
            Self::Godebug {
                setting,
                old,
                kept: false,
            } => {
                format!("the Go binary does not keep GODEBUG {setting}={old}")
            }
        }
    }
}

/// `applies-if.when-unknown`: an `applies-if` that cannot be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenUnknown {
    /// Report at `info` with a "may apply" note (the default: a change is never hidden silently).
    #[default]
    Info,
    /// Report nothing.
    Off,
}

impl WhenUnknown {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Off => "off",
        }
    }
}

/// What a crossing rule reports when the version goes back below `introduced` (a rollback):
/// the rule's summary describes the upward crossing, so the reverse one gets its own text and,
/// by default, `info` — undoing a change is not the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverse {
    /// Severity of the reverse finding; `None` = report nothing (`reverse-severity = "off"`).
    pub severity: Option<Severity>,
    /// Its summary (placeholders as in `summary`); `None` = computed from the versions.
    pub summary: Option<String>,
}

impl Default for Reverse {
    fn default() -> Self {
        Self {
            severity: Some(Severity::Info),
            summary: None,
        }
    }
}

/// How the item must have changed. Every given part must hold; none given = any change.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// Fires when the version crosses this boundary, either way (or, with `fixed`, the start of a
    /// bug window).
    pub introduced: Option<semver::Version>,
    /// End (exclusive) of a bug window `[introduced, fixed)`: fires when the new version is in it.
    pub fixed: Option<semver::Version>,
    /// The old version must satisfy this.
    pub from: Option<semver::VersionReq>,
    /// The new version must satisfy this.
    pub to: Option<semver::VersionReq>,
    /// The change must be one of these kinds.
    pub change: Vec<ChangeKind>,
    /// The old value must match (for unversioned items: labels, env, run image…).
    pub from_value: Option<Globs>,
    /// The new value must match.
    pub to_value: Option<Globs>,
    /// A crossing of `introduced` downwards (only for `introduced` without `fixed`).
    pub reverse: Reverse,
    /// `introduced` and `fixed` as written, for package rules: a Debian version
    /// (`3.0.2-0ubuntu1.10`) is ordered by dpkg, not semver.
    pub package_bounds: Option<(String, Option<String>)>,
}

impl Condition {
    /// Short words for listings.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let (i, f) = match &self.package_bounds {
            Some((i, f)) => (Some(i.clone()), f.clone()),
            None => (
                self.introduced.as_ref().map(ToString::to_string),
                self.fixed.as_ref().map(ToString::to_string),
            ),
        };
        match (&i, &f) {
            (Some(i), Some(f)) => parts.push(format!("new version in [{i}, {f})")),
            (Some(i), None) => {
                let back = match self.reverse.severity {
                    Some(s) => format!("back below: {s}"),
                    None => "back below: off".into(),
                };
                parts.push(format!("crosses {i} upward ({back})"));
            }
            (None, _) => {}
        }
        if let Some(r) = &self.from {
            parts.push(format!("from {r}"));
        }
        if let Some(r) = &self.to {
            parts.push(format!("to {r}"));
        }
        if !self.change.is_empty() {
            let w: Vec<&str> = self.change.iter().map(|k| k.as_str()).collect();
            parts.push(w.join("|"));
        }
        if let Some(g) = &self.from_value {
            parts.push(format!("from value {g}"));
        }
        if let Some(g) = &self.to_value {
            parts.push(format!("to value {g}"));
        }
        if parts.is_empty() {
            "any change".into()
        } else {
            parts.join(", ")
        }
    }
}

/// A rule, validated.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id (kebab-case).
    pub id: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it may affect: memory, runtime, startup, cache, security…
    pub affects: Vec<String>,
    /// One line; `{subject}`, `{before}`, `{after}` are filled in.
    pub summary: String,
    /// What to do.
    pub advice: Option<String>,
    /// Links backing it.
    pub sources: Vec<String>,
    /// What it looks at.
    pub subject: Subject,
    /// How it must have changed.
    pub condition: Condition,
    /// Extra condition on the new image.
    pub applies_if: Option<AppliesIf>,
    /// Image kinds it applies to (empty = every kind): app runtime rules say nothing about a
    /// builder whose inventory merely lists a buildpack.
    pub kinds: Vec<ImageKind>,
    /// The family it belongs to (`go`, `node`, `jvm`, …): the file's `family`, or the rule's.
    pub family: Option<String>,
    /// What else the behaviour depends on that the image does not record (a Go module's `go`
    /// line, an app setting): said in every finding.
    pub depends_on: Option<String>,
    /// File it came from (`<built-in>` for the defaults).
    pub origin: String,
}

/// A change that a rule flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// Severity (lowered to `info` when `note` says the rule may not apply).
    pub severity: Severity,
    /// What it may affect.
    pub affects: Vec<String>,
    /// One line.
    pub summary: String,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Links backing the rule.
    pub sources: Vec<String>,
    /// Why the severity was lowered, or why bpdrift cannot tell for sure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The rule's `applies-if` is known to be false for the new image (a Java-18+ change on a
    /// Java 17 image): not a finding, counted and listed apart (`--all` shows it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable: bool,
    /// The change it matched.
    pub change: Change,
}

/// Whether a rule matched a change.
enum Outcome {
    No,
    Yes,
    /// The version went back below `introduced`: the rule's text describes the other direction.
    Reverse,
    /// A version it needed is not comparable.
    Unknown(String),
}

/// A finding computed by bpdrift itself rather than matched by a rule (the memory prediction,
/// the fleet report's rollback check, `--platform all`). Listed by `rules list` and overridable
/// in a rule file's `[computed]` table, like a built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct Computed {
    /// Stable id, the finding's `rule`.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it may affect.
    pub affects: &'static [&'static str],
    /// What it looks at.
    pub subject: &'static str,
    /// When it is reported.
    pub condition: &'static str,
    /// What it says.
    pub summary: &'static str,
}

/// Every computed finding.
pub const COMPUTED: &[Computed] = &[
    Computed {
        id: "memory-no-longer-fits",
        severity: Severity::Error,
        affects: &["memory", "startup"],
        subject: "JVM memory (--memory)",
        condition: "the old image starts in the limit, the new one does not",
        summary: "the new image's JVM does not start in the limit",
    },
    Computed {
        id: "memory-needs-more",
        severity: Severity::Warning,
        affects: &["memory"],
        subject: "JVM memory (--memory)",
        condition: "the smallest limit grows by 32 MiB or 10%",
        summary: "the new image needs N MiB more to start",
    },
    Computed {
        id: "rollback-target-vanished",
        severity: Severity::Error,
        affects: &["rollback"],
        subject: "rollback targets (fleet report)",
        condition: "a last-good digest no longer exists in the registry",
        summary: "rollback target … no longer exists in the registry",
    },
    Computed {
        id: "layer-changed-same-version",
        severity: Severity::Warning,
        affects: &["runtime"],
        subject: "buildpack layers",
        condition: "a buildpack layer's content changed while its buildpack's version did not (warning for launch layers and builders, else info)",
        summary: "layer <name> of <buildpack> changed while <buildpack> stayed at <version>",
    },
    Computed {
        id: "platform-api-dropped",
        severity: Severity::Warning,
        affects: &["build"],
        subject: "supported Platform APIs (builders, lifecycle images)",
        condition: "the new lifecycle supports fewer Platform API versions",
        summary: "the lifecycle no longer supports platform API <versions>",
    },
    Computed {
        id: "buildpack-api-dropped",
        severity: Severity::Warning,
        affects: &["build"],
        subject: "supported Buildpack APIs (builders, lifecycle images)",
        condition: "the new lifecycle supports fewer Buildpack API versions",
        summary: "the lifecycle no longer supports buildpack API <versions>",
    },
    Computed {
        id: "platform-removed",
        severity: Severity::Warning,
        affects: &["deploy"],
        subject: "platforms (--platform all)",
        condition: "the old image has a platform the new one lacks",
        summary: "the new image has no <platform> manifest",
    },
];

/// Rules in effect for a run, in load order; a later rule replaces an earlier one with its id.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// `[computed]` overrides: id → severity, `None` = off.
    computed: std::collections::BTreeMap<String, Option<Severity>>,
    /// `--ignore` / `ignore = [...]`: changes left out of the comparison (and counted).
    ignore: Vec<ignore::IgnorePattern>,
}

impl RuleSet {
    /// The built-in rules, every family.
    pub fn builtin() -> Self {
        let mut rules = Vec::new();
        for (family, text) in BUILTIN {
            let file = parse_file(DEFAULT_RULES_NAME, text);
            // A broken built-in file is a bug caught by the tests, never a user's problem.
            assert!(
                file.diagnostics.is_empty(),
                "built-in rules of {family} do not validate: {:?}",
                file.diagnostics
            );
            rules.extend(file.rules);
        }
        Self {
            rules,
            computed: Default::default(),
            ignore: Vec::new(),
        }
    }

    /// Whether a rule looks at runtimes (its subject, or its `applies-if`): only then is a
    /// launch SBOM layer worth reading for the runtimes recorded there.
    pub fn needs_runtimes(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(r.subject, Subject::Runtime(_))
                || matches!(
                    r.applies_if.as_ref().map(|a| &a.target),
                    Some(AppliesTarget::Runtime(_))
                )
        })
    }

    /// Overrides a computed finding's severity (`None` = never report it).
    pub fn set_computed(&mut self, id: &str, severity: Option<Severity>) {
        self.computed.insert(id.to_string(), severity);
    }

    /// Adds an ignore pattern.
    pub fn ignore(&mut self, pattern: ignore::IgnorePattern) {
        if !self.ignore.iter().any(|p| p.as_str() == pattern.as_str()) {
            self.ignore.push(pattern);
        }
    }

    /// The ignore patterns in effect.
    pub fn ignores(&self) -> &[ignore::IgnorePattern] {
        &self.ignore
    }

    /// A computed finding's severity in effect (`None` = off).
    pub fn computed_severity(&self, c: &Computed) -> Option<Severity> {
        self.computed.get(c.id).copied().unwrap_or(Some(c.severity))
    }

    /// Applies the `[computed]` overrides to computed findings: a new severity, or dropped.
    pub fn adjust(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter_map(|mut f| match self.computed.get(&f.rule) {
                None => Some(f),
                Some(None) => None,
                Some(Some(s)) => {
                    f.severity = *s;
                    Some(f)
                }
            })
            .collect()
    }

    /// Adds rules; one with an id already present replaces it (a user rule overrides a
    /// built-in one).
    pub fn extend(&mut self, rules: Vec<Rule>) {
        for r in rules {
            if let Some(slot) = self.rules.iter_mut().find(|x| x.id == r.id) {
                *slot = r;
            } else {
                self.rules.push(r);
            }
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Findings for a diff, most severe first; one per rule and item.
    pub fn evaluate(&self, diff: &Diff, after: &ImageMetadata) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        let kind = after.kind();
        for rule in self.rules.iter().filter(|r| r.applies_to(kind)) {
            for c in &diff.changes {
                let Some(f) = rule.found(c, after, rule.check(c)) else {
                    continue;
                };
                out.push(f);
                // Name, reference and top layer of one run image are one event, not three.
                if matches!(rule.subject, Subject::RunImage | Subject::Stack) {
                    break;
                }
            }
        }
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.change.subject.cmp(&b.change.subject))
        });
        out
    }

    /// Findings of the package rules for a package diff: each package that differs is a
    /// [`Change`] of category `package`, subject `name (location)`, its purl as the detail.
    pub fn evaluate_packages(
        &self,
        packages: &crate::packages::diff::PackagesDiff,
        after: &ImageMetadata,
    ) -> Vec<Finding> {
        let kind = after.kind();
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| r.applies_to(kind)) {
            let Subject::Package { purl_type, .. } = &rule.subject else {
                continue;
            };
            for g in &packages.groups {
                for p in &g.changes {
                    if purl_type.as_ref().is_some_and(|t| !t.matches(&p.kind)) {
                        continue;
                    }
                    let mut c = Change::of(
                        Category::Package,
                        &format!("{} ({})", p.name, g.location.describe()),
                        p.before.clone(),
                        p.after.clone(),
                    );
                    c.class = p.class;
                    c.detail = p.purl_after.clone().or_else(|| p.purl_before.clone());
                    if let Some(f) = rule.found(&c, after, rule.check_package(&c, &p.kind)) {
                        out.push(f);
                    }
                }
            }
        }
        out
    }
}
