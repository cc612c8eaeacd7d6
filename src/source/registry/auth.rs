//! The registry's authentication: its challenge (from the first 401, remembered per run and in
//! the cache; bpdrift never pings `/v2/`), bearer tokens per repository (with the OAuth2
//! refresh grant for identity tokens), and the `WWW-Authenticate` parser.
//!
//! Specs: <https://distribution.github.io/distribution/spec/auth/token/>,
//! <https://distribution.github.io/distribution/spec/auth/oauth/>.

use serde::{Deserialize, Serialize};

use super::*;

/// What a registry asks for, learnt from its first 401 (or a 200 without one). Persisted in the
/// cache: it holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum Challenge {
    /// A 200 without a challenge: no authentication.
    Anonymous,
    /// `WWW-Authenticate: Basic`.
    Basic,
    /// `WWW-Authenticate: Bearer realm=…,service=…`.
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl RegistryClient {
    /// The registry's auth challenge as far as this run or the cache knows it; `None` on a
    /// cold run, when the first request goes out unauthenticated and its 401 (if any) says.
    pub(super) fn known_challenge(&self, r: &RegistryRef) -> Option<Challenge> {
        if let Some(c) = self
            .challenges
            .lock()
            .expect("challenge lock")
            .get(r.registry())
        {
            return Some(c.clone());
        }
        let c = self
            .cache
            .as_ref()
            .and_then(|c| c.get_registry(r.registry()))
            .and_then(|j| serde_json::from_str::<Challenge>(&j).ok())?;
        self.challenges
            .lock()
            .expect("challenge lock")
            .insert(r.registry().to_string(), c.clone());
        Some(c)
    }

    /// Remembers what the registry asked for, for this run and (no secret in it) the cache.
    pub(super) fn learn_challenge(&self, r: &RegistryRef, c: &Challenge) {
        let changed = self
            .challenges
            .lock()
            .expect("challenge lock")
            .insert(r.registry().to_string(), c.clone())
            .as_ref()
            != Some(c);
        if changed
            && let Some(cache) = &self.cache
            && let Ok(j) = serde_json::to_string(c)
        {
            cache.put_registry(r.registry(), &j);
        }
    }

    /// A bearer token for pulling from `r`'s repository (or pushing to it: `push`), once per
    /// repository and scope per run.
    pub(super) async fn token(
        &self,
        r: &RegistryRef,
        realm: &str,
        service: Option<&str>,
        cred: Option<&Credential>,
        refresh: bool,
        push: bool,
    ) -> Result<Option<String>, RegistryError> {
        let actions = if push { "push,pull" } else { "pull" };
        let key = (
            r.registry().to_string(),
            format!("{}:{actions}", r.repository()),
        );
        let cell = {
            let mut map = self.tokens.lock().expect("token lock");
            if refresh {
                map.remove(&key);
            }
            map.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            // A realm on plain HTTP would see the credentials (and the token) in clear text:
            // only loopback and hosts the user named as insecure may have one.
            if let Some(rest) = realm.strip_prefix("http://") {
                let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
                let host = host.rsplit('@').next().unwrap_or(host);
                let allowed = crate::reference::is_loopback_host(host)
                    || self.insecure.iter().any(|h| h == host || h == r.registry());
                if !allowed {
                    return Err(RegistryError::InsecureRealm {
                        registry: r.registry().into(),
                        reference: r.input.clone(),
                        realm: crate::redact::scrub(realm),
                    });
                }
            }
            let scope = format!("repository:{}:{actions}", r.repository());
            tracing::debug!(%realm, %scope, "token request");
            let a = match cred.map(|c| &c.secret) {
                // OAuth2 refresh-token grant, as docker does with an identity token.
                Some(Secret::IdentityToken(t)) => {
                    let body = form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", t),
                        ("service", service.unwrap_or_default()),
                        ("scope", &scope),
                        ("client_id", "bpdrift"),
                    ]);
                    self.send(r, "the token request", realm, |c| {
                        c.post(realm)
                            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(body.clone())
                    })
                    .await?
                }
                other => {
                    let mut query: Vec<(&str, &str)> = vec![("scope", &scope)];
                    if let Some(s) = service {
                        query.push(("service", s));
                    }
                    let sep = if realm.contains('?') { '&' } else { '?' };
                    let url = format!("{realm}{sep}{}", form(&query));
                    self.send(r, "the token request", realm, |c| {
                        let req = c.get(&url);
                        match other {
                            Some(Secret::Basic { username, password }) => {
                                req.basic_auth(username, Some(password))
                            }
                            _ => req,
                        }
                    })
                    .await?
                }
            };
            if a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::FORBIDDEN {
                return Err(unauthorized(r, a.status, cred));
            }
            if !a.status.is_success() {
                return Err(RegistryError::Status {
                    registry: r.registry().into(),
                    reference: r.input.clone(),
                    what: "the token request",
                    status: a.status.as_u16(),
                    detail: String::new(),
                });
            }
            #[derive(Deserialize)]
            struct Token {
                token: Option<String>,
                access_token: Option<String>,
            }
            let t: Token =
                serde_json::from_slice(&a.body).map_err(|_| RegistryError::BadToken {
                    registry: r.registry().into(),
                })?;
            t.token
                .or(t.access_token)
                .filter(|t| !t.is_empty())
                .map(Some)
                .ok_or_else(|| RegistryError::BadToken {
                    registry: r.registry().into(),
                })
        })
        .await
        .cloned()
    }
}

/// The registry's challenge from a `WWW-Authenticate` header (RFC 7235): Bearer with its
/// realm and service, else Basic. A header that does not parse is treated as Basic, which then
/// fails with the registry's own 401.
pub(crate) fn parse_challenge(header: &str) -> Challenge {
    let mut parsed = http_auth::parser::ChallengeParser::new(header).peekable();
    if parsed.peek().is_some_and(|c| c.is_err()) {
        return unquoted_bearer(header).unwrap_or(Challenge::Basic);
    }
    for challenge in parsed.flatten() {
        if !challenge.scheme.eq_ignore_ascii_case("bearer") {
            continue;
        }
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        if let Some(realm) = param("realm") {
            return Challenge::Bearer {
                realm,
                service: param("service"),
            };
        }
    }
    Challenge::Basic
}

/// NOTE: some registries send `realm=https://…` unquoted, which RFC 7235 does not allow and
/// `http-auth` refuses; read such a header as distribution's own client does: `key=value`
/// pairs separated by commas, values taken as they stand.
fn unquoted_bearer(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let param = |name: &str| {
        rest.split(',').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').to_string())
        })
    };
    Some(Challenge::Bearer {
        realm: param("realm")?,
        service: param("service"),
    })
}
