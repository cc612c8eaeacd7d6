//! The terminal view: who is compared, the verdict, findings first, then buildpacks, runtime
//! dependencies and everything else that moved. Columns follow `pack inspect` (ID, VERSION) so
//! the view is familiar.

use std::io::{self, Write};

use super::{layers_line, new_table as table, short_digest, shown_value, wrap};
use crate::diff::{Category, Change};
use crate::report::{DiffReport, ImageSummary};

/// A prose line, wrapped (continuation indented) only when the terminal width is known.
fn fit_line(line: &str) -> String {
    match super::table_width() {
        Some(w) => wrap(line, usize::from(w) - 2).replace('\n', "\n  "),
        None => line.to_string(),
    }
}

fn image_line(label: &str, s: &ImageSummary) -> String {
    let digest = s
        .origin
        .digest
        .as_deref()
        .map(short_digest)
        .unwrap_or_else(|| format!("config {}", short_digest(&s.origin.config_digest)));
    let index = s
        .origin
        .index_digest
        .as_deref()
        .map(|d| format!(", index {}", short_digest(d)))
        .unwrap_or_default();
    format!(
        "{label} {}  {digest}{index}  {}",
        s.origin.reference, s.origin.platform
    )
}

fn value(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn change_word(c: &Change) -> String {
    c.class_word()
}

pub(super) fn render(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", image_line("before:", &r.before))?;
    writeln!(out, "{}", image_line("after: ", &r.after))?;
    for s in [&r.before, &r.after] {
        if !s.built_by_buildpacks {
            writeln!(
                out,
                "note: {} was not built by buildpacks (no io.buildpacks labels); comparing its config only",
                s.origin.reference
            )?;
        }
    }
    if r.before.kind != r.after.kind {
        writeln!(
            out,
            "warning: the images are of different kinds ({} vs {}): most differences below follow from that",
            r.before.kind.describe(),
            r.after.kind.describe()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", fit_line(&r.summary.verdict))?;

    if !r.findings.is_empty() {
        writeln!(out, "\nFindings")?;
        // The advice column only when a finding has advice: four columns fit 80 better.
        let advice = r.findings.iter().any(|f| f.advice.is_some());
        let header: Vec<String> = super::FINDING_COLUMNS
            .iter()
            .filter(|h| advice || **h != "advice")
            .map(|h| h.to_uppercase())
            .collect();
        let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
        // With a known terminal width comfy-table wraps the cell itself; wrapping it first
        // as well would break lines twice.
        let wrap = |s: &str, w: usize| {
            if super::table_width().is_some() {
                s.to_string()
            } else {
                wrap(s, w)
            }
        };
        for f in &r.findings {
            let mut text = wrap(&f.summary, 72);
            if let Some(note) = &f.note {
                text.push_str(&format!("\n{}", wrap(&format!("note: {note}"), 72)));
            }
            let mut row = vec![
                f.severity.as_str().to_string(),
                f.rule.clone(),
                f.change.subject.clone(),
                text,
            ];
            if advice {
                row.push(f.advice.as_deref().map(|a| wrap(a, 40)).unwrap_or_default());
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }

    if !r.not_applicable.is_empty() {
        writeln!(out, "\nRules that did not apply")?;
        let mut t = table(&["RULE", "SUBJECT", "WHY NOT"]);
        for f in &r.not_applicable {
            t.add_row(vec![
                f.rule.clone(),
                f.change.subject.clone(),
                f.note.clone().unwrap_or_default(),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let problems: Vec<_> = r.problems().collect();
    if !problems.is_empty() {
        writeln!(out, "\nUnreadable labels")?;
        let mut t = table(&["IMAGE", "LABEL", "PATH", "PROBLEM"]);
        for (img, p) in problems {
            t.add_row(vec![
                img.to_string(),
                p.label.clone(),
                p.path.clone(),
                format!("{}{}", p.message, p.position()),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let in_cat = |cats: &[Category]| -> Vec<&Change> {
        r.changes
            .iter()
            .filter(|c| cats.contains(&c.category))
            .collect()
    };

    let bps = in_cat(&[
        Category::Buildpack,
        Category::Extension,
        Category::BuildpackOrder,
    ]);
    if !bps.is_empty() {
        writeln!(out, "\nBuildpacks")?;
        let mut t = table(&["ID", "BEFORE", "AFTER", "CHANGE"]);
        for c in bps {
            let mut id = c.subject.clone();
            if c.category == Category::Extension {
                id.push_str(" (extension)");
            }
            let mut word = change_word(c);
            if let Some(d) = &c.detail {
                word = format!("{word} ({d})");
            }
            t.add_row(vec![
                id,
                value(&shown_value(c, &c.before)),
                value(&shown_value(c, &c.after)),
                word,
            ]);
        }
        writeln!(out, "{t}")?;
    }

    if !r.release_notes.is_empty() {
        writeln!(out, "\nRelease notes")?;
        let mut t = table(&["BUILDPACK", "VERSION", "HEADLINE"]);
        for n in &r.release_notes {
            let who = if n.repository == n.buildpack {
                n.buildpack.clone()
            } else {
                format!("{} ({})", n.buildpack, n.repository)
            };
            if n.releases.is_empty() {
                t.add_row(vec![
                    who.clone(),
                    "-".into(),
                    n.note.clone().unwrap_or_default(),
                ]);
            }
            for (i, rel) in n.releases.iter().enumerate() {
                t.add_row(vec![
                    if i == 0 { who.clone() } else { String::new() },
                    rel.version.clone(),
                    rel.headline.clone(),
                ]);
            }
            if n.more > 0 {
                t.add_row(vec![
                    String::new(),
                    "…".into(),
                    crate::text::plural(n.more, "older release", "older releases"),
                ]);
            }
        }
        writeln!(out, "{t}")?;
    }
    if let Some(w) = &r.release_notes_warning {
        writeln!(out, "note: {w}")?;
    }

    let rts = in_cat(&[Category::Runtime]);
    if !rts.is_empty() {
        writeln!(out, "\nRuntimes")?;
        let mut t = table(&["RUNTIME", "BEFORE", "AFTER", "CHANGE", "READ FROM"]);
        for c in rts {
            t.add_row(vec![
                c.subject.clone(),
                value(&c.before),
                value(&c.after),
                change_word(c),
                c.detail.clone().unwrap_or_default(),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let deps = in_cat(&[Category::Dependency]);
    if !deps.is_empty() {
        writeln!(out, "\nRuntime dependencies")?;
        let mut t = table(&["DEPENDENCY", "BEFORE", "AFTER", "CHANGE"]);
        for c in deps {
            let name = match &c.detail {
                Some(n) => format!("{} [{n}]", c.subject),
                None => c.subject.clone(),
            };
            t.add_row(vec![
                name,
                value(&c.before),
                value(&c.after),
                change_word(c),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let others = in_cat(super::OTHER_CATEGORIES);
    if !others.is_empty() {
        writeln!(out, "\nImage")?;
        let mut t = table(&["WHAT", "ITEM", "BEFORE", "AFTER", "CHANGE"]);
        for c in others {
            t.add_row(vec![
                c.category.label().to_string(),
                super::item_cell(c),
                value(&shown_value(c, &c.before)),
                value(&shown_value(c, &c.after)),
                change_word(c),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let rows = super::part_rows(r);
    if !rows.is_empty() {
        writeln!(out, "\nLayers by part")?;
        let mut t = table(&super::PART_HEADER);
        for row in rows {
            t.add_row(row.to_vec());
        }
        writeln!(out, "{t}")?;
        if let Some(line) = super::app_unchanged_line(r) {
            writeln!(out, "{line}")?;
        }
    }

    let mem = super::memory_lines(r);
    if let Some((head, rest)) = mem.split_first() {
        writeln!(out, "\n{head}")?;
        for l in rest {
            writeln!(
                out,
                "  {}",
                wrap(l, super::text_width(110, 4)).replace('\n', "\n    ")
            )?;
        }
    }

    if let Some(p) = &r.packages {
        super::packages::table(p, out)?;
    }

    writeln!(out, "\n{}", fit_line(&layers_line(r)))?;
    if r.unchanged_hidden > 0 {
        writeln!(
            out,
            "{} hidden (--all shows them)",
            crate::text::plural(r.unchanged_hidden, "unchanged item", "unchanged items")
        )?;
    }
    Ok(())
}
