//! Reaching PostgreSQL the way libpq does, so that a `postgres://` history works with the
//! settings a team already has: the URL (`postgres://user@host:port/db?sslmode=…`, a Unix
//! socket as `?host=/run/postgresql`), then `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
//! `PGPASSWORD`, `PGSSLMODE`, `PGSSLROOTCERT`, then the password file (`PGPASSFILE` or
//! `~/.pgpass`, ignored when others may read it, as libpq does).
//!
//! `sslmode`: `disable`, `allow` and `prefer` (the default: TLS when the server offers it,
//! unverified), `require` (TLS, unverified — unless a root certificate is configured, then as
//! `verify-ca`), `verify-ca` (the chain against `sslrootcert`, else `~/.postgresql/root.crt`,
//! else the system store), `verify-full` (and the host name). A Unix socket never uses TLS.
//! The password is never printed: [`PgUrl`]'s `Display` shows the URL without it.
//!
//! Spec: <https://www.postgresql.org/docs/current/libpq-connect.html>,
//! <https://www.postgresql.org/docs/current/libpq-pgpass.html>.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};

/// A `postgres://` or `postgresql://` location.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PgUrl {
    /// As given (it may hold a password).
    raw: String,
    /// As printed.
    shown: String,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, and a `password=` query
/// parameter the same way. Anything else is returned as it is.
pub(crate) fn redact_url(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// What [`PgUrl::connect_config`] settles on.
pub(super) struct Settings {
    /// For the driver (TLS mode mapped to what it knows).
    pub(super) config: tokio_postgres::Config,
    /// How to set up TLS, when it is used.
    pub(super) tls: Option<rustls::ClientConfig>,
}

impl PgUrl {
    /// Checks the URL's syntax (no environment, no files).
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let url = Self {
            raw: s.to_string(),
            shown: redact_url(s),
        };
        let (rest, ssl) = url.split_ssl();
        rest.parse::<tokio_postgres::Config>()
            .map_err(|e| crate::redact::scrub(&e.to_string()))?;
        if let Some(mode) = &ssl.mode {
            ssl_mode(mode)?;
        }
        Ok(url)
    }

    /// The URL without the TLS parameters the driver does not know, and those parameters.
    fn split_ssl(&self) -> (String, Ssl) {
        let mut ssl = Ssl::default();
        let Some((base, query)) = self.raw.split_once('?') else {
            return (self.raw.clone(), ssl);
        };
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "sslmode" => ssl.mode = Some(v.into_owned()),
                "sslrootcert" => ssl.root_cert = Some(PathBuf::from(&*v)),
                _ => {
                    kept.append_pair(&k, &v);
                }
            }
        }
        let kept = kept.finish();
        if kept.is_empty() {
            (base.to_string(), ssl)
        } else {
            (format!("{base}?{kept}"), ssl)
        }
    }

    /// The URL completed from the environment and the password file, with its TLS settings.
    pub(super) fn connect_config(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let (rest, mut ssl) = self.split_ssl();
        // The driver gives a host without a port 5432: PGPORT must come first.
        let rest = match env("PGPORT") {
            Some(port) if port.chars().all(|c| c.is_ascii_digit()) => with_port(&rest, &port),
            _ => rest,
        };
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e: tokio_postgres::Error| crate::redact::scrub(&e.to_string()))?;
        if config.get_hosts().is_empty() {
            let hosts = env("PGHOST").unwrap_or_else(|| {
                // libpq's compiled-in default on Debian; elsewhere /tmp.
                if Path::new("/var/run/postgresql").is_dir() {
                    "/var/run/postgresql".into()
                } else {
                    "/tmp".into()
                }
            });
            for h in hosts.split(',') {
                if h.starts_with('/') {
                    config.host_path(h);
                } else {
                    config.host(h);
                }
            }
        }
        if config.get_ports().is_empty()
            && let Some(p) = env("PGPORT").and_then(|p| p.parse().ok())
        {
            config.port(p);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .or_else(|| env("LOGNAME"))
                .ok_or("no user: put it in the URL (postgres://USER@HOST/DB) or set PGUSER")?;
            config.user(&user);
        }
        if config.get_dbname().is_none()
            && let Some(db) = env("PGDATABASE")
        {
            config.dbname(&db);
        }
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
            } else if let Some(p) = pgpass(&config, env)? {
                config.password(p);
            }
        }
        config.application_name("bpdrift");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let mode = ssl
            .mode
            .take()
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".into());
        let mode = ssl_mode(&mode)?;
        let root = ssl
            .root_cert
            .or_else(|| env("PGSSLROOTCERT").map(PathBuf::from))
            .or_else(|| {
                env("HOME")
                    .map(|h| Path::new(&h).join(".postgresql/root.crt"))
                    .filter(|p| p.is_file())
            });
        config.ssl_mode(match mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        });
        let mode = match (mode, &root) {
            // libpq: `require` with a root certificate configured verifies like `verify-ca`.
            (Mode::Require, Some(_)) => Mode::VerifyCa,
            (m, _) => m,
        };
        // A Unix socket never uses TLS (libpq: sslmode does not apply there).
        let socket_only = config
            .get_hosts()
            .iter()
            .all(|h| !matches!(h, Host::Tcp(_)));
        if socket_only {
            config.ssl_mode(SslMode::Disable);
        }
        let tls = match mode {
            Mode::Disable => None,
            _ if socket_only => None,
            m => Some(client_config(m, root.as_deref())?),
        };
        Ok(Settings { config, tls })
    }
}

/// `url` with `port` on each host of its authority that has none.
fn with_port(url: &str, port: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    if hosts.is_empty() {
        return url.to_string();
    }
    let hosts: Vec<String> = hosts
        .split(',')
        .map(|h| {
            let has_port = match h.strip_prefix('[') {
                Some(v6) => v6.contains("]:"),
                None => h.contains(':'),
            };
            if has_port {
                h.to_string()
            } else {
                format!("{h}:{port}")
            }
        })
        .collect();
    format!("{scheme}://{userinfo}{}{tail}", hosts.join(","))
}

#[derive(Default)]
struct Ssl {
    mode: Option<String>,
    root_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

fn ssl_mode(s: &str) -> Result<Mode, String> {
    Ok(match s {
        "disable" => Mode::Disable,
        "allow" | "prefer" => Mode::Prefer,
        "require" => Mode::Require,
        "verify-ca" => Mode::VerifyCa,
        "verify-full" => Mode::VerifyFull,
        other => {
            return Err(format!(
                "sslmode `{}` is not one of disable, allow, prefer, require, verify-ca, verify-full",
                crate::limits::shorten(other)
            ));
        }
    })
}

/// The password for `config` from the password file, as libpq finds it.
fn pgpass(
    config: &tokio_postgres::Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let Some(path) = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))
    else {
        return Ok(None);
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file `{}` has group or world access; it is ignored (chmod 0600 it)",
                path.display()
            );
            return Ok(None);
        }
    }
    let text = crate::limits::read_file(&path, 1 << 20, "password file")
        .map_err(|e| format!("cannot read password file `{}`: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // A socket is matched as `localhost`.
        Some(Host::Unix(_)) | None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        let [h, p, d, u, password] = fields.as_slice() else {
            continue;
        };
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(h, &host) && matches(p, &port) && matches(d, db) && matches(u, user) {
            return Ok(Some(password.clone()));
        }
    }
    Ok(None)
}

/// `host:port:db:user:password` with `\:` and `\\` escapes.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().unwrap_or(&mut String::new()).push(n);
                }
            }
            // The password is the rest of the line, colons and all (after four separators).
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// The rustls configuration for `mode`.
fn client_config(mode: Mode, root: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match (mode, root) {
        (Mode::Prefer | Mode::Require, _) => Arc::new(Relaxed {
            provider: provider.clone(),
            chain: None,
        }),
        (_, Some(root)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in crate::source::registry::read_cas(root, "sslrootcert")? {
                roots
                    .add(c)
                    .map_err(|e| format!("unusable root certificate `{}`: {e}", root.display()))?;
            }
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
        }
        (_, None) => Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| format!("cannot read the system's trust store: {e}"))?,
        ),
    };
    let verifier = if mode == Mode::VerifyCa {
        Arc::new(Relaxed {
            provider,
            chain: Some(verifier),
        }) as Arc<dyn rustls::client::danger::ServerCertVerifier>
    } else {
        verifier
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// libpq's weaker modes: `prefer`/`require` (`chain: None`) encrypt without verifying;
/// `verify-ca` verifies the chain, not the name. Handshake signatures are always checked.
#[derive(Debug)]
struct Relaxed {
    provider: Arc<rustls::crypto::CryptoProvider>,
    chain: Option<Arc<dyn rustls::client::danger::ServerCertVerifier>>,
}

use rustls::DigitallySignedStruct as Dss;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified};
use rustls::pki_types::{CertificateDer as Der, ServerName, UnixTime};
type Signature = Result<HandshakeSignatureValid, rustls::Error>;

impl rustls::client::danger::ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &Der<'_>,
        intermediates: &[Der<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(&self, m: &[u8], c: &Der<'_>, d: &Dss) -> Signature {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.algorithms())
    }

    fn verify_tls13_signature(&self, m: &[u8], c: &Der<'_>, d: &Dss) -> Signature {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

impl Relaxed {
    fn algorithms(&self) -> rustls::crypto::WebPkiSupportedAlgorithms {
        self.provider.signature_verification_algorithms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        for (given, shown) in [
            (
                "postgres://bp:hunter2@db:5432/fleet?sslmode=require",
                "postgres://bp:***@db:5432/fleet?sslmode=require",
            ),
            (
                "postgresql://db/fleet?user=bp&password=hunter2",
                "postgresql://db/fleet?user=bp&password=***",
            ),
            ("postgres://bp@db", "postgres://bp@db"),
        ] {
            assert_eq!(redact_url(given), shown);
            assert_eq!(PgUrl::parse(given).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn pgport_fills_in_only_missing_ports() {
        assert_eq!(
            with_port("postgres://u:p@db/x", "5433"),
            "postgres://u:p@db:5433/x"
        );
        assert_eq!(with_port("postgres://db:1/x", "5433"), "postgres://db:1/x");
        assert_eq!(with_port("postgres://[::1]/x", "7"), "postgres://[::1]:7/x");
        assert_eq!(
            with_port("postgres:///x?host=/s", "7"),
            "postgres:///x?host=/s"
        );
    }

    #[test]
    fn libpq_fallbacks_and_the_password_file() {
        let home = tempfile::tempdir().unwrap();
        let pgpass = home.path().join(".pgpass");
        std::fs::write(
            &pgpass,
            "# comment\nother:*:*:*:nope\nlocalhost:5433:fleet:bp:pa\\:ss:word\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        let home_s = home.path().display().to_string();
        let env = |k: &str| match k {
            "HOME" => Some(home_s.clone()),
            "PGPORT" => Some("5433".into()),
            "PGUSER" => Some("bp".into()),
            _ => None,
        };
        let url = PgUrl::parse("postgres://localhost/fleet?sslmode=disable").unwrap();
        let s = url.connect_config(&env).unwrap();
        assert_eq!(s.config.get_password(), Some(&b"pa:ss:word"[..]));
        assert_eq!(s.config.get_user(), Some("bp"));
        assert!(s.tls.is_none());
        // PGPASSWORD wins over the file; the URL's password over both.
        let env2 = |k: &str| match k {
            "PGPASSWORD" => Some("fromenv".into()),
            k => env(k),
        };
        let s = url.connect_config(&env2).unwrap();
        assert_eq!(s.config.get_password(), Some(&b"fromenv"[..]));
        // A file others may read is ignored.
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = url.connect_config(&env).unwrap();
        assert_eq!(s.config.get_password(), None);
        // Every sslmode libpq knows; nothing else.
        for mode in ["disable", "allow", "prefer", "require", "verify-full"] {
            let u = PgUrl::parse(&format!("postgres://bp@db/fleet?sslmode={mode}")).unwrap();
            u.connect_config(&env).unwrap();
        }
        let err = PgUrl::parse("postgres://db/fleet?sslmode=maybe").unwrap_err();
        assert!(err.contains("sslmode `maybe`"), "{err}");
    }
}
