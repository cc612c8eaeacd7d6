//! The scheduled fleet report: every watched image fetched (concurrently, bounded), drift
//! between each service's watched references and since the previous run, rule findings, the
//! rollback targets checked for existence, everything recorded in the history, and an alarm when
//! the schedule itself stopped. Nothing is skipped silently: an image that cannot be fetched
//! is a row with its error.
//!
//! A run is three stages: [`fetch`] (I/O: the images, the history's previous observations, the
//! rollback targets' HEADs) → [`assess`] (pure: drift, findings, statuses — testable without a
//! registry or SQLite) → record (I/O: the observations and findings written to the [`history`],
//! timelines read back). [`file`] reads the fleet file.

pub(crate) mod artifact;
pub(crate) mod assess;
pub(crate) mod fetch;
pub(crate) mod file;
pub(crate) mod history;
pub(crate) mod notify;

use std::collections::BTreeMap;

use self::file::Fleet;
use self::history::History;
use crate::report::fleet::FleetReport;
use crate::rules::RuleSet;
use crate::source::Fetcher;

/// Everything a run needs.
pub(crate) struct RunInput<'a> {
    /// The fleet.
    pub(crate) fleet: &'a Fleet,
    /// Its file name (recorded).
    pub(crate) fleet_name: &'a str,
    /// Rules per service (built-ins plus the fleet's and the service's files), shared.
    pub(crate) rules: &'a BTreeMap<String, std::sync::Arc<RuleSet>>,
    /// Now, seconds since the epoch.
    pub(crate) now: i64,
    /// `--expect-every`, in seconds.
    pub(crate) expect_every: Option<i64>,
    /// Called before the first fetch with (0, total, "") and after each with (done, total,
    /// what): progress.
    pub(crate) progress: &'a (dyn Fn(usize, usize, &str) + Sync),
    /// Images fetched at once (`--jobs`): each completes early, so progress moves from the
    /// first requests on instead of after every manifest was asked for.
    pub(crate) jobs: usize,
}

/// Runs the report and records it. History errors are errors (the record is the point).
pub(crate) async fn run(
    input: RunInput<'_>,
    fetcher: &Fetcher,
    history: &mut History,
) -> Result<FleetReport, history::HistoryError> {
    // The previous run is read before this one is recorded as started.
    let previous_run = history.last_finished_run()?;
    let run_id = history.start_run(&history::rfc3339(input.now), input.fleet_name)?;
    let mut observed = fetch::observe(&input, fetcher, history, run_id).await?;
    observed.previous_run = previous_run;
    let context = assess::Context {
        fleet: input.fleet,
        fleet_name: input.fleet_name,
        rules: input.rules,
        now: input.now,
        expect_every: input.expect_every,
    };
    let assessed = assess::assess(&context, observed);
    let status = if assessed.report.summary.fetch_errors > 0 {
        "partial"
    } else {
        "ok"
    };
    history.finish_run(
        run_id,
        &history::rfc3339(input.now),
        status,
        &assessed.observations,
        &assessed.findings,
    )?;
    let mut report = assessed.report;
    // Timelines include this run, now recorded.
    for s in &mut report.services {
        s.timeline = assess::timeline(&history.timeline(&s.name)?);
    }
    Ok(report)
}

/// `24h`, `90m`, `1d`, `3600s`, `1d12h` → seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        // Checked: `94368760191893771d` is an error, not a wrap-around to two minutes.
        let unit = match c {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fleet::human_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(
            parse_duration("94368760191893771d"),
            None,
            "overflow is an error"
        );
        assert_eq!(parse_duration("9223372036854775807s1s"), None);
        assert_eq!(parse_duration("1d12h"), Some(129_600));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("24"), None);
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(human_duration(90_061), "1d 1h 1m");
        assert_eq!(human_duration(30), "30s");
        assert_eq!(human_duration(60), "1m");
    }
}
