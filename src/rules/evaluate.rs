//! How one rule meets one change: subject match, condition (crossing in either direction, bug
//! window, range, change class), preconditions on the new image, and the finding's text computed
//! from the real versions. Pure.

use super::*;
use crate::diff::Change;
use crate::metadata::{ImageKind, ImageMetadata};
use crate::version::{self};

pub(super) fn parse_version(v: &Option<String>) -> Result<Option<semver::Version>, String> {
    match v {
        None => Ok(None),
        Some(s) => version::parse(s)
            .map(Some)
            .ok_or_else(|| format!("version `{s}` is not comparable")),
    }
}

impl Rule {
    /// The finding an outcome makes, if any.
    pub(super) fn found(&self, c: &Change, after: &ImageMetadata, o: Outcome) -> Option<Finding> {
        match o {
            Outcome::No => None,
            Outcome::Yes => self.finding(c, after, None),
            Outcome::Reverse => self.reverse_finding(c),
            Outcome::Unknown(why) => self.finding(
                c,
                after,
                Some(format!(
                    "{why}, so bpdrift cannot tell whether this rule applies"
                )),
            ),
        }
    }

    /// Subject, change kind and values: what every rule checks before versions.
    fn matches_unversioned(&self, c: &Change) -> bool {
        if !c.is_change() || !self.subject.matches(c) {
            return false;
        }
        let cond = &self.condition;
        if !cond.change.is_empty() && !cond.change.iter().any(|k| k.matches(c)) {
            return false;
        }
        if let Some(g) = &cond.from_value
            && !c.before.as_deref().is_some_and(|v| g.matches(v))
        {
            return false;
        }
        if let Some(g) = &cond.to_value
            && !c.after.as_deref().is_some_and(|v| g.matches(v))
        {
            return false;
        }
        true
    }

    /// [`Rule::check`] for a package of type `kind`: `introduced`/`fixed` ordered by the package's
    /// own scheme (dpkg for `deb`), ranges by semver where the versions take it.
    pub(super) fn check_package(&self, c: &Change, kind: &str) -> Outcome {
        use std::cmp::Ordering::*;
        if !self.matches_unversioned(c) {
            return Outcome::No;
        }
        let cond = &self.condition;
        if cond.from.is_some() || cond.to.is_some() {
            let (before, after) = match (parse_version(&c.before), parse_version(&c.after)) {
                (Ok(b), Ok(a)) => (b, a),
                (Err(e), _) | (_, Err(e)) => return Outcome::Unknown(e),
            };
            if !in_ranges(cond, &before, &after) {
                return Outcome::No;
            }
        }
        let Some((introduced, fixed)) = &cond.package_bounds else {
            return Outcome::Yes;
        };
        let scheme = crate::packages::dpkg::Scheme::of(kind);
        let cmp = |v: &str, bound: &str| {
            scheme
                .compare(v, bound)
                .ok_or_else(|| format!("version `{v}` is not comparable with `{bound}`"))
        };
        let ge = |v: &Option<String>, bound: &str| -> Result<Option<bool>, String> {
            v.as_deref()
                .map(|v| cmp(v, bound).map(|o| o != Less))
                .transpose()
        };
        let (b_ge, a_ge) = match (ge(&c.before, introduced), ge(&c.after, introduced)) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), _) | (_, Err(e)) => return Outcome::Unknown(e),
        };
        match fixed {
            Some(f) => {
                let below_fixed = match c.after.as_deref().map(|a| cmp(a, f)).transpose() {
                    Ok(o) => o.is_some_and(|o| o == Less),
                    Err(e) => return Outcome::Unknown(e),
                };
                if a_ge == Some(true) && below_fixed {
                    Outcome::Yes
                } else {
                    Outcome::No
                }
            }
            None => match (b_ge, a_ge) {
                (Some(false), Some(true)) | (None, Some(true)) => Outcome::Yes,
                (Some(true), Some(false)) => Outcome::Reverse,
                _ => Outcome::No,
            },
        }
    }

    /// A value rule (`from-value` and `to-value`, no version) met in the other direction: the
    /// old value is one the rule goes to, the new one one it comes from (`jammy → bionic` for a
    /// `bionic → jammy` rule). Its reverse finding says so.
    fn reverse_value(&self, c: &Change) -> bool {
        let cond = &self.condition;
        let (Some(from), Some(to)) = (&cond.from_value, &cond.to_value) else {
            return false;
        };
        cond.introduced.is_none()
            && c.is_change()
            && self.subject.matches(c)
            && (cond.change.is_empty() || cond.change.iter().any(|k| k.matches(c)))
            && c.before.as_deref().is_some_and(|v| to.matches(v))
            && c.after.as_deref().is_some_and(|v| from.matches(v))
            && !c.before.as_deref().is_some_and(|v| from.matches(v))
    }

    pub(super) fn check(&self, c: &Change) -> Outcome {
        if self.reverse_value(c) {
            return Outcome::Reverse;
        }
        if !self.matches_unversioned(c) {
            return Outcome::No;
        }
        let cond = &self.condition;
        let needs_versions = cond.introduced.is_some() || cond.from.is_some() || cond.to.is_some();
        if !needs_versions {
            return Outcome::Yes;
        }
        let (before, after) = match (parse_version(&c.before), parse_version(&c.after)) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), _) | (_, Err(e)) => return Outcome::Unknown(e),
        };
        if !in_ranges(cond, &before, &after) {
            return Outcome::No;
        }
        match (&cond.introduced, &cond.fixed) {
            // The new version lies in the bug window (a rollback into it is a regression too).
            (Some(i), Some(f)) => {
                if after.as_ref().is_some_and(|a| a >= i && a < f) {
                    Outcome::Yes
                } else {
                    Outcome::No
                }
            }
            // Upward across the boundary (or an item added at or past it) brings the behaviour
            // in; downward takes it out again, which the rule's text does not describe.
            (Some(i), None) => match (&before, &after) {
                (Some(b), Some(a)) if b < i && i <= a => Outcome::Yes,
                (Some(b), Some(a)) if a < i && i <= b => Outcome::Reverse,
                (None, Some(a)) if a >= i => Outcome::Yes,
                _ => Outcome::No,
            },
            (None, _) => Outcome::Yes,
        }
    }

    /// Whether the rule applies to an image of this kind.
    pub fn applies_to(&self, kind: ImageKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// The `introduced` version as texts say it (`{boundary}`), empty without one.
    pub(super) fn boundary(&self) -> String {
        if let Some((i, _)) = &self.condition.package_bounds {
            return i.clone();
        }
        self.condition
            .introduced
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The reverse crossing's finding, or `None` when the rule turns it off.
    pub(super) fn reverse_finding(&self, c: &Change) -> Option<Finding> {
        let rev = &self.condition.reverse;
        let severity = rev.severity?;
        let boundary = self.boundary();
        let summary = match &rev.summary {
            Some(s) => self.fill(s, c),
            None if self.condition.introduced.is_none() => format!(
                "back from {} to {}: undoes what the rule describes ({})",
                c.before.as_deref().unwrap_or("none"),
                c.after.as_deref().unwrap_or("none"),
                self.fill(&self.summary, c).trim_end_matches('.')
            ),
            None => format!(
                "back below {boundary} ({} → {}): undoes what {boundary} changed ({})",
                c.before.as_deref().unwrap_or("none"),
                c.after.as_deref().unwrap_or("none"),
                self.fill(&self.summary, c).trim_end_matches('.')
            ),
        };
        Some(Finding {
            rule: self.id.clone(),
            severity,
            affects: self.affects.clone(),
            summary,
            advice: None,
            sources: self.sources.clone(),
            note: None,
            not_applicable: false,
            change: c.clone(),
        })
    }

    /// Fills `{subject}`, `{before}`, `{after}` and `{boundary}` (the `introduced` version).
    pub(super) fn fill(&self, s: &str, c: &Change) -> String {
        let boundary = self.boundary();
        s.replace("{subject}", &c.subject)
            .replace("{before}", c.before.as_deref().unwrap_or("none"))
            .replace("{after}", c.after.as_deref().unwrap_or("none"))
            .replace("{boundary}", &boundary)
    }

    pub(super) fn finding(
        &self,
        c: &Change,
        after: &ImageMetadata,
        note: Option<String>,
    ) -> Option<Finding> {
        let fill = |s: &str| self.fill(s, c);
        let mut severity = self.severity;
        let mut note = note;
        let mut not_applicable = false;
        // What the image shows of a condition that held (a Go binary's DefaultGODEBUG).
        let mut proven: Option<String> = None;
        if note.is_some() {
            severity = Severity::Info;
        } else if let Some(cond) = &self.applies_if {
            match applies(cond, after) {
                Applies::Yes(why) => proven = why,
                Applies::Unknown(what) => {
                    // Nothing to evaluate the condition on: never the rule's own severity.
                    if cond.when_unknown == WhenUnknown::Off {
                        return None;
                    }
                    note = Some(format!("may apply: {what}"));
                    severity = Severity::Info;
                }
                Applies::No(why) => {
                    note = Some(why);
                    severity = Severity::Info;
                    not_applicable = true;
                }
            }
        }
        match (&self.depends_on, proven) {
            // The image shows the condition holds: the rule's own severity, and why.
            (_, Some(why)) => {
                note = Some(match note {
                    Some(n) => format!("{n}; applies: {why}"),
                    None => format!("applies: {why}"),
                });
            }
            // It depends on something the image does not record: at most `info`, and said.
            (Some(d), None) => {
                if !not_applicable {
                    severity = severity.min(Severity::Info);
                }
                let also = format!("depends on {d}");
                note = Some(match note {
                    Some(n) => format!("{n}; {also}"),
                    None => also,
                });
            }
            (None, None) => {}
        }
        Some(Finding {
            rule: self.id.clone(),
            severity,
            affects: self.affects.clone(),
            summary: fill(&self.summary),
            advice: self.advice.as_deref().map(fill),
            sources: self.sources.clone(),
            note,
            not_applicable,
            change: c.clone(),
        })
    }

    /// Whether any item of `images` is this rule's subject (used to catch typos in ids).
    pub fn matches_any_item(&self, items: &[Change]) -> bool {
        items.iter().any(|c| self.subject.matches(c))
    }
}

/// What the new image says of an `applies-if`.
enum Applies {
    /// It holds; for a condition the image shows only indirectly (GODEBUG), how.
    Yes(Option<String>),
    /// It does not hold: the note saying why.
    No(String),
    /// The image records nothing to check it on: what is missing.
    Unknown(String),
}

/// Evaluates an `applies-if` on the new image.
fn applies(cond: &AppliesIf, after: &ImageMetadata) -> Applies {
    let (globs, found): (&Globs, Vec<(String, String)>) = match &cond.target {
        AppliesTarget::Dependency(g) => (
            g,
            after
                .dependencies
                .iter()
                .filter(|d| g.matches(&d.layer))
                .map(|d| (d.layer.clone(), d.version.clone()))
                .collect(),
        ),
        AppliesTarget::Runtime(g) => (
            g,
            after
                .runtimes
                .iter()
                .filter(|r| g.matches(&r.name))
                .map(|r| (r.name.clone(), r.version.clone()))
                .collect(),
        ),
        AppliesTarget::Godebug { setting, old, kept } => {
            return godebug(after, setting, old, *kept);
        }
    };
    let names: Vec<&str> = globs.0.iter().map(glob::Pattern::as_str).collect();
    if found.is_empty() {
        return Applies::Unknown(format!(
            "no {} recorded in the new image, so `{} {}` cannot be checked",
            names.join(" or "),
            names.join(" or "),
            cond.version
        ));
    }
    if found
        .iter()
        .any(|(_, v)| version::parse(v).is_some_and(|v| cond.version.matches(&v)))
    {
        return Applies::Yes(None);
    }
    let found: Vec<String> = found.iter().map(|(n, v)| format!("{n} {v}")).collect();
    Applies::No(format!(
        "applies only when {} is {}; the new image has {}",
        cond.target.describe(),
        cond.version,
        found.join(", ")
    ))
}

/// A GODEBUG condition on the new image's Go binary: a `GODEBUG` in the image's env decides
/// (it overrides every default), else the binary's `DefaultGODEBUG` build setting, which holds
/// the older defaults its go.mod go line keeps; without recorded build settings, unknown.
fn godebug(after: &ImageMetadata, setting: &str, old: &str, want_kept: bool) -> Applies {
    let find = |list: &str| {
        list.split(',')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == setting)
            .map(|(_, v)| v.to_string())
    };
    let (kept, how) = if let Some(v) = after.env.get("GODEBUG").and_then(|g| find(g)) {
        (
            v == old,
            format!("the image's env sets GODEBUG {setting}={v}"),
        )
    } else {
        let Some(go) = after.runtime("go") else {
            return Applies::Unknown("no Go binary recorded in the new image".into());
        };
        match &go.default_godebug {
            None => {
                return Applies::Unknown(format!(
                    "the SBOM records no build settings of the Go binary, so whether its go.mod go line keeps GODEBUG {setting} cannot be checked (a syft JSON SBOM records them)"
                ));
            }
            Some(d) => match find(d) {
                Some(v) => (
                    v == old,
                    format!(
                        "the binary's DefaultGODEBUG keeps {setting}={v} (its go.mod go line is older)"
                    ),
                ),
                None => (
                    false,
                    format!(
                        "the binary's DefaultGODEBUG does not keep {setting} (its go.mod go line is new enough)"
                    ),
                ),
            },
        }
    };
    if kept == want_kept {
        Applies::Yes(Some(how))
    } else {
        Applies::No(format!("does not apply: {how}"))
    }
}

/// `from` and `to` hold for the two versions (a range on a side without a version does not).
fn in_ranges(
    cond: &super::Condition,
    before: &Option<semver::Version>,
    after: &Option<semver::Version>,
) -> bool {
    let holds = |req: &Option<semver::VersionReq>, v: &Option<semver::Version>| {
        req.as_ref()
            .is_none_or(|r| v.as_ref().is_some_and(|v| r.matches(v)))
    };
    holds(&cond.from, before) && holds(&cond.to, after)
}
