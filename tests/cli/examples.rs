//! The deployment examples in `examples/` hold up: the Kubernetes Indexed Job (parsed as YAML
//! by Debian's python3-yaml and checked against the fields of the Kubernetes API it uses — no
//! cluster, no kubectl), and the bpdrift command lines of both it and the sharded GitHub
//! workflow (actionlint and zizmor check the workflow itself, in scripts/test.sh) are accepted
//! by this bpdrift.

use std::process::Command;

use serde_json::Value;

use crate::common::{bpdrift, root};

/// Every YAML document of `file` as JSON.
fn yaml_documents(file: &str) -> Vec<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
        ])
        .arg(root().join(file))
        .output()
        .expect("python3 with PyYAML (python3-yaml, installed by scripts/test.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The keys of `v` are all in `known` (a typo in a manifest is a field the API ignores or
/// refuses).
fn only(v: &Value, known: &[&str], at: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not a mapping: {v}"));
    for k in obj.keys() {
        assert!(known.contains(&k.as_str()), "unknown field {at}.{k}");
    }
}

#[test]
fn the_kubernetes_indexed_job_is_well_formed_and_its_command_lines_parse() {
    let docs = yaml_documents("examples/kubernetes/drift-report.yaml");
    assert_eq!(docs.len(), 2);
    let mut indexed = 0;
    for (i, doc) in docs.iter().enumerate() {
        let at = format!("document {i}");
        only(doc, &["apiVersion", "kind", "metadata", "spec"], &at);
        assert_eq!(doc["apiVersion"], "batch/v1", "{at}");
        assert_eq!(doc["kind"], "CronJob", "{at}");
        let name = doc["metadata"]["name"].as_str().unwrap();
        assert!(
            name.len() <= 52 && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "a CronJob name: {name}"
        );
        let spec = &doc["spec"];
        only(spec, &["schedule", "concurrencyPolicy", "jobTemplate"], &at);
        assert_eq!(
            spec["schedule"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .count(),
            5
        );
        let job = &spec["jobTemplate"]["spec"];
        only(
            job,
            &[
                "completionMode",
                "completions",
                "parallelism",
                "backoffLimit",
                "backoffLimitPerIndex",
                "maxFailedIndexes",
                "template",
            ],
            &format!("{at}.jobTemplate.spec"),
        );
        let pod = &job["template"]["spec"];
        only(
            pod,
            &[
                "restartPolicy",
                "automountServiceAccountToken",
                "securityContext",
                "containers",
                "volumes",
            ],
            &format!("{at} pod"),
        );
        // A Job's pods may not restart Always; per-index backoff needs Never.
        assert_eq!(pod["restartPolicy"], "Never");
        let c = &pod["containers"][0];
        only(
            c,
            &[
                "name",
                "image",
                "args",
                "env",
                "resources",
                "securityContext",
                "volumeMounts",
            ],
            &format!("{at} container"),
        );
        let mounts: Vec<&str> = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        let volumes: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(mounts, volumes, "every mount has its volume");
        let mut args: Vec<String> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        // `$(VAR)` is Kubernetes' expansion of the container's own env.
        let env: Vec<&str> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        for a in &mut args {
            if let Some(var) = a.strip_prefix("$(").and_then(|r| r.strip_suffix(')')) {
                assert!(env.contains(&var), "{var} is not in the container's env");
                *a = "example-job-28431".into();
            }
        }
        if job["completionMode"] == "Indexed" {
            indexed += 1;
            let n = job["completions"].as_u64().unwrap();
            assert_eq!(job["parallelism"].as_u64(), Some(n));
            let shard = args.iter().position(|a| a == "--shard").unwrap();
            assert_eq!(args[shard + 1], format!("index/{n}"), "one shard per index");
            let run_id = args.iter().position(|a| a == "--run-id").unwrap();
            assert_eq!(args[run_id + 1], "example-job-28431");
        }
        // The command line as this bpdrift reads it: the fleet read, the shard taken from
        // the index, the URL accepted; it stops at the database's CA file, which is not here.
        let fleet = tempfile::tempdir().unwrap();
        let fleet_file = fleet.path().join("fleet.toml");
        std::fs::write(
            &fleet_file,
            "[[service]]\nname = \"a\"\ndeployed = \"oci:testdata/images:plain-a\"\n",
        )
        .unwrap();
        let f = args.iter().position(|a| a == "--fleet").unwrap();
        args[f + 1] = fleet_file.display().to_string();
        let run = bpdrift()
            .args(&args)
            .env("JOB_COMPLETION_INDEX", "3")
            .env("PGPASSWORD", "not-printed")
            .run();
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains(
                "history `postgres://<redacted>@postgres.bpdrift.svc:5432/bpdrift?sslmode=verify-full"
            ) && run
                .stderr
                .contains("cannot read CA file `/etc/bpdrift/postgres-ca.crt`"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("not-printed"));
    }
    assert_eq!(indexed, 1);
}

#[test]
fn the_sharded_workflow_runs_bpdrift_as_documented() {
    let text = std::fs::read_to_string(root().join("examples/workflows/drift-report-sharded.yml"))
        .unwrap();
    let docs = yaml_documents("examples/workflows/drift-report-sharded.yml");
    let matrix = docs[0]["jobs"]["shard"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        text.contains(&format!("--shard \"$SHARD/{matrix}\"")),
        "the shard count is the matrix's"
    );
    assert!(text.contains("--from-history"));
    assert_eq!(docs[0]["jobs"]["whole"]["needs"], "shard");
    // The flags it passes exist.
    for flag in [
        "--shard",
        "--from-history",
        "--expect-every",
        "--history",
        "--out",
    ] {
        let run = bpdrift().args(["report", "--help"]).run();
        assert!(run.stdout.contains(flag), "{flag}");
    }
}
