//! `bpdrift rules list`: the rules in effect, as a table or JSON.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::rules::{COMPUTED, Computed, Rule, RuleSet, Severity};

/// The origin shown for computed findings.
const COMPUTED_ORIGIN: &str = "<computed>";

/// `schema_version` of `rules list --format json` (docs/json.md).
pub const RULES_SCHEMA_VERSION: u32 = 1;

/// `rules list --format json`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct RulesJson<'a> {
    /// Version of this document's schema: fields are only added within it (docs/json.md).
    #[schemars(extend("const" = RULES_SCHEMA_VERSION))]
    schema_version: u32,
    /// bpdrift version that wrote it.
    bpdrift_version: &'static str,
    /// The rules in effect, then the computed findings (`origin` `<computed>`).
    rules: Vec<RuleView<'a>>,
}

/// One rule as `rules list` shows it.
#[derive(Serialize, JsonSchema)]
pub(crate) struct RuleView<'a> {
    id: &'a str,
    /// `jvm`, `node`, `go`, … (`null` for a rule file that names none, and computed findings).
    family: Option<&'a str>,
    /// `null` when a rule file's `[computed]` turns a computed finding off.
    severity: Option<Severity>,
    affects: Vec<&'a str>,
    subject: String,
    condition: String,
    /// The version boundary: `introduced` (and `fixed` for a bug window), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    boundary: Option<Boundary>,
    /// What else the behaviour depends on that images do not record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    depends_on: Option<&'a str>,
    /// `image-kinds` words; empty = every kind.
    image_kinds: Vec<&'static str>,
    /// What a crossing rule reports going back below `introduced`: a severity or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reverse_severity: Option<&'static str>,
    summary: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    advice: Option<&'a str>,
    sources: &'a [String],
    origin: &'a str,
}

/// `introduced` and `fixed` of a rule.
#[derive(Serialize, JsonSchema)]
struct Boundary {
    introduced: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
}

impl<'a> From<&'a Rule> for RuleView<'a> {
    fn from(r: &'a Rule) -> Self {
        let mut condition = r.condition.describe();
        if let Some(a) = &r.applies_if {
            match &a.target {
                crate::rules::AppliesTarget::Godebug { .. } => {
                    condition.push_str(&format!("; applies if {}", a.target.describe()));
                }
                t => condition.push_str(&format!("; applies if {} {}", t.describe(), a.version)),
            }
            if a.when_unknown == crate::rules::WhenUnknown::Off {
                condition.push_str(" (else nothing)");
            }
        }
        let c = &r.condition;
        let crossing = (c.introduced.is_some() && c.fixed.is_none())
            || (c.introduced.is_none() && c.from_value.is_some() && c.to_value.is_some());
        let boundary = match &r.condition.package_bounds {
            Some((i, f)) => Some(Boundary {
                introduced: i.clone(),
                fixed: f.clone(),
            }),
            None => r.condition.introduced.as_ref().map(|i| Boundary {
                introduced: i.to_string(),
                fixed: r.condition.fixed.as_ref().map(ToString::to_string),
            }),
        };
        Self {
            id: &r.id,
            family: r.family.as_deref(),
            boundary,
            depends_on: r.depends_on.as_deref(),
            severity: Some(r.severity),
            affects: r.affects.iter().map(String::as_str).collect(),
            subject: r.subject.describe(),
            condition,
            image_kinds: r
                .kinds
                .iter()
                .map(|k| crate::rules::kind_word(*k))
                .collect(),
            reverse_severity: crossing
                .then(|| r.condition.reverse.severity.map_or("off", Severity::as_str)),
            summary: &r.summary,
            advice: r.advice.as_deref(),
            sources: &r.sources,
            origin: &r.origin,
        }
    }
}

impl RuleView<'static> {
    fn computed(c: &'static Computed, set: &RuleSet) -> Self {
        Self {
            id: c.id,
            family: None,
            boundary: None,
            depends_on: None,
            severity: set.computed_severity(c),
            affects: c.affects.to_vec(),
            subject: c.subject.to_string(),
            condition: c.condition.to_string(),
            image_kinds: Vec::new(),
            reverse_severity: None,
            summary: c.summary,
            advice: None,
            sources: &[],
            origin: COMPUTED_ORIGIN,
        }
    }
}

/// Rules, then the computed findings (which `[computed]` in a rule file overrides); only the
/// rules of `family` when one is asked for (then no computed finding).
fn views<'a>(set: &'a RuleSet, family: Option<&str>) -> Vec<RuleView<'a>> {
    let computed = COMPUTED
        .iter()
        .filter(|_| family.is_none())
        .map(|c| RuleView::computed(c, set));
    set.rules()
        .iter()
        .filter(|r| family.is_none_or(|f| r.family.as_deref() == Some(f)))
        .map(RuleView::from)
        .chain(computed)
        .collect()
}

/// The rules as one JSON document.
pub fn rules_json(set: &RuleSet, family: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let doc = RulesJson {
        schema_version: RULES_SCHEMA_VERSION,
        bpdrift_version: env!("CARGO_PKG_VERSION"),
        rules: views(set, family),
    };
    crate::sanitize::json::write(out, &doc)
}

/// One row per rule.
pub fn rules_table(set: &RuleSet, family: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let mut t = super::new_table(&[
        "FAMILY",
        "ID",
        "SEVERITY",
        "AFFECTS",
        "IMAGE KINDS",
        "SUBJECT",
        "CONDITION",
        "SOURCE",
        "ORIGIN",
    ]);
    let views = views(set, family);
    for v in &views {
        // Rule files are other people's text too (a rule set from a pull request).
        use super::plain;
        let source = match v.sources {
            [] => String::new(),
            [one] => plain(one),
            [first, rest @ ..] => format!("{} (+{})", plain(first), rest.len()),
        };
        t.add_row(vec![
            plain(v.family.unwrap_or_default()),
            plain(v.id),
            v.severity
                .map_or_else(|| "off".to_string(), super::severity_word),
            plain(&v.affects.join(", ")),
            if v.image_kinds.is_empty() {
                "all".to_string()
            } else {
                v.image_kinds.join(", ")
            },
            plain(&v.subject),
            plain(&v.condition),
            source,
            plain(v.origin),
        ]);
    }
    writeln!(out, "{t}")?;
    let rules = views.iter().filter(|v| v.origin != COMPUTED_ORIGIN).count();
    let computed = views.len() - rules;
    let mut families: Vec<&str> = views.iter().filter_map(|v| v.family).collect();
    families.sort_unstable();
    families.dedup();
    writeln!(
        out,
        "{} in {}, {}",
        crate::text::plural(rules, "rule", "rules"),
        crate::text::plural(families.len(), "family", "families"),
        crate::text::plural(computed, "computed finding", "computed findings")
    )
}
