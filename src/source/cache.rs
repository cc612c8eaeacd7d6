//! An on-disk, content-addressed cache of manifests and configs, keyed by digest, plus what each
//! registry asked for (its auth challenge: no secret) so that a warm rerun sends no request that
//! only earns a 401.
//!
//! Content-addressed means entries never change: a reader verifies the digest of what it reads
//! (a torn or tampered file is dropped and fetched again), and writers go through a temporary
//! file and an atomic rename, so two processes sharing the directory cannot see half an entry.
//! Default location: `$XDG_CACHE_HOME/bpdrift`, else `~/.cache/bpdrift`.
//!
//! Manifests, configs and tags are written by a thread of their own, off the async thread that
//! waits on the network. Creating a file is the expensive part of a cold fleet run (the
//! kernel's inode allocation was a third of bpdrift's CPU on a 3,000-image run; on an ext4
//! without a journal every creation also scans recently deleted inodes), so an image costs one
//! new file: its manifest and config together under `images/` (an index or a lone blob still
//! has a file of its own under `blobs/`), and tags are lines appended to one `tags.log`. Until
//! written, an entry is served from memory; the last handle to the cache waits for the writes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use super::manifest;

/// An entry read back: regular files only, bounded (the directory may be shared, or named by
/// `--cache-dir`); anything else reads as absent.
fn read_entry(path: &Path, limit: u64) -> Option<Vec<u8>> {
    crate::limits::read_file(path, limit, "cache entry").ok()
}

fn read_entry_text(path: &Path, limit: u64) -> Option<String> {
    String::from_utf8(read_entry(path, limit)?).ok()
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    writer: Arc<Writer>,
    /// Image manifests waiting for their config, by manifest digest (see `hold_manifest`).
    held: Arc<Mutex<HashMap<String, Arc<[u8]>>>>,
    /// The tag log, read once (see `get_tag`), with this run's own tags.
    tags: Arc<std::sync::OnceLock<Mutex<HashMap<String, String>>>>,
}

/// Manifests held for their config at most (a config that never comes, a failed fetch, leaves
/// its manifest here; past this many the oldest are forgotten: a refetch, nothing worse).
const HELD_MAX: usize = 4096;
/// The tag log is rewritten with one line per tag when it grows past this.
const TAG_LOG_COMPACT: u64 = 8 << 20;
/// … and never read past this.
const TAG_LOG_MAX: u64 = 32 << 20;
/// An `images/` entry's parts: the manifest, and the config's digest and bytes.
type ImageEntry = (Vec<u8>, (String, Vec<u8>));
/// The first line of an `images/` entry: its format, then the manifest's length and the
/// config's digest; the manifest and the config follow.
const IMAGE_ENTRY: &str = "bpdrift-image 1";

/// What the writer thread is asked to do.
enum Job {
    Write(PathBuf, Arc<[u8]>),
    /// A line appended to the tag log (one `write`, so concurrent writers' lines never mix).
    Append(PathBuf, String),
    #[cfg(test)]
    Flush(mpsc::SyncSender<()>),
}

/// The writer thread (started on the first write) and the entries not written yet.
#[derive(Default)]
struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pending: Arc<Mutex<HashMap<PathBuf, Arc<[u8]>>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Queues `bytes` for `path`; written inline when no thread can be started.
    fn write(&self, path: PathBuf, bytes: &[u8]) {
        let bytes: Arc<[u8]> = Arc::from(bytes);
        self.pending
            .lock()
            .expect("pending lock")
            .insert(path.clone(), bytes.clone());
        let mut jobs = self.jobs.lock().expect("jobs lock");
        if jobs.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let pending = self.pending.clone();
            let spawned = std::thread::Builder::new()
                .name("bpdrift-cache".into())
                .spawn(move || {
                    for job in rx {
                        match job {
                            Job::Append(path, line) => append(&path, &line),
                            Job::Write(path, bytes) => {
                                if let Err(e) = write_atomic(&path, &bytes) {
                                    tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
                                }
                                let mut p = pending.lock().expect("pending lock");
                                if p.get(&path).is_some_and(|b| Arc::ptr_eq(b, &bytes)) {
                                    p.remove(&path);
                                }
                            }
                            #[cfg(test)]
                            Job::Flush(done) => {
                                let _ = done.send(());
                            }
                        }
                    }
                });
            match spawned {
                Ok(handle) => {
                    *self.thread.lock().expect("thread lock") = Some(handle);
                    *jobs = Some(tx);
                }
                Err(_) => {
                    drop(jobs);
                    self.written_inline(&path, &bytes);
                    return;
                }
            }
        }
        if let Some(tx) = jobs.as_ref()
            && tx.send(Job::Write(path.clone(), bytes.clone())).is_err()
        {
            drop(jobs);
            self.written_inline(&path, &bytes);
        }
    }

    /// Queues a line for the end of `path` (written inline when the thread is not running:
    /// a tag line only ever follows an entry write, which starts it).
    fn append(&self, path: PathBuf, line: String) {
        let jobs = self.jobs.lock().expect("jobs lock");
        match jobs.as_ref() {
            Some(tx) => {
                if let Err(mpsc::SendError(Job::Append(path, line))) =
                    tx.send(Job::Append(path, line))
                {
                    append(&path, &line);
                }
            }
            None => append(&path, &line),
        }
    }

    fn written_inline(&self, path: &Path, bytes: &Arc<[u8]>) {
        if let Err(e) = write_atomic(path, bytes) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
        }
        self.pending.lock().expect("pending lock").remove(path);
    }

    fn pending(&self, path: &Path) -> Option<Arc<[u8]>> {
        self.pending
            .lock()
            .expect("pending lock")
            .get(path)
            .cloned()
    }

    /// Waits until everything queued so far is written.
    #[cfg(test)]
    fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        let sent = self
            .jobs
            .lock()
            .expect("jobs lock")
            .as_ref()
            .is_some_and(|tx| tx.send(Job::Flush(done)).is_ok());
        if sent {
            let _ = wait.recv();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // The channel closes, the thread writes what is queued and ends.
        drop(self.jobs.lock().map(|mut j| j.take()));
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

impl Cache {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            writer: Arc::default(),
            held: Arc::default(),
            tags: Arc::default(),
        }
    }

    /// Waits until every entry stored so far is on disk.
    #[cfg(test)]
    pub fn flush(&self) {
        self.writer.flush();
    }

    /// `$XDG_CACHE_HOME/bpdrift`, else `$HOME/.cache/bpdrift`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|d| d.join("bpdrift"))
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        let (alg, hex) = digest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        (ok(alg) && ok(hex)).then(|| self.root.join("blobs").join(alg).join(hex))
    }

    /// The content with this digest, verified; `None` when absent or damaged.
    /// A manifest is held, in an `images/` entry or a blob of its own; anything else is a blob.
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        if let Some(b) = self.held.lock().expect("held lock").get(digest) {
            return Some(b.to_vec());
        }
        if let Some((manifest, _)) = self.image(digest) {
            return Some(manifest);
        }
        self.blob(digest)
    }

    /// A blob of its own (`blobs/`), verified.
    fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest)?;
        if let Some(b) = self.writer.pending(&path) {
            return Some(b.to_vec());
        }
        let bytes = read_entry(&path, crate::limits::CACHE_BLOB_MAX)?;
        if manifest::verify("cache entry", &bytes, digest).is_err() {
            tracing::warn!(path = %path.display(), "dropping a damaged cache entry");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        tracing::debug!(%digest, "cache hit");
        Some(bytes)
    }

    /// Stores verified content. Failures only cost a later refetch, so they are logged, not
    /// returned.
    pub fn put(&self, digest: &str, bytes: &[u8]) {
        if manifest::verify("cache entry", bytes, digest).is_err() {
            return;
        }
        if let Some(path) = self.blob_path(digest) {
            self.writer.write(path, bytes);
        }
    }

    /// Keeps an image manifest (verified) in memory until its config comes (`put_config`), to
    /// store both in one file; served by `get` meanwhile.
    pub fn hold_manifest(&self, digest: &str, bytes: &[u8]) {
        if manifest::verify("cache entry", bytes, digest).is_err() {
            return;
        }
        let mut held = self.held.lock().expect("held lock");
        if held.len() >= HELD_MAX {
            held.clear();
        }
        held.insert(digest.to_string(), Arc::from(bytes));
    }

    /// Stores the config of the image manifest `manifest_digest`: with the manifest in one
    /// `images/` entry when the manifest is held, else as a blob of its own.
    pub fn put_config(&self, manifest_digest: &str, config_digest: &str, config: &[u8]) {
        if manifest::verify("cache entry", config, config_digest).is_err() {
            return;
        }
        let held = self.held.lock().expect("held lock").remove(manifest_digest);
        let (Some(m), Some(path)) = (held, self.image_path(manifest_digest)) else {
            return self.put(config_digest, config);
        };
        let mut entry = format!("{IMAGE_ENTRY}\n{} {config_digest}\n", m.len()).into_bytes();
        entry.extend_from_slice(&m);
        entry.extend_from_slice(config);
        self.writer.write(path, &entry);
    }

    /// The config `config_digest` of the image manifest `manifest_digest`, verified.
    pub fn get_config(&self, manifest_digest: &str, config_digest: &str) -> Option<Vec<u8>> {
        match self.image(manifest_digest) {
            Some((_, (d, config))) if d == config_digest => Some(config),
            // Stored alone (its manifest was not held), or by an older bpdrift.
            _ => self.blob(config_digest),
        }
    }

    fn image_path(&self, digest: &str) -> Option<PathBuf> {
        let (alg, hex) = digest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        (ok(alg) && ok(hex)).then(|| self.root.join("images").join(alg).join(hex))
    }

    /// An `images/` entry: the manifest, and the config's digest and bytes, both verified; a
    /// damaged entry is dropped.
    fn image(&self, digest: &str) -> Option<ImageEntry> {
        let path = self.image_path(digest)?;
        let entry = match self.writer.pending(&path) {
            Some(b) => b.to_vec(),
            None => read_entry(
                &path,
                crate::limits::CACHE_BLOB_MAX.saturating_add(crate::limits::CONFIG_MAX),
            )?,
        };
        let parsed = parse_image(&entry).filter(|(m, (d, c))| {
            manifest::verify("cache entry", m, digest).is_ok()
                && manifest::verify("cache entry", c, d).is_ok()
        });
        if parsed.is_none() {
            tracing::warn!(path = %path.display(), "dropping a damaged cache entry");
            let _ = std::fs::remove_file(&path);
        }
        parsed
    }

    fn tag_log(&self) -> PathBuf {
        self.root.join("tags.log")
    }

    /// The tag log as a map, read on first use: `registry/repository:tag digest` lines, the
    /// last line of a tag wins. A damaged line (a torn write) is skipped.
    fn tags(&self) -> &Mutex<HashMap<String, String>> {
        self.tags.get_or_init(|| {
            let path = self.tag_log();
            let text = read_entry(&path, TAG_LOG_MAX).unwrap_or_default();
            let mut map = HashMap::new();
            for line in String::from_utf8_lossy(&text).lines() {
                if let Some((k, d)) = line.split_once(' ')
                    && is_sha256(d)
                {
                    map.insert(k.to_string(), d.to_string());
                }
            }
            // Compacted by whoever reads it grown: a line another process appends meanwhile
            // may be lost, which costs that tag one GET instead of a HEAD.
            if text.len() as u64 > TAG_LOG_COMPACT {
                let mut lines: Vec<String> =
                    map.iter().map(|(k, d)| format!("{k} {d}\n")).collect();
                lines.sort();
                if let Err(e) = write_atomic(&path, lines.concat().as_bytes()) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
                }
            }
            Mutex::new(map)
        })
    }

    /// The digest `registry/repository:tag` pointed to when last fetched. Mutable (tags move):
    /// only a hint that a HEAD is worth sending before a GET.
    pub fn get_tag(&self, key: &str) -> Option<String> {
        self.tags().lock().expect("tags lock").get(key).cloned()
    }

    /// Remembers where a tag pointed.
    pub fn put_tag(&self, key: &str, digest: &str) {
        // A reference never holds whitespace, a digest is `sha256:` and 64 hex digits: nothing
        // else is written, so no line can be forged.
        if key.is_empty()
            || key.chars().any(|c| c.is_whitespace() || c.is_control())
            || !is_sha256(digest)
        {
            return;
        }
        let known = self
            .tags()
            .lock()
            .expect("tags lock")
            .insert(key.to_string(), digest.to_string());
        if known.as_deref() != Some(digest) {
            self.writer
                .append(self.tag_log(), format!("{key} {digest}\n"));
        }
    }

    fn derived_path(&self, kind: &str, digest: &str) -> Option<PathBuf> {
        let (alg, hex) = digest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        (ok(alg) && ok(hex)).then(|| self.root.join(kind).join(format!("{alg}-{hex}.json")))
    }

    /// Something bpdrift derived from the blob `digest` (e.g. what a layer holds for the memory
    /// prediction), under `kind` (which names its format version).
    pub fn get_derived(&self, kind: &str, digest: &str) -> Option<String> {
        read_entry_text(
            &self.derived_path(kind, digest)?,
            crate::limits::CACHE_DERIVED_MAX,
        )
    }

    /// Remembers something derived from the blob `digest`.
    pub fn put_derived(&self, kind: &str, digest: &str, json: &str) {
        if let Some(path) = self.derived_path(kind, digest)
            && let Err(e) = write_atomic(&path, json.as_bytes())
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
        }
    }

    fn registry_path(&self, registry: &str) -> PathBuf {
        let safe: String = registry
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join("registries").join(format!("{safe}.json"))
    }

    /// The auth challenge `registry` answered with last time (JSON, no secret).
    pub fn get_registry(&self, registry: &str) -> Option<String> {
        read_entry_text(&self.registry_path(registry), 64 << 10)
    }

    /// Remembers the auth challenge of `registry`.
    pub fn put_registry(&self, registry: &str, json: &str) {
        let path = self.registry_path(registry);
        if let Err(e) = write_atomic(&path, json.as_bytes()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
        }
    }
}

/// `sha256:` and 64 lowercase hex digits.
fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// An `images/` entry's parts: the manifest, and the config's digest and bytes.
fn parse_image(entry: &[u8]) -> Option<ImageEntry> {
    let rest = entry
        .strip_prefix(IMAGE_ENTRY.as_bytes())?
        .strip_prefix(b"\n")?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let head = std::str::from_utf8(&rest[..nl]).ok()?;
    let (len, digest) = head.split_once(' ')?;
    let len: usize = len.parse().ok()?;
    let body = &rest[nl + 1..];
    let (m, c) = (body.get(..len)?, body.get(len..)?);
    Some((m.to_vec(), (digest.to_string(), c.to_vec())))
}

/// Appends `line` to `path` in one `write` (`O_APPEND`: lines of concurrent processes never
/// interleave on a local file system). Only to a regular file: a FIFO put there would block the
/// open until a reader came (`O_NONBLOCK` makes it fail instead), a link is not followed.
fn append(path: &Path, line: &str) {
    use std::os::unix::fs::OpenOptionsExt as _;
    let res = (|| {
        std::fs::create_dir_all(path.parent().expect("cache paths have a parent"))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
            .open(path)?;
        if !f.metadata()?.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        f.write_all(line.as_bytes())
    })();
    if let Err(e) = res {
        tracing::warn!(path = %path.display(), error = %e, "cannot write to the cache");
    }
}

/// Writes through a unique temporary file in the same directory (random name, created with
/// `O_EXCL` by the `tempfile` crate, removed on every failure), then renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(dir)?;
    // No fsync: a cache entry lost or torn by a crash is caught by the digest check on read and
    // fetched again, and an fsync per entry cost seconds on a 1000-image run.
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path());
        let digest = manifest::sha256(b"hello");
        assert!(c.get(&digest).is_none());
        c.put(&digest, b"hello");
        assert_eq!(c.get(&digest).as_deref(), Some(&b"hello"[..]));
        // Content that does not match its digest is never stored…
        c.put(&manifest::sha256(b"other"), b"hello");
        assert!(c.get(&manifest::sha256(b"other")).is_none());
        // …and a damaged entry is dropped on read.
        c.flush();
        std::fs::write(c.blob_path(&digest).unwrap(), b"tampered").unwrap();
        assert!(c.get(&digest).is_none());
        assert!(!c.blob_path(&digest).unwrap().exists());
    }

    /// Every file under `dir`, relative.
    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn an_image_is_one_file_and_a_tag_one_line() {
        let d = tempfile::tempdir().unwrap();
        let (m, c) = (&b"{\"manifest\":1}"[..], &b"{\"config\":1}"[..]);
        let (md, cd) = (manifest::sha256(m), manifest::sha256(c));
        {
            let cache = Cache::new(d.path());
            cache.hold_manifest(&md, m);
            assert_eq!(
                cache.get(&md).as_deref(),
                Some(m),
                "held: served from memory"
            );
            cache.put_config(&md, &cd, c);
            cache.put_tag("r.example/app:1", &md);
            cache.put_tag("r.example/app:1", &md);
            cache.put_tag("r.example/app:2", &md);
            cache.put_tag("bad key", &md);
            cache.put_tag("r.example/app:5", "sha256:12\nr.example/app:6 sha256:00");
        }
        assert_eq!(
            files(d.path()),
            vec![
                format!("images/sha256/{}", &md[7..]),
                "tags.log".to_string()
            ]
        );
        let log = std::fs::read_to_string(d.path().join("tags.log")).unwrap();
        assert_eq!(log.lines().count(), 2, "{log}");
        // A torn line (a crash mid-write) and a forged one are skipped.
        std::fs::write(
            d.path().join("tags.log"),
            format!("{log}r.example/app:3 sha256:12\nr.example/app:4"),
        )
        .unwrap();
        let cache = Cache::new(d.path());
        assert_eq!(cache.get(&md).as_deref(), Some(m));
        assert_eq!(cache.get_config(&md, &cd).as_deref(), Some(c));
        assert_eq!(cache.get_tag("r.example/app:2"), Some(md.clone()));
        assert_eq!(cache.get_tag("r.example/app:3"), None);
        assert_eq!(cache.get_tag("r.example/app:4"), None);
        // A config asked for under another digest is not this entry's.
        assert_eq!(cache.get_config(&md, &manifest::sha256(b"x")), None);
        // A damaged entry is dropped on read.
        let path = d.path().join("images/sha256").join(&md[7..]);
        let mut bytes = std::fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Cache::new(d.path()).get_config(&md, &cd), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_tag_log_that_is_not_a_file_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("tags.log");
        let made = std::process::Command::new("mkfifo")
            .arg(&log)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        {
            let cache = Cache::new(d.path());
            assert_eq!(cache.get_tag("r.example/app:1"), None);
            cache.put_tag("r.example/app:1", &manifest::sha256(b"m"));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(!std::fs::metadata(&log).unwrap().is_file());
    }

    #[test]
    fn a_config_without_its_manifest_is_a_blob() {
        let d = tempfile::tempdir().unwrap();
        let c = &b"{}"[..];
        let cd = manifest::sha256(c);
        Cache::new(d.path()).put_config(&manifest::sha256(b"m"), &cd, c);
        assert_eq!(
            Cache::new(d.path())
                .get_config(&manifest::sha256(b"m"), &cd)
                .as_deref(),
            Some(c)
        );
    }

    #[test]
    fn concurrent_writers_never_leave_partial_entries() {
        let d = tempfile::tempdir().unwrap();
        let data = vec![7u8; 1 << 20];
        let digest = manifest::sha256(&data);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| Cache::new(d.path()).put(&digest, &data));
                s.spawn(|| {
                    if let Some(b) = Cache::new(d.path()).get(&digest) {
                        assert_eq!(b.len(), data.len());
                    }
                });
            }
        });
        assert!(Cache::new(d.path()).get(&digest).is_some());
        let leftovers = std::fs::read_dir(d.path().join("blobs/sha256"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
