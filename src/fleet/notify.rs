//! Telling something outside the job how the scheduled run went, because a job that never runs
//! cannot raise its own alarm:
//!
//! - a heartbeat in the convention of healthchecks-style monitors: `URL/start?rid=UUID` when the
//!   run starts, `URL/<exit status>?rid=UUID` when it ends, with the run's summary as the body
//!   (its tail, within the monitor's size limit). The run id lets the monitor pair the two and
//!   tell a slow run from a hung one; the status says why it failed. A ping never fails the
//!   run: it is retried within a time limit and then a warning.
//! - the run's metrics pushed to a Prometheus Pushgateway: `PUT URL/metrics/job/bpdrift` (with
//!   `/shard/K_of_N` for a shard) when the run succeeded, which replaces the group's metrics and
//!   sets the last-success time; `POST` without that time when it failed, so the last success
//!   stays where it was and the staleness alert still sees it age.
//!
//! Both URLs may carry a secret (a ping key, user-info): they are never printed or logged.
//!
//! Specs: <https://healthchecks.io/docs/http_api/>,
//! <https://github.com/prometheus/pushgateway#api>.

use std::fmt;
use std::time::{Duration, Instant};

use crate::net::{Retry, RetryPolicy};

/// Three attempts within 20 s: enough for a blip, never long enough to matter to the run.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    max_time: Duration::from_secs(20),
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(4),
};

/// The last `limit` bytes of `text` (at a character boundary), marked when cut: what a monitor
/// that keeps a bounded body should keep is the end, where the outcome is.
pub(crate) fn tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    const MARK: &str = "[…]\n";
    let keep = limit.saturating_sub(MARK.len());
    let mut start = text.len() - keep;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("{MARK}{}", &text[start..])
}

/// A notification that could not be delivered (the URL is never part of the message).
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotifyError {
    /// The URL is not an http(s) URL.
    #[error("the {what} URL is not an http:// or https:// URL")]
    BadUrl {
        /// `heartbeat` or `Pushgateway`.
        what: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client for the {what}")]
    Client {
        /// `heartbeat` or `Pushgateway`.
        what: &'static str,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// No answer, or an error status, after the retries.
    #[error("the {what} was not delivered: {reason} (after {attempts} attempts)")]
    Undelivered {
        /// What was sent.
        what: &'static str,
        /// Status or transport failure, without the URL.
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// An endpoint whose URL is a secret: `Debug` does not show it.
#[derive(Clone)]
struct Endpoint {
    url: String,
    client: reqwest::Client,
    what: &'static str,
    /// All attempts of one notification end within this.
    budget: Duration,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({}, <url redacted>)", self.what)
    }
}

impl Endpoint {
    fn new(url: &str, what: &'static str, timeout: Duration) -> Result<Self, NotifyError> {
        let url = url.trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(NotifyError::BadUrl { what });
        }
        let mut builder = crate::net::client_builder(timeout, Duration::from_secs(5))
            // A redirect could carry the secret path elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if url.starts_with("http://") {
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let client = builder
            .build()
            .map_err(|source| NotifyError::Client { what, source })?;
        Ok(Self {
            url,
            client,
            what,
            budget: RETRY.max_time,
        })
    }

    /// Sends `method url+suffix` with `body`, retrying transport failures and 5xx/429, all
    /// within the endpoint's time budget (a monitor that accepts and never answers costs that
    /// much, once).
    async fn send(
        &self,
        method: reqwest::Method,
        suffix: &str,
        body: Option<(&'static str, String)>,
    ) -> Result<(), NotifyError> {
        match tokio::time::timeout(self.budget, self.send_unbounded(method, suffix, body)).await {
            Ok(r) => r,
            Err(_) => Err(NotifyError::Undelivered {
                what: self.what,
                reason: format!("no answer within {} s", self.budget.as_secs()),
                attempts: 1,
            }),
        }
    }

    async fn send_unbounded(
        &self,
        method: reqwest::Method,
        suffix: &str,
        body: Option<(&'static str, String)>,
    ) -> Result<(), NotifyError> {
        let url = format!("{}{suffix}", self.url);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut rb = self.client.request(method.clone(), &url);
            if let Some((ctype, b)) = &body {
                rb = rb.header("content-type", *ctype).body(b.clone());
            }
            let (retryable, reason) = match rb.send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let s = r.status();
                    (
                        s.is_server_error() || s.as_u16() == 429,
                        format!("HTTP {}", s.as_u16()),
                    )
                }
                // `without_url`: the error's text must not carry the secret URL.
                Err(e) => (
                    true,
                    if e.is_timeout() {
                        "timed out".into()
                    } else {
                        crate::net::innermost(&e.without_url())
                    },
                ),
            };
            match RETRY.next(attempt, started.elapsed(), None) {
                Retry::After(d) if retryable => tokio::time::sleep(d).await,
                _ => {
                    return Err(NotifyError::Undelivered {
                        what: self.what,
                        reason,
                        attempts: attempt,
                    });
                }
            }
        }
    }
}

/// How the run went, for the heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ping {
    /// The run starts (monitors measure the run's duration from here).
    Start,
    /// The run ended with this exit status (0 clean, 1 flagged or a missed run, 2 an error).
    Exit(u8),
}

/// A healthchecks-style heartbeat URL.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeat(Endpoint);

impl Heartbeat {
    /// Checks the URL and builds the client; sends nothing. `limit`: the most one ping may
    /// take, retries included.
    pub(crate) fn new(url: &str, limit: Duration) -> Result<Self, NotifyError> {
        let mut e = Endpoint::new(url, "heartbeat", limit.min(Duration::from_secs(10)))?;
        e.budget = limit;
        Ok(Self(e))
    }

    /// Pings with the run id `rid` and `body`; a failure is a warning, never an error of the
    /// run.
    pub(crate) async fn ping(&self, ping: Ping, rid: &str, body: Option<String>) {
        let suffix = match ping {
            Ping::Start => format!("/start?rid={rid}"),
            Ping::Exit(code) => format!("/{code}?rid={rid}"),
        };
        let body = body.map(|b| ("text/plain; charset=utf-8", b));
        match self.0.send(reqwest::Method::POST, &suffix, body).await {
            Ok(()) => tracing::debug!(?ping, "heartbeat sent"),
            Err(e) => tracing::warn!("{e}"),
        }
    }
}

/// A Prometheus Pushgateway.
#[derive(Debug, Clone)]
pub(crate) struct Pushgateway(Endpoint);

impl Pushgateway {
    /// Checks the URL and builds the client; sends nothing.
    pub(crate) fn new(url: &str) -> Result<Self, NotifyError> {
        Endpoint::new(url, "Pushgateway", Duration::from_secs(10)).map(Self)
    }

    /// Pushes `exposition` to the `bpdrift` job (its `shard` group, for a shard): replacing
    /// the group's metrics after a `success`, else updating only the series it holds.
    pub(crate) async fn push(
        &self,
        exposition: String,
        success: bool,
        shard: Option<&str>,
    ) -> Result<(), NotifyError> {
        let mut path = "/metrics/job/bpdrift".to_string();
        if let Some(s) = shard {
            path.push_str(&format!("/shard/{}", s.replace('/', "_of_")));
        }
        let method = if success {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        self.0
            .send(
                method,
                &path,
                Some(("text/plain; version=0.0.4", exposition)),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_kept_within_the_limit() {
        assert_eq!(tail("short", 100), "short");
        let text = format!("{}\nexit status 2", "é".repeat(100));
        let t = tail(&text, 40);
        assert!(t.len() <= 40, "{}", t.len());
        assert!(
            t.starts_with("[…]\n") && t.ends_with("exit status 2"),
            "{t}"
        );
    }
}
