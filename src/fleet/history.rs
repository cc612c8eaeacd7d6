//! What ran when: every scheduled run and every observation (time, service, reference, digest,
//! buildpacks, findings) in an embedded SQLite database, so that "which image ran last Tuesday"
//! and "does the way back still exist" can be answered after the registry forgot.
//!
//! Two runs may overlap (a slow run and the next cron tick): the database is in WAL mode with a
//! busy timeout, each run's observations are written in one transaction, and a run is recorded
//! as `running` first so the next one can tell it apart from a run that never started.
//! The schema is versioned with `PRAGMA user_version`; [`History::open`] migrates forward.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use crate::report::fleet::{Observation, RecordedFinding, Run};
use rusqlite::{Connection, OptionalExtension, params};

/// A history database problem.
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
    /// A `user_version` bpdrift never writes (negative): not a bpdrift history.
    #[error("history database `{}` has schema version {found}, which bpdrift never writes: not a bpdrift history (left unchanged)", path.display())]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// A database written by a newer bpdrift.
    #[error("history database `{}` has schema version {found}; this bpdrift knows up to {known} (upgrade bpdrift)", path.display())]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
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
}

/// Schema migrations, in order; `user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: runs and observations.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        fleet TEXT NOT NULL
     );
     CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        observed_at TEXT NOT NULL,
        service TEXT NOT NULL,
        role TEXT NOT NULL,
        reference TEXT NOT NULL,
        digest TEXT,
        platform TEXT,
        snapshot TEXT,
        error TEXT
     );
     CREATE INDEX observations_service ON observations(service, role, run_id);
     CREATE TABLE findings (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        service TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        summary TEXT NOT NULL
     );",
    // 2: snapshots are the image model's history view (`ImageMetadata::for_history`): the
    // run image became an object, and app images keep their build-metadata label's name
    // (which makes them app images).
    "UPDATE observations SET snapshot = json_set(
        json_remove(snapshot, '$.run_image', '$.run_image_reference'),
        '$.run_image',
        json_object('image', json_extract(snapshot, '$.run_image'),
                    'reference', json_extract(snapshot, '$.run_image_reference')))
     WHERE snapshot IS NOT NULL AND json_valid(snapshot)
       AND (json_type(snapshot, '$.run_image') = 'text'
            OR json_type(snapshot, '$.run_image_reference') = 'text');
     UPDATE observations SET snapshot = json_remove(snapshot, '$.run_image')
     WHERE snapshot IS NOT NULL AND json_valid(snapshot)
       AND json_type(snapshot, '$.run_image') = 'null';
     UPDATE observations SET snapshot = json_set(snapshot, '$.labels.\"io.buildpacks.build.metadata\"', '')
     WHERE snapshot IS NOT NULL AND json_valid(snapshot)
       AND json_array_length(snapshot, '$.buildpacks') > 0
       AND json_type(snapshot, '$.labels.\"io.buildpacks.lifecycle.metadata\"') IS NULL
       AND json_type(snapshot, '$.labels.\"io.buildpacks.builder.metadata\"') IS NULL;",
    // 3: a run's id unique across databases, so the history kept in a registry (`artifact`)
    // merges two writers' runs as a set union.
    "ALTER TABLE runs ADD COLUMN uid TEXT;
     UPDATE runs SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
     CREATE UNIQUE INDEX runs_uid ON runs(uid);",
];

/// The history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// The default location: `$XDG_STATE_HOME/bpdrift/history.sqlite`, else
    /// `~/.local/state/bpdrift/history.sqlite`.
    pub fn default_path() -> Option<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("XDG_STATE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".local/state")))
            .map(|d| d.join("bpdrift").join("history.sqlite"))
    }

    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
                path: path.into(),
                source,
            })?;
        }
        let err = |what: &'static str| {
            let path = path.to_path_buf();
            move |source| HistoryError::Sqlite { path, what, source }
        };
        let conn = Connection::open(path).map_err(err("cannot open"))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(err("cannot set the busy timeout"))?;
        // The schema is checked before anything is written (the journal mode included): a
        // database of a newer bpdrift, or not of bpdrift at all, is left as it is.
        Self::check_version(&conn, path)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("cannot enable WAL"))?;
        // Migrations run under the write lock, and the version is read under it too: two runs
        // opening a new database at once must not both create the tables.
        let tx =
            rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(err("cannot migrate"))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err("cannot read the schema version"))?;
        let known = Self::check_version(&tx, path)?;
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(sql).map_err(err("cannot migrate"))?;
        }
        if version < known {
            tx.pragma_update(None, "user_version", known)
                .map_err(err("cannot migrate"))?;
        }
        tx.commit().map_err(err("cannot migrate"))?;
        Ok(Self {
            conn,
            path: path.into(),
        })
    }

    /// `user_version` must be one this bpdrift wrote: 0 (new) up to the migrations it knows.
    /// Returns how many it knows.
    fn check_version(conn: &Connection, path: &Path) -> Result<i64, HistoryError> {
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|source| HistoryError::Sqlite {
                path: path.into(),
                what: "cannot read the schema version",
                source,
            })?;
        let known = MIGRATIONS.len() as i64;
        if version < 0 {
            return Err(HistoryError::NotOurs {
                path: path.into(),
                found: version,
            });
        }
        if version > known {
            return Err(HistoryError::TooNew {
                path: path.into(),
                found: version,
                known,
            });
        }
        Ok(known)
    }

    /// Opens an existing database for reading only (`bpdrift history`): no journal-mode switch,
    /// no migration, so it works on a read-only file and never changes one.
    pub fn open_read_only(path: &Path) -> Result<Self, HistoryError> {
        let err = |what: &'static str| {
            let path = path.to_path_buf();
            move |source| HistoryError::Sqlite { path, what, source }
        };
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err("cannot open"))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(err("cannot set the busy timeout"))?;
        let known = Self::check_version(&conn, path)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err("cannot read the schema version"))?;
        if version < known {
            return Err(HistoryError::Sqlite {
                path: path.into(),
                what: "has an older schema (run `bpdrift report` once to migrate it)",
                source: rusqlite::Error::InvalidQuery,
            });
        }
        Ok(Self {
            conn,
            path: path.into(),
        })
    }

    fn err(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> HistoryError {
        let path = self.path.clone();
        move |source| HistoryError::Sqlite { path, what, source }
    }

    /// The most recent run that finished (any status but `running`).
    pub fn last_finished_run(&self) -> Result<Option<Run>, HistoryError> {
        self.conn
            .query_row(
                "SELECT id, started_at, finished_at, status FROM runs
                 WHERE status != 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
                [],
                |r| {
                    Ok(Run {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        status: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.err("cannot read runs"))
    }

    /// When the last run that fetched every image (status `ok`) finished, seconds since the
    /// epoch: what the staleness alert watches.
    pub fn last_success(&self) -> Result<Option<i64>, HistoryError> {
        let at: Option<String> = self
            .conn
            .query_row(
                "SELECT finished_at FROM runs WHERE status = 'ok' AND finished_at IS NOT NULL
                 ORDER BY finished_at DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("cannot read runs"))?;
        Ok(at.as_deref().and_then(parse_rfc3339))
    }

    /// Records the start of a run.
    pub fn start_run(&self, started_at: &str, fleet: &str) -> Result<i64, HistoryError> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, status, fleet, uid)
                 VALUES (?1, 'running', ?2, lower(hex(randomblob(16))))",
                params![started_at, fleet],
            )
            .map_err(self.err("cannot record the run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a run's observations and findings and marks it finished, atomically.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        finished_at: &str,
        status: &str,
        observations: &[Observation],
        findings: &[RecordedFinding],
    ) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let err = |what: &'static str| {
            let path = path.clone();
            move |source| HistoryError::Sqlite { path, what, source }
        };
        let tx = self
            .conn
            .transaction()
            .map_err(err("cannot record observations"))?;
        for o in observations {
            tx.execute(
                "INSERT INTO observations (run_id, observed_at, service, role, reference, digest, platform, snapshot, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![run_id, o.observed_at, o.service, o.role, o.reference, o.digest, o.platform, o.snapshot.as_ref().and_then(|m| serde_json::to_string(m).ok()), o.error],
            )
            .map_err(err("cannot record observations"))?;
        }
        for f in findings {
            tx.execute(
                "INSERT INTO findings (run_id, service, rule, severity, subject, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run_id, f.service, f.rule, f.severity, f.subject, f.summary],
            )
            .map_err(err("cannot record findings"))?;
        }
        tx.execute(
            "UPDATE runs SET finished_at = ?1, status = ?2 WHERE id = ?3",
            params![finished_at, status, run_id],
        )
        .map_err(err("cannot finish the run"))?;
        tx.commit().map_err(err("cannot record observations"))
    }

    /// The latest successful observation of `service`/`role` before run `before_run`.
    pub fn previous(
        &self,
        service: &str,
        role: &str,
        before_run: i64,
    ) -> Result<Option<Observation>, HistoryError> {
        self.conn
            .query_row(
                "SELECT observed_at, service, role, reference, digest, platform, snapshot, error
                 FROM observations WHERE service = ?1 AND role = ?2 AND run_id < ?3 AND digest IS NOT NULL
                 ORDER BY run_id DESC, id DESC LIMIT 1",
                params![service, role, before_run],
                row_to_observation,
            )
            .optional()
            .map_err(self.err("cannot read observations"))
    }

    /// The packages recorded for `digest` in an observation of `service`/`role` (`sbom = true`
    /// records them on a digest's first observation only).
    pub fn packages(
        &self,
        service: &str,
        role: &str,
        digest: &str,
    ) -> Result<Option<crate::packages::ImagePackages>, HistoryError> {
        // CASE, not AND: SQLite does not promise to stop at an invalid row's json_valid.
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT snapshot FROM observations
                 WHERE service = ?1 AND role = ?2 AND digest = ?3
                   AND CASE WHEN json_valid(snapshot) THEN json_type(snapshot, '$.packages') END = 'object'
                 ORDER BY run_id DESC, id DESC LIMIT 1",
                params![service, role, digest],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("cannot read observations"))?;
        Ok(text
            .and_then(|t| serde_json::from_str::<crate::report::fleet::Snapshot>(&t).ok())
            .and_then(|s| s.packages))
    }

    /// Distinct digests of `service` seen in role `role`, newest first (rollback candidates).
    pub fn digests(
        &self,
        service: &str,
        role: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT digest, reference, MAX(run_id) AS last FROM observations
                 WHERE service = ?1 AND role = ?2 AND digest IS NOT NULL
                 GROUP BY digest ORDER BY last DESC LIMIT ?3",
            )
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map(params![service, role, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }

    /// Every observation of `service`, oldest first.
    pub fn timeline(&self, service: &str) -> Result<Vec<Observation>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT observed_at, service, role, reference, digest, platform, snapshot, error
                 FROM observations WHERE service = ?1 ORDER BY run_id, role, id",
            )
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map(params![service], row_to_observation)
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }

    /// Service names with any observation.
    pub fn services(&self) -> Result<Vec<String>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT service FROM observations ORDER BY service")
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }
}

/// Every finished run with its observations and findings, oldest first: what the registry
/// artifact stores (a run still `running` is another process's, not ours to publish).
impl History {
    pub(crate) fn export(&self) -> Result<Vec<RunRecord>, HistoryError> {
        let mut runs: Vec<(i64, RunRecord)> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT id, uid, started_at, finished_at, status, fleet FROM runs
                     WHERE status != 'running' ORDER BY started_at, id",
                )
                .map_err(self.err("cannot read runs"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        RunRecord {
                            uid: r.get(1)?,
                            started_at: r.get(2)?,
                            finished_at: r.get(3)?,
                            status: r.get(4)?,
                            fleet: r.get(5)?,
                            observations: Vec::new(),
                            findings: Vec::new(),
                        },
                    ))
                })
                .map_err(self.err("cannot read runs"))?;
            rows.collect::<Result<_, _>>()
                .map_err(self.err("cannot read runs"))?
        };
        let mut obs = self
            .conn
            .prepare(
                "SELECT observed_at, service, role, reference, digest, platform, snapshot, error
                 FROM observations WHERE run_id = ?1 ORDER BY id",
            )
            .map_err(self.err("cannot read observations"))?;
        let mut fin = self
            .conn
            .prepare(
                "SELECT service, rule, severity, subject, summary FROM findings
                 WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(self.err("cannot read findings"))?;
        for (id, run) in &mut runs {
            run.observations = obs
                .query_map(params![*id], row_to_observation)
                .and_then(|rows| rows.collect())
                .map_err(self.err("cannot read observations"))?;
            run.findings = fin
                .query_map(params![*id], |r| {
                    Ok(RecordedFinding {
                        service: r.get(0)?,
                        rule: r.get(1)?,
                        severity: r.get(2)?,
                        subject: r.get(3)?,
                        summary: r.get(4)?,
                    })
                })
                .and_then(|rows| rows.collect())
                .map_err(self.err("cannot read findings"))?;
        }
        Ok(runs.into_iter().map(|(_, r)| r).collect())
    }

    /// Adds `runs` (oldest first) whose uid this database does not hold yet, in one
    /// transaction; local ids follow the order given.
    pub(crate) fn import(&mut self, runs: &[RunRecord]) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let err = |what: &'static str| {
            let path = path.clone();
            move |source| HistoryError::Sqlite { path, what, source }
        };
        let tx = self.conn.transaction().map_err(err("cannot import runs"))?;
        for run in runs {
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO runs (uid, started_at, finished_at, status, fleet)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        run.uid,
                        run.started_at,
                        run.finished_at,
                        run.status,
                        run.fleet
                    ],
                )
                .map_err(err("cannot import runs"))?;
            if added == 0 {
                continue;
            }
            let id = tx.last_insert_rowid();
            for o in &run.observations {
                tx.execute(
                    "INSERT INTO observations (run_id, observed_at, service, role, reference, digest, platform, snapshot, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![id, o.observed_at, o.service, o.role, o.reference, o.digest, o.platform, o.snapshot.as_ref().and_then(|m| serde_json::to_string(m).ok()), o.error],
                )
                .map_err(err("cannot import observations"))?;
            }
            for f in &run.findings {
                tx.execute(
                    "INSERT INTO findings (run_id, service, rule, severity, subject, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, f.service, f.rule, f.severity, f.subject, f.summary],
                )
                .map_err(err("cannot import findings"))?;
            }
        }
        tx.commit().map_err(err("cannot import runs"))
    }
}

/// One finished run as the registry artifact stores it (one JSON line).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RunRecord {
    /// Unique across databases: the merge key.
    pub(crate) uid: String,
    /// Start (RFC 3339).
    pub(crate) started_at: String,
    /// End (RFC 3339).
    pub(crate) finished_at: Option<String>,
    /// `ok`, `partial`.
    pub(crate) status: String,
    /// The fleet file's name.
    pub(crate) fleet: String,
    /// What it saw.
    pub(crate) observations: Vec<Observation>,
    /// What it found.
    #[serde(default)]
    pub(crate) findings: Vec<RecordedFinding>,
}

fn row_to_observation(r: &rusqlite::Row<'_>) -> rusqlite::Result<Observation> {
    Ok(Observation {
        observed_at: r.get(0)?,
        service: r.get(1)?,
        role: r.get(2)?,
        reference: r.get(3)?,
        digest: r.get(4)?,
        platform: r.get(5)?,
        // A record this bpdrift cannot read is an image of unknown content, not an error.
        snapshot: r
            .get::<_, Option<String>>(6)?
            .and_then(|j| serde_json::from_str(&j).ok()),
        error: r.get(7)?,
    })
}

pub use crate::clock::{parse_rfc3339, rfc3339};

#[cfg(test)]
mod tests {
    use super::*;

    /// Finishes `run` as `ok` with one observation and no findings.
    fn finish_ok(h: &mut History, run: i64, o: &Observation) {
        let observed = std::slice::from_ref(o);
        h.finish_run(run, "2026-11-22T00:00:02Z", "ok", observed, &[])
            .unwrap();
    }

    #[test]
    fn negative_or_newer_versions_are_refused_before_any_write() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("h.sqlite");
        for v in [-1i64, 99] {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", v).unwrap();
            drop(c);
            let err = History::open(&path).err().unwrap().to_string();
            assert!(err.contains(&format!("schema version {v}")), "{err}");
            let c = Connection::open(&path).unwrap();
            let mode: String = c
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "delete", "the journal mode was switched");
            let version: i64 = c
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, v);
        }
    }

    #[test]
    fn readers_open_read_only() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("h.sqlite");
        drop(History::open(&path).unwrap());
        // Back to a rollback journal: a reader must not switch it (nor write anything).
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(c);
        let h = History::open_read_only(&path).unwrap();
        assert!(h.services().unwrap().is_empty());
        let err = h
            .conn
            .execute_batch("CREATE TABLE x(y)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("readonly"), "{err}");
        drop(h);
        let c = Connection::open(&path).unwrap();
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[test]
    fn migrates_records_and_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("h.sqlite");
        let mut h = History::open(&path).unwrap();
        assert!(h.last_finished_run().unwrap().is_none());
        let run = h.start_run("2026-11-22T00:00:00Z", "fleet.toml").unwrap();
        let o = Observation {
            observed_at: "2026-11-22T00:00:01Z".into(),
            service: "checkout".into(),
            role: "deployed".into(),
            reference: "r/app:prod".into(),
            digest: Some("sha256:aa".into()),
            platform: Some("linux/amd64".into()),
            snapshot: None,
            error: None,
        };
        finish_ok(&mut h, run, &o);
        drop(h);
        // Reopening does not migrate again, and data survives.
        let h = History::open(&path).unwrap();
        assert_eq!(h.last_finished_run().unwrap().unwrap().status, "ok");
        assert_eq!(
            h.previous("checkout", "deployed", run + 1).unwrap(),
            Some(o)
        );
        assert_eq!(h.digests("checkout", "deployed", 3).unwrap().len(), 1);
        // A database from the future is refused, not damaged.
        h.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(h);
        assert!(matches!(
            History::open(&path),
            Err(HistoryError::TooNew { .. })
        ));
    }

    #[test]
    fn packages_are_found_by_digest_and_old_rows_still_read() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("h.sqlite");
        let mut h = History::open(&path).unwrap();
        let run = h.start_run("2026-11-22T00:00:00Z", "fleet.toml").unwrap();
        let pkgs = crate::packages::ImagePackages {
            groups: vec![crate::packages::Group {
                location: crate::packages::Location::RunImage,
                sources: vec!["cnb/sbom/bom.cdx.json (CycloneDX 1.6)".into()],
                packages: vec![crate::packages::Package {
                    name: "libssl3".into(),
                    version: "3.0.2-0ubuntu1.9".into(),
                    kind: "deb".into(),
                    arch: None,
                    purl: None,
                }],
                truncated: 0,
            }],
            notes: Vec::new(),
        };
        let o = Observation {
            observed_at: "2026-11-22T00:00:01Z".into(),
            service: "shop".into(),
            role: "deployed".into(),
            reference: "r/app:prod".into(),
            digest: Some("sha256:aa".into()),
            platform: Some("linux/amd64".into()),
            snapshot: Some(crate::report::fleet::Snapshot {
                metadata: crate::metadata::ImageMetadata {
                    os: "linux".into(),
                    ..Default::default()
                },
                packages: Some(pkgs.clone()),
            }),
            error: None,
        };
        finish_ok(&mut h, run, &o);
        // A row as bpdrift wrote it before packages were kept, and one that is not JSON.
        for (digest, snapshot) in [
            (
                "sha256:bb",
                r#"{"os":"linux","architecture":"amd64","buildpacks":[{"id":"x","version":"1"}]}"#,
            ),
            ("sha256:cc", "not json"),
        ] {
            h.conn
                .execute(
                    "INSERT INTO observations (run_id, observed_at, service, role, reference, digest, snapshot)
                     VALUES (?1, '2026-11-22T00:00:01Z', 'shop', 'deployed', 'r/app:prod', ?2, ?3)",
                    params![run, digest, snapshot],
                )
                .unwrap();
        }
        assert_eq!(
            h.packages("shop", "deployed", "sha256:aa").unwrap(),
            Some(pkgs)
        );
        assert_eq!(h.packages("shop", "deployed", "sha256:bb").unwrap(), None);
        assert_eq!(h.packages("shop", "deployed", "sha256:cc").unwrap(), None);
        assert_eq!(h.packages("shop", "candidate", "sha256:aa").unwrap(), None);
        let t = h.timeline("shop").unwrap();
        assert_eq!(t[0], o);
        let old = t[1].snapshot.as_ref().expect("the old row reads");
        assert_eq!(old.metadata.buildpacks[0].id, "x");
        assert_eq!(old.packages, None);
        assert_eq!(t[2].snapshot, None);
        // The artifact's lines carry the same JSON: packages round-trip, old lines read.
        let line = serde_json::to_string(&o).unwrap();
        assert_eq!(serde_json::from_str::<Observation>(&line).unwrap(), o);
        let old_line = r#"{"observed_at":"t","service":"s","role":"r","reference":"x","digest":"sha256:bb","platform":null,"snapshot":{"os":"linux","buildpacks":[]},"error":null}"#;
        let read: Observation = serde_json::from_str(old_line).unwrap();
        assert_eq!(read.snapshot.unwrap().metadata.os, "linux");
    }
}
