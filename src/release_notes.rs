//! Release notes of every version a buildpack moved through (`diff --release-notes`): which
//! GitHub repository a buildpack is released from, which of its releases lie between the two
//! versions, and each one's text, bounded. Pure: the releases arrive already fetched
//! (`github::releases`), the report carries what is chosen here.
//!
//! Release bodies are text from the internet: each is cut to [`BODY_MAX`] bytes, its headline
//! to [`HEADLINE_MAX`] characters, and every renderer escapes them for its own output.

use serde::{Deserialize, Serialize};

/// Bytes of one release body kept (GitHub allows 125,000 characters).
pub const BODY_MAX: usize = 16 * 1024;
/// Characters of a headline.
pub const HEADLINE_MAX: usize = 120;
/// Releases kept per buildpack move (a move over years of weekly releases shows the newest).
pub const RELEASES_MAX: usize = 50;

/// A GitHub release as the REST API lists it: only the fields shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Release {
    /// `v10.2.4`.
    #[serde(default)]
    pub tag_name: String,
    /// The release's title.
    #[serde(default)]
    pub name: Option<String>,
    /// Its notes (Markdown as written; bounded here).
    #[serde(default)]
    pub body: Option<String>,
    /// Its page.
    #[serde(default)]
    pub html_url: String,
    /// When it was published.
    #[serde(default)]
    pub published_at: Option<String>,
    /// Drafts and pre-releases are listed but not versions users get.
    #[serde(default)]
    pub draft: bool,
    /// A pre-release.
    #[serde(default)]
    pub prerelease: bool,
}

impl Release {
    /// The release with its body cut to [`BODY_MAX`] bytes (what is kept in memory and in the
    /// cache: a page of 100 releases of 125,000 characters each is 12 MB).
    pub fn bounded(mut self) -> Self {
        if let Some(b) = &self.body
            && b.len() > BODY_MAX + 1
        {
            // One byte over the limit keeps "it was longer" for `Note::truncated`.
            let (cut, _) = cut(b, BODY_MAX + 1);
            self.body = Some(cut);
        }
        for s in [&mut self.tag_name, &mut self.html_url] {
            if s.len() > 1024 {
                *s = cut(s, 1024).0;
            }
        }
        if let Some(n) = &mut self.name
            && n.len() > 1024
        {
            *n = cut(n, 1024).0;
        }
        self
    }
}

/// One version's notes, as the report shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Note {
    /// The version (`10.2.4`).
    pub version: String,
    /// The release page.
    pub url: String,
    /// The first line worth reading: the release title, else the body's first line.
    pub headline: String,
    /// The notes, cut at [`BODY_MAX`] bytes.
    pub body: String,
    /// The body was longer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

/// The notes of one buildpack's move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BuildpackNotes {
    /// Buildpack id.
    pub buildpack: String,
    /// `owner/repo` on GitHub.
    pub repository: String,
    /// The old version.
    pub from: String,
    /// The new version.
    pub to: String,
    /// Every release after `from` up to and including `to`, oldest first (for a downgrade: the
    /// releases being undone, newest first).
    pub releases: Vec<Note>,
    /// Releases in between left out at [`RELEASES_MAX`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
    /// Why the notes are missing or partial (the API failed, no release of that version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Repositories of buildpacks whose homepage is not their repository (monorepos, vendors).
const KNOWN: &[(&str, &str)] = &[
    ("heroku/nodejs*", "heroku/buildpacks-nodejs"),
    ("heroku/python", "heroku/buildpacks-python"),
    ("heroku/ruby", "heroku/buildpacks-ruby"),
    ("heroku/jvm", "heroku/buildpacks-jvm"),
    ("heroku/java", "heroku/buildpacks-jvm"),
    ("heroku/maven", "heroku/buildpacks-jvm"),
    ("heroku/gradle", "heroku/buildpacks-jvm"),
    ("heroku/go", "heroku/buildpacks-go"),
    ("heroku/dotnet", "heroku/buildpacks-dotnet"),
    ("heroku/php", "heroku/buildpacks-php"),
    ("heroku/procfile", "heroku/buildpacks-procfile"),
];

/// The GitHub repository a buildpack is released from: its homepage when that is a GitHub
/// repository (`https://github.com/paketo-buildpacks/bellsoft-liberica`, also with a
/// `/tree/…` path), else the built-in map, else Paketo's convention (`paketo-buildpacks/<name>`
/// lives at `github.com/paketo-buildpacks/<name>`).
pub fn repository(id: &str, homepage: Option<&str>) -> Option<String> {
    if let Some(h) = homepage
        && let Some(path) = h
            .trim()
            .strip_prefix("https://github.com/")
            .or_else(|| h.trim().strip_prefix("http://github.com/"))
    {
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        if let (Some(o), Some(r)) = (parts.next(), parts.next()) {
            let r = r.strip_suffix(".git").unwrap_or(r);
            if valid(o) && valid(r) {
                return Some(format!("{o}/{r}"));
            }
        }
    }
    if let Some((_, repo)) = KNOWN
        .iter()
        .find(|(p, _)| glob::Pattern::new(p).is_ok_and(|g| g.matches(id)))
    {
        return Some((*repo).to_string());
    }
    let (org, name) = id.split_once('/')?;
    (["paketo-buildpacks", "paketo-community"].contains(&org) && valid(name))
        .then(|| format!("{org}/{name}"))
}

/// A GitHub owner or repository name: letters, digits, `-`, `_`, `.` (what may go into a URL
/// path unescaped).
fn valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Whether a list of releases (newest first, as the API pages them) already reaches back to
/// `from`: paging further finds only older versions.
pub fn reaches(releases: &[Release], from: &semver::Version) -> bool {
    releases
        .iter()
        .filter_map(|r| crate::version::parse(&r.tag_name))
        .any(|v| v <= *from)
}

/// The notes of every release after `from` up to and including `to` (the other way round for a
/// downgrade), oldest first; drafts left out, pre-releases only when an end is one.
pub fn between(
    buildpack: &str,
    repository: &str,
    from: &str,
    to: &str,
    releases: &[Release],
) -> BuildpackNotes {
    let mut out = BuildpackNotes {
        buildpack: buildpack.to_string(),
        repository: repository.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        releases: Vec::new(),
        more: 0,
        note: None,
    };
    let (Some(f), Some(t)) = (crate::version::parse(from), crate::version::parse(to)) else {
        out.note = Some(format!(
            "`{from}` → `{to}` cannot be ordered, so the versions in between are unknown"
        ));
        return out;
    };
    let (lo, hi, down) = if f <= t { (f, t, false) } else { (t, f, true) };
    let pre = !lo.pre.is_empty() || !hi.pre.is_empty();
    let mut picked: Vec<(semver::Version, &Release)> = releases
        .iter()
        .filter(|r| !r.draft && (pre || !r.prerelease))
        .filter_map(|r| crate::version::parse(&r.tag_name).map(|v| (v, r)))
        .filter(|(v, _)| *v > lo && *v <= hi)
        .collect();
    picked.sort_by(|a, b| a.0.cmp(&b.0));
    picked.dedup_by(|a, b| a.0 == b.0);
    if down {
        picked.reverse();
    }
    if !picked.iter().any(|(v, _)| *v == hi) {
        out.note = Some(format!("no GitHub release of {hi} in {repository}"));
    }
    if picked.len() > RELEASES_MAX {
        // The newest moves matter most; the count of the rest is said.
        out.more = picked.len() - RELEASES_MAX;
        if down {
            picked.truncate(RELEASES_MAX);
        } else {
            picked.drain(..out.more);
        }
    }
    out.releases = picked.into_iter().map(|(v, r)| note(&v, r)).collect();
    out
}

/// One release as a note: the body bounded on a character boundary, a headline.
fn note(v: &semver::Version, r: &Release) -> Note {
    let body = r.body.clone().unwrap_or_default().replace("\r\n", "\n");
    let (body, truncated) = cut(&body, BODY_MAX);
    Note {
        version: v.to_string(),
        url: r.html_url.clone(),
        headline: headline(r.name.as_deref(), &body),
        body,
        truncated,
        published_at: r.published_at.clone(),
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
fn cut(s: &str, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s.to_string(), false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (s[..end].to_string(), true)
}

/// The release title when it says more than the version, else the body's first line of text
/// (Markdown headings, list marks and emphasis taken off).
fn headline(name: Option<&str>, body: &str) -> String {
    let is_version = |s: &str| crate::version::parse(s.trim()).is_some();
    let line = name
        .map(str::trim)
        .filter(|n| !n.is_empty() && !is_version(n))
        .map(str::to_string)
        .or_else(|| {
            body.lines()
                .map(|l| {
                    l.trim()
                        .trim_start_matches(['#', '*', '-', '>', ' '])
                        .replace("**", "")
                        .replace('`', "")
                })
                .find(|l| !l.trim().is_empty() && !is_version(l))
        })
        .unwrap_or_default();
    let line: String = line.chars().filter(|c| !c.is_control()).collect();
    if line.chars().count() > HEADLINE_MAX {
        let mut s: String = line.chars().take(HEADLINE_MAX - 1).collect();
        s.push('…');
        s
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(tag: &str, body: &str) -> Release {
        Release {
            tag_name: tag.into(),
            name: Some(tag.into()),
            body: Some(body.into()),
            html_url: format!("https://github.com/o/r/releases/tag/{tag}"),
            published_at: None,
            draft: false,
            prerelease: false,
        }
    }

    #[test]
    fn repositories() {
        let r = |id, home| repository(id, home);
        assert_eq!(
            r(
                "paketo-buildpacks/bellsoft-liberica",
                Some("https://github.com/paketo-buildpacks/bellsoft-liberica")
            ),
            Some("paketo-buildpacks/bellsoft-liberica".into())
        );
        assert_eq!(
            r(
                "example/hello",
                Some("https://github.com/buildpacks/example/tree/main/buildpacks/hello")
            ),
            Some("buildpacks/example".into())
        );
        assert_eq!(
            r("paketo-buildpacks/syft", None),
            Some("paketo-buildpacks/syft".into())
        );
        assert_eq!(
            r("heroku/nodejs", None),
            Some("heroku/buildpacks-nodejs".into())
        );
        assert_eq!(r("google.nodejs.runtime", None), None);
        // Nothing that is not a plain owner/name reaches a URL.
        assert_eq!(r("x/y", Some("https://github.com/a%2F../b?c")), None);
        assert_eq!(r("paketo-buildpacks/a b", None), None);
    }

    #[test]
    fn every_version_in_between_and_only_those() {
        let all = [
            rel("v10.2.5", "five"),
            rel("v10.2.4", "## Fixes\n* four"),
            rel("v10.2.3", "three"),
            rel("v10.2.2", "two"),
        ];
        let n = between("b", "o/r", "10.2.2", "10.2.4", &all);
        let v: Vec<&str> = n.releases.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(v, ["10.2.3", "10.2.4"]);
        assert_eq!(n.releases[1].headline, "Fixes");
        assert_eq!(n.note, None);
        let down = between("b", "o/r", "10.2.4", "10.2.2", &all);
        let v: Vec<&str> = down.releases.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(
            v,
            ["10.2.4", "10.2.3"],
            "a downgrade undoes these, newest first"
        );
        let missing = between("b", "o/r", "10.2.5", "10.2.7", &all);
        assert!(
            missing
                .note
                .unwrap()
                .contains("no GitHub release of 10.2.7")
        );
        assert!(reaches(&all, &semver::Version::new(10, 2, 3)));
        assert!(!reaches(&all[..2], &semver::Version::new(10, 2, 3)));
    }

    #[test]
    fn bodies_and_headlines_are_bounded() {
        let big = "é".repeat(3 * 1024 * 1024);
        let n = between("b", "o/r", "1.0.0", "1.0.1", &[rel("1.0.1", &big)]);
        let r = &n.releases[0];
        assert!(r.truncated && r.body.len() <= BODY_MAX);
        assert!(r.headline.chars().count() <= HEADLINE_MAX);
        let ctl = headline(None, "\u{1b}[31mred\u{7}\n");
        assert!(!ctl.contains('\u{1b}') && !ctl.contains('\u{7}'), "{ctl:?}");
    }
}
