//! The fleet report as Prometheus metrics, in the text exposition format (0.0.4): written for
//! node_exporter's textfile collector (`--metrics FILE`) and pushed to a Pushgateway
//! (`--pushgateway URL`). A scheduled job that stops running stops updating
//! `bpdrift_report_last_success_timestamp_seconds`; an alert on its age is the dead man's switch
//! that the job itself cannot be (docs/report.md). Pure.
//!
//! Spec: <https://prometheus.io/docs/instrumenting/exposition_formats/>.

use std::fmt::Write as _;

use super::fleet::{FleetReport, ServiceStatus, TargetStatus};
use crate::rules::Severity;

/// What the report itself does not hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunFacts {
    /// How long the run took, in seconds.
    pub(crate) duration_seconds: f64,
    /// When the last run that saw every image finished (this one, when it did), seconds since
    /// the epoch; `None` before the first such run.
    pub(crate) last_success: Option<i64>,
}

/// Every status a service can have, so a dashboard sees 0 for the ones it is not in.
const STATUSES: [ServiceStatus; 6] = [
    ServiceStatus::Failed,
    ServiceStatus::Error,
    ServiceStatus::Warning,
    ServiceStatus::Info,
    ServiceStatus::Drift,
    ServiceStatus::Ok,
];

/// A label value, escaped as the exposition format requires (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The exposition text of one run.
pub(crate) fn exposition(report: &FleetReport, facts: &RunFacts) -> String {
    let mut out = String::new();
    if let Some(t) = facts.last_success {
        family(
            &mut out,
            "bpdrift_report_last_success_timestamp_seconds",
            "When the last fleet report that fetched every image finished (Unix time).",
        );
        let _ = writeln!(out, "bpdrift_report_last_success_timestamp_seconds {t}");
    }
    family(
        &mut out,
        "bpdrift_report_duration_seconds",
        "How long the last fleet report took.",
    );
    let _ = writeln!(
        out,
        "bpdrift_report_duration_seconds {:.3}",
        facts.duration_seconds
    );
    family(
        &mut out,
        "bpdrift_images_failed",
        "Watched images the last fleet report could not fetch.",
    );
    let _ = writeln!(out, "bpdrift_images_failed {}", report.summary.fetch_errors);
    family(
        &mut out,
        "bpdrift_service_findings",
        "Findings per service and severity in the last fleet report.",
    );
    for s in &report.services {
        for sev in [Severity::Error, Severity::Warning, Severity::Info] {
            let n = s.findings.iter().filter(|f| f.severity == sev).count();
            let _ = writeln!(
                out,
                "bpdrift_service_findings{{service=\"{}\",severity=\"{sev}\"}} {n}",
                label(&s.name)
            );
        }
    }
    family(
        &mut out,
        "bpdrift_service_status",
        "1 for the status each service has in the last fleet report, 0 for the others.",
    );
    for s in &report.services {
        for st in STATUSES {
            let _ = writeln!(
                out,
                "bpdrift_service_status{{service=\"{}\",status=\"{st}\"}} {}",
                label(&s.name),
                u8::from(s.status == st)
            );
        }
    }
    family(
        &mut out,
        "bpdrift_rollback_targets_missing",
        "Rollback targets of each service that no longer exist in the registry.",
    );
    for s in &report.services {
        let n = s
            .rollback
            .iter()
            .filter(|t| t.status == TargetStatus::Vanished)
            .count();
        let _ = writeln!(
            out,
            "bpdrift_rollback_targets_missing{{service=\"{}\"}} {n}",
            label(&s.name)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
