//! Secrets out of everything bpdrift prints: values that *look* like they carry a credential
//! whatever the variable is called, and messages that come from a server (which may echo a
//! header or a URL back).
//!
//! Forms recognised, each replaced by `<redacted>` with its surroundings kept so a diff still
//! shows what changed around it:
//! - URL user-info: `postgres://user:pw@host/db` → `postgres://user:<redacted>@host/db`, and a
//!   user part alone (a DSN key, `https://key@sentry.io/1`) → `https://<redacted>@sentry.io/1`;
//! - parameters whose name says secret (`password=`, `secret=`, `token=`, `api_key=`, …) in query
//!   strings, JDBC URLs (`;password=x`) and `-D…password…=x` flags of `JAVA_TOOL_OPTIONS`;
//! - `Bearer x` / `Basic x` / `token x` credentials and GitHub token shapes (`ghp_…`).

use std::borrow::Cow;

/// The replacement text.
pub const REDACTED: &str = "<redacted>";

/// Parameter names (lowercase substrings) whose values are secret.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "accesskey",
    "private_key",
    "credential",
    "auth",
    "signature",
    "sig",
];

/// Words after which the next word is a credential.
const SCHEMES: &[&str] = &["bearer", "basic", "token"];

/// GitHub token prefixes (<https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/>).
const TOKEN_PREFIXES: &[&str] = &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];

fn name_is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // `-Dspring.datasource.password` → its last segment decides, and so does the whole name.
    let n = n.strip_prefix("-d").unwrap_or(&n);
    SECRET_NAMES.iter().any(|s| {
        n.rsplit(['.', '_', '-'])
            .next()
            .is_some_and(|last| last == *s)
            || (s.len() > 4 && n.contains(s))
    })
}

/// Where a parameter value ends.
fn value_end(s: &str, from: usize) -> usize {
    s[from..]
        .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | ',' | '"' | '\'' | ')' | '}'))
        .map_or(s.len(), |i| from + i)
}

/// Where a parameter name starts, scanning back from the `=` at `eq`.
fn name_start(s: &str, eq: usize) -> usize {
    s[..eq]
        .char_indices()
        .rfind(|&(_, c)| {
            c.is_whitespace() || matches!(c, '&' | ';' | '?' | ',' | '"' | '\'' | '(' | '{' | '/')
        })
        .map_or(0, |(i, c)| i + c.len_utf8())
}

fn redact_userinfo(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\''))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) if at > 0 => {
                let info = &authority[..at];
                if let Some((user, _)) = info.split_once(':') {
                    out.push_str(user);
                    out.push(':');
                }
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// `user:password@host` without a scheme (an image reference or history location typed with
/// credentials in it): the password goes. `name:tag@sha256:…` is a reference, not user-info.
fn redact_bare_userinfo(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut changed = false;
    for (at, _) in s.match_indices('@') {
        if at < last {
            continue;
        }
        let after = &s[at + 1..];
        if after.starts_with("sha256:") || after.starts_with("sha512:") {
            continue;
        }
        // The token starts after the last separator (a multi-byte space included).
        let start = s[last..at]
            .char_indices()
            .rev()
            .find(|(_, c)| {
                c.is_whitespace() || matches!(c, '`' | '\'' | '"' | '(' | '<' | '/' | '=')
            })
            .map_or(last, |(i, c)| last + i + c.len_utf8());
        let token = &s[start..at];
        let Some(colon) = token.find(':') else {
            continue;
        };
        if colon + 1 == token.len() || token[colon + 1..].starts_with(REDACTED) {
            continue;
        }
        out.push_str(&s[last..start + colon + 1]);
        out.push_str(REDACTED);
        last = at;
        changed = true;
    }
    changed.then(|| {
        out.push_str(&s[last..]);
        out
    })
}

fn redact_params(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut search = 0;
    let mut changed = false;
    while let Some(rel) = s[search..].find('=') {
        let eq = search + rel;
        let start = name_start(s, eq);
        let end = value_end(s, eq + 1);
        if start < eq && start >= last && name_is_secret(&s[start..eq]) && end > eq + 1 {
            out.push_str(&s[last..=eq]);
            out.push_str(REDACTED);
            last = end;
            changed = true;
        }
        search = end.max(eq + 1);
    }
    out.push_str(&s[last..]);
    changed.then_some(out)
}

fn redact_words(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut after_scheme = false;
    for word in s.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        let ws = &word[bare.len()..];
        let is_token = TOKEN_PREFIXES.iter().any(|p| {
            bare.trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
                .starts_with(p)
        });
        if (after_scheme && !bare.is_empty() && bare != REDACTED) || is_token {
            out.push_str(REDACTED);
            out.push_str(ws);
            changed = true;
            after_scheme = false;
            continue;
        }
        after_scheme = SCHEMES.contains(&bare.trim_end_matches(':').to_ascii_lowercase().as_str());
        out.push_str(word);
    }
    changed.then_some(out)
}

/// `value` with every secret-looking part replaced by [`REDACTED`].
pub fn redact_value(value: &str) -> Cow<'_, str> {
    let mut cur: Cow<'_, str> = Cow::Borrowed(value);
    if let Some(v) = redact_userinfo(&cur) {
        cur = Cow::Owned(v);
    }
    if let Some(v) = redact_bare_userinfo(&cur) {
        cur = Cow::Owned(v);
    }
    if let Some(v) = redact_params(&cur) {
        cur = Cow::Owned(v);
    }
    cur
}

/// A message from a server (an error body, a realm URL), fit to print: secret-looking parts
/// redacted, credential words (`Bearer …`, `ghp_…`) removed, control characters made spaces.
pub fn scrub(message: &str) -> String {
    let v = redact_value(message);
    let v = redact_words(&v).map_or(v, Cow::Owned);
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// [`scrub`], and every occurrence of the secrets this process holds (a token the server
/// echoed back under any name) replaced too.
pub fn scrub_known(message: &str, secrets: &[&str]) -> String {
    let mut m = scrub(message);
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        m = m.replace(s, REDACTED);
    }
    m
}

/// A serde message without the values it quotes: `invalid type: string "dXNlcjpw…", expected
/// struct AuthEntry` → `invalid type: string, expected struct AuthEntry`. What was expected and
/// the kind of what was found stay; the found value (a credential, a 50 MB label) goes.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(256));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A JSON-ish string: skip to its closing quote, escapes included.
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                while out.ends_with(' ') {
                    out.pop();
                }
            }
            '`' if out.ends_with("integer ") || out.ends_with("floating point ") => {
                for c in chars.by_ref() {
                    if c == '`' {
                        break;
                    }
                }
                while out.ends_with(' ') {
                    out.pop();
                }
            }
            c => out.push(c),
        }
    }
    crate::limits::shorten(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form() {
        let cases = [
            (
                "postgres://app:hunter2@db:5432/app",
                "postgres://app:<redacted>@db:5432/app",
            ),
            (
                "https://abc123def@o1.ingest.sentry.io/42",
                "https://<redacted>@o1.ingest.sentry.io/42",
            ),
            (
                "jdbc:sqlserver://db:1433;user=app;password=hunter2;encrypt=true",
                "jdbc:sqlserver://db:1433;user=app;password=<redacted>;encrypt=true",
            ),
            (
                "https://api.example.com/v1?user=a&token=hunter2&x=1",
                "https://api.example.com/v1?user=a&token=<redacted>&x=1",
            ),
            (
                "-Xss512k -Dspring.datasource.password=hunter2 -Dfoo=bar",
                "-Xss512k -Dspring.datasource.password=<redacted> -Dfoo=bar",
            ),
            (
                "-Djavax.net.ssl.keyStorePassword=hunter2",
                "-Djavax.net.ssl.keyStorePassword=<redacted>",
            ),
            ("-Dclient.secret=hunter2", "-Dclient.secret=<redacted>"),
            ("plain value", "plain value"),
            ("-Xmx1g -Dsort=asc", "-Xmx1g -Dsort=asc"),
            ("/layers/x/bin:/usr/bin", "/layers/x/bin:/usr/bin"),
            // Credentials typed into a reference, without a scheme.
            (
                "invalid image reference `user:pw@127.0.0.1:1/x:y`",
                "invalid image reference `user:<redacted>@127.0.0.1:1/x:y`",
            ),
            (
                "-Dproxy=me:hunter2@proxy:3128",
                "-Dproxy=me:<redacted>@proxy:3128",
            ),
            // A tag and a digest are not user-info.
            (
                "ghcr.io/org/app:1.4@sha256:0123",
                "ghcr.io/org/app:1.4@sha256:0123",
            ),
            ("team <ops@example.com>", "team <ops@example.com>"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_value(input), want, "{input}");
        }
    }

    #[test]
    fn serde_messages_lose_their_values() {
        assert_eq!(
            without_values(r#"invalid type: string "dXNlcjpwYXNz", expected struct AuthEntry"#),
            "invalid type: string, expected struct AuthEntry"
        );
        assert_eq!(
            without_values("invalid type: integer `42`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_values(r#"invalid value: string "a\"b", expected x"#),
            "invalid value: string, expected x"
        );
    }

    #[test]
    fn server_messages() {
        assert_eq!(
            scrub("Bad credentials: Authorization: Bearer ghs_abc\nsent"),
            "Bad credentials: Authorization: Bearer <redacted> sent"
        );
        assert_eq!(
            scrub_known("you sent opaque-token-1", &["opaque-token-1"]),
            "you sent <redacted>"
        );
        assert_eq!(scrub("token ghp_xyz is bad"), "token <redacted> is bad");
    }
}
