//! The pull request comment's body: the hidden marker that finds it again, the footer, and
//! fitting the report into GitHub's size limit without losing its first line. Pure.

/// GitHub rejects longer comment bodies ("maximum is 65536 characters"). Bodies are measured in
/// bytes, never fewer than characters however GitHub counts them.
pub(crate) const MAX_COMMENT_BYTES: usize = 65_536;

/// What happened to the comment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Upsert {
    Created(String),
    Updated(String),
    Unchanged(String),
    /// No drift and nothing earlier to correct.
    Skipped,
}

/// The hidden first line that finds the comment again.
pub(crate) fn marker(key: &str) -> String {
    format!("<!-- bpdrift:{key} -->")
}

/// The report of a pair that no longer differs, headed so nobody reads the earlier warning.
pub(crate) fn no_drift_anymore(markdown: &str) -> String {
    let rest = match markdown.split_once('\n') {
        Some((first, rest)) if first.starts_with("### ") => rest,
        _ => markdown,
    };
    format!(
        "### ✅ bpdrift: no drift anymore\n\nThe two images no longer differ: what this comment \
         reported earlier is gone.\n{rest}"
    )
}

pub(crate) fn footer(run_url: Option<&str>, head_sha: Option<&str>) -> String {
    let mut parts = vec![format!("bpdrift {}", env!("CARGO_PKG_VERSION"))];
    if let Some(u) = run_url {
        parts.push(format!("[job summary]({u})"));
    }
    if let Some(sha) = head_sha {
        parts.push(format!("for {}", sha.chars().take(12).collect::<String>()));
    }
    format!("<sub>{}</sub>\n", parts.join(" · "))
}

/// The body without the footer [`footer`] writes: what the comment says, whichever run said it.
pub(crate) fn without_footer(body: &str) -> &str {
    match body.rfind("\n<sub>bpdrift ") {
        Some(i) => &body[..i],
        None => body,
    }
}

/// The comment: marker, report (fitted), footer. Nothing outside the footer names the run, so
/// the same report from another run is the same comment ([`without_footer`]).
pub(crate) fn comment_body(marker: &str, report: &str, footer: &str) -> String {
    let note = format!(
        "> [!NOTE]\n> This report is longer than a comment may be ({MAX_COMMENT_BYTES} \
         characters) and was cut: the full report is in the job summary of the run linked below \
         and in the `report-json` output.\n"
    );
    fit(
        &format!("{marker}\n"),
        report,
        footer,
        &note,
        MAX_COMMENT_BYTES,
    )
}

/// `head`, `report` and `tail` joined, within `limit` bytes. When they do not fit, the report
/// loses its `<details>` contents first, then finding rows ([`cut_rows`]), and only then lines
/// from the end; its first line (the verdict) stays, and `note` says where the rest is.
pub(crate) fn fit(head: &str, report: &str, tail: &str, note: &str, limit: usize) -> String {
    let join = |body: &str| {
        let mut s = String::with_capacity(head.len() + body.len() + tail.len() + 1);
        s.push_str(head);
        s.push_str(body);
        if !tail.is_empty() {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push('\n');
            s.push_str(tail);
        }
        s
    };
    let whole = join(report);
    if whole.len() <= limit {
        return whole;
    }
    let folded = fold_details(report);
    let with_note = join(&format!("{folded}\n{note}"));
    if with_note.len() <= limit {
        return with_note;
    }
    // Room for the note, the "lines cut" lines and the joins.
    let budget = limit.saturating_sub(head.len() + tail.len() + note.len() + 200);
    let folded = cut_rows(&folded, budget);
    let mut kept = String::new();
    let mut cut = 0usize;
    for (i, line) in folded.lines().enumerate() {
        // A verdict naming a label of 60 KB is an attack, not a verdict.
        let line = if i == 0 {
            cap(line, 2000)
        } else {
            line.to_string()
        };
        if cut == 0 && kept.len() + line.len() < budget {
            kept.push_str(&line);
            kept.push('\n');
        } else {
            cut += 1;
        }
    }
    if cut > 0 {
        kept.push_str(&format!(
            "\n_… {} cut._\n",
            crate::text::plural(cut, "more line", "more lines")
        ));
    }
    let mut s = join(&format!("{kept}\n{note}"));
    if s.len() > limit {
        // Only an absurd head or tail gets here; the limit holds regardless.
        s = cap(&s, limit);
    }
    s
}

/// Sections whose rows go first when a report is too long: one row per finding or unreadable
/// label, hundreds with a wide rule file, and each says less than the verdict and the
/// buildpacks table after them, which must stay.
const CUT_FIRST: [(&str, &str, &str); 2] = [
    ("#### Findings", "finding", "findings"),
    (
        "#### Unreadable labels",
        "unreadable label",
        "unreadable labels",
    ),
];

/// `report` with rows of the [`CUT_FIRST`] sections dropped from their ends until it fits in
/// `budget` bytes (or none is left), each shortened section ending with a line saying how many
/// rows went.
pub(crate) fn cut_rows(report: &str, budget: usize) -> String {
    let lines: Vec<&str> = report.lines().collect();
    // Per section: the indexes of its rows (table rows past the header, or list items).
    let mut sections: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut current: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("#### ") || line.starts_with("<details") {
            current = CUT_FIRST.iter().position(|(h, _, _)| line == h);
            if let Some(k) = current {
                sections.push((k, Vec::new()));
            }
            continue;
        }
        let is_row =
            (line.starts_with("| ") && !line.starts_with("| | rule")) || line.starts_with("- ");
        if current.is_some()
            && is_row
            && let Some((_, rows)) = sections.last_mut()
        {
            rows.push(i);
        }
    }
    let mut size = report.len();
    let mut dropped = vec![false; lines.len()];
    let mut counts = vec![0usize; sections.len()];
    // The longest section loses a row first, from its end: the report keeps some of each.
    // Room for each section's "… N more cut" line.
    let reserve = 100 * sections.len();
    while size + reserve > budget {
        let Some((s, row)) = sections
            .iter()
            .enumerate()
            .filter_map(|(s, (_, rows))| {
                rows.iter()
                    .rev()
                    .find(|&&i| !dropped[i])
                    .map(|&i| (s, i, rows.len() - counts[s]))
            })
            .max_by_key(|&(_, _, left)| left)
            .map(|(s, i, _)| (s, i))
        else {
            break;
        };
        dropped[row] = true;
        counts[s] += 1;
        size -= lines[row].len() + 1;
    }
    let mut out = String::with_capacity(size + 200);
    for (i, line) in lines.iter().enumerate() {
        if !dropped[i] {
            out.push_str(line);
            out.push('\n');
        }
        // After a section's last row: how many of its rows were cut.
        for (s, (k, rows)) in sections.iter().enumerate() {
            if counts[s] > 0 && rows.last() == Some(&i) {
                let (_, one, many) = CUT_FIRST[*k];
                out.push_str(&format!(
                    "\n_… {} more {} cut to fit: the job summary has them all._\n",
                    counts[s],
                    if counts[s] == 1 { one } else { many }
                ));
            }
        }
    }
    out
}

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Every `<details>` block reduced to its summary line.
pub(crate) fn fold_details(report: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in report.lines() {
        if inside {
            if line.trim() == "</details>" {
                inside = false;
            }
            continue;
        }
        if line.starts_with("<details") {
            inside = true;
            let summary = line
                .split_once("<summary>")
                .and_then(|(_, r)| r.split_once("</summary>"))
                .map(|(s, _)| s)
                .unwrap_or("details");
            out.push_str(&format!(
                "<details><summary>{summary}</summary>\n\n_Cut to fit: see the job summary._\n\n</details>\n"
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fits_and_keeps_the_verdict() {
        let mut md = String::from("### 🛑 bpdrift: 3 buildpacks changed; findings: 2 errors\n\n");
        md.push_str("| a | b |\n|---|---|\n");
        md.push_str("\n<details open><summary>Runtime dependencies (1 changed)</summary>\n\n");
        for i in 0..3000 {
            md.push_str(&format!("| dep-{i} | `1.0.{i}` |\n"));
        }
        md.push_str("\n</details>\n");
        for i in 0..3000 {
            md.push_str(&format!("| row-{i} | some long text that takes room |\n"));
        }
        let body = comment_body(&marker("k"), &md, &footer(Some("https://g/r"), None));
        assert!(body.len() <= MAX_COMMENT_BYTES, "{}", body.len());
        assert!(body.starts_with(
            "<!-- bpdrift:k -->\n### 🛑 bpdrift: 3 buildpacks changed; findings: 2 errors\n"
        ));
        assert!(body.contains("<summary>Runtime dependencies (1 changed)</summary>"));
        assert!(!body.contains("dep-1 "));
        assert!(body.contains("more lines cut._"));
        assert!(body.contains("[job summary](https://g/r)"));
        assert!(body.ends_with("</sub>\n"));

        // Folding the details alone can be enough.
        let mut md = String::from("### ⚠️ bpdrift: x\n\n<details><summary>S</summary>\n\n");
        md.push_str(&"y".repeat(70_000));
        md.push_str("\n\n</details>\nlast line\n");
        let body = comment_body(&marker("k"), &md, "");
        assert!(body.contains("last line") && !body.contains("yyy"));
        assert!(body.contains("in the job summary of the run linked below"));

        // Small reports are left alone.
        let body = comment_body(&marker("k"), "### ✅ a\n", "<sub>f</sub>\n");
        assert_eq!(body, "<!-- bpdrift:k -->\n### ✅ a\n\n<sub>f</sub>\n");

        // An absurd verdict is capped, the limit holds.
        let md = format!("### x {}\n", "é".repeat(100_000));
        let body = comment_body(&marker("k"), &md, "");
        assert!(body.len() <= MAX_COMMENT_BYTES);
    }

    #[test]
    fn finding_rows_go_before_the_buildpacks_table() {
        let mut md =
            String::from("### ⚠️ bpdrift: v\n\n#### Findings\n\n| | rule | x |\n|---|---|---|\n");
        for i in 0..2000 {
            md.push_str(&format!(
                "| ⚠️ warning | `r-{i:04}` | {} |\n",
                "z".repeat(40)
            ));
        }
        md.push_str(
            "\n#### Buildpacks\n\n| buildpack | before | after | change |\n|---|---|---|---|\n",
        );
        md.push_str("| paketo-buildpacks/jre | `1` | `2` | major |\n\nlast line\n");
        let body = comment_body(&marker("k"), &md, "<sub>bpdrift x</sub>\n");
        assert!(body.len() <= MAX_COMMENT_BYTES, "{}", body.len());
        assert!(body.len() > 60_000, "{}", body.len());
        assert!(body.contains("| `r-0000` |") || body.contains("`r-0000`"));
        assert!(!body.contains("`r-1999`"));
        assert!(body.contains("more findings cut to fit: the job summary has them all._"));
        let tail = &body[body.len() - 600..];
        assert!(
            body.contains("| paketo-buildpacks/jre | `1` | `2` | major |\n\nlast line"),
            "{tail}"
        );
        assert!(!body.contains("more lines cut"));
        // The row count line stands apart from the table, or GFM would read it as a row.
        let i = body.find("\n_… ").unwrap();
        assert!(body[..i].ends_with("|\n"), "{}", &body[i - 80..i + 80]);
    }

    #[test]
    fn no_drift_heading_replaces_the_verdict() {
        let s = no_drift_anymore("### ✅ bpdrift: no drift; no findings\n\n| x |\n");
        assert!(s.starts_with("### ✅ bpdrift: no drift anymore\n\nThe two images"));
        assert!(s.ends_with("\n\n| x |\n"));
        assert!(!s.contains("no drift; no findings"));
    }
}
