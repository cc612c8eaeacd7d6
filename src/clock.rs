//! Time as bpdrift reads and writes it: RFC 3339 UTC in reports and the history (whole
//! seconds, `humantime`), IMF-fixdate in HTTP `Retry-After` (`httpdate`). Times are seconds
//! since the epoch (`i64`) inside bpdrift.

use std::time::{Duration, SystemTime};

/// Seconds since the epoch as RFC 3339 UTC (`2026-11-23T08:00:00Z`). Times before the epoch
/// (never produced by a clock) are written as the epoch.
pub fn rfc3339(secs: i64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Parses an RFC 3339 UTC time (`Z` or `+00:00`; fractions of a second are dropped).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let utc = match s.strip_suffix("+00:00") {
        Some(rest) => format!("{rest}Z"),
        None => s.to_string(),
    };
    let t = humantime::parse_rfc3339_weak(&utc).ok()?;
    i64::try_from(t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// How far the recorded time `t` lies ahead of `now`, when further than
/// [`crate::limits::CLOCK_SKEW_MAX`]: a time no run can have seen yet (another machine's
/// clock, or a forged record). Every time read from a history, an artifact or a saved report
/// and compared with the clock is checked here first: such a time is refused or said, never
/// taken silently (a forged future run would otherwise disarm the missed-run alarm).
pub fn ahead(t: i64, now: i64) -> Option<i64> {
    let d = t.saturating_sub(now);
    (d > crate::limits::CLOCK_SKEW_MAX).then_some(d)
}

/// The sentence for a time [`ahead`] of the clock: `what` was recorded at `t`.
pub fn ahead_message(what: &str, t: i64, now: i64, by: i64) -> String {
    format!(
        "{what} is dated {} ({} s ahead of this clock, {}): a clock skew or a forged history; it is not trusted",
        rfc3339(t),
        by,
        rfc3339(now)
    )
}

/// How far ahead of this machine's clock a recorded time may be and still be believed (the one
/// allowance: [`crate::limits::CLOCK_SKEW_MAX`]). A run dated beyond it is refused on write and
/// left out on read (with a warning), so it can never make a stopped schedule look alive
/// (`--expect-every`).
pub const MAX_CLOCK_SKEW: i64 = crate::limits::CLOCK_SKEW_MAX;

/// Whether `at` lies beyond `now` plus [`MAX_CLOCK_SKEW`].
pub fn in_future(at: i64, now: i64) -> bool {
    ahead(at, now).is_some()
}

/// IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`: the form RFC 9110 requires senders to use
/// (`httpdate` also reads the two obsolete forms).
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_426_800), "2026-11-23T09:40:00Z");
        for t in [0, 951_782_400, 1_795_426_800, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(
            parse_rfc3339("2026-11-23T09:40:00+00:00"),
            Some(1_795_426_800)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn times_ahead_of_the_clock() {
        let now = 1_795_426_800;
        assert_eq!(ahead(now, now), None);
        assert_eq!(ahead(now + 3600, now), None, "minutes of skew are normal");
        assert_eq!(ahead(now + 3601, now), Some(3601));
        assert_eq!(ahead(i64::MAX, i64::MIN), Some(i64::MAX));
        assert!(ahead_message("the previous run", now + 3600, now, 3600).contains("forged"));
    }

    #[test]
    fn skew() {
        assert!(!in_future(1000 + MAX_CLOCK_SKEW, 1000));
        assert!(in_future(1001 + MAX_CLOCK_SKEW, 1000));
        assert!(!in_future(0, i64::MAX));
    }
}
