//! `bpdrift schema NAME`: the JSON Schema (draft 2020-12) of a JSON output or of a file users
//! write, generated from the types themselves (`crate::schema`).

use std::io::Write;

use clap::Args;

use super::Outcome;
use crate::schema::SchemaName;

/// `bpdrift schema`.
#[derive(Debug, Args, Clone)]
pub(crate) struct SchemaArgs {
    /// The document: a command's JSON output, or a file you write (`rules`, `fleet`, TOML
    /// validated as its JSON form).
    #[arg(value_enum)]
    pub(crate) name: SchemaName,
}

/// Prints the schema, pretty, one trailing newline.
pub(crate) fn run(args: &SchemaArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    serde_json::to_writer_pretty(&mut *out, &args.name.schema())?;
    writeln!(out)?;
    Ok(Outcome::Clean)
}
