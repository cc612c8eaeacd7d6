//! GitHub-flavoured Markdown, as a PR comment or job summary shows it: a one-line verdict, the
//! two images, findings, a buildpack table with release-notes links, and the rest folded into
//! `<details>`.

use std::io::{self, Write};

use super::{layers_line, short_digest, shown_value};
use crate::diff::{Category, Change};
use crate::report::{DiffReport, ImageSummary};
use crate::rules::Severity;

pub use super::escape::markdown as escape;

/// A folded section's opening: `<details open><summary>Runtimes (1 changed)</summary>`, open
/// when something in it moved, closed with the count when nothing did.
fn folded(out: &mut dyn Write, what: &str, items: &[&Change]) -> io::Result<()> {
    let moved = items.iter().filter(|c| c.is_change()).count();
    let (open, count) = if moved == 0 {
        ("", format!("{} unchanged", items.len()))
    } else {
        (" open", format!("{moved} changed"))
    };
    writeln!(
        out,
        "\n<details{open}><summary>{what} ({count})</summary>\n"
    )
}

fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    super::escape::markdown_code_span(s)
}

fn value(v: &Option<String>) -> String {
    v.as_deref().map(code).unwrap_or_else(|| "—".into())
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "🛑",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

fn image_row(label: &str, s: &ImageSummary) -> String {
    let digest = s.origin.id();
    let kind = s.kind.describe();
    format!(
        "| {label} | {} | {} | {} | {} |",
        code(&s.origin.reference),
        code(&short_digest(digest)),
        escape(&s.origin.platform),
        kind
    )
}

fn change_word(c: &Change) -> String {
    c.class_word()
}

pub(super) fn render(r: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let head = match r.summary.max_severity {
        Some(s) => icon(s),
        None if r.changes.iter().any(Change::is_change) || !r.summary.changed.is_empty() => "🔀",
        None => "✅",
    };
    writeln!(out, "### {head} bpdrift: {}\n", escape(&r.summary.verdict))?;
    if let Some(w) = &r.stale_history {
        writeln!(out, "> [!WARNING]\n> {}\n", escape(w))?;
    }
    writeln!(out, "| | image | digest | platform | kind |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    writeln!(out, "{}", image_row("before", &r.before))?;
    writeln!(out, "{}", image_row("after", &r.after))?;

    if !r.findings.is_empty() {
        writeln!(out, "\n#### Findings\n")?;
        let [_, rule, subject, summary, _] = super::FINDING_COLUMNS;
        writeln!(out, "| | {rule} | {subject} | {summary} | sources |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &r.findings {
            // Links only to http(s) URLs, percent-encoded where they could leave the link.
            let sources: Vec<String> = f
                .sources
                .iter()
                .filter_map(|s| crate::sanitize::url(s))
                .enumerate()
                .map(|(i, s)| format!("[{}]({s})", i + 1))
                .collect();
            let mut summary = escape(&f.summary);
            if let Some(note) = &f.note {
                summary.push_str(&format!(" _(note: {})_", escape(note)));
            }
            if let Some(advice) = &f.advice {
                summary.push_str(&format!(" **Advice:** {}", escape(advice)));
            }
            writeln!(
                out,
                "| {} {} | {} | {} | {} | {} |",
                icon(f.severity),
                f.severity,
                code(&f.rule),
                code(&f.change.subject),
                summary,
                sources.join(" ")
            )?;
        }
    }

    if !r.not_applicable.is_empty() {
        writeln!(
            out,
            "\n<details><summary>{}</summary>\n",
            crate::text::plural(
                r.not_applicable.len(),
                "rule did not apply",
                "rules did not apply"
            )
        )?;
        for f in &r.not_applicable {
            writeln!(
                out,
                "- {} on {}: {}",
                code(&f.rule),
                code(&f.change.subject),
                escape(f.note.as_deref().unwrap_or_default())
            )?;
        }
        writeln!(out, "\n</details>")?;
    }

    let problems: Vec<_> = r.problems().collect();
    if !problems.is_empty() {
        writeln!(out, "\n#### Unreadable labels\n")?;
        for (img, p) in problems {
            writeln!(
                out,
                "- {} label {} at {}{}: {}",
                code(img),
                code(&p.label),
                code(&p.path),
                p.position(),
                escape(&p.message)
            )?;
        }
    }

    let of = |cats: &[Category]| -> Vec<&Change> {
        r.changes
            .iter()
            .filter(|c| cats.contains(&c.category))
            .collect()
    };
    let bps = of(&[
        Category::Buildpack,
        Category::Extension,
        Category::BuildpackOrder,
    ]);
    if !bps.is_empty() {
        writeln!(out, "\n#### Buildpacks\n")?;
        writeln!(out, "| buildpack | before | after | change |")?;
        writeln!(out, "|---|---|---|---|")?;
        for c in bps {
            let mut id = match c
                .homepage
                .as_deref()
                .filter(|h| h.starts_with("https://"))
                .and_then(crate::sanitize::url)
            {
                Some(h) => format!("[{}]({h})", escape(&c.subject)),
                None => escape(&c.subject),
            };
            if c.category == Category::Extension {
                id.push_str(" (extension)");
            }
            let mut word = change_word(c);
            if let Some(d) = &c.detail {
                word = format!("{word} ({})", escape(d));
            }
            if let Some(link) = c.release_notes.as_deref().and_then(crate::sanitize::url) {
                word = format!("{word} · [release notes]({link})");
            }
            writeln!(
                out,
                "| {id} | {} | {} | {word} |",
                value(&shown_value(c, &c.before)),
                value(&shown_value(c, &c.after))
            )?;
        }
    }

    if !r.release_notes.is_empty() || r.release_notes_warning.is_some() {
        writeln!(out, "\n#### Release notes\n")?;
        if let Some(w) = &r.release_notes_warning {
            writeln!(out, "_{}_\n", escape(w))?;
        }
        for n in &r.release_notes {
            let repo = if n.repository == n.buildpack {
                String::new()
            } else {
                format!(" ({})", code(&n.repository))
            };
            writeln!(
                out,
                "{} {} → {}{repo}:{}\n",
                code(&n.buildpack),
                code(&n.from),
                code(&n.to),
                n.note
                    .as_deref()
                    .map(|x| format!(" _{}_", escape(x)))
                    .unwrap_or_default()
            )?;
            for rel in &n.releases {
                writeln!(
                    out,
                    "<details><summary>{} {}</summary>\n",
                    super::escape::html_inert(&rel.version),
                    super::escape::html_inert(&rel.headline)
                )?;
                writeln!(out, "{}\n", super::escape::markdown_block(&rel.body))?;
                if rel.truncated {
                    writeln!(out, "_(cut at {} bytes)_\n", crate::release_notes::BODY_MAX)?;
                }
                writeln!(out, "</details>\n")?;
            }
            if n.more > 0 {
                writeln!(
                    out,
                    "_and {} before these_\n",
                    crate::text::plural(n.more, "older release", "older releases")
                )?;
            }
        }
    }

    let rts = of(&[Category::Runtime]);
    if !rts.is_empty() {
        folded(out, "Runtimes", &rts)?;
        writeln!(out, "| runtime | before | after | change | read from |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in rts {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                escape(&c.subject),
                value(&c.before),
                value(&c.after),
                change_word(c),
                escape(c.detail.as_deref().unwrap_or_default())
            )?;
        }
        writeln!(out, "\n</details>")?;
    }

    let deps = of(&[Category::Dependency]);
    if !deps.is_empty() {
        folded(out, "Runtime dependencies", &deps)?;
        writeln!(out, "| dependency | before | after | change |")?;
        writeln!(out, "|---|---|---|---|")?;
        for c in deps {
            let name = match &c.detail {
                Some(n) => format!("{} ({})", escape(&c.subject), escape(n)),
                None => escape(&c.subject),
            };
            writeln!(
                out,
                "| {name} | {} | {} | {} |",
                value(&c.before),
                value(&c.after),
                change_word(c)
            )?;
        }
        writeln!(out, "\n</details>")?;
    }

    let others = of(super::OTHER_CATEGORIES);
    if !others.is_empty() {
        writeln!(
            out,
            "\n<details><summary>Image: {}</summary>\n",
            crate::text::plural(others.len(), "other item", "other items")
        )?;
        writeln!(out, "| what | item | before | after | change |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in others {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                c.category.label(),
                code(&super::item_cell(c)),
                value(&shown_value(c, &c.before)),
                value(&shown_value(c, &c.after)),
                change_word(c)
            )?;
        }
        writeln!(out, "\n</details>")?;
    }

    let rows = super::part_rows(r);
    if !rows.is_empty() {
        writeln!(out, "\n#### Layers by part\n")?;
        let header: Vec<String> = super::PART_HEADER
            .iter()
            .map(|h| h.to_lowercase())
            .collect();
        writeln!(out, "| {} |", header.join(" | "))?;
        writeln!(out, "|---|---|---|---|---|")?;
        for row in rows {
            let [part, rest @ ..] = row;
            let rest: Vec<String> = rest.iter().map(|c| escape(c)).collect();
            writeln!(out, "| {} | {} |", code(&part), rest.join(" | "))?;
        }
        if let Some(line) = super::app_unchanged_line(r) {
            writeln!(out, "\n{line}")?;
        }
    }

    let mem = super::memory_lines(r);
    if let Some((head, rest)) = mem.split_first() {
        writeln!(out, "\n#### {}\n", escape(head))?;
        for l in rest {
            writeln!(out, "- {}", escape(l))?;
        }
    }

    if let Some(p) = &r.packages {
        super::packages::markdown(p, out)?;
    }

    writeln!(out, "\n{}", escape(&layers_line(r)))?;
    if r.unchanged_hidden > 0 {
        writeln!(
            out,
            "\n_{} hidden._",
            crate::text::plural(r.unchanged_hidden, "unchanged item", "unchanged items")
        )?;
    }
    Ok(())
}
