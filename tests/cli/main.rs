//! The one integration-test binary: every area is a module, sharing the fixtures in `common`.

mod architecture;
mod attribution;
mod bounded;
mod colour;
mod common;
mod daemon;
mod diff;
mod docs;
mod errors;
mod explain;
mod fetching;
mod github;
mod hardening;
mod history_oci;
mod injection;
mod labels;
mod memory;
mod packages;
mod registry;
mod release_notes;
mod report;
mod rules;
mod runtimes;
mod tls;
