//! The transport under every registry request: which client (plain, or TLS with the host's
//! trust), one request at a time to an `https://` host until its HTTP/2 connection is up, the
//! retry loop, and bodies streamed to a file within a limit.

use super::*;

impl RegistryClient {
    /// For an `https://` URL whose host has not answered yet: the lock held by the request
    /// that opens the host's connection (the caller holds it until the response headers
    /// arrive). `None` once the host has answered, and for plain HTTP, where there is no
    /// multiplexing to wait for.
    pub(super) async fn first_to_host(
        &self,
        url: &str,
    ) -> Option<tokio::sync::OwnedMutexGuard<bool>> {
        let rest = url.strip_prefix("https://")?;
        let host = rest.split('/').next().unwrap_or(rest).to_string();
        let gate = self
            .opened
            .lock()
            .expect("opened lock")
            .entry(host)
            .or_default()
            .clone();
        let guard = gate.lock_owned().await;
        // Answered (or failed) already: go, in parallel with the rest.
        if *guard { None } else { Some(guard) }
    }

    /// The client for `url`: the plain one for `http://`, otherwise the TLS one for its host's
    /// certs.d directory (built now if needed: trust store, extra CAs, client certificate).
    pub(super) fn http(&self, url: &str) -> Result<reqwest::Client, String> {
        if url.starts_with("http://") {
            return Ok(self.plain.clone());
        }
        let host = tls::url_host(url);
        let dir = self.trust.host_dir(&host);
        let mut clients = self.tls.lock().expect("tls lock");
        clients
            .entry(dir)
            .or_insert_with(|| {
                self.trust.client(
                    net::client_builder(self.timeout, Duration::from_secs(5))
                        .redirect(redirect_policy(&self.redirects)),
                    &host,
                )
            })
            .clone()
            .map(|(c, _)| c)
    }

    /// Whether the server at `url` asked for a client certificate its client did not have.
    pub(super) fn cert_missing(&self, url: &str) -> bool {
        let dir = self.trust.host_dir(&tls::url_host(url));
        self.tls
            .lock()
            .expect("tls lock")
            .get(&dir)
            .is_some_and(|c| c.as_ref().is_ok_and(|(_, cert)| cert.was_missing()))
    }

    pub(super) fn unreachable(
        &self,
        r: &RegistryRef,
        url: &str,
        e: reqwest::Error,
    ) -> RegistryError {
        let missing = url.starts_with("https://") && self.cert_missing(url);
        // A redirect (a registry sending blobs to a CDN) fails at its target: that host is the
        // one named.
        let failed = self
            .redirects
            .lock()
            .expect("redirects lock")
            .get(url)
            .cloned()
            .unwrap_or_else(|| url.to_string());
        let (host, target) = (tls::url_host(url), tls::url_host(&failed));
        let reason = if let Some(why) = tls::explain(&e, &target, missing) {
            if target == host {
                why
            } else {
                format!("redirected to `{target}`: {why}")
            }
        } else if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            format!("connection failed ({})", innermost(&e))
        } else {
            format!("request failed ({})", innermost(&e))
        };
        RegistryError::Unreachable {
            registry: r.registry().to_string(),
            reference: r.input.clone(),
            reason,
            source: e.without_url(),
        }
    }

    /// Sends a request built by `build`, retrying 429/502/503/504 and connection resets with
    /// exponential backoff and jitter, honouring `Retry-After`, within the retry policy.
    pub(super) async fn send(
        &self,
        r: &RegistryRef,
        what: &'static str,
        url: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, RegistryError> {
        self.send_to(r, what, url, build, None, crate::limits::AUTH_RESPONSE_MAX)
            .await
    }

    /// [`Self::send`], streaming a successful body into `sink` (a new temporary file) instead
    /// of memory: layer blobs can be hundreds of MB. At most `limit` bytes of a successful body
    /// are read (an error body: at most [`crate::limits::AUTH_RESPONSE_MAX`]).
    pub(super) async fn send_to(
        &self,
        r: &RegistryRef,
        what: &'static str,
        url: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        sink: Option<&std::fs::File>,
        limit: u64,
    ) -> Result<Answer, RegistryError> {
        let too_large = |limit| RegistryError::TooLarge {
            registry: r.registry().into(),
            reference: r.input.clone(),
            what,
            limit,
        };
        let client = self.http(url).map_err(|reason| RegistryError::Tls {
            registry: r.registry().into(),
            reason,
        })?;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let mut first = self.first_to_host(url).await;
                let _slot = self.slots.acquire().await.expect("semaphore never closed");
                self.redirects.lock().expect("redirects lock").remove(url);
                let sent = build(&client).send().await;
                if let Some(opened) = first.as_mut() {
                    // Whatever the outcome: the pool now knows what the host speaks.
                    **opened = true;
                }
                drop(first);
                if let Ok(res) = &sent {
                    // HTTP/2 when TLS negotiated it (ALPN): one connection for every request.
                    tracing::debug!(version = ?res.version(), status = res.status().as_u16(), "response");
                }
                match sent {
                    Ok(res) if sink.is_some() && res.status().is_success() => {
                        let status = res.status();
                        let headers = res.headers().clone();
                        match stream_to(res, sink.expect("checked"), limit).await {
                            Ok(Some(digest)) => Ok(Answer {
                                status,
                                headers,
                                body: Vec::new(),
                                streamed: Some(digest),
                            }),
                            Ok(None) => return Err(too_large(limit)),
                            Err(e) => Err(e),
                        }
                    }
                    Ok(res) => {
                        let status = res.status();
                        let headers = res.headers().clone();
                        let limit = if status.is_success() {
                            limit
                        } else {
                            crate::limits::AUTH_RESPONSE_MAX
                        };
                        match crate::limits::read_body(res, limit, what).await {
                            Ok(body) => Ok(Answer {
                                status,
                                headers,
                                body,
                                streamed: None,
                            }),
                            Err(crate::limits::BodyError::Http(e)) => Err(e),
                            // An error page too long to show is still the error it says.
                            Err(crate::limits::BodyError::TooLarge(_)) if !status.is_success() => {
                                Ok(Answer {
                                    status,
                                    headers,
                                    body: Vec::new(),
                                    streamed: None,
                                })
                            }
                            Err(crate::limits::BodyError::TooLarge(t)) => {
                                return Err(too_large(t.limit));
                            }
                        }
                    }
                    Err(e) => Err(e),
                }
            };
            let (retryable, wait, last) = match &outcome {
                Ok(a) if matches!(a.status.as_u16(), 429 | 502 | 503 | 504) => (
                    true,
                    retry_after(&a.headers),
                    format!("HTTP {}", a.status.as_u16()),
                ),
                Ok(_) => return outcome.map_err(|e| self.unreachable(r, url, e)),
                Err(e) if is_reset(e) => {
                    (true, None, format!("connection reset ({})", innermost(e)))
                }
                Err(_) => return outcome.map_err(|e| self.unreachable(r, url, e)),
            };
            debug_assert!(retryable);
            let elapsed = started.elapsed();
            let Retry::After(backoff) = self.retry.next(attempt, elapsed, wait) else {
                let last = match wait {
                    Some(w) if elapsed + w > self.retry.max_time => format!(
                        "{last}, and Retry-After asks for {} s more than the {} s retry budget",
                        w.as_secs(),
                        self.retry.max_time.as_secs()
                    ),
                    _ => last,
                };
                return Err(RegistryError::GaveUp {
                    registry: r.registry().into(),
                    reference: r.input.clone(),
                    what,
                    last,
                    attempts: attempt,
                    secs: elapsed.as_secs_f64(),
                });
            };
            tracing::warn!(
                "registry `{}`: {last} for {what} of `{}`; retrying in {:.1} s (attempt {}/{})",
                r.registry(),
                r.input,
                backoff.as_secs_f64(),
                attempt + 1,
                self.retry.attempts
            );
            tokio::time::sleep(backoff).await;
        }
    }
}

/// Writes a response body into `file` chunk by chunk, returning its sha256; `None` once more
/// than `limit` bytes arrive (the transfer is dropped there).
async fn stream_to(
    mut res: reqwest::Response,
    file: &std::fs::File,
    limit: u64,
) -> Result<Option<String>, reqwest::Error> {
    use sha2::Digest as _;
    use std::io::Write as _;
    let mut hash = sha2::Sha256::new();
    let mut file = Some(file);
    let mut written: u64 = 0;
    if res.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    while let Some(chunk) = res.chunk().await? {
        written = written.saturating_add(chunk.len() as u64);
        if written > limit {
            return Ok(None);
        }
        hash.update(&chunk);
        if let Some(f) = file.as_mut()
            && f.write_all(&chunk).is_err()
        {
            file = None;
        }
    }
    let hex = manifest::hex(&hash.finalize());
    // A file that could not be written yields a digest of nothing useful: say so by mismatch.
    Ok(Some(if file.is_some() {
        format!("sha256:{hex}")
    } else {
        "unwritable".into()
    }))
}
