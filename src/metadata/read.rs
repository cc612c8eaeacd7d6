//! Reading an image config document and its `io.buildpacks.*` labels into the model, every
//! Platform API shape, leniently: a bad value costs only that value. One file (about 600 lines):
//! the shapes of app, builder, buildpackage and lifecycle labels are read side by side.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::labels::{
    self, BuildMetadata, BuilderMetadata, LifecycleMetadata, ModuleRef, lenient_string, nullable,
};
use super::*;

/// The image config document (`application/vnd.oci.image.config.v1+json`), leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// CPU architecture.
    #[serde(deserialize_with = "lenient_string")]
    pub architecture: String,
    /// Operating system.
    #[serde(deserialize_with = "lenient_string")]
    pub os: String,
    /// CPU variant.
    #[serde(deserialize_with = "nullable")]
    pub variant: Option<String>,
    /// The container configuration.
    #[serde(deserialize_with = "nullable")]
    pub config: ContainerConfig,
    /// Layer diffIDs.
    #[serde(deserialize_with = "nullable")]
    pub rootfs: RootFs,
}

/// `rootfs` inside the image config.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RootFs {
    /// Uncompressed digests of the layers, in order.
    #[serde(deserialize_with = "nullable")]
    pub diff_ids: Vec<String>,
}

/// `config` inside the image config.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `User`.
    #[serde(deserialize_with = "nullable")]
    pub user: Option<String>,
    /// `Env` as `KEY=VALUE`.
    #[serde(deserialize_with = "nullable")]
    pub env: Vec<String>,
    /// `Entrypoint`.
    #[serde(deserialize_with = "nullable")]
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    #[serde(deserialize_with = "nullable")]
    pub cmd: Vec<String>,
    /// `WorkingDir`.
    #[serde(deserialize_with = "nullable")]
    pub working_dir: Option<String>,
    /// `ExposedPorts` keys.
    #[serde(deserialize_with = "nullable")]
    pub exposed_ports: BTreeMap<String, Value>,
    /// `Labels` (may be `null`).
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
}

impl ImageMetadata {
    /// Reads an image config document. The document itself must be JSON (it is what makes an
    /// image); its labels are read leniently and their problems collected.
    pub fn from_config(config: &[u8]) -> Result<Self, ConfigError> {
        let de = &mut serde_json::Deserializer::from_slice(config);
        let file: ConfigFile = serde_path_to_error::deserialize(de).map_err(|e| ConfigError {
            path: crate::limits::shorten(&display_path(e.path())).into_owned(),
            source: crate::limits::Shortened(e.into_inner()),
        })?;
        Ok(Self::from_config_file(file))
    }

    fn from_config_file(file: ConfigFile) -> Self {
        let c = file.config;
        let env: BTreeMap<String, String> = c
            .env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.clone(), String::new()),
            })
            .collect();
        let mut md = ImageMetadata {
            os: file.os,
            architecture: file.architecture,
            variant: file.variant.filter(|v| !v.is_empty()),
            user: c.user.filter(|u| !u.is_empty()),
            entrypoint: c.entrypoint,
            cmd: c.cmd,
            working_dir: c.working_dir.filter(|w| !w.is_empty()),
            ports: c.exposed_ports.into_keys().collect(),
            platform_api: env.get("CNB_PLATFORM_API").cloned(),
            env,
            labels: c.labels,
            diff_ids: file.rootfs.diff_ids,
            ..Default::default()
        };
        md.stack_id = non_empty(md.labels.get(label::STACK_ID));
        md.base_id = non_empty(md.labels.get(label::BASE_ID));
        md.rebasable = md
            .labels
            .get(label::REBASABLE)
            .and_then(|v| v.trim().parse().ok());
        md.read_app_labels();
        md.read_builder_labels();
        md.read_module_labels();
        let distro = runtimes::distro(&md.labels, md.stack_id.as_deref().or(md.base_id.as_deref()));
        md.add_runtimes(distro);
        // The interpreted labels are read; their raw JSON (kilobytes each) is not kept, only the
        // fact that they were there (which makes an image an app or a builder) and the digest
        // of what they held (two images whose labels say the same in other bytes differ there).
        for name in [
            label::BUILD,
            label::LIFECYCLE,
            label::BUILDER,
            label::BUILDPACKAGE,
            label::BUILDPACK_LAYERS,
            label::BUILDPACK_ORDER,
            label::EXTENSION_LAYERS,
        ] {
            if let Some(v) = md.labels.get_mut(name) {
                *v = crate::digest::sha256(v.as_bytes());
            }
        }
        md
    }

    /// Parses one JSON label; a missing or empty label (pack treats both alike) is `None`.
    fn parse_label<T: for<'de> Deserialize<'de>>(&mut self, name: &str) -> Option<T> {
        let text = self.labels.get(name)?;
        if text.trim().is_empty() {
            return None;
        }
        if text.len() as u64 > crate::limits::LABEL_MAX {
            self.problems.push(LabelProblem {
                label: name.to_string(),
                path: ".".into(),
                line: 0,
                column: 0,
                message: format!(
                    "{} bytes is larger than the {} limit for a label",
                    text.len(),
                    crate::limits::human(crate::limits::LABEL_MAX)
                ),
            });
            return None;
        }
        let (value, problems) = parse_json_label::<T>(name, text);
        self.problems.extend(problems);
        value
    }

    fn read_app_labels(&mut self) {
        let build: Option<BuildMetadata> = self.parse_label(label::BUILD);
        let lifecycle: Option<LifecycleMetadata> = self.parse_label(label::LIFECYCLE);
        // Validated for the problem report only: nothing in it is diffed yet.
        let _: Option<Value> = self.parse_label(label::PROJECT);

        if let Some(build) = &build {
            self.buildpacks = build.buildpacks.iter().map(module).collect();
            self.extensions = build.extensions.iter().map(module).collect();
            self.lifecycle_version = build
                .launcher
                .as_ref()
                .map(|l| l.version.clone())
                .filter(|v| !v.is_empty());
            self.processes = self.processes_from(build);
            self.dependencies.extend(bom_dependencies(build));
        }
        if let Some(lc) = &lifecycle {
            // Old images may lack build metadata (lifecycle ≤ 0.3): fall back to the layer list.
            if self.buildpacks.is_empty() {
                self.buildpacks = lc
                    .buildpacks
                    .iter()
                    .map(|b| Module {
                        id: b.key.clone(),
                        version: b.version.clone(),
                        homepage: None,
                    })
                    .collect();
            }
            self.buildpack_layer_shas = lc
                .buildpacks
                .iter()
                .flat_map(|b| b.layers.values().filter_map(|l| l.sha.clone()))
                .chain(lc.app.shas())
                .collect();
            self.layer_map = Some(lifecycle_layer_map(lc));
            self.add_runtimes(runtimes::from_layers(lc));
            // Layer metadata is the authoritative place; a BOM entry for the same layer is a
            // legacy copy of it.
            for dep in layer_dependencies(lc) {
                self.dependencies.retain(|d| d.key() != dep.key());
                self.dependencies.push(dep);
            }
            let stack_run = lc.stack.as_ref().and_then(|s| s.run_image.as_ref());
            let run = lc.run_image.clone().unwrap_or_default();
            let image = run
                .image
                .clone()
                .filter(|i| !i.is_empty())
                .or_else(|| stack_run.and_then(|s| s.image.clone()));
            let mirrors = if run.image.as_deref().is_some_and(|i| !i.is_empty()) {
                run.mirrors.clone()
            } else {
                stack_run.map(|s| s.mirrors.clone()).unwrap_or_default()
            };
            let ri = RunImage {
                image: image.filter(|i| !i.is_empty()),
                reference: run.reference.filter(|r| !r.is_empty()),
                top_layer: run.top_layer.filter(|t| !t.is_empty()),
                mirrors,
            };
            if ri != RunImage::default() {
                self.run_image = Some(ri);
            }
        }
        self.dependencies
            .sort_by(|a, b| a.key().cmp(&b.key()).then(a.id.cmp(&b.id)));
        // Older JVM layers (flat `data.version`) and the legacy BOM record the JRE too.
        let legacy = runtimes::from_dependencies(&self.dependencies);
        self.add_runtimes(legacy);
    }

    fn processes_from(&self, build: &BuildMetadata) -> Vec<Process> {
        // Platform API ≥ 0.4 marks the default with the entrypoint `/cnb/process/<type>`;
        // lifecycle ≥ 0.11 also records it in `buildpack-default-process-type`.
        let from_entrypoint = self
            .entrypoint
            .first()
            .and_then(|e| e.strip_prefix("/cnb/process/"))
            .map(str::to_string);
        let default = build
            .default_process
            .clone()
            .filter(|d| !d.is_empty())
            .or(from_entrypoint);
        let mut out: Vec<Process> = build
            .processes
            .iter()
            .map(|p| Process {
                kind: p.kind.clone(),
                command: p.command.clone(),
                args: p.args.clone(),
                direct: p.direct.unwrap_or(false),
                working_dir: p.working_dir.clone().filter(|w| !w.is_empty()),
                default: default.as_deref() == Some(p.kind.as_str()) || p.default == Some(true),
            })
            .collect();
        out.sort_by(|a, b| a.kind.cmp(&b.kind));
        out
    }

    fn read_builder_labels(&mut self) {
        let Some(builder): Option<BuilderMetadata> = self.parse_label(label::BUILDER) else {
            return;
        };
        self.buildpacks = builder.buildpacks.iter().map(module).collect();
        self.buildpacks
            .sort_by(|a, b| a.id.cmp(&b.id).then(a.version.cmp(&b.version)));
        self.extensions = builder.extensions.iter().map(module).collect();
        if let Some(lc) = &builder.lifecycle {
            self.lifecycle_version = Some(lc.version.clone()).filter(|v| !v.is_empty());
            self.platform_api = builder_platform_apis(lc);
            self.buildpack_apis = supported_apis(lc, "buildpack");
        }
        let image = builder
            .images
            .first()
            .map(|i| (i.image.clone(), i.mirrors.clone()))
            .or_else(|| {
                let s = builder.stack.as_ref()?.run_image.as_ref()?;
                Some((s.image.clone(), s.mirrors.clone()))
            });
        if let Some((image, mirrors)) = image {
            self.run_image = Some(RunImage {
                image: image.filter(|i| !i.is_empty()),
                mirrors,
                ..Default::default()
            });
        }
    }
}

impl ImageMetadata {
    /// Builder and buildpackage labels beyond the builder metadata: the layer of each buildpack,
    /// the order groups, the buildpackage's own buildpack; and a lifecycle image's labels.
    fn read_module_labels(&mut self) {
        let buildpacks = self.parse_label::<labels::BuildpackLayersLabel>(label::BUILDPACK_LAYERS);
        let extensions = self.parse_label::<labels::BuildpackLayersLabel>(label::EXTENSION_LAYERS);
        if buildpacks.is_some() || extensions.is_some() {
            let mut map = LayerMap::default();
            let all = [(buildpacks, false), (extensions, true)];
            let entries = all
                .iter()
                .flat_map(|(l, ext)| l.iter().flatten().map(move |(id, v)| (id, v, *ext)));
            for (id, versions, extension) in entries {
                for (version, blob) in versions {
                    if let Some(sha) = blob.layer_diff_id.clone().filter(|s| !s.is_empty()) {
                        map.modules.push(ModuleLayer {
                            module: id.clone(),
                            version: version.clone(),
                            layer: None,
                            sha,
                            launch: false,
                            cache: false,
                            build: true,
                            extension,
                        });
                    }
                    // A buildpackage lists its buildpacks only here.
                    if self.kind() == ImageKind::Buildpackage && !extension {
                        self.buildpacks.push(Module {
                            id: id.clone(),
                            version: version.clone(),
                            homepage: blob.homepage.clone().filter(|h| !h.is_empty()),
                        });
                    }
                }
            }
            if self.layer_map.is_none() {
                self.layer_map = Some(map);
            }
        }
        if let Some(order) = self.parse_label::<labels::OrderLabel>(label::BUILDPACK_ORDER) {
            self.order = order
                .iter()
                .map(|g| {
                    g.group
                        .iter()
                        .map(|e| {
                            let mut s = e.id.clone();
                            if !e.version.is_empty() {
                                s = format!("{s}@{}", e.version);
                            }
                            if e.optional {
                                s.push('?');
                            }
                            s
                        })
                        .collect()
                })
                .collect();
        }
        if self.kind() == ImageKind::Buildpackage
            // `{id, version, homepage, stacks}`: the buildpack a buildpackage carries at its top.
            && let Some(top) = self.parse_label::<ModuleRef>(label::BUILDPACKAGE)
        {
            self.buildpackage = Some(format!("{} {}", top.id, top.version).trim().to_string())
                .filter(|s| !s.is_empty());
            if !self
                .buildpacks
                .iter()
                .any(|b| b.id == top.id && b.version == top.version)
            {
                self.buildpacks.push(Module {
                    id: top.id,
                    version: top.version,
                    homepage: top.homepage,
                });
            }
        }
        // Builder inventories repeat a buildpack once per composite that holds it; `pack
        // inspect` lists each id@version once.
        // (An app's group keeps its execution order.)
        if self.kind() != ImageKind::App {
            self.buildpacks
                .sort_by(|a, b| a.id.cmp(&b.id).then(a.version.cmp(&b.version)));
            self.buildpacks
                .dedup_by(|a, b| a.id == b.id && a.version == b.version);
        }
        // A lifecycle image's own labels say what it is; the legacy builder metadata it also
        // carries is a copy that may lag. Other images fall back to the label.
        let own = non_empty(self.labels.get(label::LIFECYCLE_VERSION));
        if self.kind() == ImageKind::Lifecycle && own.is_some() || self.lifecycle_version.is_none()
        {
            self.lifecycle_version = own.or(self.lifecycle_version.take());
        }
        if let Some(apis) = self.parse_label::<Value>(label::LIFECYCLE_APIS) {
            let lc = labels::BuilderLifecycle {
                apis,
                ..Default::default()
            };
            if self.kind() == ImageKind::Lifecycle || self.platform_api.is_none() {
                self.platform_api = builder_platform_apis(&lc).or(self.platform_api.take());
            }
            if self.kind() == ImageKind::Lifecycle || self.buildpack_apis.is_none() {
                self.buildpack_apis =
                    supported_apis(&lc, "buildpack").or(self.buildpack_apis.take());
            }
        }
    }
}

fn lifecycle_layer_map(lc: &LifecycleMetadata) -> LayerMap {
    let sha = |r: &Option<labels::ShaRef>| {
        r.as_ref()
            .and_then(|r| r.sha.clone())
            .filter(|s| !s.is_empty())
    };
    let mut modules = Vec::new();
    for (list, extension) in [(&lc.buildpacks, false), (&lc.extensions, true)] {
        for bp in list {
            for (name, md) in &bp.layers {
                let Some(sha) = md.sha.clone().filter(|s| !s.is_empty()) else {
                    continue;
                };
                modules.push(ModuleLayer {
                    module: bp.key.clone(),
                    version: bp.version.clone(),
                    layer: Some(name.clone()),
                    sha,
                    launch: md.launch,
                    cache: md.cache,
                    build: md.build,
                    extension,
                });
            }
        }
    }
    LayerMap {
        app: lc.app.shas(),
        modules,
        launcher: sha(&lc.launcher),
        config: sha(&lc.config),
        process_types: sha(&lc.process_types),
        sbom: sha(&lc.sbom),
    }
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty()).cloned()
}

fn module(m: &ModuleRef) -> Module {
    Module {
        id: m.id.clone(),
        version: m.version.clone(),
        homepage: m.homepage.clone().filter(|h| !h.is_empty()),
    }
}

/// `apis.platform.supported` (pack ≥ 0.16) or the single `api.platform` of older builders.
fn builder_platform_apis(lc: &labels::BuilderLifecycle) -> Option<String> {
    supported_apis(lc, "platform")
}

/// `apis.<which>.supported` as `0.7, 0.8`, else the legacy single `api.<which>` (the lowest
/// supported version, as pack wrote it before `apis`).
fn supported_apis(lc: &labels::BuilderLifecycle, which: &str) -> Option<String> {
    let supported = lc
        .apis
        .pointer(&format!("/{which}/supported"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty());
    supported.or_else(|| {
        lc.api
            .pointer(&format!("/{which}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Dependencies recorded in layer metadata. Two shapes exist (libjvm history):
/// `data.dependency.{id,version}` (libpak ≥ 1.x, bellsoft-liberica ≥ 3.1.0) and the flat
/// `data.{id,version,uri|sha256}` before. A `data.version` alone is *not* a dependency: libpak
/// writes the buildpack's own version into helper layers.
fn layer_dependencies(lc: &LifecycleMetadata) -> Vec<Dependency> {
    let mut out = Vec::new();
    for bp in &lc.buildpacks {
        for (layer, md) in &bp.layers {
            let data = &md.data;
            let dep = data
                .get("dependency")
                .filter(|d| d.get("version").is_some())
                .or_else(|| {
                    let flat = data.get("id").is_some()
                        && data.get("version").is_some()
                        && (data.get("uri").is_some()
                            || data.get("sha256").is_some()
                            || data.get("checksum").is_some());
                    flat.then_some(data)
                });
            let Some(dep) = dep else { continue };
            let text = |k: &str| match dep.get(k) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            out.push(Dependency {
                buildpack: bp.key.clone(),
                layer: layer.clone(),
                id: text("id").unwrap_or_else(|| layer.clone()),
                name: text("name"),
                version: text("version").unwrap_or_default(),
            });
        }
    }
    out
}

/// Versioned entries of the legacy BOM (Platform API ≤ 0.8). Entries without a version (e.g.
/// spring-boot's per-jar `dependencies` list) are not runtime dependencies of their own.
fn bom_dependencies(build: &BuildMetadata) -> Vec<Dependency> {
    build
        .bom
        .iter()
        .filter_map(|e| {
            let version = e
                .metadata
                .get("version")
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|v| !v.is_empty())
                .or_else(|| Some(e.version.clone()).filter(|v| !v.is_empty()))?;
            let layer = e
                .metadata
                .get("layer")
                .and_then(Value::as_str)
                .unwrap_or(&e.name)
                .to_string();
            Some(Dependency {
                buildpack: e.buildpack.id.clone(),
                layer,
                id: e.name.clone(),
                name: e
                    .metadata
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                version,
            })
        })
        .collect()
}

/// The image config document itself is not JSON of the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("image config is not valid at `{path}`")]
pub struct ConfigError {
    /// JSON path.
    pub path: String,
    /// Parser error (carries line and column), shown shortened: it may quote a huge value.
    #[source]
    pub source: crate::limits::Shortened<serde_json::Error>,
}

/// Parses the JSON inside a label. A value of the wrong type costs only that value: it is
/// reported with its path, replaced by `null` (which every field reads as "absent") and the
/// label parsed again, so one bad field does not hide the JRE or the run image. A syntax error
/// loses the label.
pub fn parse_json_label<T: for<'de> Deserialize<'de>>(
    name: &str,
    text: &str,
) -> (Option<T>, Vec<LabelProblem>) {
    let de = &mut serde_json::Deserializer::from_str(text);
    let first = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => return (Some(v), Vec::new()),
        Err(e) => e,
    };
    let problem = |path: &serde_path_to_error::Path, e: &serde_json::Error| LabelProblem {
        label: name.to_string(),
        path: display_path(path),
        line: e.line(),
        column: e.column(),
        // Bounded: serde quotes the value it did not expect (a 50 MB string where an array
        // belongs would be printed whole).
        message: crate::limits::shorten_quoted(&strip_position(&e.to_string())),
    };
    let mut problems = vec![problem(first.path(), first.inner())];
    if first.inner().is_syntax() || first.inner().is_eof() {
        return (None, problems);
    }
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return (None, problems);
    };
    let mut path = first.path().clone();
    // Bounded: each round removes one value; a label with more bad values than this is lost.
    for _ in 0..32 {
        if !null_at(&mut value, &path) {
            return (None, problems);
        }
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => return (Some(v), problems),
            Err(e) => {
                // Positions refer to the text; after the first repair only the path is known.
                let mut p = problem(e.path(), e.inner());
                (p.line, p.column) = (0, 0);
                problems.push(p);
                path = e.path().clone();
            }
        }
    }
    (None, problems)
}

/// Sets the value at `path` to `null`; false when the path cannot be followed or already is null.
fn null_at(root: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let mut cur = root;
    for seg in path.iter() {
        cur = match (seg, cur) {
            (Segment::Seq { index }, Value::Array(a)) => match a.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Map { key }, Value::Object(o)) => match o.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    if cur.is_null() {
        return false;
    }
    *cur = Value::Null;
    true
}

fn display_path(p: &serde_path_to_error::Path) -> String {
    let s = p.to_string();
    if s.is_empty() { ".".into() } else { s }
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
