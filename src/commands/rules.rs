//! `bpdrift rules list|check`: the rules in effect, and rule files validated (every problem at
//! once, as file:line:column), optionally against real images to catch ids that match nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::args::{ListFormat, RegistryArgs, RuleArgs, parse_platform};
use super::{Outcome, load_rules, plural, print_diagnostics, read_rule_file, report_message};
use crate::reference::{ImageRef, Platform};
use crate::render;
use crate::source::Fetcher;

/// `bpdrift rules …`.
#[derive(Debug, Subcommand)]
// Parsed once per run: the size of `Check`'s registry arguments costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RulesCommand {
    /// Show the rules in effect.
    List {
        /// Rule selection.
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Only the rules of this family (`go`, `node`, `jvm`, `run-image`…).
        #[arg(long, value_name = "FAMILY")]
        family: Option<String>,
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

/// Runs `bpdrift rules …`.
pub(crate) async fn run(cmd: RulesCommand, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cmd {
        RulesCommand::List {
            rules,
            format,
            family,
        } => {
            let Some(set) = load_rules(&rules)? else {
                return Ok(Outcome::Failed);
            };
            match format {
                ListFormat::Table => render::rules_table(&set, family.as_deref(), out)?,
                ListFormat::Json => render::rules_json(&set, family.as_deref(), out)?,
            }
            out.flush()?;
            Ok(Outcome::Clean)
        }
        RulesCommand::Check {
            files,
            against,
            platform,
            registry,
        } => check(files, against, &platform, &registry, out).await,
    }
}

async fn check(
    paths: Vec<PathBuf>,
    against: Vec<String>,
    platform: &Platform,
    registry: &RegistryArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let files = paths
        .iter()
        .map(|p| read_rule_file(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Ids must also be unique across the files checked together.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
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
        report_message(d);
    }
    if problems > 0 || !dupes.is_empty() {
        return Ok(Outcome::Failed);
    }
    let count: usize = files.iter().map(|f| f.rules.len()).sum();
    let mut outcome = Outcome::Clean;
    if !against.is_empty() {
        let fetcher = Fetcher::new(&registry.fetch_options(platform)?)?;
        // Every item of every image, as a diff of the image with itself lists them.
        let mut items = Vec::new();
        for r in &against {
            let reference: ImageRef = r.parse()?;
            let img = fetcher.fetch(&reference).await?;
            items.extend(crate::diff::diff(&img, &img).changes);
        }
        for f in &files {
            for r in f.rules.iter().filter(|r| !r.matches_any_item(&items)) {
                writeln!(
                    out,
                    "warning: rule `{}` ({}) matches nothing in the given images: no {}",
                    r.id,
                    f.name,
                    r.subject.describe()
                )?;
                outcome = Outcome::Flagged;
            }
        }
    }
    writeln!(
        out,
        "ok: {} in {}",
        plural(count, "rule"),
        plural(files.len(), "file")
    )?;
    Ok(outcome)
}
