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
    /// How many services the file names: more than `services` holds when a shard kept only
    /// its own.
    pub in_file: usize,
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
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_fleet(name: &str, text: &str, base: &Path) -> FleetFile {
    parse_fleet_where(name, text, base, &|_| true)
}

/// From this size on, a fleet file is parsed [`PIECE_SERVICES`] services at a time: the TOML
/// parser's tokens and spanned tables cost about 25 times the text, 200 MB for a
/// 100,000-service file parsed whole.
const PIECEWISE_FROM: usize = 1 << 20;
/// Services per piece of a large fleet file.
const PIECE_SERVICES: usize = 1000;

/// [`parse_fleet`], keeping only the services whose name `keep` accepts (a shard's): every
/// service is still validated, so each shard reports the same problems, but a shard of a
/// 100,000-service file holds its own tenth, not the file.
pub fn parse_fleet_where(
    name: &str,
    text: &str,
    base: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> FleetFile {
    let batch = if text.len() >= PIECEWISE_FROM {
        PIECE_SERVICES
    } else {
        usize::MAX
    };
    parse_pieces(name, text, base, keep, batch)
}

/// The fleet's `[defaults]`, as each service inherits them.
#[derive(Default)]
struct Defaults {
    fail: Option<FailOn>,
    platform: Option<Platform>,
    rules: Vec<PathBuf>,
    rollback: Option<u64>,
    ignore: Vec<String>,
    sbom: Option<bool>,
}

impl Defaults {
    fn read(ctx: &mut Ctx<'_>, d: &TableView<'_, '_>, base: &Path) -> Self {
        d.unknown_keys(ctx, DEFAULT_KEYS, "`[defaults]`");
        Self {
            fail: fail_on(ctx, d).flatten(),
            platform: platform(ctx, d).flatten(),
            rules: rule_paths(ctx, d, base),
            rollback: d.integer(ctx, "rollback-targets").map(|n| *n.get_ref()),
            ignore: ignores(ctx, d),
            sbom: d.flag(ctx, "sbom").map(|b| *b.get_ref()),
        }
    }
}

/// The services read so far, across the pieces of a file.
struct Services<'k> {
    list: Vec<Service>,
    /// Valid services seen, kept or not.
    in_file: usize,
    /// Each name's first span (in the whole file), for duplicates.
    seen: BTreeMap<String, std::ops::Range<usize>>,
    keep: &'k dyn Fn(&str) -> bool,
    /// Whether any piece had a `service` key.
    any: bool,
}

fn shift(span: std::ops::Range<usize>, by: usize) -> std::ops::Range<usize> {
    span.start + by..span.end + by
}

/// Where a fleet file can be cut into independently parsed pieces of `batch` services: the
/// start of every `batch`-th `[[service]]` header line after the first. One piece (the whole
/// text) when the cut could change what the file means: a multi-line string (a header line
/// inside it is text), or a table header other than a service's own after the first service
/// (a late `[defaults]` must be read before the services that inherit it).
fn pieces(text: &str, batch: usize) -> Vec<std::ops::Range<usize>> {
    let whole = std::iter::once(0..text.len()).collect();
    if batch == usize::MAX || text.contains("\"\"\"") || text.contains("'''") {
        return whole;
    }
    let mut cuts = vec![0];
    let mut services = 0usize;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let head = line.split('#').next().unwrap_or("").trim();
        let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
        if compact == "[[service]]" {
            if services > 0 && services.is_multiple_of(batch) {
                cuts.push(at);
            }
            services += 1;
        } else if services > 0
            && head.starts_with('[')
            && !compact.starts_with("[service.")
            && !compact.starts_with("[[service.")
        {
            return whole;
        }
        at += line.len();
    }
    cuts.push(text.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

fn parse_pieces(
    name: &str,
    text: &str,
    base: &Path,
    keep: &dyn Fn(&str) -> bool,
    batch: usize,
) -> FleetFile {
    let mut ctx = Ctx::new(name, text);
    let mut defaults = Defaults::default();
    let mut acc = Services {
        list: Vec::new(),
        in_file: 0,
        seen: BTreeMap::new(),
        keep,
        any: false,
    };
    for piece in pieces(text, batch) {
        ctx.offset = piece.start;
        let (root, errors) = DeTable::parse_recoverable(&text[piece]);
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
        if let Some(d) = root.table(&mut ctx, "defaults") {
            defaults = Defaults::read(&mut ctx, &d, base);
        }
        match root.get("service").map(|v| (v.get_ref(), v.span())) {
            None => {}
            Some((DeValue::Array(items), _)) => {
                acc.any = true;
                for item in items.iter() {
                    service(&mut ctx, item, &defaults, base, &mut acc);
                }
            }
            Some((other, span)) => {
                acc.any = true;
                ctx.error(
                    span,
                    format!(
                        "`service` must be an array of tables, found {}",
                        crate::toml_file::type_name(other)
                    ),
                    "write each service as `[[service]]`",
                );
            }
        }
    }
    ctx.offset = 0;
    if !acc.any {
        ctx.error_with(
            0..0,
            "the fleet has no service",
            "add a `[[service]]` table",
            vec!["each service needs `name` and at least one image: `deployed = \"…\"`".into()],
        );
    }
    ctx.diags.sort_by_key(|d| (d.span.start, d.span.end));
    let mut services = acc.list;
    services.shrink_to_fit();
    let fleet = ctx.diags.is_empty().then(|| Fleet {
        services,
        rollback_targets: defaults.rollback.map_or(3, |n| n as usize),
        in_file: acc.in_file,
    });
    FleetFile {
        name: name.to_string(),
        // Only diagnostics quote it: a valid 100,000-service file is not copied.
        text: if ctx.diags.is_empty() {
            String::new()
        } else {
            text.to_string()
        },
        fleet,
        diagnostics: ctx.diags,
    }
}

/// One `[[service]]` item: validated, and added to `acc` when valid and kept.
fn service(
    ctx: &mut Ctx<'_>,
    item: &toml::Spanned<DeValue<'_>>,
    d: &Defaults,
    base: &Path,
    acc: &mut Services<'_>,
) {
    let DeValue::Table(t) = item.get_ref() else {
        ctx.error(
            item.span(),
            "each `service` must be a table",
            "expected `[[service]]`",
        );
        return;
    };
    let t = TableView {
        table: t,
        span: item.span(),
    };
    let before = ctx.diags.len();
    t.unknown_keys(ctx, SERVICE_KEYS, "a `[[service]]`");
    let name = t.string(ctx, "name");
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
            if let Some(first) = acc.seen.get(n.get_ref()) {
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
                // Absolute: "first named at" is placed in the whole file.
                acc.seen
                    .insert(n.get_ref().clone(), shift(n.span(), ctx.offset));
            }
        }
        None => {}
    }
    let mut images = Vec::new();
    for role in ["deployed", "candidate"] {
        if let Some(v) = t.string(ctx, role)
            && let Some(r) = reference(ctx, role, &v)
        {
            images.push((role.to_string(), r));
        }
    }
    if let Some(extra) = t.table(ctx, "images") {
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
                    } else if let Some(r) = reference(ctx, &role, &sv) {
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
    for d in t.strings(ctx, "last-good").unwrap_or_default() {
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
    let mut rules = d.rules.clone();
    rules.extend(rule_paths(ctx, &t, base));
    let mut ignore = d.ignore.clone();
    ignore.extend(ignores(ctx, &t));
    let f = fail_on(ctx, &t);
    let p = platform(ctx, &t);
    let sbom = t.flag(ctx, "sbom").map(|b| *b.get_ref());
    if ctx.diags.len() > before {
        return;
    }
    acc.in_file += 1;
    let name = name.map(toml::Spanned::into_inner).unwrap_or_default();
    if !(acc.keep)(&name) {
        return;
    }
    images.shrink_to_fit();
    acc.list.push(Service {
        name,
        images,
        last_good,
        rules,
        ignore,
        fail_on: f.flatten().or(d.fail).unwrap_or(FailOn::Error),
        platform: p
            .flatten()
            .or_else(|| d.platform.clone())
            .unwrap_or_else(Platform::linux_amd64),
        sbom: sbom.or(d.sbom).unwrap_or(false),
    });
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

    /// A large file parsed in pieces means what it means parsed whole: the same services (a
    /// shard's only, when asked) and the same problems at the same places, a duplicate across
    /// pieces included; a file whose cut could change its meaning is parsed whole.
    #[test]
    fn pieces_parse_as_the_whole_file() {
        let mut text = String::from("# fleet\n[defaults]\nfail-on = \"warning\"\n\n");
        for i in 0..9 {
            let name = if i == 7 {
                "s1".to_string()
            } else {
                format!("s{i}")
            };
            text.push_str(&format!("[[service]]\nname = \"{name}\"\n"));
            match i {
                4 => text.push_str("deployd = \"x:1\"\n"),
                5 => text.push_str("[service.images]\nnightly = \"oci:testdata/images:plain-a\"\n"),
                _ => text.push_str("deployed = \"oci:testdata/images:plain-a\" # prod\n"),
            }
            text.push('\n');
        }
        assert_eq!(pieces(&text, 2).len(), 5);
        let view = |f: &FleetFile| {
            let d: Vec<String> = f
                .diagnostics
                .iter()
                .map(|d| format!("{}:{} {} {:?}", d.line, d.column, d.message, d.notes))
                .collect();
            let s: Vec<(String, usize)> = f
                .fleet
                .iter()
                .flat_map(|f| &f.services)
                .map(|s| (s.name.clone(), s.images.len()))
                .collect();
            (d, s)
        };
        let whole = parse_pieces("f", &text, Path::new("."), &|_| true, usize::MAX);
        let cut = parse_pieces("f", &text, Path::new("."), &|_| true, 2);
        assert_eq!(view(&whole), view(&cut));
        assert_eq!(whole.diagnostics.len(), 2, "{}", whole.render_diagnostics());
        let valid = text.replace("deployd", "deployed");
        let valid = valid.replacen("name = \"s1\"", "name = \"one\"", 1);
        let odd = |n: &str| n.ends_with(['1', '3', '5', '7', '9']);
        let whole = parse_pieces("f", &valid, Path::new("."), &odd, usize::MAX);
        let cut = parse_pieces("f", &valid, Path::new("."), &odd, 2);
        assert_eq!(view(&whole), view(&cut));
        let fleet = cut.fleet.expect("valid");
        assert_eq!(fleet.in_file, 9);
        assert_eq!(
            fleet
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["s3", "s5", "s1"]
        );
        assert!(fleet.services.iter().all(|s| s.fail_on == FailOn::Warning));
        // A late `[defaults]`, or a multi-line string, keeps the file whole.
        assert_eq!(
            pieces(&format!("{valid}[defaults]\nsbom = true\n"), 2).len(),
            1
        );
        assert_eq!(
            pieces(&format!("x = \"\"\"\n[[service]]\n\"\"\"\n{valid}"), 2).len(),
            1
        );
    }
}
