//! The calculator's inputs, read out of an image's layers the way the container will see them at
//! start: the launch environment the CNB launcher builds (image config `Env`, then every
//! buildpack layer's `env.launch/` and `env/` files in buildpack order and layer-name order), and
//! the class counts libjvm's helper takes from the file system (application directory, one level
//! of nested jars, symlinks into `/layers` followed, 0-byte `*none*` jars skipped, non-zips
//! ignored — `count/count_classes.go`).
//!
//! Layers are read as streams (gzip → tar → zip entries); only jars are held in memory, one at a
//! time. Whiteouts of later layers are honoured.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde::Serialize;

/// File names libjvm counts as classes (`ClassExtensions`).
const CLASS_SUFFIXES: &[&str] = &[".class", ".classdata", ".clj", ".groovy", ".kts"];

fn is_class(name: &str) -> bool {
    CLASS_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// What one file contributes.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
enum Entry {
    /// A class-like file: 1.
    Class,
    /// A jar with this many classes (nested jars included, one level).
    Jar(i64),
    /// A symlink to this absolute path.
    Link(String),
}

/// An env file of a buildpack layer.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct EnvFile {
    buildpack_dir: String,
    layer: String,
    var: String,
    suffix: String,
    value: String,
}

/// Where a launch variable's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The variable.
    pub name: String,
    /// Its value at launch.
    pub value: String,
    /// `image config Env`, a layer file path, or `--env`.
    pub from: String,
}

/// What the layers say.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageInputs {
    /// The launch environment, with where each value came from.
    pub env: Vec<Source>,
    /// Classes under the application directory.
    pub app_classes: i64,
    /// The largest contributors, path and count (jars and directories of class files).
    pub app_detail: Vec<(String, i64)>,
    /// Classes in `-javaagent:` jars that exist in the image.
    pub agent_classes: i64,
    /// Agent paths that are not in the image (libjvm warns and skips them).
    pub missing_agents: Vec<String>,
}

impl ImageInputs {
    /// The environment as a map.
    pub fn env_map(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect()
    }
}

/// Accumulates what the scanned layers hold.
#[derive(Debug, Default)]
pub struct Scanner {
    files: BTreeMap<String, Entry>,
    env_files: Vec<EnvFile>,
}

/// `/a/b/../c` → `/a/c`; relative paths resolve against `base` (a directory).
fn normalize(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Classes in a jar's bytes: entries with class suffixes, plus those of jars nested one level.
/// Not a zip (or a damaged one) counts 0, as libjvm ignores it; so does one over a limit.
pub fn jar_classes(bytes: &[u8], nested: bool) -> i64 {
    count_zip(io::Cursor::new(bytes), "jar", nested).unwrap_or(0)
}

/// The entry count a zip's end-of-central-directory record declares (`None`: not found, or
/// zip64, whose count is checked by the entry cap while walking).
fn declared_entries(zip: &mut (impl Read + io::Seek)) -> io::Result<Option<u64>> {
    let len = zip.seek(io::SeekFrom::End(0))?;
    let tail = len.min(22 + 0xffff);
    zip.seek(io::SeekFrom::Start(len - tail))?;
    let mut buf = Vec::with_capacity(tail as usize);
    zip.take(tail).read_to_end(&mut buf)?;
    zip.seek(io::SeekFrom::Start(0))?;
    let Some(at) = buf.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06]) else {
        return Ok(None);
    };
    let rec = &buf[at..];
    if rec.len() < 22 {
        return Ok(None);
    }
    let total = u16::from_le_bytes([rec[10], rec[11]]);
    Ok((total != 0xffff).then_some(u64::from(total)))
}

/// [`jar_classes`] over any seekable zip, with the limits: at most
/// [`crate::limits::JAR_ENTRIES_MAX`] entries (checked against the central directory before it
/// is parsed: each parsed entry costs memory) and nested jars inflated to at most
/// [`crate::limits::NESTED_JAR_MAX`] each. `Ok(0)` for what is not a zip, as libjvm.
fn count_zip(mut jar: impl Read + io::Seek, what: &str, nested: bool) -> io::Result<i64> {
    use crate::limits::{JAR_ENTRIES_MAX, NESTED_JAR_MAX, TooLarge};
    let too_many = || TooLarge {
        subject: format!("{what} (its entries)"),
        limit: JAR_ENTRIES_MAX as u64,
    };
    if declared_entries(&mut jar)?.is_some_and(|n| n > JAR_ENTRIES_MAX as u64) {
        return Err(too_many().into());
    }
    let Ok(mut zip) = zip::ZipArchive::new(jar) else {
        return Ok(0);
    };
    if zip.len() > JAR_ENTRIES_MAX {
        return Err(too_many().into());
    }
    let mut n = 0;
    for i in 0..zip.len() {
        let Ok(mut f) = zip.by_index(i) else { continue };
        let name = f.name().to_string();
        if is_class(&name) {
            n += 1;
        } else if nested && name.ends_with(".jar") && !f.is_dir() {
            let subject = format!("nested jar `{}` of {what}", crate::limits::shorten(&name));
            // Inflated into memory up to the cap; a bomb stops there.
            match crate::limits::read_to_limit(&mut f, NESTED_JAR_MAX, &subject) {
                Ok(inner) => n += count_zip(io::Cursor::new(inner), &subject, false)?,
                Err(e) if crate::limits::too_large(&e).is_some() => return Err(e),
                Err(_) => {}
            }
        }
    }
    Ok(n)
}

/// Classes of the jar `entry` of a layer: read into memory when small, else spilled to an
/// anonymous temporary file (a zip is read from its end), never past
/// [`crate::limits::JAR_MAX`].
fn layer_jar_classes(entry: &mut dyn Read, size: u64, path: &str) -> io::Result<i64> {
    use crate::limits::{JAR_MAX, TooLarge};
    let what = format!("jar `{}`", crate::limits::shorten(path));
    if size > JAR_MAX {
        return Err(TooLarge {
            subject: what,
            limit: JAR_MAX,
        }
        .into());
    }
    if size <= 16 << 20 {
        let bytes = crate::limits::read_to_limit(entry, size, &what)?;
        return count_zip(io::Cursor::new(bytes), &what, true);
    }
    let mut spill = tempfile::tempfile()?;
    io::copy(&mut entry.take(size), &mut spill)?;
    count_zip(spill, &what, true)
}

/// What one layer does to the file system view, in order: a layer read once can be replayed
/// from the cache (`Scanner::apply`) instead of downloaded again.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct LayerSummary {
    ops: Vec<Op>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
enum Op {
    /// `.wh..wh..opq`: the directory's earlier contents are gone.
    Opaque(String),
    /// `.wh.<name>`: this path (and anything under it) is gone.
    Remove(String),
    /// A file that counts.
    Put(String, Entry),
    /// A launch env file.
    Env(EnvFile),
}

impl LayerSummary {
    /// Reads one layer (an uncompressed tar stream).
    pub fn read(tar: impl Read) -> io::Result<Self> {
        let mut ops = Vec::new();
        let mut archive = tar::Archive::new(tar);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let raw = entry.path()?.to_string_lossy().into_owned();
            let path = normalize("/", &raw);
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            // Whiteouts: `.wh..wh..opq` empties the directory, `.wh.<name>` removes one path.
            if name == ".wh..wh..opq" {
                ops.push(Op::Opaque(dir.to_string()));
                continue;
            }
            if let Some(gone) = name.strip_prefix(".wh.") {
                ops.push(Op::Remove(format!("{dir}/{gone}")));
                continue;
            }
            let kind = entry.header().entry_type();
            if kind.is_symlink() {
                if let Some(link) = entry.link_name()? {
                    let target = normalize(dir, &link.to_string_lossy());
                    ops.push(Op::Put(path.clone(), Entry::Link(target)));
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            // `layers/<buildpack>/<layer>/env.launch/<VAR>.<suffix>` and `…/env/…`.
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            if let ["layers", bp, layer, env_dir, file] = parts.as_slice()
                && (*env_dir == "env.launch" || *env_dir == "env")
            {
                // Bounded, and never shown whole: a 1.5 GiB `env.launch` file is an error.
                let subject = format!("env file `{}`", crate::limits::shorten(&path));
                let bytes = crate::limits::read_to_limit(
                    &mut entry,
                    crate::limits::ENV_FILE_MAX,
                    &subject,
                )?;
                let value = String::from_utf8(bytes).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{subject} is not UTF-8"),
                    )
                })?;
                let (var, suffix) = match file.rsplit_once('.') {
                    Some((v, s))
                        if ["default", "override", "append", "prepend", "delim"].contains(&s) =>
                    {
                        (v.to_string(), s.to_string())
                    }
                    _ => (file.to_string(), "override".to_string()),
                };
                ops.push(Op::Env(EnvFile {
                    buildpack_dir: bp.to_string(),
                    layer: layer.to_string(),
                    var,
                    suffix,
                    value,
                }));
                continue;
            }
            if is_class(name) {
                ops.push(Op::Put(path, Entry::Class));
            } else if name.ends_with(".jar") {
                let size = entry.size();
                // libjvm skips empty jars named like `*none*` (placeholder files); other empty
                // or non-zip jars fail to open and count nothing.
                if size == 0 {
                    continue;
                }
                let n = layer_jar_classes(&mut entry, size, &path)?;
                ops.push(Op::Put(path, Entry::Jar(n)));
            }
        }
        Ok(Self { ops })
    }
}

impl Scanner {
    /// Reads one layer (an uncompressed tar stream), applying its whiteouts to what earlier
    /// layers held.
    pub fn scan_layer(&mut self, tar: impl Read) -> io::Result<()> {
        self.apply(&LayerSummary::read(tar)?);
        Ok(())
    }

    /// Applies a layer read earlier.
    pub fn apply(&mut self, layer: &LayerSummary) {
        for op in &layer.ops {
            match op {
                Op::Opaque(dir) => self.remove_under(&format!("{dir}/")),
                Op::Remove(target) => {
                    self.files.remove(target);
                    self.remove_under(&format!("{target}/"));
                }
                Op::Put(path, entry) => {
                    self.files.insert(path.clone(), entry.clone());
                }
                Op::Env(e) => self.env_files.push(e.clone()),
            }
        }
    }

    /// Removes every path under `prefix` (which ends in `/`): a range of the sorted map, so a
    /// whiteout costs what it removes, not a pass over every file.
    fn remove_under(&mut self, prefix: &str) {
        let gone: Vec<String> = self
            .files
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(prefix))
            .cloned()
            .collect();
        for p in gone {
            self.files.remove(&p);
        }
    }

    fn count(&self, path: &str, depth: usize) -> Option<i64> {
        match self.files.get(path)? {
            Entry::Class => Some(1),
            Entry::Jar(n) => Some(*n),
            // Bounded: a symlink loop must not hang.
            Entry::Link(t) if depth < 8 => self.count(t, depth + 1),
            Entry::Link(_) => None,
        }
    }

    /// The launch environment and the class counts, as the CNB launcher builds the environment
    /// (lifecycle `env.NewLaunchEnv` + `AddEnvDir`): the process environment first — the
    /// image config `Env` with the platform's variables (`docker run -e`, here `--env`) over it —
    /// then the `env.launch` files of buildpacks in `buildpack_order`, layers by name, each
    /// applied to what is there: `.override` replaces even a platform value, `.default` sets
    /// only what is unset or empty, `.append`/`.prepend` extend the platform value with the
    /// layer's `.delim`.
    pub fn finish(
        &self,
        config_env: &BTreeMap<String, String>,
        platform_env: &BTreeMap<String, String>,
        buildpack_order: &[String],
    ) -> ImageInputs {
        let mut env: BTreeMap<String, (String, String)> = config_env
            .iter()
            .map(|(k, v)| (k.clone(), (v.clone(), "image config Env".to_string())))
            .collect();
        for (k, v) in platform_env {
            env.insert(k.clone(), (v.clone(), "--env".to_string()));
        }
        let rank = |dir: &str| {
            buildpack_order
                .iter()
                .position(|id| id.replace('/', "_") == dir)
                .unwrap_or(usize::MAX)
        };
        let mut files: Vec<&EnvFile> = self.env_files.iter().collect();
        files.sort_by(|a, b| {
            (rank(&a.buildpack_dir), &a.buildpack_dir, &a.layer, &a.var).cmp(&(
                rank(&b.buildpack_dir),
                &b.buildpack_dir,
                &b.layer,
                &b.var,
            ))
        });
        for f in &files {
            let from = format!(
                "/layers/{}/{}/env.launch/{}.{}",
                f.buildpack_dir, f.layer, f.var, f.suffix
            );
            let delim = files
                .iter()
                .find(|d| {
                    d.suffix == "delim"
                        && d.var == f.var
                        && d.layer == f.layer
                        && d.buildpack_dir == f.buildpack_dir
                })
                .map(|d| d.value.clone())
                .unwrap_or_default();
            match f.suffix.as_str() {
                // A default never replaces a value already set (by the config or the platform);
                // the launcher treats an empty value as unset.
                "default" => {
                    let e = env.entry(f.var.clone()).or_default();
                    if e.0.is_empty() {
                        *e = (f.value.clone(), from);
                    }
                }
                "override" => {
                    env.insert(f.var.clone(), (f.value.clone(), from));
                }
                "append" => {
                    let e = env.entry(f.var.clone()).or_default();
                    e.0 = if e.0.is_empty() {
                        f.value.clone()
                    } else {
                        format!("{}{delim}{}", e.0, f.value)
                    };
                    e.1 = if e.1.is_empty() {
                        from
                    } else {
                        format!("{} + {from}", e.1)
                    };
                }
                "prepend" => {
                    let e = env.entry(f.var.clone()).or_default();
                    e.0 = if e.0.is_empty() {
                        f.value.clone()
                    } else {
                        format!("{}{delim}{}", f.value, e.0)
                    };
                    e.1 = if e.1.is_empty() {
                        from
                    } else {
                        format!("{from} + {}", e.1)
                    };
                }
                _ => {}
            }
        }
        let app = env
            .get("BPI_APPLICATION_PATH")
            .map(|(v, _)| normalize("/", v))
            .unwrap_or_else(|| "/workspace".into());
        let prefix = format!("{}/", app.trim_end_matches('/'));
        let mut app_classes = 0;
        let mut by_dir: BTreeMap<String, i64> = BTreeMap::new();
        let mut detail = Vec::new();
        for (path, entry) in &self.files {
            if !path.starts_with(&prefix) {
                continue;
            }
            let n = match entry {
                Entry::Class => {
                    let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
                    *by_dir.entry(dir).or_default() += 1;
                    1
                }
                // libjvm opens every `*.jar` path, following links; other links are walked
                // only when they name a class file.
                Entry::Jar(n) => {
                    detail.push((path.clone(), *n));
                    *n
                }
                Entry::Link(_) => {
                    let n = self.count(path, 0).unwrap_or(0);
                    if n > 0 {
                        detail.push((path.clone(), n));
                    }
                    n
                }
            };
            app_classes += n;
        }
        detail.extend(by_dir.into_iter().map(|(d, n)| (format!("{d}/*"), n)));
        detail.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ImageInputs {
            env: env
                .into_iter()
                .map(|(name, (value, from))| Source { name, value, from })
                .collect(),
            app_classes,
            app_detail: detail,
            agent_classes: 0,
            missing_agents: Vec::new(),
        }
    }

    /// Classes of the agent jars at `paths` (absolute); paths not in the image are returned.
    pub fn agents(&self, paths: &[String]) -> (i64, Vec<String>) {
        let mut total = 0;
        let mut missing = Vec::new();
        for p in paths {
            match self.count(&normalize("/", p), 0) {
                Some(n) => total += n,
                None => missing.push(p.clone()),
            }
        }
        (total, missing)
    }
}

#[cfg(test)]
pub(crate) mod tests;
