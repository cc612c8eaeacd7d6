//! A test PKI made with the `openssl` command: a CA, a server certificate for [`TEST_HOST`]
//! (plus `localhost` and 127.0.0.1) and a client certificate, all in a temporary directory; and
//! the `/etc/hosts` line that maps [`TEST_HOST`] to 127.0.0.1 (tests and CI run as root).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The registry's name in TLS tests: not loopback by name, as real registries are not.
pub const TEST_HOST: &str = "bpdrift-registry.test";

/// CA, server and client certificates (PEM) in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// `openssl req` arguments that make a new P-256 key without a passphrase.
const NEW_EC_KEY: [&str; 6] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
];

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed: run scripts/test.sh, which installs it with apt-get");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 key and a certificate signed by `ca.crt` with `ext` extensions.
fn issue(dir: &Path, name: &str, subject: &str, ext: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            &["req", "-new"][..],
            &NEW_EC_KEY,
            &[
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                subject,
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.crt"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

impl Pki {
    /// A fresh CA with a server and a client certificate.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("pki dir");
        let d = dir.path();
        openssl(
            d,
            &[
                &["req", "-x509"][..],
                &NEW_EC_KEY,
                &[
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=bpdrift test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        issue(
            d,
            "server",
            &format!("/CN={TEST_HOST}"),
            &format!(
                "subjectAltName=DNS:{TEST_HOST},DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        );
        issue(
            d,
            "client",
            "/CN=bpdrift test client",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        );
        Self {
            ca: d.join("ca.crt"),
            server_cert: d.join("server.crt"),
            server_key: d.join("server.key"),
            client_cert: d.join("client.crt"),
            client_key: d.join("client.key"),
            dir,
        }
    }

    /// A certs.d-style directory: `ca.crt`, `client.cert`, `client.key`.
    pub fn client_dir(&self) -> PathBuf {
        let d = self.dir.path().join("certs.d");
        std::fs::create_dir_all(&d).unwrap();
        self.certs_d_into(&d, true);
        d
    }

    /// Writes `ca.crt` (and with `client`, `client.cert` + `client.key`) into `dir`.
    pub fn certs_d_into(&self, dir: &Path, client: bool) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(&self.ca, dir.join("ca.crt")).unwrap();
        if client {
            std::fs::copy(&self.client_cert, dir.join("client.cert")).unwrap();
            std::fs::copy(&self.client_key, dir.join("client.key")).unwrap();
        }
    }
}

/// Adds `127.0.0.1 TEST_HOST` to `/etc/hosts` unless a line maps it already; never removes
/// or rewrites other lines.
pub fn map_test_host() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let mapped = hosts.lines().any(|l| {
            let mut words = l.split('#').next().unwrap_or_default().split_whitespace();
            words.next() == Some("127.0.0.1") && words.any(|w| w == TEST_HOST)
        });
        if !mapped {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open("/etc/hosts")
                .expect("tests run as root: /etc/hosts must be writable");
            let sep = if hosts.is_empty() || hosts.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            writeln!(f, "{sep}127.0.0.1 {TEST_HOST}").expect("write /etc/hosts");
        }
    });
}

/// Removes a directory on drop (a certs.d entry under `/etc`).
pub struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
