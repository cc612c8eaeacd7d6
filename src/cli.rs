//! The command line: flags, dispatch, messages and exit codes. The only module that uses
//! `anyhow` and decides what goes to stdout (the report) and stderr (everything else).
//!
//! Exit codes: 0 nothing flagged at or above `--fail-on`, 1 something flagged, 2 an error.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::reference::{ImageRef, Platform};
use crate::render::{self, Format};
use crate::report::DiffReport;
use crate::rules::{self, FailOn, RuleSet};
use crate::source::{self, FetchOptions};

/// What changed underneath your buildpacks-built images when nobody changed the code.
#[derive(Debug, Parser)]
#[command(
    name = "bpdrift",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More log output on stderr (-v debug, -vv trace including HTTP).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare two images: buildpacks, runtime dependencies, lifecycle, run image, processes, env.
    Diff(DiffArgs),
    /// List or check rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// Which rules apply.
#[derive(Debug, Args, Clone)]
pub struct RuleArgs {
    /// Rule file to add (repeatable); a rule with a built-in id replaces the built-in one.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Drop the built-in rules.
    #[arg(long)]
    pub no_default_rules: bool,
}

/// `bpdrift rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Show the rules in effect.
    List {
        /// Rule selection.
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Validate rule files: every problem at once, as file:line:column; "ok" with the count.
    Check {
        /// Rule files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Also report rules whose subject matches nothing in these images (typos in ids).
        #[arg(long = "against", value_name = "IMAGE")]
        against: Vec<String>,
        /// Platform to pick from multi-arch images.
        #[arg(long, default_value = "linux/amd64", value_parser = parse_platform)]
        platform: Platform,
    },
}

/// `rules list --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// `bpdrift diff`.
#[derive(Debug, Args)]
#[command(
    after_help = "IMAGE forms: ghcr.io/org/app:tag, repo@sha256:…, ubuntu (Docker Hub), \
oci:<dir>[:<tag>], oci-archive:<file>[:<tag>], docker-archive:<file>[:<repo:tag>].\n\
Exit status: 0 nothing flagged, 1 something flagged at or above --fail-on, 2 error."
)]
pub struct DiffArgs {
    /// The image that worked (last good).
    #[arg(value_name = "BEFORE")]
    pub before: String,
    /// The image to check (failing, or the candidate).
    #[arg(value_name = "AFTER")]
    pub after: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also show items that did not change.
    #[arg(long)]
    pub all: bool,
    /// Lowest finding severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Rule selection.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Platform to pick from multi-arch images: os/arch[/variant]. Never the host's by default.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform)]
    pub platform: Platform,
    /// Registry host[:port] to reach over plain HTTP (loopback registries always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Time limit for each registry request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
        .map_err(|e: crate::reference::ReferenceError| e.to_string())
}

/// Starts logging on stderr. `BPDRIFT_LOG` (an `EnvFilter` directive) overrides `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "bpdrift=debug,warn",
        _ => "trace",
    };
    let filter = std::env::var("BPDRIFT_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .without_time()
        .with_target(verbose > 0)
        .try_init();
}

/// Runs the command and maps the outcome to an exit code.
pub fn main(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            report_error(&anyhow::Error::new(e).context("cannot start the async runtime"));
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            report_error(&e);
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// One line per error: the message, then causes that add something, joined by ": ".
fn report_error(e: &anyhow::Error) {
    // Not through tracing: an error must be seen whatever the log filter says.
    let _ = writeln!(io::stderr(), "error: {}", one_line(e.as_ref()));
}

fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        // reqwest's own wording ("error sending request") adds nothing to ours.
        if s.downcast_ref::<reqwest::Error>().is_some() {
            break;
        }
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cur = s.source();
    }
    msg
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Diff(args) => diff(args).await,
        Command::Rules(RulesCommand::List { rules, format }) => {
            let set = match load_rules(&rules)? {
                Ok(set) => set,
                Err(code) => return Ok(code),
            };
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            match format {
                ListFormat::Table => render::rules_table(&set, &mut out)?,
                ListFormat::Json => render::rules_json(&set, &mut out)?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check {
            files,
            against,
            platform,
        }) => check_rules(files, against, platform).await,
    }
}

/// Reads a rule file; problems are printed (all of them) and make the run exit 2.
fn read_rule_file(path: &std::path::Path) -> anyhow::Result<rules::RuleFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::Error::new(e).context(format!("cannot read rule file `{}`", path.display()))
    })?;
    Ok(rules::parse_file(&path.display().to_string(), &text))
}

fn print_diagnostics(files: &[rules::RuleFile]) -> usize {
    let mut n = 0;
    let mut err = io::stderr().lock();
    for f in files {
        if !f.diagnostics.is_empty() {
            let _ = err.write_all(rules::render_diagnostics(f).as_bytes());
            n += f.diagnostics.len();
        }
    }
    if n > 0 {
        let _ = writeln!(
            err,
            "error: {n} problem{} in rule files",
            if n == 1 { "" } else { "s" }
        );
    }
    n
}

/// The rules for a run: built-ins unless dropped, then each file in order. `Err(exit code)` when a
/// file has problems (already printed).
fn load_rules(args: &RuleArgs) -> anyhow::Result<Result<RuleSet, ExitCode>> {
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
        return Ok(Err(ExitCode::from(2)));
    }
    for f in files {
        set.extend(f.rules);
    }
    Ok(Ok(set))
}

async fn check_rules(
    paths: Vec<PathBuf>,
    against: Vec<String>,
    platform: Platform,
) -> anyhow::Result<ExitCode> {
    let files = paths
        .iter()
        .map(|p| read_rule_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Ids must also be unique across the files checked together.
    let mut seen: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    let mut dupes = Vec::new();
    for f in &files {
        for r in &f.rules {
            if let Some(first) = seen.insert(&r.id, &f.name) {
                dupes.push(format!(
                    "rule id `{}` is defined in both `{first}` and `{}`",
                    r.id, f.name
                ));
            }
        }
    }
    let problems = print_diagnostics(&files);
    for d in &dupes {
        report_error(&anyhow::anyhow!("{d}"));
    }
    if problems > 0 || !dupes.is_empty() {
        return Ok(ExitCode::from(2));
    }
    let count: usize = files.iter().map(|f| f.rules.len()).sum();
    let mut code = ExitCode::SUCCESS;
    let mut out = io::stdout().lock();
    if !against.is_empty() {
        let opts = FetchOptions {
            platform,
            ..FetchOptions::default()
        };
        // Every item of every image, as a diff of the image with itself lists them.
        let mut items = Vec::new();
        for r in &against {
            let reference: ImageRef = r.parse()?;
            let img = source::fetch(&reference, &opts).await?;
            items.extend(crate::diff::diff(&img, &img).changes);
        }
        for f in &files {
            for r in &f.rules {
                if !r.matches_any_item(&items) {
                    writeln!(
                        out,
                        "warning: rule `{}` ({}) matches nothing in the given images: no {}",
                        r.id,
                        f.name,
                        r.subject.describe()
                    )?;
                    code = ExitCode::from(1);
                }
            }
        }
    }
    writeln!(
        out,
        "ok: {count} rule{} in {} file{}",
        if count == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    )?;
    Ok(code)
}

async fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let before: ImageRef = args.before.parse()?;
    let after: ImageRef = args.after.parse()?;
    let opts = FetchOptions {
        platform: args.platform.clone(),
        insecure_registries: args.insecure_registries.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..FetchOptions::default()
    };
    // Rule files are checked before any request: a typo should not cost a registry round trip.
    let rule_set = match load_rules(&args.rules)? {
        Ok(set) => set,
        Err(code) => return Ok(code),
    };
    let (b, a) = source::fetch_pair(&before, &after, &opts).await;
    let (b, a) = match (b, a) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e.into()),
        (Err(eb), Err(ea)) => {
            // Both are worth knowing during an incident.
            report_error(&anyhow::Error::new(eb));
            return Err(ea.into());
        }
    };
    let d = crate::diff::diff(&b, &a);
    let findings = rule_set.evaluate(&d, &a.metadata);
    let report = DiffReport::new(&b, &a, d, findings, args.all);

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::render(&report, args.format, &mut out)?;
    out.flush()?;
    drop(out);

    let problems: Vec<_> = report.problems().collect();
    if !problems.is_empty() {
        for (img, p) in &problems {
            report_error(&anyhow::anyhow!(
                "label `{}` of `{img}` is not valid at `{}`{}: {}",
                p.label,
                p.path,
                p.position(),
                p.message
            ));
        }
        return Ok(ExitCode::from(2));
    }
    let failed = report
        .findings
        .iter()
        .any(|f| args.fail_on.fails(f.severity));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn error_line_skips_repeated_causes() {
        let inner = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(inner).context("cannot read `x`");
        assert_eq!(one_line(e.as_ref()), "cannot read `x`: no such file");
    }
}
