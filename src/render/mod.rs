//! Renderers: pure functions from a [`DiffReport`] to a writer. They never print, read the clock
//! or the environment, so the same report always renders the same bytes.

mod escape;
mod fleet;
mod inspect;
mod json;
mod markdown;
mod memory;
mod packages;
mod platforms;
mod rules;
mod table;

use std::io::{self, Write};

use crate::report::DiffReport;

pub(crate) use fleet::{FleetFormat, Row};
pub use inspect::{inspect_json, inspect_table};
pub use markdown::escape as markdown_escape;
pub use memory::memory;
pub use platforms::render_platforms;
pub use rules::{rules_json, rules_table};

/// `--format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for a terminal.
    #[default]
    Table,
    /// The versioned JSON document (`schema_version`).
    Json,
    /// GitHub-flavoured Markdown, as a PR comment shows it.
    Markdown,
}

/// Writes `report` in `format`.
pub fn render(report: &DiffReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => fitted(out, |buf| table::render(report, buf)),
        Format::Json => json::render(report, out),
        Format::Markdown => markdown::render(report, out),
    }
}

/// The findings table's columns, in the words every format uses (the table upper-cases them;
/// Markdown shows the severity as an icon column and the advice inside the summary, where a
/// fifth column would squeeze a PR comment).
pub(crate) const FINDING_COLUMNS: [&str; 5] = ["severity", "rule", "subject", "summary", "advice"];

/// Renders into a buffer, then fits its prose lines to the terminal width (when one is known):
/// one place, so a new note line cannot make the terminal view wider than the terminal.
pub(crate) fn fitted(
    out: &mut dyn Write,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let Some(w) = table_width() else {
        return render(out);
    };
    let mut buf = Vec::new();
    render(&mut buf)?;
    write!(
        out,
        "{}",
        fit_prose(&String::from_utf8_lossy(&buf), usize::from(w))
    )
}

/// Categories shown together as "Image" items (after buildpacks and runtime dependencies).
pub(crate) const OTHER_CATEGORIES: &[crate::diff::Category] = &[
    crate::diff::Category::Lifecycle,
    crate::diff::Category::PlatformApi,
    crate::diff::Category::RunImage,
    crate::diff::Category::Stack,
    crate::diff::Category::Process,
    crate::diff::Category::Env,
    crate::diff::Category::Label,
    crate::diff::Category::Config,
];

pub(crate) use crate::text::{human_bytes, short_digest};

/// Shortens every `sha256:<64 hex>` inside `s` to 12 hex digits and `…`: on screen the prefix
/// tells digests apart; JSON keeps them whole.
pub(crate) fn shorten_digests(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("sha256:") {
        let (head, tail) = rest.split_at(i + 7);
        out.push_str(head);
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str(&tail[..12]);
            out.push('…');
            rest = &tail[64..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// What a renderer shows in the before/after cells of a change: order changes are told by what
/// moved (in `detail`), not by two long lists.
pub(crate) fn shown_value(c: &crate::diff::Change, v: &Option<String>) -> Option<String> {
    if c.category == crate::diff::Category::BuildpackOrder && c.subject == "execution order" {
        return None;
    }
    v.as_deref().map(shorten_digests)
}

/// The terminal width tables must fit (0: unlimited — pipes, files, snapshots). Set once by the
/// binary from `COLUMNS` before anything renders; renderers stay pure (they never read the
/// environment themselves).
static TABLE_WIDTH: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// Sets the width tables must fit (`None`: unlimited).
pub fn set_table_width(width: Option<u16>) {
    TABLE_WIDTH.store(width.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

/// The width tables must fit, if any.
pub(crate) fn table_width() -> Option<u16> {
    match TABLE_WIDTH.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// Width for wrapped prose lines: `default`, or less when the terminal is narrower.
pub(crate) fn text_width(default: usize, indent: usize) -> usize {
    table_width().map_or(default, |w| {
        default.min(usize::from(w).saturating_sub(indent).max(20))
    })
}

/// Wraps every prose line of `text` longer than `width` at word boundaries, continuation lines
/// indented two more than the line; table lines (box drawing, already fitted) are left alone.
pub(crate) fn fit_prose(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let boxed = body.starts_with(['╭', '│', '╞', '├', '╰']);
        if boxed || body.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let indent = body.len() - body.trim_start().len();
        let pad = " ".repeat(indent + 2);
        let avail = width.saturating_sub(indent + 2).max(20);
        // A path longer than the line breaks after a `/` (or, without one, at the width).
        let words: Vec<String> = body
            .split_whitespace()
            .flat_map(|w| break_long(w, avail))
            .collect();
        let wrapped = wrap(&words.join(" "), avail);
        out.push_str(&" ".repeat(indent));
        out.push_str(&wrapped.replace('\n', &format!("\n{pad}")));
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// `word` in pieces of at most `max` characters, each ending after a `/` where one is.
fn break_long(word: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = word.chars().collect();
    while rest.len() > max {
        let cut = rest[..max]
            .iter()
            .rposition(|c| *c == '/')
            .filter(|i| *i > 0)
            .map_or(max, |i| i + 1);
        pieces.push(rest.drain(..cut).collect());
    }
    pieces.push(rest.into_iter().collect());
    pieces
}

/// Wraps `text` at word boundaries to lines of at most `width` characters (longer words stay
/// whole), so long rule summaries do not make a table wider than a terminal.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// The `--memory` section: one line per image (table and Markdown alike).
pub(crate) fn memory_lines(r: &DiffReport) -> Vec<String> {
    let Some(m) = &r.memory else {
        return Vec::new();
    };
    let line = |side: &str, p: &crate::memory::predict::Prediction| {
        if let Some(why) = &p.nothing_to_predict {
            return format!("{side}: nothing to predict ({why})");
        }
        if let Some(e) = &p.input_error {
            return format!("{side}: the calculator fails: {e}");
        }
        let counts = format!(
            "{} loaded classes, {} threads",
            p.loaded_classes.unwrap_or_default(),
            p.threads.unwrap_or_default()
        );
        let min = p.minimum_limit.clone().unwrap_or_default();
        match &p.outcome {
            Some(o) if o.starts => format!(
                "{side}: starts ({counts}); {}; smallest limit {min}",
                o.flags.clone().unwrap_or_default()
            ),
            Some(o) => format!(
                "{side}: does NOT start ({counts}): {}; smallest limit {min}",
                o.error.clone().unwrap_or_default()
            ),
            None => format!("{side}: {counts}; smallest limit {min}"),
        }
    };
    vec![
        format!("JVM memory in a container limited to {}", m.limit),
        line("before", &m.before),
        line("after", &m.after),
        crate::memory::predict::MEMINFO_NOTE.to_string(),
    ]
}

/// The layer line shared by table and Markdown.
pub(crate) fn layers_line(r: &DiffReport) -> String {
    let l = &r.layers;
    format!(
        "layers: {} ({}) → {} ({}); {} shared ({}), {} new ({}) to pull",
        l.before.count,
        human_bytes(l.before.bytes),
        l.after.count,
        human_bytes(l.after.bytes),
        l.shared.count,
        human_bytes(l.shared.bytes),
        l.new.count,
        human_bytes(l.new.bytes),
    )
}

/// The rows of the "Layers by part" section (table and Markdown): every part that moved, as
/// `[part, layers, bytes, changed, change]`.
pub(crate) fn part_rows(r: &DiffReport) -> Vec<[String; 5]> {
    use crate::diff::Status;
    r.parts
        .changed()
        .map(|p| {
            let word = match (&p.version_before, &p.version_after) {
                _ if p.rebuilt_same_version => format!(
                    "rebuilt at the same version {}",
                    p.version_after.as_deref().unwrap_or_default()
                ),
                (Some(b), Some(a)) if b != a => format!("{} ({b} → {a})", p.status.as_str()),
                _ if p.kind == "run-image" => match &r.parts.run_image {
                    Some(m) => format!("{:?}", m.how).to_lowercase(),
                    None => p.status.as_str().to_string(),
                },
                _ => p.status.as_str().to_string(),
            };
            let changed = match p.status {
                Status::Removed => "-".to_string(),
                _ => format!("{} ({})", p.layers_changed, human_bytes(p.bytes_changed)),
            };
            [
                p.part.clone(),
                format!("{} → {}", p.layers_before, p.layers_after),
                format!(
                    "{} → {}",
                    human_bytes(p.bytes_before),
                    human_bytes(p.bytes_after)
                ),
                changed,
                word,
            ]
        })
        .collect()
}

/// "app unchanged (5 layers, 1.5 KiB)" under the parts table: during an incident "the app did
/// not move" rules a suspect out (the revert worked).
pub(crate) fn app_unchanged_line(r: &DiffReport) -> Option<String> {
    let app = r.parts.get("app")?;
    (app.status == crate::diff::Status::Unchanged && r.parts.changed().next().is_some()).then(
        || {
            format!(
                "app unchanged ({}, {})",
                crate::text::plural(app.layers_after, "layer", "layers"),
                human_bytes(app.bytes_after)
            )
        },
    )
}

/// Header of [`part_rows`].
pub(crate) const PART_HEADER: [&str; 5] = ["PART", "LAYERS", "BYTES", "NEW LAYERS", "CHANGE"];
