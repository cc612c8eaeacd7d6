//! Fetching an image's manifest and config (never a layer blob) from wherever it lives: a
//! registry, an OCI image layout directory, an `oci-archive` or a `docker-archive` tarball.
//!
//! All sources share the manifest handling in [`manifest`] (media types, platform selection from
//! an index, digest checks), so a registry and a layout holding the same image give the same
//! [`Image`].

mod archive;
pub mod auth;
mod layout;
pub mod manifest;
pub mod registry;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::metadata::{ConfigError, ImageMetadata};
use crate::reference::{ImageRef, Platform};

/// A layer as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// Blob digest.
    pub digest: String,
    /// Size in bytes (compressed, except in docker-archive where layers are plain tars).
    pub size: u64,
}

/// Where an image came from and which manifest was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The reference as the user typed it.
    pub reference: String,
    /// `registry`, `oci`, `oci-archive` or `docker-archive`.
    pub transport: &'static str,
    /// Digest of the platform manifest (absent for docker-archive, which has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Digest of the index the manifest was selected from, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
    /// Digest of the config blob (the image id).
    pub config_digest: String,
    /// Platform of the selected manifest.
    pub platform: String,
}

/// A fetched image: where it came from, its layers and what its config says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Provenance.
    pub origin: Origin,
    /// Layers from the manifest.
    pub layers: Vec<Layer>,
    /// The config, read.
    pub metadata: ImageMetadata,
}

/// Options that apply to every fetch of one run.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Platform to select from an index.
    pub platform: Platform,
    /// Registries reached over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// Time limit for one HTTP request.
    pub timeout: Duration,
    /// Docker config file to read credentials from (default: `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            platform: Platform::linux_amd64(),
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(30),
            docker_config: auth::default_docker_config(),
        }
    }
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Registry problem.
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    /// Local layout or archive problem.
    #[error("cannot read `{reference}`: {problem}")]
    Local {
        /// The reference as typed.
        reference: String,
        /// What is wrong, in words.
        problem: String,
        /// Underlying I/O error, if any.
        #[source]
        source: Option<std::io::Error>,
    },
    /// Manifest problem (any source).
    #[error("`{reference}`: {source}")]
    Manifest {
        /// The reference as typed.
        reference: String,
        /// What is wrong.
        #[source]
        source: manifest::ManifestError,
    },
    /// Config document that is not an image config.
    #[error("`{reference}`: {source}")]
    Config {
        /// The reference as typed.
        reference: String,
        /// Parser error with path.
        #[source]
        source: ConfigError,
    },
    /// Credentials file problem.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

/// Raw manifest and config bytes from one source, before reading the config.
pub(crate) struct Fetched {
    pub digest: Option<String>,
    pub index_digest: Option<String>,
    pub manifest: manifest::ImageManifest,
    pub config: Vec<u8>,
}

/// Fetches both images concurrently. Registry state (one ping per registry, one token per
/// repository) is shared between the two.
pub async fn fetch_pair(
    before: &ImageRef,
    after: &ImageRef,
    opts: &FetchOptions,
) -> (Result<Image, SourceError>, Result<Image, SourceError>) {
    let client = match registry::RegistryClient::new(opts) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.to_string();
            return (
                Err(SourceError::Local {
                    reference: before.to_string(),
                    problem: msg.clone(),
                    source: None,
                }),
                Err(SourceError::Local {
                    reference: after.to_string(),
                    problem: msg,
                    source: None,
                }),
            );
        }
    };
    tokio::join!(
        fetch_with(&client, before, opts),
        fetch_with(&client, after, opts)
    )
}

/// Fetches one image.
pub async fn fetch(reference: &ImageRef, opts: &FetchOptions) -> Result<Image, SourceError> {
    let client = registry::RegistryClient::new(opts).map_err(|e| SourceError::Local {
        reference: reference.to_string(),
        problem: e.to_string(),
        source: None,
    })?;
    fetch_with(&client, reference, opts).await
}

async fn fetch_with(
    client: &registry::RegistryClient,
    reference: &ImageRef,
    opts: &FetchOptions,
) -> Result<Image, SourceError> {
    let (fetched, transport) = match reference {
        ImageRef::Registry(r) => (client.fetch(r, &opts.platform).await?, "registry"),
        ImageRef::OciLayout { dir, tag } => (
            layout::fetch_dir(reference, dir, tag.as_deref(), &opts.platform)?,
            "oci",
        ),
        ImageRef::OciArchive { file, tag } => (
            archive::fetch_oci_archive(reference, file, tag.as_deref(), &opts.platform)?,
            "oci-archive",
        ),
        ImageRef::DockerArchive {
            file,
            reference: tag,
        } => (
            archive::fetch_docker_archive(reference, file, tag.as_deref())?,
            "docker-archive",
        ),
    };
    let metadata =
        ImageMetadata::from_config(&fetched.config).map_err(|source| SourceError::Config {
            reference: reference.to_string(),
            source,
        })?;
    // A single-platform image is used as it is; say so when it is not what was asked for.
    let actual = crate::reference::Platform {
        os: metadata.os.clone(),
        architecture: metadata.architecture.clone(),
        variant: metadata.variant.clone(),
    };
    if fetched.index_digest.is_none() && !opts.platform.matches(&actual) {
        tracing::warn!(
            "`{reference}` is a single-platform image for {actual}, not the requested {}",
            opts.platform
        );
    }
    Ok(Image {
        origin: Origin {
            reference: reference.to_string(),
            transport,
            digest: fetched.digest,
            index_digest: fetched.index_digest,
            config_digest: fetched.manifest.config.digest.clone(),
            platform: metadata.platform(),
        },
        layers: fetched
            .manifest
            .layers
            .iter()
            .map(|l| Layer {
                digest: l.digest.clone(),
                size: l.size.max(0) as u64,
            })
            .collect(),
        metadata,
    })
}
