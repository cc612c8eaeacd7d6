//! Escaping for the markup formats, in one place: Markdown table cells and text, and HTML text
//! and attribute values. Values come from image labels, i.e. from anyone.

/// Makes text safe inside a Markdown table cell: no pipes, no line breaks, no HTML.
pub fn markdown(s: &str) -> String {
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
