//! `bpdrift inspect IMAGE…`: what images are made of, many at once with bounded concurrency.

use std::io::Write;

use clap::Args;

use super::args::{ListFormat, PlatformArg, RegistryArgs, parse_platform_arg};
use super::{Outcome, report_error};
use crate::reference::{ImageRef, Platform};
use crate::render;
use crate::source::Fetcher;

/// `bpdrift inspect`.
#[derive(Debug, Args, Clone)]
pub(crate) struct InspectArgs {
    /// Images to inspect.
    #[arg(required = true, value_name = "IMAGE")]
    pub(crate) images: Vec<String>,
    /// Also list each image's packages from its SBOM layers (run image, buildpacks, app);
    /// downloads only the SBOM layers.
    #[arg(long)]
    pub(crate) sbom: bool,
    /// Do not read the launch SBOM layer of images whose buildpacks record their runtime only
    /// there (Paketo's Node.js, Python, Go, .NET, Ruby, PHP, nginx and httpd buildpacks): their
    /// runtimes are then not shown.
    #[arg(long, conflicts_with = "sbom")]
    pub(crate) no_sbom: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) format: ListFormat,
    /// Platform to pick from multi-arch images, or `all` to inspect every platform each image
    /// has.
    #[arg(long, default_value = "linux/amd64", value_parser = parse_platform_arg)]
    pub(crate) platform: PlatformArg,
    /// Registry access.
    #[command(flatten)]
    pub(crate) registry: RegistryArgs,
}

/// Runs `bpdrift inspect`: one failure does not stop the others, and fails the run.
pub(crate) async fn run(args: InspectArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let refs = args
        .images
        .iter()
        .map(|s| s.parse::<ImageRef>())
        .collect::<Result<Vec<_>, _>>()?;
    let platform = match &args.platform {
        PlatformArg::One(p) => p.clone(),
        PlatformArg::All => Platform::linux_amd64(),
    };
    let mut opts = args.registry.fetch_options(&platform)?;
    opts.bind_credentials(&refs.iter().collect::<Vec<_>>())?;
    let fetcher = Fetcher::new(&opts)?;
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
    let mut failed = false;
    for (r, res) in refs.iter().zip(results) {
        match res {
            Ok(mut img) => {
                if !args.sbom && !args.no_sbom {
                    let found = crate::pipeline::sbom_runtimes(&fetcher, r, &img).await;
                    img.metadata.add_runtimes(found);
                }
                // The legacy label costs nothing; the SBOM layers only with --sbom.
                let packages = if args.sbom {
                    match crate::pipeline::sbom_packages(&fetcher, r, &img).await {
                        Ok((p, runtimes)) => {
                            img.metadata.add_runtimes(runtimes);
                            Some(p)
                        }
                        Err(e) => {
                            failed = true;
                            report_error(
                                anyhow::Error::new(e)
                                    .context(format!("cannot read the SBOM layers of `{r}`"))
                                    .as_ref(),
                            );
                            None
                        }
                    }
                } else {
                    Some(crate::packages::ImagePackages::labels_only(&img.metadata))
                };
                let mut s = crate::report::ImageSummary::of(&img);
                s.packages = packages.filter(|p| !p.is_empty() || args.sbom);
                summaries.push(s);
            }
            Err(e) => {
                failed = true;
                report_error(
                    anyhow::Error::new(e)
                        .context(format!("cannot inspect `{r}`"))
                        .as_ref(),
                );
            }
        }
    }
    match args.format {
        ListFormat::Json => render::inspect_json(&summaries, out)?,
        ListFormat::Table => render::inspect_table(&summaries, out)?,
    }
    out.flush()?;
    // As `diff` does: what is readable is shown, each unreadable label is named, exit 2.
    for s in &summaries {
        for p in &s.metadata.problems {
            failed = true;
            super::report_message(&format!(
                "label `{}` of `{}` is not valid at `{}`{}: {}",
                p.label,
                s.origin.reference,
                p.path,
                p.position(),
                p.message
            ));
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}
