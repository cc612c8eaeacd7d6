//! What each kind of item contributes to a diff: buildpacks and extensions (with their order and
//! release notes), runtime dependencies, the run image, processes, env (secret-looking values
//! redacted), labels and the container config. Called by [`super::diff`]; pure.

use super::*;
use crate::metadata::{ImageMetadata, Module, label};
use crate::version::{VersionClass, classify};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn modules(
    out: &mut Vec<Change>,
    category: Category,
    before: &[Module],
    after: &[Module],
) {
    // A builder may hold several versions of one id: compare the sets per id.
    fn group(ms: &[Module]) -> BTreeMap<&str, Vec<&Module>> {
        let mut m: BTreeMap<&str, Vec<&Module>> = BTreeMap::new();
        for x in ms {
            m.entry(x.id.as_str()).or_default().push(x);
        }
        m
    }
    fn versions<'a>(g: &BTreeMap<&str, Vec<&'a Module>>, id: &str) -> Option<Vec<&'a str>> {
        g.get(id).map(|ms| {
            let mut v: Vec<&str> = ms.iter().map(|m| m.version.as_str()).collect();
            v.sort();
            v.dedup();
            v
        })
    }
    let (gb, ga) = (group(before), group(after));
    // Order: the second image's order, then what was removed, at its old position.
    let mut ids: Vec<&str> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for m in after.iter().chain(before) {
        if seen.insert(m.id.as_str()) {
            ids.push(&m.id);
        }
    }
    for id in ids {
        let (vb, va) = (versions(&gb, id), versions(&ga, id));
        let show = |v: &Option<Vec<&str>>| v.as_ref().map(|v| v.join(", "));
        let mut c = Change::new(category, id, show(&vb), show(&va));
        if let (Some(vb), Some(va)) = (&vb, &va)
            && vb != va
        {
            let max = |v: &Vec<&str>| {
                v.iter()
                    .copied()
                    .max_by(
                        |x, y| match (crate::version::parse(x), crate::version::parse(y)) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            _ => x.cmp(y),
                        },
                    )
                    .unwrap_or_default()
                    .to_string()
            };
            c.class = classify(&max(vb), &max(va));
            c.prerelease = crate::version::is_prerelease_bump(&max(vb), &max(va));
            if c.class.is_none() && vb.len() == 1 && va.len() == 1 {
                c.set_status(Status::Unchanged);
            } else if c.class.is_none() {
                c.class = Some(VersionClass::NotComparable);
            }
        }
        let newest = ga.get(id).or(gb.get(id)).and_then(|ms| ms.last());
        if let Some(m) = newest {
            c.homepage = m.homepage.clone();
            if c.status == Status::Changed || c.status == Status::Added {
                c.release_notes = release_notes(m);
            }
        }
        out.push(c);
    }
}

/// `<homepage>/releases/tag/v<version>` for buildpacks whose homepage is a GitHub repository
/// (Paketo tags releases as `v<version>`).
pub(super) fn release_notes(m: &Module) -> Option<String> {
    let home = m.homepage.as_deref()?.trim_end_matches('/');
    let path = home.strip_prefix("https://github.com/")?;
    if path.split('/').filter(|s| !s.is_empty()).count() != 2 || m.version.is_empty() {
        return None;
    }
    let v = m.version.strip_prefix('v').unwrap_or(&m.version);
    // The version is the image author's text: one path segment, percent-encoded.
    Some(format!(
        "{home}/releases/tag/v{}",
        crate::sanitize::url_segment(v)
    ))
}

/// Whether a label that feeds `category` could not be read in either image.
pub(super) fn fed_by_unreadable(category: Category, b: &ImageMetadata, a: &ImageMetadata) -> bool {
    let labels: &[&str] = match category {
        // The lifecycle label lists buildpacks too, but is read for them only without build
        // metadata (lifecycle ≤ 0.3).
        Category::Buildpack | Category::Extension
            if [b, a].iter().any(|m| {
                m.unreadable(label::LIFECYCLE) && !m.labels.contains_key(label::BUILD)
            }) =>
        {
            return true;
        }
        Category::Buildpack | Category::Extension => &[
            label::BUILD,
            label::BUILDER,
            label::BUILDPACK_LAYERS,
            label::EXTENSION_LAYERS,
            label::BUILDPACKAGE,
        ],
        Category::BuildpackOrder => &[label::BUILD, label::BUILDPACK_ORDER],
        Category::Dependency => &[label::BUILD, label::LIFECYCLE],
        Category::Lifecycle | Category::PlatformApi | Category::BuildpackApi => {
            &[label::BUILD, label::BUILDER, label::LIFECYCLE_APIS]
        }
        Category::RunImage => &[label::LIFECYCLE, label::BUILDER],
        Category::Process => &[label::BUILD],
        _ => &[],
    };
    labels.iter().any(|l| b.unreadable(l) || a.unreadable(l))
}

/// A builder's order groups, compared as data (not as label text): one item per group.
pub(super) fn builder_order(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // The same groups in another order: one item saying so, not one per position.
    let (mut sb, mut sa) = (b.order.clone(), a.order.clone());
    sb.sort();
    sa.sort();
    if b.order != a.order && sb == sa {
        let firsts = |m: &ImageMetadata| {
            let f: Vec<&str> = m
                .order
                .iter()
                .map(|g| g.first().map_or("", String::as_str))
                .collect();
            Some(f.join(" | "))
        };
        let mut c = Change::new(
            Category::BuildpackOrder,
            "order groups",
            firsts(b),
            firsts(a),
        );
        c.detail = Some("reordered".into());
        out.push(c);
        return;
    }
    let n = b.order.len().max(a.order.len());
    for i in 0..n {
        let group = |m: &ImageMetadata| m.order.get(i).map(|g| g.join(", "));
        out.push(Change::new(
            Category::BuildpackOrder,
            format!("order group {}", i + 1),
            group(b),
            group(a),
        ));
    }
}

pub(super) fn order(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // Builders list an inventory, not an execution order.
    if b.kind() != crate::metadata::ImageKind::App || a.kind() != crate::metadata::ImageKind::App {
        return;
    }
    let ids_b: BTreeSet<&str> = b.buildpacks.iter().map(|m| m.id.as_str()).collect();
    let ids_a: BTreeSet<&str> = a.buildpacks.iter().map(|m| m.id.as_str()).collect();
    let common: Vec<&str> = b
        .buildpacks
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| ids_a.contains(id))
        .collect();
    let common_after: Vec<&str> = a
        .buildpacks
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| ids_b.contains(id))
        .collect();
    if common.len() < 2 {
        return;
    }
    let mut c = Change::new(
        Category::BuildpackOrder,
        "execution order",
        Some(common.join(", ")),
        Some(common_after.join(", ")),
    );
    if !c.is_change() {
        // The same order is not an item worth a row (it rendered as `- | - | unchanged`).
        return;
    }
    {
        // The buildpacks outside the longest common subsequence are the ones that moved.
        // LCS is quadratic in time and memory: beyond a few thousand entries (a hostile label),
        // Myers with a deadline gives a minimal script or, past the deadline, a valid one.
        let ops = if common.len() <= 2_000 {
            similar::capture_diff_slices(similar::Algorithm::Lcs, &common, &common_after)
        } else {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            similar::capture_diff_slices_deadline(
                similar::Algorithm::Myers,
                &common,
                &common_after,
                Some(deadline),
            )
        };
        let moved: Vec<&str> = ops
            .iter()
            .filter_map(|op| match *op {
                similar::DiffOp::Insert {
                    new_index, new_len, ..
                } => Some(&common_after[new_index..new_index + new_len]),
                _ => None,
            })
            .flatten()
            .copied()
            .collect();
        c.detail = Some(format!("moved: {}", moved.join(", ")));
    }
    out.push(c);
}

/// One item per runtime name: `go 1.22.5 → 1.23.0`, whichever family recorded it on either side
/// (a Heroku build before and a Paketo one after compare as one `node`). The detail says where
/// the new version (else the old) was read.
pub(super) fn runtimes(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let names: BTreeSet<&String> = b
        .runtimes
        .iter()
        .chain(&a.runtimes)
        .map(|r| &r.name)
        .collect();
    for name in names {
        let (rb, ra) = (b.runtime(name), a.runtime(name));
        let r = ra.or(rb).expect("name from one of the images");
        let mut c = Change::versioned(
            Category::Runtime,
            r.describe_name(),
            rb.map(|r| r.version.clone()),
            ra.map(|r| r.version.clone()),
        );
        c.detail = Some(r.source.clone());
        out.push(c);
    }
}

pub(super) fn dependencies(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    fn index(m: &ImageMetadata) -> BTreeMap<String, &crate::metadata::Dependency> {
        m.dependencies.iter().map(|d| (d.key(), d)).collect()
    }
    let (ib, ia) = (index(b), index(a));
    let keys: BTreeSet<&String> = ib.keys().chain(ia.keys()).collect();
    for key in keys {
        let (db, da) = (ib.get(key), ia.get(key));
        let d = da.or(db).copied().expect("key from one of the maps");
        let subject = format!("{} ({})", d.layer, d.buildpack);
        let mut c = Change::versioned(
            Category::Dependency,
            subject,
            db.map(|d| d.version.clone()),
            da.map(|d| d.version.clone()),
        );
        c.detail = d.name.clone();
        out.push(c);
    }
}

pub(super) fn run_image(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let (rb, ra) = (b.run_image.clone(), a.run_image.clone());
    let field =
        |r: &Option<crate::metadata::RunImage>,
         f: fn(&crate::metadata::RunImage) -> Option<String>| { r.as_ref().and_then(f) };
    out.push(Change::new(
        Category::RunImage,
        "run image",
        field(&rb, |r| r.image.clone()),
        field(&ra, |r| r.image.clone()),
    ));
    out.push(Change::new(
        Category::RunImage,
        "run image reference",
        field(&rb, |r| r.reference.clone()),
        field(&ra, |r| r.reference.clone()),
    ));
    out.push(Change::new(
        Category::RunImage,
        "run image top layer",
        field(&rb, |r| r.top_layer.clone()),
        field(&ra, |r| r.top_layer.clone()),
    ));
    let mirrors = |r: &Option<crate::metadata::RunImage>| {
        r.as_ref()
            .map(|r| r.mirrors.join(", "))
            .filter(|m| !m.is_empty())
    };
    out.push(Change::new(
        Category::RunImage,
        "run image mirrors",
        mirrors(&rb),
        mirrors(&ra),
    ));
}

pub(super) fn processes(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let index = |m: &ImageMetadata| {
        m.processes
            .iter()
            .map(|p| {
                let mut line = p.command_line();
                if p.default {
                    line.push_str(" [default]");
                }
                (p.kind.clone(), line)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let (ib, ia) = (index(b), index(a));
    let keys: BTreeSet<&String> = ib.keys().chain(ia.keys()).collect();
    for k in keys {
        out.push(Change::new(
            Category::Process,
            k.clone(),
            ib.get(k).cloned(),
            ia.get(k).cloned(),
        ));
    }
}

/// Env names whose values are shown as `<redacted>`: images do carry credentials in env.
pub(super) fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "AUTH",
    ]
    .iter()
    .any(|s| n.contains(s))
}

pub(super) fn env(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let keys: BTreeSet<&String> = b.env.keys().chain(a.env.keys()).collect();
    for k in keys {
        // Reported as the platform API item.
        if k == "CNB_PLATFORM_API" {
            continue;
        }
        let (vb, va) = (b.env.get(k).cloned(), a.env.get(k).cloned());
        let mut c = Change::new(Category::Env, k.clone(), vb, va);
        if looks_secret(k) {
            let redact = |v: &mut Option<String>| {
                if v.is_some() {
                    *v = Some("<redacted>".into());
                }
            };
            redact(&mut c.before);
            redact(&mut c.after);
        } else {
            // Whatever the name: URL user-info, `password=` parameters, DSNs, `-D…secret=`.
            for v in [&mut c.before, &mut c.after].into_iter().flatten() {
                if let std::borrow::Cow::Owned(r) = crate::redact::redact_value(v) {
                    *v = r;
                }
            }
        }
        out.push(c);
    }
}

/// Long label values (package lists, configuration metadata) are shown by size and hash.
pub(super) fn label_value(v: &str) -> String {
    const MAX: usize = 200;
    if v.len() <= MAX {
        return v.to_string();
    }
    let hash = Sha256::digest(v.as_bytes());
    let hex = crate::digest::hex(&hash[..6]);
    format!("<{} bytes, sha256:{hex}…>", v.len())
}

pub(super) fn labels(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    // Read into their own items (a lifecycle image's version is the lifecycle item, once).
    const INTERPRETED: &[&str] = &[
        label::BUILD,
        label::LIFECYCLE,
        label::BUILDER,
        label::STACK_ID,
        label::BASE_ID,
        label::BUILDPACK_LAYERS,
        label::BUILDPACK_ORDER,
        label::EXTENSION_LAYERS,
        label::LIFECYCLE_VERSION,
        label::LIFECYCLE_APIS,
        label::BUILDPACKAGE,
        // The distro labels are the `distro` runtime item.
        "io.buildpacks.base.distro.name",
        "io.buildpacks.base.distro.version",
        "io.buildpacks.stack.distro.name",
        "io.buildpacks.stack.distro.version",
    ];
    let keys: BTreeSet<&String> = b.labels.keys().chain(a.labels.keys()).collect();
    for k in keys {
        if INTERPRETED.contains(&k.as_str()) {
            continue;
        }
        let (vb, va) = (b.labels.get(k), a.labels.get(k));
        let mut c = Change::new(Category::Label, k.clone(), vb.cloned(), va.cloned());
        c.before = vb.map(|v| label_value(v));
        c.after = va.map(|v| label_value(v));
        out.push(c);
    }
}

pub(super) fn config(out: &mut Vec<Change>, b: &ImageMetadata, a: &ImageMetadata) {
    let words = |v: &Vec<String>| (!v.is_empty()).then(|| format!("{v:?}"));
    let ports = |v: &Vec<String>| (!v.is_empty()).then(|| v.join(", "));
    let items = [
        ("platform", Some(b.platform()), Some(a.platform())),
        ("user", b.user.clone(), a.user.clone()),
        ("entrypoint", words(&b.entrypoint), words(&a.entrypoint)),
        ("cmd", words(&b.cmd), words(&a.cmd)),
        ("working dir", b.working_dir.clone(), a.working_dir.clone()),
        ("exposed ports", ports(&b.ports), ports(&a.ports)),
        // A buildpackage's identity (`io.buildpacks.buildpackage.metadata`), as `id version`.
        (
            "buildpackage",
            b.buildpackage.clone(),
            a.buildpackage.clone(),
        ),
    ];
    for (subject, vb, va) in items {
        out.push(Change::new(Category::Config, subject, vb, va));
    }
}
