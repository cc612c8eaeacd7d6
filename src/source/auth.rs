//! Registry credentials from the docker config file (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`), `auths` entries.
//!
//! Credentials never reach a log or a message: [`Credentials`] redacts itself in `Debug`, and
//! errors name the file and the JSON path, never a value.
//! Format: <https://docs.docker.com/reference/cli/docker/#docker-cli-configuration-file-configjson-properties>.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::metadata::labels::nullable;

/// A username and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or access token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not JSON, or a field of the wrong type.
    #[error("docker config `{}` is not valid at `{path}`", file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// JSON path.
        path: String,
        /// Parser error (line and column, no values).
        #[source]
        source: serde_json::Error,
    },
    /// An `auth` field that is not base64 of `user:password`.
    #[error("docker config `{}`: `auths.{registry}.auth` is not base64 of `user:password`", file.display())]
    BadAuthField {
        /// The file.
        file: PathBuf,
        /// The `auths` key.
        registry: String,
    },
    /// Unreadable file (other than missing).
    #[error("cannot read docker config `{}`", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default, deserialize_with = "nullable")]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default, deserialize_with = "nullable")]
    auth: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    username: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    password: Option<String>,
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

/// Credentials for `registry` from the docker config at `file`; `None` when the file does not
/// exist or has no entry for the registry.
pub fn lookup(file: &Path, registry: &str) -> Result<Option<Credentials>, AuthError> {
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AuthError::Io {
                file: file.into(),
                source,
            });
        }
    };
    let de = &mut serde_json::Deserializer::from_slice(&text);
    let cfg: DockerConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        AuthError::Malformed {
            file: file.into(),
            path: if path.is_empty() { ".".into() } else { path },
            source: e.into_inner(),
        }
    })?;
    let wanted = canonical(registry);
    let Some((key, entry)) = cfg
        .auths
        .iter()
        .find(|(k, _)| canonical(key_host(k)) == wanted)
    else {
        return Ok(None);
    };
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || AuthError::BadAuthField {
            file: file.into(),
            registry: key.clone(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (u, p) = decoded.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials {
            username: u.into(),
            password: p.into(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.json");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_auth_and_username_password() {
        let d = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let p = write(
            d.path(),
            &format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}}}}}}"#
            ),
        );
        let hub = lookup(&p, "index.docker.io").unwrap().unwrap();
        assert_eq!(hub.username, "alice");
        assert_eq!(hub.password, "s3cret");
        assert!(!format!("{hub:?}").contains("s3cret"));
        assert_eq!(
            lookup(&p, "127.0.0.1:5000").unwrap().unwrap().username,
            "bob"
        );
        assert!(lookup(&p, "ghcr.io").unwrap().is_none());
        assert!(
            lookup(&d.path().join("nope.json"), "ghcr.io")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn malformed_names_file_and_path_not_values() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), r#"{"auths":{"ghcr.io":{"auth":42}}}"#);
        let err = lookup(&p, "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("auths.ghcr.io.auth"), "{err}");
        let p = write(d.path(), r#"{"auths":{"ghcr.io":{"auth":"!!notbase64"}}}"#);
        let err = lookup(&p, "ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("not base64") && !err.contains("notbase64"),
            "{err}"
        );
    }
}
