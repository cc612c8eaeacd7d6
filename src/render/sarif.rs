//! SARIF 2.1.0 for GitHub code scanning: one result per finding, its rule in
//! `tool.driver.rules`, a location in the file that pins the image, stable fingerprints.
//!
//! See: <https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/sarif-v2.1.0-errata01-os-complete.html>
//! and GitHub's subset: <https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning>.
//!
//! An image has no source line, so a result points at the file that pins it — `project.toml`,
//! the fleet file, or `--sarif-location` — at the first line naming the finding's subject (a
//! buildpack id, the service), else line 1. Its `partialFingerprints` hash what the finding is
//! about (rule, category, subject, service or platform), never versions or digests: the same
//! problem on the next build is the same alert, and GitHub closes it once the finding is gone.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::report::DiffReport;
use crate::report::fleet::FleetReport;
use crate::rules::{COMPUTED, Finding, RuleSet, Severity};

/// The schema a SARIF log names.
const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Where a rule without sources points.
const RULES_DOC: &str = "https://github.com/bpdrift/bpdrift/blob/main/docs/rules.md";
/// The `partialFingerprints` key (versioned: a change of what is hashed is a new key).
const FINGERPRINT: &str = "bpdriftFinding/v1";

/// Where results point and what the rules are.
pub struct SarifContext<'a> {
    /// The repository-relative URI of the file that pins the image(s).
    pub uri: String,
    /// That file's text, when it could be read: results point at the line naming their subject.
    pub text: Option<&'a str>,
    /// The rule sets in effect (their ids, severities, texts and sources describe the rules).
    pub rules: Vec<&'a RuleSet>,
}

/// One finding with what scopes it: the service (fleet) or platform (`--platform all`).
struct Scoped<'a> {
    finding: &'a Finding,
    scope: Option<&'a str>,
    image: &'a str,
}

/// `diff --format sarif`: the findings of one report.
pub fn diff_sarif(
    report: &DiffReport,
    ctx: &SarifContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let image = report.after.origin.reference.as_str();
    let findings = report
        .findings
        .iter()
        .map(|finding| Scoped {
            finding,
            scope: None,
            image,
        })
        .collect();
    write(findings, ctx, out)
}

/// `diff --platform all --format sarif`: every platform's findings, and the lost platforms'.
pub fn platforms_sarif(
    entries: &[crate::report::PlatformEntry],
    after: &str,
    ctx: &SarifContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut findings = Vec::new();
    for e in entries {
        let scope = Some(e.platform.as_str());
        if let Some(r) = &e.report {
            findings.extend(r.findings.iter().map(|finding| Scoped {
                finding,
                scope,
                image: after,
            }));
        }
        if let Some(finding) = &e.finding {
            findings.push(Scoped {
                finding,
                scope,
                image: after,
            });
        }
    }
    write(findings, ctx, out)
}

/// `report --format sarif`: every service's findings, scoped by service.
pub fn fleet_sarif(
    report: &FleetReport,
    ctx: &SarifContext<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut findings = Vec::new();
    for s in &report.services {
        let image = s
            .images
            .iter()
            .find(|i| i.role == "candidate")
            .or(s.images.first())
            .map_or("", |i| i.reference.as_str());
        findings.extend(s.findings.iter().map(|finding| Scoped {
            finding,
            scope: Some(s.name.as_str()),
            image,
        }));
    }
    write(findings, ctx, out)
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    /// `%SRCROOT%`: the repository root, which GitHub resolves to the checkout.
    original_uri_base_ids: BTreeMap<&'static str, BaseId>,
    results: Vec<SarifResult<'a>>,
    column_kind: &'static str,
}

#[derive(Serialize)]
struct BaseId {
    description: Text,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    /// GitHub shows them as the rule's tags.
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location<'a>; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    physical_location: PhysicalLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: &'a str,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    /// The image the finding is about.
    image: &'a str,
    /// The service (fleet report) or platform (`--platform all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    category: &'a str,
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
    affects: &'a [String],
}

/// SARIF's level of a severity (`info` is a `note`).
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn write(findings: Vec<Scoped<'_>>, ctx: &SarifContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    // One descriptor per rule id, in order of first appearance.
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut results = Vec::new();
    for s in &findings {
        let f = s.finding;
        let index = match rules.iter().position(|r| r.id == f.rule) {
            Some(i) => i,
            None => {
                rules.push(descriptor(f, &ctx.rules));
                rules.len() - 1
            }
        };
        let mut message = f.summary.clone();
        if let Some(note) = &f.note {
            message.push_str(&format!(" ({note})"));
        }
        if let Some(advice) = &f.advice {
            message.push_str(&format!(" {advice}"));
        }
        results.push(SarifResult {
            rule_id: &f.rule,
            rule_index: index,
            level: level(f.severity),
            message: Text { text: message },
            locations: [Location {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: &ctx.uri,
                        uri_base_id: "%SRCROOT%",
                    },
                    region: Region {
                        start_line: line_of(ctx.text, f, s.scope),
                    },
                },
            }],
            partial_fingerprints: BTreeMap::from([(FINGERPRINT, fingerprint(f, s.scope))]),
            properties: ResultProperties {
                image: s.image,
                scope: s.scope,
                category: f.change.category.as_str(),
                subject: &f.change.subject,
                before: f.change.before.as_deref(),
                after: f.change.after.as_deref(),
                affects: &f.affects,
            },
        });
    }
    let log = Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "bpdrift",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: env!("CARGO_PKG_REPOSITORY"),
                    rules,
                },
            },
            original_uri_base_ids: BTreeMap::from([(
                "%SRCROOT%",
                BaseId {
                    description: Text {
                        text: "The repository root.".into(),
                    },
                },
            )]),
            results,
            column_kind: "unicodeCodePoints",
        }],
    };
    // Finding texts come from rule files and images: JSON-escaped like every JSON output.
    crate::sanitize::json::write(out, &log)
}

/// The rule's descriptor: from the rule set that defines it, else the computed findings, else
/// what the finding itself says.
fn descriptor(f: &Finding, sets: &[&RuleSet]) -> ReportingDescriptor {
    let rule = sets.iter().flat_map(|s| s.rules()).find(|r| r.id == f.rule);
    let computed = COMPUTED.iter().find(|c| c.id == f.rule);
    let (severity, summary, advice, sources, mut tags, condition) = match (rule, computed) {
        (Some(r), _) => (
            r.severity,
            r.summary.clone(),
            r.advice.clone(),
            r.sources.clone(),
            r.affects.clone(),
            format!("{}: {}", r.subject.describe(), r.condition.describe()),
        ),
        (None, Some(c)) => (
            c.severity,
            c.summary.to_string(),
            f.advice.clone(),
            f.sources.clone(),
            c.affects.iter().map(|a| a.to_string()).collect(),
            format!("{}: {}", c.subject, c.condition),
        ),
        (None, None) => (
            f.severity,
            f.summary.clone(),
            f.advice.clone(),
            f.sources.clone(),
            f.affects.clone(),
            f.change.category.as_str().to_string(),
        ),
    };
    if let Some(family) = rule.and_then(|r| r.family.as_ref()) {
        tags.push(family.clone());
    }
    tags.insert(0, "buildpacks".into());
    let help_uri = sources
        .first()
        .cloned()
        .unwrap_or_else(|| RULES_DOC.to_string());
    let mut text = format!("{summary}\n\nWhen: {condition}.");
    let mut markdown = format!(
        "{}\n\n**When:** {}.",
        super::markdown_escape(&summary),
        super::markdown_escape(&condition)
    );
    if let Some(a) = &advice {
        text.push_str(&format!("\n\nWhat to do: {a}"));
        markdown.push_str(&format!(
            "\n\n**What to do:** {}",
            super::markdown_escape(a)
        ));
    }
    if !sources.is_empty() {
        text.push_str("\n\nSources:");
        markdown.push_str("\n\n**Sources:**\n");
        for s in &sources {
            text.push_str(&format!("\n- {s}"));
            markdown.push_str(&format!("\n- <{s}>"));
        }
    }
    ReportingDescriptor {
        id: f.rule.clone(),
        short_description: Text {
            text: first_sentence(&summary),
        },
        full_description: Text {
            text: format!("{summary} ({condition})"),
        },
        help: Help { text, markdown },
        help_uri,
        default_configuration: Configuration {
            level: level(severity),
        },
        properties: RuleProperties { tags },
    }
}

/// The summary's first sentence, at most 200 characters (GitHub lists rules by it).
fn first_sentence(s: &str) -> String {
    let end = s.find(". ").map_or(s.len(), |i| i + 1);
    let mut t: String = s[..end].chars().take(200).collect();
    if t.len() < end {
        t.push('…');
    }
    t
}

/// What identifies an alert across runs: rule, category, subject and scope — not versions,
/// digests or texts, which change while the problem stays.
fn fingerprint(f: &Finding, scope: Option<&str>) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}",
        f.rule,
        f.change.category.as_str(),
        f.change.subject,
        scope.unwrap_or("")
    );
    crate::digest::sha256(key.as_bytes())
        .trim_start_matches("sha256:")
        .to_string()
}

/// The first line of the pinning file that names the finding's subject (a buildpack id, the
/// buildpack of a dependency) or its scope (a service's `name = "…"`), else the line of
/// `builder`, else 1.
fn line_of(text: Option<&str>, f: &Finding, scope: Option<&str>) -> usize {
    let Some(text) = text else {
        return 1;
    };
    let subject = f.change.subject.as_str();
    let inner = subject
        .split_once(" (")
        .map(|(_, rest)| rest.trim_end_matches(')'));
    let quoted = |s: &str| format!("\"{s}\"");
    let mut wanted: Vec<String> = vec![quoted(subject)];
    wanted.extend(inner.map(quoted));
    if let Some(scope) = scope {
        wanted.push(quoted(scope));
    }
    let lines: Vec<&str> = text.lines().collect();
    let find = |needle: &str| lines.iter().position(|l| l.contains(needle));
    wanted
        .iter()
        .find_map(|w| find(w))
        .or_else(|| {
            lines
                .iter()
                .position(|l| l.trim_start().starts_with("builder"))
        })
        .map_or(1, |i| i + 1)
}
