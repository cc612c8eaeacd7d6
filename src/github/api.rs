//! The GitHub API of one repository with one token: the calls bpdrift makes (the token's login
//! from GraphQL's `viewer` or REST's `/user`, a pull request's head, the open pull request of a
//! commit, the comments of an issue across pages and whether one is minimized, create and update
//! a comment), rate limits honoured within a CI job's patience, retries through `net`.

use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::comment::cap;
use super::{GithubError, Token};
use crate::net::{Retry, RetryPolicy};

/// 100 pages of 100 comments: a bound on a runaway `Link: rel="next"` chain.
pub(crate) const MAX_PAGES: usize = 100;
/// Longest rate-limit wait worth spending in a CI job; longer ones become a warning.
pub(crate) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// Retries of one API request (rate limits, 5xx, connection failures): three attempts, about
/// 1 s then 2 s apart (jittered), within two minutes; a rate-limit wait counts as the backoff.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    max_time: Duration::from_secs(120),
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(4),
};
/// The REST API version bpdrift was written against.
pub(crate) const API_VERSION: &str = "2022-11-28";

/// A comment as the issues API lists it.
#[derive(Debug, Deserialize)]
pub(crate) struct Comment {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) body: Option<String>,
    #[serde(default)]
    pub(crate) user: Option<User>,
    #[serde(default)]
    pub(crate) html_url: String,
    /// GraphQL's id, to ask whether it is minimized.
    #[serde(default)]
    pub(crate) node_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub(crate) login: String,
}

impl Comment {
    pub(crate) fn is_ours(&self, marker: &str, author: &str) -> bool {
        self.body.as_deref().is_some_and(|b| b.contains(marker))
            && self
                .user
                .as_ref()
                .is_some_and(|u| u.login.eq_ignore_ascii_case(author))
    }
}

/// A 2xx answer.
pub(crate) struct Reply {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The REST API of one repository, with one token.
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) root: String,
    pub(crate) repo: String,
    /// `None`: anonymous (public data, 60 requests an hour).
    pub(crate) auth: Option<HeaderValue>,
    /// Longest rate-limit wait this client spends before giving up.
    pub(crate) patience: Duration,
}

impl Api {
    pub(crate) fn new(
        root: &str,
        repo: &str,
        token: Token,
        timeout: Duration,
    ) -> Result<Self, GithubError> {
        Self::with(root, repo, Some(token), timeout, MAX_RATE_LIMIT_WAIT)
    }

    /// A client that reads public data (release notes) with a token when there is one, and
    /// never waits out a rate limit: what it fetches is a nicety next to the diff.
    pub(crate) fn reader(
        root: &str,
        token: Option<Token>,
        timeout: Duration,
    ) -> Result<Self, GithubError> {
        Self::with(root, "", token, timeout, Duration::ZERO)
    }

    fn with(
        root: &str,
        repo: &str,
        token: Option<Token>,
        timeout: Duration,
        patience: Duration,
    ) -> Result<Self, GithubError> {
        let mut builder = crate::net::client_builder(timeout, Duration::from_secs(10))
            // Never carry the token across a redirect to another host.
            .redirect(reqwest::redirect::Policy::none());
        if root.starts_with("http://") {
            // A plain-HTTP API (a test server) needs no trust store.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let auth = match token {
            Some(t) => {
                let mut auth = HeaderValue::from_str(&format!("Bearer {}", t.0))
                    .map_err(|_| GithubError::BadToken)?;
                // Shown as "Sensitive" should a header map ever be logged.
                auth.set_sensitive(true);
                Some(auth)
            }
            None => None,
        };
        Ok(Self {
            client: builder.build().map_err(GithubError::Client)?,
            root: root.to_string(),
            repo: repo.to_string(),
            auth,
            patience,
        })
    }

    /// The path under the API root, without the query: what errors and logs name.
    pub(crate) fn endpoint(&self, url: &str) -> String {
        let path = url.strip_prefix(&self.root).unwrap_or(url);
        path.split('?').next().unwrap_or(path).to_string()
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GithubError> {
        let endpoint = self.endpoint(url);
        // Repeating a POST after an answer was lost could comment twice: only GET and PATCH
        // retry server errors and timeouts.
        let idempotent = method != Method::POST;
        let started = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retry = |asked| RETRY.next(attempt, started.elapsed(), asked);
            tracing::debug!(%method, endpoint, attempt, "GitHub API request");
            let mut rb = self
                .client
                .request(method.clone(), url)
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(a) = &self.auth {
                rb = rb.header(AUTHORIZATION, a.clone());
            }
            if let Some(b) = body {
                rb = rb
                    .header(CONTENT_TYPE, "application/json")
                    .body(serde_json::to_vec(b).unwrap_or_default());
            }
            let transport = |source: reqwest::Error| {
                let reason = if source.is_timeout() {
                    "timed out".to_string()
                } else if source.is_connect() {
                    "connection failed".to_string()
                } else {
                    "request failed".to_string()
                };
                GithubError::Transport {
                    method: method.clone(),
                    endpoint: endpoint.clone(),
                    reason,
                    source,
                }
            };
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => match retry(None) {
                    Retry::After(d) if e.is_connect() || idempotent => {
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    _ => return Err(transport(e)),
                },
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = match crate::limits::read_body(resp, 32 << 20, "the answer").await {
                Ok(b) => b,
                Err(crate::limits::BodyError::Http(e)) => return Err(transport(e)),
                Err(crate::limits::BodyError::TooLarge(source)) => {
                    return Err(GithubError::TooLarge { endpoint, source });
                }
            };
            tracing::debug!(status = status.as_u16(), endpoint, "GitHub API answer");
            if status.is_success() {
                return Ok(Reply {
                    headers,
                    body: bytes,
                });
            }
            let wait = rate_limit_wait(status, &headers, &bytes, SystemTime::now());
            match (wait, retry(wait)) {
                (Some(w), Retry::After(_)) if w <= self.patience => {
                    tracing::warn!(
                        "GitHub API rate limit on `{method} {endpoint}`: waiting {} s",
                        w.as_secs()
                    );
                    tokio::time::sleep(w).await;
                    continue;
                }
                (None, Retry::After(d)) if status.is_server_error() && idempotent => {
                    tokio::time::sleep(d).await;
                    continue;
                }
                _ => {}
            }
            return Err(GithubError::Status {
                method,
                endpoint,
                status: status.as_u16(),
                // GitHub's words may echo the request (the Authorization header among them).
                message: crate::redact::scrub_known(
                    &api_message(&bytes),
                    &[self
                        .auth
                        .as_ref()
                        .and_then(|a| a.to_str().ok())
                        .unwrap_or_default()
                        .trim_start_matches("Bearer ")],
                ),
                rate_limited: wait,
            });
        }
    }

    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(T, HeaderMap), GithubError> {
        let reply = self.request(method.clone(), url, body).await?;
        let v = serde_json::from_slice(&reply.body).map_err(|source| GithubError::Json {
            method,
            endpoint: self.endpoint(url),
            source,
        })?;
        Ok((v, reply.headers))
    }

    /// The token's login when it may read `/user` (personal tokens); `None` for the workflow's
    /// `GITHUB_TOKEN`, which GitHub answers with 403.
    pub(crate) async fn token_login(&self) -> Result<Option<String>, GithubError> {
        match self
            .json::<User>(Method::GET, &format!("{}/user", self.root), None)
            .await
        {
            Ok((u, _)) => Ok(Some(u.login)),
            Err(e) => no_answer(e),
        }
    }

    /// The token's login as REST shows it on comments, from GraphQL's `viewer`, which answers
    /// for every token type (personal, the workflow's `GITHUB_TOKEN`, a GitHub App's installation
    /// token). GraphQL names a bot without the `[bot]` REST adds (`my-app`, `my-app[bot]`).
    /// `None` when GraphQL gives no usable answer (an old GHES, a proxy): the caller falls back.
    /// <https://docs.github.com/en/graphql/reference/queries#viewer>
    pub(crate) async fn viewer_login(&self) -> Result<Option<String>, GithubError> {
        #[derive(Deserialize)]
        struct Answer {
            data: Option<Data>,
        }
        #[derive(Deserialize)]
        struct Data {
            viewer: Option<Viewer>,
        }
        #[derive(Deserialize)]
        struct Viewer {
            login: String,
            #[serde(rename = "__typename", default)]
            typename: String,
        }
        let query = serde_json::json!({ "query": "query { viewer { login __typename } }" });
        match self
            .json::<Answer>(Method::POST, &self.graphql_url(), Some(&query))
            .await
        {
            Ok((a, _)) => Ok(a.data.and_then(|d| d.viewer).and_then(|v| {
                let login = v.login.trim().to_string();
                if login.is_empty() {
                    None
                } else if v.typename == "Bot" && !login.ends_with("[bot]") {
                    Some(format!("{login}[bot]"))
                } else {
                    Some(login)
                }
            })),
            Err(e) => no_answer(e),
        }
    }

    /// Whether GraphQL says the comment is minimized. REST does not tell; no answer (an old
    /// GHES, a proxy, a rate limit) counts as not minimized, as before GitHub had the notion.
    /// <https://docs.github.com/en/graphql/reference/interfaces#minimizable>
    pub(crate) async fn is_minimized(&self, c: &Comment) -> bool {
        let Some(id) = &c.node_id else {
            return false;
        };
        let query = serde_json::json!({
            "query": "query($id: ID!) { node(id: $id) { ... on Minimizable { isMinimized } } }",
            "variables": { "id": id },
        });
        match self
            .json::<Value>(Method::POST, &self.graphql_url(), Some(&query))
            .await
        {
            Ok((v, _)) => v["data"]["node"]["isMinimized"].as_bool() == Some(true),
            Err(_) => false,
        }
    }

    /// GraphQL's endpoint beside the REST root: `…/graphql` on github.com, `…/api/graphql` for
    /// a GHES REST root `…/api/v3`.
    pub(crate) fn graphql_url(&self) -> String {
        match self.root.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.root),
        }
    }

    pub(crate) async fn pull_head(&self, pr: u64) -> Result<String, GithubError> {
        #[derive(Deserialize)]
        struct Pull {
            head: Head,
        }
        #[derive(Deserialize)]
        struct Head {
            sha: String,
        }
        let url = format!("{}/repos/{}/pulls/{pr}", self.root, self.repo);
        let (p, _) = self.json::<Pull>(Method::GET, &url, None).await?;
        Ok(p.head.sha)
    }

    /// The open pull request of this repository whose head is `sha`, from `GET
    /// /repos/{o}/{r}/commits/{sha}/pulls` (a merged one only introduced the commit: it is no
    /// place for a comment about it). <https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit>
    pub(crate) async fn pull_for_commit(&self, sha: &str) -> Result<Option<u64>, GithubError> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
            state: String,
            head: Head,
        }
        #[derive(Deserialize)]
        struct Head {
            sha: String,
        }
        if !sha.bytes().all(|b| b.is_ascii_hexdigit()) || sha.is_empty() {
            return Ok(None);
        }
        let url = format!(
            "{}/repos/{}/commits/{sha}/pulls?per_page=100",
            self.root, self.repo
        );
        let (pulls, _) = self.json::<Vec<Pull>>(Method::GET, &url, None).await?;
        Ok(pulls
            .into_iter()
            .find(|p| p.state == "open" && p.head.sha.eq_ignore_ascii_case(sha))
            .map(|p| p.number))
    }

    /// The first comment holding `marker` written by `author`, reading every page.
    pub(crate) async fn find_comment(
        &self,
        pr: u64,
        marker: &str,
        author: &str,
    ) -> Result<Option<Comment>, GithubError> {
        let mut url = format!(
            "{}/repos/{}/issues/{pr}/comments?per_page=100",
            self.root, self.repo
        );
        for _ in 0..MAX_PAGES {
            let (page, headers) = self.json::<Vec<Comment>>(Method::GET, &url, None).await?;
            for c in page.into_iter().filter(|c| c.is_ours(marker, author)) {
                // A comment a maintainer hid stays hidden and as it was: the report goes to a
                // new comment, which later runs find first (sticky-pull-request-comment does
                // the same).
                if !self.is_minimized(&c).await {
                    return Ok(Some(c));
                }
                tracing::info!(id = c.id, "skipping a minimized comment");
            }
            match next_link(&headers) {
                None => return Ok(None),
                Some(next) if next.starts_with(&format!("{}/", self.root)) => url = next,
                Some(next) => return Err(GithubError::ForeignLink(next)),
            }
        }
        Err(GithubError::TooManyPages(pr))
    }

    pub(crate) async fn create_comment(&self, pr: u64, body: &str) -> Result<String, GithubError> {
        let url = format!("{}/repos/{}/issues/{pr}/comments", self.root, self.repo);
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .json::<Comment>(Method::POST, &url, Some(&payload))
            .await?;
        Ok(c.html_url)
    }

    pub(crate) async fn update_comment(&self, id: u64, body: &str) -> Result<String, GithubError> {
        let url = format!("{}/repos/{}/issues/comments/{id}", self.root, self.repo);
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .json::<Comment>(Method::PATCH, &url, Some(&payload))
            .await?;
        Ok(c.html_url)
    }
}

/// An error status or unreadable JSON is no answer about the token (`Ok(None)`, ask elsewhere);
/// a rate limit or a transport failure is an error: it says nothing about the token either.
fn no_answer<T>(e: GithubError) -> Result<Option<T>, GithubError> {
    match e {
        GithubError::Status {
            rate_limited: None, ..
        }
        | GithubError::Json { .. } => Ok(None),
        e => Err(e),
    }
}

/// `: <message>` from GitHub's error JSON, one line, bounded; empty when there is none.
pub(crate) fn api_message(body: &[u8]) -> String {
    let msg = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_default();
    let msg: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if msg.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", cap(msg.trim(), 300))
    }
}

/// How long a 403/429 asks to wait: `Retry-After`, else until `x-ratelimit-reset` when
/// `x-ratelimit-remaining` is 0, else a minute for a secondary limit (as GitHub's docs say).
/// `None`: not rate limited.
pub(crate) fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok())
    {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        // One second past the reset: the window closes on the reset second.
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    let secondary = api_message(body)
        .to_ascii_lowercase()
        .contains("rate limit");
    (status == StatusCode::TOO_MANY_REQUESTS || secondary).then_some(Duration::from_secs(60))
}

/// The `rel="next"` target of the `Link` headers (RFC 8288), as GitHub paginates.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (target, params) = part.trim().split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_string())
        })
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::github::ACTIONS_BOT;
    use crate::github::comment::marker;

    #[test]
    fn link_header_next() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\"",
            ),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn rate_limits() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h, b"{}", now), None);
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, b"{}", now),
            Some(Duration::from_secs(60))
        );
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1010"));
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, b"{}", now),
            Some(Duration::from_secs(11))
        );
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, b"{}", now),
            Some(Duration::from_secs(3))
        );
        let secondary = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &HeaderMap::new(), secondary, now),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn comment_ownership_needs_marker_and_author() {
        let c = |body: &str, login: &str| Comment {
            id: 1,
            body: Some(body.into()),
            user: Some(User {
                login: login.into(),
            }),
            html_url: String::new(),
            node_id: None,
        };
        let m = marker("default");
        assert!(c(&format!("{m}\nx"), "github-actions[bot]").is_ours(&m, ACTIONS_BOT));
        assert!(!c(&format!("{m}\nx"), "mallory").is_ours(&m, ACTIONS_BOT));
        assert!(!c("<!-- bpdrift:default2 -->", ACTIONS_BOT).is_ours(&m, ACTIONS_BOT));
    }
}
