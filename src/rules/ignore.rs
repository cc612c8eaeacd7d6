//! Noise control: `--ignore label:NAME` / `--ignore env:NAME` (globs), also `ignore = [...]` in
//! rule and fleet files. Values that change on every build (a build timestamp label, a git SHA
//! in the env) would otherwise make every diff "drift". Ignored changes are left out of the
//! comparison but counted, so the verdict never hides that something was set aside.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diff::{Category, Change};

/// One `label:GLOB` or `env:GLOB`.
#[derive(Debug, Clone)]
pub struct IgnorePattern {
    category: Category,
    glob: glob::Pattern,
    text: String,
}

impl IgnorePattern {
    /// Parses `label:GLOB` or `env:GLOB`; the error says what is expected.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (kind, name) = s.split_once(':').ok_or_else(|| {
            format!("`{s}` is not `label:NAME` or `env:NAME` (NAME may use * and ? globs)")
        })?;
        let category = match kind {
            "label" => Category::Label,
            "env" => Category::Env,
            other => {
                return Err(format!(
                    "`{other}:` cannot be ignored: only `label:NAME` and `env:NAME` (globs) are"
                ));
            }
        };
        if name.is_empty() {
            return Err(format!("`{s}` names nothing: write `{kind}:NAME`"));
        }
        let glob = glob::Pattern::new(name)
            .map_err(|e| format!("`{s}` is not a valid glob: {}", e.msg))?;
        Ok(Self {
            category,
            glob,
            text: s.to_string(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn matches(&self, c: &Change) -> bool {
        c.category == self.category && self.glob.matches(&c.subject)
    }
}

/// A change left out by an ignore pattern. No values: an ignored env value may be a secret,
/// and what is ignored is named, not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ignored {
    /// `label-changed`, `env-added`…
    pub code: String,
    /// The label or variable name.
    pub subject: String,
    /// The pattern that matched.
    pub pattern: String,
}

/// Splits out the changes an ignore pattern matches: unchanged matches vanish, changed ones are
/// returned as [`Ignored`] to be counted.
pub fn apply(patterns: &[IgnorePattern], changes: &mut Vec<Change>) -> Vec<Ignored> {
    if patterns.is_empty() {
        return Vec::new();
    }
    let mut ignored = Vec::new();
    changes.retain(|c| match patterns.iter().find(|p| p.matches(c)) {
        None => true,
        Some(p) => {
            if c.is_change() {
                ignored.push(Ignored {
                    code: c.code.clone(),
                    subject: c.subject.clone(),
                    pattern: p.text.clone(),
                });
            }
            false
        }
    });
    ignored
}

/// The verdict's tail for ignored changes: "2 changes ignored (label build.time, env GIT_SHA)".
pub fn verdict_text(ignored: &[Ignored]) -> Option<String> {
    if ignored.is_empty() {
        return None;
    }
    let mut names: Vec<String> = ignored
        .iter()
        .take(3)
        .map(|i| {
            let kind = i.code.split('-').next().unwrap_or_default();
            format!("{kind} {}", i.subject)
        })
        .collect();
    if ignored.len() > 3 {
        names.push(format!("{} more", ignored.len() - 3));
    }
    Some(format!(
        "{} ({})",
        crate::text::plural(ignored.len(), "change ignored", "changes ignored"),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(cat: Category, subject: &str, before: &str, after: &str) -> Change {
        Change::new(cat, subject, Some(before.into()), Some(after.into()))
    }

    #[test]
    fn globs_match_only_their_category() {
        let p = [
            IgnorePattern::parse("label:org.opencontainers.image.*").unwrap(),
            IgnorePattern::parse("env:GIT_?HA").unwrap(),
        ];
        let mut changes = vec![
            change(
                Category::Label,
                "org.opencontainers.image.created",
                "1",
                "2",
            ),
            change(Category::Env, "GIT_SHA", "a", "b"),
            change(Category::Env, "GIT_SHA_LONG", "a", "b"),
            // An env variable named like the label glob is not a label.
            change(Category::Env, "org.opencontainers.image.created", "1", "2"),
            change(Category::Label, "org.opencontainers.image.title", "x", "x"),
        ];
        let ignored = apply(&p, &mut changes);
        let kept: Vec<&str> = changes.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(kept, ["GIT_SHA_LONG", "org.opencontainers.image.created"]);
        // The unchanged title vanished without being counted.
        assert_eq!(ignored.len(), 2);
        assert_eq!(ignored[1].pattern, "env:GIT_?HA");
        assert_eq!(
            verdict_text(&ignored).unwrap(),
            "2 changes ignored (label org.opencontainers.image.created, env GIT_SHA)"
        );
    }

    #[test]
    fn bad_patterns_say_what_is_expected() {
        for (s, want) in [
            ("GIT_SHA", "is not `label:NAME` or `env:NAME`"),
            ("buildpack:x", "`buildpack:` cannot be ignored"),
            ("env:", "names nothing"),
            ("label:[", "is not a valid glob"),
        ] {
            let e = IgnorePattern::parse(s).unwrap_err();
            assert!(e.contains(want), "{s}: {e}");
        }
    }
}
