//! `bpdrift report --fleet FILE`: the scheduled fleet report (fetch → assess → record in
//! `fleet`), rendered as Markdown, JSON or HTML, to stdout or `--out`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::args::{RegistryArgs, RuleArgs, parse_duration_arg, parse_time_arg};
use super::{Outcome, load_rules, plural, report_message};
use crate::fleet::artifact::{self, Store};
use crate::fleet::notify::{Heartbeat, Ping, Pushgateway};
use crate::fleet::{self, history::History};
use crate::reference::Platform;
use crate::reference::RegistryRef;
use crate::render;
use crate::report::metrics;
use crate::rules::RuleSet;
use crate::source::Fetcher;

/// `bpdrift report`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ReportArgs {
    /// The fleet file (services and the images to watch; see docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) fleet: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub(crate) format: ReportFormat,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// With `--format sarif`: the file the results point at, relative to the repository root
    /// [default: the fleet file].
    #[arg(long, value_name = "PATH")]
    pub(crate) sarif_location: Option<PathBuf>,
    /// History: a SQLite file, or `oci://REGISTRY/REPOSITORY:TAG` to keep it as an artifact in
    /// a registry (see docs/report.md) [default: $XDG_STATE_HOME/bpdrift/history.sqlite or
    /// ~/.local/state/bpdrift/history.sqlite].
    #[arg(long, value_name = "FILE|oci://REF")]
    pub(crate) history: Option<Store>,
    /// Alarm (and exit 1) when the previous run is older than this, e.g. `24h`, `90m`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub(crate) expect_every: Option<i64>,
    /// Rule selection (added to the fleet file's).
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Dead man's switch: ping this healthchecks-style URL at start (`URL/start`), on success
    /// (`URL`) and on failure (`URL/fail`). Never printed; a failed ping is a warning.
    #[arg(
        long,
        value_name = "URL",
        env = "BPDRIFT_HEARTBEAT_URL",
        hide_env_values = true
    )]
    pub(crate) heartbeat: Option<String>,
    /// Write the run's metrics in the Prometheus text format here (for node_exporter's textfile
    /// collector), replacing the file atomically.
    #[arg(long, value_name = "FILE")]
    pub(crate) metrics: Option<PathBuf>,
    /// Push the same metrics to this Prometheus Pushgateway (job `bpdrift`). Never printed.
    #[arg(
        long,
        value_name = "URL",
        env = "BPDRIFT_PUSHGATEWAY_URL",
        hide_env_values = true
    )]
    pub(crate) pushgateway: Option<String>,
    /// The time of this run (RFC 3339), for reproducible reports and tests.
    #[arg(long, hide = true, value_parser = parse_time_arg)]
    pub(crate) now: Option<i64>,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// Markdown (an issue body, a job summary).
    Markdown,
    /// JSON.
    Json,
    /// One self-contained HTML page.
    Html,
    /// SARIF 2.1.0 for GitHub code scanning: one result per finding, each pointing at its
    /// service in the fleet file (or --sarif-location).
    Sarif,
}

/// The history: `--history`, else the default file.
pub(crate) fn history_store(given: &Option<Store>) -> anyhow::Result<Store> {
    given
        .clone()
        .or_else(|| History::default_path().map(Store::File))
        .ok_or_else(|| {
            anyhow::anyhow!("no history location: pass --history FILE (HOME is not set)")
        })
}

/// A history read from a registry: where to push it back, the digest it was read at, and the
/// temporary database it was loaded into.
pub(crate) struct Remote {
    reference: RegistryRef,
    base: Option<String>,
    _dir: tempfile::TempDir,
}

/// Opens the history: the file (created when `create`), or the registry artifact loaded into a
/// temporary database. `None` for a file that does not exist and is not to be created.
pub(crate) async fn open_history(
    store: &Store,
    fetcher: &Fetcher,
    create: bool,
) -> anyhow::Result<Option<(History, Option<Remote>)>> {
    // SQLite would open a FIFO or a device and hang or fail obscurely: refused first.
    if let Store::File(path) = store
        && let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        let kind = crate::limits::open_regular(path)
            .err()
            .and_then(|e| {
                Some(
                    e.get_ref()?
                        .downcast_ref::<crate::limits::NotRegular>()?
                        .kind,
                )
            })
            .unwrap_or("not a regular file");
        anyhow::bail!(
            "history `{}` (--history) is {kind}, not a regular file",
            path.display()
        );
    }
    match store {
        Store::File(path) if create => Ok(Some((History::open(path)?, None))),
        Store::File(path) if !path.exists() => Ok(None),
        Store::File(path) => Ok(Some((History::open_read_only(path)?, None))),
        Store::Oci(r) => {
            let pulled = artifact::pull(fetcher.registry(), r, create).await?;
            if !create && pulled.digest.is_none() {
                return Ok(None);
            }
            let dir = tempfile::tempdir().map_err(|e| {
                anyhow::Error::new(e).context("cannot create a temporary directory")
            })?;
            let mut hist = History::open(&dir.path().join("history.sqlite"))?;
            hist.import(&pulled.runs)?;
            tracing::info!(
                "read {} from `{store}`",
                plural(pulled.runs.len(), "recorded run")
            );
            Ok(Some((
                hist,
                Some(Remote {
                    reference: r.clone(),
                    base: pulled.digest,
                    _dir: dir,
                }),
            )))
        }
    }
}

/// Runs `bpdrift report`, with the heartbeat around it: `start` first, then `fail` for an
/// error or an image that could not be fetched, else success.
pub(crate) async fn run(args: ReportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let heartbeat = args.heartbeat.as_deref().map(Heartbeat::new).transpose()?;
    let pushgateway = args
        .pushgateway
        .as_deref()
        .map(Pushgateway::new)
        .transpose()?;
    if let Some(h) = &heartbeat {
        h.ping(Ping::Start).await;
    }
    let result = report(&args, pushgateway.as_ref(), out).await;
    if let Some(h) = &heartbeat {
        let ok = matches!(result, Ok(Outcome::Clean | Outcome::Flagged));
        h.ping(if ok { Ping::Success } else { Ping::Fail }).await;
    }
    result
}

async fn report(
    args: &ReportArgs,
    pushgateway: Option<&Pushgateway>,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let named = crate::limits::Named {
        what: "fleet file",
        from: "--fleet",
        limit: crate::limits::RULES_FILE_MAX,
    };
    let bytes = crate::limits::read_named(&args.fleet, named)?;
    let text = crate::toml_file::utf8_text(&args.fleet.display().to_string(), bytes)
        .map_err(anyhow::Error::msg)?;
    let name = args.fleet.display().to_string();
    let base = args.fleet.parent().unwrap_or(Path::new("."));
    let file = fleet::file::parse_fleet(&name, &text, base);
    let Some(fleet) = file.fleet.as_ref() else {
        let mut err = io::stderr().lock();
        let text = file.render_diagnostics();
        let _ = err.write_all(crate::sanitize::inert_lines(&text).as_bytes());
        let _ = writeln!(
            err,
            "error: {} in the fleet file",
            plural(file.diagnostics.len(), "problem")
        );
        return Ok(Outcome::Failed);
    };
    // Rules per service: the run's, then the fleet's and the service's own files. Services with
    // the same files share one set (a rule set is ~90 KB; a fleet may have a thousand services).
    let mut rules = BTreeMap::new();
    type Key = (Vec<PathBuf>, Vec<String>);
    let mut loaded: BTreeMap<Key, Arc<RuleSet>> = BTreeMap::new();
    for s in &fleet.services {
        let key = (s.rules.clone(), s.ignore.clone());
        let set = match loaded.get(&key) {
            Some(set) => set.clone(),
            None => {
                let mut args_rules = args.rules.clone();
                args_rules.rules.extend(s.rules.iter().cloned());
                // Validated with their line:column when the fleet file was read.
                args_rules.ignore.extend(
                    s.ignore
                        .iter()
                        .filter_map(|p| crate::rules::ignore::IgnorePattern::parse(p).ok()),
                );
                let Some(set) = load_rules(&args_rules)? else {
                    return Ok(Outcome::Failed);
                };
                let set = Arc::new(set);
                loaded.insert(key, set.clone());
                set
            }
        };
        rules.insert(s.name.clone(), set);
    }
    let fetcher = Fetcher::new(&args.registry.fetch_options(&Platform::linux_amd64())?)?;
    // From the first request on (reading a history from the registry is one).
    let bar = progress_bar();
    if let Some(b) = &bar {
        b.set_length(fleet.services.iter().map(|s| s.images.len()).sum::<usize>() as u64);
    }
    let store = history_store(&args.history)?;
    let (mut hist, remote) = open_history(&store, &fetcher, true)
        .await?
        .ok_or_else(|| anyhow::anyhow!("history `{store}` could not be created"))?;
    let now = args.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    });
    let progress = |done: usize, total: usize, what: &str| match &bar {
        Some(b) => {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
        None if done > 0 => tracing::info!("fetched {done}/{total}: {what}"),
        None => {}
    };
    let report = fleet::run(
        fleet::RunInput {
            fleet,
            fleet_name: &name,
            rules: &rules,
            now,
            expect_every: args.expect_every,
            progress: &progress,
            jobs: args.registry.jobs as usize,
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
            crate::sanitize::json::write(&mut buf, &report)?;
        }
        ReportFormat::Sarif => {
            let location = args.sarif_location.as_ref().unwrap_or(&args.fleet);
            let (uri, located) = super::sarif_location(location)?;
            let mut sets: Vec<&RuleSet> = Vec::new();
            for set in loaded.values() {
                sets.push(set);
            }
            let ctx = render::SarifContext {
                uri,
                text: located.as_deref(),
                rules: sets,
            };
            render::fleet_sarif(&report, &ctx, &mut buf)?;
        }
    }
    match &args.out {
        Some(path) => {
            // As stdout would be, without colour: a file is never a terminal.
            let text = crate::sanitize::guard::unpainted(&String::from_utf8_lossy(&buf));
            std::fs::write(path, text).map_err(|e| {
                anyhow::Error::new(e)
                    .context(format!("cannot write the report to `{}`", path.display()))
            })?;
            super::status_line(&format!("wrote {}", path.display()));
        }
        None => {
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    if let Some(remote) = &remote {
        let pushed = artifact::push(
            fetcher.registry(),
            &remote.reference,
            remote.base.clone(),
            hist.export()?,
        )
        .await?;
        let merged = match pushed.merges {
            0 => String::new(),
            n => format!(
                ", merged with other runs' pushes {}",
                if n == 1 {
                    "once".to_string()
                } else {
                    format!("{n} times")
                }
            ),
        };
        super::status_line(&format!(
            "pushed the history to {store} ({}{merged})",
            pushed.digest
        ));
    }
    if args.metrics.is_some() || pushgateway.is_some() {
        // A last success ahead of the clock (a forged history) would keep the staleness alert
        // on this metric quiet: this run's own time when it succeeded, else none.
        let last_success = match hist.last_success()? {
            Some(t) if crate::clock::ahead(t, now).is_some() => {
                tracing::warn!(
                    "{}",
                    crate::clock::ahead_message(
                        "the last successful run",
                        t,
                        now,
                        t.saturating_sub(now)
                    )
                );
                (report.summary.fetch_errors == 0).then_some(now)
            }
            other => other,
        };
        let facts = metrics::RunFacts {
            duration_seconds: started.elapsed().as_secs_f64(),
            last_success,
        };
        let text = metrics::exposition(&report, &facts);
        if let Some(path) = &args.metrics {
            write_atomically(path, text.as_bytes()).map_err(|e| {
                anyhow::Error::new(e)
                    .context(format!("cannot write the metrics to `{}`", path.display()))
            })?;
            super::status_line(&format!("wrote {}", path.display()));
        }
        if let Some(p) = pushgateway {
            // The staleness alert on the last success is what catches a gateway that is down;
            // the report itself is not lost over it.
            if let Err(e) = p.push(text).await {
                tracing::warn!("{e}");
            }
        }
    }
    // Loud: the alarm and every failed image are said on stderr too, whatever the format.
    if let Some(a) = &report.alarm {
        report_message(&format!("missed run: {a}"));
    }
    for s in &report.services {
        for i in s.images.iter().filter(|i| i.error.is_some()) {
            report_message(&format!(
                "service `{}`: {} `{}` could not be fetched: {}",
                s.name,
                i.role,
                i.reference,
                i.error.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(match report.exit_code() {
        0 => Outcome::Clean,
        1 => Outcome::Flagged,
        _ => Outcome::Failed,
    })
}

/// Replaces `path` with `bytes` in one rename, so a collector never reads half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// A progress bar on stderr when it is a terminal; `None` means plain log lines.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bar:30} {pos}/{len} images fetched · {elapsed} elapsed, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    // Drawn (and ticking) from the start: the first answers can take seconds.
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
