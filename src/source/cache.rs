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
//! waits on the network: a cold fleet run writes three small files per image, and creating
//! files costs the kernel about a millisecond each on a busy disk. Until written, an entry is
//! served from memory; the last handle to the cache waits for the writes to finish.

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
}

/// What the writer thread is asked to do.
enum Job {
    Write(PathBuf, Arc<[u8]>),
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
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
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

    fn tag_path(&self, key: &str) -> PathBuf {
        // Tags contain `/` and `:`; their hash is a safe, fixed-length file name.
        let hex = manifest::sha256(key.as_bytes());
        self.root.join("tags").join(&hex["sha256:".len()..])
    }

    /// The digest `registry/repository:tag` pointed to when last fetched. Mutable (tags move):
    /// only a hint that a HEAD is worth sending before a GET.
    pub fn get_tag(&self, key: &str) -> Option<String> {
        let path = self.tag_path(key);
        let d = match self.writer.pending(&path) {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => read_entry_text(&path, 1 << 10)?,
        };
        d.starts_with("sha256:").then(|| d.trim().to_string())
    }

    /// Remembers where a tag pointed.
    pub fn put_tag(&self, key: &str, digest: &str) {
        self.writer.write(self.tag_path(key), digest.as_bytes());
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
