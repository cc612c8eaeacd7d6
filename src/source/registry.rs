//! The registry side of the OCI distribution protocol, reduced to what bpdrift needs and made
//! cheap: no `/v2/` ping (the first request goes out as it is and a 401 brings the auth
//! challenge, which the run and the cache then remember, as containerd does), one bearer token
//! per repository, then per image one manifest GET (two for an index) and one config-blob GET;
//! a layer blob only when the memory prediction asks for one (streamed to a temporary file and
//! verified). With the cache warm, a tag costs one
//! HEAD (which Docker Hub does not count against its rate limit) and a digest costs nothing.
//!
//! The wire is ours, over `reqwest` (with `net`'s retry policy). `oci_client::Client` was the
//! alternative and was measured out: it re-sends the `/v2/` ping before *every* request when a
//! registry answers it without an auth challenge (its token cache only stores tokens), has no
//! HEAD-first resolution against a digest cache, and drops `Retry-After` and the status codes we
//! report; its types are replaced by `manifest`'s.
//!
//! One file for the request flow (send with retries, manifests, configs, blobs, HEADs) because
//! each step shares the client's state; its errors are in `error.rs`, the challenge and token
//! handshake in `auth.rs`.
//!
//! Specs: <https://github.com/opencontainers/distribution-spec/blob/main/spec.md>,
//! <https://distribution.github.io/distribution/spec/auth/token/> and
//! <https://distribution.github.io/distribution/spec/auth/oauth/> (identity tokens).

mod auth;
mod error;
mod push;
pub(crate) mod tls;
mod transport;

pub use self::auth::Challenge;
use self::auth::parse_challenge;
pub use self::error::RegistryError;
use self::error::unauthorized;
pub use self::tls::TlsOptions;
pub(crate) use self::tls::read_cas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::sync::{OnceCell, Semaphore};

use super::auth::{Credential, CredentialSources, Secret};
use super::cache::Cache;
use super::manifest::{self, Manifest};
use super::{FetchOptions, Fetched, SourceError};
use crate::net::{self, Retry, RetryPolicy, form, innermost, is_reset, retry_after};
use crate::reference::{Platform, RegistryRef};

type Shared<T> = Arc<OnceCell<T>>;
/// Manifests kept in memory by digest within a run (see `RegistryClient::remember`).
const SEEN_MAX: usize = 256;
/// The media type of the manifests bpdrift pushes (its history artifact).
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// (registry, repository) → bearer token for pulling.
type TokenCells = HashMap<(String, String), Shared<Option<String>>>;
/// A TLS client and its client-certificate record, or why it could not be built.
type TlsClient = Result<(reqwest::Client, Arc<tls::ClientCert>), String>;
/// A manifest's bytes and the media type it was served with.
type Served = (Vec<u8>, Option<String>);

/// One HTTP client per run, shared by every fetch of the run (clone the `Arc`).
pub struct RegistryClient {
    plain: reqwest::Client,
    /// TLS clients by certs.d directory (`None`: no directory for the host), built on first use.
    tls: Mutex<HashMap<Option<std::path::PathBuf>, TlsClient>>,
    trust: TlsOptions,
    timeout: Duration,
    insecure: Vec<String>,
    credentials: CredentialSources,
    retry: RetryPolicy,
    cache: Option<Cache>,
    /// Bounds requests in flight (`--jobs`).
    slots: Semaphore,
    /// What each registry's 401 asked for (or `Anonymous` after a 200), from this run or the
    /// cache.
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<TokenCells>,
    found: Mutex<HashMap<String, Option<Credential>>>,
    /// Manifests seen this run, by digest, so `--platform all` and repeated references cost one
    /// GET even with `--no-cache`.
    seen: Mutex<HashMap<String, Served>>,
    /// Per `https://` host: whether its first request has been answered. Until then the other
    /// requests to that host wait, so that they find its HTTP/2 connection in the pool instead
    /// of each opening (and handshaking) a connection of its own.
    opened: Mutex<HashMap<String, Arc<tokio::sync::Mutex<bool>>>>,
    /// Where each request was last redirected to (first URL → target), so that a failure at
    /// the target names the target: reqwest reports the URL it was asked for.
    redirects: Redirects,
}

/// First URL of a request → the URL it was last redirected to.
type Redirects = Arc<Mutex<HashMap<String, String>>>;

/// reqwest's default policy (at most 10 hops), recording each hop in `seen`.
fn redirect_policy(seen: &Redirects) -> reqwest::redirect::Policy {
    let seen = seen.clone();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > 10 {
            return attempt.error("too many redirects");
        }
        if let Some(first) = attempt.previous().first() {
            seen.lock()
                .expect("redirects lock")
                .insert(first.to_string(), attempt.url().to_string());
        }
        attempt.follow()
    })
}

/// One request for [`RegistryClient::call`].
struct Call<'a> {
    method: Method,
    url: String,
    accept: Option<&'a str>,
    /// Content type and bytes (bounded: small history artifacts), re-sent on a retry.
    body: Option<(&'a str, Vec<u8>)>,
    /// Whether the token must allow pushing.
    push: bool,
    what: &'static str,
    sink: Option<&'a std::fs::File>,
    limit: u64,
}

/// What one request produced.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    /// With a sink: the sha256 of what was streamed into it.
    streamed: Option<String>,
}

impl Answer {
    /// The `Docker-Content-Digest` the registry named, when it is a sha256 digest.
    fn named_digest(&self) -> Option<&str> {
        self.headers
            .get("docker-content-digest")
            .and_then(|h| h.to_str().ok())
            .filter(|d| d.starts_with("sha256:"))
    }

    /// The sha256 of a manifest body, after checking it against the digest the registry named
    /// (a registry that names another digest than the content has is not to be trusted).
    fn manifest_digest(&self, r: &RegistryRef) -> Result<String, SourceError> {
        if let Some(named) = self.named_digest() {
            manifest::verify("manifest", &self.body, named)
                .map_err(|e| RegistryClient::bad(r, e))?;
        }
        Ok(manifest::sha256(&self.body))
    }
}

impl RegistryClient {
    /// Builds the client; no request is made.
    pub fn new(opts: &FetchOptions) -> Result<Self, RegistryError> {
        // Another part of the process may have installed a provider already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Plain HTTP (loopback and --insecure-registry hosts) needs no trust store: loading the
        // platform's roots costs ~40 ms and 15 MB, so the TLS client is built on first use only.
        let redirects = Redirects::default();
        let plain = net::client_builder(opts.timeout, Duration::from_secs(5))
            .tls_certs_only(std::iter::empty())
            .redirect(redirect_policy(&redirects))
            .build()
            .map_err(RegistryError::Client)?;
        Ok(Self {
            redirects,
            plain,
            tls: Mutex::default(),
            trust: opts.tls.clone(),
            timeout: opts.timeout,
            insecure: opts.insecure_registries.clone(),
            credentials: opts.credentials.clone(),
            retry: opts.retry,
            cache: opts.cache.clone(),
            slots: Semaphore::new(opts.jobs.max(1)),
            challenges: Mutex::default(),
            tokens: Mutex::default(),
            found: Mutex::default(),
            seen: Mutex::default(),
            opened: Mutex::default(),
        })
    }

    /// Plain HTTP for `--insecure-registry` hosts and for loopback registries, unless trust is
    /// configured for them (`--ca-file`, `--certs-dir`, a certs.d entry): then HTTPS, as for
    /// every other registry.
    fn scheme(&self, r: &RegistryRef) -> &'static str {
        if self.insecure.iter().any(|h| h == r.registry())
            || (r.is_loopback() && !self.trust.configured_for(r.registry()))
        {
            "http"
        } else {
            "https"
        }
    }

    fn base(&self, r: &RegistryRef) -> String {
        format!("{}://{}/v2/", self.scheme(r), r.registry())
    }

    async fn credential(&self, r: &RegistryRef) -> Result<Option<Credential>, SourceError> {
        if let Some(c) = self
            .found
            .lock()
            .expect("credentials lock")
            .get(r.registry())
        {
            return Ok(c.clone());
        }
        // Looked up outside the lock: a credential helper may take a while.
        let found = self.credentials.lookup(r.registry()).await?;
        self.found
            .lock()
            .expect("credentials lock")
            .insert(r.registry().to_string(), found.clone());
        Ok(found)
    }

    /// One authenticated request to `<base><repository>/<path>`. A 401 (a cold run, a registry
    /// that started requiring auth, an expired token) is answered once: its challenge is
    /// learnt, a token fetched if it asks for one, and the request sent again.
    async fn request(
        &self,
        r: &RegistryRef,
        method: Method,
        path: &str,
        accept: Option<&str>,
        what: &'static str,
    ) -> Result<Answer, SourceError> {
        let limit = match what {
            "manifest" => crate::limits::MANIFEST_MAX,
            _ => crate::limits::CONFIG_MAX,
        };
        self.request_to(r, what, method, path, accept, None, limit)
            .await
    }

    /// `GET blobs/<digest>`, into `sink` when given, at most `limit` bytes.
    async fn get_blob(
        &self,
        r: &RegistryRef,
        digest: &str,
        what: &'static str,
        sink: Option<&std::fs::File>,
        limit: u64,
    ) -> Result<Answer, SourceError> {
        let path = format!("blobs/{digest}");
        self.request_to(r, what, Method::GET, &path, None, sink, limit)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn request_to(
        &self,
        r: &RegistryRef,
        what: &'static str,
        method: Method,
        path: &str,
        accept: Option<&str>,
        sink: Option<&std::fs::File>,
        limit: u64,
    ) -> Result<Answer, SourceError> {
        let url = format!("{}{}/{}", self.base(r), r.repository(), path);
        self.call(
            r,
            Call {
                method,
                url,
                accept,
                body: None,
                push: false,
                what,
                sink,
                limit,
            },
        )
        .await
    }

    /// One authenticated request (see [`Self::request`]); pushes ask for a `push,pull` token.
    async fn call(&self, r: &RegistryRef, c: Call<'_>) -> Result<Answer, SourceError> {
        let Call {
            method,
            url,
            accept,
            body,
            push,
            what,
            sink,
            limit,
        } = c;
        // No `/v2/` ping: the request goes out with what the run or the cache knows about the
        // registry's auth (nothing on a cold run), and a 401 carries the challenge to answer.
        let mut challenge = self.known_challenge(r);
        let mut answered = false;
        let mut sent_token = false;
        loop {
            // Only a registry that asks for authentication makes us look up credentials.
            let cred = match &challenge {
                None | Some(Challenge::Anonymous) => None,
                Some(_) => self.credential(r).await?,
            };
            let bearer = match &challenge {
                Some(Challenge::Bearer { realm, service }) => {
                    // A 401 despite a token (expired, or for another scope) asks for a new one;
                    // the first 401 of a cold run shares the one token request per repository.
                    self.token(
                        r,
                        realm,
                        service.as_deref(),
                        cred.as_ref(),
                        sent_token,
                        push,
                    )
                    .await?
                }
                _ => None,
            };
            sent_token = bearer.is_some();
            tracing::debug!(url = %crate::redact::scrub(&url), "{method} ({what})");
            let a = self
                .send_to(
                    r,
                    what,
                    &url,
                    |c| {
                        let mut req = c.request(method.clone(), &url);
                        if let Some(accept) = accept {
                            req = req.header(ACCEPT, accept);
                        }
                        if let Some((content_type, bytes)) = &body {
                            req = req.header(CONTENT_TYPE, *content_type).body(bytes.clone());
                        }
                        match (&challenge, &cred, &bearer) {
                            (_, _, Some(t)) => req.bearer_auth(t),
                            (Some(Challenge::Basic), Some(c), _) => match &c.secret {
                                Secret::Basic { username, password } => {
                                    req.basic_auth(username, Some(password))
                                }
                                Secret::IdentityToken(_) => req,
                            },
                            _ => req,
                        }
                    },
                    sink,
                    limit,
                )
                .await?;
            if a.status == StatusCode::UNAUTHORIZED && !answered {
                // The challenge comes with the 401; answer it once.
                let c = a
                    .headers
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .map_or(Challenge::Basic, parse_challenge);
                self.learn_challenge(r, &c);
                challenge = Some(c);
                answered = true;
                continue;
            }
            if a.status.is_success() && challenge.is_none() {
                self.learn_challenge(r, &Challenge::Anonymous);
            }
            return match a.status {
                s if s.is_success() => Ok(a),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    Err(unauthorized(r, a.status, cred.as_ref()).into())
                }
                StatusCode::NOT_FOUND if what == "manifest" => Err(RegistryError::NotFound {
                    registry: r.registry().into(),
                    repository: r.repository().into(),
                    manifest: url.rsplit("/manifests/").next().unwrap_or_default().into(),
                    reference: r.input.clone(),
                }
                .into()),
                s => Err(RegistryError::Status {
                    registry: r.registry().into(),
                    reference: r.input.clone(),
                    what,
                    status: s.as_u16(),
                    detail: registry_message(&a.body),
                }
                .into()),
            };
        }
    }

    fn bad(r: &RegistryRef, source: manifest::ManifestError) -> SourceError {
        RegistryError::Manifest {
            registry: r.registry().into(),
            reference: r.input.clone(),
            source,
        }
        .into()
    }

    /// Manifest bytes by digest from this run or the cache, verified.
    fn known(&self, digest: &str) -> Option<Served> {
        if let Some(hit) = self.seen.lock().expect("seen lock").get(digest) {
            return Some(hit.clone());
        }
        let bytes = self.cache.as_ref()?.get(digest)?;
        Some((bytes, None))
    }

    /// Keeps a manifest for this run and stores it in the cache (an image manifest with its
    /// config, when that comes: one file per image).
    fn remember(&self, digest: &str, bytes: &[u8], content_type: Option<String>, image: bool) {
        let mut seen = self.seen.lock().expect("seen lock");
        // Bounded: a fleet report reads thousands of manifests once each; what is worth
        // keeping (an index read again for `--platform all`, a reference given twice) is
        // recent.
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        seen.insert(digest.to_string(), (bytes.to_vec(), content_type));
        drop(seen);
        match &self.cache {
            Some(c) if image => c.hold_manifest(digest, bytes),
            Some(c) => c.put(digest, bytes),
            None => {}
        }
    }

    /// A manifest by tag or digest: `(digest, parsed)`. A tag whose digest the cache saw before
    /// is confirmed with one HEAD; a digest already cached costs nothing.
    async fn manifest(
        &self,
        r: &RegistryRef,
        reference: &str,
    ) -> Result<(String, Manifest), SourceError> {
        let by_digest = reference.contains(':');
        let path = format!("manifests/{reference}");
        let accept = manifest::ACCEPT.join(", ");
        let tag_key = format!("{}/{}:{reference}", r.registry(), r.repository());
        let mut digest_hint: Option<String> = by_digest.then(|| reference.to_string());
        if !by_digest
            && self
                .cache
                .as_ref()
                .is_some_and(|c| c.get_tag(&tag_key).is_some())
        {
            let head = self
                .request(r, Method::HEAD, &path, Some(&accept), "manifest")
                .await?;
            digest_hint = head.named_digest().map(str::to_string);
        }
        if let Some(d) = &digest_hint
            && let Some((bytes, ct)) = self.known(d)
        {
            let parsed = manifest::parse(&bytes, ct.as_deref()).map_err(|e| Self::bad(r, e))?;
            return Ok((d.clone(), parsed));
        }
        let a = self
            .request(r, Method::GET, &path, Some(&accept), "manifest")
            .await?;
        let digest = if by_digest {
            manifest::verify("manifest", &a.body, reference).map_err(|e| Self::bad(r, e))?;
            reference.to_string()
        } else {
            a.manifest_digest(r)?
        };
        let ct = a
            .headers
            .get(CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        let parsed = manifest::parse(&a.body, ct.as_deref()).map_err(|e| Self::bad(r, e))?;
        self.remember(&digest, &a.body, ct, matches!(parsed, Manifest::Image(_)));
        if !by_digest && let Some(c) = &self.cache {
            c.put_tag(&tag_key, &digest);
        }
        Ok((digest, parsed))
    }

    /// The config `digest` of the image manifest `manifest_digest`.
    async fn config(
        &self,
        r: &RegistryRef,
        manifest_digest: &str,
        digest: &str,
        size: i64,
    ) -> Result<Vec<u8>, SourceError> {
        if let Some(bytes) = self
            .cache
            .as_ref()
            .and_then(|c| c.get_config(manifest_digest, digest))
        {
            return Ok(bytes);
        }
        // Up to the size the manifest declares (a config is never streamed past it).
        let limit = u64::try_from(size)
            .unwrap_or(0)
            .min(crate::limits::CONFIG_MAX);
        let a = self
            .get_blob(r, digest, "the config blob", None, limit)
            .await?;
        manifest::verify("config", &a.body, digest).map_err(|e| Self::bad(r, e))?;
        if let Some(c) = &self.cache {
            c.put_config(manifest_digest, digest, &a.body);
        }
        Ok(a.body)
    }

    /// The platforms `r` offers: every entry of its index, or the one platform of a
    /// single-platform image (`None` then: read it from the config).
    pub(crate) async fn platforms(
        &self,
        r: &RegistryRef,
    ) -> Result<Option<Vec<Platform>>, SourceError> {
        let (_, top) = self.manifest(r, &r.manifest_reference()).await?;
        Ok(match top {
            Manifest::Index(idx) => Some(manifest::platforms(&idx)),
            Manifest::Image(_) => None,
        })
    }

    /// Manifest (through the index when there is one) and config of `r`.
    pub(crate) async fn fetch(
        &self,
        r: &RegistryRef,
        platform: &Platform,
    ) -> Result<Fetched, SourceError> {
        let (top_digest, top) = self.manifest(r, &r.manifest_reference()).await?;
        let (digest, index_digest, image) = match top {
            Manifest::Image(m) => (top_digest, None, *m),
            Manifest::Index(idx) => {
                let entry = manifest::select(&idx, platform).map_err(|e| Self::bad(r, e))?;
                let (d, m) = self.manifest(r, &entry.digest).await?;
                match m {
                    Manifest::Image(m) => (d, Some(top_digest), *m),
                    Manifest::Index(_) => {
                        return Err(Self::bad(
                            r,
                            manifest::ManifestError::MediaType(
                                "an index nested in an index".into(),
                            ),
                        ));
                    }
                }
            }
        };
        let config = self
            .config(r, &digest, &image.config.digest, image.config.size)
            .await?;
        Ok(Fetched {
            digest: Some(digest),
            index_digest,
            manifest: image,
            config,
        })
    }

    /// Streams a blob of `size` bytes (the descriptor's; never more is read) into `dest` and
    /// verifies its digest (layers for the memory prediction).
    pub(crate) async fn download(
        &self,
        r: &RegistryRef,
        digest: &str,
        size: u64,
        dest: &std::fs::File,
    ) -> Result<(), SourceError> {
        let a = self
            .get_blob(r, digest, "a layer blob", Some(dest), size)
            .await?;
        let actual = a.streamed.unwrap_or_default();
        if actual != digest {
            return Err(Self::bad(
                r,
                manifest::ManifestError::DigestMismatch {
                    what: "layer",
                    expected: digest.to_string(),
                    actual,
                },
            ));
        }
        Ok(())
    }

    /// Whether a manifest exists, by one HEAD (rollback targets).
    pub async fn exists(&self, r: &RegistryRef) -> Result<bool, SourceError> {
        let path = format!("manifests/{}", r.manifest_reference());
        let accept = manifest::ACCEPT.join(", ");
        match self
            .request(r, Method::HEAD, &path, Some(&accept), "manifest")
            .await
        {
            Ok(_) => Ok(true),
            Err(SourceError::Registry(RegistryError::NotFound { .. })) => Ok(false),
            Err(e) => Err(e),
        }
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
            // A server's words: bounded, and never a secret it echoed back.
            let joined = parts.join("; ");
            format!(
                ": {}",
                crate::redact::scrub(&crate::limits::shorten_to(&joined, 300))
            )
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
