//! `bpdrift inspect`: what each image is made of.

use schemars::JsonSchema;
use std::io::{self, Write};

use super::new_table as table;
use super::{human_bytes, plain, short_digest};
use crate::report::ImageSummary;

/// `schema_version` of `inspect --format json` (docs/json.md).
pub const INSPECT_SCHEMA_VERSION: u32 = 1;

/// `inspect --format json`.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct InspectJson<'a> {
    /// Version of this document's schema: fields are only added within it (docs/json.md).
    #[schemars(extend("const" = INSPECT_SCHEMA_VERSION))]
    schema_version: u32,
    /// bpdrift version that wrote it.
    bpdrift_version: &'static str,
    /// One summary per image (`--platform all`: per platform of each image), in argument order:
    /// the same objects as `before`/`after` in a diff report.
    images: &'a [ImageSummary],
}

/// The image summaries as one JSON document.
pub fn inspect_json(images: &[ImageSummary], out: &mut dyn Write) -> io::Result<()> {
    let doc = InspectJson {
        schema_version: INSPECT_SCHEMA_VERSION,
        bpdrift_version: env!("CARGO_PKG_VERSION"),
        images,
    };
    crate::sanitize::json::write(out, &doc)
}

/// One block per image, after `pack inspect`: provenance (both digests of an index), run image,
/// buildpacks with homepages, extensions, processes, then runtime dependencies and which part
/// each layer is.
pub fn inspect_table(images: &[ImageSummary], out: &mut dyn Write) -> io::Result<()> {
    super::fitted(out, |buf| blocks(images, buf))
}

fn blocks(images: &[ImageSummary], out: &mut dyn Write) -> io::Result<()> {
    for (i, s) in images.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let digest = s.origin.id();
        writeln!(
            out,
            "{}  {}  {}  {}",
            super::heading(&plain(&s.origin.reference)),
            plain(&short_digest(digest)),
            plain(&s.origin.platform),
            if s.built_by_buildpacks {
                s.kind.describe()
            } else {
                "(not built by buildpacks)"
            }
        )?;
        // A value too long for the terminal goes on its own line, whole: digests are copied
        // from here, so they are never shortened or broken.
        let line = |k: &str, v: &Option<String>| {
            v.as_deref().map(plain).map(|v| match super::table_width() {
                Some(w) if 4 + k.len() + v.chars().count() > usize::from(w) => {
                    // `name@sha256:…` splits before the `@` when even its own line is too
                    // narrow; both halves stay whole.
                    match v.split_once('@') {
                        Some((name, digest)) if 4 + v.chars().count() > usize::from(w) => {
                            format!("  {k}:\n    {name}\n    @{digest}")
                        }
                        _ => format!("  {k}:\n    {v}"),
                    }
                }
                _ => format!("  {k}: {v}"),
            })
        };
        let run = s.metadata.run_image.as_ref();
        let mirrors = run.map(|r| r.mirrors.join(", ")).filter(|m| !m.is_empty());
        for l in [
            line("index digest", &s.origin.index_digest),
            line("manifest digest", &s.origin.digest),
            line("lifecycle", &s.metadata.lifecycle_version),
            line("platform API", &s.metadata.platform_api),
            line("buildpack API", &s.metadata.buildpack_apis),
            line("run image", &run.and_then(|r| r.image.clone())),
            line(
                "run image reference",
                &run.and_then(|r| r.reference.clone()),
            ),
            line(
                "run image top layer",
                &run.and_then(|r| r.top_layer.clone()),
            ),
            line("run image mirrors", &mirrors),
            line("rebasable", &s.metadata.rebasable.map(|r| r.to_string())),
            line("stack", &s.metadata.stack_id),
        ]
        .into_iter()
        .flatten()
        {
            writeln!(out, "{l}")?;
        }
        if !s.metadata.runtimes.is_empty() {
            let mut t = table(&["RUNTIME", "VERSION", "READ FROM"]);
            for r in &s.metadata.runtimes {
                let version = match &r.recorded {
                    Some(raw) => format!("{} ({})", plain(&r.version), plain(raw)),
                    None => plain(&r.version),
                };
                t.add_row(vec![plain(&r.describe_name()), version, plain(&r.source)]);
            }
            writeln!(out, "{t}")?;
        }
        if !s.metadata.buildpacks.is_empty()
            || !s.metadata.extensions.is_empty()
            || !s.metadata.dependencies.is_empty()
        {
            let mut t = table(&["BUILDPACK / DEPENDENCY", "VERSION", "HOMEPAGE"]);
            for b in &s.metadata.buildpacks {
                t.add_row(vec![
                    plain(&b.id),
                    plain(&b.version),
                    plain(b.homepage.as_deref().unwrap_or_default()),
                ]);
            }
            for e in &s.metadata.extensions {
                t.add_row(vec![
                    format!("{} (extension)", plain(&e.id)),
                    plain(&e.version),
                    plain(e.homepage.as_deref().unwrap_or_default()),
                ]);
            }
            for d in &s.metadata.dependencies {
                t.add_row(vec![
                    format!("  {} ({})", plain(&d.layer), plain(&d.buildpack)),
                    plain(&d.version),
                    String::new(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        if !s.metadata.processes.is_empty() {
            let mut t = table(&["PROCESS", "SHELL", "COMMAND", "ARGS", "WORK DIR"]);
            for p in &s.metadata.processes {
                let mut kind = plain(&p.kind);
                if p.default {
                    kind.push_str(" (default)");
                }
                t.add_row(vec![
                    kind,
                    if p.direct { "direct" } else { "bash" }.to_string(),
                    plain(&p.command.join(" ")),
                    plain(&p.args.join(" ")),
                    plain(p.working_dir.as_deref().unwrap_or_default()),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        if !s.attribution.parts.is_empty() {
            let mut t = table(&["PART", "LAYERS", "BYTES", "FLAGS"]);
            for p in &s.attribution.parts {
                let first = s.attribution.layers.iter().find(|l| l.part.key() == p.part);
                let flags = match first.map(|l| &l.part) {
                    Some(crate::attribution::Part::Buildpack {
                        layer: Some(_),
                        launch,
                        cache,
                        ..
                    }) => [(*launch, "launch"), (*cache, "cache")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, w)| *w)
                        .collect::<Vec<_>>()
                        .join(", "),
                    _ => String::new(),
                };
                t.add_row(vec![
                    plain(&p.part),
                    p.layers.to_string(),
                    human_bytes(p.bytes),
                    flags,
                ]);
            }
            writeln!(out, "{t}")?;
        }
        // Why layers are unattributed, once per reason.
        let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
        for l in &s.attribution.layers {
            if let crate::attribution::Part::Unattributed { reason } = &l.part {
                let n = (l.index + 1).to_string();
                match reasons.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, ns)) => ns.push(n),
                    None => reasons.push((reason, vec![n])),
                }
            }
        }
        for (reason, ns) in reasons {
            writeln!(
                out,
                "  unattributed layers {}: {}",
                ns.join(", "),
                plain(reason)
            )?;
        }
        // The lifecycle records the extended run image's top layer: the layers extensions added
        // to it are counted as run image layers (the labels do not tell them apart).
        if s.metadata.rebasable == Some(false) && !s.metadata.extensions.is_empty() {
            writeln!(
                out,
                "  the run image was extended by image extensions: its layers include theirs"
            )?;
        }
        if !s.attribution.missing.is_empty() {
            writeln!(
                out,
                "  the labels name {} layers this image does not have (labels copied from another image?)",
                s.attribution.missing.len()
            )?;
        }
        if let Some(p) = &s.packages {
            writeln!(out, "  packages:")?;
            for l in super::packages::inspect_lines(p) {
                writeln!(out, "    {l}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Image, Origin};
    use crate::metadata::{ImageMetadata, label};

    #[test]
    fn extensions_rebasable_and_both_digests() {
        let build = r#"{"buildpacks":[{"id":"p/node","version":"1.0.0","homepage":"https://example.com/node"}],
            "extensions":[{"id":"p/curl","version":"0.1.0","homepage":"https://example.com/curl"}],
            "processes":[{"type":"web","command":["node"],"args":["server.js"],"direct":false,"working-dir":"/srv"}]}"#;
        let lc = r#"{"runImage":{"topLayer":"sha256:t","reference":"run@sha256:r","image":"run:1","mirrors":["mirror/run:1"]}}"#;
        let cfg = serde_json::json!({"rootfs":{"diff_ids":["sha256:t"]},"config":{"Entrypoint":["/cnb/process/web"],
            "Labels":{label::BUILD: build, label::LIFECYCLE: lc, label::REBASABLE: "false"}}});
        let img = Image {
            origin: Origin {
                reference: "app".into(),
                transport: crate::image::Transport::Oci,
                digest: Some("sha256:manifest".into()),
                index_digest: Some("sha256:index".into()),
                config_digest: "sha256:config".into(),
                platform: "linux/amd64".into(),
            },
            layers: Vec::new(),
            metadata: ImageMetadata::from_config(cfg.to_string().as_bytes()).unwrap(),
        };
        let mut out = Vec::new();
        inspect_table(&[ImageSummary::of(&img)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for want in [
            "index digest: sha256:index",
            "manifest digest: sha256:manifest",
            "run image mirrors: mirror/run:1",
            "rebasable: false",
            "p/curl (extension)",
            "https://example.com/curl",
            "web (default)",
            "the run image was extended by image extensions",
            "bash",
            "server.js",
            "/srv",
            "run image",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
    }
}
