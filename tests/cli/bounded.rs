//! Issue 27, every read bounded and typed: TLS files, credential helpers, a container engine and
//! the history's times, each over a real file (a FIFO made by `mkfifo`, `/dev/zero`, a sparse
//! file, a tmpfs with little room mounted here; the tests run as root) or a real socket (a
//! hostile engine, a TLS server made by `openssl s_server`). Each case exits 2 with a message
//! naming the culprit (file, flag, limit, host), within a bounded time and peak RSS (GNU time),
//! and leaves nothing behind.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::json;

use crate::common::hostile::{self, Hostile, sha256, stream};
use crate::common::http::{self, Request};
use crate::common::{bpdrift, free_port};

const GB2: u64 = 2 << 30;

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// A 10 GiB sparse file made by coreutils `truncate`.
fn sparse(path: &Path) {
    let ok = Command::new("truncate")
        .args(["-s", "10G"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "truncate {}", path.display());
}

/// The files under `dir`, recursively (what a run left behind).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// An image reference on a loopback registry that `--ca-file`/`--certs-dir` send over HTTPS:
/// the trust is read before any connection, so nothing needs to listen.
const HTTPS_IMAGE: &str = "127.0.0.1:9/app:1";

fn diff_with(args: &[&str]) -> crate::common::Bpdrift {
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "5"])
        .args(args)
        .args([HTTPS_IMAGE, HTTPS_IMAGE])
}

// ---- TLS files -----------------------------------------------------------------------------

#[test]
fn ca_files_that_are_not_files_are_refused_unread() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("ca.fifo");
    mkfifo(&fifo);
    let big = d.path().join("ca-135mb.pem");
    sparse(&big);
    let garbage = d.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let cases: [(&Path, &[&str]); 4] = [
        (
            &fifo,
            &[
                "CA file `",
                "ca.fifo` (--ca-file) is a FIFO, not a regular file",
            ],
        ),
        (
            Path::new("/dev/zero"),
            &["CA file `/dev/zero` (--ca-file) is a character device"],
        ),
        (
            &big,
            &["ca-135mb.pem` (--ca-file) is larger than the 4 MiB limit"],
        ),
        (
            &garbage,
            &[
                "garbage.pem` (--ca-file) certificate 1 is not a usable CA certificate (BadEncoding)",
            ],
        ),
    ];
    for (file, needles) in cases {
        let m = diff_with(&["--ca-file", file.to_str().unwrap()]).run_measured();
        m.assert_refused(needles, 10);
        assert!(
            !m.run.stderr.contains("peer"),
            "the peer blamed: {}",
            m.run.stderr
        );
    }
}

#[test]
fn certs_d_files_that_are_not_files_are_refused_unread() {
    let pki = crate::common::tls::Pki::new();
    // `ca.crt` a FIFO.
    let d = tempfile::tempdir().unwrap();
    mkfifo(&d.path().join("ca.crt"));
    diff_with(&["--certs-dir", d.path().to_str().unwrap()])
        .run_measured()
        .assert_refused(&["ca.crt` (certs.d) is a FIFO, not a regular file"], 10);
    // `client.key` a FIFO beside a good certificate.
    let d = tempfile::tempdir().unwrap();
    pki.certs_d_into(d.path(), true);
    std::fs::remove_file(d.path().join("client.key")).unwrap();
    mkfifo(&d.path().join("client.key"));
    diff_with(&["--certs-dir", d.path().to_str().unwrap()])
        .run_measured()
        .assert_refused(&["client key `", "client.key` (certs.d) is a FIFO"], 10);
    // A client key others can read is used, as docker uses it; `-v` says so.
    let d = tempfile::tempdir().unwrap();
    pki.certs_d_into(d.path(), true);
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = d.path().join("client.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let run = bpdrift()
        .args([
            "-v",
            "diff",
            "--no-cache",
            "--retries",
            "1",
            "--timeout",
            "5",
        ])
        .args([
            "--certs-dir",
            d.path().to_str().unwrap(),
            HTTPS_IMAGE,
            HTTPS_IMAGE,
        ])
        .run();
    assert!(
        run.stderr
            .contains("is readable by other users (mode 644); used anyway, as docker does"),
        "{}",
        run.snapshot()
    );
    assert!(
        !run.stderr.contains("cannot set up TLS"),
        "the key was used: {}",
        run.snapshot()
    );
    // `client.cert` linked to /dev/zero.
    let d = tempfile::tempdir().unwrap();
    pki.certs_d_into(d.path(), true);
    std::fs::remove_file(d.path().join("client.cert")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.path().join("client.cert")).unwrap();
    diff_with(&["--certs-dir", d.path().to_str().unwrap()])
        .run_measured()
        .assert_refused(&["client.cert` (certs.d) is a character device"], 10);
}

#[test]
fn an_engines_tls_file_that_is_a_fifo_is_refused() {
    let d = tempfile::tempdir().unwrap();
    mkfifo(&d.path().join("ca.pem"));
    bpdrift()
        .args(["inspect", "docker-daemon:app:1"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", d.path())
        .run_measured()
        .assert_refused(
            &["TLS file `", "ca.pem` (`DOCKER_CERT_PATH`", "is a FIFO"],
            10,
        );
}

/// `openssl s_server` with the test PKI's server certificate (a CA bpdrift is not told of).
struct TlsServer {
    child: Child,
    addr: String,
    _pki: crate::common::tls::Pki,
}

impl TlsServer {
    fn start() -> Self {
        let pki = crate::common::tls::Pki::new();
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&pki.server_cert)
            .arg("-key")
            .arg(&pki.server_key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let addr = format!("127.0.0.1:{port}");
        for _ in 0..100 {
            if TcpStream::connect(&addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            addr,
            _pki: pki,
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_bad_certificate_on_a_redirect_target_names_the_target() {
    let target = TlsServer::start();
    let to = target.addr.clone();
    let reg = Hostile::start(move |req: &Request, s: &mut TcpStream| {
        if req.path().contains("/manifests/") {
            let _ = http::write_response(
                s,
                307,
                &[("Location", format!("https://{to}{}", req.target))],
                b"",
            );
            return true;
        }
        false
    });
    let img = reg.image("app:1");
    let m = bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", "--timeout", "5"])
        .args([&img, &img])
        .run_measured();
    m.assert_refused(
        &[
            &format!("redirected to `{}`", target.addr),
            &format!(
                "`{}` presented a certificate signed by an unknown authority",
                target.addr
            ),
        ],
        20,
    );
    assert!(
        !m.run
            .stderr
            .contains(&format!("`{}` presented", reg.addr())),
        "the registry was blamed: {}",
        m.run.stderr
    );
}

// ---- credential helpers ----------------------------------------------------------------------

/// A registry that asks for basic auth on every request.
fn asks_for_credentials() -> Hostile {
    Hostile::start(|_req, s| {
        let _ = http::write_response(
            s,
            401,
            &[("WWW-Authenticate", r#"Basic realm="r""#.to_string())],
            b"",
        );
        true
    })
}

fn executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_helper_name_with_a_path_is_refused_and_runs_nothing() {
    let reg = asks_for_credentials();
    let cwd = tempfile::tempdir().unwrap();
    // `docker-credential-x/../evil` is `./evil` once `docker-credential-x/` exists.
    std::fs::create_dir(cwd.path().join("docker-credential-x")).unwrap();
    let marker = cwd.path().join("pwned");
    executable(
        &cwd.path().join("evil"),
        &format!("#!/bin/sh\ntouch {}\n", marker.display()),
    );
    for name in ["x/../evil", "x\\\\..\\\\evil"] {
        let docker = cwd.path().join("docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(
            docker.join("config.json"),
            format!(r#"{{"credsStore": "{name}"}}"#),
        )
        .unwrap();
        let img = reg.image("app:1");
        bpdrift()
            .current_dir(cwd.path())
            .args(["diff", "--no-cache", "--retries", "1", &img, &img])
            .env("DOCKER_CONFIG", &docker)
            .run_measured()
            .assert_refused(
                &["config.json`: credential helper name `x", "is not a name"],
                10,
            );
        assert!(
            !marker.exists(),
            "`{name}` ran a file from the working directory"
        );
    }
}

#[test]
fn a_helper_printing_gigabytes_is_refused_at_its_limit() {
    let reg = asks_for_credentials();
    let d = tempfile::tempdir().unwrap();
    let bin = d.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // 1.5 GB of zeros on stdout.
    executable(
        &bin.join("docker-credential-big"),
        "#!/bin/sh\nexec head -c 1610612736 /dev/zero\n",
    );
    let docker = d.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(docker.join("config.json"), r#"{"credsStore": "big"}"#).unwrap();
    let img = reg.image("app:1");
    bpdrift()
        .args(["diff", "--no-cache", "--retries", "1", &img, &img])
        .env("DOCKER_CONFIG", &docker)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .run_measured()
        .assert_refused(
            &[
                "credential helper `docker-credential-big`",
                "printed more than the 4 MiB limit",
            ],
            20,
        );
}

// ---- a hostile container engine --------------------------------------------------------------

/// An Engine API on a loopback socket (`DOCKER_HOST=tcp://…`) holding one buildpacks image
/// `app:1` that claims to be 1 KB; `export` answers `GET /images/{id}/get`.
fn engine(export: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> Hostile {
    let diff_id = sha256(b"layer");
    let config =
        hostile::buildpack_config(std::slice::from_ref(&diff_id), &["BPI_JVM_CLASS_COUNT=100"]);
    let inspect = json!({
        "Id": sha256(b"config"),
        "Os": "linux",
        "Architecture": "amd64",
        "Config": config["config"],
        "RootFS": {"Type": "layers", "Layers": [diff_id]},
        "Size": 1000
    });
    let inspect = serde_json::to_vec(&inspect).unwrap();
    Hostile::start(move |req, s| {
        let path = req.path();
        if path == "/_ping" {
            let _ = http::write_response(s, 200, &[("Api-Version", "1.41".into())], b"OK");
        } else if path.ends_with("/json") {
            let _ = http::write_response(s, 200, &[], &inspect);
        } else if path.ends_with("/get") {
            export(s);
        } else {
            return false;
        }
        true
    })
}

fn memory_of_engine(e: &Hostile, tmp: &Path, extra: &[&str]) -> hostile::Measured {
    bpdrift()
        .args(["memory", "--no-cache"])
        .args(extra)
        .arg("docker-daemon:app:1")
        .env("DOCKER_HOST", format!("tcp://{}", e.addr()))
        .env("TMPDIR", tmp)
        .run_measured()
}

#[test]
fn an_export_is_bounded_by_max_archive_size_not_the_engines_claim() {
    let tmp = tempfile::tempdir().unwrap();
    let e = engine(|s| stream(s, 200, &[], None, GB2, 0, Duration::ZERO));
    memory_of_engine(&e, tmp.path(), &["--max-archive-size", "8M"]).assert_refused(
        &[
            "the export of `sha256:",
            "is larger than the 8 MiB limit (--max-archive-size)",
        ],
        20,
    );
    // A Content-Length over the limit is refused before a byte is written.
    let e = engine(|s| stream(s, 200, &[], Some(16 << 30), 0, 0, Duration::ZERO));
    memory_of_engine(&e, tmp.path(), &[])
        .assert_refused(&["is larger than the 8 GiB limit (--max-archive-size)"], 20);
    assert_eq!(files_under(tmp.path()), Vec::<PathBuf>::new());
}

/// A tmpfs of `size` at a temporary directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let d = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(d.path())
            .status()
            .expect("mount")
            .success();
        assert!(ok, "mount a tmpfs (the tests run as root)");
        Self(d)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_temporary_directory_is_named_and_left_empty() {
    let tmp = Tmpfs::mount("4m");
    let e = engine(|s| stream(s, 200, &[], None, 64 << 20, 0, Duration::ZERO));
    memory_of_engine(&e, tmp.path(), &[]).assert_refused(
        &[
            &format!(
                "cannot write it to the temporary directory `{}` (TMPDIR)",
                tmp.path().display()
            ),
            "No space left on device",
        ],
        20,
    );
    assert_eq!(files_under(tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_dripping_export_is_bounded_by_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    // One byte a second (for at most a minute): a read timeout never fires.
    let e = engine(|s| {
        use std::io::Write as _;
        if s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return;
        }
        for _ in 0..60 {
            if s.write_all(b"\0").and_then(|()| s.flush()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let m = memory_of_engine(&e, tmp.path(), &["--timeout", "3"]);
    m.assert_refused(&["stalled", "in 3 s (--timeout), less than the 64 KiB"], 15);
}

/// A `docker save` tar whose `manifest.json` is 10 MB of spaces.
fn tar_with_big_manifest() -> Vec<u8> {
    hostile::tar(&[("manifest.json", &vec![b' '; 10 << 20])])
}

#[test]
fn an_oversized_manifest_json_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = tar_with_big_manifest();
    let e = engine(move |s| {
        let _ = http::write_response(s, 200, &[], &tar);
    });
    memory_of_engine(&e, tmp.path(), &[]).assert_refused(
        &["`manifest.json` of `the engine's export` is larger than the 4 MiB limit"],
        20,
    );
    // The same tar as a `docker-archive:` file.
    let file = tmp.path().join("image.tar");
    std::fs::write(&file, tar_with_big_manifest()).unwrap();
    let r = format!("docker-archive:{}", file.display());
    bpdrift()
        .args(["diff", &r, &r])
        .run_measured()
        .assert_refused(
            &["`manifest.json` of `", "is larger than the 4 MiB limit"],
            10,
        );
}

// ---- other named files -----------------------------------------------------------------------

#[test]
fn every_named_file_is_refused_when_it_is_not_one() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let cases: Vec<(crate::common::Bpdrift, &str)> = vec![
        (bpdrift().args(["rules", "check", f]), "rule file `"),
        (
            bpdrift().args(["report", "--fleet", "/dev/zero"]),
            "fleet file `/dev/zero` (--fleet) is a character device",
        ),
        (
            bpdrift().args(["history", "--history", f]),
            "(--history) is a FIFO",
        ),
        (
            bpdrift().args(["github", "post", "--no-comment", f]),
            "saved report `",
        ),
        (
            bpdrift()
                .args([
                    "github",
                    "comment",
                    "--no-comment",
                    "oci:testdata/images:plain-a",
                    "oci:testdata/images:plain-a",
                ])
                .env("GITHUB_EVENT_PATH", &fifo),
            "GitHub event `",
        ),
    ];
    for (cmd, needle) in cases {
        let m = cmd.run_measured();
        m.assert_refused(&[needle], 10);
        assert!(
            m.run.stderr.contains("is a FIFO") || m.run.stderr.contains("character device"),
            "{}",
            m.run.snapshot()
        );
    }
    let sparse_rules = d.path().join("rules.toml");
    sparse(&sparse_rules);
    bpdrift()
        .args(["rules", "check"])
        .arg(&sparse_rules)
        .run_measured()
        .assert_refused(
            &["rules.toml` (--rules or a fleet file) is larger than the 4 MiB limit"],
            10,
        );
}

#[test]
fn password_stdin_is_bounded() {
    // `--password-stdin < /dev/zero`: read up to the limit, then refused.
    let out = Command::new(env!("CARGO_BIN_EXE_bpdrift"))
        .args(["diff", "--no-cache", "--username", "u", "--password-stdin"])
        .args(["127.0.0.1:9/app:1", "127.0.0.1:9/app:1"])
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--password-stdin input is larger than the 1 MiB limit"),
        "{stderr}"
    );
}

// ---- history times ---------------------------------------------------------------------------

/// A clock far ahead cannot record a run (it would make a stopped schedule look alive for
/// decades), and a run dated in the future by a hand-edit is named by every command that reads
/// the history. (`report` itself, with its alarm, is in report.rs.)
#[test]
fn a_future_dated_run_is_never_accepted_silently() {
    let d = tempfile::tempdir().unwrap();
    let fleet = d.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        "[[service]]\nname = \"svc\"\ndeployed = \"oci:testdata/images:plain-a\"\n",
    )
    .unwrap();
    let history = d.path().join("history.sqlite");
    let report = |extra: &[&str]| {
        bpdrift()
            .args(["report", "--no-cache", "--format", "json", "--fleet"])
            .arg(&fleet)
            .arg("--history")
            .arg(&history)
            .args(extra)
            .run()
    };
    let forged = report(&["--now", "2099-01-01T00:00:00Z"]);
    assert_eq!(forged.code, 2, "{}", forged.snapshot());
    assert!(
        forged.stderr.contains("check the clock"),
        "{}",
        forged.stderr
    );
    let ok = report(&[]);
    assert_eq!(ok.code, 0, "{}", ok.snapshot());
    let c = rusqlite::Connection::open(&history).unwrap();
    c.execute(
        "INSERT INTO runs (started_at, finished_at, status, fleet, uid)
         VALUES ('2099-01-01T00:00:00Z', '2099-01-01T00:00:01Z', 'ok', 'x', 'f0f0forged')",
        [],
    )
    .unwrap();
    drop(c);
    let named = "run `f0f0forged` is dated 2099-01-01T00:00:00Z, in the future";
    let plain = report(&[]);
    assert!(plain.stderr.contains(named), "{}", plain.snapshot());
    let h = bpdrift().args(["history", "--history"]).arg(&history).run();
    assert!(h.stderr.contains(named), "{}", h.snapshot());
    let diff = bpdrift()
        .args(["diff", "--expect-every", "24h", "--history"])
        .arg(&history)
        .args(["oci:testdata/images:plain-a", "oci:testdata/images:plain-a"])
        .run();
    assert!(diff.stderr.contains(named), "{}", diff.snapshot());
}
