//! The scheduled fleet report as Markdown (an issue body, a job summary) and as one
//! self-contained HTML page (no external assets): alarm first, then totals, a table of services
//! with their status, and per service its findings, drift, rollback targets and a timeline of
//! buildpack versions from the history.

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::markdown_escape as md;
use super::short_digest;
use crate::report::fleet::{
    FleetReport, ServiceReport, ServiceStatus, TargetStatus, TimelineEntry,
};
use crate::rules::Severity;

use super::escape::html as h;

fn digest_or(d: &Option<String>) -> String {
    d.as_deref().map(short_digest).unwrap_or_else(|| "—".into())
}

fn image_cell(s: &ServiceReport, role: &str) -> Option<String> {
    let i = s.images.iter().find(|i| i.role == role)?;
    Some(match &i.error {
        Some(_) => "fetch failed".into(),
        None => digest_or(&i.digest),
    })
}

/// What the services table shows of one service, in plain text (escaped as it is written):
/// all a large report keeps of a service once its details are written out.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    name: String,
    status: ServiceStatus,
    /// (role, image cell), in the service's order.
    cells: Vec<(String, String)>,
    drift: String,
    findings: String,
    rollback: String,
}

impl Row {
    /// The row of `s`.
    pub(crate) fn of(s: &ServiceReport) -> Self {
        Self {
            name: s.name.clone(),
            status: s.status,
            cells: s
                .images
                .iter()
                .filter_map(|i| Some((i.role.clone(), image_cell(s, &i.role)?)))
                .collect(),
            drift: drift_text(s),
            findings: findings_text(s),
            rollback: rollback_text(s),
        }
    }

    fn cell(&self, role: &str) -> String {
        self.cells
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| "—".into())
    }
}

/// The roles the fleet's services watch, in the order they first appear (`deployed`,
/// `candidate`, `nightly`…): one column each, never a fixed set.
fn roles(rows: &[Row]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for (role, _) in rows.iter().flat_map(|r| &r.cells) {
        if !seen.contains(&role.as_str()) {
            seen.push(role);
        }
    }
    seen
}

/// Writes the services' details in report order.
pub(crate) type Details<'a> = dyn FnMut(&mut dyn Write) -> io::Result<()> + 'a;

/// The formats a fleet report is written in, a service at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FleetFormat {
    /// Markdown.
    Markdown,
    /// One HTML page.
    Html,
    /// JSON.
    Json,
    /// SARIF: written whole from the report's findings by [`super::fleet_sarif`] (which needs
    /// the rule sets), so a run spills nothing for it.
    Sarif,
}

impl FleetFormat {
    /// The part of the report that is `s`'s alone (its details), as soon as `s` is done.
    pub(crate) fn detail(self, s: &ServiceReport, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Self::Markdown => markdown_detail(s, out),
            Self::Html => service_html(s, out),
            Self::Json => json_detail(s, out),
            Self::Sarif => Ok(()),
        }
    }

    /// The whole report: `r` (its services left out), the table `rows` (report order) and
    /// the details written by `details`.
    pub(crate) fn document(
        self,
        r: &FleetReport,
        rows: &[Row],
        details: &mut Details<'_>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match self {
            Self::Markdown => markdown_document(r, rows, details, out),
            Self::Html => html_document(r, rows, details, out),
            Self::Json => json_document(r, rows, details, out),
            Self::Sarif => Err(io::Error::other(
                "a fleet report's SARIF is written by render::fleet_sarif",
            )),
        }
    }

    /// A whole report in memory, written at once.
    pub(crate) fn write(self, r: &FleetReport, out: &mut dyn Write) -> io::Result<()> {
        let rows: Vec<Row> = r.services.iter().map(Row::of).collect();
        let mut details = |w: &mut dyn Write| -> io::Result<()> {
            for (i, s) in r.services.iter().enumerate() {
                if self == Self::Json && i > 0 {
                    w.write_all(b",\n")?;
                }
                self.detail(s, w)?;
            }
            Ok(())
        };
        self.document(r, &rows, &mut details, out)
    }
}

/// `value` as bpdrift writes JSON (pretty, unsafe characters escaped), without the newline.
fn json_text<T: serde::Serialize>(value: &T) -> io::Result<String> {
    let mut text = crate::sanitize::json::to_string(value)?;
    text.truncate(text.trim_end().len());
    Ok(text)
}

/// A service as it is in the JSON report (pretty, indented as an element of `services`).
fn json_detail(s: &ServiceReport, out: &mut dyn Write) -> io::Result<()> {
    let text = json_text(s)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(b"    ")?;
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The JSON report: exactly what [`crate::sanitize::json::write`] writes of the whole report,
/// its services written by `details` (each an element, separated by `,\n`).
fn json_document(
    r: &FleetReport,
    rows: &[Row],
    details: &mut Details<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let head = FleetReport {
        schema_version: r.schema_version,
        bpdrift_version: r.bpdrift_version,
        generated_at: r.generated_at.clone(),
        fleet: r.fleet.clone(),
        previous_run: r.previous_run.clone(),
        alarm: r.alarm.clone(),
        summary: r.summary.clone(),
        services: Vec::new(),
    };
    let text = json_text(&head)?;
    let Some(open) = text.rfind("[]") else {
        return Err(io::Error::other("the report's JSON has no services array"));
    };
    if rows.is_empty() {
        out.write_all(text.as_bytes())?;
    } else {
        out.write_all(&text.as_bytes()[..open])?;
        out.write_all(b"[\n")?;
        details(out)?;
        out.write_all(b"\n  ]")?;
        out.write_all(&text.as_bytes()[open + 2..])?;
    }
    out.write_all(b"\n")
}

/// The findings count, or "unknown" when an image could not be read: zero would be a claim.
fn findings_text(s: &ServiceReport) -> String {
    if s.status == ServiceStatus::Failed {
        "unknown".into()
    } else {
        s.findings.len().to_string()
    }
}

fn drift_text(s: &ServiceReport) -> String {
    let mut parts: Vec<String> = s
        .drift
        .iter()
        .filter(|d| !d.changes.is_empty())
        .map(|d| format!("{} → {}: {}", d.from, d.to, d.verdict))
        .collect();
    for d in &s.since_last_run {
        if d.previous_digest != d.digest {
            let mut t = format!(
                "{} moved since last run: {} → {}",
                d.role,
                digest_or(&d.previous_digest),
                digest_or(&d.digest)
            );
            for p in d.package_phrases() {
                t.push_str(&format!("; {p}"));
            }
            parts.push(t);
        }
    }
    if parts.is_empty() && s.status == ServiceStatus::Failed {
        "unknown (an image could not be read)".into()
    } else if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

fn rollback_text(s: &ServiceReport) -> String {
    if s.rollback.is_empty() {
        return "none recorded".into();
    }
    let present = s
        .rollback
        .iter()
        .filter(|t| t.status == TargetStatus::Present)
        .count();
    let vanished = s
        .rollback
        .iter()
        .filter(|t| t.status == TargetStatus::Vanished)
        .count();
    let mut t = format!("{present}/{} present", s.rollback.len());
    if vanished > 0 {
        t.push_str(&format!(", {vanished} vanished"));
    }
    t
}

fn totals(r: &FleetReport) -> String {
    let f = &r.summary.findings;
    let count = |s: Severity| f.get(&s).copied().unwrap_or(0);
    // Counts agree with their nouns: `1 service`, `2 fetch errors`, `14 warnings`.
    let n = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {}; findings: {}, {}, {} info; {}",
        n(r.summary.services, "service", "services"),
        n(r.summary.images, "image", "images"),
        n(r.summary.fetch_errors, "fetch error", "fetch errors"),
        n(count(Severity::Error), "error", "errors"),
        n(count(Severity::Warning), "warning", "warnings"),
        count(Severity::Info),
        n(
            r.summary.vanished_rollback_targets,
            "vanished rollback target",
            "vanished rollback targets"
        )
    )
}

/// What moved, in words: between watched references, and of each reference since the last run.
fn moves(s: &ServiceReport) -> Vec<String> {
    let between = s
        .drift
        .iter()
        .filter(|d| !d.changes.is_empty())
        .map(|d| format!("{} → {}: {}", d.from, d.to, d.verdict));
    let since = s
        .since_last_run
        .iter()
        .filter(|d| !d.changes.is_empty() || d.previous_digest != d.digest)
        .map(|d| {
            let list: Vec<String> = d
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{} {} → {}",
                        c.subject,
                        c.before.as_deref().unwrap_or("—"),
                        c.after.as_deref().unwrap_or("—")
                    )
                })
                .collect();
            let mut t = format!(
                "{} since {} ({} → {}): {}",
                d.role,
                d.previous_at.as_deref().unwrap_or("?"),
                digest_or(&d.previous_digest),
                digest_or(&d.digest),
                if list.is_empty() {
                    "same buildpacks".into()
                } else {
                    list.join(", ")
                }
            );
            for p in d.package_phrases() {
                t.push_str(&format!("; {p}"));
            }
            t
        });
    between.chain(since).collect()
}

/// Timeline rows whose packages moved (or, on a role's first row, were first recorded), with
/// their phrases: the newest few, oldest first (an issue body is bounded; the HTML page and
/// `bpdrift history` have them all).
fn package_timeline(s: &ServiceReport) -> Vec<(&TimelineEntry, String)> {
    const SHOWN: usize = 5;
    let rows: Vec<(&TimelineEntry, String)> = s
        .timeline
        .iter()
        .filter_map(|t| {
            let p = t.packages.as_ref().filter(|p| !p.is_empty())?;
            Some((t, p.join("; ")))
        })
        .collect();
    let skip = rows.len().saturating_sub(SHOWN);
    rows.into_iter().skip(skip).collect()
}

/// Markdown (an issue body, a job summary).
fn markdown_document(
    r: &FleetReport,
    rows: &[Row],
    details: &mut Details<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "## bpdrift fleet report\n")?;
    if let Some(a) = &r.alarm {
        writeln!(out, "> **🛑 Missed run:** {}\n", md(a))?;
    }
    writeln!(
        out,
        "Generated {} from `{}`; previous run: {}.\n",
        md(&r.generated_at),
        md(&r.fleet),
        md(r.previous_run.as_deref().unwrap_or("none"))
    )?;
    writeln!(out, "**{}**\n", totals(r))?;
    let roles = roles(rows);
    let role_heads: String = roles.iter().map(|r| format!(" {} |", md(r))).collect();
    writeln!(
        out,
        "| service | status |{role_heads} drift | findings | rollback |"
    )?;
    writeln!(out, "|---|---|{}---|---|---|", "---|".repeat(roles.len()))?;
    for s in rows {
        let cells: String = roles
            .iter()
            .map(|role| format!(" {} |", md(&s.cell(role))))
            .collect();
        writeln!(
            out,
            "| {} | {} |{cells} {} | {} | {} |",
            md(&s.name),
            s.status,
            md(&s.drift),
            s.findings,
            s.rollback
        )?;
    }
    details(out)
}

fn markdown_detail(s: &ServiceReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "\n<details{}><summary><b>{}</b>: {}</summary>\n",
        if s.status == ServiceStatus::Ok {
            ""
        } else {
            " open"
        },
        md(&s.name),
        s.status
    )?;
    for i in &s.images {
        match &i.error {
            Some(e) => writeln!(
                out,
                "- {} `{}`: **could not be fetched**: {}",
                md(&i.role),
                md(&i.reference),
                md(e)
            )?,
            None => writeln!(
                out,
                "- {} `{}` → `{}` ({})",
                md(&i.role),
                md(&i.reference),
                md(&digest_or(&i.digest)),
                md(i.platform.as_deref().unwrap_or("?"))
            )?,
        }
    }
    for f in &s.findings {
        writeln!(
            out,
            "- **{}** `{}` {}: {}",
            f.severity,
            md(&f.rule),
            md(&f.change.subject),
            md(&f.summary)
        )?;
    }
    for m in moves(s) {
        writeln!(out, "- drift {}", md(&m))?;
    }
    for (t, p) in package_timeline(s) {
        writeln!(
            out,
            "- packages {} {} `{}`: {}",
            md(&t.at),
            md(&t.role),
            md(&digest_or(&t.digest)),
            md(&p)
        )?;
    }
    for t in &s.rollback {
        writeln!(
            out,
            "- rollback target `{}` ({}): {}",
            md(&t.reference),
            t.origin,
            t.status
        )?;
    }
    writeln!(out, "\n</details>")
}

const CSS: &str = "
:root{--ok:#1a7f37;--warn:#9a6700;--err:#cf222e;--info:#0969da;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1240px;padding:24px;color:#1f2328}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 10px}h3{font-size:16px;margin:18px 0 6px}
.meta{color:var(--muted);margin:0 0 16px}
.alarm{border:2px solid var(--err);background:#ffebe9;color:#82071e;padding:12px 16px;border-radius:8px;margin:12px 0 18px;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;background:var(--bg);min-width:150px}
.card .n{display:block;font-size:24px;font-weight:700}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:14px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;border-radius:12px;padding:1px 10px;font-size:12px;font-weight:700;color:#fff;background:var(--muted)}
.badge.ok{background:var(--ok)}.badge.drift,.badge.info{background:var(--info)}.badge.warning{background:var(--warn)}.badge.error,.badge.failed{background:var(--err)}
.service{border:1px solid var(--line);border-radius:10px;padding:4px 18px 12px;margin:18px 0}
td.changed{background:#fff8c5;font-weight:600}.err{color:var(--err)}
.scroll{overflow-x:auto;max-width:100%}table.timeline td:first-child,table.timeline td:nth-child(3){white-space:nowrap}
td code{overflow-wrap:anywhere}
@media (max-width:640px){body{padding:12px}.card{min-width:0;flex:1 1 40%}
#services thead{display:none}#services tr{display:block;border-bottom:1px solid var(--line);padding:6px 0}
#services td{display:flex;gap:8px;border:0;padding:2px 4px}#services td::before{content:attr(data-label);flex:0 0 7.5em;color:var(--muted);font-weight:600}
.service{padding:4px 10px 10px}}
";

/// One self-contained HTML page.
fn html_document(
    r: &FleetReport,
    rows: &[Row],
    details: &mut Details<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>bpdrift fleet report {}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        h(&r.generated_at)
    )?;
    writeln!(out, "<header><h1>bpdrift fleet report</h1>")?;
    writeln!(
        out,
        "<p class=\"meta\">Generated <time id=\"generated\">{}</time> from <code>{}</code> · previous run: {}</p></header>",
        h(&r.generated_at),
        h(&r.fleet),
        h(r.previous_run.as_deref().unwrap_or("none"))
    )?;
    if let Some(a) = &r.alarm {
        writeln!(
            out,
            "<section id=\"alarm\" class=\"alarm\" role=\"alert\">Missed run: {}</section>",
            h(a)
        )?;
    }
    let f = &r.summary.findings;
    let count = |s: Severity| f.get(&s).copied().unwrap_or(0);
    writeln!(out, "<section id=\"summary\" class=\"cards\">")?;
    for (id, n, label) in [
        ("services", r.summary.services, "services"),
        ("images", r.summary.images, "images"),
        ("fetch-errors", r.summary.fetch_errors, "fetch errors"),
        ("errors", count(Severity::Error), "error findings"),
        ("warnings", count(Severity::Warning), "warning findings"),
        (
            "vanished",
            r.summary.vanished_rollback_targets,
            "vanished rollback targets",
        ),
    ] {
        writeln!(
            out,
            "<div class=\"card\" id=\"card-{id}\"><span class=\"n\">{n}</span>{label}</div>"
        )?;
    }
    writeln!(out, "</section>")?;
    // On a narrow screen the services table reflows into one block per service (each cell
    // labelled by `data-label`); wider, it scrolls inside its box rather than the page.
    let roles = roles(rows);
    let role_heads: String = roles.iter().map(|r| format!("<th>{}</th>", h(r))).collect();
    writeln!(
        out,
        "<h2>Services</h2>\n<div class=\"scroll\"><table id=\"services\"><thead><tr><th>Service</th><th>Status</th>{role_heads}<th>Drift</th><th>Findings</th><th>Rollback targets</th></tr></thead><tbody>"
    )?;
    for s in rows {
        let cells: String = roles
            .iter()
            .map(|role| {
                format!(
                    "<td data-label=\"{}\"><code>{}</code></td>",
                    h(role),
                    h(&s.cell(role))
                )
            })
            .collect();
        writeln!(
            out,
            "<tr data-service=\"{n}\" data-status=\"{st}\"><td data-label=\"service\"><a href=\"#svc-{n}\">{n}</a></td><td data-label=\"status\"><span class=\"badge {st}\">{st}</span></td>{cells}<td data-label=\"drift\">{}</td><td data-label=\"findings\">{}</td><td data-label=\"rollback targets\">{}</td></tr>",
            h(&s.drift),
            s.findings,
            h(&s.rollback),
            n = h(&s.name),
            st = h(s.status.as_str()),
        )?;
    }
    writeln!(out, "</tbody></table></div>")?;
    details(out)?;
    writeln!(out, "</body>\n</html>")
}

fn service_html(s: &ServiceReport, out: &mut dyn Write) -> io::Result<()> {
    let n = h(&s.name);
    writeln!(
        out,
        "<section class=\"service\" id=\"svc-{n}\" data-service=\"{n}\">"
    )?;
    writeln!(
        out,
        "<h2>{n} <span class=\"badge {st}\">{st}</span></h2>",
        st = h(s.status.as_str())
    )?;
    writeln!(
        out,
        "<div class=\"scroll\"><table class=\"images\"><thead><tr><th>Role</th><th>Reference</th><th>Digest</th><th>Platform</th></tr></thead><tbody>"
    )?;
    for i in &s.images {
        match &i.error {
            Some(e) => writeln!(
                out,
                "<tr data-role=\"{}\"><td>{}</td><td><code>{}</code></td><td colspan=\"2\" class=\"err\">could not be fetched: {}</td></tr>",
                h(&i.role),
                h(&i.role),
                h(&i.reference),
                h(e)
            )?,
            None => writeln!(
                out,
                "<tr data-role=\"{}\"><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                h(&i.role),
                h(&i.role),
                h(&i.reference),
                h(&digest_or(&i.digest)),
                h(i.platform.as_deref().unwrap_or(""))
            )?,
        }
    }
    writeln!(out, "</tbody></table></div>")?;
    if !s.findings.is_empty() {
        writeln!(out, "<h3>Findings</h3><ul class=\"findings\">")?;
        for f in &s.findings {
            writeln!(
                out,
                "<li data-rule=\"{}\"><span class=\"badge {sev}\">{sev}</span> <code>{}</code> {}: {}</li>",
                h(&f.rule),
                h(&f.rule),
                h(&f.change.subject),
                h(&f.summary),
                sev = f.severity
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    let moves = moves(s);
    if !moves.is_empty() {
        writeln!(out, "<h3>Drift</h3><ul class=\"drift\">")?;
        for m in moves {
            writeln!(out, "<li>{}</li>", h(&m))?;
        }
        writeln!(out, "</ul>")?;
    }
    if !s.rollback.is_empty() {
        writeln!(
            out,
            "<h3>Rollback targets</h3><div class=\"scroll\"><table class=\"rollback\"><tbody>"
        )?;
        for t in &s.rollback {
            writeln!(
                out,
                "<tr data-status=\"{st}\"><td><code>{}</code></td><td>{}</td><td><span class=\"badge {cls}\">{st}</span>{}</td></tr>",
                h(&t.reference),
                t.origin,
                t.error
                    .as_deref()
                    .map(|e| format!(" {}", h(e)))
                    .unwrap_or_default(),
                st = t.status,
                cls = match t.status {
                    TargetStatus::Present => "ok",
                    TargetStatus::Vanished => "error",
                    _ => "warning",
                },
            )?;
        }
        writeln!(out, "</tbody></table></div>")?;
    }
    // Timeline: one row per change (a run that saw the same digest as the previous one of the
    // same role adds nothing to read), one column per buildpack or dependency; a cell that
    // differs from the previous row of the same role is highlighted.
    let keys: BTreeSet<&String> = s.timeline.iter().flat_map(|t| t.versions.keys()).collect();
    writeln!(
        out,
        "<h3>Timeline</h3><div class=\"scroll\"><table class=\"timeline\"><thead><tr><th>Observed</th><th>Role</th><th>Digest</th>"
    )?;
    for k in &keys {
        writeln!(out, "<th>{}</th>", h(k))?;
    }
    // `sbom = true`: what moved among the packages, per row.
    let with_packages = s.timeline.iter().any(|t| t.packages.is_some());
    if with_packages {
        writeln!(out, "<th>Packages</th>")?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    let mut last: std::collections::BTreeMap<&str, &std::collections::BTreeMap<String, String>> =
        Default::default();
    let mut shown: std::collections::BTreeMap<&str, (&Option<String>, &Option<String>)> =
        Default::default();
    for t in &s.timeline {
        if shown.get(t.role.as_str()) == Some(&(&t.digest, &t.error)) {
            continue;
        }
        shown.insert(&t.role, (&t.digest, &t.error));
        write!(
            out,
            "<tr data-role=\"{}\"><td>{}</td><td>{}</td><td><code>{}</code></td>",
            h(&t.role),
            h(&t.at),
            h(&t.role),
            h(&digest_or(&t.digest))
        )?;
        if let Some(e) = &t.error {
            write!(
                out,
                "<td colspan=\"{}\" class=\"err\">{}</td>",
                (keys.len() + usize::from(with_packages)).max(1),
                h(e)
            )?;
        } else {
            let prev = last.get(t.role.as_str());
            for k in &keys {
                let v = t.versions.get(*k);
                let changed = prev.is_some_and(|p| p.get(*k) != v);
                write!(
                    out,
                    "<td{}>{}</td>",
                    if changed { " class=\"changed\"" } else { "" },
                    h(v.map(String::as_str).unwrap_or("—"))
                )?;
            }
            last.insert(&t.role, &t.versions);
            if with_packages {
                match &t.packages {
                    Some(p) if !p.is_empty() => write!(
                        out,
                        "<td class=\"packages changed\">{}</td>",
                        p.iter().map(|p| h(p)).collect::<Vec<_>>().join("<br>")
                    )?,
                    Some(_) => write!(out, "<td class=\"packages\">same packages</td>")?,
                    None => write!(out, "<td class=\"packages\">—</td>")?,
                }
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table></div>\n</section>")
}
