//! Which runtime an image runs on, read wherever real buildpacks record it: the one place that
//! knows how each buildpack family writes down what it installed.
//!
//! | family | where the version is | read from |
//! |---|---|---|
//! | Paketo libpak (Java) | layer metadata `dependency.version` of the `jre`/`jdk` layer | labels |
//! | Paketo packit (Node.js, Python, Ruby, PHP, .NET, nginx, httpd) | only a checksum in layer metadata; the version is in the layer's SBOM under the dependency's display name, purl `pkg:generic/<id>@<version>` | the launch SBOM layer |
//! | Paketo go-build | syft's scan of the built binary: package `stdlib`, version `go1.22.5` | the launch SBOM layer |
//! | Heroku (libcnb.rs) | layer metadata, a key of each buildpack's own | labels |
//! | Google | layer metadata, flat `version` on the runtime buildpack's layer | labels |
//! | run image | `io.buildpacks.base.distro.*` (and `io.buildpacks.stack.distro.*`), else the stack id | labels |
//!
//! Every entry of the tables below names the source it was read from. Pure: the SBOM's packages
//! arrive already parsed (`crate::packages`), and what comes out is one [`Runtime`] per name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::labels::LifecycleMetadata;

/// A runtime, server or distro an image runs on, whichever buildpack installed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Runtime {
    /// The runtime's name, the same whichever family installed it: `java`, `node`, `go`,
    /// `python`, `dotnet`, `ruby`, `php`, `nginx`, `httpd`; a distro's id (`ubuntu`).
    pub name: String,
    /// The version in the form rules compare (`go1.22.5` → `1.22.5`, `v20.11.1` → `20.11.1`).
    pub version: String,
    /// The version exactly as recorded, when it differs from `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// What it is: a language `runtime`, a web `server`, or the run image's `distro`.
    pub kind: RuntimeKind,
    /// Where it was read from, in words: `paketo-buildpacks/bellsoft-liberica layer jre
    /// (dependency.version)`, `SBOM of paketo-buildpacks/go-build (stdlib)`,
    /// `label io.buildpacks.base.distro.version`.
    pub source: String,
    /// Go: the binary's `DefaultGODEBUG` build setting as syft recorded it (syft JSON only):
    /// absent when no build settings were recorded, `""` when they were and the go.mod go line
    /// keeps no older default, else the defaults it keeps (`asynctimerchan=1,…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_godebug: Option<String>,
}

/// What a [`Runtime`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(JsonSchema)]
pub enum RuntimeKind {
    /// A language runtime (JVM, Node.js, Go, CPython, .NET, Ruby, PHP).
    Runtime,
    /// A web server (nginx, Apache httpd).
    Server,
    /// The run image's operating system.
    Distro,
}

impl RuntimeKind {
    /// How a view names it (`distro ubuntu 22.04`); runtimes and servers go by their name.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Distro => "distro ",
            Self::Runtime | Self::Server => "",
        }
    }
}

impl Runtime {
    fn new(name: &str, recorded: &str, kind: RuntimeKind, source: String) -> Option<Self> {
        let recorded = recorded.trim();
        if recorded.is_empty() {
            return None;
        }
        let version = crate::version::normalize_for(name, recorded);
        Some(Self {
            name: name.to_string(),
            recorded: (version != recorded).then(|| recorded.to_string()),
            version,
            kind,
            source,
            default_godebug: None,
        })
    }

    /// `java`, `distro ubuntu`: the item a diff compares.
    pub fn describe_name(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.name)
    }

    /// `java 17.0.7`, `distro ubuntu 22.04`.
    pub fn describe(&self) -> String {
        format!("{}{} {}", self.kind.prefix(), self.name, self.version)
    }
}

/// The kind of a runtime name.
pub fn kind_of(name: &str) -> RuntimeKind {
    match name {
        "nginx" | "httpd" => RuntimeKind::Server,
        n if DISTROS.contains(&n) => RuntimeKind::Distro,
        _ => RuntimeKind::Runtime,
    }
}

/// Distro ids as `/etc/os-release` writes them (`ID=`), the names distro rules use.
pub const DISTROS: &[&str] = &["ubuntu", "debian", "alpine", "rhel", "centos", "amzn"];

/// Every runtime name the built-in recordings produce (rule files are checked against it).
pub const NAMES: &[&str] = &[
    "java", "node", "go", "python", "dotnet", "ruby", "php", "nginx", "httpd", "ubuntu", "debian",
    "alpine", "rhel", "centos", "amzn",
];

/// A layer-metadata recording: the buildpack (id glob), its layer and the JSON pointer of the
/// version in the layer's `data`.
struct LayerRecording {
    buildpack: &'static str,
    layer: &'static str,
    pointer: &'static str,
    runtime: &'static str,
    /// How the value holds the version.
    read: Read,
}

/// How a recorded value holds the version.
#[derive(Clone, Copy)]
enum Read {
    /// The value is the version.
    Value,
    /// The value is a download URL whose file name is the version (`…/zulu/amd64/21.0.2.tar.gz`,
    /// `…/heroku-22/zulu-21.0.2.tar.gz`): heroku/jvm records nothing else.
    UrlFile,
}

/// `https://…/zulu-21.0.2.tar.gz` → `21.0.2`.
fn version_in_url(url: &str) -> Option<String> {
    let file = url.split(['?', '#']).next()?.rsplit('/').next()?;
    let stem = file
        .strip_suffix(".tar.gz")
        .or_else(|| file.strip_suffix(".tgz"))
        .or_else(|| file.strip_suffix(".tar.xz"))
        .unwrap_or(file);
    let v = stem.rsplit_once('-').map_or(stem, |(_, v)| v);
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

/// Families that write the runtime version into their layer metadata under a key of their own.
/// Each line is sourced in `docs/runtimes.md`.
#[rustfmt::skip]
const LAYER_RECORDINGS: &[LayerRecording] = &[
    // Heroku (libcnb.rs): typed layer metadata. heroku/nodejs ≥ 3.1 (and heroku/nodejs-engine):
    // `dist.artifact.version`; before, a flat `nodejs_version`.
    LayerRecording { buildpack: "heroku/nodejs*", layer: "dist", pointer: "/artifact/version", runtime: "node", read: Read::Value },
    LayerRecording { buildpack: "heroku/nodejs*", layer: "dist", pointer: "/nodejs_version", runtime: "node", read: Read::Value },
    LayerRecording { buildpack: "heroku/python", layer: "python", pointer: "/python_version", runtime: "python", read: Read::Value },
    // heroku/ruby: layer `binruby` from 5.0.1, `ruby` before; `ruby_version` from 3.0, `version` before.
    LayerRecording { buildpack: "heroku/ruby", layer: "binruby", pointer: "/ruby_version", runtime: "ruby", read: Read::Value },
    LayerRecording { buildpack: "heroku/ruby", layer: "ruby", pointer: "/ruby_version", runtime: "ruby", read: Read::Value },
    LayerRecording { buildpack: "heroku/ruby", layer: "ruby", pointer: "/version", runtime: "ruby", read: Read::Value },
    // heroku/jvm records only the JDK's download URL, whose file name is the version.
    LayerRecording { buildpack: "heroku/jvm", layer: "openjdk", pointer: "/source_tarball_url", runtime: "java", read: Read::UrlFile },
    // Google: `runtime.InstallTarballIfNotCached` sets a flat `version` on the runtime layer.
    LayerRecording { buildpack: "google.nodejs.runtime", layer: "node", pointer: "/version", runtime: "node", read: Read::Value },
    LayerRecording { buildpack: "google.python.runtime", layer: "python", pointer: "/version", runtime: "python", read: Read::Value },
    LayerRecording { buildpack: "google.ruby.runtime", layer: "ruby", pointer: "/version", runtime: "ruby", read: Read::Value },
    LayerRecording { buildpack: "google.php.runtime", layer: "php", pointer: "/version", runtime: "php", read: Read::Value },
    LayerRecording { buildpack: "google.java.runtime", layer: "java", pointer: "/version", runtime: "java", read: Read::Value },
    LayerRecording { buildpack: "google.dotnet.runtime", layer: "runtime", pointer: "/version", runtime: "dotnet", read: Read::Value },
    LayerRecording { buildpack: "google.go.runtime", layer: "go", pointer: "/version", runtime: "go", read: Read::Value },
];

/// libpak dependency ids (the `dependency.id` of a layer's metadata, also the layer's name)
/// that are a JVM: `jre`, `jdk` (libjvm), and `jre-<vendor>` / `jdk-<vendor>` (jvm-vendors,
/// libpak v2).
fn is_jvm_id(id: &str) -> bool {
    ["jre", "jdk", "native-image-svm"].contains(&id)
        || id.starts_with("jre-")
        || id.starts_with("jdk-")
}

/// An SBOM recording: a package in a buildpack layer's SBOM that is a runtime, by its purl
/// (`pkg:<type>/<name>`) or, for writers without purls, its display name.
struct SbomRecording {
    purl: &'static str,
    names: &'static [&'static str],
    runtime: &'static str,
}

/// packit's `sbom.GenerateFromDependency` names the package after the dependency's display
/// name and gives it `pkg:generic/<id>@<version>`; syft names a Go binary's toolchain `stdlib`.
#[rustfmt::skip]
const SBOM_RECORDINGS: &[SbomRecording] = &[
    SbomRecording { purl: "pkg:generic/node", names: &["Node Engine"], runtime: "node" },
    SbomRecording { purl: "pkg:golang/stdlib", names: &[], runtime: "go" },
    // cpython renames its dependency `CPython` before the SBOM is written; the purl keeps `python`.
    SbomRecording { purl: "pkg:generic/python", names: &["CPython", "Python"], runtime: "python" },
    SbomRecording { purl: "pkg:generic/ruby", names: &["Ruby"], runtime: "ruby" },
    SbomRecording { purl: "pkg:generic/php", names: &["PHP"], runtime: "php" },
    SbomRecording { purl: "pkg:generic/nginx", names: &["Nginx Server"], runtime: "nginx" },
    SbomRecording { purl: "pkg:generic/httpd", names: &["Apache HTTP Server"], runtime: "httpd" },
    // .NET: one ASP.NET Core runtime buildpack since Nov 2022; separate runtime and ASP.NET
    // buildpacks before. Their GA versions are the same number; the SDK's is not a runtime's.
    SbomRecording { purl: "pkg:generic/dotnet-core-aspnet-runtime", names: &["ASP.NET Core Runtime"], runtime: "dotnet" },
    SbomRecording { purl: "pkg:generic/dotnet-runtime", names: &[".NET Core Runtime"], runtime: "dotnet" },
    SbomRecording { purl: "pkg:generic/dotnet-aspnetcore", names: &[".NET Core ASPNet"], runtime: "dotnet" },
];

/// Buildpacks that record their runtime's version only in their layers' SBOM (so a diff reads
/// the launch SBOM layer for them when a rule needs it).
pub const SBOM_ONLY_BUILDPACKS: &[&str] = &[
    "paketo-buildpacks/node-engine",
    "paketo-buildpacks/go-build",
    "paketo-buildpacks/cpython",
    "paketo-buildpacks/mri",
    "paketo-buildpacks/php-dist",
    "paketo-buildpacks/nginx",
    "paketo-buildpacks/httpd",
    "paketo-buildpacks/dotnet-core-aspnet-runtime",
    "paketo-buildpacks/dotnet-core-runtime",
    "paketo-buildpacks/dotnet-core-aspnet",
];

fn glob_matches(pattern: &str, s: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(s))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Runtimes recorded in the layer metadata of the lifecycle label: libpak's `dependency` on
/// JVM layers (launch layers first: a `jdk` layer only for build is not what runs) and the
/// Heroku and Google keys.
pub(super) fn from_layers(lc: &LifecycleMetadata) -> Vec<Runtime> {
    let mut out: Vec<(bool, Runtime)> = Vec::new();
    for bp in &lc.buildpacks {
        for (layer, md) in &bp.layers {
            let data = &md.data;
            if let Some(dep) = data.get("dependency")
                && let Some(id) = dep.get("id").and_then(text)
                && is_jvm_id(&id)
                && let Some(v) = dep.get("version").and_then(text)
            {
                let source = format!("{} layer {layer} (dependency.version)", bp.key);
                if let Some(r) = Runtime::new("java", &v, RuntimeKind::Runtime, source) {
                    out.push((md.launch, r));
                }
                continue;
            }
            for rec in LAYER_RECORDINGS {
                if !glob_matches(rec.buildpack, &bp.key) || !glob_matches(rec.layer, layer) {
                    continue;
                }
                let Some(v) = data.pointer(rec.pointer).and_then(text) else {
                    continue;
                };
                let v = match rec.read {
                    Read::Value => v,
                    Read::UrlFile => match version_in_url(&v) {
                        Some(v) => v,
                        None => continue,
                    },
                };
                let key = rec.pointer.trim_start_matches('/').replace('/', ".");
                let source = format!("{} layer {layer} ({key})", bp.key);
                if let Some(r) = Runtime::new(rec.runtime, &v, kind_of(rec.runtime), source) {
                    out.push((md.launch, r));
                }
                break;
            }
        }
    }
    // One entry per name: a launch layer wins over a build-only one, then the first recorded.
    out.sort_by_key(|(launch, _)| !*launch);
    let mut seen = Vec::new();
    out.into_iter()
        .filter_map(|(_, r)| {
            (!seen.contains(&r.name)).then(|| {
                seen.push(r.name.clone());
                r
            })
        })
        .collect()
}

/// The JVM among dependencies read from older layer shapes (flat `data.{id,version}`) and the
/// legacy BOM: the `jre` when there is one (what runs), else a `jdk`.
pub(super) fn from_dependencies(deps: &[super::Dependency]) -> Option<Runtime> {
    let pick = |kind: &str| {
        deps.iter()
            .find(|d| is_jvm_id(&d.id) && (d.id.starts_with(kind) || d.layer.starts_with(kind)))
    };
    let d = pick("jre").or_else(|| pick("jdk"))?;
    let source = format!("{} layer {} (version)", d.buildpack, d.layer);
    Runtime::new("java", &d.version, RuntimeKind::Runtime, source)
}

/// The runtime a package of a buildpack layer's SBOM is, if any: by purl, else by the display
/// name packit gives it.
pub fn from_sbom_package(
    name: &str,
    version: &str,
    purl: Option<&str>,
    buildpack: &str,
) -> Option<Runtime> {
    let base = purl.map(|p| p.split(['@', '?', '#']).next().unwrap_or(p));
    let rec = SBOM_RECORDINGS.iter().find(|r| {
        base.is_some_and(|b| b.eq_ignore_ascii_case(r.purl)) || r.names.contains(&name)
    })?;
    // packit's purl carries the version as the upstream writes it (`v20.11.1` for Node); the
    // package version is the clean one.
    let source = format!("SBOM of {buildpack} ({name})");
    Runtime::new(rec.runtime, version, kind_of(rec.runtime), source)
}

/// A Go binary's toolchain when the SBOM has no `stdlib` package (syft before 0.93 recorded it
/// only as each module's `goCompiledVersion`).
pub fn from_go_compiled(compiled: &str, buildpack: &str) -> Option<Runtime> {
    let source = format!("SBOM of {buildpack} (goCompiledVersion)");
    Runtime::new("go", compiled, RuntimeKind::Runtime, source)
}

/// Stack ids whose distro is known from the stack's own definition (no distro label before
/// Platform API 0.12).
#[rustfmt::skip]
const STACK_DISTROS: &[(&str, &str, &str)] = &[
    ("io.buildpacks.stacks.bionic", "ubuntu", "18.04"),
    ("io.paketo.stacks.tiny", "ubuntu", "18.04"),
    ("io.buildpacks.stacks.jammy", "ubuntu", "22.04"),
    ("io.buildpacks.stacks.jammy.tiny", "ubuntu", "22.04"),
    ("io.buildpacks.stacks.jammy.static", "ubuntu", "22.04"),
    ("io.buildpacks.stacks.noble", "ubuntu", "24.04"),
    ("io.buildpacks.stacks.noble.tiny", "ubuntu", "24.04"),
    ("io.buildpacks.stacks.noble.static", "ubuntu", "24.04"),
    ("heroku-20", "ubuntu", "20.04"),
    ("heroku-22", "ubuntu", "22.04"),
    ("heroku-24", "ubuntu", "24.04"),
    ("heroku-26", "ubuntu", "26.04"),
    ("google.22", "ubuntu", "22.04"),
    ("google.24", "ubuntu", "24.04"),
    ("google.24.full", "ubuntu", "24.04"),
];

/// The run image's distro: the `io.buildpacks.base.distro.*` labels (Platform API ≥ 0.12), the
/// deprecated `io.buildpacks.stack.distro.*`, else what the stack id is known to be.
pub(super) fn distro(
    labels: &std::collections::BTreeMap<String, String>,
    stack_id: Option<&str>,
) -> Option<Runtime> {
    for prefix in ["io.buildpacks.base.distro.", "io.buildpacks.stack.distro."] {
        let name = labels.get(&format!("{prefix}name")).map(|s| s.trim());
        let version = labels.get(&format!("{prefix}version")).map(|s| s.trim());
        if let (Some(n), Some(v)) = (name, version)
            && !n.is_empty()
        {
            let n = n.to_ascii_lowercase();
            return Runtime::new(&n, v, RuntimeKind::Distro, format!("label {prefix}version"));
        }
    }
    let id = stack_id?;
    let (_, name, version) = STACK_DISTROS.iter().find(|(s, _, _)| *s == id)?;
    Runtime::new(name, version, RuntimeKind::Distro, format!("stack id {id}"))
}
