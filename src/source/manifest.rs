//! Manifests and indexes as every source hands them over: the image-spec's wire types, media
//! types, platform selection and digest checks.
//!
//! The wire types are ours, and lenient: unknown fields are ignored, absent ones default, so a
//! registry's extra annotations or a missing `mediaType` never cost an image. (They were
//! `oci-client`'s; its client was never used, and its types brought `oci-spec` with `regex`,
//! `derive_builder`, `getset` and `strum` into the build for five structs.)
//!
//! Spec: <https://github.com/opencontainers/image-spec/blob/main/manifest.md> and
//! <https://github.com/opencontainers/image-spec/blob/main/image-index.md>; Docker's v2 schema 2
//! manifest and manifest list have the same shape with other media types.

use serde::Deserialize;

use sha2::{Digest, Sha256};

use crate::reference::Platform;

/// A content descriptor (image-spec `descriptor.md`): what a manifest says of a blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Descriptor {
    /// Media type of the blob.
    pub media_type: String,
    /// `sha256:<hex>` (validated before any use as a path or a URL).
    pub digest: String,
    /// Size in bytes, as the manifest claims it (never trusted beyond a bound).
    pub size: i64,
}

/// An image manifest (image-spec `manifest.md`, or Docker v2 schema 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageManifest {
    /// 2.
    pub schema_version: u8,
    /// Media type, when the document names it.
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EntryPlatform {
    /// CPU architecture.
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// CPU variant.
    pub variant: Option<String>,
}

/// One manifest of an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageIndexEntry {
    /// Media type of the manifest.
    pub media_type: String,
    /// Its digest.
    pub digest: String,
    /// Its size.
    pub size: i64,
    /// The platform it is for (absent on attestation and artifact entries).
    pub platform: Option<EntryPlatform>,
    /// Annotations (`org.opencontainers.image.ref.name` in a layout's `index.json`).
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// An image index (image-spec `image-index.md`, or a Docker manifest list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageIndex {
    /// 2.
    pub schema_version: u8,
    /// Media type, when the document names it.
    pub media_type: Option<String>,
    /// The manifests.
    pub manifests: Vec<ImageIndexEntry>,
}

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Every manifest type bpdrift reads, for `Accept`.
pub const ACCEPT: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Docker schema 1 (signed or not), retired by Docker in 2019.
    #[error(
        "manifest schema version 1 is unsupported (it predates image configs; push the image again with a current client)"
    )]
    Schema1,
    /// Not JSON of a manifest's shape.
    #[error("manifest is not valid: {0}")]
    Invalid(#[source] serde_json::Error),
    /// A media type that is not an image manifest or index.
    #[error("unsupported manifest media type `{0}`")]
    MediaType(String),
    /// The requested platform is not in the index.
    #[error("no manifest for platform `{requested}` in the index (it has: {available})")]
    NoPlatform {
        /// What was asked for.
        requested: String,
        /// What the index offers.
        available: String,
    },
    /// Content does not hash to the digest it was fetched by.
    #[error("digest mismatch for {what}: expected `{expected}`, content hashes to `{actual}`")]
    DigestMismatch {
        /// Manifest or config blob.
        what: &'static str,
        /// The digest it was addressed by.
        expected: String,
        /// What it hashes to.
        actual: String,
    },
    /// A digest bpdrift cannot check.
    #[error("unsupported digest `{0}` (only sha256 is verified)")]
    DigestAlgorithm(String),
}

/// A manifest document, parsed.
#[derive(Debug)]
pub enum Manifest {
    /// A single-platform image.
    Image(Box<ImageManifest>),
    /// A multi-platform index or manifest list.
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Parses a manifest or index. `content_type` is the HTTP header or descriptor media type, used
/// when the document has no `mediaType` field (allowed by the OCI spec).
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    let probe: Probe = serde_json::from_slice(bytes).map_err(ManifestError::Invalid)?;
    if probe.schema_version == Some(1) {
        return Err(ManifestError::Schema1);
    }
    let media_type = probe
        .media_type
        .clone()
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()))
        .filter(|m| !m.is_empty() && m != "application/json");
    let is_index = match media_type.as_deref() {
        Some(OCI_INDEX | DOCKER_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        Some(m) if m.contains("schema1") || m.contains("signed") => {
            return Err(ManifestError::Schema1);
        }
        Some(m) => return Err(ManifestError::MediaType(m.to_string())),
        None => probe.manifests.is_some(),
    };
    if is_index {
        Ok(Manifest::Index(
            serde_json::from_slice(bytes).map_err(ManifestError::Invalid)?,
        ))
    } else {
        Ok(Manifest::Image(Box::new(
            serde_json::from_slice(bytes).map_err(ManifestError::Invalid)?,
        )))
    }
}

/// The platform an index entry declares, if any.
pub fn entry_platform(e: &ImageIndexEntry) -> Option<Platform> {
    let p = e.platform.as_ref()?;
    Some(Platform {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: p.variant.clone().filter(|v| !v.is_empty()),
    })
}

/// Picks the entry for `platform`, ignoring attestation manifests (`unknown/unknown`).
pub fn select<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
) -> Result<&'a ImageIndexEntry, ManifestError> {
    index
        .manifests
        .iter()
        .find(|e| entry_platform(e).is_some_and(|p| platform.matches(&p)))
        .ok_or_else(|| ManifestError::NoPlatform {
            requested: platform.to_string(),
            available: platforms(index)
                .iter()
                .map(Platform::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Platforms an index offers, attestation entries left out.
pub fn platforms(index: &ImageIndex) -> Vec<Platform> {
    index
        .manifests
        .iter()
        .filter_map(entry_platform)
        .filter(|p| p.os != "unknown")
        .collect()
}

pub(crate) use crate::digest::{hex, sha256};

/// Checks that `bytes` hash to `expected`.
pub fn verify(what: &'static str, bytes: &[u8], expected: &str) -> Result<(), ManifestError> {
    if !expected.starts_with("sha256:") {
        return Err(ManifestError::DigestAlgorithm(expected.to_string()));
    }
    let actual = sha256(bytes);
    if actual != expected {
        return Err(ManifestError::DigestMismatch {
            what,
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

/// The hex of a well-formed `sha256:<64 lowercase hex>` digest: the only digests that become a
/// file path (`blobs/sha256/<hex>`), so `sha256:../../x` never does.
pub fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// A reader that hashes what passes through it (layers are checked while they are streamed).
pub struct Hashing<R> {
    inner: R,
    hash: Sha256,
    read: u64,
}

impl<R: std::io::Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            read: 0,
        }
    }

    /// Reads what is left, then the `sha256:<hex>` of everything read and its length.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in self.hash.finalize() {
            s.push_str(&format!("{b:02x}"));
        }
        Ok((s, self.read))
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema1_is_refused() {
        let err = parse(br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#, None).unwrap_err();
        assert!(err.to_string().contains("schema version 1"));
    }

    #[test]
    fn index_without_media_type_is_detected_by_shape() {
        let doc = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Manifest::Index(idx) = parse(doc, None).unwrap() else {
            panic!("not an index")
        };
        let arm = select(&idx, &"linux/arm64".parse().unwrap()).unwrap();
        assert_eq!(arm.digest, "sha256:aa");
        let err = select(&idx, &Platform::linux_amd64())
            .unwrap_err()
            .to_string();
        assert!(err.contains("linux/arm64/v8"), "{err}");
    }

    #[test]
    fn only_plain_sha256_digests_become_paths() {
        let good = sha256(b"x");
        assert!(sha256_hex(&good).is_some());
        for bad in [
            "sha256:../../x",
            "sha256:",
            "md5:aa",
            &good.to_uppercase(),
            &good[..70],
        ] {
            assert!(sha256_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn digest_mismatch_is_an_error() {
        assert!(verify("config", b"x", &sha256(b"x")).is_ok());
        assert!(matches!(
            verify("config", b"y", &sha256(b"x")),
            Err(ManifestError::DigestMismatch { .. })
        ));
    }
}
