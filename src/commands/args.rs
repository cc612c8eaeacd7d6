//! The arguments several commands share: rule selection, registry access, platforms, and the
//! value parsers behind them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::reference::Platform;
use crate::rules::ignore::IgnorePattern;
use crate::source::FetchOptions;

/// Which rules apply.
#[derive(Debug, Args, Clone)]
pub(crate) struct RuleArgs {
    /// Rule file to add (repeatable); a rule with a built-in id replaces the built-in one.
    #[arg(long = "rules", value_name = "FILE")]
    pub(crate) rules: Vec<PathBuf>,
    /// Drop the built-in rules.
    #[arg(long)]
    pub(crate) no_default_rules: bool,
    /// Leave changes of a label or env variable out (repeatable; `label:NAME`, `env:NAME`, NAME
    /// may use * and ? globs): for values that change on every build. Ignored changes are
    /// counted in the verdict.
    #[arg(long = "ignore", value_name = "label:NAME|env:NAME", value_parser = parse_ignore)]
    pub(crate) ignore: Vec<IgnorePattern>,
}

pub(crate) fn parse_ignore(s: &str) -> Result<IgnorePattern, String> {
    IgnorePattern::parse(s)
}

/// `rules list --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// `--memory`: what users type (`512M`, `512MB`, `1Gi`, `1.5G`, bytes); zero and negative refused.
pub(crate) fn parse_size(s: &str) -> Result<crate::memory::Size, String> {
    crate::memory::size::parse_user(s).map_err(|e| e.to_string())
}

pub(crate) fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

pub(crate) fn parse_duration_arg(s: &str) -> Result<i64, String> {
    crate::fleet::parse_duration(s)
        .ok_or_else(|| format!("invalid duration `{s}`: use e.g. `24h`, `90m`, `1d`, `1d12h`"))
}

pub(crate) fn parse_time_arg(s: &str) -> Result<i64, String> {
    crate::fleet::history::parse_rfc3339(s)
        .ok_or_else(|| format!("invalid time `{s}`: use RFC 3339 UTC, e.g. `2026-11-23T06:00:00Z`"))
}

/// `--platform`: one platform or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlatformArg {
    /// `os/arch[/variant]`.
    One(Platform),
    /// `all`.
    All,
}

pub(crate) fn parse_platform_arg(s: &str) -> Result<PlatformArg, String> {
    if s == "all" {
        Ok(PlatformArg::All)
    } else {
        parse_platform(s).map(PlatformArg::One)
    }
}

/// How registries are reached; shared by every command that reads images.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Registry")]
pub(crate) struct RegistryArgs {
    /// Registry host[:port] to reach over plain HTTP (loopback registries always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registries: Vec<String>,
    /// Time limit for each registry request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// User name for the registries of this run (with --password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub(crate) username: Option<String>,
    /// Read the password (or token) for --username from standard input.
    #[arg(long, requires = "username")]
    pub(crate) password_stdin: bool,
    /// The registry host[:port] that --username and BPDRIFT_REGISTRY_USERNAME/PASSWORD are
    /// for; they are sent to no other. Default: the registry of the references when they all
    /// name one (an error when they name several).
    #[arg(long, env = "BPDRIFT_REGISTRY_HOST", value_name = "HOST")]
    pub(crate) registry_host: Option<String>,
    /// Attempts per request on 429, 502, 503, 504 and connection resets (1 = no retry).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) retries: u32,
    /// Longest time in seconds one request may spend retrying (Retry-After included).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) retry_max_time: u64,
    /// Cache of manifests and configs by digest [default: $XDG_CACHE_HOME/bpdrift or
    /// ~/.cache/bpdrift].
    #[arg(long, value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Do not read or write the cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub(crate) no_cache: bool,
    /// Registry requests in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) jobs: u32,
    /// PEM file of CA certificates to trust besides the system's (repeatable). A loopback
    /// registry is then reached over HTTPS.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub(crate) ca_files: Vec<PathBuf>,
    /// Directory with the registries' CAs (*.crt) and client certificate (client.cert,
    /// client.key), used instead of the certs.d directories [default:
    /// ~/.config/containers/certs.d, /etc/containers/certs.d, /etc/docker/certs.d, each with a
    /// <host[:port]> subdirectory].
    #[arg(long, value_name = "DIR")]
    pub(crate) certs_dir: Option<PathBuf>,
    /// Largest export of a local engine's image (`docker-daemon:`, `podman:`) written to the
    /// temporary directory to read its layers, e.g. `8G`, `512M`.
    #[arg(long, value_name = "SIZE", default_value = "8G", value_parser = parse_byte_size)]
    pub(crate) max_archive_size: u64,
}

/// A size in bytes as users type it (`8G`, `512M`, `1.5G`, bytes).
pub(crate) fn parse_byte_size(s: &str) -> Result<u64, String> {
    let size = crate::memory::size::parse_user(s).map_err(|e| e.to_string())?;
    u64::try_from(size.0).map_err(|_| format!("`{s}` is not a size"))
}

impl RegistryArgs {
    /// `--timeout` as a duration (at least one second).
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }

    /// Fetch options for `platform`. Reads the password from stdin when asked to.
    pub(crate) fn fetch_options(&self, platform: &Platform) -> anyhow::Result<FetchOptions> {
        let mut credentials = crate::source::auth::CredentialSources::from_env()?;
        if let Some(user) = &self.username {
            let limit = crate::limits::PASSWORD_STDIN_MAX;
            let bytes = crate::limits::read_to_limit(io::stdin(), limit, "--password-stdin input")
                .map_err(|e| {
                    anyhow::Error::new(e).context("cannot read the password from stdin")
                })?;
            let password = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("--password-stdin: standard input is not UTF-8"))?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                anyhow::bail!("--password-stdin: standard input was empty");
            }
            credentials.explicit = Some((user.clone(), password));
        }
        if self.registry_host.is_some() {
            credentials.host = self.registry_host.clone();
        }
        Ok(FetchOptions {
            platform: platform.clone(),
            insecure_registries: self.insecure_registries.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            credentials,
            retry: crate::net::RetryPolicy {
                attempts: self.retries,
                max_time: Duration::from_secs(self.retry_max_time),
                ..Default::default()
            },
            cache: if self.no_cache {
                None
            } else {
                self.cache_dir
                    .clone()
                    .or_else(crate::source::cache::Cache::default_dir)
                    .map(crate::source::cache::Cache::new)
            },
            jobs: self.jobs as usize,
            tls: crate::source::registry::TlsOptions::new(
                self.ca_files.clone(),
                self.certs_dir.clone(),
            ),
            max_archive: self.max_archive_size,
        })
    }
}

pub(crate) fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse()
        .map_err(|e: crate::reference::ReferenceError| e.to_string())
}
