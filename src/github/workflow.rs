//! Workflow commands, written as text for any `io::Write`: the report in a log group (between
//! `stop-commands` tokens, so a label cannot issue commands), one annotation per finding, step
//! outputs with random delimiters, and the warning when a token may not comment.
//!
//! Spec: <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>

use std::time::SystemTime;

use super::GithubError;
use crate::rules::Severity;

/// Where the fork-safe workflow pair is explained.
pub(crate) const FORKS_DOC: &str = "https://github.com/bpdrift/bpdrift/blob/main/docs/github.md#pull-requests-from-forks-and-dependabot";

/// One finding as annotations show it.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub(crate) severity: Severity,
    pub(crate) rule: String,
    pub(crate) subject: String,
    pub(crate) summary: String,
}

/// A random hex string for output delimiters and `stop-commands` tokens. The std hasher is keyed
/// from the OS's randomness per process; no crate needed for 128 unguessable bits.
pub(crate) fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::new();
    for i in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

pub(crate) use crate::sanitize::{
    visible, workflow_data as escape_data, workflow_property as escape_property,
};

/// The report in a collapsed log group. Image labels are other people's text: between
/// `stop-commands` and its token, a line such as `::add-mask::` in a label is just text.
pub(crate) fn workflow_log(verdict: &str, log: &str) -> String {
    let token = random_hex();
    let mut s = format!(
        "::group::bpdrift: {}\n::stop-commands::{token}\n",
        escape_data(verdict)
    );
    s.push_str(log);
    if !log.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("::{token}::\n::endgroup::\n"));
    s
}

/// One `::error`/`::warning`/`::notice` per finding.
pub(crate) fn annotations(notes: &[Note]) -> String {
    notes
        .iter()
        .map(|n| {
            let level = match n.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            format!(
                "::{level} title={}::{}\n",
                escape_property(&format!("bpdrift: {}", visible(&n.rule))),
                escape_data(&format!("{}: {}", visible(&n.subject), visible(&n.summary)))
            )
        })
        .collect()
}

/// `name<<DELIM` … `DELIM` for every output: safe whatever the value holds.
pub(crate) fn outputs(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (name, value) in pairs {
        let delim = loop {
            let d = format!("ghadelimiter_{}", random_hex());
            if !value.contains(&d) {
                break d;
            }
        };
        s.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
    }
    s
}

/// `::warning title=…::…`, escaped.
pub(crate) fn warning(title: &str, text: &str) -> String {
    format!(
        "::warning title={}::{}\n",
        escape_property(title),
        escape_data(text)
    )
}

/// `::notice title=…::…`, escaped.
pub(crate) fn notice(title: &str, text: &str) -> String {
    format!(
        "::notice title={}::{}\n",
        escape_property(title),
        escape_data(text)
    )
}

pub(crate) fn soft_warning(e: &GithubError) -> String {
    let text = match e {
        GithubError::Status {
            rate_limited: Some(wait),
            ..
        } => format!(
            "{e}: the GitHub API rate limit resets in {} s, longer than this job waits; the \
             comment was not updated. The report is in the job summary.",
            wait.as_secs()
        ),
        _ => format!(
            "{e}. This token may not comment here: pull requests from forks and Dependabot get a \
             read-only token (or the job lacks `permissions: pull-requests: write`). The report \
             is in the job summary. To comment on such pull requests, split the job in two \
             workflows: `pull_request` runs bpdrift with `comment: false` and uploads the report \
             as an artifact, `workflow_run` downloads it and posts it (`from-report`). See \
             {FORKS_DOC} and examples/workflows/."
        ),
    };
    warning("bpdrift could not comment", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50%\r\nx"), "50%25\\r%0Ax");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        let notes = vec![Note {
            severity: Severity::Warning,
            rule: "r,1".into(),
            subject: "s".into(),
            summary: "line\n::error::injected".into(),
        }];
        assert_eq!(
            annotations(&notes),
            "::warning title=bpdrift%3A r%2C1::s: line\\n::error::injected\n"
        );
    }

    #[test]
    fn log_group_stops_commands_from_report_text() {
        let log = workflow_log("v", "::add-mask::x\n");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines[0], "::group::bpdrift: v");
        let token = lines[1].strip_prefix("::stop-commands::").unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(lines[3], format!("::{token}::"));
        assert_eq!(lines[4], "::endgroup::");
    }

    #[test]
    fn outputs_use_random_delimiters() {
        let s = outputs(&[("changed", "true".into()), ("comment-url", String::new())]);
        let lines: Vec<&str> = s.lines().collect();
        let d = lines[0].strip_prefix("changed<<").unwrap();
        assert!(d.starts_with("ghadelimiter_"));
        assert_eq!(lines[1], "true");
        assert_eq!(lines[2], d);
        assert!(lines[3].starts_with("comment-url<<"));
        assert_eq!(lines[4], "");
        assert_ne!(lines[3].split("<<").nth(1), Some(d));
    }
}
