//! Reading SBOM documents: CycloneDX JSON (1.2–1.6), SPDX JSON (2.2, 2.3) and syft JSON, into
//! [`Package`]s, and finding them in a layer's tar stream. Pure (the tar arrives as a reader).
//!
//! Serde models of only the fields compared, not the `cyclonedx-bom` or `spdx-rs` crates: those
//! model every field strictly (`spdx-rs` denies unknown fields; `cyclonedx-bom` 0.8 knows 1.3–1.5
//! only and rejects values outside its enums), so one odd field in a 20 MB document would cost
//! the whole document, and they pull in about 60 crates (xml-rs, regex, chrono, nom, uuid).
//! Here a field of an unexpected type is skipped, arrays stop collecting at
//! [`SBOM_PACKAGES_MAX`](crate::limits::SBOM_PACKAGES_MAX) entries (the rest is skipped, not
//! stored), and a document is read only up to [`SBOM_DOC_MAX`](crate::limits::SBOM_DOC_MAX).

use std::fmt;
use std::io::{self, Read};
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::Package;
use crate::limits::{
    SBOM_DOC_MAX, SBOM_DOCS_MAX, SBOM_LAYER_MAX, SBOM_LAYER_PACKAGES_MAX, SBOM_PACKAGES_MAX,
};

/// An array that keeps at most [`SBOM_PACKAGES_MAX`] entries and counts the rest, which are
/// skipped without being stored.
#[derive(Debug)]
pub struct Bounded<T> {
    /// The entries kept.
    pub items: Vec<T>,
    /// Entries skipped at the limit.
    pub dropped: usize,
}

impl<T> Default for Bounded<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            dropped: 0,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Bounded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Bounded<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Bounded::default();
                while out.items.len() < SBOM_PACKAGES_MAX {
                    match seq.next_element()? {
                        Some(x) => out.items.push(x),
                        None => return Ok(out),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    out.dropped += 1;
                }
                Ok(out)
            }
            // `null` where an array belongs (packit's SPDX writes `"checksums": null`).
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Bounded::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A JSON array of at most [`SBOM_PACKAGES_MAX`] values (the legacy packages label), and how
/// many were skipped.
pub fn bounded_array(json: &[u8]) -> Result<(Vec<serde_json::Value>, usize), serde_json::Error> {
    let b: Bounded<serde_json::Value> = serde_json::from_slice(json)?;
    Ok((b.items, b.dropped))
}

/// A string where a string is expected; any other JSON value is skipped as `None` (a number
/// for a version, an object for a name): one odd field costs that field only.
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// CycloneDX `components[]`.
#[derive(Debug, Deserialize)]
struct CdxComponent {
    #[serde(default, rename = "type", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    purl: Option<String>,
    #[serde(default)]
    properties: Bounded<CdxProperty>,
}

#[derive(Debug, Deserialize)]
struct CdxProperty {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    value: Option<String>,
}

/// SPDX `packages[]`.
#[derive(Debug, Deserialize)]
struct SpdxPackage {
    #[serde(default, rename = "SPDXID", deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, rename = "versionInfo", deserialize_with = "lenient")]
    version: Option<String>,
    #[serde(
        default,
        rename = "primaryPackagePurpose",
        deserialize_with = "lenient"
    )]
    purpose: Option<String>,
    #[serde(default, rename = "externalRefs")]
    refs: Bounded<SpdxRef>,
}

#[derive(Debug, Deserialize)]
struct SpdxRef {
    #[serde(default, rename = "referenceType", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, rename = "referenceLocator", deserialize_with = "lenient")]
    locator: Option<String>,
}

/// syft JSON `artifacts[]`.
#[derive(Debug, Deserialize)]
struct SyftArtifact {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    version: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    purl: Option<String>,
    #[serde(default)]
    metadata: Option<SyftMetadata>,
}

#[derive(Debug, Default)]
struct SyftMetadata {
    architecture: Option<String>,
    /// A Go module's `goCompiledVersion` (`go1.22.5`): the toolchain that built the binary.
    go_compiled: Option<String>,
    /// A Go main module's `mainModule`.
    main_module: Option<String>,
    /// A Go main module's `goBuildSettings` (an object before syft 0.104, a `[{key, value}]`
    /// array after): `Some` when recorded, holding `DefaultGODEBUG` when the binary has one.
    build_settings: Option<Option<String>>,
}

/// `goBuildSettings` in either shape: only whether it is there and its `DefaultGODEBUG`.
struct BuildSettings(Option<String>);

impl<'de> Deserialize<'de> for BuildSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BuildSettings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("build settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                #[derive(Deserialize)]
                struct L(#[serde(deserialize_with = "lenient")] Option<String>);
                let mut out = None;
                while let Some(k) = map.next_key::<String>()? {
                    if k == "DefaultGODEBUG" {
                        out = map.next_value::<L>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(BuildSettings(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                #[derive(Deserialize)]
                struct Kv {
                    #[serde(default, deserialize_with = "lenient")]
                    key: Option<String>,
                    #[serde(default, deserialize_with = "lenient")]
                    value: Option<String>,
                }
                let mut out = None;
                // Build settings are a few dozen entries; the bound keeps a hostile array cheap.
                let mut n = 0;
                while let Some(kv) = seq.next_element::<Option<Kv>>()? {
                    n += 1;
                    if let Some(kv) = kv
                        && kv.key.as_deref() == Some("DefaultGODEBUG")
                        && n <= 10_000
                    {
                        out = kv.value;
                    }
                }
                Ok(BuildSettings(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(BuildSettings(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SyftMetadata {
    // `metadata` is an object of the package type's own shape; only `architecture` is read,
    // and a metadata that is not an object is skipped.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SyftMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                #[derive(Deserialize)]
                struct L(#[serde(deserialize_with = "lenient")] Option<String>);
                let mut out = SyftMetadata::default();
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "architecture" => out.architecture = map.next_value::<L>()?.0,
                        "goCompiledVersion" => out.go_compiled = map.next_value::<L>()?.0,
                        "mainModule" => out.main_module = map.next_value::<L>()?.0,
                        "goBuildSettings" => {
                            out.build_settings = Some(map.next_value::<BuildSettings>()?.0)
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SyftMetadata::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(SyftMetadata::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(SyftMetadata::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
struct SyftSchema {
    #[serde(default, deserialize_with = "lenient")]
    version: Option<String>,
}

/// The top level of any of the three formats, read in one pass: the fields that say which
/// format it is, and the package arrays of each.
#[derive(Debug, Deserialize)]
struct Probe {
    #[serde(default, rename = "bomFormat", deserialize_with = "lenient")]
    bom_format: Option<String>,
    #[serde(default, rename = "specVersion", deserialize_with = "lenient")]
    spec_version: Option<String>,
    #[serde(default, rename = "spdxVersion", deserialize_with = "lenient")]
    spdx_version: Option<String>,
    #[serde(default)]
    schema: Option<SyftSchema>,
    #[serde(default)]
    components: Option<Bounded<CdxComponent>>,
    #[serde(default)]
    packages: Option<Bounded<SpdxPackage>>,
    #[serde(default)]
    artifacts: Option<Bounded<SyftArtifact>>,
}

/// What one document held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// `CycloneDX 1.6`, `SPDX 2.3`, `syft JSON 16.0.24`.
    pub format: String,
    /// Its packages (in document order).
    pub packages: Vec<Package>,
    /// Entries left out at the limit.
    pub truncated: usize,
    /// Go binaries syft described (their modules' build info), main modules first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub go: Vec<GoBuild>,
}

/// What syft recorded of a Go binary's build info: the toolchain, and the `DefaultGODEBUG`
/// build setting that says which newer defaults its go.mod go line keeps off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoBuild {
    /// `go1.22.5`.
    pub compiled: String,
    /// `None`: no build settings recorded (CycloneDX, SPDX, dependencies, syft before 0.6x);
    /// `Some("")`: recorded, without `DefaultGODEBUG` (the go line is the toolchain's own);
    /// `Some("asynctimerchan=1,…")`: the defaults the go line keeps.
    pub default_godebug: Option<String>,
}

/// Why a document was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("not a JSON SBOM: {0}")]
    Json(String),
    /// A format or version bpdrift does not read.
    #[error("SBOM format {0} not understood")]
    Unknown(String),
}

/// The type of a purl (`pkg:deb/ubuntu/libssl3@…` → `deb`).
pub fn purl_type(purl: &str) -> Option<&str> {
    let rest = purl.strip_prefix("pkg:")?;
    let t = rest.split('/').next()?;
    (!t.is_empty() && !t.contains(['@', '?'])).then_some(t)
}

/// The `arch` qualifier of a purl.
pub fn purl_arch(purl: &str) -> Option<&str> {
    let (_, q) = purl.split_once('?')?;
    q.split('#')
        .next()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("arch="))
        .filter(|a| !a.is_empty())
}

fn package(
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    kind: Option<String>,
    arch: Option<String>,
) -> Option<Package> {
    let name = name.filter(|n| !n.is_empty())?;
    let purl = purl.filter(|p| !p.is_empty());
    let kind = purl
        .as_deref()
        .and_then(purl_type)
        .map(str::to_string)
        .or(kind.filter(|k| !k.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let arch = arch
        .filter(|a| !a.is_empty())
        .or_else(|| purl.as_deref().and_then(purl_arch).map(str::to_string));
    // Every value is shown somewhere: a 1 MB package name is cut, not carried into each format.
    let cut = |s: String| crate::limits::shorten(&s).into_owned();
    Some(Package {
        name: cut(name),
        version: cut(version.unwrap_or_default()),
        kind: cut(kind),
        arch: arch.map(cut),
        purl: purl.map(cut),
    })
}

/// Reads one SBOM document.
pub fn parse(json: &[u8]) -> Result<Parsed, SbomError> {
    let probe: Probe = serde_json::from_slice(json)
        .map_err(|e| SbomError::Json(crate::limits::shorten_quoted(&e.to_string())))?;
    if probe.bom_format.as_deref() == Some("CycloneDX") {
        let v = probe.spec_version.unwrap_or_default();
        if !["1.2", "1.3", "1.4", "1.5", "1.6"].contains(&v.as_str()) {
            return Err(SbomError::Unknown(format!(
                "CycloneDX {}",
                crate::limits::shorten_to(&v, 20)
            )));
        }
        let comps = probe.components.unwrap_or_default();
        let mut go = Vec::new();
        for c in &comps.items {
            let compiled = c
                .properties
                .items
                .iter()
                .find(|p| p.name.as_deref() == Some("syft:metadata:goCompiledVersion"))
                .and_then(|p| p.value.clone());
            if let Some(compiled) = compiled {
                go.push(GoBuild {
                    compiled: crate::limits::shorten(&compiled).into_owned(),
                    default_godebug: None,
                });
            }
        }
        go.dedup();
        let packages = comps
            .items
            .into_iter()
            // The image or OS itself, files: not installed packages.
            .filter(|c| {
                !matches!(
                    c.kind.as_deref(),
                    Some("operating-system" | "container" | "file")
                )
            })
            .filter_map(|c| {
                let kind = c
                    .properties
                    .items
                    .iter()
                    .find(|p| p.name.as_deref() == Some("syft:package:type"))
                    .and_then(|p| p.value.clone());
                package(c.name, c.version, c.purl, kind, None)
            })
            .collect();
        return Ok(Parsed {
            format: format!("CycloneDX {v}"),
            packages,
            truncated: comps.dropped,
            go,
        });
    }
    if let Some(v) = probe.spdx_version {
        let n = v.strip_prefix("SPDX-").unwrap_or(&v).to_string();
        if n != "2.2" && n != "2.3" {
            return Err(SbomError::Unknown(format!(
                "SPDX {}",
                crate::limits::shorten_to(&n, 20)
            )));
        }
        let pkgs = probe.packages.unwrap_or_default();
        let packages = pkgs
            .items
            .into_iter()
            // The document's own subject (syft names it `SPDXRef-DocumentRoot-…`).
            .filter(|p| {
                !p.id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("SPDXRef-DocumentRoot"))
                    && !matches!(
                        p.purpose.as_deref(),
                        Some("CONTAINER" | "OPERATING-SYSTEM" | "FILE")
                    )
            })
            .filter_map(|p| {
                let purl = p
                    .refs
                    .items
                    .into_iter()
                    .find(|r| r.kind.as_deref() == Some("purl"))
                    .and_then(|r| r.locator);
                let version = p.version.filter(|v| v != "NOASSERTION");
                if purl.is_none() && version.is_none() {
                    return None;
                }
                package(p.name, version, purl, None, None)
            })
            .collect();
        return Ok(Parsed {
            format: format!("SPDX {n}"),
            packages,
            truncated: pkgs.dropped,
            go: Vec::new(),
        });
    }
    if let Some(arts) = probe.artifacts {
        let v = probe.schema.and_then(|s| s.version);
        let major = v
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        let format = match (&v, major) {
            (Some(v), Some(1..=16)) => format!("syft JSON {v}"),
            (Some(v), _) => {
                return Err(SbomError::Unknown(format!(
                    "syft JSON {}",
                    crate::limits::shorten_to(v, 20)
                )));
            }
            (None, _) => "syft JSON".to_string(),
        };
        let mut go: Vec<GoBuild> = Vec::new();
        let packages =
            arts.items
                .into_iter()
                .filter_map(|a| {
                    let m = a.metadata.unwrap_or_default();
                    if let Some(compiled) = &m.go_compiled {
                        let main = m.main_module.is_some() && m.main_module == a.name;
                        let b = GoBuild {
                            compiled: crate::limits::shorten(compiled).into_owned(),
                            default_godebug: m.build_settings.clone().map(|d| {
                                crate::limits::shorten(&d.unwrap_or_default()).into_owned()
                            }),
                        };
                        // A main module's build settings describe its binary: they go first.
                        if main && b.default_godebug.is_some() {
                            go.insert(0, b);
                        } else if !go.contains(&b) {
                            go.push(b);
                        }
                    }
                    package(a.name, a.version, a.purl, a.kind, m.architecture)
                })
                .collect();
        return Ok(Parsed {
            format,
            packages,
            truncated: arts.dropped,
            go,
        });
    }
    let what = match probe.bom_format {
        Some(f) => crate::limits::shorten_to(&f, 40).into_owned(),
        None => "without bomFormat, spdxVersion or artifacts".into(),
    };
    Err(SbomError::Unknown(what))
}

/// One SBOM document found in a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// Path in the layer, without a leading `/`.
    pub path: String,
    /// The SBOM directory's buildpack (`paketo-buildpacks_bellsoft-liberica`), for launch SBOMs.
    pub buildpack: Option<String>,
    /// The buildpack layer (`jre`); `None` for what a buildpack recorded of the app.
    pub layer: Option<String>,
    /// `cdx`, `spdx` or `syft` (the file name's).
    pub ext: String,
    /// What was read.
    #[serde(flatten)]
    pub parsed: Parsed,
}

impl Doc {
    /// `` `cnb/sbom/bom.cdx.json` (CycloneDX 1.6) ``.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.path, self.parsed.format)
    }
}

impl std::ops::Deref for Doc {
    type Target = Parsed;
    fn deref(&self) -> &Parsed {
        &self.parsed
    }
}

/// The SBOMs of one layer: what [`scan_layer`] found, cached by the layer's digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSboms {
    /// Documents read.
    pub docs: Vec<Doc>,
    /// Documents that could not be read, in words.
    pub notes: Vec<String>,
}

impl LayerSboms {
    /// One document per directory: the same packages are often written in two or three formats
    /// side by side; syft JSON is preferred (it records architectures), then CycloneDX, then SPDX.
    pub fn preferred(&self) -> Vec<&Doc> {
        let rank = |d: &Doc| match d.ext.as_str() {
            "syft" => 0,
            "cdx" => 1,
            _ => 2,
        };
        let mut out: Vec<&Doc> = Vec::new();
        for d in &self.docs {
            match out
                .iter_mut()
                .find(|o| o.buildpack == d.buildpack && o.layer == d.layer)
            {
                Some(o) if rank(d) < rank(o) => *o = d,
                Some(_) => {}
                None => out.push(d),
            }
        }
        out
    }
}

/// Where an SBOM file lives: `(buildpack dir, layer, ext)`, or `None` for any other path.
/// `cnb/sbom/<name>.{cdx,spdx,syft}.json` is the run image's;
/// `layers/sbom/launch/<bp>/<layer>/sbom.<ext>.json` a buildpack layer's and
/// `layers/sbom/launch/<bp>/sbom.<ext>.json` what a buildpack recorded of the app.
/// `sbom.legacy.json` (the pre-SBOM BOM) and build-time SBOMs are not compared.
#[allow(clippy::type_complexity)]
fn classify_path(path: &str) -> Option<(Option<String>, Option<String>, String)> {
    let ext_of = |file: &str| -> Option<String> {
        let stem = file.strip_suffix(".json")?;
        let ext = stem.rsplit('.').next()?;
        ["cdx", "spdx", "syft"]
            .contains(&ext)
            .then(|| ext.to_string())
    };
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["cnb", "sbom", file] => Some((None, None, ext_of(file)?)),
        ["layers", "sbom", "launch", bp, file] if file.starts_with("sbom.") => {
            Some((Some(bp.to_string()), None, ext_of(file)?))
        }
        ["layers", "sbom", "launch", bp, layer, file] if file.starts_with("sbom.") => {
            Some((Some(bp.to_string()), Some(layer.to_string()), ext_of(file)?))
        }
        _ => None,
    }
}

/// Reads every SBOM document of a layer (an uncompressed tar stream), each bounded by
/// [`SBOM_DOC_MAX`], at most [`SBOM_DOCS_MAX`] of them, [`SBOM_LAYER_MAX`] bytes and
/// [`SBOM_LAYER_PACKAGES_MAX`] packages together. A document that cannot be read is a note, never
/// an error; only a broken tar stream is.
pub fn scan_layer(tar: impl Read) -> io::Result<LayerSboms> {
    let mut out = LayerSboms::default();
    let (mut bytes_read, mut packages) = (0u64, 0usize);
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw = entry.path()?.to_string_lossy().into_owned();
        let path = raw
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let Some((buildpack, layer, ext)) = classify_path(&path) else {
            continue;
        };
        if out.docs.len() + out.notes.len() >= SBOM_DOCS_MAX {
            out.notes.push(format!(
                "more than {SBOM_DOCS_MAX} SBOM documents in one layer; the rest were not read"
            ));
            break;
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if bytes_read.saturating_add(size.min(SBOM_DOC_MAX)) > SBOM_LAYER_MAX
            || packages >= SBOM_LAYER_PACKAGES_MAX
        {
            out.notes.push(format!(
                "the layer's SBOM documents exceed {} or {SBOM_LAYER_PACKAGES_MAX} packages; the rest were not read",
                crate::limits::human(SBOM_LAYER_MAX)
            ));
            break;
        }
        let shown = crate::limits::shorten_to(&path, 120).into_owned();
        let subject = format!("SBOM `{shown}`");
        let bytes = match crate::limits::read_to_limit(&mut entry, SBOM_DOC_MAX, &subject) {
            Ok(b) => b,
            Err(e) if crate::limits::too_large(&e).is_some() => {
                out.notes.push(format!("{e}; not read"));
                continue;
            }
            Err(e) => return Err(e),
        };
        bytes_read += bytes.len() as u64;
        match parse(&bytes) {
            Ok(parsed) => {
                packages += parsed.packages.len();
                out.docs.push(Doc {
                    path,
                    buildpack,
                    layer,
                    ext,
                    parsed,
                })
            }
            Err(e) => out.notes.push(format!("`{shown}`: {e}")),
        }
    }
    Ok(out)
}
