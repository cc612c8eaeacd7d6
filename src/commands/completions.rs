//! `bpdrift completions SHELL`: a completion script from the clap model (clap_complete), so it
//! knows every subcommand, flag and value the binary does.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Outcome;

/// `bpdrift completions`.
#[derive(Debug, Args, Clone)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// Writes the script to `out`.
pub(crate) fn run(args: &CompletionsArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "bpdrift", out);
    Ok(Outcome::Clean)
}
