//! What bpdrift's outputs may carry, in one place. Image labels, buildpack ids and versions,
//! layer metadata, SBOM package names, registry and engine messages are written by other people;
//! none of their characters may drive a terminal, a PR comment or the Actions log.
//!
//! - **Terminals and plain text** ([`visible`]): C0 and C1 controls (ESC, `\r`, …), bidi
//!   overrides and other invisible format characters are shown escaped, `\e[31m`, `\u{202e}`,
//!   never written raw.
//! - **Markdown and GitHub** ([`markdown`], [`markdown_code_span`], [`workflow_data`],
//!   [`inert`]): the same, then Markdown, HTML, mentions, references, links and workflow
//!   commands neutralised.
//! - **HTML** ([`html`]): the same, then entities.
//! - **URLs built from untrusted parts** ([`url_segment`], [`url`]): percent-encoded.
//! - **JSON** ([`json`]): serde's escaping plus `\uXXXX` for every character [`is_unsafe`] names,
//!   so a value reads back unchanged and a terminal showing the document sees no control.
//! - **Streams** ([`guard`]): stdout and `--out` files pass a [`guard::Guard`] that escapes any
//!   unsafe character a renderer let through and turns bpdrift's own style marks into colour
//!   (a terminal, when colour is on) or nothing (pipes, files). bpdrift's colours are the only
//!   escape sequences it writes.

pub(crate) mod guard;
pub(crate) mod json;

use std::borrow::Cow;

pub(crate) use guard::{Guard, Role, paint};

/// A character that must never reach an output raw: C0 and C1 controls and DEL (Unicode `Cc`),
/// format characters (`Cf`: bidi embeddings, overrides and isolates, zero-width spaces and
/// joiners, the BOM, interlinear annotations, tags), the line and paragraph separators, and
/// the invisible Hangul fillers. `\n` is one too: a value never starts a line of its own.
pub(crate) fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\0'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// How an unsafe character is shown: `\e` (ESC), `\n`, `\r`, `\t`, else `\u{hex}`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// `s` with every [`is_unsafe`] character shown escaped (`\e[31m`, `\r`, `\u{202e}`): what a
/// value looks like on a terminal, in a log line or a table cell. Idempotent; borrowed when
/// there is nothing to escape.
pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    visible_except(s, |_| false)
}

/// [`visible`], keeping the characters `keep` allows (`\n` in text of our own).
fn visible_except(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`visible`] for text whose line breaks are bpdrift's own (a rendered report, a
/// multi-line calculator message): every unsafe character but `\n`.
pub(crate) fn visible_lines(s: &str) -> Cow<'_, str> {
    visible_except(s, |c| c == '\n')
}

/// Markdown's line breaks become spaces (a table cell is one line), the rest as [`visible`].
fn flat(s: &str) -> String {
    visible_lines(s).replace('\n', " ")
}

/// A zero-width space as an HTML entity: it breaks GitHub's mention, issue-reference and
/// autolink patterns without changing what a reader sees.
const ZWSP: &str = "&#8203;";

/// Makes text safe inside a Markdown table cell (no pipes, no line breaks, no HTML) and inert
/// on GitHub: no `@user`/`@org/team` mention, no `#123` reference, no `[text](url)` link, no
/// bare-URL autolink. Text from an image label or an artifact must never ping or link anyone.
pub fn markdown(s: &str) -> String {
    // References and `www.` first: the entities inserted below hold a `#` and digits.
    let cell = markdown_code(s);
    let mut out = String::with_capacity(cell.len());
    let mut rest = cell.as_str();
    while let Some(c) = rest.chars().next() {
        if rest
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("www."))
        {
            // GFM's extended autolinks start at `www.` too.
            out.push_str(&rest[..3]);
            out.push_str(ZWSP);
            rest = &rest[3..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        if c == '#' && rest.starts_with(|d: char| d.is_ascii_digit()) {
            out.push_str(ZWSP);
        }
    }
    out.replace('[', "\\[")
        .replace(']', "\\]")
        .replace('@', &format!("@{ZWSP}"))
        .replace("://", &format!(":{ZWSP}//"))
}

/// Makes text safe inside a Markdown code span within a table cell: no pipes, no line breaks,
/// no HTML, no control. A code span renders neither mentions nor links, so nothing more is needed.
pub fn markdown_code(s: &str) -> String {
    flat(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Markdown code span that is safe in text and in a table cell. Inside a code span GitHub
/// decodes no entities and no backslash escapes, so `<` stays literal (no `&lt;` on screen) and
/// cannot open HTML; only the table's `|` must be escaped (GFM removes that one backslash even
/// inside code), line breaks become spaces, controls are shown escaped, and a fence longer than
/// any backtick run in the value keeps backticks as they are (CommonMark §6.1), padded when the
/// value starts or ends with one.
pub fn markdown_code_span(s: &str) -> String {
    let flat = flat(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Text from the internet (a release body) as a fenced code block: shown as written, and
/// nothing in it renders (no HTML, no mentions, no links, no closing of the surrounding
/// `<details>`). The fence is longer than any run of backticks in the text (CommonMark §4.5:
/// only a fence at least as long closes the block); tabs become spaces and every other unsafe
/// character but the line breaks is shown escaped.
pub fn markdown_block(s: &str) -> String {
    let text = visible_lines(&s.replace("\r\n", "\n").replace('\t', "    "))
        .lines()
        .map(no_command)
        .collect::<Vec<_>>()
        .join("\n");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// A line of someone else's text kept as a line (a release body) that the Actions runner will
/// not read as a workflow command (`::name::` after leading whitespace, or the legacy `##[`): the
/// first `:` (or `#`) is shown escaped, `\u{3a}`, visibly (a code block decodes no entity).
fn no_command(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let mut out = if line[indent..].starts_with("::") {
        format!("{}\\u{{3a}}{}", &line[..indent], &line[indent + 1..])
    } else {
        line.to_string()
    };
    if out.contains("##[") {
        out = out.replace("##[", "\\u{23}#[");
    }
    out
}

/// HTML text that GitHub renders inert inside an HTML block (a `<summary>`): escaped, and no
/// `@mention`, `#123` or autolink (a zero-width space breaks each, as in [`markdown`]).
pub fn html_inert(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_ref();
    while let Some(c) = rest.chars().next() {
        if rest
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("www."))
        {
            out.push_str(&html(&rest[..3]));
            out.push_str(ZWSP);
            rest = &rest[3..];
            continue;
        }
        if rest.starts_with("://") {
            out.push(':');
            out.push_str(ZWSP);
            out.push_str("//");
            rest = &rest[3..];
            continue;
        }
        let mut buf = [0u8; 4];
        out.push_str(&html(c.encode_utf8(&mut buf)));
        rest = &rest[c.len_utf8()..];
        if (c == '#' && rest.starts_with(|d: char| d.is_ascii_digit())) || c == '@' {
            out.push_str(ZWSP);
        }
    }
    out
}

/// HTML text and attribute-value escaping; controls shown escaped, never raw.
pub fn html(s: &str) -> String {
    visible(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// RFC 3986 unreserved characters: the only ones a segment built from untrusted text keeps.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// One path segment (or query value) of a URL, percent-encoded: a version string becomes
/// part of a release-notes link and can neither add a path, a query nor leave the link.
pub(crate) fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A whole URL from an untrusted source (a buildpack's homepage, a rule's source), made safe as
/// a Markdown link destination or an attribute: characters that could end the destination or
/// hide (space, `(`, `)`, `<`, `>`, quotes, backslash, controls, anything not ASCII) are
/// percent-encoded; the URL's own structure (`:/?#&=%`…) is kept. `None` unless `http(s)://`.
pub(crate) fn url(s: &str) -> Option<String> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = unreserved(b) || b"!#$%&*+,/:;=?@[]".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

/// `%`, CR and LF escaped, as a workflow command's message needs; every other unsafe
/// character shown escaped first.
pub(crate) fn workflow_data(s: &str) -> String {
    visible_lines(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command property also escapes `:` and `,`.
pub(crate) fn workflow_property(s: &str) -> String {
    workflow_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text that cannot be read as a workflow command on any stream, whatever line it lands on: the
/// runner parses `::name::` on stdout and stderr (the log group's `stop-commands` covers only
/// its own stretch of stdout) and the legacy `##[name]` anywhere in a line. A zero-width space
/// splits both markers: a person reads the same text, the runner finds no command. Every unsafe
/// character of `s` is shown escaped first, so a value cannot start a line either.
pub(crate) fn inert(s: &str) -> String {
    visible(s)
        .replace("::", ":\u{200B}:")
        .replace("##[", "#\u{200B}#[")
}

/// [`inert`] for a message of several lines of bpdrift's own.
pub(crate) fn inert_lines(s: &str) -> String {
    visible_lines(s)
        .replace("::", ":\u{200B}:")
        .replace("##[", "#\u{200B}#[")
}

/// For the fuzz target `output_sanitizer`: every escaper and the stream guard (input split at
/// `data[0]`) over `data`, panicking when an unsafe character survives.
#[cfg(feature = "fuzzing")]
pub fn fuzz_check(data: &[u8]) {
    use std::io::Write as _;
    let text = String::from_utf8_lossy(data);
    let clean = |what: &str, s: &str, newline: bool| {
        let bad = s.chars().find(|&c| is_unsafe(c) && !(newline && c == '\n'));
        assert!(bad.is_none(), "{what}: {bad:?} in {s:?}");
    };
    clean("visible", &visible(&text), false);
    clean("visible_lines", &visible_lines(&text), true);
    clean("markdown", &markdown(&text), false);
    clean("markdown_code_span", &markdown_code_span(&text), false);
    clean("html", &html(&text), false);
    clean("html_inert", &html_inert(&text), false);
    let block = markdown_block(&text);
    clean("markdown_block", &block, true);
    assert!(
        block
            .lines()
            .all(|l| !l.trim_start().starts_with("::") && !l.contains("##[")),
        "{block:?}"
    );
    clean("workflow_data", &workflow_data(&text), false);
    clean("inert", &inert(&text).replace('\u{200B}', ""), false);
    let segment = url_segment(&text);
    assert!(segment.bytes().all(|b| b.is_ascii_graphic()), "{segment:?}");
    if let Some(u) = url(&text) {
        assert!(
            u.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>\"'\\ ".contains(&b)),
            "{u:?}"
        );
    }
    let cut = usize::from(data.first().copied().unwrap_or(0)).min(data.len());
    for colour in [false, true] {
        let mut g = Guard::new(Vec::new(), colour);
        let _ = g.write_all(&data[..cut]);
        let _ = g.write_all(&data[cut..]);
        let out = String::from_utf8(g.finish().unwrap_or_default()).unwrap_or_default();
        // With colour, only SGR sequences of bpdrift's roles.
        let plain = out.split('\u{1b}').skip(1).all(|rest| {
            rest.starts_with('[')
                && rest[1..].find('m').is_some_and(|i| {
                    rest[1..1 + i]
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b';')
                })
        });
        assert!(colour || !out.contains('\u{1b}'), "{out:?}");
        assert!(plain, "{out:?}");
        clean("guard", &out.replace('\u{1b}', ""), true);
    }
    let _ = json::write(&mut Vec::new(), &text.as_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_written() {
        assert_eq!(
            visible("a\u{1b}[31mred\u{1b}]52;c;aGk=\u{7}\r\n\u{202e}x\u{9b}2J"),
            "a\\e[31mred\\e]52;c;aGk=\\u{7}\\r\\n\\u{202e}x\\u{9b}2J"
        );
        assert!(matches!(visible("plain → é"), Cow::Borrowed(_)));
        let once = visible("\u{1b}\u{200b}");
        assert_eq!(visible(&once), once, "idempotent");
        assert_eq!(visible_lines("a\nb\rc"), "a\nb\\rc");
    }

    #[test]
    fn html_inert_escapes_and_breaks_patterns() {
        assert_eq!(
            html_inert("<b>@org fix #12 it's www.x.io https://e.x</b>"),
            "&lt;b&gt;@&#8203;org fix #&#8203;12 it&#39;s www&#8203;.x.io https:&#8203;//e.x&lt;/b&gt;"
        );
        let b = markdown_block("a\n```\n</details>\u{1b}[31m\u{202e}");
        assert!(b.starts_with("````text\n") && b.ends_with("\n````"), "{b}");
        assert!(
            !b.contains('\u{1b}') && b.contains("\\e[31m\\u{202e}"),
            "{b}"
        );
        assert!(html_inert("a\u{202e}").contains("\\u{202e}"));
        let b = markdown_block("fixes\n  ::add-mask::x\n##[error]y");
        assert!(
            b.lines()
                .all(|l| !l.trim_start().starts_with("::") && !l.contains("##[")),
            "{b}"
        );
        assert!(b.contains("  \\u{3a}:add-mask::x"), "{b}");
    }

    #[test]
    fn markdown_text_pings_and_links_nobody() {
        assert_eq!(
            markdown("@org/maintainers see [the audit](https://evil.example/login) #12 www.x.io"),
            "@&#8203;org/maintainers see \\[the audit\\](https:&#8203;//evil.example/login) \
             #&#8203;12 www&#8203;.x.io"
        );
        assert_eq!(markdown("a|b\n<c>"), "a\\|b &lt;c&gt;");
        assert_eq!(markdown_code("@x [y]"), "@x [y]");
        assert_eq!(markdown("\u{1b}[2J"), "\\\\e\\[2J");
        assert_eq!(markdown_code_span("a\u{202e}b\rc"), "`a\\u{202e}b\\rc`");
    }

    /// Issue 14: no entities inside code spans (GitHub would show them), backticks kept.
    #[test]
    fn code_spans_by_context() {
        assert_eq!(markdown_code_span("<redacted>"), "`<redacted>`");
        assert_eq!(
            markdown_code_span("<1616 bytes, sha256:ab>"),
            "`<1616 bytes, sha256:ab>`"
        );
        assert_eq!(markdown_code_span("a`b"), "`` a`b ``");
        assert_eq!(markdown_code_span("``x``"), "``` ``x`` ```");
        assert_eq!(markdown_code_span("a|b\nc"), "`a\\|b c`");
        assert_eq!(markdown_code_span(r"C:\x"), r"`C:\x`");
    }

    #[test]
    fn urls_from_untrusted_parts() {
        assert_eq!(url_segment("1.2.3"), "1.2.3");
        assert_eq!(
            url_segment("1.0) [x](https://evil/\u{1b}"),
            "1.0%29%20%5Bx%5D%28https%3A%2F%2Fevil%2F%1B"
        );
        assert_eq!(url_segment("../../x?y#z"), "..%2F..%2Fx%3Fy%23z");
        assert_eq!(
            url("https://github.com/a/b) <img>").as_deref(),
            Some("https://github.com/a/b%29%20%3Cimg%3E")
        );
        assert_eq!(url("javascript:alert(1)"), None);
        assert_eq!(
            url("https://x.test/a?b=1&c=%20#f").as_deref(),
            Some("https://x.test/a?b=1&c=%20#f")
        );
    }

    #[cfg(feature = "fuzzing")]
    #[test]
    fn the_fuzz_check_holds_on_attacks() {
        fuzz_check(b"\x05a\x1b[2J\x1b]52;c;x\x07\r\xe2\x80\xae\n::x\xff");
    }

    #[test]
    fn html_keeps_no_control() {
        assert_eq!(html("<b>\u{1b}[1m\u{0}"), "&lt;b&gt;\\e[1m\\u{0}");
    }

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(workflow_data("50%\r\nx\u{1b}"), "50%25\\r%0Ax\\e");
        assert_eq!(workflow_property("a: b, c%"), "a%3A b%2C c%25");
    }

    #[test]
    fn inert_text_issues_no_command() {
        let s = inert("x\n::add-mask::y\n  ::warning title=t::z ##[error]e");
        assert!(!s.contains('\n'), "{s}");
        assert!(!s.contains("::") && !s.contains("##["), "{s}");
        let s = inert_lines("x\n::add-mask::y\n  ::warning title=t::z ##[error]e");
        assert!(s.lines().all(|l| !l.trim_start().starts_with("::")), "{s}");
        assert!(!s.contains("##["), "{s}");
    }
}
