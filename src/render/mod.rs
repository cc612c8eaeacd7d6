//! Renderers: pure functions from a [`DiffReport`] to a writer. They never print, read the clock
//! or the environment, so the same report always renders the same bytes.

mod fleet;
mod history;
mod inspect;
mod json;
mod markdown;
mod memory;
mod packages;
mod platforms;
mod rules;
mod sarif;
mod table;

use std::io::{self, Write};

use crate::report::DiffReport;
use crate::sanitize as escape;

pub(crate) use fleet::{FleetFormat, Row};
pub(crate) use history::HistoryJson;
pub use history::history_json;
pub(crate) use inspect::InspectJson;
pub use inspect::{inspect_json, inspect_table};
pub use markdown::escape as markdown_escape;
#[cfg(test)]
pub(crate) use memory::MEMORY_SCHEMA_VERSION;
pub(crate) use memory::MemoryJson;
pub use memory::memory;
pub(crate) use platforms::AllPlatforms;
pub use platforms::render_platforms;
pub(crate) use rules::RulesJson;
pub use rules::{rules_json, rules_table};
pub use sarif::{SarifContext, diff_sarif, fleet_sarif, platforms_sarif};

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

/// A table in the style every terminal view shares; with a known terminal width (`COLUMNS`) its
/// cells wrap inside their columns so that no line is wider than the terminal.
pub(crate) fn new_table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
        .set_header(header.to_vec());
    match table_width() {
        Some(w) => {
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        }
    }
    t
}

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
    crate::diff::Category::BuildpackApi,
    crate::diff::Category::RunImage,
    crate::diff::Category::Stack,
    crate::diff::Category::Process,
    crate::diff::Category::Env,
    crate::diff::Category::Label,
    crate::diff::Category::Config,
];

pub(crate) use crate::text::{human_bytes, short_digest};

/// The ITEM cell of an "Image" row: empty where it would repeat the WHAT cell (`platform API │
/// platform API`, `lifecycle │ lifecycle`), else what the subject adds (`stack │ base id`).
pub(crate) fn item_cell(c: &crate::diff::Change) -> String {
    if c.subject == c.category.label() {
        String::new()
    } else {
        c.subject.clone()
    }
}

/// Text from an image, a registry or a file as the table formats show it: every control, bidi
/// and invisible format character escaped (`\e[31m`, `\u{202e}`), never written raw. Every
/// value a table renderer writes passes here; the stream guard in `sanitize` is the backstop.
pub(crate) fn plain(s: &str) -> String {
    crate::sanitize::visible(s).into_owned()
}

/// A section heading of the table formats (bold on a colour terminal).
pub(crate) fn heading(s: &str) -> String {
    crate::sanitize::paint(crate::sanitize::Role::Heading, s)
}

/// A severity word, coloured by severity on a colour terminal.
pub(crate) fn severity_word(s: crate::rules::Severity) -> String {
    use crate::rules::Severity;
    use crate::sanitize::Role;
    let role = match s {
        Severity::Error => Role::Error,
        Severity::Warning => Role::Warning,
        Severity::Info => Role::Info,
    };
    crate::sanitize::paint(role, s.as_str())
}

/// How far a version moved (or whether an item came or went), as the role of its change word.
pub(crate) fn move_role(
    class: Option<crate::version::VersionClass>,
    status: crate::diff::Status,
) -> Option<crate::sanitize::Role> {
    use crate::diff::Status;
    use crate::sanitize::Role;
    use crate::version::VersionClass as V;
    match (class, status) {
        (Some(V::Major), _) => Some(Role::Major),
        (Some(V::Minor), _) => Some(Role::Minor),
        (Some(V::Patch | V::Prerelease | V::BuildMetadata | V::Revision), _) => Some(Role::Patch),
        (Some(V::Downgrade), _) => Some(Role::Downgrade),
        (Some(V::NotComparable), _) => None,
        (None, Status::Added) => Some(Role::Patch),
        (None, Status::Removed) => Some(Role::Major),
        (None, _) => None,
    }
}

/// `word` painted with the role of a move, plain without one.
pub(crate) fn move_word(
    word: &str,
    class: Option<crate::version::VersionClass>,
    status: crate::diff::Status,
) -> String {
    match move_role(class, status) {
        Some(role) => crate::sanitize::paint(role, word),
        None => word.to_string(),
    }
}

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
    v.as_deref().map(|v| plain(&shorten_digests(v)))
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
    // Neither image runs a JVM: one line, not the calculator's details.
    let java = |s: &crate::report::ImageSummary| s.metadata.runtime("java").is_some();
    if !m.before.jvm && !m.after.jvm && !java(&r.before) && !java(&r.after) {
        let runs: Vec<String> = r
            .after
            .metadata
            .runtimes
            .iter()
            .filter(|x| x.kind == crate::metadata::runtimes::RuntimeKind::Runtime)
            .map(|x| x.describe())
            .collect();
        let what = if runs.is_empty() {
            String::new()
        } else {
            format!(" (it runs {})", runs.join(", "))
        };
        return vec![format!(
            "JVM memory: --memory {} predicts the Paketo JVM memory calculator, and neither image has it{what}",
            m.limit
        )];
    }
    let line = |side: &str, p: &crate::memory::predict::Prediction| {
        if let Some(why) = &p.nothing_to_predict {
            return format!("{side}: nothing to predict ({})", plain(why));
        }
        if let Some(e) = &p.input_error {
            return format!(
                "{side}: the calculator fails: {}",
                crate::sanitize::visible_lines(e)
            );
        }
        let counts = format!(
            "{} loaded classes, {} threads",
            p.loaded_classes.unwrap_or_default(),
            p.threads.unwrap_or_default()
        );
        let min = plain(p.minimum_limit.as_deref().unwrap_or_default());
        match &p.outcome {
            Some(o) if o.starts => format!(
                "{side}: starts ({counts}); {}; smallest limit {min}",
                plain(o.flags.as_deref().unwrap_or_default())
            ),
            Some(o) => format!(
                "{side}: does NOT start ({counts}): {}; smallest limit {min}",
                crate::sanitize::visible_lines(o.error.as_deref().unwrap_or_default())
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
                    plain(p.version_after.as_deref().unwrap_or_default())
                ),
                (Some(b), Some(a)) if b != a => {
                    format!("{} ({} → {})", p.status.as_str(), plain(b), plain(a))
                }
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
                plain(&p.part),
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
