//! Telling something outside the job how the scheduled run went, because a job that never runs
//! cannot raise its own alarm:
//!
//! - a heartbeat in the convention of healthchecks-style monitors: `URL/start` when the run
//!   starts, `URL` when it succeeds, `URL/fail` when it fails. A ping never fails the run: it is
//!   retried (bounded) and then a warning.
//! - the run's metrics pushed to a Prometheus Pushgateway (`PUT URL/metrics/job/bpdrift`, which
//!   replaces the job's previous metrics).
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
        Ok(Self { url, client, what })
    }

    /// Sends `method url+suffix` with `body`, retrying transport failures and 5xx/429.
    async fn send(
        &self,
        method: reqwest::Method,
        suffix: &str,
        body: Option<String>,
    ) -> Result<(), NotifyError> {
        let url = format!("{}{suffix}", self.url);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut rb = self.client.request(method.clone(), &url);
            if let Some(b) = &body {
                rb = rb
                    .header("content-type", "text/plain; version=0.0.4")
                    .body(b.clone());
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
    /// The run finished and saw every image.
    Success,
    /// The run failed.
    Fail,
}

/// A healthchecks-style heartbeat URL.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeat(Endpoint);

impl Heartbeat {
    /// Checks the URL and builds the client; sends nothing.
    pub(crate) fn new(url: &str) -> Result<Self, NotifyError> {
        Endpoint::new(url, "heartbeat", Duration::from_secs(10)).map(Self)
    }

    /// Pings; a failure is a warning, never an error of the run.
    pub(crate) async fn ping(&self, ping: Ping) {
        let suffix = match ping {
            Ping::Start => "/start",
            Ping::Success => "",
            Ping::Fail => "/fail",
        };
        match self.0.send(reqwest::Method::POST, suffix, None).await {
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

    /// Replaces the `bpdrift` job's metrics with `exposition`.
    pub(crate) async fn push(&self, exposition: String) -> Result<(), NotifyError> {
        self.0
            .send(
                reqwest::Method::PUT,
                "/metrics/job/bpdrift",
                Some(exposition),
            )
            .await
    }
}
