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

    pub(super) fn check(&self, c: &Change) -> Outcome {
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
        if note.is_some() {
            severity = Severity::Info;
        } else if let Some(cond) = &self.applies_if {
            let deps: Vec<&crate::metadata::Dependency> = after
                .dependencies
                .iter()
                .filter(|d| cond.dependency.matches(&d.layer))
                .collect();
            let satisfied = deps
                .iter()
                .any(|d| version::parse(&d.version).is_some_and(|v| cond.version.matches(&v)));
            if deps.is_empty() {
                // Nothing to evaluate the condition on: never the rule's own severity.
                if cond.when_unknown == WhenUnknown::Off {
                    return None;
                }
                let names: Vec<&str> = cond
                    .dependency
                    .0
                    .iter()
                    .map(glob::Pattern::as_str)
                    .collect();
                note = Some(format!(
                    "may apply: no {} recorded in the new image, so `{} {}` cannot be checked",
                    names.join(" or "),
                    names.join(" or "),
                    cond.version
                ));
                severity = Severity::Info;
            } else if !satisfied {
                let found: Vec<String> = deps
                    .iter()
                    .map(|d| format!("{} {}", d.layer, d.version))
                    .collect();
                note = Some(format!(
                    "applies only when {} is {}; the new image has {}",
                    cond.dependency,
                    cond.version,
                    found.join(", ")
                ));
                severity = Severity::Info;
            }
        }
        Some(Finding {
            rule: self.id.clone(),
            severity,
            affects: self.affects.clone(),
            summary: fill(&self.summary),
            advice: self.advice.as_deref().map(fill),
            sources: self.sources.clone(),
            note,
            change: c.clone(),
        })
    }

    /// Whether any item of `images` is this rule's subject (used to catch typos in ids).
    pub fn matches_any_item(&self, items: &[Change]) -> bool {
        items.iter().any(|c| self.subject.matches(c))
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
