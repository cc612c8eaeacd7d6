//! Reading images from wherever they live: a registry, an OCI image layout directory, an
//! `oci-archive` or a `docker-archive` tarball, a local Docker or Podman engine. A diff needs
//! only the manifest and the config; layer blobs are read only on request
//! ([`Fetcher::read_layers`], for the memory prediction), and then only the layers that can hold
//! what is asked for (an engine exports them all at once).
//!
//! All sources share the manifest handling in [`manifest`] (media types, platform selection from
//! an index, digest checks), so a registry and a layout holding the same image give the same
//! [`Image`].

mod archive;
pub mod auth;
pub mod cache;
pub mod daemon;
mod layout;
pub mod manifest;
pub mod registry;

use std::sync::Arc;
use std::time::Duration;

use crate::image::{Image, Layer, Origin, Transport};
use crate::metadata::{ConfigError, ImageMetadata};
use crate::reference::{Engine, ImageRef, Platform};

/// Options that apply to every fetch of one run.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Platform to select from an index.
    pub platform: Platform,
    /// Registries reached over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// Time limit for one HTTP request.
    pub timeout: Duration,
    /// Where credentials are looked up.
    pub credentials: auth::CredentialSources,
    /// Retries of 429/5xx and connection resets.
    pub retry: crate::net::RetryPolicy,
    /// The on-disk manifest/config cache; `None` with `--no-cache`.
    pub cache: Option<cache::Cache>,
    /// Requests in flight at once.
    pub jobs: usize,
    /// Extra CAs, certs.d and client certificates for HTTPS registries.
    pub tls: registry::TlsOptions,
    /// The largest engine export written to the temporary directory (`--max-archive-size`).
    pub max_archive: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            platform: Platform::linux_amd64(),
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(30),
            credentials: auth::CredentialSources {
                docker_config: auth::default_docker_config(),
                ..Default::default()
            },
            retry: crate::net::RetryPolicy::default(),
            cache: None,
            jobs: 16,
            tls: registry::TlsOptions::new(Vec::new(), None),
            max_archive: crate::limits::ARCHIVE_DEFAULT_MAX,
        }
    }
}

impl FetchOptions {
    /// Binds credentials given without `--registry-host` to the registry of `refs` (see
    /// [`auth::CredentialSources::bind`]); local references name no registry.
    pub fn bind_credentials(&mut self, refs: &[&ImageRef]) -> Result<(), auth::AuthError> {
        self.credentials.bind(refs.iter().filter_map(|r| match r {
            ImageRef::Registry(r) => Some(r.registry()),
            _ => None,
        }))
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
    /// Local engine problem (`docker-daemon:`, `podman:`).
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
}

/// Raw manifest and config bytes from one source, before reading the config.
pub(crate) struct Fetched {
    pub digest: Option<String>,
    pub index_digest: Option<String>,
    pub manifest: manifest::ImageManifest,
    pub config: Vec<u8>,
}

/// Hands a layer blob to `scan` as an uncompressed tar: gzip is recognised by its magic bytes
/// (media types are not always honest), zstd is refused.
pub(crate) fn scan_blob(
    mut blob: impl std::io::BufRead,
    media_type: &str,
    scan: &mut dyn FnMut(&mut dyn std::io::Read) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if media_type.contains("zstd") {
        return Err(std::io::Error::other(
            "zstd-compressed layers are not supported",
        ));
    }
    let gzip = blob.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        // Every member: a layer may be several gzip members back to back, as containers read it.
        scan(&mut flate2::read::MultiGzDecoder::new(blob))
    } else {
        scan(&mut blob)
    }
}

/// One run's fetching state: the options, one registry client and the local engines (each
/// found and pinged on first use, once), cheap to clone into tasks.
#[derive(Clone)]
pub struct Fetcher {
    client: Arc<registry::RegistryClient>,
    opts: Arc<FetchOptions>,
    engines: Arc<[tokio::sync::OnceCell<daemon::DaemonClient>; 2]>,
}

impl Fetcher {
    /// Builds the client (no request is made).
    pub fn new(opts: &FetchOptions) -> Result<Self, registry::RegistryError> {
        Ok(Self {
            client: Arc::new(registry::RegistryClient::new(opts)?),
            opts: Arc::new(opts.clone()),
            engines: Arc::default(),
        })
    }

    /// The client of `engine`, connected on first use.
    async fn engine(&self, engine: Engine) -> Result<&daemon::DaemonClient, SourceError> {
        let cell = &self.engines[engine as usize];
        let timeout = self.opts.timeout;
        Ok(cell
            .get_or_try_init(|| async move {
                let endpoint = daemon::discover(engine, &daemon::process_vars)?;
                tracing::debug!("{} engine at {}", engine.prefix(), endpoint.addr);
                daemon::DaemonClient::connect(endpoint, engine, timeout).await
            })
            .await?)
    }

    /// Fetches `reference` for the run's platform.
    pub async fn fetch(&self, reference: &ImageRef) -> Result<Image, SourceError> {
        self.fetch_platform(reference, &self.opts.platform).await
    }

    /// Fetches `reference` for `platform`.
    pub async fn fetch_platform(
        &self,
        reference: &ImageRef,
        platform: &Platform,
    ) -> Result<Image, SourceError> {
        fetch_with(self, reference, platform, true).await
    }

    /// Fetches `reference` as it is: a single-platform image whatever its platform (what
    /// `--platform all` asks of an image that is not an index), without the mismatch warning.
    pub async fn fetch_as_is(&self, reference: &ImageRef) -> Result<Image, SourceError> {
        fetch_with(self, reference, &self.opts.platform, false).await
    }

    /// The platforms `reference` offers; `None` for a single-platform image.
    pub async fn platforms(
        &self,
        reference: &ImageRef,
    ) -> Result<Option<Vec<Platform>>, SourceError> {
        match reference {
            ImageRef::Registry(r) => self.client.platforms(r).await,
            ImageRef::OciLayout { dir, tag } => {
                layout::platforms_dir(reference, dir, tag.as_deref())
            }
            ImageRef::OciArchive { file, tag } => {
                archive::platforms_oci_archive(reference, file, tag.as_deref())
            }
            // An engine's image is one platform's (what `docker pull --platform` chose).
            ImageRef::DockerArchive { .. } | ImageRef::Daemon(_) => Ok(None),
        }
    }

    /// Reads the layers of `image` whose index is in `wanted`, in order, each as an uncompressed
    /// tar stream handed to `scan`. Registry layers are streamed to an anonymous temporary file
    /// (stopped at the descriptor's size, verified against their digest) and read from there;
    /// layout layers are read in place, hashed while they are read. Returns the layers whose
    /// content was verified against their digest: only what they hold may be cached by digest.
    pub async fn read_layers(
        &self,
        reference: &ImageRef,
        image: &Image,
        wanted: &[usize],
        scan: &mut dyn FnMut(usize, &mut dyn std::io::Read) -> std::io::Result<()>,
    ) -> Result<Vec<usize>, SourceError> {
        use std::io::Seek as _;
        let local = |problem: String, source: Option<std::io::Error>| SourceError::Local {
            reference: reference.to_string(),
            problem,
            source,
        };
        if let ImageRef::OciArchive { file, .. } | ImageRef::DockerArchive { file, .. } = reference
        {
            return archive::scan_layers(reference, file, image, wanted, scan);
        }
        if let ImageRef::Daemon(d) = reference {
            // By id: the layers of the image that was inspected, even if the tag moved since.
            // Within bpdrift's own limit: what the engine says the image weighs is not trusted.
            let client = self.engine(d.engine).await?;
            let id = &image.origin.config_digest;
            let tar = client.export(id, self.opts.max_archive).await?;
            return archive::scan_docker_export(reference, tar, image, wanted, scan);
        }
        let mut verified = Vec::new();
        for &i in wanted {
            let Some(layer) = image.layers.get(i) else {
                continue;
            };
            let cannot = |e| local(format!("cannot read layer `{}`", layer.digest), Some(e));
            let hex = manifest::sha256_hex(&layer.digest).ok_or_else(|| {
                local(
                    format!(
                        "layer has an invalid digest `{}`",
                        crate::limits::shorten(&layer.digest)
                    ),
                    None,
                )
            })?;
            let (file, checked) = match reference {
                ImageRef::Registry(r) => {
                    // Unnamed (O_TMPFILE, or unlinked at once): nothing to plant a symlink at,
                    // nothing left behind on any path out of here.
                    let mut tmp = tempfile::tempfile().map_err(cannot)?;
                    self.client
                        .download(r, &layer.digest, layer.size, &tmp)
                        .await?;
                    tmp.rewind().map_err(cannot)?;
                    (tmp, true)
                }
                ImageRef::OciLayout { dir, .. } => (
                    crate::limits::open_regular(&dir.join("blobs/sha256").join(hex))
                        .map_err(cannot)?,
                    false,
                ),
                _ => unreachable!("archives and engines are handled above"),
            };
            // Never past the size the manifest declares.
            let mut hashing = manifest::Hashing::new(std::io::Read::take(file, layer.size));
            let mut blob = std::io::BufReader::new(&mut hashing);
            let scanned = scan_blob(&mut blob, &layer.media_type, &mut |r| scan(i, r));
            // Read to the end either way: content that is not what its digest says is reported
            // as that, not as whatever the scan tripped over.
            std::io::copy(&mut blob, &mut std::io::sink()).map_err(cannot)?;
            drop(blob);
            let (actual, _) = hashing.finish().map_err(cannot)?;
            if !checked && actual != layer.digest {
                return Err(SourceError::Manifest {
                    reference: reference.to_string(),
                    source: manifest::ManifestError::DigestMismatch {
                        what: "layer",
                        expected: layer.digest.clone(),
                        actual,
                    },
                });
            }
            scanned.map_err(cannot)?;
            verified.push(i);
        }
        Ok(verified)
    }

    /// The run's on-disk cache, if any.
    pub fn cache(&self) -> Option<&cache::Cache> {
        self.opts.cache.as_ref()
    }

    /// The run's registry client (the fleet history artifact is read and pushed through it).
    pub(crate) fn registry(&self) -> &registry::RegistryClient {
        &self.client
    }

    /// Whether a registry image still exists (one HEAD); local sources: whether it reads.
    pub async fn exists(&self, reference: &ImageRef) -> Result<bool, SourceError> {
        match reference {
            ImageRef::Registry(r) => self.client.exists(r).await,
            other => Ok(self.fetch(other).await.is_ok()),
        }
    }
}

async fn fetch_with(
    fetcher: &Fetcher,
    reference: &ImageRef,
    platform: &Platform,
    warn: bool,
) -> Result<Image, SourceError> {
    let (fetched, transport) = match reference {
        ImageRef::Registry(r) => (
            fetcher.client.fetch(r, platform).await?,
            Transport::Registry,
        ),
        ImageRef::OciLayout { dir, tag } => (
            layout::fetch_dir(reference, dir, tag.as_deref(), platform)?,
            Transport::Oci,
        ),
        ImageRef::OciArchive { file, tag } => (
            archive::fetch_oci_archive(reference, file, tag.as_deref(), platform)?,
            Transport::OciArchive,
        ),
        ImageRef::DockerArchive {
            file,
            reference: tag,
        } => (
            archive::fetch_docker_archive(reference, file, tag.as_deref())?,
            Transport::DockerArchive,
        ),
        ImageRef::Daemon(d) => {
            let (fetched, _) = fetcher.engine(d.engine).await?.inspect(&d.name).await?;
            let transport = match d.engine {
                Engine::Docker => Transport::DockerDaemon,
                Engine::Podman => Transport::Podman,
            };
            (fetched, transport)
        }
    };
    image_of(reference, fetched, platform, transport, warn)
}

/// The one model from what a source read.
fn image_of(
    reference: &ImageRef,
    fetched: Fetched,
    platform: &Platform,
    transport: Transport,
    warn: bool,
) -> Result<Image, SourceError> {
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
    if warn && fetched.index_digest.is_none() && !platform.matches(&actual) {
        tracing::warn!(
            "`{reference}` is a single-platform image for {actual}, not the requested {platform}"
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
                media_type: l.media_type.clone(),
            })
            .collect(),
        metadata,
    })
}
