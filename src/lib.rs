//! bpdrift: what changed *underneath* two container images built with Cloud Native Buildpacks.
//!
//! The data flow (ARCHITECTURE.md has the map): `reference` parses what the user typed, `source`
//! reads the image from a registry, an OCI layout or an archive into the one [`image`] model,
//! `pipeline` runs diff → rules → memory over a pair, `report` is the serialisable result and
//! `render` turns it into table, JSON, Markdown or HTML. `commands` holds one file per
//! subcommand; `cli` parses flags and maps the outcome to an exit status.
//!
//! Pure core, I/O at the edges: `diff`, `rules`, `render`, `report`, `memory::calc`,
//! `memory::predict` and `fleet::assess` read no file and open no socket (checked by the
//! `architecture` integration test). `source`, `net`, `github::api`, `fleet::history` and the
//! commands do the I/O.
//!
//! Everything is `pub(crate)`; the few items below are the library's public face, used by the
//! binary, the integration tests and the benchmark.

pub(crate) mod attribution;
pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod commands;
pub(crate) mod diff;
pub(crate) mod digest;
pub(crate) mod fleet;
pub(crate) mod github;
pub(crate) mod image;
pub(crate) mod limits;
pub(crate) mod memory;
pub(crate) mod metadata;
pub(crate) mod net;
pub(crate) mod packages;
pub(crate) mod pipeline;
#[cfg(test)]
mod proptests;
pub(crate) mod redact;
pub(crate) mod reference;
pub(crate) mod release_notes;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod rules;
pub(crate) mod sanitize;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod text;
pub(crate) mod toml_file;
pub(crate) mod version;

pub use cli::{Cli, main, parse};
pub use digest::sha256;
pub use metadata::{ImageMetadata, label};
pub use rules::{RuleFile, parse_file as parse_rule_file, render_diagnostics};

/// The parsers of untrusted input, for the fuzz targets in `fuzz/` only (feature `fuzzing`):
/// not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::fleet::file::parse_fleet;
    pub use crate::memory::{LayerSummary, Scanner, jar_classes};
    pub use crate::packages::dpkg::compare_deb;
    pub use crate::packages::sbom::{parse as parse_sbom, scan_layer as scan_sbom_layer};
    pub use crate::redact::{redact_value, scrub, without_values};
    pub use crate::reference::{ImageRef, Platform};
    pub use crate::sanitize::fuzz_check as check_outputs;
    pub use crate::source::auth::{helper_name_ok, parse_helper_reply};
    pub use crate::source::manifest;
    pub use crate::source::registry::tls::{parse_cas, parse_identity};
}
