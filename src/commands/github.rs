//! `bpdrift github comment|post`: what the GitHub Action runs.
//!
//! `comment` diffs two images once (through the pipeline), then writes the JSON report (with
//! the Markdown and the pull request number beside it), appends the Markdown to the job summary,
//! prints the report in a log group and one annotation per finding, keeps one pull request
//! comment current, and writes the step outputs. `post` does the same from a report saved by an
//! earlier `comment --no-comment`: the second workflow of the fork-safe pair, which has a write
//! token but no image (docs/github.md); it recounts the verdict from the report's data and drops
//! the artifact's links ([`distrust`]). A read-only token (forks, Dependabot) or a missing
//! permission is a warning, a run with no pull request (a push) a notice, a pull request whose
//! head moved on a warning: none fails the step, the job summary already holds the report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;

use super::diff::{DiffArgs, DiffFormat, Diffed};
use super::{Outcome, finish, report_error, report_message, status_line};
use crate::github::GithubError;
use crate::github::api::Api;
use crate::github::comment::{
    Upsert, comment_body, fit, footer, marker, no_drift_anymore, without_footer,
};
use crate::github::event::{Env, Event, PrChoice, choose_pr};
use crate::github::workflow::{
    Note, annotations, notice, outputs, soft_warning, warning, workflow_log,
};
use crate::render::{self, Format};
use crate::report::DiffReport;
use crate::rules::{FailOn, Severity};

/// A step's job summary may hold at most 1 MiB; a larger one is not shown at all.
pub(crate) const MAX_SUMMARY_BYTES: usize = 1024 * 1024;
/// Who writes comments with the workflow's `GITHUB_TOKEN`.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";

/// `bpdrift github …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GithubCommand {
    /// Diff two images and keep one PR comment current; also write the job summary, step outputs,
    /// one annotation per finding and the JSON report. What the GitHub Action runs.
    #[command(after_help = "Reads GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, \
GITHUB_EVENT_PATH (pull_request, pull_request_target, workflow_run; other events through \
the commit's open pull request), GITHUB_SHA, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT and RUNNER_TEMP.\nExit status: 0 nothing flagged, 1 something flagged at or above \
--fail-on, 2 error. A token that may not comment (forks, Dependabot) is a warning, not an error.")]
    Comment(Box<CommentArgs>),
    /// Post a report saved by `github comment --no-comment` in another workflow (the fork-safe
    /// pair: `pull_request` saves it, `workflow_run` posts it).
    Post(PostArgs),
}

/// `bpdrift github comment`.
#[derive(Debug, Args)]
pub(crate) struct CommentArgs {
    /// The diff.
    #[command(flatten)]
    pub(crate) diff: DiffArgs,
    /// GitHub side.
    #[command(flatten)]
    pub(crate) github: GithubArgs,
    /// Where to write the JSON report; `.md` (the Markdown), `.sarif` (SARIF 2.1.0 for code
    /// scanning, pointing at --sarif-location) and `.pr.json` (the pull request) go beside it
    /// [default: $RUNNER_TEMP/bpdrift/KEY/report.json, else ./bpdrift/KEY/].
    #[arg(long, value_name = "PATH")]
    pub(crate) report_json: Option<PathBuf>,
}

/// `bpdrift github post`.
#[derive(Debug, Args)]
pub(crate) struct PostArgs {
    /// A `report.json` written by `github comment`, with its `report.md` (and `report.pr.json`)
    /// beside it.
    #[arg(value_name = "REPORT_JSON")]
    pub(crate) report: PathBuf,
    /// Lowest finding severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub(crate) fail_on: FailOn,
    /// GitHub side.
    #[command(flatten)]
    pub(crate) github: GithubArgs,
}

/// What both subcommands share.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "GitHub")]
pub(crate) struct GithubArgs {
    /// Names the comment (hidden marker `<!-- bpdrift:KEY -->`): one comment per key, so several
    /// images in one PR keep separate comments.
    #[arg(long, default_value = "default", value_parser = parse_key)]
    pub(crate) key: String,
    /// Do not comment: only the report, job summary, annotations and outputs.
    #[arg(long)]
    pub(crate) no_comment: bool,
    /// Pull request number [default: from $GITHUB_EVENT_PATH]. Under a workflow_run event it is
    /// checked against the run's head commit.
    #[arg(long, value_name = "N")]
    pub(crate) pr: Option<u64>,
    /// Login whose comment is updated [default: the token's own login, from GraphQL's
    /// `viewer` (every token type, an App's `NAME[bot]` too), else from /user, else
    /// github-actions[bot]].
    #[arg(long, value_name = "LOGIN")]
    pub(crate) comment_author: Option<String>,
    /// Time limit for each GitHub API request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) api_timeout: u64,
}

pub(crate) fn parse_key(s: &str) -> Result<String, String> {
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

/// Where a report goes: the comment's settings, the runner's environment, the event, the files.
#[derive(Clone, Copy)]
pub(crate) struct Destination<'a> {
    pub(crate) github: &'a GithubArgs,
    pub(crate) env: &'a Env,
    pub(crate) event: Option<&'a Event>,
    pub(crate) paths: &'a ReportPaths,
}

/// What the GitHub side needs of a report, from a fresh diff or a saved one.
#[derive(Debug, Clone)]
pub(crate) struct PrReport {
    pub(crate) verdict: String,
    /// Any item differs.
    pub(crate) changed: bool,
    pub(crate) notes: Vec<Note>,
    pub(crate) max_severity: Option<Severity>,
    pub(crate) markdown: String,
}

impl PrReport {
    pub(crate) fn of_report(r: &DiffReport, markdown: String) -> Self {
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

/// The pull request a report was made for (`report.pr.json`).
#[derive(Debug, serde::Serialize, Deserialize)]
pub(crate) struct PrRecord {
    pub(crate) pull_request: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) head_sha: Option<String>,
}

/// Where a report and its companions live.
#[derive(Debug, Clone)]
pub(crate) struct ReportPaths {
    pub(crate) json: PathBuf,
    pub(crate) markdown: PathBuf,
    pub(crate) pr: PathBuf,
    /// SARIF 2.1.0 of the findings, for GitHub code scanning (the Action's `sarif` input).
    pub(crate) sarif: PathBuf,
}

impl ReportPaths {
    pub(crate) fn beside(json: PathBuf) -> Self {
        Self {
            markdown: json.with_extension("md"),
            pr: json.with_extension("pr.json"),
            sarif: json.with_extension("sarif"),
            json,
        }
    }

    pub(crate) fn default_for(env: &Env, key: &str) -> Self {
        let base = env
            .runner_temp
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        Self::beside(base.join("bpdrift").join(key_dir(key)).join("report.json"))
    }
}

/// A directory name for a key, one to one: letters, digits and `-` stay, every other byte is
/// `_` and two hex digits, so `web.app` (`web_2eapp`), `web-app` and `web_app` (`web_5fapp`)
/// never share a report.
pub(crate) fn key_dir(key: &str) -> String {
    let mut dir = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            dir.push(char::from(b));
        } else {
            dir.push_str(&format!("_{b:02x}"));
        }
    }
    dir
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), GithubError> {
    let err = |source| GithubError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

/// A file of a saved report (an artifact a fork controls): regular files only, bounded.
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, GithubError> {
    let named = crate::limits::Named {
        what: "saved report",
        from: "`github post`",
        limit: crate::limits::SAVED_REPORT_MAX,
    };
    Ok(crate::limits::read_named(path, named)?)
}

/// Runs a `github` subcommand.
pub(crate) async fn run(cmd: GithubCommand, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    match cmd {
        GithubCommand::Comment(args) => comment(*args, out).await,
        GithubCommand::Post(args) => post(args, out).await,
    }
}

async fn comment(args: CommentArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let env = Env::from_process();
    // The event is read first: a broken event file should not cost a registry round trip.
    let event = Event::load(&env)?;
    let report = match super::diff::compute(&args.diff).await? {
        None => return Ok(Outcome::Failed),
        Some(Diffed::One(r)) => r,
        Some(Diffed::All(_)) => {
            anyhow::bail!("--platform all is only supported by `bpdrift diff`")
        }
    };
    // Files, the job summary and the comment get what a file gets: no colour, nothing unsafe.
    let render_to = |format| -> anyhow::Result<String> {
        let mut buf = Vec::new();
        render::render(&report, format, &mut buf)?;
        Ok(crate::sanitize::guard::unpainted(&String::from_utf8(buf)?))
    };
    let outcome = PrReport::of_report(&report, render_to(Format::Markdown)?);
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
    let mut sarif = Vec::new();
    super::diff::write_report(&report, &args.diff, DiffFormat::Sarif, &mut sarif)?;
    write_file(&paths.sarif, &sarif)?;
    let log = {
        let mut buf = Vec::new();
        super::diff::write_report(&report, &args.diff, args.diff.format, &mut buf)?;
        String::from_utf8(buf)?
    };
    let to = Destination {
        github: &args.github,
        env: &env,
        event: event.as_ref(),
        paths: &paths,
    };
    let ok = publish(out, &outcome, &to, None, &log).await?;
    let code = finish(&report, args.diff.fail_on);
    Ok(if ok { code } else { Outcome::Failed })
}

async fn post(args: PostArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
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
    // The report is read as the report type itself, and the Markdown rendered from it: the
    // `report.md` beside it is another file of the same untrusted artifact, and is not read.
    let mut saved: DiffReport = serde_json::from_value(value).map_err(not_a_report)?;
    distrust(&mut saved);
    let mut markdown = Vec::new();
    render::render(&saved, Format::Markdown, &mut markdown)?;
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
    let markdown = crate::sanitize::guard::unpainted(&String::from_utf8(markdown)?);
    let outcome = PrReport::of_report(&saved, markdown);
    let to = Destination {
        github: &args.github,
        env: &env,
        event: event.as_ref(),
        paths: &paths,
    };
    let ok = publish(out, &outcome, &to, saved_pr, &outcome.markdown).await?;
    let mut code = if outcome.notes.iter().any(|n| args.fail_on.fails(n.severity)) {
        Outcome::Flagged
    } else {
        Outcome::Clean
    };
    for (img, p) in saved.problems() {
        report_message(&format!(
            "label `{}` of `{img}` is not valid: {}",
            p.label, p.message
        ));
        code = Outcome::Failed;
    }
    Ok(if ok { code } else { Outcome::Failed })
}

/// A saved report as `post` may show it: the artifact was written by the pull request's own
/// workflow, so a fork controls every byte. The summary (verdict, counts, highest severity) is
/// recounted from the structured data; no link from the artifact is kept (homepages, release
/// notes, rule sources), so the comment links nowhere a fork chose. What stays is text, and the
/// Markdown renderer escapes every string (no HTML, mentions, references or links). docs/github.md
/// ("What `post` trusts") says the same.
pub(crate) fn distrust(r: &mut DiffReport) {
    r.summary = r.recounted_summary();
    let unlink = |c: &mut crate::diff::Change| {
        c.homepage = None;
        c.release_notes = None;
    };
    r.changes.iter_mut().for_each(unlink);
    for f in &mut r.findings {
        f.sources.clear();
        unlink(&mut f.change);
    }
}

/// Job summary, log, annotations, comment, outputs. `Ok(false)` when commenting failed hard
/// (already reported); a soft failure is a warning and `Ok(true)`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish(
    out: &mut dyn Write,
    outcome: &PrReport,
    to: &Destination<'_>,
    saved_pr: Option<u64>,
    log: &str,
) -> anyhow::Result<bool> {
    let Destination {
        github: args,
        env,
        event,
        paths,
    } = *to;
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
    out.write_all(workflow_log(&outcome.verdict, log).as_bytes())?;
    out.write_all(annotations(&outcome.notes).as_bytes())?;
    out.flush()?;

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
            Err(e @ GithubError::NoPullRequest(_)) => {
                // Not a failure: a workflow `on: [push, pull_request]` runs here on every push.
                out.write_all(
                    notice(
                        "bpdrift: no pull request comment",
                        &format!("{e}; the report is in the job summary"),
                    )
                    .as_bytes(),
                )?;
                out.flush()?;
            }
            Err(e @ GithubError::HeadMismatch { .. }) => {
                // The pull request moved on (or the artifact names another one): the run for
                // the new head will comment; this one has nothing true to add.
                out.write_all(
                    warning(
                        "bpdrift did not comment",
                        &format!("{e}; the run for the newer commit comments instead"),
                    )
                    .as_bytes(),
                )?;
                out.flush()?;
            }
            Err(e) if e.is_soft() => {
                out.write_all(soft_warning(&e).as_bytes())?;
                out.flush()?;
            }
            Err(e) => {
                report_error(
                    anyhow::Error::new(e)
                        .context("cannot update the PR comment")
                        .as_ref(),
                );
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
            // Written by `github comment`, not by `github post`.
            (
                "sarif",
                if paths.sarif.is_file() {
                    paths.sarif.display().to_string()
                } else {
                    String::new()
                },
            ),
            ("comment-url", url),
        ]);
        append(path, text.as_bytes())?;
    }
    Ok(ok)
}

pub(crate) fn append(path: &Path, bytes: &[u8]) -> Result<(), GithubError> {
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

pub(crate) async fn keep_comment(
    outcome: &PrReport,
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
    let api = Api::new(
        &env.api_url,
        &repository,
        token,
        Duration::from_secs(args.api_timeout.max(1)),
    )?;
    let choice = match choose_pr(args.pr, event, saved_pr) {
        // A push, merge_group, workflow_dispatch…: the open pull request whose head is this
        // commit, if there is one. The API says so, so it needs no further check.
        Err(GithubError::NoPullRequest(why)) => {
            let sha = event
                .and_then(|e| e.head_sha.clone())
                .or_else(|| env.sha.clone());
            match &sha {
                Some(sha) => match api.pull_for_commit(sha).await? {
                    Some(n) => PrChoice::Trusted(n),
                    None => {
                        return Err(GithubError::NoPullRequest(format!(
                            "{why}, and no open pull request has `{}` as its head",
                            crate::github::comment::cap(sha, 40)
                        )));
                    }
                },
                None => return Err(GithubError::NoPullRequest(why)),
            }
        }
        other => other?,
    };
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
        None => match api.viewer_login().await? {
            Some(login) => login,
            None => api
                .token_login()
                .await?
                .unwrap_or_else(|| ACTIONS_BOT.into()),
        },
    };
    let marker = marker(&args.key);
    let existing = api.find_comment(pr, &marker, &author).await?;
    let head_sha = event.and_then(|e| e.head_sha.as_deref());
    let footer = footer(env.run_url.as_deref(), head_sha);
    match existing {
        None if !outcome.changed => Ok(Upsert::Skipped),
        None => {
            let body = comment_body(&marker, &outcome.markdown, &footer);
            api.create_comment(pr, &body).await.map(Upsert::Created)
        }
        Some(c) => {
            let report = if outcome.changed {
                outcome.markdown.clone()
            } else {
                no_drift_anymore(&outcome.markdown)
            };
            let body = comment_body(&marker, &report, &footer);
            // The footer names the run and the commit, which change on every push: an edit
            // for them alone would notify nobody of anything and bury the comment's history.
            if c.body.as_deref().map(without_footer) == Some(without_footer(&body)) {
                return Ok(Upsert::Unchanged(c.html_url));
            }
            api.update_comment(c.id, &body).await.map(Upsert::Updated)
        }
    }
}

#[cfg(test)]
mod tests;
