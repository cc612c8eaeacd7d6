//! `bpdrift diff BEFORE AFTER`: the incident command. One platform, or every platform either
//! image has (`--platform all`), through the one pipeline.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::args::{
    PlatformArg, RegistryArgs, RuleArgs, parse_duration_arg, parse_env, parse_platform_arg,
    parse_size,
};
use super::{Outcome, finish, load_rules};
use crate::fleet::history::{Access, History, Location};
use crate::pipeline::{self, PipelineError, Request};
use crate::reference::{ImageRef, Platform};
use crate::render::{self, Format};
use crate::rules::FailOn;
use crate::source::Fetcher;

/// `bpdrift diff`.
#[derive(Debug, Args, Clone)]
#[command(
    after_help = "IMAGE forms: ghcr.io/org/app:tag, repo@sha256:…, ubuntu (Docker Hub), \
oci:<dir>[:<tag>], oci-archive:<file>[:<tag>], docker-archive:<file>[:<repo:tag>], \
docker-daemon:<repo:tag|sha256:id> (DOCKER_HOST, docker context), podman:<…> (CONTAINER_HOST).\n\
Exit status: 0 nothing flagged, 1 something flagged at or above --fail-on, 2 error."
)]
pub(crate) struct DiffArgs {
    /// The image that worked (last good).
    #[arg(value_name = "BEFORE")]
    pub(crate) before: String,
    /// The image to check (failing, or the candidate).
    #[arg(value_name = "AFTER")]
    pub(crate) after: String,
    /// Also predict the JVM memory calculator of both images in a container of this limit
    /// (`512M`, `512MB`, `512Mi`, `1.5G`, bytes; units binary), from their layers: a finding
    /// when the new image no longer fits.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) memory: Option<crate::memory::Size>,
    /// With --memory: launch environment to set, as the platform would (wins over both images),
    /// e.g. `BPL_JVM_THREAD_COUNT=50`. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env, requires = "memory")]
    pub(crate) env: Vec<(String, String)>,
    /// Also compare the packages in both images' SBOMs: the run image's OS packages, what each
    /// buildpack installed, the application's libraries. Downloads only the SBOM layers.
    #[arg(long)]
    pub(crate) sbom: bool,
    /// Do not read the launch SBOM layer of images whose buildpacks record their runtime only
    /// there (Paketo's Node.js, Python, Go, .NET, Ruby, PHP, nginx and httpd buildpacks): one
    /// blob per image, read only when a rule looks at runtimes. Their runtime rules then
    /// cannot fire.
    #[arg(long, conflicts_with = "sbom")]
    pub(crate) no_sbom: bool,
    /// Also show the release notes of every version each moved buildpack went through, from
    /// its GitHub repository (GITHUB_API_URL, with GITHUB_TOKEN when set; cached by repository
    /// and version). A failing or rate-limited API is one warning, never the diff.
    #[arg(long)]
    pub(crate) release_notes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub(crate) format: DiffFormat,
    /// With `--format sarif`: the file the results point at, relative to the repository root
    /// (the file that pins the image).
    #[arg(long, value_name = "PATH", default_value = "project.toml")]
    pub(crate) sarif_location: PathBuf,
    /// Also show items that did not change.
    #[arg(long)]
    pub(crate) all: bool,
    /// Lowest finding severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub(crate) fail_on: FailOn,
    /// Rule selection.
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Platform to pick from multi-arch images: os/arch[/variant], or `all` to diff every
    /// platform either image has. Never the host's by default.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform_arg)]
    pub(crate) platform: PlatformArg,
    /// The fleet report's history (a SQLite file, `oci://REGISTRY/REPOSITORY:TAG` or
    /// `postgres://…`), to warn with --expect-every when its schedule looks stopped.
    #[arg(
        long,
        value_name = "FILE|oci://REF|postgres://URL",
        requires = "expect_every"
    )]
    pub(crate) history: Option<Location>,
    /// With --history: warn (in the report and on stderr; never a failure) when the fleet
    /// report's last successful run is older than this, e.g. `24h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg, requires = "history")]
    pub(crate) expect_every: Option<i64>,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// `diff --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// Tables for a terminal.
    #[default]
    Table,
    /// The versioned JSON document (`schema_version`; `bpdrift schema diff`).
    Json,
    /// GitHub-flavoured Markdown, as a PR comment shows it.
    Markdown,
    /// SARIF 2.1.0 for GitHub code scanning: one result per finding, pointing at
    /// --sarif-location.
    Sarif,
}

/// Writes one report in `format`.
pub(crate) fn write_report(
    report: &crate::report::DiffReport,
    args: &DiffArgs,
    format: DiffFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        DiffFormat::Table => render::render(report, Format::Table, out)?,
        DiffFormat::Json => render::render(report, Format::Json, out)?,
        DiffFormat::Markdown => render::render(report, Format::Markdown, out)?,
        DiffFormat::Sarif => {
            let (uri, text, rules) = sarif_parts(args)?;
            let ctx = render::SarifContext {
                uri,
                text: text.as_deref(),
                rules: vec![&rules],
            };
            render::diff_sarif(report, &ctx, out)?;
        }
    }
    Ok(())
}

/// The location and rules SARIF needs.
fn sarif_parts(args: &DiffArgs) -> anyhow::Result<(String, Option<String>, crate::rules::RuleSet)> {
    let (uri, text) = super::sarif_location(&args.sarif_location)?;
    // The run already loaded these without problems; they describe the rules in the driver.
    let rules = load_rules(&args.rules)?.unwrap_or_default();
    Ok((uri, text, rules))
}

/// What a diff produced: one report, or one entry per platform.
pub(crate) enum Diffed {
    /// One platform.
    One(Box<crate::report::DiffReport>),
    /// `--platform all`.
    All(Vec<crate::report::PlatformEntry>),
}

/// Parses the references, loads the rules (before any request: a typo should not cost a
/// registry round trip) and runs the pipeline. `None` when a rule file had problems (printed).
pub(crate) async fn compute(args: &DiffArgs) -> anyhow::Result<Option<Diffed>> {
    let before: ImageRef = args.before.parse()?;
    let after: ImageRef = args.after.parse()?;
    let Some(rules) = load_rules(&args.rules)? else {
        return Ok(None);
    };
    let platform = match &args.platform {
        PlatformArg::One(p) => p.clone(),
        PlatformArg::All => Platform::linux_amd64(),
    };
    let mut opts = args.registry.fetch_options(&platform)?;
    opts.bind_credentials(&[&before, &after])?;
    let fetcher = Fetcher::new(&opts)?;
    let env: std::collections::BTreeMap<String, String> = args.env.iter().cloned().collect();
    let req = Request {
        before: &before,
        after: &after,
        rules: &rules,
        memory: args.memory,
        env: &env,
        all: args.all,
        sbom: args.sbom,
        sbom_runtimes: !args.no_sbom && rules.needs_runtimes(),
    };
    let diffed = match &args.platform {
        PlatformArg::One(p) => pipeline::diff_pair(&fetcher, req, p)
            .await
            .map(|r| Diffed::One(Box::new(r))),
        PlatformArg::All => pipeline::diff_platforms(&fetcher, req)
            .await
            .map(Diffed::All),
    };
    match diffed {
        Ok(mut d) => {
            if args.release_notes {
                let source = release_source(args.registry.timeout());
                let mut said = false;
                let reports: Vec<&mut crate::report::DiffReport> = match &mut d {
                    Diffed::One(r) => vec![r.as_mut()],
                    Diffed::All(entries) => entries
                        .iter_mut()
                        .filter_map(|e| e.report.as_mut())
                        .collect(),
                };
                for r in reports {
                    let (notes, warning) =
                        pipeline::release_notes(r, &source, fetcher.cache()).await;
                    r.release_notes = notes;
                    if let Some(w) = &warning
                        && !said
                    {
                        said = true;
                        let _ =
                            writeln!(std::io::stderr(), "warning: {}", crate::sanitize::inert(w));
                    }
                    r.release_notes_warning = warning;
                }
            }
            if let (Some(store), Some(every)) = (&args.history, args.expect_every) {
                let warning = stale_history(store, &fetcher, every).await;
                if let Some(w) = &warning {
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: {}",
                        crate::sanitize::inert(&crate::redact::redact_value(w))
                    );
                }
                match &mut d {
                    Diffed::One(r) => r.stale_history = warning,
                    Diffed::All(entries) => {
                        for r in entries.iter_mut().filter_map(|e| e.report.as_mut()) {
                            r.stale_history = warning.clone();
                        }
                    }
                }
            }
            Ok(Some(d))
        }
        // Both are worth knowing during an incident: one line each, once when they say the
        // same (no engine at the socket, an unreachable registry).
        Err(PipelineError::Both { before, after }) => {
            if before.to_string() != after.to_string() {
                super::report_error(&before);
            }
            Err(after.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The GitHub API the release notes come from, as the Actions runner names it.
fn release_source(timeout: std::time::Duration) -> pipeline::ReleaseSource {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    pipeline::ReleaseSource {
        api_root: var("GITHUB_API_URL")
            .unwrap_or_else(|| "https://api.github.com".into())
            .trim_end_matches('/')
            .to_string(),
        token: var("GITHUB_TOKEN")
            .or_else(|| var("GH_TOKEN"))
            .map(crate::github::Token),
        timeout,
    }
}

/// The staleness warning of the fleet history, if any; a history that cannot be read is a
/// warning too (this check never fails a diff).
async fn stale_history(store: &Location, fetcher: &Fetcher, every: i64) -> Option<String> {
    let now = crate::fleet::history::wall_clock();
    let name = store.to_string();
    let last = match History::open(store, fetcher, Access::Read).await {
        Ok(Some(hist)) => match hist.last_success().await {
            Ok(at) => at,
            Err(e) => return Some(format!("cannot read the fleet history: {e}")),
        },
        Ok(None) => None,
        Err(e) => return Some(format!("cannot read the fleet history: {e:#}")),
    };
    crate::report::fleet::stale_history(&name, last, now, every)
}

/// Runs `bpdrift diff`.
pub(crate) async fn run(args: DiffArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let Some(diffed) = compute(&args).await? else {
        return Ok(Outcome::Failed);
    };
    match diffed {
        Diffed::One(report) => {
            write_report(&report, &args, args.format, out)?;
            out.flush()?;
            Ok(finish(&report, args.fail_on))
        }
        Diffed::All(entries) => {
            let format = match args.format {
                DiffFormat::Table => Format::Table,
                DiffFormat::Json => Format::Json,
                DiffFormat::Markdown => Format::Markdown,
                DiffFormat::Sarif => {
                    let (uri, text, rules) = sarif_parts(&args)?;
                    let ctx = render::SarifContext {
                        uri,
                        text: text.as_deref(),
                        rules: vec![&rules],
                    };
                    render::platforms_sarif(&entries, &args.after, &ctx, out)?;
                    out.flush()?;
                    return Ok(platforms_outcome(&entries, args.fail_on));
                }
            };
            render::render_platforms(&entries, &args.before, &args.after, format, out)?;
            out.flush()?;
            Ok(platforms_outcome(&entries, args.fail_on))
        }
    }
}

/// The most serious outcome wins: failed over flagged over clean. A lost platform's finding
/// counts like any other.
fn platforms_outcome(entries: &[crate::report::PlatformEntry], fail_on: FailOn) -> Outcome {
    let lost = entries
        .iter()
        .filter_map(|e| e.finding.as_ref())
        .any(|f| fail_on.fails(f.severity));
    entries
        .iter()
        .filter_map(|e| e.report.as_ref())
        .map(|r| finish(r, fail_on))
        .chain([Outcome::flagged_if(lost)])
        .max()
        .unwrap_or(Outcome::Clean)
}
