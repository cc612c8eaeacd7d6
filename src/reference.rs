//! Image references as users type them: registry references the way docker writes them, and
//! local sources named the way skopeo names its transports (`oci:`, `oci-archive:`,
//! `docker-archive:`, `docker-daemon:`; `podman:` is our alias for an image in Podman).
//!
//! Registry references follow docker's grammar and normalisation, by hand (`ubuntu` is
//! `docker.io/library/ubuntu:latest`; see [`parse_docker_reference`]). See <https://github.com/containers/image/blob/main/docs/containers-transports.5.md>
//! for the transport syntax.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A platform selector: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Platform {
    /// Operating system, e.g. `linux`.
    pub os: String,
    /// CPU architecture, e.g. `amd64`.
    pub architecture: String,
    /// CPU variant, e.g. `v8` for arm64, `v7` for arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform bpdrift selects when none is given. Never the host's: a laptop and CI must
    /// resolve the same manifest from a multi-arch index.
    pub fn linux_amd64() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }

    /// The variant with docker's defaults filled in (`arm64` → `v8`, `arm` → `v7`), so that
    /// `linux/arm64` and `linux/arm64/v8` name the same platform.
    pub fn normalized_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            (_, Some(v)) if !v.is_empty() => Some(v),
            ("arm64", _) => Some("v8"),
            ("arm", _) => Some("v7"),
            _ => None,
        }
    }

    /// Whether an index entry for `other` satisfies this requested platform.
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && self.normalized_variant() == other.normalized_variant()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || ReferenceError::Platform {
            input: s.to_string(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Self {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, variant] => Ok(Self {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: Some((*variant).into()),
            }),
            _ => Err(bad()),
        }
    }
}

/// What the user asked to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An image in a registry.
    Registry(RegistryRef),
    /// `oci:<dir>[:<tag>]`, an OCI image layout directory.
    OciLayout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to select; the only image when absent.
        tag: Option<String>,
    },
    /// `oci-archive:<file>[:<tag>]`, a tar of an OCI image layout.
    OciArchive {
        /// The tar file.
        file: PathBuf,
        /// The ref name to select; the only image when absent.
        tag: Option<String>,
    },
    /// `docker-archive:<file>[:<reference>]`, the output of `docker save`.
    DockerArchive {
        /// The tar file.
        file: PathBuf,
        /// A `RepoTags` entry to select; the only image when absent.
        reference: Option<String>,
    },
    /// `docker-daemon:<reference or image id>` / `podman:<…>`, an image in a local engine.
    Daemon(DaemonRef),
}

/// Which local engine a daemon reference names; each has its own socket discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// `docker-daemon:` (`DOCKER_HOST`, the docker context, `/var/run/docker.sock`).
    Docker,
    /// `podman:` (`CONTAINER_HOST`, the rootless or the rootful Podman socket).
    Podman,
}

impl Engine {
    /// The reference prefix, without the colon.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Docker => "docker-daemon",
            Self::Podman => "podman",
        }
    }
}

/// An image in a local engine: a name the engine knows (`app:latest`, `repo@sha256:…`) or an
/// image id (`sha256:` and 64 hex digits, the config digest), passed to the engine as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonRef {
    /// Which engine.
    pub engine: Engine,
    /// The name or id after the prefix.
    pub name: String,
}

/// A parsed registry reference, with the text the user typed kept for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// What the user typed.
    pub input: String,
    /// The normalised reference.
    pub reference: Reference,
}

/// A registry reference after docker's normalisation: no registry means Docker Hub, and a
/// one-part name there lives under `library/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// The host to talk to: Docker Hub's API lives at `index.docker.io`.
    pub fn resolve_registry(&self) -> &str {
        if self.registry == "docker.io" {
            "index.docker.io"
        } else {
            &self.registry
        }
    }

    /// The repository path.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same repository at `digest` (no tag).
    pub fn clone_with_digest(&self, digest: String) -> Self {
        Self {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl RegistryRef {
    /// The registry host to talk to (`index.docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        self.reference.resolve_registry()
    }

    /// The repository path, e.g. `library/ubuntu`.
    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// The digest when given, otherwise the tag (`latest` when neither was given).
    pub fn manifest_reference(&self) -> String {
        match (self.reference.digest(), self.reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => "latest".to_string(),
        }
    }

    /// Whether the registry is on the loopback interface, where docker also uses plain HTTP.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.registry())
    }
}

/// `127.0.0.1`, `localhost` and `[::1]`, with or without a port.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        registry.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A reference that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Empty input.
    #[error("empty image reference")]
    Empty,
    /// The registry reference grammar rejected it.
    #[error("invalid image reference `{input}`: {reason}")]
    Invalid {
        /// What the user typed.
        input: String,
        /// Why, in words.
        reason: String,
    },
    /// A local transport without a path.
    #[error("invalid image reference `{input}`: `{transport}:` needs a path")]
    MissingPath {
        /// What the user typed.
        input: String,
        /// The transport prefix.
        transport: &'static str,
    },
    /// A transport bpdrift does not read.
    #[error(
        "invalid image reference `{input}`: unsupported transport `{transport}:` (use a registry reference, `oci:`, `oci-archive:`, `docker-archive:`, `docker-daemon:` or `podman:`)"
    )]
    UnsupportedTransport {
        /// What the user typed.
        input: String,
        /// The prefix.
        transport: String,
    },
    /// `--platform` that is not `os/arch[/variant]`.
    #[error(
        "invalid platform `{input}`: expected `os/arch` or `os/arch/variant`, e.g. `linux/arm64/v8`"
    )]
    Platform {
        /// What the user typed.
        input: String,
    },
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.trim().is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some(rest) = input.strip_prefix("oci:") {
            let (dir, tag) = split_path_tag(input, rest, "oci")?;
            return Ok(Self::OciLayout { dir, tag });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            let (file, tag) = split_path_tag(input, rest, "oci-archive")?;
            return Ok(Self::OciArchive { file, tag });
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            // The optional part is a docker reference that may itself contain ':' (a tag), so
            // split at the first ':' only: skopeo does the same.
            let (file, reference) = match rest.split_once(':') {
                Some((f, r)) => (f, Some(r.to_string()).filter(|r| !r.is_empty())),
                None => (rest, None),
            };
            if file.is_empty() {
                return Err(ReferenceError::MissingPath {
                    input: input.into(),
                    transport: "docker-archive",
                });
            }
            return Ok(Self::DockerArchive {
                file: file.into(),
                reference,
            });
        }
        for engine in [Engine::Docker, Engine::Podman] {
            // `podman:5000/app` is a registry host and port, as docker reads it.
            let port = |r: &str| {
                r.split_once('/')
                    .is_some_and(|(p, _)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            };
            if let Some(rest) = input
                .strip_prefix(engine.prefix())
                .and_then(|r| r.strip_prefix(':'))
                .filter(|r| !port(r))
            {
                return parse_daemon(input, rest, engine);
            }
        }
        if let Some(rest) = input.strip_prefix("docker://") {
            return parse_registry(input, rest);
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return Err(ReferenceError::Invalid {
                input: input.into(),
                reason: format!(
                    "a reference has no URL scheme; drop `{scheme}://` (plain HTTP is used for loopback registries and `--insecure-registry` hosts)"
                ),
            });
        }
        // `containers-storage:`, `dir:` and friends: a transport prefix is a word before ':'
        // that is not followed by a port number or a tag (which would come after a '/'-free name
        // too, so only reject the transports we know).
        if let Some((prefix, _)) = input.split_once(':') {
            const OTHER: &[&str] = &["dir", "containers-storage", "ostree", "sif"];
            if OTHER.contains(&prefix) {
                return Err(ReferenceError::UnsupportedTransport {
                    input: input.into(),
                    transport: prefix.into(),
                });
            }
        }
        parse_registry(input, input)
    }
}

fn split_path_tag(
    input: &str,
    rest: &str,
    transport: &'static str,
) -> Result<(PathBuf, Option<String>), ReferenceError> {
    let (path, tag) = match rest.split_once(':') {
        Some((p, t)) => (p, Some(t.to_string()).filter(|t| !t.is_empty())),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(ReferenceError::MissingPath {
            input: input.into(),
            transport,
        });
    }
    Ok((path.into(), tag))
}

/// `docker-daemon:` / `podman:`: an image id (`sha256:<64 hex>`, skopeo's only id form) or a
/// reference in docker's grammar (checked here, sent to the engine as typed: the engine
/// normalises it, and Podman resolves short names its own way).
fn parse_daemon(input: &str, rest: &str, engine: Engine) -> Result<ImageRef, ReferenceError> {
    let invalid = |reason: &str| ReferenceError::Invalid {
        input: input.into(),
        reason: reason.into(),
    };
    if rest.is_empty() {
        return Err(invalid(
            "name an image after the prefix: a reference (`app:latest`) or an image id (`sha256:…`)",
        ));
    }
    if let Some(hex) = rest.strip_prefix("sha256:") {
        let hex_ok = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(invalid(
                "an image id is `sha256:` followed by 64 lowercase hex digits",
            ));
        }
    } else {
        parse_docker_reference(rest).map_err(invalid)?;
        // The name becomes part of a URL path: no segment may walk up or out of it.
        if rest.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(invalid("a reference has no `.` or `..` path segments"));
        }
    }
    Ok(ImageRef::Daemon(DaemonRef {
        engine,
        name: rest.to_string(),
    }))
}

fn parse_registry(input: &str, text: &str) -> Result<ImageRef, ReferenceError> {
    let reference = parse_docker_reference(text).map_err(|reason| ReferenceError::Invalid {
        input: input.into(),
        reason: reason.into(),
    })?;
    Ok(ImageRef::Registry(RegistryRef {
        input: input.into(),
        reference,
    }))
}

/// Docker's reference grammar (distribution/reference), by hand. oci-spec's parser compiles a
/// large Unicode regex on first use: ~30 ms and 15 MB, a fifth of a two-image diff at 50 ms RTT.
/// It builds our [`Reference`] with docker's normalisation.
fn parse_docker_reference(text: &str) -> Result<Reference, &'static str> {
    if text.chars().any(char::is_whitespace) {
        return Err("references cannot contain spaces");
    }
    let (rest, digest) = match text.rsplit_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (text, None),
    };
    if let Some(d) = digest {
        let Some((alg, hex)) = d.split_once(':') else {
            return Err("the digest must look like `sha256:` followed by 64 lowercase hex digits");
        };
        let hex_ok = |n: usize| {
            hex.len() == n
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        match alg {
            "sha256" if hex_ok(64) => {}
            "sha512" if hex_ok(128) => {}
            "sha256" | "sha512" if hex.is_empty() => {
                return Err("the tag or digest after the last `:`/`@` is empty");
            }
            "sha256" | "sha512" => {
                return Err(
                    "the digest must look like `sha256:` followed by 64 lowercase hex digits",
                );
            }
            _ => return Err("unsupported digest algorithm (use sha256 or sha512)"),
        }
    }
    // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if t.is_empty() {
            return Err("the tag or digest after the last `:`/`@` is empty");
        }
        let first_ok = t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let all_ok = t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if t.len() > 128 || !first_ok || !all_ok {
            return Err(
                "a tag is up to 128 characters of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            );
        }
    }
    if name.is_empty() {
        return Err("the repository name is empty");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // The first part is a registry when it looks like a host: a dot, a port, or localhost.
    let registry = if parts.len() > 1
        && (parts[0].contains('.')
            || parts[0].contains(':')
            || parts[0] == "localhost"
            || parts[0].starts_with('['))
    {
        let host = parts.remove(0);
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !host_ok {
            return Err("the registry must be a host name or address, with an optional `:port`");
        }
        host.to_string()
    } else {
        "docker.io".to_string()
    };
    for p in &parts {
        if p.is_empty() {
            return Err("not of the form `[registry/]repository[:tag][@digest]`");
        }
        if p.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err("repository names must be lowercase");
        }
        // `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`: alphanumerics joined by `.`, `_`, `__` or dashes.
        let b = p.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let mut ok = alnum(b[0]) && alnum(b[b.len() - 1]);
        let mut i = 0;
        while ok && i < b.len() {
            if alnum(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !alnum(b[i]) {
                i += 1;
            }
            let sep = &p[start..i];
            ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        }
        if !ok {
            return Err(
                "a repository path uses lowercase letters and digits, joined by `.`, `_`, `__` or `-`",
            );
        }
    }
    let mut repository = parts.join("/");
    if registry == "docker.io" && parts.len() == 1 {
        repository = format!("library/{repository}");
    }
    if repository.len() > 255 {
        return Err("the repository name is longer than 255 characters");
    }
    let tag = match (tag, digest) {
        (None, None) => Some("latest".to_string()),
        (t, _) => t.map(str::to_string),
    };
    Ok(Reference {
        registry: registry.to_string(),
        repository,
        tag,
        digest: digest.map(str::to_string),
    })
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registry(r) => f.write_str(&r.input),
            Self::OciLayout { dir, tag } => {
                write!(f, "oci:{}", dir.display())?;
                tag.iter().try_for_each(|t| write!(f, ":{t}"))
            }
            Self::OciArchive { file, tag } => {
                write!(f, "oci-archive:{}", file.display())?;
                tag.iter().try_for_each(|t| write!(f, ":{t}"))
            }
            Self::DockerArchive { file, reference } => {
                write!(f, "docker-archive:{}", file.display())?;
                reference.iter().try_for_each(|t| write!(f, ":{t}"))
            }
            Self::Daemon(d) => write!(f, "{}:{}", d.engine.prefix(), d.name),
        }
    }
}

#[cfg(test)]
mod tests;
