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

/// HTML text and attribute-value escaping.
pub fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
