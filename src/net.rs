//! HTTP plumbing shared by every client bpdrift has (the registry client in `source::registry`,
//! the GitHub REST client in `github::api`): how a `reqwest` client is built, one retry policy
//! (exponential backoff with jitter, `Retry-After`, a bound on attempts and on total time), what
//! counts as a retryable transport failure, and how an error chain becomes one line.
//!
//! Retries are decided here and slept by the caller, so each client keeps its own wording for
//! "gave up" while the arithmetic exists once.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A `reqwest` client builder with bpdrift's user agent and time limits. Installs the TLS
/// crypto provider (ring) once per process.
pub(crate) fn client_builder(
    timeout: Duration,
    connect_timeout: Duration,
) -> reqwest::ClientBuilder {
    // Another part of the process may have installed a provider already; either is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("bpdrift/", env!("CARGO_PKG_VERSION")))
        // Connection refused fails at once; an unroutable host must not hang an incident.
        .connect_timeout(connect_timeout.min(timeout))
        .timeout(timeout)
}

/// How often and how long to retry a request that failed in a way worth retrying.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts per request, the first included.
    pub(crate) attempts: u32,
    /// Total time one request may take across its attempts.
    pub(crate) max_time: Duration,
    /// First backoff; doubled each attempt, with ±50 % jitter, at most [`Self::max_delay`].
    pub(crate) base_delay: Duration,
    /// Longest single backoff.
    pub(crate) max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            max_time: Duration::from_secs(60),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What to do after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Sleep this long, then try again.
    After(Duration),
    /// Out of attempts, or the wait would pass the time budget.
    GiveUp,
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (`attempt` is 1-based), jittered.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        // Jitter in [0.5, 1.5) so that parallel clients do not retry in lockstep.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
        exp.mul_f64(factor)
    }

    /// After failed attempt `attempt` (1-based) at `elapsed` since the first: wait `asked` (a
    /// server's `Retry-After`) or the backoff, unless that leaves the budget.
    pub(crate) fn next(&self, attempt: u32, elapsed: Duration, asked: Option<Duration>) -> Retry {
        let wait = asked.unwrap_or_else(|| self.backoff(attempt));
        if attempt >= self.attempts || elapsed.saturating_add(wait) > self.max_time {
            Retry::GiveUp
        } else {
            Retry::After(wait)
        }
    }
}

/// `Retry-After` as seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = crate::clock::parse_http_date(v)?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A connection reset, abort or an early close of a kept-alive connection: worth retrying.
pub(crate) fn is_reset(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() {
        return false;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        if err
            .to_string()
            .contains("connection closed before message completed")
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The deepest cause, for short messages ("Connection refused (os error 111)").
pub(crate) fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}

/// One line per error: the message, then causes that add something, joined by ": ".
/// `reqwest`'s own wording ("error sending request") adds nothing to ours and is skipped.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        if s.downcast_ref::<reqwest::Error>().is_some() {
            break;
        }
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cur = s.source();
    }
    msg
}

/// `application/x-www-form-urlencoded` body.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_stays_within_the_budget() {
        let p = RetryPolicy {
            attempts: 3,
            max_time: Duration::from_secs(5),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert!(matches!(p.next(1, Duration::ZERO, None), Retry::After(_)));
        assert_eq!(p.next(3, Duration::ZERO, None), Retry::GiveUp);
        assert_eq!(
            p.next(1, Duration::from_secs(4), Some(Duration::from_secs(2))),
            Retry::GiveUp
        );
        for a in 1..40 {
            assert!(p.backoff(a) < Duration::from_millis(1500));
        }
    }

    #[test]
    fn error_line_skips_repeated_causes() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(inner).context("cannot read `x`");
        assert_eq!(error_chain(e.as_ref()), "cannot read `x`: no such file");
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form(&[("scope", "repository:a/b:pull"), ("x", "a b&c")]),
            "scope=repository%3Aa%2Fb%3Apull&x=a+b%26c"
        );
    }
}
