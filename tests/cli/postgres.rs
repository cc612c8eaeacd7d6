//! The fleet history in a real PostgreSQL (a scratch cluster of Debian's `postgresql`, on a Unix
//! socket and a loopback port): a report, overlapping runs both recorded, two shards of one run
//! disjoint and complete, `--from-history` without a request to the registry, and `history`
//! reading it; libpq's password conventions, and the password never printed.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::postgres::{PG_PASSWORD, Postgres};
use crate::common::{Registry, bpdrift};

/// Three in each of two shards (by the SHA-256 of the name).
const SERVICES: [&str; 6] = [
    "cart",
    "checkout",
    "payments",
    "inventory",
    "gateway",
    "search",
];

fn fleet(reg: &Registry, dir: &std::path::Path) -> std::path::PathBuf {
    let mut toml = String::new();
    for s in SERVICES {
        toml.push_str(&format!(
            "[[service]]\nname = \"{s}\"\ndeployed = \"{}\"\n\n",
            reg.image(&format!("{s}:prod"))
        ));
    }
    let path = dir.join("fleet.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn names(v: &Value) -> BTreeSet<String> {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_postgres_history_takes_shards_and_overlapping_runs_and_renders_without_fetching() {
    let pg = Postgres::start();
    let reg = Registry::start();
    for (i, s) in SERVICES.iter().enumerate() {
        let image = ["plain-a", "plain-b", "incident-good"][i % 3];
        reg.seed(
            &format!("oci:testdata/images:{image}"),
            &format!("{s}:prod"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet(&reg, dir.path());
    let url = pg.tcp_url();
    let report = |now: &str, extra: &[&str]| {
        bpdrift()
            .args(["report", "--format", "json", "--fleet"])
            .arg(&fleet)
            .args(["--history", &url, "--now", now])
            .args(extra)
            .env("PGPASSWORD", PG_PASSWORD)
            .env("BPDRIFT_LOG", "debug")
            .run()
    };

    // Without the password: refused by the server, and said so (the password is nowhere).
    let run = bpdrift()
        .args(["report", "--fleet"])
        .arg(&fleet)
        .args(["--history", &url])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);

    // A report, the password from PGPASSWORD.
    let first = report("2026-11-20T06:00:00Z", &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains(PG_PASSWORD), "{}", first.stderr);
    assert!(!first.stdout.contains(PG_PASSWORD));
    assert_eq!(
        names(&serde_json::from_str(&first.stdout).unwrap()).len(),
        6
    );

    // Two runs at once: both recorded.
    let spawn = |now: &str| {
        Command::new(env!("CARGO_BIN_EXE_bpdrift"))
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", PG_PASSWORD)
            .current_dir(crate::common::root())
            .args(["report", "--format", "json", "--fleet"])
            .arg(&fleet)
            .args(["--history", &url, "--now", now])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let overlapping = ["2026-11-21T06:00:00Z", "2026-11-21T06:00:01Z"];
    let children: Vec<_> = overlapping.iter().map(|t| spawn(t)).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs = pg.psql("SELECT count(*) FROM bpdrift_runs WHERE status = 'ok'");
    assert_eq!(runs.trim(), "3", "every run recorded");

    // Two shards of one run: disjoint, and together the whole fleet.
    let shard = |k: &str| {
        let run = report(
            "2026-11-22T06:00:00Z",
            &["--shard", k, "--run-id", "nightly-42"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        names(&serde_json::from_str(&run.stdout).unwrap())
    };
    let (a, b) = (shard("1/2"), shard("2/2"));
    assert!(a.is_disjoint(&b), "{a:?} {b:?}");
    assert!(!a.is_empty() && !b.is_empty(), "{a:?} {b:?}");
    let all: BTreeSet<String> = a.union(&b).cloned().collect();
    let expected: BTreeSet<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    assert_eq!(all, expected);
    let group = pg.psql(
        "SELECT count(*), count(DISTINCT shard) FROM bpdrift_runs WHERE run_group = 'nightly-42'",
    );
    assert_eq!(group.trim(), "2|2");

    // The whole fleet's latest run, from the store alone: not one request to the registry.
    reg.clear_log();
    let whole = report("2026-11-22T07:00:00Z", &["--from-history"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let v: Value = serde_json::from_str(&whole.stdout).unwrap();
    assert_eq!(names(&v), expected);
    assert_eq!(v["previous_run"], "2026-11-22T06:00:00Z");
    assert!(
        reg.requests().is_empty(),
        "no image fetched: {:?}",
        reg.requests()
    );
    // With the alarm: the latest run is a day older than an hour.
    let stale = report(
        "2026-11-23T07:00:00Z",
        &["--from-history", "--expect-every", "1h"],
    );
    assert_eq!(stale.code, 1, "{}", stale.stderr);
    assert!(stale.stderr.contains("missed run"), "{}", stale.stderr);

    // `history` reads it, over the Unix socket this time (trusted: no password at all).
    let run = bpdrift()
        .args(["history", "checkout", "--format", "json", "--history"])
        .arg(pg.socket_url())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let seen: Vec<&str> = v["services"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["observed_at"].as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(overlapping.iter().all(|t| seen.contains(t)), "{seen:?}");
    // The password file works too (0600, as libpq wants it), and the table reads.
    let cmd = bpdrift().args(["history", "checkout", "--history", &url]);
    let pgpass = cmd.home().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:bpdrift:{PG_PASSWORD}\n", pg.port),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = cmd.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("OBSERVED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("2026-11-20T06:00:00Z"),
        "{}",
        run.stdout
    );
    // An unchanged run adds small rows only: each image is stored once.
    let images = pg.psql("SELECT count(*) FROM bpdrift_images");
    assert_eq!(images.trim(), "3", "three distinct images, stored once");
}
