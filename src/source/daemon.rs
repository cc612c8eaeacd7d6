//! Images in a local engine (`docker-daemon:`, `podman:`) through the Docker Engine API, which
//! Podman serves too. See <https://docs.docker.com/reference/api/engine/>.
//!
//! - **Which engine**: [`discover`] follows the docker CLI for `docker-daemon:` (`DOCKER_HOST`,
//!   then the current context, then `/var/run/docker.sock`) and podman's remote client for
//!   `podman:` (`CONTAINER_HOST`, then the rootless socket, then the rootful one).
//! - **A diff costs one request per image** after one `/_ping` per engine (which also gives the
//!   API version to use): `GET /images/{name}/json` holds the config's labels, env, platform and
//!   diffIDs, and its `Id` is the config digest. No layer is read.
//! - **Layers** (memory prediction) come from `GET /images/{id}/get`, a `docker save` tar of
//!   the image, streamed to an unnamed temporary file (bounded) and read by the docker-archive
//!   reader. Asked for by id, so the layers are those of the image that was inspected.
//!
//! The client is `reqwest`, already here for registries: it speaks HTTP over a Unix socket and
//! TLS to a `tcp://` engine, so no Engine API crate is needed (Cargo.toml says why not bollard).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Fetched;
use super::manifest::{self, Descriptor, ImageManifest};
use crate::metadata::labels::nullable;
use crate::reference::Engine;

/// The newest Engine API version whose image endpoints bpdrift knows; an older engine is spoken
/// to at its own version, a newer one at this (engines serve older versions).
const API_MAX: (u32, u32) = (1, 47);

/// Why an image in a local engine could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Nothing listens at the engine's socket or address.
    #[error(
        "no container engine at `{endpoint}` ({from}): {cause}; start it, or point {var} at it, or export the image with `{save} save IMAGE -o image.tar` and compare `docker-archive:image.tar`"
    )]
    NoEngine {
        /// The endpoint, e.g. `unix:///var/run/docker.sock`.
        endpoint: String,
        /// Where the endpoint came from.
        from: String,
        /// The variable that names the engine (`DOCKER_HOST`, `CONTAINER_HOST`).
        var: &'static str,
        /// `docker` or `podman`.
        save: &'static str,
        /// The connection error, e.g. "No such file or directory (os error 2)".
        cause: String,
    },
    /// The socket exists but this user may not open it.
    #[error(
        "permission denied on the engine socket `{socket}` ({from}): add your user to the group that owns it (`docker` for Docker), or use your own rootless engine's socket"
    )]
    PermissionDenied {
        /// The socket path.
        socket: String,
        /// Where the endpoint came from.
        from: String,
    },
    /// Any other failure to talk to the engine.
    #[error("cannot talk to the engine at `{endpoint}`: {cause}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// What went wrong, one line.
        cause: String,
    },
    /// The engine does not have the image.
    #[error("no image `{image}` in the {engine} at `{endpoint}`")]
    NotFound {
        /// The name or id as typed.
        image: String,
        /// "Docker engine" or "Podman engine".
        engine: &'static str,
        /// The endpoint.
        endpoint: String,
    },
    /// The engine answered with an error.
    #[error("the {engine} at `{endpoint}` refused `{what}`: HTTP {status}: {message}")]
    Api {
        /// "Docker engine" or "Podman engine".
        engine: &'static str,
        /// The endpoint.
        endpoint: String,
        /// What was asked, e.g. "inspect app:1".
        what: String,
        /// HTTP status.
        status: u16,
        /// The engine's `message`, scrubbed and shortened.
        message: String,
    },
    /// The engine's answer is not what the API documents.
    #[error("the engine at `{endpoint}` sent {what} that cannot be read: {cause}")]
    BadResponse {
        /// The endpoint.
        endpoint: String,
        /// "the image inspect of `app:1`", "the export of `app:1`".
        what: String,
        /// Why.
        cause: String,
    },
    /// `DOCKER_HOST`, `CONTAINER_HOST` or a context names an endpoint bpdrift cannot use.
    #[error("{from}: {problem}")]
    Endpoint {
        /// Where the endpoint came from.
        from: String,
        /// What is wrong, in words.
        problem: String,
    },
}

/// How to reach an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Where it came from, for messages: "`DOCKER_HOST`", "docker context `remote`", "default".
    pub(crate) from: String,
    /// The address.
    pub(crate) addr: Addr,
}

/// A Unix socket or a TCP address, with the TLS files of a `tcp://` engine that verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addr {
    /// `unix://<path>`.
    Unix(PathBuf),
    /// `tcp://<host:port>`.
    Tcp {
        /// `host:port`.
        authority: String,
        /// `ca.pem`, `cert.pem`, `key.pem` of `DOCKER_CERT_PATH` or of the context.
        tls: Option<PathBuf>,
    },
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix://{}", p.display()),
            Self::Tcp { authority, .. } => write!(f, "tcp://{authority}"),
        }
    }
}

/// An environment variable, `None` when unset or empty (discovery's only input besides the
/// files it reads: docker config, context metadata, which sockets exist).
pub(crate) type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub(crate) fn process_vars(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// Where the engine of `engine` is, as its own CLI would find it.
pub(crate) fn discover(engine: Engine, var: Vars<'_>) -> Result<Endpoint, DaemonError> {
    match engine {
        Engine::Docker => discover_docker(var),
        Engine::Podman => discover_podman(var),
    }
}

fn discover_docker(var: Vars<'_>) -> Result<Endpoint, DaemonError> {
    let config_dir = var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".docker")));
    if let Some(host) = var("DOCKER_HOST") {
        let from = "`DOCKER_HOST`".to_string();
        // DOCKER_TLS_VERIFY (any value) turns on TLS with the files of DOCKER_CERT_PATH.
        let tls = var("DOCKER_TLS_VERIFY").map(|_| {
            var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .or_else(|| config_dir.clone())
                .unwrap_or_default()
        });
        let addr = parse_host(&host, tls, &from)?;
        return Ok(Endpoint { from, addr });
    }
    let context = match var("DOCKER_CONTEXT") {
        Some(c) => Some((c, "`DOCKER_CONTEXT`")),
        None => current_context(config_dir.as_deref())?.map(|c| (c, "`currentContext`")),
    };
    if let (Some((name, why)), Some(dir)) = (context, config_dir.as_deref())
        && name != "default"
    {
        return context_endpoint(dir, &name, why);
    }
    Ok(Endpoint {
        from: "the default socket".into(),
        addr: Addr::Unix("/var/run/docker.sock".into()),
    })
}

/// `currentContext` of `config.json`, if the file exists and names one.
fn current_context(config_dir: Option<&Path>) -> Result<Option<String>, DaemonError> {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Config {
        #[serde(deserialize_with = "nullable")]
        current_context: String,
    }
    let Some(path) = config_dir.map(|d| d.join("config.json")) else {
        return Ok(None);
    };
    let named = crate::limits::Named {
        what: "docker config",
        from: "`DOCKER_CONFIG` or `~/.docker`",
        limit: crate::limits::CONFIG_FILE_MAX,
    };
    let text = match crate::limits::read_named(&path, named) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => {
            return Err(DaemonError::Endpoint {
                from: format!("`{}`", path.display()),
                problem: crate::net::error_chain(&e),
            });
        }
    };
    let config: Config = serde_json::from_slice(&text).map_err(|e| DaemonError::Endpoint {
        from: format!("`{}`", path.display()),
        problem: format!("not a docker config file: {e}"),
    })?;
    Ok(Some(config.current_context).filter(|c| !c.is_empty()))
}

/// The docker endpoint of context `name`: `contexts/meta/<sha256 of name>/meta.json`, with the
/// TLS files in `contexts/tls/<same>/docker/` when the context has them.
fn context_endpoint(config_dir: &Path, name: &str, why: &str) -> Result<Endpoint, DaemonError> {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct Meta {
        #[serde(deserialize_with = "nullable")]
        endpoints: std::collections::BTreeMap<String, DockerEndpoint>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct DockerEndpoint {
        #[serde(deserialize_with = "nullable")]
        host: String,
    }
    let from = format!("docker context `{name}` (from {why})");
    let bad = |problem: String| DaemonError::Endpoint {
        from: from.clone(),
        problem,
    };
    let id = crate::digest::sha256(name.as_bytes());
    let id = id.trim_start_matches("sha256:");
    let path = config_dir.join("contexts/meta").join(id).join("meta.json");
    let named = crate::limits::Named {
        what: "context metadata",
        from: "docker context",
        limit: crate::limits::CONFIG_FILE_MAX,
    };
    let text =
        crate::limits::read_named(&path, named).map_err(|e| bad(crate::net::error_chain(&e)))?;
    let meta: Meta = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("`{}` is not a context: {e}", path.display())))?;
    let host = meta
        .endpoints
        .get("docker")
        .map(|d| d.host.clone())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("it has no docker endpoint".into()))?;
    let tls_dir = config_dir.join("contexts/tls").join(id).join("docker");
    let tls = tls_dir.join("ca.pem").is_file().then_some(tls_dir);
    let addr = parse_host(&host, tls, &from)?;
    Ok(Endpoint { from, addr })
}

fn discover_podman(var: Vars<'_>) -> Result<Endpoint, DaemonError> {
    // DOCKER_HOST is not read: it names the docker engine (with podman as docker's engine,
    // `docker-daemon:` and DOCKER_HOST already reach it).
    if let Some(host) = var("CONTAINER_HOST") {
        let from = "`CONTAINER_HOST`".to_string();
        let addr = parse_host(&host, None, &from)?;
        return Ok(Endpoint { from, addr });
    }
    let rootless = var("XDG_RUNTIME_DIR").map(|d| Path::new(&d).join("podman/podman.sock"));
    let rootful = PathBuf::from("/run/podman/podman.sock");
    // The socket that exists; when none does, the rootless one (podman's own default for a
    // user with a runtime directory) is the one the error names.
    let (from, path) = match rootless {
        Some(p) if p.exists() || !rootful.exists() => ("the rootless socket", p),
        _ => ("the rootful socket", rootful),
    };
    Ok(Endpoint {
        from: from.into(),
        addr: Addr::Unix(path),
    })
}

/// `unix:///path` or `tcp://host[:port]` (port 2376 with TLS, 2375 without, as docker).
fn parse_host(host: &str, tls: Option<PathBuf>, from: &str) -> Result<Addr, DaemonError> {
    let bad = |problem: String| DaemonError::Endpoint {
        from: from.to_string(),
        problem,
    };
    let shown = crate::redact::scrub(host);
    if let Some(path) = host.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(bad(format!("`{shown}` names no socket")));
        }
        return Ok(Addr::Unix(path.into()));
    }
    if let Some(rest) = host.strip_prefix("tcp://") {
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(bad(format!("`{shown}` is not `tcp://host[:port]`")));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && !p.is_empty() && !h.ends_with(':'));
        let authority = if has_port && !authority.ends_with(']') {
            authority.to_string()
        } else {
            format!("{authority}:{}", if tls.is_some() { 2376 } else { 2375 })
        };
        return Ok(Addr::Tcp { authority, tls });
    }
    if host.starts_with("ssh://") {
        return Err(bad(format!(
            "`{shown}`: ssh:// engines are not supported; forward the socket (`ssh -nNT -L /tmp/engine.sock:/var/run/docker.sock HOST`) and use `unix:///tmp/engine.sock`"
        )));
    }
    Err(bad(format!(
        "`{shown}` is not `unix:///path/to/socket` or `tcp://host:port`"
    )))
}

/// A connected engine: the endpoint, the API version it speaks with us, and what it is.
pub(crate) struct DaemonClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    engine: Engine,
    /// `http://localhost/v1.41` (the host is ignored on a Unix socket), `https://host:2376/v1.47`.
    base: String,
    /// "Docker engine" or "Podman engine", from the `Server` header of `/_ping`.
    name: &'static str,
    /// Longest time the export may stream.
    export_time: Duration,
    /// `--timeout`: an export that moves less than [`crate::limits::ENGINE_PROGRESS_MIN`] in
    /// this long is stalled.
    timeout: Duration,
}

/// The export of one image may take this long in all (a stalled one fails sooner).
const EXPORT_TIME_MAX: Duration = crate::limits::EXPORT_TIME_MAX;

impl DaemonClient {
    /// Builds the client and pings the engine (one request), which checks that it is there and
    /// gives the API version.
    pub(crate) async fn connect(
        endpoint: Endpoint,
        engine: Engine,
        timeout: Duration,
    ) -> Result<Self, DaemonError> {
        let shown = endpoint.addr.to_string();
        let connect_error = |cause: String| DaemonError::Connect {
            endpoint: shown.clone(),
            cause,
        };
        // The total timeout bounds the small JSON requests; the export sets its own, and the
        // read timeout bounds a stalled one.
        let mut builder = crate::net::client_builder(timeout, timeout).read_timeout(timeout);
        // Plain HTTP needs no trust store; loading the system's would be most of a local
        // diff's time (the registry client loads it only for its first HTTPS registry too).
        let no_tls = |b: reqwest::ClientBuilder| b.tls_certs_only(std::iter::empty());
        let scheme = match &endpoint.addr {
            Addr::Unix(path) => {
                builder = no_tls(builder).unix_socket(path.as_path());
                "http://localhost".to_string()
            }
            Addr::Tcp {
                authority,
                tls: None,
            } => {
                builder = no_tls(builder);
                format!("http://{authority}")
            }
            Addr::Tcp {
                authority,
                tls: Some(dir),
            } => {
                let read = |f: &str| {
                    let p = dir.join(f);
                    let named = crate::limits::Named {
                        what: "TLS file",
                        from: "`DOCKER_CERT_PATH`, the context or `~/.docker`",
                        limit: crate::limits::PEM_FILE_MAX,
                    };
                    crate::limits::read_named(&p, named).map_err(|e| DaemonError::Endpoint {
                        from: endpoint.from.clone(),
                        problem: crate::net::error_chain(&e),
                    })
                };
                let tls_error = |e: reqwest::Error| DaemonError::Endpoint {
                    from: endpoint.from.clone(),
                    problem: format!(
                        "the TLS files in `{}` cannot be used: {}",
                        dir.display(),
                        crate::net::error_chain(&e)
                    ),
                };
                let ca_pem = read("ca.pem")?;
                // Checked now, so a file that is no CA is named as such (not blamed on the
                // engine's certificate at the handshake).
                crate::source::registry::tls::parse_cas(&ca_pem).map_err(|why| {
                    DaemonError::Endpoint {
                        from: endpoint.from.clone(),
                        problem: format!("TLS file `{}` {why}", dir.join("ca.pem").display()),
                    }
                })?;
                let ca = reqwest::Certificate::from_pem(&ca_pem).map_err(tls_error)?;
                // Only the engine's CA: the system roots have no say over a private engine.
                builder = builder.tls_certs_only([ca]);
                if dir.join("cert.pem").is_file() {
                    crate::source::registry::tls::warn_if_shared(&dir.join("key.pem"));
                    let mut pem = read("cert.pem")?;
                    pem.push(b'\n');
                    pem.extend(read("key.pem")?);
                    builder =
                        builder.identity(reqwest::Identity::from_pem(&pem).map_err(tls_error)?);
                }
                format!("https://{authority}")
            }
        };
        let http = builder
            .build()
            .map_err(|e| connect_error(crate::net::error_chain(&e)))?;
        let ping = http
            .get(format!("{scheme}/_ping"))
            .send()
            .await
            .map_err(|e| classify(&endpoint, engine, &e))?;
        let header = |h: &str| {
            ping.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let server = header("server").unwrap_or_default();
        let name = if server.starts_with("Libpod") || header("libpod-api-version").is_some() {
            "Podman engine"
        } else {
            "Docker engine"
        };
        if !ping.status().is_success() {
            return Err(DaemonError::Api {
                engine: name,
                endpoint: shown,
                what: "_ping".into(),
                status: ping.status().as_u16(),
                message: "not an Engine API endpoint".into(),
            });
        }
        let base = match header("api-version").as_deref().and_then(negotiate) {
            Some((major, minor)) => format!("{scheme}/v{major}.{minor}"),
            // No version header: the engine's own version, on unversioned paths.
            None => scheme,
        };
        Ok(Self {
            http,
            endpoint,
            engine,
            base,
            name,
            export_time: EXPORT_TIME_MAX,
            timeout,
        })
    }

    /// `GET /images/{name}/json`, turned into the manifest and config the other sources give,
    /// and the image's size (uncompressed, as the engine counts it).
    pub(crate) async fn inspect(&self, name: &str) -> Result<(Fetched, u64), DaemonError> {
        let what = format!("the image inspect of `{name}`");
        let res = self.get(&format!("images/{name}/json"), name).await?;
        let body = crate::limits::read_body(res, crate::limits::CONFIG_MAX, &what)
            .await
            .map_err(|e| self.bad(&what, crate::net::error_chain(&e)))?;
        from_inspect(&body).map_err(|cause| self.bad(&what, cause))
    }

    /// `GET /images/{id}/get` (a `docker save` tar) into an unnamed temporary file, at most
    /// `limit` bytes (`--max-archive-size`), rewound. Stalled (less than
    /// [`crate::limits::ENGINE_PROGRESS_MIN`] in a `--timeout`) is an error, as is a full
    /// temporary directory; either way the file is gone.
    pub(crate) async fn export(&self, id: &str, limit: u64) -> Result<File, DaemonError> {
        use std::io::Seek as _;
        let what = format!("the export of `{id}`");
        let mut res = self.get(&format!("images/{id}/get"), id).await?;
        if res.content_length().is_some_and(|n| n > limit) {
            return Err(self.too_large(&what, limit));
        }
        let tmp = std::env::temp_dir();
        let io = |e: std::io::Error| {
            self.bad(
                &what,
                format!(
                    "cannot write it to the temporary directory `{}` (TMPDIR): {e}",
                    tmp.display()
                ),
            )
        };
        // Unnamed (O_TMPFILE, or unlinked at once), as registry layers are.
        let mut file = tempfile::tempfile().map_err(io)?;
        let mut progress = Progress::new(self.timeout);
        let started = tokio::time::Instant::now();
        loop {
            let left = self.export_time.saturating_sub(started.elapsed());
            let wait = left.min(progress.left());
            let chunk = match tokio::time::timeout(wait, res.chunk()).await {
                Ok(c) => c.map_err(|e| self.bad(&what, crate::net::error_chain(&e)))?,
                Err(_) if wait < left => {
                    progress.check().map_err(|why| self.bad(&what, why))?;
                    continue;
                }
                Err(_) => {
                    return Err(self.bad(&what, format!("it took longer than {left:?}")));
                }
            };
            let Some(chunk) = chunk else { break };
            if progress.add(chunk.len() as u64) > limit {
                return Err(self.too_large(&what, limit));
            }
            progress.check().map_err(|why| self.bad(&what, why))?;
            file.write_all(&chunk).map_err(io)?;
        }
        file.rewind().map_err(io)?;
        Ok(file)
    }

    fn too_large(&self, what: &str, limit: u64) -> DaemonError {
        self.bad(
            what,
            format!(
                "it is larger than the {} limit (--max-archive-size)",
                crate::limits::human(limit)
            ),
        )
    }

    async fn get(&self, path: &str, image: &str) -> Result<reqwest::Response, DaemonError> {
        let mut req = self.http.get(format!("{}/{path}", self.base));
        if path.ends_with("/get") {
            req = req.timeout(self.export_time);
        }
        let res = req
            .send()
            .await
            .map_err(|e| classify(&self.endpoint, self.engine, &e))?;
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(DaemonError::NotFound {
                image: image.to_string(),
                engine: self.name,
                endpoint: self.endpoint.addr.to_string(),
            });
        }
        #[derive(Deserialize, Default)]
        struct Message {
            #[serde(default)]
            message: String,
        }
        let body = crate::limits::read_body(res, crate::limits::AUTH_RESPONSE_MAX, "error")
            .await
            .unwrap_or_default();
        let message: Message = serde_json::from_slice(&body).unwrap_or_default();
        Err(DaemonError::Api {
            engine: self.name,
            endpoint: self.endpoint.addr.to_string(),
            what: path.to_string(),
            status: status.as_u16(),
            message: crate::limits::shorten(&crate::redact::scrub(&message.message)).into_owned(),
        })
    }

    fn bad(&self, what: &str, cause: String) -> DaemonError {
        DaemonError::BadResponse {
            endpoint: self.endpoint.addr.to_string(),
            what: what.to_string(),
            cause,
        }
    }
}

/// Whether a stream keeps moving: at least [`crate::limits::ENGINE_PROGRESS_MIN`] bytes in
/// every window of `--timeout` (a drip of a byte a second never trips a read timeout).
struct Progress {
    window: Duration,
    started: tokio::time::Instant,
    bytes: u64,
    total: u64,
}

impl Progress {
    fn new(window: Duration) -> Self {
        Self {
            window,
            started: tokio::time::Instant::now(),
            bytes: 0,
            total: 0,
        }
    }

    /// Counts `n` bytes; the total so far.
    fn add(&mut self, n: u64) -> u64 {
        self.bytes += n;
        self.total += n;
        self.total
    }

    /// Time left in the current window.
    fn left(&self) -> Duration {
        self.window.saturating_sub(self.started.elapsed())
    }

    /// At the end of a window: an error when it moved too little, else a new window.
    fn check(&mut self) -> Result<(), String> {
        if self.started.elapsed() < self.window {
            return Ok(());
        }
        if self.bytes < crate::limits::ENGINE_PROGRESS_MIN {
            return Err(format!(
                "it stalled: {} in {} s (--timeout), less than the {} an engine must send in that time",
                crate::text::plural(
                    usize::try_from(self.bytes).unwrap_or(usize::MAX),
                    "byte",
                    "bytes"
                ),
                self.window.as_secs(),
                crate::limits::human(crate::limits::ENGINE_PROGRESS_MIN)
            ));
        }
        self.started = tokio::time::Instant::now();
        self.bytes = 0;
        Ok(())
    }
}

/// The API version to use with an engine that speaks `server` (`1.41`): its own, capped at
/// [`API_MAX`]; `None` when it is not a version.
fn negotiate(server: &str) -> Option<(u32, u32)> {
    let (major, minor) = server.trim().split_once('.')?;
    let v = (major.parse().ok()?, minor.parse().ok()?);
    Some(v.min(API_MAX))
}

/// A failed connection, by its cause: no socket or nothing listening, permission denied, or
/// something else.
fn classify(endpoint: &Endpoint, engine: Engine, e: &reqwest::Error) -> DaemonError {
    let shown = endpoint.addr.to_string();
    let io = std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .find_map(|e| e.downcast_ref::<std::io::Error>());
    let kind = io.map(std::io::Error::kind);
    match (kind, &endpoint.addr) {
        (Some(std::io::ErrorKind::PermissionDenied), Addr::Unix(path)) => {
            DaemonError::PermissionDenied {
                socket: path.display().to_string(),
                from: endpoint.from.clone(),
            }
        }
        (Some(std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused), _) => {
            let (var, save) = match engine {
                Engine::Docker => ("DOCKER_HOST", "docker"),
                Engine::Podman => ("CONTAINER_HOST", "podman"),
            };
            DaemonError::NoEngine {
                endpoint: shown,
                from: endpoint.from.clone(),
                var,
                save,
                cause: crate::net::innermost(e),
            }
        }
        // The deepest cause says it ("received fatal alert: CertificateRequired"); reqwest's
        // own layers repeat the URL.
        _ => DaemonError::Connect {
            endpoint: shown,
            cause: crate::net::innermost(e),
        },
    }
}

/// The part of `GET /images/{name}/json` bpdrift reads.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    os: String,
    #[serde(default, deserialize_with = "nullable")]
    architecture: String,
    #[serde(default, deserialize_with = "nullable")]
    variant: Option<String>,
    /// The container config (`User`, `Env`, `Labels`, …), passed on as the config's `config`.
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default, rename = "RootFS", deserialize_with = "nullable")]
    root_fs: InspectRootFs,
    #[serde(default, deserialize_with = "nullable")]
    size: u64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct InspectRootFs {
    #[serde(deserialize_with = "nullable")]
    layers: Vec<String>,
}

/// The inspect document as the image config it describes (what [`ImageMetadata::from_config`]
/// reads: platform, `config`, `rootfs.diff_ids`) and a manifest whose layers are the diffIDs,
/// as a docker-archive's are. The image id is the config digest; there is no manifest digest.
///
/// [`ImageMetadata::from_config`]: crate::metadata::ImageMetadata::from_config
pub(crate) fn from_inspect(body: &[u8]) -> Result<(Fetched, u64), String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let inspect: Inspect = serde_path_to_error::deserialize(de).map_err(|e| {
        format!(
            "at `{}`: {}",
            e.path(),
            crate::limits::shorten(&e.inner().to_string())
        )
    })?;
    // Podman and Docker give `sha256:<hex>`; a bare hex id is the same digest.
    let id = if inspect.id.contains(':') {
        inspect.id.clone()
    } else {
        format!("sha256:{}", inspect.id)
    };
    if manifest::sha256_hex(&id).is_none() {
        return Err(format!(
            "`Id` is not a sha256 digest: `{}`",
            crate::limits::shorten(&inspect.id)
        ));
    }
    let config = serde_json::json!({
        "architecture": inspect.architecture,
        "os": inspect.os,
        "variant": inspect.variant,
        "config": inspect.config,
        "rootfs": { "type": "layers", "diff_ids": inspect.root_fs.layers },
    });
    let config = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    let layers = inspect
        .root_fs
        .layers
        .iter()
        .map(|diff_id| Descriptor {
            media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
            digest: diff_id.clone(),
            // The inspect document gives no layer sizes (only the image's total).
            size: 0,
        })
        .collect();
    let fetched = Fetched {
        digest: None,
        index_digest: None,
        manifest: ImageManifest {
            schema_version: 2,
            media_type: Some(manifest::DOCKER_MANIFEST.into()),
            config: Descriptor {
                media_type: "application/vnd.docker.container.image.v1+json".into(),
                digest: id,
                size: config.len() as i64,
            },
            layers,
        },
        config,
    };
    Ok((fetched, inspect.size))
}

#[cfg(test)]
mod tests;
