//! `bpdrift history --format json`: each service's recorded timeline.

use schemars::JsonSchema;
use std::io::{self, Write};

use crate::report::fleet::Observation;

/// `schema_version` of `history --format json` (docs/json.md).
pub const HISTORY_SCHEMA_VERSION: u32 = 1;

/// `history --format json`.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct HistoryJson {
    /// Version of this document's schema: fields are only added within it (docs/json.md).
    #[schemars(extend("const" = HISTORY_SCHEMA_VERSION))]
    schema_version: u32,
    /// bpdrift version that wrote it.
    bpdrift_version: &'static str,
    /// One timeline per service, in the order asked for (all: by name).
    services: Vec<ServiceHistory>,
}

/// One service's observations, oldest first.
#[derive(serde::Serialize, JsonSchema)]
pub(crate) struct ServiceHistory {
    /// The service's name in the fleet file.
    service: String,
    /// What each run saw of each watched image.
    observations: Vec<Observation>,
}

/// The timelines as one JSON document.
pub fn history_json(
    services: Vec<(String, Vec<Observation>)>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = HistoryJson {
        schema_version: HISTORY_SCHEMA_VERSION,
        bpdrift_version: env!("CARGO_PKG_VERSION"),
        services: services
            .into_iter()
            .map(|(service, observations)| ServiceHistory {
                service,
                observations,
            })
            .collect(),
    };
    crate::sanitize::json::write(out, &doc)
}
