//! The package diff (`diff --sbom`, or the legacy packages label) in the table and Markdown
//! formats, and an image's packages in `inspect`. JSON is the report through serde. Pure.

use std::io::{self, Write};

use super::escape;
use crate::packages::ImagePackages;
use crate::packages::diff::{GroupDiff, PackageChange, PackagesDiff};

/// Rows shown per location; the JSON report has every package.
const ROWS_MAX: usize = 100;

fn version(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "—".into(), super::plain)
}

/// `OS packages: 2 changed, 1 added, 1 removed, 310 unchanged`.
fn counts(g: &GroupDiff) -> String {
    let mut parts = Vec::new();
    for (n, w) in [
        (g.changed, "changed"),
        (g.added, "added"),
        (g.removed, "removed"),
        (g.unchanged, "unchanged"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {w}"));
        }
    }
    if parts.is_empty() {
        parts.push("none".into());
    }
    if g.truncated > 0 {
        parts.push(format!("{} not read (entry limit)", g.truncated));
    }
    parts.join(", ")
}

/// Where the packages were read from, both sides (one line when they agree).
fn sources(g: &GroupDiff) -> String {
    let side = |s: &[String]| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.join("; ")
        }
    };
    if g.sources_before == g.sources_after {
        side(&g.sources_after)
    } else {
        format!(
            "before: {}; after: {}",
            side(&g.sources_before),
            side(&g.sources_after)
        )
    }
}

fn heading(p: &PackagesDiff) -> &'static str {
    if p.sbom {
        "Packages (from the SBOMs)"
    } else {
        "Packages (from the packages label)"
    }
}

fn arch_name(c: &PackageChange) -> String {
    match &c.arch {
        Some(a) => format!("{} ({a})", c.name),
        None => c.name.clone(),
    }
}

/// The table format's section.
pub(super) fn table(p: &PackagesDiff, out: &mut dyn Write) -> io::Result<()> {
    use super::plain;
    writeln!(out, "\n{}", super::heading(heading(p)))?;
    for g in &p.groups {
        writeln!(
            out,
            "  {}: {} ({})",
            plain(&g.location.describe()),
            counts(g),
            plain(&sources(g))
        )?;
        if g.changes.is_empty() {
            continue;
        }
        let mut t = super::new_table(&["PACKAGE", "TYPE", "BEFORE", "AFTER", "CHANGE"]);
        for c in g.changes.iter().take(ROWS_MAX) {
            t.add_row(vec![
                plain(&arch_name(c)),
                plain(&c.kind),
                version(&c.before),
                version(&c.after),
                super::move_word(c.class_word(), c.class, c.status),
            ]);
        }
        writeln!(out, "{t}")?;
        if g.changes.len() > ROWS_MAX {
            writeln!(
                out,
                "  … {} more (--format json lists every package)",
                g.changes.len() - ROWS_MAX
            )?;
        }
    }
    for n in &p.notes {
        writeln!(out, "  note ({}): {}", plain(&n.image), plain(&n.note))?;
    }
    Ok(())
}

/// The Markdown section: one collapsible table per location, open when it differs.
pub(super) fn markdown(p: &PackagesDiff, out: &mut dyn Write) -> io::Result<()> {
    let code = |s: &str| escape::markdown_code_span(s);
    writeln!(out, "\n#### {}", escape::markdown(heading(p)))?;
    for g in &p.groups {
        writeln!(
            out,
            "\n<details{}><summary>{}: {}</summary>\n",
            if g.differs() { " open" } else { "" },
            escape::markdown(&g.location.describe()),
            escape::markdown(&counts(g))
        )?;
        writeln!(out, "Read from: {}", escape::markdown(&sources(g)))?;
        if !g.changes.is_empty() {
            writeln!(out, "\n| package | type | before | after | change |")?;
            writeln!(out, "|---|---|---|---|---|")?;
            for c in g.changes.iter().take(ROWS_MAX) {
                let v = |v: &Option<String>| v.as_deref().map(code).unwrap_or_else(|| "—".into());
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    code(&arch_name(c)),
                    escape::markdown(&c.kind),
                    v(&c.before),
                    v(&c.after),
                    c.class_word()
                )?;
            }
            if g.changes.len() > ROWS_MAX {
                writeln!(
                    out,
                    "\n_… {} more; the JSON report lists every package._",
                    g.changes.len() - ROWS_MAX
                )?;
            }
        }
        writeln!(out, "\n</details>")?;
    }
    for n in &p.notes {
        writeln!(
            out,
            "\n_Note ({}): {}_",
            escape::markdown(&n.image),
            escape::markdown(&n.note)
        )?;
    }
    Ok(())
}

/// `inspect`'s lines for one image's packages.
pub(super) fn inspect_lines(p: &ImagePackages) -> Vec<String> {
    let mut out = Vec::new();
    for g in &p.groups {
        let n = g.packages.len();
        out.push(format!(
            "{}: {n} {} ({})",
            super::plain(&g.location.describe()),
            g.location.noun(n),
            super::plain(&g.sources.join("; "))
        ));
    }
    out.extend(p.notes.iter().map(|n| format!("note: {}", super::plain(n))));
    out
}
