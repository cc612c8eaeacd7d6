//! `diff --platform all`: one report per platform both images have, and a line for each
//! platform only one of them has.

use std::io::{self, Write};

use serde::Serialize;

use super::Format;
use crate::report::{PlatformEntry, SCHEMA_VERSION};

#[derive(Serialize)]
struct AllPlatforms<'a> {
    schema_version: u32,
    bpdrift_version: &'static str,
    before: &'a str,
    after: &'a str,
    platforms: &'a [PlatformEntry],
}

fn missing_line(e: &PlatformEntry, before: &str, after: &str) -> String {
    let (has, lacks) = match e.missing_in {
        Some("after") => (before, after),
        _ => (after, before),
    };
    format!(
        "platform {} is only in `{has}`: `{lacks}` has no manifest for it",
        e.platform
    )
}

/// Renders every platform in `format`.
pub fn render_platforms(
    entries: &[PlatformEntry],
    before: &str,
    after: &str,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            let doc = AllPlatforms {
                schema_version: SCHEMA_VERSION,
                bpdrift_version: env!("CARGO_PKG_VERSION"),
                before,
                after,
                platforms: entries,
            };
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Table | Format::Markdown => {
            let md = format == Format::Markdown;
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                match &e.report {
                    Some(r) => {
                        if md {
                            writeln!(out, "## {}\n", e.platform)?;
                        } else {
                            writeln!(out, "=== {} ===", e.platform)?;
                        }
                        super::render(r, format, out)?;
                    }
                    None => {
                        let line = missing_line(e, before, after);
                        if md {
                            writeln!(
                                out,
                                "## {}\n\n⚠️ {}",
                                e.platform,
                                super::markdown_escape(&line)
                            )?;
                        } else {
                            writeln!(out, "=== {} ===\n{line}", e.platform)?;
                        }
                    }
                }
            }
            Ok(())
        }
    }
}
