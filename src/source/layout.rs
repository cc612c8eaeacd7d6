//! OCI image layouts (`oci:<dir>[:<tag>]`), read from a directory or, through [`BlobStore`], from
//! an `oci-archive` tarball.
//!
//! Spec: <https://github.com/opencontainers/image-spec/blob/main/image-layout.md>. Tags are the
//! `org.opencontainers.image.ref.name` annotations of `index.json` entries, as skopeo writes them.

use std::path::Path;

use super::manifest::{self, ImageIndex, Manifest};
use super::{Fetched, SourceError};
use crate::reference::{ImageRef, Platform};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Read access to `index.json` and `blobs/<alg>/<hex>` of a layout.
pub(crate) trait BlobStore {
    /// A file of the layout by its path relative to the root (`index.json`, `blobs/sha256/…`),
    /// at most `limit` bytes of it (more is a [`crate::limits::TooLarge`] error).
    fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, std::io::Error>;
}

struct Dir<'a>(&'a Path);

impl BlobStore for Dir<'_> {
    fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, std::io::Error> {
        // Regular files only: a FIFO would hang, `/dev/zero` or a sparse giant never end.
        crate::limits::read_file(&self.0.join(path), limit, &format!("`{path}`"))
    }
}

/// `oci:<dir>[:<tag>]`.
pub(crate) fn fetch_dir(
    reference: &ImageRef,
    dir: &Path,
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Fetched, SourceError> {
    if !dir.is_dir() {
        return Err(local(
            reference,
            format!("`{}` is not a directory", dir.display()),
            None,
        ));
    }
    fetch_layout(reference, &Dir(dir), tag, platform)
}

pub(crate) fn local(
    reference: &ImageRef,
    problem: String,
    source: Option<std::io::Error>,
) -> SourceError {
    SourceError::Local {
        reference: reference.to_string(),
        problem,
        source,
    }
}

fn blob_path(digest: &str) -> Option<String> {
    // The digest comes from a file we do not trust: no path tricks.
    manifest::sha256_hex(digest).map(|hex| format!("blobs/sha256/{hex}"))
}

/// A blob read up to the size its descriptor declares (and never past `max`).
fn read_blob(
    reference: &ImageRef,
    store: &dyn BlobStore,
    what: &'static str,
    digest: &str,
    size: i64,
) -> Result<Vec<u8>, SourceError> {
    let path = blob_path(digest).ok_or_else(|| {
        local(
            reference,
            format!(
                "{what} has an invalid digest `{}`",
                crate::limits::shorten(digest)
            ),
            None,
        )
    })?;
    let max = if what == "config" {
        crate::limits::CONFIG_MAX
    } else {
        crate::limits::MANIFEST_MAX
    };
    // A descriptor without a size (0) is read up to the ceiling; the digest check follows.
    let limit = match u64::try_from(size) {
        Ok(n) if n > 0 => n.min(max),
        _ => max,
    };
    let bytes = store.read(&path, limit).map_err(|e| {
        if let Some(t) = crate::limits::too_large(&e) {
            return local(
                reference,
                format!(
                    "{what} blob `{digest}` is larger than the {} limit",
                    crate::limits::human(t.limit)
                ),
                None,
            );
        }
        let problem = if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what} blob `{digest}` is missing from the layout")
        } else {
            format!("cannot read {what} blob `{digest}`")
        };
        local(reference, problem, Some(e))
    })?;
    manifest::verify(what, &bytes, digest).map_err(|source| SourceError::Manifest {
        reference: reference.to_string(),
        source,
    })?;
    Ok(bytes)
}

/// The `index.json` entry for `tag` (or the only one).
fn resolve_entry(
    reference: &ImageRef,
    store: &dyn BlobStore,
    tag: Option<&str>,
) -> Result<manifest::ImageIndexEntry, SourceError> {
    let index_bytes = store
        .read("index.json", crate::limits::LAYOUT_FILE_MAX)
        .map_err(|e| {
            if let Some(t) = crate::limits::too_large(&e) {
                return local(reference, t.to_string(), None);
            }
            let problem = if e.kind() == std::io::ErrorKind::NotFound {
                "not an OCI image layout: `index.json` is missing".to_string()
            } else {
                "cannot read `index.json`".to_string()
            };
            local(reference, problem, Some(e))
        })?;
    let index: ImageIndex = serde_json::from_slice(&index_bytes).map_err(|e| {
        local(
            reference,
            format!("`index.json` is not a valid image index: {e}"),
            None,
        )
    })?;
    let tags: Vec<&str> = index
        .manifests
        .iter()
        .filter_map(|m| m.annotations.as_ref()?.get(REF_NAME).map(String::as_str))
        .collect();
    let entry = match tag {
        Some(t) => index
            .manifests
            .iter()
            .find(|m| {
                m.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .is_some_and(|n| n == t)
            })
            .ok_or_else(|| {
                local(
                    reference,
                    format!(
                        "no image tagged `{t}` in the layout (tags: {})",
                        list(&tags)
                    ),
                    None,
                )
            })?,
        None => match index.manifests.as_slice() {
            [only] => only,
            [] => return Err(local(reference, "the layout holds no image".into(), None)),
            _ => {
                return Err(local(
                    reference,
                    format!(
                        "the layout holds {} images; name one with `:<tag>` (tags: {})",
                        index.manifests.len(),
                        list(&tags)
                    ),
                    None,
                ));
            }
        },
    };
    Ok(entry.clone())
}

/// The platforms the image offers: its index's entries, or `None` for a single-platform image.
pub(crate) fn platforms_layout(
    reference: &ImageRef,
    store: &dyn BlobStore,
    tag: Option<&str>,
) -> Result<Option<Vec<Platform>>, SourceError> {
    let entry = resolve_entry(reference, store, tag)?;
    let top = read_blob(reference, store, "manifest", &entry.digest, entry.size)?;
    Ok(match parse(reference, &top, &entry.media_type)? {
        Manifest::Index(idx) => Some(manifest::platforms(&idx)),
        Manifest::Image(_) => None,
    })
}

/// `oci:<dir>[:<tag>]`, platforms only.
pub(crate) fn platforms_dir(
    reference: &ImageRef,
    dir: &Path,
    tag: Option<&str>,
) -> Result<Option<Vec<Platform>>, SourceError> {
    if !dir.is_dir() {
        return Err(local(
            reference,
            format!("`{}` is not a directory", dir.display()),
            None,
        ));
    }
    platforms_layout(reference, &Dir(dir), tag)
}

/// Resolves a tag in `index.json`, then the platform, then reads manifest and config.
pub(crate) fn fetch_layout(
    reference: &ImageRef,
    store: &dyn BlobStore,
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Fetched, SourceError> {
    let entry = resolve_entry(reference, store, tag)?;
    let top = read_blob(reference, store, "manifest", &entry.digest, entry.size)?;
    let parsed = parse(reference, &top, &entry.media_type)?;
    let (digest, index_digest, image) = match parsed {
        Manifest::Image(m) => (entry.digest.clone(), None, *m),
        Manifest::Index(idx) => {
            let chosen =
                manifest::select(&idx, platform).map_err(|source| SourceError::Manifest {
                    reference: reference.to_string(),
                    source,
                })?;
            let bytes = read_blob(reference, store, "manifest", &chosen.digest, chosen.size)?;
            match parse(reference, &bytes, &chosen.media_type)? {
                Manifest::Image(m) => (chosen.digest.clone(), Some(entry.digest.clone()), *m),
                Manifest::Index(_) => {
                    return Err(local(
                        reference,
                        format!("index entry `{}` is itself an index", chosen.digest),
                        None,
                    ));
                }
            }
        }
    };
    let config = read_blob(
        reference,
        store,
        "config",
        &image.config.digest,
        image.config.size,
    )?;
    Ok(Fetched {
        digest: Some(digest),
        index_digest,
        manifest: image,
        config,
    })
}

fn parse(reference: &ImageRef, bytes: &[u8], media_type: &str) -> Result<Manifest, SourceError> {
    manifest::parse(bytes, Some(media_type)).map_err(|source| SourceError::Manifest {
        reference: reference.to_string(),
        source,
    })
}

fn list(tags: &[&str]) -> String {
    if tags.is_empty() {
        "none".into()
    } else {
        tags.join(", ")
    }
}
