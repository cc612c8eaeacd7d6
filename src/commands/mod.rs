//! One file per subcommand. Each owns its clap arguments and a `run(args, out)` that writes the
//! report to `out` (stdout) and everything else to stderr, returning an [`Outcome`]; `cli` maps
//! it to the exit status once. Problems in files the user wrote (rule files, fleet files) are
//! data: they are printed here, with every position, and make the outcome [`Outcome::Failed`].

pub(crate) mod args;
pub(crate) mod completions;
pub(crate) mod diff;
pub(crate) mod github;
pub(crate) mod history;
pub(crate) mod inspect;
pub(crate) mod man;
pub(crate) mod memory;
pub(crate) mod report;
pub(crate) mod rules;
pub(crate) mod schema;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use self::args::RuleArgs;
use crate::report::DiffReport;
use crate::rules::{FailOn, RuleFile, RuleSet};

/// How a command ended; the exit status is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// Nothing flagged at or above `--fail-on`: exit 0.
    Clean,
    /// Something flagged: exit 1.
    Flagged,
    /// An error (already printed): exit 2.
    Failed,
}

impl Outcome {
    /// The process exit status.
    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// The exit status as a number (the heartbeat reports it).
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Clean => 0,
            Self::Flagged => 1,
            Self::Failed => 2,
        }
    }

    /// `Flagged` when `flagged`, else `Clean`.
    pub(crate) fn flagged_if(flagged: bool) -> Self {
        if flagged { Self::Flagged } else { Self::Clean }
    }
}

/// One line on stderr per error: the message, then causes that add something.
pub(crate) fn report_error(e: &(dyn std::error::Error + 'static)) {
    // Not through tracing: an error must be seen whatever the log filter says.
    // Inert: an error may quote a saved report's text (serde names an unknown variant as
    // written), and the runner reads workflow commands on stderr too.
    report_message(&crate::net::error_chain(e));
}

/// [`report_error`] for a message of our own.
pub(crate) fn report_message(msg: &str) {
    // Every error line passes here: credentials typed into an argument (`user:pw@registry/…`,
    // `https://user:token@…`) or quoted back by a server are scrubbed once, for every command.
    let _ = writeln!(
        io::stderr(),
        "error: {}",
        crate::sanitize::inert(&crate::redact::redact_value(msg))
    );
}

/// Progress for people reading the log: stderr, as everything but the report.
pub(crate) fn status_line(s: &str) {
    let _ = writeln!(
        io::stderr(),
        "bpdrift: {}",
        crate::sanitize::inert(&crate::redact::redact_value(s))
    );
}

/// `n thing` or `n things`.
pub(crate) fn plural(n: usize, one: &str) -> String {
    crate::text::plural(n, one, &format!("{one}s"))
}

/// Reads a rule file; its problems are data in the returned file.
pub(crate) fn read_rule_file(path: &Path) -> anyhow::Result<RuleFile> {
    // Bounded like every file bpdrift reads; invalid UTF-8 is told with its line:column.
    let named = crate::limits::Named {
        what: "rule file",
        from: "--rules or a fleet file",
        limit: crate::limits::RULES_FILE_MAX,
    };
    let bytes = crate::limits::read_named(path, named)?;
    let text = crate::toml_file::utf8_text(&path.display().to_string(), bytes)
        .map_err(anyhow::Error::msg)?;
    Ok(crate::rules::parse_file(&path.display().to_string(), &text))
}

/// Prints every problem of every file; the number printed.
pub(crate) fn print_diagnostics(files: &[RuleFile]) -> usize {
    let mut n = 0;
    let mut err = io::stderr().lock();
    for f in files.iter().filter(|f| !f.diagnostics.is_empty()) {
        // A rule file may come with a pull request: what it quotes is shown escaped.
        let text = crate::rules::render_diagnostics(f);
        let _ = err.write_all(crate::sanitize::inert_lines(&text).as_bytes());
        n += f.diagnostics.len();
    }
    if n > 0 {
        let _ = writeln!(err, "error: {} in rule files", plural(n, "problem"));
    }
    n
}

/// The rules for a run: built-ins unless dropped, then each file in order. `None` when a file
/// has problems (already printed).
pub(crate) fn load_rules(args: &RuleArgs) -> anyhow::Result<Option<RuleSet>> {
    let mut set = if args.no_default_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin()
    };
    let files = args
        .rules
        .iter()
        .map(|p| read_rule_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if print_diagnostics(&files) > 0 {
        return Ok(None);
    }
    for f in files {
        set.extend(f.rules);
        for (id, severity) in f.computed {
            set.set_computed(&id, severity);
        }
        for p in f.ignore {
            set.ignore(p);
        }
    }
    for p in &args.ignore {
        set.ignore(p.clone());
    }
    Ok(Some(set))
}

/// Prints every unreadable label as an error line; the outcome after a printed report: failed
/// for unreadable labels, else flagged when a finding reaches `fail_on`.
pub(crate) fn finish(report: &DiffReport, fail_on: FailOn) -> Outcome {
    let mut failed = false;
    for (img, p) in report.problems() {
        report_message(&format!(
            "label `{}` of `{img}` is not valid at `{}`{}: {}",
            p.label,
            p.path,
            p.position(),
            p.message
        ));
        failed = true;
    }
    if failed {
        return Outcome::Failed;
    }
    Outcome::flagged_if(report.findings.iter().any(|f| fail_on.fails(f.severity)))
}

/// Where SARIF results point: `path` as a repository-relative URI (GitHub code scanning
/// resolves it against the checkout), and the file's text when it can be read (results then
/// point at the line naming their subject). Relative paths are taken as they are (the working
/// directory is the repository root in a workflow); an absolute one must lie under the working
/// directory.
pub(crate) fn sarif_location(path: &Path) -> anyhow::Result<(String, Option<String>)> {
    use std::path::Component;
    let relative = if path.is_absolute() {
        let cwd = std::env::current_dir()?;
        path.strip_prefix(&cwd).map_err(|_| {
            anyhow::anyhow!(
                "`--sarif-location {}` is outside the working directory: give a path relative to the repository root",
                path.display()
            )
        })?
    } else {
        path
    };
    let mut parts = Vec::new();
    for c in relative.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => anyhow::bail!(
                "`--sarif-location {}` leaves the repository: give a path inside it",
                path.display()
            ),
        }
    }
    if parts.is_empty() {
        anyhow::bail!("`--sarif-location` names no file");
    }
    let uri = parts
        .iter()
        .map(|p| percent_encode_segment(p))
        .collect::<Vec<_>>()
        .join("/");
    // Only to find lines: a file that cannot be read is pointed at by name, at line 1.
    let text = crate::limits::read_file(path, crate::limits::LAYOUT_FILE_MAX, "SARIF location")
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    Ok((uri, text))
}

/// RFC 3986: everything but unreserved characters percent-encoded.
fn percent_encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
