//! Bounds on everything bpdrift reads from a source it does not control: registry responses,
//! layout and archive files, labels, layer contents. Each limit is a named constant, and each
//! read that hits one fails with [`TooLarge`], naming what was read and the limit, instead of
//! allocating without bound.
//!
//! The registry numbers follow containerd (`remotes/docker`: manifests and indexes at most
//! 4 MiB); the rest are ceilings well above what real images hold (the largest Paketo builder's
//! `io.buildpacks.build.metadata` is about 300 KiB).

use std::io::{self, Read};
use std::path::Path;

/// A manifest or index (containerd's `MaxManifestSize`).
pub const MANIFEST_MAX: u64 = 4 << 20;
/// An image config blob; a config is read up to its descriptor's size, and never past this.
pub const CONFIG_MAX: u64 = 16 << 20;
/// One JSON label bpdrift interprets (`io.buildpacks.build.metadata` and friends); a larger one
/// is a label problem (exit 2), not read.
pub const LABEL_MAX: u64 = 4 << 20;
/// A token endpoint's answer, a `/v2/` ping, an error body.
pub const AUTH_RESPONSE_MAX: u64 = 1 << 20;
/// An `index.json`, `manifest.json` or other small file of a layout or archive.
pub const LAYOUT_FILE_MAX: u64 = 4 << 20;
/// A fleet file: 100,000 services of a few lines each are ~10 MB.
pub const FLEET_FILE_MAX: u64 = 32 << 20;
/// One `env.launch`/`env` file of a buildpack layer.
pub const ENV_FILE_MAX: u64 = 64 << 10;
/// Entries of one jar (its central directory) that are looked at.
pub const JAR_ENTRIES_MAX: usize = 200_000;
/// Inflated bytes of one nested jar that are read into memory.
pub const NESTED_JAR_MAX: u64 = 64 << 20;
/// Bytes of one jar (in a layer) read into memory to walk its central directory.
pub const JAR_MAX: u64 = 256 << 20;
/// One SBOM document read from a layer (`diff --sbom`); a larger one is a note, not read. Paketo's
/// jammy run-image SBOMs are about 1 MB; a syft document of a big app a few MB.
pub const SBOM_DOC_MAX: u64 = 32 << 20;
/// SBOM documents read from one layer (a launch SBOM layer holds about three per buildpack layer).
pub const SBOM_DOCS_MAX: usize = 1024;
/// Bytes of SBOM documents read from one layer, all documents together: past it the rest is a note
/// (a hostile layer of a thousand 32 MiB documents costs minutes of parsing otherwise).
pub const SBOM_LAYER_MAX: u64 = 256 << 20;
/// Packages kept from one layer's documents together; past it the rest is a note.
pub const SBOM_LAYER_PACKAGES_MAX: usize = 200_000;
/// Packages kept from one SBOM array or the legacy packages label (a run image has a few hundred,
/// a big app a few thousand); the rest are counted, not stored.
pub const SBOM_PACKAGES_MAX: usize = 50_000;
/// Packages the fleet history keeps of one image (`sbom = true`), all locations together; the
/// rest are counted. Recorded once per digest, so a year of nightly runs that did not move
/// stores them once.
pub const HISTORY_PACKAGES_MAX: usize = 5_000;
/// The fleet history kept in a registry (`--history oci://…`): its gzip'd layer as stored, and
/// the JSON lines it inflates to (a year of nightly runs of a 50-image fleet is ~20 MiB).
pub const HISTORY_ARTIFACT_MAX: u64 = 32 << 20;
/// See [`HISTORY_ARTIFACT_MAX`].
pub const HISTORY_JSONL_MAX: u64 = 256 << 20;
/// A value as it appears in an error message or a table cell.
pub const SHOWN_VALUE_MAX: usize = 200;

/// A read that stopped at its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{subject} is larger than the {} limit", human(*limit))]
pub struct TooLarge {
    /// What was being read, e.g. "manifest", "`index.json`".
    pub subject: String,
    /// The limit, in bytes.
    pub limit: u64,
}

impl From<TooLarge> for io::Error {
    fn from(e: TooLarge) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// `4 MiB`, `64 KiB`, `100 B`.
pub fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// Reads all of `r`, failing with [`TooLarge`] (as an `InvalidData` I/O error) once more than
/// `limit` bytes arrive. Never reads more than `limit + 1` bytes.
pub fn read_to_limit(r: impl Read, limit: u64, subject: &str) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(TooLarge {
            subject: subject.to_string(),
            limit,
        }
        .into());
    }
    Ok(buf)
}

/// Opens `path` for reading only if it is a regular file (after following symlinks): a FIFO
/// would block forever, `/dev/zero` never ends. Checked on the opened file too, so a swap
/// between the check and the open is caught.
pub fn open_regular(path: &Path) -> io::Result<std::fs::File> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a regular file", path.display()),
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(f)
}

/// [`open_regular`] then [`read_to_limit`]; a file whose size already exceeds `limit` (a sparse
/// giant) is refused without reading it.
pub fn read_file(path: &Path, limit: u64, subject: &str) -> io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    if f.metadata()?.len() > limit {
        return Err(TooLarge {
            subject: subject.to_string(),
            limit,
        }
        .into());
    }
    read_to_limit(f, limit, subject)
}

/// The [`TooLarge`] inside an I/O error made by this module, if that is what it is.
pub fn too_large(e: &io::Error) -> Option<&TooLarge> {
    e.get_ref()?.downcast_ref::<TooLarge>()
}

/// Why a bounded HTTP body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The transfer failed.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// More bytes than allowed (whatever `Content-Length` said).
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// Reads a response body chunk by chunk and stops at `limit`: `Content-Length` is only used to
/// refuse early, never to size a buffer.
pub async fn read_body(
    mut res: reqwest::Response,
    limit: u64,
    subject: &str,
) -> Result<Vec<u8>, BodyError> {
    let too_large = || TooLarge {
        subject: subject.to_string(),
        limit,
    };
    if res.content_length().is_some_and(|n| n > limit) {
        return Err(too_large().into());
    }
    let mut buf = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large().into());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// `value` cut to [`SHOWN_VALUE_MAX`] bytes (on a char boundary) with the number of bytes left
/// out, for messages and table cells.
pub fn shorten(value: &str) -> std::borrow::Cow<'_, str> {
    shorten_to(value, SHOWN_VALUE_MAX)
}

/// [`shorten`] to `max` bytes.
pub fn shorten_to(value: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if value.len() <= max {
        return value.into();
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &value[..end], value.len() - end).into()
}

/// `message` with every `"…"` quoted inside it cut to 40 characters, then [`shorten`]ed: a
/// parser's message keeps what it expected after the (huge) value it quotes.
pub fn shorten_quoted(message: &str) -> String {
    const QUOTED_MAX: usize = 40;
    let mut out = String::with_capacity(message.len().min(512));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        let mut kept = 0;
        let mut cut = false;
        while let Some(c) = chars.next() {
            if c == '"' {
                if cut {
                    out.push('…');
                }
                out.push('"');
                break;
            }
            if kept < QUOTED_MAX {
                out.push(c);
                kept += 1;
                if c == '\\'
                    && let Some(n) = chars.next()
                {
                    out.push(n);
                }
            } else {
                cut = true;
                if c == '\\' {
                    chars.next();
                }
            }
        }
    }
    shorten(&out).into_owned()
}

/// An error shown at most [`SHOWN_VALUE_MAX`] bytes long (parser errors quote the input).
#[derive(Debug)]
pub struct Shortened<E>(pub E);

impl<E: std::fmt::Display> std::fmt::Display for Shortened<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&shorten(&self.0.to_string()))
    }
}

impl<E: std::error::Error> std::error::Error for Shortened<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_to_limit_stops() {
        assert_eq!(read_to_limit(&b"abc"[..], 3, "x").unwrap(), b"abc");
        let err = read_to_limit(io::repeat(0), 1 << 20, "`index.json`").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`index.json` is larger than the 1 MiB limit"
        );
        assert!(too_large(&err).is_some());
    }

    #[test]
    fn only_regular_files() {
        let err = read_file(Path::new("/dev/zero"), 10, "x").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let d = tempfile::tempdir().unwrap();
        let sparse = d.path().join("sparse");
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(10 << 30)
            .unwrap();
        let err = read_file(&sparse, 4 << 20, "`index.json`").unwrap_err();
        assert!(too_large(&err).is_some(), "{err}");
    }

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(1000);
        let s = shorten(&long);
        assert!(s.len() < 300 && s.ends_with("more bytes)"), "{s}");
    }
}
