//! What the Actions runner tells a step: its environment, the event payload, and from them
//! which pull request a comment belongs to.

use std::path::PathBuf;

use serde_json::Value;

use super::{GithubError, Token};

/// What the Actions runner tells a step through its environment.
#[derive(Debug, Default, Clone)]
pub(crate) struct Env {
    pub(crate) token: Option<Token>,
    pub(crate) api_url: String,
    pub(crate) repository: Option<String>,
    pub(crate) event_name: Option<String>,
    pub(crate) event_path: Option<PathBuf>,
    pub(crate) step_summary: Option<PathBuf>,
    pub(crate) output: Option<PathBuf>,
    pub(crate) run_url: Option<String>,
    pub(crate) runner_temp: Option<PathBuf>,
    /// `GITHUB_SHA`: the commit of a run whose event names none.
    pub(crate) sha: Option<String>,
}

pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub(crate) fn from_process() -> Self {
        let repository = var("GITHUB_REPOSITORY");
        let run_url = match (var("GITHUB_SERVER_URL"), &repository, var("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(id)) => Some(match var("GITHUB_RUN_ATTEMPT") {
                Some(a) if a != "1" => format!(
                    "{}/{repo}/actions/runs/{id}/attempts/{a}",
                    server.trim_end_matches('/')
                ),
                _ => format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/')),
            }),
            _ => None,
        };
        Self {
            token: var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")).map(Token),
            api_url: var("GITHUB_API_URL")
                .unwrap_or_else(|| "https://api.github.com".into())
                .trim_end_matches('/')
                .to_string(),
            repository,
            event_name: var("GITHUB_EVENT_NAME"),
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            run_url,
            runner_temp: var("RUNNER_TEMP").map(PathBuf::from),
            sha: var("GITHUB_SHA"),
        }
    }
}

/// The pull request facts of the triggering event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// `GITHUB_EVENT_NAME`, or what the payload looks like.
    pub(crate) name: String,
    /// The pull request GitHub itself names (trusted).
    pub(crate) pr: Option<u64>,
    /// The commit the run is for.
    pub(crate) head_sha: Option<String>,
    /// A `workflow_run` event: its PR list is empty for forks, so the number may come from an
    /// artifact, which must then be checked.
    pub(crate) workflow_run: bool,
}

impl Event {
    pub(crate) fn load(env: &Env) -> Result<Option<Self>, GithubError> {
        let Some(path) = &env.event_path else {
            return Ok(None);
        };
        let named = crate::limits::Named {
            what: "GitHub event",
            from: "GITHUB_EVENT_PATH",
            limit: crate::limits::EVENT_FILE_MAX,
        };
        let bytes = crate::limits::read_named(path, named)?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|source| GithubError::FileJson {
            path: path.clone(),
            what: "a GitHub event (JSON)",
            source,
        })?;
        Ok(Some(Self::parse(
            &v,
            env.event_name.as_deref(),
            env.repository.as_deref(),
        )))
    }

    /// `pull_request.number` (pull_request, pull_request_target), or the first of
    /// `workflow_run.pull_requests` whose base is this repository.
    pub(crate) fn parse(v: &Value, name: Option<&str>, repository: Option<&str>) -> Self {
        let str_of = |v: &Value| v.as_str().map(str::to_string);
        if let Some(pr) = v.get("pull_request").filter(|p| p.is_object()) {
            return Self {
                name: name.unwrap_or("pull_request").to_string(),
                pr: pr["number"].as_u64(),
                head_sha: str_of(&pr["head"]["sha"]),
                workflow_run: false,
            };
        }
        if let Some(run) = v.get("workflow_run").filter(|r| r.is_object()) {
            // A branch of this repository can be the head of a PR in *another* repository; its
            // number means nothing here.
            let suffix = repository.map(|r| format!("/repos/{}", r.to_ascii_lowercase()));
            let pr = run["pull_requests"].as_array().and_then(|prs| {
                prs.iter()
                    .find(|p| match (p["base"]["repo"]["url"].as_str(), &suffix) {
                        (Some(url), Some(s)) => url.to_ascii_lowercase().ends_with(s.as_str()),
                        _ => true,
                    })
                    .and_then(|p| p["number"].as_u64())
            });
            return Self {
                name: name.unwrap_or("workflow_run").to_string(),
                pr,
                head_sha: str_of(&run["head_sha"]),
                workflow_run: true,
            };
        }
        // push (`after`), merge_group: no pull request in the payload, but a commit a pull
        // request may have as its head (looked up through the API).
        let head_sha = str_of(&v["after"])
            .or_else(|| str_of(&v["merge_group"]["head_sha"]))
            .filter(|s| !s.bytes().all(|b| b == b'0'));
        Self {
            name: name.unwrap_or("unknown").to_string(),
            head_sha,
            ..Self::default()
        }
    }
}

/// Which pull request to comment on, and whether its number must be checked first.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PrChoice {
    /// From the event or the user outside a workflow_run.
    Trusted(u64),
    /// From `--pr` or a saved report under a workflow_run: comment only if the PR's head is the
    /// run's head commit, so an artifact cannot aim the comment at another PR.
    Verify(u64, String),
}

pub(crate) fn choose_pr(
    flag: Option<u64>,
    event: Option<&Event>,
    saved: Option<u64>,
) -> Result<PrChoice, GithubError> {
    let Some(event) = event else {
        return flag
            .or(saved)
            .map(PrChoice::Trusted)
            .ok_or_else(|| GithubError::NoPullRequest("GITHUB_EVENT_PATH is not set".to_string()));
    };
    if event.workflow_run {
        return match (flag.or(saved), event.pr) {
            (Some(n), Some(trusted)) if n == trusted => Ok(PrChoice::Trusted(n)),
            (Some(n), _) => match &event.head_sha {
                Some(sha) => Ok(PrChoice::Verify(n, sha.clone())),
                None => Err(GithubError::NoPullRequest(
                    "the workflow_run event has no head_sha to check the pull request against"
                        .to_string(),
                )),
            },
            (None, Some(trusted)) => Ok(PrChoice::Trusted(trusted)),
            (None, None) => Err(GithubError::NoPullRequest(
                "the workflow_run event lists no pull request of this repository (GitHub leaves \
                 it empty for pull requests from forks) and the report names none"
                    .to_string(),
            )),
        };
    }
    flag.or(event.pr)
        .or(saved)
        .map(PrChoice::Trusted)
        .ok_or_else(|| {
            GithubError::NoPullRequest(format!("a `{}` event is not a pull request", event.name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        let pr: Value = serde_json::json!({
            "action": "synchronize", "number": 7,
            "pull_request": {"number": 7, "head": {"sha": "abc"}}
        });
        let e = Event::parse(&pr, Some("pull_request_target"), Some("o/r"));
        assert_eq!(
            (e.pr, e.head_sha.as_deref(), e.workflow_run),
            (Some(7), Some("abc"), false)
        );
        let run: Value = serde_json::json!({"workflow_run": {
            "head_sha": "def",
            "pull_requests": [
                {"number": 3, "base": {"repo": {"url": "https://api.github.com/repos/up/stream"}}},
                {"number": 9, "base": {"repo": {"url": "https://api.github.com/repos/O/R"}}}
            ]
        }});
        let e = Event::parse(&run, None, Some("o/r"));
        assert_eq!(
            (e.pr, e.head_sha.as_deref(), e.workflow_run),
            (Some(9), Some("def"), true)
        );
        assert_eq!(choose_pr(None, Some(&e), None), Ok(PrChoice::Trusted(9)));
        assert_eq!(choose_pr(None, Some(&e), Some(9)), Ok(PrChoice::Trusted(9)));
        assert_eq!(
            choose_pr(None, Some(&e), Some(4)),
            Ok(PrChoice::Verify(4, "def".into()))
        );
        let fork: Value =
            serde_json::json!({"workflow_run": {"head_sha": "f00", "pull_requests": []}});
        let e = Event::parse(&fork, None, Some("o/r"));
        assert_eq!(e.pr, None);
        assert!(matches!(
            choose_pr(None, Some(&e), None),
            Err(GithubError::NoPullRequest(_))
        ));
        assert_eq!(
            choose_pr(None, Some(&e), Some(5)),
            Ok(PrChoice::Verify(5, "f00".into()))
        );
        let push = Event::parse(
            &serde_json::json!({"ref": "refs/heads/main"}),
            Some("push"),
            None,
        );
        let err = choose_pr(None, Some(&push), None).unwrap_err().to_string();
        assert!(
            err.contains("a `push` event is not a pull request"),
            "{err}"
        );
        assert_eq!(
            choose_pr(Some(2), Some(&push), None),
            Ok(PrChoice::Trusted(2))
        );
        assert!(choose_pr(None, None, None).is_err());
    }
}
