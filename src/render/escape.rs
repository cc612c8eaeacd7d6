//! Escaping for the markup formats, in one place: Markdown table cells and text, and HTML text
//! and attribute values. Values come from image labels, i.e. from anyone.

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
/// no HTML. A code span renders neither mentions nor links, so nothing more is needed.
pub fn markdown_code(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// A Markdown code span that is safe in text and in a table cell. Inside a code span GitHub
/// decodes no entities and no backslash escapes, so `<` stays literal (no `&lt;` on screen) and
/// cannot open HTML; only the table's `|` must be escaped (GFM removes that one backslash even
/// inside code), line breaks become spaces, and a fence longer than any backtick run in the
/// value keeps backticks as they are (CommonMark §6.1), padded when the value starts or ends
/// with one.
pub fn markdown_code_span(s: &str) -> String {
    let flat = s.replace(['\n', '\r'], " ").replace('|', "\\|");
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
/// only a fence at least as long closes the block); control characters other than tab and
/// newline are dropped.
pub fn markdown_block(s: &str) -> String {
    let text: String = s
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}", text.trim_end_matches('\n'))
}

/// HTML text that GitHub renders inert inside an HTML block (a `<summary>`): escaped, and no
/// `@mention`, `#123` or autolink (a zero-width space breaks each, as in [`markdown`]).
pub fn html_inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
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

/// HTML text and attribute-value escaping.
pub fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_inert_escapes_and_breaks_patterns() {
        assert_eq!(
            html_inert("<b>@org fix #12 it's www.x.io https://e.x</b>"),
            "&lt;b&gt;@&#8203;org fix #&#8203;12 it&#39;s www&#8203;.x.io https:&#8203;//e.x&lt;/b&gt;"
        );
        let b = markdown_block("a\n```\n</details>\u{1b}[31m");
        assert!(b.starts_with("````text\n") && b.ends_with("\n````"), "{b}");
        assert!(!b.contains('\u{1b}'));
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
}
