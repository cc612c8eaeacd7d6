//! Rule files: TOML read into a span-carrying tree, then validated key by key so that *every*
//! problem is reported at once, each at its `file:line:column` (cargo-deny's approach: collect,
//! never stop at the first). The file as a whole (`[[rule]]` tables, `ignore`, `[computed]`)
//! is read here; one rule table's keys and their checks are in `rule.rs`.
//!
//! The TOML parser recovers from syntax errors, so even a file with a typo in one table still
//! gets its other tables checked.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod rule;

pub use crate::toml_file::Diagnostic;
pub(crate) use rule::KIND_WORDS;
pub use rule::kind_word;
#[cfg(test)]
pub(crate) use rule::{APPLIES_IF_KEYS, keys};

use super::{Rule, Severity};
use crate::toml_file::{Ctx, TableView as RawRule, type_name};
use rule::{valid_family, validate};

/// A parsed rule file: its valid rules and every problem found.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// File name.
    pub name: String,
    /// Source text (for rendering diagnostics).
    pub text: String,
    /// Rules that validated.
    pub rules: Vec<Rule>,
    /// `[computed]`: overrides of computed findings, id → severity (`None` = off).
    pub computed: Vec<(String, Option<Severity>)>,
    /// `ignore = ["label:…", "env:…"]`.
    pub ignore: Vec<super::ignore::IgnorePattern>,
    /// Problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses and validates one rule file. Never fails: problems are in `diagnostics`.
pub fn parse_file(name: &str, text: &str) -> RuleFile {
    let mut ctx = Ctx::new(name, text);
    let (root, errors) = DeTable::parse_recoverable(text);
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        ctx.error(
            span,
            format!("TOML syntax error: {}", e.message().trim()),
            "here",
        );
    }
    let mut rules = Vec::new();
    let mut seen: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut computed = Vec::new();
    let mut ignore = Vec::new();
    // `family = "go"` names the family of every rule in the file (a rule may say its own).
    let family = match root.get_ref().get("family") {
        None => None,
        Some(v) => match v.get_ref() {
            DeValue::String(f) if valid_family(f) => Some(f.to_string()),
            _ => {
                ctx.error(
                    v.span(),
                    "`family` must be a lowercase word such as `\"go\"` or `\"run-image\"`",
                    "expected a family name",
                );
                None
            }
        },
    };
    for (key, value) in root.get_ref().iter() {
        if key.get_ref().as_ref() == "family" {
            continue;
        }
        if key.get_ref().as_ref() == "computed" {
            parse_computed(&mut ctx, value, &mut computed);
            continue;
        }
        if key.get_ref().as_ref() == "ignore" {
            parse_ignore(&mut ctx, value, &mut ignore);
            continue;
        }
        if key.get_ref().as_ref() != "rule" {
            ctx.error_with(
                key.span(),
                format!("unknown key `{}`", key.get_ref()),
                "not a rule-file key",
                vec![
                    "a rule file holds `family = \"…\"`, `ignore = [...]`, `[[rule]]` tables and one `[computed]` table"
                        .into(),
                ],
            );
            continue;
        }
        let DeValue::Array(items) = value.get_ref() else {
            ctx.error(
                value.span(),
                "`rule` must be an array of tables: write each rule as `[[rule]]`",
                "expected `[[rule]]`",
            );
            continue;
        };
        for item in items.iter() {
            let DeValue::Table(table) = item.get_ref() else {
                ctx.error(
                    item.span(),
                    "each `rule` must be a table",
                    "expected a table",
                );
                continue;
            };
            let raw = RawRule {
                table,
                span: item.span(),
            };
            if let Some(mut rule) = validate(&mut ctx, &raw, &mut seen) {
                if rule.family.is_none() {
                    rule.family = family.clone();
                }
                rules.push(rule);
            }
        }
    }
    ctx.diags.sort_by_key(|d| (d.span.start, d.span.end));
    RuleFile {
        name: name.to_string(),
        text: text.to_string(),
        rules,
        computed,
        ignore,
        diagnostics: ctx.diags,
    }
}

/// `ignore = ["label:org.opencontainers.image.created", "env:GIT_*"]`.
fn parse_ignore(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
    out: &mut Vec<super::ignore::IgnorePattern>,
) {
    let DeValue::Array(items) = value.get_ref() else {
        ctx.error(
            value.span(),
            "`ignore` must be an array of strings: `ignore = [\"label:NAME\", \"env:NAME\"]`",
            "expected an array",
        );
        return;
    };
    for item in items.iter() {
        let DeValue::String(s) = item.get_ref() else {
            ctx.error(
                item.span(),
                "each `ignore` entry must be a string",
                "expected a string",
            );
            continue;
        };
        match super::ignore::IgnorePattern::parse(s) {
            Ok(p) => out.push(p),
            Err(e) => ctx.error(item.span(), e, "not `label:NAME` or `env:NAME`"),
        }
    }
}

/// `[computed]`: `memory-needs-more = "off"`, `rollback-target-vanished = "warning"`.
fn parse_computed(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
    out: &mut Vec<(String, Option<Severity>)>,
) {
    let DeValue::Table(t) = value.get_ref() else {
        ctx.error(
            value.span(),
            "`computed` must be a table: `[computed]`",
            "expected a table",
        );
        return;
    };
    let ids: Vec<&str> = super::COMPUTED.iter().map(|c| c.id).collect();
    for (k, v) in t.iter() {
        let id = k.get_ref().as_ref();
        if !ids.contains(&id) {
            let mut notes = vec![format!("computed findings: {}", ids.join(", "))];
            if let Some(s) = crate::toml_file::suggest(id, &ids) {
                notes.insert(0, format!("did you mean `{s}`?"));
            }
            ctx.error_with(
                k.span(),
                format!("unknown computed finding `{id}`"),
                "not a computed finding",
                notes,
            );
            continue;
        }
        let word = match v.get_ref() {
            DeValue::String(s) => s.as_ref(),
            other => {
                ctx.error(
                    v.span(),
                    format!("expected a severity or `off`, found {}", type_name(other)),
                    "expected `\"info\"`, `\"warning\"`, `\"error\"` or `\"off\"`",
                );
                continue;
            }
        };
        match word {
            "off" => out.push((id.to_string(), None)),
            w => match w.parse::<Severity>() {
                Ok(s) => out.push((id.to_string(), Some(s))),
                Err(()) => ctx.error(
                    v.span(),
                    format!("unknown severity `{w}` for `{id}`"),
                    "one of `info`, `warning`, `error`, `off`",
                ),
            },
        }
    }
}

/// Renders a rule file's diagnostics (see [`crate::toml_file::render`]).
pub fn render_diagnostics(file: &RuleFile) -> String {
    crate::toml_file::render(&file.name, &file.text, &file.diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toml_file::{line_col, suggest};

    #[test]
    fn positions_are_one_based_in_characters() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("severty", &keys()), Some("severity"));
        assert_eq!(suggest("introdued", &keys()), Some("introduced"));
        assert_eq!(suggest("zzzzzzzz", &keys()), None);
    }
}
