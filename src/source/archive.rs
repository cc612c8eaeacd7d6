//! Tarballs: `oci-archive:` (an OCI layout in a tar) and `docker-archive:` (`docker save`).
//!
//! No member is kept in memory: one sequential pass notes where each member's data starts and
//! how long it is, and a member is read from there when it is needed, up to its limit. A
//! multi-GB archive costs one pass over its headers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::layout::{self, BlobStore, local};
use super::manifest::{self, ImageManifest};
use super::{Fetched, SourceError};
use crate::metadata::labels::nullable;
use crate::reference::{ImageRef, Platform};

struct Members {
    file: File,
    /// Member path → (offset of its data in the archive, size).
    at: BTreeMap<String, (u64, u64)>,
    sizes: BTreeMap<String, u64>,
}

impl BlobStore for Members {
    fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, std::io::Error> {
        use std::io::{Seek, SeekFrom};
        let &(offset, size) = self.at.get(path).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("no member `{path}`"))
        })?;
        let subject = format!("member `{}`", crate::limits::shorten(path));
        if size > limit {
            return Err(crate::limits::TooLarge { subject, limit }.into());
        }
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        crate::limits::read_to_limit(f.take(size), limit, &subject)
    }
}

fn open(reference: &ImageRef, file: &Path) -> Result<File, SourceError> {
    crate::limits::open_regular(file).map_err(|e| {
        local(
            reference,
            format!("cannot open `{}`", file.display()),
            Some(e),
        )
    })
}

/// Hands each regular member of the tar `f` (from its start; its path without a leading `./`)
/// to `each`, in tar order; any I/O error becomes "`problem`" about the archive.
fn for_each_member(
    reference: &ImageRef,
    f: &File,
    problem: &str,
    mut each: impl FnMut(String, &mut tar::Entry<'_, &File>) -> std::io::Result<()>,
) -> Result<(), SourceError> {
    use std::io::Seek as _;
    let bad = |e: std::io::Error| local(reference, problem.to_string(), Some(e));
    let mut f = f;
    f.rewind().map_err(bad)?;
    let mut archive = tar::Archive::new(f);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_string();
        each(path, &mut entry).map_err(bad)?;
    }
    Ok(())
}

fn read_members(reference: &ImageRef, file: &Path) -> Result<Members, SourceError> {
    let name = file.display().to_string();
    members_of(reference, open(reference, file)?, &name)
}

/// The members of the open tar `file`; `name` says which file it is in messages.
fn members_of(reference: &ImageRef, file: File, name: &str) -> Result<Members, SourceError> {
    let mut at = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    let problem = format!("`{name}` is not a readable tar archive");
    for_each_member(reference, &file, &problem, |path, entry| {
        let size = entry.size();
        sizes.insert(path.clone(), size);
        at.insert(path, (entry.raw_file_position(), size));
        Ok(())
    })?;
    if sizes.is_empty() {
        return Err(local(
            reference,
            format!("`{name}` is not a tar archive (no members)"),
            None,
        ));
    }
    Ok(Members { file, at, sizes })
}

/// `oci-archive:<file>[:<tag>]`.
pub(crate) fn fetch_oci_archive(
    reference: &ImageRef,
    file: &Path,
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Fetched, SourceError> {
    let members = read_members(reference, file)?;
    layout::fetch_layout(reference, &members, tag, platform)
}

/// `oci-archive:<file>[:<tag>]`, platforms only.
pub(crate) fn platforms_oci_archive(
    reference: &ImageRef,
    file: &Path,
    tag: Option<&str>,
) -> Result<Option<Vec<Platform>>, SourceError> {
    let members = read_members(reference, file)?;
    layout::platforms_layout(reference, &members, tag)
}

/// Streams the wanted layers of an archive to `scan`, in the order they appear in the tar. The
/// outer tar is read twice for a docker-archive (its `manifest.json` names the layer members);
/// layer members are never held in memory.
pub(crate) fn scan_layers(
    reference: &ImageRef,
    file: &Path,
    image: &super::Image,
    wanted: &[usize],
    scan: &mut dyn FnMut(usize, &mut dyn Read) -> std::io::Result<()>,
) -> Result<Vec<usize>, SourceError> {
    let docker = match reference {
        ImageRef::DockerArchive { reference: tag, .. } => Some(tag.as_deref()),
        _ => None,
    };
    let name = file.display().to_string();
    scan_in(
        reference,
        open(reference, file)?,
        &name,
        docker,
        image,
        wanted,
        scan,
    )
}

/// [`scan_layers`] of what an engine's `GET /images/{name}/get` sent (a `docker save` tar of
/// one image), already in an unnamed temporary file.
pub(crate) fn scan_docker_export(
    reference: &ImageRef,
    file: File,
    image: &super::Image,
    wanted: &[usize],
    scan: &mut dyn FnMut(usize, &mut dyn Read) -> std::io::Result<()>,
) -> Result<Vec<usize>, SourceError> {
    scan_in(
        reference,
        file,
        "the engine's export",
        Some(None),
        image,
        wanted,
        scan,
    )
}

/// The layers of the tar `file`: a docker-archive when `docker` is `Some` (with the tag that
/// selects the image), otherwise an oci-archive.
fn scan_in(
    reference: &ImageRef,
    file: File,
    name: &str,
    docker: Option<Option<&str>>,
    image: &super::Image,
    wanted: &[usize],
    scan: &mut dyn FnMut(usize, &mut dyn Read) -> std::io::Result<()>,
) -> Result<Vec<usize>, SourceError> {
    let names: BTreeMap<String, (usize, String)> = match docker {
        Some(tag) => {
            let copy = file
                .try_clone()
                .map_err(|e| local(reference, format!("cannot read `{name}`"), Some(e)))?;
            let members = members_of(reference, copy, name)?;
            let entries = save_manifest(reference, &members, name)?;
            let entry = entries
                .iter()
                .find(|e| tag.is_none_or(|t| e.repo_tags.iter().any(|r| r == t)))
                .ok_or_else(|| local(reference, "no image in the archive".into(), None))?;
            wanted
                .iter()
                .filter_map(|&i| {
                    Some((
                        entry.layers.get(i)?.clone(),
                        (i, image.layers.get(i)?.media_type.clone()),
                    ))
                })
                .collect()
        }
        None => wanted
            .iter()
            .filter_map(|&i| {
                let l = image.layers.get(i)?;
                Some((
                    format!("blobs/sha256/{}", manifest::sha256_hex(&l.digest)?),
                    (i, l.media_type.clone()),
                ))
            })
            .collect(),
    };
    let problem = format!("cannot read layers of `{name}`");
    let oci = docker.is_none();
    let mut verified = Vec::new();
    for_each_member(reference, &file, &problem, |path, entry| {
        let Some((i, media_type)) = names.get(&path) else {
            return Ok(());
        };
        // Hashed while read: a layer whose content is not what its digest says is refused
        // (oci-archive) or at least not trusted (docker-archive names layers by the digest of
        // the uncompressed tar, which a compressed member does not hash to).
        let mut hashing = manifest::Hashing::new(entry);
        let mut blob = std::io::BufReader::new(&mut hashing);
        super::scan_blob(&mut blob, media_type, &mut |r| scan(*i, r))?;
        std::io::copy(&mut blob, &mut std::io::sink())?;
        drop(blob);
        let (actual, _) = hashing.finish()?;
        let expected = image.layers.get(*i).map(|l| l.digest.as_str());
        if Some(actual.as_str()) == expected {
            verified.push(*i);
        } else if oci {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                manifest::ManifestError::DigestMismatch {
                    what: "layer",
                    expected: expected.unwrap_or_default().to_string(),
                    actual,
                },
            ));
        }
        Ok(())
    })?;
    verified.sort_unstable();
    Ok(verified)
}

/// The `manifest.json` of a `docker save` tar, each way it can be wrong named as such: missing,
/// larger than its limit, not a save manifest.
fn save_manifest(
    reference: &ImageRef,
    members: &Members,
    name: &str,
) -> Result<Vec<SaveEntry>, SourceError> {
    let limit = crate::limits::LAYOUT_FILE_MAX;
    let bytes = members.read("manifest.json", limit).map_err(|e| {
        if crate::limits::too_large(&e).is_some() {
            let problem = format!(
                "`manifest.json` of `{name}` is larger than the {} limit",
                crate::limits::human(limit)
            );
            return local(reference, problem, None);
        }
        let problem = if e.kind() == std::io::ErrorKind::NotFound {
            "not a docker-archive: `manifest.json` is missing".to_string()
        } else {
            format!("cannot read `manifest.json` of `{name}`")
        };
        local(reference, problem, Some(e))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        local(
            reference,
            format!(
                "`manifest.json` of `{name}` is not a docker save manifest: {}",
                crate::limits::Shortened(e)
            ),
            None,
        )
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct SaveEntry {
    config: String,
    #[serde(default, deserialize_with = "nullable")]
    repo_tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    layers: Vec<String>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default, deserialize_with = "nullable")]
    diff_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ConfigRootFs {
    #[serde(default, deserialize_with = "nullable")]
    rootfs: RootFs,
}

/// `docker-archive:<file>[:<reference>]`. Docker archives have no manifest digest; the config
/// digest (the image id) identifies the image, and layers are matched by their diffIDs.
pub(crate) fn fetch_docker_archive(
    reference: &ImageRef,
    file: &Path,
    wanted: Option<&str>,
) -> Result<Fetched, SourceError> {
    let members = read_members(reference, file)?;
    let entries = save_manifest(reference, &members, &file.display().to_string())?;
    let entry = match wanted {
        Some(w) => entries
            .iter()
            .find(|e| e.repo_tags.iter().any(|t| t == w))
            .ok_or_else(|| {
                let tags: Vec<&str> = entries
                    .iter()
                    .flat_map(|e| e.repo_tags.iter().map(String::as_str))
                    .collect();
                local(
                    reference,
                    format!(
                        "no image tagged `{w}` in the archive (tags: {})",
                        tags.join(", ")
                    ),
                    None,
                )
            })?,
        None => match entries.as_slice() {
            [only] => only,
            [] => return Err(local(reference, "the archive holds no image".into(), None)),
            _ => {
                return Err(local(
                    reference,
                    format!(
                        "the archive holds {} images; name one with `:<repo:tag>`",
                        entries.len()
                    ),
                    None,
                ));
            }
        },
    };
    let config = members
        .read(&entry.config, crate::limits::CONFIG_MAX)
        .map_err(|e| {
            local(
                reference,
                format!("config `{}` is missing from the archive", entry.config),
                Some(e),
            )
        })?;
    let config_digest = manifest::sha256(&config);
    // Newer docker names blobs by digest; check it when it does.
    if let Some(hex) = entry.config.strip_prefix("blobs/sha256/") {
        manifest::verify("config", &config, &format!("sha256:{hex}")).map_err(|source| {
            SourceError::Manifest {
                reference: reference.to_string(),
                source,
            }
        })?;
    }
    let rootfs: ConfigRootFs = serde_json::from_slice(&config).unwrap_or_default();
    let mut layers = Vec::new();
    for (i, path) in entry.layers.iter().enumerate() {
        let size = *members.sizes.get(path).ok_or_else(|| {
            local(
                reference,
                format!("layer `{path}` is missing from the archive"),
                None,
            )
        })?;
        let digest = rootfs
            .rootfs
            .diff_ids
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("file:{path}"));
        layers.push(manifest::Descriptor {
            media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
            digest,
            size: size as i64,
        });
    }
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(manifest::DOCKER_MANIFEST.into()),
        config: manifest::Descriptor {
            media_type: "application/vnd.docker.container.image.v1+json".into(),
            digest: config_digest,
            size: config.len() as i64,
        },
        layers,
    };
    Ok(Fetched {
        digest: None,
        index_digest: None,
        manifest,
        config,
    })
}
