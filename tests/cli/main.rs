//! The one integration-test binary: every area is a module, sharing the fixtures in `common`.

mod architecture;
mod attribution;
mod common;
mod contract;
mod daemon;
mod diff;
mod docs;
mod errors;
mod fetching;
mod github;
mod hardening;
mod history_oci;
mod labels;
mod memory;
mod packages;
mod registry;
mod report;
mod rules;
mod sarif;
mod schema;
mod tls;
