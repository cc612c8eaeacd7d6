//! Which changes matter. For now a fixed policy: a major bump, a downgrade or a removed buildpack
//! is a warning. The rule-file engine replaces this with data-driven rules.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::diff::{Category, Change, Diff, Status};
use crate::version::VersionClass;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth a look before deploying.
    Warning,
    /// Likely to break.
    Error,
}

impl Severity {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--fail-on`: the lowest severity that makes the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
    /// Never exit 1 for findings.
    Never,
}

impl FailOn {
    /// Whether a finding of `severity` fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            Self::Info => true,
            Self::Warning => severity >= Severity::Warning,
            Self::Error => severity >= Severity::Error,
            Self::Never => false,
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            other => Err(format!("unknown severity `{other}`")),
        }
    }
}

/// A change that a rule flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id (kebab-case, stable).
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// What it may affect: `memory`, `runtime`, `startup`, `cache`, `security`…
    pub affects: Vec<String>,
    /// One line.
    pub summary: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Links backing the rule.
    pub sources: Vec<String>,
    /// The change it matched.
    pub change: Change,
}

/// The interim built-in policy.
pub fn evaluate(diff: &Diff) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in diff.changed().filter(|c| c.category == Category::Buildpack) {
        let (rule, summary) = match (c.status, c.class) {
            (Status::Changed, Some(VersionClass::Major)) => (
                "buildpack-major-bump",
                format!(
                    "{} moved a major version ({} → {}): defaults and behaviour may have changed",
                    c.subject,
                    c.before.as_deref().unwrap_or_default(),
                    c.after.as_deref().unwrap_or_default()
                ),
            ),
            (Status::Changed, Some(VersionClass::Downgrade)) => (
                "buildpack-downgrade",
                format!(
                    "{} went back from {} to {}",
                    c.subject,
                    c.before.as_deref().unwrap_or_default(),
                    c.after.as_deref().unwrap_or_default()
                ),
            ),
            (Status::Removed, _) => (
                "buildpack-removed",
                format!(
                    "{} no longer takes part in the build (it did not detect, or the builder dropped it)",
                    c.subject
                ),
            ),
            _ => continue,
        };
        out.push(Finding {
            rule: rule.into(),
            severity: Severity::Warning,
            affects: vec!["runtime".into()],
            summary,
            advice: None,
            sources: Vec::new(),
            change: c.clone(),
        });
    }
    out
}
