//! Two images' packages compared location by location: added, removed and changed packages with
//! the class of each move ([`super::dpkg::Scheme`]), and the verdict's words for them. Pure.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::dpkg::Scheme;
use super::{Group, ImagePackages, Location};
use crate::diff::Status;
use crate::version::VersionClass;

/// One package that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageChange {
    /// Package name.
    pub name: String,
    /// Package type (`deb`, `maven`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Architecture, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// `added`, `removed` or `changed`.
    pub status: Status,
    /// Version in the first image (several joined by `, ` when it holds several).
    pub before: Option<String>,
    /// Version in the second image.
    pub after: Option<String>,
    /// How the version moved (dpkg's order for `deb`, semver-like otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<VersionClass>,
    /// Package URL in the first image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl_before: Option<String>,
    /// Package URL in the second image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl_after: Option<String>,
}

impl PackageChange {
    /// `patch`, `revision`, …, else the status.
    pub fn class_word(&self) -> &'static str {
        match self.class {
            Some(k) => k.as_str(),
            None => self.status.as_str(),
        }
    }

    /// `libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} → {}",
            self.name,
            self.before.as_deref().unwrap_or("none"),
            self.after.as_deref().unwrap_or("none")
        )
    }
}

/// One location compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupDiff {
    /// Where: `{"location": "run-image"}`, `{"location": "buildpack", "buildpack": "…"}`,
    /// `{"location": "app"}`.
    #[serde(flatten)]
    pub location: Location,
    /// What the first image's packages were read from (empty: it has none here).
    pub sources_before: Vec<String>,
    /// What the second image's were read from.
    pub sources_after: Vec<String>,
    /// Packages only in the second image.
    pub added: usize,
    /// Packages only in the first image.
    pub removed: usize,
    /// Packages in both at different versions.
    pub changed: usize,
    /// Packages in both at the same version.
    pub unchanged: usize,
    /// Entries left out at the limit, either side (the counts do not include them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: usize,
    /// The packages that differ, by name.
    pub changes: Vec<PackageChange>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl GroupDiff {
    /// Whether anything here differs.
    pub fn differs(&self) -> bool {
        self.added + self.removed + self.changed > 0
    }

    /// The verdict's words: `run image: 7 OS packages changed (libssl3 3.0.2-0ubuntu1.9 →
    /// 3.0.2-0ubuntu1.10, …), 1 added, 2 removed`; `None` when nothing differs.
    pub fn phrase(&self) -> Option<String> {
        if !self.differs() {
            return None;
        }
        let loc = &self.location;
        // A run image whose packages one side does not record at all (no SBOM layer, no label)
        // did not gain or lose them: say which side is silent.
        if *loc == Location::RunImage
            && (self.sources_before.is_empty() || self.sources_after.is_empty())
        {
            let (n, side) = if self.sources_before.is_empty() {
                (self.added, "old")
            } else {
                (self.removed, "new")
            };
            return Some(format!(
                "run image: {n} {} (not recorded in the {side} image)",
                loc.noun(n)
            ));
        }
        let mut parts = Vec::new();
        if self.changed > 0 {
            // The biggest moves first: a major bump says more than a rebuild.
            let mut moved: Vec<&PackageChange> = self
                .changes
                .iter()
                .filter(|c| c.status == Status::Changed)
                .collect();
            moved.sort_by_key(|c| (c.class, c.name.clone()));
            let mut shown: Vec<String> = moved.iter().take(2).map(|c| c.describe()).collect();
            if self.changed > 2 {
                shown.push("…".into());
            }
            parts.push(format!(
                "{} {} changed ({})",
                self.changed,
                loc.noun(self.changed),
                shown.join(", ")
            ));
        }
        for (n, word) in [(self.added, "added"), (self.removed, "removed")] {
            if n == 0 {
                continue;
            }
            if parts.is_empty() {
                parts.push(format!("{n} {} {word}", loc.noun(n)));
            } else {
                parts.push(format!("{n} {word}"));
            }
        }
        Some(format!("{}: {}", loc.describe(), parts.join(", ")))
    }
}

/// A note about one image's packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SideNote {
    /// `before` or `after`.
    pub image: String,
    /// What bpdrift could not read, in words.
    pub note: String,
}

/// Both images' packages compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackagesDiff {
    /// Whether the SBOM layers were read (`--sbom`); otherwise only the packages label was.
    pub sbom: bool,
    /// One entry per location either image has packages in: run image, buildpacks, app.
    pub groups: Vec<GroupDiff>,
    /// What could not be read.
    pub notes: Vec<SideNote>,
}

impl PackagesDiff {
    /// The verdict's words for every location that differs.
    pub fn phrases(&self) -> Vec<String> {
        self.groups.iter().filter_map(GroupDiff::phrase).collect()
    }
}

/// What one side holds of a package: its versions (several when a document lists it more than
/// once at different versions), arch and purl.
#[derive(Default)]
struct Held {
    versions: Vec<String>,
    arch: Option<String>,
    purl: Option<String>,
}

fn index(g: Option<&Group>) -> BTreeMap<(String, String), Held> {
    let mut out: BTreeMap<(String, String), Held> = BTreeMap::new();
    for p in g.map(|g| g.packages.as_slice()).unwrap_or_default() {
        let h = out.entry((p.name.clone(), p.kind.clone())).or_default();
        if !h.versions.contains(&p.version) {
            h.versions.push(p.version.clone());
        }
        h.arch = h.arch.take().or_else(|| p.arch.clone());
        h.purl = h.purl.take().or_else(|| p.purl.clone());
    }
    for h in out.values_mut() {
        h.versions.sort();
    }
    out
}

fn compare_group(location: Location, b: Option<&Group>, a: Option<&Group>) -> GroupDiff {
    let (ib, ia) = (index(b), index(a));
    let mut keys: Vec<&(String, String)> = ib.keys().chain(ia.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut g = GroupDiff {
        location,
        sources_before: b.map(|g| g.sources.clone()).unwrap_or_default(),
        sources_after: a.map(|g| g.sources.clone()).unwrap_or_default(),
        added: 0,
        removed: 0,
        changed: 0,
        unchanged: 0,
        truncated: b.map_or(0, |g| g.truncated) + a.map_or(0, |g| g.truncated),
        changes: Vec::new(),
    };
    for key in keys {
        let (hb, ha) = (ib.get(key), ia.get(key));
        let joined = |h: Option<&Held>| h.map(|h| h.versions.join(", "));
        let (vb, va) = (joined(hb), joined(ha));
        let scheme = Scheme::of(&key.1);
        let (status, class) = match (hb, ha) {
            (None, Some(_)) => (Status::Added, None),
            (Some(_), None) => (Status::Removed, None),
            (Some(x), Some(y)) if x.versions.len() == 1 && y.versions.len() == 1 => {
                match scheme.classify(&x.versions[0], &y.versions[0]) {
                    None => (Status::Unchanged, None),
                    Some(k) => (Status::Changed, Some(k)),
                }
            }
            _ if vb == va => (Status::Unchanged, None),
            _ => (Status::Changed, Some(VersionClass::NotComparable)),
        };
        match status {
            Status::Added => g.added += 1,
            Status::Removed => g.removed += 1,
            Status::Changed => g.changed += 1,
            Status::Unchanged => {
                g.unchanged += 1;
                continue;
            }
        }
        g.changes.push(PackageChange {
            name: key.0.clone(),
            kind: key.1.clone(),
            arch: ha
                .and_then(|h| h.arch.clone())
                .or(hb.and_then(|h| h.arch.clone())),
            status,
            before: vb,
            after: va,
            class,
            purl_before: hb.and_then(|h| h.purl.clone()),
            purl_after: ha.and_then(|h| h.purl.clone()),
        });
    }
    g
}

/// Compares two images' packages location by location (in the order the new image has them,
/// then locations only the old one has).
pub fn diff(before: &ImagePackages, after: &ImagePackages, sbom: bool) -> PackagesDiff {
    let mut locations: Vec<&Location> = after.groups.iter().map(|g| &g.location).collect();
    for g in &before.groups {
        if !locations.contains(&&g.location) {
            locations.push(&g.location);
        }
    }
    let find = |p: &'_ ImagePackages, l: &Location| -> Option<Group> {
        p.groups.iter().find(|g| &g.location == l).cloned()
    };
    let groups = locations
        .into_iter()
        .map(|l| compare_group(l.clone(), find(before, l).as_ref(), find(after, l).as_ref()))
        .collect();
    let notes = before
        .notes
        .iter()
        .map(|n| ("before", n))
        .chain(after.notes.iter().map(|n| ("after", n)))
        .map(|(image, n)| SideNote {
            image: image.into(),
            note: n.clone(),
        })
        .collect();
    PackagesDiff {
        sbom,
        groups,
        notes,
    }
}
