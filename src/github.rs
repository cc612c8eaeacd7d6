//! GitHub integration (placeholder until the github issue lands).

use std::process::ExitCode;

use clap::Subcommand;

/// `bpdrift github …`.
#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Not yet available.
    #[command(hide = true)]
    Comment,
}

/// Runs a `github` subcommand.
pub async fn run(_cmd: GithubCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`bpdrift github` is not available yet")
}
