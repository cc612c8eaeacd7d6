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
    /// Show what images are made of: buildpacks, runtime dependencies, lifecycle, run image.
    /// Fetches many images concurrently (bounded by --jobs).
    Inspect(InspectArgs),
    /// Predict the Paketo JVM memory calculator from the image itself: inputs found in its layers,
    /// the flags for a container of --memory, whether the JVM starts, and the smallest limit.
    Memory(MemoryArgs),
    /// The scheduled fleet report: drift since the last run, risky versions, rollback targets,
    /// history, and an alarm when the schedule stopped.
    Report(ReportArgs),
    /// The recorded timeline of a service: digests and buildpack versions, run by run.
    History(HistoryArgs),
    /// GitHub integration: keep one PR comment current, write the job summary and outputs.
    #[command(subcommand)]
    Github(crate::github::GithubCommand),
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
        /// Registry access.
        #[command(flatten)]
        registry: RegistryArgs,
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
#[derive(Debug, Args, Clone)]
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
    /// Also predict the JVM memory calculator of both images in a container of this limit
    /// (e.g. `512M`), from their layers: a finding when the new image no longer fits.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<crate::memory::Size>,
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
    /// Platform to pick from multi-arch images: os/arch[/variant], or `all` to diff every
    /// platform either image has. Never the host's by default.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform_arg)]
    pub platform: PlatformArg,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `bpdrift inspect`.
#[derive(Debug, Args, Clone)]
pub struct InspectArgs {
    /// Images to inspect.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Platform to pick from multi-arch images, or `all` to inspect every platform each image
    /// has.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform_arg)]
    pub platform: PlatformArg,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `bpdrift memory`.
#[derive(Debug, Args, Clone)]
pub struct MemoryArgs {
    /// The image.
    pub image: String,
    /// The container's memory limit, e.g. `512M`, `616300K`, `1G` (libjvm's size syntax).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory: Option<crate::memory::Size>,
    /// Launch environment to set, as the platform would (wins over the image): `KEY=VALUE`,
    /// e.g. `BPL_JVM_THREAD_COUNT=50`. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Platform to pick from multi-arch images.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform)]
    pub platform: Platform,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn parse_size(s: &str) -> Result<crate::memory::Size, String> {
    s.parse::<crate::memory::Size>().map_err(|e| e.to_string())
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// `bpdrift report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// The fleet file (services and the images to watch; see docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub fleet: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// History database [default: $XDG_STATE_HOME/bpdrift/history.sqlite or
    /// ~/.local/state/bpdrift/history.sqlite].
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Alarm (and exit 1) when the previous run is older than this, e.g. `24h`, `90m`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub expect_every: Option<i64>,
    /// Rule selection (added to the fleet file's).
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The time of this run (RFC 3339), for reproducible reports and tests.
    #[arg(long, hide = true, value_parser = parse_time_arg)]
    pub now: Option<i64>,
    /// Registry access.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown (an issue body, a job summary).
    Markdown,
    /// JSON.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// `bpdrift history`.
#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Service name from the fleet file; all services when omitted.
    pub service: Option<String>,
    /// History database [default: as `report`].
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

fn parse_duration_arg(s: &str) -> Result<i64, String> {
    crate::report::scheduled::parse_duration(s)
        .ok_or_else(|| format!("invalid duration `{s}`: use e.g. `24h`, `90m`, `1d`, `1d12h`"))
}

fn parse_time_arg(s: &str) -> Result<i64, String> {
    crate::report::history::parse_rfc3339(s)
        .ok_or_else(|| format!("invalid time `{s}`: use RFC 3339 UTC, e.g. `2026-11-23T06:00:00Z`"))
}

/// `--platform`: one platform or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformArg {
    /// `os/arch[/variant]`.
    One(Platform),
    /// `all`.
    All,
}

fn parse_platform_arg(s: &str) -> Result<PlatformArg, String> {
    if s == "all" {
        Ok(PlatformArg::All)
    } else {
        parse_platform(s).map(PlatformArg::One)
    }
}

/// How registries are reached; shared by every command that reads images.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// Registry host[:port] to reach over plain HTTP (loopback registries always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Time limit for each registry request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// User name for the registries of this run (with --password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password (or token) for --username from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Attempts per request on 429, 502, 503, 504 and connection resets (1 = no retry).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub retries: u32,
    /// Longest time in seconds one request may spend retrying (Retry-After included).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub retry_max_time: u64,
    /// Cache of manifests and configs by digest [default: $XDG_CACHE_HOME/bpdrift or
    /// ~/.cache/bpdrift].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Registry requests in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
}

impl RegistryArgs {
    /// Fetch options for `platform`. Reads the password from stdin when asked to.
    pub fn fetch_options(&self, platform: &Platform) -> anyhow::Result<FetchOptions> {
        let mut credentials = crate::source::auth::CredentialSources::from_env()?;
        if let Some(user) = &self.username {
            let mut password = String::new();
            io::Read::read_to_string(&mut io::stdin(), &mut password).map_err(|e| {
                anyhow::Error::new(e).context("cannot read the password from stdin")
            })?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                anyhow::bail!("--password-stdin: standard input was empty");
            }
            credentials.explicit = Some((user.clone(), password));
        }
        Ok(FetchOptions {
            platform: platform.clone(),
            insecure_registries: self.insecure_registries.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            credentials,
            retry: crate::source::registry::RetryPolicy {
                attempts: self.retries,
                max_time: Duration::from_secs(self.retry_max_time),
                ..Default::default()
            },
            cache: if self.no_cache {
                None
            } else {
                self.cache_dir
                    .clone()
                    .or_else(crate::source::cache::Cache::default_dir)
                    .map(crate::source::cache::Cache::new)
            },
            jobs: self.jobs as usize,
        })
    }
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
pub fn report_error(e: &anyhow::Error) {
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
        Command::Github(cmd) => crate::github::run(cmd).await,
        Command::Rules(RulesCommand::Check {
            files,
            against,
            platform,
            registry,
        }) => check_rules(files, against, registry.fetch_options(&platform)?).await,
        Command::Inspect(args) => inspect(args).await,
        Command::Report(args) => report(args).await,
        Command::Memory(args) => memory(args).await,
        Command::History(args) => history(args),
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
    opts: FetchOptions,
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

/// Fetches both images, diffs them and evaluates the rules. `Err(exit code)` when a rule file
/// had problems (already printed). Shared by `diff` and `github comment`.
pub async fn compute_diff(args: &DiffArgs) -> anyhow::Result<Result<DiffReport, ExitCode>> {
    let before: ImageRef = args.before.parse()?;
    let after: ImageRef = args.after.parse()?;
    let PlatformArg::One(platform) = &args.platform else {
        anyhow::bail!("--platform all is only supported by `bpdrift diff`");
    };
    let opts = args.registry.fetch_options(platform)?;
    // Rule files are checked before any request: a typo should not cost a registry round trip.
    let rule_set = match load_rules(&args.rules)? {
        Ok(set) => set,
        Err(code) => return Ok(Err(code)),
    };
    let fetcher = source::Fetcher::new(&opts)?;
    let (b, a) = tokio::join!(fetcher.fetch(&before), fetcher.fetch(&after));
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
    let mut findings = rule_set.evaluate(&d, &a.metadata);
    let memory = match args.memory {
        None => None,
        Some(limit) => {
            let predict = |r: &ImageRef, img: &source::Image| {
                let fetcher = &fetcher;
                let r = r.clone();
                let img = img.clone();
                async move {
                    let found = if img.metadata.buildpack_layer_shas.is_empty() {
                        crate::memory::ImageInputs::default()
                    } else {
                        memory_inputs(fetcher, &r, &img).await?
                    };
                    anyhow::Ok(crate::memory::predict::predict(
                        &r.to_string(),
                        &found,
                        &Default::default(),
                        Some(limit),
                    ))
                }
            };
            let (pb, pa) = tokio::join!(predict(&before, &b), predict(&after, &a));
            let m = crate::report::MemoryDiff::new(limit, pb?, pa?);
            findings.extend(m.findings());
            Some(m)
        }
    };
    let mut report = DiffReport::new(&b, &a, d, findings, args.all);
    report.memory = memory;
    Ok(Ok(report))
}

/// Prints every unreadable label as an error line; the exit code after a printed report:
/// 2 for unreadable labels, else 1 when a finding reaches `fail_on`, else 0.
pub fn finish(report: &DiffReport, fail_on: FailOn) -> ExitCode {
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
        return ExitCode::from(2);
    }
    if report.findings.iter().any(|f| fail_on.fails(f.severity)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

async fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    if args.platform == PlatformArg::All {
        return diff_all_platforms(args).await;
    }
    let report = match compute_diff(&args).await? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::render(&report, args.format, &mut out)?;
    out.flush()?;
    drop(out);
    Ok(finish(&report, args.fail_on))
}

/// `--platform all`: every platform either image has, paired; a platform only one side has is
/// said, not hidden.
async fn diff_all_platforms(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let before: ImageRef = args.before.parse()?;
    let after: ImageRef = args.after.parse()?;
    let rule_set = match load_rules(&args.rules)? {
        Ok(set) => set,
        Err(code) => return Ok(code),
    };
    let opts = args.registry.fetch_options(&Platform::linux_amd64())?;
    let fetcher = source::Fetcher::new(&opts)?;
    let (pb, pa) = tokio::join!(fetcher.platforms(&before), fetcher.platforms(&after));
    let (pb, pa) = (pb?, pa?);
    // A single-platform image offers the platform of its config.
    async fn own(
        f: &source::Fetcher,
        r: &ImageRef,
        listed: Option<Vec<Platform>>,
    ) -> anyhow::Result<Vec<Platform>> {
        Ok(match listed {
            Some(v) => v,
            None => {
                let img = f.fetch(r).await?;
                let m = &img.metadata;
                vec![Platform {
                    os: m.os.clone(),
                    architecture: m.architecture.clone(),
                    variant: m.variant.clone(),
                }]
            }
        })
    }
    let (pb, pa) = (
        own(&fetcher, &before, pb).await?,
        own(&fetcher, &after, pa).await?,
    );
    let mut all: Vec<Platform> = pb.iter().chain(pa.iter()).cloned().collect();
    all.sort();
    all.dedup_by(|a, b| a.matches(b));
    let mut entries = Vec::new();
    let mut code = ExitCode::SUCCESS;
    for p in &all {
        let (in_b, in_a) = (
            pb.iter().any(|x| x.matches(p)),
            pa.iter().any(|x| x.matches(p)),
        );
        if !(in_b && in_a) {
            let e = render::PlatformEntry::missing(
                p.to_string(),
                if in_b { "after" } else { "before" },
            );
            if e.finding
                .as_ref()
                .is_some_and(|f| args.fail_on.fails(f.severity))
            {
                code = ExitCode::from(1);
            }
            entries.push(e);
            continue;
        }
        let (b, a) = tokio::join!(
            fetcher.fetch_platform(&before, p),
            fetcher.fetch_platform(&after, p)
        );
        let (b, a) = (b?, a?);
        let d = crate::diff::diff(&b, &a);
        let findings = rule_set.evaluate(&d, &a.metadata);
        let report = DiffReport::new(&b, &a, d, findings, args.all);
        entries.push(render::PlatformEntry {
            platform: p.to_string(),
            report: Some(report),
            missing_in: None,
            finding: None,
        });
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::render_platforms(&entries, &args.before, &args.after, args.format, &mut out)?;
    out.flush()?;
    drop(out);
    for e in &entries {
        if let Some(r) = &e.report {
            let c = finish(r, args.fail_on);
            // The most serious outcome wins: 2 over 1 over 0.
            if c == ExitCode::from(2) || (c == ExitCode::from(1) && code == ExitCode::SUCCESS) {
                code = c;
            }
        }
    }
    Ok(code)
}

/// `bpdrift inspect`: fetch many images with bounded concurrency; one failure does not stop the
/// others, and makes the exit status 2.
async fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let refs = args
        .images
        .iter()
        .map(|s| s.parse::<ImageRef>())
        .collect::<Result<Vec<_>, _>>()?;
    let platform = match &args.platform {
        PlatformArg::One(p) => p.clone(),
        PlatformArg::All => Platform::linux_amd64(),
    };
    let opts = args.registry.fetch_options(&platform)?;
    let fetcher = source::Fetcher::new(&opts)?;
    // `--platform all`: one entry per platform of each image (a single-platform image is one).
    let mut wanted: Vec<(ImageRef, Option<Platform>)> = Vec::new();
    for r in refs {
        let listed = match args.platform {
            PlatformArg::All => fetcher.platforms(&r).await?,
            PlatformArg::One(_) => None,
        };
        match listed {
            Some(ps) => wanted.extend(ps.into_iter().map(|p| (r.clone(), Some(p)))),
            None => wanted.push((r, None)),
        }
    }
    let refs: Vec<&ImageRef> = wanted.iter().map(|(r, _)| r).collect();
    // Concurrency is bounded by the client's request slots (--jobs); all futures are polled on
    // this one thread, which is plenty for network-bound work.
    let results = futures_util::future::join_all(wanted.iter().map(|(r, p)| async {
        match p {
            Some(p) => fetcher.fetch_platform(r, p).await,
            None => fetcher.fetch(r).await,
        }
    }))
    .await;
    let mut summaries = Vec::new();
    let mut failed = 0;
    for (r, res) in refs.iter().zip(results) {
        match res {
            Ok(img) => summaries.push(crate::report::ImageSummary::of(&img)),
            Err(e) => {
                failed += 1;
                report_error(&anyhow::Error::new(e).context(format!("cannot inspect `{r}`")));
            }
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Json => render::inspect_json(&summaries, &mut out)?,
        ListFormat::Table => render::inspect_table(&summaries, &mut out)?,
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn history_path(given: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given
        .clone()
        .or_else(crate::report::history::History::default_path)
        .ok_or_else(|| {
            anyhow::anyhow!("no history location: pass --history FILE (HOME is not set)")
        })
}

/// The calculator's inputs of `image`, read from the layers that can hold them: those the
/// lifecycle metadata names as buildpack or application layers (never the run image's).
pub async fn memory_inputs(
    fetcher: &source::Fetcher,
    reference: &ImageRef,
    image: &source::Image,
) -> anyhow::Result<crate::memory::ImageInputs> {
    let m = &image.metadata;
    let wanted: Vec<usize> = m
        .diff_ids
        .iter()
        .enumerate()
        .filter(|(_, d)| m.buildpack_layer_shas.contains(d))
        .map(|(i, _)| i)
        .collect();
    // Each layer is read once: what it holds is cached by its digest and replayed after.
    const KIND: &str = "layer-scans-v1";
    let mut summaries: std::collections::BTreeMap<usize, crate::memory::LayerSummary> =
        std::collections::BTreeMap::new();
    let mut missing = Vec::new();
    for &i in &wanted {
        let cached = fetcher
            .cache()
            .and_then(|c| c.get_derived(KIND, &image.layers[i].digest))
            .and_then(|j| serde_json::from_str(&j).ok());
        match cached {
            Some(s) => {
                summaries.insert(i, s);
            }
            None => missing.push(i),
        }
    }
    // The same blob twice (empty layers) is read once.
    let mut seen = std::collections::BTreeSet::new();
    missing.retain(|i| seen.insert(image.layers[*i].digest.clone()));
    let mut read: Vec<(usize, crate::memory::LayerSummary)> = Vec::new();
    fetcher
        .read_layers(reference, image, &missing, &mut |i, tar| {
            read.push((i, crate::memory::LayerSummary::read(tar)?));
            Ok(())
        })
        .await?;
    for (i, s) in read {
        if let (Some(c), Ok(j)) = (fetcher.cache(), serde_json::to_string(&s)) {
            c.put_derived(KIND, &image.layers[i].digest, &j);
        }
        summaries.insert(i, s);
    }
    let mut scanner = crate::memory::Scanner::default();
    for &i in &wanted {
        let digest = &image.layers[i].digest;
        let s = summaries.get(&i).or_else(|| {
            summaries
                .iter()
                .find(|(j, _)| image.layers[**j].digest == *digest)
                .map(|(_, s)| s)
        });
        if let Some(s) = s {
            scanner.apply(s);
        }
    }
    let order: Vec<String> = m.buildpacks.iter().map(|b| b.id.clone()).collect();
    let mut found = scanner.finish(&m.env, &order);
    // Agents: `-javaagent:` jars named in JAVA_TOOL_OPTIONS (after JAVA_OPTS, as libjvm sees it).
    let env = found.env_map();
    if let Ok(inputs) = crate::memory::Inputs::from_env(&env)
        && let Ok(paths) = inputs.agent_paths()
    {
        let (n, missing) = scanner.agents(&paths);
        found.agent_classes = n;
        found.missing_agents = missing;
    }
    Ok(found)
}

/// `bpdrift memory IMAGE`.
async fn memory(args: MemoryArgs) -> anyhow::Result<ExitCode> {
    let reference: ImageRef = args.image.parse()?;
    let opts = args.registry.fetch_options(&args.platform)?;
    let fetcher = source::Fetcher::new(&opts)?;
    let image = fetcher.fetch(&reference).await?;
    let found = if image.metadata.buildpack_layer_shas.is_empty() {
        crate::memory::ImageInputs::default()
    } else {
        memory_inputs(&fetcher, &reference, &image).await?
    };
    let overrides: std::collections::BTreeMap<String, String> = args.env.iter().cloned().collect();
    let p = crate::memory::predict::predict(&args.image, &found, &overrides, args.memory);
    let mut out = io::stdout().lock();
    render::memory(&p, args.format, &mut out)?;
    out.flush()?;
    Ok(match (&p.outcome, &p.input_error) {
        (_, Some(_)) => ExitCode::from(1),
        (Some(o), _) if !o.starts => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// `bpdrift report --fleet`.
async fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    use crate::report::{fleet, history::History, scheduled};
    let text = std::fs::read_to_string(&args.fleet).map_err(|e| {
        anyhow::Error::new(e).context(format!("cannot read fleet file `{}`", args.fleet.display()))
    })?;
    let name = args.fleet.display().to_string();
    let base = args.fleet.parent().unwrap_or(std::path::Path::new("."));
    let file = fleet::parse_fleet(&name, &text, base);
    let Some(fleet) = file.fleet.as_ref() else {
        let mut err = io::stderr().lock();
        let _ = err.write_all(file.render_diagnostics().as_bytes());
        let n = file.diagnostics.len();
        let _ = writeln!(
            err,
            "error: {n} problem{} in the fleet file",
            if n == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(2));
    };
    // Rules per service: the run's, then the fleet's and the service's own files. Services with
    // the same files share one set (a rule set is ~90 KB; a fleet may have a thousand services).
    let mut rules = std::collections::BTreeMap::new();
    let mut loaded: std::collections::BTreeMap<Vec<PathBuf>, std::sync::Arc<RuleSet>> =
        std::collections::BTreeMap::new();
    for s in &fleet.services {
        let set = match loaded.get(&s.rules) {
            Some(set) => set.clone(),
            None => {
                let mut args_rules = args.rules.clone();
                args_rules.rules.extend(s.rules.iter().cloned());
                let set = match load_rules(&args_rules)? {
                    Ok(set) => std::sync::Arc::new(set),
                    Err(code) => return Ok(code),
                };
                loaded.insert(s.rules.clone(), set.clone());
                set
            }
        };
        rules.insert(s.name.clone(), set);
    }
    let opts = args.registry.fetch_options(&Platform::linux_amd64())?;
    let fetcher = source::Fetcher::new(&opts)?;
    let mut hist = History::open(&history_path(&args.history)?)?;
    let now = args.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    });
    let bar = progress_bar();
    let progress = |done: usize, total: usize, what: &str| match &bar {
        Some(b) => {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
        None => tracing::info!("fetched {done}/{total}: {what}"),
    };
    let report = scheduled::run(
        scheduled::RunInput {
            fleet,
            fleet_name: &name,
            rules: &rules,
            now,
            expect_every: args.expect_every,
            progress: &progress,
        },
        &fetcher,
        &mut hist,
    )
    .await?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut buf = Vec::new();
    match args.format {
        ReportFormat::Markdown => render::fleet_markdown(&report, &mut buf)?,
        ReportFormat::Html => render::fleet_html(&report, &mut buf)?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut buf, &report)?;
            buf.push(b'\n');
        }
    }
    match &args.out {
        Some(path) => std::fs::write(path, &buf).map_err(|e| {
            anyhow::Error::new(e)
                .context(format!("cannot write the report to `{}`", path.display()))
        })?,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    // Loud: the alarm and every failed image are said on stderr too, whatever the format.
    if let Some(a) = &report.alarm {
        report_error(&anyhow::anyhow!("missed run: {a}"));
    }
    for s in &report.services {
        for i in s.images.iter().filter(|i| i.error.is_some()) {
            report_error(&anyhow::anyhow!(
                "service `{}`: {} `{}` could not be fetched: {}",
                s.name,
                i.role,
                i.reference,
                i.error.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// A progress bar on stderr when it is a terminal; `None` means plain log lines.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images fetched")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// `bpdrift history [SERVICE]`.
fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    use crate::report::history::History;
    let path = history_path(&args.history)?;
    if !path.exists() {
        anyhow::bail!(
            "no history at `{}`: run `bpdrift report` first",
            path.display()
        );
    }
    let hist = History::open(&path)?;
    let services = match &args.service {
        Some(s) => vec![s.clone()],
        None => hist.services()?,
    };
    let mut all = Vec::new();
    for s in &services {
        let t = hist.timeline(s)?;
        if t.is_empty() {
            anyhow::bail!(
                "no observations of service `{s}` in `{}` (known: {})",
                path.display(),
                hist.services()?.join(", ")
            );
        }
        all.push((s.clone(), t));
    }
    let mut out = io::stdout().lock();
    match args.format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = all
                .iter()
                .map(|(s, t)| serde_json::json!({"service": s, "observations": t}))
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            for (s, t) in &all {
                writeln!(out, "{s}")?;
                for o in t {
                    let versions = o
                        .snapshot
                        .as_deref()
                        .and_then(|j| {
                            serde_json::from_str::<crate::report::scheduled::Snapshot>(j).ok()
                        })
                        .map(|snap| {
                            snap.buildpacks
                                .iter()
                                .map(|b| format!("{}@{}", b.id, b.version))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    let what = match (&o.digest, &o.error) {
                        (Some(d), _) => d.clone(),
                        (None, Some(e)) => format!("error: {e}"),
                        (None, None) => "-".into(),
                    };
                    writeln!(
                        out,
                        "  {}  {:<10} {}  {}  {versions}",
                        o.observed_at, o.role, o.reference, what
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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
