//! The terminal view: who is compared, the verdict, findings first, then buildpacks, runtime
//! dependencies and everything else that moved. Columns follow `pack inspect` (ID, VERSION) so
//! the view is familiar.

use std::io::{self, Write};

use super::{
    heading, layers_line, move_word, new_table as table, plain, short_digest, shown_value, wrap,
};
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
        "{label} {}  {}{}  {}",
        plain(&s.origin.reference),
        plain(&digest),
        plain(&index),
        plain(&s.origin.platform)
    )
}

fn value(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".into(), plain)
}

/// The change word, coloured by how far the version moved.
fn change_word(c: &Change) -> String {
    move_word(&c.class_word(), c.class, c.status)
}

pub(super) fn render(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", image_line("before:", &r.before))?;
    writeln!(out, "{}", image_line("after: ", &r.after))?;
    for s in [&r.before, &r.after] {
        if !s.built_by_buildpacks {
            writeln!(
                out,
                "note: {} was not built by buildpacks (no io.buildpacks labels); comparing its config only",
                plain(&s.origin.reference)
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
    writeln!(out, "{}", fit_line(&plain(&r.summary.verdict)))?;

    if !r.findings.is_empty() {
        writeln!(out, "\n{}", heading("Findings"))?;
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
            let mut text = wrap(&plain(&f.summary), 72);
            if let Some(note) = &f.note {
                text.push_str(&format!(
                    "\n{}",
                    wrap(&format!("note: {}", plain(note)), 72)
                ));
            }
            let mut row = vec![
                super::severity_word(f.severity),
                plain(&f.rule),
                plain(&f.change.subject),
                text,
            ];
            if advice {
                row.push(
                    f.advice
                        .as_deref()
                        .map(|a| wrap(&plain(a), 40))
                        .unwrap_or_default(),
                );
            }
            t.add_row(row);
        }
        writeln!(out, "{t}")?;
    }

    if !r.not_applicable.is_empty() {
        writeln!(out, "\n{}", heading("Rules that did not apply"))?;
        let mut t = table(&["RULE", "SUBJECT", "WHY NOT"]);
        for f in &r.not_applicable {
            t.add_row(vec![
                plain(&f.rule),
                plain(&f.change.subject),
                plain(f.note.as_deref().unwrap_or_default()),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let problems: Vec<_> = r.problems().collect();
    if !problems.is_empty() {
        writeln!(out, "\n{}", heading("Unreadable labels"))?;
        let mut t = table(&["IMAGE", "LABEL", "PATH", "PROBLEM"]);
        for (img, p) in problems {
            t.add_row(vec![
                plain(img),
                plain(&p.label),
                plain(&p.path),
                format!("{}{}", plain(&p.message), p.position()),
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
        writeln!(out, "\n{}", heading("Buildpacks"))?;
        let mut t = table(&["ID", "BEFORE", "AFTER", "CHANGE"]);
        for c in bps {
            let mut id = plain(&c.subject);
            if c.category == Category::Extension {
                id.push_str(" (extension)");
            }
            let mut word = change_word(c);
            if let Some(d) = &c.detail {
                word = format!("{word} ({})", plain(d));
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
        // Release titles come from the internet: shown escaped like every value.
        writeln!(out, "\n{}", heading("Release notes"))?;
        let mut t = table(&["BUILDPACK", "VERSION", "HEADLINE"]);
        for n in &r.release_notes {
            let who = if n.repository == n.buildpack {
                plain(&n.buildpack)
            } else {
                format!("{} ({})", plain(&n.buildpack), plain(&n.repository))
            };
            if n.releases.is_empty() {
                t.add_row(vec![
                    who.clone(),
                    "-".into(),
                    plain(n.note.as_deref().unwrap_or_default()),
                ]);
            }
            for (i, rel) in n.releases.iter().enumerate() {
                t.add_row(vec![
                    if i == 0 { who.clone() } else { String::new() },
                    plain(&rel.version),
                    plain(&rel.headline),
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
        writeln!(out, "note: {}", plain(w))?;
    }

    let rts = in_cat(&[Category::Runtime]);
    if !rts.is_empty() {
        writeln!(out, "\n{}", heading("Runtimes"))?;
        let mut t = table(&["RUNTIME", "BEFORE", "AFTER", "CHANGE", "READ FROM"]);
        for c in rts {
            t.add_row(vec![
                plain(&c.subject),
                value(&c.before),
                value(&c.after),
                change_word(c),
                plain(c.detail.as_deref().unwrap_or_default()),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let deps = in_cat(&[Category::Dependency]);
    if !deps.is_empty() {
        writeln!(out, "\n{}", heading("Runtime dependencies"))?;
        let mut t = table(&["DEPENDENCY", "BEFORE", "AFTER", "CHANGE"]);
        for c in deps {
            let name = match &c.detail {
                Some(n) => format!("{} [{}]", plain(&c.subject), plain(n)),
                None => plain(&c.subject),
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
        writeln!(out, "\n{}", heading("Image"))?;
        let mut t = table(&["WHAT", "ITEM", "BEFORE", "AFTER", "CHANGE"]);
        for c in others {
            t.add_row(vec![
                c.category.label().to_string(),
                plain(&super::item_cell(c)),
                value(&shown_value(c, &c.before)),
                value(&shown_value(c, &c.after)),
                change_word(c),
            ]);
        }
        writeln!(out, "{t}")?;
    }

    let rows = super::part_rows(r);
    if !rows.is_empty() {
        writeln!(out, "\n{}", heading("Layers by part"))?;
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
        writeln!(out, "\n{}", heading(head))?;
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
