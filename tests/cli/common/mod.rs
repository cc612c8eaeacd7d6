//! Test fixtures: a CLI runner that snapshots exit code, stdout and stderr, and a real
//! `docker-registry` on a free loopback port, seeded with `skopeo copy`, stopped on drop (and a
//! Podman service in `podman`).

#![allow(dead_code)]

pub mod github_api;
pub mod hostile;
pub mod http;
pub mod podman;
pub mod postgres;
pub mod proxy;
pub mod tls;
pub mod token;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (testdata paths in references are relative to it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Result of one bpdrift run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The form snapshots store: exit code, then both streams.
    pub fn snapshot(&self) -> String {
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// An error (exit code 2) whose message says `what`.
    pub fn assert_error(&self, what: &str) {
        assert_eq!(self.code, 2, "{}", self.stderr);
        assert!(
            self.stderr.contains(what),
            "{what:?} not in: {}",
            self.stderr
        );
    }
}

/// The rule ids of a JSON report's findings, in order.
pub fn finding_rules(v: &serde_json::Value) -> Vec<&str> {
    let findings = v["findings"].as_array().expect("findings");
    findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

/// A bpdrift invocation with a clean environment: no user docker config, no log filter.
pub struct Bpdrift {
    cmd: Command,
    home: tempfile::TempDir,
    input: Option<Vec<u8>>,
}

/// The first item of a JSON report's `changes` whose `key` is `value`.
pub fn find_change<'a>(v: &'a serde_json::Value, key: &str, value: &str) -> &'a serde_json::Value {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[key] == value)
        .unwrap_or_else(|| panic!("no change with {key} {value}"))
}

/// `oci:testdata/images:<tag>`.
pub fn oci(tag: &str) -> String {
    format!("oci:testdata/images:{tag}")
}

/// `bpdrift diff --format json` of two shipped tags (never failing on findings), as JSON.
pub fn diff_json(before: &str, after: &str, extra: &[&str]) -> serde_json::Value {
    let (b, a) = (oci(before), oci(after));
    let mut args = vec!["diff", "--format", "json", "--fail-on", "never", &b, &a];
    args.extend_from_slice(extra);
    let run = bpdrift().args(args).run();
    assert_eq!(run.code, 0, "{before} → {after}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

pub fn bpdrift() -> Bpdrift {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bpdrift"));
    cmd.env_clear()
        .current_dir(root())
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    Bpdrift {
        cmd,
        home,
        input: None,
    }
}

impl Bpdrift {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Runs in `dir` instead of the repository root.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// The temporary `$HOME` of this run.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Bytes for standard input.
    pub fn input(mut self, bytes: &[u8]) -> Self {
        self.input = Some(bytes.to_vec());
        self
    }

    pub fn run(mut self) -> Run {
        let out = match self.input.take() {
            None => self.cmd.output().expect("run bpdrift"),
            Some(bytes) => {
                use std::io::Write;
                let mut child = self
                    .cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("run bpdrift");
                child.stdin.take().unwrap().write_all(&bytes).unwrap();
                child.wait_with_output().expect("wait bpdrift")
            }
        };
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `cmd` to its end; a failure fails the test with the command's stderr.
pub fn output_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("the command runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    out
}

/// `report --fleet FLEET --history HISTORY --format FORMAT --now NOW`: a fleet report run at a
/// fixed time.
pub fn report_args<'a>(
    fleet: &'a str,
    history: &'a str,
    format: &'a str,
    now: &'a str,
) -> [&'a str; 9] {
    [
        "report",
        "--fleet",
        fleet,
        "--history",
        history,
        "--format",
        format,
        "--now",
        now,
    ]
}

/// `text` without SGR sequences (`ESC [ … m`): what a terminal shows of coloured output.
pub fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\u{1b}[") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        match tail.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(j) if tail[j..].starts_with('m') => rest = &tail[j + 1..],
            _ => {
                out.push('\u{1b}');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces what differs between runs (ports, temp dirs) in snapshots.
pub fn settings(extra: &[(&str, &str)]) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"127\.0\.0\.1:\d+", "[REGISTRY]");
    s.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    s.add_filter(r"\(os error \d+\)", "(os error N)");
    for (re, with) in extra {
        s.add_filter(re, *with);
    }
    s
}

/// Picks a free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A request seen in the registry's access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub user_agent: String,
}

/// Debian's `docker-registry` (distribution 2.8) on `127.0.0.1:<free port>`.
pub struct Registry {
    child: Child,
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: String,
    /// The `host:port` references use: `addr`, or the TLS test name mapped to 127.0.0.1.
    pub name: String,
    /// With TLS: skopeo's `--dest-cert-dir` (the CA, and the client certificate for mTLS).
    cert_dir: Option<PathBuf>,
    dir: tempfile::TempDir,
    log: PathBuf,
    pub htpasswd: bool,
}

pub const USER: &str = "bpdrift-test";
pub const PASSWORD: &str = "bpdrift-test-password";

impl Registry {
    /// Anonymous registry.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Registry with htpasswd basic auth (`USER`/`PASSWORD`).
    pub fn start_htpasswd() -> Self {
        Self::start_with(true)
    }

    /// Registry with token auth against `token` (which checks `USER`/`PASSWORD`).
    pub fn start_token(token: &token::TokenServer) -> Self {
        Self::start_auth(token.registry_auth_yaml())
    }

    fn start_with(htpasswd: bool) -> Self {
        let auth = if htpasswd {
            format!(
                "auth:\n  htpasswd:\n    realm: bpdrift-test\n    path: {}\n",
                root().join("tests/cli/fixtures/htpasswd").display()
            )
        } else {
            String::new()
        };
        Self::start_auth(auth)
    }

    fn start_auth(auth: String) -> Self {
        Self::start_config(auth, None)
    }

    /// Over HTTPS with `pki`'s server certificate, reached as `tls::TEST_HOST:<port>`; with
    /// `mtls`, clients must present a certificate from `pki`'s CA.
    pub fn start_tls(pki: &tls::Pki, mtls: bool) -> Self {
        Self::start_config(String::new(), Some((pki, mtls, true)))
    }

    /// [`Self::start_tls`] with HTTP/2 switched off on the server (the benchmark's baseline).
    pub fn start_tls_http1(pki: &tls::Pki) -> Self {
        Self::start_config(String::new(), Some((pki, false, false)))
    }

    fn start_config(auth: String, tls: Option<(&tls::Pki, bool, bool)>) -> Self {
        let htpasswd = !auth.is_empty();
        let dir = tempfile::tempdir().expect("registry dir");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let (name, tls_yaml, cert_dir) = match tls {
            None => (addr.clone(), String::new(), None),
            Some((pki, mtls, h2)) => {
                tls::map_test_host();
                let clientcas = if mtls {
                    format!("    clientcas:\n      - {}\n", pki.ca.display())
                } else {
                    String::new()
                };
                let h2 = if h2 {
                    ""
                } else {
                    "  http2:\n    disabled: true\n"
                };
                (
                    format!("{}:{port}", tls::TEST_HOST),
                    format!(
                        "  tls:\n    certificate: {}\n    key: {}\n{clientcas}{h2}",
                        pki.server_cert.display(),
                        pki.server_key.display()
                    ),
                    Some(pki.client_dir()),
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls_yaml}{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("registry config");
        let log = dir.path().join("registry.log");
        let log_file = std::fs::File::create(&log).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log_file.try_clone().expect("log clone"))
            .stderr(log_file)
            .spawn()
            .expect(
                "docker-registry must be installed: run scripts/test.sh, which installs it with apt-get",
            );
        let reg = Self {
            child,
            addr,
            name,
            cert_dir,
            dir,
            log,
            htpasswd,
        };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(&self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} within 20 s; log:\n{}",
            self.addr,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `skopeo copy` an image (all platforms) into `repo:tag` of this registry.
    pub fn seed(&self, source: &str, repo_tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--all"]);
        match &self.cert_dir {
            Some(d) => cmd.arg("--dest-cert-dir").arg(d),
            None => cmd.arg("--dest-tls-verify=false"),
        };
        if self.htpasswd {
            cmd.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        let out = cmd
            .arg(source)
            .arg(format!("docker://{}/{repo_tag}", self.name))
            .current_dir(root())
            .output()
            .expect(
                "skopeo must be installed: run scripts/test.sh, which installs it with apt-get",
            );
        assert!(
            out.status.success(),
            "skopeo copy {source} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `<addr>/<repo_tag>`, a reference bpdrift can use.
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.name)
    }

    /// The access log as written (the protocol version is in each line).
    pub fn raw_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Requests bpdrift made (identified by its user agent), in order.
    pub fn bpdrift_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.user_agent.starts_with("bpdrift/"))
            .collect()
    }

    /// Every request in the access log (combined log format).
    pub fn requests(&self) -> Vec<Request> {
        let f = std::fs::File::open(&self.log).expect("registry log");
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| parse_access_line(&l))
            .collect()
    }

    /// The incident pair seeded as `app:good` / `app:bad`, the log cleared: their references.
    pub fn seed_incident_pair(&self) -> (String, String) {
        self.seed("oci:testdata/images:incident-good", "app:good");
        self.seed("oci:testdata/images:incident-bad", "app:bad");
        self.clear_log();
        (self.image("app:good"), self.image("app:bad"))
    }

    /// The fleet the report tests watch: `checkout` (`checkout:prod` the incident pair's good
    /// image, `checkout:main` its bad one) and `plain` (`plain:prod`), seeded; the fleet file,
    /// after `defaults` (a `[defaults]` table, or nothing).
    pub fn seed_fleet(&self, defaults: &str) -> String {
        self.seed("oci:testdata/images:incident-good", "checkout:prod");
        self.seed("oci:testdata/images:incident-bad", "checkout:main");
        self.seed("oci:testdata/images:plain-a", "plain:prod");
        format!(
            "{defaults}\n[[service]]\nname = \"checkout\"\ndeployed = \"{r}/checkout:prod\"\ncandidate = \"{r}/checkout:main\"\n\n[[service]]\nname = \"plain\"\ndeployed = \"{r}/plain:prod\"\n",
            r = self.addr
        )
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        std::fs::write(&self.log, "").expect("truncate log");
    }

    /// The registry's storage directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The file holding a blob's bytes in the registry's filesystem storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.data_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

/// `127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "bpdrift/0.1.0"`
fn parse_access_line(line: &str) -> Option<Request> {
    let start = line.find("\"")?;
    let rest = &line[start + 1..];
    let (req, rest) = rest.split_once('"')?;
    let mut parts = req.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        return None;
    }
    let status: u16 = rest.split_whitespace().next()?.parse().ok()?;
    let user_agent = rest.rsplit('"').nth(1).unwrap_or_default().to_string();
    Some(Request {
        method,
        path,
        status,
        user_agent,
    })
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
