//! `bpdrift memory IMAGE`: the Paketo JVM memory calculator predicted from the image itself.

use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;

use super::Outcome;
use super::args::{RegistryArgs, parse_env, parse_platform, parse_size};
use crate::reference::{ImageRef, Platform};
use crate::render::{self, Format};
use crate::source::Fetcher;

/// `bpdrift memory`.
#[derive(Debug, Args, Clone)]
pub(crate) struct MemoryArgs {
    /// The image.
    pub(crate) image: String,
    /// The container's memory limit, e.g. `512M`, `512MB`, `512Mi`, `616300K`, `1.5G`, or bytes
    /// (every unit binary, as in the calculator); zero and negative are refused.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) memory: Option<crate::memory::Size>,
    /// Launch environment to set, as the platform would (wins over the image): `KEY=VALUE`,
    /// e.g. `BPL_JVM_THREAD_COUNT=50`. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub(crate) env: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Platform to pick from multi-arch images.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform)]
    pub(crate) platform: Platform,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// Runs `bpdrift memory`: flagged when the JVM would not start (or its inputs are invalid).
pub(crate) async fn run(args: MemoryArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let reference: ImageRef = args.image.parse()?;
    let mut opts = args.registry.fetch_options(&args.platform)?;
    opts.bind_credentials(&[&reference])?;
    let fetcher = Fetcher::new(&opts)?;
    let image = fetcher.fetch(&reference).await?;
    let overrides: BTreeMap<String, String> = args.env.iter().cloned().collect();
    let found = crate::pipeline::memory_inputs(&fetcher, &reference, &image, &overrides).await?;
    let p = crate::memory::predict::predict(&args.image, &found, args.memory);
    render::memory(&p, args.format, out)?;
    out.flush()?;
    let starts = p.outcome.as_ref().is_none_or(|o| o.starts);
    Ok(Outcome::flagged_if(p.input_error.is_some() || !starts))
}
