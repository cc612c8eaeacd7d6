//! What is installed inside the layers, from the SBOMs a CNB image already carries: the run
//! image's OS packages (the layer named by `io.buildpacks.base.sbom`, or the legacy
//! `io.paketo.stack.packages` label), what each buildpack installed and the application's
//! libraries (the launch SBOM layer named by `lifecycle.metadata.sbom.sha`). Pure: the layer
//! contents arrive as tar streams ([`sbom::scan_layer`]), the fetching is `pipeline`'s.
//!
//! One model for every format ([`Package`]), grouped by where it lives ([`Location`]), and one
//! diff of two images ([`diff::diff`]) that every renderer, the verdict and the rules read.
//! Nothing here fails a diff: an SBOM bpdrift cannot read becomes a [`note`](ImagePackages::notes).

pub mod diff;
pub mod dpkg;
pub mod sbom;
#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metadata::ImageMetadata;

/// Label names read here.
pub mod label {
    /// Run image (Platform API ≥ 0.12 and Paketo stacks): diffID of the layer holding its SBOM.
    pub const BASE_SBOM: &str = "io.buildpacks.base.sbom";
    /// Older Paketo run images: the OS packages as a JSON array.
    pub const PAKETO_PACKAGES: &str = "io.paketo.stack.packages";
}

/// One installed package, whatever document it was read from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    /// Package name (`libssl3`, `spring-core`, `bellsoft-jre`).
    pub name: String,
    /// Version exactly as recorded.
    pub version: String,
    /// Package type: the purl type (`deb`, `maven`, `npm`, `generic`) or the SBOM's own word.
    #[serde(rename = "type")]
    pub kind: String,
    /// Architecture, when recorded (`amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Package URL, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// Where a group of packages lives in the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "location", content = "buildpack", rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum Location {
    /// The run image's OS packages.
    RunImage,
    /// What one buildpack installed in its layers (by buildpack id).
    Buildpack(String),
    /// The application's libraries (what buildpacks record for the app, not in a layer of
    /// their own: `launch/<buildpack>/sbom.*.json`).
    App,
}

impl Location {
    /// How the report names it: `run image`, `paketo-buildpacks/bellsoft-liberica`, `app`.
    pub fn describe(&self) -> String {
        match self {
            Self::RunImage => "run image".into(),
            Self::Buildpack(id) => id.clone(),
            Self::App => "app".into(),
        }
    }

    /// The noun for its packages: OS packages, packages, libraries.
    pub fn noun(&self, n: usize) -> &'static str {
        match (self, n) {
            (Self::RunImage, 1) => "OS package",
            (Self::RunImage, _) => "OS packages",
            (Self::App, 1) => "library",
            (Self::App, _) => "libraries",
            (_, 1) => "package",
            _ => "packages",
        }
    }
}

/// The packages of one location, with the document they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    /// Where they live (`location`, and `buildpack` for a buildpack's).
    #[serde(flatten)]
    pub location: Location,
    /// What they were read from: `cnb/sbom/bom.cdx.json (CycloneDX 1.6)`, `label
    /// io.paketo.stack.packages`.
    pub sources: Vec<String>,
    /// The packages, sorted.
    pub packages: Vec<Package>,
    /// Packages left out at the entry limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Everything bpdrift found about one image's packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImagePackages {
    /// By location: run image first, buildpacks in order, the app last.
    pub groups: Vec<Group>,
    /// What could not be read, in words ("no SBOM layer recorded", "SBOM format … not
    /// understood").
    pub notes: Vec<String>,
}

/// `Location::Buildpack` for the SBOM directory name of a buildpack (`paketo-buildpacks_jre`):
/// the id it escapes, looked up in the image's buildpacks (an id may itself hold `_`).
fn buildpack_of(dir: &str, metadata: &ImageMetadata) -> String {
    metadata
        .buildpacks
        .iter()
        .chain(&metadata.extensions)
        .find(|b| b.id.replace('/', "_") == dir)
        .map_or_else(|| dir.replace('_', "/"), |b| b.id.clone())
}

impl ImagePackages {
    /// Assembles the packages of one image: the run image's from its SBOM layer (`run`), else
    /// from the legacy label; the buildpacks' and the app's from the launch SBOM layer
    /// (`launch`). `None` for a layer means it was not recorded; `notes` are what the fetch
    /// already had to say.
    pub fn assemble(
        metadata: &ImageMetadata,
        run: Option<&sbom::LayerSboms>,
        launch: Option<&sbom::LayerSboms>,
        mut notes: Vec<String>,
    ) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut add =
            |location: Location, source: String, pkgs: &[Package], truncated: usize| match groups
                .iter_mut()
                .find(|g| g.location == location)
            {
                Some(g) => {
                    g.sources.push(source);
                    g.packages.extend_from_slice(pkgs);
                    g.truncated += truncated;
                }
                None => groups.push(Group {
                    location,
                    sources: vec![source],
                    packages: pkgs.to_vec(),
                    truncated,
                }),
            };
        let mut run_found = false;
        if let Some(layer) = run {
            notes.extend(layer.notes.iter().cloned());
            for doc in layer.preferred() {
                run_found = true;
                add(
                    Location::RunImage,
                    doc.describe(),
                    &doc.packages,
                    doc.truncated,
                );
            }
        }
        if !run_found {
            let (group, note) = label_group(metadata);
            notes.extend(note);
            if let Some(g) = group {
                add(g.location, g.sources[0].clone(), &g.packages, g.truncated);
            } else if metadata.labels.contains_key(label::BASE_SBOM) && run.is_some() {
                notes.push("the run image's SBOM layer holds no SBOM bpdrift reads".into());
            }
        }
        if let Some(layer) = launch {
            notes.extend(layer.notes.iter().cloned());
            for doc in layer.preferred() {
                // `launch/<buildpack>/<layer>/sbom.*.json` is a buildpack layer's;
                // `launch/<buildpack>/sbom.*.json` is what the buildpack recorded of the app.
                let location = match (&doc.buildpack, &doc.layer) {
                    (Some(bp), Some(_)) => Location::Buildpack(buildpack_of(bp, metadata)),
                    (Some(_), None) => Location::App,
                    (None, _) => continue,
                };
                add(location, doc.describe(), &doc.packages, doc.truncated);
            }
        }
        for g in &mut groups {
            g.packages.sort();
            g.packages.dedup();
        }
        let order = |l: &Location| match l {
            Location::RunImage => (0, usize::MAX),
            Location::Buildpack(id) => (
                1,
                metadata
                    .buildpacks
                    .iter()
                    .position(|b| &b.id == id)
                    .unwrap_or(usize::MAX),
            ),
            Location::App => (2, 0),
        };
        groups.sort_by(|a, b| {
            order(&a.location)
                .cmp(&order(&b.location))
                .then_with(|| a.location.cmp(&b.location))
        });
        notes.sort();
        notes.dedup();
        Self { groups, notes }
    }

    /// Only what the labels say (no layer read): the legacy packages label.
    pub fn labels_only(metadata: &ImageMetadata) -> Self {
        Self::assemble(metadata, None, None, Vec::new())
    }

    /// What the fleet history keeps: name, version and type of at most `max` packages (locations
    /// in order, each sorted), the rest counted in `truncated`; no arch or purl (the history
    /// compares versions, and keeps every digest's list).
    pub fn for_history(&self, max: usize) -> Self {
        let mut left = max;
        let groups = self
            .groups
            .iter()
            .map(|g| {
                let keep = g.packages.len().min(left);
                left -= keep;
                let mut packages: Vec<Package> = g.packages[..keep]
                    .iter()
                    .map(|p| Package {
                        arch: None,
                        purl: None,
                        ..p.clone()
                    })
                    .collect();
                // Still sorted (arch and purl sort last): one entry per name, version, type.
                packages.dedup();
                Group {
                    location: g.location.clone(),
                    sources: g.sources.clone(),
                    packages,
                    truncated: g.truncated + (g.packages.len() - keep),
                }
            })
            .collect();
        Self {
            groups,
            notes: self.notes.iter().take(20).cloned().collect(),
        }
    }

    /// `run image: 120 OS packages, app: 12 libraries`: what a history row holds.
    pub fn counts(&self) -> String {
        self.groups
            .iter()
            .map(|g| {
                let n = g.packages.len() + g.truncated;
                format!("{}: {n} {}", g.location.describe(), g.location.noun(n))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether nothing at all was found or said.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.notes.is_empty()
    }
}

/// The runtimes recorded in the SBOMs of buildpack layers (`launch/<bp>/<layer>/sbom.*.json`):
/// packit writes its dependency there (`Node Engine`, `pkg:generic/node@v20.11.1`), go-build
/// syft's scan of the built binary (`stdlib`, `go1.22.5`). One per runtime name, the first
/// buildpack in the image's order winning.
pub fn runtimes(
    metadata: &ImageMetadata,
    launch: &sbom::LayerSboms,
) -> Vec<crate::metadata::Runtime> {
    let mut out: Vec<crate::metadata::Runtime> = Vec::new();
    let mut docs = launch.preferred();
    let order = |d: &&sbom::Doc| {
        let id = d.buildpack.as_deref().map(|b| buildpack_of(b, metadata));
        metadata
            .buildpacks
            .iter()
            .position(|b| Some(&b.id) == id.as_ref())
            .unwrap_or(usize::MAX)
    };
    docs.sort_by_key(order);
    for doc in docs {
        let (Some(bp), Some(layer)) = (&doc.buildpack, &doc.layer) else {
            continue;
        };
        let id = buildpack_of(bp, metadata);
        let at = format!("{id} layer {layer}");
        let mut found: Vec<crate::metadata::Runtime> = doc
            .packages
            .iter()
            .filter_map(|p| {
                crate::metadata::runtimes::from_sbom_package(
                    &p.name,
                    &p.version,
                    p.purl.as_deref(),
                    &at,
                )
            })
            .collect();
        // A Go binary: the toolchain from `stdlib`, else from the modules' goCompiledVersion;
        // the main module's DefaultGODEBUG says which newer defaults its go line keeps off.
        if let Some(first) = doc.go.first() {
            if !found.iter().any(|r| r.name == "go")
                && let Some(r) = crate::metadata::runtimes::from_go_compiled(&first.compiled, &at)
            {
                found.push(r);
            }
            if let Some(go) = found.iter_mut().find(|r| r.name == "go") {
                go.default_godebug = doc.go.iter().find_map(|b| b.default_godebug.clone());
            }
        }
        for r in found {
            if !out.iter().any(|x| x.name == r.name) {
                out.push(r);
            }
        }
    }
    out
}

/// One entry of `io.paketo.stack.packages` (paketo-buildpacks/jam's `stack.packages`): only the
/// fields compared are read.
#[derive(Debug, Deserialize)]
struct LabelPackage {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    arch: Option<String>,
}

/// The legacy label's group, and a note when it is present but unreadable.
fn label_group(metadata: &ImageMetadata) -> (Option<Group>, Option<String>) {
    let Some(text) = metadata.labels.get(label::PAKETO_PACKAGES) else {
        return (None, None);
    };
    let source = format!("label {}", label::PAKETO_PACKAGES);
    let entries: Vec<serde_json::Value> = match sbom::bounded_array(text.as_bytes()) {
        Ok((v, _)) => v,
        Err(e) => {
            return (
                None,
                Some(format!(
                    "label {} is not a JSON array of packages: {}",
                    label::PAKETO_PACKAGES,
                    crate::limits::shorten_quoted(&e.to_string())
                )),
            );
        }
    };
    let total = entries.len();
    let mut packages: Vec<Package> = entries
        .into_iter()
        .take(crate::limits::SBOM_PACKAGES_MAX)
        .filter_map(|v| serde_json::from_value::<LabelPackage>(v).ok())
        .map(|p| Package {
            purl: None,
            kind: "deb".into(),
            arch: p.arch.filter(|a| !a.is_empty()),
            name: p.name,
            version: p.version,
        })
        .collect();
    packages.sort();
    (
        Some(Group {
            location: Location::RunImage,
            sources: vec![source],
            packages,
            truncated: total.saturating_sub(crate::limits::SBOM_PACKAGES_MAX),
        }),
        None,
    )
}
