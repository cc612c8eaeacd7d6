//! Package versions compared the way their package manager compares them: Debian versions exactly
//! as dpkg does (`lib/dpkg/version.c`: epoch, upstream, revision; `~` before everything, letters
//! before other characters), everything else semver-like with a token-wise fallback (Maven's
//! `31.1-jre`, `2.0.0.RELEASE`). Each comparison also names the class of the move, in the
//! vocabulary of [`crate::version::VersionClass`]. Pure.

use std::cmp::Ordering;

use crate::version::VersionClass;

/// A Debian version split into its three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebVersion<'a> {
    /// Epoch (`1` in `1:1.2.11.dfsg-2ubuntu9.2`); 0 when absent.
    pub epoch: u64,
    /// Upstream version (`1.2.11.dfsg`).
    pub upstream: &'a str,
    /// Debian revision (`2ubuntu9.2`); empty when absent (compares as `0`).
    pub revision: &'a str,
}

impl<'a> DebVersion<'a> {
    /// Splits `v` as dpkg does: the epoch before the first `:`, the revision after the last `-`.
    /// An epoch that is not a number is kept in the upstream part (dpkg refuses such a version;
    /// bpdrift still orders it rather than failing a diff).
    pub fn parse(v: &'a str) -> Self {
        let v = v.trim();
        let (epoch, rest) = match v.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
                (e.parse().unwrap_or(u64::MAX), rest)
            }
            _ => (0, v),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Self {
            epoch,
            upstream,
            revision,
        }
    }
}

/// dpkg's `order()`: digits 0, letters themselves, `~` below everything (even the end), other
/// characters after all letters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp()`: alternating non-digit and digit runs, non-digits by [`order`], digits
/// numerically (leading zeros ignored, any length).
pub fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Compares two Debian versions as `dpkg --compare-versions` does.
pub fn compare_deb(a: &str, b: &str) -> Ordering {
    let (a, b) = (DebVersion::parse(a), DebVersion::parse(b));
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}

/// The dotted components of an upstream version (`1.2.11.dfsg` → `1`, `2`, `11`, `dfsg`), for
/// the class of a move: which component changed first.
fn components(v: &str) -> Vec<&str> {
    v.split(['.', '+', '~', '-', '_'])
        .filter(|p| !p.is_empty())
        .collect()
}

/// major / minor / patch by the first component that differs (0, 1, later).
fn class_by_component(before: &str, after: &str) -> VersionClass {
    let (b, a) = (components(before), components(after));
    let first = (0..b.len().max(a.len()))
        .find(|&k| b.get(k) != a.get(k))
        .unwrap_or(usize::MAX);
    match first {
        0 => VersionClass::Major,
        1 => VersionClass::Minor,
        _ => VersionClass::Patch,
    }
}

/// The class of a Debian package's move, `None` when dpkg calls the versions equal: an epoch bump
/// is `major`, an upstream move is classed by its first differing component, a move of the
/// Debian revision alone (`3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10`, a rebuilt or patched package)
/// is `revision`, anything lower is `downgrade`.
pub fn classify_deb(before: &str, after: &str) -> Option<VersionClass> {
    match compare_deb(after, before) {
        Ordering::Equal => None,
        Ordering::Less => Some(VersionClass::Downgrade),
        Ordering::Greater => {
            let (b, a) = (DebVersion::parse(before), DebVersion::parse(after));
            Some(if a.epoch != b.epoch {
                VersionClass::Major
            } else if verrevcmp(a.upstream, b.upstream) == Ordering::Equal {
                VersionClass::Revision
            } else {
                class_by_component(b.upstream, a.upstream)
            })
        }
    }
}

/// Token-wise order for versions semver does not take (`31.1-jre`, `2.0.0.RELEASE`, `17.0.4.1`):
/// numbers numerically, words as text, a missing token before a present one. `None` when a side
/// has no digit at all (no order worth trusting).
pub fn compare_generic(a: &str, b: &str) -> Option<Ordering> {
    let has_digit = |s: &str| s.bytes().any(|c| c.is_ascii_digit());
    if !has_digit(a) || !has_digit(b) {
        return None;
    }
    let (ta, tb) = (
        components(a.trim_start_matches('v')),
        components(b.trim_start_matches('v')),
    );
    for k in 0..ta.len().max(tb.len()) {
        let o = match (ta.get(k), tb.get(k)) {
            (Some(x), Some(y)) => match (x.parse::<u128>(), y.parse::<u128>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => x.cmp(y),
            },
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    Some(Ordering::Equal)
}

/// How a package's version scheme is compared, from its purl or SBOM type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Debian and Ubuntu packages (`deb`).
    Deb,
    /// Anything else: semver where it parses, tokens otherwise.
    Generic,
}

impl Scheme {
    /// The scheme of a package type (`deb`, `maven`, `npm`, …).
    pub fn of(kind: &str) -> Self {
        if kind == "deb" {
            Self::Deb
        } else {
            Self::Generic
        }
    }

    /// Orders two versions; `None` when they cannot be ordered.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Self::Deb => Some(compare_deb(a, b)),
            Self::Generic => match (crate::version::parse(a), crate::version::parse(b)) {
                (Some(x), Some(y)) => Some(x.cmp_precedence(&y)),
                _ => compare_generic(a, b),
            },
        }
    }

    /// The class of a move from `before` to `after`; `None` when they are the same version.
    pub fn classify(self, before: &str, after: &str) -> Option<VersionClass> {
        match self {
            Self::Deb => classify_deb(before, after),
            Self::Generic => match crate::version::classify(before, after) {
                Some(VersionClass::NotComparable) => match compare_generic(after, before) {
                    Some(Ordering::Equal) => None,
                    Some(Ordering::Less) => Some(VersionClass::Downgrade),
                    Some(Ordering::Greater) => Some(class_by_component(before, after)),
                    None => Some(VersionClass::NotComparable),
                },
                other => other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;
    use VersionClass::*;

    /// `Greater`, short enough to keep the long cases on one line each.
    const GT: Ordering = Greater;

    #[test]
    fn dpkg_order() {
        // dpkg's own test cases (lib/dpkg/t/t-version.c) and the ones that matter on Ubuntu.
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0-0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1:1.0", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0+", Less),
            ("1.0+dfsg", "1.0", Greater),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9", Greater),
            ("1:1.2.11.dfsg-2ubuntu9.2", "1:1.2.11.dfsg-2ubuntu9", GT),
            ("1:1.2.11.dfsg-2ubuntu9.2", "1.2.13-1", Greater),
            ("2023c-0ubuntu0.22.04.2", "2023c-0ubuntu0.22.04.1", Greater),
            ("2.35-0ubuntu3.1", "2.35-0ubuntu3", Greater),
            ("20230311ubuntu0.22.04.1", "20211016ubuntu0.22.04.1", GT),
            ("1.0-1~bpo1", "1.0-1", Less),
            ("a", "b", Less),
            ("", "", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_deb(a, b), want, "{a} vs {b}");
            assert_eq!(compare_deb(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn deb_parts() {
        let v = DebVersion::parse("1:1.2.11.dfsg-2ubuntu9.2");
        assert_eq!(
            (v.epoch, v.upstream, v.revision),
            (1, "1.2.11.dfsg", "2ubuntu9.2")
        );
        let v = DebVersion::parse("2:8.2.3995-1ubuntu2.13");
        assert_eq!((v.epoch, v.upstream), (2, "8.2.3995"));
        // Hyphens in the upstream part: the revision is after the last one.
        let v = DebVersion::parse("1.2-3-4");
        assert_eq!((v.upstream, v.revision), ("1.2-3", "4"));
    }

    #[test]
    fn deb_classes() {
        let c = classify_deb;
        assert_eq!(c("3.0.2-0ubuntu1.9", "3.0.2-0ubuntu1.10"), Some(Revision));
        assert_eq!(c("3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9"), Some(Downgrade));
        assert_eq!(
            c("1:1.2.11.dfsg-2ubuntu9", "1:1.2.11.dfsg-2ubuntu9.2"),
            Some(Revision)
        );
        assert_eq!(c("1:1.2.11.dfsg-2ubuntu9.2", "1:1.2.13-1"), Some(Patch));
        assert_eq!(c("1.2.13-1", "1:1.2.11.dfsg-2ubuntu9.2"), Some(Major));
        assert_eq!(c("2.35-0ubuntu3.1", "2.36-0ubuntu1"), Some(Minor));
        assert_eq!(c("3.0.2-0ubuntu1", "4.0.0-1"), Some(Major));
        assert_eq!(c("1.0", "1.0-0"), None);
        assert_eq!(c("1.0~rc1-1", "1.0-1"), Some(Patch));
    }

    #[test]
    fn generic_classes() {
        let g = Scheme::Generic;
        assert_eq!(g.classify("17.0.6", "17.0.7"), Some(Patch));
        assert_eq!(g.classify("3.1.0", "3.2.0"), Some(Minor));
        assert_eq!(g.classify("31.1-jre", "32.0-jre"), Some(Major));
        assert_eq!(g.classify("2.0.0.RELEASE", "2.0.1.RELEASE"), Some(Patch));
        assert_eq!(g.classify("17.0.4.1", "17.0.4"), Some(Downgrade));
        assert_eq!(g.classify("abc", "abd"), Some(NotComparable));
        assert_eq!(g.classify("1.0", "1.0.0"), None);
        assert_eq!(g.compare("17.0.10", "17.0.9"), Some(Greater));
        assert_eq!(Scheme::of("deb").compare("1.0~rc1", "1.0"), Some(Less));
    }
}
