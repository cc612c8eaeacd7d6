//! The one integration-test binary: every area is a module, sharing the fixtures in `common`.

mod architecture;
mod attribution;
mod common;
mod daemon;
mod diff;
mod docs;
mod errors;
mod examples;
mod fetching;
mod github;
mod hardening;
mod history_oci;
mod labels;
mod memory;
mod packages;
mod postgres;
mod registry;
mod report;
mod rules;
mod tls;
