//! `bpdrift history [SERVICE]`: what ran when, from the fleet report's history.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Outcome;
use super::args::ListFormat;
use super::report::history_path;
use crate::fleet::history::History;

/// `bpdrift history`.
#[derive(Debug, Args, Clone)]
pub(crate) struct HistoryArgs {
    /// Service name from the fleet file; all services when omitted.
    pub(crate) service: Option<String>,
    /// History database [default: as `report`].
    #[arg(long, value_name = "FILE")]
    pub(crate) history: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
}

/// Runs `bpdrift history`.
pub(crate) fn run(args: HistoryArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let path = history_path(&args.history)?;
    if !path.exists() {
        anyhow::bail!(
            "no history at `{}`: run `bpdrift report` first",
            path.display()
        );
    }
    let hist = History::open_read_only(&path)?;
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
    match args.format {
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = all
                .iter()
                .map(|(s, t)| serde_json::json!({"service": s, "observations": t}))
                .collect();
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            for (s, t) in &all {
                writeln!(out, "{s}")?;
                for o in t {
                    let versions = o
                        .snapshot
                        .as_ref()
                        .map(|m| {
                            m.buildpacks
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
    out.flush()?;
    Ok(Outcome::Clean)
}
