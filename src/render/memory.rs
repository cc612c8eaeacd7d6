//! `bpdrift memory`: the inputs found and where, the calculator's outcome, the smallest limit.

use schemars::JsonSchema;
use std::io::{self, Write};

use super::{Format, markdown_escape as md};
use crate::memory::predict::Prediction;

/// `schema_version` of `memory --format json` (docs/json.md); bumped on incompatible changes.
pub const MEMORY_SCHEMA_VERSION: u32 = 1;

/// `memory --format json`: the prediction with its schema version.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct MemoryJson<'a> {
    /// Version of this document's schema: fields are only added within it (docs/json.md).
    #[schemars(extend("const" = MEMORY_SCHEMA_VERSION))]
    schema_version: u32,
    /// The prediction.
    #[serde(flatten)]
    prediction: &'a Prediction,
}

/// Renders a prediction.
pub fn memory(p: &Prediction, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => crate::sanitize::json::write(
            out,
            &MemoryJson {
                schema_version: MEMORY_SCHEMA_VERSION,
                prediction: p,
            },
        ),
        Format::Table => super::fitted(out, |buf| text(p, buf, false)),
        Format::Markdown => text(p, out, true),
    }
}

fn text(p: &Prediction, out: &mut dyn Write, markdown: bool) -> io::Result<()> {
    // Multi-line calculator messages keep their own line breaks in the table format.
    let esc = |s: &str| {
        if markdown {
            md(s)
        } else {
            crate::sanitize::visible_lines(s).into_owned()
        }
    };
    let code = |s: &str| {
        if markdown {
            super::escape::markdown_code_span(s)
        } else {
            crate::sanitize::visible_lines(s).into_owned()
        }
    };
    let bullet = if markdown { "- " } else { "  " };
    if markdown {
        writeln!(out, "### JVM memory: {}\n", code(&p.reference))?;
    } else {
        writeln!(
            out,
            "{}",
            super::heading(&format!("JVM memory: {}", super::plain(&p.reference)))
        )?;
    }
    if let Some(why) = &p.nothing_to_predict {
        writeln!(out, "nothing to predict: {}", esc(why))?;
        return Ok(());
    }
    writeln!(out, "\nInputs{}", if markdown { "\n" } else { "" })?;
    for i in &p.inputs {
        writeln!(
            out,
            "{bullet}{}={}  (from {})",
            code(&i.name),
            code(&i.value),
            esc(&i.from)
        )?;
    }
    writeln!(out, "{bullet}application classes: {}", p.app_classes)?;
    const SHOWN: usize = 5;
    for crate::memory::predict::AppDetail { path, classes: n } in p.app_detail.iter().take(SHOWN) {
        writeln!(out, "{bullet}  {n:>6}  {}", esc(path))?;
    }
    // Every class is accounted for: the sources not listed are counted with their classes.
    let rest = &p.app_detail[p.app_detail.len().min(SHOWN)..];
    let hidden = rest.len() + p.app_detail_hidden.sources;
    if hidden > 0 {
        let classes: i64 =
            rest.iter().map(|d| d.classes).sum::<i64>() + p.app_detail_hidden.classes;
        writeln!(
            out,
            "{bullet}  {classes:>6}  in {} (--format json lists the 10 largest)",
            crate::text::plural(hidden, "more source", "more sources")
        )?;
    }
    writeln!(out, "{bullet}agent classes: {}", p.agent_classes)?;
    for a in &p.missing_agents {
        writeln!(
            out,
            "{bullet}  agent jar not in the image (libjvm skips it with a warning): {}",
            esc(a)
        )?;
    }
    if let Some(d) = &p.debug_line {
        writeln!(out, "{bullet}{}", esc(d))?;
    }
    if let (Some(l), Some(t)) = (p.loaded_classes, p.threads) {
        writeln!(out, "{bullet}loaded classes: {l}, threads: {t}")?;
    }
    if let Some(e) = &p.input_error {
        writeln!(out, "\nThe calculator fails on these inputs: {}", esc(e))?;
    }
    if let Some(o) = &p.outcome {
        writeln!(
            out,
            "\nIn a container limited to {}{}",
            o.limit,
            if markdown { "\n" } else { "" }
        )?;
        match (&o.flags, &o.error) {
            (Some(f), _) => {
                writeln!(
                    out,
                    "{bullet}the JVM starts; the calculator appends: {}",
                    code(f)
                )?;
            }
            (_, Some(e)) => {
                writeln!(out, "{bullet}the JVM does NOT start: {}", code(e))?;
            }
            _ => {}
        }
    } else if p.input_error.is_none() {
        writeln!(
            out,
            "\nPass --memory LIMIT for the flags in a container of that size."
        )?;
    }
    if let Some(m) = &p.minimum_limit {
        writeln!(
            out,
            "\nSmallest memory limit with which the JVM starts: {}{}",
            esc(m),
            match p.minimum_limit_heap.as_deref() {
                // The usual case: at the smallest limit only the fixed regions fit (under 1 KiB
                // of heap, which libjvm prints as `0`).
                Some("0") | None => " (no heap left at that limit: fixed regions only)".to_string(),
                Some(h) => format!(" (heap at that limit: {})", esc(h)),
            }
        )?;
    }
    writeln!(out, "\nNote: {}", esc(&p.note))
}
