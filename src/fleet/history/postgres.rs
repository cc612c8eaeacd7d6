//! The PostgreSQL store (`--history postgres://…`): one database many jobs write at once — the
//! shards of a run, and a slow run overlapping the next. Each run's rows go in one transaction;
//! shared rows (watched references, images, finding texts) are inserted with `ON CONFLICT DO
//! NOTHING` in a fixed order (sorted), so two writers wait for each other instead of
//! deadlocking, and a transaction the server still aborts (deadlock, serialization) is retried.
//! Tables are prefixed `bpdrift_`, so the database may be shared; the schema version is in
//! `bpdrift_schema`, migrated under an advisory lock.
//!
//! Same model as the SQLite store (see `schema.rs`); times are `timestamptz`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::pgconn::PgUrl;
use super::{Access, HistoryError, NewImage, Observation, RecordedFinding, Run, RunStart};

/// Migrations, in order; `bpdrift_schema.version` counts how many ran.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE bpdrift_runs (
        id BIGSERIAL PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE DEFAULT replace(gen_random_uuid()::text, '-', ''),
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status TEXT NOT NULL,
        fleet TEXT NOT NULL,
        run_group TEXT,
        shard TEXT
    );
    CREATE INDEX bpdrift_runs_group ON bpdrift_runs (run_group);
    CREATE TABLE bpdrift_watches (
        id BIGSERIAL PRIMARY KEY,
        service TEXT NOT NULL,
        role TEXT NOT NULL,
        reference TEXT NOT NULL,
        UNIQUE (service, role, reference)
    );
    CREATE TABLE bpdrift_images (
        id BIGSERIAL PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL,
        platform TEXT,
        snapshot TEXT
    );
    CREATE TABLE bpdrift_packages (
        digest TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE bpdrift_sightings (
        watch_id BIGINT NOT NULL REFERENCES bpdrift_watches (id),
        run_id BIGINT NOT NULL REFERENCES bpdrift_runs (id),
        image_id BIGINT REFERENCES bpdrift_images (id),
        error TEXT,
        observed_at TIMESTAMPTZ,
        PRIMARY KEY (watch_id, run_id)
    );
    CREATE INDEX bpdrift_sightings_run ON bpdrift_sightings (run_id);
    CREATE TABLE bpdrift_finding_texts (
        id BIGSERIAL PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE TABLE bpdrift_run_findings (
        run_id BIGINT NOT NULL REFERENCES bpdrift_runs (id),
        finding_id BIGINT NOT NULL REFERENCES bpdrift_finding_texts (id),
        PRIMARY KEY (run_id, finding_id)
    );
"];

/// The advisory lock migrations run under (any constant; "bpdrift" in ASCII).
const LOCK: i64 = 0x0062_7064_7269_6674;

/// A time column as RFC 3339 UTC text.
macro_rules! rfc {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        )
    };
}

/// A run's columns in the order `row_to_run` reads them, from `bpdrift_runs r`.
macro_rules! select_runs {
    () => {
        concat!(
            "SELECT id, ",
            rfc!("started_at"),
            ", ",
            rfc!("finished_at"),
            ", status, COALESCE(run_group, uid) FROM bpdrift_runs r"
        )
    };
}

/// Believed runs (`$cutoff` is the parameter's number).
macro_rules! trusted {
    ($n:literal) => {
        concat!(
            "r.started_at <= to_timestamp($",
            $n,
            "::bigint) AND (r.finished_at IS NULL OR r.finished_at <= to_timestamp($",
            $n,
            "::bigint))"
        )
    };
}

macro_rules! observation {
    () => {
        concat!(
            "SELECT ",
            rfc!("COALESCE(s.observed_at, r.started_at)"),
            ", w.service, w.role, w.reference, i.digest, i.platform, i.snapshot, s.error, s.run_id
             FROM bpdrift_sightings s JOIN bpdrift_watches w ON w.id = s.watch_id
             JOIN bpdrift_runs r ON r.id = s.run_id
             LEFT JOIN bpdrift_images i ON i.id = s.image_id "
        )
    };
}

/// A PostgreSQL history.
pub(crate) struct Pg {
    client: tokio_postgres::Client,
    name: String,
    cutoff: i64,
}

fn row_to_observation(r: &tokio_postgres::Row) -> Observation {
    Observation {
        observed_at: r.get(0),
        service: r.get(1),
        role: r.get(2),
        reference: r.get(3),
        digest: r.get(4),
        platform: r.get(5),
        snapshot: r
            .get::<_, Option<String>>(6)
            .and_then(|j| serde_json::from_str(&j).ok()),
        error: r.get(7),
    }
}

fn row_to_run(r: &tokio_postgres::Row) -> Run {
    Run {
        id: r.get(0),
        started_at: r.get(1),
        finished_at: r.get(2),
        status: r.get(3),
        group: r.get(4),
    }
}

/// Whether the server aborted the transaction for a conflict worth retrying.
fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

impl Pg {
    /// Connects; with `Write`, creates or migrates the tables. `None`: no bpdrift tables and
    /// `Read`.
    pub(crate) async fn open(
        url: &PgUrl,
        access: Access,
        cutoff: i64,
    ) -> Result<Option<Self>, HistoryError> {
        let name = url.to_string();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let settings = url
            .connect_config(&env)
            .map_err(|why| HistoryError::Connection {
                location: name.clone(),
                why,
            })?;
        let tls = super::pgtls::MakeRustls(settings.tls.map(Arc::new));
        let (client, connection) =
            settings
                .config
                .connect(tls)
                .await
                .map_err(|source| HistoryError::Postgres {
                    location: name.clone(),
                    what: "cannot connect",
                    source,
                })?;
        let shown = name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("history `{shown}`: connection closed: {e}");
            }
        });
        let mut pg = Self {
            client,
            name,
            cutoff,
        };
        let known = MIGRATIONS.len() as i64;
        match access {
            Access::Write => pg.migrate().await?,
            Access::Read => {
                let version = pg.version().await?;
                match version {
                    None => return Ok(None),
                    Some(v) if v > known => {
                        return Err(HistoryError::TooNew {
                            location: pg.name.clone(),
                            found: v,
                            known,
                        });
                    }
                    Some(v) if v < known => {
                        return Err(HistoryError::Connection {
                            location: pg.name.clone(),
                            why: "has an older schema (run `bpdrift report` once to migrate it)"
                                .into(),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(Some(pg))
    }

    fn err(
        &self,
        what: &'static str,
    ) -> impl FnOnce(tokio_postgres::Error) -> HistoryError + use<> {
        let location = self.name.clone();
        move |source| HistoryError::Postgres {
            location,
            what,
            source,
        }
    }

    async fn version(&self) -> Result<Option<i64>, HistoryError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('bpdrift_schema') IS NOT NULL", &[])
            .await
            .map_err(self.err("cannot read the schema version"))?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt("SELECT version::bigint FROM bpdrift_schema", &[])
            .await
            .map_err(self.err("cannot read the schema version"))?;
        Ok(Some(row.map_or(0, |r| r.get(0))))
    }

    /// Creates or migrates the tables, under an advisory lock (two jobs opening a new database
    /// at once must not both create them).
    async fn migrate(&mut self) -> Result<(), HistoryError> {
        let known = MIGRATIONS.len() as i64;
        let err = self.err("cannot migrate");
        let name = self.name.clone();
        let tx = self.client.transaction().await.map_err(err)?;
        let result: Result<(), HistoryError> = async {
            let e = |what| {
                let location = name.clone();
                move |source| HistoryError::Postgres {
                    location,
                    what,
                    source,
                }
            };
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
                .await
                .map_err(e("cannot lock for the migration"))?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS bpdrift_schema (version INTEGER NOT NULL)",
            )
            .await
            .map_err(e("cannot migrate"))?;
            let version: i64 = tx
                .query_opt("SELECT version::bigint FROM bpdrift_schema", &[])
                .await
                .map_err(e("cannot read the schema version"))?
                .map_or(0, |r| r.get(0));
            if version > known {
                return Err(HistoryError::TooNew {
                    location: name.clone(),
                    found: version,
                    known,
                });
            }
            for sql in MIGRATIONS.iter().skip(version.max(0) as usize) {
                tx.batch_execute(sql).await.map_err(e("cannot migrate"))?;
            }
            if version < known {
                tx.execute("DELETE FROM bpdrift_schema", &[])
                    .await
                    .map_err(e("cannot migrate"))?;
                tx.execute(
                    "INSERT INTO bpdrift_schema (version) VALUES ($1::bigint)",
                    &[&known],
                )
                .await
                .map_err(e("cannot migrate"))?;
            }
            tx.commit().await.map_err(e("cannot migrate"))
        }
        .await;
        result
    }

    /// Runs left out for being dated in the future: (uid, time), at most five.
    pub(crate) async fn distrusted(&self) -> Result<Vec<(String, String)>, HistoryError> {
        let rows = self
            .client
            .query(
                concat!(
                    "SELECT uid, ",
                    rfc!("started_at"),
                    " FROM bpdrift_runs r WHERE NOT (",
                    trusted!(1),
                    ") LIMIT 5"
                ),
                &[&self.cutoff],
            )
            .await
            .map_err(self.err("cannot read runs"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(crate) async fn last_finished_run(
        &self,
        excluding_group: Option<&str>,
    ) -> Result<Option<Run>, HistoryError> {
        let row = self
            .client
            .query_opt(
                concat!(
                    select_runs!(),
                    " WHERE status != 'running' AND ",
                    trusted!(1),
                    " AND ($2::text IS NULL OR COALESCE(run_group, uid) != $2::text)
                     ORDER BY started_at DESC, id DESC LIMIT 1"
                ),
                &[&self.cutoff, &excluding_group],
            )
            .await
            .map_err(self.err("cannot read runs"))?;
        Ok(row.as_ref().map(row_to_run))
    }

    pub(crate) async fn last_success(&self) -> Result<Option<i64>, HistoryError> {
        let row = self
            .client
            .query_opt(
                concat!(
                    "SELECT extract(epoch FROM finished_at)::bigint FROM bpdrift_runs r
                     WHERE status = 'ok' AND finished_at IS NOT NULL AND ",
                    trusted!(1),
                    " ORDER BY finished_at DESC, id DESC LIMIT 1"
                ),
                &[&self.cutoff],
            )
            .await
            .map_err(self.err("cannot read runs"))?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(crate) async fn start_run(&mut self, run: RunStart<'_>) -> Result<i64, HistoryError> {
        let row = self
            .client
            .query_one(
                "INSERT INTO bpdrift_runs (started_at, status, fleet, run_group, shard)
                 VALUES ($1::text::timestamptz, 'running', $2, $3, $4) RETURNING id",
                &[&run.started_at, &run.fleet, &run.group, &run.shard],
            )
            .await
            .map_err(self.err("cannot record the run"))?;
        Ok(row.get(0))
    }

    /// Stores the images and packages not stored yet, sorted by key (every writer takes the
    /// same locks in the same order), outside any run's transaction.
    pub(crate) async fn put_images(&self, images: &[NewImage]) -> Result<(), HistoryError> {
        let mut sorted: Vec<&NewImage> = images.iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        sorted.dedup_by(|a, b| a.key == b.key);
        let ik: Vec<&str> = sorted.iter().map(|i| i.key.as_str()).collect();
        let id: Vec<&str> = sorted.iter().map(|i| i.digest.as_str()).collect();
        let ip: Vec<Option<&str>> = sorted.iter().map(|i| i.platform.as_deref()).collect();
        let is: Vec<Option<&str>> = sorted.iter().map(|i| i.snapshot.as_deref()).collect();
        self.client
            .execute(
                "INSERT INTO bpdrift_images (key, digest, platform, snapshot)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
                 ON CONFLICT (key) DO NOTHING",
                &[&ik, &id, &ip, &is],
            )
            .await
            .map_err(self.err("cannot record the images"))?;
        let mut packages: BTreeMap<&str, &str> = BTreeMap::new();
        for i in images {
            if let Some(p) = &i.packages {
                packages.insert(i.digest.as_str(), p);
            }
        }
        if !packages.is_empty() {
            let pd: Vec<&str> = packages.keys().copied().collect();
            let pb: Vec<&str> = packages.values().copied().collect();
            self.client
                .execute(
                    "INSERT INTO bpdrift_packages (digest, body)
                     SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
                    &[&pd, &pb],
                )
                .await
                .map_err(self.err("cannot record the packages"))?;
        }
        Ok(())
    }

    /// Records a run's rows and marks it finished, in one transaction (retried when the server
    /// aborts it for a conflict with another writer).
    pub(crate) async fn finish_run(&mut self, end: super::RunEnd<'_>) -> Result<(), HistoryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_finish(end).await {
                Err(e) if attempt < 4 && retryable(&e) => {
                    tracing::debug!(
                        "history `{}`: retrying the run's transaction: {e}",
                        self.name
                    );
                }
                r => return r.map_err(self.err("cannot record the run")),
            }
        }
    }

    async fn try_finish(&mut self, end: super::RunEnd<'_>) -> Result<(), tokio_postgres::Error> {
        let super::RunEnd {
            run_id,
            finished_at,
            status,
            sightings,
            findings,
        } = end;
        let tx = self.client.transaction().await?;
        // Watched references, sorted: every writer takes the same locks in the same order.
        let watches: BTreeSet<(&str, &str, &str)> = sightings
            .iter()
            .map(|o| (o.service.as_str(), o.role.as_str(), o.reference.as_str()))
            .collect();
        let (s, r, f): (Vec<&str>, Vec<&str>, Vec<&str>) = unzip3(watches.iter().copied());
        tx.execute(
            "INSERT INTO bpdrift_watches (service, role, reference)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            &[&s, &r, &f],
        )
        .await?;
        let watch_ids: BTreeMap<(String, String, String), i64> = tx
            .query(
                "SELECT w.id, w.service, w.role, w.reference FROM bpdrift_watches w
                 JOIN UNNEST($1::text[], $2::text[], $3::text[]) AS u (service, role, reference)
                 USING (service, role, reference)",
                &[&s, &r, &f],
            )
            .await?
            .iter()
            .map(|row| ((row.get(1), row.get(2), row.get(3)), row.get(0)))
            .collect();
        let keys: BTreeSet<&str> = sightings
            .iter()
            .filter_map(|o| o.image.as_deref())
            .collect();
        let keys: Vec<&str> = keys.into_iter().collect();
        let image_ids: BTreeMap<String, i64> = tx
            .query(
                "SELECT key, id FROM bpdrift_images WHERE key = ANY($1::text[])",
                &[&keys],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        // This run's rows: one statement.
        let mut sw: Vec<i64> = Vec::new();
        let mut si: Vec<Option<i64>> = Vec::new();
        let mut se: Vec<Option<&str>> = Vec::new();
        let mut so: Vec<Option<&str>> = Vec::new();
        for o in sightings {
            let w = (o.service.clone(), o.role.clone(), o.reference.clone());
            let Some(watch) = watch_ids.get(&w) else {
                continue;
            };
            sw.push(*watch);
            si.push(o.image.as_ref().and_then(|k| image_ids.get(k)).copied());
            se.push(o.error.as_deref());
            so.push(o.observed_at.as_deref());
        }
        tx.execute(
            "INSERT INTO bpdrift_sightings (watch_id, run_id, image_id, error, observed_at)
             SELECT u.w, $1, u.i, u.e, u.o::timestamptz
             FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS u (w, i, e, o)
             ON CONFLICT (watch_id, run_id) DO UPDATE
             SET image_id = EXCLUDED.image_id, error = EXCLUDED.error",
            &[&run_id, &sw, &si, &se, &so],
        )
        .await?;
        // Finding texts once (by hash), linked to the run.
        let texts: BTreeMap<String, &RecordedFinding> = findings
            .iter()
            .map(|f| {
                let joined = [&f.service, &f.rule, &f.severity, &f.subject, &f.summary]
                    .map(String::as_str)
                    .join("\0");
                (crate::digest::sha256(joined.as_bytes()), f)
            })
            .collect();
        let fh: Vec<&str> = texts.keys().map(String::as_str).collect();
        let col = |pick: fn(&RecordedFinding) -> &str| -> Vec<&str> {
            texts.values().map(|f| pick(f)).collect()
        };
        let (f1, f2, f3, f4, f5) = (
            col(|f| &f.service),
            col(|f| &f.rule),
            col(|f| &f.severity),
            col(|f| &f.subject),
            col(|f| &f.summary),
        );
        let params: [&(dyn ToSql + Sync); 6] = [&fh, &f1, &f2, &f3, &f4, &f5];
        tx.execute(
            "INSERT INTO bpdrift_finding_texts (hash, service, rule, severity, subject, summary)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
             ON CONFLICT (hash) DO NOTHING",
            &params,
        )
        .await?;
        tx.execute(
            "INSERT INTO bpdrift_run_findings (run_id, finding_id)
             SELECT $1, id FROM bpdrift_finding_texts WHERE hash = ANY($2::text[])
             ON CONFLICT DO NOTHING",
            &[&run_id, &fh],
        )
        .await?;
        tx.execute(
            "UPDATE bpdrift_runs SET finished_at = $1::text::timestamptz, status = $2 WHERE id = $3",
            &[&finished_at, &status, &run_id],
        )
        .await?;
        tx.commit().await
    }

    pub(crate) async fn previous(
        &self,
        service: &str,
        role: &str,
        before_run: i64,
    ) -> Result<Option<Observation>, HistoryError> {
        let row = self
            .client
            .query_opt(
                concat!(
                    observation!(),
                    "WHERE w.service = $1 AND w.role = $2 AND s.run_id < $3
                       AND s.image_id IS NOT NULL AND ",
                    trusted!(4),
                    " ORDER BY s.run_id DESC LIMIT 1"
                ),
                &[&service, &role, &before_run, &self.cutoff],
            )
            .await
            .map_err(self.err("cannot read observations"))?;
        Ok(row.as_ref().map(row_to_observation))
    }

    pub(crate) async fn packages(
        &self,
        digest: &str,
    ) -> Result<Option<crate::packages::ImagePackages>, HistoryError> {
        let row = self
            .client
            .query_opt(
                "SELECT body FROM bpdrift_packages WHERE digest = $1",
                &[&digest],
            )
            .await
            .map_err(self.err("cannot read packages"))?;
        Ok(row.and_then(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()))
    }

    pub(crate) async fn digests(
        &self,
        service: &str,
        role: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, HistoryError> {
        let rows = self
            .client
            .query(
                concat!(
                    "SELECT digest, reference FROM (
                       SELECT DISTINCT ON (i.digest) i.digest, w.reference, s.run_id
                       FROM bpdrift_sightings s JOIN bpdrift_watches w ON w.id = s.watch_id
                       JOIN bpdrift_runs r ON r.id = s.run_id
                       JOIN bpdrift_images i ON i.id = s.image_id
                       WHERE w.service = $1 AND w.role = $2 AND ",
                    trusted!(3),
                    " ORDER BY i.digest, s.run_id DESC) t
                     ORDER BY run_id DESC LIMIT $4"
                ),
                &[&service, &role, &self.cutoff, &(limit as i64)],
            )
            .await
            .map_err(self.err("cannot read observations"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(crate) async fn timeline(&self, service: &str) -> Result<Vec<Observation>, HistoryError> {
        let rows = self
            .client
            .query(
                concat!(
                    observation!(),
                    "WHERE w.service = $1 AND ",
                    trusted!(2),
                    " ORDER BY s.run_id, w.role, w.id"
                ),
                &[&service, &self.cutoff],
            )
            .await
            .map_err(self.err("cannot read observations"))?;
        Ok(rows.iter().map(row_to_observation).collect())
    }

    pub(crate) async fn services(&self) -> Result<Vec<String>, HistoryError> {
        let rows = self
            .client
            .query(
                "SELECT DISTINCT w.service FROM bpdrift_watches w
                 WHERE EXISTS (SELECT 1 FROM bpdrift_sightings s WHERE s.watch_id = w.id)
                 ORDER BY w.service",
                &[],
            )
            .await
            .map_err(self.err("cannot read observations"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(crate) async fn latest_group(&self) -> Result<Option<(String, Vec<Run>)>, HistoryError> {
        let Some(last) = self.last_finished_run(None).await? else {
            return Ok(None);
        };
        let group = last.group.clone().unwrap_or_default();
        let rows = self
            .client
            .query(
                concat!(
                    select_runs!(),
                    " WHERE COALESCE(run_group, uid) = $1 AND status != 'running' AND ",
                    trusted!(2),
                    " ORDER BY id"
                ),
                &[&group, &self.cutoff],
            )
            .await
            .map_err(self.err("cannot read runs"))?;
        Ok(Some((group, rows.iter().map(row_to_run).collect())))
    }

    pub(crate) async fn in_group(
        &self,
        group: &str,
        service: &str,
        role: &str,
    ) -> Result<Option<(i64, Observation)>, HistoryError> {
        let row = self
            .client
            .query_opt(
                concat!(
                    observation!(),
                    "WHERE w.service = $1 AND w.role = $2 AND COALESCE(r.run_group, r.uid) = $3
                       AND r.status != 'running' AND ",
                    trusted!(4),
                    " ORDER BY s.run_id DESC LIMIT 1"
                ),
                &[&service, &role, &group, &self.cutoff],
            )
            .await
            .map_err(self.err("cannot read observations"))?;
        Ok(row.map(|r| (r.get(8), row_to_observation(&r))))
    }
}

fn unzip3<'a>(
    it: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for (x, y, z) in it {
        a.push(x);
        b.push(y);
        c.push(z);
    }
    (a, b, c)
}
