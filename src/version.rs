//! Version strings as buildpacks record them, and the class of a change between two of them.
//!
//! Recorded versions are mostly semver, but not always: `""` (lifecycle 0.3), `v1.0.87`, `0.1`,
//! `v0.0.5.0.1`, `{{.version}}`. A version is normalised only where that is unambiguous (`v1.2`
//! and `1.2` are 1.2.0); anything else is "not comparable", never silently equal or ordered.

use std::cmp::Ordering;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Parses a recorded version: strips one ecosystem prefix (`v`, `go`, `ruby-` …, see
/// [`strip_prefix`]), reads leading zeros in numeric parts as numbers (`22.04` is 22.4.0), pads
/// `1` and `1.2` to three parts.
pub fn parse(text: &str) -> Option<semver::Version> {
    let t = strip_prefix(text.trim());
    if t.is_empty() {
        return None;
    }
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    // Pad only the numeric core; `1.2-rc1` is ambiguous enough to leave alone.
    let parts: Vec<&str> = t.split('.').collect();
    if parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let mut nums: Vec<String> = parts
            .iter()
            .map(|p| {
                let n = p.trim_start_matches('0');
                if n.is_empty() {
                    "0".into()
                } else {
                    n.to_string()
                }
            })
            .collect();
        while nums.len() < 3 {
            nums.push("0".into());
        }
        return semver::Version::parse(&nums.join(".")).ok();
    }
    None
}

/// Ecosystem prefixes of a version, each only when a digit follows: `go1.22.5` (Go's
/// `runtime.Version()`, syft's `stdlib`), `v20.11.1` (Node.js, and many tags), `ruby-3.3.0`,
/// `jdk-21.0.2`, `php-8.2.14`, `python-3.12.1`, `node-v20.11.1`.
pub fn strip_prefix(t: &str) -> &str {
    const PREFIXES: &[&str] = &[
        "go", "v", "ruby-", "jdk-", "php-", "python-", "node-v", "node-", "nginx-", "httpd-",
    ];
    for p in PREFIXES {
        if let Some(rest) = t
            .get(..p.len())
            .filter(|h| h.eq_ignore_ascii_case(p))
            .map(|_| &t[p.len()..])
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            return rest;
        }
    }
    t
}

/// [`normalize`] for the runtime `name`: the JVM's own forms first (`1.8.0_372` → `8.0.372`,
/// Google's `11.0.22_10` → `11.0.22+10`, `21.0.1_12-Ubuntu-222.04` → `21.0.1+12-Ubuntu-222.04`).
pub fn normalize_for(name: &str, text: &str) -> String {
    let t = text.trim();
    if name == "java" {
        let t = strip_prefix(t);
        let (core, build) = match t.split_once('_') {
            Some((c, b)) => (c, Some(b)),
            None => (t, None),
        };
        // Java 8 as `1.8.0`: the second part is the release.
        let core = match core.strip_prefix("1.8.0") {
            Some("") if build.is_some() => {
                return format!("8.0.{}", build.unwrap_or_default());
            }
            _ => core,
        };
        if let Some(b) = build
            && !b.is_empty()
        {
            return format!("{}+{b}", normalize(core));
        }
    }
    // JRuby as heroku/ruby records it: `2.5.7-jruby-9.2.13.0` is Ruby 2.5.7 (not a pre-release).
    if name == "ruby"
        && let Some((core, jruby)) = t.split_once("-jruby-")
    {
        return format!("{}+jruby-{jruby}", normalize(core));
    }
    normalize(t)
}

/// A runtime's version as its ecosystem writes it, in the form rules compare and views show:
/// the prefix stripped (`go1.22.5` → `1.22.5`, `v20.11.1` → `20.11.1`), a Go pre-release made
/// semver (`go1.23rc1` → `1.23.0-rc1`), a fourth numeric part (JDK `17.0.4.1`) kept as build
/// metadata of the third (`17.0.4+1`: it orders between 17.0.4 and 17.0.5 for every boundary a
/// rule can name). Anything else is kept as written (and is then "not comparable").
pub fn normalize(text: &str) -> String {
    let t = strip_prefix(text.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Go: `1.23rc1`, `1.21beta2`, `1.20` (first releases before 1.21 had no `.0`).
    for tag in ["rc", "beta", "alpha"] {
        if let Some((core, n)) = t.split_once(tag)
            && digits(n)
            && core.split('.').all(digits)
            && core.split('.').count() <= 3
        {
            let mut parts: Vec<&str> = core.split('.').collect();
            while parts.len() < 3 {
                parts.push("0");
            }
            return format!("{}-{tag}{n}", parts.join("."));
        }
    }
    let parts: Vec<&str> = t.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| digits(p)) {
        return format!("{}.{}.{}+{}", parts[0], parts[1], parts[2], parts[3]);
    }
    t.to_string()
}

/// How a version moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum VersionClass {
    /// First component went up.
    Major,
    /// Second component went up.
    Minor,
    /// Third component went up.
    Patch,
    /// Only the pre-release part changed, upwards (`1.0.0-rc1 → 1.0.0`).
    Prerelease,
    /// Only build metadata changed (`1.2.3 → 1.2.3+build.5`): semver gives it no precedence,
    /// so it is neither up nor down, but it is a comparable, different build.
    BuildMetadata,
    /// Only the packaging revision moved, upwards (Debian `3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10`):
    /// the same upstream version, rebuilt or patched by the distribution.
    Revision,
    /// The new version is lower.
    Downgrade,
    /// At least one side is not a version bpdrift can order; the strings differ.
    NotComparable,
}

impl VersionClass {
    /// The kebab-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Major => "major",
            Self::Minor => "minor",
            Self::Patch => "patch",
            Self::Prerelease => "prerelease",
            Self::BuildMetadata => "build-metadata",
            Self::Revision => "revision",
            Self::Downgrade => "downgrade",
            Self::NotComparable => "not-comparable",
        }
    }
}

impl fmt::Display for VersionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `after` is a pre-release that bumped major, minor or patch (`1.2.3 → 1.2.4-rc.1` is a
/// prerelease patch): the class says how far it moved, this says it is not a release.
pub fn is_prerelease_bump(before: &str, after: &str) -> bool {
    match (parse(before), parse(after)) {
        (Some(b), Some(a)) => {
            !a.pre.is_empty() && (a.major, a.minor, a.patch) > (b.major, b.minor, b.patch)
        }
        _ => false,
    }
}

/// Compares two supported-API lists (`0.3, 0.4, 0.12`) as sets: `None` when equal in any order,
/// else the class of the highest version's move, `minor` when only versions were added at or
/// below the highest, `not-comparable` when some were dropped without a new highest.
pub fn classify_set(before: &str, after: &str) -> Option<VersionClass> {
    let set = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (b, a) = (set(before), set(after));
    if b == a {
        return None;
    }
    let max = |v: &[String]| v.iter().filter_map(|x| parse(x)).max();
    let (mb, ma) = (max(&b), max(&a));
    let lost = b.iter().any(|x| !a.contains(x));
    match (mb, ma) {
        (Some(mb), Some(ma)) if ma != mb => classify(&mb.to_string(), &ma.to_string()),
        (Some(_), Some(_)) if !lost => Some(VersionClass::Minor),
        _ => Some(VersionClass::NotComparable),
    }
}

/// The class of a change from `before` to `after`, or `None` when they are the same version
/// (`1.2` and `v1.2.0` are the same).
pub fn classify(before: &str, after: &str) -> Option<VersionClass> {
    if before == after {
        return None;
    }
    let (Some(b), Some(a)) = (parse(before), parse(after)) else {
        return Some(VersionClass::NotComparable);
    };
    match a.cmp_precedence(&b) {
        Ordering::Equal if a.build == b.build => None,
        Ordering::Equal => Some(VersionClass::BuildMetadata),
        Ordering::Less => Some(VersionClass::Downgrade),
        Ordering::Greater => Some(if a.major != b.major {
            VersionClass::Major
        } else if a.minor != b.minor {
            VersionClass::Minor
        } else if a.patch != b.patch {
            VersionClass::Patch
        } else {
            VersionClass::Prerelease
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VersionClass::*;

    #[test]
    fn classes() {
        assert_eq!(classify("10.2.3", "10.2.4"), Some(Patch));
        assert_eq!(classify("1.30.1", "1.31.0"), Some(Minor));
        assert_eq!(classify("9.9.0", "10.0.0"), Some(Major));
        assert_eq!(classify("10.2.4", "10.2.3"), Some(Downgrade));
        assert_eq!(classify("1.0.0-rc1", "1.0.0"), Some(Prerelease));
        assert_eq!(classify("v1.0.87", "1.0.88"), Some(Patch));
        assert_eq!(classify("0.1", "0.2"), Some(Minor));
        assert_eq!(classify("v1.2", "1.2.0"), None);
        assert_eq!(classify("", "1.0.0"), Some(NotComparable));
        assert_eq!(classify("v0.0.5.0.1", "v0.0.5.0.2"), Some(NotComparable));
        assert_eq!(classify("{{.version}}", "1.0.0"), Some(NotComparable));
        assert_eq!(classify("same", "same"), None);
        // Issue 14: build metadata is its own class, a pre-release bump keeps its distance.
        assert_eq!(classify("1.2.3", "1.2.3+build.5"), Some(BuildMetadata));
        assert_eq!(classify("1.2.3", "1.2.4-rc.1"), Some(Patch));
        assert!(is_prerelease_bump("1.2.3", "1.2.4-rc.1"));
        assert!(!is_prerelease_bump("1.2.3", "1.2.4"));
        assert!(!is_prerelease_bump("1.0.0-rc1", "1.0.0"));
    }

    #[test]
    fn api_lists_are_sets() {
        assert_eq!(classify_set("0.3, 0.4", "0.4, 0.3"), None);
        assert_eq!(classify_set("0.11, 0.12", "0.11, 0.12, 0.13"), Some(Minor));
        assert_eq!(classify_set("0.3, 0.12", "0.3, 0.4, 0.12"), Some(Minor));
        assert_eq!(
            classify_set("0.3, 0.4, 0.12", "0.4, 0.12"),
            Some(NotComparable)
        );
        assert_eq!(classify_set("0.12, 0.13", "0.12"), Some(Downgrade));
        assert_eq!(classify_set("0.3", "0.4"), Some(Minor));
    }

    #[test]
    fn parse_is_strict_about_ambiguity() {
        assert_eq!(parse("v1.2").unwrap().to_string(), "1.2.0");
        assert_eq!(parse("7").unwrap().to_string(), "7.0.0");
        assert!(parse("1.2-rc1").is_none());
        assert!(parse("17.0.4.1").is_none());
    }

    #[test]
    fn ecosystem_forms() {
        // Go (syft's `stdlib`), Node.js (packit's purl), Ruby, JDK tags, distro versions.
        assert_eq!(parse("go1.23.0").unwrap().to_string(), "1.23.0");
        assert_eq!(parse("v20.11.1").unwrap().to_string(), "20.11.1");
        assert_eq!(parse("ruby-3.3.0").unwrap().to_string(), "3.3.0");
        assert_eq!(parse("22.04").unwrap().to_string(), "22.4.0");
        assert!(parse("22.04").unwrap() < parse("24.04").unwrap());
        // A prefix only counts before a digit: `good` and `vendor` are not versions.
        assert!(parse("good").is_none());
        assert!(parse("vx1").is_none());
        assert_eq!(normalize("go1.22.5"), "1.22.5");
        assert_eq!(normalize("go1.23rc1"), "1.23.0-rc1");
        assert_eq!(normalize("go1.20"), "1.20");
        assert_eq!(normalize("v20.11.1"), "20.11.1");
        assert_eq!(normalize("17.0.4.1"), "17.0.4+1");
        assert_eq!(normalize("22.04"), "22.04");
        assert_eq!(normalize("{{.version}}"), "{{.version}}");
        let v = |s: &str| parse(&normalize(s)).unwrap();
        assert!(v("go1.23rc1") < v("go1.23.0"));
        assert!(v("17.0.4") <= v("17.0.4.1") && v("17.0.4.1") < v("17.0.5"));
        assert_eq!(classify("go1.22.5", "go1.23.0"), Some(VersionClass::Minor));
        // The JVM as Heroku and Google write it.
        assert_eq!(normalize_for("java", "1.8.0_372"), "8.0.372");
        assert_eq!(normalize_for("java", "11.0.22_10"), "11.0.22+10");
        assert_eq!(
            normalize_for("java", "21.0.1_12-Ubuntu-222.04"),
            "21.0.1+12-Ubuntu-222.04"
        );
        assert_eq!(normalize_for("java", "17.0.20.1"), "17.0.20+1");
        assert!(parse(&normalize_for("java", "21.0.1_12-Ubuntu-222.04")).is_some());
        assert_eq!(
            normalize_for("ruby", "2.5.7-jruby-9.2.13.0"),
            "2.5.7+jruby-9.2.13.0"
        );
    }
}
