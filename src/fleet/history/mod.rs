//! What ran when: every scheduled run and what it saw of each watched reference, so that
//! "which image ran last Tuesday" and "does the way back still exist" can be answered after the
//! registry forgot.
//!
//! One interface, [`History`], over three stores, each in its own file:
//! - [`sqlite`]: a local SQLite file, the default (its schema and migrations: [`schema`]);
//! - [`oci`]: an OCI artifact in a registry (`oci://…`), read into a temporary SQLite database
//!   and appended to with one layer per run;
//! - [`postgres`]: a PostgreSQL database (`postgres://…`), for many jobs writing at once (shards);
//!   its connection follows libpq's conventions ([`pgconn`]).
//!
//! Every store holds the same model, sized so that a run that saw nothing new costs a few bytes
//! per service: runs; images stored once, content-addressed ([`image_key`]: digest, platform
//! and the snapshot's JSON); a digest's packages stored once; per run and watched reference one
//! small row pointing at its image; finding texts stored once and linked per run.
//!
//! A run dated beyond the allowed clock skew ([`crate::clock::MAX_CLOCK_SKEW`]) is refused on
//! write and left out of every read, with a warning naming it: a wrong clock or a hand-edited
//! record can never disarm `--expect-every`.

pub(crate) mod oci;
mod pgconn;
mod pgtls;
mod postgres;
mod schema;
mod sqlite;

use std::path::PathBuf;

pub(crate) use crate::clock::{parse_rfc3339, rfc3339};
use crate::reference::{ImageRef, RegistryRef};
pub(crate) use crate::report::fleet::{Observation, RecordedFinding, Run};
use crate::source::Fetcher;

/// Where the history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A local SQLite database.
    File(PathBuf),
    /// `oci://REGISTRY/REPOSITORY:TAG`.
    Oci(RegistryRef),
    /// `postgres://…` or `postgresql://…`.
    Postgres(pgconn::PgUrl),
}

/// What `--history` accepts, for messages.
const SUPPORTED: &str = "a file path (SQLite), oci://REGISTRY/REPOSITORY:TAG, or postgres:// / postgresql:// (PostgreSQL)";

impl std::str::FromStr for Location {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A location may carry user-info by mistake, or a password: never echoed.
        let bad = |why: &str| {
            format!(
                "invalid history location `{}`: {}",
                crate::redact::scrub(&pgconn::redact_url(s)),
                crate::redact::scrub(why)
            )
        };
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return pgconn::PgUrl::parse(s)
                .map(Self::Postgres)
                .map_err(|e| bad(&e));
        }
        let Some(rest) = s.strip_prefix("oci://") else {
            // Any other scheme is a mistake, never a directory named `postgres:`.
            if let Some((scheme, _)) = s.split_once("://")
                && !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Err(bad(&format!(
                    "`{scheme}://` is not a supported kind of history; use {SUPPORTED}"
                )));
            }
            return Ok(Self::File(PathBuf::from(s)));
        };
        match rest.parse::<ImageRef>() {
            Ok(ImageRef::Registry(r)) => {
                if r.reference.digest().is_some() || r.reference.tag().is_none() {
                    return Err(bad(
                        "expected oci://REGISTRY/REPOSITORY:TAG (a tag, no digest)",
                    ));
                }
                if !rest.contains('/') {
                    return Err(bad("name the registry: oci://REGISTRY/REPOSITORY:TAG"));
                }
                Ok(Self::Oci(r))
            }
            Ok(_) => Err(bad("expected oci://REGISTRY/REPOSITORY:TAG")),
            Err(e) => Err(bad(&e.to_string())),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Oci(r) => write!(f, "oci://{}", r.input),
            Self::Postgres(u) => write!(f, "{u}"),
        }
    }
}

impl Location {
    /// `--history`, else the default file: `$XDG_STATE_HOME/bpdrift/history.sqlite`, else
    /// `~/.local/state/bpdrift/history.sqlite`.
    pub(crate) fn or_default(given: Option<&Self>) -> Option<Self> {
        given.cloned().or_else(|| {
            let var = |k: &str| {
                std::env::var_os(k)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            };
            var("XDG_STATE_HOME")
                .or_else(|| var("HOME").map(|h| h.join(".local/state")))
                .map(|d| Self::File(d.join("bpdrift").join("history.sqlite")))
        })
    }
}

/// A history problem.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite refused.
    #[error("history database `{}`: {what}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite `user_version` bpdrift never writes (negative): not a bpdrift history.
    #[error("history database `{}` has schema version {found}, which bpdrift never writes: not a bpdrift history (left unchanged)", path.display())]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// A store written by a newer bpdrift.
    #[error(
        "history `{location}` has schema version {found}; this bpdrift knows up to {known} (upgrade bpdrift)"
    )]
    TooNew {
        /// The store.
        location: String,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// `--history` names a FIFO, a device or a directory: SQLite would hang on it or fail
    /// obscurely, so it is refused before it is opened.
    #[error("history `{}` (--history) is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// "a FIFO", "a directory", …
        kind: &'static str,
    },
    /// The directory for the file could not be created.
    #[error("cannot create the directory of history database `{}`", path.display())]
    Dir {
        /// The file.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// PostgreSQL refused, or could not be reached.
    #[error("history `{location}`: {what}")]
    Postgres {
        /// The database, its password redacted.
        location: String,
        /// What was being done.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL connection could not be set up (password file, TLS settings).
    #[error("history `{location}`: {why}")]
    Connection {
        /// The database, its password redacted.
        location: String,
        /// What is wrong.
        why: String,
    },
    /// The registry artifact.
    #[error(transparent)]
    Artifact(#[from] Box<oci::ArtifactError>),
    /// A run dated in the future: refused.
    #[error(
        "history `{location}`: refusing to record a run dated {at}, more than {} s ahead of this machine's clock ({now}); check the clock (or --now)",
        crate::clock::MAX_CLOCK_SKEW
    )]
    Future {
        /// The store.
        location: String,
        /// The run's time.
        at: String,
        /// This machine's.
        now: String,
    },
    /// A temporary database for a registry history could not be made.
    #[error("cannot create a temporary directory for history `{location}`")]
    Temp {
        /// The store.
        location: String,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl From<oci::ArtifactError> for HistoryError {
    fn from(e: oci::ArtifactError) -> Self {
        Self::Artifact(Box::new(e))
    }
}

/// The content address of an image as the history keeps it: its digest, platform and snapshot
/// (the JSON of `ImageMetadata::for_history`, without packages). The same image seen by a
/// thousand runs is one row; the same digest read by a newer bpdrift whose model says more is
/// a second one.
pub(crate) fn image_key(digest: &str, platform: Option<&str>, snapshot: Option<&str>) -> String {
    let mut bytes = Vec::with_capacity(digest.len() + 64 + snapshot.map_or(0, str::len));
    for part in [Some(digest), platform, snapshot] {
        bytes.extend_from_slice(part.unwrap_or("").as_bytes());
        bytes.push(0);
    }
    crate::digest::sha256(&bytes)
        .trim_start_matches("sha256:")
        .to_string()
}

/// An observation's snapshot as stored: the model's JSON, packages apart (stored once per digest).
pub(crate) fn snapshot_json(o: &Observation) -> Option<String> {
    o.snapshot
        .as_ref()
        .and_then(|s| serde_json::to_string(&s.metadata).ok())
}

/// How a run ended: what [`History::finish_run`] records in the run's one transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunEnd<'a> {
    /// The run, as [`History::start_run`] numbered it.
    pub(crate) run_id: i64,
    /// When it finished (RFC 3339).
    pub(crate) finished_at: &'a str,
    /// `ok` or `partial`.
    pub(crate) status: &'a str,
    /// One row per watched reference.
    pub(crate) sightings: &'a [Sighting],
    /// The findings per service.
    pub(crate) findings: &'a [RecordedFinding],
}

/// What a run records of one watched reference: a small row, its image stored apart (and
/// once) by [`History::put_images`].
/// The same row is a line of the registry artifact's run records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sighting {
    pub(crate) service: String,
    pub(crate) role: String,
    pub(crate) reference: String,
    /// The image's key ([`image_key`]); none when it could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Only when it differs from the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) observed_at: Option<String>,
}

/// One image to store: its key, digest, platform and snapshot text, and its packages' text.
pub(crate) struct NewImage {
    pub(crate) key: String,
    pub(crate) digest: String,
    pub(crate) platform: Option<String>,
    pub(crate) snapshot: Option<String>,
    pub(crate) packages: Option<String>,
}

/// Images are stored in batches of this many (one transaction or statement each).
const IMAGE_BATCH: usize = 64;

/// `observations` as sightings, and the images (and packages) they name.
pub(crate) fn split(
    observations: &[Observation],
    started_at: &str,
) -> (Vec<Sighting>, Vec<NewImage>) {
    let mut sightings = Vec::with_capacity(observations.len());
    let mut images = Vec::new();
    for o in observations {
        let image = o.digest.as_deref().map(|d| {
            let snapshot = snapshot_json(o);
            let key = image_key(d, o.platform.as_deref(), snapshot.as_deref());
            images.push(NewImage {
                key: key.clone(),
                digest: d.to_string(),
                platform: o.platform.clone(),
                snapshot,
                packages: o
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.packages.as_ref())
                    .and_then(|p| serde_json::to_string(p).ok()),
            });
            key
        });
        sightings.push(Sighting {
            service: o.service.clone(),
            role: o.role.clone(),
            reference: o.reference.clone(),
            image,
            error: o.error.clone(),
            observed_at: (o.observed_at != started_at).then(|| o.observed_at.clone()),
        });
    }
    (sightings, images)
}

/// A run as it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunStart<'a> {
    /// RFC 3339.
    pub(crate) started_at: &'a str,
    /// The fleet file's name.
    pub(crate) fleet: &'a str,
    /// The run id shared by every shard of one run (`--run-id`); none: this run alone.
    pub(crate) group: Option<&'a str>,
    /// `K/N` with `--shard`.
    pub(crate) shard: Option<&'a str>,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `report`: created and migrated when needed, written.
    Write,
    /// `history`, `diff --history`, `report --from-history`: never changed.
    Read,
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Oci(Box<oci::OciHistory>),
    Postgres(postgres::Pg),
}

/// A history, opened.
pub(crate) struct History {
    backend: Backend,
    /// How the location is printed (no password).
    name: String,
    /// Images waiting to be stored (see [`History::put_images`]).
    pending: std::cell::RefCell<Vec<NewImage>>,
}

/// Now, seconds since the epoch, from this machine's clock (not `--now`): what records are
/// judged against.
pub(crate) fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Calls the same query on whichever store this is (SQLite directly, the artifact's local
/// copy, PostgreSQL awaited).
macro_rules! each {
    ($self:expr, $method:ident($($arg:expr),*)) => {
        match &$self.backend {
            Backend::Sqlite(s) => s.$method($($arg),*),
            Backend::Oci(o) => o.local().$method($($arg),*),
            Backend::Postgres(p) => p.$method($($arg),*).await,
        }
    };
}

impl History {
    /// Opens the history at `location`. `None`: there is none (and `access` is `Read`).
    pub(crate) async fn open(
        location: &Location,
        fetcher: &Fetcher,
        access: Access,
    ) -> Result<Option<Self>, HistoryError> {
        let cutoff = wall_clock().saturating_add(crate::clock::MAX_CLOCK_SKEW);
        let name = location.to_string();
        if let Location::File(path) = location
            && let Ok(m) = std::fs::metadata(path)
            && !m.is_file()
        {
            return Err(HistoryError::NotRegular {
                path: path.clone(),
                kind: crate::limits::file_kind(&m),
            });
        }
        let backend = match location {
            Location::File(path) => match access {
                Access::Write => Backend::Sqlite(sqlite::Sqlite::open(path, cutoff)?),
                Access::Read if !path.exists() => return Ok(None),
                Access::Read => Backend::Sqlite(sqlite::Sqlite::open_read_only(path, cutoff)?),
            },
            Location::Oci(r) => match oci::OciHistory::open(r, fetcher, access, cutoff).await? {
                Some(o) => Backend::Oci(Box::new(o)),
                None => return Ok(None),
            },
            Location::Postgres(url) => match postgres::Pg::open(url, access, cutoff).await? {
                Some(p) => Backend::Postgres(p),
                None => return Ok(None),
            },
        };
        let h = Self {
            backend,
            name,
            pending: Default::default(),
        };
        h.warn_distrusted().await?;
        Ok(Some(h))
    }

    /// Says, once, which records are left out for being dated in the future.
    async fn warn_distrusted(&self) -> Result<(), HistoryError> {
        let future: Vec<(String, String)> = match &self.backend {
            Backend::Sqlite(s) => s.distrusted()?,
            Backend::Oci(o) => o.local().distrusted()?,
            Backend::Postgres(p) => p.distrusted().await?,
        };
        for (uid, at) in &future {
            tracing::warn!(
                "history `{}`: run `{uid}` is dated {at}, in the future (beyond {} s of clock skew): left out, so it cannot make the schedule look alive; a wrong clock or a hand-edit wrote it",
                self.name,
                crate::clock::MAX_CLOCK_SKEW
            );
        }
        Ok(())
    }

    /// The most recent finished run (any status but `running`), other than those of `group`.
    pub(crate) async fn last_finished_run(
        &self,
        excluding_group: Option<&str>,
    ) -> Result<Option<Run>, HistoryError> {
        each!(self, last_finished_run(excluding_group))
    }

    /// When the last run that fetched every image (status `ok`) finished, seconds since the
    /// epoch: what the staleness alert watches.
    pub(crate) async fn last_success(&self) -> Result<Option<i64>, HistoryError> {
        each!(self, last_success())
    }

    /// Records the start of a run; refuses one dated in the future.
    pub(crate) async fn start_run(&mut self, run: RunStart<'_>) -> Result<i64, HistoryError> {
        let now = wall_clock();
        if parse_rfc3339(run.started_at).is_none_or(|at| crate::clock::in_future(at, now)) {
            return Err(HistoryError::Future {
                location: self.name.clone(),
                at: run.started_at.to_string(),
                now: rfc3339(now),
            });
        }
        match &mut self.backend {
            Backend::Sqlite(s) => s.start_run(run),
            Backend::Oci(o) => o.local_mut().start_run(run),
            Backend::Postgres(p) => p.start_run(run).await,
        }
    }

    /// Stores the images (and packages) `observations` name, unless stored already, and
    /// returns the run's small rows for them: called as each service is done, so a run holds
    /// no image longer than it takes to assess it. Not part of the run's transaction (an
    /// image nobody points at is harmless).
    pub(crate) async fn put_images(
        &self,
        observations: &[Observation],
        started_at: &str,
    ) -> Result<Vec<Sighting>, HistoryError> {
        let (sightings, images) = split(observations, started_at);
        let full = {
            let mut pending = self.pending.borrow_mut();
            pending.extend(images);
            pending.len() >= IMAGE_BATCH
        };
        if full {
            self.store_pending().await?;
        }
        Ok(sightings)
    }

    /// Stores the images waiting, in one batch.
    async fn store_pending(&self) -> Result<(), HistoryError> {
        let batch = std::mem::take(&mut *self.pending.borrow_mut());
        if batch.is_empty() {
            return Ok(());
        }
        each!(self, put_images(&batch))
    }

    /// Records a run's rows and findings and marks it finished, atomically.
    pub(crate) async fn finish_run(&mut self, end: RunEnd<'_>) -> Result<(), HistoryError> {
        self.store_pending().await?;
        match &mut self.backend {
            Backend::Sqlite(s) => s.finish_run(end),
            Backend::Oci(o) => o.local_mut().finish_run(end),
            Backend::Postgres(p) => p.finish_run(end).await,
        }
    }

    /// The latest successful observation of `service`/`role` before run `before_run`.
    pub(crate) async fn previous(
        &self,
        service: &str,
        role: &str,
        before_run: i64,
    ) -> Result<Option<Observation>, HistoryError> {
        each!(self, previous(service, role, before_run))
    }

    /// The packages recorded for `digest` (recorded once per digest).
    pub(crate) async fn packages(
        &self,
        digest: &str,
    ) -> Result<Option<crate::packages::ImagePackages>, HistoryError> {
        each!(self, packages(digest))
    }

    /// Distinct digests of `service` seen in role `role`, newest first, with the reference
    /// they were seen under (rollback candidates).
    pub(crate) async fn digests(
        &self,
        service: &str,
        role: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, HistoryError> {
        each!(self, digests(service, role, limit))
    }

    /// Every observation of `service`, oldest first; the packages of each (role, digest) on
    /// its first observation.
    pub(crate) async fn timeline(&self, service: &str) -> Result<Vec<Observation>, HistoryError> {
        let mut t = each!(self, timeline(service))?;
        let mut seen = std::collections::BTreeSet::new();
        for o in &mut t {
            let (Some(d), Some(snap)) = (o.digest.clone(), o.snapshot.as_mut()) else {
                continue;
            };
            if seen.insert((o.role.clone(), d.clone())) {
                snap.packages = self.packages(&d).await?;
            }
        }
        Ok(t)
    }

    /// Service names with any observation.
    pub(crate) async fn services(&self) -> Result<Vec<String>, HistoryError> {
        each!(self, services())
    }

    /// The run id shared by the shards of the most recent finished run, and its runs.
    pub(crate) async fn latest_group(&self) -> Result<Option<(String, Vec<Run>)>, HistoryError> {
        each!(self, latest_group())
    }

    /// The latest observation of `service`/`role` made by a run of `group`.
    pub(crate) async fn in_group(
        &self,
        group: &str,
        service: &str,
        role: &str,
    ) -> Result<Option<(i64, Observation)>, HistoryError> {
        each!(self, in_group(group, service, role))
    }

    /// Publishes what this run recorded, for a store that needs it (the registry artifact):
    /// the status line to print.
    pub(crate) async fn publish(
        &mut self,
        fetcher: &Fetcher,
    ) -> Result<Option<String>, HistoryError> {
        match &mut self.backend {
            Backend::Oci(o) => o.publish(fetcher).await.map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            "h.sqlite".parse::<Location>().unwrap(),
            Location::File("h.sqlite".into())
        );
        assert!(matches!(
            "oci://ghcr.io/acme/history:main"
                .parse::<Location>()
                .unwrap(),
            Location::Oci(_)
        ));
        for pg in [
            "postgres://bpdrift@db.example/fleet",
            "postgresql://db.example:5433/fleet?sslmode=verify-full",
        ] {
            assert!(
                matches!(pg.parse::<Location>().unwrap(), Location::Postgres(_)),
                "{pg}"
            );
        }
        for bad in [
            "oci://ghcr.io/acme/h@sha256:00",
            "oci://history:main",
            "oci://",
            "mysql://db/fleet",
            "s3://bucket/history.sqlite",
        ] {
            assert!(bad.parse::<Location>().is_err(), "{bad}");
        }
        let err = "redis://u:hunter2@db/0".parse::<Location>().unwrap_err();
        assert!(
            err.contains("`redis://` is not a supported kind of history"),
            "{err}"
        );
        assert!(err.contains("postgres://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn image_keys_are_content_addresses() {
        let a = image_key("sha256:aa", Some("linux/amd64"), Some("{}"));
        assert_eq!(a.len(), 64);
        assert_eq!(a, image_key("sha256:aa", Some("linux/amd64"), Some("{}")));
        assert_ne!(
            a,
            image_key("sha256:aa", Some("linux/amd64"), Some("{\"os\":1}"))
        );
        assert_ne!(a, image_key("sha256:aa", None, Some("{}")));
        // The separators keep the parts apart.
        assert_ne!(
            image_key("sha256:a", Some("a"), None),
            image_key("sha256:aa", None, None)
        );
    }
}
