//! `bpdrift history [SERVICE]`: what ran when, from the fleet report's history.

use std::io::Write;

use clap::Args;

use super::Outcome;
use super::args::ListFormat;
use super::args::RegistryArgs;
use super::report::history_location;
use crate::fleet::history::{Access, History, Location};
use crate::reference::Platform;
use crate::source::Fetcher;
use std::collections::BTreeMap;

use crate::fleet::history::Observation;
use crate::sanitize::visible;

/// `bpdrift history`.
#[derive(Debug, Args, Clone)]
pub(crate) struct HistoryArgs {
    /// Service name from the fleet file; all services when omitted.
    pub(crate) service: Option<String>,
    /// History: a SQLite file, `oci://REGISTRY/REPOSITORY:TAG` or `postgres://…` [default: as
    /// `report`].
    #[arg(long, value_name = "FILE|oci://REF|postgres://URL")]
    pub(crate) history: Option<Location>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Registry access (for an `oci://` history).
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// The versions that moved since `prev` (all of them, counted, on a role's first row), then
/// the packages' phrases (`sbom = true`).
fn what_changed(
    prev: Option<&Observation>,
    o: &Observation,
    packages: Option<&[String]>,
) -> String {
    let versions = versions_changed(prev, o);
    match packages.filter(|p| !p.is_empty() && o.error.is_none()) {
        Some(p) => format!("{versions}; {}", p.join("; ")),
        None => versions,
    }
}

fn versions_changed(prev: Option<&Observation>, o: &Observation) -> String {
    if let Some(e) = &o.error {
        return format!("error: {e}");
    }
    let now = o
        .snapshot
        .as_ref()
        .map(|s| s.metadata.versions())
        .unwrap_or_default();
    let Some(before) = prev
        .and_then(|p| p.snapshot.as_ref())
        .map(|s| s.metadata.versions())
    else {
        // The first row of a role says what it is, once.
        let buildpacks: Vec<String> = o
            .snapshot
            .iter()
            .flat_map(|s| &s.metadata.buildpacks)
            .map(|b| format!("{}@{}", b.id, b.version))
            .collect();
        return format!("{} {}", o.reference, buildpacks.join(" "))
            .trim_end()
            .to_string();
    };
    let mut moved: Vec<String> = Vec::new();
    for (id, v) in &now {
        match before.get(id) {
            Some(b) if b != v => moved.push(format!("{id} {b} → {v}")),
            None => moved.push(format!("{id} added at {v}")),
            _ => {}
        }
    }
    moved.extend(
        before
            .keys()
            .filter(|id| !now.contains_key(*id))
            .map(|id| format!("{id} removed")),
    );
    if moved.is_empty() {
        "rebuilt, same versions".into()
    } else {
        moved.join(", ")
    }
}

/// Says so on stderr when a service's history holds observations dated ahead of the clock:
/// shown as recorded, never taken for the present silently.
fn warn_if_ahead(service: &str, timeline: &[Observation]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let latest = timeline
        .iter()
        .filter_map(|o| crate::clock::parse_rfc3339(&o.observed_at))
        .max();
    if let Some(t) = latest
        && let Some(by) = crate::clock::ahead(t, now)
    {
        let what = format!("the latest observation of `{service}`");
        let _ = writeln!(
            std::io::stderr(),
            "warning: {}",
            crate::sanitize::inert(&crate::clock::ahead_message(&what, t, now, by))
        );
    }
}

/// Runs `bpdrift history`.
pub(crate) async fn run(args: HistoryArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let store = history_location(args.history.as_ref())?;
    let fetcher = Fetcher::new(&args.registry.fetch_options(&Platform::linux_amd64())?)?;
    let Some(hist) = History::open(&store, &fetcher, Access::Read).await? else {
        anyhow::bail!("no history at `{store}`: run `bpdrift report` first");
    };
    let path = store.to_string();
    let services = match &args.service {
        Some(s) => vec![s.clone()],
        None => hist.services().await?,
    };
    let mut all = Vec::new();
    for s in &services {
        let t = hist.timeline(s).await?;
        if t.is_empty() {
            anyhow::bail!(
                "no observations of service `{s}` in `{path}` (known: {})",
                hist.services().await?.join(", ")
            );
        }
        warn_if_ahead(s, &t);
        all.push((s.clone(), t));
    }
    match args.format {
        ListFormat::Json => crate::render::history_json(all, out)?,
        ListFormat::Table => {
            for (i, (s, t)) in all.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(out, "{}", crate::render::heading(&visible(s)))?;
                writeln!(
                    out,
                    "  {:<20}  {:<10}  {:<71}  WHAT CHANGED",
                    "OBSERVED", "ROLE", "DIGEST"
                )?;
                // One row per change: a run that saw the same digest as the previous one of the
                // same role adds nothing to read.
                let mut last: BTreeMap<&str, &Observation> = BTreeMap::new();
                let entries = crate::fleet::assess::timeline(t);
                for (o, entry) in t.iter().zip(&entries) {
                    let prev = last.get(o.role.as_str()).copied();
                    if prev.is_some_and(|p| p.digest == o.digest && p.error == o.error) {
                        continue;
                    }
                    // Whole: this is the digest a rollback pulls.
                    let digest = o.digest.as_deref().unwrap_or("-");
                    // Everything here was recorded from images (or pulled from a registry).
                    writeln!(
                        out,
                        "  {:<20}  {:<10}  {:<71}  {}",
                        visible(&o.observed_at),
                        visible(&o.role),
                        visible(digest),
                        visible(&what_changed(prev, o, entry.packages.as_deref()))
                    )?;
                    last.insert(&o.role, o);
                }
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}
