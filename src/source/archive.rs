//! Tarballs: `oci-archive:` (an OCI layout in a tar) and `docker-archive:` (`docker save`).
//!
//! Only small members (manifests, configs, `index.json`) are kept in memory; layers are skipped
//! after their size is noted, so a multi-GB archive costs one sequential read.

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

/// Members larger than this are layers; we only need their size.
const KEEP_LIMIT: u64 = 16 << 20;

struct Members {
    small: BTreeMap<String, Vec<u8>>,
    sizes: BTreeMap<String, u64>,
}

impl BlobStore for Members {
    fn read(&self, path: &str) -> Result<Vec<u8>, std::io::Error> {
        self.small.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("no member `{path}`"))
        })
    }
}

/// Opens `file` and hands each regular member (its path without a leading `./`) to `each`, in
/// tar order; any I/O error becomes "`problem`" about the archive.
fn for_each_member(
    reference: &ImageRef,
    file: &Path,
    problem: &str,
    mut each: impl FnMut(String, &mut tar::Entry<'_, File>) -> std::io::Result<()>,
) -> Result<(), SourceError> {
    let f = File::open(file).map_err(|e| {
        local(
            reference,
            format!("cannot open `{}`", file.display()),
            Some(e),
        )
    })?;
    let bad = |e: std::io::Error| local(reference, problem.to_string(), Some(e));
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
    let mut members = Members {
        small: BTreeMap::new(),
        sizes: BTreeMap::new(),
    };
    let problem = format!("`{}` is not a readable tar archive", file.display());
    for_each_member(reference, file, &problem, |path, entry| {
        let size = entry.size();
        members.sizes.insert(path.clone(), size);
        if size <= KEEP_LIMIT {
            let mut buf = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut buf)?;
            members.small.insert(path, buf);
        }
        Ok(())
    })?;
    if members.sizes.is_empty() {
        return Err(local(
            reference,
            format!("`{}` is not a tar archive (no members)", file.display()),
            None,
        ));
    }
    Ok(members)
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
) -> Result<(), SourceError> {
    let names: BTreeMap<String, (usize, String)> = match reference {
        ImageRef::DockerArchive { reference: tag, .. } => {
            let members = read_members(reference, file)?;
            let entries: Vec<SaveEntry> = members
                .read("manifest.json")
                .ok()
                .and_then(|m| serde_json::from_slice(&m).ok())
                .unwrap_or_default();
            let entry = entries
                .iter()
                .find(|e| tag.as_ref().is_none_or(|t| e.repo_tags.contains(t)))
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
        _ => wanted
            .iter()
            .filter_map(|&i| {
                let l = image.layers.get(i)?;
                Some((
                    format!("blobs/sha256/{}", l.digest.trim_start_matches("sha256:")),
                    (i, l.media_type.clone()),
                ))
            })
            .collect(),
    };
    let problem = format!("cannot read layers of `{}`", file.display());
    for_each_member(reference, file, &problem, |path, entry| {
        match names.get(&path) {
            Some((i, media_type)) => {
                super::scan_blob(std::io::BufReader::new(entry), media_type, &mut |r| {
                    scan(*i, r)
                })
            }
            None => Ok(()),
        }
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
    let manifest_json = members.read("manifest.json").map_err(|e| {
        local(
            reference,
            "not a docker-archive: `manifest.json` is missing".into(),
            Some(e),
        )
    })?;
    let entries: Vec<SaveEntry> = serde_json::from_slice(&manifest_json).map_err(|e| {
        local(
            reference,
            format!("`manifest.json` is not a docker save manifest: {e}"),
            None,
        )
    })?;
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
    let config = members.read(&entry.config).map_err(|e| {
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
