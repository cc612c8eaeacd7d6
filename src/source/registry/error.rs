//! What can go wrong talking to a registry, each error naming the registry and the reference.

use reqwest::StatusCode;

use super::super::auth::Credential;
use super::super::manifest;
use crate::reference::RegistryRef;

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
        /// "rejected the credentials from …" or "requires credentials and none were found".
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
    /// Retryable failures that outlasted the retry budget.
    #[error(
        "registry `{registry}` kept failing {what} of `{reference}`: {last} (gave up after {attempts} attempts in {secs:.1} s)"
    )]
    GaveUp {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// What was requested.
        what: &'static str,
        /// The last failure.
        last: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        secs: f64,
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
    /// A response larger than bpdrift reads (whatever `Content-Length` said).
    #[error(
        "registry `{registry}`: {what} of `{reference}` is larger than the {} limit",
        crate::limits::human(*limit)
    )]
    TooLarge {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// What was requested.
        what: &'static str,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A Bearer realm that would receive credentials in clear text.
    #[error(
        "registry `{registry}` sends credentials for `{reference}` to `{realm}` over plain HTTP; refused (pass --insecure-registry {registry} if that is intended)"
    )]
    InsecureRealm {
        /// Registry host.
        registry: String,
        /// Image reference.
        reference: String,
        /// The token endpoint.
        realm: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The TLS client (trust store) could not be built.
    #[error("registry `{registry}`: {reason}")]
    Tls {
        /// Registry host.
        registry: String,
        /// Why.
        reason: String,
    },
}

pub(super) fn unauthorized(
    r: &RegistryRef,
    status: StatusCode,
    cred: Option<&Credential>,
) -> RegistryError {
    RegistryError::Unauthorized {
        registry: r.registry().into(),
        reference: r.input.clone(),
        repository: r.repository().into(),
        status: status.as_u16(),
        what: match cred {
            Some(c) => format!("rejected the credentials from {}", c.origin),
            None => format!(
                "requires credentials and none were found (run `docker login {}`)",
                r.registry()
            ),
        },
    }
}
