//! `diff --platform all`: one report per platform both images have, and a line for each
//! platform only one of them has.

use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use super::Format;
use crate::report::{PlatformEntry, SCHEMA_VERSION};

/// One line over every platform: lost and gained platforms first, then each platform's verdict
/// (platforms with the same verdict said together).
pub fn overall_verdict(entries: &[PlatformEntry]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (which, word) in [("after", "lost (warning)"), ("before", "added")] {
        let ps: Vec<&str> = entries
            .iter()
            .filter(|e| e.missing_in == Some(which))
            .map(|e| e.platform.as_str())
            .collect();
        if !ps.is_empty() {
            parts.push(format!("platform {word}: {}", ps.join(", ")));
        }
    }
    let mut verdicts: Vec<(String, Vec<&str>)> = Vec::new();
    for e in entries {
        if let Some(r) = &e.report {
            match verdicts.iter_mut().find(|(v, _)| *v == r.summary.verdict) {
                Some((_, ps)) => ps.push(&e.platform),
                None => verdicts.push((r.summary.verdict.clone(), vec![&e.platform])),
            }
        }
    }
    for (v, ps) in verdicts {
        parts.push(format!("{}: {v}", ps.join(", ")));
    }
    format!(
        "{}: {}",
        crate::text::plural(entries.len(), "platform", "platforms"),
        parts.join(" | ")
    )
}

/// `diff --platform all --format json`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct AllPlatforms<'a> {
    /// The diff document's schema version (the same as one platform's report).
    #[schemars(extend("const" = SCHEMA_VERSION))]
    schema_version: u32,
    /// bpdrift version that wrote it.
    bpdrift_version: &'static str,
    /// The first image, as typed.
    before: &'a str,
    /// The second image, as typed.
    after: &'a str,
    /// One line over every platform.
    verdict: String,
    /// Each platform either image has.
    platforms: &'a [PlatformEntry],
}

fn missing_line(e: &PlatformEntry, before: &str, after: &str) -> String {
    let (has, lacks) = match e.missing_in {
        Some("after") => (before, after),
        _ => (after, before),
    };
    format!(
        "platform {} is only in `{}`: `{}` has no manifest for it",
        crate::sanitize::visible(&e.platform),
        crate::sanitize::visible(has),
        crate::sanitize::visible(lacks)
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
                verdict: overall_verdict(entries),
                platforms: entries,
            };
            crate::sanitize::json::write(out, &doc)
        }
        Format::Table | Format::Markdown => {
            let md = format == Format::Markdown;
            let verdict = overall_verdict(entries);
            if md {
                writeln!(out, "### bpdrift: {}\n", super::markdown_escape(&verdict))?;
            } else {
                writeln!(out, "{}\n", super::plain(&verdict))?;
            }
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                match &e.report {
                    Some(r) => {
                        if md {
                            writeln!(out, "## {}\n", super::markdown_escape(&e.platform))?;
                        } else {
                            let title = format!("=== {} ===", super::plain(&e.platform));
                            writeln!(out, "{}", super::heading(&title))?;
                        }
                        super::render(r, format, out)?;
                    }
                    None => {
                        let mut line = missing_line(e, before, after);
                        if let Some(f) = &e.finding {
                            line = format!(
                                "{line}\n{}: {}: {}",
                                f.severity,
                                super::plain(&f.rule),
                                super::plain(&f.summary)
                            );
                        }
                        if md {
                            writeln!(
                                out,
                                "## {}\n\n⚠️ {}",
                                e.platform,
                                super::markdown_escape(&line)
                            )?;
                        } else {
                            writeln!(out, "=== {} ===\n{line}", super::plain(&e.platform))?;
                        }
                    }
                }
            }
            Ok(())
        }
    }
}
