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

// Files a user or a config names (read with [`read_named`]); none has a flag of its own: each
// is far above what the file holds in practice, and far below what would hurt.

/// A PEM file: `--ca-file`, a certs.d `*.crt`, `client.cert`, `client.key`, an engine's `ca.pem`,
/// `cert.pem`, `key.pem` (the Mozilla bundle of every public CA is about 220 KiB).
pub const PEM_FILE_MAX: u64 = 4 << 20;
/// A docker config, a containers auth file, a docker context's `meta.json`.
pub const CONFIG_FILE_MAX: u64 = 4 << 20;
/// A rule file (`--rules`) or a fleet file (`--fleet`).
pub const RULES_FILE_MAX: u64 = 4 << 20;
/// The GitHub event payload (`GITHUB_EVENT_PATH`; GitHub's own are a few hundred KiB at most).
pub const EVENT_FILE_MAX: u64 = 16 << 20;
/// A report saved by `github comment` that `github post` reads (an artifact a fork controls),
/// and its `.pr.json`.
pub const SAVED_REPORT_MAX: u64 = 16 << 20;
/// What a credential helper prints (`{"Username": …, "Secret": …}`: a few KiB at most).
pub const HELPER_OUTPUT_MAX: u64 = 4 << 20;
/// The password or token `--password-stdin` reads.
pub const PASSWORD_STDIN_MAX: u64 = 1 << 20;
/// An entry of bpdrift's own cache (`--cache-dir`), read back: a manifest or config blob.
pub const CACHE_BLOB_MAX: u64 = CONFIG_MAX;
/// A derived cache entry (what a layer holds, as JSON), read back.
pub const CACHE_DERIVED_MAX: u64 = 64 << 20;
/// An export of a local engine's image (`docker-daemon:`, `podman:`; `docker save`), written to
/// the temporary directory to read its layers: the default of `--max-archive-size`. The
/// engine's own idea of the image's size is not trusted for it.
pub const ARCHIVE_DEFAULT_MAX: u64 = 8 << 30;
/// An engine request that moves fewer bytes than this in a whole `--timeout` is stalled (a
/// one-byte-a-second drip never trips a read timeout): curl's `--speed-limit`, in bytes per
/// `--timeout`.
pub const ENGINE_PROGRESS_MIN: u64 = 64 << 10;
/// How long a credential helper may run (a keychain prompt, a background child holding its
/// stdout) before it is killed.
pub const HELPER_TIME_MAX: std::time::Duration = std::time::Duration::from_secs(20);
/// What a credential helper prints on stderr that is kept (to see "credentials not found").
pub const HELPER_STDERR_MAX: u64 = 64 << 10;
/// How long one engine export may stream in all, however steadily.
pub const EXPORT_TIME_MAX: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// A time recorded in a history may be this far ahead of the clock (another machine's clock
/// skew, overlapping runs); further ahead it is a time no run can have seen, and said so. A
/// forged time within it keeps the missed-run alarm quiet for at most this long.
pub const CLOCK_SKEW_MAX: i64 = 60 * 60;

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

/// What a file that is not a regular one is, in words.
pub(crate) fn file_kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The error of a file that is not a regular one: "`path` is a FIFO, not a regular file".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is {kind}, not a regular file", path.display())]
pub struct NotRegular {
    /// The file.
    pub path: std::path::PathBuf,
    /// "a FIFO", "a directory", "a character device", …
    pub kind: &'static str,
}

/// Opens `path` for reading only if it is a regular file (after following symlinks): a FIFO
/// would block forever, `/dev/zero` never ends, a directory is no file. Checked before opening
/// (a device is never opened) and on the opened file, which is opened non-blocking so that a
/// FIFO swapped in between cannot hang the open itself.
pub fn open_regular(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let not_regular = |m: &std::fs::Metadata| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            NotRegular {
                path: path.to_path_buf(),
                kind: file_kind(m),
            },
        )
    };
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(not_regular(&m));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(not_regular(&m));
    }
    Ok(f)
}

/// A file someone named, for [`read_named`]: what it is and who named it, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    /// What the file is: "CA file", "docker config", "rule file".
    pub what: &'a str,
    /// Who named it: the flag (`--ca-file`), the variable (`DOCKER_CONFIG`), the lookup
    /// (`certs.d`).
    pub from: &'a str,
    /// The most bytes read.
    pub limit: u64,
}

/// Why a named file could not be read; every message names the file and who named it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A FIFO, a device, a directory, a socket: refused before reading.
    #[error("{what} `{}` ({from}) is {kind}, not a regular file", path.display())]
    NotRegular {
        /// What the file is.
        what: String,
        /// The file.
        path: std::path::PathBuf,
        /// Who named it.
        from: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than its limit (told by its size, or found while reading).
    #[error("{what} `{}` ({from}) is larger than the {} limit", path.display(), human(*limit))]
    TooLarge {
        /// What the file is.
        what: String,
        /// The file.
        path: std::path::PathBuf,
        /// Who named it.
        from: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Missing, unreadable.
    #[error("cannot read {what} `{}` ({from})", path.display())]
    Io {
        /// What the file is.
        what: String,
        /// The file.
        path: std::path::PathBuf,
        /// Who named it.
        from: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl FileError {
    /// The file does not exist (several lookups treat that as "not configured").
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads a file a user or a config named: regular files only (refused before reading
/// otherwise), at most `named.limit` bytes (a file whose size says more is refused unread).
pub fn read_named(path: &Path, named: Named<'_>) -> Result<Vec<u8>, FileError> {
    let io_error = |source: io::Error| {
        if let Some(n) = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<NotRegular>())
        {
            return FileError::NotRegular {
                what: named.what.into(),
                path: path.to_path_buf(),
                from: named.from.into(),
                kind: n.kind,
            };
        }
        if too_large(&source).is_some() {
            return FileError::TooLarge {
                what: named.what.into(),
                path: path.to_path_buf(),
                from: named.from.into(),
                limit: named.limit,
            };
        }
        FileError::Io {
            what: named.what.into(),
            path: path.to_path_buf(),
            from: named.from.into(),
            source,
        }
    };
    read_file(path, named.limit, named.what).map_err(io_error)
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
        let named = Named {
            what: "CA file",
            from: "--ca-file",
            limit: 1 << 20,
        };
        let err = read_named(Path::new("/dev/zero"), named).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CA file `/dev/zero` (--ca-file) is a character device, not a regular file"
        );
        let err = read_named(Path::new("/"), named).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        assert!(
            read_named(Path::new("/nonexistent/x"), named)
                .unwrap_err()
                .is_not_found()
        );
        let d = tempfile::tempdir().unwrap();
        let sparse = d.path().join("sparse");
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(10 << 30)
            .unwrap();
        let err = read_file(&sparse, 4 << 20, "`index.json`").unwrap_err();
        assert!(too_large(&err).is_some(), "{err}");
        let err = read_named(&sparse, named).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "CA file `{}` (--ca-file) is larger than the 1 MiB limit",
                sparse.display()
            )
        );
    }

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(1000);
        let s = shorten(&long);
        assert!(s.len() < 300 && s.ends_with("more bytes)"), "{s}");
    }
}
