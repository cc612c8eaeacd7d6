//! The `bpdrift` binary: parse the arguments, then the library runs the command and maps its
//! outcome to the exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    bpdrift::main(bpdrift::parse())
}
