//! The SQLite store: a local file (the default history), and the working copy of a registry
//! history. Two runs may overlap (a slow run and the next cron tick): the database is in WAL
//! mode with a busy timeout, a run is recorded as `running` first so the next one can tell it
//! apart from a run that never started, and its rows are written in one transaction when it
//! ends. Readers open it read-only, which works as another user too (see
//! [`Sqlite::open_read_only`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::{self, Ids, MIGRATIONS, Migration};
use super::{HistoryError, NewImage, Observation, RecordedFinding, Run, RunStart, Sighting};

/// A SQLite history.
pub(crate) struct Sqlite {
    pub(super) conn: Connection,
    path: PathBuf,
    /// Runs that started after this (seconds since the epoch) are left out of every read.
    cutoff: i64,
}

/// The columns every observation query selects, in [`row_to_observation`]'s order, from
/// `sightings s` joined with `watches w`, `runs r` and `images i`.
const OBSERVATION: &str = "SELECT COALESCE(s.observed_at, r.started_at), w.service, w.role,
        w.reference, i.digest, i.platform, i.snapshot, s.error, s.run_id
     FROM sightings s JOIN watches w ON w.id = s.watch_id JOIN runs r ON r.id = s.run_id
     LEFT JOIN images i ON i.id = s.image_id";

/// A run's times are believed up to the cutoff: `?cutoff` is bound by each query. A time that
/// does not parse is not believed either.
const TRUSTED: &str = "unixepoch(r.started_at) <= :cutoff
     AND (r.finished_at IS NULL OR unixepoch(r.finished_at) <= :cutoff)";

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

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        status: r.get(3)?,
        group: r.get(4)?,
    })
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database.
    pub(crate) fn open(path: &Path, cutoff: i64) -> Result<Self, HistoryError> {
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
        check_version(&conn, path)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("cannot enable WAL"))?;
        // WAL's own durability: a commit is not synced to disk, a checkpoint is (a power cut
        // may lose the last run, never corrupt the file); images are stored per service.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err("cannot set up"))?;
        // Migrations run under the write lock, and the version is read under it too: two runs
        // opening a new database at once must not both create the tables.
        let tx =
            rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Immediate)
                .map_err(err("cannot migrate"))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err("cannot read the schema version"))?;
        let known = check_version(&tx, path)?;
        for m in MIGRATIONS.iter().skip(version as usize) {
            match m {
                Migration::Sql(sql) => tx.execute_batch(sql),
                Migration::Code(f) => f(&tx),
            }
            .map_err(err("cannot migrate"))?;
        }
        if version < known {
            tx.pragma_update(None, "user_version", known)
                .map_err(err("cannot migrate"))?;
        }
        tx.commit().map_err(err("cannot migrate"))?;
        // The rows of a history written before version 4 now take a fraction of the file:
        // give the rest back (once; the next runs reuse nothing of it otherwise for years).
        if (1..schema::COMPACT_BEFORE).contains(&version) {
            conn.execute_batch("VACUUM")
                .map_err(err("cannot compact after the migration"))?;
        }
        Ok(Self {
            conn,
            path: path.into(),
            cutoff,
        })
    }

    /// Opens an existing database for reading only (`bpdrift history`, `diff --history`): no
    /// journal-mode switch, no migration, so it works on a file this user may not write and
    /// never changes one.
    ///
    /// A database in WAL mode needs its `-shm` file, which a reader that may not write the
    /// directory cannot create: when the writer has gone (no `-wal` file left, so everything is
    /// in the main file), the file is read as immutable instead.
    pub(crate) fn open_read_only(path: &Path, cutoff: i64) -> Result<Self, HistoryError> {
        let err = |what: &'static str| {
            let path = path.to_path_buf();
            move |source| HistoryError::Sqlite { path, what, source }
        };
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(err("cannot open"))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(err("cannot set the busy timeout"))?;
        let conn = match check_version(&conn, path) {
            Err(HistoryError::Sqlite { source, .. }) if cannot_open_shm(&source, path) => {
                tracing::debug!(
                    "history `{}`: WAL index not available to this user, reading the file as immutable",
                    path.display()
                );
                let mut uri = String::from("file:");
                for b in path.as_os_str().as_encoded_bytes() {
                    // Percent-encode all but the unreserved and `/`: the path is a URI now.
                    if b.is_ascii_alphanumeric() || b"-._~/".contains(b) {
                        uri.push(*b as char);
                    } else {
                        uri.push_str(&format!("%{b:02X}"));
                    }
                }
                uri.push_str("?immutable=1");
                Connection::open_with_flags(uri, flags | rusqlite::OpenFlags::SQLITE_OPEN_URI)
                    .map_err(err("cannot open"))?
            }
            Err(e) => return Err(e),
            Ok(_) => conn,
        };
        let known = check_version(&conn, path)?;
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
            cutoff,
        })
    }

    /// A fresh database in `dir` (the working copy of a registry history).
    pub(crate) fn scratch(dir: &Path, cutoff: i64) -> Result<Self, HistoryError> {
        let s = Self::open(&dir.join("history.sqlite"), cutoff)?;
        // Nobody else opens it: no reason to pay for durability.
        s.conn
            .pragma_update(None, "synchronous", "OFF")
            .map_err(s.err("cannot set up"))?;
        Ok(s)
    }

    pub(super) fn err(
        &self,
        what: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> HistoryError + use<> {
        let path = self.path.clone();
        move |source| HistoryError::Sqlite { path, what, source }
    }

    /// Runs left out for being dated in the future: (uid, time), at most five.
    pub(crate) fn distrusted(&self) -> Result<Vec<(String, String)>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT COALESCE(uid, id), started_at FROM runs r WHERE NOT ({TRUSTED}) LIMIT 5"
            ))
            .map_err(self.err("cannot read runs"))?;
        let rows = stmt
            .query_map(rusqlite::named_params! {":cutoff": self.cutoff}, |r| {
                Ok((r.get::<_, rusqlite::types::Value>(0)?, r.get(1)?))
            })
            .map_err(self.err("cannot read runs"))?;
        rows.map(|r| {
            r.map(|(uid, at)| {
                let uid = match uid {
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    _ => String::new(),
                };
                (uid, at)
            })
        })
        .collect::<Result<_, _>>()
        .map_err(self.err("cannot read runs"))
    }

    /// The most recent finished run, other than those of `group`.
    pub(crate) fn last_finished_run(
        &self,
        excluding_group: Option<&str>,
    ) -> Result<Option<Run>, HistoryError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT id, started_at, finished_at, status, COALESCE(run_group, uid)
                     FROM runs r WHERE status != 'running' AND {TRUSTED}
                       AND (:group IS NULL OR COALESCE(run_group, uid) != :group)
                     ORDER BY started_at DESC, id DESC LIMIT 1"
                ),
                rusqlite::named_params! {":cutoff": self.cutoff, ":group": excluding_group},
                row_to_run,
            )
            .optional()
            .map_err(self.err("cannot read runs"))
    }

    /// When the last run with status `ok` finished.
    pub(crate) fn last_success(&self) -> Result<Option<i64>, HistoryError> {
        let at: Option<String> = self
            .conn
            .query_row(
                &format!(
                    "SELECT finished_at FROM runs r
                     WHERE status = 'ok' AND finished_at IS NOT NULL AND {TRUSTED}
                     ORDER BY unixepoch(finished_at) DESC, id DESC LIMIT 1"
                ),
                rusqlite::named_params! {":cutoff": self.cutoff},
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("cannot read runs"))?;
        Ok(at.as_deref().and_then(super::parse_rfc3339))
    }

    /// Records the start of a run.
    pub(crate) fn start_run(&mut self, run: RunStart<'_>) -> Result<i64, HistoryError> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, status, fleet, uid, run_group, shard)
                 VALUES (?1, 'running', ?2, lower(hex(randomblob(16))), ?3, ?4)",
                params![run.started_at, run.fleet, run.group, run.shard],
            )
            .map_err(self.err("cannot record the run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores the images and packages not stored yet (looked up first: a run that saw nothing
    /// new writes nothing here).
    pub(crate) fn put_images(&self, images: &[NewImage]) -> Result<(), HistoryError> {
        let err = self.err("cannot record the images");
        let missing = |sql: &str, key: &str| -> rusqlite::Result<bool> {
            Ok(self
                .conn
                .prepare_cached(sql)?
                .query_row([key], |_| Ok(()))
                .optional()?
                .is_none())
        };
        let mut new = Vec::new();
        for i in images {
            let image = missing("SELECT 1 FROM images WHERE key = ?1", &i.key)
                .map_err(self.err("cannot read images"))?;
            let packages = match &i.packages {
                Some(_) => missing("SELECT 1 FROM packages WHERE digest = ?1", &i.digest)
                    .map_err(self.err("cannot read packages"))?,
                None => false,
            };
            if image || packages {
                new.push((i, image, packages));
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let result = (|| {
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            for (i, image, packages) in new {
                if image {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO images (key, digest, platform, snapshot)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![i.key, i.digest, i.platform, i.snapshot])?;
                }
                if let (true, Some(body)) = (packages, &i.packages) {
                    schema::put_packages(&tx, &i.digest, body)?;
                }
            }
            tx.commit()
        })();
        result.map_err(err)
    }

    /// Records a run's rows and findings and marks it finished, in one transaction.
    pub(crate) fn finish_run(&mut self, end: super::RunEnd<'_>) -> Result<(), HistoryError> {
        let err = self.err("cannot record the run");
        // Immediate: the write lock first (with the busy timeout), not a read that must be
        // upgraded later — which fails at once when another run wrote meanwhile.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate);
        let result = tx.and_then(|tx| {
            write_rows(&tx, end.run_id, end.sightings, end.findings)?;
            tx.execute(
                "UPDATE runs SET finished_at = ?1, status = ?2 WHERE id = ?3",
                params![end.finished_at, end.status, end.run_id],
            )?;
            tx.commit()
        });
        result.map_err(err)
    }

    /// The latest successful observation of `service`/`role` before run `before_run`.
    pub(crate) fn previous(
        &self,
        service: &str,
        role: &str,
        before_run: i64,
    ) -> Result<Option<Observation>, HistoryError> {
        self.conn
            .prepare_cached(&format!(
                "{OBSERVATION} WHERE w.service = :service AND w.role = :role
                   AND s.run_id < :before AND s.image_id IS NOT NULL AND {TRUSTED}
                 ORDER BY s.run_id DESC LIMIT 1"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    rusqlite::named_params! {
                        ":service": service, ":role": role, ":before": before_run,
                        ":cutoff": self.cutoff,
                    },
                    row_to_observation,
                )
                .optional()
            })
            .map_err(self.err("cannot read observations"))
    }

    /// The packages recorded for `digest`.
    pub(crate) fn packages(
        &self,
        digest: &str,
    ) -> Result<Option<crate::packages::ImagePackages>, HistoryError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM packages WHERE digest = ?1")
            .and_then(|mut s| s.query_row([digest], |r| r.get(0)).optional())
            .map_err(self.err("cannot read packages"))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Distinct digests of `service` in `role`, newest first, with their reference.
    pub(crate) fn digests(
        &self,
        service: &str,
        role: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, HistoryError> {
        // The limit is written into the statement, not bound: SQLite recompiles a statement
        // whose LIMIT parameter is bound again (it plans with the value), which was most of
        // the SQLite time of a fleet run. One limit per run, so one cached statement.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT i.digest, w.reference, MAX(s.run_id) AS last
                 FROM sightings s JOIN watches w ON w.id = s.watch_id
                 JOIN runs r ON r.id = s.run_id JOIN images i ON i.id = s.image_id
                 WHERE w.service = :service AND w.role = :role AND {TRUSTED}
                 GROUP BY i.digest ORDER BY last DESC LIMIT {limit}"
            ))
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map(
                rusqlite::named_params! {
                    ":service": service, ":role": role, ":cutoff": self.cutoff,
                },
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }

    /// Every observation of `service`, oldest first (packages not attached).
    pub(crate) fn timeline(&self, service: &str) -> Result<Vec<Observation>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{OBSERVATION} WHERE w.service = :service AND {TRUSTED}
                 ORDER BY s.run_id, w.role, w.id"
            ))
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map(
                rusqlite::named_params! {":service": service, ":cutoff": self.cutoff},
                row_to_observation,
            )
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }

    /// Service names with any observation.
    pub(crate) fn services(&self) -> Result<Vec<String>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT w.service FROM watches w
                 WHERE EXISTS (SELECT 1 FROM sightings s WHERE s.watch_id = w.id)
                 ORDER BY w.service",
            )
            .map_err(self.err("cannot read observations"))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.err("cannot read observations"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("cannot read observations"))
    }

    /// The run id shared by the shards of the most recent finished run, and its runs.
    pub(crate) fn latest_group(&self) -> Result<Option<(String, Vec<Run>)>, HistoryError> {
        let Some(last) = self.last_finished_run(None)? else {
            return Ok(None);
        };
        let group = last.group.clone().unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, started_at, finished_at, status, COALESCE(run_group, uid)
                 FROM runs r WHERE COALESCE(run_group, uid) = :group AND status != 'running'
                   AND {TRUSTED} ORDER BY id"
            ))
            .map_err(self.err("cannot read runs"))?;
        let runs = stmt
            .query_map(
                rusqlite::named_params! {":group": group, ":cutoff": self.cutoff},
                row_to_run,
            )
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(self.err("cannot read runs"))?;
        Ok(Some((group, runs)))
    }

    /// The latest observation of `service`/`role` by a finished run of `group`, with its run.
    pub(crate) fn in_group(
        &self,
        group: &str,
        service: &str,
        role: &str,
    ) -> Result<Option<(i64, Observation)>, HistoryError> {
        self.conn
            .prepare_cached(&format!(
                "{OBSERVATION} WHERE w.service = :service AND w.role = :role
                   AND COALESCE(r.run_group, r.uid) = :group AND r.status != 'running'
                   AND {TRUSTED}
                 ORDER BY s.run_id DESC LIMIT 1"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    rusqlite::named_params! {
                        ":service": service, ":role": role, ":group": group,
                        ":cutoff": self.cutoff,
                    },
                    |r| Ok((r.get(8)?, row_to_observation(r)?)),
                )
                .optional()
            })
            .map_err(self.err("cannot read observations"))
    }
}

/// Writes a run's rows (sightings, findings) in `tx`; their images are stored already.
pub(super) fn write_rows(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    sightings: &[Sighting],
    findings: &[RecordedFinding],
) -> rusqlite::Result<()> {
    let mut ids = Ids::default();
    for o in sightings {
        let watch = ids.watch(tx, &o.service, &o.role, &o.reference)?;
        let image: Option<i64> = match &o.image {
            Some(key) => tx
                .prepare_cached("SELECT id FROM images WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?,
            None => None,
        };
        tx.prepare_cached(
            "INSERT OR REPLACE INTO sightings (watch_id, run_id, image_id, error, observed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![watch, run_id, image, o.error, o.observed_at])?;
    }
    for f in findings {
        schema::put_finding(tx, run_id, f)?;
    }
    Ok(())
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
            location: path.display().to_string(),
            found: version,
            known,
        });
    }
    Ok(known)
}

/// Whether `e` is SQLite failing to open the WAL index of a database whose writer has gone
/// (no `-wal` file): safe to read the main file alone.
fn cannot_open_shm(e: &rusqlite::Error, path: &Path) -> bool {
    let wal = {
        let mut p = path.as_os_str().to_owned();
        p.push("-wal");
        PathBuf::from(p)
    };
    let cantopen = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    );
    cantopen && std::fs::metadata(wal).map_or(true, |m| m.len() == 0)
}

#[cfg(test)]
mod tests;
