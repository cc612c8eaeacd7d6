use super::*;
use crate::report::fleet::Snapshot;

const FAR: i64 = i64::MAX / 2;

fn start(h: &mut Sqlite, at: &str) -> i64 {
    h.start_run(RunStart {
        started_at: at,
        fleet: "fleet.toml",
        group: None,
        shard: None,
    })
    .unwrap()
}

/// What a run does: the images stored, then the rows in the run's transaction.
fn record(h: &mut Sqlite, run: i64, at: &str, observations: &[Observation]) {
    let started: String = h
        .conn
        .query_row("SELECT started_at FROM runs WHERE id = ?1", [run], |r| {
            r.get(0)
        })
        .unwrap();
    let (sightings, images) = super::super::split(observations, &started);
    h.put_images(&images).unwrap();
    h.finish_run(super::super::RunEnd {
        run_id: run,
        finished_at: at,
        status: "ok",
        sightings: &sightings,
        findings: &[],
    })
    .unwrap();
}

fn obs(service: &str, digest: &str, at: &str) -> Observation {
    Observation {
        observed_at: at.into(),
        service: service.into(),
        role: "deployed".into(),
        reference: format!("r/{service}:prod"),
        digest: Some(digest.into()),
        platform: Some("linux/amd64".into()),
        snapshot: Some(Snapshot {
            metadata: crate::metadata::ImageMetadata {
                os: "linux".into(),
                ..Default::default()
            },
            packages: None,
        }),
        error: None,
    }
}

#[test]
fn negative_or_newer_versions_are_refused_before_any_write() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("h.sqlite");
    for v in [-1i64, 99] {
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", v).unwrap();
        drop(c);
        let err = Sqlite::open(&path, FAR).err().unwrap().to_string();
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
    drop(Sqlite::open(&path, FAR).unwrap());
    // Back to a rollback journal: a reader must not switch it (nor write anything).
    let c = Connection::open(&path).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(c);
    let h = Sqlite::open_read_only(&path, FAR).unwrap();
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
fn records_and_reads_back_and_an_unchanged_run_costs_bytes() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("h.sqlite");
    let mut h = Sqlite::open(&path, FAR).unwrap();
    assert!(h.last_finished_run(None).unwrap().is_none());
    let at = |i: usize| format!("2026-11-{:02}T00:00:00Z", i + 1);
    let services: Vec<String> = (0..200).map(|i| format!("service-{i}")).collect();
    let size = |h: &Sqlite| -> i64 {
        h.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let pages: i64 = h
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        let free: i64 = h
            .conn
            .pragma_query_value(None, "freelist_count", |r| r.get(0))
            .unwrap();
        (pages - free) * 4096
    };
    let mut sizes = Vec::new();
    for i in 0..12 {
        let run = start(&mut h, &at(i));
        let o: Vec<Observation> = services
            .iter()
            .map(|s| obs(s, &format!("sha256:{s}"), &at(i)))
            .collect();
        record(&mut h, run, &at(i), &o);
        sizes.push(size(&h));
    }
    let per_run = (sizes[11] - sizes[1]) as f64 / 10.0 / services.len() as f64;
    assert!(
        per_run <= 200.0,
        "an unchanged run costs {per_run:.0} bytes per service"
    );
    drop(h);
    // Reopening does not migrate again, and data survives.
    let h = Sqlite::open(&path, FAR).unwrap();
    assert_eq!(h.last_finished_run(None).unwrap().unwrap().status, "ok");
    let prev = h.previous("service-3", "deployed", 1000).unwrap().unwrap();
    assert_eq!(prev, obs("service-3", "sha256:service-3", &at(11)));
    assert_eq!(h.digests("service-3", "deployed", 3).unwrap().len(), 1);
    assert_eq!(h.timeline("service-3").unwrap().len(), 12);
    let images: i64 = h
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))
        .unwrap();
    assert_eq!(images, 200, "each image stored once");
    // A database from the future is refused, not damaged.
    h.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(h);
    assert!(matches!(
        Sqlite::open(&path, FAR),
        Err(HistoryError::TooNew { .. })
    ));
}

#[test]
fn runs_dated_in_the_future_are_left_out() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("h.sqlite");
    let cutoff = crate::clock::parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
    let mut h = Sqlite::open(&path, cutoff).unwrap();
    let run = start(&mut h, "2026-11-01T00:00:00Z");
    record(
        &mut h,
        run,
        "2026-11-01T00:00:01Z",
        &[obs("a", "sha256:1", "2026-11-01T00:00:00Z")],
    );
    let forged = start(&mut h, "2099-01-01T00:00:00Z");
    record(
        &mut h,
        forged,
        "2099-01-01T00:00:00Z",
        &[obs("a", "sha256:2", "2099-01-01T00:00:00Z")],
    );
    assert_eq!(
        h.last_finished_run(None).unwrap().unwrap().started_at,
        "2026-11-01T00:00:00Z"
    );
    assert_eq!(
        h.last_success().unwrap(),
        crate::clock::parse_rfc3339("2026-11-01T00:00:01Z")
    );
    assert_eq!(h.timeline("a").unwrap().len(), 1);
    assert_eq!(
        h.previous("a", "deployed", forged + 1)
            .unwrap()
            .unwrap()
            .digest
            .as_deref(),
        Some("sha256:1")
    );
    let d = h.distrusted().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1, "2099-01-01T00:00:00Z");
}

/// A history as bpdrift wrote it before version 4 (the SQL of migrations 1–3, rows as they
/// were written: a full snapshot each, packages inline): migrated in place on first open.
#[test]
fn a_version_3_history_is_migrated_in_place() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("h.sqlite");
    let c = Connection::open(&path).unwrap();
    for m in &MIGRATIONS[..3] {
        let Migration::Sql(sql) = m else { panic!() };
        c.execute_batch(sql).unwrap();
    }
    c.pragma_update(None, "user_version", 3).unwrap();
    c.execute_batch(
        r#"
        INSERT INTO runs (id, started_at, finished_at, status, fleet, uid) VALUES
          (1, '2026-11-20T06:00:00Z', '2026-11-20T06:00:00Z', 'ok', 'fleet.toml', 'aa'),
          (2, '2026-11-21T06:00:00Z', '2026-11-21T06:00:00Z', 'partial', 'fleet.toml', 'bb');
        INSERT INTO observations (run_id, observed_at, service, role, reference, digest, platform, snapshot, error) VALUES
          (1, '2026-11-20T06:00:00Z', 'shop', 'deployed', 'r/shop:prod', 'sha256:11', 'linux/amd64',
           '{"os":"linux","buildpacks":[{"id":"x","version":"1"}],"packages":{"groups":[],"notes":["n"]}}', NULL),
          (2, '2026-11-21T06:00:00Z', 'shop', 'deployed', 'r/shop:prod', 'sha256:11', 'linux/amd64',
           '{"os":"linux","buildpacks":[{"id":"x","version":"1"}]}', NULL),
          (2, '2026-11-21T06:00:05Z', 'gone', 'deployed', 'r/gone:prod', NULL, NULL, NULL, 'HTTP 404'),
          (2, '2026-11-21T06:00:00Z', 'odd', 'deployed', 'r/odd:prod', 'sha256:cc', NULL, 'not json', NULL);
        INSERT INTO findings (run_id, service, rule, severity, subject, summary) VALUES
          (2, 'shop', 'r1', 'warning', 's', 'moved');
        "#,
    )
    .unwrap();
    drop(c);
    let h = Sqlite::open(&path, FAR).unwrap();
    let t = h.timeline("shop").unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].digest.as_deref(), Some("sha256:11"));
    assert_eq!(
        t[1].snapshot.as_ref().unwrap().metadata.buildpacks[0].id,
        "x"
    );
    let images: i64 = h
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        images, 2,
        "shop's two identical snapshots are one image, odd's one more"
    );
    assert!(h.packages("sha256:11").unwrap().is_some());
    let gone = h.timeline("gone").unwrap();
    assert_eq!(gone[0].error.as_deref(), Some("HTTP 404"));
    assert_eq!(gone[0].observed_at, "2026-11-21T06:00:05Z");
    assert_eq!(h.timeline("odd").unwrap()[0].snapshot, None);
    assert_eq!(h.digests("odd", "deployed", 3).unwrap()[0].0, "sha256:cc");
    let links: i64 = h
        .conn
        .query_row("SELECT COUNT(*) FROM run_findings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 1);
    for old in ["observations", "findings"] {
        let n: i64 = h
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
                [old],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{old} dropped");
    }
}
