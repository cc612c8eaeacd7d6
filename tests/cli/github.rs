//! The GitHub Action end to end: `action.yml`'s own steps, run here the way the Actions runner
//! runs a composite action (each `run:` in `bash --noprofile --norc -eo pipefail`, `env:` from
//! the evaluated `${{ inputs.* }}` and `${{ steps.*.outputs.* }}`, a `GITHUB_OUTPUT` file per
//! step), with a fabricated event, the real test registry, a loopback release server for the
//! install step and a loopback fake of GitHub's REST API (common/github_api.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use insta::assert_snapshot;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::github_api::{BOT, FakeGithub, REPO, RateLimit, TOKEN};
use crate::common::http::{Server, read_request, write_response};
use crate::common::{Registry, root, settings};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";
const MARKER: &str = "<!-- bpdrift:default -->";
const VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------------------------
// action.yml, read as the runner reads it (only the YAML this file uses: block maps, a list of
// step maps, plain and quoted scalars, comments).

#[derive(Debug, Clone)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
    Str(String),
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn entries(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }
    fn items(&self) -> &[Yaml] {
        match self {
            Yaml::List(l) => l,
            other => panic!("not a list: {other:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Yaml::Str(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }
}

/// The line without a trailing `# comment` (a `#` after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].replace("\\\"", "\"")
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        assert!(
            !v.starts_with('|') && !v.starts_with('>'),
            "block scalars are not used in action.yml"
        );
        v.to_string()
    }
}

fn parse_yaml(text: &str) -> Yaml {
    let mut lines: Vec<(usize, String)> = text
        .lines()
        .map(strip_comment)
        .filter(|l| !l.trim().is_empty())
        .map(|l| (l.len() - l.trim_start().len(), l.trim().to_string()))
        .collect();
    let mut i = 0;
    let y = parse_block(&mut lines, &mut i, 0);
    assert_eq!(
        i,
        lines.len(),
        "unparsed YAML from line {i}: {:?}",
        lines.get(i)
    );
    y
}

fn parse_block(lines: &mut [(usize, String)], i: &mut usize, indent: usize) -> Yaml {
    if lines[*i].1.starts_with("- ") {
        let mut items = Vec::new();
        while *i < lines.len() && lines[*i].0 == indent && lines[*i].1.starts_with("- ") {
            // `- key: value` opens a map two columns further in.
            lines[*i] = (indent + 2, lines[*i].1[2..].to_string());
            items.push(parse_block(lines, i, indent + 2));
        }
        return Yaml::List(items);
    }
    let mut map = Vec::new();
    while *i < lines.len() && lines[*i].0 == indent {
        let line = lines[*i].1.clone();
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("not `key: value`: {line}"));
        *i += 1;
        let value = value.trim();
        let node = if value.is_empty() {
            match lines.get(*i) {
                Some((next, _)) if *next > indent => {
                    let next = *next;
                    parse_block(lines, i, next)
                }
                _ => Yaml::Str(String::new()),
            }
        } else {
            Yaml::Str(unquote(value))
        };
        map.push((key.trim().to_string(), node));
    }
    assert!(
        *i >= lines.len() || lines[*i].0 < indent,
        "unexpected indentation at {:?}",
        lines[*i]
    );
    Yaml::Map(map)
}

fn action_yml() -> Yaml {
    parse_yaml(&std::fs::read_to_string(root().join("action.yml")).unwrap())
}

/// `${{ … }}` replaced by `lookup(expression)`.
fn eval(s: &str, lookup: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("closing }}");
        out.push_str(&lookup(rest[start + 3..end].trim()));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A `GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIM` … `DELIM` blocks.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A release server for the install step: `v<version>/bpdrift-<version>-<target>.tar.gz` holding
// a two-line wrapper around the binary cargo built, and `v<version>/sha256sums.txt`.

const TARGET: &str = "x86_64-unknown-linux-musl";

fn asset_name() -> String {
    format!("bpdrift-{VERSION}-{TARGET}.tar.gz")
}

fn release_tarball() -> &'static [u8] {
    static TARBALL: OnceLock<Vec<u8>> = OnceLock::new();
    TARBALL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let top = format!("bpdrift-{VERSION}-{TARGET}");
        std::fs::create_dir(dir.path().join(&top)).unwrap();
        let wrapper = format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_bpdrift")
        );
        let bin = dir.path().join(&top).join("bpdrift");
        std::fs::write(&bin, wrapper).unwrap();
        let status = Command::new("chmod").arg("755").arg(&bin).status().unwrap();
        assert!(status.success());
        let out = dir.path().join("asset.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&out)
            .arg("-C")
            .arg(dir.path())
            .arg(&top)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    })
}

struct Releases {
    url: String,
    /// What the action's checksums file says in a job against these releases.
    sums: String,
    requests: Arc<Mutex<Vec<String>>>,
    _server: Server,
}

impl Releases {
    /// `files`: path under the releases URL → bytes.
    fn start(files: BTreeMap<String, Vec<u8>>) -> Self {
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = requests.clone();
        let server = Server::start(move |stream| {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let Some(req) = read_request(&mut reader) else {
                return;
            };
            log.lock().unwrap().push(req.path().to_string());
            match files.get(req.path()) {
                Some(b) => write_response(&mut stream, 200, &[], b),
                None => write_response(&mut stream, 404, &[], b"Not Found"),
            }
            .ok();
        });
        Self {
            url: format!("http://{}", server.addr),
            sums: String::new(),
            requests,
            _server: server,
        }
    }

    /// The asset and a checksum file for it (`sum` replaces the real sha256 when given).
    fn genuine(sum: Option<&str>) -> Self {
        let tar = release_tarball().to_vec();
        let real: String = sha2::Sha256::digest(&tar)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sums = format!(
            "0000000000000000000000000000000000000000000000000000000000000000  bpdrift-{VERSION}-aarch64-apple-darwin.tar.gz\n{}  {}\n",
            sum.unwrap_or(&real),
            asset_name()
        );
        let mut releases = Self::start(BTreeMap::from([(
            format!("/v{VERSION}/{}", asset_name()),
            tar,
        )]));
        releases.sums = sums;
        releases
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

// ---------------------------------------------------------------------------------------------
// A job that uses the action: a runner temp and tool cache (kept across runs of the same job, as
// a cache hit would), an event file, the job summary.

struct Job {
    dir: tempfile::TempDir,
    api: String,
    releases: String,
    /// The action's checksums file (action/checksums.txt) in this job.
    sums: String,
    event_name: String,
    event: Value,
    env: Vec<(String, String)>,
    runs: std::cell::Cell<usize>,
}

#[derive(Debug)]
struct JobRun {
    code: i32,
    /// stdout of each step, by step id.
    stdout: BTreeMap<String, String>,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    /// Everything the job printed, wrote or left in its files, for secret checks.
    everything: String,
}

fn pull_request_event(number: u64, sha: &str) -> Value {
    json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": { "sha": sha, "ref": "feature" },
            "base": { "ref": "main" },
        },
        "repository": { "full_name": REPO },
    })
}

impl Job {
    fn new(api: &FakeGithub, releases: &Releases) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            api: api.url(),
            releases: releases.url.clone(),
            sums: releases.sums.clone(),
            event_name: "pull_request".into(),
            event: pull_request_event(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            env: vec![],
            runs: std::cell::Cell::new(0),
        }
    }

    /// Another job (its own runner directories) against the same API and releases.
    fn new_like(other: &Job) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            api: other.api.clone(),
            releases: other.releases.clone(),
            sums: other.sums.clone(),
            event_name: "pull_request".into(),
            event: pull_request_event(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            env: vec![],
            runs: std::cell::Cell::new(0),
        }
    }

    fn event(&mut self, name: &str, event: Value) -> &mut Self {
        self.event_name = name.into();
        self.event = event;
        self
    }

    fn env(&mut self, k: &str, v: &str) -> &mut Self {
        self.env.push((k.into(), v.into()));
        self
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs every step of action.yml with these inputs (the rest take their defaults).
    /// The action on the incident pair as `reg` holds it (`app:good` → `app:bad`).
    fn run_pair(&self, reg: &Registry) -> JobRun {
        let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
        self.run(&[("base-image", &good), ("head-image", &bad)])
    }

    fn run(&self, inputs: &[(&str, &str)]) -> JobRun {
        let action = action_yml();
        let run_no = self.runs.get();
        self.runs.set(run_no + 1);
        let tmp = self.path(&format!("run-{run_no}"));
        let workspace = tmp.join("workspace");
        std::fs::create_dir_all(&workspace).unwrap();
        for d in ["runner-temp", "tool-cache", "home"] {
            std::fs::create_dir_all(self.path(d)).unwrap();
        }
        let event_path = tmp.join("event.json");
        std::fs::write(&event_path, self.event.to_string()).unwrap();
        let summary_path = tmp.join("step_summary.md");
        std::fs::write(&summary_path, "").unwrap();

        let mut given: BTreeMap<&str, &str> = inputs.iter().copied().collect();
        // The release notes (on by default) ask the API for each moved buildpack's releases:
        // `release_notes_are_folded_into_the_comment` tests them; the other tests count the
        // comment API's requests and answers, so they leave them out unless they ask.
        given.entry("release-notes").or_insert("false");
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let declared = action.get("inputs").unwrap();
        for (name, spec) in declared.entries() {
            let default = spec.get("default").map(Yaml::str).unwrap_or("");
            let v = given
                .get(name.as_str())
                .map(|v| v.to_string())
                .unwrap_or_else(|| {
                    eval(default, &|e| match e {
                        "github.token" => TOKEN.to_string(),
                        other => panic!("unsupported expression in a default: {other}"),
                    })
                });
            values.insert(name.clone(), v);
        }
        for k in given.keys() {
            assert!(values.contains_key(*k), "action.yml has no input `{k}`");
        }

        let mut base_env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), self.path("home").display().to_string()),
            ("CI".into(), "true".into()),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("RUNNER_OS".into(), "Linux".into()),
            ("RUNNER_ARCH".into(), "X64".into()),
            (
                "RUNNER_TEMP".into(),
                self.path("runner-temp").display().to_string(),
            ),
            (
                "RUNNER_TOOL_CACHE".into(),
                self.path("tool-cache").display().to_string(),
            ),
            ("GITHUB_ACTION_PATH".into(), root().display().to_string()),
            ("GITHUB_WORKSPACE".into(), workspace.display().to_string()),
            ("GITHUB_API_URL".into(), self.api.clone()),
            ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
            ("GITHUB_REPOSITORY".into(), REPO.into()),
            ("GITHUB_RUN_ID".into(), "1234".into()),
            ("GITHUB_RUN_ATTEMPT".into(), "1".into()),
            ("GITHUB_EVENT_NAME".into(), self.event_name.clone()),
            ("GITHUB_EVENT_PATH".into(), event_path.display().to_string()),
            (
                "GITHUB_STEP_SUMMARY".into(),
                summary_path.display().to_string(),
            ),
            ("BPDRIFT_RELEASES_URL".into(), self.releases.clone()),
            // `uses: bpdrift/bpdrift@v<VERSION>`, whose checksums list the test release.
            ("GITHUB_ACTION_REF".into(), format!("v{VERSION}")),
            (
                "BPDRIFT_CHECKSUMS".into(),
                self.path("checksums.txt").display().to_string(),
            ),
        ];
        std::fs::write(self.path("checksums.txt"), &self.sums).unwrap();
        base_env.extend(self.env.iter().cloned());

        let mut step_outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut run = JobRun {
            code: 0,
            stdout: BTreeMap::new(),
            stderr: String::new(),
            outputs: BTreeMap::new(),
            summary: String::new(),
            everything: String::new(),
        };
        let steps = action.get("runs").unwrap().get("steps").unwrap().items();
        for (n, step) in steps.iter().enumerate() {
            let lookup = |e: &str| -> String {
                if let Some(name) = e.strip_prefix("inputs.") {
                    return values
                        .get(name)
                        .unwrap_or_else(|| panic!("no input `{name}`"))
                        .clone();
                }
                step_output(&step_outputs, e)
            };
            if let Some(uses) = step.get("uses")
                && uses.str().starts_with("github/codeql-action/upload-sarif@")
            {
                // Code scanning is GitHub's; with `sarif: true` the file the step would upload
                // must be there.
                if lookup("inputs.sarif") == "true" {
                    let with = step.get("with").unwrap();
                    let file = eval(with.get("sarif_file").unwrap().str(), &lookup);
                    assert!(Path::new(&file).is_file(), "no SARIF to upload at `{file}`");
                    assert!(
                        eval(with.get("category").unwrap().str(), &lookup).starts_with("bpdrift-")
                    );
                }
                continue;
            }
            if let Some(uses) = step.get("uses") {
                // actions/cache: nothing to restore in a fresh job; its inputs must resolve.
                assert!(uses.str().starts_with("actions/cache@"), "{uses:?}");
                for (_, v) in step.get("with").unwrap().entries() {
                    assert!(!eval(v.str(), &lookup).is_empty(), "empty cache input");
                }
                continue;
            }
            let id = step
                .get("id")
                .map(|v| v.str().to_string())
                .unwrap_or(format!("step-{n}"));
            assert_eq!(step.get("shell").map(Yaml::str), Some("bash"));
            let script_text = step.get("run").expect("a run step").str();
            assert!(
                !script_text.contains("${{"),
                "expression inside run: {script_text}"
            );
            let script = tmp.join(format!("{id}.sh"));
            std::fs::write(&script, script_text).unwrap();
            let output_file = tmp.join(format!("{id}.output"));
            std::fs::write(&output_file, "").unwrap();
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script)
                .env_clear()
                .envs(base_env.iter().map(|(k, v)| (k, v)))
                .env("GITHUB_OUTPUT", &output_file)
                .current_dir(&workspace);
            if let Some(env) = step.get("env") {
                for (k, v) in env.entries() {
                    cmd.env(k, eval(v.str(), &lookup));
                }
            }
            let out = cmd.output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            run.stderr.push_str(&String::from_utf8_lossy(&out.stderr));
            let written = std::fs::read_to_string(&output_file).unwrap();
            run.everything.push_str(&written);
            run.everything.push_str(&stdout);
            step_outputs.insert(id.clone(), parse_outputs(&written));
            run.stdout.insert(id, stdout);
            if !out.status.success() {
                run.code = out.status.code().unwrap_or(-1);
                break;
            }
        }
        if run.code == 0 {
            for (name, spec) in action.get("outputs").unwrap().entries() {
                let value = eval(spec.get("value").unwrap().str(), &|e: &str| {
                    step_output(&step_outputs, e)
                });
                run.outputs.insert(name.clone(), value);
            }
        }
        run.summary = std::fs::read_to_string(&summary_path).unwrap();
        run.everything.push_str(&run.stderr);
        run.everything.push_str(&run.summary);
        // The report files a later step or workflow would upload.
        let mut stack = vec![self.path("runner-temp")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    run.everything
                        .push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        run
    }
}

impl JobRun {
    fn main_stdout(&self) -> &str {
        self.stdout.get("run").map(String::as_str).unwrap_or("")
    }

    /// The workflow command lines of the main step, outside the log group.
    fn commands(&self) -> String {
        let mut inside = false;
        let mut out = String::new();
        for l in self.main_stdout().lines() {
            if l.starts_with("::group::") {
                inside = true;
            } else if l == "::endgroup::" {
                inside = false;
            } else if !inside && l.starts_with("::") {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn assert_no_secret(&self) {
        assert!(
            !self.everything.contains(TOKEN),
            "the token leaked:\n{}",
            self.everything
        );
    }
}

/// A registry holding the incident pair as app:good and app:bad.
/// `steps.<id>.outputs.<key>` of the steps run so far (empty when not set), as the runner
/// evaluates it.
fn step_output(outputs: &BTreeMap<String, BTreeMap<String, String>>, e: &str) -> String {
    match e.split('.').collect::<Vec<_>>().as_slice() {
        ["steps", id, "outputs", key] => outputs
            .get(*id)
            .and_then(|o| o.get(*key))
            .cloned()
            .unwrap_or_default(),
        _ => panic!("unsupported expression: {e}"),
    }
}

/// A rerun that has nothing new to say writes no comment and says so.
fn assert_comment_left_alone(api: &FakeGithub, run: &JobRun) {
    let writes = api.count("POST", "/comments") + api.count("PATCH", "/comments");
    assert_eq!(writes, 0, "{}", run.stderr);
    assert!(run.stderr.contains("already says this"), "{}", run.stderr);
}

fn registry() -> Registry {
    let reg = Registry::start();
    reg.seed(GOOD, "app:good");
    reg.seed(BAD, "app:bad");
    reg
}

/// An Action test's world: the registry with the incident pair, a fake GitHub with pull request
/// `pr` at `head`, and genuine release assets.
fn world(pr: u64, head: &str) -> (Registry, FakeGithub, Releases) {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(pr, head);
    (reg, api, Releases::genuine(None))
}

fn filters() -> insta::Settings {
    settings(&[
        (r"::stop-commands::[0-9a-f]{32}", "::stop-commands::[TOKEN]"),
        (r"::[0-9a-f]{32}::", "::[TOKEN]::"),
        (r"bpdrift \d+\.\d+\.\d+", "bpdrift [VERSION]"),
    ])
}

// ---------------------------------------------------------------------------------------------

#[test]
fn action_yml_passes_every_input_through_env() {
    let action = action_yml();
    let steps = action.get("runs").unwrap().get("steps").unwrap().items();
    let mut env_values = String::new();
    for step in steps {
        if let Some(run) = step.get("run") {
            assert!(!run.str().contains("${{"), "{}", run.str());
        }
        if let Some(env) = step.get("env") {
            for (_, v) in env.entries() {
                env_values.push_str(v.str());
            }
        }
        if let Some(uses) = step.get("uses") {
            let (_, sha) = uses.str().split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "not pinned by SHA: {}",
                uses.str()
            );
        }
    }
    for (name, _) in action.get("inputs").unwrap().entries() {
        assert!(
            env_values.contains(&format!("${{{{ inputs.{name} }}}}")),
            "input `{name}` never reaches a step"
        );
    }
    for (name, spec) in action.get("outputs").unwrap().entries() {
        assert_eq!(
            spec.get("value").unwrap().str(),
            format!("${{{{ steps.run.outputs.{name} }}}}")
        );
    }
    // Every INPUT_* the scripts read is set by action.yml.
    let scripts = ["action/run.sh", "action/install.sh"]
        .map(|p| std::fs::read_to_string(root().join(p)).unwrap())
        .concat();
    let yml = std::fs::read_to_string(root().join("action.yml")).unwrap();
    for word in scripts.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("INPUT_") && word.len() > "INPUT_".len() {
            assert!(
                yml.contains(&format!("{word}:")),
                "{word} is not set in action.yml"
            );
        }
    }
}

#[test]
fn first_run_creates_the_comment_later_runs_update_it() {
    let (reg, api, releases) = world(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let mut job = Job::new(&api, &releases);
    // Trace logging everywhere: the token must not show up even then.
    job.env("BPDRIFT_LOG", "trace");
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));

    let first = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(first.code, 0, "{}\n{:#?}", first.stderr, first.stdout);
    // Installed from the release, checked against the action's own checksums, and used.
    assert_eq!(releases.count(), 1);
    assert!(
        first.stdout["install"].contains("verified"),
        "{:?}",
        first.stdout
    );
    assert_eq!(api.count("POST", "/comments"), 1);
    assert_eq!(api.count("PATCH", "/comments"), 0);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 1);
    let ours = &comments[0];
    assert_eq!(ours.login, BOT);
    assert!(ours.body.starts_with(&format!(
        "{MARKER}\n### ℹ️ bpdrift: rebuild (BUILDPACK): 4 buildpacks changed"
    )));
    assert_eq!(
        first.outputs,
        BTreeMap::from([
            ("changed".into(), "true".into()),
            (
                "comment-url".into(),
                format!("https://github.com/{REPO}/pull/7#issuecomment-{}", ours.id)
            ),
            ("findings".into(), "2".into()),
            ("max-severity".into(), "info".into()),
            (
                "report-json".into(),
                job.path("runner-temp/bpdrift/default/report.json")
                    .display()
                    .to_string()
            ),
            (
                "sarif".into(),
                job.path("runner-temp/bpdrift/default/report.sarif")
                    .display()
                    .to_string()
            ),
        ])
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&first.outputs["report-json"]).unwrap())
            .unwrap();
    assert_eq!(report["schema_version"], 3);
    assert!(
        first
            .summary
            .starts_with("### ℹ️ bpdrift: rebuild (BUILDPACK): 4 buildpacks changed")
    );
    // Every request: the documented headers, a token, a user agent.
    for r in api.requests() {
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.github+json"),
            "{r:?}"
        );
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r.header("user-agent").unwrap().starts_with("bpdrift/"));
    }
    first.assert_no_secret();
    filters().bind(|| {
        assert_snapshot!("github_comment_created", ours.body);
        assert_snapshot!("github_run_step_stdout", first.main_stdout());
    });

    // A new push with the same report: the footer alone (run, commit) would differ, so the
    // comment is left as it is: no edit, no notification, no new comment.
    job.event(
        "pull_request",
        pull_request_event(7, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
    );
    api.clear_requests();
    let second = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(releases.count(), 1, "the cached asset is used");
    assert!(second.stdout["install"].contains("from the cache"));
    assert!(second.stdout["install"].contains("verified"));
    assert_comment_left_alone(&api, &second);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("for aaaaaaaaaaaa"));
    assert_eq!(second.outputs["comment-url"], first.outputs["comment-url"]);
    second.assert_no_secret();

    // Another report on that push: the comment is edited, footer and all.
    api.clear_requests();
    let rules_file = job.path("extra.toml");
    std::fs::write(
        &rules_file,
        "[[rule]]\nid = \"extra\"\nbuildpack = \"*\"\nseverity = \"info\"\nsummary = \"{subject} moved\"\n",
    )
    .unwrap();
    let edited = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("rules", &rules_file.display().to_string()),
    ]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    assert_eq!(
        api.count("PATCH", &format!("/issues/comments/{}", ours.id)),
        1
    );
    assert_eq!(api.count("POST", "/comments"), 0);
    assert!(api.comments(7)[0].body.contains("for bbbbbbbbbbbb"));

    // The same commit again: nothing to change, no request to change it.
    api.clear_requests();
    let again = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("rules", &rules_file.display().to_string()),
    ]);
    assert_eq!(again.code, 0);
    assert_comment_left_alone(&api, &again);

    // The drift is gone: the comment says so instead of keeping a stale warning.
    job.event(
        "pull_request",
        pull_request_event(7, "cccccccccccccccccccccccccccccccccccccccc"),
    );
    let fixed = job.run(&[("base-image", &good), ("head-image", &good)]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .starts_with(&format!("{MARKER}\n### ✅ bpdrift: no drift anymore\n"))
    );
    assert_eq!(fixed.outputs["changed"], "false");
    assert_eq!(fixed.outputs["findings"], "0");
    assert_eq!(fixed.outputs["max-severity"], "none");
    assert_eq!(fixed.commands(), "");
    fixed.assert_no_secret();
    filters().bind(|| assert_snapshot!("github_comment_no_drift_anymore", comments[0].body));
}

#[test]
fn finds_its_comment_on_page_three_of_250() {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    for i in 0..250 {
        match i {
            // Someone pasted our marker: not ours, never touched.
            4 => api.add_comment(7, "mallory", &format!("{MARKER}\nlooks like bpdrift")),
            i if i % 2 == 0 => api.add_comment(7, "octocat", &format!("comment {i}")),
            i => api.add_comment(7, BOT, &format!("another bot comment {i}")),
        };
    }
    let ours = api.add_comment(7, BOT, &format!("{MARKER}\n### old report"));
    let releases = Releases::genuine(None);
    let job = Job::new(&api, &releases);
    let run = job.run_pair(&reg);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pages: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.target.contains("/comments"))
        .map(|r| r.target)
        .collect();
    // The first page by name, then the `Link: rel="next"` targets as given.
    assert_eq!(
        pages,
        [
            "/repos/octo-org/app/issues/7/comments?per_page=100",
            "/repositories/4242/issues/7/comments?per_page=100&page=2",
            "/repositories/4242/issues/7/comments?per_page=100&page=3",
        ]
    );
    assert_eq!(api.count("POST", "/comments"), 0);
    assert_eq!(api.count("PATCH", &format!("/issues/comments/{ours}")), 1);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 251);
    assert_eq!(comments[4].body, format!("{MARKER}\nlooks like bpdrift"));
    assert!(comments[250].body.contains("4 buildpacks changed"));
    run.assert_no_secret();
}

#[test]
fn read_only_token_warns_and_the_job_stays_green() {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    // What a fork's or Dependabot's pull_request token gets from GitHub.
    api.set(|s| s.write_status = Some(403));
    let releases = Releases::genuine(None);
    let job = Job::new(&api, &releases);
    let run = job.run_pair(&reg);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(api.count("POST", "/comments"), 1);
    assert!(run.summary.contains("4 buildpacks changed"));
    assert_eq!(run.outputs["comment-url"], "");
    assert_eq!(run.outputs["findings"], "2");
    let commands = run.commands();
    assert!(commands.contains("::warning title=bpdrift could not comment::"));
    assert!(commands.contains("workflow_run"));
    run.assert_no_secret();
    filters().bind(|| assert_snapshot!("github_read_only_token", commands));

    // Findings still decide the exit status.
    let run = job.run(&[
        ("base-image", &reg.image("app:good")),
        ("head-image", &reg.image("app:bad")),
        ("fail-on", "info"),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.commands()
            .contains("::warning title=bpdrift could not comment::")
    );
}

#[test]
fn an_api_error_echoing_the_token_is_scrubbed() {
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    api.set(|s| s.echo_auth = true);
    let releases = Releases::genuine(None);
    let job = Job::new(&api, &releases);
    let images = crate::common::root().join("testdata/images");
    let run = job.run(&[
        (
            "base-image",
            &format!("oci:{}:incident-good", images.display()),
        ),
        (
            "head-image",
            &format!("oci:{}:incident-bad", images.display()),
        ),
    ]);
    assert!(
        run.commands().contains("<redacted>"),
        "the API's message is shown, scrubbed:\n{}",
        run.everything
    );
    run.assert_no_secret();
}

#[test]
fn oversized_report_is_cut_to_fit_one_comment() {
    let (reg, api, releases) = world(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let job = Job::new(&api, &releases);
    // 100 rules on every changed buildpack: 400 findings with long summaries, ~300 KB of Markdown.
    let mut rules = String::new();
    for i in 0..100 {
        rules.push_str(&format!(
            "[[rule]]\nid = \"wide-{i:03}\"\nbuildpack = \"*\"\nseverity = \"warning\"\nsummary = \"{{subject}} moved {{before}} → {{after}}: {}\"\n\n",
            "a long explanation of why this matters ".repeat(16)
        ));
    }
    let rules_file = job.path("wide.toml");
    std::fs::write(&rules_file, rules).unwrap();
    let run = job.run(&[
        ("base-image", &reg.image("app:good")),
        ("head-image", &reg.image("app:bad")),
        ("rules", &format!("\n  {}  \n", rules_file.display())),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.outputs["findings"], "402");
    assert_eq!(run.outputs["max-severity"], "warning");
    // The fake answers 422 above the limit, as GitHub does; one POST that succeeded.
    let posts: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.target.contains("/comments"))
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].status, 201);
    let body = &api.comments(7)[0].body;
    assert!(body.len() <= 65_536, "{}", body.len());
    assert!(body.len() > 60_000, "{}", body.len());
    assert!(
        body.starts_with(&format!(
            "{MARKER}\n### ⚠️ bpdrift: rebuild (BUILDPACK): 4 buildpacks changed (1 minor, 3 patch), runtimes unchanged (java 17.0.7, distro ubuntu 22.04), runtime dependencies unchanged (spring-cloud-bindings 1.13.0); findings: 400 warnings, 2 info; 1 rule did not apply\n"
        )),
        "{}",
        &body[..300]
    );
    // Finding rows went first: the buildpacks table and everything after it stay.
    assert!(
        body.contains("more findings cut to fit: the job summary has them all._"),
        "{body}"
    );
    assert!(!body.contains("more lines cut._"));
    assert!(body.contains("#### Buildpacks\n\n| buildpack | before | after | change |"));
    assert!(body.contains("paketo-buildpacks/bellsoft-liberica"));
    assert!(body.contains("wide-000"));
    assert!(body.contains("the full report is in the job summary of the run linked below"));
    assert!(body.contains("[job summary](https://github.com/octo-org/app/actions/runs/1234)"));
    // The job summary has it all.
    assert!(run.summary.len() > 200_000);
    assert!(run.summary.contains("wide-099"));
    assert_eq!(
        run.commands()
            .matches("::warning title=bpdrift%3A wide-")
            .count(),
        400
    );
    run.assert_no_secret();
}

#[test]
fn fork_safe_pair_saves_then_posts_the_report() {
    let head = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";
    let (reg, api, releases) = world(12, head);

    // pull_request: no comment, no API call; the report and the PR number are saved.
    let mut build = Job::new(&api, &releases);
    build.event("pull_request", pull_request_event(12, head));
    let saved = build.run(&[
        ("base-image", &reg.image("app:good")),
        ("head-image", &reg.image("app:bad")),
        ("comment", "false"),
    ]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(api.requests().is_empty(), "{:?}", api.requests());
    let dir = build.path("runner-temp/bpdrift/default");
    let pr: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.pr.json")).unwrap())
            .unwrap();
    assert_eq!(pr, json!({ "pull_request": 12, "head_sha": head }));
    assert!(dir.join("report.md").exists());

    // workflow_run: the artifact downloaded into the workspace; GitHub leaves `pull_requests`
    // empty for forks, so the saved number is checked against the run's head commit.
    let post = |job: &Job, artifact: &Path| {
        job.run(&[
            (
                "from-report",
                &artifact.join("report.json").display().to_string(),
            ),
            ("fail-on", "never"),
        ])
    };
    let fork_event = fork_run_event;
    let mut comment = Job::new(&api, &releases);
    comment.event("workflow_run", fork_event(head));
    let artifact = comment.path("artifact");
    copy_dir(&dir, &artifact);
    let posted = post(&comment, &artifact);
    assert_eq!(posted.code, 0, "{}", posted.stderr);
    assert_eq!(api.count("GET", "/repos/octo-org/app/pulls/12"), 1);
    assert_eq!(api.count("POST", "/issues/12/comments"), 1);
    let body = &api.comments(12)[0].body;
    assert!(body.starts_with(&format!(
        "{MARKER}\n### ℹ️ bpdrift: rebuild (BUILDPACK): 4 buildpacks changed"
    )));
    assert!(body.contains("for f0f0f0f0f0f0"));
    assert_eq!(posted.outputs["findings"], "2");
    assert_eq!(posted.outputs["changed"], "true");
    assert_eq!(
        posted
            .commands()
            .matches("::notice title=bpdrift%3A")
            .count(),
        2
    );
    posted.assert_no_secret();

    // An artifact naming a pull request whose head is another commit: refused.
    api.clear_requests();
    let mut other = Job::new(&api, &releases);
    other.event(
        "workflow_run",
        fork_event("0123456789012345678901234567890123456789"),
    );
    let refused = post(&other, &artifact);
    assert_eq!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused
            .commands()
            .contains("::warning title=bpdrift did not comment::refusing to comment on #12"),
        "{}",
        refused.commands()
    );
    assert_eq!(
        api.count("POST", "/comments") + api.count("PATCH", "/comments"),
        0
    );

    // A same-repository pull request: GitHub names it in the event, nothing to check.
    api.clear_requests();
    let mut same = Job::new(&api, &releases);
    same.event(
        "workflow_run",
        json!({ "workflow_run": { "head_sha": head, "pull_requests": [
            { "number": 12, "head": { "sha": head },
              "base": { "repo": { "url": format!("{}/repos/{REPO}", api.url()) } } }
        ]}}),
    );
    let run = same.run(&[(
        "from-report",
        &artifact.join("report.json").display().to_string(),
    )]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(api.count("GET", "/pulls/"), 0);
    assert!(run.stderr.contains("already says this"), "{}", run.stderr);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn rate_limits_are_waited_out_when_short_and_reported_when_long() {
    let (reg, api, releases) = world(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let job = Job::new(&api, &releases);
    let inputs = [
        ("base-image", reg.image("app:good")),
        ("head-image", reg.image("app:bad")),
    ];
    let inputs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();

    api.set(|s| s.rate_limits.push_back(RateLimit::RetryAfter(1)));
    let started = Instant::now();
    let run = job.run(&inputs);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(api.count("POST", "/comments"), 1);
    assert!(run.stderr.contains("rate limit"), "{}", run.stderr);

    api.set(|s| s.rate_limits.push_back(RateLimit::Exhausted(3600)));
    let started = Instant::now();
    let run = job.run(&inputs);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let commands = run.commands();
    assert!(commands.contains("rate limit resets in"), "{commands}");
    assert_eq!(api.comments(7).len(), 1);
}

#[test]
fn personal_token_unknown_pull_request_and_push_events() {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    // Someone else's bot comment with our marker must not be taken for the token owner's.
    api.add_comment(7, BOT, &format!("{MARKER}\nfrom the workflow token"));
    api.set(|s| s.token_login = Some("octocat".into()));
    let releases = Releases::genuine(None);
    let mut job = Job::new(&api, &releases);
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].login, "octocat");
    assert_eq!(
        comments[0].body,
        format!("{MARKER}\nfrom the workflow token")
    );

    // Separate keys, separate comments.
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("comment-key", "worker"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let comments = api.comments(7);
    assert_eq!(comments.len(), 3);
    assert!(comments[2].body.starts_with("<!-- bpdrift:worker -->\n"));
    assert!(run.outputs["report-json"].ends_with("/bpdrift/worker/report.json"));

    // A pull request the API does not know: a warning, the job stays green.
    job.event(
        "pull_request",
        pull_request_event(999, "dddddddddddddddddddddddddddddddddddddddd"),
    );
    let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.commands().contains("answered 404"),
        "{}",
        run.commands()
    );

    // A push that is no pull request's head: a notice, exit 0, the summary still written.
    job.event("push", json!({ "ref": "refs/heads/main", "after": "eeee" }));
    let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.commands().contains(
            "::notice title=bpdrift%3A no pull request comment::no pull request to comment on: a `push` event is not a pull request, and no open pull request has `eeee` as its head"
        ),
        "{}",
        run.commands()
    );
    assert_eq!(api.count("GET", "/commits/eeee/pulls"), 1);
    assert!(run.summary.contains("4 buildpacks changed"));
    // …and with comment: false it is fine.
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("comment", "false"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.outputs["comment-url"], "");
    run.assert_no_secret();
}

// ---------------------------------------------------------------------------------------------
// The install step's other paths: no registry needed, the images are the shipped layouts.

/// A `cargo` that records its arguments and "installs" a wrapper around the real binary.
fn fake_cargo(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
echo "$@" >> "{log}"
root=""
while [ $# -gt 0 ]; do
  if [ "$1" = --root ]; then root="$2"; fi
  shift
done
mkdir -p "$root/bin"
printf '#!/bin/sh\nexec %s "$@"\n' '{real}' > "$root/bin/bpdrift"
chmod 755 "$root/bin/bpdrift"
"#,
        log = dir.join("cargo.log").display(),
        real = env!("CARGO_BIN_EXE_bpdrift"),
    );
    std::fs::write(bin.join("cargo"), script).unwrap();
    let status = Command::new("chmod")
        .arg("755")
        .arg(bin.join("cargo"))
        .status()
        .unwrap();
    assert!(status.success());
    bin
}

fn local_images() -> [(&'static str, String); 3] {
    [
        (
            "base-image",
            format!("oci:{}/testdata/images:incident-good", root().display()),
        ),
        (
            "head-image",
            format!("oci:{}/testdata/images:incident-bad", root().display()),
        ),
        ("comment", "false".into()),
    ]
}

/// A job whose `cargo` is [`fake_cargo`].
fn job_with_cargo(api: &FakeGithub, releases: &Releases) -> Job {
    let mut job = Job::new(api, releases);
    let bin = fake_cargo(job.dir.path());
    job.env(
        "PATH",
        &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    job
}

#[test]
fn install_builds_the_source_when_the_action_ref_is_not_a_release_tag() {
    let api = FakeGithub::start();
    let releases = Releases::genuine(None);
    let inputs = local_images();
    let inputs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // A branch, a commit ahead of the release (its Cargo.toml may still say the released
    // version), a local action: the action's own source, never the release's binary.
    for r in ["main", "0123456789abcdef0123456789abcdef01234567", ""] {
        let mut job = job_with_cargo(&api, &releases);
        job.env("GITHUB_ACTION_REF", r);
        let run = job.run(&inputs);
        assert_eq!(run.code, 0, "{r}: {}\n{:?}", run.stderr, run.stdout);
        if !r.is_empty() {
            assert!(
                run.stdout["resolve"].contains(&format!("ref '{r}' is not a release tag")),
                "{:?}",
                run.stdout
            );
        }
        let log = std::fs::read_to_string(job.path("cargo.log")).unwrap();
        assert!(
            log.starts_with(&format!(
                "install --locked --path {} --root {}",
                root().display(),
                job.path("runner-temp/bpdrift-src.").display()
            )),
            "{log}"
        );
        assert_eq!(run.outputs["findings"], "2");
    }
    assert_eq!(releases.count(), 0);

    // GITHUB_ACTION_REF empty, as composite actions get it: the ref is read from where the
    // runner checked the action out.
    let mut job = job_with_cargo(&api, &releases);
    let checkout = job.path(&format!("_actions/bpdrift/bpdrift/v{VERSION}"));
    std::fs::create_dir_all(checkout.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(root(), &checkout).unwrap();
    job.env("GITHUB_ACTION_REF", "")
        .env("GITHUB_ACTION_PATH", &checkout.display().to_string());
    let run = job.run(&inputs);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout["install"].contains("verified"),
        "{:?}",
        run.stdout
    );
    assert!(!job.path("cargo.log").exists());

    // A major tag: the newest release the checksums list under it.
    let major = VERSION.split('.').next().unwrap();
    let mut job = job_with_cargo(&api, &releases);
    job.env("GITHUB_ACTION_REF", &format!("v{major}"));
    let run = job.run(&inputs);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout["install"].contains("verified"));
    assert!(!job.path("cargo.log").exists());
}

#[test]
fn install_refuses_what_the_actions_checksums_do_not_vouch_for() {
    let api = FakeGithub::start();
    let inputs = local_images();
    let inputs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // An asset that is not what the action's checksums say: refused, nothing built instead.
    let tampered = Releases::genuine(Some(
        "1111111111111111111111111111111111111111111111111111111111111111",
    ));
    let job = job_with_cargo(&api, &tampered);
    let run = job.run(&inputs);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout["install"].contains(&format!(
            "::error title=bpdrift::{} does not match the sha256 this action carries",
            asset_name()
        )),
        "{:?}",
        run.stdout
    );
    assert!(!run.stdout.contains_key("run"));
    assert!(!job.path("cargo.log").exists());

    // A release the checksums do not list: an error, not a download, not a source build.
    let mut other_version = inputs.clone();
    other_version.push(("version", "v9.9.9"));
    let run = job.run(&other_version);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout["resolve"].contains("carries no checksum for bpdrift 9.9.9"),
        "{:?}",
        run.stdout
    );
    assert!(!job.path("cargo.log").exists());
    let mut unlisted = Releases::genuine(None);
    unlisted.sums = String::new();
    let job = job_with_cargo(&api, &unlisted);
    let run = job.run(&inputs);
    assert_eq!(run.code, 1);
    assert!(run.stdout["resolve"].contains("carries no checksum"));
    assert_eq!(unlisted.count(), 0);

    // A poisoned cache entry: a genuine run fills the cache, someone swaps the asset in it;
    // the next run checks it again and refuses it.
    let genuine = Releases::genuine(None);
    let job = job_with_cargo(&api, &genuine);
    let run = job.run(&inputs);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cached = job.path(&format!(
        "tool-cache/bpdrift/bpdrift-{VERSION}-{TARGET}/{}",
        asset_name()
    ));
    assert!(cached.exists());
    std::fs::write(&cached, b"not the release").unwrap();
    let run = job.run(&inputs);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout["install"].contains("does not match the sha256 this action carries"),
        "{:?}",
        run.stdout
    );
    assert!(!run.stdout.contains_key("run"));
    assert_eq!(genuine.count(), 1);
}

#[test]
fn github_help_and_errors() {
    let run = crate::common::bpdrift().args(["github", "--help"]).run();
    assert_eq!(run.code, 0);
    settings(&[]).bind(|| assert_snapshot!("github_help", run.stdout));

    let dir = tempfile::tempdir().unwrap();
    let mut out = String::new();
    fn record(out: &mut String, what: &str, run: crate::common::Run) {
        out.push_str(&format!("## {what}\n{}\n", run.snapshot()));
    }
    record(
        &mut out,
        "a saved report that is not there",
        crate::common::bpdrift()
            .args(["github", "post", "--no-comment"])
            .arg(dir.path().join("nope.json"))
            .run(),
    );
    let report = dir.path().join("report.json");
    std::fs::write(&report, r#"{"schema_version": 99}"#).unwrap();
    record(
        &mut out,
        "a report of another schema",
        crate::common::bpdrift()
            .args(["github", "post", "--no-comment"])
            .arg(&report)
            .run(),
    );
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{not json").unwrap();
    record(
        &mut out,
        "a broken event file",
        crate::common::bpdrift()
            .args(["github", "comment", GOOD, BAD])
            .env("GITHUB_EVENT_PATH", &event)
            .run(),
    );
    std::fs::write(&event, pull_request_event(7, "abc").to_string()).unwrap();
    let no_token = crate::common::bpdrift()
        .args(["github", "comment", "--report-json"])
        .arg(dir.path().join("out/report.json"))
        .args([GOOD, BAD])
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", REPO)
        .run();
    assert_eq!(no_token.code, 2);
    out.push_str(&format!("## no token\n{}\n", no_token.stderr));
    assert!(dir.path().join("out/report.md").exists());
    assert!(dir.path().join("out/report.pr.json").exists());
    record(
        &mut out,
        "a key that cannot be a marker",
        crate::common::bpdrift()
            .args(["github", "comment", "--key", "a -->", GOOD, BAD])
            .run(),
    );
    filters().bind(|| assert_snapshot!("github_errors", out));
}

// ---------------------------------------------------------------------------------------------
// Issue #17: what a fork, an App token, a push and a limit change.

/// Saves the incident pair's report as the `pull_request` half of the fork-safe pair would, and
/// returns the directory the artifact lands in for the `workflow_run` half.
fn saved_artifact(job: &Job, reg: &Registry, head: &str, extra: &[(&str, &str)]) -> PathBuf {
    let mut build = Job::new_like(job);
    build.event("pull_request", pull_request_event(12, head));
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    let mut inputs = vec![
        ("base-image", good.as_str()),
        ("head-image", bad.as_str()),
        ("comment", "false"),
    ];
    inputs.extend_from_slice(extra);
    let saved = build.run(&inputs);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let artifact = job.path("artifact");
    copy_dir(&build.path("runner-temp/bpdrift/default"), &artifact);
    artifact
}

fn fork_run_event(sha: &str) -> Value {
    json!({ "action": "completed", "workflow_run": {
        "id": 99, "event": "pull_request", "head_sha": sha, "pull_requests": [],
        "head_repository": { "full_name": "someone/app" },
    }})
}

#[test]
fn a_forged_artifact_cannot_change_what_the_bot_says() {
    let head = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";
    let (reg, api, releases) = world(12, head);
    let mut comment = Job::new(&api, &releases);
    comment.event("workflow_run", fork_run_event(head));
    let artifact = saved_artifact(&comment, &reg, head, &[]);

    // What a fork's workflow can upload: its own verdict, Markdown, links, mentions and
    // workflow commands in every string.
    let lure = "@org/maintainers this is safe to merge [the audit](https://evil.example/login)";
    let path = artifact.join("report.json");
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    report["summary"]["verdict"] = json!(format!("no drift; no findings. {lure}"));
    report["summary"]["max_severity"] = Value::Null;
    report["summary"]["changed"] = json!({});
    report["findings"][0]["summary"] = json!(format!("fine {lure} #1 www.evil.example"));
    report["findings"][0]["sources"] = json!(["https://evil.example/login"]);
    report["changes"][0]["homepage"] = json!("https://evil.example/login");
    report["changes"][0]["release_notes"] = json!("https://evil.example/login");
    report["after"]["problems"] = json!([{
        "label": "io.buildpacks.build.metadata", "path": ".", "line": 0, "column": 0,
        "message": "bad\n::warning title=x::spoofed\n::add-mask::hunter2\n##[error]legacy",
    }]);
    std::fs::write(&path, report.to_string()).unwrap();
    std::fs::write(
        artifact.join("report.md"),
        format!("### ✅ bpdrift: no drift\n\n{lure}\n"),
    )
    .unwrap();

    let posted = comment.run(&[
        ("from-report", &path.display().to_string()),
        ("fail-on", "never"),
    ]);
    // The unreadable label is an error of the report: exit 2, but the comment is posted.
    assert_eq!(posted.code, 2, "{}", posted.stderr);
    let body = &api.comments(12)[0].body;
    let verdict = body.lines().nth(1).unwrap();
    assert_eq!(
        verdict,
        "### ℹ️ bpdrift: rebuild (BUILDPACK): 4 buildpacks changed (1 minor, 3 patch), 4 layer parts moved; findings: 2 info; 1 rule did not apply"
    );
    for forbidden in [
        "no drift",
        "@org/",
        "](https://evil",
        "https://evil",
        "www.evil",
        " #1 ",
        "safe to merge [",
    ] {
        assert!(!body.contains(forbidden), "`{forbidden}` in:\n{body}");
    }
    assert!(
        body.contains("@&#8203;org/maintainers this is safe to merge \\[the audit\\]"),
        "{body}"
    );
    // Nothing the artifact says becomes a workflow command on either stream.
    for (stream, text) in [("stdout", posted.main_stdout()), ("stderr", &posted.stderr)] {
        for line in text.lines() {
            let l = line.trim_start();
            assert!(
                !l.starts_with("::warning title=x") && !l.starts_with("::add-mask::"),
                "{stream}: {line}"
            );
            assert!(!l.contains("##["), "{stream}: {line}");
        }
    }
    assert!(posted.stderr.contains("hunter2"), "{}", posted.stderr);
    filters().bind(|| assert_snapshot!("github_forged_artifact_comment", body));

    // A value outside the schema is refused; serde quotes it as written, still inert.
    report["findings"][0]["severity"] = json!("grave\n::add-mask::hunter3\n::error::forged");
    std::fs::write(&path, report.to_string()).unwrap();
    api.clear_requests();
    let refused = comment.run(&[("from-report", &path.display().to_string())]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("is not a bpdrift JSON report"),
        "{}",
        refused.stderr
    );
    for line in refused.stderr.lines().chain(refused.main_stdout().lines()) {
        let l = line.trim_start();
        assert!(
            !l.starts_with("::add-mask::") && !l.starts_with("::error::"),
            "{line}"
        );
    }
    assert_eq!(
        api.count("POST", "/comments") + api.count("PATCH", "/comments"),
        0
    );
}

#[test]
fn an_app_token_keeps_one_comment_and_pushes_find_their_pull_request() {
    let reg = registry();
    let api = FakeGithub::start();
    let head = "1212121212121212121212121212121212121212";
    api.add_pull(12, head);
    // An installation token: `/user` answers 403, GraphQL's viewer is the bot.
    api.set(|s| s.app = Some("my-app".into()));
    let releases = Releases::genuine(None);
    let mut job = Job::new(&api, &releases);
    job.event("pull_request", pull_request_event(12, head));
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    for _ in 0..2 {
        let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.assert_no_secret();
    }
    let comments = api.comments(12);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_eq!(comments[0].login, "my-app[bot]");
    let viewer_queries = || {
        api.requests()
            .iter()
            .filter(|r| r.target == "/graphql" && r.body.contains("viewer"))
            .count()
    };
    assert_eq!(viewer_queries(), 2);

    // The `author` input names the login outright: no GraphQL question.
    api.clear_requests();
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("author", "my-app[bot]"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(viewer_queries(), 0);
    assert_eq!(api.comments(12).len(), 1);

    // A push of a pull request's head commit: that pull request is found through the API.
    api.set(|s| s.app = None);
    api.add_pull(13, "1313131313131313131313131313131313131313");
    api.clear_requests();
    job.event(
        "push",
        json!({ "ref": "refs/heads/feature", "after": "1313131313131313131313131313131313131313" }),
    );
    let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        api.count(
            "GET",
            "/repos/octo-org/app/commits/1313131313131313131313131313131313131313/pulls"
        ),
        1
    );
    assert_eq!(api.comments(13).len(), 1);

    // A push to main with `pr: 12`: the comment goes to #12, and with `memory: 512M` the
    // memory prediction is in it, made with the `env` given.
    job.event("push", json!({ "ref": "refs/heads/main", "after": "eeee" }));
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("pr", "12"),
        ("memory", "512M"),
        ("env", "\n  BPL_JVM_THREAD_COUNT=50  \n"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours: Vec<_> = api
        .comments(12)
        .into_iter()
        .filter(|c| c.login == BOT)
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0]
            .body
            .contains("#### JVM memory in a container limited to 512M"),
        "{}",
        ours[0].body
    );
    // `sbom: true`: the comment gets the package tables from the launch SBOM layers.
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("pr", "12"),
        ("sbom", "true"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &api
        .comments(12)
        .into_iter()
        .rfind(|c| c.login == BOT)
        .unwrap()
        .body;
    assert!(body.contains("#### Packages (from the SBOMs)"), "{body}");
    assert!(body.contains("(helper 10.2.3 → 10.2.4)"), "{body}");
    // (These images carry no memory calculator inputs, so `env` shows only in that it is
    // accepted: `--env` without `--memory` is refused.)
    let refused = crate::common::bpdrift()
        .args(["diff", "--env", "BPL_JVM_THREAD_COUNT=50", GOOD, BAD])
        .run();
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--memory"), "{}", refused.stderr);
}

#[test]
fn a_minimized_comment_is_left_alone() {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let hidden = api.add_comment(7, BOT, &format!("{MARKER}\nan old report"));
    api.set(|s| {
        s.minimized.insert(hidden);
    });
    let releases = Releases::genuine(None);
    let job = Job::new(&api, &releases);
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    for _ in 0..2 {
        let run = job.run(&[("base-image", &good), ("head-image", &bad)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let comments = api.comments(7);
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert_eq!(comments[0].body, format!("{MARKER}\nan old report"));
    assert!(comments[1].body.contains("4 buildpacks changed"));
    assert_eq!(api.count("PATCH", &format!("/comments/{hidden}")), 0);
}

#[test]
fn the_history_input_warns_in_the_comment_when_the_nightly_stopped() {
    let (reg, api, releases) = world(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let job = Job::new(&api, &releases);
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    // The fleet report last ran (successfully) long before this pull request.
    let fleet = job.path("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[service]]\nname = \"app\"\ndeployed = \"{good}\"\n"),
    )
    .unwrap();
    let history = job.path("history.sqlite");
    let report = crate::common::bpdrift()
        .args(["report", "--now", "2026-01-01T06:00:00Z", "--fleet"])
        .arg(&fleet)
        .arg("--history")
        .arg(&history)
        .run();
    assert_eq!(report.code, 0, "{}", report.stderr);

    let history = history.display().to_string();
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("history", &history),
    ]);
    assert_eq!(run.code, 0, "a warning, not a failure: {}", run.stderr);
    let comments = api.comments(7);
    assert!(
        comments[0]
            .body
            .contains("> [!WARNING]\n> the fleet report's last successful run (history `")
            && comments[0]
                .body
                .contains("longer than the expected interval of 1d"),
        "{}",
        comments[0].body
    );
}

/// The release notes of every version each moved buildpack went through are in the comment by
/// default (the Action has a token), each version folded; the API's pages were asked once.
#[test]
fn release_notes_are_folded_into_the_comment() {
    let reg = registry();
    let api = FakeGithub::start();
    api.add_pull(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    api.add_releases(
        "paketo-buildpacks/bellsoft-liberica",
        &[
            (
                "v10.2.4",
                "Liberica 10.2.4: JRE 17.0.7 rebuilt, @maintainers see #12",
            ),
            ("v10.2.3", "older"),
        ],
    );
    let releases = Releases::genuine(None);
    let job = Job::new(&api, &releases);
    let run = job.run(&[
        ("base-image", &reg.image("app:good")),
        ("head-image", &reg.image("app:bad")),
        ("release-notes", "true"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let body = &api.comments(7)[0].body;
    assert!(
        body.contains("<details><summary>10.2.4 Liberica 10.2.4: JRE 17.0.7 rebuilt, @&#8203;maintainers see #&#8203;12</summary>"),
        "{body}"
    );
    assert_eq!(
        api.count("GET", "/releases"),
        4,
        "one list per moved buildpack"
    );
    // `release-notes: false`: nothing asked.
    api.clear_requests();
    let off = job.run(&[
        ("base-image", &reg.image("app:good")),
        ("head-image", &reg.image("app:bad")),
    ]);
    assert_eq!(off.code, 0);
    assert_eq!(api.count("GET", "/releases"), 0);
}

/// `sarif: true`: the run step writes the SARIF the upload step hands to code scanning (the
/// runner stand-in checks the file is there), pointing at `sarif-location`; a typo in the input
/// fails the step instead of uploading nothing.
#[test]
fn the_sarif_input_hands_code_scanning_a_valid_report() {
    let (reg, api, releases) = world(7, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let job = Job::new(&api, &releases);
    let (good, bad) = (reg.image("app:good"), reg.image("app:bad"));
    let run = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("sarif", "true"),
        ("sarif-location", "deploy/app.toml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sarif = PathBuf::from(&run.outputs["sarif"]);
    let schema = root().join("testdata/sarif/sarif-schema-2.1.0.json");
    crate::schema::assert_valid(&schema, std::slice::from_ref(&sarif));
    let text = std::fs::read_to_string(&sarif).unwrap();
    assert!(text.contains(r#""uri": "deploy/app.toml""#), "{text}");
    let typo = job.run(&[
        ("base-image", &good),
        ("head-image", &bad),
        ("sarif", "yes"),
    ]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.everything
            .contains("the sarif input must be true or false")
    );
}
