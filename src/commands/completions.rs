//! `bpdrift completions SHELL`: a completion script from the clap model (clap_complete), so it
//! knows every subcommand, flag and value the binary does.

use std::io::Write;

use clap::Args;
use clap_complete::Shell;

use super::Outcome;

/// `bpdrift completions`.
#[derive(Debug, Args, Clone)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

/// Writes the script for `cmd` (the whole command line, from `cli`) to `out`.
pub(crate) fn run(
    args: &CompletionsArgs,
    mut cmd: clap::Command,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    clap_complete::generate(args.shell, &mut cmd, "bpdrift", out);
    Ok(Outcome::Clean)
}
