//! Registry credentials, from every place docker, podman and skopeo keep them. First match wins:
//!
//! 1. `--username` with `--password-stdin` (or a password given by a program);
//! 2. `BPDRIFT_REGISTRY_USERNAME` / `BPDRIFT_REGISTRY_PASSWORD`;
//! 3. the docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a
//!    per-registry `credHelpers` entry, else `credsStore`, else `auths` (`auth` = base64
//!    `user:password`, or `identitytoken`) — docker's own order;
//! 4. the containers auth file of podman and skopeo (`$REGISTRY_AUTH_FILE`, else
//!    `$XDG_RUNTIME_DIR/containers/auth.json`), `auths` entries.
//!
//! Secrets never reach a log or a message: [`Credential`] redacts itself in `Debug`, errors name
//! the file and the JSON path, and a failing credential helper is named with its exit status,
//! never its output. Formats:
//! <https://docs.docker.com/reference/cli/docker/#docker-cli-configuration-file-configjson-properties>,
//! <https://github.com/docker/docker-credential-helpers>,
//! <https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md>.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::metadata::labels::nullable;

/// A secret for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// User name and password (or a personal access token used as one).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
}

/// A credential and where it came from (the latter is shown in messages; the former never).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The secret.
    pub secret: Secret,
    /// Where it was found, e.g. `docker config /home/me/.docker/config.json (auths)`.
    pub origin: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.secret {
            Secret::Basic { username, .. } => {
                format!("basic user `{username}`, password <redacted>")
            }
            Secret::IdentityToken(_) => "identity token <redacted>".to_string(),
        };
        f.debug_struct("Credential")
            .field("secret", &kind)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A credentials source that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not JSON, or a field of the wrong type.
    #[error("{what} `{}` is not valid at `{path}` (line {line}, column {column}): {reason}", file.display())]
    Malformed {
        /// "docker config" or "containers auth file".
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// JSON path.
        path: String,
        /// What was expected and the kind of what was found; never the value (serde's
        /// messages quote it, and here it is a credential). The parser error is not kept as a
        /// source for the same reason.
        reason: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An `auth` field that is not base64 of `user:password`.
    #[error("{what} `{}`: `auths.{registry}.auth` is not base64 of `user:password`", file.display())]
    BadAuthField {
        /// "docker config" or "containers auth file".
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// The `auths` key.
        registry: String,
    },
    /// Unreadable file (other than missing): not a regular file, too large, an I/O error. The
    /// message names the file, who named it and the limit.
    #[error(transparent)]
    File(#[from] crate::limits::FileError),
    /// A `credsStore`/`credHelpers` name that is not a program name: docker runs
    /// `docker-credential-<name>` found on PATH, never a path.
    #[error(
        "{what} `{}`: credential helper name `{name}` is not a name (it holds `/` or `\\`, or is empty); docker looks helpers up on PATH as `docker-credential-<name>`",
        file.display()
    )]
    HelperName {
        /// "docker config".
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// The name, shown escaped.
        name: String,
    },
    /// A credential helper that failed. Its output is not shown: it may hold a secret.
    #[error("credential helper `{helper}` failed for registry `{registry}`: {status}")]
    Helper {
        /// The program, e.g. `docker-credential-ecr-login`.
        helper: String,
        /// Registry asked about.
        registry: String,
        /// Exit status, "not found on PATH", or "timed out after 20 s".
        status: String,
    },
    /// Only one of username and password was given.
    #[error("{0}")]
    Incomplete(String),
    /// Credentials given for "the registries of this run" while the run reaches several.
    #[error(
        "credentials from {origin} would go to several registries ({registries}): name the one they are for with --registry-host HOST (or BPDRIFT_REGISTRY_HOST)"
    )]
    Ambiguous {
        /// `--username/--password-stdin` or the environment variables.
        origin: &'static str,
        /// The registries the references name.
        registries: String,
    },
    /// Credentials given without a registry where none could be inferred.
    #[error(
        "credentials from {origin} are not bound to a registry (registry `{registry}` asks for credentials): pass --registry-host HOST (or BPDRIFT_REGISTRY_HOST)"
    )]
    Unbound {
        /// `--username/--password-stdin` or the environment variables.
        origin: &'static str,
        /// The registry that asked.
        registry: String,
    },
}

/// Where credentials are looked up, fixed for a run.
#[derive(Debug, Clone, Default)]
pub struct CredentialSources {
    /// `--username` and the password read from stdin.
    pub explicit: Option<(String, String)>,
    /// `BPDRIFT_REGISTRY_USERNAME` / `BPDRIFT_REGISTRY_PASSWORD`.
    pub env: Option<(String, String)>,
    /// The docker config file.
    pub docker_config: Option<PathBuf>,
    /// The containers auth file.
    pub containers_auth: Option<PathBuf>,
    /// The one registry `explicit` and `env` credentials are for (`--registry-host`,
    /// `BPDRIFT_REGISTRY_HOST`, or [`Self::bind`] from the references). They are never sent to
    /// another: a run across two registries must not hand one the other's password.
    pub host: Option<String>,
}

impl CredentialSources {
    /// Sources from the environment (`DOCKER_CONFIG`, `HOME`, `REGISTRY_AUTH_FILE`,
    /// `XDG_RUNTIME_DIR`, `BPDRIFT_REGISTRY_*`).
    pub fn from_env() -> Result<Self, AuthError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let env = match (
            var("BPDRIFT_REGISTRY_USERNAME"),
            var("BPDRIFT_REGISTRY_PASSWORD"),
        ) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                return Err(AuthError::Incomplete(
                    "set both BPDRIFT_REGISTRY_USERNAME and BPDRIFT_REGISTRY_PASSWORD, or neither"
                        .into(),
                ));
            }
        };
        let containers_auth = var("REGISTRY_AUTH_FILE").map(PathBuf::from).or_else(|| {
            var("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("containers").join("auth.json"))
        });
        Ok(Self {
            explicit: None,
            env,
            docker_config: default_docker_config(),
            containers_auth,
            host: var("BPDRIFT_REGISTRY_HOST"),
        })
    }

    fn given_origin(&self) -> Option<&'static str> {
        if self.explicit.is_some() {
            Some("--username/--password-stdin")
        } else if self.env.is_some() {
            Some("BPDRIFT_REGISTRY_USERNAME/PASSWORD")
        } else {
            None
        }
    }

    /// Binds given credentials (`--username`, `BPDRIFT_REGISTRY_*`) without a `host` to the
    /// registry of `registries` (the references of the run) when they all agree; an error when
    /// they do not. Nothing to do without given credentials or with a host.
    pub fn bind<'a>(
        &mut self,
        registries: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), AuthError> {
        let Some(origin) = self.given_origin() else {
            return Ok(());
        };
        if self.host.is_some() {
            return Ok(());
        }
        let distinct: std::collections::BTreeSet<&str> =
            registries.into_iter().map(canonical).collect();
        match distinct.len() {
            0 => Ok(()),
            1 => {
                self.host = distinct.into_iter().next().map(str::to_string);
                Ok(())
            }
            _ => Err(AuthError::Ambiguous {
                origin,
                registries: distinct
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The credential for `registry`, first match wins (see the module docs).
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credential>, AuthError> {
        if let Some(origin) = self.given_origin() {
            // Given credentials go to their registry only; others use the files.
            let Some(host) = &self.host else {
                return Err(AuthError::Unbound {
                    origin,
                    registry: registry.to_string(),
                });
            };
            if canonical(key_host(host)) == canonical(registry) {
                let (u, p) = self.explicit.as_ref().or(self.env.as_ref()).expect("given");
                return Ok(Some(basic(u, p, origin)));
            }
        }
        if let Some(file) = &self.docker_config
            && let Some(c) = lookup_docker_config(file, registry).await?
        {
            return Ok(Some(c));
        }
        if let Some(file) = &self.containers_auth
            && let Some(c) = lookup_auths_file("containers auth file", file, registry)?
        {
            return Ok(Some(c));
        }
        Ok(None)
    }
}

fn basic(u: &str, p: &str, origin: &str) -> Credential {
    Credential {
        secret: Secret::Basic {
            username: u.into(),
            password: p.into(),
        },
        origin: origin.into(),
    }
}

#[derive(Deserialize, Default)]
struct AuthsFile {
    #[serde(default, deserialize_with = "nullable")]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore", deserialize_with = "nullable")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers", deserialize_with = "nullable")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default, deserialize_with = "nullable")]
    auth: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    username: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    identitytoken: Option<String>,
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn default_docker_config() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The host part of an `auths` key: keys may be `https://index.docker.io/v1/`, `host:port` or
/// `http://host:port`.
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

/// Docker Hub answers to several names.
fn canonical(host: &str) -> &str {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io"
        }
        h => h,
    }
}

fn read_auths(what: &'static str, file: &Path) -> Result<Option<AuthsFile>, AuthError> {
    // Bounded, regular files only (a config linked to `/dev/zero` must not hang the run).
    let from = if what == "docker config" {
        "`DOCKER_CONFIG` or `~/.docker`"
    } else {
        "`REGISTRY_AUTH_FILE` or `$XDG_RUNTIME_DIR/containers`"
    };
    let named = crate::limits::Named {
        what,
        from,
        limit: crate::limits::CONFIG_FILE_MAX,
    };
    let text = match crate::limits::read_named(file, named) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let de = &mut serde_json::Deserializer::from_slice(&text);
    serde_path_to_error::deserialize(de).map(Some).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde_json appends " at line L column C": said separately.
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        AuthError::Malformed {
            what,
            file: file.into(),
            path: if path.is_empty() {
                ".".into()
            } else {
                crate::limits::shorten(&path).into_owned()
            },
            reason: crate::redact::without_values(message),
            line: inner.line(),
            column: inner.column(),
        }
    })
}

fn from_entry(
    what: &'static str,
    file: &Path,
    key: &str,
    entry: &AuthEntry,
) -> Result<Option<Credential>, AuthError> {
    let origin = format!("{what} {} (auths)", file.display());
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential {
            secret: Secret::IdentityToken(token.into()),
            origin,
        }));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || AuthError::BadAuthField {
            what,
            file: file.into(),
            registry: key.to_string(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (u, p) = decoded.split_once(':').ok_or_else(bad)?;
        return Ok(Some(basic(u, p, &origin)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(basic(u, p, &origin))),
        _ => Ok(None),
    }
}

fn find_entry<'a>(
    auths: &'a BTreeMap<String, AuthEntry>,
    registry: &str,
) -> Option<(&'a String, &'a AuthEntry)> {
    let wanted = canonical(registry);
    auths.iter().find(|(k, _)| canonical(key_host(k)) == wanted)
}

fn lookup_auths_file(
    what: &'static str,
    file: &Path,
    registry: &str,
) -> Result<Option<Credential>, AuthError> {
    let Some(cfg) = read_auths(what, file)? else {
        return Ok(None);
    };
    match find_entry(&cfg.auths, registry) {
        Some((key, entry)) => from_entry(what, file, key, entry),
        None => Ok(None),
    }
}

/// Credentials for `registry` from a docker config file, in docker's order: a `credHelpers`
/// entry for the registry, else `credsStore`, else `auths`.
pub async fn lookup_docker_config(
    file: &Path,
    registry: &str,
) -> Result<Option<Credential>, AuthError> {
    let what = "docker config";
    let Some(cfg) = read_auths(what, file)? else {
        return Ok(None);
    };
    let wanted = canonical(registry);
    let helper = cfg
        .cred_helpers
        .iter()
        .find(|(k, _)| canonical(key_host(k)) == wanted)
        .map(|(_, v)| v.clone())
        .or_else(|| cfg.creds_store.clone())
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper {
        if !helper_name_ok(&helper) {
            return Err(AuthError::HelperName {
                what,
                file: file.into(),
                name: crate::limits::shorten(&crate::sanitize::visible(&helper)).into_owned(),
            });
        }
        // Docker Hub's credentials are stored under its legacy URL.
        let server = if wanted == "docker.io" {
            "https://index.docker.io/v1/".to_string()
        } else {
            registry.to_string()
        };
        if let Some(c) = run_helper(&helper, &server, registry).await? {
            return Ok(Some(c));
        }
    }
    match find_entry(&cfg.auths, registry) {
        Some((key, entry)) => from_entry(what, file, key, entry),
        None => Ok(None),
    }
}

/// What a credential helper prints for `get`.
#[derive(Deserialize)]
pub struct Reply {
    /// `Username` (`<token>` for an identity token).
    #[serde(rename = "Username", default)]
    pub username: String,
    /// `Secret`.
    #[serde(rename = "Secret", default)]
    pub secret: String,
}

/// A helper's `get` output as credentials (what `docker-credential-helpers` prints).
pub fn parse_helper_reply(stdout: &[u8]) -> Result<Reply, serde_json::Error> {
    serde_json::from_slice(stdout)
}

/// Reads all of `r`, keeping at most `keep` bytes; `true` once more arrived (then it stops
/// reading: the caller refuses the output, and the child is killed when dropped).
async fn read_capped(
    r: Option<impl tokio::io::AsyncRead + Unpin>,
    keep: u64,
) -> std::io::Result<(Vec<u8>, bool)> {
    use tokio::io::AsyncReadExt as _;
    let Some(r) = r else {
        return Ok((Vec::new(), false));
    };
    let mut buf = Vec::new();
    r.take(keep + 1).read_to_end(&mut buf).await?;
    let over = buf.len() as u64 > keep;
    buf.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    Ok((buf, over))
}

/// Whether `name` can only be looked up on PATH: `docker-credential-x/../evil` would run a
/// file relative to the working directory (docker refuses such names too).
pub fn helper_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\'])
        && !name.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Runs `docker-credential-<name> get` with the server URL on stdin. "Not found" (exit 1 with
/// that message, as every helper reports it) is no credential; any other failure is an error
/// that names the helper and its status but never repeats its output.
async fn run_helper(
    name: &str,
    server: &str,
    registry: &str,
) -> Result<Option<Credential>, AuthError> {
    use tokio::io::AsyncWriteExt as _;
    const LIMIT: Duration = crate::limits::HELPER_TIME_MAX;
    let program = format!("docker-credential-{name}");
    let fail = |status: String| AuthError::Helper {
        helper: program.clone(),
        registry: registry.to_string(),
        status,
    };
    tracing::debug!(helper = %program, %server, "running credential helper");
    // Async, so a slow helper does not stall the other image's fetch on the one runtime
    // thread; killed when dropped, so the time limit below ends it.
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                "not found on PATH".into()
            } else {
                format!("cannot start ({})", e.kind())
            })
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes()).await;
    }
    // Bounded in time (a helper waiting for a keychain prompt must not hang the run; a
    // background child of the helper that keeps its stdout open costs this wait too) and in
    // bytes (a helper printing gigabytes is refused once it passes the limit).
    let limit = crate::limits::HELPER_OUTPUT_MAX;
    let run = async {
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (out, err) = tokio::join!(
            read_capped(stdout, limit),
            read_capped(stderr, crate::limits::HELPER_STDERR_MAX)
        );
        let (out, err) = (out?, err?);
        if out.1 {
            return Ok(None);
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>(Some((status, out.0, err.0)))
    };
    let (status, stdout, stderr) = match tokio::time::timeout(LIMIT, run).await {
        Ok(Ok(Some(o))) => o,
        Ok(Ok(None)) => {
            return Err(fail(format!(
                "printed more than the {} limit",
                crate::limits::human(limit)
            )));
        }
        Ok(Err(e)) => return Err(fail(format!("cannot be waited for ({})", e.kind()))),
        Err(_) => return Err(fail(format!("timed out after {} s", LIMIT.as_secs()))),
    };
    if !status.success() {
        let stdout = String::from_utf8_lossy(&stdout);
        let stderr = String::from_utf8_lossy(&stderr);
        if stdout.contains("credentials not found") || stderr.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(match status.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".into(),
        }));
    }
    let reply = parse_helper_reply(&stdout)
        .map_err(|_| fail("printed something that is not credentials JSON".into()))?;
    let origin = format!("credential helper {program}");
    if reply.secret.is_empty() {
        return Ok(None);
    }
    // Helpers hand out identity tokens with this conventional user name.
    if reply.username == "<token>" {
        return Ok(Some(Credential {
            secret: Secret::IdentityToken(reply.secret),
            origin,
        }));
    }
    Ok(Some(basic(&reply.username, &reply.secret, &origin)))
}

#[cfg(test)]
mod tests;
