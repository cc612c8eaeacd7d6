//! The command line: flags, dispatch, messages and exit codes. The only module that uses
//! `anyhow` and decides what goes to stdout (the report) and stderr (everything else).
//!
//! Exit codes: 0 nothing flagged at or above `--fail-on`, 1 something flagged, 2 an error.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::reference::{ImageRef, Platform};
use crate::render::{self, Format};
use crate::report::DiffReport;
use crate::rules::{self, FailOn};
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
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
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
    }
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
    let findings = rules::evaluate(&d);
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
