//! JSON Schemas (draft 2020-12) of every JSON document bpdrift writes and of the two files people
//! write for it (rule files, fleet files), for `bpdrift schema NAME`, `schemas/*.schema.json` and
//! docs/json.md.
//!
//! Output schemas are derived (`schemars`) from the very types serde serializes, in its
//! *serialize* contract: a field is required exactly when it is always written, an `Option`
//! without `skip_serializing_if` is required and nullable. A field added to an output type is in
//! its schema with no other edit; one renamed or removed changes the committed schema file, which
//! a test compares. Objects stay open (`additionalProperties` is not false): within a major
//! `schema_version`, fields are only added, and a consumer's copy of the schema must accept them.
//!
//! The files users write are read by hand-walked, span-keeping parsers (every problem at its
//! `file:line:column`), so their schemas come from the document types in [`files`]; a test keeps
//! their keys equal to the keys the parsers accept, and the word lists (severities, change kinds,
//! image kinds, runtimes, computed findings) are taken from the parsers' own constants.

mod files;

use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

/// Where the committed schemas are published (`$id`s resolve there).
const BASE_URI: &str = "https://raw.githubusercontent.com/bpdrift/bpdrift/main/schemas";

/// A document bpdrift writes or reads (`bpdrift schema NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemaName {
    /// `diff --format json` (one platform, or `--platform all`); also `github post`'s input.
    Diff,
    /// `inspect --format json`.
    Inspect,
    /// `memory --format json`.
    Memory,
    /// `report --format json` (the fleet report).
    Report,
    /// `history --format json`.
    History,
    /// `rules list --format json`.
    RulesList,
    /// A rule file (`--rules FILE`, `examples/rules/*.toml`), read as TOML.
    Rules,
    /// A fleet file (`report --fleet FILE`), read as TOML.
    Fleet,
}

impl SchemaName {
    /// The name on the command line and in the file name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Diff => "diff",
            Self::Inspect => "inspect",
            Self::Memory => "memory",
            Self::Report => "report",
            Self::History => "history",
            Self::RulesList => "rules-list",
            Self::Rules => "rules",
            Self::Fleet => "fleet",
        }
    }

    /// What the schema describes, its `title`.
    fn title(self) -> &'static str {
        match self {
            Self::Diff => "bpdrift diff --format json",
            Self::Inspect => "bpdrift inspect --format json",
            Self::Memory => "bpdrift memory --format json",
            Self::Report => "bpdrift report --format json",
            Self::History => "bpdrift history --format json",
            Self::RulesList => "bpdrift rules list --format json",
            Self::Rules => "bpdrift rule file (TOML)",
            Self::Fleet => "bpdrift fleet file (TOML)",
        }
    }

    /// The schema, as `bpdrift schema NAME` prints it.
    pub(crate) fn schema(self) -> Value {
        let schema = match self {
            Self::Diff => output::<DiffDocument>(),
            Self::Inspect => output::<crate::render::InspectJson<'static>>(),
            Self::Memory => output::<crate::render::MemoryJson<'static>>(),
            Self::Report => output::<crate::report::fleet::FleetReport>(),
            Self::History => output::<crate::render::HistoryJson>(),
            Self::RulesList => output::<crate::render::RulesJson<'static>>(),
            Self::Rules => files::rule_file(),
            Self::Fleet => files::fleet_file(),
        };
        let mut v = schema.to_value();
        if let Value::Object(m) = &mut v {
            // `$schema` first, then what identifies the document, then the schemars output.
            let mut head = serde_json::Map::new();
            head.insert(
                "$schema".into(),
                m.remove("$schema")
                    .unwrap_or_else(|| json!("https://json-schema.org/draft/2020-12/schema")),
            );
            head.insert(
                "$id".into(),
                json!(format!("{BASE_URI}/{}.schema.json", self.name())),
            );
            head.insert("title".into(), json!(self.title()));
            if let Some(d) = m.remove("description") {
                head.insert("description".into(), d);
            }
            head.append(m);
            *m = head;
        }
        v
    }
}

/// What `diff --format json` writes: one report, or with `--platform all` one per platform. Only
/// a schema: each variant is serialized on its own.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // never built: it names the two shapes for the schema
enum DiffDocument {
    /// One platform.
    Report(Box<crate::report::DiffReport>),
    /// `--platform all`.
    Platforms(crate::render::AllPlatforms<'static>),
}

/// An output document's schema: what serde writes.
fn output<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with_transform(Portable)
        .into_generator()
        .into_root_schema_for::<T>()
}

/// A user-written file's schema: what serde (and our parser) accepts.
fn input<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .with_transform(Portable)
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Keeps the schemas to what every validator knows: schemars annotates integers and floats with
/// Rust's formats (`uint32`, `double`), which draft 2020-12 does not define and strict validators
/// (ajv) refuse; the `minimum` it writes beside them already says what matters.
#[derive(Clone)]
struct Portable;

impl Transform for Portable {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(Value::String(f)) = schema.get("format")
            && is_rust_number_format(f)
        {
            schema.remove("format");
        }
        transform_subschemas(self, schema);
    }
}

fn is_rust_number_format(f: &str) -> bool {
    matches!(f, "int" | "uint" | "float" | "double")
        || ["int", "uint"].iter().any(|p| {
            f.strip_prefix(p)
                .is_some_and(|bits| ["8", "16", "32", "64", "128"].contains(&bits))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_draft_2020_12_with_an_id_and_no_rust_formats() {
        for name in <SchemaName as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
        {
            let s = name.schema();
            assert_eq!(
                s["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{name:?}"
            );
            assert!(
                s["$id"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{}.schema.json", name.name()))
            );
            let text = s.to_string();
            for f in ["\"uint", "\"int32", "\"int64", "\"double\"", "\"float\""] {
                assert!(
                    !text.contains(&format!("\"format\":{f}")),
                    "{name:?} keeps format {f}"
                );
            }
        }
    }

    #[test]
    fn outputs_pin_their_schema_version() {
        let diff = SchemaName::Diff.schema();
        let report = &diff["$defs"]["DiffReport"]["properties"]["schema_version"];
        assert_eq!(report["const"], crate::report::SCHEMA_VERSION);
        let memory = SchemaName::Memory.schema();
        assert_eq!(
            memory["properties"]["schema_version"]["const"],
            crate::render::MEMORY_SCHEMA_VERSION
        );
        for name in [
            SchemaName::Inspect,
            SchemaName::Report,
            SchemaName::History,
            SchemaName::RulesList,
        ] {
            let s = name.schema();
            assert!(
                s["properties"]["schema_version"]["const"].is_u64(),
                "{name:?}: {}",
                s["properties"]["schema_version"]
            );
            assert!(
                s["required"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("schema_version")),
                "{name:?}"
            );
        }
    }
}
