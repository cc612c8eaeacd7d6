//! `bpdrift rules list`: the rules in effect, as a table or JSON.

use std::io::{self, Write};

use serde::Serialize;

use crate::rules::{COMPUTED, Computed, Rule, RuleSet, Severity};

/// The origin shown for computed findings.
const COMPUTED_ORIGIN: &str = "<computed>";

#[derive(Serialize)]
struct RuleView<'a> {
    id: &'a str,
    /// `null` when a rule file's `[computed]` turns a computed finding off.
    severity: Option<Severity>,
    affects: Vec<&'a str>,
    subject: String,
    condition: String,
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

impl<'a> From<&'a Rule> for RuleView<'a> {
    fn from(r: &'a Rule) -> Self {
        let mut condition = r.condition.describe();
        if let Some(a) = &r.applies_if {
            condition.push_str(&format!("; applies if {} {}", a.dependency, a.version));
            if a.when_unknown == crate::rules::WhenUnknown::Off {
                condition.push_str(" (else nothing)");
            }
        }
        let crossing = r.condition.introduced.is_some() && r.condition.fixed.is_none();
        Self {
            id: &r.id,
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

/// Rules, then the computed findings (which `[computed]` in a rule file overrides).
fn views(set: &RuleSet) -> Vec<RuleView<'_>> {
    set.rules()
        .iter()
        .map(RuleView::from)
        .chain(COMPUTED.iter().map(|c| RuleView::computed(c, set)))
        .collect()
}

/// JSON array of rules.
pub fn rules_json(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let views = views(set);
    serde_json::to_writer_pretty(&mut *out, &views)?;
    writeln!(out)
}

/// One row per rule.
pub fn rules_table(set: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let mut t = super::table::table(&[
        "ID",
        "SEVERITY",
        "AFFECTS",
        "IMAGE KINDS",
        "SUBJECT",
        "CONDITION",
        "ORIGIN",
    ]);
    let views = views(set);
    for v in &views {
        t.add_row(vec![
            v.id.to_string(),
            v.severity.map_or("off", Severity::as_str).to_string(),
            v.affects.join(", "),
            if v.image_kinds.is_empty() {
                "all".to_string()
            } else {
                v.image_kinds.join(", ")
            },
            v.subject.clone(),
            v.condition.clone(),
            v.origin.to_string(),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "{}, {}",
        crate::text::plural(set.rules().len(), "rule", "rules"),
        crate::text::plural(COMPUTED.len(), "computed finding", "computed findings")
    )
}
