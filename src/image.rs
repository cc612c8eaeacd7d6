//! The one image model: where an image came from ([`Origin`]), its layers ([`Layer`]) and what
//! its config and `io.buildpacks.*` labels say ([`ImageMetadata`] and the types it holds).
//!
//! `source` produces it; `diff`, `rules`, `report`, `render`, the fleet report and the GitHub
//! step consume it. The JSON report, history rows and saved reports are serde views of these
//! types, never hand-kept copies: a field added here reaches every output through serde and the
//! renderers that choose to show it (ARCHITECTURE.md has the worked example).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) use crate::metadata::ImageMetadata;

/// A layer as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Blob digest.
    pub digest: String,
    /// Size in bytes (compressed, except in docker-archive where layers are plain tars).
    pub size: u64,
    /// Media type.
    #[serde(skip)]
    pub media_type: String,
}

/// Where an image came from and which manifest was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Origin {
    /// The reference as the user typed it.
    pub reference: String,
    /// Where it was read from.
    pub transport: Transport,
    /// Digest of the platform manifest (absent for docker-archive, which has none, and for a
    /// daemon image the engine knows no registry digest of).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Digest of the index the manifest was selected from, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
    /// Digest of the config blob (the image id).
    pub config_digest: String,
    /// Platform of the selected manifest.
    pub platform: String,
}

/// Where an image is read from; the names are the reference prefixes (skopeo's transports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// A registry, over the distribution API.
    Registry,
    /// An OCI image layout directory (`oci:`).
    Oci,
    /// A tarball of an OCI image layout (`oci-archive:`).
    OciArchive,
    /// `docker save` output (`docker-archive:`).
    DockerArchive,
    /// An image in a Docker engine, over the Engine API (`docker-daemon:`).
    DockerDaemon,
    /// An image in Podman, over its Docker-compatible API (`podman:`).
    Podman,
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

impl Origin {
    /// The platform manifest's digest, or the config digest where there is no manifest
    /// (docker-archive): what identifies the image on screen, in the history and the fleet
    /// report.
    pub fn id(&self) -> &str {
        self.digest.as_deref().unwrap_or(&self.config_digest)
    }
}

impl Image {
    /// [`Origin::id`], owned.
    pub fn digest(&self) -> String {
        self.origin.id().to_string()
    }
}
