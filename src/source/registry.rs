//! The registry side of the OCI distribution protocol, reduced to what bpdrift needs: one `/v2/`
//! ping per registry, one bearer token per repository, then per image one manifest GET (two for
//! an index) and one config-blob GET. Never a layer blob.
//!
//! Types (references, manifests, indexes) are `oci-client`'s. The wire is ours, over the same
//! `reqwest`: `oci_client::Client` re-sends the `/v2/` ping before *every* request when a registry
//! answers it without an auth challenge (its token cache only stores tokens), which triples the
//! requests a diff costs; and it drops `Retry-After` and status codes we need to report.
//!
//! Specs: <https://github.com/opencontainers/distribution-spec/blob/main/spec.md> and
//! <https://distribution.github.io/distribution/spec/auth/token/>.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use tokio::sync::OnceCell;

use super::auth::{self, Credentials};
use super::manifest::{self, Manifest};
use super::{FetchOptions, Fetched, SourceError};
use crate::reference::{Platform, RegistryRef};

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Connection refused, DNS failure, TLS failure, timeout.
    #[error("cannot reach registry `{registry}` for `{reference}`: {reason}")]
    Unreachable {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// Short cause.
        reason: String,
        /// Transport error.
        #[source]
        source: reqwest::Error,
    },
    /// 404 on the manifest.
    #[error(
        "image `{reference}` not found: registry `{registry}` has no manifest `{manifest}` in repository `{repository}`"
    )]
    NotFound {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Tag or digest.
        manifest: String,
        /// Image reference.
        reference: String,
    },
    /// 401/403.
    #[error(
        "registry `{registry}` {what} for `{reference}` (repository `{repository}`, HTTP {status})"
    )]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// Repository.
        repository: String,
        /// HTTP status.
        status: u16,
        /// "rejected the credentials" or "requires credentials and none were found".
        what: String,
    },
    /// Any other unexpected status.
    #[error("registry `{registry}` answered HTTP {status} to {what} of `{reference}`{detail}")]
    Status {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// What was requested.
        what: &'static str,
        /// HTTP status.
        status: u16,
        /// The registry's error message, if it gave one.
        detail: String,
    },
    /// A manifest or blob that is not what it should be.
    #[error("`{reference}` from registry `{registry}`: {source}")]
    Manifest {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// What is wrong.
        #[source]
        source: manifest::ManifestError,
    },
    /// The token endpoint answered something that is not a token.
    #[error("token endpoint of registry `{registry}` returned no token")]
    BadToken {
        /// Registry host.
        registry: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// What a registry's `/v2/` answered.
#[derive(Debug, Clone)]
enum Challenge {
    /// 200: no authentication.
    Anonymous,
    /// `WWW-Authenticate: Basic`.
    Basic,
    /// `WWW-Authenticate: Bearer realm=…,service=…`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

type Shared<T> = Arc<OnceCell<T>>;
/// (registry, repository) → bearer token for pulling.
type TokenCells = HashMap<(String, String), Shared<Option<String>>>;

/// One HTTP client per run, shared by every fetch of the run.
pub struct RegistryClient {
    http: reqwest::Client,
    insecure: Vec<String>,
    docker_config: Option<PathBuf>,
    challenges: Mutex<HashMap<String, Shared<Challenge>>>,
    tokens: Mutex<TokenCells>,
    credentials: Mutex<HashMap<String, Option<Credentials>>>,
}

impl RegistryClient {
    /// Builds the client; no request is made.
    pub fn new(opts: &FetchOptions) -> Result<Self, RegistryError> {
        // Another part of the process may have installed a provider already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("bpdrift/", env!("CARGO_PKG_VERSION")))
            // Connection refused fails at once; an unroutable host must not hang an incident.
            .connect_timeout(Duration::from_secs(5).min(opts.timeout))
            .timeout(opts.timeout)
            .build()
            .map_err(RegistryError::Client)?;
        Ok(Self {
            http,
            insecure: opts.insecure_registries.clone(),
            docker_config: opts.docker_config.clone(),
            challenges: Mutex::default(),
            tokens: Mutex::default(),
            credentials: Mutex::default(),
        })
    }

    fn scheme(&self, r: &RegistryRef) -> &'static str {
        if r.is_loopback() || self.insecure.iter().any(|h| h == r.registry()) {
            "http"
        } else {
            "https"
        }
    }

    fn base(&self, r: &RegistryRef) -> String {
        format!("{}://{}/v2/", self.scheme(r), r.registry())
    }

    fn credentials(&self, r: &RegistryRef) -> Result<Option<Credentials>, SourceError> {
        let mut cache = self.credentials.lock().expect("credentials lock");
        if let Some(c) = cache.get(r.registry()) {
            return Ok(c.clone());
        }
        let found = match &self.docker_config {
            Some(file) => auth::lookup(file, r.registry())?,
            None => None,
        };
        cache.insert(r.registry().to_string(), found.clone());
        Ok(found)
    }

    fn unreachable(r: &RegistryRef, e: reqwest::Error) -> RegistryError {
        let reason = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            // The innermost cause says "Connection refused" or names the DNS failure.
            let mut inner: &dyn std::error::Error = &e;
            while let Some(s) = inner.source() {
                inner = s;
            }
            format!("connection failed ({inner})")
        } else {
            "request failed".to_string()
        };
        RegistryError::Unreachable {
            registry: r.registry().to_string(),
            reference: r.input.clone(),
            reason,
            source: e.without_url(),
        }
    }

    /// The `/v2/` ping, once per registry per run, shared by concurrent fetches.
    async fn challenge(&self, r: &RegistryRef) -> Result<Challenge, RegistryError> {
        let cell = self
            .challenges
            .lock()
            .expect("challenge lock")
            .entry(r.registry().to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let url = self.base(r);
            tracing::debug!(%url, "GET (ping)");
            let res = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| Self::unreachable(r, e))?;
            let header = res
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            Ok(match (res.status(), header) {
                (StatusCode::UNAUTHORIZED, Some(h)) => parse_challenge(&h),
                (StatusCode::UNAUTHORIZED, None) => Challenge::Basic,
                _ => Challenge::Anonymous,
            })
        })
        .await
        .cloned()
    }

    /// A bearer token for pulling from `r`'s repository, once per repository per run.
    async fn token(
        &self,
        r: &RegistryRef,
        realm: &str,
        service: Option<&str>,
        creds: Option<&Credentials>,
    ) -> Result<Option<String>, RegistryError> {
        let key = (r.registry().to_string(), r.repository().to_string());
        let cell = self
            .tokens
            .lock()
            .expect("token lock")
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let scope = format!("repository:{}:pull", r.repository());
            let mut query: Vec<(&str, &str)> = vec![("scope", &scope)];
            if let Some(s) = service {
                query.push(("service", s));
            }
            tracing::debug!(%realm, %scope, "GET (token)");
            let mut req = self.http.get(realm).query(&query);
            if let Some(c) = creds {
                req = req.basic_auth(&c.username, Some(&c.password));
            }
            let res = req.send().await.map_err(|e| Self::unreachable(r, e))?;
            let status = res.status();
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(unauthorized(r, status, creds.is_some()));
            }
            if !status.is_success() {
                return Err(RegistryError::Status {
                    registry: r.registry().into(),
                    reference: r.input.clone(),
                    what: "the token request",
                    status: status.as_u16(),
                    detail: String::new(),
                });
            }
            #[derive(serde::Deserialize)]
            struct Token {
                token: Option<String>,
                access_token: Option<String>,
            }
            let t: Token = res.json().await.map_err(|_| RegistryError::BadToken {
                registry: r.registry().into(),
            })?;
            t.token
                .or(t.access_token)
                .filter(|t| !t.is_empty())
                .map(Some)
                .ok_or_else(|| RegistryError::BadToken {
                    registry: r.registry().into(),
                })
        })
        .await
        .cloned()
    }

    async fn get(
        &self,
        r: &RegistryRef,
        path: &str,
        accept: Option<String>,
        what: &'static str,
    ) -> Result<(HeaderMap, Vec<u8>), SourceError> {
        let challenge = self.challenge(r).await?;
        // Only a registry that asks for authentication makes us read the credentials file.
        let creds = match challenge {
            Challenge::Anonymous => None,
            _ => self.credentials(r)?,
        };
        let url = format!("{}{}/{}", self.base(r), r.repository(), path);
        tracing::debug!(%url, "GET ({what})");
        let mut req = self.http.get(&url);
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        match &challenge {
            Challenge::Anonymous => {}
            Challenge::Basic => {
                if let Some(c) = &creds {
                    req = req.basic_auth(&c.username, Some(&c.password));
                }
            }
            Challenge::Bearer { realm, service } => {
                if let Some(t) = self
                    .token(r, realm, service.as_deref(), creds.as_ref())
                    .await?
                {
                    req = req.bearer_auth(t);
                }
            }
        }
        let res = req.send().await.map_err(|e| Self::unreachable(r, e))?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .bytes()
            .await
            .map_err(|e| Self::unreachable(r, e))?
            .to_vec();
        match status {
            s if s.is_success() => Ok((headers, body)),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(unauthorized(r, status, creds.is_some()).into())
            }
            StatusCode::NOT_FOUND if what == "manifest" => Err(RegistryError::NotFound {
                registry: r.registry().into(),
                repository: r.repository().into(),
                manifest: path.trim_start_matches("manifests/").into(),
                reference: r.input.clone(),
            }
            .into()),
            s => Err(RegistryError::Status {
                registry: r.registry().into(),
                reference: r.input.clone(),
                what,
                status: s.as_u16(),
                detail: registry_message(&body),
            }
            .into()),
        }
    }

    async fn manifest(
        &self,
        r: &RegistryRef,
        reference: &str,
    ) -> Result<(String, Manifest), SourceError> {
        let (headers, body) = self
            .get(
                r,
                &format!("manifests/{reference}"),
                Some(manifest::ACCEPT.join(", ")),
                "manifest",
            )
            .await?;
        let bad = |source| {
            SourceError::from(RegistryError::Manifest {
                registry: r.registry().into(),
                reference: r.input.clone(),
                source,
            })
        };
        let digest = if reference.contains(':') {
            manifest::verify("manifest", &body, reference).map_err(bad)?;
            reference.to_string()
        } else {
            let computed = manifest::sha256(&body);
            // A registry that names another digest than the content has is not to be trusted.
            if let Some(h) = headers
                .get("docker-content-digest")
                .and_then(|h| h.to_str().ok())
                .filter(|h| h.starts_with("sha256:"))
            {
                manifest::verify("manifest", &body, h).map_err(bad)?;
            }
            computed
        };
        let ct = headers.get(CONTENT_TYPE).and_then(|h| h.to_str().ok());
        let parsed = manifest::parse(&body, ct).map_err(bad)?;
        Ok((digest, parsed))
    }

    /// Manifest (through the index when there is one) and config of `r`.
    pub(crate) async fn fetch(
        &self,
        r: &RegistryRef,
        platform: &Platform,
    ) -> Result<Fetched, SourceError> {
        let bad = |source| {
            SourceError::from(RegistryError::Manifest {
                registry: r.registry().into(),
                reference: r.input.clone(),
                source,
            })
        };
        let (top_digest, top) = self.manifest(r, &r.manifest_reference()).await?;
        let (digest, index_digest, image) = match top {
            Manifest::Image(m) => (top_digest, None, *m),
            Manifest::Index(idx) => {
                let entry = manifest::select(&idx, platform).map_err(bad)?;
                let (d, m) = self.manifest(r, &entry.digest).await?;
                match m {
                    Manifest::Image(m) => (d, Some(top_digest), *m),
                    Manifest::Index(_) => {
                        return Err(bad(manifest::ManifestError::MediaType(
                            "an index nested in an index".into(),
                        )));
                    }
                }
            }
        };
        let (_, config) = self
            .get(
                r,
                &format!("blobs/{}", image.config.digest),
                None,
                "the config blob",
            )
            .await?;
        manifest::verify("config", &config, &image.config.digest).map_err(bad)?;
        Ok(Fetched {
            digest: Some(digest),
            index_digest,
            manifest: image,
            config,
        })
    }
}

fn unauthorized(r: &RegistryRef, status: StatusCode, had_credentials: bool) -> RegistryError {
    RegistryError::Unauthorized {
        registry: r.registry().into(),
        reference: r.input.clone(),
        repository: r.repository().into(),
        status: status.as_u16(),
        what: if had_credentials {
            "rejected the credentials".into()
        } else {
            format!(
                "requires credentials and none were found (run `docker login {}`)",
                r.registry()
            )
        },
    }
}

/// The `message` of a registry's `{"errors":[{"code","message"}]}` body, for the error line.
fn registry_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<E>,
    }
    #[derive(serde::Deserialize)]
    struct E {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => {
            let parts: Vec<String> = e
                .errors
                .iter()
                .map(|e| format!("{} {}", e.code, e.message).trim().to_string())
                .collect();
            format!(": {}", parts.join("; "))
        }
        _ => String::new(),
    }
}

/// Parses `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params, quoted or not).
fn parse_challenge(header: &str) -> Challenge {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::Basic;
    }
    let mut params: HashMap<String, String> = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    match params.remove("realm") {
        Some(realm) => Challenge::Bearer {
            realm,
            service: params.remove("service"),
        },
        None => Challenge::Basic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let Challenge::Bearer { realm, service } = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#,
        ) else {
            panic!("not bearer")
        };
        assert_eq!(realm, "https://auth.docker.io/token");
        assert_eq!(service.as_deref(), Some("registry.docker.io"));
        assert!(matches!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Challenge::Basic
        ));
        let Challenge::Bearer { realm, service } =
            parse_challenge("bearer realm=http://127.0.0.1:1/t, service=reg")
        else {
            panic!("not bearer")
        };
        assert_eq!(
            (realm.as_str(), service.as_deref()),
            ("http://127.0.0.1:1/t", Some("reg"))
        );
    }

    #[test]
    fn registry_error_messages() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        assert_eq!(
            registry_message(body),
            ": MANIFEST_UNKNOWN manifest unknown"
        );
        assert_eq!(registry_message(b"<html>"), "");
    }
}
