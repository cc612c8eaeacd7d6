//! The fleet file: which services and images a scheduled report watches. Validated like rule
//! files — every problem at once, each at `file:line:column` (see `docs/report.md`).
//!
//! ```toml
//! [defaults]
//! platform = "linux/amd64"
//! fail-on = "error"
//! rules = ["team-rules.toml"]   # relative to this file
//! rollback-targets = 3          # how many recorded good digests must still exist
//!
//! [[service]]
//! name = "checkout"
//! deployed = "ghcr.io/acme/checkout:prod"
//! candidate = "ghcr.io/acme/checkout:main"
//! last-good = ["sha256:…"]      # pinned rollback targets, checked every run
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::reference::{ImageRef, Platform};
use crate::rules::FailOn;
use crate::toml_file::{Ctx, Diagnostic, TableView};

/// One watched service.
#[derive(Debug, Clone)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// Watched references by role (`deployed`, `candidate`, or any role under `images`), in
    /// file order with `deployed` first.
    pub images: Vec<(String, ImageRef)>,
    /// Pinned good digests.
    pub last_good: Vec<String>,
    /// Extra rule files.
    pub rules: Vec<PathBuf>,
    /// `ignore = ["label:…", "env:…"]` (defaults first), as written; validated here.
    pub ignore: Vec<String>,
    /// Severity that fails the run for this service.
    pub fail_on: FailOn,
    /// Platform.
    pub platform: Platform,
    /// `sbom = true`: compare the packages in the images' SBOM layers (as `diff --sbom`).
    pub sbom: bool,
}

/// A validated fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Services in file order.
    pub services: Vec<Service>,
    /// How many recorded good digests are checked per service.
    pub rollback_targets: usize,
}

/// A parsed fleet file with every problem found.
#[derive(Debug)]
pub struct FleetFile {
    /// File name.
    pub name: String,
    /// Text (for rendering diagnostics).
    pub text: String,
    /// The fleet, when the file is valid.
    pub fleet: Option<Fleet>,
    /// Problems.
    pub diagnostics: Vec<Diagnostic>,
}

impl FleetFile {
    /// The diagnostics, rendered with the offending text underlined.
    pub fn render_diagnostics(&self) -> String {
        crate::toml_file::render(&self.name, &self.text, &self.diagnostics)
    }
}

/// The keys of a fleet file.
pub(crate) const TOP_KEYS: &[&str] = &["defaults", "service"];
/// The keys of `[defaults]`.
pub(crate) const DEFAULT_KEYS: &[&str] = &[
    "platform",
    "fail-on",
    "rules",
    "ignore",
    "rollback-targets",
    "sbom",
];
/// The keys of a `[[service]]`.
pub(crate) const SERVICE_KEYS: &[&str] = &[
    "name",
    "deployed",
    "candidate",
    "images",
    "last-good",
    "rules",
    "ignore",
    "fail-on",
    "platform",
    "sbom",
];

fn fail_on(ctx: &mut Ctx<'_>, t: &TableView<'_, '_>) -> Option<Option<FailOn>> {
    let Some(v) = t.string(ctx, "fail-on") else {
        return Some(None).filter(|_| t.get("fail-on").is_none());
    };
    let parsed = match v.get_ref().as_str() {
        "info" => FailOn::Info,
        "warning" => FailOn::Warning,
        "error" => FailOn::Error,
        "never" => FailOn::Never,
        other => {
            ctx.error_with(
                v.span(),
                format!("unknown `fail-on` level `{other}`"),
                "unknown level",
                vec!["one of `info`, `warning`, `error`, `never`".into()],
            );
            return None;
        }
    };
    Some(Some(parsed))
}

fn platform(ctx: &mut Ctx<'_>, t: &TableView<'_, '_>) -> Option<Option<Platform>> {
    let Some(v) = t.string(ctx, "platform") else {
        return Some(None).filter(|_| t.get("platform").is_none());
    };
    match v.get_ref().parse::<Platform>() {
        Ok(p) => Some(Some(p)),
        Err(e) => {
            ctx.error(v.span(), e.to_string(), "expected `os/arch[/variant]`");
            None
        }
    }
}

fn rule_paths(ctx: &mut Ctx<'_>, t: &TableView<'_, '_>, base: &Path) -> Vec<PathBuf> {
    t.strings(ctx, "rules")
        .unwrap_or_default()
        .into_iter()
        .map(|p| base.join(p.get_ref()))
        .collect()
}

/// `ignore = [...]`: each entry a valid `label:GLOB` / `env:GLOB`.
fn ignores(ctx: &mut Ctx<'_>, t: &TableView<'_, '_>) -> Vec<String> {
    let mut out = Vec::new();
    for v in t.strings(ctx, "ignore").unwrap_or_default() {
        match crate::rules::ignore::IgnorePattern::parse(v.get_ref()) {
            Ok(_) => out.push(v.into_inner()),
            Err(e) => ctx.error(v.span(), e, "not `label:NAME` or `env:NAME`"),
        }
    }
    out
}

fn reference(ctx: &mut Ctx<'_>, key: &str, v: &toml::Spanned<String>) -> Option<ImageRef> {
    match v.get_ref().parse::<ImageRef>() {
        Ok(r) => Some(r),
        Err(e) => {
            ctx.error(v.span(), format!("`{key}`: {e}"), "not an image reference");
            None
        }
    }
}

/// Parses and validates a fleet file; rule paths are taken relative to `base` (its directory).
pub fn parse_fleet(name: &str, text: &str, base: &Path) -> FleetFile {
    let mut ctx = Ctx::new(name, text);
    let (root, errors) = DeTable::parse_recoverable(text);
    for e in errors {
        ctx.error(
            e.span().unwrap_or(0..0),
            format!("TOML syntax error: {}", e.message().trim()),
            "here",
        );
    }
    let root = TableView {
        table: root.get_ref(),
        span: root.span(),
    };
    root.unknown_keys(&mut ctx, TOP_KEYS, "a fleet file");
    let defaults = root.table(&mut ctx, "defaults");
    if let Some(d) = &defaults {
        d.unknown_keys(&mut ctx, DEFAULT_KEYS, "`[defaults]`");
    }
    let (d_fail, d_platform, d_rules, d_rollback, d_ignore) = match &defaults {
        Some(d) => (
            fail_on(&mut ctx, d).flatten(),
            platform(&mut ctx, d).flatten(),
            rule_paths(&mut ctx, d, base),
            d.integer(&mut ctx, "rollback-targets")
                .map(|n| *n.get_ref()),
            ignores(&mut ctx, d),
        ),
        None => (None, None, Vec::new(), None, Vec::new()),
    };
    let d_sbom = defaults
        .as_ref()
        .and_then(|d| d.flag(&mut ctx, "sbom"))
        .map(|b| *b.get_ref());
    let mut services = Vec::new();
    let mut seen: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
    match root.get("service").map(|v| (v.get_ref(), v.span())) {
        None => ctx.error_with(
            0..0,
            "the fleet has no service",
            "add a `[[service]]` table",
            vec!["each service needs `name` and at least one image: `deployed = \"…\"`".into()],
        ),
        Some((DeValue::Array(items), _)) => {
            for item in items.iter() {
                let DeValue::Table(t) = item.get_ref() else {
                    ctx.error(
                        item.span(),
                        "each `service` must be a table",
                        "expected `[[service]]`",
                    );
                    continue;
                };
                let t = TableView {
                    table: t,
                    span: item.span(),
                };
                let before = ctx.diags.len();
                t.unknown_keys(&mut ctx, SERVICE_KEYS, "a `[[service]]`");
                let name = t.string(&mut ctx, "name");
                match &name {
                    None if t.get("name").is_none() => ctx.error(
                        t.span.start..t.span.start + 11,
                        "service without `name`",
                        "add `name = \"…\"`",
                    ),
                    Some(n) if n.get_ref().is_empty() => {
                        ctx.error(n.span(), "empty service name", "name it");
                    }
                    Some(n) => {
                        if let Some(first) = seen.get(n.get_ref()) {
                            let (line, col) = ctx.position(first.start);
                            ctx.error_with(
                                n.span(),
                                format!("duplicate service `{}`", n.get_ref()),
                                "named again here",
                                vec![format!(
                                    "first named at {name}:{line}:{col}",
                                    name = ctx.name
                                )],
                            );
                        } else {
                            seen.insert(n.get_ref().clone(), n.span());
                        }
                    }
                    None => {}
                }
                let mut images = Vec::new();
                for role in ["deployed", "candidate"] {
                    if let Some(v) = t.string(&mut ctx, role)
                        && let Some(r) = reference(&mut ctx, role, &v)
                    {
                        images.push((role.to_string(), r));
                    }
                }
                if let Some(extra) = t.table(&mut ctx, "images") {
                    for (k, v) in extra.table.iter() {
                        let role = k.get_ref().to_string();
                        match v.get_ref() {
                            DeValue::String(s) => {
                                let sv = toml::Spanned::new(v.span(), s.to_string());
                                if images.iter().any(|(r, _)| *r == role) {
                                    ctx.error(
                                        k.span(),
                                        format!("role `{role}` is given twice"),
                                        "again here",
                                    );
                                } else if let Some(r) = reference(&mut ctx, &role, &sv) {
                                    images.push((role, r));
                                }
                            }
                            _ => ctx.error(
                                v.span(),
                                format!("`images.{role}` must be an image reference string"),
                                "expected a string",
                            ),
                        }
                    }
                }
                if images.is_empty() && ctx.diags.len() == before {
                    ctx.error(
                        t.span.start..t.span.start + 11,
                        "service watches no image",
                        "add `deployed = \"…\"` (and `candidate`, or `[service.images]`)",
                    );
                }
                let mut last_good = Vec::new();
                for d in t.strings(&mut ctx, "last-good").unwrap_or_default() {
                    let ok = d.get_ref().strip_prefix("sha256:").is_some_and(|h| {
                        h.len() == 64
                            && h.bytes()
                                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                    });
                    if ok {
                        last_good.push(d.into_inner());
                    } else {
                        ctx.error(
                            d.span(),
                            format!("`{}` is not a digest", d.get_ref()),
                            "expected `sha256:` and 64 hex digits",
                        );
                    }
                }
                let mut rules = d_rules.clone();
                rules.extend(rule_paths(&mut ctx, &t, base));
                let mut ignore = d_ignore.clone();
                ignore.extend(ignores(&mut ctx, &t));
                let f = fail_on(&mut ctx, &t);
                let p = platform(&mut ctx, &t);
                let sbom = t.flag(&mut ctx, "sbom").map(|b| *b.get_ref());
                if ctx.diags.len() > before {
                    continue;
                }
                services.push(Service {
                    name: name.map(toml::Spanned::into_inner).unwrap_or_default(),
                    images,
                    last_good,
                    rules,
                    ignore,
                    fail_on: f.flatten().or(d_fail).unwrap_or(FailOn::Error),
                    platform: p
                        .flatten()
                        .or_else(|| d_platform.clone())
                        .unwrap_or_else(Platform::linux_amd64),
                    sbom: sbom.or(d_sbom).unwrap_or(false),
                });
            }
        }
        Some((other, span)) => ctx.error(
            span,
            format!(
                "`service` must be an array of tables, found {}",
                crate::toml_file::type_name(other)
            ),
            "write each service as `[[service]]`",
        ),
    }
    ctx.diags.sort_by_key(|d| (d.span.start, d.span.end));
    let fleet = ctx.diags.is_empty().then(|| Fleet {
        services,
        rollback_targets: d_rollback.map_or(3, |n| n as usize),
    });
    FleetFile {
        name: name.to_string(),
        text: text.to_string(),
        fleet,
        diagnostics: ctx.diags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_fleet() {
        let f = parse_fleet(
            "fleet.toml",
            r#"
[defaults]
fail-on = "warning"
rollback-targets = 2

[[service]]
name = "checkout"
deployed = "127.0.0.1:5000/checkout:prod"
candidate = "127.0.0.1:5000/checkout:main"
last-good = ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]

[[service]]
name = "local"
images = { nightly = "oci:testdata/images:incident-bad" }
fail-on = "never"
"#,
            Path::new("."),
        );
        assert!(f.diagnostics.is_empty(), "{}", f.render_diagnostics());
        let fleet = f.fleet.unwrap();
        assert_eq!(fleet.rollback_targets, 2);
        assert_eq!(fleet.services[0].images[1].0, "candidate");
        assert_eq!(fleet.services[0].fail_on, FailOn::Warning);
        assert_eq!(fleet.services[1].fail_on, FailOn::Never);
    }

    #[test]
    fn every_mistake_is_reported() {
        let f = parse_fleet(
            "fleet.toml",
            r#"[[service]]
name = "a"
deployd = "x:1"

[[service]]
name = "a"
deployed = "Bad Ref"
last-good = ["sha256:nope"]
fail-on = "sometimes"
"#,
            Path::new("."),
        );
        let msgs: Vec<String> = f
            .diagnostics
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
            .collect();
        assert_eq!(
            msgs,
            vec![
                "3:1 unknown key `deployd` in a `[[service]]`",
                "6:8 duplicate service `a`",
                "7:12 `deployed`: invalid image reference `Bad Ref`: references cannot contain spaces",
                "8:14 `sha256:nope` is not a digest",
                "9:11 unknown `fail-on` level `sometimes`",
            ]
        );
    }
}
