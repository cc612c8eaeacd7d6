//! `bpdrift github …`: what the GitHub Action (`action.yml`) runs.
//!
//! `comment` diffs two images once, then writes the JSON report (with the Markdown and the pull
//! request number beside it), appends the Markdown to the job summary, prints the report in a
//! log group and one annotation per finding, keeps one pull request comment current, and writes
//! the step outputs. `post` does the same from a report saved by an earlier `comment
//! --no-comment`: the second workflow of the fork-safe pair, which has a write token but no image
//! (docs/github.md).
//!
//! The comment is found by a hidden marker (`<!-- bpdrift:<key> -->`) *and* its author, across
//! every page of comments, so a pasted marker in someone else's comment is never touched. A
//! read-only token (forks, Dependabot) or a missing permission is a warning, not a failure: the
//! job summary already holds the report.
//!
//! Specs: workflow commands and files
//! <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>, issue
//! comments <https://docs.github.com/en/rest/issues/comments>, pagination
//! <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>, rate
//! limits <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::{self, DiffArgs};
use crate::render::{self, Format};
use crate::report::DiffReport;
use crate::rules::{FailOn, Severity};

/// GitHub rejects longer comment bodies ("maximum is 65536 characters"). Bodies are measured in
/// bytes, never fewer than characters however GitHub counts them.
pub const MAX_COMMENT_BYTES: usize = 65_536;
/// A step's job summary may hold at most 1 MiB; a larger one is not shown at all.
const MAX_SUMMARY_BYTES: usize = 1024 * 1024;
/// 100 pages of 100 comments: a bound on a runaway `Link: rel="next"` chain.
const MAX_PAGES: usize = 100;
/// Longest rate-limit wait worth spending in a CI job; longer ones become a warning.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// Attempts per API request (rate limits, 5xx, connection failures).
const ATTEMPTS: u32 = 3;
/// Who writes comments with the workflow's `GITHUB_TOKEN`.
const ACTIONS_BOT: &str = "github-actions[bot]";
const API_VERSION: &str = "2022-11-28";
/// Saved reports larger than this are refused: an artifact from a fork is untrusted input.
const MAX_SAVED_BYTES: u64 = 16 * 1024 * 1024;
const FORKS_DOC: &str = "https://github.com/bpdrift/bpdrift/blob/main/docs/github.md#pull-requests-from-forks-and-dependabot";

/// `bpdrift github …`.
#[derive(Debug, Subcommand)]
pub enum GithubCommand {
    /// Diff two images and keep one PR comment current; also write the job summary, step outputs,
    /// one annotation per finding and the JSON report. What the GitHub Action runs.
    #[command(after_help = "Reads GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, \
GITHUB_EVENT_PATH (pull_request, pull_request_target, workflow_run), GITHUB_STEP_SUMMARY, \
GITHUB_OUTPUT and RUNNER_TEMP.\nExit status: 0 nothing flagged, 1 something flagged at or above \
--fail-on, 2 error. A token that may not comment (forks, Dependabot) is a warning, not an error.")]
    Comment(Box<CommentArgs>),
    /// Post a report saved by `github comment --no-comment` in another workflow (the fork-safe
    /// pair: `pull_request` saves it, `workflow_run` posts it).
    Post(PostArgs),
}

/// `bpdrift github comment`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// The diff.
    #[command(flatten)]
    pub diff: DiffArgs,
    /// GitHub side.
    #[command(flatten)]
    pub github: GithubArgs,
    /// Where to write the JSON report; `.md` (the Markdown) and `.pr.json` (the pull request)
    /// go beside it [default: $RUNNER_TEMP/bpdrift/KEY/report.json, else ./bpdrift/KEY/].
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
}

/// `bpdrift github post`.
#[derive(Debug, Args)]
pub struct PostArgs {
    /// A `report.json` written by `github comment`, with its `report.md` (and `report.pr.json`)
    /// beside it.
    #[arg(value_name = "REPORT_JSON")]
    pub report: PathBuf,
    /// Lowest finding severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// GitHub side.
    #[command(flatten)]
    pub github: GithubArgs,
}

/// What both subcommands share.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "GitHub")]
pub struct GithubArgs {
    /// Names the comment (hidden marker `<!-- bpdrift:KEY -->`): one comment per key, so several
    /// images in one PR keep separate comments.
    #[arg(long, default_value = "default", value_parser = parse_key)]
    pub key: String,
    /// Do not comment: only the report, job summary, annotations and outputs.
    #[arg(long)]
    pub no_comment: bool,
    /// Pull request number [default: from $GITHUB_EVENT_PATH]. Under a workflow_run event it is
    /// checked against the run's head commit.
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Login whose comment is updated [default: the token's user when the token may read
    /// /user (a personal token), else github-actions[bot]].
    #[arg(long, value_name = "LOGIN")]
    pub comment_author: Option<String>,
    /// Time limit for each GitHub API request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub api_timeout: u64,
}

fn parse_key(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        // Inside an HTML comment and a file name: no spaces, no `>`.
        Err("a key is 1 to 100 of A-Z a-z 0-9 . _ : / -".into())
    }
}

/// A GitHub API call, an event file or a report file that failed.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// No token in the environment.
    #[error(
        "no GitHub token: set GITHUB_TOKEN (the action passes its `github-token` input), or pass --no-comment"
    )]
    NoToken,
    /// The token cannot go into a header.
    #[error("GITHUB_TOKEN holds characters a header cannot carry")]
    BadToken,
    /// An API answer larger than bpdrift reads.
    #[error("GitHub API `{endpoint}`: {source}")]
    TooLarge {
        /// Endpoint.
        endpoint: String,
        /// Subject and limit.
        #[source]
        source: crate::limits::TooLarge,
    },
    /// `GITHUB_REPOSITORY` missing or malformed.
    #[error("GITHUB_REPOSITORY must be `owner/name` (got `{0}`)")]
    Repository(String),
    /// No pull request number anywhere.
    #[error("no pull request to comment on: {0}; pass --pr N, or --no-comment (`comment: false`)")]
    NoPullRequest(String),
    /// A PR number that did not come from the event names another commit.
    #[error(
        "refusing to comment on #{pr}: its head commit is `{actual}`, the workflow run was for `{expected}`"
    )]
    HeadMismatch {
        /// The pull request.
        pr: u64,
        /// The run's head commit.
        expected: String,
        /// The pull request's head commit.
        actual: String,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A JSON file that is not what it should be.
    #[error("`{path}` is not {what}")]
    FileJson {
        /// The file.
        path: PathBuf,
        /// What it should have been.
        what: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A saved report of another schema, or too large to trust.
    #[error("`{path}` is not a bpdrift report this version can post: {reason}")]
    Report {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// No answer.
    #[error("`{method} {endpoint}` failed: {reason}")]
    Transport {
        /// HTTP method.
        method: Method,
        /// Path under the API root, no query.
        endpoint: String,
        /// Short cause.
        reason: String,
        /// Transport error.
        #[source]
        source: reqwest::Error,
    },
    /// An error status.
    #[error("`{method} {endpoint}` answered {status}{message}")]
    Status {
        /// HTTP method.
        method: Method,
        /// Path under the API root, no query.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// `: <GitHub's message>`, or empty.
        message: String,
        /// Rate limited, and for how long still.
        rate_limited: Option<Duration>,
    },
    /// A 2xx answer that is not the JSON it should be.
    #[error("`{method} {endpoint}` answered JSON bpdrift cannot read")]
    Json {
        /// HTTP method.
        method: Method,
        /// Path under the API root, no query.
        endpoint: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `Link: rel="next"` chains without end.
    #[error("the comments of #{0} run past {MAX_PAGES} pages")]
    TooManyPages(u64),
    /// A pagination link to another host: the token is not sent there.
    #[error("the next-page link `{0}` leaves the API root; not following it with the token")]
    ForeignLink(String),
}

impl GithubError {
    /// Worth a warning, not a failure: the token may not write here (a fork or Dependabot PR,
    /// a missing `pull-requests: write`), or the rate limit outlasts a CI job's patience.
    fn is_soft(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 403 | 404,
                ..
            } | Self::Status {
                rate_limited: Some(_),
                ..
            }
        )
    }
}

/// A token that never shows up in `Debug` output or logs.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What the Actions runner tells a step through its environment.
#[derive(Debug, Default, Clone)]
struct Env {
    token: Option<Token>,
    api_url: String,
    repository: Option<String>,
    event_name: Option<String>,
    event_path: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    output: Option<PathBuf>,
    run_url: Option<String>,
    runner_temp: Option<PathBuf>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    fn from_process() -> Self {
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
        }
    }
}

/// The pull request facts of the triggering event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Event {
    /// `GITHUB_EVENT_NAME`, or what the payload looks like.
    name: String,
    /// The pull request GitHub itself names (trusted).
    pr: Option<u64>,
    /// The commit the run is for.
    head_sha: Option<String>,
    /// A `workflow_run` event: its PR list is empty for forks, so the number may come from an
    /// artifact, which must then be checked.
    workflow_run: bool,
}

impl Event {
    fn load(env: &Env) -> Result<Option<Self>, GithubError> {
        let Some(path) = &env.event_path else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).map_err(|source| GithubError::Read {
            path: path.clone(),
            source,
        })?;
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
    fn parse(v: &Value, name: Option<&str>, repository: Option<&str>) -> Self {
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
        Self {
            name: name.unwrap_or("unknown").to_string(),
            ..Self::default()
        }
    }
}

/// Which pull request to comment on, and whether its number must be checked first.
#[derive(Debug, PartialEq, Eq)]
enum PrChoice {
    /// From the event or the user outside a workflow_run.
    Trusted(u64),
    /// From `--pr` or a saved report under a workflow_run: comment only if the PR's head is the
    /// run's head commit, so an artifact cannot aim the comment at another PR.
    Verify(u64, String),
}

fn choose_pr(
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

/// One finding as annotations show it.
#[derive(Debug, Clone)]
struct Note {
    severity: Severity,
    rule: String,
    subject: String,
    summary: String,
}

/// What the GitHub side needs of a report, from a fresh diff or a saved one.
#[derive(Debug, Clone)]
struct Outcome {
    verdict: String,
    /// Any item differs.
    changed: bool,
    notes: Vec<Note>,
    max_severity: Option<Severity>,
    markdown: String,
}

impl Outcome {
    fn of_report(r: &DiffReport, markdown: String) -> Self {
        Self {
            verdict: r.summary.verdict.clone(),
            changed: !r.summary.changed.is_empty(),
            notes: r
                .findings
                .iter()
                .map(|f| Note {
                    severity: f.severity,
                    rule: f.rule.clone(),
                    subject: f.change.subject.clone(),
                    summary: f.summary.clone(),
                })
                .collect(),
            max_severity: r.summary.max_severity,
            markdown,
        }
    }
}

/// The fields of a saved JSON report that `post` reads (docs/json.md); anything else is ignored.
#[derive(Debug, Deserialize)]
struct SavedReport {
    summary: SavedSummary,
    #[serde(default)]
    findings: Vec<SavedFinding>,
    before: SavedImage,
    after: SavedImage,
}

#[derive(Debug, Deserialize)]
struct SavedSummary {
    verdict: String,
    #[serde(default)]
    changed: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
struct SavedFinding {
    rule: String,
    severity: String,
    summary: String,
    change: SavedChange,
}

#[derive(Debug, Deserialize)]
struct SavedChange {
    subject: String,
}

#[derive(Debug, Deserialize)]
struct SavedImage {
    reference: String,
    #[serde(default)]
    problems: Vec<SavedProblem>,
}

#[derive(Debug, Deserialize)]
struct SavedProblem {
    label: String,
    message: String,
}

/// The pull request a report was made for (`report.pr.json`).
#[derive(Debug, serde::Serialize, Deserialize)]
struct PrRecord {
    pull_request: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head_sha: Option<String>,
}

/// Where a report and its companions live.
#[derive(Debug, Clone)]
struct ReportPaths {
    json: PathBuf,
    markdown: PathBuf,
    pr: PathBuf,
}

impl ReportPaths {
    fn beside(json: PathBuf) -> Self {
        Self {
            markdown: json.with_extension("md"),
            pr: json.with_extension("pr.json"),
            json,
        }
    }

    fn default_for(env: &Env, key: &str) -> Self {
        let base = env
            .runner_temp
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let dir: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Self::beside(base.join("bpdrift").join(dir).join("report.json"))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GithubError> {
    let err = |source| GithubError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, GithubError> {
    use std::io::Read;
    let err = |source| GithubError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(err)?
        .take(MAX_SAVED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_SAVED_BYTES {
        return Err(GithubError::Report {
            path: path.to_path_buf(),
            reason: format!("larger than {MAX_SAVED_BYTES} bytes"),
        });
    }
    Ok(bytes)
}

/// Runs a `github` subcommand.
pub async fn run(cmd: GithubCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GithubCommand::Comment(args) => comment(*args).await,
        GithubCommand::Post(args) => post(args).await,
    }
}

async fn comment(args: CommentArgs) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    // The event is read first: a broken event file should not cost a registry round trip.
    let event = Event::load(&env)?;
    let report = match cli::compute_diff(&args.diff).await? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let render_to = |format| -> anyhow::Result<String> {
        let mut buf = Vec::new();
        render::render(&report, format, &mut buf)?;
        Ok(String::from_utf8(buf)?)
    };
    let outcome = Outcome::of_report(&report, render_to(Format::Markdown)?);
    let paths = match args.report_json {
        Some(p) => ReportPaths::beside(p),
        None => ReportPaths::default_for(&env, &args.github.key),
    };
    write_file(&paths.json, render_to(Format::Json)?.as_bytes())?;
    write_file(&paths.markdown, outcome.markdown.as_bytes())?;
    // The second workflow of the fork-safe pair learns the PR from here: GitHub leaves
    // `workflow_run.pull_requests` empty for forks.
    if let Some(ev) = &event
        && let Some(pr) = ev.pr
    {
        let record = PrRecord {
            pull_request: pr,
            head_sha: ev.head_sha.clone(),
        };
        write_file(&paths.pr, &serde_json::to_vec(&record)?)?;
    }
    let log = render_to(args.diff.format)?;
    let ok = publish(
        &outcome,
        &args.github,
        &env,
        event.as_ref(),
        None,
        &paths,
        &log,
    )
    .await?;
    let code = cli::finish(&report, args.diff.fail_on);
    Ok(if ok { code } else { ExitCode::from(2) })
}

async fn post(args: PostArgs) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let event = Event::load(&env)?;
    let paths = ReportPaths::beside(args.report.clone());
    let bytes = read_bounded(&paths.json)?;
    let not_a_report = |source| GithubError::FileJson {
        path: paths.json.clone(),
        what: "a bpdrift JSON report",
        source,
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(not_a_report)?;
    // The version first: a newer schema should say so, not name a missing field.
    if value["schema_version"].as_u64() != Some(u64::from(crate::report::SCHEMA_VERSION)) {
        return Err(GithubError::Report {
            path: paths.json.clone(),
            reason: format!(
                "schema version {} (this bpdrift reads {})",
                value["schema_version"],
                crate::report::SCHEMA_VERSION
            ),
        }
        .into());
    }
    let saved: SavedReport = serde_json::from_value(value).map_err(not_a_report)?;
    let markdown = String::from_utf8_lossy(&read_bounded(&paths.markdown)?).into_owned();
    let saved_pr = if paths.pr.exists() {
        let record: PrRecord =
            serde_json::from_slice(&read_bounded(&paths.pr)?).map_err(|source| {
                GithubError::FileJson {
                    path: paths.pr.clone(),
                    what: "a pull request record",
                    source,
                }
            })?;
        Some(record.pull_request)
    } else {
        None
    };
    let notes: Vec<Note> = saved
        .findings
        .iter()
        .map(|f| Note {
            severity: f.severity.parse().unwrap_or(Severity::Info),
            rule: f.rule.clone(),
            subject: f.change.subject.clone(),
            summary: f.summary.clone(),
        })
        .collect();
    let outcome = Outcome {
        verdict: saved.summary.verdict.clone(),
        changed: !saved.summary.changed.is_empty(),
        max_severity: notes.iter().map(|n| n.severity).max(),
        notes,
        markdown,
    };
    let ok = publish(
        &outcome,
        &args.github,
        &env,
        event.as_ref(),
        saved_pr,
        &paths,
        &outcome.markdown,
    )
    .await?;
    let mut code = if outcome.notes.iter().any(|n| args.fail_on.fails(n.severity)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    for img in [&saved.before, &saved.after] {
        for p in &img.problems {
            cli::report_error(&anyhow::anyhow!(
                "label `{}` of `{}` is not valid: {}",
                p.label,
                img.reference,
                p.message
            ));
            code = ExitCode::from(2);
        }
    }
    Ok(if ok { code } else { ExitCode::from(2) })
}

/// Job summary, log, annotations, comment, outputs. `Ok(false)` when commenting failed hard
/// (already reported); a soft failure is a warning and `Ok(true)`.
async fn publish(
    outcome: &Outcome,
    args: &GithubArgs,
    env: &Env,
    event: Option<&Event>,
    saved_pr: Option<u64>,
    paths: &ReportPaths,
    log: &str,
) -> anyhow::Result<bool> {
    if let Some(path) = &env.step_summary {
        let summary = fit(
            "",
            &outcome.markdown,
            "",
            "> [!NOTE]\n> This report is longer than a job summary may be (1 MiB): the full \
             report is in the JSON report (the `report-json` output).\n",
            MAX_SUMMARY_BYTES,
        );
        append(path, format!("{summary}\n").as_bytes())?;
    }
    let mut out = io::stdout().lock();
    out.write_all(workflow_log(outcome, log).as_bytes())?;
    out.write_all(annotations(&outcome.notes).as_bytes())?;
    out.flush()?;
    drop(out);

    let mut ok = true;
    let mut url = String::new();
    if !args.no_comment {
        match keep_comment(outcome, args, env, event, saved_pr).await {
            Ok(Upsert::Created(u)) => {
                status_line(&format!("created comment {u}"));
                url = u;
            }
            Ok(Upsert::Updated(u)) => {
                status_line(&format!("updated comment {u}"));
                url = u;
            }
            Ok(Upsert::Unchanged(u)) => {
                status_line(&format!("comment {u} already says this"));
                url = u;
            }
            Ok(Upsert::Skipped) => {
                status_line("no drift and no earlier comment: nothing to say on the pull request");
            }
            Err(e) if e.is_soft() => {
                let mut out = io::stdout().lock();
                out.write_all(soft_warning(&e).as_bytes())?;
                out.flush()?;
            }
            Err(e) => {
                cli::report_error(&anyhow::Error::new(e).context("cannot update the PR comment"));
                ok = false;
            }
        }
    }
    if let Some(path) = &env.output {
        let max = outcome.max_severity.map(Severity::as_str).unwrap_or("none");
        let text = outputs(&[
            ("changed", outcome.changed.to_string()),
            ("findings", outcome.notes.len().to_string()),
            ("max-severity", max.to_string()),
            ("report-json", paths.json.display().to_string()),
            ("comment-url", url),
        ]);
        append(path, text.as_bytes())?;
    }
    Ok(ok)
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), GithubError> {
    let err = |source| GithubError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)
}

/// Progress for people reading the log; stderr, as everything but the report.
fn status_line(s: &str) {
    let _ = writeln!(io::stderr(), "bpdrift: {s}");
}

/// A random hex string for output delimiters and `stop-commands` tokens. The std hasher is keyed
/// from the OS's randomness per process; no crate needed for 128 unguessable bits.
fn random_hex() -> String {
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

/// `%`, CR and LF escaped, as a workflow command's message needs.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command property also escapes `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The report in a collapsed log group. Image labels are other people's text: between
/// `stop-commands` and its token, a line such as `::add-mask::` in a label is just text.
fn workflow_log(outcome: &Outcome, log: &str) -> String {
    let token = random_hex();
    let mut s = format!(
        "::group::bpdrift: {}\n::stop-commands::{token}\n",
        escape_data(&outcome.verdict)
    );
    s.push_str(log);
    if !log.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("::{token}::\n::endgroup::\n"));
    s
}

/// One `::error`/`::warning`/`::notice` per finding.
fn annotations(notes: &[Note]) -> String {
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
                escape_property(&format!("bpdrift: {}", n.rule)),
                escape_data(&format!("{}: {}", n.subject, n.summary))
            )
        })
        .collect()
}

/// `name<<DELIM` … `DELIM` for every output: safe whatever the value holds.
fn outputs(pairs: &[(&str, String)]) -> String {
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

fn soft_warning(e: &GithubError) -> String {
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
    format!(
        "::warning title={}::{}\n",
        escape_property("bpdrift could not comment"),
        escape_data(&text)
    )
}

/// What happened to the comment.
#[derive(Debug, PartialEq, Eq)]
enum Upsert {
    Created(String),
    Updated(String),
    Unchanged(String),
    /// No drift and nothing earlier to correct.
    Skipped,
}

/// The hidden first line that finds the comment again.
fn marker(key: &str) -> String {
    format!("<!-- bpdrift:{key} -->")
}

async fn keep_comment(
    outcome: &Outcome,
    args: &GithubArgs,
    env: &Env,
    event: Option<&Event>,
    saved_pr: Option<u64>,
) -> Result<Upsert, GithubError> {
    let token = env.token.clone().ok_or(GithubError::NoToken)?;
    let repository = env.repository.clone().unwrap_or_default();
    if repository.split('/').count() != 2 || repository.split('/').any(str::is_empty) {
        return Err(GithubError::Repository(repository));
    }
    let choice = choose_pr(args.pr, event, saved_pr)?;
    let api = Api::new(
        &env.api_url,
        &repository,
        token,
        Duration::from_secs(args.api_timeout.max(1)),
    )?;
    let pr = match choice {
        PrChoice::Trusted(n) => n,
        PrChoice::Verify(n, expected) => {
            let actual = api.pull_head(n).await?;
            if actual != expected {
                return Err(GithubError::HeadMismatch {
                    pr: n,
                    expected,
                    actual,
                });
            }
            n
        }
    };
    let author = match &args.comment_author {
        Some(a) => a.clone(),
        None => api
            .token_login()
            .await?
            .unwrap_or_else(|| ACTIONS_BOT.into()),
    };
    let marker = marker(&args.key);
    let existing = api.find_comment(pr, &marker, &author).await?;
    let head_sha = event.and_then(|e| e.head_sha.as_deref());
    let footer = footer(env.run_url.as_deref(), head_sha);
    match existing {
        None if !outcome.changed => Ok(Upsert::Skipped),
        None => {
            let body = comment_body(&marker, &outcome.markdown, &footer, env.run_url.as_deref());
            api.create_comment(pr, &body).await.map(Upsert::Created)
        }
        Some(c) => {
            let report = if outcome.changed {
                outcome.markdown.clone()
            } else {
                no_drift_anymore(&outcome.markdown)
            };
            let body = comment_body(&marker, &report, &footer, env.run_url.as_deref());
            if c.body.as_deref() == Some(body.as_str()) {
                return Ok(Upsert::Unchanged(c.html_url));
            }
            api.update_comment(c.id, &body).await.map(Upsert::Updated)
        }
    }
}

/// The report of a pair that no longer differs, headed so nobody reads the earlier warning.
fn no_drift_anymore(markdown: &str) -> String {
    let rest = match markdown.split_once('\n') {
        Some((first, rest)) if first.starts_with("### ") => rest,
        _ => markdown,
    };
    format!(
        "### ✅ bpdrift: no drift anymore\n\nThe two images no longer differ: what this comment \
         reported earlier is gone.\n{rest}"
    )
}

fn footer(run_url: Option<&str>, head_sha: Option<&str>) -> String {
    let mut parts = vec![format!("bpdrift {}", env!("CARGO_PKG_VERSION"))];
    if let Some(u) = run_url {
        parts.push(format!("[job summary]({u})"));
    }
    if let Some(sha) = head_sha {
        parts.push(format!("for {}", sha.chars().take(12).collect::<String>()));
    }
    format!("<sub>{}</sub>\n", parts.join(" · "))
}

fn comment_body(marker: &str, report: &str, footer: &str, run_url: Option<&str>) -> String {
    let summary = match run_url {
        Some(u) => format!("[job summary]({u})"),
        None => "job summary".to_string(),
    };
    let note = format!(
        "> [!NOTE]\n> This report is longer than a comment may be ({MAX_COMMENT_BYTES} \
         characters) and was cut: the full report is in the {summary} and in the `report-json` \
         output.\n"
    );
    fit(
        &format!("{marker}\n"),
        report,
        footer,
        &note,
        MAX_COMMENT_BYTES,
    )
}

/// `head`, `report` and `tail` joined, within `limit` bytes. When they do not fit, the report
/// loses its `<details>` contents first, then lines from the end; its first line (the verdict)
/// stays, and `note` says where the rest is.
fn fit(head: &str, report: &str, tail: &str, note: &str, limit: usize) -> String {
    let join = |body: &str| {
        let mut s = String::with_capacity(head.len() + body.len() + tail.len() + 1);
        s.push_str(head);
        s.push_str(body);
        if !tail.is_empty() {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push('\n');
            s.push_str(tail);
        }
        s
    };
    let whole = join(report);
    if whole.len() <= limit {
        return whole;
    }
    let folded = fold_details(report);
    let with_note = join(&format!("{folded}\n{note}"));
    if with_note.len() <= limit {
        return with_note;
    }
    // Room for the note, the "lines cut" line and the joins.
    let budget = limit.saturating_sub(head.len() + tail.len() + note.len() + 80);
    let mut kept = String::new();
    let mut cut = 0usize;
    for (i, line) in folded.lines().enumerate() {
        // A verdict naming a label of 60 KB is an attack, not a verdict.
        let line = if i == 0 {
            cap(line, 2000)
        } else {
            line.to_string()
        };
        if cut == 0 && kept.len() + line.len() < budget {
            kept.push_str(&line);
            kept.push('\n');
        } else {
            cut += 1;
        }
    }
    if cut > 0 {
        kept.push_str(&format!(
            "\n_… {cut} more line{} cut._\n",
            if cut == 1 { "" } else { "s" }
        ));
    }
    let mut s = join(&format!("{kept}\n{note}"));
    if s.len() > limit {
        // Only an absurd head or tail gets here; the limit holds regardless.
        s = cap(&s, limit);
    }
    s
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Every `<details>` block reduced to its summary line.
fn fold_details(report: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in report.lines() {
        if inside {
            if line.trim() == "</details>" {
                inside = false;
            }
            continue;
        }
        if line.starts_with("<details") {
            inside = true;
            let summary = line
                .split_once("<summary>")
                .and_then(|(_, r)| r.split_once("</summary>"))
                .map(|(s, _)| s)
                .unwrap_or("details");
            out.push_str(&format!(
                "<details><summary>{summary}</summary>\n\n_Cut to fit: see the job summary._\n\n</details>\n"
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A comment as the issues API lists it.
#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    html_url: String,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

impl Comment {
    fn is_ours(&self, marker: &str, author: &str) -> bool {
        self.body.as_deref().is_some_and(|b| b.contains(marker))
            && self
                .user
                .as_ref()
                .is_some_and(|u| u.login.eq_ignore_ascii_case(author))
    }
}

/// A 2xx answer.
struct Reply {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The REST API of one repository, with one token.
struct Api {
    client: reqwest::Client,
    root: String,
    repo: String,
    auth: HeaderValue,
}

impl Api {
    fn new(root: &str, repo: &str, token: Token, timeout: Duration) -> Result<Self, GithubError> {
        // Another part of the process may have installed a provider already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("bpdrift/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            // Never carry the token across a redirect to another host.
            .redirect(reqwest::redirect::Policy::none());
        if root.starts_with("http://") {
            // A plain-HTTP API (a test server) needs no trust store.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.0))
            .map_err(|_| GithubError::BadToken)?;
        // Shown as "Sensitive" should a header map ever be logged.
        auth.set_sensitive(true);
        Ok(Self {
            client: builder.build().map_err(GithubError::Client)?,
            root: root.to_string(),
            repo: repo.to_string(),
            auth,
        })
    }

    /// The path under the API root, without the query: what errors and logs name.
    fn endpoint(&self, url: &str) -> String {
        let path = url.strip_prefix(&self.root).unwrap_or(url);
        path.split('?').next().unwrap_or(path).to_string()
    }

    async fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GithubError> {
        let endpoint = self.endpoint(url);
        // Repeating a POST after an answer was lost could comment twice: only GET and PATCH
        // retry server errors and timeouts.
        let idempotent = method != Method::POST;
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::debug!(%method, endpoint, attempt, "GitHub API request");
            let mut rb = self
                .client
                .request(method.clone(), url)
                .header(AUTHORIZATION, self.auth.clone())
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION);
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
                Err(e) if attempt < ATTEMPTS && (e.is_connect() || idempotent) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    continue;
                }
                Err(e) => return Err(transport(e)),
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
            match wait {
                Some(w) if w <= MAX_RATE_LIMIT_WAIT && attempt < ATTEMPTS => {
                    tracing::warn!(
                        "GitHub API rate limit on `{method} {endpoint}`: waiting {} s",
                        w.as_secs()
                    );
                    tokio::time::sleep(w).await;
                    continue;
                }
                None if status.is_server_error() && idempotent && attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
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
                        .to_str()
                        .unwrap_or_default()
                        .trim_start_matches("Bearer ")],
                ),
                rate_limited: wait,
            });
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
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
    async fn token_login(&self) -> Result<Option<String>, GithubError> {
        match self
            .json::<User>(Method::GET, &format!("{}/user", self.root), None)
            .await
        {
            Ok((u, _)) => Ok(Some(u.login)),
            // A rate limit is not an answer about the token.
            Err(
                GithubError::Status {
                    rate_limited: None, ..
                }
                | GithubError::Json { .. },
            ) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn pull_head(&self, pr: u64) -> Result<String, GithubError> {
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

    /// The first comment holding `marker` written by `author`, reading every page.
    async fn find_comment(
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
            if let Some(c) = page.into_iter().find(|c| c.is_ours(marker, author)) {
                return Ok(Some(c));
            }
            match next_link(&headers) {
                None => return Ok(None),
                Some(next) if next.starts_with(&format!("{}/", self.root)) => url = next,
                Some(next) => return Err(GithubError::ForeignLink(next)),
            }
        }
        Err(GithubError::TooManyPages(pr))
    }

    async fn create_comment(&self, pr: u64, body: &str) -> Result<String, GithubError> {
        let url = format!("{}/repos/{}/issues/{pr}/comments", self.root, self.repo);
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .json::<Comment>(Method::POST, &url, Some(&payload))
            .await?;
        Ok(c.html_url)
    }

    async fn update_comment(&self, id: u64, body: &str) -> Result<String, GithubError> {
        let url = format!("{}/repos/{}/issues/comments/{id}", self.root, self.repo);
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .json::<Comment>(Method::PATCH, &url, Some(&payload))
            .await?;
        Ok(c.html_url)
    }
}

/// `: <message>` from GitHub's error JSON, one line, bounded; empty when there is none.
fn api_message(body: &[u8]) -> String {
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
fn rate_limit_wait(
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
fn next_link(headers: &HeaderMap) -> Option<String> {
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
mod tests {
    use super::*;

    fn outcome(markdown: &str, changed: bool) -> Outcome {
        Outcome {
            verdict: "v".into(),
            changed,
            notes: vec![],
            max_severity: None,
            markdown: markdown.into(),
        }
    }

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        let notes = vec![Note {
            severity: Severity::Warning,
            rule: "r,1".into(),
            subject: "s".into(),
            summary: "line\n::error::injected".into(),
        }];
        assert_eq!(
            annotations(&notes),
            "::warning title=bpdrift%3A r%2C1::s: line%0A::error::injected\n"
        );
    }

    #[test]
    fn log_group_stops_commands_from_report_text() {
        let o = outcome("", true);
        let log = workflow_log(&o, "::add-mask::x\n");
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

    #[test]
    fn keys() {
        assert!(parse_key("default").is_ok());
        assert!(parse_key("ghcr.io/org/app:web").is_ok());
        for bad in ["", "a b", "x-->", "a\nb", &"k".repeat(101)] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }

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

    impl PartialEq for GithubError {
        fn eq(&self, other: &Self) -> bool {
            self.to_string() == other.to_string()
        }
    }

    #[test]
    fn body_fits_and_keeps_the_verdict() {
        let mut md = String::from("### 🛑 bpdrift: 3 buildpacks changed; findings: 2 errors\n\n");
        md.push_str("| a | b |\n|---|---|\n");
        md.push_str("\n<details open><summary>Runtime dependencies (1 changed)</summary>\n\n");
        for i in 0..3000 {
            md.push_str(&format!("| dep-{i} | `1.0.{i}` |\n"));
        }
        md.push_str("\n</details>\n");
        for i in 0..3000 {
            md.push_str(&format!("| row-{i} | some long text that takes room |\n"));
        }
        let body = comment_body(
            &marker("k"),
            &md,
            &footer(Some("https://g/r"), None),
            Some("https://g/r"),
        );
        assert!(body.len() <= MAX_COMMENT_BYTES, "{}", body.len());
        assert!(body.starts_with(
            "<!-- bpdrift:k -->\n### 🛑 bpdrift: 3 buildpacks changed; findings: 2 errors\n"
        ));
        assert!(body.contains("<summary>Runtime dependencies (1 changed)</summary>"));
        assert!(!body.contains("dep-1 "));
        assert!(body.contains("more lines cut._"));
        assert!(body.contains("[job summary](https://g/r)"));
        assert!(body.ends_with("</sub>\n"));

        // Folding the details alone can be enough.
        let mut md = String::from("### ⚠️ bpdrift: x\n\n<details><summary>S</summary>\n\n");
        md.push_str(&"y".repeat(70_000));
        md.push_str("\n\n</details>\nlast line\n");
        let body = comment_body(&marker("k"), &md, "", None);
        assert!(body.contains("last line") && !body.contains("yyy"));
        assert!(body.contains("in the job summary and"));

        // Small reports are left alone.
        let body = comment_body(&marker("k"), "### ✅ a\n", "<sub>f</sub>\n", None);
        assert_eq!(body, "<!-- bpdrift:k -->\n### ✅ a\n\n<sub>f</sub>\n");

        // An absurd verdict is capped, the limit holds.
        let md = format!("### x {}\n", "é".repeat(100_000));
        let body = comment_body(&marker("k"), &md, "", None);
        assert!(body.len() <= MAX_COMMENT_BYTES);
    }

    #[test]
    fn no_drift_heading_replaces_the_verdict() {
        let s = no_drift_anymore("### ✅ bpdrift: no drift; no findings\n\n| x |\n");
        assert!(s.starts_with("### ✅ bpdrift: no drift anymore\n\nThe two images"));
        assert!(s.ends_with("\n\n| x |\n"));
        assert!(!s.contains("no drift; no findings"));
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
        };
        let m = marker("default");
        assert!(c(&format!("{m}\nx"), "github-actions[bot]").is_ours(&m, ACTIONS_BOT));
        assert!(!c(&format!("{m}\nx"), "mallory").is_ours(&m, ACTIONS_BOT));
        assert!(!c("<!-- bpdrift:default2 -->", ACTIONS_BOT).is_ours(&m, ACTIONS_BOT));
    }

    #[test]
    fn token_debug_is_redacted() {
        let env = Env {
            token: Some(Token("ghp_secret".into())),
            ..Env::default()
        };
        assert!(!format!("{env:?}").contains("ghp_secret"));
        let _ = outcome("", false);
    }
}
