//! `bpdrift report --fleet FILE`: the scheduled fleet report (fetch → assess → record in
//! `fleet`), rendered as Markdown, JSON or HTML, to stdout or `--out`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::args::{RegistryArgs, RuleArgs, parse_duration_arg, parse_time_arg};
use super::{Outcome, load_rules, plural, report_message};
use crate::fleet::history::{Access, History, Location};
use crate::fleet::notify::{Heartbeat, Ping, Pushgateway};
use crate::fleet::{self, ShardArg};
use crate::reference::Platform;
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
    /// History: a SQLite file, `oci://REGISTRY/REPOSITORY:TAG` (an artifact in a registry) or
    /// `postgres://…` (PostgreSQL, for shards; libpq's PGPASSWORD, ~/.pgpass and sslmode
    /// apply); see docs/report.md [default: $XDG_STATE_HOME/bpdrift/history.sqlite or
    /// ~/.local/state/bpdrift/history.sqlite].
    #[arg(long, value_name = "FILE|oci://REF|postgres://URL")]
    pub(crate) history: Option<Location>,
    /// Watch only shard K of N of the fleet (by a stable hash of the service name; the N
    /// shards are disjoint and together the whole fleet). `index/N` takes K from
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's 0-based index, plus one).
    #[arg(long, value_name = "K/N", conflicts_with = "from_history")]
    pub(crate) shard: Option<ShardArg>,
    /// The run id every shard of one run shares, so the history knows them as one run
    /// [default: GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT in GitHub Actions, else this run's own].
    #[arg(long, value_name = "ID", env = "BPDRIFT_RUN_ID")]
    pub(crate) run_id: Option<String>,
    /// Render the whole fleet's latest run (all its shards) from the history, fetching
    /// nothing.
    #[arg(long)]
    pub(crate) from_history: bool,
    /// Alarm (and exit 1) when the previous run is older than this, e.g. `24h`, `90m`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub(crate) expect_every: Option<i64>,
    /// Rule selection (added to the fleet file's).
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Dead man's switch: ping this healthchecks-style URL at start (`URL/start?rid=UUID`) and
    /// at the end with the exit status (`URL/0`, `URL/1`, `URL/2`, same `rid`) and the run's
    /// summary as the body. Never printed; a failed or hung ping is a warning.
    #[arg(long, value_name = "URL")]
    #[arg(env = "BPDRIFT_HEARTBEAT_URL", hide_env_values = true)]
    pub(crate) heartbeat: Option<String>,
    /// The most the heartbeat's monitor stores of a body (healthchecks.io: 100 kB): the
    /// summary's tail is kept.
    #[arg(long, value_name = "BYTES", default_value_t = 100_000, hide = true)]
    pub(crate) heartbeat_body_limit: usize,
    /// How long one heartbeat ping may take, retries included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, default_value = "10s", hide = true)]
    pub(crate) heartbeat_timeout: i64,
    /// Write the run's metrics in the Prometheus text format here (for node_exporter's textfile
    /// collector), replacing the file atomically.
    #[arg(long, value_name = "FILE")]
    pub(crate) metrics: Option<PathBuf>,
    /// Push the same metrics to this Prometheus Pushgateway (job `bpdrift`). Never printed.
    #[arg(long, value_name = "URL")]
    #[arg(env = "BPDRIFT_PUSHGATEWAY_URL", hide_env_values = true)]
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

impl ReportFormat {
    fn fleet(self) -> crate::render::FleetFormat {
        match self {
            Self::Markdown => crate::render::FleetFormat::Markdown,
            Self::Json => crate::render::FleetFormat::Json,
            Self::Html => crate::render::FleetFormat::Html,
            Self::Sarif => crate::render::FleetFormat::Sarif,
        }
    }
}

/// The history: `--history`, else the default file.
pub(crate) fn history_location(given: Option<&Location>) -> anyhow::Result<Location> {
    Location::or_default(given).ok_or_else(|| {
        anyhow::anyhow!("no history location: pass --history FILE (HOME is not set)")
    })
}

/// The run id: `--run-id`, else GitHub Actions' run id and attempt, else none (the run's own).
fn run_group(given: Option<&str>) -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    given.map(str::to_string).or_else(|| {
        var("GITHUB_RUN_ID")
            .map(|id| format!("{id}-{}", var("GITHUB_RUN_ATTEMPT").unwrap_or("1".into())))
    })
}

/// Runs `bpdrift report`, with the heartbeat around it: `start` (sent while the run goes on:
/// a hung monitor never holds it up), then the exit status with the run's summary.
pub(crate) async fn run(args: ReportArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let limit = std::time::Duration::from_secs(args.heartbeat_timeout.max(1) as u64);
    let heartbeat = args
        .heartbeat
        .as_deref()
        .map(|u| Heartbeat::new(u, limit))
        .transpose()?;
    let pushgateway = args
        .pushgateway
        .as_deref()
        .map(Pushgateway::new)
        .transpose()?;
    let rid = fleet::run_uuid();
    let start = heartbeat.clone().map(|h| {
        let rid = rid.clone();
        tokio::spawn(async move { h.ping(Ping::Start, &rid, None).await })
    });
    let mut summary = Vec::new();
    let result = report(&args, pushgateway.as_ref(), out, &mut summary).await;
    if let Some(h) = &heartbeat {
        // Bounded by the ping's own time limit.
        if let Some(start) = start {
            let _ = start.await;
        }
        let code = match &result {
            Ok(o) => o.code(),
            Err(e) => {
                summary.push(format!(
                    "error: {}",
                    crate::redact::redact_value(&format!("{e:#}"))
                ));
                2
            }
        };
        summary.push(format!("exit status {code}"));
        let body = fleet::notify::tail(&summary.join("\n"), args.heartbeat_body_limit);
        h.ping(Ping::Exit(code), &rid, Some(body)).await;
    }
    result
}

/// The fleet file, read and validated; `None` when it has problems (printed).
fn read_fleet(
    path: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Option<fleet::file::Fleet>> {
    let named = crate::limits::Named {
        what: "fleet file",
        from: "--fleet",
        limit: crate::limits::FLEET_FILE_MAX,
    };
    let bytes = crate::limits::read_named(path, named)?;
    let name = path.display().to_string();
    let text = crate::toml_file::utf8_text(&name, bytes).map_err(anyhow::Error::msg)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let file = fleet::file::parse_fleet_where(&name, &text, base, keep);
    if file.fleet.is_none() {
        let mut err = io::stderr().lock();
        let text = file.render_diagnostics();
        let _ = err.write_all(crate::sanitize::inert_lines(&text).as_bytes());
        let _ = writeln!(
            err,
            "error: {} in the fleet file",
            plural(file.diagnostics.len(), "problem")
        );
    }
    Ok(file.fleet)
}

/// Rules per service: the run's, then the fleet's and the service's own files. Services with
/// the same files share one set (a rule set is ~90 KB; a fleet may have a thousand services).
/// `None`: a rule file had problems (printed).
fn service_rules(
    args: &ReportArgs,
    fleet: &fleet::file::Fleet,
) -> anyhow::Result<Option<BTreeMap<String, Arc<RuleSet>>>> {
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
                    return Ok(None);
                };
                let set = Arc::new(set);
                loaded.insert(key, set.clone());
                set
            }
        };
        rules.insert(s.name.clone(), set);
    }
    Ok(Some(rules))
}

async fn report(
    args: &ReportArgs,
    pushgateway: Option<&Pushgateway>,
    out: &mut dyn Write,
    summary: &mut Vec<String>,
) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let shard = args
        .shard
        .map(|s| s.resolve(&|k| std::env::var(k).ok()))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let keep = |name: &str| shard.as_ref().is_none_or(|s| s.owns(name));
    let Some(fleet) = read_fleet(&args.fleet, &keep)? else {
        return Ok(Outcome::Failed);
    };
    let name = args.fleet.display().to_string();
    if let Some(shard) = &shard {
        tracing::info!(
            "shard {shard}: {} of {} services",
            fleet.services.len(),
            fleet.in_file
        );
    }
    let Some(rules) = service_rules(args, &fleet)? else {
        return Ok(Outcome::Failed);
    };
    // Where SARIF results point, settled before anything is fetched.
    let sarif_at = match args.format {
        ReportFormat::Sarif => Some(super::sarif_location(
            args.sarif_location.as_ref().unwrap_or(&args.fleet),
        )?),
        _ => None,
    };
    let fetcher = Fetcher::new(&args.registry.fetch_options(&Platform::linux_amd64())?)?;
    let location = history_location(args.history.as_ref())?;
    let now = args.now.unwrap_or_else(crate::fleet::history::wall_clock);
    let progress_input = |bar: &Option<indicatif::ProgressBar>| {
        let bar = bar.clone();
        move |done: usize, total: usize, what: &str| match &bar {
            Some(b) => {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
            None if done > 0 => tracing::info!("fetched {done}/{total}: {what}"),
            None => {}
        }
    };
    // What both kinds of run read; a fleet run adds its progress, group and shard.
    let quiet = progress_input(&None);
    let base = fleet::RunInput {
        fleet: &fleet,
        fleet_name: &name,
        rules: &rules,
        now,
        expect_every: args.expect_every,
        progress: &quiet,
        jobs: args.registry.jobs as usize,
        group: None,
        shard: None,
        format: args.format.fleet(),
    };
    if args.from_history {
        let hist = History::open(&location, &fetcher, Access::Read)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("no history at `{location}`: run `bpdrift report` first")
            })?;
        let report = fleet::from_history(&base, &hist)
            .await?
            .ok_or_else(|| anyhow::anyhow!("history `{location}` holds no finished run yet"))?;
        if let Some(at) = &sarif_at {
            write_report(args, &mut |w| sarif(at, &report, &rules, w), out)?;
        } else {
            write_report(args, &mut |w| args.format.fleet().write(&report, w), out)?;
        }
        return finish_loud(&report, summary);
    }
    // From the first request on (reading a history from the registry is one).
    let bar = progress_bar();
    if let Some(b) = &bar {
        b.set_length(fleet.services.iter().map(|s| s.images.len()).sum::<usize>() as u64);
    }
    let mut hist = History::open(&location, &fetcher, Access::Write)
        .await?
        .ok_or_else(|| anyhow::anyhow!("history `{location}` could not be created"))?;
    let progress = progress_input(&bar);
    let group = run_group(args.run_id.as_deref());
    let shard_label = shard.map(|s| s.to_string());
    let mut ran = fleet::run(
        fleet::RunInput {
            progress: &progress,
            group: group.as_deref(),
            shard: shard_label.as_deref(),
            ..base
        },
        &fetcher,
        &mut hist,
    )
    .await?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(at) = &sarif_at {
        write_report(args, &mut |w| sarif(at, &ran.report, &rules, w), out)?;
    } else {
        write_report(args, &mut |w| ran.write(w), out)?;
    }
    let report = &ran.report;
    if let Some(line) = hist.publish(&fetcher).await? {
        super::status_line(&line);
    }
    if args.metrics.is_some() || pushgateway.is_some() {
        // A last success ahead of the clock (a forged history) would keep the staleness alert
        // on this metric quiet: this run's own time when it succeeded, else none.
        let last_success = match hist.last_success().await? {
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
        if let Some(path) = &args.metrics {
            let text = metrics::exposition(report, &facts);
            write_atomically(path, text.as_bytes()).map_err(|e| {
                anyhow::Error::new(e)
                    .context(format!("cannot write the metrics to `{}`", path.display()))
            })?;
            super::status_line(&format!("wrote {}", path.display()));
        }
        if let Some(p) = pushgateway {
            // The success timestamp only from a run that succeeded: a failed run updates its
            // other series and leaves the last success where it was.
            let success = report.summary.fetch_errors == 0;
            let facts = metrics::RunFacts {
                last_success: success.then_some(now),
                ..facts
            };
            let text = metrics::exposition(report, &facts);
            // The staleness alert on the last success is what catches a gateway that is down;
            // the report itself is not lost over it.
            if let Err(e) = p.push(text, success, shard_label.as_deref()).await {
                tracing::warn!("{e}");
            }
        }
    }
    finish_loud(report, summary)
}

/// The report as SARIF: its findings (which the slim report a run keeps still holds), each
/// pointing at its service in the fleet file or `--sarif-location`, with every rule set's
/// rules described once.
fn sarif(
    (uri, located): &(String, Option<String>),
    report: &crate::report::fleet::FleetReport,
    rules: &BTreeMap<String, Arc<RuleSet>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut sets: Vec<&RuleSet> = Vec::new();
    for set in rules.values() {
        if !sets.iter().any(|s| std::ptr::eq(*s, &**set)) {
            sets.push(set);
        }
    }
    let ctx = crate::render::SarifContext {
        uri: uri.clone(),
        text: located.as_deref(),
        rules: sets,
    };
    crate::render::fleet_sarif(report, &ctx, out)
}

/// Writes the report (`render` writes it into what it is given) to `--out` or `out`, through a
/// buffer: a 10,000-service report is tens of MB, never held whole. A file gets what stdout
/// would, without colour: through the same guard, so nothing unsafe a renderer missed lands
/// in it either.
fn write_report(
    args: &ReportArgs,
    render: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut to = |w: &mut dyn Write| -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(64 * 1024, w);
        render(&mut w)?;
        w.flush()
    };
    match &args.out {
        Some(path) => {
            let cannot = |e: io::Error| {
                anyhow::Error::new(e)
                    .context(format!("cannot write the report to `{}`", path.display()))
            };
            let file = std::fs::File::create(path).map_err(cannot)?;
            let mut guarded = crate::sanitize::guard::Guard::new(file, false);
            to(&mut guarded).map_err(cannot)?;
            guarded.finish().map_err(cannot)?;
            super::status_line(&format!("wrote {}", path.display()));
        }
        None => {
            to(out)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Loud: the alarm and every failed image are said on stderr too, whatever the format; the
/// same lines (and the totals) make the heartbeat's body.
fn finish_loud(
    report: &crate::report::fleet::FleetReport,
    summary: &mut Vec<String>,
) -> anyhow::Result<Outcome> {
    let s = &report.summary;
    let findings: Vec<String> = s
        .findings
        .iter()
        .rev()
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    summary.push(format!(
        "bpdrift report of {}: {}, {}, {} not fetched, findings: {}",
        report.fleet,
        plural(s.services, "service"),
        plural(s.images, "image"),
        s.fetch_errors,
        if findings.is_empty() {
            "none".to_string()
        } else {
            findings.join(", ")
        }
    ));
    if let Some(a) = &report.alarm {
        report_message(&format!("missed run: {a}"));
        summary.push(format!("missed run: {a}"));
    }
    for svc in &report.services {
        for i in svc.images.iter().filter(|i| i.error.is_some()) {
            let line = format!(
                "service `{}`: {} `{}` could not be fetched: {}",
                svc.name,
                i.role,
                i.reference,
                i.error.as_deref().unwrap_or_default()
            );
            report_message(&line);
            summary.push(line);
        }
        if svc.status != crate::report::fleet::ServiceStatus::Ok {
            summary.push(format!("{}: {}", svc.name, svc.status));
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
