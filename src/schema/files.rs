//! The documents people write — rule files (docs/rules.md) and fleet files (docs/report.md) — as
//! types, for their JSON Schemas only: the parsers in `rules::file` and `fleet::file` walk the
//! TOML by hand to report every problem at its position. The tests below keep the keys here equal
//! to the keys those parsers accept, and every word list is the parser's own constant, so the
//! schema and the parser cannot say different things without a failing test.
//!
//! What a schema cannot say stays with the parser (`bpdrift rules check` is the full check):
//! version ranges that parse, exactly one subject per rule, a `fixed` after `introduced`.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use super::input;

/// A rule file: `[[rule]]` tables, `ignore` patterns, `[computed]` severities.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)] // a schema, never built
pub(crate) struct RuleFileDoc {
    /// The family of every rule in the file (`jvm`, `go`, `run-image`); a rule may name its own.
    #[serde(default)]
    #[schemars(schema_with = "family")]
    family: Option<String>,
    /// Changes left out before the rules run: `label:NAME` or `env:NAME` (globs).
    #[serde(default)]
    #[schemars(schema_with = "ignore_patterns")]
    ignore: Option<Vec<String>>,
    /// The rules.
    rule: Option<Vec<RuleDoc>>,
    /// Severities of the computed findings: a severity or `off`.
    #[serde(default)]
    #[schemars(schema_with = "computed")]
    computed: Option<BTreeMap<String, String>>,
}

/// One `[[rule]]`: an id, a severity, a summary, exactly one subject, and conditions.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct RuleDoc {
    /// Stable id: lowercase letters, digits, `-`, `_`, `.`.
    #[schemars(regex(pattern = r"^[a-z0-9._-]+$"))]
    id: String,
    /// How much a finding matters.
    severity: crate::rules::Severity,
    /// What the change may affect (`memory`, `startup`, `runtime`, …).
    affects: Option<OneOrMany>,
    /// One line; `{before}`, `{after}` and `{subject}` are filled in.
    summary: String,
    /// What to do.
    advice: Option<String>,
    /// Links (http or https) that show the behaviour changed.
    #[serde(default)]
    #[schemars(schema_with = "links")]
    sources: Option<Vec<String>>,
    /// Subject: buildpack ids (globs); with `dependency`, narrows it to those buildpacks.
    buildpack: Option<OneOrMany>,
    /// Subject: image extension ids (globs).
    extension: Option<OneOrMany>,
    /// Subject: runtime dependency layers (globs), e.g. `jre`.
    dependency: Option<OneOrMany>,
    /// Subject: the lifecycle version.
    #[serde(default)]
    #[schemars(schema_with = "flag_true")]
    lifecycle: Option<bool>,
    /// Subject: the Platform API.
    #[serde(default)]
    #[schemars(schema_with = "flag_true")]
    platform_api: Option<bool>,
    /// Subject: the run image.
    #[serde(default)]
    #[schemars(schema_with = "flag_true")]
    run_image: Option<bool>,
    /// Subject: the stack id.
    #[serde(default)]
    #[schemars(schema_with = "flag_true")]
    stack: Option<bool>,
    /// Subject: label names (globs).
    label: Option<OneOrMany>,
    /// Subject: env variable names (globs).
    env: Option<OneOrMany>,
    /// Subject: process types (globs).
    process: Option<OneOrMany>,
    /// Subject: package names (globs), from the SBOM or the packages label.
    package: Option<OneOrMany>,
    /// Subject: runtimes (`java`, `node`, `go`, … or globs).
    runtime: Option<OneOrMany>,
    /// With `package`: purl types (globs), e.g. `deb`.
    purl_type: Option<OneOrMany>,
    /// The first version with the behaviour (a crossing rule), or the first bad one (with `fixed`).
    introduced: Option<String>,
    /// The first version without the problem: the bug window is `[introduced, fixed)`.
    fixed: Option<String>,
    /// A semver requirement on the old version, e.g. `>=10, <11`.
    from: Option<String>,
    /// A semver requirement on the new version.
    to: Option<String>,
    /// Kinds of change that fire the rule.
    #[serde(default)]
    #[schemars(schema_with = "change_kinds")]
    change: Option<Vec<String>>,
    /// The old value (globs), for unversioned subjects.
    from_value: Option<OneOrMany>,
    /// The new value (globs).
    to_value: Option<OneOrMany>,
    /// A precondition on the new image.
    applies_if: Option<AppliesIfDoc>,
    /// Image kinds the rule looks at; absent: every kind.
    #[serde(default)]
    #[schemars(schema_with = "image_kinds")]
    image_kinds: Option<Vec<String>>,
    /// What a crossing rule reports going back below `introduced`: a severity or `off`.
    #[serde(default)]
    #[schemars(schema_with = "severity_or_off")]
    reverse_severity: Option<String>,
    /// The text of that way back.
    reverse_summary: Option<String>,
    /// What else the behaviour depends on that images do not record.
    depends_on: Option<String>,
    /// The rule's own family, over the file's.
    #[serde(default)]
    #[schemars(schema_with = "family")]
    family: Option<String>,
}

/// `applies-if`: a dependency or runtime with a version requirement, or a `GODEBUG` setting.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct AppliesIfDoc {
    /// Runtime dependency layers (globs).
    dependency: Option<OneOrMany>,
    /// Runtimes (globs).
    runtime: Option<OneOrMany>,
    /// A semver requirement on it, e.g. `>=18`.
    version: Option<String>,
    /// `setting=old-value` the go.mod `go` line keeps, e.g. `asynctimerchan=1`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+=.+$"))]
    godebug: Option<String>,
    /// With `godebug`: whether the old value is kept.
    kept: Option<bool>,
    /// When the new image does not record it: `info` (a "may apply" finding) or `off`.
    #[serde(default)]
    #[schemars(schema_with = "when_unknown")]
    when_unknown: Option<String>,
}

/// A string or an array of strings.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// A fleet file: `[defaults]` and `[[service]]` tables.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct FleetFileDoc {
    /// What every service gets unless it says otherwise.
    defaults: Option<FleetDefaultsDoc>,
    /// The watched services.
    #[schemars(length(min = 1))]
    service: Vec<ServiceDoc>,
}

/// `[defaults]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct FleetDefaultsDoc {
    /// `os/arch[/variant]`; default `linux/amd64`.
    #[serde(default)]
    #[schemars(schema_with = "platform")]
    platform: Option<String>,
    /// The lowest severity that fails a service; default `error`.
    #[serde(default)]
    #[schemars(schema_with = "fail_on")]
    fail_on: Option<String>,
    /// Rule files, relative to the fleet file.
    rules: Option<OneOrMany>,
    /// `label:NAME` / `env:NAME` patterns.
    #[serde(default)]
    #[schemars(schema_with = "ignore_patterns")]
    ignore: Option<Vec<String>>,
    /// How many recorded good digests must still exist; default 3.
    rollback_targets: Option<u32>,
    /// Compare the packages in the images' SBOM layers.
    sbom: Option<bool>,
}

/// `[[service]]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)]
pub(crate) struct ServiceDoc {
    /// Unique, non-empty.
    #[schemars(length(min = 1))]
    name: String,
    /// The image running now.
    deployed: Option<String>,
    /// The image about to be deployed.
    candidate: Option<String>,
    /// More watched images by role.
    images: Option<BTreeMap<String, String>>,
    /// Pinned rollback targets.
    #[serde(default)]
    #[schemars(schema_with = "digests")]
    last_good: Option<Vec<String>>,
    /// Rule files, relative to the fleet file.
    rules: Option<OneOrMany>,
    /// `label:NAME` / `env:NAME` patterns, after the defaults'.
    #[serde(default)]
    #[schemars(schema_with = "ignore_patterns")]
    ignore: Option<Vec<String>>,
    /// The lowest severity that fails this service.
    #[serde(default)]
    #[schemars(schema_with = "fail_on")]
    fail_on: Option<String>,
    /// `os/arch[/variant]`.
    #[serde(default)]
    #[schemars(schema_with = "platform")]
    platform: Option<String>,
    /// Compare the packages in the images' SBOM layers.
    sbom: Option<bool>,
}

/// The rule-file schema, with the computed findings' ids from [`crate::rules::COMPUTED`].
pub(super) fn rule_file() -> Schema {
    input::<RuleFileDoc>()
}

/// The fleet-file schema.
pub(super) fn fleet_file() -> Schema {
    input::<FleetFileDoc>()
}

fn one_or_many(items: &Schema) -> Schema {
    json_schema!({
        "anyOf": [items, {"type": "array", "items": items}]
    })
}

fn family(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": "^[a-z0-9-]{1,40}$"})
}

fn ignore_patterns(_: &mut SchemaGenerator) -> Schema {
    let item = json_schema!({"type": "string", "pattern": "^(label|env):.+$"});
    one_or_many(&item)
}

fn links(_: &mut SchemaGenerator) -> Schema {
    let item = json_schema!({"type": "string", "pattern": "^https?://"});
    one_or_many(&item)
}

fn digests(_: &mut SchemaGenerator) -> Schema {
    let item = json_schema!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"});
    one_or_many(&item)
}

fn platform(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "pattern": "^[^/\\s]+/[^/\\s]+(/[^/\\s]+)?$"})
}

fn flag_true(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"const": true})
}

fn words(words: &[&str]) -> Schema {
    json_schema!({"type": "string", "enum": words})
}

fn change_kinds(_: &mut SchemaGenerator) -> Schema {
    one_or_many(&words(crate::rules::ChangeKind::WORDS))
}

fn image_kinds(_: &mut SchemaGenerator) -> Schema {
    let kinds: Vec<&str> = crate::rules::file::KIND_WORDS
        .iter()
        .map(|(w, _)| *w)
        .collect();
    one_or_many(&words(&kinds))
}

fn severity_or_off(_: &mut SchemaGenerator) -> Schema {
    words(&["info", "warning", "error", "off"])
}

fn when_unknown(_: &mut SchemaGenerator) -> Schema {
    words(&["info", "off"])
}

fn fail_on(_: &mut SchemaGenerator) -> Schema {
    words(&["info", "warning", "error", "never"])
}

fn computed(_: &mut SchemaGenerator) -> Schema {
    let ids: Vec<&str> = crate::rules::COMPUTED.iter().map(|c| c.id).collect();
    json_schema!({
        "type": "object",
        "propertyNames": {"enum": ids},
        "additionalProperties": {"enum": ["info", "warning", "error", "off"]}
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn keys(schema: &Value, def: &str) -> BTreeSet<String> {
        let obj = if def.is_empty() {
            schema
        } else {
            &schema["$defs"][def]
        };
        obj["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no properties in {def}: {obj}"))
            .keys()
            .cloned()
            .collect()
    }

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rule_file_keys_are_the_parsers() {
        let s = rule_file().to_value();
        // The top-level keys: each is accepted (no "unknown key"), and another is not.
        for key in keys(&s, "").iter().map(String::as_str).chain(["bogus"]) {
            let file = crate::rules::parse_file("t.toml", &format!("{key} = 1"));
            let unknown = file
                .diagnostics
                .iter()
                .any(|d| d.message.starts_with("unknown key"));
            assert_eq!(unknown, key == "bogus", "{key}: {:?}", file.diagnostics);
        }
        assert_eq!(keys(&s, "RuleDoc"), set(&crate::rules::file::keys()));
        assert_eq!(
            keys(&s, "AppliesIfDoc"),
            set(crate::rules::file::APPLIES_IF_KEYS)
        );
    }

    #[test]
    fn fleet_file_keys_are_the_parsers() {
        let s = fleet_file().to_value();
        assert_eq!(keys(&s, ""), set(crate::fleet::file::TOP_KEYS));
        assert_eq!(
            keys(&s, "FleetDefaultsDoc"),
            set(crate::fleet::file::DEFAULT_KEYS)
        );
        assert_eq!(
            keys(&s, "ServiceDoc"),
            set(crate::fleet::file::SERVICE_KEYS)
        );
    }

    /// The built-in rule files are rule files: each deserializes into the document type (which
    /// refuses unknown keys and wrong types), so the type describes what the parser takes.
    #[test]
    fn builtin_rule_files_fit_the_document_type() {
        for (family, text) in crate::rules::BUILTIN {
            if let Err(e) = toml::from_str::<RuleFileDoc>(text) {
                panic!("built-in {family} rules do not fit the schema type: {e}");
            }
        }
    }
}
