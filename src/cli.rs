//! The command line: the top-level flags, dispatch to `commands`, and the one place the outcome
//! becomes an exit status. With `commands`, the only module that uses `anyhow`.
//!
//! Exit codes: 0 nothing flagged at or above `--fail-on`, 1 something flagged, 2 an error.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{self, Outcome};

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
    pub(crate) verbose: u8,
    /// Colour tables: auto (a terminal, unless NO_COLOR; CLICOLOR_FORCE forces it), always, never.
    #[arg(long, value_enum, default_value_t, global = true, value_name = "WHEN")]
    pub(crate) color: crate::sanitize::guard::ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compare two images: buildpacks, runtime dependencies, lifecycle, run image, processes, env.
    Diff(commands::diff::DiffArgs),
    /// List or check rule files.
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
    /// Show what images are made of: buildpacks, runtime dependencies, lifecycle, run image.
    /// Fetches many images concurrently (bounded by --jobs).
    Inspect(commands::inspect::InspectArgs),
    /// Predict the Paketo JVM memory calculator from the image itself: inputs found in its layers,
    /// the flags for a container of --memory, whether the JVM starts, and the smallest limit.
    Memory(commands::memory::MemoryArgs),
    /// The scheduled fleet report: drift since the last run, risky versions, rollback targets,
    /// history, and an alarm when the schedule stopped.
    Report(commands::report::ReportArgs),
    /// The recorded timeline of a service: digests and buildpack versions, run by run.
    History(commands::history::HistoryArgs),
    /// GitHub integration: keep one PR comment current, write the job summary and outputs.
    #[command(subcommand)]
    Github(commands::github::GithubCommand),
    /// Print the JSON Schema (draft 2020-12) of a JSON output or of a rule or fleet file.
    Schema(commands::schema::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::CompletionsArgs),
    /// Write the man pages: bpdrift.1 and one bpdrift-<command>.1 per subcommand.
    Man(commands::man::ManArgs),
}

/// Starts logging on stderr. `BPDRIFT_LOG` (an `EnvFilter` directive) overrides `-v`.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "bpdrift=debug,warn",
        _ => "trace",
    };
    let filter = std::env::var("BPDRIFT_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    // No colour codes of its own, and every event through `LogLine`: a value in a log line
    // (a label, a server's message) is shown escaped and issues no workflow command.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogLine)
        .with_ansi(false)
        .without_time()
        .with_target(verbose > 0)
        .try_init();
}

/// stderr for one formatted log event (tracing writes each event in one `write_all`): every
/// unsafe character but the event's final line break shown escaped (so a value never starts a
/// line, where the runner would read `::command::`), and the legacy `##[command]` broken.
struct LogLine;

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (text.as_ref(), ""),
        };
        io::stderr().write_all(
            format!(
                "{}{end}",
                crate::sanitize::visible(body).replace("##[", "#\u{200B}#[")
            )
            .as_bytes(),
        )?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Parses the command line. A usage error is printed as clap renders it, except that what it
/// quotes of the arguments is scrubbed first: a mistyped `oci://user:password@…` or
/// `--heartbeat https://user:token@…` must not be echoed to a CI log.
pub fn parse() -> Cli {
    use clap::Parser;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let scrubbed: Vec<String> = text
                .lines()
                .map(|l| crate::redact::redact_value(l).into_owned())
                .collect();
            let _ = writeln!(io::stderr(), "{}", scrubbed.join("\n").trim_end());
            std::process::exit(e.exit_code());
        }
    }
}

/// Runs the command and maps the outcome to an exit code.
pub fn main(cli: Cli) -> ExitCode {
    init_tracing(cli.verbose);
    // Tables fit the terminal: the width the user states (`COLUMNS`), else the width of the
    // terminal stdout is; piped or redirected output keeps its natural width.
    crate::render::set_table_width(
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .or_else(|| terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| w.0))
            .filter(|w| *w >= 40),
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            commands::report_message(&format!("cannot start the async runtime: {e}"));
            return Outcome::Failed.exit_code();
        }
    };
    // The one place that decides what reaches stdout: whatever a renderer let through is shown
    // escaped, and bpdrift's style marks become colour only on a terminal that wants it.
    let colour = crate::sanitize::guard::colour_for(
        cli.color,
        io::IsTerminal::is_terminal(&io::stdout()),
        &|k| std::env::var(k).ok(),
    );
    let stdout = io::stdout();
    let mut out = crate::sanitize::Guard::new(io::BufWriter::new(stdout.lock()), colour);
    let result = runtime.block_on(run(cli, &mut out));
    let flushed = out.finish().and_then(|mut w| w.flush());
    match result.and_then(|o| flushed.map(|()| o).map_err(anyhow::Error::new)) {
        Ok(outcome) => outcome.exit_code(),
        // A closed pipe (`bpdrift … | head`) is the reader's choice, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            commands::report_error(e.as_ref());
            Outcome::Failed.exit_code()
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Diff(args) => commands::diff::run(args, out).await,
        Command::Rules(cmd) => commands::rules::run(cmd, out).await,
        Command::Inspect(args) => commands::inspect::run(args, out).await,
        Command::Memory(args) => commands::memory::run(args, out).await,
        Command::Report(args) => commands::report::run(args, out).await,
        Command::History(args) => commands::history::run(args, out).await,
        Command::Github(cmd) => commands::github::run(cmd, out).await,
        Command::Schema(args) => commands::schema::run(&args, out),
        Command::Completions(args) => {
            commands::completions::run(&args, <Cli as clap::CommandFactory>::command(), out)
        }
        Command::Man(args) => {
            commands::man::run(&args, <Cli as clap::CommandFactory>::command(), out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
