//! `bpdrift inspect`: what each image is made of.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets};

use super::short_digest;
use crate::report::ImageSummary;

/// JSON array of image summaries (the same objects as `before`/`after` in a diff report).
pub fn inspect_json(images: &[ImageSummary], out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, images)?;
    writeln!(out)
}

/// One block per image: provenance, then buildpacks and runtime dependencies.
pub fn inspect_table(images: &[ImageSummary], out: &mut dyn Write) -> io::Result<()> {
    for (i, s) in images.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let digest = s
            .origin
            .digest
            .as_deref()
            .unwrap_or(&s.origin.config_digest);
        writeln!(
            out,
            "{}  {}  {}  {}",
            s.origin.reference,
            short_digest(digest),
            s.origin.platform,
            if s.built_by_buildpacks {
                ""
            } else {
                "(not built by buildpacks)"
            }
        )?;
        let line = |k: &str, v: &Option<String>| v.as_ref().map(|v| format!("  {k}: {v}"));
        for l in [
            line("lifecycle", &s.metadata.lifecycle_version),
            line("platform API", &s.metadata.platform_api),
            line(
                "run image",
                &s.metadata.run_image.as_ref().and_then(|r| r.image.clone()),
            ),
            line("stack", &s.metadata.stack_id),
            line("rebasable", &s.metadata.rebasable.map(|r| r.to_string())),
        ]
        .into_iter()
        .flatten()
        {
            writeln!(out, "{l}")?;
        }
        if !s.metadata.buildpacks.is_empty() || !s.metadata.dependencies.is_empty() {
            let mut t = Table::new();
            t.load_preset(presets::UTF8_FULL_CONDENSED)
                .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(vec!["BUILDPACK / DEPENDENCY", "VERSION"]);
            for b in &s.metadata.buildpacks {
                t.add_row(vec![b.id.clone(), b.version.clone()]);
            }
            for d in &s.metadata.dependencies {
                t.add_row(vec![
                    format!("  {} ({})", d.layer, d.buildpack),
                    d.version.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
    }
    Ok(())
}
