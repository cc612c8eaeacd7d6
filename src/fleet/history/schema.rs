//! The SQLite history's schema: migrations in order, counted by `PRAGMA user_version`, run
//! forward on open under the write lock. Version 4 made the history grow by bytes: images
//! content-addressed and stored once, one small row per watched reference per run
//! (`sightings`), finding texts stored once; older files are rewritten in place on first open.

use rusqlite::{OptionalExtension, Transaction, params};

/// A file migrated from a version below this is compacted (`VACUUM`) once: version 4 moved
/// its rows into far fewer bytes.
pub(super) const COMPACT_BEFORE: i64 = 4;

/// One step.
pub(super) enum Migration {
    /// Plain SQL.
    Sql(&'static str),
    /// Code, for what SQL alone cannot do (hashing).
    Code(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// Schema migrations, in order; `user_version` counts how many ran.
pub(super) const MIGRATIONS: &[Migration] = &[
    // 1: runs and observations.
    Migration::Sql("CREATE TABLE runs (
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
     );"),
    // 2: snapshots are the image model's history view (`ImageMetadata::for_history`): the
    // run image became an object, and app images keep their build-metadata label's name
    // (which makes them app images).
    Migration::Sql("UPDATE observations SET snapshot = json_set(
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
       AND json_type(snapshot, '$.labels.\"io.buildpacks.builder.metadata\"') IS NULL;"),
    // 3: a run's id unique across databases, so the history kept in a registry (`artifact`)
    // merges two writers' runs as a set union.
    Migration::Sql("ALTER TABLE runs ADD COLUMN uid TEXT;
     UPDATE runs SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
     CREATE UNIQUE INDEX runs_uid ON runs(uid);"),
    // 4: content-addressed images, small rows, shards.
    Migration::Code(v4),
];

/// The tables of version 4 (the PostgreSQL store has the same ones, in its dialect).
const V4_TABLES: &str = "
    ALTER TABLE runs ADD COLUMN run_group TEXT;
    ALTER TABLE runs ADD COLUMN shard TEXT;
    CREATE TABLE watches (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        role TEXT NOT NULL,
        reference TEXT NOT NULL,
        UNIQUE (service, role, reference)
    );
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        digest TEXT NOT NULL,
        platform TEXT,
        snapshot TEXT
    );
    CREATE TABLE packages (
        digest TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE sightings (
        watch_id INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        image_id INTEGER,
        error TEXT,
        observed_at TEXT,
        PRIMARY KEY (watch_id, run_id)
    ) WITHOUT ROWID;
    CREATE INDEX sightings_run ON sightings(run_id);
    CREATE TABLE finding_texts (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        summary TEXT NOT NULL,
        UNIQUE (service, rule, severity, subject, summary)
    );
    CREATE TABLE run_findings (
        run_id INTEGER NOT NULL,
        finding_id INTEGER NOT NULL,
        PRIMARY KEY (run_id, finding_id)
    ) WITHOUT ROWID;
";

/// Version 4: its tables, then the rows moved into them.
fn v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(V4_TABLES)?;
    v4_move_rows(tx)
}

/// Moves the rows of versions 1–3 (a full snapshot per observation) into the tables of
/// version 4, then drops the old tables. A snapshot that is not JSON keeps its digest.
fn v4_move_rows(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut ids = Ids::default();
    {
        let mut rows = tx.prepare(
            "SELECT o.run_id, o.observed_at, o.service, o.role, o.reference, o.digest, o.platform,
                    o.snapshot, o.error, r.started_at
             FROM observations o LEFT JOIN runs r ON r.id = o.run_id ORDER BY o.id",
        )?;
        let mut rows = rows.query([])?;
        while let Some(r) = rows.next()? {
            let run_id: i64 = r.get(0)?;
            let observed_at: String = r.get(1)?;
            let (service, role, reference): (String, String, String) =
                (r.get(2)?, r.get(3)?, r.get(4)?);
            let digest: Option<String> = r.get(5)?;
            let platform: Option<String> = r.get(6)?;
            let snapshot: Option<String> = r.get(7)?;
            let error: Option<String> = r.get(8)?;
            let started_at: Option<String> = r.get(9)?;
            let watch = ids.watch(tx, &service, &role, &reference)?;
            let image = match &digest {
                Some(d) => {
                    // Packages apart, once per digest; the rest of the JSON as it was written.
                    let mut body = snapshot
                        .as_deref()
                        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                        .filter(serde_json::Value::is_object);
                    if let Some(p) = body
                        .as_mut()
                        .and_then(|b| b.as_object_mut())
                        .and_then(|b| b.remove("packages"))
                        .filter(serde_json::Value::is_object)
                    {
                        put_packages(tx, d, &p.to_string())?;
                    }
                    let body = body.map(|b| b.to_string());
                    Some(ids.image(tx, d, platform.as_deref(), body.as_deref())?)
                }
                None => None,
            };
            let observed_at =
                (started_at.as_deref() != Some(observed_at.as_str())).then_some(observed_at);
            tx.execute(
                "INSERT OR IGNORE INTO sightings (watch_id, run_id, image_id, error, observed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![watch, run_id, image, error, observed_at],
            )?;
        }
    }
    {
        let mut rows = tx.prepare(
            "SELECT run_id, service, rule, severity, subject, summary FROM findings ORDER BY rowid",
        )?;
        let mut rows = rows.query([])?;
        while let Some(r) = rows.next()? {
            let f = crate::report::fleet::RecordedFinding {
                service: r.get(1)?,
                rule: r.get(2)?,
                severity: r.get(3)?,
                subject: r.get(4)?,
                summary: r.get(5)?,
            };
            put_finding(tx, r.get(0)?, &f)?;
        }
    }
    tx.execute_batch("DROP TABLE observations; DROP TABLE findings;")
}

/// Ids of rows already written in this transaction (a fleet's services and images repeat from
/// run to run: one lookup each).
#[derive(Default)]
pub(super) struct Ids {
    watches: std::collections::HashMap<(String, String, String), i64>,
}

impl Ids {
    /// The id of the watched reference, added when new.
    pub(super) fn watch(
        &mut self,
        tx: &Transaction<'_>,
        service: &str,
        role: &str,
        reference: &str,
    ) -> rusqlite::Result<i64> {
        let key = (service.to_string(), role.to_string(), reference.to_string());
        if let Some(id) = self.watches.get(&key) {
            return Ok(*id);
        }
        tx.prepare_cached(
            "INSERT OR IGNORE INTO watches (service, role, reference) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![service, role, reference])?;
        let id = tx
            .prepare_cached(
                "SELECT id FROM watches WHERE service = ?1 AND role = ?2 AND reference = ?3",
            )?
            .query_row(params![service, role, reference], |r| r.get(0))?;
        self.watches.insert(key, id);
        Ok(id)
    }

    /// The id of the image, stored when new (content-addressed).
    pub(super) fn image(
        &mut self,
        tx: &Transaction<'_>,
        digest: &str,
        platform: Option<&str>,
        snapshot: Option<&str>,
    ) -> rusqlite::Result<i64> {
        let key = super::image_key(digest, platform, snapshot);
        if let Some(id) = tx
            .prepare_cached("SELECT id FROM images WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?
        {
            return Ok(id);
        }
        tx.prepare_cached(
            "INSERT INTO images (key, digest, platform, snapshot) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![key, digest, platform, snapshot])?;
        Ok(tx.last_insert_rowid())
    }
}

/// Stores a digest's packages unless they are stored already.
pub(super) fn put_packages(tx: &Transaction<'_>, digest: &str, body: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO packages (digest, body) VALUES (?1, ?2)")?
        .execute(params![digest, body])?;
    Ok(())
}

/// Links a finding to a run, its text stored once.
pub(super) fn put_finding(
    tx: &Transaction<'_>,
    run_id: i64,
    f: &crate::report::fleet::RecordedFinding,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO finding_texts (service, rule, severity, subject, summary)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![f.service, f.rule, f.severity, f.subject, f.summary])?;
    let id: i64 = tx
        .prepare_cached(
            "SELECT id FROM finding_texts WHERE service = ?1 AND rule = ?2 AND severity = ?3
             AND subject = ?4 AND summary = ?5",
        )?
        .query_row(
            params![f.service, f.rule, f.severity, f.subject, f.summary],
            |r| r.get(0),
        )?;
    tx.prepare_cached("INSERT OR IGNORE INTO run_findings (run_id, finding_id) VALUES (?1, ?2)")?
        .execute(params![run_id, id])?;
    Ok(())
}
