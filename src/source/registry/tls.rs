//! Whom a registry connection trusts: the system's roots (rustls-platform-verifier, which on
//! Linux reads the system store, `/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set,
//! as OpenSSL does), plus CAs from `--ca-file` and the registry's certs.d directory, and the
//! client certificate found there for registries that demand one (mTLS).
//!
//! certs.d as docker and containers/image read it: the first of
//! `~/.config/containers/certs.d/<host[:port]>/`, `/etc/containers/certs.d/<host[:port]>/` and
//! `/etc/docker/certs.d/<host[:port]>/` that exists; `*.crt` are CAs, `NAME.cert` with
//! `NAME.key` a client certificate. `--certs-dir DIR` replaces the lookup (skopeo's
//! `--cert-dir`). See <https://github.com/containers/image/blob/main/docs/containers-certs.d.5.md>.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where trust comes from, besides the system's roots.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM files of CA certificates trusted for every registry (`--ca-file`).
    pub ca_files: Vec<PathBuf>,
    /// One directory used for every registry instead of the certs.d lookup (`--certs-dir`).
    pub certs_dir: Option<PathBuf>,
    /// certs.d roots searched in order, the first holding `<host[:port]>/` wins.
    pub certs_d: Vec<PathBuf>,
}

impl TlsOptions {
    /// `--ca-file`s and `--certs-dir` over the default certs.d roots.
    pub fn new(ca_files: Vec<PathBuf>, certs_dir: Option<PathBuf>) -> Self {
        Self {
            ca_files,
            certs_dir,
            certs_d: default_certs_d(),
        }
    }

    /// The directory holding `host`'s CAs and client certificate, if any.
    pub(crate) fn host_dir(&self, host: &str) -> Option<PathBuf> {
        if let Some(d) = &self.certs_dir {
            return Some(d.clone());
        }
        // A host name is never a path: `..` or a `/` would leave certs.d.
        if host.is_empty() || host.contains(['/', '\\']) || host.starts_with('.') {
            return None;
        }
        self.certs_d
            .iter()
            .map(|root| root.join(host))
            .find(|d| d.is_dir())
    }

    /// Whether the user configured trust that applies to `host`: then even a loopback registry
    /// is reached over HTTPS.
    pub(crate) fn configured_for(&self, host: &str) -> bool {
        !self.ca_files.is_empty() || self.host_dir(host).is_some()
    }

    /// A client trusting the system roots plus what applies to `host`, and presenting its
    /// client certificate if certs.d has one; and the record of whether a server asked for a
    /// certificate this client did not have.
    pub(crate) fn client(
        &self,
        builder: reqwest::ClientBuilder,
        host: &str,
    ) -> Result<(reqwest::Client, Arc<ClientCert>), String> {
        let mut cas = Vec::new();
        for f in &self.ca_files {
            cas.extend(read_cas(f, "--ca-file")?);
        }
        let mut key = None;
        if let Some(dir) = self.host_dir(host) {
            let (dir_cas, identity) = read_dir(&dir)?;
            cas.extend(dir_cas);
            key = identity;
        }
        // Our own rustls config (reqwest's would be the same verifier) so that a server's
        // request for a client certificate is seen: under TLS 1.3 the refusal comes after the
        // handshake, and over HTTP/2 reqwest reports only "connection closed".
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let setup = |e: rustls::Error| format!("cannot set up TLS: {e}");
        let verifier = if cas.is_empty() {
            rustls_platform_verifier::Verifier::new(provider.clone())
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(cas, provider.clone())
        }
        .map_err(setup)?;
        let cert = Arc::new(ClientCert {
            key: key.map(Arc::new),
            asked_for_missing: AtomicBool::new(false),
        });
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(setup)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(cert.clone());
        // HTTP/2 when the registry offers it: every request of the run on one connection.
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let client = builder
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| format!("cannot set up TLS: {}", crate::net::innermost(&e)))?;
        Ok((client, cert))
    }
}

/// The client certificate of one certs.d directory, and whether a server asked for one when
/// there was none.
#[derive(Debug)]
pub(crate) struct ClientCert {
    key: Option<Arc<rustls::sign::CertifiedKey>>,
    asked_for_missing: AtomicBool,
}

impl ClientCert {
    /// A server requested a client certificate and none was configured.
    pub(crate) fn was_missing(&self) -> bool {
        self.asked_for_missing.load(Ordering::Relaxed)
    }
}

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if self.key.is_none() {
            self.asked_for_missing.store(true, Ordering::Relaxed);
        }
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        // Always: `resolve` is then consulted when a server asks, and records that it did.
        true
    }
}

/// `~/.config/containers/certs.d`, `/etc/containers/certs.d`, `/etc/docker/certs.d`, in
/// containers/image's order.
fn default_certs_d() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        dirs.push(PathBuf::from(home).join(".config/containers/certs.d"));
    }
    dirs.push("/etc/containers/certs.d".into());
    dirs.push("/etc/docker/certs.d".into());
    dirs
}

/// A PEM file someone named (`from`: `--ca-file`, `certs.d`), bounded, regular files only.
fn read_pem(path: &Path, what: &str, from: &str) -> Result<Vec<u8>, String> {
    let named = crate::limits::Named {
        what,
        from,
        limit: crate::limits::PEM_FILE_MAX,
    };
    crate::limits::read_named(path, named).map_err(|e| crate::net::error_chain(&e))
}

/// The CA certificates of a PEM file, each checked now: a file that is not one is named here,
/// not blamed on the server's certificate at the first handshake.
pub(crate) fn read_cas(path: &Path, from: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_pem(path, "CA file", from)?;
    parse_cas(&pem).map_err(|why| format!("CA file `{}` ({from}) {why}", path.display()))
}

/// The certificates of a CA file's bytes; `Err` says what is wrong, as the end of a sentence
/// about the file.
pub fn parse_cas(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    for (i, c) in certs.iter().enumerate() {
        // webpki's own parse of a trust anchor: what verification would do with it later.
        rustls::RootCertStore::empty().add(c.clone()).map_err(|e| {
            // rustls words this "invalid peer certificate": here it is the file's.
            let why = match e {
                rustls::Error::InvalidCertificate(c) => format!("{c:?}"),
                e => e.to_string(),
            };
            format!(
                "certificate {} is not a usable CA certificate ({why})",
                i + 1
            )
        })?;
    }
    Ok(certs)
}

/// A client certificate chain and its key (PEM), as a signing identity.
pub fn parse_identity(cert: &[u8], key: &[u8]) -> Result<rustls::sign::CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if chain.is_empty() {
        return Err("no PEM certificate".into());
    }
    let der = PrivateKeyDer::from_pem_slice(key).map_err(|e| e.to_string())?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, der, &provider).map_err(|e| e.to_string())
}

/// The `*.crt` CAs and the `NAME.cert` + `NAME.key` client certificate of a certs.d directory.
fn read_dir(
    dir: &Path,
) -> Result<
    (
        Vec<CertificateDer<'static>>,
        Option<rustls::sign::CertifiedKey>,
    ),
    String,
> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read certificate directory `{}`: {e}", dir.display()))?;
    let mut names: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    names.sort();
    let mut cas = Vec::new();
    let mut identity = None;
    for path in &names {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => cas.extend(read_cas(path, "certs.d")?),
            Some("cert") if identity.is_none() => {
                let key = path.with_extension("key");
                // Present at all (a FIFO or a device is then refused by name when read).
                if !key.exists() {
                    return Err(format!(
                        "client certificate `{}` has no key `{}`",
                        path.display(),
                        key.display()
                    ));
                }
                let unusable = |why: String| {
                    format!(
                        "client certificate `{}` with key `{}` is not usable: {why}",
                        path.display(),
                        key.display()
                    )
                };
                let cert_pem = read_pem(path, "client certificate", "certs.d")?;
                let key_pem = read_pem(&key, "client key", "certs.d")?;
                warn_if_shared(&key);
                identity = Some(parse_identity(&cert_pem, &key_pem).map_err(unusable)?);
            }
            _ => {}
        }
    }
    Ok((cas, identity))
}

/// A client key others may read is used all the same, as docker uses it; said with `-v`.
pub(crate) fn warn_if_shared(key: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(m) = std::fs::metadata(key)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::info!(
            "warning: client key `{}` is readable by other users (mode {:o}); used anyway, as docker does: `chmod 600` it",
            key.display(),
            m.permissions().mode() & 0o777
        );
    }
}

/// `host[:port]` of an `https://` URL, as certs.d names its directories.
pub(crate) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_string()
}

/// What went wrong in a TLS handshake, in words that say what to do; `None` for other errors.
/// `cert_missing`: the server asked for a client certificate and none was configured.
pub(crate) fn explain(
    e: &(dyn std::error::Error + 'static),
    host: &str,
    cert_missing: bool,
) -> Option<String> {
    use rustls::{AlertDescription, CertificateError, Error as Tls};
    let needs_client_cert = format!(
        "`{host}` requires a client certificate; put client.cert and client.key in /etc/docker/certs.d/{host}/ or pass --certs-dir DIR"
    );
    if cert_missing {
        return Some(needs_client_cert);
    }
    let Some(tls) = tls_error(e) else {
        // Over HTTP/2 the alert arrives as a stream error whose source chain ends in words.
        let text = crate::net::innermost(e);
        return ["CertificateRequired", "BadCertificate"]
            .iter()
            .any(|a| text.contains(&format!("received fatal alert: {a}")))
            .then_some(needs_client_cert);
    };
    let hint = format!("pass --ca-file FILE or put the CA in /etc/docker/certs.d/{host}/ca.crt");
    Some(match tls {
        Tls::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("`{host}` presented a certificate signed by an unknown authority; {hint}")
        }
        Tls::InvalidCertificate(CertificateError::NotValidForName)
        | Tls::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            format!("the certificate `{host}` presented is not valid for that name")
        }
        Tls::InvalidCertificate(CertificateError::Expired)
        | Tls::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            format!("the certificate `{host}` presented has expired")
        }
        Tls::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA,
        ) => needs_client_cert,
        other => format!("TLS handshake with `{host}` failed: {other}"),
    })
}

/// The rustls error somewhere in the chain. An `io::Error` hides its payload from `source()`
/// (and the payload may be another `io::Error`), so payloads are searched too.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && let Some(t) = tls_error(inner)
    {
        return Some(t);
    }
    e.source().and_then(tls_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls_and_certs_d_lookup() {
        assert_eq!(
            url_host("https://r.test:5443/v2/a/manifests/x"),
            "r.test:5443"
        );
        assert_eq!(url_host("https://u:p@auth.test/token?x=1"), "auth.test");
        let d = tempfile::tempdir().unwrap();
        let second = d.path().join("b");
        std::fs::create_dir_all(second.join("r.test:5443")).unwrap();
        let t = TlsOptions {
            ca_files: vec![],
            certs_dir: None,
            certs_d: vec![d.path().join("a"), second.clone()],
        };
        assert_eq!(t.host_dir("r.test:5443"), Some(second.join("r.test:5443")));
        assert!(t.configured_for("r.test:5443"));
        assert!(!t.configured_for("r.test"));
        assert_eq!(t.host_dir("../b/r.test:5443"), None);
    }

    #[test]
    fn handshake_errors_say_what_to_do() {
        // As tokio-rustls reports them: the rustls error inside an io::Error.
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let msg = explain(&unknown, "r.test:5443", false).unwrap();
        assert!(
            msg.contains("unknown authority")
                && msg.contains("--ca-file FILE")
                && msg.contains("/etc/docker/certs.d/r.test:5443/ca.crt"),
            "{msg}"
        );
        let closed = std::io::Error::other("connection closed");
        assert_eq!(explain(&closed, "r.test", false), None);
        assert!(
            explain(&closed, "r.test", true)
                .unwrap()
                .contains("requires a client certificate")
        );
    }

    #[test]
    fn a_key_less_client_certificate_is_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("client.cert"), "x").unwrap();
        let err = read_dir(d.path()).err().unwrap();
        assert!(err.contains("has no key"), "{err}");
        std::fs::write(d.path().join("ca.crt"), "not pem").unwrap();
        let err = read_dir(d.path()).err().unwrap();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }
}
