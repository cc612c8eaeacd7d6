//! GitHub integration: what the Action (`action.yml`) needs from bpdrift, in four parts.
//!
//! - [`event`]: the runner's environment and event payload, and which pull request to comment
//!   on (a number from an artifact is checked against the run's head commit);
//! - [`comment`]: the comment body: hidden marker, fitting into GitHub's size limit (pure);
//! - [`workflow`]: workflow commands (log group, annotations, outputs), escaped, to any writer;
//! - [`api`]: the REST (and two GraphQL queries) client: one token, retries and rate limits
//!   through `net`.
//!
//! `commands::github` wires them together for `bpdrift github comment|post`. The comment is
//! found by its marker (`<!-- bpdrift:<key> -->`) *and* its author, across every page of
//! comments, so a pasted marker in someone else's comment is never touched. `post` shows a saved
//! report only as far as its structure vouches for it (`commands::github::distrust`).
//!
//! Specs: workflow commands and files
//! <https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands>, issue
//! comments <https://docs.github.com/en/rest/issues/comments>, pagination
//! <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>, rate
//! limits <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>.

pub(crate) mod api;
pub(crate) mod comment;
pub(crate) mod event;
pub(crate) mod releases;
pub(crate) mod workflow;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;

use self::api::MAX_PAGES;

/// A GitHub API call, an event file or a report file that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GithubError {
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
    /// A file could not be read (named, with who named it and its limit).
    #[error(transparent)]
    Read(#[from] crate::limits::FileError),
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
    pub(crate) fn is_soft(&self) -> bool {
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
pub(crate) struct Token(pub(crate) String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::event::Env;

    impl PartialEq for GithubError {
        fn eq(&self, other: &Self) -> bool {
            self.to_string() == other.to_string()
        }
    }

    #[test]
    fn token_debug_is_redacted() {
        let env = Env {
            token: Some(Token("ghp_secret".into())),
            ..Env::default()
        };
        assert!(!format!("{env:?}").contains("ghp_secret"));
    }
}
