//! bpdrift: what changed *underneath* two container images built with Cloud Native Buildpacks.
//!
//! The pipeline is `reference` (parse what the user typed) → `source` (fetch the image config
//! from a registry, an OCI layout or an archive) → `metadata` (read the `io.buildpacks.*` labels
//! into one lenient model) → `diff` (pure comparison) → `rules` (which changes matter) →
//! `attribution` (which layer is which part) → `report` (the serialisable result) → `render`
//! (table, JSON, Markdown).
//!
//! Only `source` touches the network or the file system; everything after it is pure.

pub mod attribution;
pub mod cli;
pub mod clock;
pub mod config;
pub mod diff;
pub mod github;
pub mod memory;
pub mod metadata;
pub mod reference;
pub mod render;
pub mod report;
pub mod rules;
pub mod source;
pub mod version;
