//! The one integration-test binary: every area is a module, sharing the fixtures in `common`.

mod architecture;
mod attribution;
mod common;
mod diff;
mod errors;
mod fetching;
mod github;
mod hardening;
mod labels;
mod memory;
mod registry;
mod report;
mod rules;
mod tls;
