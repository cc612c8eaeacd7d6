//! The `bpdrift` binary: parse arguments, start logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bpdrift::cli::Cli::parse();
    bpdrift::cli::init_tracing(cli.verbose);
    bpdrift::cli::main(cli)
}
