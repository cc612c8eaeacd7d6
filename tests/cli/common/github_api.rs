//! A loopback stand-in for the GitHub REST API, as its documentation describes it, for the parts
//! bpdrift uses: issue comments (list with `per_page`/`page` and `Link` headers, create → 201,
//! update → 200, 404 for an unknown issue or comment, 422 for a body over 65,536 characters),
//! `GET /user` (403 for an installation token such as the workflow's `GITHUB_TOKEN`), `GET
//! /pulls/{n}`, `GET /commits/{sha}/pulls`, GraphQL's `viewer { login __typename }` at `POST
//! /graphql` (a bot's login without `[bot]`, as GraphQL names it), `x-ratelimit-*` headers on every answer, and rate-limit answers on demand.
//! Every request is recorded. Stopped on drop.
//!
//! <https://docs.github.com/en/rest/issues/comments>,
//! <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>,
//! <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>.

use std::collections::{BTreeMap, VecDeque};
use std::io::BufReader;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::http::{Request, Server, read_request, write_response};

/// The only token the fake accepts: recognisable, so a test can look for it in every output.
pub const TOKEN: &str = "ghs_bpdriftFAKEtoken0123456789SECRET";
pub const REPO: &str = "octo-org/app";
/// GitHub's pagination links use the repository id, not its name.
const REPO_ID: u64 = 4242;
pub const BOT: &str = "github-actions[bot]";

#[derive(Debug, Clone)]
pub struct StoredComment {
    pub id: u64,
    pub body: String,
    pub login: String,
}

/// A request as the fake saw it, with the status it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The next answer is rate limited.
#[derive(Debug, Clone, Copy)]
pub enum RateLimit {
    /// 429 with `retry-after: N` (a secondary limit).
    RetryAfter(u64),
    /// 403 with `x-ratelimit-remaining: 0` and a reset N seconds away (the primary limit).
    Exhausted(u64),
}

#[derive(Debug, Default)]
pub struct State {
    /// Issue (pull request) number → its comments, oldest first. Only these issues exist.
    pub issues: BTreeMap<u64, Vec<StoredComment>>,
    /// Pull request → head commit.
    pub pulls: BTreeMap<u64, String>,
    pub next_id: u64,
    /// `Some(login)`: the token is a personal token and `/user` answers; `None`: 403.
    pub token_login: Option<String>,
    /// `Some(slug)`: the token is a GitHub App's installation token: `/user` answers 403,
    /// GraphQL's `viewer` is the bot `slug`, and comments are by `slug[bot]`.
    pub app: Option<String>,
    /// Comments a maintainer minimized (GraphQL's `isMinimized`).
    pub minimized: std::collections::BTreeSet<u64>,
    /// Answer POST and PATCH with this status (403: a read-only token).
    pub write_status: Option<u16>,
    /// Answer writes with an error whose message echoes the request's Authorization header (a
    /// proxy or a misbehaving API does that).
    pub echo_auth: bool,
    pub rate_limits: VecDeque<RateLimit>,
    pub requests: Vec<Seen>,
    /// `owner/repo` → its releases, newest first (public: readable without a token).
    pub releases: BTreeMap<String, Vec<Value>>,
    remaining: u64,
}

pub struct FakeGithub {
    pub addr: String,
    pub state: Arc<Mutex<State>>,
    _server: Server,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl FakeGithub {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            next_id: 1_000_001,
            remaining: 5000,
            ..State::default()
        }));
        let shared = state.clone();
        // The server learns its own address after binding; pagination links need it.
        let addr_cell: Arc<Mutex<String>> = Arc::default();
        let addr_for_handler = addr_cell.clone();
        let server = Server::start(move |stream| {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            let Some(req) = read_request(&mut reader) else {
                return;
            };
            let base = format!("http://{}", addr_for_handler.lock().unwrap());
            let (status, headers, body) = answer(&shared, &req, &base);
            let _ = write_response(&mut stream, status, &headers, body.as_bytes());
        });
        *addr_cell.lock().unwrap() = server.addr.clone();
        Self {
            addr: server.addr.clone(),
            state,
            _server: server,
        }
    }

    /// What `GITHUB_API_URL` is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_pull(&self, number: u64, head_sha: &str) {
        let mut s = self.state.lock().unwrap();
        s.issues.entry(number).or_default();
        s.pulls.insert(number, head_sha.to_string());
    }

    pub fn add_comment(&self, issue: u64, login: &str, body: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        let id = s.next_id;
        s.next_id += 1;
        s.issues.entry(issue).or_default().push(StoredComment {
            id,
            body: body.to_string(),
            login: login.to_string(),
        });
        id
    }

    pub fn comments(&self, issue: u64) -> Vec<StoredComment> {
        self.state.lock().unwrap().issues[&issue].clone()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests with this method whose path contains `part`.
    pub fn count(&self, method: &str, part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.target.contains(part))
            .count()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Publishes releases of `repo` (newest first is how the API lists them): each a tag and
    /// a body.
    pub fn add_releases(&self, repo: &str, releases: &[(&str, &str)]) {
        let mut s = self.state.lock().unwrap();
        let list = s.releases.entry(repo.to_string()).or_default();
        for (tag, body) in releases {
            list.push(json!({
                "id": list.len() + 1,
                "tag_name": tag,
                "name": tag,
                "body": body,
                "draft": false,
                "prerelease": false,
                "html_url": format!("https://github.com/{repo}/releases/tag/{tag}"),
                "published_at": "2026-01-02T03:04:05Z",
            }));
        }
    }

    pub fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap());
    }
}

fn comment_json(base: &str, issue: u64, c: &StoredComment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_kwDO{}", c.id),
        "url": format!("{base}/repos/{REPO}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{REPO}/pull/{issue}#issuecomment-{}", c.id),
        "issue_url": format!("{base}/repos/{REPO}/issues/{issue}"),
        "body": c.body,
        "user": {
            "login": c.login,
            "id": 41898282,
            "type": if c.login.ends_with("[bot]") { "Bot" } else { "User" },
        },
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "author_association": "NONE",
    })
}

fn message(msg: &str, doc: &str) -> String {
    json!({ "message": msg, "documentation_url": doc }).to_string()
}

fn answer(
    state: &Mutex<State>,
    req: &Request,
    base: &str,
) -> (u16, Vec<(&'static str, String)>, String) {
    let mut s = state.lock().unwrap();
    s.remaining = s.remaining.saturating_sub(1);
    let mut headers = vec![
        (
            "Content-Type",
            "application/json; charset=utf-8".to_string(),
        ),
        ("x-github-api-version-selected", "2022-11-28".to_string()),
        ("x-ratelimit-limit", "5000".to_string()),
        ("x-ratelimit-remaining", s.remaining.to_string()),
        ("x-ratelimit-reset", (now() + 3600).to_string()),
        ("x-ratelimit-used", (5000 - s.remaining).to_string()),
        ("x-ratelimit-resource", "core".to_string()),
    ];
    let (status, body) = route(&mut s, req, base, &mut headers);
    s.requests.push(Seen {
        method: req.method.clone(),
        target: req.target.clone(),
        headers: req.headers.clone(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        status,
    });
    (status, headers, body)
}

fn route(
    s: &mut State,
    req: &Request,
    base: &str,
    headers: &mut Vec<(&'static str, String)>,
) -> (u16, String) {
    const DOCS: &str = "https://docs.github.com/rest/issues/comments";
    // Releases of public repositories: anonymous or with the token.
    let releases_of = {
        let p: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        match p.as_slice() {
            ["repos", o, r, "releases"] => Some(format!("{o}/{r}")),
            // The `Link` pages name the repository by id, as GitHub's do.
            ["repositories", id, "releases"] if *id == REPO_ID.to_string() => req.query("repo"),
            _ => None,
        }
    };
    let authorized = req.header("authorization") == Some(&format!("Bearer {TOKEN}"));
    if releases_of.is_some() && req.header("authorization").is_some() && !authorized {
        return (
            401,
            message("Bad credentials", "https://docs.github.com/rest"),
        );
    }
    if releases_of.is_none() && !authorized {
        return (
            401,
            message("Bad credentials", "https://docs.github.com/rest"),
        );
    }
    if let Some(limit) = s.rate_limits.pop_front() {
        return match limit {
            RateLimit::RetryAfter(secs) => {
                headers.push(("retry-after", secs.to_string()));
                (
                    429,
                    message(
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                        "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
                    ),
                )
            }
            RateLimit::Exhausted(secs) => {
                for (k, v) in headers.iter_mut() {
                    if *k == "x-ratelimit-remaining" {
                        *v = "0".into();
                    }
                    if *k == "x-ratelimit-reset" {
                        *v = (now() + secs).to_string();
                    }
                }
                (
                    403,
                    message(
                        "API rate limit exceeded for installation ID 1.",
                        "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
                    ),
                )
            }
        };
    }
    if let Some(repo) = releases_of {
        // https://docs.github.com/en/rest/releases/releases#list-releases: `per_page` (30 by
        // default, 100 at most), `page`, and `Link` to the next and last pages.
        let Some(all) = s.releases.get(&repo) else {
            return (
                404,
                message(
                    "Not Found",
                    "https://docs.github.com/rest/releases/releases#list-releases",
                ),
            );
        };
        let per: usize = req
            .query("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page: usize = req
            .query("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let last = all.len().div_ceil(per).max(1);
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per)
            .take(per)
            .cloned()
            .collect();
        let link = |p: usize, rel: &str| {
            format!(
                "<{base}/repositories/{REPO_ID}/releases?per_page={per}&page={p}&repo={repo}>; rel=\"{rel}\""
            )
        };
        let mut links = Vec::new();
        if page < last {
            links.push(link(page + 1, "next"));
            links.push(link(last, "last"));
        }
        if !links.is_empty() {
            headers.push(("Link", links.join(", ")));
        }
        return (200, Value::Array(items).to_string());
    }
    let path = req.path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = (404, message("Not Found", DOCS));
    if s.echo_auth && (req.method == "POST" || req.method == "PATCH") {
        let auth = req.header("authorization").unwrap_or_default();
        return (
            403,
            message(
                &format!("request with Authorization: {auth} refused (token {TOKEN})"),
                "https://docs.github.com/rest",
            ),
        );
    }
    let forbidden = |status: u16| {
        (
            status,
            message(
                "Resource not accessible by integration",
                "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            ),
        )
    };
    // What every write passes first: a token that may write, then a JSON body.
    let writable = |write_status: Option<u16>, req: &Request| match write_status {
        Some(status) => Err(forbidden(status)),
        None => body_of(req),
    };
    let repo_parts: Vec<&str> = REPO.split('/').collect();
    let issue_comments = match parts.as_slice() {
        ["repos", o, r, "issues", n, "comments"] if [*o, *r] == repo_parts[..] => n.parse().ok(),
        ["repositories", id, "issues", n, "comments"] if *id == REPO_ID.to_string() => {
            n.parse().ok()
        }
        _ => None,
    };
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["user"]) => match s.token_login.as_ref().filter(|_| s.app.is_none()) {
            Some(login) => (
                200,
                json!({ "login": login, "id": 1, "type": "User" }).to_string(),
            ),
            None => (
                403,
                message(
                    "Resource not accessible by integration",
                    "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                ),
            ),
        },
        ("POST", ["graphql"]) => {
            let query = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|v| v["query"].as_str().map(str::to_string))
                .unwrap_or_default();
            if query.contains("isMinimized") {
                let v: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let node = v["variables"]["id"]
                    .as_str()
                    .and_then(|id| id.strip_prefix("IC_kwDO"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|id| s.issues.values().flatten().any(|c| c.id == *id))
                    .map(|id| json!({ "isMinimized": s.minimized.contains(&id) }));
                return (200, json!({ "data": { "node": node } }).to_string());
            }
            if !query.contains("viewer") {
                return (
                    200,
                    json!({ "errors": [{ "message": "unsupported query" }] }).to_string(),
                );
            }
            let (login, typename) = match (&s.app, &s.token_login) {
                (Some(app), _) => (app.clone(), "Bot"),
                (None, Some(user)) => (user.clone(), "User"),
                (None, None) => ("github-actions".to_string(), "Bot"),
            };
            let mut viewer = json!({ "login": login });
            if query.contains("__typename") {
                viewer["__typename"] = json!(typename);
            }
            (200, json!({ "data": { "viewer": viewer } }).to_string())
        }
        ("GET", ["repos", o, r, "commits", sha, "pulls"]) if [*o, *r] == repo_parts[..] => {
            let pulls: Vec<Value> = s
                .pulls
                .iter()
                .filter(|(_, head)| head.as_str() == *sha)
                .map(|(n, head)| json!({ "number": n, "state": "open", "head": { "sha": head } }))
                .collect();
            (200, Value::Array(pulls).to_string())
        }
        ("GET", ["repos", o, r, "pulls", n]) if [*o, *r] == repo_parts[..] => {
            match n
                .parse::<u64>()
                .ok()
                .and_then(|n| s.pulls.get(&n).map(|sha| (n, sha)))
            {
                Some((n, sha)) => (
                    200,
                    json!({ "number": n, "state": "open", "head": { "sha": sha } }).to_string(),
                ),
                None => not_found,
            }
        }
        ("GET", _) if issue_comments.is_some() => {
            let issue = issue_comments.unwrap();
            let Some(all) = s.issues.get(&issue) else {
                return not_found;
            };
            let per_page: usize = req
                .query("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30)
                .clamp(1, 100);
            let page: usize = req
                .query("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let last = all.len().div_ceil(per_page).max(1);
            let items: Vec<Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| comment_json(base, issue, c))
                .collect();
            let link = |p: usize, rel: &str| {
                format!(
                    "<{base}/repositories/{REPO_ID}/issues/{issue}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\""
                )
            };
            let mut links = Vec::new();
            if page > 1 {
                links.push(link(page - 1, "prev"));
            }
            if page < last {
                links.push(link(page + 1, "next"));
                links.push(link(last, "last"));
            }
            if page > 1 {
                links.push(link(1, "first"));
            }
            if !links.is_empty() {
                headers.push(("Link", links.join(", ")));
            }
            (200, Value::Array(items).to_string())
        }
        ("POST", ["repos", o, r, "issues", n, "comments"]) if [*o, *r] == repo_parts[..] => {
            let Some(issue) = n.parse::<u64>().ok().filter(|n| s.issues.contains_key(n)) else {
                return not_found;
            };
            let body = match writable(s.write_status, req) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let id = s.next_id;
            s.next_id += 1;
            let login = match (&s.app, &s.token_login) {
                (Some(app), _) => format!("{app}[bot]"),
                (None, Some(user)) => user.clone(),
                (None, None) => BOT.to_string(),
            };
            let c = StoredComment { id, body, login };
            let v = comment_json(base, issue, &c);
            s.issues.get_mut(&issue).unwrap().push(c);
            headers.push((
                "Location",
                format!("{base}/repos/{REPO}/issues/comments/{id}"),
            ));
            (201, v.to_string())
        }
        ("PATCH", ["repos", o, r, "issues", "comments", id]) if [*o, *r] == repo_parts[..] => {
            let id: u64 = id.parse().unwrap_or(0);
            let found = s
                .issues
                .iter()
                .find_map(|(n, cs)| cs.iter().position(|c| c.id == id).map(|i| (*n, i)));
            let Some((issue, i)) = found else {
                return not_found;
            };
            let body = match writable(s.write_status, req) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let c = &mut s.issues.get_mut(&issue).unwrap()[i];
            c.body = body;
            let v = comment_json(base, issue, c);
            (200, v.to_string())
        }
        _ => not_found,
    }
}

/// The `body` of a create or update request, validated as GitHub does.
fn body_of(req: &Request) -> Result<String, (u16, String)> {
    let v: Value = serde_json::from_slice(&req.body).map_err(|_| {
        (
            400,
            message("Problems parsing JSON", "https://docs.github.com/rest"),
        )
    })?;
    let body = v["body"].as_str().ok_or_else(|| {
        (
            422,
            message(
                "Invalid request.\n\n\"body\" wasn't supplied.",
                "https://docs.github.com/rest",
            ),
        )
    })?;
    if body.chars().count() > 65_536 {
        return Err((
            422,
            json!({
                "message": "Validation Failed",
                "errors": [{
                    "resource": "IssueComment", "code": "custom", "field": "body",
                    "message": "body is too long (maximum is 65536 characters)"
                }],
                "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            })
            .to_string(),
        ));
    }
    Ok(body.to_string())
}
