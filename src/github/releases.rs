//! Fetching a repository's GitHub releases for `--release-notes`: newest first, page by page
//! (`Link: rel="next"`), stopping once a page reaches back to the old version; cached by
//! repository so a second run asks nothing. Never waits out a rate limit: the caller turns the
//! error into one warning and keeps the links.
//!
//! <https://docs.github.com/en/rest/releases/releases#list-releases>

use reqwest::Method;

use super::GithubError;
use super::api::{Api, next_link};
use crate::release_notes::{Release, reaches};

/// Pages of 100 releases read at most for one repository (1,000 releases: years of weekly
/// releases).
const MAX_PAGES: usize = 10;
/// The cache kind of a repository's releases.
const CACHE_KIND: &str = "github-releases-v1";

/// The cache key of a repository at an API root (a digest, as the cache keys everything).
fn key(api: &Api, repository: &str) -> String {
    crate::digest::sha256(format!("{} {repository}", api.root).as_bytes())
}

/// What the cache holds of `repository`, newest first.
pub(crate) fn cached(
    cache: Option<&crate::source::cache::Cache>,
    api: &Api,
    repository: &str,
) -> Vec<Release> {
    cache
        .and_then(|c| c.get_derived(CACHE_KIND, &key(api, repository)))
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

/// The releases of `repository` reaching back to `from` (and holding `to`): from the cache when
/// it already does, else listed from the API and merged into the cache.
pub(crate) async fn releases(
    api: &Api,
    cache: Option<&crate::source::cache::Cache>,
    repository: &str,
    from: &semver::Version,
    to: &semver::Version,
) -> Result<Vec<Release>, GithubError> {
    let known = cached(cache, api, repository);
    let has = |list: &[Release], v: &semver::Version| {
        list.iter()
            .any(|r| crate::version::parse(&r.tag_name).as_ref() == Some(v))
    };
    let (newest, oldest) = if from <= to { (to, from) } else { (from, to) };
    if has(&known, newest) && reaches(&known, oldest) {
        return Ok(known);
    }
    let mut url = Some(format!(
        "{}/repos/{repository}/releases?per_page=100",
        api.root
    ));
    let mut fetched: Vec<Release> = Vec::new();
    let mut pages = 0;
    while let Some(u) = url.take() {
        pages += 1;
        let (page, headers) = api.json::<Vec<Release>>(Method::GET, &u, None).await?;
        let done = page.is_empty() || reaches(&page, oldest);
        fetched.extend(page.into_iter().map(Release::bounded));
        if done || pages >= MAX_PAGES {
            break;
        }
        // Only links back to the same API: a `Link` header is the server's to write.
        url = next_link(&headers).filter(|n| n.starts_with(&api.root));
    }
    // Merge: what was fetched is newer; what the cache had beyond it stays.
    let mut merged = fetched;
    for r in known {
        if !merged.iter().any(|m| m.tag_name == r.tag_name) {
            merged.push(r);
        }
    }
    if let (Some(c), Ok(j)) = (cache, serde_json::to_string(&merged)) {
        c.put_derived(CACHE_KIND, &key(api, repository), &j);
    }
    Ok(merged)
}
