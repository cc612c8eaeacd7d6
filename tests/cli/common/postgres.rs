//! A scratch PostgreSQL cluster (Debian's `postgresql`): `initdb` into a temporary directory,
//! listening on a Unix socket in that directory and on a free loopback port, stopped on drop.
//! PostgreSQL refuses to run as root: as root, the cluster runs as `nobody` (`setpriv`).
//! Local (socket) connections are trusted; TCP ones need the password (SCRAM), so the tests see
//! `PGPASSWORD` and `~/.pgpass` at work.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PG_USER: &str = "bpdrift";
pub const PG_PASSWORD: &str = "pg-s3cret-password";

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The loopback port (and the socket's number).
    pub port: u16,
    as_nobody: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout), else `PATH`.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).expect(
        "PostgreSQL must be installed (/usr/lib/postgresql/*/bin/initdb): run scripts/test.sh, which installs it with apt-get",
    )
}

impl Postgres {
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("postgres dir");
        let as_nobody = is_root();
        // The server's user must be able to enter the directory and own its data.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).unwrap();
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        if as_nobody {
            let out = Command::new("chown")
                .args(["nobody:nogroup"])
                .arg(dir.path())
                .output()
                .expect("chown");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = super::free_port();
        let pg = Self {
            dir,
            bin,
            port,
            as_nobody,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                PG_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                &pwfile.display().to_string(),
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &pg.dir.path().join("log").display().to_string(),
                "-o",
                &format!(
                    "-k {} -p {port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=50",
                    pg.dir.path().display()
                ),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        pg
    }

    /// `program` of the server's binaries, as the server's user.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C")
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}\nlog:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Over TCP, without the password (it comes from PGPASSWORD or ~/.pgpass).
    pub fn tcp_url(&self) -> String {
        format!(
            "postgres://{PG_USER}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Over the Unix socket (trusted).
    pub fn socket_url(&self) -> String {
        format!(
            "postgresql:///postgres?host={}&port={}&user={PG_USER}",
            self.dir.path().display(),
            self.port
        )
    }

    /// The socket's directory.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL through `psql` over the socket; its output (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                PG_USER,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Whether this process runs as root (`id -u`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output();
        if self.as_nobody {
            // Back to root, so the temporary directory can be removed.
            let _ = Command::new("chown")
                .args(["-R", "root:root"])
                .arg(self.dir.path())
                .output();
        }
    }
}
